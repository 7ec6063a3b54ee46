//! The Kubernetes edge: client construction, the API calls zonesync makes (one table, which
//! the RBAC manifests are checked against), and one-shot listing for `plan`/`sync`.

use std::path::Path;

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::networking::v1::Ingress;
use kube::api::{Api, ListParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

use crate::source::{ResourceKind, SourceConfig, SourceSnapshot, ingress, service};

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

/// Every Kubernetes API call zonesync makes. The RBAC rules in `deploy/` are tested against
/// this table; a new API call must be added here (and to the manifests) or the test fails.
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

/// Lists every selected Ingress and Service once, page by page, and converts them.
///
/// Fails when any page cannot be read: a partial list never becomes a snapshot.
pub async fn list_snapshot(
    client: &Client,
    config: &SourceConfig,
) -> Result<SourceSnapshot, KubeError> {
    let mut snapshot = SourceSnapshot::default();
    if config.kinds.contains(&ResourceKind::Ingress) {
        let api = ingresses(client, config);
        for object in list_all(&api, config, "ingresses").await? {
            snapshot.push(ingress::convert(&object, config));
        }
    }
    if config.kinds.contains(&ResourceKind::Service) {
        let api = services(client, config);
        for object in list_all(&api, config, "services").await? {
            snapshot.push(service::convert(&object, config));
        }
    }
    Ok(snapshot)
}

async fn list_all<K>(api: &Api<K>, config: &SourceConfig, what: &str) -> Result<Vec<K>, KubeError>
where
    K: Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let mut params = list_params(config);
    let mut objects = Vec::new();
    loop {
        let page = api.list(&params).await.map_err(|source| KubeError::List {
            what: format!("{what} in {}", scope(config)),
            source,
        })?;
        let next = page.metadata.continue_.clone().filter(|c| !c.is_empty());
        objects.extend(page.items);
        match next {
            Some(token) => params = params.continue_token(&token),
            None => return Ok(objects),
        }
    }
}
