//! [`Rfc2136Provider`]: zones from the flags, records by AXFR behind an SOA-serial check,
//! changes by UPDATE with a read-back of what changed.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{Name, RData, Record, RecordType as WireType};
use zonesync_core::{
    ApplyReport, ChangeGroup, DnsName, Endpoint, ErrorChain, ErrorKind, Provider, ProviderError,
    RecordType, Rejection, Targets, Zone,
};

use crate::client::Client;
use crate::config::Rfc2136Config;
use crate::connection::{ExchangeError, Transfer};
use crate::rcode::{Operation, Refusal};
use crate::records::{RrsetKey, dns_name_of, record_type_of, rrsets, wire_name, wire_type_of};
use crate::snapshot::ZoneSnapshot;
use crate::update::{self, PreparedGroup, ServerState, TtlPolicy};

/// Extra messages an apply may spend isolating the groups a server refuses (SERVFAIL, REFUSED,
/// NOTZONE) by splitting a refused message in halves.
const SPLIT_BUDGET: usize = 32;
/// Up to this many changed RRsets are read back with queries rather than a zone transfer.
const READ_BACK_QUERIES: usize = 64;
/// Above [`READ_BACK_QUERIES`], queries are still used when the zone holds at least this many
/// records per changed RRset (a transfer would move much more data).
const READ_BACK_ZONE_RATIO: usize = 8;

/// What the provider has sent so far, for tests, benchmarks and metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rfc2136Stats {
    /// Zone transfers (AXFR) started.
    pub axfr: u64,
    /// SOA queries (serial checks).
    pub soa_queries: u64,
    /// Other queries (read-backs of changed RRsets).
    pub queries: u64,
    /// UPDATE messages answered by a server.
    pub update_messages: u64,
    /// Encoded size of those UPDATE messages, TSIG record included.
    pub update_bytes: u64,
}

/// Manages zones on a dynamic-DNS server (BIND, Knot, PowerDNS, Windows DNS) through TSIG-signed
/// RFC 2136 updates, reading them with AXFR.
///
/// The provider keeps no records, only each zone's SOA serial as of its last listing:
/// [`Provider::unchanged_since_read`] answers from one SOA query, and an apply moves the
/// remembered serial forward when the serial after it shows that nobody else wrote in between
/// (otherwise it forgets it, and the next drift check reads the zone again).
pub struct Rfc2136Provider {
    config: Rfc2136Config,
    client: Client,
    zones: Vec<Zone>,
    known: Mutex<HashMap<DnsName, Known>>,
}

/// What the provider remembers of a zone since it last listed it.
#[derive(Clone, Copy, Debug)]
struct Known {
    /// The SOA serial the zone had, with zonesync's own accepted updates since counted in.
    serial: u32,
    /// Records in the zone at the listing (sizes the read-back after an apply).
    records: usize,
}

impl Rfc2136Provider {
    /// Builds the provider. It connects on first use, so this only fails when the TSIG key name
    /// is not a usable DNS name.
    pub async fn new(config: Rfc2136Config) -> Result<Self, ProviderError> {
        let client = Client::new(&config).map_err(|error| {
            ProviderError::config(ErrorChain(&error).to_string()).with_source(error)
        })?;
        let zones = config.zones().iter().cloned().map(Zone::new).collect();
        Ok(Self {
            config,
            client,
            zones,
            known: Mutex::new(HashMap::new()),
        })
    }

    /// What was sent so far.
    pub fn stats(&self) -> Rfc2136Stats {
        use std::sync::atomic::Ordering::Relaxed;
        let counters = &self.client.counters;
        Rfc2136Stats {
            axfr: counters.transfers.load(Relaxed),
            soa_queries: counters.soa_queries.load(Relaxed),
            queries: counters.queries.load(Relaxed),
            update_messages: counters.update_messages.load(Relaxed),
            update_bytes: counters.update_bytes.load(Relaxed),
        }
    }

    fn known(&self) -> MutexGuard<'_, HashMap<DnsName, Known>> {
        self.known.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn key_name(&self) -> Option<String> {
        self.config.tsig().map(|key| key.name().to_string())
    }

    /// The configured zone `zone` stands for.
    fn managed_zone(&self, zone: &Zone) -> Result<DnsName, ProviderError> {
        self.config
            .zones()
            .iter()
            .find(|managed| **managed == zone.name)
            .cloned()
            .ok_or_else(|| {
                ProviderError::config(format!(
                    "zone {} is not one of the --rfc2136-zone zones",
                    zone.name
                ))
            })
    }

