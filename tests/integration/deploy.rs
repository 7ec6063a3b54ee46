//! Keeps `deploy/` honest without a cluster: every manifest parses into its Kubernetes type
//! without losing a field, the kustomizations point at files that exist, the RBAC rules are
//! exactly the API calls zonesync makes, and the container arguments and settings are accepted
//! by the binary's own parser.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::CronJob;
use k8s_openapi::api::core::v1::{Namespace, Secret, ServiceAccount};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use serde_json::Value;
use zonesync::cluster::API_ACCESS;
use zonesync_test_support::kube_api::{FakeApiServer, ResourceType, Verb};

use crate::common::{cluster_to_zonefiles, repo_root, run, write, zonesync};
use crate::workload_checks::{
    Workload, assert_pod_hardened, container_at, expected_access, round_trip, rules_to_access,
};

pub fn deploy_dir() -> PathBuf {
    repo_root().join("deploy")
}

/// Every whole manifest of the kustomize tree under deploy/ (examples, the Helm chart,
/// kustomizations and patches aside): (file, document).
pub fn manifests() -> Vec<(PathBuf, Value)> {
    let patches = patch_files();
    let mut found = Vec::new();
    collect(&deploy_dir(), &mut found);
    found.retain(|(path, _)| !patches.contains(path));
    found
}

