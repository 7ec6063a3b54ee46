//! The resource types the fake serves, and how a request path names one of them.

use std::borrow::Cow;

/// A Kubernetes resource type the fake API server serves: its group, version, kind, plural and
/// scope. The built-in ones are the associated constants; [`ResourceType::new`] describes another
/// (a custom resource, say) for [`FakeApiServerBuilder::resource`](super::FakeApiServerBuilder::resource).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ResourceType {
    group: Cow<'static, str>,
    version: Cow<'static, str>,
    kind: Cow<'static, str>,
    plural: Cow<'static, str>,
    namespaced: bool,
    status_subresource: bool,
}

impl ResourceType {
    /// `v1` Services: namespaced, with a `status` subresource.
    pub const SERVICE: Self = Self::builtin("", "v1", "Service", "services", true, true);
    /// `networking.k8s.io/v1` Ingresses: namespaced, with a `status` subresource.
    pub const INGRESS: Self = Self::builtin(
        "networking.k8s.io",
        "v1",
        "Ingress",
        "ingresses",
        true,
        true,
    );
    /// `coordination.k8s.io/v1` Leases: namespaced, no subresource.
    pub const LEASE: Self =
        Self::builtin("coordination.k8s.io", "v1", "Lease", "leases", true, false);
    /// The legacy `v1` Events (`core/v1`): namespaced.
    pub const CORE_EVENT: Self = Self::builtin("", "v1", "Event", "events", true, false);
    /// `events.k8s.io/v1` Events, the ones `kube::runtime::events::Recorder` writes: namespaced.
    pub const EVENT: Self = Self::builtin("events.k8s.io", "v1", "Event", "events", true, false);
    /// `v1` Namespaces: cluster-scoped, with a `status` subresource. Served so that cluster-scoped
    /// paths work; namespaced objects do not need their namespace to exist.
    pub const NAMESPACE: Self = Self::builtin("", "v1", "Namespace", "namespaces", false, true);
    /// `v1` Nodes: cluster-scoped, with a `status` subresource.
    pub const NODE: Self = Self::builtin("", "v1", "Node", "nodes", false, true);
    /// `discovery.k8s.io/v1` EndpointSlices: namespaced, no subresource.
    pub const ENDPOINT_SLICE: Self = Self::builtin(
        "discovery.k8s.io",
        "v1",
        "EndpointSlice",
        "endpointslices",
        true,
        false,
    );

    /// `gateway.networking.k8s.io/v1` Gateways: namespaced, with a `status` subresource.
    pub const GATEWAY: Self = Self::builtin(
        "gateway.networking.k8s.io",
        "v1",
        "Gateway",
        "gateways",
        true,
        true,
    );
    /// `gateway.networking.k8s.io/v1` HTTPRoutes: namespaced, with a `status` subresource.
    pub const HTTP_ROUTE: Self = Self::builtin(
        "gateway.networking.k8s.io",
        "v1",
        "HTTPRoute",
        "httproutes",
        true,
        true,
    );
    /// `gateway.networking.k8s.io/v1` GRPCRoutes: namespaced, with a `status` subresource.
    pub const GRPC_ROUTE: Self = Self::builtin(
        "gateway.networking.k8s.io",
        "v1",
        "GRPCRoute",
        "grpcroutes",
        true,
        true,
    );
    /// `gateway.networking.k8s.io/v1` TLSRoutes: namespaced, with a `status` subresource.
    pub const TLS_ROUTE: Self = Self::builtin(
        "gateway.networking.k8s.io",
        "v1",
        "TLSRoute",
        "tlsroutes",
        true,
        true,
    );
    /// `gateway.networking.k8s.io/v1alpha2` TCPRoutes: namespaced, with a `status` subresource.
    pub const TCP_ROUTE: Self = Self::builtin(
        "gateway.networking.k8s.io",
        "v1alpha2",
        "TCPRoute",
        "tcproutes",
        true,
        true,
    );
    /// `gateway.networking.k8s.io/v1alpha2` UDPRoutes: namespaced, with a `status` subresource.
    pub const UDP_ROUTE: Self = Self::builtin(
        "gateway.networking.k8s.io",
        "v1alpha2",
        "UDPRoute",
        "udproutes",
        true,
        true,
    );
    /// external-dns's `externaldns.k8s.io/v1alpha1` DNSEndpoints: namespaced, with a `status`
    /// subresource.
    pub const DNS_ENDPOINT: Self = Self::builtin(
        "externaldns.k8s.io",
        "v1alpha1",
        "DNSEndpoint",
        "dnsendpoints",
        true,
        true,
    );

