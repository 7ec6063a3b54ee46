//! RFC 2136 provider: zonesync manages zones on any dynamic-DNS server (BIND, Knot, PowerDNS,
//! Windows DNS) through UPDATE messages signed with TSIG, and reads them with AXFR.
//!
//! - **Listing**: one signed AXFR per zone, cached with the zone's SOA serial; a SOA query on
//!   every [`Provider::records`](zonesync_core::Provider::records) call skips the transfer when
//!   the serial is unchanged. Every type is listed (MX, SRV, CAA, NS … as foreign records), TXT
//!   character-strings are joined. An incomplete transfer is an error, never a short list.
//! - **Changes**: one UPDATE per zone and apply, split only by encoded size (64 KiB) or
//!   `--rfc2136-batch-change-size`, never inside a change group (a record and its ownership
//!   markers); deletions first, so a CNAME ↔ A swap lands in one message. Updates delete exactly
//!   the old records and add the new ones (TTL 300 when none is configured). Afterwards the
//!   changed RRsets are read back and every group that did not land is reported (servers answer
//!   NOERROR but ignore a CNAME beside other data). NS records below the apex are delegations,
//!   read back from the referral the server answers with; records below a delegation (glue,
//!   hidden data) are read back by zone transfer.
//! - **Errors** name server, zone and response code and say what the code usually means;
//!   connection failures are retried with jittered exponential backoff. A refused MX whose mail
//!   exchanger is a name of the zone without an address record (BIND's `check-integrity`) is
//!   reported as that, not as a key problem. Secrets never appear in
//!   messages or `Debug` output.
//!
//! Public API: [`Rfc2136Args`] (the `--rfc2136-*` flags) → [`Rfc2136Args::validate`] →
//! [`Rfc2136Config`] → [`Rfc2136Provider::new`].

mod client;
mod config;
mod connection;
mod provider;
mod rcode;
mod records;
mod snapshot;
mod tsig;
mod update;

pub use config::{
    ConfigError, DEFAULT_ATTEMPTS, DEFAULT_BATCH_CHANGE_SIZE, DEFAULT_PORT, DEFAULT_TIMEOUT,
    Rfc2136Args, Rfc2136Config, ServerAddress, TsigAlgorithm, TsigKey, UnsupportedAlgorithm,
};
pub use provider::{Rfc2136Provider, Rfc2136Stats};
