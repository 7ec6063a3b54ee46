//! HTTP exchanges with the webhook provider: one shared `reqwest` client, the media type on
//! every request and checked on every JSON answer, bodies capped both ways, retries with
//! jittered exponential backoff on connection errors and 5xx answers.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderValue};
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::config::WebhookConfig;
use crate::error::WebhookError;

/// The protocol's media type (version 1), compared as an exact string as external-dns does.
pub const MEDIA_TYPE: &str = "application/external.dns.webhook+json;version=1";

/// Longest provider message kept in an error.
const MAX_MESSAGE_CHARS: usize = 300;

/// Requests and bytes exchanged so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WebhookStats {
    /// `GET /` requests (attempts).
    pub negotiations: u64,
    /// `GET /records` requests (attempts).
    pub record_reads: u64,
    /// `POST /records` requests (attempts).
    pub change_posts: u64,
    /// `POST /adjustendpoints` requests (attempts).
    pub adjust_posts: u64,
    /// Request body bytes sent.
    pub bytes_sent: u64,
    /// Answer body bytes received.
    pub bytes_received: u64,
    /// Attempts repeated after a connection error or 5xx.
    pub retries: u64,
}

#[derive(Debug, Default)]
struct Counters {
    negotiations: AtomicU64,
    record_reads: AtomicU64,
    change_posts: AtomicU64,
    adjust_posts: AtomicU64,
    bytes_sent: AtomicU64,
    bytes_received: AtomicU64,
    retries: AtomicU64,
}

/// The requests of the protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Operation {
    /// `GET /`.
    Negotiate,
    /// `GET /records`.
    Records,
    /// `POST /records`.
    ApplyChanges,
    /// `POST /adjustendpoints`.
    AdjustEndpoints,
}

impl Operation {
    fn method(self) -> Method {
        match self {
            Operation::Negotiate | Operation::Records => Method::GET,
            Operation::ApplyChanges | Operation::AdjustEndpoints => Method::POST,
        }
    }

    fn path(self) -> &'static str {
        match self {
            Operation::Negotiate => "/",
            Operation::Records | Operation::ApplyChanges => "/records",
            Operation::AdjustEndpoints => "/adjustendpoints",
        }
    }

    /// `GET /records` …, for messages.
    pub(crate) fn describe(self) -> String {
        format!("{} {}", self.method(), self.path())
    }

    /// The status that means success.
    fn success(self) -> StatusCode {
        match self {
            Operation::ApplyChanges => StatusCode::NO_CONTENT,
            _ => StatusCode::OK,
        }
    }

    /// True when a timed-out attempt may be repeated: everything but a change request, whose
    /// outcome is unknown after a timeout.
    fn idempotent(self) -> bool {
        self != Operation::ApplyChanges
    }
}

/// The HTTP side of the provider.
#[derive(Debug)]
pub(crate) struct Client {
    http: reqwest::Client,
    config: WebhookConfig,
    counters: Counters,
}

impl Client {
    /// Builds the shared client.
    ///
    /// Fails when the TLS stack cannot be set up.
    pub(crate) fn new(config: WebhookConfig) -> Result<Self, WebhookError> {
        let http = reqwest::Client::builder()
            .connect_timeout(config.write_timeout)
            .read_timeout(config.read_timeout)
            .timeout(config.read_timeout + config.write_timeout)
            .user_agent(concat!("zonesync/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|source| WebhookError::Setup {
                message: source.to_string(),
            })?;
        Ok(Self {
            http,
            config,
            counters: Counters::default(),
        })
    }

    /// The settings in use.
    pub(crate) fn config(&self) -> &WebhookConfig {
        &self.config
    }

    /// Counters so far.
    pub(crate) fn stats(&self) -> WebhookStats {
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        WebhookStats {
            negotiations: load(&self.counters.negotiations),
            record_reads: load(&self.counters.record_reads),
            change_posts: load(&self.counters.change_posts),
            adjust_posts: load(&self.counters.adjust_posts),
            bytes_sent: load(&self.counters.bytes_sent),
            bytes_received: load(&self.counters.bytes_received),
            retries: load(&self.counters.retries),
        }
    }

