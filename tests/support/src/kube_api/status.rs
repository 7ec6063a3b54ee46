//! `Status` errors: what the API server answers when a request fails.

use serde_json::{Value, json};

use super::resource::ResourceType;

/// A failed request, as the API server reports it in a `Status` object: HTTP code, machine-readable
/// reason (`NotFound`, `AlreadyExists`, `Conflict`, `Expired` …) and a message. The test hooks return
/// it too, so a test sees the same error the client would.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status code (404, 409, 410 …).
    pub code: u16,
    /// The `Status` reason (`NotFound`, `Conflict` …).
    pub reason: String,
    /// The human-readable message.
    pub message: String,
    details: Option<Value>,
}

impl ApiError {
    /// An error with a code, reason and message.
    pub fn new(code: u16, reason: &str, message: impl Into<String>) -> Self {
        Self {
            code,
            reason: reason.to_owned(),
            message: message.into(),
            details: None,
        }
    }

    /// An error for a bare HTTP status code, with the reason the API server uses for it.
    pub fn from_code(code: u16) -> Self {
        let reason = reason_for_code(code);
        Self::new(code, reason, format!("injected failure: {reason}"))
    }

    fn with_details(mut self, resource: &ResourceType, name: &str) -> Self {
        let mut details = json!({"name": name, "kind": resource.plural()});
        if !resource.group().is_empty() {
            details["group"] = json!(resource.group());
        }
        self.details = Some(details);
        self
    }

    pub(crate) fn not_found(resource: &ResourceType, name: &str) -> Self {
        Self::new(
            404,
            "NotFound",
            format!("{} \"{name}\" not found", resource.qualified_plural()),
        )
        .with_details(resource, name)
    }

    pub(crate) fn already_exists(resource: &ResourceType, name: &str) -> Self {
        Self::new(
            409,
            "AlreadyExists",
            format!("{} \"{name}\" already exists", resource.qualified_plural()),
        )
        .with_details(resource, name)
    }

    pub(crate) fn conflict(resource: &ResourceType, name: &str) -> Self {
        Self::new(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {} \"{name}\": the object has been modified; please apply your changes to the latest version and try again",
                resource.qualified_plural()
            ),
        )
        .with_details(resource, name)
    }

    /// A server-side apply conflict: `conflicts` are (manager, field path) pairs.
    pub(crate) fn apply_conflict(
        resource: &ResourceType,
        name: &str,
        conflicts: &[(String, String)],
    ) -> Self {
        let listed: Vec<String> = conflicts
            .iter()
            .map(|(manager, path)| format!("conflict with \"{manager}\": {path}"))
            .collect();
        let mut error = Self::new(
            409,
            "Conflict",
            format!(
                "Apply failed with {} conflict(s): {}",
                conflicts.len(),
                listed.join(", ")
            ),
        )
        .with_details(resource, name);
        if let Some(details) = error.details.as_mut() {
            details["causes"] = conflicts
                .iter()
                .map(|(manager, path)| {
                    json!({"reason": "FieldManagerConflict", "message": format!("conflict with \"{manager}\""), "field": path})
                })
                .collect();
        }
        error
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
    }

    pub(crate) fn invalid(resource: &ResourceType, name: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        Self::new(
            422,
            "Invalid",
            format!("{} \"{name}\" is invalid: {message}", resource.kind()),
        )
        .with_details(resource, name)
    }

    pub(crate) fn expired(message: impl Into<String>) -> Self {
        Self::new(410, "Expired", message)
    }

    pub(crate) fn resource_not_served() -> Self {
        Self::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        )
    }

    pub(crate) fn method_not_allowed(method: &str) -> Self {
        Self::new(
            405,
            "MethodNotAllowed",
            format!("the server does not allow this method on the requested resource: {method}"),
        )
    }

    /// The `Status` object the API server sends for this error.
    pub fn to_status(&self) -> Value {
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if let Some(details) = &self.details {
            status["details"] = details.clone();
        }
        status
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.code, self.reason, self.message)
    }
}

impl std::error::Error for ApiError {}

/// The `Status` reason the API server pairs with an HTTP code.
fn reason_for_code(code: u16) -> &'static str {
    match code {
        400 => "BadRequest",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "NotFound",
        405 => "MethodNotAllowed",
        406 => "NotAcceptable",
        409 => "Conflict",
        410 => "Expired",
        415 => "UnsupportedMediaType",
        422 => "Invalid",
        429 => "TooManyRequests",
        500 => "InternalError",
        503 => "ServiceUnavailable",
        504 => "Timeout",
        _ => "Unknown",
    }
}
