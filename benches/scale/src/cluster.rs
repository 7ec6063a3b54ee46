//! The objects the harness loads into the fake Kubernetes API server: `n` Ingresses and `n`
//! LoadBalancer Services shaped like those of a real cluster (labels, a
//! `last-applied-configuration` annotation, rules with backends, ports), each asking for one host
//! name with one load-balancer address.

use serde_json::{Value, json};

/// Namespaces the objects are spread over.
const NAMESPACES: usize = 20;

/// The address of object `i` in address block `block` (one /16 per 65,536 objects).
pub fn address(block: usize, i: usize) -> String {
    format!("10.{}.{}.{}", block + i / 65_536, (i / 256) % 256, i % 256)
}

/// Addresses block of the Ingresses, the Services and the updates.
pub const INGRESS_BLOCK: usize = 0;
/// See [`INGRESS_BLOCK`].
pub const SERVICE_BLOCK: usize = 64;
/// See [`INGRESS_BLOCK`].
pub const UPDATE_BLOCK: usize = 200;

/// The namespace of object `i`.
pub fn namespace(i: usize) -> String {
    format!("team-{}", i % NAMESPACES)
}

/// The host name Ingress `i` asks for.
pub fn ingress_host(zone: &str, i: usize) -> String {
    format!("web-{i}.{zone}")
}

/// The host name Service `i` asks for.
pub fn service_host(zone: &str, i: usize) -> String {
    format!("api-{i}.{zone}")
}

/// Ingress `i`: rule host `web-<i>.<zone>`, load balancer address `ip`.
pub fn ingress(zone: &str, i: usize, ip: &str) -> Value {
    let spec = json!({
        "ingressClassName": "nginx",
        "rules": [{
            "host": ingress_host(zone, i),
            "http": {"paths": [{
                "path": "/",
                "pathType": "Prefix",
                "backend": {"service": {"name": format!("web-{i}"), "port": {"number": 80}}},
            }]},
        }],
    });
    let last_applied = json!({
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": format!("web-{i}"), "namespace": namespace(i),
                     "labels": {"app": format!("web-{i}"), "team": namespace(i)}},
        "spec": spec,
    });
    json!({
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {
            "name": format!("web-{i}"),
            "namespace": namespace(i),
            "creationTimestamp": "2026-01-01T00:00:00Z",
            "labels": {"app": format!("web-{i}"), "team": namespace(i)},
            "annotations": {
                "kubectl.kubernetes.io/last-applied-configuration": last_applied.to_string(),
            },
        },
        "spec": spec,
        "status": {"loadBalancer": {"ingress": [{"ip": ip}]}},
    })
}

/// Service `i`: type LoadBalancer, `hostname` annotation `api-<i>.<zone>`, load balancer address
/// `ip`.
pub fn service(zone: &str, i: usize, ip: &str) -> Value {
    let spec = json!({
        "type": "LoadBalancer",
        "selector": {"app": format!("api-{i}")},
        "ports": [{"name": "https", "port": 443, "targetPort": 8443, "protocol": "TCP"}],
    });
    let annotations = json!({
        "external-dns.kubernetes.io/hostname": service_host(zone, i),
    });
    let last_applied = json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": format!("api-{i}"), "namespace": namespace(i),
                     "annotations": annotations},
        "spec": spec,
    });
    let mut all_annotations = annotations;
    all_annotations["kubectl.kubernetes.io/last-applied-configuration"] =
        Value::String(last_applied.to_string());
    json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": format!("api-{i}"),
            "namespace": namespace(i),
            "creationTimestamp": "2026-01-01T00:00:00Z",
            "labels": {"app": format!("api-{i}"), "team": namespace(i)},
            "annotations": all_annotations,
        },
        "spec": spec,
        "status": {"loadBalancer": {"ingress": [{"ip": ip}]}},
    })
}

/// Every object for `n` Ingresses and `n` Services.
pub fn objects(zone: &str, n: usize) -> impl Iterator<Item = Value> + '_ {
    (0..n)
        .map(move |i| ingress(zone, i, &address(INGRESS_BLOCK, i)))
        .chain((0..n).map(move |i| service(zone, i, &address(SERVICE_BLOCK, i))))
}

/// Every `(host name, address)` the objects ask for.
pub fn expected_records(zone: &str, n: usize) -> Vec<(String, String)> {
    (0..n)
        .map(|i| (ingress_host(zone, i), address(INGRESS_BLOCK, i)))
        .chain((0..n).map(|i| (service_host(zone, i), address(SERVICE_BLOCK, i))))
        .collect()
}

/// Address block of the Gateways (Gateway API runs).
pub const GATEWAY_BLOCK: usize = 120;

/// Gateway `gw-<g>` in namespace `team-<g % 20>`: one HTTP listener admitting routes from every
/// namespace, reachable at `ip`.
pub fn gateway(g: usize, ip: &str) -> Value {
    json!({
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "Gateway",
        "metadata": {
            "name": format!("gw-{g}"),
            "namespace": namespace(g),
            "creationTimestamp": "2026-01-01T00:00:00Z",
        },
        "spec": {"gatewayClassName": "scale", "listeners": [{
            "name": "http", "protocol": "HTTP", "port": 80,
            "allowedRoutes": {"namespaces": {"from": "All"}},
        }]},
        "status": {"addresses": [{"type": "IPAddress", "value": ip}]},
    })
}

/// The host name HTTPRoute `i` asks for; `version` > 0 for its later host names.
pub fn route_host(zone: &str, i: usize, version: usize) -> String {
    if version == 0 {
        format!("route-{i}.{zone}")
    } else {
        format!("route-{i}-v{version}.{zone}")
    }
}

/// HTTPRoute `route-<i>` in `team-<i % 20>`, attached to (and accepted by) Gateway
/// `gw-<i % gateways>`, asking for `host`.
pub fn http_route(i: usize, gateways: usize, host: &str) -> Value {
    let g = i % gateways;
    let parent = json!({"name": format!("gw-{g}"), "namespace": namespace(g)});
    json!({
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {
            "name": format!("route-{i}"),
            "namespace": namespace(i),
            "creationTimestamp": "2026-01-01T00:00:00Z",
            "labels": {"app": format!("route-{i}")},
        },
        "spec": {
            "parentRefs": [parent.clone()],
            "hostnames": [host],
            "rules": [{"backendRefs": [{"name": format!("web-{i}"), "port": 80}]}],
        },
        "status": {"parents": [{
            "parentRef": parent,
            "controllerName": "example.com/gateway",
            "conditions": [{"type": "Accepted", "status": "True", "reason": "Accepted"}],
        }]},
    })
}
