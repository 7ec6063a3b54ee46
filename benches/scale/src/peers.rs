//! The DNS back ends zonesync is measured against, behind one interface: BIND (RFC2136) and
//! moto (Route53) behind a counting proxy.
//!
//! Each peer counts zonesync's requests by kind from the server's side, so the figures do not
//! depend on zonesync counting itself: BIND's query log (zonesync's queries are TSIG-signed, the
//! harness's polls are not) and its update log; for Route53 the proxy between zonesync and moto.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{Read, Seek, SeekFrom};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use zonesync_test_support::dns::{Bind, DnsServer, dig_axfr, find_records};
use zonesync_test_support::moto::{Moto, ZoneSpec};
use zonesync_test_support::proxy::FaultProxy;

use crate::probe::DnsProbe;

/// Provider requests by kind (`SOA query`, `AXFR`, `UPDATE`, `ListResourceRecordSets` …).
pub type Requests = BTreeMap<String, u64>;

/// `after - before`, per kind, without zero entries.
pub fn requests_delta(after: &Requests, before: &Requests) -> Requests {
    after
        .iter()
        .map(|(kind, count)| (kind.clone(), count - before.get(kind).copied().unwrap_or(0)))
        .filter(|(_, count)| *count > 0)
        .collect()
}

/// What the peers have in common.
pub trait Peer {
    /// `bind` or `route53`.
    fn name(&self) -> &'static str;
    /// The zone zonesync manages.
    fn zone(&self) -> &str;
    /// zonesync's provider flags.
    fn provider_args(&self) -> Vec<String>;
    /// Environment for zonesync.
    fn env(&self) -> Vec<(String, String)>;
    /// zonesync's requests so far, by kind, as the server side saw them.
    fn requests(&mut self) -> anyhow::Result<Requests>;
    /// Polls until every `(host, address)` is served; returns when they were first all served.
    /// `done` is asked between polls whether zonesync considers the sync finished (it is used
    /// only to decide when a full check is worth making).
    fn wait_all_served(
        &mut self,
        expected: &[(String, String)],
        deadline: Instant,
        done: &mut dyn FnMut() -> anyhow::Result<bool>,
    ) -> anyhow::Result<Instant>;
    /// Polls until `host` serves exactly `address`; `None` on the deadline.
    fn wait_served(
        &mut self,
        host: &str,
        address: &str,
        deadline: Instant,
    ) -> anyhow::Result<Option<Instant>>;
    /// Checks once, in full, that every `(host, address)` and its marker is served.
    fn verify(&mut self, expected: &[(String, String)]) -> anyhow::Result<()>;
    /// Notes about how this peer measures, for the report.
    fn method(&self) -> &'static str;
    /// Called between phases while zonesync is idle (the Route53 peer trims its proxy log).
    fn quiesce(&mut self) {}
    /// `(records, characters)` of each change request since the last [`Peer::quiesce`], for
    /// peers with per-request limits.
    fn change_costs(&self) -> Vec<(usize, usize)> {
        Vec::new()
    }
}

/// BIND with one primary zone and the query log on.
pub struct BindPeer {
    bind: Bind,
    zone: String,
    secret_file: tempfile::NamedTempFile,
    probe: DnsProbe,
    poll_interval: Duration,
    log_offset: u64,
    counts: Requests,
    partial_line: String,
    /// Transfers the harness made itself (signed with the same key), to leave out of the counts.
    own_transfers: u64,
}

impl BindPeer {
    /// Starts named serving `zone`.
    ///
    /// Fails when named does not start or the probe socket cannot be bound.
    pub fn start(zone: &str, poll_interval: Duration) -> anyhow::Result<Self> {
        let bind = Bind::builder().zone(zone).option("querylog yes;").start();
        let mut secret_file = tempfile::NamedTempFile::new()?;
        std::io::Write::write_all(&mut secret_file, bind.key().secret.as_bytes())?;
        let probe = DnsProbe::new(SocketAddr::from(([127, 0, 0, 1], bind.port())))?;
        Ok(Self {
            bind,
            zone: zone.to_string(),
            secret_file,
            probe,
            poll_interval,
            log_offset: 0,
            counts: Requests::new(),
            partial_line: String::new(),
            own_transfers: 0,
        })
    }

