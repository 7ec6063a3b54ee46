//! The Kubernetes edge: client construction, the API calls zonesync makes (one table, which
//! the RBAC manifests are checked against), and one-shot listing for `plan`/`sync`.

use std::path::Path;

use k8s_openapi::api::core::v1::{Node, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::networking::v1::Ingress;
use kube::api::{Api, ListParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

use kube::api::DynamicObject;
use kube::core::{ApiResource, GroupVersionKind};

use crate::source::backends::{ServiceArrival, ServiceTable};
use crate::source::dnsendpoint;
use crate::source::gateway::{self, GatewaySet};
use crate::source::gateway_api::{
    GatewayObject, GrpcRouteObject, HttpRouteObject, NamespaceObject, Route, RouteKind,
    TcpRouteObject, TlsRouteObject, UdpRouteObject,
};
use crate::source::{ObjectOutcome, ResourceKind, SourceConfig, SourceSnapshot, ingress};

/// One kind of access zonesync needs: API group, resource, verbs, and whether it is limited to
/// zonesync's own namespace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ApiAccess {
    /// API group (`""` for the core group).
    pub group: &'static str,
    /// Resource (plural).
    pub resource: &'static str,
    /// Verbs used.
    pub verbs: &'static [&'static str],
    /// True when only needed in zonesync's own namespace (a Role rather than a ClusterRole).
    pub own_namespace_only: bool,
}

const ROUTE_VERBS: &[&str] = &["list", "watch"];

/// Every Kubernetes API call zonesync makes. The RBAC rules in `deploy/` are tested against
/// this table; a new API call must be added here (and to the manifests) or the test fails.
/// The Gateway API rows (and `namespaces`) are needed only by the `gateway-*` sources, the
/// `externaldns.k8s.io` rows only by `crd`: `deploy/components/gateway-api` and
/// `deploy/components/dnsendpoint` grant them. `nodes` and `endpointslices` are read by the
/// `service` source for `NodePort` and headless Services.
pub const API_ACCESS: &[ApiAccess] = &[
    ApiAccess {
        group: "networking.k8s.io",
        resource: "ingresses",
        verbs: &["get", "list", "watch"],
        own_namespace_only: false,
    },
    ApiAccess {
        group: "",
        resource: "services",
        verbs: &["get", "list", "watch"],
        own_namespace_only: false,
    },
    ApiAccess {
        group: "",
        resource: "nodes",
        verbs: ROUTE_VERBS,
        own_namespace_only: false,
    },
    ApiAccess {
        group: "discovery.k8s.io",
        resource: "endpointslices",
        verbs: ROUTE_VERBS,
        own_namespace_only: false,
    },
    ApiAccess {
        group: "events.k8s.io",
        resource: "events",
        verbs: &["create", "patch"],
        own_namespace_only: false,
    },
    ApiAccess {
        group: "coordination.k8s.io",
        resource: "leases",
        verbs: &["get", "create", "update"],
        own_namespace_only: true,
    },
    ApiAccess {
        group: "gateway.networking.k8s.io",
        resource: "gateways",
        verbs: ROUTE_VERBS,
        own_namespace_only: false,
    },
    ApiAccess {
        group: "gateway.networking.k8s.io",
        resource: "httproutes",
        verbs: ROUTE_VERBS,
        own_namespace_only: false,
    },
    ApiAccess {
        group: "gateway.networking.k8s.io",
        resource: "grpcroutes",
        verbs: ROUTE_VERBS,
        own_namespace_only: false,
    },
    ApiAccess {
        group: "gateway.networking.k8s.io",
        resource: "tlsroutes",
        verbs: ROUTE_VERBS,
        own_namespace_only: false,
    },
    ApiAccess {
        group: "gateway.networking.k8s.io",
        resource: "tcproutes",
        verbs: ROUTE_VERBS,
        own_namespace_only: false,
    },
    ApiAccess {
        group: "gateway.networking.k8s.io",
        resource: "udproutes",
        verbs: ROUTE_VERBS,
        own_namespace_only: false,
    },
    // Only read when a listener admits routes by namespace labels.
    ApiAccess {
        group: "",
        resource: "namespaces",
        verbs: ROUTE_VERBS,
        own_namespace_only: false,
    },
    ApiAccess {
        group: "externaldns.k8s.io",
        resource: "dnsendpoints",
        verbs: ROUTE_VERBS,
        own_namespace_only: false,
    },
    ApiAccess {
        group: "externaldns.k8s.io",
        resource: "dnsendpoints/status",
        verbs: &["update", "patch"],
        own_namespace_only: false,
    },
];