    /// The Gateway API types (Gateways and the five route kinds), served only when added with
    /// [`FakeApiServerBuilder::resources`](super::FakeApiServerBuilder::resources): a cluster
    /// without the Gateway API CRDs does not serve them.
    pub const GATEWAY_API: [Self; 6] = [
        Self::GATEWAY,
        Self::HTTP_ROUTE,
        Self::GRPC_ROUTE,
        Self::TLS_ROUTE,
        Self::TCP_ROUTE,
        Self::UDP_ROUTE,
    ];

    /// Every resource type a server serves unless told otherwise.
    pub const BUILTIN: [Self; 8] = [
        Self::SERVICE,
        Self::INGRESS,
        Self::LEASE,
        Self::CORE_EVENT,
        Self::EVENT,
        Self::NAMESPACE,
        Self::NODE,
        Self::ENDPOINT_SLICE,
    ];

    const fn builtin(
        group: &'static str,
        version: &'static str,
        kind: &'static str,
        plural: &'static str,
        namespaced: bool,
        status_subresource: bool,
    ) -> Self {
        Self {
            group: Cow::Borrowed(group),
            version: Cow::Borrowed(version),
            kind: Cow::Borrowed(kind),
            plural: Cow::Borrowed(plural),
            namespaced,
            status_subresource,
        }
    }

    /// Describes another resource type from its `apiVersion` (`group/version`, or `v1` for the core
    /// group), kind and plural; namespaced or cluster-scoped, without subresources.
    pub fn new(api_version: &str, kind: &str, plural: &str, namespaced: bool) -> Self {
        let (group, version) = split_api_version(api_version);
        Self {
            group: Cow::Owned(group.to_owned()),
            version: Cow::Owned(version.to_owned()),
            kind: Cow::Owned(kind.to_owned()),
            plural: Cow::Owned(plural.to_owned()),
            namespaced,
            status_subresource: false,
        }
    }

    /// The same type with a `status` subresource: writes to the main resource then keep the stored
    /// status, and writes to `/status` change only the status.
    #[must_use]
    pub fn with_status_subresource(mut self) -> Self {
        self.status_subresource = true;
        self
    }

    /// The API group; empty for the core group.
    pub fn group(&self) -> &str {
        &self.group
    }

    /// The API version within the group (`v1`).
    pub fn version(&self) -> &str {
        &self.version
    }

    /// `group/version`, or just the version for the core group: the objects' `apiVersion`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// The objects' `kind`.
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// The plural name used in request paths (`services`).
    pub fn plural(&self) -> &str {
        &self.plural
    }

    /// Whether objects live in a namespace.
    pub fn is_namespaced(&self) -> bool {
        self.namespaced
    }

    /// Whether the type has a `status` subresource.
    pub fn has_status_subresource(&self) -> bool {
        self.status_subresource
    }

    /// Whether an object with this `apiVersion` and `kind` is of this type.
    pub fn matches(&self, api_version: &str, kind: &str) -> bool {
        let (group, version) = split_api_version(api_version);
        self.kind == kind && self.group == group && self.version == version
    }

    /// `plural.group` (or just `plural` for the core group), as the API server names a resource in
    /// its messages.
    pub(crate) fn qualified_plural(&self) -> String {
        if self.group.is_empty() {
            self.plural.to_string()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }
}

/// Splits an `apiVersion` into group and version (`v1` → `("", "v1")`).
pub(crate) fn split_api_version(api_version: &str) -> (&str, &str) {
    match api_version.rsplit_once('/') {
        Some((group, version)) => (group, version),
        None => ("", api_version),
    }
}

/// The resource a request path addresses, once split.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ResourcePath {
    /// Index of the resource type in the server's registry.
    pub type_index: usize,
    /// The namespace in the path, if any.
    pub namespace: Option<String>,
    /// The object name, if the path names one.
    pub name: Option<String>,
    /// The subresource (`status`), if any.
    pub subresource: Option<String>,
}

/// What a request path addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum PathTarget {
    /// `/version`.
    Version,
    /// `/api`: the core group's versions.
    CoreVersions,
    /// `/apis`: the group list.
    GroupList,
    /// `/apis/<group>`: one group.
    Group(String),
    /// `/api/v1` or `/apis/<group>/<version>`: the resources of a group version.
    ResourceList { group: String, version: String },
    /// `/healthz`, `/livez`, `/readyz`.
    Health,
    /// A resource collection or object.
    Resource(ResourcePath),
    /// Anything else.
    Unknown,
}

