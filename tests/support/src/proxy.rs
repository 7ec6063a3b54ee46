//! A small fault-injecting HTTP proxy for Route53 tests: it forwards requests to an upstream
//! (moto) and, for the next N requests matching a rule, answers itself with what Route53 says
//! when it is busy or refuses a batch: `Throttling`, `PriorRequestNotComplete`, a 500, or an
//! `InvalidChangeBatch` for change requests naming a chosen record. It records every request
//! (with its body) so tests can count calls and check batch sizes.
//!
//! It runs on its own thread and runtime, so sync and async tests can use it alike, binds
//! 127.0.0.1 on a port the OS picks, and stops when dropped.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};

use crate::moto::{BatchCost, change_batch_cost, count_actions, route53_action};

/// What the proxy answers instead of forwarding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// 400 with Route53's `Throttling` error ("Rate exceeded").
    Throttling,
    /// 400 with `PriorRequestNotComplete`.
    PriorRequestNotComplete,
    /// 500 with `InternalFailure`.
    ServerError,
    /// 400 `InvalidChangeBatch` whose message names `record`.
    InvalidChangeBatch {
        /// The record named in the message (e.g. `bad.example.com`).
        record: String,
    },
}

/// When to inject a fault.
#[derive(Clone, Debug)]
pub struct FaultRule {
    /// Only requests of this Route53 action (`ChangeResourceRecordSets`, …); `None` for all.
    pub action: Option<&'static str>,
    /// Only requests whose body contains this text; `None` for all.
    pub body_contains: Option<String>,
    /// The answer.
    pub fault: Fault,
    /// How many more matching requests get it; `usize::MAX` for all of them.
    pub remaining: usize,
}

/// One request the proxy saw.
#[derive(Clone, Debug)]
pub struct SeenRequest {
    /// HTTP method.
    pub method: String,
    /// Path and query.
    pub path: String,
    /// The Route53 action.
    pub action: &'static str,
    /// Status of the answer the client got.
    pub status: u16,
    /// True when the proxy answered itself.
    pub injected: bool,
    /// Request body.
    pub body: Bytes,
}

impl SeenRequest {
    /// For a change request, its cost under Route53's limits.
    pub fn batch_cost(&self) -> BatchCost {
        change_batch_cost(&String::from_utf8_lossy(&self.body))
    }
}

#[derive(Default)]
struct State {
    rules: Vec<FaultRule>,
    seen: Vec<SeenRequest>,
}

