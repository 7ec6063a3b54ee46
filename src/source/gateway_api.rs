//! Gateway API objects (`gateway.networking.k8s.io`), reduced to the fields DNS planning reads.
//!
//! Our own small serde types: unknown fields are ignored when decoding, so the full objects
//! never stay in memory. The route kinds share one [`Route`] shape; a newtype per kind carries
//! its API coordinates for the `kube` client.

use std::borrow::Cow;
use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use serde::{Deserialize, Serialize};

/// The Gateway API group.
pub const GATEWAY_GROUP: &str = "gateway.networking.k8s.io";
/// The kind a parent reference names when it leaves `kind` out.
pub const GATEWAY_KIND: &str = "Gateway";

/// The five route kinds zonesync reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RouteKind {
    /// `HTTPRoute` (`v1`).
    Http,
    /// `GRPCRoute` (`v1`).
    Grpc,
    /// `TLSRoute` (`v1`).
    Tls,
    /// `TCPRoute` (`v1alpha2`).
    Tcp,
    /// `UDPRoute` (`v1alpha2`).
    Udp,
}

impl RouteKind {
    /// Every route kind.
    pub const ALL: [RouteKind; 5] = [
        RouteKind::Http,
        RouteKind::Grpc,
        RouteKind::Tls,
        RouteKind::Tcp,
        RouteKind::Udp,
    ];

    /// The object kind (`HTTPRoute`).
    pub fn kind(self) -> &'static str {
        match self {
            RouteKind::Http => "HTTPRoute",
            RouteKind::Grpc => "GRPCRoute",
            RouteKind::Tls => "TLSRoute",
            RouteKind::Tcp => "TCPRoute",
            RouteKind::Udp => "UDPRoute",
        }
    }

    /// The API version served for it (`v1`, or `v1alpha2` for TCP and UDP routes).
    pub fn version(self) -> &'static str {
        match self {
            RouteKind::Http | RouteKind::Grpc | RouteKind::Tls => "v1",
            RouteKind::Tcp | RouteKind::Udp => "v1alpha2",
        }
    }

    /// The resource name in API paths (`httproutes`).
    pub fn plural(self) -> &'static str {
        match self {
            RouteKind::Http => "httproutes",
            RouteKind::Grpc => "grpcroutes",
            RouteKind::Tls => "tlsroutes",
            RouteKind::Tcp => "tcproutes",
            RouteKind::Udp => "udproutes",
        }
    }

    /// The `--source` value that reads it (`gateway-httproute`).
    pub fn source_name(self) -> &'static str {
        match self {
            RouteKind::Http => "gateway-httproute",
            RouteKind::Grpc => "gateway-grpcroute",
            RouteKind::Tls => "gateway-tlsroute",
            RouteKind::Tcp => "gateway-tcproute",
            RouteKind::Udp => "gateway-udproute",
        }
    }

    /// True when the route kind has `spec.hostnames` (TCP and UDP routes have none: their
    /// names come from the `hostname` annotation only).
    pub fn has_hostnames(self) -> bool {
        matches!(self, RouteKind::Http | RouteKind::Grpc | RouteKind::Tls)
    }

    /// True when a listener speaking `protocol` can carry this route kind.
    pub fn accepts_protocol(self, protocol: &str) -> bool {
        match self {
            RouteKind::Http => matches!(protocol, "HTTP" | "HTTPS"),
            RouteKind::Grpc => protocol == "HTTPS",
            RouteKind::Tls => protocol == "TLS",
            RouteKind::Tcp => matches!(protocol, "TCP" | "TLS"),
            RouteKind::Udp => protocol == "UDP",
        }
    }
}

/// A route of any kind: what DNS planning reads of it.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
pub struct Route {
    /// Name, namespace, labels, annotations, creation time.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// Host names and parents.
    #[serde(default)]
    pub spec: RouteSpec,
    /// The parents that took the route.
    #[serde(default)]
    pub status: RouteStatus,
}

/// `spec` of a route.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteSpec {
    /// `spec.hostnames` (HTTP, GRPC and TLS routes).
    #[serde(default, deserialize_with = "null_as_default")]
    pub hostnames: Vec<String>,
    /// `spec.parentRefs`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub parent_refs: Vec<ParentReference>,
}

/// `status` of a route.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
pub struct RouteStatus {
    /// One entry per parent that processed the route.
    #[serde(default, deserialize_with = "null_as_default")]
    pub parents: Vec<RouteParentStatus>,
}