/// Splits a request path into what it addresses, given the served resource types.
pub(crate) fn parse_path(path: &str, types: &[ResourceType]) -> PathTarget {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (group, version, rest) = match segments.as_slice() {
        ["version"] => return PathTarget::Version,
        ["healthz" | "livez" | "readyz", ..] => return PathTarget::Health,
        ["api"] => return PathTarget::CoreVersions,
        ["apis"] => return PathTarget::GroupList,
        ["apis", group] => return PathTarget::Group((*group).to_owned()),
        ["api", version] => {
            return PathTarget::ResourceList {
                group: String::new(),
                version: (*version).to_owned(),
            };
        }
        ["apis", group, version] => {
            return PathTarget::ResourceList {
                group: (*group).to_owned(),
                version: (*version).to_owned(),
            };
        }
        ["api", version, rest @ ..] => ("", *version, rest),
        ["apis", group, version, rest @ ..] => (*group, *version, rest),
        _ => return PathTarget::Unknown,
    };
    let find = |plural: &str, namespaced: bool| {
        types.iter().position(|t| {
            t.group == group
                && t.version == version
                && t.plural == plural
                && t.namespaced == namespaced
        })
    };
    let path = |type_index, namespace: Option<&str>, rest: &[&str]| {
        let owned = |s: Option<&&str>| s.map(|s| (*s).to_owned());
        if rest.len() > 2 {
            return PathTarget::Unknown;
        }
        PathTarget::Resource(ResourcePath {
            type_index,
            namespace: namespace.map(str::to_owned),
            name: owned(rest.first()),
            subresource: owned(rest.get(1)),
        })
    };
    // `namespaces/<ns>/<plural>/...` is a namespaced resource; `namespaces/<name>` itself is the
    // cluster-scoped Namespace.
    if let ["namespaces", namespace, plural, tail @ ..] = rest
        && let Some(index) = find(plural, true)
    {
        return path(index, Some(namespace), tail);
    }
    match rest {
        [plural, tail @ ..] => {
            if let Some(index) = find(plural, false) {
                path(index, None, tail)
            } else if let Some(index) = find(plural, true) {
                // A namespaced type across all namespaces: only the collection exists.
                if tail.is_empty() {
                    path(index, None, tail)
                } else {
                    PathTarget::Unknown
                }
            } else {
                PathTarget::Unknown
            }
        }
        [] => PathTarget::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resource(path: &str) -> Option<ResourcePath> {
        match parse_path(path, &ResourceType::BUILTIN) {
            PathTarget::Resource(r) => Some(r),
            _ => None,
        }
    }

    #[test]
    fn splits_namespaced_cluster_and_subresource_paths() {
        let r = resource("/api/v1/namespaces/ns1/services/web/status").unwrap();
        assert_eq!(ResourceType::BUILTIN[r.type_index], ResourceType::SERVICE);
        assert_eq!(r.namespace.as_deref(), Some("ns1"));
        assert_eq!(r.name.as_deref(), Some("web"));
        assert_eq!(r.subresource.as_deref(), Some("status"));

        let r = resource("/apis/networking.k8s.io/v1/ingresses").unwrap();
        assert_eq!(ResourceType::BUILTIN[r.type_index], ResourceType::INGRESS);
        assert_eq!((r.namespace, r.name), (None, None));

        let r = resource("/apis/events.k8s.io/v1/namespaces/a/events").unwrap();
        assert_eq!(ResourceType::BUILTIN[r.type_index], ResourceType::EVENT);

        let r = resource("/api/v1/namespaces/kube-system").unwrap();
        assert_eq!(ResourceType::BUILTIN[r.type_index], ResourceType::NAMESPACE);
        assert_eq!(r.name.as_deref(), Some("kube-system"));

        assert!(
            resource("/api/v1/services/web").is_none(),
            "namespaced objects need a namespace"
        );
        assert!(resource("/apis/apps/v1/deployments").is_none());
        assert_eq!(parse_path("/apis", &[]), PathTarget::GroupList);
        assert_eq!(parse_path("/version", &[]), PathTarget::Version);
    }

    #[test]
    fn api_versions_round_trip() {
        assert_eq!(ResourceType::LEASE.api_version(), "coordination.k8s.io/v1");
        assert_eq!(ResourceType::SERVICE.api_version(), "v1");
        assert!(ResourceType::EVENT.matches("events.k8s.io/v1", "Event"));
        assert!(!ResourceType::CORE_EVENT.matches("events.k8s.io/v1", "Event"));
        let custom = ResourceType::new(
            "externaldns.k8s.io/v1alpha1",
            "DNSEndpoint",
            "dnsendpoints",
            true,
        );
        assert_eq!(custom.group(), "externaldns.k8s.io");
        assert_eq!(custom.qualified_plural(), "dnsendpoints.externaldns.k8s.io");
    }
}
