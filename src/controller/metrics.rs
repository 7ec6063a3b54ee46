//! Prometheus metrics: every metric zonesync exports, registered once.

use std::sync::atomic::AtomicU64;
use std::time::{SystemTime, UNIX_EPOCH};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Labels of reconcile counters.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReconcileLabels {
    /// `event` (names touched by watch events) or `drift` (full pass).
    pub trigger: String,
    /// `success` or `failure`.
    pub result: String,
}

/// Labels of applied-change counters.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ChangeLabels {
    /// `create`, `update` or `delete`.
    pub action: String,
    /// Provider name.
    pub provider: String,
}

/// Labels of provider call counters.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ProviderLabels {
    /// Provider name.
    pub provider: String,
    /// `zones`, `records` or `apply`.
    pub operation: String,
}

/// Labels naming a watched resource.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResourceLabels {
    /// `ingress`, `service`, `httproute` (and the other route kinds), `gateway`, `namespace`
    /// or `crd`.
    pub resource: String,
}

/// Every metric zonesync exports (names prefixed `zonesync_`).
pub struct Metrics {
    registry: Registry,
    /// Reconciles by trigger and result.
    pub reconciles: Family<ReconcileLabels, Counter>,
    /// Record changes applied by action and provider.
    pub changes_applied: Family<ChangeLabels, Counter>,
    /// Provider calls by operation.
    pub provider_requests: Family<ProviderLabels, Counter>,
    /// Failed provider calls by operation.
    pub provider_errors: Family<ProviderLabels, Counter>,
    /// Change groups the provider rejected.
    pub provider_rejections: Counter,
    /// Names in conflict in the last plan.
    pub conflicts: Gauge,
    /// Skipped inputs in the last plan.
    pub skipped_inputs: Gauge,
    /// Record changes the safety thresholds held back in the last reconcile.
    pub held_back: Gauge,
    /// Unix time of the last successful sync.
    pub last_sync_timestamp: Gauge<f64, AtomicU64>,
    /// Time from the first watch event of a batch to its apply.
    pub event_to_apply_seconds: Histogram,
    /// 1 while this instance is the leader.
    pub leader: Gauge,
    /// 1 once a resource's initial list completed and its watch is healthy.
    pub watch_synced: Family<ResourceLabels, Gauge>,
    /// Watch errors by resource.
    pub watch_errors: Family<ResourceLabels, Counter>,
    /// Watch events taken into the desired-state index: a completed (re-)list, an object
    /// added, changed or deleted.
    pub watch_events: Counter,
    /// How many watch events the controller had taken in when it last found nothing left to
    /// plan or apply (see [`Metrics::settled`]).
    pub watch_events_settled: Gauge,
    /// Objects in the desired-state index.
    pub indexed_objects: Gauge,
    /// Records held in the zone cache.
    pub cached_records: Gauge,
    /// Kubernetes Events not published: the queue was full or a rate limit refused them.
    pub events_dropped: Counter,
    /// Kubernetes Events published.
    pub events_published: Counter,
}

