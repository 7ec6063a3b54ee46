//! Checks shared by the kustomize tree's tests (`deploy`) and the Helm chart's (`helm`): a
//! manifest keeps every field through its Kubernetes type, RBAC rules equal the API calls in
//! `src/cluster.rs`, pods are hardened and probe the real endpoints, and container arguments
//! are accepted by the binary itself.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use k8s_openapi::api::core::v1::{Container, PodSpec};
use k8s_openapi::api::rbac::v1::PolicyRule;
use serde_json::Value;
use zonesync::cluster::API_ACCESS;

use crate::common::{run, zonesync};

/// (API group, resource) → verbs.
pub type Access = BTreeMap<(String, String), BTreeSet<String>>;

/// Deserialises into `K` and back; the result must equal the input, so a misspelt or misplaced
/// field (which the typed parse would drop) fails the test. `origin` names the manifest.
pub fn round_trip<K>(origin: &Path, value: &Value) -> K
where
    K: serde::de::DeserializeOwned + serde::Serialize,
{
    let typed: K = serde_json::from_value(value.clone())
        .unwrap_or_else(|e| panic!("{}: {e}", origin.display()));
    let back = serde_json::to_value(&typed).unwrap();
    assert_eq!(
        strip_nulls(value.clone()),
        strip_nulls(back),
        "{}: a field does not belong to {}",
        origin.display(),
        std::any::type_name::<K>()
    );
    typed
}

fn strip_nulls(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, strip_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(strip_nulls).collect()),
        other => other,
    }
}

/// (group, resource) → verbs, from a set of rules.
pub fn rules_to_access(rules: &[PolicyRule]) -> Access {
    let mut access = Access::new();
    for rule in rules {
        for group in rule.api_groups.iter().flatten() {
            for resource in rule.resources.iter().flatten() {
                access
                    .entry((group.clone(), resource.clone()))
                    .or_default()
                    .extend(rule.verbs.iter().cloned());
            }
        }
    }
    access
}

/// Whether zonesync calls `resource` of `group` when it reads `sources` (`--source` values):
/// Gateway API calls (and namespace reads, for listeners' namespace selectors) only for
/// `gateway-*` sources, each route resource only for its own source, DNSEndpoint calls only
/// for `crd`, Node and EndpointSlice reads (for NodePort and headless Services) only for
/// `service`; everything else always.
pub fn needed_by_sources(group: &str, resource: &str, sources: &[&str]) -> bool {
    let gateway = sources.iter().any(|s| s.starts_with("gateway-"));
    match (group, resource) {
        ("gateway.networking.k8s.io", "gateways") | ("", "namespaces") => gateway,
        ("gateway.networking.k8s.io", route) => sources
            .iter()
            .filter_map(|s| s.strip_prefix("gateway-"))
            .any(|kind| format!("{kind}s") == route),
        ("externaldns.k8s.io", _) => sources.contains(&"crd"),
        ("", "nodes") | ("discovery.k8s.io", "endpointslices") => sources.contains(&"service"),
        _ => true,
    }
}

/// The part of API_ACCESS zonesync uses with `sources`, cluster-wide (`own_namespace` false)
/// or in its own namespace (true).
pub fn expected_access(own_namespace: bool, sources: &[&str]) -> Access {
    API_ACCESS
        .iter()
        .filter(|a| {
            a.own_namespace_only == own_namespace && needed_by_sources(a.group, a.resource, sources)
        })
        .map(|a| {
            (
                (a.group.to_string(), a.resource.to_string()),
                a.verbs.iter().map(|v| v.to_string()).collect(),
            )
        })
        .collect()
}

/// The container at a JSON pointer.
pub fn container_at(value: &Value, pointer: &str) -> Container {
    serde_json::from_value(value.pointer(pointer).unwrap().clone()).unwrap()
}

/// What a pod runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workload {
    /// `zonesync run`: probes on the metrics port.
    Controller,
    /// `zonesync sync`, from a CronJob.
    OneShot,
}

/// The zonesync container of a pod.
pub fn zonesync_container<'a>(origin: &str, pod: &'a PodSpec) -> &'a Container {
    pod.containers
        .iter()
        .find(|c| c.name == "zonesync")
        .unwrap_or_else(|| panic!("{origin}: no container named zonesync"))
}

