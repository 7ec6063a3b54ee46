//! A strict external-dns webhook provider (protocol version 1) for tests, written from the
//! protocol's reference (external-dns's `provider/webhook` client and its `api` server), not from
//! zonesync's client:
//!
//! | request | answer |
//! |---|---|
//! | `GET /` with `Accept: application/external.dns.webhook+json;version=1` | 200, that exact `Content-Type`, the domain filter (`{"include":[…],"exclude":[…]}` or `{"regexInclude":"…","regexExclude":"…"}`) |
//! | `GET /records` (same `Accept`) | 200, JSON array of endpoints |
//! | `POST /records`, `Content-Type` the media type, body `{"create","updateOld","updateNew","delete"}` | 204 |
//! | `POST /adjustendpoints` (media type in `Content-Type` and `Accept`) | 200, the adjusted array |
//! | `GET /healthz` | 200 `ok` |
//!
//! A request with another `Accept` gets 406, a body of another `Content-Type` 415, a method a
//! path does not serve 405, undecodable JSON 400. JSON is read the way Go's `encoding/json`
//! reads it: keys matched case-insensitively (an exact match preferred), unknown keys ignored,
//! a wrong value type is an error. Answers are written the way Go writes them: `omitempty`
//! fields left out.
//!
//! The store keys records by (name, type, set identifier). A change batch is checked whole
//! before anything is written (create of an existing record, update or delete of a missing one,
//! `updateOld`/`updateNew` of different lengths or keys, a name outside the domain filter): any
//! problem rejects the batch with 500 and a message, like a provider's failing `ApplyChanges`
//! in external-dns's server.
//!
//! Faults: the next N matching requests get a status with a message, a wrong `Content-Type`, a
//! delay, or a dropped connection. Every request is logged (method, path, status, bytes).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Map, Value, json};

/// The protocol's media type, compared as an exact string.
pub const MEDIA_TYPE: &str = "application/external.dns.webhook+json;version=1";

/// One record as a webhook provider stores it (external-dns's `endpoint.Endpoint`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WebhookEndpoint {
    /// `dnsName`.
    pub dns_name: String,
    /// `targets`.
    pub targets: Vec<String>,
    /// `recordType`.
    pub record_type: String,
    /// `setIdentifier`.
    pub set_identifier: String,
    /// `recordTTL` (0 = not set).
    pub record_ttl: i64,
    /// `labels`.
    pub labels: BTreeMap<String, String>,
    /// `providerSpecific`, in order.
    pub provider_specific: Vec<(String, String)>,
}

impl WebhookEndpoint {
    /// A record with these fields and nothing else.
    pub fn new(dns_name: &str, record_type: &str, targets: &[&str]) -> Self {
        Self {
            dns_name: dns_name.to_string(),
            record_type: record_type.to_string(),
            targets: targets.iter().map(|t| t.to_string()).collect(),
            ..Self::default()
        }
    }

    /// Sets the TTL.
    #[must_use]
    pub fn ttl(mut self, ttl: i64) -> Self {
        self.record_ttl = ttl;
        self
    }

    /// Adds a provider-specific property.
    #[must_use]
    pub fn property(mut self, name: &str, value: &str) -> Self {
        self.provider_specific
            .push((name.to_string(), value.to_string()));
        self
    }

