//! Webhook failures, classified for zonesync's retry decisions.

use zonesync_core::{ErrorKind, ProviderError};

/// What went wrong in an exchange with the webhook provider.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// The HTTP client could not be built.
    #[error("cannot set up the webhook HTTP client: {message}")]
    Setup {
        /// The cause.
        message: String,
    },
    /// No connection, or the connection broke before an answer.
    #[error("{operation}: cannot reach the webhook provider at {url}: {message}")]
    Connect {
        /// `GET /records` …
        operation: String,
        /// The base URL.
        url: String,
        /// The cause.
        message: String,
    },
    /// No complete answer within the read/write timeouts.
    #[error("{operation}: the webhook provider at {url} did not answer in time ({message})")]
    Timeout {
        /// `GET /records` …
        operation: String,
        /// The base URL.
        url: String,
        /// The cause.
        message: String,
    },
    /// An answer with another status than the protocol's success status.
    #[error("{operation}: the webhook provider answered {status}{}", message_suffix(.message))]
    Status {
        /// `GET /records` …
        operation: String,
        /// The HTTP status.
        status: u16,
        /// The provider's message, cleaned and cut.
        message: String,
    },
    /// The answer's `Content-Type` is not exactly the protocol's media type.
    #[error("{operation}: the webhook provider answered with Content-Type {}, expected exactly {}; is it an external-dns webhook provider speaking protocol version 1?", .content_type.as_deref().map(|c| format!("{c:?}")).unwrap_or_else(|| "(none)".into()), crate::client::MEDIA_TYPE)]
    ContentType {
        /// `GET /` …
        operation: String,
        /// What came, if anything.
        content_type: Option<String>,
    },
    /// A body over the limit.
    #[error("{operation}: the {direction} body is larger than {limit} bytes")]
    TooLarge {
        /// `GET /records` …
        operation: String,
        /// `request` or `answer`.
        direction: &'static str,
        /// The limit.
        limit: usize,
    },
    /// The answer is not the JSON the protocol specifies.
    #[error("{operation}: cannot read the webhook provider's answer: {message}")]
    Decode {
        /// `GET /records` …
        operation: String,
        /// What is wrong.
        message: String,
    },
}

fn message_suffix(message: &str) -> String {
    if message.is_empty() {
        String::new()
    } else {
        format!(": {message}")
    }
}

impl WebhookError {
    pub(crate) fn from_transport(operation: String, url: &str, source: reqwest::Error) -> Self {
        // reqwest's own message repeats the URL; keep its innermost cause.
        let mut message = source.to_string();
        let mut cause: Option<&dyn std::error::Error> = std::error::Error::source(&source);
        while let Some(inner) = cause {
            message = inner.to_string();
            cause = inner.source();
        }
        let url = url.to_string();
        if source.is_timeout() {
            WebhookError::Timeout {
                operation,
                url,
                message,
            }
        } else {
            WebhookError::Connect {
                operation,
                url,
                message,
            }
        }
    }

    /// True for failures worth repeating: connection errors, timeouts and 5xx answers.
    pub fn is_retryable(&self) -> bool {
        match self {
            WebhookError::Connect { .. } | WebhookError::Timeout { .. } => true,
            WebhookError::Status { status, .. } => (500..=599).contains(status),
            _ => false,
        }
    }

    /// True for a timeout.
    pub fn is_timeout(&self) -> bool {
        matches!(self, WebhookError::Timeout { .. })
    }

    /// True when the provider refused a change batch (a non-5xx error status): another batch
    /// without the offending changes may succeed.
    pub fn is_rejection(&self) -> bool {
        matches!(self, WebhookError::Status { status, .. } if !(500..=599).contains(status))
    }

    /// The provider's message, or the whole error text.
    pub fn provider_message(&self) -> String {
        match self {
            WebhookError::Status {
                status, message, ..
            } => {
                if message.is_empty() {
                    format!("the webhook provider answered {status}")
                } else {
                    format!("the webhook provider answered {status}: {message}")
                }
            }
            other => other.to_string(),
        }
    }
}

impl From<WebhookError> for ProviderError {
    fn from(error: WebhookError) -> Self {
        let kind = match &error {
            WebhookError::Connect { .. } | WebhookError::Timeout { .. } => ErrorKind::Transient,
            WebhookError::Status { status, .. } if (500..=599).contains(status) => {
                ErrorKind::Transient
            }
            WebhookError::Status {
                status: 401 | 403, ..
            } => ErrorKind::Auth,
            WebhookError::Setup { .. } | WebhookError::ContentType { .. } => ErrorKind::Config,
            _ => ErrorKind::Permanent,
        };
        ProviderError::new(kind, error.to_string())
    }
}
