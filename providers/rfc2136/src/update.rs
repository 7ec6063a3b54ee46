//! Turning change groups into RFC 2136 UPDATE messages.
//!
//! Each group becomes the exact records to delete (the old values) and to add (the new
//! values); what must be true after it landed is worked out from the group again at read-back
//! time, so nothing but the records of the message being built is held. Groups are packed into
//! as few messages as the size limit (64 KiB, encoded) and the batch size allow, never split;
//! inside a message every deletion precedes every addition, so a CNAME can replace an A record
//! (and the other way round) in one message.

use std::collections::{BTreeMap, BTreeSet};

use hickory_proto::op::update_message::UpdateMessage;
use hickory_proto::op::{Message, MessageType, OpCode, Query};
use hickory_proto::rr::{Name, Record, RecordType as WireType};
use hickory_proto::serialize::binary::BinEncodable;
use zonesync_core::{Change, ChangeGroup, DnsName, Endpoint, RecordType, Targets};

use crate::records::{RrsetKey, deletion, rdata_of, record, wire_name};

/// Largest DNS message over TCP.
pub(crate) const MAX_MESSAGE: usize = 65_535;
/// Room kept for the header, the zone section and the TSIG record (key name up to 255 bytes,
/// MAC up to 64).
const MESSAGE_OVERHEAD: usize = 1_024;

/// How TTLs are written.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TtlPolicy {
    /// TTL of records without a configured one.
    pub default_ttl: u32,
    /// Lowest TTL written.
    pub min_ttl: u32,
}

impl TtlPolicy {
    fn ttl_for(&self, endpoint: &Endpoint) -> u32 {
        endpoint.ttl.unwrap_or(self.default_ttl).max(self.min_ttl)
    }
}

/// What must hold for one RRset after a group landed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Expectation {
    /// Targets that must be there.
    pub present: BTreeSet<String>,
    /// Targets that must be gone.
    pub absent: BTreeSet<String>,
}

/// A change group ready to send.
#[derive(Clone, Debug)]
pub(crate) struct PreparedGroup {
    /// Position of the group in the list given to `apply`.
    pub index: usize,
    /// Records to delete, exactly (class NONE).
    pub deletions: Vec<Record>,
    /// Records to add.
    pub additions: Vec<Record>,
    /// Upper bound of the encoded size of its records inside a message for its zone.
    pub size: usize,
}

/// Checks that every record of `group` belongs to `zone` (the longest of `zones` containing it)
/// and turns the group into records.
///
/// Fails with a message naming the record when a name lies outside the zone or in a more
/// specific managed zone, when a record carries a set identifier (RFC 2136 has no routing
/// policies), or when a value cannot be encoded.
pub(crate) fn prepare(
    index: usize,
    group: &ChangeGroup<'_>,
    zone: &DnsName,
    zones: &[DnsName],
    ttl: TtlPolicy,
) -> Result<PreparedGroup, String> {
    let mut prepared = PreparedGroup {
        index,
        deletions: Vec::new(),
        additions: Vec::new(),
        size: 0,
    };
    for change in &group.changes {
        let (old, new) = old_and_new(change);
        for endpoint in old.iter().chain(new.iter()) {
            check_placement(endpoint, zone, zones)?;
        }
        if let Some(old) = old {
            let name = wire_name(&old.name).map_err(|e| e.to_string())?;
            for target in &old.targets {
                let data = rdata_of(&old.record_type, target)
                    .map_err(|e| format!("cannot delete {}: {e}", old.key()))?;
                prepared.deletions.push(deletion(name.clone(), data));
            }
        }
        if let Some(new) = new {
            let name = wire_name(&new.name).map_err(|e| e.to_string())?;
            let ttl = ttl.ttl_for(new);
            for target in &new.targets {
                let data = rdata_of(&new.record_type, target)
                    .map_err(|e| format!("cannot write {}: {e}", new.key()))?;
                prepared.additions.push(record(name.clone(), ttl, data));
            }
        }
    }
    prepared.size = prepared
        .deletions
        .iter()
        .chain(&prepared.additions)
        .map(encoded_size)
        .sum::<Result<usize, String>>()?;
    Ok(prepared)
}

/// The record a change removes and the one it writes.
fn old_and_new(change: &Change) -> (Option<&Endpoint>, Option<&Endpoint>) {
    match change {
        Change::Create { record } => (None, Some(record)),
        Change::Update { old, new } => (Some(old), Some(new)),
        Change::Delete { old, .. } => (Some(old), None),
    }
}

