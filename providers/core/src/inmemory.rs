//! An in-memory provider with the strictness of a real DNS API, for tests and experiments.
//!
//! It refuses what Route53 refuses: creating an RRset that exists, updating or deleting one
//! whose current value differs, a CNAME beside other data. Each change group is atomic.

use std::collections::BTreeMap;
use std::collections::BTreeSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;

use crate::change::{ApplyReport, Change, ChangeGroup, Rejection};
use crate::error::{ErrorKind, ProviderError};
use crate::name::DnsName;
use crate::provider::{DEFAULT_TTL, Provider};
use crate::record::{Endpoint, Labels, RecordKey, RecordType};
use crate::zone::Zone;

#[derive(Default)]
struct State {
    zones: BTreeMap<String, (Zone, BTreeMap<RecordKey, Endpoint>)>,
    fail_next_applies: usize,
    fail_kind: Option<ErrorKind>,
    rejected_names: BTreeSet<DnsName>,
}

/// A provider that keeps zones in memory.
#[derive(Default)]
pub struct InMemoryProvider {
    state: Mutex<State>,
    list_calls: AtomicUsize,
    apply_calls: AtomicUsize,
}

impl InMemoryProvider {
    /// An empty provider with no zone.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an empty zone.
    #[must_use]
    pub fn with_zone(self, zone: Zone) -> Self {
        self.lock()
            .zones
            .insert(zone.id.clone(), (zone, BTreeMap::new()));
        self
    }

    /// Stores `record` in the zone with id `zone_id` as-is (labels dropped, as DNS keeps none).
    ///
    /// # Panics
    /// When the zone does not exist: a test set-up error.
    pub fn insert(&self, zone_id: &str, record: Endpoint) {
        let mut state = self.lock();
        let (_, records) = state
            .zones
            .get_mut(zone_id)
            .unwrap_or_else(|| panic!("no zone {zone_id} in the in-memory provider"));
        records.insert(record.key(), stored(record, DEFAULT_TTL));
    }

