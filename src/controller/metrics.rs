//! Prometheus metrics, the health endpoints, and a provider wrapper that counts API calls.
//!
//! Served on `--metrics-address`: `/metrics` (OpenMetrics text), `/healthz` (the process is
//! alive) and `/readyz` (watches synced, and for the leader the last sync succeeded recently).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use zonesync_core::{ApplyReport, ChangeGroup, Endpoint, Provider, ProviderError, Zone};

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

/// What `/readyz` reports on.
pub struct Health {
    synced: AtomicBool,
    watch_failing: Mutex<Option<String>>,
    leader: AtomicBool,
    last_success: Mutex<Option<Instant>>,
    last_error: Mutex<Option<String>>,
    held_back: Mutex<Vec<String>>,
    max_sync_age: Duration,
}

impl Health {
    /// Readiness requires a successful sync at most `max_sync_age` ago (for the leader).
    pub fn new(max_sync_age: Duration) -> Self {
        Self {
            synced: AtomicBool::new(false),
            watch_failing: Mutex::new(None),
            leader: AtomicBool::new(false),
            last_success: Mutex::new(None),
            last_error: Mutex::new(None),
            held_back: Mutex::new(Vec::new()),
            max_sync_age,
        }
    }

    /// Every watch delivered its initial list.
    pub fn set_synced(&self, synced: bool) {
        self.synced.store(synced, Ordering::Relaxed);
    }

    /// A watch is failing (`Some(reason)`) or healthy again (`None`).
    pub fn set_watch_failing(&self, reason: Option<String>) {
        *self.watch_failing.lock().unwrap_or_else(|e| e.into_inner()) = reason;
    }

    /// Leadership changed.
    pub fn set_leader(&self, leader: bool) {
        self.leader.store(leader, Ordering::Relaxed);
    }

    /// A reconcile succeeded.
    pub fn record_success(&self) {
        *self.last_success.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
        *self.last_error.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// The safety refusals of the last reconcile (shown by `/readyz`, which stays ready: the rest
    /// of DNS keeps being managed).
    pub fn set_held_back(&self, refusals: Vec<String>) {
        *self.held_back.lock().unwrap_or_else(|e| e.into_inner()) = refusals;
    }

    /// A reconcile failed.
    pub fn record_failure(&self, error: String) {
        *self.last_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(error);
    }

    /// `Ok` with a short text when ready, `Err` with the reason when not.
    pub fn readiness(&self) -> Result<String, String> {
        if !self.synced.load(Ordering::Relaxed) {
            let failing = self
                .watch_failing
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone();
            return Err(match failing {
                Some(reason) => {
                    format!("waiting for the initial list of every watched resource: {reason}")
                }
                None => "waiting for the initial list of every watched resource".into(),
            });
        }
        if let Some(reason) = self
            .watch_failing
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
        {
            return Err(format!("a watch is failing: {reason}"));
        }
        if !self.leader.load(Ordering::Relaxed) {
            return Ok("ready (standby)".into());
        }
        let last = *self.last_success.lock().unwrap_or_else(|e| e.into_inner());
        let error = self
            .last_error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let held = self
            .held_back
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let note = if held.is_empty() {
            String::new()
        } else {
            format!("; held back: {}", held.join("; "))
        };
        match last {
            Some(at) if at.elapsed() <= self.max_sync_age => Ok(format!("ready{note}")),
            Some(at) => Err(format!(
                "last successful sync {}s ago (limit {}s){}",
                at.elapsed().as_secs(),
                self.max_sync_age.as_secs(),
                error
                    .map(|e| format!("; last error: {e}"))
                    .unwrap_or_default()
            )),
            None => Err(format!(
                "no successful sync yet{}",
                error
                    .map(|e| format!("; last error: {e}"))
                    .unwrap_or_default()
            )),
        }
    }
}

#[derive(Clone)]
struct ServerState {
    metrics: Arc<Metrics>,
    health: Arc<Health>,
}

/// Serves `/metrics`, `/healthz` and `/readyz` until `shutdown` resolves.
///
/// Fails when the address cannot be bound.
pub async fn serve(
    address: SocketAddr,
    metrics: Arc<Metrics>,
    health: Arc<Health>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<tokio::task::JoinHandle<()>> {
    let listener = tokio::net::TcpListener::bind(address).await?;
    tracing::info!(address = %listener.local_addr()?, "serving /metrics, /healthz and /readyz");
    let app = Router::new()
        .route("/metrics", get(metrics_handler))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz_handler))
        .with_state(ServerState { metrics, health });
    Ok(tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::error!(%error, "metrics server stopped");
        }
    }))
}