/// Every kustomization file under deploy/.
fn kustomizations() -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![deploy_dir()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.file_name().unwrap() == "kustomization.yaml" {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

fn kustomization(path: &Path) -> Value {
    serde_saphyr::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Files used as patches by some kustomization.
fn patch_files() -> BTreeSet<PathBuf> {
    let mut patches = BTreeSet::new();
    for path in kustomizations() {
        let value = kustomization(&path);
        for patch in value["patches"].as_array().into_iter().flatten() {
            patches.insert(path.parent().unwrap().join(patch["path"].as_str().unwrap()));
        }
    }
    patches
}

/// Strategic-merge-style overlay: maps merge, lists of named objects merge by name, anything
/// else is replaced.
fn merge(base: &mut Value, patch: &Value) {
    match (base, patch) {
        (Value::Object(base), Value::Object(patch)) => {
            for (key, value) in patch {
                merge(base.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
        (Value::Array(base), Value::Array(patch))
            if patch.iter().all(|item| item.get("name").is_some()) =>
        {
            for item in patch {
                match base.iter_mut().find(|b| b.get("name") == item.get("name")) {
                    Some(existing) => merge(existing, item),
                    None => base.push(item.clone()),
                }
            }
        }
        (base, patch) => *base = patch.clone(),
    }
}

#[test]
fn patches_apply_to_the_workloads_they_target() {
    let manifests = manifests();
    let patches = patch_files();
    assert!(patches.len() >= 3, "{patches:?}");
    for path in patches {
        let text = std::fs::read_to_string(&path).unwrap();
        let patch: Value = serde_saphyr::from_str(&text).unwrap();
        let kind = patch["kind"].as_str().unwrap();
        let name = patch["metadata"]["name"].as_str().unwrap();
        let (_, base) = manifests
            .iter()
            .find(|(_, v)| v["kind"] == kind && v["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("{}: no {kind} {name} to patch", path.display()));
        let mut merged = base.clone();
        merge(&mut merged, &patch);
        match kind {
            "Deployment" => drop(round_trip::<Deployment>(&path, &merged)),
            "CronJob" => drop(round_trip::<CronJob>(&path, &merged)),
            "ServiceAccount" => drop(round_trip::<ServiceAccount>(&path, &merged)),
            other => panic!("{}: unexpected patch of {other}", path.display()),
        }
        // A patch must change the existing container, not add a second one.
        let containers = |v: &Value| {
            [
                "/spec/template/spec/containers",
                "/spec/jobTemplate/spec/template/spec/containers",
            ]
            .iter()
            .find_map(|p| v.pointer(p))
            .and_then(Value::as_array)
            .map_or(0, Vec::len)
        };
        assert_eq!(
            containers(&merged),
            containers(base),
            "{}: the patch adds a container",
            path.display()
        );
    }
}

fn collect(dir: &Path, found: &mut Vec<(PathBuf, Value)>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            if !["examples", "chart"].contains(&path.file_name().unwrap().to_str().unwrap()) {
                collect(&path, found);
            }
            continue;
        }
        let is_yaml = path.extension().is_some_and(|e| e == "yaml");
        if !is_yaml || path.file_name().unwrap() == "kustomization.yaml" {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let documents: Vec<Value> = serde_saphyr::from_multiple(&text)
            .unwrap_or_else(|e| panic!("{} is not valid YAML: {e}", path.display()));
        for document in documents {
            found.push((path.clone(), document));
        }
    }
}

#[test]
fn every_manifest_parses_into_its_type() {
    let manifests = manifests();
    assert!(manifests.len() >= 9, "found {}", manifests.len());
    for (path, value) in &manifests {
        let kind = value["kind"].as_str().unwrap_or_default();
        match kind {
            "Namespace" => drop(round_trip::<Namespace>(path, value)),
            "ServiceAccount" => drop(round_trip::<ServiceAccount>(path, value)),
            "ClusterRole" => drop(round_trip::<ClusterRole>(path, value)),
            "ClusterRoleBinding" => drop(round_trip::<ClusterRoleBinding>(path, value)),
            "Role" => drop(round_trip::<Role>(path, value)),
            "RoleBinding" => drop(round_trip::<RoleBinding>(path, value)),
            "Deployment" => drop(round_trip::<Deployment>(path, value)),
            "PodDisruptionBudget" => drop(round_trip::<PodDisruptionBudget>(path, value)),
            "CronJob" => drop(round_trip::<CronJob>(path, value)),
            "Secret" => drop(round_trip::<Secret>(path, value)),
            other => panic!("{}: unexpected kind {other:?}", path.display()),
        }
    }
}

#[test]
fn kustomizations_reference_existing_files() {
    let mut checked = 0;
    for path in kustomizations() {
        {
            checked += 1;
            let value = kustomization(&path);
            let base = path.parent().unwrap();
            let mut references: Vec<String> = Vec::new();
            for key in ["resources", "components"] {
                for item in value[key].as_array().into_iter().flatten() {
                    references.push(item.as_str().unwrap().to_string());
                }
            }
            for patch in value["patches"].as_array().into_iter().flatten() {
                references.push(patch["path"].as_str().unwrap().to_string());
            }
            for generator in value["configMapGenerator"].as_array().into_iter().flatten() {
                for env in generator["envs"].as_array().into_iter().flatten() {
                    references.push(env.as_str().unwrap().to_string());
                }
            }
            assert!(
                !references.is_empty() || value["images"].is_array(),
                "{} references nothing",
                path.display()
            );
            for reference in references {
                let target = base.join(&reference);
                assert!(
                    target.exists(),
                    "{} references missing {reference}",
                    path.display()
                );
                if target.is_dir() {
                    assert!(
                        target.join("kustomization.yaml").exists(),
                        "{reference} is not a kustomization"
                    );
                }
            }
        }
    }
    assert!(checked >= 9, "checked {checked} kustomizations");
    for flavour in [
        "route53",
        "rfc2136",
        "webhook",
        "route53-cronjob",
        "rfc2136-cronjob",
        "webhook-cronjob",
    ] {
        assert!(
            deploy_dir()
                .join("overlays")
                .join(flavour)
                .join("kustomization.yaml")
                .exists()
        );
    }
}

/// The sources the kustomize tree grants access for.
const KUSTOMIZE_SOURCES: &[&str] = &["ingress", "service"];

#[test]
fn rbac_grants_exactly_what_the_code_uses() {
    let manifests = manifests();
    let cluster_role: ClusterRole = manifests
        .iter()
        .find(|(_, v)| v["kind"] == "ClusterRole")
        .map(|(p, v)| round_trip(p, v))
        .unwrap();
    let role: Role = manifests
        .iter()
        .find(|(_, v)| v["kind"] == "Role")
        .map(|(p, v)| round_trip(p, v))
        .unwrap();
    assert_eq!(
        rules_to_access(cluster_role.rules.as_deref().unwrap_or_default()),
        expected_access(false, KUSTOMIZE_SOURCES),
        "the ClusterRole must grant exactly src/cluster.rs API_ACCESS"
    );
    assert_eq!(
        rules_to_access(role.rules.as_deref().unwrap_or_default()),
        expected_access(true, KUSTOMIZE_SOURCES),
        "the Role must grant exactly the namespaced part of API_ACCESS"
    );
    assert_eq!(role.metadata.namespace.as_deref(), Some("zonesync"));
    for binding in ["ClusterRoleBinding", "RoleBinding"] {
        let (_, value) = manifests
            .iter()
            .find(|(_, v)| v["kind"] == binding)
            .unwrap();
        assert_eq!(value["subjects"][0]["name"], "zonesync");
        assert_eq!(value["subjects"][0]["namespace"], "zonesync");
    }
}

/// Each source component grants exactly what its sources need beyond the base RBAC, to the
/// zonesync service account.
#[test]
fn source_components_grant_exactly_what_their_sources_add() {
    let components: [(&str, &[&str]); 2] = [
        (
            "gateway-api",
            &[
                "gateway-httproute",
                "gateway-grpcroute",
                "gateway-tlsroute",
                "gateway-tcproute",
                "gateway-udproute",
            ],
        ),
        ("dnsendpoint", &["crd"]),
    ];
    let base = expected_access(false, KUSTOMIZE_SOURCES);
    for (component, sources) in components {
        let dir = deploy_dir().join("components").join(component);
        assert_eq!(
            kustomization(&dir.join("kustomization.yaml"))["kind"],
            "Component",
            "{component}"
        );
        let mut found = Vec::new();
        collect(&dir, &mut found);
        let cluster_role: ClusterRole = found
            .iter()
            .find(|(_, v)| v["kind"] == "ClusterRole")
            .map(|(p, v)| round_trip(p, v))
            .unwrap_or_else(|| panic!("{component} has no ClusterRole"));
        let mut wanted = expected_access(false, sources);
        wanted.retain(|key, _| !base.contains_key(key));
        assert!(!wanted.is_empty(), "{component}");
        assert_eq!(
            rules_to_access(cluster_role.rules.as_deref().unwrap_or_default()),
            wanted,
            "{component}: the ClusterRole must grant exactly what its sources add to API_ACCESS"
        );
        let (_, binding) = found
            .iter()
            .find(|(_, v)| v["kind"] == "ClusterRoleBinding")
            .unwrap_or_else(|| panic!("{component} has no ClusterRoleBinding"));
        assert_eq!(
            binding["roleRef"]["name"],
            cluster_role.metadata.name.clone().unwrap()
        );
        assert_eq!(binding["subjects"][0]["name"], "zonesync");
        assert_eq!(binding["subjects"][0]["namespace"], "zonesync");
    }
}

/// The DNSEndpoint CRD serves what external-dns's does: same group, version, kind, plural,
/// scope, status subresource and spec fields; and it keeps zonesync's `Ready` condition.
#[test]
fn the_dnsendpoint_crd_matches_external_dns() {
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
    let path = deploy_dir().join("chart/zonesync/crds/dnsendpoints.externaldns.k8s.io.yaml");
    let value: Value = serde_saphyr::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let crd: CustomResourceDefinition = round_trip(&path, &value);
    assert_eq!(crd.spec.group, "externaldns.k8s.io");
    assert_eq!(crd.spec.names.kind, "DNSEndpoint");
    assert_eq!(crd.spec.names.plural, "dnsendpoints");
    assert_eq!(crd.spec.scope, "Namespaced");
    let version = &crd.spec.versions[0];
    assert_eq!(version.name, "v1alpha1");
    assert!(version.served && version.storage);
    assert!(version.subresources.as_ref().unwrap().status.is_some());
    let schema = serde_json::to_value(&version.schema).unwrap();
    let entry = &schema["openAPIV3Schema"]["properties"]["spec"]["properties"]["endpoints"]["items"]
        ["properties"];
    let fields: BTreeSet<&str> = entry
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        fields,
        BTreeSet::from([
            "dnsName",
            "labels",
            "providerSpecific",
            "recordTTL",
            "recordType",
            "setIdentifier",
            "targets"
        ])
    );
    let status = &schema["openAPIV3Schema"]["properties"]["status"]["properties"];
    assert_eq!(status["observedGeneration"]["type"], "integer");
    assert_eq!(status["conditions"]["type"], "array");
}

/// Every request the binary sends to the API server, in every mode, is covered by API_ACCESS.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_api_call_is_in_the_access_table() {
    let api = FakeApiServer::start().await.unwrap();
    api.apply(serde_json::json!({
        "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"rules": [{"host": "www.example.com"}]},
        "status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.1"}]}}
    }))
    .unwrap();
    let zones = tempfile::tempdir().unwrap();
    write(
        zones.path(),
        "example.com.zone",
        "$ORIGIN example.com.\n@ 3600 IN SOA ns. admin. 1 7200 3600 1209600 300\n",
    );
    let kubeconfig = api.kubeconfig();
    let base = |command: &str| cluster_to_zonefiles(command, &kubeconfig, zones.path());
    let sync = tokio::task::block_in_place(|| run(&mut base("sync")));
    assert_eq!(sync.code, 0, "{}", sync.both());

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut controller = base("run")
        .args([
            "--leader-election",
            "--leader-election-namespace",
            "zonesync",
        ])
        .args(["--metrics-address", &format!("127.0.0.1:{port}")])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Let it lead, write a record (an Event) and then shut down (releasing the lease).
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while std::time::Instant::now() < deadline
        && api.list(&ResourceType::EVENT, Some("default")).is_empty()
    {
        api.apply(serde_json::json!({
            "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": "api", "namespace": "default"},
            "spec": {"rules": [{"host": "api.example.com"}]},
            "status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.2"}]}}
        }))
        .unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    std::process::Command::new("kill")
        .args(["-TERM", &controller.id().to_string()])
        .status()
        .unwrap();
    let status = tokio::task::block_in_place(|| controller.wait()).unwrap();
    assert!(status.success());

    let allowed: BTreeSet<(String, String, String)> = API_ACCESS
        .iter()
        .flat_map(|a| {
            a.verbs
                .iter()
                .map(|v| (a.group.to_string(), a.resource.to_string(), v.to_string()))
        })
        .collect();
    let mut used = BTreeSet::new();
    for request in api.requests() {
        if request.verb == Verb::Discovery {
            continue;
        }
        let verb = serde_json::to_value(request.verb).unwrap();
        let key = (
            request.group.clone().unwrap_or_default(),
            request.resource.clone().unwrap_or_default(),
            verb.as_str().unwrap().to_string(),
        );
        assert!(
            allowed.contains(&key),
            "{} {}?{} is not in API_ACCESS (and so not allowed by deploy/base/rbac.yaml)",
            request.method,
            request.path,
            request.query
        );
        used.insert(key);
    }
    for expected in [
        ("networking.k8s.io", "ingresses", "watch"),
        ("", "services", "list"),
        ("events.k8s.io", "events", "create"),
        ("coordination.k8s.io", "leases", "update"),
    ] {
        let key = (expected.0.into(), expected.1.into(), expected.2.into());
        assert!(
            used.contains(&key),
            "expected a {expected:?} call; saw {used:?}"
        );
    }
}