    /// The value of provider-specific property `name`.
    pub fn property_value(&self, name: &str) -> Option<&str> {
        self.provider_specific
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The store key: name (lower-case, no trailing dot), type, set identifier.
    pub fn key(&self) -> (String, String, String) {
        (
            normalise_name(&self.dns_name),
            self.record_type.to_ascii_uppercase(),
            self.set_identifier.clone(),
        )
    }

    /// Go's encoding: `omitempty` everywhere.
    pub fn to_json(&self) -> Value {
        let mut object = Map::new();
        if !self.dns_name.is_empty() {
            object.insert("dnsName".into(), json!(self.dns_name));
        }
        if !self.targets.is_empty() {
            object.insert("targets".into(), json!(self.targets));
        }
        if !self.record_type.is_empty() {
            object.insert("recordType".into(), json!(self.record_type));
        }
        if !self.set_identifier.is_empty() {
            object.insert("setIdentifier".into(), json!(self.set_identifier));
        }
        if self.record_ttl != 0 {
            object.insert("recordTTL".into(), json!(self.record_ttl));
        }
        if !self.labels.is_empty() {
            object.insert("labels".into(), json!(self.labels));
        }
        if !self.provider_specific.is_empty() {
            let properties: Vec<Value> = self
                .provider_specific
                .iter()
                .map(|(name, value)| {
                    let mut property = Map::new();
                    if !name.is_empty() {
                        property.insert("name".into(), json!(name));
                    }
                    if !value.is_empty() {
                        property.insert("value".into(), json!(value));
                    }
                    Value::Object(property)
                })
                .collect();
            object.insert("providerSpecific".into(), Value::Array(properties));
        }
        Value::Object(object)
    }

    /// Go's decoding: keys case-insensitive, unknown keys ignored, `null` as absent.
    ///
    /// Fails on a value of the wrong JSON type.
    pub fn from_json(value: &Value) -> Result<Self, String> {
        let object = match value {
            Value::Object(object) => object,
            Value::Null => return Ok(Self::default()),
            other => return Err(format!("cannot decode {other} into an endpoint")),
        };
        let mut endpoint = Self::default();
        if let Some(value) = go_field(object, "dnsName") {
            endpoint.dns_name = go_string(value, "dnsName")?;
        }
        if let Some(value) = go_field(object, "targets") {
            endpoint.targets = go_string_list(value, "targets")?;
        }
        if let Some(value) = go_field(object, "recordType") {
            endpoint.record_type = go_string(value, "recordType")?;
        }
        if let Some(value) = go_field(object, "setIdentifier") {
            endpoint.set_identifier = go_string(value, "setIdentifier")?;
        }
        if let Some(value) = go_field(object, "recordTTL") {
            endpoint.record_ttl = match value {
                Value::Null => 0,
                Value::Number(n) => n
                    .as_i64()
                    .ok_or_else(|| format!("recordTTL: {n} is not an int64"))?,
                other => return Err(format!("recordTTL: cannot decode {other} into int64")),
            };
        }
        if let Some(value) = go_field(object, "labels") {
            match value {
                Value::Null => {}
                Value::Object(labels) => {
                    for (key, value) in labels {
                        endpoint
                            .labels
                            .insert(key.clone(), go_string(value, "labels")?);
                    }
                }
                other => return Err(format!("labels: cannot decode {other} into a map")),
            }
        }
        if let Some(value) = go_field(object, "providerSpecific") {
            match value {
                Value::Null => {}
                Value::Array(items) => {
                    for item in items {
                        let Value::Object(property) = item else {
                            return Err(format!(
                                "providerSpecific: cannot decode {item} into a property"
                            ));
                        };
                        let name = go_field(property, "name")
                            .map(|v| go_string(v, "name"))
                            .transpose()?
                            .unwrap_or_default();
                        let value = go_field(property, "value")
                            .map(|v| go_string(v, "value"))
                            .transpose()?
                            .unwrap_or_default();
                        endpoint.provider_specific.push((name, value));
                    }
                }
                other => {
                    return Err(format!(
                        "providerSpecific: cannot decode {other} into a list"
                    ));
                }
            }
        }
        Ok(endpoint)
    }
}

/// The field `name` of a JSON object the way Go finds it: the exact key, else any key equal
/// ignoring case.
pub fn go_field<'v>(object: &'v Map<String, Value>, name: &str) -> Option<&'v Value> {
    object.get(name).or_else(|| {
        object
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value)
    })
}

fn go_string(value: &Value, field: &str) -> Result<String, String> {
    match value {
        Value::Null => Ok(String::new()),
        Value::String(s) => Ok(s.clone()),
        other => Err(format!("{field}: cannot decode {other} into a string")),
    }
}

fn go_string_list(value: &Value, field: &str) -> Result<Vec<String>, String> {
    match value {
        Value::Null => Ok(Vec::new()),
        Value::Array(items) => items.iter().map(|v| go_string(v, field)).collect(),
        other => Err(format!("{field}: cannot decode {other} into a list")),
    }
}

fn go_endpoint_list(
    object: &Map<String, Value>,
    field: &str,
) -> Result<Vec<WebhookEndpoint>, String> {
    match go_field(object, field) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items.iter().map(WebhookEndpoint::from_json).collect(),
        Some(other) => Err(format!("{field}: cannot decode {other} into a list")),
    }
}

