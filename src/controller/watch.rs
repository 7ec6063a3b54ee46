//! Watches: Ingresses, Services (with the Nodes and EndpointSlices of NodePort and headless
//! Services), Gateway API routes (with their Gateways and, when a listener admits routes by
//! namespace labels, Namespaces) and DNSEndpoints streamed from the API server into the
//! desired-state index.
//!
//! Each object is converted into its small claim as soon as it arrives; the object itself is
//! dropped (routes keep a slim copy, so a Gateway change can recompute the routes attached to
//! it; NodePort and headless Services likewise, for Node and EndpointSlice changes, of which
//! only the addresses are kept). A (re-)list is buffered until it completes, then replaces that kind's objects as a
//! whole, so a failed or partial list can never look like "these objects are gone". Routes are
//! published only once the Gateways they resolve against are listed.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Node, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::networking::v1::Ingress;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use kube::{Api, Client, Resource, ResourceExt};
use tokio_util::sync::CancellationToken;

use super::Shared;
use super::metrics::ResourceLabels;
use super::reconcile::lock;
use crate::source::backends::{ServiceArrival, ServiceTable};
use crate::source::gateway::RouteTable;
use crate::source::gateway_api::{
    GrpcRouteObject, HttpRouteObject, NamespaceObject, Route, RouteKind, TcpRouteObject,
    TlsRouteObject, UdpRouteObject,
};
use crate::source::{ObjectOutcome, ResourceKind, ResourceRef, SourceConfig, ingress};

/// Starts one watch per configured kind.
pub fn spawn_all(
    client: Client,
    config: &SourceConfig,
    watch_list: bool,
    shared: Arc<Shared>,
    shutdown: CancellationToken,
) -> Vec<tokio::task::JoinHandle<()>> {
    let mut tasks = Vec::new();
    let mut watcher_config = watcher::Config::default();
    if let Some(selector) = &config.label_selector {
        watcher_config = watcher_config.labels_from(selector.selector());
    }
    if watch_list {
        watcher_config = watcher_config.streaming_lists();
    }
    if config.kinds.contains(&ResourceKind::Ingress) {
        let api = crate::cluster::ingresses(&client, config);
        tasks.push(tokio::spawn(watch_kind::<Ingress>(
            api,
            watcher_config.clone(),
            ResourceKind::Ingress,
            ingress::convert,
            config.clone(),
            shared.clone(),
            shutdown.clone(),
        )));
    }
    if config.kinds.contains(&ResourceKind::Service) {
        let table = ServiceTable::new(config);
        let services = Arc::new(ServiceWatch {
            needs_nodes: table.needs_nodes(),
            needs_slices: table.needs_slices(),
            table: Mutex::new(table),
            client: client.clone(),
            config: config.clone(),
            watch_list,
            shared: shared.clone(),
            shutdown: shutdown.clone(),
        });
        tasks.push(tokio::spawn(watch_services(
            services.clone(),
            watcher_config.clone(),
        )));
        if services.needs_nodes {
            tasks.push(tokio::spawn(watch_nodes(services.clone())));
        }
        if services.needs_slices {
            tasks.push(tokio::spawn(watch_endpoint_slices(services)));
        }
    }
    let route_kinds: Vec<RouteKind> = config.kinds.iter().filter_map(|k| k.route_kind()).collect();
    if !route_kinds.is_empty() {
        let routes = Arc::new(RouteWatch {
            table: Mutex::new(RouteTable::new()),
            namespaces_started: AtomicBool::new(false),
            client: client.clone(),
            config: config.clone(),
            watch_list,
            shared: shared.clone(),
            shutdown: shutdown.clone(),
        });
        let sources: Vec<&str> = route_kinds.iter().map(|k| k.source_name()).collect();
        tasks.push(tokio::spawn(watch_gateways(
            routes.clone(),
            sources.join(", --source "),
        )));
        for kind in route_kinds {
            let task = match kind {
                RouteKind::Http => tokio::spawn(watch_routes::<HttpRouteObject>(
                    kind,
                    watcher_config.clone(),
                    routes.clone(),
                )),
                RouteKind::Grpc => tokio::spawn(watch_routes::<GrpcRouteObject>(
                    kind,
                    watcher_config.clone(),
                    routes.clone(),
                )),
                RouteKind::Tls => tokio::spawn(watch_routes::<TlsRouteObject>(
                    kind,
                    watcher_config.clone(),
                    routes.clone(),
                )),
                RouteKind::Tcp => tokio::spawn(watch_routes::<TcpRouteObject>(
                    kind,
                    watcher_config.clone(),
                    routes.clone(),
                )),
                RouteKind::Udp => tokio::spawn(watch_routes::<UdpRouteObject>(
                    kind,
                    watcher_config.clone(),
                    routes.clone(),
                )),
            };
            tasks.push(task);
        }
    }
    if config.kinds.contains(&ResourceKind::DnsEndpoint) {
        tasks.push(tokio::spawn(watch_dnsendpoints(
            client,
            watcher_config,
            config.clone(),
            shared,
            shutdown,
        )));
    }
    tasks
}