/// Why the Kubernetes client could not be built or an object list could not be read.
#[derive(Debug, thiserror::Error)]
pub enum KubeError {
    /// The kubeconfig file could not be read or used.
    #[error("cannot use kubeconfig {path}: {message}")]
    Kubeconfig {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// Neither in-cluster configuration nor a kubeconfig was found.
    #[error(
        "cannot find Kubernetes credentials (not in a cluster, no --kubeconfig, KUBECONFIG or ~/.kube/config): {0}"
    )]
    Infer(String),
    /// The client could not be created.
    #[error("cannot create the Kubernetes client: {0}")]
    Client(#[source] kube::Error),
    /// A kind a source needs is not served (its CustomResourceDefinition is not installed).
    #[error(
        "the cluster does not serve {api_version} {kind} (is the CustomResourceDefinition {crd} installed?); --source {source_name} needs it"
    )]
    NotServed {
        /// `group/version`.
        api_version: String,
        /// Kind.
        kind: String,
        /// The CRD's name (`httproutes.gateway.networking.k8s.io`).
        crd: String,
        /// The `--source` value needing it.
        source_name: String,
    },
    /// A list call failed.
    #[error("cannot list {what}: {source}")]
    List {
        /// What was listed (`ingresses in all namespaces`).
        what: String,
        /// The cause.
        #[source]
        source: kube::Error,
    },
}

/// Builds a client from `kubeconfig`, else from the environment (in-cluster service account,
/// `KUBECONFIG`, `~/.kube/config`).
///
/// `request_timeout` (`--request-timeout`; `None` for no limit) bounds connecting and sending,
/// and, unless the client `watches`, reading an answer too. A watch stays open for minutes
/// without a byte when nothing changes, so a watching client keeps kube's own read timeout
/// (longer than the server's watch timeout).
///
/// Fails when no configuration is found or it cannot be used.
pub async fn client(
    kubeconfig: Option<&Path>,
    request_timeout: Option<std::time::Duration>,
    watches: bool,
) -> Result<Client, KubeError> {
    let mut config = match kubeconfig {
        Some(path) => {
            let error = |message: String| KubeError::Kubeconfig {
                path: path.display().to_string(),
                message,
            };
            let file = Kubeconfig::read_from(path).map_err(|e| error(e.to_string()))?;
            Config::from_custom_kubeconfig(file, &KubeConfigOptions::default())
                .await
                .map_err(|e| error(e.to_string()))?
        }
        None => Config::infer()
            .await
            .map_err(|e| KubeError::Infer(e.to_string()))?,
    };
    config.connect_timeout = request_timeout;
    config.write_timeout = request_timeout;
    if !watches {
        config.read_timeout = request_timeout;
    }
    Client::try_from(config).map_err(KubeError::Client)
}

/// The Ingress API in the configured namespace (or all namespaces).
pub fn ingresses(client: &Client, config: &SourceConfig) -> Api<Ingress> {
    match &config.namespace {
        Some(namespace) => Api::namespaced(client.clone(), namespace),
        None => Api::all(client.clone()),
    }
}

/// The Service API in the configured namespace (or all namespaces).
pub fn services(client: &Client, config: &SourceConfig) -> Api<Service> {
    match &config.namespace {
        Some(namespace) => Api::namespaced(client.clone(), namespace),
        None => Api::all(client.clone()),
    }
}

/// The Node API (Nodes are cluster-scoped).
pub fn nodes(client: &Client) -> Api<Node> {
    Api::all(client.clone())
}

/// The EndpointSlice API in the configured namespace (or all namespaces).
pub fn endpoint_slices(client: &Client, config: &SourceConfig) -> Api<EndpointSlice> {
    match &config.namespace {
        Some(namespace) => Api::namespaced(client.clone(), namespace),
        None => Api::all(client.clone()),
    }
}

/// The label selector sent to the API server (the rest of the filtering is local).
pub fn list_params(config: &SourceConfig) -> ListParams {
    let mut params = ListParams::default().limit(500);
    if let Some(selector) = &config.label_selector {
        params = params.labels_from(selector.selector());
    }
    params
}

fn scope(config: &SourceConfig) -> String {
    match &config.namespace {
        Some(namespace) => format!("namespace {namespace}"),
        None => "all namespaces".to_string(),
    }
}

/// The API of one route kind in the configured namespace (or all namespaces).
fn namespaced_or_all<K>(client: &Client, namespace: Option<&str>) -> Api<K>
where
    K: kube::Resource<Scope = kube::core::NamespaceResourceScope, DynamicType = ()>,
{
    match namespace {
        Some(namespace) => Api::namespaced(client.clone(), namespace),
        None => Api::all(client.clone()),
    }
}

/// The Gateway API, scoped by `--gateway-namespace`.
pub fn gateways(client: &Client, config: &SourceConfig) -> Api<GatewayObject> {
    namespaced_or_all(client, config.gateway.namespace.as_deref())
}

