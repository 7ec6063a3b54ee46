//! An in-memory provider with the strictness of a real DNS API, for tests.
//!
//! It refuses what Route53 refuses (through [`Strictness::Strict`]): creating an RRset that
//! exists, updating or deleting one whose current value differs, a CNAME beside other data.
//! Each change group is atomic. Faults can be injected: whole applies failing with an error
//! kind, and names the "server" refuses.

use std::collections::BTreeMap;
use std::collections::BTreeSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use zonesync_core::{
    ApplyReport, ChangeGroup, DEFAULT_TTL, DnsName, Endpoint, ErrorKind, Provider, ProviderError,
    RecordTable, Rejection, Strictness, Zone, ZoneRecords, apply_group,
};

#[derive(Default)]
struct State {
    zones: BTreeMap<String, (Zone, ZoneRecords)>,
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
            .insert(zone.id.clone(), (zone, ZoneRecords::new(DEFAULT_TTL)));
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
        records
            .insert(&record)
            .expect("an in-memory table stores every record");
    }

    /// Every record of a zone, sorted by key.
    pub fn snapshot(&self, zone_id: &str) -> Vec<Endpoint> {
        self.lock()
            .zones
            .get(zone_id)
            .map(|(_, records)| records.records().cloned().collect())
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
        Ok(records.records().cloned().collect())
    }

    async fn apply(
        &self,
        zone: &Zone,
        groups: &[ChangeGroup<'_>],
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
            if let Err(message) = apply_group(records, group, Strictness::Strict) {
                report.rejected.push(Rejection {
                    subject: group.subject.clone(),
                    message,
                });
            }
        }
        Ok(report)
    }
}