    fn read_new_log(&mut self) -> anyhow::Result<()> {
        let path = self.bind.dir().join("named.log");
        let mut file = std::fs::File::open(&path).with_context(|| format!("open {path:?}"))?;
        file.seek(SeekFrom::Start(self.log_offset))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        self.log_offset += bytes.len() as u64;
        let text = std::mem::take(&mut self.partial_line) + &String::from_utf8_lossy(&bytes);
        let mut lines: Vec<&str> = text.split('\n').collect();
        // The last piece is an unfinished line (or empty): keep it for the next read.
        self.partial_line = lines.pop().unwrap_or_default().to_string();
        for line in lines {
            if let Some(kind) = classify_bind_line(line) {
                *self.counts.entry(kind.to_string()).or_insert(0) += 1;
            }
        }
        Ok(())
    }
}

/// What a named log line says zonesync did, if it is one of its requests.
fn classify_bind_line(line: &str) -> Option<&'static str> {
    // zonesync signs everything with the TSIG key: "/key <name>" after the client address.
    if !line.contains("/key ") {
        return None;
    }
    if line.contains(": signer \"") && line.ends_with(" approved") {
        return Some("UPDATE message");
    }
    if line.contains("updating zone '") {
        return Some("UPDATE record change");
    }
    let (_, query) = line.split_once(": query: ")?;
    let mut fields = query.split_whitespace();
    let _name = fields.next()?;
    let _class = fields.next()?;
    Some(match fields.next()? {
        "SOA" => "SOA query",
        "AXFR" => "AXFR",
        "IXFR" => "IXFR",
        "A" => "A query",
        "AAAA" => "AAAA query",
        "TXT" => "TXT query",
        "CNAME" => "CNAME query",
        _ => "other query",
    })
}

