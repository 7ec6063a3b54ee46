//! A fake Kubernetes API server that speaks the real protocol over HTTP/1.1, for the real `kube`
//! client (lists, watches, reflectors, the event recorder, Lease-based leader election).
//!
//! ```no_run
//! # async fn example() -> std::io::Result<()> {
//! use zonesync_test_support::kube_api::{FakeApiServer, RequestMatcher, Verb};
//!
//! let server = FakeApiServer::start().await?;
//! server.apply(serde_json::json!({
//!     "apiVersion": "v1", "kind": "Service",
//!     "metadata": {"namespace": "default", "name": "web"},
//! })).unwrap();
//! let kubeconfig = server.kubeconfig(); // for `KUBECONFIG` or `kube::Config::from_custom_kubeconfig`
//! server.fail_next(RequestMatcher::verb(Verb::List).resource("services"), 500, 1);
//! server.drop_watches();
//! server.expire_history(); // watches resumed from an older resourceVersion get 410 Expired
//! # Ok(()) }
//! ```
//!
//! What it serves: `v1` Services and `networking.k8s.io/v1` Ingresses (with `status`
//! subresources), `coordination.k8s.io/v1` Leases, `v1` and `events.k8s.io/v1` Events, `v1`
//! Namespaces, plus any [`ResourceType`] added with [`FakeApiServerBuilder::resource`] (the
//! Gateway API kinds and external-dns's DNSEndpoint have constants: [`ResourceType::GATEWAY_API`],
//! [`ResourceType::DNS_ENDPOINT`]); and
//! `/api`, `/apis`, `/api/v1`, `/apis/<group>[/<version>]`, `/version`, `/healthz`.
//!
//! - **Lists** (cluster-wide or per namespace) honour `labelSelector` (`=`, `==`, `!=`, `in`,
//!   `notin`, `key`, `!key`, `>`, `<`), `fieldSelector` (`metadata.name`, `metadata.namespace`, or
//!   any dotted field path compared as text), `limit`/`continue`, and `resourceVersion` /
//!   `resourceVersionMatch`.
//! - **Watches** replay the changes after `resourceVersion` from a bounded history, then stream live
//!   ones as newline-delimited JSON over a chunked response: `ADDED`/`MODIFIED`/`DELETED`, periodic
//!   `BOOKMARK`s with `allowWatchBookmarks=true`, an `ERROR` event with a 410 `Expired` `Status` for
//!   a version older than the history, the stream's end at `timeoutSeconds`, and with
//!   `sendInitialEvents=true` (streaming lists) an `ADDED` per existing object followed by a
//!   bookmark annotated `k8s.io/initial-events-end: "true"`. A watch from `resourceVersion` 0 or
//!   none starts with an `ADDED` per existing object. With a label selector, an object that starts
//!   (stops) matching arrives as `ADDED` (`DELETED`).
//! - **Writes**: create (409 `AlreadyExists`), get (404 `NotFound`), replace (409 `Conflict` on a stale
//!   `resourceVersion`), merge, strategic-merge (as merge), JSON patch, server-side apply (creates a
//!   missing object; 409 `Conflict` when another field manager applied a field with a different
//!   value, unless `force=true`), delete (finalizers delay it), delete-collection, `dryRun=All`, and
//!   the same on `/status`. A write that changes nothing stores nothing and sends no event.
//!
//! Limits: no authentication, authorization, admission, validation of object schemas, defaulting,
//! garbage collection, protobuf or table output; the history of old versions is not kept, so a list
//! with `resourceVersionMatch=Exact` for an older version gets 410, and later pages of a paginated
//! list show the current state of the objects after the token (each page still reports the first
//! page's resourceVersion, so a watch from it replays every change since). Server-side apply treats
//! lists as atomic and tracks ownership between appliers only: a plain update takes a field away from
//! its appliers instead of conflicting. `managedFields` are not returned.

mod control;
mod fault;
mod http;
mod patch;
mod resource;
mod selector;
mod server;
mod status;
mod store;
mod watch;

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::task::JoinHandle;

pub use fault::{Fault, RequestMatcher, RequestRecord, Verb};
pub use resource::ResourceType;
pub use status::ApiError;

use server::{Settings, Shared};

/// Builds a [`FakeApiServer`] with settings other than the defaults.
#[derive(Clone, Debug)]
pub struct FakeApiServerBuilder {
    types: Vec<ResourceType>,
    listen: SocketAddr,
    bookmark_interval: Duration,
    default_watch_timeout: Duration,
    history_capacity: usize,
    request_log_capacity: usize,
    control_api: bool,
}