/// The label selector sent when listing Gateways (`--gateway-label-filter`).
pub fn gateway_list_params(config: &SourceConfig) -> ListParams {
    let mut params = ListParams::default().limit(500);
    if let Some(selector) = &config.gateway.label_selector {
        params = params.labels_from(selector.selector());
    }
    params
}

/// The Namespace API (for namespace labels).
pub fn namespaces(client: &Client) -> Api<NamespaceObject> {
    Api::all(client.clone())
}

/// Turns "not found" from a list of a custom resource into [`KubeError::NotServed`].
pub fn not_served(
    error: KubeError,
    api_version: &str,
    kind: &str,
    plural: &str,
    source_name: &str,
) -> KubeError {
    let missing = match &error {
        KubeError::List {
            source: kube::Error::Api(status),
            ..
        } => status.code == 404,
        _ => false,
    };
    if !missing {
        return error;
    }
    let group = api_version.split_once('/').map(|(g, _)| g).unwrap_or("");
    KubeError::NotServed {
        api_version: api_version.to_string(),
        kind: kind.to_string(),
        crd: format!("{plural}.{group}"),
        source_name: source_name.to_string(),
    }
}

/// Finds the configured DNSEndpoint type through discovery, as external-dns does.
///
/// Fails with [`KubeError::NotServed`] when the cluster does not serve it.
pub async fn dnsendpoint_resource(
    client: &Client,
    config: &SourceConfig,
) -> Result<ApiResource, KubeError> {
    let (group, version) = config
        .crd
        .api_version
        .split_once('/')
        .unwrap_or(("", config.crd.api_version.as_str()));
    let gvk = GroupVersionKind::gvk(group, version, &config.crd.kind);
    match kube::discovery::pinned_kind(client, &gvk).await {
        Ok((resource, _)) => Ok(resource),
        Err(error) => {
            tracing::debug!(%error, "discovery of the DNSEndpoint type failed");
            Err(KubeError::NotServed {
                api_version: config.crd.api_version.clone(),
                kind: config.crd.kind.clone(),
                crd: format!("{}s.{group}", config.crd.kind.to_ascii_lowercase()),
                source_name: "crd".into(),
            })
        }
    }
}

/// The DNSEndpoint API in the configured namespace (or all namespaces).
pub fn dnsendpoints(
    client: &Client,
    resource: &ApiResource,
    config: &SourceConfig,
) -> Api<DynamicObject> {
    match &config.namespace {
        Some(namespace) => Api::namespaced_with(client.clone(), namespace, resource),
        None => Api::all_with(client.clone(), resource),
    }
}

/// Converts a listed or watched DNSEndpoint; one whose `spec` has the wrong shape is skipped
/// whole with a message (its records are kept).
pub fn convert_dnsendpoint(object: DynamicObject, config: &SourceConfig) -> ObjectOutcome {
    let mut value = object.data;
    if let serde_json::Value::Object(map) = &mut value {
        map.insert(
            "metadata".into(),
            serde_json::to_value(&object.metadata).unwrap_or_default(),
        );
    }
    dnsendpoint::convert_value(value, config)
}

/// Lists the Gateways (and, when a listener needs them, Namespaces) routes resolve against.
async fn list_gateways(
    client: &Client,
    config: &SourceConfig,
    kinds: &[RouteKind],
) -> Result<GatewaySet, KubeError> {
    let api = gateways(client, config);
    let sources: Vec<&str> = kinds.iter().map(|k| k.source_name()).collect();
    let objects = list_pages(&api, gateway_list_params(config), "gateways")
        .await
        .map_err(|e| {
            not_served(
                e,
                "gateway.networking.k8s.io/v1",
                "Gateway",
                "gateways",
                &sources.join(", --source "),
            )
        })?;
    let mut set = GatewaySet::new();
    set.replace_gateways(objects, config);
    if set.needs_namespaces() {
        let namespaces = list_pages(
            &namespaces(client),
            ListParams::default().limit(500),
            "namespaces",
        )
        .await?;
        set.replace_namespaces(
            namespaces
                .into_iter()
                .map(|n| {
                    (
                        n.0.metadata.name.clone().unwrap_or_default(),
                        n.0.labels().clone(),
                    )
                })
                .collect(),
        );
    }
    Ok(set)
}

async fn list_routes<K>(
    client: &Client,
    config: &SourceConfig,
    kind: RouteKind,
) -> Result<Vec<Route>, KubeError>
where
    K: kube::Resource<Scope = kube::core::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug
        + Into<Route>,
{
    let api: Api<K> = namespaced_or_all(client, config.namespace.as_deref());
    let objects = list_all(&api, config, kind.plural()).await.map_err(|e| {
        not_served(
            e,
            &format!("gateway.networking.k8s.io/{}", kind.version()),
            kind.kind(),
            kind.plural(),
            kind.source_name(),
        )
    })?;
    Ok(objects.into_iter().map(Into::into).collect())
}

