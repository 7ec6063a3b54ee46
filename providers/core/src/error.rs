//! Provider errors, classified so callers can decide whether to retry.

use std::error::Error as StdError;
use std::fmt;

/// What kind of failure a provider hit, which decides whether retrying can help.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The request may succeed if repeated: connection refused or reset, timeout, throttling,
    /// server-side 5xx.
    Transient,
    /// The server understood and refused the request; repeating it changes nothing.
    Permanent,
    /// Credentials or key were rejected (TSIG BADSIG/BADKEY, AWS access denied).
    Auth,
    /// zonesync's configuration does not match the server (zone not served, unknown zone id).
    Config,
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ErrorKind::Transient => "transient",
            ErrorKind::Permanent => "permanent",
            ErrorKind::Auth => "authentication",
            ErrorKind::Config => "configuration",
        })
    }
}

/// A provider failure: a message meant for the operator, its class and its cause.
///
/// Messages must never contain secrets (TSIG keys, AWS credentials).
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ProviderError {
    kind: ErrorKind,
    message: String,
    #[source]
    source: Option<Box<dyn StdError + Send + Sync + 'static>>,
}

impl ProviderError {
    /// An error of the given kind.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            source: None,
        }
    }

    /// A failure that may go away when retried.
    pub fn transient(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Transient, message)
    }

    /// A refusal that retrying will not change.
    pub fn permanent(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Permanent, message)
    }

    /// Rejected credentials.
    pub fn auth(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Auth, message)
    }

    /// A mismatch between configuration and server.
    pub fn config(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Config, message)
    }

    /// Attaches the underlying cause.
    #[must_use]
    pub fn with_source(mut self, source: impl StdError + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// The failure class.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The operator-facing message, without the cause chain.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// True when repeating the request may succeed.
    pub fn is_retryable(&self) -> bool {
        self.kind == ErrorKind::Transient
    }
}

/// An error and its causes as one line, `: `-separated, each cause printed once: a cause whose
/// text the line already holds (an error that repeats its source in its own message, a wrapper
/// whose message is its source's) is left out.
///
/// This is how every error reaches an operator: command-line errors, logs, apply outcomes and
/// provider messages that fold their causes in.
#[derive(Clone, Copy)]
pub struct ErrorChain<'a>(pub &'a (dyn StdError + 'static));

impl fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = self.0.to_string();
        let mut source = self.0.source();
        // Bounded: chains are short, but a cyclic one must not hang the caller.
        for _ in 0..32 {
            let Some(cause) = source else { break };
            let cause_text = cause.to_string();
            if !cause_text.is_empty() && !text.contains(&cause_text) {
                text.push_str(": ");
                text.push_str(&cause_text);
            }
            source = cause.source();
        }
        f.write_str(&text)
    }
}

impl fmt::Debug for ErrorChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Like `cannot read PATH: {source}` with `#[source]`: the cause is in the message already.
    #[derive(Debug, thiserror::Error)]
    #[error("cannot read deploy/x: {source}")]
    struct Repeating {
        #[source]
        source: std::io::Error,
    }

    #[test]
    fn each_cause_is_printed_once() {
        let io = || std::io::Error::new(std::io::ErrorKind::NotFound, "No such file");
        let repeating = Repeating { source: io() };
        assert_eq!(
            ErrorChain(&repeating).to_string(),
            "cannot read deploy/x: No such file"
        );
        // A provider error whose message folds in its causes, with the same error as source.
        let provider = ProviderError::config(ErrorChain(&repeating).to_string())
            .with_source(Repeating { source: io() });
        assert_eq!(
            ErrorChain(&provider).to_string(),
            "cannot read deploy/x: No such file"
        );
        // Causes that add something are kept, in order.
        let wrapped = ProviderError::transient("zone example.com").with_source(io());
        assert_eq!(
            ErrorChain(&wrapped).to_string(),
            "zone example.com: No such file"
        );
    }
}
