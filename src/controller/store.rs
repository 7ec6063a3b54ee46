//! The controller's copy of each zone's records: read from the provider at start and on every
//! drift pass, patched after zonesync's own successful writes, so an event never costs a
//! provider read.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::time::Instant;

use zonesync_core::{
    ChangeGroup, DnsName, Endpoint, Properties, RecordKey, RecordTable, RecordType, Refused,
    Rejection, Strictness, Targets, Zone, apply_group,
};

use crate::registry::Registry;

/// What the store keeps of a record: all but its name (the key it is stored under) and its
/// labels (records read from a provider carry none; ownership is read from the markers' TXT
/// values). A large zone is held for the life of the process, so this is kept small: a third
/// of the size of an [`Endpoint`], with the rarely set parts boxed.
#[derive(Clone, Debug)]
pub struct Stored {
    record_type: RecordType,
    ttl: Option<u32>,
    targets: Targets,
    rare: Option<Box<Rare>>,
}

/// The parts of a record most have unset.
#[derive(Clone, Debug)]
struct Rare {
    set_identifier: Option<String>,
    properties: Properties,
}

impl Stored {
    /// Keeps what the store needs of `record`; its name and labels are dropped.
    fn of(record: Endpoint) -> Self {
        let rare = (record.set_identifier.is_some() || !record.properties.is_empty()).then(|| {
            Box::new(Rare {
                set_identifier: record.set_identifier,
                properties: record.properties,
            })
        });
        Self {
            record_type: record.record_type,
            ttl: record.ttl,
            targets: record.targets,
            rare,
        }
    }

    fn set_identifier(&self) -> Option<&str> {
        self.rare.as_ref().and_then(|r| r.set_identifier.as_deref())
    }

    fn is(&self, key: &RecordKey) -> bool {
        self.record_type == key.record_type
            && self.set_identifier() == key.set_identifier.as_deref()
    }

    fn into_endpoint(self, name: DnsName) -> Endpoint {
        let mut endpoint = Endpoint::new(name, self.record_type, [""; 0]);
        endpoint.targets = self.targets;
        endpoint.ttl = self.ttl;
        if let Some(rare) = self.rare {
            endpoint.set_identifier = rare.set_identifier;
            endpoint.properties = rare.properties;
        }
        endpoint
    }

    fn to_endpoint(&self, name: &DnsName) -> Endpoint {
        let mut endpoint = Endpoint::new(name.clone(), self.record_type.clone(), [""; 0]);
        endpoint.targets = self.targets.clone();
        endpoint.ttl = self.ttl;
        if let Some(rare) = &self.rare {
            endpoint.set_identifier = rare.set_identifier.clone();
            endpoint.properties = rare.properties.clone();
        }
        endpoint
    }
}

/// An iterator that knows how many items it yields, so a collector can size its buffer once.
struct Counted<I> {
    inner: I,
    left: usize,
}

impl<I: Iterator> Iterator for Counted<I> {
    type Item = I::Item;

