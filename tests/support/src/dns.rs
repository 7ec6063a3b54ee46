//! Real DNS servers for RFC2136 tests: BIND 9 ([`Bind`]) and Knot DNS ([`Knot`]), each started
//! as a process on a free loopback port in a fresh temporary folder, serving primary zones that a
//! TSIG key may update and transfer, and killed when its handle is dropped.
//!
//! Independent views of the zones come from the ISC tools, not from zonesync's own client:
//! [`dig_axfr`] transfers a zone with `dig`, [`nsupdate`] changes it with `nsupdate`. Both
//! servers implement [`DnsServer`], so one scenario can run against either.
//!
//! The binaries (`named`, `knotd`, `dig`, `nsupdate`) come from the Debian packages `bind9`,
//! `bind9-dnsutils` and `knot`; `scripts/install-test-peers.sh` installs them.

mod bind;
mod key;
mod knot;
mod process;
mod tools;

pub use bind::{Bind, BindBuilder};
pub use key::TsigKey;
pub use knot::{Knot, KnotBuilder};
pub use tools::{ZoneRecord, dig_axfr, find_records, nsupdate, sorted_values};

use std::net::SocketAddr;
use std::path::Path;

/// What the RFC2136 tests need from a DNS server, whichever implementation it is.
pub trait DnsServer {
    /// Short name for messages (`bind`, `knot`).
    fn kind(&self) -> &'static str;
    /// The loopback port the server answers on (TCP and UDP).
    fn port(&self) -> u16;
    /// `127.0.0.1:<port>`.
    fn address(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port()))
    }
    /// The key allowed to update and transfer every zone.
    fn key(&self) -> &TsigKey;
    /// The folder holding configuration, zone files, journals and the log.
    fn dir(&self) -> &Path;
    /// Everything the server logged since it was last (re)started.
    fn log(&self) -> String;
    /// Stops the server (SIGTERM, then SIGKILL after a bounded wait). The port becomes free, so
    /// clients see "connection refused". Idempotent.
    fn stop(&mut self);

    /// Transfers `zone` with `dig` and the server's key.
    ///
    /// Fails when dig fails or the transfer is incomplete (not framed by two SOA records).
    fn axfr(&self, zone: &str) -> Result<Vec<ZoneRecord>, String> {
        dig_axfr(self.port(), zone, Some(self.key()))
    }

    /// Sends `commands` (nsupdate syntax, e.g. `update add www.example.org. 300 A 192.0.2.1`)
    /// to `zone` with `nsupdate` and the server's key, as one update.
    ///
    /// Fails when nsupdate reports an error.
    fn nsupdate(&self, zone: &str, commands: &[&str]) -> Result<(), String> {
        nsupdate(self.port(), zone, Some(self.key()), commands)
    }
}

/// The zone file text every test zone starts with: `$TTL 300`, an SOA with serial 1, one NS and
/// the NS's address, followed by `extra` lines (zone-file syntax, names relative to the zone
/// unless they end in a dot).
pub fn zone_file_text(zone: &str, extra: &[String]) -> String {
    let mut text = format!(
        "$ORIGIN {zone}.\n$TTL 300\n@ IN SOA ns1.{zone}. hostmaster.{zone}. 1 3600 600 86400 300\n@ IN NS ns1.{zone}.\nns1 IN A 127.0.0.1\n"
    );
    for line in extra {
        text.push_str(line);
        text.push('\n');
    }
    text
}
