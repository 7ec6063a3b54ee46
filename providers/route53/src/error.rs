//! Route53 failures, classified from the SDK's errors so the provider knows what to retry,
//! what to bisect and what to report.

use aws_sdk_route53::error::{ProvideErrorMetadata, SdkError};
use zonesync_core::{ErrorKind, ProviderError};

/// What went wrong with one Route53 request.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Route53Error {
    /// Route53 asked us to slow down (`Throttling`, `PriorRequestNotComplete`) and the retries
    /// ran out.
    #[error("{operation}: throttled by Route53 ({code}): {message}")]
    Throttled {
        /// The API operation.
        operation: &'static str,
        /// The error code.
        code: String,
        /// Route53's message.
        message: String,
    },
    /// Route53 could not be reached or failed on its side (timeouts, connection errors, 5xx)
    /// and the retries ran out.
    #[error("{operation}: Route53 is unavailable: {message}")]
    Unavailable {
        /// The API operation.
        operation: &'static str,
        /// What happened.
        message: String,
    },
    /// Route53 refused the content of a change batch (`InvalidChangeBatch`, `InvalidInput`).
    #[error("{operation}: Route53 rejected the change batch ({code}): {message}")]
    Rejected {
        /// The API operation.
        operation: &'static str,
        /// The error code.
        code: String,
        /// Route53's message, naming the offending records.
        message: String,
    },
    /// The credentials were missing or refused.
    #[error("{operation}: access denied ({code}): {message}")]
    Denied {
        /// The API operation.
        operation: &'static str,
        /// The error code (`AccessDenied`, `InvalidClientTokenId`, …).
        code: String,
        /// What Route53 or the credential chain said.
        message: String,
    },
    /// The hosted zone does not exist (any more).
    #[error("{operation}: no such hosted zone: {message}")]
    NoSuchZone {
        /// The API operation.
        operation: &'static str,
        /// Route53's message.
        message: String,
    },
    /// Any other refusal.
    #[error("{operation} failed ({code}): {message}")]
    Other {
        /// The API operation.
        operation: &'static str,
        /// The error code, or `unknown`.
        code: String,
        /// What happened.
        message: String,
    },
}

const THROTTLING_CODES: [&str; 5] = [
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "PriorRequestNotComplete",
    "RequestLimitExceeded",
];
const REJECTION_CODES: [&str; 2] = ["InvalidChangeBatch", "InvalidInput"];
const DENIAL_CODES: [&str; 9] = [
    "AccessDenied",
    "AccessDeniedException",
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "ExpiredTokenException",
    "UnrecognizedClientException",
    "MissingAuthenticationToken",
    "IncompleteSignature",
];

