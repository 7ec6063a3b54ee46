//! What a change does to a zone's records: the one implementation, used wherever zonesync
//! holds a zone — the controller's copy of each zone (patching it after its own writes), the
//! zone-file back end and the in-memory test provider (both checking like a real DNS API).
//!
//! A holder of records implements [`RecordTable`]; [`apply_group`] applies one
//! [`ChangeGroup`] to it, either [`Strictness::Strict`] (refuse what Route53 refuses: creating
//! an RRset that exists, updating or deleting one whose values differ from `old`, a CNAME
//! beside other data; the group is rolled back as a whole) or [`Strictness::Patch`] (apply as
//! accepted by the back end, no checks).

use std::collections::BTreeMap;

use crate::change::{Change, ChangeGroup};
use crate::name::DnsName;
use crate::record::{Endpoint, Labels, RecordKey, RecordType, Targets};

/// A zone's RRsets, keyed by [`RecordKey`], as [`apply_group`] needs to see them.
pub trait RecordTable {
    /// What the table keeps of one RRset, to put it back when a strict group is rolled back.
    type Entry: Clone;

    /// The values the RRset `key` holds now, or `None` when there is no such RRset.
    fn targets(&self, key: &RecordKey) -> Option<&Targets>;

    /// The keys of every RRset at `name`.
    fn keys_at(&self, name: &DnsName) -> Vec<RecordKey>;

    /// What the table holds under `key`, for [`RecordTable::restore`].
    fn save(&self, key: &RecordKey) -> Option<Self::Entry>;

    /// Puts back what [`RecordTable::save`] returned (`None` removes the RRset).
    fn restore(&mut self, key: &RecordKey, entry: Option<Self::Entry>);

    /// Stores `record` under its key, replacing what is there.
    ///
    /// Fails when the table cannot hold the record (a zone file refuses names outside its zone
    /// and set identifiers); the message names the record.
    fn insert(&mut self, record: &Endpoint) -> Result<(), String>;

    /// Removes the RRset `key`, if present.
    fn remove(&mut self, key: &RecordKey);
}

/// How [`apply_group`] treats changes that do not fit the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strictness {
    /// Check every change against the table like a DNS API does and roll the group back as a
    /// whole on the first refusal.
    Strict,
    /// Apply changes the back end already accepted: no checks, nothing refused.
    Patch,
}

/// Applies `group` to `table`.
///
/// With [`Strictness::Strict`], fails with the reason of the first change the table refuses
/// and leaves the table as it was; with [`Strictness::Patch`] it only fails when
/// [`RecordTable::insert`] cannot store a record (the table may then be partly patched).
pub fn apply_group<T: RecordTable>(
    table: &mut T,
    group: &ChangeGroup<'_>,
    strictness: Strictness,
) -> Result<(), String> {
    if strictness == Strictness::Patch {
        return group
            .changes
            .iter()
            .try_for_each(|change| apply_change(table, change, strictness));
    }
    // What each touched key held, to roll the group back as a whole.
    let mut undo: Vec<(RecordKey, Option<T::Entry>)> = Vec::new();
    let outcome = group.changes.iter().try_for_each(|change| {
        for key in touched_keys(change) {
            let saved = table.save(&key);
            undo.push((key, saved));
        }
        apply_change(table, change, strictness)
    });
    if outcome.is_err() {
        for (key, previous) in undo.into_iter().rev() {
            table.restore(&key, previous);
        }
    }
    outcome
}

fn touched_keys(change: &Change) -> Vec<RecordKey> {
    match change {
        Change::Update { old, new } => vec![old.key(), new.key()],
        other => vec![other.key()],
    }
}

fn apply_change<T: RecordTable>(
    table: &mut T,
    change: &Change,
    strictness: Strictness,
) -> Result<(), String> {
    let strict = strictness == Strictness::Strict;
    match change {
        Change::Create { record } => {
            if strict {
                if table.targets(&record.key()).is_some() {
                    return Err(format!("{} already exists", record.key()));
                }
                check_cname_rules(table, record)?;
            }
            table.insert(record)?;
        }
        Change::Update { old, new } => {
            if strict {
                check_current(table, old)?;
            }
            table.remove(&old.key());
            if strict {
                if new.key() != old.key() && table.targets(&new.key()).is_some() {
                    return Err(format!("{} already exists", new.key()));
                }
                check_cname_rules(table, new)?;
            }
            table.insert(new)?;
        }
        Change::Delete { old, .. } => {
            if strict {
                check_current(table, old)?;
            }
            table.remove(&old.key());
        }
    }
    Ok(())
}

/// The RRset `old` names must hold exactly `old`'s values.
fn check_current<T: RecordTable>(table: &T, old: &Endpoint) -> Result<(), String> {
    match table.targets(&old.key()) {
        Some(existing) if *existing == old.targets => Ok(()),
        Some(existing) => Err(format!(
            "{} holds {:?}, not {:?}",
            old.key(),
            existing.as_slice(),
            old.targets.as_slice()
        )),
        None => Err(format!("{} does not exist", old.key())),
    }
}

/// A CNAME cannot share its name with any other type (RFC 1034 §3.6.2), nor with another
/// CNAME of the same set identifier.
fn check_cname_rules<T: RecordTable>(table: &T, record: &Endpoint) -> Result<(), String> {
    let own = record.key();
    for key in table.keys_at(&record.name) {
        let clash = (record.record_type == RecordType::Cname)
            != (key.record_type == RecordType::Cname)
            || (record.record_type == RecordType::Cname
                && key.set_identifier == record.set_identifier);
        if clash && key != own {
            return Err(format!(
                "{} {} cannot coexist with the existing {} record",
                record.name, record.record_type, key.record_type
            ));
        }
    }
    Ok(())
}