impl Default for FakeApiServerBuilder {
    fn default() -> Self {
        Self {
            types: ResourceType::BUILTIN.to_vec(),
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            bookmark_interval: Duration::from_secs(1),
            default_watch_timeout: Duration::from_secs(1800),
            history_capacity: 100_000,
            request_log_capacity: 100_000,
            control_api: false,
        }
    }
}

impl FakeApiServerBuilder {
    /// Serves one more resource type (a custom resource, say).
    #[must_use]
    pub fn resource(mut self, resource: ResourceType) -> Self {
        if !self.types.contains(&resource) {
            self.types.push(resource);
        }
        self
    }

    /// Serves several more resource types (the Gateway API CRDs, say).
    #[must_use]
    pub fn resources(self, resources: impl IntoIterator<Item = ResourceType>) -> Self {
        resources.into_iter().fold(self, Self::resource)
    }

    /// Listens on this address instead of `127.0.0.1` with a port the OS picks.
    #[must_use]
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }

    /// How often a watch with `allowWatchBookmarks=true` gets a bookmark (default 1 s; the real API
    /// server sends one about every minute).
    #[must_use]
    pub fn bookmark_interval(mut self, interval: Duration) -> Self {
        self.bookmark_interval = interval;
        self
    }

    /// How long a watch without `timeoutSeconds` stays open (default 30 min).
    #[must_use]
    pub fn default_watch_timeout(mut self, timeout: Duration) -> Self {
        self.default_watch_timeout = timeout;
        self
    }

    /// How many changes the server remembers for watches (default 100,000). A watch that resumes
    /// from, or falls behind to, a version older than that gets 410 Expired.
    #[must_use]
    pub fn history_capacity(mut self, changes: usize) -> Self {
        self.history_capacity = changes;
        self
    }

    /// How many requests the request log keeps (default 100,000; the oldest go first).
    #[must_use]
    pub fn request_log_capacity(mut self, requests: usize) -> Self {
        self.request_log_capacity = requests;
        self
    }

    /// Serves the control API under `/fake/` (`POST /fake/drop-watches`, `POST /fake/expire-history`,
    /// `POST /fake/objects` …; see the `fake-kube-api` binary), for a harness in another process.
    #[must_use]
    pub fn control_api(mut self, enabled: bool) -> Self {
        self.control_api = enabled;
        self
    }

    /// Binds and starts serving on the current tokio runtime.
    ///
    /// Fails when the address cannot be bound.
    pub async fn start(self) -> io::Result<FakeApiServer> {
        let listener = tokio::net::TcpListener::bind(self.listen).await?;
        let addr = listener.local_addr()?;
        let settings = Settings {
            bookmark_interval: self.bookmark_interval,
            default_watch_timeout: self.default_watch_timeout,
            control_api: self.control_api,
        };
        let shared = Arc::new(Shared::new(
            self.types,
            self.history_capacity,
            self.request_log_capacity,
            settings,
            addr,
        ));
        let app = Router::new()
            .fallback(http::handle)
            .with_state(shared.clone())
            .layer(DefaultBodyLimit::disable());
        let task = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, app).await {
                tracing::error!(%error, "fake Kubernetes API server stopped");
            }
        });
        tracing::debug!(%addr, "fake Kubernetes API server listening");
        Ok(FakeApiServer {
            shared,
            addr,
            task,
            kubeconfig: OnceLock::new(),
        })
    }
}

/// A running fake Kubernetes API server; stops (and ends its watches) when dropped.
#[derive(Debug)]
pub struct FakeApiServer {
    shared: Arc<Shared>,
    addr: SocketAddr,
    task: JoinHandle<()>,
    kubeconfig: OnceLock<(tempfile::TempDir, PathBuf)>,
}

impl FakeApiServer {
    /// Starts a server with the default settings on `127.0.0.1` and a port the OS picks.
    ///
    /// Fails when no port can be bound.
    pub async fn start() -> io::Result<Self> {
        FakeApiServerBuilder::default().start().await
    }

    /// A builder for other settings.
    pub fn builder() -> FakeApiServerBuilder {
        FakeApiServerBuilder::default()
    }

    /// The base URL, `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A kubeconfig pointing at this server (context `fake`, namespace `default`, no credentials).
    pub fn kubeconfig_yaml(&self) -> String {
        kubeconfig_yaml(&self.url())
    }