/// `status.parents[]` of a route.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteParentStatus {
    /// The parent this entry is about.
    #[serde(default)]
    pub parent_ref: ParentReference,
    /// Its conditions (`Accepted`, `ResolvedRefs`, …).
    #[serde(default, deserialize_with = "null_as_default")]
    pub conditions: Vec<Condition>,
}

/// A parent reference (`spec.parentRefs[]`, `status.parents[].parentRef`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ParentReference {
    /// API group; `gateway.networking.k8s.io` when empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Kind; `Gateway` when empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Namespace; the route's when empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Name.
    #[serde(default)]
    pub name: String,
    /// One listener by name; every listener when empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub section_name: Option<String>,
    /// Only listeners on this port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<i32>,
}

/// The parts of a parent reference that identify it, with the defaults filled in.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ParentKey {
    /// API group.
    pub group: String,
    /// Kind.
    pub kind: String,
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Listener name, empty for all.
    pub section_name: String,
    /// Port, if limited to one.
    pub port: Option<i32>,
}

impl ParentReference {
    /// The reference with its defaults (group, kind, the route's namespace) filled in.
    pub fn key(&self, route_namespace: &str) -> ParentKey {
        let or = |value: &Option<String>, default: &str| {
            value
                .as_deref()
                .filter(|v| !v.is_empty())
                .unwrap_or(default)
                .to_string()
        };
        ParentKey {
            group: or(&self.group, GATEWAY_GROUP),
            kind: or(&self.kind, GATEWAY_KIND),
            namespace: or(&self.namespace, route_namespace),
            name: self.name.clone(),
            section_name: or(&self.section_name, ""),
            port: self.port,
        }
    }
}

/// A status condition: only its type and status matter here.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct Condition {
    /// `Accepted`, `ResolvedRefs`, …
    #[serde(rename = "type", default)]
    pub type_: String,
    /// `"True"`, `"False"` or `"Unknown"`.
    #[serde(default)]
    pub status: String,
}

/// A Gateway: its listeners, addresses and the annotations on it.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
pub struct Gateway {
    /// Name, namespace, labels, annotations.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// Listeners.
    #[serde(default)]
    pub spec: GatewaySpec,
    /// Addresses.
    #[serde(default)]
    pub status: GatewayStatus,
}

/// `spec` of a Gateway.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
pub struct GatewaySpec {
    /// `spec.listeners`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub listeners: Vec<Listener>,
}

/// `status` of a Gateway.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
pub struct GatewayStatus {
    /// `status.addresses`: where the Gateway can be reached.
    #[serde(default, deserialize_with = "null_as_default")]
    pub addresses: Vec<GatewayAddress>,
}

/// `status.addresses[]` of a Gateway.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct GatewayAddress {
    /// An IP address or a host name.
    #[serde(default)]
    pub value: String,
}

/// `spec.listeners[]` of a Gateway.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Listener {
    /// Name (what a `sectionName` refers to).
    #[serde(default)]
    pub name: String,
    /// Host name, possibly a wildcard; any host when empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// Port.
    #[serde(default)]
    pub port: i32,
    /// `HTTP`, `HTTPS`, `TLS`, `TCP`, `UDP`.
    #[serde(default)]
    pub protocol: String,
    /// Which routes may attach.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_routes: Option<AllowedRoutes>,
}

/// `allowedRoutes` of a listener.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
pub struct AllowedRoutes {
    /// From which namespaces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespaces: Option<RouteNamespaces>,
    /// Which kinds; any kind the protocol allows when empty.
    #[serde(default, deserialize_with = "null_as_default")]
    pub kinds: Vec<RouteGroupKind>,
}

/// `allowedRoutes.namespaces` of a listener.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
pub struct RouteNamespaces {
    /// `Same` (the default), `All` or `Selector`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// The namespace label selector for `Selector`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<LabelSelector>,
}

/// `allowedRoutes.kinds[]` of a listener.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct RouteGroupKind {
    /// API group; `gateway.networking.k8s.io` when empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Kind.
    #[serde(default)]
    pub kind: String,
}

impl Listener {
    /// True when a listener lets routes in only from namespaces matching a label selector.
    pub fn uses_namespace_selector(&self) -> bool {
        self.allowed_routes
            .as_ref()
            .and_then(|a| a.namespaces.as_ref())
            .and_then(|n| n.from.as_deref())
            == Some("Selector")
    }
}

/// A `v1` Namespace, for its labels.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
pub struct NamespaceLabels {
    /// Name and labels.
    #[serde(default)]
    pub metadata: ObjectMeta,
}

impl NamespaceLabels {
    /// The namespace's labels.
    pub fn labels(&self) -> &BTreeMap<String, String> {
        static EMPTY: BTreeMap<String, String> = BTreeMap::new();
        self.metadata.labels.as_ref().unwrap_or(&EMPTY)
    }
}

