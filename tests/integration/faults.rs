//! The fault matrix against real peers: the DNS server going away mid-run and coming back with
//! its journal, zonesync killed in the middle of a large apply, hostile input next to good
//! input, and secrets that must never be printed. Each test checks afterwards that the zone holds
//! exactly what it should and that nothing foreign was touched.
//!
//! Kubernetes API faults (500s on lists, watch drops, 410 storms) are in `controller.rs`;
//! rejected batches and throttling against Route53 in `route53.rs`; TSIG rejections in
//! `rfc2136.rs`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use zonesync_test_support::dns::{Bind, DnsServer, ZoneRecord};
use zonesync_test_support::kube_api::FakeApiServer;

use crate::common::{ingress_manifest, run, write, zonesync};
use crate::controller::{Controller, eventually, ingress};

const MARKER_PREFIX: &str =
    "heritage=external-dns,external-dns/owner=default,external-dns/resource=";

/// Flags for the RFC2136 provider against `bind`'s `example.org`, the secret read from a file.
pub(crate) fn rfc2136_args(bind: &Bind, secret_file: &Path) -> Vec<String> {
    [
        "--provider",
        "rfc2136",
        "--rfc2136-host",
        "127.0.0.1",
        "--rfc2136-port",
        &bind.port().to_string(),
        "--rfc2136-zone",
        "example.org",
        "--rfc2136-tsig-keyname",
        &bind.key().name,
        "--rfc2136-tsig-secret-alg",
        &bind.key().algorithm,
        "--rfc2136-tsig-secret-file",
        &secret_file.display().to_string(),
        "--rfc2136-timeout",
        "2s",
    ]
    .iter()
    .map(ToString::to_string)
    .collect()
}

/// `host.example.org` → address, for [`assert_zone_exact`].
fn expected(hosts: &[(&str, &str)]) -> BTreeMap<String, String> {
    hosts
        .iter()
        .map(|(host, ip)| (format!("{host}.example.org"), ip.to_string()))
        .collect()
}

/// name → sorted values of one type.
fn by_name(records: &[ZoneRecord], record_type: &str) -> BTreeMap<String, Vec<String>> {
    let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for record in records.iter().filter(|r| r.record_type == record_type) {
        map.entry(record.name.clone())
            .or_default()
            .push(record.text());
    }
    for values in map.values_mut() {
        values.sort();
    }
    map
}