fn normalise_name(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// The provider's domain filter, as negotiated on `GET /`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DomainFilter {
    /// `include`/`exclude` domain lists (external-dns's `matchFilter`: `example.com` matches
    /// itself and names below it; `.example.com` only names below it).
    Lists {
        /// Included domains; empty = everything.
        include: Vec<String>,
        /// Excluded domains.
        exclude: Vec<String>,
    },
    /// `regexInclude`/`regexExclude`, sent as given; the server enforces lists only.
    Regex {
        /// Regex of names to include.
        include: String,
        /// Regex of names to exclude.
        exclude: String,
    },
}

impl DomainFilter {
    /// An include list without exclusions.
    pub fn include(domains: &[&str]) -> Self {
        Self::Lists {
            include: domains.iter().map(|d| d.to_string()).collect(),
            exclude: Vec::new(),
        }
    }

    /// Adds excluded domains to a list filter.
    #[must_use]
    pub fn excluding(self, domains: &[&str]) -> Self {
        match self {
            Self::Lists {
                include,
                mut exclude,
            } => {
                exclude.extend(domains.iter().map(|d| d.to_string()));
                Self::Lists { include, exclude }
            }
            regex => regex,
        }
    }

    /// Go's `MarshalJSON`: lists sorted, `omitempty`.
    pub fn to_json(&self) -> Value {
        let mut object = Map::new();
        match self {
            Self::Lists { include, exclude } => {
                let (mut include, mut exclude) = (include.clone(), exclude.clone());
                include.sort();
                exclude.sort();
                if !include.is_empty() {
                    object.insert("include".into(), json!(include));
                }
                if !exclude.is_empty() {
                    object.insert("exclude".into(), json!(exclude));
                }
            }
            Self::Regex { include, exclude } => {
                if !include.is_empty() {
                    object.insert("regexInclude".into(), json!(include));
                }
                if !exclude.is_empty() {
                    object.insert("regexExclude".into(), json!(exclude));
                }
            }
        }
        Value::Object(object)
    }

    /// external-dns's `matchFilter` over the lists; regex filters accept everything here.
    pub fn matches(&self, name: &str) -> bool {
        let Self::Lists { include, exclude } = self else {
            return true;
        };
        let name = normalise_name(name);
        let any = |filters: &[String], empty: bool| {
            if filters.is_empty() {
                return empty;
            }
            filters.iter().any(|filter| {
                let filter = normalise_name(filter.trim());
                if filter.is_empty() {
                    return false;
                }
                if filter.starts_with('.') {
                    name.ends_with(&filter)
                } else if name.matches('.').count() == filter.matches('.').count() {
                    name == filter
                } else {
                    name.ends_with(&format!(".{filter}"))
                }
            })
        };
        any(include, true) && !any(exclude, false)
    }
}

/// What the server answers instead of serving a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// This status with this plain-text body.
    Status {
        /// The status code.
        status: u16,
        /// The body (the provider's message).
        message: String,
    },
    /// Serves the request, but with `Content-Type: application/json`.
    WrongContentType,
    /// Waits this long, then serves the request.
    Delay(Duration),
    /// Closes the connection without answering.
    Drop,
}

/// When to inject a fault.
#[derive(Clone, Debug)]
pub struct FaultRule {
    /// Only this method (`GET`, `POST`); `None` for all.
    pub method: Option<&'static str>,
    /// Only this path (`/`, `/records`, `/adjustendpoints`); `None` for all.
    pub path: Option<&'static str>,
    /// Only requests whose body contains this text.
    pub body_contains: Option<String>,
    /// The answer.
    pub fault: Fault,
    /// How many more matching requests get it; `usize::MAX` for all.
    pub remaining: usize,
}

/// One request the server saw.
#[derive(Clone, Debug)]
pub struct SeenRequest {
    /// Method.
    pub method: String,
    /// Path.
    pub path: String,
    /// `Accept` header, if any.
    pub accept: Option<String>,
    /// `Content-Type` header, if any.
    pub content_type: Option<String>,
    /// Status answered (0 for a dropped connection).
    pub status: u16,
    /// Request body.
    pub body: Bytes,
    /// Bytes of the answer's body.
    pub response_bytes: usize,
    /// True when a fault rule answered.
    pub injected: bool,
}

