//! NodePort and headless Services end to end: `zonesync run` against the fake Kubernetes API
//! server and BIND (Node and EndpointSlice changes follow into DNS), and `plan`/`sync` from
//! manifest files holding Nodes and EndpointSlices.

use std::time::Duration;

use serde_json::{Value, json};
use zonesync_test_support::dns::{Bind, DnsServer, sorted_values};
use zonesync_test_support::kube_api::{FakeApiServer, RequestMatcher, ResourceType, Verb};

use crate::common::{run, write, zonesync};
use crate::controller::{Controller, eventually};

fn node(name: &str, external: &str, internal: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name},
        "status": {"addresses": [
            {"type": "ExternalIP", "address": external},
            {"type": "InternalIP", "address": internal},
            {"type": "Hostname", "address": name},
        ]},
    })
}

fn node_port_service(name: &str, host: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": "default",
            "annotations": {"external-dns.alpha.kubernetes.io/hostname": host}},
        "spec": {"type": "NodePort", "ports": [
            {"name": "game", "port": 7777, "nodePort": 30777, "protocol": "UDP"},
            {"name": "http", "port": 80, "nodePort": 30080, "protocol": "TCP"},
        ]},
    })
}

fn headless_service(name: &str, host: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": "default",
            "annotations": {"external-dns.kubernetes.io/hostname": host}},
        "spec": {"type": "ClusterIP", "clusterIP": "None", "ports": [{"port": 5432}]},
    })
}

/// An EndpointSlice of `service`: `(address, ready, hostname)` per endpoint.
fn endpoint_slice(service: &str, endpoints: &[(&str, bool, Option<&str>)]) -> Value {
    let endpoints: Vec<Value> = endpoints
        .iter()
        .enumerate()
        .map(|(i, (address, ready, hostname))| {
            json!({
                "addresses": [address],
                "conditions": {"ready": ready, "serving": ready, "terminating": false},
                "hostname": hostname,
                "nodeName": "n1",
                "targetRef": {"kind": "Pod", "namespace": "default", "name": format!("{service}-{i}")},
            })
        })
        .collect();
    json!({
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {"name": format!("{service}-abcde"), "namespace": "default",
            "labels": {"kubernetes.io/service-name": service}},
        "addressType": "IPv4",
        "endpoints": endpoints,
        "ports": [{"port": 5432}],
    })
}