/// What a watch delivers, once lists are complete: objects reduced to `T` as they arrive
/// (deleted objects stay whole, for their name).
enum Update<K, T = K> {
    /// A completed (re-)list.
    Listed(Vec<T>),
    /// An object added or changed.
    Applied(T),
    /// An object deleted.
    Deleted(K),
}

/// The API coordinates of a watched kind, for the message when the cluster does not serve it.
struct Served {
    /// The `resource` label of the watch metrics (`httproute`, `gateway`, `crd`, …).
    label: String,
    api_version: String,
    kind: String,
    plural: String,
    source_name: String,
}

impl Served {
    fn route(kind: RouteKind) -> Self {
        Self {
            label: kind.resource_kind().as_str().into(),
            api_version: format!("gateway.networking.k8s.io/{}", kind.version()),
            kind: kind.kind().into(),
            plural: kind.plural().into(),
            source_name: kind.source_name().into(),
        }
    }

    fn message(&self) -> String {
        let group = self
            .api_version
            .split_once('/')
            .map(|(g, _)| g)
            .unwrap_or("");
        crate::cluster::KubeError::NotServed {
            api_version: self.api_version.clone(),
            kind: self.kind.clone(),
            crd: if group.is_empty() {
                self.plural.clone()
            } else {
                format!("{}.{group}", self.plural)
            },
            source_name: self.source_name.clone(),
        }
        .to_string()
    }
}

fn is_not_found(error: &watcher::Error) -> bool {
    match error {
        watcher::Error::InitialListFailed(kube::Error::Api(status))
        | watcher::Error::WatchStartFailed(kube::Error::Api(status))
        | watcher::Error::WatchFailed(kube::Error::Api(status)) => status.code == 404,
        watcher::Error::WatchError(status) => status.code == 404,
        _ => false,
    }
}

/// Follows one watch, buffering each (re-)list until it completes, and hands what it sees to
/// `handle`. Errors are retried with backoff; the last complete view stays in place meanwhile.
async fn follow<K>(
    api: Api<K>,
    config: watcher::Config,
    served: Served,
    shared: &Shared,
    shutdown: &CancellationToken,
    handle: impl FnMut(Update<K>),
) where
    K: Resource + Clone + std::fmt::Debug + serde::de::DeserializeOwned + Send + 'static,
    K::DynamicType: Default,
{
    follow_reduced(api, config, served, shared, shutdown, |k| k, handle).await;
}

