//! One reconcile: plan the dirty names (or everything on a drift pass) against the cached
//! zones, apply, and patch the cache with what the provider accepted.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use zonesync_core::{DnsName, Provider, ProviderError};

use super::index::DesiredIndex;
use super::store::ZoneStore;
use crate::apply::{ApplyMode, ApplyOutcome};
use crate::plan::{Plan, PlanOptions, Planner};
use crate::registry::Registry;
use crate::safety::SafetyLimits;

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

/// Plans and applies against cached zones.
pub struct Reconciler {
    provider: Arc<dyn Provider>,
    registry: Registry,
    options: PlanOptions,
    safety: SafetyLimits,
    stores: Vec<ZoneStore>,
    mode: ApplyMode,
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
        }
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

    /// Reads the zone list and every zone from the provider (start-up and drift pass).
    ///
    /// Fails when any zone cannot be read completely; the old cache is kept then.
    pub async fn refresh_all(&mut self) -> Result<(), ProviderError> {
        let zones = self.provider.zones().await?;
        let mut stores = Vec::with_capacity(zones.len());
        for zone in zones
            .into_iter()
            .filter(|zone| self.options.domain_filter.may_match_zone(&zone.name))
        {
            self.provider.invalidate(&zone);
            let records = self.provider.records(&zone).await?;
            stores.push(ZoneStore::new(zone, records));
        }
        self.stores = stores;
        Ok(())
    }

    /// Re-reads the zones whose cache a failed write left in doubt.
    async fn refresh_stale(&mut self) -> Result<(), ProviderError> {
        for store in self.stores.iter_mut().filter(|s| s.is_stale()) {
            let zone = store.zone().clone();
            self.provider.invalidate(&zone);
            let records = self.provider.records(&zone).await?;
            *store = ZoneStore::new(zone, records);
        }
        Ok(())
    }

    /// Plans every name and applies the plan (a drift pass re-reads the provider first).
    ///
    /// Fails only when the provider cannot be read; apply failures are in the report.
    pub async fn reconcile_all(
        &mut self,
        index: &Mutex<DesiredIndex>,
        reread: bool,
    ) -> Result<ReconcileReport, ProviderError> {
        if reread || !self.is_loaded() {
            self.refresh_all().await?;
        } else {
            self.refresh_stale().await?;
        }
        let plan = {
            let index = lock(index);
            let desired = index.desired_all(|e| self.provider.adjust_desired(e));
            let inventories = self
                .stores
                .iter()
                .map(|s| (s.zone().clone(), self.registry.inventory(s.all())))
                .collect::<Vec<_>>();
            Planner::new(&self.registry, &self.options).plan(
                &desired,
                &*index,
                &inventories,
                &index.skipped(None),
            )
        };
        Ok(self.apply(plan).await)
    }

    /// Plans only `names` and applies that plan.
    ///
    /// Fails only when a zone left in doubt by an earlier failure cannot be re-read.
    pub async fn reconcile_names(
        &mut self,
        index: &Mutex<DesiredIndex>,
        names: &BTreeSet<DnsName>,
    ) -> Result<ReconcileReport, ProviderError> {
        if !self.is_loaded() {
            self.refresh_all().await?;
        } else {
            self.refresh_stale().await?;
        }
        let plan = {
            let index = lock(index);
            let desired = index.desired_for(names, |e| self.provider.adjust_desired(e));
            let inventories = self
                .stores
                .iter()
                .map(|s| {
                    (
                        s.zone().clone(),
                        self.registry
                            .inventory(s.records_for(names, &self.registry)),
                    )
                })
                .collect::<Vec<_>>();
            Planner::new(&self.registry, &self.options).plan(
                &desired,
                &*index,
                &inventories,
                &index.skipped(Some(names)),
            )
        };
        Ok(self.apply(plan).await)
    }

    async fn apply(&mut self, mut plan: Plan) -> ReconcileReport {
        // Judge deletions and updates against the whole zone, not just the names planned.
        let owned: Vec<usize> = plan
            .zones
            .iter()
            .map(|z| {
                let limited = z
                    .changes()
                    .filter(|c| !matches!(c, zonesync_core::Change::Create { .. }))
                    .count();
                if crate::safety::may_refuse(limited, &self.safety) {
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
        let stores = &mut self.stores;
        let outcome = crate::apply::apply(
            self.provider.as_ref(),
            &mut plan,
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

    use zonesync_core::{InMemoryProvider, RecordType};

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
        let report = f.reconciler.reconcile_all(&f.index, true).await.unwrap();
        assert!(report.is_success());
        assert_eq!(f.provider.list_calls(), 1);

        lock(&f.index).upsert(outcome("api", "api.example.com", "192.0.2.2"));
        let (dirty, _) = lock(&f.index).take_dirty();
        assert_eq!(dirty.len(), 1);
        let report = f
            .reconciler
            .reconcile_names(&f.index, &dirty)
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
            .reconcile_names(&f.index, &dirty)
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
            .reconcile_names(&f.index, &dirty)
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
        f.reconciler.reconcile_all(&f.index, true).await.unwrap();
        // Someone edits the record by hand.
        f.provider.insert(
            "example.com",
            a("www.example.com", ["203.0.113.66"]).with_ttl(300),
        );
        let report = f.reconciler.reconcile_all(&f.index, true).await.unwrap();
        assert_eq!(report.plan.counts().update, 1);
        assert!(names_in(&f.provider).contains("www.example.com A 192.0.2.1"));
    }

    #[tokio::test]
    async fn failed_apply_marks_the_zone_for_rereading() {
        let mut f = fixture();
        lock(&f.index).replace_kind(ResourceKind::Ingress, vec![]);
        f.reconciler.reconcile_all(&f.index, true).await.unwrap();
        f.provider
            .fail_next_applies(1, zonesync_core::ErrorKind::Transient);
        lock(&f.index).upsert(outcome("web", "www.example.com", "192.0.2.1"));
        let (dirty, _) = lock(&f.index).take_dirty();
        let report = f
            .reconciler
            .reconcile_names(&f.index, &dirty)
            .await
            .unwrap();
        assert!(!report.is_success());
        let lists = f.provider.list_calls();
        let retry = f
            .reconciler
            .reconcile_names(&f.index, &dirty)
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
