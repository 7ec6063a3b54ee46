//! The state the HTTP handlers and the test hooks share.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::watch;

use super::fault::{Fault, FaultAction, Faults, RequestLog, RequestMatcher, RequestRecord};
use super::resource::ResourceType;
use super::selector::{FieldSelector, LabelSelector};
use super::status::ApiError;
use super::store::{Preconditions, Store, WriteOptions};

/// Settings fixed at start.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    /// How often a watch that asked for bookmarks gets one.
    pub bookmark_interval: Duration,
    /// How long a watch without `timeoutSeconds` stays open.
    pub default_watch_timeout: Duration,
    /// Whether `/fake/…` control endpoints are served.
    pub control_api: bool,
}

/// Everything behind a server: the store, faults, the request log and the watch controls.
#[derive(Debug)]
pub(crate) struct Shared {
    /// The served resource types (the store has the same list; this copy needs no lock).
    pub types: Vec<ResourceType>,
    store: Mutex<Store>,
    faults: Mutex<Faults>,
    log: Mutex<RequestLog>,
    /// Bumped to end every open watch.
    drop_watches: watch::Sender<u64>,
    open_watches: AtomicUsize,
    /// Settings fixed at start.
    pub settings: Settings,
    /// Where the server listens.
    pub addr: SocketAddr,
}

impl Shared {
    pub(crate) fn new(
        types: Vec<ResourceType>,
        history_capacity: usize,
        request_log_capacity: usize,
        settings: Settings,
        addr: SocketAddr,
    ) -> Self {
        Self {
            store: Mutex::new(Store::new(types.clone(), history_capacity)),
            types,
            faults: Mutex::default(),
            log: Mutex::new(RequestLog::new(request_log_capacity)),
            drop_watches: watch::channel(0).0,
            open_watches: AtomicUsize::new(0),
            settings,
            addr,
        }
    }

    /// The store, locked. A panic while it was held (a bug in the fake) does not stop the others.
    pub(crate) fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn faults(&self) -> MutexGuard<'_, Faults> {
        self.faults.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn log(&self) -> MutexGuard<'_, RequestLog> {
        self.log.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The index of a served type.
    pub(crate) fn type_index(&self, resource: &ResourceType) -> Option<usize> {
        self.types.iter().position(|t| t == resource)
    }

    /// The index of the type served for an `apiVersion` and `kind`.
    pub(crate) fn type_index_of(&self, api_version: &str, kind: &str) -> Option<usize> {
        self.types.iter().position(|t| t.matches(api_version, kind))
    }

    pub(crate) fn apply(&self, object: Value) -> Result<Value, ApiError> {
        self.store().put(object)
    }

    pub(crate) fn apply_all(
        &self,
        objects: impl IntoIterator<Item = Value>,
    ) -> Result<usize, ApiError> {
        let mut store = self.store();
        let mut count = 0;
        for object in objects {
            store.put(object)?;
            count += 1;
        }
        Ok(count)
    }

    pub(crate) fn get(
        &self,
        type_index: usize,
        namespace: Option<&str>,
        name: &str,
    ) -> Option<Value> {
        self.store()
            .get(type_index, namespace, name)
            .map(|o| o.value())
    }

    pub(crate) fn list(&self, type_index: usize, namespace: Option<&str>) -> Vec<Value> {
        let objects = self.store().snapshot(
            type_index,
            namespace,
            &LabelSelector::default(),
            &FieldSelector::default(),
        );
        objects.iter().map(|o| o.value()).collect()
    }

    pub(crate) fn delete(
        &self,
        type_index: usize,
        namespace: Option<&str>,
        name: &str,
    ) -> Option<Value> {
        self.store()
            .delete(
                type_index,
                namespace,
                name,
                &Preconditions::default(),
                WriteOptions::HOOK,
            )
            .ok()
    }

    pub(crate) fn drop_watches(&self) {
        self.drop_watches.send_modify(|generation| *generation += 1);
    }

    /// A receiver told when every watch must end.
    pub(crate) fn watch_drops(&self) -> watch::Receiver<u64> {
        self.drop_watches.subscribe()
    }

    pub(crate) fn expire_history(&self) -> u64 {
        self.store().expire_history()
    }

    pub(crate) fn inject(&self, fault: Fault) {
        self.faults().add(fault);
    }

    pub(crate) fn clear_faults(&self) {
        self.faults().clear();
    }

    pub(crate) fn take_fault(&self, request: &RequestRecord) -> Option<FaultAction> {
        self.faults().take(request)
    }

    pub(crate) fn record(&self, request: RequestRecord) {
        self.log().push(request);
    }

    pub(crate) fn requests(&self) -> Vec<RequestRecord> {
        self.log().records()
    }

    pub(crate) fn request_count(&self, matcher: &RequestMatcher) -> usize {
        self.log().count(matcher)
    }

    pub(crate) fn clear_requests(&self) {
        self.log().clear();
    }

    pub(crate) fn open_watches(&self) -> usize {
        self.open_watches.load(Ordering::SeqCst)
    }

    /// Counts a watch as open until the guard is dropped.
    pub(crate) fn open_watch(self: &Arc<Self>) -> OpenWatch {
        self.open_watches.fetch_add(1, Ordering::SeqCst);
        OpenWatch(self.clone())
    }
}

/// An open watch stream; counted in [`Shared::open_watches`] while it lives.
#[derive(Debug)]
pub(crate) struct OpenWatch(Arc<Shared>);

impl Drop for OpenWatch {
    fn drop(&mut self) {
        self.0.open_watches.fetch_sub(1, Ordering::SeqCst);
    }
}