/// The state every RRset `group` touches must be in once it landed: the old values gone, the
/// new ones there (a value both removed and written by later changes ends as the last one
/// says).
pub(crate) fn expectations(group: &ChangeGroup<'_>) -> BTreeMap<RrsetKey, Expectation> {
    let mut expectations: BTreeMap<RrsetKey, Expectation> = BTreeMap::new();
    for change in &group.changes {
        let (old, new) = old_and_new(change);
        if let Some(old) = old {
            let expectation = expectations
                .entry((old.name.clone(), old.record_type.clone()))
                .or_default();
            for target in &old.targets {
                expectation.present.remove(target);
                expectation.absent.insert(target.clone());
            }
        }
        if let Some(new) = new {
            let expectation = expectations
                .entry((new.name.clone(), new.record_type.clone()))
                .or_default();
            for target in &new.targets {
                expectation.absent.remove(target);
                expectation.present.insert(target.clone());
            }
        }
    }
    expectations
}

fn check_placement(endpoint: &Endpoint, zone: &DnsName, zones: &[DnsName]) -> Result<(), String> {
    if let Some(set_identifier) = &endpoint.set_identifier {
        return Err(format!(
            "{} has set identifier {set_identifier:?}: RFC 2136 servers have no routing policies",
            endpoint.key()
        ));
    }
    let home = zones
        .iter()
        .filter(|candidate| endpoint.name.is_within(candidate))
        .max_by_key(|candidate| candidate.label_count());
    match home {
        Some(home) if home == zone => Ok(()),
        Some(home) => Err(format!(
            "{} belongs to zone {home}, not {zone}",
            endpoint.name
        )),
        None => Err(format!(
            "no --rfc2136-zone contains {} (zones: {})",
            endpoint.name,
            zones
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// The encoded size of `record` without name compression: an upper bound of what it takes in a
/// message (hickory compresses only the first 120 names of a message).
fn encoded_size(record: &Record) -> Result<usize, String> {
    record
        .to_bytes()
        .map(|bytes| bytes.len())
        .map_err(|e| format!("cannot encode {}: {e}", record.name))
}

/// Fills messages with prepared groups in order, at most `max_groups` groups and `max_bytes`
/// of records each; a message is handed out as soon as the next group does not fit, so only
/// one message's records are held at a time.
pub(crate) struct Packer {
    max_groups: usize,
    max_bytes: usize,
    current: Vec<PreparedGroup>,
    current_bytes: usize,
}

impl Packer {
    /// An empty packer.
    pub(crate) fn new(max_groups: usize, max_bytes: usize) -> Self {
        Self {
            max_groups,
            max_bytes,
            current: Vec::new(),
            current_bytes: 0,
        }
    }

    /// Adds `group`; returns the full message it did not fit in, if any. A group too large for
    /// any message is given back as `Err`.
    pub(crate) fn push(
        &mut self,
        group: PreparedGroup,
    ) -> Result<Option<Vec<PreparedGroup>>, PreparedGroup> {
        if group.size > self.max_bytes {
            return Err(group);
        }
        let mut full = None;
        if !self.current.is_empty()
            && (self.current.len() >= self.max_groups
                || self.current_bytes + group.size > self.max_bytes)
        {
            full = Some(std::mem::take(&mut self.current));
            self.current_bytes = 0;
        }
        self.current_bytes += group.size;
        self.current.push(group);
        Ok(full)
    }

    /// The last, partly filled message, if any.
    pub(crate) fn finish(self) -> Option<Vec<PreparedGroup>> {
        (!self.current.is_empty()).then_some(self.current)
    }
}

/// Room for records in one message.
pub(crate) fn record_budget() -> usize {
    MAX_MESSAGE - MESSAGE_OVERHEAD
}

/// One UPDATE message for `zone` carrying `groups`: every deletion first, then every addition.
pub(crate) fn message<'g>(
    zone: &Name,
    groups: impl IntoIterator<Item = &'g PreparedGroup> + Clone,
) -> Message {
    let mut message = Message::new(0, MessageType::Query, OpCode::Update);
    message.metadata.recursion_desired = false;
    message.add_zone(Query::query(zone.clone(), WireType::SOA));
    for group in groups.clone() {
        message.add_updates(group.deletions.iter().cloned());
    }
    for group in groups {
        message.add_updates(group.additions.iter().cloned());
    }
    message
}

/// The RRsets a set of groups touches.
pub(crate) fn touched<'g>(
    groups: impl IntoIterator<Item = &'g ChangeGroup<'g>>,
) -> BTreeSet<RrsetKey> {
    let mut touched = BTreeSet::new();
    for group in groups {
        for change in &group.changes {
            let (old, new) = old_and_new(change);
            for endpoint in old.into_iter().chain(new) {
                touched.insert((endpoint.name.clone(), endpoint.record_type.clone()));
            }
        }
    }
    touched
}

/// What the read-back found on the server for the touched RRsets.
#[derive(Debug, Default)]
pub(crate) struct ServerState {
    /// The RRsets present now.
    pub rrsets: BTreeMap<RrsetKey, Endpoint>,
    /// RRsets the server answered from another of its zones (a more specific one that is not in
    /// `--rfc2136-zone`), with that zone.
    pub other_zone: BTreeMap<RrsetKey, DnsName>,
}

/// Compares the RRsets read back (`stored`) with what `group` must have left; `None` when it
/// landed, otherwise what is wrong. `other_zone` names the RRsets the server answered for from
/// another of its zones.
pub(crate) fn verify<'s>(
    group: &ChangeGroup<'_>,
    stored: impl Fn(&RrsetKey) -> Option<&'s Targets>,
    other_zone: &BTreeMap<RrsetKey, DnsName>,
) -> Option<String> {
    let mut problems = Vec::new();
    for (key, expectation) in &expectations(group) {
        let (name, record_type) = key;
        let stored = stored(key);
        let holds =
            |target: &String| stored.is_some_and(|values| values.iter().any(|t| t == target));
        let missing: Vec<&String> = expectation.present.iter().filter(|t| !holds(t)).collect();
        let lingering: Vec<&String> = expectation.absent.iter().filter(|t| holds(t)).collect();
        if !missing.is_empty() {
            let why = match other_zone.get(key) {
                Some(other) => format!(
                    " (the server answers for {name} from its zone {other}: add --rfc2136-zone {other})"
                ),
                None if *record_type == RecordType::Cname => {
                    " (BIND and Knot silently ignore a CNAME added next to other records of the same name)".to_string()
                }
                None => " (a CNAME at the same name would exclude it)".to_string(),
            };
            problems.push(format!(
                "{name} {record_type} {} is missing{why}",
                join(&missing)
            ));
        }
        if !lingering.is_empty() {
            problems.push(format!(
                "{name} {record_type} {} is still there",
                join(&lingering)
            ));
        }
    }
    (!problems.is_empty()).then(|| {
        format!(
            "the server answered NOERROR but the change did not land: {}",
            problems.join("; ")
        )
    })
}

fn join(values: &[&String]) -> String {
    values
        .iter()
        .map(|v| v.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use zonesync_core::DeleteReason;

    fn name(s: &str) -> DnsName {
        DnsName::parse(s).unwrap()
    }

    /// A group owning its changes for the rest of the test.
    fn group(changes: Vec<Change>) -> ChangeGroup<'static> {
        let changes: &'static [Change] = Vec::leak(changes);
        ChangeGroup::new(changes[0].key(), changes)
    }

    const TTL: TtlPolicy = TtlPolicy {
        default_ttl: 300,
        min_ttl: 60,
    };

    #[test]
    fn cname_to_a_swap_deletes_first_in_one_message() {
        let zone = name("example.org");
        let old = Endpoint::new(
            name("www.example.org"),
            RecordType::Cname,
            ["lb.example.net"],
        );
        let new = Endpoint::new(name("www.example.org"), RecordType::A, ["192.0.2.1"]).with_ttl(30);
        let prepared = prepare(
            0,
            &group(vec![
                Change::Delete {
                    old,
                    reason: DeleteReason::ReplacedByType {
                        record_type: RecordType::A,
                    },
                },
                Change::Create { record: new },
            ]),
            &zone,
            std::slice::from_ref(&zone),
            TTL,
        )
        .unwrap();
        assert_eq!(prepared.deletions.len(), 1);
        assert_eq!(prepared.additions.len(), 1);
        assert_eq!(prepared.additions[0].ttl, 60, "raised to the minimum TTL");
        let message = message(&wire_name(&zone).unwrap(), [&prepared]);
        let updates = message.updates();
        assert_eq!(updates[0].record_type(), WireType::CNAME);
        assert_eq!(updates[0].dns_class, hickory_proto::rr::DNSClass::NONE);
        assert_eq!(updates[1].record_type(), WireType::A);
        // The estimate is an upper bound of what the records take in the encoded message.
        let encoded = message.to_vec().unwrap().len();
        assert!(
            encoded <= prepared.size + 12 + 17,
            "{encoded} vs {}",
            prepared.size
        );
        assert!(
            encoded > prepared.size / 2,
            "{encoded} vs {}",
            prepared.size
        );
    }

    #[test]
    fn records_outside_the_zone_or_in_a_deeper_zone_are_refused() {
        let zones = [name("example.org"), name("dev.example.org")];
        let create = |n: &str| {
            group(vec![Change::Create {
                record: Endpoint::new(name(n), RecordType::A, ["192.0.2.1"]),
            }])
        };
        let error = prepare(0, &create("api.dev.example.org"), &zones[0], &zones, TTL).unwrap_err();
        assert!(error.contains("belongs to zone dev.example.org"), "{error}");
        let error = prepare(0, &create("www.example.com"), &zones[0], &zones, TTL).unwrap_err();
        assert!(
            error.contains("no --rfc2136-zone contains www.example.com"),
            "{error}"
        );
        assert!(prepare(0, &create("api.dev.example.org"), &zones[1], &zones, TTL).is_ok());
    }

    #[test]
    fn packing_respects_size_and_count_and_never_splits_groups() {
        let sized = |index, size| PreparedGroup {
            index,
            deletions: Vec::new(),
            additions: Vec::new(),
            size,
        };
        let mut packer = Packer::new(2, 100);
        let mut messages = Vec::new();
        let mut oversized = Vec::new();
        for (index, size) in [40, 40, 40, 200, 10].into_iter().enumerate() {
            match packer.push(sized(index, size)) {
                Ok(Some(full)) => messages.push(full),
                Ok(None) => {}
                Err(group) => oversized.push(group.index),
            }
        }
        messages.extend(packer.finish());
        let indexes: Vec<Vec<usize>> = messages
            .iter()
            .map(|m| m.iter().map(|g| g.index).collect())
            .collect();
        assert_eq!(indexes, vec![vec![0, 1], vec![2, 4]]);
        assert_eq!(oversized, vec![3]);
    }

    #[test]
    fn messages_hold_many_groups_within_the_tcp_limit() {
        let zone = name("bench.example");
        let groups: Vec<PreparedGroup> = (0..5000)
            .map(|i| {
                let record = Endpoint::new(
                    name(&format!("host-{i}.bench.example")),
                    RecordType::A,
                    ["10.0.0.1"],
                );
                let marker = Endpoint::new(
                    name(&format!("a-host-{i}.bench.example")),
                    RecordType::Txt,
                    ["heritage=external-dns,external-dns/owner=default,external-dns/resource=ingress/default/web"],
                );
                prepare(
                    i,
                    &group(vec![
                        Change::Create { record },
                        Change::Create { record: marker },
                    ]),
                    &zone,
                    std::slice::from_ref(&zone),
                    TTL,
                )
                .unwrap()
            })
            .collect();
        let mut packer = Packer::new(1000, record_budget());
        let mut batches = Vec::new();
        for group in groups {
            batches.extend(packer.push(group).unwrap());
        }
        batches.extend(packer.finish());
        for batch in &batches {
            let encoded = message(&wire_name(&zone).unwrap(), batch)
                .to_vec()
                .unwrap()
                .len();
            assert!(encoded <= record_budget(), "{encoded}");
        }
        // About 165 bytes per group (A record and marker): 5,000 groups fit in 13 messages.
        assert!(batches.len() <= 13, "{} messages", batches.len());
    }

    #[test]
    fn verification_names_what_did_not_land() {
        let record = Endpoint::new(
            name("www.example.org"),
            RecordType::Cname,
            ["lb.example.net"],
        );
        let created = group(vec![Change::Create {
            record: record.clone(),
        }]);
        let check = |state: &ServerState| {
            verify(
                &created,
                |key| state.rrsets.get(key).map(|e| &e.targets),
                &state.other_zone,
            )
        };
        let mut state = ServerState::default();
        let problem = check(&state).unwrap();
        assert!(
            problem.contains("www.example.org CNAME lb.example.net is missing"),
            "{problem}"
        );
        assert!(problem.contains("silently ignore"), "{problem}");
        let key = (record.name.clone(), RecordType::Cname);
        state
            .other_zone
            .insert(key.clone(), name("www.example.org"));
        let problem = check(&state).unwrap();
        assert!(
            problem.contains("add --rfc2136-zone www.example.org"),
            "{problem}"
        );
        state.rrsets.insert(key, record);
        assert!(check(&state).is_none());
    }
}