impl Peer for BindPeer {
    fn name(&self) -> &'static str {
        "bind"
    }

    fn zone(&self) -> &str {
        &self.zone
    }

    fn provider_args(&self) -> Vec<String> {
        let key = self.bind.key();
        [
            "--provider",
            "rfc2136",
            "--rfc2136-host",
            "127.0.0.1",
            "--rfc2136-port",
            &self.bind.port().to_string(),
            "--rfc2136-zone",
            &self.zone,
            "--rfc2136-tsig-keyname",
            &key.name,
            "--rfc2136-tsig-secret-alg",
            &key.algorithm,
            "--rfc2136-tsig-secret-file",
            &self.secret_file.path().display().to_string(),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }

    fn env(&self) -> Vec<(String, String)> {
        Vec::new()
    }

    fn requests(&mut self) -> anyhow::Result<Requests> {
        self.read_new_log()?;
        let mut counts = self.counts.clone();
        if let Some(transfers) = counts.get_mut("AXFR") {
            *transfers = transfers.saturating_sub(self.own_transfers);
        }
        counts.retain(|_, count| *count > 0);
        Ok(counts)
    }

    fn wait_all_served(
        &mut self,
        expected: &[(String, String)],
        deadline: Instant,
        done: &mut dyn FnMut() -> anyhow::Result<bool>,
    ) -> anyhow::Result<Instant> {
        // BIND raises the SOA serial with every UPDATE message. Poll it tightly and note when
        // each serial was first seen; once zonesync says it is done, transfer the zone: if it is
        // complete, it was complete from the moment its serial was first seen.
        let mut first_seen: HashMap<u32, Instant> = HashMap::new();
        let mut last_check = Instant::now();
        while Instant::now() < deadline {
            if let Ok(serial) = self.probe.serial(&self.zone) {
                first_seen.entry(serial).or_insert_with(Instant::now);
            }
            if last_check.elapsed() >= Duration::from_millis(100) {
                last_check = Instant::now();
                if done()? {
                    self.own_transfers += 1;
                    let records = dig_axfr(self.bind.port(), &self.zone, Some(self.bind.key()))
                        .map_err(anyhow::Error::msg)?;
                    let serial: u32 = find_records(&records, &self.zone, "SOA")
                        .first()
                        .and_then(|soa| soa.data.split_whitespace().nth(2))
                        .and_then(|s| s.parse().ok())
                        .context("no SOA serial in the transfer")?;
                    let missing = missing_in_transfer(&records, expected);
                    if missing.is_empty()
                        && let Some(at) = first_seen.get(&serial)
                    {
                        return Ok(*at);
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        bail!("not every record was served before the deadline")
    }

    fn wait_served(
        &mut self,
        host: &str,
        address: &str,
        deadline: Instant,
    ) -> anyhow::Result<Option<Instant>> {
        let want: std::net::Ipv4Addr = address.parse()?;
        while Instant::now() < deadline {
            if let Ok(addresses) = self.probe.addresses(host)
                && addresses == [want]
            {
                return Ok(Some(Instant::now()));
            }
            std::thread::sleep(self.poll_interval);
        }
        Ok(None)
    }

    fn verify(&mut self, expected: &[(String, String)]) -> anyhow::Result<()> {
        self.own_transfers += 1;
        let records = dig_axfr(self.bind.port(), &self.zone, Some(self.bind.key()))
            .map_err(anyhow::Error::msg)?;
        let missing = missing_in_transfer(&records, expected);
        if !missing.is_empty() {
            bail!(
                "{} of {} records missing from BIND, e.g. {:?}",
                missing.len(),
                expected.len(),
                &missing[..missing.len().min(3)]
            );
        }
        Ok(())
    }

    fn method(&self) -> &'static str {
        "BIND: served = answered by named over UDP (a hickory-proto query every poll interval); \
         initial sync = the first moment the SOA serial of a complete zone (checked by one AXFR) \
         was seen, polling the serial every ~2 ms; requests counted from named's query and \
         update log (zonesync's requests are TSIG-signed, the harness's polls are not)"
    }
}

/// The `(host, address)` pairs whose A record or `a-` marker is missing from a transfer.
fn missing_in_transfer(
    records: &[zonesync_test_support::dns::ZoneRecord],
    expected: &[(String, String)],
) -> Vec<(String, String)> {
    let present: BTreeSet<(&str, &str, &str)> = records
        .iter()
        .map(|r| (r.name.as_str(), r.record_type.as_str(), r.data.as_str()))
        .collect();
    let names: BTreeSet<&str> = records
        .iter()
        .filter(|r| r.record_type == "TXT")
        .map(|r| r.name.as_str())
        .collect();
    expected
        .iter()
        .filter(|(host, address)| {
            let marker = format!("a-{host}");
            !present.contains(&(host.as_str(), "A", address.as_str()))
                || !names.contains(marker.as_str())
        })
        .cloned()
        .collect()
}

/// moto_server with one public hosted zone, zonesync talking to it through a counting proxy.
pub struct Route53Peer {
    moto: Moto,
    proxy: FaultProxy,
    zone: String,
    zone_id: String,
    runtime: tokio::runtime::Handle,
    /// Requests counted before the proxy's log was last cleared.
    carried: Requests,
    /// `(name, value)` of every successful CREATE/UPSERT of an A record, with when the harness
    /// first saw it.
    written: HashMap<(String, String), Instant>,
    seen_requests: usize,
    poll_interval: Duration,
}

impl Route53Peer {
    /// Starts moto, creates the hosted zone, starts the proxy.
    ///
    /// Fails when the zone cannot be created.
    pub fn start(
        zone: &str,
        runtime: tokio::runtime::Handle,
        poll_interval: Duration,
    ) -> anyhow::Result<Self> {
        let moto = Moto::start();
        let zone_id = runtime.block_on(moto.create_zone(zone, ZoneSpec::public()));
        let proxy = FaultProxy::start(&moto.endpoint());
        Ok(Self {
            moto,
            proxy,
            zone: zone.to_string(),
            zone_id,
            runtime,
            carried: Requests::new(),
            written: HashMap::new(),
            seen_requests: 0,
            poll_interval,
        })
    }

    /// Reads the proxy's log: counts per action and A-record writes.
    fn scan(&mut self) {
        let requests = self.proxy.requests();
        for request in requests.iter().skip(self.seen_requests) {
            if request.action == "ChangeResourceRecordSets" && request.status == 200 {
                let body = String::from_utf8_lossy(&request.body);
                let now = Instant::now();
                for (name, value) in a_writes(&body) {
                    self.written.entry((name, value)).or_insert(now);
                }
            }
        }
        self.seen_requests = requests.len();
    }

    fn proxy_counts(&self) -> Requests {
        self.proxy
            .actions()
            .into_iter()
            .map(|(action, count)| (action.to_string(), count as u64))
            .collect()
    }
}

/// `(name, value)` of each CREATE/UPSERT of an A record in a change request body.
fn a_writes(body: &str) -> Vec<(String, String)> {
    let mut writes = Vec::new();
    for change in body.split("<Change>").skip(1) {
        let field = |tag: &str| {
            change
                .split(&format!("<{tag}>"))
                .nth(1)
                .and_then(|rest| rest.split(&format!("</{tag}>")).next())
        };
        let (Some(action), Some(name), Some(record_type), Some(value)) = (
            field("Action"),
            field("Name"),
            field("Type"),
            field("Value"),
        ) else {
            continue;
        };
        if record_type == "A" && (action == "CREATE" || action == "UPSERT") {
            writes.push((
                name.trim_end_matches('.').to_ascii_lowercase(),
                value.to_string(),
            ));
        }
    }
    writes
}

impl Peer for Route53Peer {
    fn name(&self) -> &'static str {
        "route53"
    }

    fn zone(&self) -> &str {
        &self.zone
    }

    fn provider_args(&self) -> Vec<String> {
        ["--provider", "aws"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    fn env(&self) -> Vec<(String, String)> {
        Moto::env_for(&self.proxy.url())
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect()
    }

    fn requests(&mut self) -> anyhow::Result<Requests> {
        let mut counts = self.carried.clone();
        for (kind, count) in self.proxy_counts() {
            *counts.entry(kind).or_insert(0) += count;
        }
        Ok(counts)
    }

    fn wait_all_served(
        &mut self,
        expected: &[(String, String)],
        deadline: Instant,
        done: &mut dyn FnMut() -> anyhow::Result<bool>,
    ) -> anyhow::Result<Instant> {
        let mut last_check = Instant::now();
        // moto answered the change request that carried the last record: from then on Route53
        // serves it (ListResourceRecordSets returns it; real Route53 propagates within ~60 s).
        while Instant::now() < deadline {
            self.scan();
            let mut latest = None;
            let mut complete = true;
            for (host, address) in expected {
                match self.written.get(&(host.clone(), address.clone())) {
                    Some(at) => latest = latest.max(Some(*at)),
                    None => {
                        complete = false;
                        break;
                    }
                }
            }
            if complete && let Some(at) = latest {
                return Ok(at);
            }
            if last_check.elapsed() >= Duration::from_millis(100) {
                last_check = Instant::now();
                // Only for the progress timestamps the caller records.
                done()?;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        bail!("not every record was written to Route53 before the deadline")
    }

    fn wait_served(
        &mut self,
        host: &str,
        address: &str,
        deadline: Instant,
    ) -> anyhow::Result<Option<Instant>> {
        let key = (host.to_string(), address.to_string());
        while Instant::now() < deadline {
            self.scan();
            if let Some(at) = self.written.get(&key) {
                return Ok(Some(*at));
            }
            std::thread::sleep(self.poll_interval);
        }
        Ok(None)
    }

    fn verify(&mut self, expected: &[(String, String)]) -> anyhow::Result<()> {
        let records = self.runtime.block_on(self.moto.records(&self.zone_id));
        let present: BTreeSet<(String, String, String)> = records
            .iter()
            .flat_map(|(name, record_type, values)| {
                values
                    .iter()
                    .map(move |v| (name.clone(), record_type.clone(), v.clone()))
            })
            .collect();
        let marker_names: BTreeSet<&str> = records
            .iter()
            .filter(|(_, t, _)| t == "TXT")
            .map(|(n, _, _)| n.as_str())
            .collect();
        let missing: Vec<&(String, String)> = expected
            .iter()
            .filter(|(host, address)| {
                !present.contains(&(host.clone(), "A".to_string(), address.clone()))
                    || !marker_names.contains(format!("a-{host}").as_str())
            })
            .collect();
        if !missing.is_empty() {
            bail!(
                "{} of {} records missing from Route53 (moto), e.g. {:?}",
                missing.len(),
                expected.len(),
                &missing[..missing.len().min(3)]
            );
        }
        Ok(())
    }

    fn quiesce(&mut self) {
        // Forget the proxy's log (keeping the counts), so polls stay cheap.
        let counts = self.proxy_counts();
        for (kind, count) in counts {
            *self.carried.entry(kind).or_insert(0) += count;
        }
        self.proxy.clear_requests();
        self.seen_requests = 0;
    }

    fn change_costs(&self) -> Vec<(usize, usize)> {
        self.proxy
            .requests()
            .iter()
            .filter(|r| r.action == "ChangeResourceRecordSets")
            .map(|r| {
                let cost = r.batch_cost();
                (cost.records, cost.characters)
            })
            .collect()
    }

    fn method(&self) -> &'static str {
        "Route53 (moto): served = moto answered 200 to the ChangeResourceRecordSets request \
         carrying the value (seen at a counting proxy between zonesync and moto, polled every \
         poll interval; polling moto itself costs a sort of the whole zone per request); final \
         state checked with a full ListResourceRecordSets; requests counted at the proxy"
    }
}