    fn wire_zone(zone: &DnsName) -> Result<Name, ProviderError> {
        wire_name(zone).map_err(|e| ProviderError::config(format!("zone {zone}: {e}")))
    }

    fn exchange_error(
        &self,
        zone: &DnsName,
        operation: Operation,
        error: ExchangeError,
    ) -> ProviderError {
        let message = match &error {
            ExchangeError::Unreachable { .. } => format!(
                "cannot reach a DNS server for the {operation} of zone {zone} ({} attempts): {error}",
                self.config.attempts()
            ),
            ExchangeError::Connection { .. } | ExchangeError::Request(_) => {
                format!("the {operation} of zone {zone} failed: {error}")
            }
            ExchangeError::Tsig { server, failure } => format!(
                "TSIG authentication failed: the answer of {server} to the {operation} of zone {zone} is not acceptable ({failure}); the server probably has another secret or algorithm for key {}",
                self.key_name().unwrap_or_default()
            ),
        };
        let kind = match &error {
            ExchangeError::Unreachable { .. } | ExchangeError::Connection { .. } => {
                ErrorKind::Transient
            }
            ExchangeError::Request(_) => ErrorKind::Permanent,
            ExchangeError::Tsig { .. } => ErrorKind::Auth,
        };
        ProviderError::new(kind, message).with_source(error)
    }

    fn refusal_error(
        &self,
        server: &str,
        zone: &DnsName,
        operation: Operation,
        refusal: &Refusal,
    ) -> ProviderError {
        let (kind, meaning) = refusal.explain(operation, self.key_name().as_deref());
        ProviderError::new(
            kind,
            format!(
                "{server} answered {} to the {operation} of zone {zone}: {meaning}",
                refusal.codes()
            ),
        )
    }

    /// The zone's SOA serial, from a SOA query.
    async fn soa_serial(&self, zone: &DnsName) -> Result<u32, ProviderError> {
        let wire = Self::wire_zone(zone)?;
        let answered = self
            .client
            .query(&[(wire.clone(), WireType::SOA)])
            .await
            .map_err(|e| self.exchange_error(zone, Operation::SoaQuery, e))?;
        let Some(answer) = answered.value.first() else {
            return Err(ProviderError::transient(format!(
                "{} gave no answer to the SOA query of zone {zone}",
                answered.server
            )));
        };
        if let Some(refusal) = Refusal::of(answer, true) {
            return Err(self.refusal_error(&answered.server, zone, Operation::SoaQuery, &refusal));
        }
        answer
            .answers
            .iter()
            .find_map(|record| match &record.data {
                RData::SOA(soa) if record.name == wire => Some(soa.serial),
                _ => None,
            })
            .ok_or_else(|| {
                ProviderError::config(format!(
                    "{} has no SOA record for zone {zone}: it is not authoritative for the zone (check --rfc2136-zone and --rfc2136-host)",
                    answered.server
                ))
            })
    }

    /// The whole zone, by AXFR.
    async fn transfer(&self, zone: &DnsName) -> Result<ZoneSnapshot, ProviderError> {
        let wire = Self::wire_zone(zone)?;
        let answered = self
            .client
            .transfer(&wire)
            .await
            .map_err(|e| self.exchange_error(zone, Operation::Transfer, e))?;
        match answered.value {
            Transfer::Refused(answer) => {
                let refusal = Refusal::of(&answer, true).unwrap_or(Refusal {
                    rcode: answer.metadata.response_code,
                    tsig_error: None,
                });
                Err(self.refusal_error(&answered.server, zone, Operation::Transfer, &refusal))
            }
            Transfer::Complete { serial, rrsets } => {
                tracing::debug!(zone = %zone, serial, records = rrsets.records(), "zone transferred");
                Ok(ZoneSnapshot::from_transfer(serial, rrsets))
            }
        }
    }