/// The zone holds exactly `expected` (name → A value) as owned records, each with exactly one
/// marker, no marker without its record, and `foreign` untouched.
fn assert_zone_exact(
    records: &[ZoneRecord],
    expected: &BTreeMap<String, String>,
    foreign: &[(&str, &str)],
) {
    let a = by_name(records, "A");
    let txt = by_name(records, "TXT");
    for (name, value) in expected {
        assert_eq!(a.get(name), Some(&vec![value.clone()]), "{name} A");
        let markers = txt.get(&format!("a-{name}")).cloned().unwrap_or_default();
        assert_eq!(
            markers.len(),
            1,
            "exactly one marker for {name}: {markers:?}"
        );
        assert!(markers[0].starts_with(MARKER_PREFIX), "{markers:?}");
    }
    for (name, values) in &txt {
        if values.iter().any(|v| v.starts_with(MARKER_PREFIX)) {
            let record = name.strip_prefix("a-").expect("typed marker");
            assert!(expected.contains_key(record), "orphan marker {name}");
        }
    }
    for (name, value) in foreign {
        assert_eq!(
            a.get(*name),
            Some(&vec![value.to_string()]),
            "foreign {name} untouched"
        );
    }
    let owned: BTreeSet<&String> = a
        .keys()
        .filter(|n| !foreign.iter().any(|(f, _)| f == n) && n.as_str() != "ns1.example.org")
        .collect();
    assert_eq!(owned, expected.keys().collect(), "no extra records");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_server_down_mid_run_then_back_with_its_journal() {
    let api = FakeApiServer::start().await.unwrap();
    let mut bind = tokio::task::block_in_place(|| {
        Bind::builder()
            .zone_with_records("example.org", &["manual 300 IN A 198.51.100.7"])
            .start()
    });
    let dir = tempfile::tempdir().unwrap();
    let secret = write(dir.path(), "tsig.secret", &bind.key().secret);
    let controller = Controller::start_with(
        &api.kubeconfig(),
        &rfc2136_args(&bind, &secret),
        dir.path(),
        &[],
    );
    controller.wait_ready().await;
    api.apply(ingress("one", "one.example.org", Some("192.0.2.1")))
        .unwrap();
    eventually(Duration::from_secs(10), "first record", || {
        bind.axfr("example.org")
            .is_ok_and(|r| by_name(&r, "A").contains_key("one.example.org"))
    })
    .await;

    // The server goes away; a change arrives meanwhile and cannot be written.
    tokio::task::block_in_place(|| bind.stop());
    api.apply(ingress("two", "two.example.org", Some("192.0.2.2")))
        .unwrap();
    eventually(Duration::from_secs(15), "the failure to be noticed", || {
        controller
            .metric("zonesync_reconciles_total{trigger=\"event\",result=\"failure\"}")
            .unwrap_or(0.0)
            >= 1.0
    })
    .await;

    // It comes back with its journal: the first record survived, the second lands by retry.
    tokio::task::block_in_place(|| bind.restart());
    eventually(
        Duration::from_secs(30),
        "convergence after the restart",
        || {
            bind.axfr("example.org")
                .is_ok_and(|r| by_name(&r, "A").contains_key("two.example.org"))
        },
    )
    .await;
    assert_zone_exact(
        &bind.axfr("example.org").unwrap(),
        &expected(&[("one", "192.0.2.1"), ("two", "192.0.2.2")]),
        &[("manual.example.org", "198.51.100.7")],
    );
    assert!(controller.log().contains("will retry") || controller.log().contains("failed"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_in_the_middle_of_a_large_apply_then_converges() {
    let bind = tokio::task::block_in_place(|| {
        Bind::builder()
            .zone_with_records("example.org", &["manual 300 IN A 198.51.100.7"])
            .start()
    });
    let dir = tempfile::tempdir().unwrap();
    let secret = write(dir.path(), "tsig.secret", &bind.key().secret);
    let manifests = tempfile::tempdir().unwrap();
    let count = 4000;
    let mut text = String::new();
    let mut expected = BTreeMap::new();
    for i in 0..count {
        let name = format!("host{i}.example.org");
        let ip = format!("10.{}.{}.{}", i / 65536, (i / 256) % 256, i % 256);
        text.push_str(&ingress_manifest(
            "default",
            &format!("app{i}"),
            &[&name],
            &[&ip],
        ));
        text.push_str("---\n");
        expected.insert(name, ip);
    }
    write(manifests.path(), "all.yaml", &text);
    let args = rfc2136_args(&bind, &secret);
    let sync = |extra: &[&str]| {
        let mut command = zonesync();
        command
            .args(["sync", "--source", "manifest", "--manifest"])
            .arg(manifests.path())
            .args(&args)
            .args(extra);
        command
    };

    // Start a sync writing 8,000 records in small messages and kill it hard once some landed.
    let mut child = sync(&["--rfc2136-batch-change-size", "5"])
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("first-sync.log")).unwrap())
        .spawn()
        .unwrap();
    let first_log =
        || std::fs::read_to_string(dir.path().join("first-sync.log")).unwrap_or_default();
    let mut killed_mid_apply = false;
    for _ in 0..400 {
        tokio::time::sleep(Duration::from_millis(25)).await;
        if let Some(status) = child.try_wait().unwrap() {
            panic!(
                "the sync finished ({status}) before it could be killed:\n{}",
                first_log()
            );
        }
        let landed = bind
            .axfr("example.org")
            .map(|r| by_name(&r, "A").len())
            .unwrap_or(0);
        if landed > 50 {
            child.kill().unwrap();
            killed_mid_apply = landed < count;
            break;
        }
    }
    let _ = child.wait();
    assert!(
        killed_mid_apply,
        "the sync was killed part-way through its apply"
    );
    let partial = bind.axfr("example.org").unwrap();
    let a = by_name(&partial, "A");
    let txt = by_name(&partial, "TXT");
    for name in a.keys().filter(|n| n.starts_with("host")) {
        assert!(
            txt.contains_key(&format!("a-{name}")),
            "{name} landed without its marker"
        );
    }

    // Restarted: it finishes the job, and a plan afterwards is empty.
    let again = tokio::task::block_in_place(|| run(&mut sync(&[])));
    assert_eq!(again.code, 0, "{}", again.both());
    let records = bind.axfr("example.org").unwrap();
    assert_zone_exact(
        &records,
        &expected,
        &[("manual.example.org", "198.51.100.7")],
    );
    let mut plan_command = zonesync();
    plan_command
        .args(["plan", "--source", "manifest", "--manifest"])
        .arg(manifests.path())
        .args(&args);
    let plan = tokio::task::block_in_place(|| run(&mut plan_command));
    assert_eq!(plan.code, 0, "{}", plan.both());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_input_never_damages_other_records() {
    let bind = tokio::task::block_in_place(|| {
        Bind::builder()
            .zone_with_records(
                "example.org",
                &[
                    "manual 300 IN A 198.51.100.7",
                    "keep 300 IN A 192.0.2.77",
                    &format!("a-keep 300 IN TXT \"{MARKER_PREFIX}ingress/default/broken\""),
                ],
            )
            .start()
    });
    let dir = tempfile::tempdir().unwrap();
    let secret = write(dir.path(), "tsig.secret", &bind.key().secret);
    let manifests = tempfile::tempdir().unwrap();
    write(
        manifests.path(),
        "good.yaml",
        &ingress_manifest("default", "good", &["good.example.org"], &["192.0.2.5"]),
    );
    let many: Vec<String> = (0..2000).map(|i| format!("n{i}.example.org")).collect();
    let long_label = format!("{}.example.org", "x".repeat(62));
    let hostile = [
        (
            "huge",
            vec!["a.example.org,".repeat(10_000)],
            "192.0.2.9".to_string(),
        ),
        ("many", many, "192.0.2.9".to_string()),
        // `\x01` is YAML's escape for a control character inside double quotes.
        (
            "control",
            vec!["bad\\x01name.example.org".to_string()],
            "192.0.2.9".to_string(),
        ),
        (
            "wild",
            vec!["a.*.example.org".to_string()],
            "192.0.2.9".to_string(),
        ),
        (
            "apex",
            vec!["example.org".to_string()],
            "192.0.2.9".to_string(),
        ),
        ("marker-label", vec![long_label], "192.0.2.9".to_string()),
    ];
    for (name, hosts, target) in &hostile {
        let hosts: Vec<&str> = hosts.iter().map(String::as_str).collect();
        write(
            manifests.path(),
            &format!("{name}.yaml"),
            &ingress_manifest("default", name, &[&hosts.join(",")], &[target]),
        );
    }
    // An object with an absurd TTL that owns a record already: skipped, its record kept.
    write(
        manifests.path(),
        "broken.yaml",
        "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: broken\n  namespace: default\n  annotations:\n    external-dns.kubernetes.io/hostname: keep.example.org\n    external-dns.kubernetes.io/ttl: \"-1h\"\nspec: {}\nstatus:\n  loadBalancer:\n    ingress: [{ip: 192.0.2.99}]\n",
    );
    let mut command = zonesync();
    command
        .args(["sync", "--source", "manifest", "--manifest"])
        .arg(manifests.path())
        .args(rfc2136_args(&bind, &secret));
    let sync = tokio::task::block_in_place(|| run(&mut command));
    assert_eq!(sync.code, 0, "{}", sync.both());
    for (resource, field) in [
        ("ingress/default/huge", "more than 65536"),
        ("ingress/default/many", "at most 256 host names"),
        ("ingress/default/control", "is not allowed in a host name"),
        ("ingress/default/wild", "wildcard"),
        ("ingress/default/apex", "outside zone example.org"),
        ("ingress/default/marker-label", "label over 63 bytes"),
        (
            "ingress/default/broken",
            "metadata.annotations[external-dns.kubernetes.io/ttl]",
        ),
    ] {
        assert!(
            sync.stdout
                .lines()
                .any(|l| l.contains(resource) && l.contains(field)),
            "expected a warning for {resource} mentioning {field:?}:\n{}",
            sync.stdout
        );
    }
    assert!(
        sync.stdout
            .contains("= keep.example.org A (ingress/default/broken)"),
        "{}",
        sync.stdout
    );
    assert_zone_exact(
        &bind.axfr("example.org").unwrap(),
        &expected(&[("good", "192.0.2.5"), ("keep", "192.0.2.77")]),
        &[("manual.example.org", "198.51.100.7")],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_never_appear_in_output_logs_or_metrics() {
    let api = FakeApiServer::start().await.unwrap();
    let bind = tokio::task::block_in_place(|| Bind::builder().zone("example.org").start());
    let dir = tempfile::tempdir().unwrap();
    let secret = write(dir.path(), "tsig.secret", &bind.key().secret);
    let aws_secret = "AWS-SECRET-never-print-me-4711";
    let manifests = tempfile::tempdir().unwrap();
    write(
        manifests.path(),
        "web.yaml",
        &ingress_manifest("default", "web", &["www.example.org"], &["192.0.2.5"]),
    );
    let mut outputs = Vec::new();

    // Secret in a file, in a flag, in the environment; right and wrong; trace logging.
    let wrong = bind.key().with_other_secret();
    for (command, secret_args) in [
        (
            "sync",
            vec![
                "--rfc2136-tsig-secret-file".to_string(),
                secret.display().to_string(),
            ],
        ),
        (
            "plan",
            vec![
                "--rfc2136-tsig-secret".to_string(),
                bind.key().secret.clone(),
            ],
        ),
        (
            "sync",
            vec!["--rfc2136-tsig-secret".to_string(), wrong.secret.clone()],
        ),
        (
            "plan",
            vec![
                "--check-config".to_string(),
                "--rfc2136-tsig-secret".to_string(),
                bind.key().secret.clone(),
            ],
        ),
    ] {
        let mut c = zonesync();
        c.args([command, "--source", "manifest", "--manifest"])
            .arg(manifests.path())
            .args(["--provider", "rfc2136", "--rfc2136-host", "127.0.0.1"])
            .args([
                "--rfc2136-port",
                &bind.port().to_string(),
                "--rfc2136-zone",
                "example.org",
            ])
            .args(["--rfc2136-tsig-keyname", &bind.key().name])
            .args(&secret_args)
            .args(["--log-level", "trace"])
            .env("AWS_SECRET_ACCESS_KEY", aws_secret);
        let result = tokio::task::block_in_place(|| run(&mut c));
        outputs.push(result.both());
    }
    let mut env_secret = zonesync();
    env_secret
        .args(["sync", "--source", "manifest", "--manifest"])
        .arg(manifests.path())
        .args(["--provider", "rfc2136", "--rfc2136-host", "127.0.0.1"])
        .args([
            "--rfc2136-port",
            &bind.port().to_string(),
            "--rfc2136-zone",
            "example.org",
        ])
        .args([
            "--rfc2136-tsig-keyname",
            &bind.key().name,
            "--log-level",
            "trace",
        ])
        .env("ZONESYNC_RFC2136_TSIG_SECRET", &wrong.secret);
    outputs.push(tokio::task::block_in_place(|| run(&mut env_secret)).both());
    let mut help = zonesync();
    help.args(["sync", "--help"])
        .env("ZONESYNC_RFC2136_TSIG_SECRET", &bind.key().secret);
    outputs.push(tokio::task::block_in_place(|| run(&mut help)).both());

    // The controller, with its logs and metrics.
    let controller = Controller::start_with(
        &api.kubeconfig(),
        &rfc2136_args(&bind, &secret),
        dir.path(),
        &["--log-level", "trace"],
    );
    controller.wait_ready().await;
    api.apply(ingress("api", "api.example.org", Some("192.0.2.6")))
        .unwrap();
    eventually(Duration::from_secs(10), "a write", || {
        controller.log().contains("change")
    })
    .await;
    outputs.push(controller.log());
    outputs.push(controller.metrics());
    outputs.push(controller.ready().map(|(_, b)| b).unwrap_or_default());

    assert!(
        outputs[2].contains("TSIG authentication failed"),
        "{}",
        outputs[2]
    );
    for output in &outputs {
        for needle in [
            bind.key().secret.as_str(),
            wrong.secret.as_str(),
            aws_secret,
        ] {
            assert!(!output.contains(needle), "a secret leaked:\n{output}");
        }
    }
}