impl Metrics {
    /// A fresh registry with every metric registered.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("zonesync");
        let metrics = Self {
            reconciles: Family::default(),
            changes_applied: Family::default(),
            provider_requests: Family::default(),
            provider_errors: Family::default(),
            provider_rejections: Counter::default(),
            conflicts: Gauge::default(),
            skipped_inputs: Gauge::default(),
            held_back: Gauge::default(),
            last_sync_timestamp: Gauge::default(),
            event_to_apply_seconds: Histogram::new(exponential_buckets(0.005, 2.0, 14)),
            leader: Gauge::default(),
            watch_synced: Family::default(),
            watch_errors: Family::default(),
            watch_events: Counter::default(),
            watch_events_settled: Gauge::default(),
            indexed_objects: Gauge::default(),
            cached_records: Gauge::default(),
            events_dropped: Counter::default(),
            events_published: Counter::default(),
            registry: Registry::default(),
        };
        registry.register(
            "reconciles",
            "Reconciles by trigger and result",
            metrics.reconciles.clone(),
        );
        registry.register(
            "changes_applied",
            "Record changes applied",
            metrics.changes_applied.clone(),
        );
        registry.register(
            "provider_requests",
            "Provider calls by operation",
            metrics.provider_requests.clone(),
        );
        registry.register(
            "provider_errors",
            "Failed provider calls by operation",
            metrics.provider_errors.clone(),
        );
        registry.register(
            "provider_rejections",
            "Change groups the provider rejected",
            metrics.provider_rejections.clone(),
        );
        registry.register(
            "conflicts",
            "Names in conflict in the last plan",
            metrics.conflicts.clone(),
        );
        registry.register(
            "skipped_inputs",
            "Inputs skipped in the last plan",
            metrics.skipped_inputs.clone(),
        );
        registry.register(
            "changes_held_back",
            "Record changes held back by the safety thresholds in the last reconcile",
            metrics.held_back.clone(),
        );
        registry.register(
            "last_sync_timestamp_seconds",
            "Unix time of the last successful sync",
            metrics.last_sync_timestamp.clone(),
        );
        registry.register(
            "event_to_apply_seconds",
            "Time from a watch event to the apply of its changes",
            metrics.event_to_apply_seconds.clone(),
        );
        registry.register(
            "leader",
            "1 while this instance is the leader",
            metrics.leader.clone(),
        );
        registry.register(
            "watch_synced",
            "1 while a resource's watch is synced",
            metrics.watch_synced.clone(),
        );
        registry.register(
            "watch_errors",
            "Watch errors by resource",
            metrics.watch_errors.clone(),
        );
        registry.register(
            "watch_events",
            "Watch events taken into the desired-state index",
            metrics.watch_events.clone(),
        );
        registry.register(
            "watch_events_settled",
            "Watch events whose changes were all planned and applied when the controller last went idle",
            metrics.watch_events_settled.clone(),
        );
        registry.register(
            "indexed_objects",
            "Objects in the desired-state index",
            metrics.indexed_objects.clone(),
        );
        registry.register(
            "cached_records",
            "Records held in the zone cache",
            metrics.cached_records.clone(),
        );
        registry.register(
            "events_dropped",
            "Kubernetes Events not published because of the queue or the rate limits",
            metrics.events_dropped.clone(),
        );
        registry.register(
            "events_published",
            "Kubernetes Events published",
            metrics.events_published.clone(),
        );
        Self {
            registry,
            ..metrics
        }
    }

    /// The OpenMetrics text of every metric.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        if prometheus_client::encoding::text::encode(&mut text, &self.registry).is_err() {
            text.clear();
        }
        text
    }

    /// The watch events taken in so far. Read it before looking for work, and pass it to
    /// [`settled`](Self::settled) when there is none.
    pub fn watch_events_seen(&self) -> u64 {
        self.watch_events.get()
    }

    /// The controller found nothing left to plan or apply after taking in `seen` watch events:
    /// everything those events changed is in DNS (or held back, or waiting out a grace
    /// period). Tests and operators compare it with `zonesync_watch_events_total` to know that
    /// an event was acted on, not merely not yet reached.
    pub fn settled(&self, seen: u64) {
        self.watch_events_settled
            .set(i64::try_from(seen).unwrap_or(i64::MAX));
    }

    /// Records a successful sync now.
    pub fn record_success(&self) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or_default();
        self.last_sync_timestamp.set(now);
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_render_with_prefix() {
        let metrics = Metrics::new();
        metrics.leader.set(1);
        metrics
            .changes_applied
            .get_or_create(&ChangeLabels {
                action: "create".into(),
                provider: "zonefile".into(),
            })
            .inc();
        let text = metrics.encode();
        assert!(text.contains("zonesync_leader 1"), "{text}");
        assert!(text.contains("zonesync_watch_events_total 0"), "{text}");
        assert!(
            text.contains(
                "zonesync_changes_applied_total{action=\"create\",provider=\"zonefile\"} 1"
            ),
            "{text}"
        );
    }

    #[test]
    fn settled_watch_events_follow_what_was_seen() {
        let metrics = Metrics::new();
        metrics.watch_events.inc();
        metrics.watch_events.inc();
        let seen = metrics.watch_events_seen();
        assert_eq!(seen, 2);
        metrics.watch_events.inc();
        metrics.settled(seen);
        let text = metrics.encode();
        assert!(text.contains("zonesync_watch_events_total 3"), "{text}");
        assert!(text.contains("zonesync_watch_events_settled 2"), "{text}");
    }
}
