//! A provider wrapper that counts API calls and failures into the metrics.

use std::sync::Arc;

use async_trait::async_trait;
use zonesync_core::{ApplyReport, ChangeGroup, Endpoint, Provider, ProviderError, Zone};

use super::metrics::{Metrics, ProviderLabels};

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