    /// Sends one message's groups, splitting a refused multi-group message to isolate the
    /// refused groups; records the outcome by group index in `sent`.
    async fn send(
        &self,
        zone: &DnsName,
        wire_zone: &Name,
        batch: Vec<PreparedGroup>,
        sent: &mut Sent,
    ) {
        let mut queue: VecDeque<Vec<PreparedGroup>> = VecDeque::from([batch]);
        while let Some(mut batch) = queue.pop_front() {
            let indexes = || batch.iter().map(|group| group.index);
            if let Some(fatal) = &sent.fatal {
                let message = format!("not sent: {}", fatal.message());
                sent.rejected
                    .extend(indexes().map(|i| (i, message.clone())));
                continue;
            }
            let message = update::message(wire_zone, &batch);
            match self.client.update(&message).await {
                Err(error) => {
                    let error = self.exchange_error(zone, Operation::Update, error);
                    let message = format!("outcome unknown: {}", error.message());
                    sent.rejected
                        .extend(indexes().map(|i| (i, message.clone())));
                    sent.fatal = Some(error);
                }
                Ok(answered) => match Refusal::of(&answered.value, true) {
                    None => {
                        sent.accepted.extend(indexes());
                        sent.accepted_messages += 1;
                    }
                    Some(refusal) => {
                        let error =
                            self.refusal_error(&answered.server, zone, Operation::Update, &refusal);
                        if refusal.affects_whole_zone() {
                            let message = error.message().to_string();
                            sent.rejected
                                .extend(indexes().map(|i| (i, message.clone())));
                            sent.fatal = Some(error);
                        } else if batch.len() > 1 && sent.split_budget >= 2 {
                            sent.split_budget -= 2;
                            tracing::debug!(zone = %zone, groups = batch.len(), codes = %refusal.codes(), "update refused; splitting the message to isolate the refused changes");
                            let right = batch.split_off(batch.len() / 2);
                            queue.push_front(right);
                            queue.push_front(batch);
                        } else {
                            let error = match self
                                .mail_exchangers_without_address(zone, &batch, &refusal)
                                .await
                            {
                                Some(reason) => ProviderError::permanent(format!(
                                    "{} answered {} to the UPDATE of zone {zone}: {reason}",
                                    answered.server,
                                    refusal.codes()
                                )),
                                None => error,
                            };
                            let message = error.message().to_string();
                            sent.rejected
                                .extend(indexes().map(|i| (i, message.clone())));
                            sent.refusals.push(error);
                        }
                    }
                },
            }
        }
    }

    /// Why a server likely refused `batch` when it is not the key: BIND refuses (REFUSED) an
    /// update adding an MX record whose mail exchanger lies inside the zone but has no address
    /// record there (its `check-integrity` and `check-mx` checks), and an MX whose exchanger is an
    /// IP address. `None` when the refusal is not REFUSED, the batch adds no such MX, or the
    /// exchanger's address cannot be confirmed missing.
    async fn mail_exchangers_without_address(
        &self,
        zone: &DnsName,
        batch: &[PreparedGroup],
        refusal: &Refusal,
    ) -> Option<String> {
        if refusal.rcode != ResponseCode::Refused || refusal.tsig_error.is_some() {
            return None;
        }
        let exchanges: Vec<(&Record, &Name)> = batch
            .iter()
            .flat_map(|group| &group.additions)
            .filter_map(|record| match &record.data {
                RData::MX(mx) => Some((record, &mx.exchange)),
                _ => None,
            })
            .collect();
        let mut reasons = Vec::new();
        let mut in_zone = Vec::new();
        for (record, exchange) in &exchanges {
            let owner = dns_name_of(&record.name);
            let target = dns_name_of(exchange);
            if target.as_str().parse::<std::net::Ipv4Addr>().is_ok() {
                reasons.push(format!(
                    "{owner} MX {target}: the mail exchanger is an IP address, which BIND refuses (check-mx); name a host instead"
                ));
            } else if target.is_within(zone) {
                in_zone.push((owner, target, (*exchange).clone()));
            }
        }
        if !in_zone.is_empty() {
            let questions: Vec<(Name, WireType)> = in_zone
                .iter()
                .flat_map(|(_, _, wire)| {
                    [(wire.clone(), WireType::A), (wire.clone(), WireType::AAAA)]
                })
                .collect();
            let answered = self.client.query(&questions).await.ok()?;
            for ((owner, target, _), answers) in in_zone.iter().zip(answered.value.chunks(2)) {
                let has_address = answers.iter().any(|answer| {
                    answer
                        .answers
                        .iter()
                        .any(|r| matches!(r.record_type(), WireType::A | WireType::AAAA))
                });
                if !has_address {
                    reasons.push(format!(
                        "{owner} MX {target}: the mail exchanger {target} lies in zone {zone} but has no address record (A or AAAA) there, and BIND refuses such an MX (check-integrity / check-mx); add an A or AAAA record for {target}, or point the MX at a host that has one"
                    ));
                }
            }
        }
        (!reasons.is_empty()).then(|| reasons.join("; "))
    }