    fn next(&mut self) -> Option<I::Item> {
        let item = self.inner.next()?;
        self.left = self.left.saturating_sub(1);
        Some(item)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

/// One zone's records, by owner name.
pub struct ZoneStore {
    zone: Zone,
    by_name: HashMap<DnsName, Vec<Stored>>,
    stale: bool,
    loaded_at: Instant,
}

impl ZoneStore {
    /// A store holding `records` as just read from the provider.
    pub fn new(zone: Zone, records: Vec<Endpoint>) -> Self {
        let mut by_name: HashMap<DnsName, Vec<Stored>> = HashMap::with_capacity(records.len());
        for record in records {
            let name = record.name.clone();
            slot(&mut by_name, &name).push(Stored::of(record));
        }
        by_name.shrink_to_fit();
        Self {
            zone,
            by_name,
            stale: false,
            loaded_at: Instant::now(),
        }
    }

    /// The zone.
    pub fn zone(&self) -> &Zone {
        &self.zone
    }

    /// When the records were read from the provider.
    pub fn loaded_at(&self) -> Instant {
        self.loaded_at
    }

    /// True when a write failed or was refused, so the copy may be wrong: read the zone again
    /// before planning it.
    pub fn is_stale(&self) -> bool {
        self.stale
    }

    /// Marks the copy as possibly wrong.
    pub fn mark_stale(&mut self) {
        self.stale = true;
    }

    /// Number of RRsets held.
    pub fn len(&self) -> usize {
        self.by_name.values().map(Vec::len).sum()
    }

    /// True when the zone holds nothing.
    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }

    /// Every record, built one at a time (a drift pass reads the whole zone without a second
    /// copy of it).
    pub fn all(&self) -> impl Iterator<Item = Endpoint> + '_ {
        Counted {
            inner: self
                .by_name
                .iter()
                .flat_map(|(name, records)| records.iter().map(|r| r.to_endpoint(name))),
            left: self.len(),
        }
    }

    /// Every record, moved out of the store one name at a time (a one-shot run, which never
    /// plans the zone again, holds no second copy of it).
    pub fn into_records(self) -> impl Iterator<Item = Endpoint> {
        let left = self.len();
        Counted {
            inner: self.by_name.into_iter().flat_map(|(name, records)| {
                records
                    .into_iter()
                    .map(move |record| record.into_endpoint(name.clone()))
            }),
            left,
        }
    }

    /// The records at `names` and every ownership marker that can belong to them.
    pub fn records_for(&self, names: &BTreeSet<DnsName>, registry: &Registry) -> Vec<Endpoint> {
        let mut wanted: HashSet<DnsName> = HashSet::new();
        for name in names {
            wanted.insert(name.clone());
            wanted.extend(registry.marker_names_for(name));
        }
        wanted
            .iter()
            .filter_map(|name| Some((name, self.by_name.get(name)?)))
            .flat_map(|(name, records)| records.iter().map(|r| r.to_endpoint(name)))
            .collect()
    }

    /// Applies the groups the provider accepted to the copy; groups it rejected leave the copy
    /// stale.
    pub fn patch(&mut self, groups: &[ChangeGroup<'_>], rejected: &[Rejection]) {
        let refused: HashSet<&RecordKey> = rejected.iter().map(|r| &r.subject).collect();
        if !rejected.is_empty() {
            self.stale = true;
        }
        for group in groups.iter().filter(|g| !refused.contains(&g.subject)) {
            if apply_group(self, group, Strictness::Patch).is_err() {
                self.stale = true;
            }
        }
    }
}

impl RecordTable for ZoneStore {
    type Entry = Stored;

    fn targets(&self, key: &RecordKey) -> Option<&Targets> {
        self.by_name
            .get(&key.name)?
            .iter()
            .find(|stored| stored.is(key))
            .map(|stored| &stored.targets)
    }

    fn keys_at(&self, name: &DnsName) -> Vec<RecordKey> {
        self.by_name
            .get(name)
            .into_iter()
            .flatten()
            .map(|stored| RecordKey {
                name: name.clone(),
                record_type: stored.record_type.clone(),
                set_identifier: stored.set_identifier().map(str::to_string),
            })
            .collect()
    }

    fn save(&self, key: &RecordKey) -> Option<Stored> {
        self.by_name
            .get(&key.name)?
            .iter()
            .find(|stored| stored.is(key))
            .cloned()
    }

    fn restore(&mut self, key: &RecordKey, entry: Option<Stored>) {
        self.remove(key);
        if let Some(stored) = entry {
            slot(&mut self.by_name, &key.name).push(stored);
        }
    }

    fn insert(&mut self, record: &Endpoint) -> Result<(), Refused> {
        let key = record.key();
        let entry = slot(&mut self.by_name, &key.name);
        entry.retain(|existing| !existing.is(&key));
        entry.push(Stored::of(record.clone()));
        Ok(())
    }