    /// Sends `operation` with `body` (JSON text), retrying connection errors, 5xx answers and,
    /// for requests other than changes, timeouts. Returns the decoded JSON answer (`Null` for a
    /// 204).
    ///
    /// Fails with the last attempt's error: connection, timeout, a status other than the
    /// expected one (with the provider's message), a wrong `Content-Type`, a body over the
    /// limit, or an answer that is not JSON.
    pub(crate) async fn exchange(
        &self,
        operation: Operation,
        body: Option<&str>,
    ) -> Result<Value, WebhookError> {
        if let Some(body) = body
            && body.len() > self.config.max_body_bytes
        {
            return Err(WebhookError::TooLarge {
                operation: operation.describe(),
                direction: "request",
                limit: self.config.max_body_bytes,
            });
        }
        let attempt = || async { self.attempt(operation, body).await };
        attempt
            .retry(
                ExponentialBuilder::default()
                    .with_min_delay(self.config.retry_delay)
                    .with_max_delay(Duration::from_secs(5))
                    .with_max_times(self.config.attempts.saturating_sub(1))
                    .with_jitter(),
            )
            .sleep(tokio::time::sleep)
            .when(|error: &WebhookError| {
                error.is_retryable() && (operation.idempotent() || !error.is_timeout())
            })
            .notify(|error, delay| {
                self.counters.retries.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(
                    request = %operation.describe(),
                    error = %error,
                    retry_in_ms = delay.as_millis() as u64,
                    "webhook request failed; retrying"
                );
            })
            .await
    }

    async fn attempt(
        &self,
        operation: Operation,
        body: Option<&str>,
    ) -> Result<Value, WebhookError> {
        let counter = match operation {
            Operation::Negotiate => &self.counters.negotiations,
            Operation::Records => &self.counters.record_reads,
            Operation::ApplyChanges => &self.counters.change_posts,
            Operation::AdjustEndpoints => &self.counters.adjust_posts,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        let url = format!("{}{}", self.config.url, operation.path());
        let media_type = HeaderValue::from_static(MEDIA_TYPE);
        let mut request = self.http.request(operation.method(), &url);
        if operation != Operation::ApplyChanges {
            request = request.header(ACCEPT, media_type.clone());
        }
        if let Some(body) = body {
            self.counters
                .bytes_sent
                .fetch_add(body.len() as u64, Ordering::Relaxed);
            request = request
                .header(CONTENT_TYPE, media_type)
                .body(body.to_string());
        }
        let describe = || operation.describe();
        let mut response = request
            .send()
            .await
            .map_err(|source| WebhookError::from_transport(describe(), &self.config.url, source))?;
        let status = response.status();
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let limit = self.config.max_body_bytes;
        let mut bytes: Vec<u8> = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if bytes.len() + chunk.len() > limit {
                        return Err(WebhookError::TooLarge {
                            operation: describe(),
                            direction: "answer",
                            limit,
                        });
                    }
                    bytes.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(source) => {
                    return Err(WebhookError::from_transport(
                        describe(),
                        &self.config.url,
                        source,
                    ));
                }
            }
        }
        self.counters
            .bytes_received
            .fetch_add(bytes.len() as u64, Ordering::Relaxed);
        if status != operation.success() {
            return Err(WebhookError::Status {
                operation: describe(),
                status: status.as_u16(),
                message: sanitise(&String::from_utf8_lossy(&bytes)),
            });
        }
        if operation == Operation::ApplyChanges {
            return Ok(Value::Null);
        }
        if content_type.as_deref() != Some(MEDIA_TYPE) {
            return Err(WebhookError::ContentType {
                operation: describe(),
                content_type: content_type.map(|c| sanitise(&c)),
            });
        }
        serde_json::from_slice(&bytes).map_err(|e| WebhookError::Decode {
            operation: describe(),
            message: e.to_string(),
        })
    }
}

/// A provider message fit for an error: control characters replaced by spaces, whitespace
/// collapsed, at most 300 characters.
pub(crate) fn sanitise(message: &str) -> String {
    let mut cleaned = String::with_capacity(message.len().min(MAX_MESSAGE_CHARS + 3));
    let mut count = 0;
    let mut last_space = true;
    for character in message.chars() {
        let character = if character.is_control() || character.is_whitespace() {
            ' '
        } else {
            character
        };
        if character == ' ' && last_space {
            continue;
        }
        last_space = character == ' ';
        if count == MAX_MESSAGE_CHARS {
            cleaned.push('…');
            break;
        }
        cleaned.push(character);
        count += 1;
    }
    cleaned.trim_end().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_cleaned_and_cut() {
        assert_eq!(sanitise("bad\x1b[31m record\n\n x\t"), "bad [31m record x");
        let long = "é".repeat(1000);
        let cut = sanitise(&long);
        assert_eq!(cut.chars().count(), MAX_MESSAGE_CHARS + 1);
        assert!(cut.ends_with('…'));
    }
}