/// [`follow`], reducing each listed or applied object with `reduce` as it arrives, so a
/// (re-)list holds only the reduced forms.
async fn follow_reduced<K, T>(
    api: Api<K>,
    config: watcher::Config,
    served: Served,
    shared: &Shared,
    shutdown: &CancellationToken,
    reduce: impl Fn(K) -> T,
    mut handle: impl FnMut(Update<K, T>),
) where
    K: Resource + Clone + std::fmt::Debug + serde::de::DeserializeOwned + Send + 'static,
    K::DynamicType: Default,
{
    let label = served.label.clone();
    let labels = ResourceLabels {
        resource: label.clone(),
    };
    let mut stream = watcher::watcher(api, config).default_backoff().boxed();
    let mut buffer: Option<Vec<T>> = None;
    loop {
        let event = tokio::select! {
            _ = shutdown.cancelled() => return,
            event = stream.next() => event,
        };
        let Some(event) = event else {
            tracing::error!(resource = %label, "watch stream ended");
            return;
        };
        match event {
            Ok(Event::Init) => buffer = Some(Vec::new()),
            Ok(Event::InitApply(object)) => {
                buffer.get_or_insert_with(Vec::new).push(reduce(object))
            }
            Ok(Event::InitDone) => {
                let objects = buffer.take().unwrap_or_default();
                tracing::info!(resource = %label, objects = objects.len(), "list complete");
                handle(Update::Listed(objects));
                shared.saw_event();
                shared.metrics.watch_synced.get_or_create(&labels).set(1);
                shared.health.set_watch_failing(None);
            }
            Ok(Event::Apply(object)) => {
                handle(Update::Applied(reduce(object)));
                shared.saw_event();
                shared.health.set_watch_failing(None);
            }
            Ok(Event::Delete(object)) => {
                handle(Update::Deleted(object));
                shared.saw_event();
            }
            Err(error) => {
                let message = if is_not_found(&error) {
                    let message = served.message();
                    tracing::error!(resource = %label, %error, "{message}");
                    message
                } else {
                    tracing::warn!(resource = %label, %error, "watch failed; retrying");
                    format!("{label}: {error}")
                };
                shared.metrics.watch_errors.get_or_create(&labels).inc();
                shared.metrics.watch_synced.get_or_create(&labels).set(0);
                shared.health.set_watch_failing(Some(message));
            }
        }
    }
}

/// The shared state of the route, Gateway and Namespace watches.
struct RouteWatch {
    table: Mutex<RouteTable>,
    namespaces_started: AtomicBool,
    client: Client,
    config: SourceConfig,
    watch_list: bool,
    shared: Arc<Shared>,
    shutdown: CancellationToken,
}