/// A plain table of whole records, sorted by key: what a DNS server keeps (labels dropped, TTL
/// always set).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ZoneRecords {
    records: BTreeMap<RecordKey, Endpoint>,
    default_ttl: u32,
}

impl ZoneRecords {
    /// An empty table that stores records without a TTL with `default_ttl`.
    pub fn new(default_ttl: u32) -> Self {
        Self {
            records: BTreeMap::new(),
            default_ttl,
        }
    }

    /// Every record, sorted by key.
    pub fn records(&self) -> impl Iterator<Item = &Endpoint> {
        self.records.values()
    }

    /// Number of RRsets.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// True when the table holds nothing.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    fn stored(&self, record: &Endpoint) -> Endpoint {
        let mut record = record.clone();
        record.labels = Labels::new();
        record.ttl = Some(record.ttl.unwrap_or(self.default_ttl));
        record
    }
}

impl RecordTable for ZoneRecords {
    type Entry = Endpoint;

    fn targets(&self, key: &RecordKey) -> Option<&Targets> {
        self.records.get(key).map(|record| &record.targets)
    }

    fn keys_at(&self, name: &DnsName) -> Vec<RecordKey> {
        let first_of_name = RecordKey {
            name: name.clone(),
            record_type: RecordType::A,
            set_identifier: None,
        };
        self.records
            .range(first_of_name..)
            .map(|(key, _)| key)
            .take_while(|key| key.name == *name)
            .cloned()
            .collect()
    }

    fn save(&self, key: &RecordKey) -> Option<Endpoint> {
        self.records.get(key).cloned()
    }

    fn restore(&mut self, key: &RecordKey, entry: Option<Endpoint>) {
        match entry {
            Some(record) => self.records.insert(key.clone(), record),
            None => self.records.remove(key),
        };
    }

    fn insert(&mut self, record: &Endpoint) -> Result<(), String> {
        let stored = self.stored(record);
        self.records.insert(record.key(), stored);
        Ok(())
    }

    fn remove(&mut self, key: &RecordKey) {
        self.records.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::change::DeleteReason;

    fn a(name: &str, ip: &str) -> Endpoint {
        Endpoint::new(DnsName::parse(name).unwrap(), RecordType::A, [ip])
    }

    fn cname(name: &str, host: &str) -> Endpoint {
        Endpoint::new(DnsName::parse(name).unwrap(), RecordType::Cname, [host])
    }

    fn table(records: &[Endpoint]) -> ZoneRecords {
        let mut table = ZoneRecords::new(300);
        for record in records {
            table.insert(record).unwrap();
        }
        table
    }

    fn group(changes: &[Change]) -> ChangeGroup<'_> {
        ChangeGroup::new(changes[0].key(), changes)
    }

    #[test]
    fn strict_refuses_and_rolls_back_the_whole_group() {
        let mut zone = table(&[a("www.example.com", "192.0.2.1")]);
        let before = zone.clone();
        let changes = [
            Change::Delete {
                old: a("www.example.com", "192.0.2.1"),
                reason: DeleteReason::NoLongerDesired,
            },
            // Exists already: the group is refused and the delete undone.
            Change::Create {
                record: a("www.example.com", "192.0.2.1"),
            },
            Change::Create {
                record: a("www.example.com", "192.0.2.9"),
            },
        ];
        let error = apply_group(&mut zone, &group(&changes[1..]), Strictness::Strict)
            .expect_err("an existing RRset cannot be created");
        assert!(error.contains("already exists"), "{error}");
        assert_eq!(zone, before);
        // A stale `old` is refused too.
        let stale = [Change::Delete {
            old: a("www.example.com", "198.51.100.1"),
            reason: DeleteReason::NoLongerDesired,
        }];
        let error = apply_group(&mut zone, &group(&stale), Strictness::Strict).unwrap_err();
        assert!(error.contains("holds"), "{error}");
        assert_eq!(zone, before);
        apply_group(&mut zone, &group(&changes[..1]), Strictness::Strict).unwrap();
        assert!(zone.is_empty());
    }

    #[test]
    fn strict_enforces_cname_exclusivity_but_allows_a_swap_in_one_group() {
        let mut zone = table(&[cname("www.example.com", "lb.example.net")]);
        let beside = [Change::Create {
            record: a("www.example.com", "192.0.2.1"),
        }];
        let error = apply_group(&mut zone, &group(&beside), Strictness::Strict).unwrap_err();
        assert!(error.contains("cannot coexist"), "{error}");
        let swap = [
            Change::Delete {
                old: cname("www.example.com", "lb.example.net"),
                reason: DeleteReason::ReplacedByType {
                    record_type: RecordType::A,
                },
            },
            Change::Create {
                record: a("www.example.com", "192.0.2.1"),
            },
        ];
        apply_group(&mut zone, &group(&swap), Strictness::Strict).unwrap();
        let records: Vec<_> = zone.records().cloned().collect();
        assert_eq!(
            records,
            vec![a("www.example.com", "192.0.2.1").with_ttl(300)]
        );
    }

    #[test]
    fn patch_applies_without_checking() {
        let mut zone = table(&[a("www.example.com", "192.0.2.1")]);
        // `old` does not match what the table holds: a patch applies it anyway, since the
        // back end already accepted it.
        let changes = [Change::Update {
            old: a("www.example.com", "203.0.113.1"),
            new: a("www.example.com", "192.0.2.2"),
        }];
        apply_group(&mut zone, &group(&changes), Strictness::Patch).unwrap();
        let records: Vec<_> = zone.records().cloned().collect();
        assert_eq!(
            records,
            vec![a("www.example.com", "192.0.2.2").with_ttl(300)]
        );
    }
}
