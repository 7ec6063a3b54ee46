//! The Route53 client: credentials, the shared rate limit, bounded retries and call counters
//! around every request.

use std::future::Future;

use aws_sdk_route53::config::http::HttpResponse;
use aws_sdk_route53::config::retry::RetryConfig;
use aws_sdk_route53::config::timeout::TimeoutConfig;
use aws_sdk_route53::config::{BehaviorVersion, Region};
use aws_sdk_route53::error::{ProvideErrorMetadata, SdkError};
use backon::{ExponentialBuilder, Retryable};

use crate::config::{RetryPolicy, Route53Config};
use crate::error::Route53Error;
use crate::rate_limit::TokenBucket;
use crate::stats::{Counters, Operation};

/// Region used when neither the environment nor the profile names one: Route53 is a global
/// service signed for us-east-1.
const DEFAULT_REGION: &str = "us-east-1";

/// Builds the SDK configuration the production way: the default credential chain (environment,
/// profile, web identity for IRSA and EKS pod identity, container and instance metadata),
/// `--aws-profile`, `--aws-assume-role`, and the SDK's own endpoint override variables
/// (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_ROUTE_53`).
pub(crate) async fn load_sdk_config(config: &Route53Config) -> aws_sdk_route53::config::Builder {
    let region = aws_config::meta::region::RegionProviderChain::default_provider()
        .or_else(Region::new(DEFAULT_REGION));
    let mut loader = aws_config::defaults(BehaviorVersion::latest()).region(region);
    if let Some(profile) = &config.profile {
        loader = loader.profile_name(profile);
    }
    let shared = loader.load().await;
    let mut builder = aws_sdk_route53::config::Builder::from(&shared);
    if let Some(role) = &config.assume_role {
        let mut assume = aws_config::sts::AssumeRoleProvider::builder(&role.role_arn)
            .session_name("zonesync")
            .configure(&shared);
        if let Some(external_id) = &role.external_id {
            assume = assume.external_id(external_id);
        }
        builder = builder.credentials_provider(assume.build().await);
    }
    builder
}

/// The Route53 client with zonesync's request policy around it.
pub(crate) struct Api {
    client: aws_sdk_route53::Client,
    limiter: TokenBucket,
    retry: RetryPolicy,
    pub(crate) counters: Counters,
}

impl Api {
    /// Wraps an SDK configuration. The SDK's own retries are switched off so that zonesync's
    /// backoff (which shares the rate limit and is counted) is the only one, and each attempt
    /// is bounded in time.
    pub(crate) fn new(sdk: aws_sdk_route53::config::Builder, config: &Route53Config) -> Self {
        let sdk = sdk
            .retry_config(RetryConfig::disabled())
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(
                        config
                            .attempt_timeout
                            .min(std::time::Duration::from_secs(10)),
                    )
                    .operation_attempt_timeout(config.attempt_timeout)
                    .build(),
            )
            .build();
        Self {
            client: aws_sdk_route53::Client::from_conf(sdk),
            limiter: TokenBucket::new(config.rate_limit),
            retry: config.retry,
            counters: Counters::default(),
        }
    }

    /// The SDK client, to build requests with.
    pub(crate) fn client(&self) -> &aws_sdk_route53::Client {
        &self.client
    }

    fn backoff(&self) -> ExponentialBuilder {
        ExponentialBuilder::default()
            .with_min_delay(self.retry.min_delay)
            .with_max_delay(self.retry.max_delay)
            .with_max_times(self.retry.max_retries as usize)
            .with_jitter()
    }

    /// Sends one request built by `call`, waiting for the rate limit before every attempt and
    /// retrying throttling, 5xx and connection failures with jittered exponential backoff, at
    /// most `max_retries` times.
    ///
    /// Fails with the classified error of the last attempt.
    pub(crate) async fn send<T, E, F, Fut>(
        &self,
        operation: Operation,
        call: F,
    ) -> Result<T, Route53Error>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let attempt = || async {
            self.limiter.acquire().await;
            self.counters.request(operation);
            call().await.map_err(|error| {
                let error = Route53Error::from_sdk(operation.name(), &error);
                if error.is_throttling() {
                    self.counters.throttled();
                }
                error
            })
        };
        attempt
            .retry(self.backoff())
            .sleep(tokio::time::sleep)
            .when(Route53Error::is_retryable)
            .notify(|error, delay| {
                self.counters.retry();
                tracing::warn!(
                    operation = operation.name(),
                    error = %error,
                    retry_in_ms = delay.as_millis() as u64,
                    "Route53 request failed; retrying"
                );
            })
            .await
    }
}