/// The `ZONESYNC_*` settings of a provider component.
pub fn env_file(component: &str) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(
        deploy_dir()
            .join("components")
            .join(component)
            .join("zonesync.env"),
    )
    .unwrap();
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (key, value) = l.split_once('=').unwrap();
            (key.to_string(), value.to_string())
        })
        .collect()
}

#[test]
fn workloads_are_hardened_and_probe_the_real_endpoints() {
    let manifests = manifests();
    let (path, value) = manifests
        .iter()
        .find(|(_, v)| v["kind"] == "Deployment")
        .unwrap();
    let deployment: Deployment = round_trip(path, value);
    let spec = deployment.spec;
    assert_eq!(spec.replicas, Some(2));
    let pod = spec.template.spec.unwrap();
    assert_pod_hardened(&path.display().to_string(), &pod, Workload::Controller);
    let args = pod.containers[0].args.clone().unwrap();
    assert!(args.contains(&"--leader-election".to_string()));

    let (_, pdb) = manifests
        .iter()
        .find(|(_, v)| v["kind"] == "PodDisruptionBudget")
        .unwrap();
    assert_eq!(
        pdb["spec"]["selector"]["matchLabels"],
        value["spec"]["selector"]["matchLabels"]
    );

    let (path, value) = manifests
        .iter()
        .find(|(_, v)| v["kind"] == "CronJob")
        .unwrap();
    let cronjob: CronJob = round_trip(path, value);
    let spec = cronjob.spec;
    assert_eq!(spec.concurrency_policy.as_deref(), Some("Forbid"));
    let pod = spec.job_template.spec.unwrap().template.spec.unwrap();
    assert_pod_hardened(&path.display().to_string(), &pod, Workload::OneShot);
    assert_eq!(pod.containers[0].args.clone().unwrap(), ["sync"]);
}