impl Route53Error {
    /// Classifies an SDK error of `operation`.
    pub(crate) fn from_sdk<E>(
        operation: &'static str,
        error: &SdkError<E, aws_sdk_route53::config::http::HttpResponse>,
    ) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let detail = zonesync_core::ErrorChain(error).to_string();
        match error {
            SdkError::ServiceError(_) | SdkError::ResponseError(_) => {
                let status = error
                    .raw_response()
                    .map(|r| r.status().as_u16())
                    .unwrap_or(0);
                let body_mentions = |code: &str| {
                    error
                        .raw_response()
                        .and_then(|r| r.body().bytes())
                        .is_some_and(|body| String::from_utf8_lossy(body).contains(code))
                };
                let code = error.code().map(str::to_string).or_else(|| {
                    // Old-style Route53 answers (`<InvalidChangeBatch><Messages>…`) carry no
                    // `<Error><Code>`: recognise them by the body.
                    REJECTION_CODES
                        .iter()
                        .find(|code| status == 400 && body_mentions(code))
                        .map(|code| code.to_string())
                });
                let message = error
                    .message()
                    .map(str::to_string)
                    .unwrap_or_else(|| detail.clone());
                Self::classify(operation, status, code, message)
            }
            SdkError::TimeoutError(_) => Self::Unavailable {
                operation,
                message: detail,
            },
            SdkError::DispatchFailure(failure) => {
                if failure.is_io() || failure.is_timeout() {
                    Self::Unavailable {
                        operation,
                        message: detail,
                    }
                } else if detail.contains("credentials") || detail.contains("identity") {
                    Self::Denied {
                        operation,
                        code: "NoCredentials".to_string(),
                        message: detail,
                    }
                } else if failure.is_user() {
                    Self::Other {
                        operation,
                        code: "InvalidRequest".to_string(),
                        message: detail,
                    }
                } else {
                    Self::Unavailable {
                        operation,
                        message: detail,
                    }
                }
            }
            _ => Self::Other {
                operation,
                code: "unknown".to_string(),
                message: detail,
            },
        }
    }

    fn classify(
        operation: &'static str,
        status: u16,
        code: Option<String>,
        message: String,
    ) -> Self {
        let code_str = code.as_deref().unwrap_or("");
        if THROTTLING_CODES.contains(&code_str) || status == 429 {
            Self::Throttled {
                operation,
                code: code.unwrap_or_else(|| status.to_string()),
                message,
            }
        } else if REJECTION_CODES.contains(&code_str) {
            Self::Rejected {
                operation,
                code: code_str.to_string(),
                message,
            }
        } else if DENIAL_CODES.contains(&code_str) || status == 403 {
            Self::Denied {
                operation,
                code: code.unwrap_or_else(|| status.to_string()),
                message,
            }
        } else if code_str == "NoSuchHostedZone" {
            Self::NoSuchZone { operation, message }
        } else if status >= 500 || code_str == "ServiceUnavailable" || code_str == "InternalError" {
            Self::Unavailable {
                operation,
                message: format!("HTTP {status} {code_str}: {message}"),
            }
        } else {
            Self::Other {
                operation,
                code: code.unwrap_or_else(|| format!("HTTP {status}")),
                message,
            }
        }
    }

    /// True when repeating the same request later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Throttled { .. } | Self::Unavailable { .. })
    }

    /// True for throttling answers.
    pub fn is_throttling(&self) -> bool {
        matches!(self, Self::Throttled { .. })
    }

    /// True when Route53 refused the content of a change batch: bisecting can isolate the cause.
    pub fn is_rejection(&self) -> bool {
        matches!(self, Self::Rejected { .. })
    }

    /// The message Route53 gave, without the operation.
    pub fn server_message(&self) -> &str {
        match self {
            Self::Throttled { message, .. }
            | Self::Unavailable { message, .. }
            | Self::Rejected { message, .. }
            | Self::Denied { message, .. }
            | Self::NoSuchZone { message, .. }
            | Self::Other { message, .. } => message,
        }
    }

    /// The provider error class.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Throttled { .. } | Self::Unavailable { .. } => ErrorKind::Transient,
            Self::Rejected { .. } | Self::Other { .. } => ErrorKind::Permanent,
            Self::Denied { .. } => ErrorKind::Auth,
            Self::NoSuchZone { .. } => ErrorKind::Config,
        }
    }
}

impl From<Route53Error> for ProviderError {
    fn from(error: Route53Error) -> Self {
        ProviderError::new(error.kind(), error.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_classified() {
        let of = |status, code: &str| {
            Route53Error::classify(
                "ChangeResourceRecordSets",
                status,
                Some(code.into()),
                "m".into(),
            )
        };
        assert!(of(400, "Throttling").is_throttling());
        assert!(of(400, "PriorRequestNotComplete").is_retryable());
        assert!(of(503, "ServiceUnavailable").is_retryable());
        assert!(of(500, "Whatever").is_retryable());
        assert!(of(400, "InvalidChangeBatch").is_rejection());
        assert!(!of(400, "InvalidChangeBatch").is_retryable());
        assert_eq!(of(403, "AccessDenied").kind(), ErrorKind::Auth);
        assert_eq!(of(404, "NoSuchHostedZone").kind(), ErrorKind::Config);
        assert_eq!(of(400, "MalformedInput").kind(), ErrorKind::Permanent);
        let rate = Route53Error::classify("ListHostedZones", 429, None, "slow down".into());
        assert!(rate.is_throttling());
    }
}