/// A running proxy.
pub struct FaultProxy {
    address: SocketAddr,
    state: Arc<Mutex<State>>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for FaultProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaultProxy")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

impl FaultProxy {
    /// Starts a proxy forwarding to `upstream` (`http://127.0.0.1:<port>`).
    ///
    /// # Panics
    /// When no loopback port can be bound.
    pub fn start(upstream: &str) -> FaultProxy {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let address = listener.local_addr().expect("proxy address");
        let state = Arc::new(Mutex::new(State::default()));
        let (shutdown, stop) = tokio::sync::oneshot::channel::<()>();
        let upstream = upstream.trim_end_matches('/').to_string();
        let thread_state = state.clone();
        let thread = std::thread::Builder::new()
            .name("fault-proxy".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .expect("proxy runtime");
                runtime.block_on(serve(listener, upstream, thread_state, stop));
                runtime.shutdown_timeout(Duration::from_secs(2));
            })
            .expect("proxy thread");
        FaultProxy {
            address,
            state,
            shutdown: Some(shutdown),
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:<port>`: the value for `AWS_ENDPOINT_URL`.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a rule; rules are tried in the order they were added.
    pub fn add_rule(&self, rule: FaultRule) {
        self.lock().rules.push(rule);
    }

    /// Answers the next `count` requests of `action` with `Throttling`.
    pub fn throttle_next(&self, action: &'static str, count: usize) {
        self.add_rule(FaultRule {
            action: Some(action),
            body_contains: None,
            fault: Fault::Throttling,
            remaining: count,
        });
    }

    /// Answers the next `count` requests of `action` with a 500.
    pub fn fail_next(&self, action: &'static str, count: usize) {
        self.add_rule(FaultRule {
            action: Some(action),
            body_contains: None,
            fault: Fault::ServerError,
            remaining: count,
        });
    }

    /// Answers every change request whose body contains `record` with `InvalidChangeBatch`.
    pub fn reject_record(&self, record: &str) {
        self.add_rule(FaultRule {
            action: Some("ChangeResourceRecordSets"),
            body_contains: Some(record.to_string()),
            fault: Fault::InvalidChangeBatch {
                record: record.to_string(),
            },
            remaining: usize::MAX,
        });
    }

    /// Removes every rule.
    pub fn clear_rules(&self) {
        self.lock().rules.clear();
    }

    /// Every request seen so far.
    pub fn requests(&self) -> Vec<SeenRequest> {
        self.lock().seen.clone()
    }

    /// Forgets the requests seen so far.
    pub fn clear_requests(&self) {
        self.lock().seen.clear();
    }

    /// Requests seen per action.
    pub fn actions(&self) -> BTreeMap<&'static str, usize> {
        count_actions(self.lock().seen.iter().map(|r| r.action))
    }

    /// Requests the proxy answered itself.
    pub fn injected(&self) -> usize {
        self.lock().seen.iter().filter(|r| r.injected).count()
    }
}

impl Drop for FaultProxy {
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
    upstream: String,
    state: Arc<Mutex<State>>,
    mut stop: tokio::sync::oneshot::Receiver<()>,
) {
    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
        return;
    };
    let client: Client<HttpConnector, Full<Bytes>> =
        Client::builder(TokioExecutor::new()).build_http();
    loop {
        let stream = tokio::select! {
            _ = &mut stop => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(_) => continue,
            },
        };
        let (client, upstream, state) = (client.clone(), upstream.clone(), state.clone());
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                handle(request, client.clone(), upstream.clone(), state.clone())
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn handle(
    request: Request<Incoming>,
    client: Client<HttpConnector, Full<Bytes>>,
    upstream: String,
    state: Arc<Mutex<State>>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = request.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let method = parts.method.to_string();
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".to_string());
    let action = route53_action(parts.method.as_str(), &path);
    let fault = {
        let mut state = state.lock().unwrap_or_else(|e| e.into_inner());
        let text = String::from_utf8_lossy(&body);
        state
            .rules
            .iter_mut()
            .find(|rule| {
                rule.remaining > 0
                    && rule.action.is_none_or(|wanted| wanted == action)
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
    let injected = fault.is_some();
    let response = match fault {
        Some(fault) => fault_response(&fault),
        None => forward(&client, &upstream, parts, body.clone()).await,
    };
    state
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .seen
        .push(SeenRequest {
            method,
            path,
            action,
            status: response.status().as_u16(),
            injected,
            body,
        });
    Ok(response)
}

async fn forward(
    client: &Client<HttpConnector, Full<Bytes>>,
    upstream: &str,
    parts: hyper::http::request::Parts,
    body: Bytes,
) -> Response<Full<Bytes>> {
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let mut builder = Request::builder()
        .method(parts.method.clone())
        .uri(format!("{upstream}{path}"));
    for (name, value) in &parts.headers {
        if name != hyper::header::CONNECTION && name != hyper::header::TRANSFER_ENCODING {
            builder = builder.header(name, value);
        }
    }
    let Ok(request) = builder.body(Full::new(body)) else {
        return plain(StatusCode::BAD_GATEWAY, "cannot build the upstream request");
    };
    let answer = match tokio::time::timeout(Duration::from_secs(60), client.request(request)).await
    {
        Ok(Ok(answer)) => answer,
        Ok(Err(error)) => return plain(StatusCode::BAD_GATEWAY, &error.to_string()),
        Err(_) => return plain(StatusCode::GATEWAY_TIMEOUT, "upstream timed out"),
    };
    let (parts, body) = answer.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = parts.status;
    for (name, value) in &parts.headers {
        if name != hyper::header::CONNECTION
            && name != hyper::header::TRANSFER_ENCODING
            && name != hyper::header::CONTENT_LENGTH
        {
            response.headers_mut().append(name, value.clone());
        }
    }
    response
}

fn plain(status: StatusCode, text: &str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(text.to_string())));
    *response.status_mut() = status;
    response
}

/// The answer Route53 gives for `fault`, in its wrapped REST-XML error format.
fn fault_response(fault: &Fault) -> Response<Full<Bytes>> {
    let (status, code, message) = match fault {
        Fault::Throttling => (
            StatusCode::BAD_REQUEST,
            "Throttling",
            "Rate exceeded".to_string(),
        ),
        Fault::PriorRequestNotComplete => (
            StatusCode::BAD_REQUEST,
            "PriorRequestNotComplete",
            "The request was rejected because Route 53 was still processing a prior request."
                .to_string(),
        ),
        Fault::ServerError => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalFailure",
            "An internal error occurred (injected by the fault proxy).".to_string(),
        ),
        Fault::InvalidChangeBatch { record } => (
            StatusCode::BAD_REQUEST,
            "InvalidChangeBatch",
            format!("[RRSet of {record} refused by the fault proxy: injected InvalidChangeBatch]"),
        ),
    };
    let body = format!(
        "<?xml version=\"1.0\"?>\n<ErrorResponse xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\"><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>fault-proxy</RequestId></ErrorResponse>"
    );
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/xml"),
    );
    response
}