    /// Writes the kubeconfig to a file in a temporary folder owned by the server, once, and returns
    /// its path (for `KUBECONFIG`, `--kubeconfig` or `kube::Config::from_custom_kubeconfig`).
    ///
    /// # Panics
    /// When the temporary folder or file cannot be written.
    pub fn kubeconfig(&self) -> PathBuf {
        let (_, path) = self.kubeconfig.get_or_init(|| {
            let dir = tempfile::tempdir().expect("temporary folder for the kubeconfig");
            let path = dir.path().join("kubeconfig");
            std::fs::write(&path, self.kubeconfig_yaml()).expect("write the kubeconfig");
            (dir, path)
        });
        path.clone()
    }

    /// Writes the kubeconfig to a path of the caller's choosing.
    ///
    /// Fails when the file cannot be written.
    pub fn write_kubeconfig(&self, path: &Path) -> io::Result<()> {
        std::fs::write(path, self.kubeconfig_yaml())
    }

    /// Creates an object, or replaces it whole if it exists, as stored state (not an API request:
    /// `.status` is kept, no field manager, no precondition), and returns it as stored. The type
    /// comes from `apiVersion` and `kind`; a namespaced object without a namespace goes to
    /// `default`. Watches see ADDED or MODIFIED; replacing with identical content changes nothing.
    ///
    /// Fails when the type is not served, the object has no name, or it cannot be serialized.
    pub fn apply(&self, object: impl Serialize) -> Result<Value, ApiError> {
        let value =
            serde_json::to_value(object).map_err(|e| ApiError::bad_request(e.to_string()))?;
        self.shared.apply(value)
    }

    /// [`apply`](Self::apply) for many objects under one lock: the fast way to load thousands.
    /// Returns how many were applied.
    ///
    /// Fails at the first object [`apply`](Self::apply) would reject; the ones before it stay.
    pub fn apply_all(&self, objects: impl IntoIterator<Item = Value>) -> Result<usize, ApiError> {
        self.shared.apply_all(objects)
    }

    /// Applies every object in manifest text: a JSON object or array, or YAML with one object per
    /// document; `…List` objects are expanded. Returns how many were applied.
    ///
    /// Fails when the text cannot be parsed or an object is rejected.
    pub fn load_str(&self, text: &str) -> Result<usize, ApiError> {
        let objects = control::parse_manifests(text).map_err(ApiError::bad_request)?;
        self.apply_all(objects)
    }