    /// Reads back the RRsets `groups` touched, and moves the remembered serial forward.
    ///
    /// `before` is the remembered serial when the apply started and `messages` the number of
    /// updates the server accepted: the serial is moved forward only when it moved by exactly
    /// that much, i.e. nobody else wrote in between; otherwise it is forgotten, so the next
    /// drift check reads the zone.
    ///
    /// Many changes in a small zone are read back with one transfer.
    async fn read_back<'g>(
        &self,
        zone: &DnsName,
        groups: impl IntoIterator<Item = &'g ChangeGroup<'g>>,
        before: Option<u32>,
        messages: u32,
    ) -> Result<ReadBack, ProviderError> {
        let touched = update::touched(groups);
        let zone_records = self.known().get(zone).map_or(0, |known| known.records);
        if touched.len() > READ_BACK_QUERIES && touched.len() * READ_BACK_ZONE_RATIO > zone_records
        {
            let snapshot = self.transfer(zone).await?;
            self.move_serial(zone, before, messages, snapshot.serial);
            return Ok(ReadBack::Transferred(snapshot));
        }

        let after = self.soa_serial(zone).await?;
        let mut questions = Vec::with_capacity(touched.len());
        for (name, record_type) in &touched {
            let name = wire_name(name).map_err(|e| ProviderError::permanent(e.to_string()))?;
            let wire_type =
                wire_type_of(record_type).map_err(|e| ProviderError::permanent(e.to_string()))?;
            questions.push((name, wire_type));
        }
        let answered = self
            .client
            .query(&questions)
            .await
            .map_err(|e| self.exchange_error(zone, Operation::ReadBack, e))?;
        // Records below a delegation (glue, or data the delegation hides) are answered with a
        // referral; the zone transfer holds them as stored.
        if let Some((key, cut)) = touched
            .iter()
            .zip(&answered.value)
            .find_map(|(key, answer)| delegation_above(zone, key, answer).map(|cut| (key, cut)))
        {
            tracing::debug!(zone = %zone, name = %key.0, delegation = %cut, "a changed record lies below a delegation; reading it back by zone transfer");
            let snapshot = self.transfer(zone).await?;
            self.move_serial(zone, before, messages, snapshot.serial);
            return Ok(ReadBack::Transferred(snapshot));
        }
        let mut state = ServerState::default();
        for (key, answer) in touched.iter().zip(&answered.value) {
            if let Some(refusal) = Refusal::of(answer, false) {
                return Err(self.refusal_error(
                    &answered.server,
                    zone,
                    Operation::ReadBack,
                    &refusal,
                ));
            }
            let of_key = |record: &&Record| {
                dns_name_of(&record.name) == key.0 && record_type_of(record.record_type()) == key.1
            };
            // NS records below the apex are a delegation: the server answers a query for them
            // with a referral, the RRset in the authority section rather than the answer.
            let referral = key.1 == RecordType::Ns && !answer.answers.iter().any(|r| of_key(&r));
            let section = if referral {
                &answer.authorities
            } else {
                &answer.answers
            };
            if let Some(rrset) = rrsets(section.iter().filter(of_key)).into_values().next() {
                state.rrsets.insert(key.clone(), rrset);
            }
            // A negative answer carries the SOA of the zone the server answered from.
            if let Some(other) = answer
                .authorities
                .iter()
                .filter(|record| record.record_type() == WireType::SOA)
                .map(|record| dns_name_of(&record.name))
                .find(|apex| apex != zone && apex.is_within(zone))
            {
                state.other_zone.insert(key.clone(), other);
            }
        }

        self.move_serial(zone, before, messages, after);
        Ok(ReadBack::Queried(state))
    }

    /// After `messages` accepted updates, remembers `after` as the zone's serial when the
    /// serial moved by exactly that much from the one remembered before (`before`); otherwise
    /// forgets the zone.
    fn move_serial(&self, zone: &DnsName, before: Option<u32>, messages: u32, after: u32) {
        let mut known = self.known();
        match (known.get_mut(zone), before) {
            (Some(entry), Some(before))
                if entry.serial == before && before.wrapping_add(messages) == after =>
            {
                entry.serial = after;
            }
            _ => {
                known.remove(zone);
            }
        }
    }
}