fn marker(resource: &str) -> String {
    format!("heritage=external-dns,external-dns/owner=default,external-dns/resource={resource}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_port_and_headless_services_follow_nodes_and_endpoint_slices_into_bind() {
    let api = FakeApiServer::start().await.unwrap();
    let bind = tokio::task::block_in_place(|| {
        Bind::builder()
            .zone_with_records("example.org", &["manual 300 IN A 198.51.100.7"])
            .start()
    });
    api.apply(node("n1", "203.0.113.1", "10.0.0.1")).unwrap();
    api.apply(node("n2", "203.0.113.2", "10.0.0.2")).unwrap();
    api.apply(node_port_service("game", "game.example.org"))
        .unwrap();
    api.apply(headless_service("db", "db.example.org")).unwrap();
    api.apply(endpoint_slice(
        "db",
        &[
            ("10.1.0.1", true, Some("db-0")),
            ("10.1.0.2", true, None),
            ("10.1.0.3", false, None),
        ],
    ))
    .unwrap();

    let logs = tempfile::tempdir().unwrap();
    let secret = write(logs.path(), "tsig.secret", &bind.key().secret);
    let provider = crate::faults::rfc2136_args(&bind, &secret);
    let controller = Controller::start_with(
        &api.kubeconfig(),
        &provider,
        logs.path(),
        &["--managed-record-types", "A,AAAA,CNAME,SRV"],
    );
    controller.wait_ready().await;
    let values = |name: &str, record_type: &str| -> Vec<String> {
        sorted_values(&bind.axfr("example.org").unwrap(), name, record_type)
    };

    eventually(
        Duration::from_secs(15),
        "NodePort A and SRV records with markers",
        || {
            values("game.example.org", "A") == ["203.0.113.1", "203.0.113.2"]
                && values("_game._udp.game.example.org", "SRV") == ["0 50 30777 game.example.org."]
                && values("_game._tcp.game.example.org", "SRV") == ["0 50 30080 game.example.org."]
        },
    )
    .await;
    let game = marker("service/default/game");
    assert_eq!(
        values("a-game.example.org", "TXT"),
        std::slice::from_ref(&game)
    );
    assert_eq!(
        values("srv-_game._udp.game.example.org", "TXT"),
        std::slice::from_ref(&game)
    );
    assert_eq!(values("srv-_game._tcp.game.example.org", "TXT"), [game]);
    eventually(Duration::from_secs(10), "headless records", || {
        values("db.example.org", "A") == ["10.1.0.1", "10.1.0.2"]
            && values("db-0.db.example.org", "A") == ["10.1.0.1"]
    })
    .await;
    let db = marker("service/default/db");
    assert_eq!(values("a-db.example.org", "TXT"), std::slice::from_ref(&db));
    assert_eq!(values("a-db-0.db.example.org", "TXT"), [db]);

    // A node's address changes: the NodePort Service's A record follows.
    api.apply(node("n2", "203.0.113.22", "10.0.0.2")).unwrap();
    eventually(
        Duration::from_secs(10),
        "A record after the node change",
        || values("game.example.org", "A") == ["203.0.113.1", "203.0.113.22"],
    )
    .await;
    // A node goes away.
    api.delete(&ResourceType::NODE, None, "n1").unwrap();
    eventually(
        Duration::from_secs(10),
        "A record after the node left",
        || values("game.example.org", "A") == ["203.0.113.22"],
    )
    .await;

    // Endpoints change readiness and the per-pod host name goes: the headless records follow.
    api.apply(endpoint_slice(
        "db",
        &[
            ("10.1.0.1", true, None),
            ("10.1.0.2", false, None),
            ("10.1.0.3", true, None),
        ],
    ))
    .unwrap();
    eventually(
        Duration::from_secs(10),
        "headless records after the slice change",
        || {
            values("db.example.org", "A") == ["10.1.0.1", "10.1.0.3"]
                && values("db-0.db.example.org", "A").is_empty()
                && values("a-db-0.db.example.org", "TXT").is_empty()
        },
    )
    .await;

    // The NodePort Service goes: its A and SRV records and their markers go.
    api.delete(&ResourceType::SERVICE, Some("default"), "game")
        .unwrap();
    eventually(Duration::from_secs(10), "NodePort records deleted", || {
        values("game.example.org", "A").is_empty()
            && values("_game._tcp.game.example.org", "SRV").is_empty()
            && values("srv-_game._tcp.game.example.org", "TXT").is_empty()
    })
    .await;
    assert_eq!(values("manual.example.org", "A"), ["198.51.100.7"]);
    assert_eq!(values("db.example.org", "A"), ["10.1.0.1", "10.1.0.3"]);
}

fn yaml(objects: &[Value]) -> String {
    objects
        .iter()
        .map(|o| serde_json::to_string(o).unwrap())
        .collect::<Vec<_>>()
        .join("\n---\n")
}

#[test]
fn plan_from_manifests_reads_nodes_and_endpoint_slices() {
    let manifests = tempfile::tempdir().unwrap();
    let zones = tempfile::tempdir().unwrap();
    write(
        zones.path(),
        "example.com.zone",
        "$ORIGIN example.com.\n@ 3600 IN SOA ns1.example.com. hostmaster.example.com. 1 7200 3600 1209600 300\n@ 3600 IN NS ns1.example.com.\nns1 3600 IN A 192.0.2.1\n",
    );
    let mut private = node_port_service("game", "game.example.com");
    private["metadata"]["annotations"]["external-dns.alpha.kubernetes.io/access"] =
        json!("private");
    write(
        manifests.path(),
        "cluster.yaml",
        &yaml(&[
            node("n1", "203.0.113.1", "10.0.0.1"),
            private,
            headless_service("db", "db.example.com"),
            endpoint_slice(
                "db",
                &[("10.1.0.1", true, Some("db-0")), ("10.1.0.9", false, None)],
            ),
        ]),
    );
    let args = |command: &str, types: &str| {
        let mut cmd = zonesync();
        cmd.arg(command)
            .args(["--source", "manifest", "--manifest"])
            .arg(manifests.path())
            .args(["--provider", "zonefile", "--zonefile-dir"])
            .arg(zones.path())
            .args(["--managed-record-types", types]);
        cmd
    };
    let plan = run(&mut args("plan", "A,SRV"));
    assert_eq!(plan.code, 2, "{}", plan.both());
    for line in [
        "+ game.example.com A 10.0.0.1",
        "+ _game._tcp.game.example.com SRV 0 50 30080 game.example.com",
        "+ _game._udp.game.example.com SRV 0 50 30777 game.example.com",
        "+ db.example.com A 10.1.0.1",
        "+ db-0.db.example.com A 10.1.0.1",
    ] {
        assert!(plan.stdout.contains(line), "{line}\n{}", plan.both());
    }
    assert!(!plan.stdout.contains("10.1.0.9"), "{}", plan.both());
    assert!(!plan.stdout.contains("203.0.113.1"), "{}", plan.both());

    // The address and SRV records land with their markers, and a second plan finds nothing
    // to do.
    let sync = run(&mut args("sync", "A,SRV"));
    assert_eq!(sync.code, 0, "{}", sync.both());
    let zone = std::fs::read_to_string(zones.path().join("example.com.zone")).unwrap();
    let lines: Vec<Vec<&str>> = zone
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    for wanted in [
        &["db-0.db", "300", "IN", "A", "10.1.0.1"][..],
        &["game", "300", "IN", "A", "10.0.0.1"],
        &[
            "_game._tcp.game",
            "300",
            "IN",
            "SRV",
            "0",
            "50",
            "30080",
            "game.example.com.",
        ],
    ] {
        assert!(
            lines.iter().any(|l| l[..] == wanted[..]),
            "{wanted:?}\n{zone}"
        );
    }
    assert!(zone.contains("srv-_game._tcp.game"), "{zone}");
    let again = run(&mut args("plan", "A,SRV"));
    assert_eq!(
        again.code,
        0,
        "a second plan finds nothing to do: {}",
        again.both()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_against_the_cluster_lists_nodes_and_endpoint_slices() {
    let api = FakeApiServer::start().await.unwrap();
    api.apply(node("n1", "203.0.113.1", "10.0.0.1")).unwrap();
    api.apply(node_port_service("game", "game.example.com"))
        .unwrap();
    api.apply(headless_service("db", "db.example.com")).unwrap();
    api.apply(endpoint_slice("db", &[("10.1.0.1", true, None)]))
        .unwrap();
    let zones = tempfile::tempdir().unwrap();
    write(
        zones.path(),
        "example.com.zone",
        "$ORIGIN example.com.\n@ 3600 IN SOA ns1.example.com. hostmaster.example.com. 1 7200 3600 1209600 300\n@ 3600 IN NS ns1.example.com.\n",
    );
    let kubeconfig = api.kubeconfig();
    let plan = tokio::task::block_in_place(|| {
        run(zonesync()
            .args(["plan", "--source", "service", "--kubeconfig"])
            .arg(&kubeconfig)
            .args(["--provider", "zonefile", "--zonefile-dir"])
            .arg(zones.path())
            .args(["--managed-record-types", "A,SRV"]))
    });
    assert_eq!(plan.code, 2, "{}", plan.both());
    for line in [
        "+ game.example.com A 203.0.113.1",
        "+ _game._tcp.game.example.com SRV 0 50 30080 game.example.com",
        "+ db.example.com A 10.1.0.1",
    ] {
        assert!(plan.stdout.contains(line), "{line}\n{}", plan.both());
    }
    // With only LoadBalancer Services read, neither Nodes nor EndpointSlices are listed.
    let lists =
        |plural: &str| api.request_count(&RequestMatcher::verb(Verb::List).resource(plural));
    assert_eq!((lists("nodes"), lists("endpointslices")), (1, 1));
    let narrow = tokio::task::block_in_place(|| {
        run(zonesync()
            .args(["plan", "--source", "service", "--kubeconfig"])
            .arg(&kubeconfig)
            .args(["--provider", "zonefile", "--zonefile-dir"])
            .arg(zones.path())
            .args(["--service-type-filter", "LoadBalancer"]))
    });
    assert_eq!(narrow.code, 0, "{}", narrow.both());
    assert_eq!((lists("nodes"), lists("endpointslices")), (1, 1));
}
