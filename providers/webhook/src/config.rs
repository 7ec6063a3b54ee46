//! The `--webhook-provider-*` flags (external-dns's names) and their validation into a
//! [`WebhookConfig`].

use std::time::Duration;

/// `--webhook-provider-url` when not given: a sidecar in the same pod.
pub const DEFAULT_URL: &str = "http://localhost:8888";
/// `--webhook-provider-read-timeout` when not given.
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(5);
/// `--webhook-provider-write-timeout` when not given.
pub const DEFAULT_WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest request or answer body, both ways (external-dns's limit).
pub const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;
/// Attempts per request on connection errors and 5xx answers, the first one included
/// (external-dns retries negotiation five times).
pub const DEFAULT_ATTEMPTS: usize = 5;

/// Command-line flags of the webhook provider.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct WebhookArgs {
    /// URL of the webhook provider (a sidecar serving external-dns's webhook protocol) [default: http://localhost:8888].
    #[arg(
        long = "webhook-provider-url",
        value_name = "URL",
        env = "ZONESYNC_WEBHOOK_PROVIDER_URL",
        help_heading = "Webhook"
    )]
    pub webhook_provider_url: Option<String>,

    /// How long to wait for the provider's answer to arrive, per read (seconds, or a duration like 500ms) [default: 5s].
    #[arg(
        long = "webhook-provider-read-timeout",
        value_name = "DURATION",
        env = "ZONESYNC_WEBHOOK_PROVIDER_READ_TIMEOUT",
        help_heading = "Webhook"
    )]
    pub webhook_provider_read_timeout: Option<String>,

    /// How long sending a request may take; a whole exchange may take read + write timeout [default: 10s].
    #[arg(
        long = "webhook-provider-write-timeout",
        value_name = "DURATION",
        env = "ZONESYNC_WEBHOOK_PROVIDER_WRITE_TIMEOUT",
        help_heading = "Webhook"
    )]
    pub webhook_provider_write_timeout: Option<String>,
}

/// Validated webhook settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookConfig {
    /// Base URL, without a trailing slash.
    pub url: String,
    /// Per-read timeout.
    pub read_timeout: Duration,
    /// Send timeout; also bounds connecting.
    pub write_timeout: Duration,
    /// Attempts per request on connection errors and 5xx answers.
    pub attempts: usize,
    /// First delay between attempts (doubled each time, with jitter).
    pub retry_delay: Duration,
    /// Body limit, both ways.
    pub max_body_bytes: usize,
}

impl WebhookConfig {
    /// Settings for `url` with the default timeouts and retries.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into().trim_end_matches('/').to_string(),
            read_timeout: DEFAULT_READ_TIMEOUT,
            write_timeout: DEFAULT_WRITE_TIMEOUT,
            attempts: DEFAULT_ATTEMPTS,
            retry_delay: Duration::from_millis(200),
            max_body_bytes: MAX_BODY_BYTES,
        }
    }
}

impl WebhookArgs {
    /// Validates the flags.
    ///
    /// Fails with a message naming the flag and value when the URL is not an absolute
    /// `http://` or `https://` URL, or a timeout is not a positive duration.
    pub fn validate(&self) -> Result<WebhookConfig, ConfigError> {
        let url = self
            .webhook_provider_url
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .unwrap_or(DEFAULT_URL);
        const URL_FLAG: &str = "--webhook-provider-url";
        let parsed = reqwest::Url::parse(url).map_err(|e| {
            ConfigError::invalid(
                URL_FLAG,
                url,
                format!("is not a URL ({e}); use e.g. http://localhost:8888"),
            )
        })?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
            return Err(ConfigError::invalid(
                URL_FLAG,
                url,
                "must be an http:// or https:// URL with a host",
            ));
        }
        if parsed.query().is_some() || parsed.fragment().is_some() {
            return Err(ConfigError::invalid(
                URL_FLAG,
                url,
                "must not have a query or fragment",
            ));
        }
        let mut config = WebhookConfig::new(url);
        if let Some(value) = &self.webhook_provider_read_timeout {
            config.read_timeout = parse_timeout("--webhook-provider-read-timeout", value)?;
        }
        if let Some(value) = &self.webhook_provider_write_timeout {
            config.write_timeout = parse_timeout("--webhook-provider-write-timeout", value)?;
        }
        Ok(config)
    }
}

/// Why the `--webhook-provider-*` flags are unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A flag has a value zonesync cannot use.
    #[error("{flag} {value:?} {problem}")]
    Invalid {
        /// The flag.
        flag: &'static str,
        /// Its value as given.
        value: String,
        /// What is wrong with it.
        problem: String,
    },
}

impl ConfigError {
    fn invalid(flag: &'static str, value: &str, problem: impl Into<String>) -> Self {
        Self::Invalid {
            flag,
            value: value.to_string(),
            problem: problem.into(),
        }
    }
}

fn parse_timeout(flag: &'static str, value: &str) -> Result<Duration, ConfigError> {
    let trimmed = value.trim();
    let duration = match trimmed.parse::<u64>() {
        Ok(seconds) => Duration::from_secs(seconds),
        Err(_) => humantime::parse_duration(trimmed).map_err(|e| {
            ConfigError::invalid(
                flag,
                value,
                format!("is not a duration ({e}); use seconds or e.g. 500ms, 10s"),
            )
        })?,
    };
    if duration.is_zero() {
        return Err(ConfigError::invalid(
            flag,
            value,
            "must be greater than zero",
        ));
    }
    Ok(duration)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_external_dns() {
        let config = WebhookArgs::default().validate().unwrap();
        assert_eq!(config.url, "http://localhost:8888");
        assert_eq!(config.read_timeout, Duration::from_secs(5));
        assert_eq!(config.write_timeout, Duration::from_secs(10));
    }

    #[test]
    fn bad_values_name_the_flag() {
        let args = WebhookArgs {
            webhook_provider_url: Some("localhost:8888".into()),
            ..WebhookArgs::default()
        };
        let error = args.validate().unwrap_err().to_string();
        assert!(error.contains("--webhook-provider-url"), "{error}");
        let args = WebhookArgs {
            webhook_provider_read_timeout: Some("soon".into()),
            ..WebhookArgs::default()
        };
        let error = args.validate().unwrap_err().to_string();
        assert!(
            error.contains("--webhook-provider-read-timeout \"soon\""),
            "{error}"
        );
        let args = WebhookArgs {
            webhook_provider_url: Some("http://sidecar:8888/".into()),
            webhook_provider_write_timeout: Some("1500ms".into()),
            ..WebhookArgs::default()
        };
        let config = args.validate().unwrap();
        assert_eq!(config.url, "http://sidecar:8888");
        assert_eq!(config.write_timeout, Duration::from_millis(1500));
    }
}