/// Runs the binary's parser and validation on each flavour's arguments and settings.
#[test]
fn container_arguments_and_settings_are_accepted_by_the_binary() {
    let manifests = manifests();
    let deployment = &manifests
        .iter()
        .find(|(_, v)| v["kind"] == "Deployment")
        .unwrap()
        .1;
    let cronjob = &manifests
        .iter()
        .find(|(_, v)| v["kind"] == "CronJob")
        .unwrap()
        .1;
    let run_args = container_at(deployment, "/spec/template/spec/containers/0")
        .args
        .unwrap();
    let sync_args = container_at(cronjob, "/spec/jobTemplate/spec/template/spec/containers/0")
        .args
        .unwrap();
    // The required settings a user fills in; shipped empty so that an unedited overlay fails.
    let filled_in = |key: &str| match key {
        "ZONESYNC_RFC2136_HOST" => "ns1.example.org",
        "ZONESYNC_RFC2136_ZONE" => "example.org",
        "ZONESYNC_TXT_OWNER_ID" => "cluster-a",
        other => panic!("{other} is shipped empty; give it a value here"),
    };
    let secret_dir = tempfile::tempdir().unwrap();
    let secret_file = write(
        secret_dir.path(),
        "secret",
        "c2VjcmV0LWtleS1mb3ItZXhhbXBsZS1vbmx5LXJlcGxhY2UtbWU=",
    );
    for component in ["route53", "rfc2136", "webhook"] {
        let empty: Vec<String> = env_file(component)
            .into_iter()
            .filter(|(_, value)| value.is_empty())
            .map(|(key, _)| key)
            .collect();
        assert!(
            empty.contains(&"ZONESYNC_TXT_OWNER_ID".to_string()),
            "{component}: the owner id must be the user's own: {empty:?}"
        );
        for (args, edited) in [
            (&run_args, false),
            (&sync_args, false),
            (&run_args, true),
            (&sync_args, true),
        ] {
            let mut command = zonesync();
            command.args(args.iter()).arg("--check-config");
            for (key, value) in env_file(component) {
                // The Secret is mounted at this path in the cluster; here a local copy stands in.
                let value = if key == "ZONESYNC_RFC2136_TSIG_SECRET_FILE" {
                    assert_eq!(value, "/etc/zonesync/tsig/secret");
                    secret_file.display().to_string()
                } else if value.is_empty() && edited {
                    filled_in(&key).to_string()
                } else {
                    value
                };
                command.env(key, value);
            }
            command
                .env("POD_NAME", "zonesync-abc")
                .env("POD_NAMESPACE", "zonesync");
            let result = run(&mut command);
            if !edited {
                // As shipped: zonesync refuses to start and names a variable left empty.
                assert_eq!(result.code, 1, "{component} {args:?}: {}", result.both());
                assert!(
                    empty.iter().any(|key| result
                        .stderr
                        .contains(&format!("set by the environment variable {key}\n"))),
                    "{component} {args:?}: {}",
                    result.both()
                );
                continue;
            }
            assert_eq!(result.code, 0, "{component} {args:?}: {}", result.both());
            assert!(result.stdout.contains("configuration is valid"));
            assert!(
                !result
                    .stdout
                    .contains("c2VjcmV0LWtleS1mb3ItZXhhbXBsZS1vbmx5LXJlcGxhY2UtbWU="),
                "the TSIG secret must not be printed"
            );
        }
    }
    // The Gateway API overlay's settings on top of the rfc2136 component's.
    let sources = std::fs::read_to_string(
        deploy_dir().join("overlays/rfc2136-gateway-api/sources/zonesync.env"),
    )
    .unwrap();
    let mut command = zonesync();
    command.args(run_args.iter()).arg("--check-config");
    for (key, value) in env_file("rfc2136") {
        let value = if key == "ZONESYNC_RFC2136_TSIG_SECRET_FILE" {
            secret_file.display().to_string()
        } else if value.is_empty() {
            filled_in(&key).to_string()
        } else {
            value
        };
        command.env(key, value);
    }
    for line in sources.lines().filter(|l| !l.trim().is_empty()) {
        let (key, value) = line.split_once('=').unwrap();
        command.env(key, value);
    }
    let result = run(command.env("POD_NAME", "zonesync-abc"));
    assert_eq!(result.code, 0, "gateway-api overlay: {}", result.both());
    assert!(
        result.stdout.contains("gateway-httproute"),
        "{}",
        result.both()
    );
}