    fn remove(&mut self, key: &RecordKey) {
        if let Some(entry) = self.by_name.get_mut(&key.name) {
            entry.retain(|existing| !existing.is(key));
            if entry.is_empty() {
                self.by_name.remove(&key.name);
            }
        }
    }
}

/// The records at `name`. Nearly every name holds one RRset (a record or its marker), so a new
/// name gets room for exactly one: a default `Vec` would reserve four, which made up most of
/// the cache's size.
fn slot<'a>(by_name: &'a mut HashMap<DnsName, Vec<Stored>>, name: &DnsName) -> &'a mut Vec<Stored> {
    by_name
        .entry(name.clone())
        .or_insert_with(|| Vec::with_capacity(1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::RegistryConfig;
    use crate::testing::{a, name, txt, zone};
    use zonesync_core::{Change, DeleteReason};

    #[test]
    fn finds_records_and_their_markers_by_name() {
        let registry = Registry::new(RegistryConfig::default()).unwrap();
        let store = ZoneStore::new(
            zone("example.com"),
            vec![
                a("www.example.com", ["192.0.2.1"]),
                txt(
                    "a-www.example.com",
                    "heritage=external-dns,external-dns/owner=default",
                ),
                a("other.example.com", ["192.0.2.2"]),
            ],
        );
        let found = store.records_for(&[name("www.example.com")].into(), &registry);
        let names: BTreeSet<String> = found.iter().map(|r| r.name.to_string()).collect();
        assert_eq!(
            names,
            [
                "a-www.example.com".to_string(),
                "www.example.com".to_string()
            ]
            .into()
        );
    }

    #[test]
    fn stored_records_come_back_whole_except_labels() {
        let mut weighted = a("api.example.com", ["192.0.2.1"])
            .with_ttl(60)
            .with_set_identifier("eu");
        weighted.properties.insert("aws/weight".into(), "10".into());
        let mut labelled = a("api.example.com", ["192.0.2.2"]).with_set_identifier("us");
        labelled.labels.insert("owner".into(), "default".into());
        let plain = a("www.example.com", ["192.0.2.3"]);
        let mut store = ZoneStore::new(
            zone("example.com"),
            vec![weighted.clone(), labelled.clone(), plain.clone()],
        );
        // Only the "us" RRset of the name changes.
        let mut moved = labelled.clone();
        moved.targets = Targets::new(&RecordType::A, ["192.0.2.4"]);
        let subject = labelled.key();
        let update = [Change::Update {
            old: labelled,
            new: moved.clone(),
        }];
        store.patch(&[ChangeGroup::new(subject, &update)], &[]);
        let mut all: Vec<Endpoint> = store.all().collect();
        all.sort_by(|x, y| (&x.name, &x.set_identifier).cmp(&(&y.name, &y.set_identifier)));
        moved.labels.clear();
        assert_eq!(all, vec![weighted, moved, plain]);
        assert_eq!(store.len(), 3);
    }

    #[test]
    fn patch_applies_accepted_groups_only() {
        let mut store = ZoneStore::new(
            zone("example.com"),
            vec![a("old.example.com", ["192.0.2.9"])],
        );
        let created = [Change::Create {
            record: a("new.example.com", ["192.0.2.1"]),
        }];
        let create = ChangeGroup::new(created[0].key(), &created);
        let deleted = [Change::Delete {
            old: a("old.example.com", ["192.0.2.9"]),
            reason: DeleteReason::NoLongerDesired,
        }];
        let delete = ChangeGroup::new(deleted[0].key(), &deleted);
        let refused = Rejection {
            subject: delete.subject.clone(),
            message: "no".into(),
        };
        store.patch(&[create, delete], &[refused]);
        let names: BTreeSet<String> = store.all().map(|r| r.name.to_string()).collect();
        assert_eq!(
            names,
            ["new.example.com".to_string(), "old.example.com".to_string()].into()
        );
        assert!(store.is_stale());
    }
}