    /// Every record of a zone, sorted by key.
    pub fn snapshot(&self, zone_id: &str) -> Vec<Endpoint> {
        self.lock()
            .zones
            .get(zone_id)
            .map(|(_, records)| records.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Makes the next `count` applies fail as a whole with an error of `kind`.
    pub fn fail_next_applies(&self, count: usize, kind: ErrorKind) {
        let mut state = self.lock();
        state.fail_next_applies = count;
        state.fail_kind = Some(kind);
    }

    /// Rejects every change group that touches `name`, as a server refusing one record would.
    pub fn reject_name(&self, name: DnsName) {
        self.lock().rejected_names.insert(name);
    }

    /// How many times [`Provider::records`] was called.
    pub fn list_calls(&self) -> usize {
        self.list_calls.load(Ordering::Relaxed)
    }

    /// How many times [`Provider::apply`] was called.
    pub fn apply_calls(&self) -> usize {
        self.apply_calls.load(Ordering::Relaxed)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock only happens in a failing test; keep going.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn stored(mut record: Endpoint, default_ttl: u32) -> Endpoint {
    record.labels = Labels::new();
    record.ttl = Some(record.ttl.unwrap_or(default_ttl));
    record
}

fn check_cname_rules(
    records: &BTreeMap<RecordKey, Endpoint>,
    record: &Endpoint,
) -> Result<(), String> {
    let first_of_name = RecordKey {
        name: record.name.clone(),
        record_type: RecordType::A,
        set_identifier: None,
    };
    let same_name = records
        .range(first_of_name..)
        .map(|(key, _)| key)
        .take_while(|key| key.name == record.name);
    for key in same_name {
        let clash = (record.record_type == RecordType::Cname)
            != (key.record_type == RecordType::Cname)
            || (record.record_type == RecordType::Cname
                && key.set_identifier == record.set_identifier);
        if clash && key != &record.key() {
            return Err(format!(
                "{} {} cannot coexist with the existing {} record",
                record.name, record.record_type, key.record_type
            ));
        }
    }
    Ok(())
}

fn touched_keys(change: &Change) -> Vec<RecordKey> {
    match change {
        Change::Update { old, new } => vec![old.key(), new.key()],
        other => vec![other.key()],
    }
}

fn apply_change(
    records: &mut BTreeMap<RecordKey, Endpoint>,
    change: &Change,
) -> Result<(), String> {
    match change {
        Change::Create { record } => {
            if records.contains_key(&record.key()) {
                return Err(format!("{} already exists", record.key()));
            }
            check_cname_rules(records, record)?;
            records.insert(record.key(), stored(record.clone(), DEFAULT_TTL));
        }
        Change::Update { old, new } => {
            match records.get(&old.key()) {
                Some(existing) if existing.targets == old.targets => {}
                Some(existing) => {
                    return Err(format!(
                        "{} holds {:?}, not {:?}",
                        old.key(),
                        existing.targets,
                        old.targets
                    ));
                }
                None => return Err(format!("{} does not exist", old.key())),
            }
            records.remove(&old.key());
            if new.key() != old.key() && records.contains_key(&new.key()) {
                return Err(format!("{} already exists", new.key()));
            }
            check_cname_rules(records, new)?;
            records.insert(new.key(), stored(new.clone(), DEFAULT_TTL));
        }
        Change::Delete { old, .. } => match records.get(&old.key()) {
            Some(existing) if existing.targets == old.targets => {
                records.remove(&old.key());
            }
            Some(existing) => {
                return Err(format!(
                    "{} holds {:?}, not {:?}",
                    old.key(),
                    existing.targets,
                    old.targets
                ));
            }
            None => return Err(format!("{} does not exist", old.key())),
        },
    }
    Ok(())
}

#[async_trait]
impl Provider for InMemoryProvider {
    fn name(&self) -> &'static str {
        "inmemory"
    }

    async fn zones(&self) -> Result<Vec<Zone>, ProviderError> {
        Ok(self
            .lock()
            .zones
            .values()
            .map(|(zone, _)| zone.clone())
            .collect())
    }

    async fn records(&self, zone: &Zone) -> Result<Vec<Endpoint>, ProviderError> {
        self.list_calls.fetch_add(1, Ordering::Relaxed);
        let state = self.lock();
        let (_, records) = state
            .zones
            .get(&zone.id)
            .ok_or_else(|| ProviderError::config(format!("zone {} does not exist", zone.name)))?;
        Ok(records.values().cloned().collect())
    }

    async fn apply(
        &self,
        zone: &Zone,
        groups: &[ChangeGroup],
    ) -> Result<ApplyReport, ProviderError> {
        self.apply_calls.fetch_add(1, Ordering::Relaxed);
        let mut state = self.lock();
        if state.fail_next_applies > 0 {
            state.fail_next_applies -= 1;
            let kind = state.fail_kind.unwrap_or(ErrorKind::Transient);
            return Err(ProviderError::new(kind, "injected failure"));
        }
        let rejected_names = state.rejected_names.clone();
        let (_, records) = state
            .zones
            .get_mut(&zone.id)
            .ok_or_else(|| ProviderError::config(format!("zone {} does not exist", zone.name)))?;
        let mut report = ApplyReport::default();
        for group in groups {
            let refused = group
                .changes
                .iter()
                .find(|change| rejected_names.contains(&change.record().name));
            if let Some(change) = refused {
                report.rejected.push(Rejection {
                    subject: group.subject.clone(),
                    message: format!("{} refused by the server", change.record().name),
                });
                continue;
            }
            // Remember what each touched key held, to roll the group back as a whole.
            let mut undo: Vec<(RecordKey, Option<Endpoint>)> = Vec::new();
            let outcome = group.changes.iter().try_for_each(|change| {
                for key in touched_keys(change) {
                    undo.push((key.clone(), records.get(&key).cloned()));
                }
                apply_change(records, change)
            });
            if let Err(message) = outcome {
                for (key, previous) in undo.into_iter().rev() {
                    match previous {
                        Some(record) => records.insert(key, record),
                        None => records.remove(&key),
                    };
                }
                report.rejected.push(Rejection {
                    subject: group.subject.clone(),
                    message,
                });
            }
        }
        Ok(report)
    }
}