/// Lists every route of `kind`.
///
/// Fails when any page cannot be read, or the kind is not served.
pub async fn list_route_kind(
    client: &Client,
    config: &SourceConfig,
    kind: RouteKind,
) -> Result<Vec<Route>, KubeError> {
    match kind {
        RouteKind::Http => list_routes::<HttpRouteObject>(client, config, kind).await,
        RouteKind::Grpc => list_routes::<GrpcRouteObject>(client, config, kind).await,
        RouteKind::Tls => list_routes::<TlsRouteObject>(client, config, kind).await,
        RouteKind::Tcp => list_routes::<TcpRouteObject>(client, config, kind).await,
        RouteKind::Udp => list_routes::<UdpRouteObject>(client, config, kind).await,
    }
}

/// Lists every selected Ingress, Service (with the Nodes and EndpointSlices NodePort and
/// headless Services need), route and DNSEndpoint once, page by page, and converts them.
///
/// Fails when any page cannot be read, or a kind a source needs is not served: a partial list
/// never becomes a snapshot.
pub async fn list_snapshot(
    client: &Client,
    config: &SourceConfig,
) -> Result<SourceSnapshot, KubeError> {
    let mut snapshot = SourceSnapshot::default();
    let route_kinds: Vec<RouteKind> = config.kinds.iter().filter_map(|k| k.route_kind()).collect();
    if !route_kinds.is_empty() {
        let gateways = list_gateways(client, config, &route_kinds).await?;
        for kind in route_kinds {
            for route in list_route_kind(client, config, kind).await? {
                snapshot.push(gateway::convert(&route, kind, &gateways, config));
            }
        }
    }
    if config.kinds.contains(&ResourceKind::DnsEndpoint) {
        let resource = dnsendpoint_resource(client, config).await?;
        let api = dnsendpoints(client, &resource, config);
        let what = resource.plural.clone();
        let what = format!("{what} in {}", scope(config));
        list_pages_each(&api, list_params(config), &what, |object| {
            snapshot.push(convert_dnsendpoint(object, config));
        })
        .await?;
    }
    if config.kinds.contains(&ResourceKind::Ingress) {
        let api = ingresses(client, config);
        let what = format!("ingresses in {}", scope(config));
        list_pages_each(&api, list_params(config), &what, |object| {
            snapshot.push(ingress::convert(&object, config));
        })
        .await?;
    }
    if config.kinds.contains(&ResourceKind::Service) {
        let mut table = ServiceTable::new(config);
        if table.needs_nodes() {
            let nodes =
                list_pages(&nodes(client), ListParams::default().limit(500), "nodes").await?;
            table.nodes_listed(&nodes);
        }
        if table.needs_slices() {
            let what = format!("endpointslices in {}", scope(config));
            let slices = list_pages(
                &endpoint_slices(client, config),
                ListParams::default().limit(500),
                &what,
            )
            .await?;
            table.slices_listed(&slices);
        }
        let api = services(client, config);
        let what = format!("services in {}", scope(config));
        table.begin_service_list();
        list_pages_each(&api, list_params(config), &what, |object| {
            table.service_listed(ServiceArrival::new(object, config));
        })
        .await?;
        table.end_service_list();
        snapshot
            .outcomes
            .extend(table.drain(config).replace.unwrap_or_default());
    }
    Ok(snapshot)
}

async fn list_all<K>(api: &Api<K>, config: &SourceConfig, what: &str) -> Result<Vec<K>, KubeError>
where
    K: Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    list_pages(
        api,
        list_params(config),
        &format!("{what} in {}", scope(config)),
    )
    .await
}

async fn list_pages<K>(api: &Api<K>, params: ListParams, what: &str) -> Result<Vec<K>, KubeError>
where
    K: Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let mut objects = Vec::new();
    list_pages_each(api, params, what, |object| objects.push(object)).await?;
    Ok(objects)
}

/// Lists `api` page by page, giving each object to `each` as its page arrives: only one page
/// of whole objects is held at a time.
///
/// Fails when any page cannot be read.
async fn list_pages_each<K>(
    api: &Api<K>,
    mut params: ListParams,
    what: &str,
    mut each: impl FnMut(K),
) -> Result<(), KubeError>
where
    K: Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    loop {
        let page = api.list(&params).await.map_err(|source| KubeError::List {
            what: what.to_string(),
            source,
        })?;
        let next = page.metadata.continue_.clone().filter(|c| !c.is_empty());
        page.items.into_iter().for_each(&mut each);
        match next {
            Some(token) => params = params.continue_token(&token),
            None => return Ok(()),
        }
    }
}