/// The delegation point (an NS RRset below the apex of `zone`) above the RRset `key`, when the
/// server answered the query for it with a referral. The delegation's own NS RRset is not
/// below it: its referral is its answer.
fn delegation_above(
    zone: &DnsName,
    key: &RrsetKey,
    answer: &hickory_proto::op::Message,
) -> Option<DnsName> {
    if answer.metadata.authoritative || !answer.answers.is_empty() {
        return None;
    }
    answer
        .authorities
        .iter()
        .filter(|record| record.record_type() == WireType::NS)
        .map(|record| dns_name_of(&record.name))
        .find(|cut| {
            cut != zone
                && cut.is_within(zone)
                && key.0.is_within(cut)
                && !(key.1 == RecordType::Ns && key.0 == *cut)
        })
}

/// What a read-back found.
enum ReadBack {
    /// The whole zone, transferred.
    Transferred(ZoneSnapshot),
    /// The touched RRsets, queried one by one.
    Queried(ServerState),
}

impl ReadBack {
    /// The values of the RRset found with this name and type.
    fn rrset(&self, key: &RrsetKey) -> Option<&Targets> {
        match self {
            ReadBack::Transferred(snapshot) => snapshot.get(key),
            ReadBack::Queried(state) => state.rrsets.get(key).map(|e| &e.targets),
        }
    }
}

/// What sending the messages achieved.
struct Sent {
    /// Indexes (in the list given to `apply`) of groups in accepted messages.
    accepted: Vec<usize>,
    /// Indexes of groups in refused or failed messages, with the reason.
    rejected: Vec<(usize, String)>,
    /// UPDATE messages answered NOERROR.
    accepted_messages: u32,
    /// A failure that stopped sending (connection lost, key refused, zone not served).
    fatal: Option<ProviderError>,
    /// Refusals of single groups (or of batches after the split budget ran out).
    refusals: Vec<ProviderError>,
    /// Extra messages still allowed for splitting refused ones.
    split_budget: usize,
}

impl Default for Sent {
    fn default() -> Self {
        Self {
            accepted: Vec::new(),
            rejected: Vec::new(),
            accepted_messages: 0,
            fatal: None,
            refusals: Vec::new(),
            split_budget: SPLIT_BUDGET,
        }
    }
}