/// How `POST /adjustendpoints` adjusts endpoints.
#[derive(Clone, Debug, Default)]
pub struct Adjust {
    /// Provider-specific properties added when absent (name, value).
    pub default_properties: Vec<(String, String)>,
    /// TTL set when the endpoint has none.
    pub default_ttl: Option<i64>,
}

/// Server settings.
#[derive(Clone, Debug)]
pub struct WebhookConfig {
    /// The negotiated domain filter.
    pub domain_filter: DomainFilter,
    /// The adjustments of `POST /adjustendpoints`.
    pub adjust: Adjust,
    /// Store TXT targets without surrounding double quotes (as some providers do), so they are
    /// read back unquoted.
    pub strip_txt_quotes: bool,
    /// TTL stored for records written without one (providers apply their default).
    pub default_ttl: i64,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        Self {
            domain_filter: DomainFilter::include(&[]),
            adjust: Adjust::default(),
            strip_txt_quotes: false,
            default_ttl: 300,
        }
    }
}

type Key = (String, String, String);

struct State {
    config: WebhookConfig,
    records: BTreeMap<Key, WebhookEndpoint>,
    rules: Vec<FaultRule>,
    seen: Vec<SeenRequest>,
}

/// A running webhook provider.
pub struct WebhookServer {
    address: SocketAddr,
    state: Arc<Mutex<State>>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for WebhookServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookServer")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

impl WebhookServer {
    /// Starts a server on 127.0.0.1 (a port the OS picks), on its own thread and runtime.
    ///
    /// # Panics
    /// When no loopback port can be bound.
    pub fn start(config: WebhookConfig) -> WebhookServer {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the webhook");
        listener.set_nonblocking(true).expect("non-blocking");
        let address = listener.local_addr().expect("webhook address");
        let state = Arc::new(Mutex::new(State {
            config,
            records: BTreeMap::new(),
            rules: Vec::new(),
            seen: Vec::new(),
        }));
        let (shutdown, stop) = tokio::sync::oneshot::channel::<()>();
        let thread_state = state.clone();
        let thread = std::thread::Builder::new()
            .name("webhook-server".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .expect("webhook runtime");
                runtime.block_on(serve(listener, thread_state, stop));
                runtime.shutdown_timeout(Duration::from_secs(1));
            })
            .expect("webhook thread");
        WebhookServer {
            address,
            state,
            shutdown: Some(shutdown),
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:<port>`: the value for `--webhook-provider-url`.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Puts `records` into the store as they are (no domain filter check).
    pub fn insert(&self, records: impl IntoIterator<Item = WebhookEndpoint>) {
        let mut state = self.lock();
        for record in records {
            state.records.insert(record.key(), record);
        }
    }

    /// Every stored record, ordered by key.
    pub fn records(&self) -> Vec<WebhookEndpoint> {
        self.lock().records.values().cloned().collect()
    }

    /// The stored record with this name, type and no set identifier.
    pub fn record(&self, name: &str, record_type: &str) -> Option<WebhookEndpoint> {
        self.lock()
            .records
            .get(&(normalise_name(name), record_type.to_string(), String::new()))
            .cloned()
    }

    /// Adds a fault rule; rules are tried in the order they were added.
    pub fn add_rule(&self, rule: FaultRule) {
        self.lock().rules.push(rule);
    }

    /// Answers the next `count` requests of `method path` with `fault`.
    pub fn fault_next(&self, method: &'static str, path: &'static str, fault: Fault, count: usize) {
        self.add_rule(FaultRule {
            method: Some(method),
            path: Some(path),
            body_contains: None,
            fault,
            remaining: count,
        });
    }

    /// Rejects every `POST /records` whose body contains `text` with `status` and `message`.
    pub fn reject_changes_containing(&self, text: &str, status: u16, message: &str) {
        self.add_rule(FaultRule {
            method: Some("POST"),
            path: Some("/records"),
            body_contains: Some(text.to_string()),
            fault: Fault::Status {
                status,
                message: message.to_string(),
            },
            remaining: usize::MAX,
        });
    }

    /// Removes every fault rule.
    pub fn clear_faults(&self) {
        self.lock().rules.clear();
    }

    /// Every request seen so far.
    pub fn requests(&self) -> Vec<SeenRequest> {
        self.lock().seen.clone()
    }

    /// Forgets the request log.
    pub fn clear_requests(&self) {
        self.lock().seen.clear();
    }

    /// How many requests of `method path` were seen.
    pub fn count(&self, method: &str, path: &str) -> usize {
        self.lock()
            .seen
            .iter()
            .filter(|r| r.method == method && r.path == path)
            .count()
    }

    /// Request bytes sent in `POST /records` bodies.
    pub fn change_bytes(&self) -> usize {
        self.lock()
            .seen
            .iter()
            .filter(|r| r.method == "POST" && r.path == "/records")
            .map(|r| r.body.len())
            .sum()
    }
}

impl Drop for WebhookServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn serve(
    listener: std::net::TcpListener,
    state: Arc<Mutex<State>>,
    mut stop: tokio::sync::oneshot::Receiver<()>,
) {
    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
        return;
    };
    loop {
        let stream = tokio::select! {
            _ = &mut stop => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(_) => continue,
            },
        };
        let state = state.clone();
        tokio::spawn(async move {
            // Like Go's net/http, a handler runs to the end even when the client hangs up.
            let service = service_fn(move |request| {
                let work = tokio::spawn(handle(request, state.clone()));
                async move { work.await.unwrap_or(Err(Dropped)) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn header(parts: &hyper::http::request::Parts, name: hyper::header::HeaderName) -> Option<String> {
    parts
        .headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// An error to make hyper close the connection without an answer.
#[derive(Debug)]
struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by a fault rule")
    }
}

impl std::error::Error for Dropped {}

async fn handle(
    request: Request<Incoming>,
    state: Arc<Mutex<State>>,
) -> Result<Response<Full<Bytes>>, Dropped> {
    let (parts, body) = request.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let method = parts.method.to_string();
    let path = parts.uri.path().to_string();
    let accept = header(&parts, hyper::header::ACCEPT);
    let content_type = header(&parts, hyper::header::CONTENT_TYPE);
    let fault = {
        let mut state = state.lock().unwrap_or_else(|e| e.into_inner());
        let text = String::from_utf8_lossy(&body);
        state
            .rules
            .iter_mut()
            .find(|rule| {
                rule.remaining > 0
                    && rule.method.is_none_or(|m| m == method)
                    && rule.path.is_none_or(|p| p == path)
                    && rule
                        .body_contains
                        .as_deref()
                        .is_none_or(|needle| text.contains(needle))
            })
            .map(|rule| {
                if rule.remaining != usize::MAX {
                    rule.remaining -= 1;
                }
                rule.fault.clone()
            })
    };
    let log = |status: u16, response_bytes: usize, injected: bool| {
        state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .seen
            .push(SeenRequest {
                method: method.clone(),
                path: path.clone(),
                accept: accept.clone(),
                content_type: content_type.clone(),
                status,
                body: body.clone(),
                response_bytes,
                injected,
            });
    };
    let mut wrong_content_type = false;
    match &fault {
        Some(Fault::Status { status, message }) => {
            log(*status, message.len(), true);
            return Ok(text_response(*status, message));
        }
        Some(Fault::Drop) => {
            log(0, 0, true);
            return Err(Dropped);
        }
        Some(Fault::Delay(delay)) => tokio::time::sleep(*delay).await,
        Some(Fault::WrongContentType) => wrong_content_type = true,
        None => {}
    }
    let mut response = {
        let mut state = state.lock().unwrap_or_else(|e| e.into_inner());
        route(
            &mut state,
            &method,
            &path,
            accept.as_deref(),
            content_type.as_deref(),
            &body,
        )
    };
    if wrong_content_type && response.headers().contains_key(hyper::header::CONTENT_TYPE) {
        response.headers_mut().insert(
            hyper::header::CONTENT_TYPE,
            hyper::header::HeaderValue::from_static("application/json"),
        );
    }
    let bytes = http_body_util::BodyExt::collect(response.body().clone())
        .await
        .map(|b| b.to_bytes().len())
        .unwrap_or(0);
    log(response.status().as_u16(), bytes, fault.is_some());
    Ok(response)
}

fn text_response(status: u16, message: &str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(message.to_string())));
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

fn json_response(value: &Value) -> Response<Full<Bytes>> {
    // Go's json.Encoder ends the document with a newline.
    let mut text = value.to_string();
    text.push('\n');
    let mut response = Response::new(Full::new(Bytes::from(text)));
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static(MEDIA_TYPE),
    );
    response
}

fn route(
    state: &mut State,
    method: &str,
    path: &str,
    accept: Option<&str>,
    content_type: Option<&str>,
    body: &[u8],
) -> Response<Full<Bytes>> {
    let accepts = accept == Some(MEDIA_TYPE);
    let sends = content_type == Some(MEDIA_TYPE);
    match (method, path) {
        ("GET", "/healthz") => text_response(200, "ok"),
        ("GET", "/") if !accepts => {
            text_response(406, "negotiation needs the webhook media type in Accept")
        }
        ("GET", "/") => json_response(&state.config.domain_filter.to_json()),
        ("GET", "/records") if !accepts => {
            text_response(406, "GET /records needs the webhook media type in Accept")
        }
        ("GET", "/records") => {
            let records: Vec<Value> = state
                .records
                .values()
                .map(WebhookEndpoint::to_json)
                .collect();
            json_response(&Value::Array(records))
        }
        ("POST", "/records") if !sends => text_response(
            415,
            "POST /records needs the webhook media type in Content-Type",
        ),
        ("POST", "/records") => match apply(state, body) {
            Ok(()) => {
                let mut response = Response::new(Full::new(Bytes::new()));
                *response.status_mut() = StatusCode::NO_CONTENT;
                response
            }
            Err((status, message)) => text_response(status, &message),
        },
        ("POST", "/adjustendpoints") if !sends => text_response(
            415,
            "POST /adjustendpoints needs the webhook media type in Content-Type",
        ),
        ("POST", "/adjustendpoints") if !accepts => text_response(
            406,
            "POST /adjustendpoints needs the webhook media type in Accept",
        ),
        ("POST", "/adjustendpoints") => match adjust(&state.config.adjust, body) {
            Ok(value) => json_response(&value),
            Err(message) => text_response(400, &message),
        },
        (_, "/" | "/records" | "/adjustendpoints" | "/healthz") => {
            text_response(405, "method not allowed")
        }
        _ => text_response(404, "404 page not found"),
    }
}

fn parse(body: &[u8]) -> Result<Value, String> {
    serde_json::from_slice(body).map_err(|e| format!("cannot decode the body: {e}"))
}

fn adjust(rules: &Adjust, body: &[u8]) -> Result<Value, String> {
    let endpoints = match parse(body)? {
        Value::Array(items) => items
            .iter()
            .map(WebhookEndpoint::from_json)
            .collect::<Result<Vec<_>, _>>()?,
        Value::Null => Vec::new(),
        other => return Err(format!("cannot decode {other} into a list of endpoints")),
    };
    let adjusted: Vec<Value> = endpoints
        .into_iter()
        .map(|mut endpoint| {
            for (name, value) in &rules.default_properties {
                if endpoint.property_value(name).is_none() {
                    endpoint
                        .provider_specific
                        .push((name.clone(), value.clone()));
                }
            }
            if endpoint.record_ttl == 0
                && let Some(ttl) = rules.default_ttl
            {
                endpoint.record_ttl = ttl;
            }
            endpoint.to_json()
        })
        .collect();
    Ok(Value::Array(adjusted))
}

fn apply(state: &mut State, body: &[u8]) -> Result<(), (u16, String)> {
    let bad_request = |message: String| (400, message);
    let Value::Object(object) = parse(body).map_err(bad_request)? else {
        return Err((400, "the changes must be a JSON object".to_string()));
    };
    let create = go_endpoint_list(&object, "create").map_err(bad_request)?;
    let update_old = go_endpoint_list(&object, "updateOld").map_err(bad_request)?;
    let update_new = go_endpoint_list(&object, "updateNew").map_err(bad_request)?;
    let delete = go_endpoint_list(&object, "delete").map_err(bad_request)?;
    let failed = |message: String| (500, message);
    if update_old.len() != update_new.len() {
        return Err(failed(format!(
            "updateOld has {} entries and updateNew {}",
            update_old.len(),
            update_new.len()
        )));
    }
    let filter = state.config.domain_filter.clone();
    let every = create
        .iter()
        .chain(&update_old)
        .chain(&update_new)
        .chain(&delete);
    for endpoint in every {
        if endpoint.dns_name.is_empty() || endpoint.record_type.is_empty() {
            return Err(failed(
                "an endpoint without dnsName or recordType".to_string(),
            ));
        }
        if !filter.matches(&endpoint.dns_name) {
            return Err(failed(format!(
                "{} is outside the domain filter",
                endpoint.dns_name
            )));
        }
    }
    // Check the whole batch against the store as it will be, then write.
    let mut next = state.records.clone();
    for old in &delete {
        if next.remove(&old.key()).is_none() {
            return Err(failed(format!(
                "cannot delete {} {}: no such record",
                old.dns_name, old.record_type
            )));
        }
    }
    for (old, new) in update_old.iter().zip(&update_new) {
        if old.key() != new.key() {
            return Err(failed(format!(
                "updateOld {} {} and updateNew {} {} are not the same record",
                old.dns_name, old.record_type, new.dns_name, new.record_type
            )));
        }
        if !next.contains_key(&old.key()) {
            return Err(failed(format!(
                "cannot update {} {}: no such record",
                old.dns_name, old.record_type
            )));
        }
        next.insert(new.key(), stored(&state.config, new));
    }
    for record in &create {
        if next.contains_key(&record.key()) {
            return Err(failed(format!(
                "cannot create {} {}: the record exists",
                record.dns_name, record.record_type
            )));
        }
        next.insert(record.key(), stored(&state.config, record));
    }
    state.records = next;
    Ok(())
}

/// A record as the provider keeps it: default TTL applied, labels dropped (a DNS service
/// stores none), TXT quotes optionally stripped.
fn stored(config: &WebhookConfig, endpoint: &WebhookEndpoint) -> WebhookEndpoint {
    let mut record = endpoint.clone();
    record.labels.clear();
    if record.record_ttl == 0 {
        record.record_ttl = config.default_ttl;
    }
    if config.strip_txt_quotes && record.record_type.eq_ignore_ascii_case("TXT") {
        for target in &mut record.targets {
            if target.len() >= 2 && target.starts_with('"') && target.ends_with('"') {
                *target = target[1..target.len() - 1].to_string();
            }
        }
    }
    record
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_matched_like_go() {
        let value: Value = serde_json::from_str(
            r#"{"DNSNAME":"www.example.com","Targets":["192.0.2.1"],"recordtype":"A","recordTTL":60,
               "providerspecific":[{"NAME":"webhook/x","Value":"1"}],"unknown":true}"#,
        )
        .unwrap();
        let endpoint = WebhookEndpoint::from_json(&value).unwrap();
        assert_eq!(endpoint.dns_name, "www.example.com");
        assert_eq!(endpoint.record_type, "A");
        assert_eq!(endpoint.record_ttl, 60);
        assert_eq!(endpoint.property_value("webhook/x"), Some("1"));
        let wrong: Value = serde_json::from_str(r#"{"recordTTL":"60"}"#).unwrap();
        assert!(WebhookEndpoint::from_json(&wrong).is_err());
    }

    #[test]
    fn domain_filter_matches_like_external_dns() {
        let filter = DomainFilter::include(&["example.com", ".sub.example.org"])
            .excluding(&["private.example.com"]);
        assert!(filter.matches("example.com"));
        assert!(filter.matches("www.example.com."));
        assert!(!filter.matches("aexample.com"));
        assert!(!filter.matches("sub.example.org"));
        assert!(filter.matches("a.sub.example.org"));
        assert!(!filter.matches("x.private.example.com"));
        assert_eq!(
            filter.to_json().to_string(),
            r#"{"exclude":["private.example.com"],"include":[".sub.example.org","example.com"]}"#
        );
    }

    #[test]
    fn a_batch_is_checked_whole() {
        let mut state = State {
            config: WebhookConfig::default(),
            records: BTreeMap::new(),
            rules: Vec::new(),
            seen: Vec::new(),
        };
        let create =
            r#"{"create":[{"dnsName":"a.example.com","recordType":"A","targets":["192.0.2.1"]}]}"#;
        apply(&mut state, create.as_bytes()).unwrap();
        assert_eq!(state.records.len(), 1);
        let mixed = r#"{"create":[{"dnsName":"b.example.com","recordType":"A","targets":["192.0.2.2"]}],
                        "delete":[{"dnsName":"missing.example.com","recordType":"A"}]}"#;
        let (status, message) = apply(&mut state, mixed.as_bytes()).unwrap_err();
        assert_eq!(status, 500);
        assert!(message.contains("missing.example.com"), "{message}");
        assert_eq!(
            state.records.len(),
            1,
            "nothing of a failed batch is written"
        );
    }
}
