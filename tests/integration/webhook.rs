//! The binary with `--provider webhook` against the strict webhook test server: `plan`, `sync`
//! and `run`; creates, paired updates and deletes with their markers in the same request;
//! foreign, other-owner and out-of-filter records untouched; adoption of records external-dns
//! wrote; `adjustendpoints` making plans converge; every fault giving a clear error and losing
//! no record; a rejected batch isolated.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use zonesync_test_support::kube_api::{FakeApiServer, ResourceType};
use zonesync_test_support::webhook::{
    Adjust, DomainFilter, Fault, WebhookConfig, WebhookEndpoint, WebhookServer,
};

use crate::common::{Run, run, write, zonesync};
use crate::controller::{Controller, eventually, ingress as ingress_object};

const OWNER: &str = "ci";

/// An Ingress asking for `hosts` pointing at `ip`, with extra annotations (full keys).
fn ingress(name: &str, hosts: &[&str], ip: &str, annotations: &[(&str, &str)]) -> String {
    let mut text = format!(
        "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: {name}\n  namespace: default\n  annotations:\n    external-dns.kubernetes.io/hostname: \"{}\"\n",
        hosts.join(",")
    );
    for (key, value) in annotations {
        text.push_str(&format!("    {key}: \"{value}\"\n"));
    }
    text.push_str(&format!(
        "spec: {{}}\nstatus:\n  loadBalancer:\n    ingress:\n      - ip: \"{ip}\"\n"
    ));
    text
}

/// The manifest folder holds exactly `files`.
fn manifests(dir: &Path, files: &[(&str, String)]) {
    for entry in std::fs::read_dir(dir).unwrap() {
        std::fs::remove_file(entry.unwrap().path()).unwrap();
    }
    write(
        dir,
        "00-unrelated.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: unrelated\n  namespace: default\n",
    );
    for (name, content) in files {
        write(dir, name, content);
    }
}

/// `zonesync <command>` with the manifests in `dir` against the webhook at `url`.
fn zonesync_webhook(command: &str, url: &str, dir: &Path, extra: &[&str]) -> Run {
    let mut cmd = zonesync();
    cmd.arg(command)
        .args(["--source", "manifest", "--manifest"])
        .arg(dir)
        .args(["--provider", "webhook", "--webhook-provider-url", url])
        .args(["--txt-owner-id", OWNER])
        .args(extra);
    run(&mut cmd)
}

/// The marker value external-dns writes for `resource` owned by `owner`, with its quotes.
fn marker(owner: &str, resource: &str) -> String {
    format!("\"heritage=external-dns,external-dns/owner={owner},external-dns/resource={resource}\"")
}

fn targets(server: &WebhookServer, name: &str, record_type: &str) -> Option<Vec<String>> {
    server.record(name, record_type).map(|r| r.targets)
}

/// The bodies of the `POST /records` requests, parsed.
fn change_bodies(server: &WebhookServer) -> Vec<Value> {
    server
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path == "/records")
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect()
}