/// Everything `kubectl apply -k dir` creates from files (generators aside), and the
/// kustomizations it reads, following `resources` and `components`.
fn overlay(dir: &Path) -> (Vec<(PathBuf, Value)>, Vec<PathBuf>) {
    let mut documents = Vec::new();
    let mut kustomizations = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let path = dir.join("kustomization.yaml").canonicalize().unwrap();
        let value = kustomization(&path);
        kustomizations.push(path);
        for key in ["resources", "components"] {
            for item in value[key].as_array().into_iter().flatten() {
                let target = dir.join(item.as_str().unwrap());
                if target.is_dir() {
                    stack.push(target);
                } else {
                    let text = std::fs::read_to_string(&target).unwrap();
                    for document in serde_saphyr::from_multiple::<Value>(&text).unwrap() {
                        documents.push((target.clone(), document));
                    }
                }
            }
        }
    }
    (documents, kustomizations)
}

fn overlays() -> Vec<PathBuf> {
    let mut overlays: Vec<PathBuf> = std::fs::read_dir(deploy_dir().join("overlays"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    overlays.sort();
    assert_eq!(overlays.len(), 7, "{overlays:?}");
    overlays
}

#[test]
fn only_the_controller_overlays_carry_the_lease_role() {
    for dir in overlays() {
        let (documents, _) = overlay(&dir);
        let kinds: BTreeSet<&str> = documents
            .iter()
            .filter_map(|(_, v)| v["kind"].as_str())
            .collect();
        let is_cronjob = kinds.contains("CronJob");
        assert_ne!(
            is_cronjob,
            kinds.contains("Deployment"),
            "{}",
            dir.display()
        );
        let lease_rules = documents
            .iter()
            .filter(|(_, v)| v["kind"] == "Role")
            .flat_map(|(_, v)| v["rules"].as_array().cloned().unwrap_or_default())
            .filter(|rule| {
                rule["resources"]
                    .as_array()
                    .unwrap()
                    .contains(&"leases".into())
            })
            .count();
        let bindings = kinds.contains("RoleBinding");
        if is_cronjob {
            // One `zonesync sync` at a time: it never elects a leader.
            assert_eq!((lease_rules, bindings), (0, false), "{}", dir.display());
        } else {
            assert_eq!((lease_rules, bindings), (1, true), "{}", dir.display());
        }
        assert!(kinds.contains("ClusterRole"), "{}", dir.display());
    }
}

#[test]
fn the_image_is_set_in_one_place_for_every_overlay() {
    let with_images: Vec<PathBuf> = kustomizations()
        .into_iter()
        .filter(|path| {
            kustomization(path)["images"]
                .as_array()
                .is_some_and(|images| images.iter().any(|i| i["name"] == "zonesync"))
        })
        .collect();
    assert_eq!(with_images.len(), 1, "{with_images:?}");
    let images = kustomization(&with_images[0])["images"].clone();
    assert_eq!(images[0]["name"], "zonesync", "the name the workloads use");
    // Unedited, the image cannot be pulled from anywhere (RFC 6761 reserves `.invalid`).
    assert!(
        images[0]["newName"]
            .as_str()
            .unwrap()
            .starts_with("registry.invalid/"),
        "{images}"
    );
    for dir in overlays() {
        let (_, read) = overlay(&dir);
        assert!(
            read.contains(&with_images[0].canonicalize().unwrap()),
            "{} misses the image",
            dir.display()
        );
    }
}

#[test]
fn no_example_secret_or_placeholder_identity_is_shipped() {
    let manifests = manifests();
    assert!(
        !manifests.iter().any(|(_, v)| v["kind"] == "Secret"),
        "secrets are the user's to create"
    );
    // Secrets (the TSIG key, the webhook provider's credentials) come from files the user
    // creates; git ignores them and none is shipped.
    let gitignore = std::fs::read_to_string(repo_root().join(".gitignore")).unwrap();
    let mut generated = Vec::new();
    for component in ["rfc2136", "webhook"] {
        let dir = deploy_dir().join("components").join(component);
        let value = kustomization(&dir.join("kustomization.yaml"));
        for generator in value["secretGenerator"].as_array().into_iter().flatten() {
            generated.push(generator["name"].as_str().unwrap().to_string());
            for key in ["files", "envs"] {
                for item in generator[key].as_array().into_iter().flatten() {
                    let item = item.as_str().unwrap();
                    let file = item.split_once('=').map_or(item, |(_, f)| f);
                    assert!(
                        gitignore
                            .lines()
                            .any(|l| l == format!("/deploy/components/{component}/{file}")),
                        "{component}/{file} must be git-ignored"
                    );
                    assert!(!dir.join(file).exists(), "{component}/{file} is shipped");
                }
            }
        }
    }
    assert_eq!(generated, ["zonesync-tsig", "webhook-provider"]);
    let irsa: Value = serde_saphyr::from_str(
        &std::fs::read_to_string(deploy_dir().join("components/route53/serviceaccount-irsa.yaml"))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        irsa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"],
        ""
    );
    for component in ["route53", "rfc2136", "webhook"] {
        for (key, value) in env_file(component) {
            assert!(
                !value.contains("example.") && !value.contains("my-cluster"),
                "{component}: {key}={value} is an example value"
            );
        }
    }
}

#[test]
fn the_image_build_uses_buildkit_and_a_small_context() {
    let dockerfile = std::fs::read_to_string(deploy_dir().join("Dockerfile")).unwrap();
    // A parser directive only counts on the very first line.
    assert_eq!(
        dockerfile.lines().next(),
        Some("# syntax=docker/dockerfile:1")
    );
    assert!(
        dockerfile.contains("RUN --mount=type=cache"),
        "needs BuildKit"
    );
    let ignored = std::fs::read_to_string(repo_root().join(".dockerignore")).unwrap();
    let ignored: BTreeSet<&str> = ignored
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .collect();
    for entry in ["target/", "fuzz/target/", ".venv-peers/", ".git/"] {
        assert!(
            ignored.contains(entry),
            "{entry} missing from .dockerignore"
        );
    }
}

/// The webhook provider sidecar: a native sidecar (started before zonesync, ended with the
/// CronJob's pod), hardened like zonesync's own container, probed on its health endpoint, and
/// serving on the port zonesync's settings point at.
#[test]
fn webhook_sidecar_is_hardened_and_probes_its_health_endpoint() {
    use k8s_openapi::api::core::v1::PodSpec;
    use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

    let manifests = manifests();
    let component = deploy_dir().join("components").join("webhook");
    let url = env_file("webhook")
        .into_iter()
        .find(|(key, _)| key == "ZONESYNC_WEBHOOK_PROVIDER_URL")
        .map(|(_, value)| value)
        .unwrap();
    for (file, kind, pointer, workload) in [
        (
            "sidecar.yaml",
            "Deployment",
            "/spec/template/spec",
            Workload::Controller,
        ),
        (
            "sidecar-cronjob.yaml",
            "CronJob",
            "/spec/jobTemplate/spec/template/spec",
            Workload::OneShot,
        ),
    ] {
        let path = component.join(file);
        let patch: Value =
            serde_saphyr::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let (_, base) = manifests.iter().find(|(_, v)| v["kind"] == kind).unwrap();
        let mut merged = base.clone();
        merge(&mut merged, &patch);
        let pod: PodSpec =
            serde_json::from_value(merged.pointer(pointer).unwrap().clone()).unwrap();
        let origin = path.display().to_string();
        assert_pod_hardened(&origin, &pod, workload);
        let sidecars = pod.init_containers.clone().unwrap_or_default();
        assert_eq!(sidecars.len(), 1, "{origin}");
        let sidecar = &sidecars[0];
        assert_eq!(sidecar.name, "webhook-provider");
        assert_eq!(
            sidecar.restart_policy.as_deref(),
            Some("Always"),
            "{origin}"
        );
        let ports = sidecar.ports.clone().unwrap();
        let port_of = |name: &str| {
            ports
                .iter()
                .find(|p| p.name.as_deref() == Some(name))
                .map(|p| p.container_port)
        };
        assert!(
            url.ends_with(&format!(":{}", port_of("webhook").unwrap())),
            "{url} is the sidecar's port"
        );
        for probe in [
            &sidecar.startup_probe,
            &sidecar.liveness_probe,
            &sidecar.readiness_probe,
        ] {
            let get = probe.as_ref().unwrap().http_get.clone().unwrap();
            assert_eq!(get.path.as_deref(), Some("/healthz"));
            let port = match get.port {
                IntOrString::String(name) => port_of(&name).unwrap(),
                IntOrString::Int(port) => port,
            };
            assert_eq!(
                port, 8080,
                "external-dns webhook providers serve health on 8080"
            );
        }
    }
    for overlay in ["webhook", "webhook-cronjob"] {
        let value = kustomization(
            &deploy_dir()
                .join("overlays")
                .join(overlay)
                .join("kustomization.yaml"),
        );
        let image = &value["images"][0];
        assert_eq!(
            image["name"], "webhook-provider",
            "{overlay} sets the sidecar image"
        );
        assert!(image["newTag"].as_str().is_some_and(|t| t != "latest"));
    }
}