#[async_trait]
impl Provider for Rfc2136Provider {
    fn name(&self) -> &'static str {
        "rfc2136"
    }

    async fn zones(&self) -> Result<Vec<Zone>, ProviderError> {
        Ok(self.zones.clone())
    }

    async fn records(&self, zone: &Zone) -> Result<Vec<Endpoint>, ProviderError> {
        let zone = self.managed_zone(zone)?;
        let snapshot = self.transfer(&zone).await?;
        let endpoints = snapshot.endpoints();
        self.known().insert(
            zone,
            Known {
                serial: snapshot.serial,
                records: snapshot.record_count(),
            },
        );
        Ok(endpoints)
    }

    async fn unchanged_since_read(&self, zone: &Zone) -> Result<bool, ProviderError> {
        let zone = self.managed_zone(zone)?;
        let Some(known) = self.known().get(&zone).map(|known| known.serial) else {
            return Ok(false);
        };
        let serial = self.soa_serial(&zone).await?;
        if serial == known {
            tracing::debug!(zone = %zone, serial, "SOA serial unchanged since the last listing");
        }
        Ok(serial == known)
    }

    async fn apply(
        &self,
        zone: &Zone,
        groups: &[ChangeGroup<'_>],
    ) -> Result<ApplyReport, ProviderError> {
        let zone_name = self.managed_zone(zone)?;
        let wire_zone = Self::wire_zone(&zone_name)?;
        let mut report = ApplyReport::default();
        let ttl = TtlPolicy {
            default_ttl: self.config.default_ttl(),
            min_ttl: self.config.min_ttl(),
        };
        // Groups are prepared and sent one message at a time, so only one message's records
        // exist at once. Rejections keep the order of the whole-list version: unpreparable
        // groups, then oversized ones, then refused messages.
        let mut oversized = Vec::new();
        let mut packer =
            update::Packer::new(self.config.batch_change_size(), update::record_budget());
        let mut sent = Sent::default();
        // No SOA query before the updates: the serial after them tells whether anybody else
        // wrote since the listing.
        let before = self.known().get(&zone_name).map(|known| known.serial);
        let mut sent_any = false;
        let mut ready_messages = groups.iter().enumerate().filter_map(|(index, group)| {
            match update::prepare(index, group, &zone_name, self.config.zones(), ttl) {
                Ok(ready) => match packer.push(ready) {
                    Ok(full) => full,
                    Err(too_large) => {
                        oversized.push(Rejection {
                            subject: group.subject.clone(),
                            message: format!(
                                "the change is too large for one UPDATE message ({} bytes of records, at most {})",
                                too_large.size,
                                update::record_budget()
                            ),
                        });
                        None
                    }
                },
                Err(message) => {
                    report.rejected.push(Rejection {
                        subject: group.subject.clone(),
                        message,
                    });
                    None
                }
            }
        });
        for batch in ready_messages.by_ref() {
            sent_any = true;
            self.send(&zone_name, &wire_zone, batch, &mut sent).await;
        }
        drop(ready_messages);
        if let Some(batch) = packer.finish() {
            sent_any = true;
            self.send(&zone_name, &wire_zone, batch, &mut sent).await;
        }
        report.rejected.append(&mut oversized);
        if !sent_any {
            return Ok(report);
        }
        tracing::info!(zone = %zone_name, messages = sent.accepted_messages, accepted = sent.accepted.len(), refused = sent.rejected.len(), "updates sent");

        if sent.accepted.is_empty() {
            // Nothing was accepted (a message lost with its connection may still have landed;
            // the remembered serial stays, the next SOA check notices). One cause for everything is
            // reported as one error.
            if let Some(fatal) = sent.fatal {
                return Err(fatal);
            }
            if report.rejected.is_empty()
                && let Some(first) = sent.refusals.first()
                && sent.refusals.iter().all(|r| r.message() == first.message())
            {
                return Err(ProviderError::new(first.kind(), first.message()));
            }
        }
        for (index, message) in &sent.rejected {
            report.rejected.push(Rejection {
                subject: groups[*index].subject.clone(),
                message: message.clone(),
            });
        }
        if sent.accepted.is_empty() {
            return Ok(report);
        }

        let accepted = || sent.accepted.iter().map(|&i| &groups[i]);
        let read = match self
            .read_back(&zone_name, accepted(), before, sent.accepted_messages)
            .await
        {
            Ok(read) => read,
            Err(error) => {
                self.known().remove(&zone_name);
                return Err(ProviderError::new(
                    error.kind(),
                    format!(
                        "the server accepted {} UPDATE message(s) for zone {zone_name}, but reading the changes back failed, so their outcome is unknown: {}",
                        sent.accepted_messages,
                        error.message()
                    ),
                ));
            }
        };
        let no_other_zone = BTreeMap::new();
        let other_zone = match &read {
            ReadBack::Transferred(_) => &no_other_zone,
            ReadBack::Queried(state) => &state.other_zone,
        };
        for group in accepted() {
            if let Some(problem) = update::verify(group, |key| read.rrset(key), other_zone) {
                tracing::warn!(zone = %zone_name, record = %group.subject, %problem, "change did not land");
                report.rejected.push(Rejection {
                    subject: group.subject.clone(),
                    message: problem,
                });
            }
        }
        Ok(report)
    }

    fn default_ttl(&self) -> u32 {
        self.config.default_ttl()
    }

    /// Drops provider-specific properties and set identifiers (RFC 2136 servers have no
    /// routing policies) and raises configured TTLs to `--rfc2136-min-ttl`, so the planner
    /// compares with what will really be stored.
    async fn adjust_desired(
        &self,
        mut desired: Vec<Endpoint>,
    ) -> Result<Vec<Endpoint>, ProviderError> {
        let min_ttl = self.config.min_ttl();
        for endpoint in &mut desired {
            endpoint.properties.clear();
            endpoint.set_identifier = None;
            if let Some(ttl) = endpoint.ttl.as_mut() {
                *ttl = (*ttl).max(min_ttl);
            }
        }
        Ok(desired)
    }
}
