//! One reconcile — the one planning path of zonesync: the controller's event and drift passes
//! and the one-shot `plan` and `sync` all go through [`Reconciler`]. It plans the dirty names (or
//! every name) against its copy of each zone ([`ZoneStore`], the only copy zonesync keeps),
//! applies the plan and patches the copy with what the provider accepted.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use zonesync_core::{Change, DnsName, Provider, ProviderError};

use super::index::DesiredIndex;
use super::store::ZoneStore;
use crate::apply::{ApplyMode, ApplyOutcome};
use crate::plan::{DesiredEndpoint, Plan, PlanOptions, Planner};
use crate::registry::Registry;
use crate::safety::SafetyLimits;

/// Why a reconcile could not plan. Apply failures are not errors: they are in the report.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    /// The provider's zone list could not be read.
    #[error("cannot list zones")]
    ListZones(#[source] ProviderError),
    /// A zone could not be read completely (or asked whether it changed).
    #[error("cannot read zone {zone}")]
    ReadZone {
        /// The zone.
        zone: DnsName,
        /// What the provider said.
        #[source]
        source: ProviderError,
    },
    /// The provider could not adjust the desired records.
    #[error("the provider cannot prepare the desired records")]
    Adjust(#[source] ProviderError),
}

impl ReconcileError {
    /// The provider's error, with its kind.
    pub fn provider_error(&self) -> &ProviderError {
        match self {
            ReconcileError::ListZones(source)
            | ReconcileError::ReadZone { source, .. }
            | ReconcileError::Adjust(source) => source,
        }
    }
}

/// What a reconcile did.
#[derive(Debug, Default)]
pub struct ReconcileReport {
    /// The plan that was computed.
    pub plan: Plan,
    /// What applying it did.
    pub outcome: ApplyOutcome,
}

impl ReconcileReport {
    /// True when every change was applied.
    pub fn is_success(&self) -> bool {
        self.outcome.is_success()
    }
}

/// Which names a reconcile plans.
#[derive(Clone, Copy, Debug)]
pub enum Scope<'n> {
    /// Every name; with `reread`, each zone is read again first unless the provider knows it
    /// unchanged (a drift pass, or a one-shot run).
    All {
        /// Re-read the zones first.
        reread: bool,
    },
    /// Only these names, against the cached zones (a watch event).
    Names(&'n BTreeSet<DnsName>),
}

/// Plans and applies against the cached zones.
pub struct Reconciler {
    provider: Arc<dyn Provider>,
    registry: Registry,
    options: PlanOptions,
    safety: SafetyLimits,
    stores: Vec<ZoneStore>,
    mode: ApplyMode,
    /// False for a one-shot run: a full plan takes the zones out of the cache.
    keep_cache: bool,
    /// Unreadable encrypted markers last reported per zone id, so each count is logged once.
    unreadable_reported: Mutex<HashMap<String, usize>>,
}

impl Reconciler {
    /// A reconciler with no zone loaded yet.
    pub fn new(
        provider: Arc<dyn Provider>,
        registry: Registry,
        mut options: PlanOptions,
        safety: SafetyLimits,
        mode: ApplyMode,
    ) -> Self {
        options.default_ttl = provider.default_ttl();
        options.domain_filter.restrict_to(provider.name_scope());
        Self {
            provider,
            registry,
            options,
            safety,
            stores: Vec::new(),
            mode,
            keep_cache: true,
            unreadable_reported: std::sync::Mutex::default(),
        }
    }

    /// A reconciler for one plan and apply (`plan`, `sync`): planning every name moves the
    /// zones out of the cache instead of copying them, so a large zone is held once.
    pub fn one_shot(mut self) -> Self {
        self.keep_cache = false;
        self
    }

    /// Records of managed types zonesync owns in a cached zone (for the safety thresholds).
    fn owned_in(&self, zone_id: &str) -> usize {
        let Some(store) = self.stores.iter().find(|s| s.zone().id == zone_id) else {
            return 0;
        };
        self.registry
            .inventory(store.all())
            .records
            .iter()
            .filter(|r| {
                r.ownership.is_ours()
                    && self.options.managed_types.contains(&r.endpoint.record_type)
                    && self.options.domain_filter.matches(&r.endpoint.name)
            })
            .count()
    }

    /// True once the zones have been read.
    pub fn is_loaded(&self) -> bool {
        !self.stores.is_empty()
    }

    /// Forgets the cached zones (leadership lost: the next leader term starts from a fresh read).
    pub fn unload(&mut self) {
        self.stores.clear();
    }

    /// Records held in the cache, over all zones.
    pub fn cached_records(&self) -> usize {
        self.stores.iter().map(ZoneStore::len).sum()
    }

    /// Reads the zone list and every zone the provider does not know unchanged since it was
    /// last read into the cache (start-up, drift pass, one-shot run).
    ///
    /// Fails when any zone cannot be read completely; the old cache is kept then.
    pub async fn refresh_all(&mut self) -> Result<(), ReconcileError> {
        let zones = self
            .provider
            .zones()
            .await
            .map_err(ReconcileError::ListZones)?;
        let mut previous = std::mem::take(&mut self.stores);
        let mut stores = Vec::with_capacity(zones.len());
        let mut result = Ok(());
        for zone in zones
            .into_iter()
            .filter(|zone| self.options.domain_filter.may_match_zone(&zone.name))
        {
            let kept = previous
                .iter()
                .position(|s| s.zone() == &zone && !s.is_stale())
                .map(|i| previous.swap_remove(i));
            let store = match kept {
                Some(store) => match self.provider.unchanged_since_read(&zone).await {
                    Ok(true) => Ok(store),
                    Ok(false) => self.read(zone).await,
                    Err(source) => Err(ReconcileError::ReadZone {
                        zone: zone.name.clone(),
                        source,
                    }),
                },
                None => self.read(zone).await,
            };
            match store {
                Ok(store) => stores.push(store),
                Err(error) => {
                    result = Err(error);
                    break;
                }
            }
        }
        match result {
            Ok(()) => self.stores = stores,
            // Keep what is known: the zones read now and the old copies of the others, stale.
            Err(_) => {
                for store in &mut previous {
                    store.mark_stale();
                }
                stores.extend(previous);
                self.stores = stores;
            }
        }
        result
    }

    /// Logs the encrypted markers of `zone` that do not open, once per zone and count.
    fn report_unreadable_markers(
        &self,
        zone: &zonesync_core::Zone,
        records: &[zonesync_core::Endpoint],
    ) {
        let unreadable = self.registry.unreadable_markers(records);
        let mut reported = self
            .unreadable_reported
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if reported.insert(zone.id.clone(), unreadable).unwrap_or(0) != unreadable && unreadable > 0
        {
            tracing::warn!(
                zone = %zone.name,
                unreadable,
                "{}",
                self.registry.unreadable_markers_message(unreadable)
            );
        }
    }

    async fn read(&self, zone: zonesync_core::Zone) -> Result<ZoneStore, ReconcileError> {
        match self.provider.records(&zone).await {
            Ok(records) => {
                self.report_unreadable_markers(&zone, &records);
                Ok(ZoneStore::new(zone, records))
            }
            Err(source) => Err(ReconcileError::ReadZone {
                zone: zone.name,
                source,
            }),
        }
    }

    /// Re-reads the zones whose cache a failed write left in doubt.
    async fn refresh_stale(&mut self) -> Result<(), ReconcileError> {
        for position in 0..self.stores.len() {
            if self.stores[position].is_stale() {
                let zone = self.stores[position].zone().clone();
                self.stores[position] = self.read(zone).await?;
            }
        }
        Ok(())
    }

    /// Plans `scope` against the cached zones (reading them first where needed) and applies
    /// the plan.
    ///
    /// Fails only when the provider cannot be read; apply failures are in the report.
    pub async fn reconcile(
        &mut self,
        index: &Mutex<DesiredIndex>,
        scope: Scope<'_>,
    ) -> Result<ReconcileReport, ReconcileError> {
        let plan = self.plan(index, scope).await?;
        Ok(self.apply(plan).await)
    }

    /// Plans `scope`: reads the zones where needed, takes the desired endpoints from `index`,
    /// lets the provider adjust them, plans and holds back what the safety thresholds refuse.
    /// Writes nothing.
    ///
    /// Fails when the provider cannot be read or cannot adjust the desired endpoints.
    pub async fn plan(
        &mut self,
        index: &Mutex<DesiredIndex>,
        scope: Scope<'_>,
    ) -> Result<Plan, ReconcileError> {
        match scope {
            Scope::All { reread: true } => self.refresh_all().await?,
            _ if !self.is_loaded() => self.refresh_all().await?,
            _ => self.refresh_stale().await?,
        }
        let names = match scope {
            Scope::All { .. } => None,
            Scope::Names(names) => Some(names),
        };
        let (desired, skipped) = {
            let index = lock(index);
            let desired = match names {
                None => index.desired_all(),
                Some(names) => index.desired_for(names),
            };
            (desired, index.skipped(names))
        };
        let desired = self.adjust(desired).await.map_err(ReconcileError::Adjust)?;
        let mut plan = {
            let index = lock(index);
            let inventories = if names.is_none() && !self.keep_cache {
                std::mem::take(&mut self.stores)
                    .into_iter()
                    .map(|store| {
                        let zone = store.zone().clone();
                        (zone, self.registry.inventory(store.into_records()))
                    })
                    .collect::<Vec<_>>()
            } else {
                self.stores
                    .iter()
                    .map(|store| {
                        let inventory = match names {
                            None => self.registry.inventory(store.all()),
                            Some(names) => self
                                .registry
                                .inventory(store.records_for(names, &self.registry)),
                        };
                        (store.zone().clone(), inventory)
                    })
                    .collect::<Vec<_>>()
            };
            Planner::new(&self.registry, &self.options).plan(
                &desired,
                &*index,
                &inventories,
                &skipped,
            )
        };
        // Judge deletions and updates against the whole zone, not just the names planned.
        let owned: Vec<usize> = plan
            .zones
            .iter()
            .map(|z| {
                let limited = z
                    .changes()
                    .filter(|c| !matches!(c, Change::Create { .. }))
                    .count();
                if names.is_none() {
                    // A plan of every name counted them all.
                    z.owned
                } else if crate::safety::may_refuse(limited, &self.safety) {
                    self.owned_in(&z.zone.id)
                } else {
                    // Too few changes to cross a threshold in any zone: skip counting.
                    0
                }
            })
            .collect();
        crate::safety::enforce(&mut plan, &self.safety, |i| owned[i]);
        for refusal in &plan.refusals {
            tracing::warn!(%refusal, "changes held back");
        }
        Ok(plan)
    }

    /// The provider's adjustment of `desired`, in one call; each endpoint keeps the creation
    /// time of the object that asks for it (the provider may turn one endpoint into several).
    async fn adjust(
        &self,
        desired: Vec<DesiredEndpoint>,
    ) -> Result<Vec<DesiredEndpoint>, ProviderError> {
        let mut created: HashMap<String, Option<i64>> = HashMap::new();
        let endpoints = desired
            .into_iter()
            .map(|wanted| {
                if let Some(resource) = wanted.endpoint.resource() {
                    created.insert(resource.to_string(), wanted.created);
                }
                wanted.endpoint
            })
            .collect();
        let adjusted = self.provider.adjust_desired(endpoints).await?;
        Ok(adjusted
            .into_iter()
            .map(|endpoint| DesiredEndpoint {
                created: endpoint
                    .resource()
                    .and_then(|resource| created.get(resource).copied().flatten()),
                endpoint,
            })
            .collect())
    }

    /// Applies `plan` (nothing in dry-run mode) and patches the cached zones with what the
    /// provider accepted; a zone whose apply failed is read again before it is planned next.
    pub async fn apply(&mut self, plan: Plan) -> ReconcileReport {
        let stores = &mut self.stores;
        let outcome = crate::apply::apply(
            self.provider.as_ref(),
            &plan,
            self.mode,
            |zone, groups, result| {
                let Some(store) = stores.iter_mut().find(|s| s.zone().id == zone.id) else {
                    return;
                };
                match result {
                    Ok(report) => store.patch(groups, &report.rejected),
                    Err(_) => store.mark_stale(),
                }
            },
        )
        .await;
        ReconcileReport { plan, outcome }
    }
}

/// Locks the index; a panic elsewhere while holding it does not make the data unusable.
pub fn lock(index: &Mutex<DesiredIndex>) -> std::sync::MutexGuard<'_, DesiredIndex> {
    index.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use zonesync_core::RecordType;
    use zonesync_test_support::inmemory::InMemoryProvider;

    use super::*;
    use crate::registry::RegistryConfig;
    use crate::source::{ObjectOutcome, ResourceKind};
    use crate::testing::{a, ingress_outcome, zone};

    fn outcome(object: &str, host: &str, target: &str) -> ObjectOutcome {
        ingress_outcome(object, &[host], target)
    }

    struct Fixture {
        provider: Arc<InMemoryProvider>,
        reconciler: Reconciler,
        index: Mutex<DesiredIndex>,
    }

    fn fixture() -> Fixture {
        let provider = Arc::new(InMemoryProvider::new().with_zone(zone("example.com")));
        let dyn_provider: Arc<dyn Provider> = provider.clone();
        let reconciler = Reconciler::new(
            dyn_provider,
            Registry::new(RegistryConfig::default()).unwrap(),
            PlanOptions::default(),
            SafetyLimits::default(),
            ApplyMode::Apply,
        );
        Fixture {
            provider,
            reconciler,
            index: Mutex::new(DesiredIndex::new(std::time::Duration::ZERO)),
        }
    }

    fn names_in(provider: &InMemoryProvider) -> BTreeSet<String> {
        provider
            .snapshot("example.com")
            .iter()
            .map(|r| {
                format!(
                    "{} {} {}",
                    r.name,
                    r.record_type,
                    r.targets.as_slice().join(",")
                )
            })
            .collect()
    }

    #[tokio::test]
    async fn events_apply_only_their_names_without_rereading() {
        let mut f = fixture();
        lock(&f.index).replace_kind(
            ResourceKind::Ingress,
            vec![outcome("web", "www.example.com", "192.0.2.1")],
        );
        lock(&f.index).take_dirty();
        let report = f
            .reconciler
            .reconcile(&f.index, Scope::All { reread: true })
            .await
            .unwrap();
        assert!(report.is_success());
        assert_eq!(f.provider.list_calls(), 1);

        lock(&f.index).upsert(outcome("api", "api.example.com", "192.0.2.2"));
        let (dirty, _) = lock(&f.index).take_dirty();
        assert_eq!(dirty.len(), 1);
        let report = f
            .reconciler
            .reconcile(&f.index, Scope::Names(&dirty))
            .await
            .unwrap();
        assert_eq!(report.plan.counts().create, 1);
        assert_eq!(
            f.provider.list_calls(),
            1,
            "the cache was patched, not re-read"
        );

        // The object goes away: record and marker are deleted, from the cache as well.
        lock(&f.index).remove("ingress/default/api");
        let (dirty, _) = lock(&f.index).take_dirty();
        let report = f
            .reconciler
            .reconcile(&f.index, Scope::Names(&dirty))
            .await
            .unwrap();
        assert_eq!(report.plan.counts().delete, 1);
        let records = names_in(&f.provider);
        assert!(
            !records.iter().any(|r| r.contains("api.example.com")),
            "{records:?}"
        );
        assert!(records.contains("www.example.com A 192.0.2.1"));
        // Nothing left to do for those names.
        let again = f
            .reconciler
            .reconcile(&f.index, Scope::Names(&dirty))
            .await
            .unwrap();
        assert!(!again.plan.has_changes());
    }

    #[tokio::test]
    async fn drift_pass_repairs_manual_changes() {
        let mut f = fixture();
        lock(&f.index).replace_kind(
            ResourceKind::Ingress,
            vec![outcome("web", "www.example.com", "192.0.2.1")],
        );
        f.reconciler
            .reconcile(&f.index, Scope::All { reread: true })
            .await
            .unwrap();
        // Someone edits the record by hand.
        f.provider.insert(
            "example.com",
            a("www.example.com", ["203.0.113.66"]).with_ttl(300),
        );
        let report = f
            .reconciler
            .reconcile(&f.index, Scope::All { reread: true })
            .await
            .unwrap();
        assert_eq!(report.plan.counts().update, 1);
        assert!(names_in(&f.provider).contains("www.example.com A 192.0.2.1"));
    }

    #[tokio::test]
    async fn failed_apply_marks_the_zone_for_rereading() {
        let mut f = fixture();
        lock(&f.index).replace_kind(ResourceKind::Ingress, vec![]);
        f.reconciler
            .reconcile(&f.index, Scope::All { reread: true })
            .await
            .unwrap();
        f.provider
            .fail_next_applies(1, zonesync_core::ErrorKind::Transient);
        lock(&f.index).upsert(outcome("web", "www.example.com", "192.0.2.1"));
        let (dirty, _) = lock(&f.index).take_dirty();
        let report = f
            .reconciler
            .reconcile(&f.index, Scope::Names(&dirty))
            .await
            .unwrap();
        assert!(!report.is_success());
        let lists = f.provider.list_calls();
        let retry = f
            .reconciler
            .reconcile(&f.index, Scope::Names(&dirty))
            .await
            .unwrap();
        assert!(retry.is_success());
        assert_eq!(
            f.provider.list_calls(),
            lists + 1,
            "stale zone re-read once"
        );
        assert!(
            f.provider
                .snapshot("example.com")
                .iter()
                .any(|r| r.record_type == RecordType::A)
        );
    }
}