    /// Applies the manifests in a file, or in every `.yaml`, `.yml` and `.json` file of a folder and
    /// its subfolders (in name order). Returns how many objects were applied.
    ///
    /// Fails when a file cannot be read or parsed, or an object is rejected.
    pub fn load_path(&self, path: &Path) -> io::Result<usize> {
        let mut files = Vec::new();
        collect_manifest_files(path, &mut files)?;
        let mut applied = 0;
        for file in files {
            let text = std::fs::read_to_string(&file)?;
            applied += self.load_str(&text).map_err(|e| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{}: {e}", file.display()),
                )
            })?;
        }
        Ok(applied)
    }

    /// One stored object, or `None`.
    pub fn get(
        &self,
        resource: &ResourceType,
        namespace: Option<&str>,
        name: &str,
    ) -> Option<Value> {
        self.shared
            .get(self.shared.type_index(resource)?, namespace, name)
    }

    /// One stored object as a `k8s-openapi` type, or `None` (also when it does not deserialize).
    pub fn get_as<K>(&self, namespace: Option<&str>, name: &str) -> Option<K>
    where
        K: k8s_openapi::Resource + DeserializeOwned,
    {
        let index = self.shared.type_index_of(K::API_VERSION, K::KIND)?;
        serde_json::from_value(self.shared.get(index, namespace, name)?).ok()
    }

    /// Every stored object of a type, in one namespace or all, in namespace/name order.
    pub fn list(&self, resource: &ResourceType, namespace: Option<&str>) -> Vec<Value> {
        self.shared
            .type_index(resource)
            .map(|index| self.shared.list(index, namespace))
            .unwrap_or_default()
    }

    /// [`list`](Self::list) as a `k8s-openapi` type; objects that do not deserialize are skipped.
    pub fn list_as<K>(&self, namespace: Option<&str>) -> Vec<K>
    where
        K: k8s_openapi::Resource + DeserializeOwned,
    {
        let Some(index) = self.shared.type_index_of(K::API_VERSION, K::KIND) else {
            return Vec::new();
        };
        self.shared
            .list(index, namespace)
            .into_iter()
            .filter_map(|v| serde_json::from_value(v).ok())
            .collect()
    }

    /// Deletes an object at once (finalizers are ignored) and returns its last state, or `None` if
    /// there was none. Watches see DELETED.
    pub fn delete(
        &self,
        resource: &ResourceType,
        namespace: Option<&str>,
        name: &str,
    ) -> Option<Value> {
        self.shared
            .delete(self.shared.type_index(resource)?, namespace, name)
    }

    /// The current resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.shared.store().resource_version()
    }

    /// How many objects are stored, all types together.
    pub fn object_count(&self) -> usize {
        self.shared.store().object_count()
    }

    /// Ends every open watch stream cleanly, as an API server restart or a load balancer would;
    /// clients resume from their last resourceVersion.
    pub fn drop_watches(&self) {
        self.shared.drop_watches();
    }

    /// Forgets the history: every watch or continue token from a resourceVersion handed out so
    /// far gets 410 Expired, so clients must list again. Open watches are not affected (combine
    /// with [`drop_watches`](Self::drop_watches)).
    pub fn expire_history(&self) {
        self.shared.expire_history();
    }

    /// Fails the next `count` requests matching `matcher` with `status` (500, 503, 429 …) and a
    /// proper `Status` body.
    pub fn fail_next(&self, matcher: RequestMatcher, status: u16, count: usize) {
        self.inject(Fault::fail(matcher, status).times(count));
    }

    /// Delays the next `count` requests matching `matcher`, which are then served normally.
    pub fn delay_next(&self, matcher: RequestMatcher, delay: Duration, count: usize) {
        self.inject(Fault::delay(matcher, delay).times(count));
    }

    /// Adds a fault. Faults apply in the order they were added; each request uses at most one.
    pub fn inject(&self, fault: Fault) {
        self.shared.inject(fault);
    }

    /// Removes every fault not used up yet.
    pub fn clear_faults(&self) {
        self.shared.clear_faults();
    }

    /// The requests received (most recent last; control requests excluded).
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.shared.requests()
    }

    /// How many received requests match.
    pub fn request_count(&self, matcher: &RequestMatcher) -> usize {
        self.shared.request_count(matcher)
    }

    /// Forgets the received requests.
    pub fn clear_requests(&self) {
        self.shared.clear_requests();
    }

    /// How many watch streams are open.
    pub fn open_watches(&self) -> usize {
        self.shared.open_watches()
    }

    /// Waits until at least `count` received requests match, up to `timeout`; returns whether
    /// they did.
    pub async fn wait_for_requests(
        &self,
        matcher: &RequestMatcher,
        count: usize,
        timeout: Duration,
    ) -> bool {
        self.wait_until(timeout, || self.request_count(matcher) >= count)
            .await
    }

    /// Waits until at least `count` watch streams are open, up to `timeout`; returns whether they
    /// were.
    pub async fn wait_for_open_watches(&self, count: usize, timeout: Duration) -> bool {
        self.wait_until(timeout, || self.open_watches() >= count)
            .await
    }

    async fn wait_until(&self, timeout: Duration, mut done: impl FnMut() -> bool) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if done() {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

impl Drop for FakeApiServer {
    fn drop(&mut self) {
        self.shared.drop_watches();
        self.task.abort();
    }
}

/// A kubeconfig for a server URL.
fn kubeconfig_yaml(url: &str) -> String {
    format!(
        "apiVersion: v1
kind: Config
clusters:
- name: fake
  cluster:
    server: {url}
contexts:
- name: fake
  context:
    cluster: fake
    user: fake
    namespace: default
current-context: fake
users:
- name: fake
  user: {{}}
"
    )
}

fn collect_manifest_files(path: &Path, files: &mut Vec<PathBuf>) -> io::Result<()> {
    if !path.is_dir() {
        files.push(path.to_owned());
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path)?
        .map(|e| e.map(|e| e.path()))
        .collect::<io::Result<_>>()?;
    entries.sort();
    for entry in entries {
        let manifest = entry
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| matches!(e, "yaml" | "yml" | "json"));
        if entry.is_dir() {
            collect_manifest_files(&entry, files)?;
        } else if manifest {
            files.push(entry);
        }
    }
    Ok(())
}