fn names_in(list: &Value) -> Vec<String> {
    list.as_array()
        .map(|items| {
            items
                .iter()
                .map(|e| e["dnsName"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// A webhook provider for example.com (without private.example.com) holding a foreign record,
/// another owner's record, and a record of ours outside the filter.
fn populated_server(config: WebhookConfig) -> WebhookServer {
    let server = WebhookServer::start(config);
    server.insert([
        WebhookEndpoint::new("manual.example.com", "A", &["198.51.100.7"]).ttl(3600),
        WebhookEndpoint::new("example.com", "MX", &["10 mail.example.com"]).ttl(3600),
        WebhookEndpoint::new("other.example.com", "A", &["198.51.100.8"]).ttl(300),
        WebhookEndpoint::new(
            "a-other.example.com",
            "TXT",
            &[&marker("someone-else", "ingress/default/other")],
        )
        .ttl(300),
        // Ours, but inside the excluded domain: never touched even though no object wants it.
        WebhookEndpoint::new("old.private.example.com", "A", &["198.51.100.9"]).ttl(300),
        WebhookEndpoint::new(
            "a-old.private.example.com",
            "TXT",
            &[&marker(OWNER, "ingress/default/gone")],
        )
        .ttl(300),
    ]);
    server
}

fn filtered_config() -> WebhookConfig {
    WebhookConfig {
        domain_filter: DomainFilter::include(&["example.com"]).excluding(&["private.example.com"]),
        ..WebhookConfig::default()
    }
}

#[test]
fn plan_and_sync_create_update_and_delete_with_markers_in_one_request() {
    let server = populated_server(filtered_config());
    let untouched = |server: &WebhookServer| {
        assert_eq!(
            targets(server, "manual.example.com", "A").unwrap(),
            ["198.51.100.7"]
        );
        assert_eq!(
            targets(server, "other.example.com", "A").unwrap(),
            ["198.51.100.8"]
        );
        assert!(server.record("a-other.example.com", "TXT").is_some());
        assert!(server.record("old.private.example.com", "A").is_some());
        assert!(server.record("a-old.private.example.com", "TXT").is_some());
        assert!(server.record("example.com", "MX").is_some());
    };
    let dir = tempfile::tempdir().unwrap();
    manifests(
        dir.path(),
        &[
            (
                "web.yaml",
                ingress(
                    "web",
                    &["www.example.com", "api.example.com"],
                    "192.0.2.10",
                    &[],
                ),
            ),
            // Outside the provider's filter: never planned, never sent.
            (
                "private.yaml",
                ingress("private", &["app.private.example.com"], "192.0.2.20", &[]),
            ),
            // Another owner's name: a conflict, never overwritten.
            (
                "other.yaml",
                ingress("other", &["other.example.com"], "192.0.2.30", &[]),
            ),
        ],
    );

    let plan = zonesync_webhook("plan", &server.url(), dir.path(), &[]);
    assert_eq!(plan.code, 2, "{}", plan.both());
    assert!(plan.stdout.contains("www.example.com"), "{}", plan.both());
    assert!(
        !plan.stdout.contains("app.private.example.com"),
        "{}",
        plan.both()
    );
    assert_eq!(server.count("POST", "/records"), 0, "plan never writes");
    assert_eq!(server.count("GET", "/"), 1, "one negotiation");

    let sync = zonesync_webhook("sync", &server.url(), dir.path(), &[]);
    assert_eq!(sync.code, 0, "{}", sync.both());
    let bodies = change_bodies(&server);
    assert_eq!(bodies.len(), 1, "records and markers in one request");
    let created = names_in(&bodies[0]["create"]);
    for name in [
        "www.example.com",
        "a-www.example.com",
        "api.example.com",
        "a-api.example.com",
    ] {
        assert!(created.contains(&name.to_string()), "{created:?}");
    }
    assert!(
        !created.iter().any(|n| n.contains("private")),
        "{created:?}"
    );
    assert!(!created.iter().any(|n| n.contains("other")), "{created:?}");
    for request in server.requests() {
        if request.method != "GET" || request.path != "/healthz" {
            assert!(
                request.accept.as_deref() == Some(zonesync_webhook::MEDIA_TYPE)
                    || request.content_type.as_deref() == Some(zonesync_webhook::MEDIA_TYPE),
                "{request:?}"
            );
        }
    }
    assert_eq!(
        targets(&server, "www.example.com", "A").unwrap(),
        ["192.0.2.10"]
    );
    assert_eq!(
        targets(&server, "a-www.example.com", "TXT").unwrap(),
        [marker(OWNER, "ingress/default/web")],
        "markers travel with their quotes, as external-dns writes them"
    );
    assert!(server.record("app.private.example.com", "A").is_none());
    untouched(&server);

    let again = zonesync_webhook("plan", &server.url(), dir.path(), &[]);
    assert_eq!(again.code, 0, "converged: {}", again.both());

    // New address: paired updates.
    manifests(
        dir.path(),
        &[(
            "web.yaml",
            ingress(
                "web",
                &["www.example.com", "api.example.com"],
                "192.0.2.11",
                &[],
            ),
        )],
    );
    server.clear_requests();
    let update = zonesync_webhook("sync", &server.url(), dir.path(), &[]);
    assert_eq!(update.code, 0, "{}", update.both());
    let bodies = change_bodies(&server);
    assert_eq!(bodies.len(), 1);
    let old = names_in(&bodies[0]["updateOld"]);
    let new = names_in(&bodies[0]["updateNew"]);
    assert_eq!(old, new, "old and new paired by position");
    assert!(old.contains(&"www.example.com".to_string()), "{old:?}");
    let position = old.iter().position(|n| n == "www.example.com").unwrap();
    assert_eq!(bodies[0]["updateOld"][position]["targets"][0], "192.0.2.10");
    assert_eq!(bodies[0]["updateNew"][position]["targets"][0], "192.0.2.11");
    assert_eq!(
        targets(&server, "api.example.com", "A").unwrap(),
        ["192.0.2.11"]
    );
    untouched(&server);

    // api no longer asked for: record and marker deleted together.
    manifests(
        dir.path(),
        &[(
            "web.yaml",
            ingress("web", &["www.example.com"], "192.0.2.11", &[]),
        )],
    );
    server.clear_requests();
    let delete = zonesync_webhook("sync", &server.url(), dir.path(), &[]);
    assert_eq!(delete.code, 0, "{}", delete.both());
    let bodies = change_bodies(&server);
    assert_eq!(bodies.len(), 1);
    let deleted = names_in(&bodies[0]["delete"]);
    assert!(
        deleted.contains(&"api.example.com".to_string()),
        "{deleted:?}"
    );
    assert!(
        deleted.contains(&"a-api.example.com".to_string()),
        "{deleted:?}"
    );
    assert!(server.record("api.example.com", "A").is_none());
    assert!(server.record("a-api.example.com", "TXT").is_none());
    assert!(server.record("www.example.com", "A").is_some());
    untouched(&server);
}

#[test]
fn records_written_by_external_dns_are_adopted_with_zero_changes() {
    for strip_txt_quotes in [false, true] {
        let server = WebhookServer::start(WebhookConfig {
            domain_filter: DomainFilter::include(&["example.com"]),
            strip_txt_quotes,
            ..WebhookConfig::default()
        });
        let value = if strip_txt_quotes {
            marker(OWNER, "ingress/default/web")
                .trim_matches('"')
                .to_string()
        } else {
            marker(OWNER, "ingress/default/web")
        };
        server.insert([
            WebhookEndpoint::new("www.example.com", "A", &["192.0.2.10"]).ttl(300),
            WebhookEndpoint::new("a-www.example.com", "TXT", &[&value]).ttl(300),
        ]);
        let dir = tempfile::tempdir().unwrap();
        manifests(
            dir.path(),
            &[(
                "web.yaml",
                ingress("web", &["www.example.com"], "192.0.2.10", &[]),
            )],
        );
        let plan = zonesync_webhook("plan", &server.url(), dir.path(), &[]);
        assert_eq!(
            plan.code,
            0,
            "quotes stripped: {strip_txt_quotes}: {}",
            plan.both()
        );
        let sync = zonesync_webhook("sync", &server.url(), dir.path(), &[]);
        assert_eq!(sync.code, 0, "{}", sync.both());
        assert_eq!(server.count("POST", "/records"), 0, "nothing to write");
    }
}

#[test]
fn adjustendpoints_defaults_make_the_plan_converge_and_annotations_take_part_in_the_diff() {
    let server = WebhookServer::start(WebhookConfig {
        domain_filter: DomainFilter::include(&["example.com"]),
        adjust: Adjust {
            default_properties: vec![("webhook/proxied".into(), "false".into())],
            default_ttl: None,
        },
        ..WebhookConfig::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let files = |cdn: &str| {
        vec![
            (
                "web.yaml",
                ingress("web", &["www.example.com"], "192.0.2.10", &[]),
            ),
            (
                "cdn.yaml",
                ingress(
                    "cdn",
                    &["cdn.example.com"],
                    "192.0.2.40",
                    &[("external-dns.kubernetes.io/webhook-proxied", cdn)],
                ),
            ),
        ]
    };
    manifests(dir.path(), &files("true"));
    let sync = zonesync_webhook("sync", &server.url(), dir.path(), &[]);
    assert_eq!(sync.code, 0, "{}", sync.both());
    assert!(server.count("POST", "/adjustendpoints") >= 1);
    let adjust_body: Value = serde_json::from_slice(
        &server
            .requests()
            .iter()
            .find(|r| r.path == "/adjustendpoints")
            .unwrap()
            .body,
    )
    .unwrap();
    assert!(
        adjust_body.to_string().contains("webhook/proxied"),
        "annotation sent as providerSpecific: {adjust_body}"
    );
    let web = server.record("www.example.com", "A").unwrap();
    assert_eq!(web.property_value("webhook/proxied"), Some("false"));
    let cdn = server.record("cdn.example.com", "A").unwrap();
    assert_eq!(cdn.property_value("webhook/proxied"), Some("true"));

    let plan = zonesync_webhook("plan", &server.url(), dir.path(), &[]);
    assert_eq!(plan.code, 0, "the adjusted plan converges: {}", plan.both());

    // A provider-specific annotation that changes is an update.
    manifests(dir.path(), &files("false"));
    server.clear_requests();
    let sync = zonesync_webhook("sync", &server.url(), dir.path(), &[]);
    assert_eq!(sync.code, 0, "{}", sync.both());
    let bodies = change_bodies(&server);
    let updated = names_in(&bodies[0]["updateNew"]);
    assert!(
        updated.contains(&"cdn.example.com".to_string()),
        "{updated:?}"
    );
    assert!(
        !updated.contains(&"www.example.com".to_string()),
        "{updated:?}"
    );
    let cdn = server.record("cdn.example.com", "A").unwrap();
    assert_eq!(cdn.property_value("webhook/proxied"), Some("false"));
}

#[test]
fn server_errors_are_retried_and_persistent_ones_fail_without_losing_records() {
    let server = populated_server(filtered_config());
    let dir = tempfile::tempdir().unwrap();
    manifests(
        dir.path(),
        &[(
            "web.yaml",
            ingress("web", &["www.example.com"], "192.0.2.10", &[]),
        )],
    );
    let before = server.records();

    // Two 503s, then success.
    server.fault_next(
        "POST",
        "/records",
        Fault::Status {
            status: 503,
            message: "busy".into(),
        },
        2,
    );
    let sync = zonesync_webhook("sync", &server.url(), dir.path(), &[]);
    assert_eq!(sync.code, 0, "{}", sync.both());
    assert_eq!(server.count("POST", "/records"), 3);
    assert!(server.record("www.example.com", "A").is_some());

    // Always 500 on reads: the run fails naming the status, nothing is written.
    manifests(
        dir.path(),
        &[(
            "web.yaml",
            ingress("web", &["www.example.com"], "192.0.2.99", &[]),
        )],
    );
    server.fault_next(
        "GET",
        "/records",
        Fault::Status {
            status: 500,
            message: "backend down".into(),
        },
        usize::MAX,
    );
    server.clear_requests();
    let failed = zonesync_webhook("sync", &server.url(), dir.path(), &[]);
    assert_eq!(failed.code, 1, "{}", failed.both());
    assert!(failed.stderr.contains("GET /records"), "{}", failed.both());
    assert!(failed.stderr.contains("500"), "{}", failed.both());
    assert!(failed.stderr.contains("backend down"), "{}", failed.both());
    assert_eq!(
        server.count("GET", "/records"),
        zonesync_webhook::DEFAULT_ATTEMPTS
    );
    assert_eq!(server.count("POST", "/records"), 0);
    server.clear_faults();

    // Always 502 on writes: retried, then the run fails; every record is still there.
    server.fault_next(
        "POST",
        "/records",
        Fault::Status {
            status: 502,
            message: String::new(),
        },
        usize::MAX,
    );
    let failed = zonesync_webhook("sync", &server.url(), dir.path(), &[]);
    assert_eq!(failed.code, 1, "{}", failed.both());
    assert!(failed.stderr.contains("502"), "{}", failed.both());
    server.clear_faults();
    for record in &before {
        assert!(
            server.records().contains(record),
            "{record:?} kept after the failures"
        );
    }
    assert_eq!(
        targets(&server, "www.example.com", "A").unwrap(),
        ["192.0.2.10"]
    );
}

#[test]
fn client_errors_are_not_retried_and_name_the_providers_message() {
    let server = populated_server(filtered_config());
    let dir = tempfile::tempdir().unwrap();
    manifests(
        dir.path(),
        &[(
            "web.yaml",
            ingress("web", &["www.example.com"], "192.0.2.10", &[]),
        )],
    );
    server.fault_next(
        "POST",
        "/records",
        Fault::Status {
            status: 422,
            message: format!("quota exceeded\u{1b}[31m\n{}", "x".repeat(2000)),
        },
        1,
    );
    let failed = zonesync_webhook("sync", &server.url(), dir.path(), &[]);
    assert_eq!(failed.code, 1, "{}", failed.both());
    assert_eq!(server.count("POST", "/records"), 1, "a 4xx is not retried");
    assert!(
        failed.stderr.contains("422: quota exceeded [31m x"),
        "{}",
        failed.both()
    );
    assert!(
        !failed.stderr.contains('\u{1b}'),
        "control characters removed"
    );
    assert!(!failed.stderr.contains(&"x".repeat(400)), "message cut");
    assert!(server.record("www.example.com", "A").is_none());
    // The next run applies it.
    let sync = zonesync_webhook("sync", &server.url(), dir.path(), &[]);
    assert_eq!(sync.code, 0, "{}", sync.both());
    assert!(server.record("www.example.com", "A").is_some());
}

#[test]
fn negotiation_faults_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    manifests(
        dir.path(),
        &[(
            "web.yaml",
            ingress("web", &["www.example.com"], "192.0.2.10", &[]),
        )],
    );
    // Wrong media type.
    let server = WebhookServer::start(filtered_config());
    server.fault_next("GET", "/", Fault::WrongContentType, 1);
    let failed = zonesync_webhook("plan", &server.url(), dir.path(), &[]);
    assert_eq!(failed.code, 1, "{}", failed.both());
    assert!(
        failed
            .stderr
            .contains("Content-Type \"application/json\", expected exactly application/external.dns.webhook+json;version=1"),
        "{}",
        failed.both()
    );
    // 5xx then success: retried.
    server.fault_next(
        "GET",
        "/",
        Fault::Status {
            status: 503,
            message: "starting".into(),
        },
        2,
    );
    let plan = zonesync_webhook("plan", &server.url(), dir.path(), &[]);
    assert_eq!(plan.code, 2, "{}", plan.both());
    // A 404 is not retried.
    server.clear_requests();
    server.fault_next(
        "GET",
        "/",
        Fault::Status {
            status: 404,
            message: "404 page not found".into(),
        },
        1,
    );
    let failed = zonesync_webhook("plan", &server.url(), dir.path(), &[]);
    assert_eq!(failed.code, 1, "{}", failed.both());
    assert!(
        failed
            .stderr
            .contains("GET /: the webhook provider answered 404: 404 page not found"),
        "{}",
        failed.both()
    );
    assert_eq!(server.count("GET", "/"), 1);
    // Nobody listening.
    let url = server.url();
    drop(server);
    let failed = zonesync_webhook("plan", &url, dir.path(), &[]);
    assert_eq!(failed.code, 1, "{}", failed.both());
    assert!(
        failed
            .stderr
            .contains(&format!("cannot reach the webhook provider at {url}")),
        "{}",
        failed.both()
    );
}

#[test]
fn slow_answers_past_the_timeouts_fail_clearly_and_the_next_run_converges() {
    let server = populated_server(filtered_config());
    let dir = tempfile::tempdir().unwrap();
    manifests(
        dir.path(),
        &[(
            "web.yaml",
            ingress("web", &["www.example.com"], "192.0.2.10", &[]),
        )],
    );
    let timeouts = [
        "--webhook-provider-read-timeout",
        "300ms",
        "--webhook-provider-write-timeout",
        "300ms",
    ];
    server.fault_next(
        "GET",
        "/records",
        Fault::Delay(Duration::from_secs(2)),
        usize::MAX,
    );
    let failed = zonesync_webhook("sync", &server.url(), dir.path(), &timeouts);
    assert_eq!(failed.code, 1, "{}", failed.both());
    assert!(
        failed
            .stderr
            .contains("GET /records: the webhook provider at"),
        "{}",
        failed.both()
    );
    assert!(
        failed.stderr.contains("did not answer in time"),
        "{}",
        failed.both()
    );
    server.clear_faults();

    // A change request that times out is not repeated (its outcome is unknown); the provider
    // applied it late, and the next run finds nothing to do.
    server.fault_next("POST", "/records", Fault::Delay(Duration::from_secs(1)), 1);
    server.clear_requests();
    let failed = zonesync_webhook("sync", &server.url(), dir.path(), &timeouts);
    assert_eq!(failed.code, 1, "{}", failed.both());
    assert!(failed.stderr.contains("POST /records"), "{}", failed.both());
    // The server logs a request once it has answered it: wait for the delayed one. A repeat
    // would have been sent before zonesync exited and answered at once, so it is logged by then.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !server
        .requests()
        .iter()
        .any(|r| r.method == "POST" && r.path == "/records" && r.injected)
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the delayed POST /records was never answered"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(server.count("POST", "/records"), 1, "not repeated");
    assert!(
        server.record("www.example.com", "A").is_some(),
        "applied late"
    );
    let plan = zonesync_webhook("plan", &server.url(), dir.path(), &[]);
    assert_eq!(plan.code, 0, "{}", plan.both());
}

#[test]
fn a_rejected_batch_is_split_and_only_the_offending_group_is_left_out() {
    let server = WebhookServer::start(WebhookConfig {
        domain_filter: DomainFilter::include(&["example.com"]),
        ..WebhookConfig::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let names = ["a", "b", "bad", "c", "d", "e", "f"];
    let files: Vec<(String, String)> = names
        .iter()
        .map(|n| {
            (
                format!("{n}.yaml"),
                ingress(n, &[&format!("{n}.example.com")], "192.0.2.10", &[]),
            )
        })
        .collect();
    let files: Vec<(&str, String)> = files.iter().map(|(n, c)| (n.as_str(), c.clone())).collect();
    manifests(dir.path(), &files);
    server.reject_changes_containing(
        "\"bad.example.com\"",
        400,
        "invalid record bad.example.com: target refused",
    );
    let sync = zonesync_webhook("sync", &server.url(), dir.path(), &[]);
    assert_eq!(sync.code, 1, "{}", sync.both());
    assert!(sync.stderr.contains("bad.example.com"), "{}", sync.both());
    assert!(
        sync.stderr
            .contains("invalid record bad.example.com: target refused"),
        "{}",
        sync.both()
    );
    for name in names.iter().filter(|n| **n != "bad") {
        assert!(
            server.record(&format!("{name}.example.com"), "A").is_some(),
            "{name} applied"
        );
        assert!(
            server
                .record(&format!("a-{name}.example.com"), "TXT")
                .is_some(),
            "{name}'s marker applied with it"
        );
    }
    assert!(server.record("bad.example.com", "A").is_none());
    assert!(server.record("a-bad.example.com", "TXT").is_none());
    let posts = server.count("POST", "/records");
    assert!(posts < 2 * names.len(), "{posts} requests");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn controller_keeps_the_webhook_store_in_step_and_reads_only_at_drift_passes() {
    let server = WebhookServer::start(WebhookConfig {
        domain_filter: DomainFilter::include(&["example.com"]),
        adjust: Adjust {
            default_properties: vec![("webhook/proxied".into(), "false".into())],
            default_ttl: None,
        },
        ..WebhookConfig::default()
    });
    server.insert([WebhookEndpoint::new("manual.example.com", "A", &["198.51.100.7"]).ttl(300)]);
    let api = FakeApiServer::start().await.unwrap();
    let logs = tempfile::tempdir().unwrap();
    let provider = [
        "--provider".to_string(),
        "webhook".to_string(),
        "--webhook-provider-url".to_string(),
        server.url(),
    ];
    let controller = Controller::start_with(&api.kubeconfig(), &provider, logs.path(), &[]);
    controller.wait_ready().await;
    api.apply(ingress_object("web", "www.example.com", Some("192.0.2.10")))
        .unwrap();
    eventually(Duration::from_secs(10), "record and marker created", || {
        server
            .record("www.example.com", "A")
            .is_some_and(|r| r.targets == ["192.0.2.10"])
            && server.record("a-www.example.com", "TXT").is_some()
    })
    .await;
    api.apply(ingress_object("web", "www.example.com", Some("192.0.2.11")))
        .unwrap();
    eventually(Duration::from_secs(10), "record updated", || {
        server
            .record("www.example.com", "A")
            .is_some_and(|r| r.targets == ["192.0.2.11"])
    })
    .await;
    api.delete(&ResourceType::INGRESS, Some("default"), "web")
        .unwrap();
    eventually(Duration::from_secs(10), "record and marker deleted", || {
        server.record("www.example.com", "A").is_none()
            && server.record("a-www.example.com", "TXT").is_none()
    })
    .await;
    assert!(server.record("manual.example.com", "A").is_some());
    assert_eq!(
        server.count("GET", "/records"),
        1,
        "one read at start; events never re-read the provider: {}",
        controller.log()
    );
    assert!(server.count("POST", "/adjustendpoints") >= 1);
}

#[test]
fn a_regex_filter_gives_one_zone_and_excluded_names_are_never_planned() {
    let server = WebhookServer::start(WebhookConfig {
        domain_filter: DomainFilter::Regex {
            include: String::new(),
            exclude: "^internal\\.".to_string(),
        },
        ..WebhookConfig::default()
    });
    // Ours by its marker, but excluded by the provider: kept although no object wants it.
    server.insert([
        WebhookEndpoint::new("internal.example.com", "A", &["198.51.100.1"]).ttl(300),
        WebhookEndpoint::new(
            "a-internal.example.com",
            "TXT",
            &[&marker(OWNER, "ingress/default/gone")],
        )
        .ttl(300),
    ]);
    let dir = tempfile::tempdir().unwrap();
    manifests(
        dir.path(),
        &[(
            "web.yaml",
            ingress(
                "web",
                &["www.example.com", "www.example.org", "internal.example.org"],
                "192.0.2.10",
                &[],
            ),
        )],
    );
    let plan = zonesync_webhook("plan", &server.url(), dir.path(), &[]);
    assert_eq!(plan.code, 2, "{}", plan.both());
    assert!(plan.stdout.contains("Zone ."), "{}", plan.both());
    assert!(!plan.stdout.contains("internal."), "{}", plan.both());
    let sync = zonesync_webhook("sync", &server.url(), dir.path(), &[]);
    assert_eq!(sync.code, 0, "{}", sync.both());
    assert!(server.record("www.example.com", "A").is_some());
    assert!(server.record("www.example.org", "A").is_some());
    assert!(server.record("internal.example.org", "A").is_none());
    assert!(server.record("internal.example.com", "A").is_some());
    assert!(server.record("a-internal.example.com", "TXT").is_some());
}