async fn metrics_handler(State(state): State<ServerState>) -> impl IntoResponse {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.encode(),
    )
}

async fn readyz_handler(State(state): State<ServerState>) -> impl IntoResponse {
    match state.health.readiness() {
        Ok(text) => (StatusCode::OK, format!("{text}\n")),
        Err(reason) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {reason}\n"),
        ),
    }
}

/// Wraps a provider to count its calls and failures.
pub struct InstrumentedProvider {
    inner: Box<dyn Provider>,
    metrics: Arc<Metrics>,
}

impl InstrumentedProvider {
    /// Counts the calls of `inner` into `metrics`.
    pub fn new(inner: Box<dyn Provider>, metrics: Arc<Metrics>) -> Self {
        Self { inner, metrics }
    }

    fn count<T>(&self, operation: &str, result: &Result<T, ProviderError>) {
        let labels = ProviderLabels {
            provider: self.inner.name().to_string(),
            operation: operation.to_string(),
        };
        self.metrics.provider_requests.get_or_create(&labels).inc();
        if result.is_err() {
            self.metrics.provider_errors.get_or_create(&labels).inc();
        }
    }
}

#[async_trait]
impl Provider for InstrumentedProvider {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    async fn zones(&self) -> Result<Vec<Zone>, ProviderError> {
        let result = self.inner.zones().await;
        self.count("zones", &result);
        result
    }

    async fn records(&self, zone: &Zone) -> Result<Vec<Endpoint>, ProviderError> {
        let result = self.inner.records(zone).await;
        self.count("records", &result);
        result
    }

    async fn unchanged_since_read(&self, zone: &Zone) -> Result<bool, ProviderError> {
        let result = self.inner.unchanged_since_read(zone).await;
        self.count("unchanged_since_read", &result);
        result
    }

    async fn apply(
        &self,
        zone: &Zone,
        groups: &[ChangeGroup<'_>],
    ) -> Result<ApplyReport, ProviderError> {
        let result = self.inner.apply(zone, groups).await;
        self.count("apply", &result);
        if let Ok(report) = &result {
            self.metrics
                .provider_rejections
                .inc_by(report.rejected.len() as u64);
        }
        result
    }

    fn default_ttl(&self) -> u32 {
        self.inner.default_ttl()
    }

    async fn adjust_desired(&self, desired: Vec<Endpoint>) -> Result<Vec<Endpoint>, ProviderError> {
        self.inner.adjust_desired(desired).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readiness_follows_sync_and_leadership() {
        let health = Health::new(Duration::from_secs(60));
        assert!(health.readiness().is_err());
        health.set_synced(true);
        assert_eq!(health.readiness().unwrap(), "ready (standby)");
        health.set_leader(true);
        assert!(
            health
                .readiness()
                .unwrap_err()
                .contains("no successful sync yet")
        );
        health.record_success();
        assert_eq!(health.readiness().unwrap(), "ready");
        health.set_watch_failing(Some("500 from the API server".into()));
        assert!(health.readiness().unwrap_err().contains("500"));
    }

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
        assert!(
            text.contains(
                "zonesync_changes_applied_total{action=\"create\",provider=\"zonefile\"} 1"
            ),
            "{text}"
        );
    }
}