impl RouteWatch {
    fn table(&self) -> std::sync::MutexGuard<'_, RouteTable> {
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Publishes recomputed routes into the index (nothing while Gateways or Namespaces are
    /// still being listed).
    fn publish(&self) {
        let publish = self.table().drain(&self.config);
        if publish.is_empty() {
            return;
        }
        {
            let mut index = lock(&self.shared.index);
            for (kind, outcomes) in publish.replace {
                index.replace_kind(kind, outcomes);
            }
            for outcome in publish.upsert {
                index.upsert(outcome);
            }
        }
        self.shared.dirty.notify_one();
    }

    /// Starts the Namespace watch the first time a listener admits routes by namespace labels.
    fn start_namespaces_if_needed(self: &Arc<Self>) {
        if self.table().needs_namespaces() && !self.namespaces_started.swap(true, Ordering::SeqCst)
        {
            tracing::info!(
                "a Gateway listener admits routes by namespace labels; watching Namespaces"
            );
            tokio::spawn(watch_namespaces(self.clone()));
        }
    }

    fn watcher_config(&self) -> watcher::Config {
        let config = watcher::Config::default();
        if self.watch_list {
            config.streaming_lists()
        } else {
            config
        }
    }
}

async fn watch_routes<K>(kind: RouteKind, config: watcher::Config, routes: Arc<RouteWatch>)
where
    K: Resource<Scope = kube::core::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + std::fmt::Debug
        + serde::de::DeserializeOwned
        + Send
        + 'static
        + Into<Route>,
{
    let api: Api<K> = match &routes.config.namespace {
        Some(namespace) => Api::namespaced(routes.client.clone(), namespace),
        None => Api::all(routes.client.clone()),
    };
    let shutdown = routes.shutdown.clone();
    let shared = routes.shared.clone();
    follow(
        api,
        config,
        Served::route(kind),
        &shared,
        &shutdown,
        |update| {
            match update {
                Update::Listed(objects) => routes
                    .table()
                    .routes_listed(kind, objects.into_iter().map(Into::into).collect()),
                Update::Applied(object) => routes.table().route_applied(kind, object.into()),
                Update::Deleted(object) => {
                    let resource = routes.table().route_deleted(kind, &object.into());
                    lock(&routes.shared.index).remove(&resource);
                    routes.shared.dirty.notify_one();
                }
            }
            routes.publish();
        },
    )
    .await;
}

async fn watch_gateways(routes: Arc<RouteWatch>, source_names: String) {
    let api = crate::cluster::gateways(&routes.client, &routes.config);
    let mut config = routes.watcher_config();
    if let Some(selector) = &routes.config.gateway.label_selector {
        config = config.labels_from(selector.selector());
    }
    let served = Served {
        label: "gateway".into(),
        api_version: "gateway.networking.k8s.io/v1".into(),
        kind: "Gateway".into(),
        plural: "gateways".into(),
        source_name: source_names,
    };
    let shutdown = routes.shutdown.clone();
    let shared = routes.shared.clone();
    follow(api, config, served, &shared, &shutdown, |update| {
        match update {
            Update::Listed(objects) => routes.table().gateways_listed(objects, &routes.config),
            Update::Applied(object) => routes.table().gateway_applied(object, &routes.config),
            Update::Deleted(object) => routes.table().gateway_deleted(&object),
        }
        routes.start_namespaces_if_needed();
        routes.publish();
    })
    .await;
}

async fn watch_namespaces(routes: Arc<RouteWatch>) {
    let api = crate::cluster::namespaces(&routes.client);
    let served = Served {
        label: "namespace".into(),
        api_version: "v1".into(),
        kind: "Namespace".into(),
        plural: "namespaces".into(),
        source_name: "gateway-*".into(),
    };
    let shutdown = routes.shutdown.clone();
    let shared = routes.shared.clone();
    let config = routes.watcher_config();
    follow(
        api,
        config,
        served,
        &shared,
        &shutdown,
        |update: Update<NamespaceObject>| {
            match update {
                Update::Listed(objects) => routes.table().namespaces_listed(
                    objects
                        .into_iter()
                        .map(|n| {
                            (
                                n.0.metadata.name.clone().unwrap_or_default(),
                                n.0.labels().clone(),
                            )
                        })
                        .collect(),
                ),
                Update::Applied(object) => routes.table().namespace_changed(
                    object.0.metadata.name.as_deref().unwrap_or_default(),
                    Some(object.0.labels().clone()),
                ),
                Update::Deleted(object) => routes
                    .table()
                    .namespace_changed(object.0.metadata.name.as_deref().unwrap_or_default(), None),
            }
            routes.publish();
        },
    )
    .await;
}

/// The shared state of the Service, Node and EndpointSlice watches.
struct ServiceWatch {
    table: Mutex<ServiceTable>,
    needs_nodes: bool,
    needs_slices: bool,
    client: Client,
    config: SourceConfig,
    watch_list: bool,
    shared: Arc<Shared>,
    shutdown: CancellationToken,
}

impl ServiceWatch {
    fn table(&self) -> std::sync::MutexGuard<'_, ServiceTable> {
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Publishes recomputed Services into the index (nothing while Nodes or EndpointSlices are
    /// still being listed).
    fn publish(&self) {
        let publish = self.table().drain(&self.config);
        if publish.is_empty() {
            return;
        }
        {
            let mut index = lock(&self.shared.index);
            if let Some(outcomes) = publish.replace {
                index.replace_kind(ResourceKind::Service, outcomes);
            }
            for outcome in publish.upsert {
                index.upsert(outcome);
            }
        }
        self.shared.dirty.notify_one();
    }

    fn watcher_config(&self) -> watcher::Config {
        let config = watcher::Config::default();
        if self.watch_list {
            config.streaming_lists()
        } else {
            config
        }
    }
}

async fn watch_services(services: Arc<ServiceWatch>, config: watcher::Config) {
    let api = crate::cluster::services(&services.client, &services.config);
    let served = Served {
        label: ResourceKind::Service.as_str().into(),
        api_version: "v1".into(),
        kind: "Service".into(),
        plural: "services".into(),
        source_name: "service".into(),
    };
    let shutdown = services.shutdown.clone();
    let shared = services.shared.clone();
    let source = services.config.clone();
    let arrive = move |service: Service| ServiceArrival::new(service, &source);
    follow_reduced(api, config, served, &shared, &shutdown, arrive, |update| {
        match update {
            Update::Listed(objects) => services.table().services_listed(objects),
            Update::Applied(object) => services.table().service_applied(object),
            Update::Deleted(object) => {
                let resource = services.table().service_deleted(&object);
                lock(&services.shared.index).remove(&resource);
                services.shared.dirty.notify_one();
            }
        }
        services.publish();
    })
    .await;
}

async fn watch_nodes(services: Arc<ServiceWatch>) {
    let api = crate::cluster::nodes(&services.client);
    let served = Served {
        label: "node".into(),
        api_version: "v1".into(),
        kind: "Node".into(),
        plural: "nodes".into(),
        source_name: "service".into(),
    };
    let shutdown = services.shutdown.clone();
    let shared = services.shared.clone();
    let config = services.watcher_config();
    follow(
        api,
        config,
        served,
        &shared,
        &shutdown,
        |update: Update<Node>| {
            match update {
                Update::Listed(objects) => services.table().nodes_listed(&objects),
                Update::Applied(object) => services
                    .table()
                    .node_changed(&object.name_any(), Some(&object)),
                Update::Deleted(object) => services.table().node_changed(&object.name_any(), None),
            }
            services.publish();
        },
    )
    .await;
}

async fn watch_endpoint_slices(services: Arc<ServiceWatch>) {
    let api = crate::cluster::endpoint_slices(&services.client, &services.config);
    let served = Served {
        label: "endpointslice".into(),
        api_version: "discovery.k8s.io/v1".into(),
        kind: "EndpointSlice".into(),
        plural: "endpointslices".into(),
        source_name: "service".into(),
    };
    let shutdown = services.shutdown.clone();
    let shared = services.shared.clone();
    let config = services.watcher_config();
    follow(
        api,
        config,
        served,
        &shared,
        &shutdown,
        |update: Update<EndpointSlice>| {
            match update {
                Update::Listed(objects) => services.table().slices_listed(&objects),
                Update::Applied(object) => services.table().slice_changed(
                    &object.namespace().unwrap_or_else(|| "default".into()),
                    &object.name_any(),
                    Some(&object),
                ),
                Update::Deleted(object) => services.table().slice_changed(
                    &object.namespace().unwrap_or_else(|| "default".into()),
                    &object.name_any(),
                    None,
                ),
            }
            services.publish();
        },
    )
    .await;
}

async fn watch_dnsendpoints(
    client: Client,
    config: watcher::Config,
    source: SourceConfig,
    shared: Arc<Shared>,
    shutdown: CancellationToken,
) {
    // Discovery, as external-dns does; retried until the type is served.
    let mut delay = Duration::from_secs(1);
    let resource = loop {
        match crate::cluster::dnsendpoint_resource(&client, &source).await {
            Ok(resource) => break resource,
            Err(error) => {
                tracing::error!(%error, "cannot watch DNSEndpoints; retrying");
                shared.health.set_watch_failing(Some(error.to_string()));
            }
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(delay) => {}
        }
        delay = (delay * 2).min(Duration::from_secs(60));
    };
    let served = Served {
        label: ResourceKind::DnsEndpoint.as_str().into(),
        api_version: source.crd.api_version.clone(),
        kind: source.crd.kind.clone(),
        plural: resource.plural.clone(),
        source_name: "crd".into(),
    };
    let api = crate::cluster::dnsendpoints(&client, &resource, &source);
    let watch = watcher::watcher(api, config);
    let mut stream = watch.default_backoff().boxed();
    let labels = ResourceLabels {
        resource: served.label.clone(),
    };
    let mut buffer: Option<Vec<ObjectOutcome>> = None;
    loop {
        let event = tokio::select! {
            _ = shutdown.cancelled() => return,
            event = stream.next() => event,
        };
        let Some(event) = event else {
            tracing::error!(resource = %served.label, "watch stream ended");
            return;
        };
        match event {
            Ok(Event::Init) => buffer = Some(Vec::new()),
            Ok(Event::InitApply(object)) => buffer
                .get_or_insert_with(Vec::new)
                .push(crate::cluster::convert_dnsendpoint(object, &source)),
            Ok(Event::InitDone) => {
                let outcomes = buffer.take().unwrap_or_default();
                tracing::info!(resource = %served.label, objects = outcomes.len(), "list complete");
                lock(&shared.index).replace_kind(ResourceKind::DnsEndpoint, outcomes);
                shared.saw_event();
                shared.metrics.watch_synced.get_or_create(&labels).set(1);
                shared.health.set_watch_failing(None);
            }
            Ok(Event::Apply(object)) => {
                let outcome = crate::cluster::convert_dnsendpoint(object, &source);
                lock(&shared.index).upsert(outcome);
                shared.saw_event();
                shared.health.set_watch_failing(None);
            }
            Ok(Event::Delete(object)) => {
                let resource = ResourceRef {
                    kind: ResourceKind::DnsEndpoint,
                    namespace: object.namespace().unwrap_or_else(|| "default".into()),
                    name: object.name_any(),
                };
                lock(&shared.index).remove(&resource.to_string());
                shared.saw_event();
            }
            Err(error) => {
                let message = if is_not_found(&error) {
                    served.message()
                } else {
                    format!("{}: {error}", served.label)
                };
                tracing::warn!(resource = %served.label, %error, "watch failed; retrying");
                shared.metrics.watch_errors.get_or_create(&labels).inc();
                shared.metrics.watch_synced.get_or_create(&labels).set(0);
                shared.health.set_watch_failing(Some(message));
            }
        }
    }
}

fn resource_of<K: ResourceExt>(kind: ResourceKind, object: &K) -> ResourceRef {
    ResourceRef {
        kind,
        namespace: object.namespace().unwrap_or_else(|| "default".into()),
        name: object.name_any(),
    }
}

async fn watch_kind<K>(
    api: Api<K>,
    config: watcher::Config,
    kind: ResourceKind,
    convert: fn(&K, &SourceConfig) -> ObjectOutcome,
    source: SourceConfig,
    shared: Arc<Shared>,
    shutdown: CancellationToken,
) where
    K: Resource + Clone + std::fmt::Debug + serde::de::DeserializeOwned + Send + 'static,
{
    let labels = ResourceLabels {
        resource: kind.as_str().to_string(),
    };
    let mut stream = watcher::watcher(api, config).default_backoff().boxed();
    let mut buffer: Option<Vec<ObjectOutcome>> = None;
    loop {
        let event = tokio::select! {
            _ = shutdown.cancelled() => return,
            event = stream.next() => event,
        };
        let Some(event) = event else {
            tracing::error!(resource = kind.as_str(), "watch stream ended");
            return;
        };
        match event {
            Ok(Event::Init) => buffer = Some(Vec::new()),
            Ok(Event::InitApply(object)) => {
                buffer
                    .get_or_insert_with(Vec::new)
                    .push(convert(&object, &source));
            }
            Ok(Event::InitDone) => {
                let outcomes = buffer.take().unwrap_or_default();
                tracing::info!(
                    resource = kind.as_str(),
                    objects = outcomes.len(),
                    "list complete"
                );
                lock(&shared.index).replace_kind(kind, outcomes);
                shared.saw_event();
                shared.metrics.watch_synced.get_or_create(&labels).set(1);
                shared.health.set_watch_failing(None);
            }
            Ok(Event::Apply(object)) => {
                let outcome = convert(&object, &source);
                lock(&shared.index).upsert(outcome);
                shared.saw_event();
                shared.health.set_watch_failing(None);
            }
            Ok(Event::Delete(object)) => {
                let resource = resource_of(kind, &object).to_string();
                lock(&shared.index).remove(&resource);
                shared.saw_event();
            }
            Err(error) => {
                // The watcher retries with backoff. The index keeps its last complete view:
                // nothing is planned as deleted because a list failed.
                let error = zonesync_core::ErrorChain(&error);
                tracing::warn!(resource = kind.as_str(), %error, "watch failed; retrying");
                shared.metrics.watch_errors.get_or_create(&labels).inc();
                shared.metrics.watch_synced.get_or_create(&labels).set(0);
                shared
                    .health
                    .set_watch_failing(Some(format!("{}: {error}", kind.as_str())));
            }
        }
    }
}