/// Non-root, RuntimeDefault seccomp, and for every container (sidecars included): read-only
/// root filesystem, no privilege escalation, every capability dropped, a memory request and
/// limit, and — for long-running containers — liveness and readiness probes. The controller's
/// probes must be `/healthz` and `/readyz` on the port `--metrics-address` opens.
pub fn assert_pod_hardened(origin: &str, pod: &PodSpec, workload: Workload) {
    let pod_security = pod.security_context.as_ref().expect("pod securityContext");
    assert_eq!(pod_security.run_as_non_root, Some(true), "{origin}");
    assert_eq!(
        pod_security
            .seccomp_profile
            .as_ref()
            .map(|p| p.type_.as_str()),
        Some("RuntimeDefault"),
        "{origin}"
    );
    // Only native sidecars may run beside zonesync; a plain init container would need its
    // own review.
    let sidecars = pod.init_containers.iter().flatten();
    for sidecar in sidecars.clone() {
        assert_eq!(
            sidecar.restart_policy.as_deref(),
            Some("Always"),
            "{origin}: init container {} is not a sidecar",
            sidecar.name
        );
    }
    for container in pod.containers.iter().chain(sidecars) {
        let name = format!("{origin}: container {}", container.name);
        let security = container.security_context.clone().expect(&name);
        assert_eq!(security.read_only_root_filesystem, Some(true), "{name}");
        assert_eq!(security.allow_privilege_escalation, Some(false), "{name}");
        assert_eq!(
            security.capabilities.and_then(|c| c.drop),
            Some(vec!["ALL".to_string()]),
            "{name}"
        );
        assert_ne!(security.run_as_non_root, Some(false), "{name}");
        assert_ne!(security.run_as_user, Some(0), "{name}");
        assert_ne!(security.privileged, Some(true), "{name}");
        let resources = container.resources.as_ref().expect(&name);
        for (what, quantities) in [
            ("limits", &resources.limits),
            ("requests", &resources.requests),
        ] {
            assert!(
                quantities
                    .as_ref()
                    .is_some_and(|q| q.contains_key("memory")),
                "{name}: no memory {what}"
            );
        }
        let long_running = container.name != "zonesync" || workload == Workload::Controller;
        if long_running {
            assert!(
                container.liveness_probe.is_some(),
                "{name}: no liveness probe"
            );
            assert!(
                container.readiness_probe.is_some(),
                "{name}: no readiness probe"
            );
        }
    }

    let zonesync = zonesync_container(origin, pod);
    let args = zonesync.args.clone().unwrap_or_default();
    match workload {
        Workload::OneShot => assert_eq!(args.first().map(String::as_str), Some("sync")),
        Workload::Controller => {
            assert_eq!(args.first().map(String::as_str), Some("run"), "{origin}");
            let metrics_port: i32 = args
                .iter()
                .find_map(|a| a.strip_prefix("--metrics-address=:"))
                .unwrap_or_else(|| panic!("{origin}: no --metrics-address=:PORT in {args:?}"))
                .parse()
                .unwrap();
            for (probe, path) in [
                (&zonesync.liveness_probe, "/healthz"),
                (&zonesync.readiness_probe, "/readyz"),
            ] {
                let http = probe.as_ref().and_then(|p| p.http_get.as_ref()).unwrap();
                assert_eq!(http.path.as_deref(), Some(path), "{origin}");
                let port = zonesync
                    .ports
                    .iter()
                    .flatten()
                    .find(|p| match &http.port {
                        k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(n) => {
                            p.container_port == *n
                        }
                        k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::String(name) => {
                            p.name.as_deref() == Some(name.as_str())
                        }
                    })
                    .unwrap_or_else(|| {
                        panic!("{origin}: probe port {:?} is not declared", http.port)
                    });
                assert_eq!(port.container_port, metrics_port, "{origin}: {path}");
            }
        }
    }
}

/// Runs `zonesync <args> --check-config` with `env`, after replacing each in-cluster path of
/// `files` (in arguments and values) by its local stand-in; asserts that the binary accepts
/// it and returns the configuration it printed.
pub fn accepted_by_the_binary(
    origin: &str,
    args: &[String],
    env: &[(String, String)],
    files: &[(&str, &Path)],
) -> String {
    let local = |text: &str| {
        let mut text = text.to_string();
        for (in_cluster, stand_in) in files {
            text = text.replace(in_cluster, &stand_in.display().to_string());
        }
        text
    };
    let mut command = zonesync();
    command
        .args(args.iter().map(|a| local(a)))
        .arg("--check-config");
    for (key, value) in env {
        command.env(key, local(value));
    }
    let result = run(&mut command);
    assert_eq!(
        result.code,
        0,
        "{origin}: {args:?} {env:?}: {}",
        result.both()
    );
    assert!(
        result.stdout.contains("configuration is valid"),
        "{}",
        result.both()
    );
    result.stdout
}