/// Treats an explicit `null` like a missing field.
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

macro_rules! kube_resource {
    ($type:ty, $field:tt, $group:expr, $version:expr, $kind:expr, $plural:expr, $scope:ty) => {
        impl kube::Resource for $type {
            type DynamicType = ();
            type Scope = $scope;

            fn kind(_: &()) -> Cow<'_, str> {
                Cow::Borrowed($kind)
            }

            fn group(_: &()) -> Cow<'_, str> {
                Cow::Borrowed($group)
            }

            fn version(_: &()) -> Cow<'_, str> {
                Cow::Borrowed($version)
            }

            fn plural(_: &()) -> Cow<'_, str> {
                Cow::Borrowed($plural)
            }

            fn meta(&self) -> &ObjectMeta {
                &self.$field.metadata
            }

            fn meta_mut(&mut self) -> &mut ObjectMeta {
                &mut self.$field.metadata
            }
        }
    };
}

/// `gateway.networking.k8s.io/v1` Gateway, for the `kube` client.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(transparent)]
pub struct GatewayObject(pub Gateway);

kube_resource!(
    GatewayObject,
    0,
    GATEWAY_GROUP,
    "v1",
    "Gateway",
    "gateways",
    kube::core::NamespaceResourceScope
);

/// `v1` Namespace labels, for the `kube` client.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(transparent)]
pub struct NamespaceObject(pub NamespaceLabels);

kube_resource!(
    NamespaceObject,
    0,
    "",
    "v1",
    "Namespace",
    "namespaces",
    kube::core::ClusterResourceScope
);

macro_rules! route_type {
    ($name:ident, $route_kind:expr, $version:literal, $kind:literal, $plural:literal) => {
        #[doc = concat!("`gateway.networking.k8s.io/", $version, "` ", $kind, ", for the `kube` client.")]
        #[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
        #[serde(transparent)]
        pub struct $name(pub Route);

        impl $name {
            /// Its route kind.
            pub const KIND: RouteKind = $route_kind;
        }

        impl From<$name> for Route {
            fn from(object: $name) -> Route {
                object.0
            }
        }

        kube_resource!(
            $name,
            0,
            GATEWAY_GROUP,
            $version,
            $kind,
            $plural,
            kube::core::NamespaceResourceScope
        );
    };
}

route_type!(
    HttpRouteObject,
    RouteKind::Http,
    "v1",
    "HTTPRoute",
    "httproutes"
);
route_type!(
    GrpcRouteObject,
    RouteKind::Grpc,
    "v1",
    "GRPCRoute",
    "grpcroutes"
);
route_type!(
    TlsRouteObject,
    RouteKind::Tls,
    "v1",
    "TLSRoute",
    "tlsroutes"
);
route_type!(
    TcpRouteObject,
    RouteKind::Tcp,
    "v1alpha2",
    "TCPRoute",
    "tcproutes"
);
route_type!(
    UdpRouteObject,
    RouteKind::Udp,
    "v1alpha2",
    "UDPRoute",
    "udproutes"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_routes_with_nulls_and_unknown_fields() {
        let route: Route = serde_json::from_value(serde_json::json!({
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "HTTPRoute",
            "metadata": {"name": "web", "namespace": "shop"},
            "spec": {"hostnames": null, "parentRefs": [{"name": "gw", "sectionName": "https"}],
                     "rules": [{"backendRefs": [{"name": "svc", "port": 80}]}]},
            "status": {"parents": [{"parentRef": {"name": "gw"}, "controllerName": "x",
                        "conditions": [{"type": "Accepted", "status": "True", "reason": "Accepted"}]}]}
        }))
        .unwrap();
        assert!(route.spec.hostnames.is_empty());
        assert_eq!(
            route.spec.parent_refs[0].key("shop"),
            ParentKey {
                group: GATEWAY_GROUP.into(),
                kind: "Gateway".into(),
                namespace: "shop".into(),
                name: "gw".into(),
                section_name: "https".into(),
                port: None,
            }
        );
        assert_eq!(route.status.parents[0].conditions[0].status, "True");
    }

    #[test]
    fn route_kinds_match_their_protocols() {
        assert!(RouteKind::Http.accepts_protocol("HTTPS"));
        assert!(!RouteKind::Grpc.accepts_protocol("HTTP"));
        assert!(RouteKind::Tcp.accepts_protocol("TLS"));
        assert!(!RouteKind::Udp.accepts_protocol("TCP"));
        assert!(!RouteKind::Tls.accepts_protocol("HTTPS"));
    }
}
