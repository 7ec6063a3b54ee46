//! The binary with `--provider aws` against moto_server, directly or through the
//! fault-injecting proxy: zone filters and split horizon, create/update/delete of A, AAAA,
//! CNAME and ALIAS records with their markers, foreign records, batching of thousands of names,
//! pagination, and convergence under throttling, 5xx and rejected records.

use std::path::Path;

use zonesync_test_support::moto::{ChangeAction, Moto, RrType, ZoneSpec, record_set};
use zonesync_test_support::proxy::FaultProxy;

use crate::common::{Run, run, write, zonesync};

/// An Ingress asking for `hosts` pointing at load-balancer `targets` (IPs or host names),
/// with extra `annotations` (full keys).
fn ingress(name: &str, hosts: &[&str], targets: &[&str], annotations: &[(&str, &str)]) -> String {
    let mut text = format!(
        "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: {name}\n  namespace: default\n  annotations:\n    external-dns.kubernetes.io/hostname: \"{}\"\n",
        hosts.join(",")
    );
    for (key, value) in annotations {
        text.push_str(&format!("    {key}: \"{value}\"\n"));
    }
    text.push_str("spec: {}\nstatus:\n  loadBalancer:\n    ingress:\n");
    for target in targets {
        if target.parse::<std::net::IpAddr>().is_ok() {
            text.push_str(&format!("      - ip: \"{target}\"\n"));
        } else {
            text.push_str(&format!("      - hostname: \"{target}\"\n"));
        }
    }
    text
}

/// A manifest folder holding exactly `files` (name, content); a ConfigMap keeps it non-empty.
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

/// Runs `zonesync <command>` against `endpoint` with the manifests in `dir`.
fn zonesync_aws(command: &str, endpoint: &str, dir: &Path, extra: &[&str]) -> Run {
    let mut cmd = zonesync();
    cmd.arg(command)
        .args(["--source", "manifest", "--manifest"])
        .arg(dir)
        .args(["--provider", "aws", "--txt-owner-id", "ci"])
        .args(extra);
    for (key, value) in Moto::env_for(endpoint) {
        cmd.env(key, value);
    }
    run(&mut cmd)
}

/// Record names of type `record_type` in a zone, read with the SDK.
async fn names_of(moto: &Moto, zone_id: &str, record_type: &str) -> Vec<String> {
    moto.records(zone_id)
        .await
        .into_iter()
        .filter(|(_, t, _)| t == record_type)
        .map(|(n, _, _)| n)
        .collect()
}

async fn values_of(
    moto: &Moto,
    zone_id: &str,
    name: &str,
    record_type: &str,
) -> Option<Vec<String>> {
    moto.records(zone_id)
        .await
        .into_iter()
        .find(|(n, t, _)| n == name && t == record_type)
        .map(|(_, _, v)| v)
}

fn marker(resource: &str) -> String {
    format!("\"heritage=external-dns,external-dns/owner=ci,external-dns/resource={resource}\"")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zone_filters_choose_the_zones_and_split_horizon_writes_public_and_private() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    manifests(
        dir.path(),
        &[(
            "web.yaml",
            ingress(
                "web",
                &["www.example.com", "api.example.org"],
                &["192.0.2.10"],
                &[],
            ),
        )],
    );

    struct Zones {
        public: String,
        private: String,
        org: String,
    }
    let setup = || async {
        moto.reset();
        Zones {
            public: moto
                .create_zone("example.com.", ZoneSpec::public().tag("team", "web"))
                .await,
            private: moto
                .create_zone("example.com.", ZoneSpec::private().tag("team", "web"))
                .await,
            org: moto
                .create_zone("example.org.", ZoneSpec::public().tag("team", "ops"))
                .await,
        }
    };
    let has_www = |zone: String| {
        let moto = &moto;
        async move {
            names_of(moto, &zone, "A")
                .await
                .contains(&"www.example.com".to_string())
        }
    };
    let has_api = |zone: String| {
        let moto = &moto;
        async move {
            names_of(moto, &zone, "A")
                .await
                .contains(&"api.example.org".to_string())
        }
    };

    // No filter: split horizon writes the name to the public and the private zone.
    let zones = setup().await;
    let sync = zonesync_aws("sync", &moto.endpoint(), dir.path(), &[]);
    assert_eq!(sync.code, 0, "{}", sync.both());
    assert!(has_www(zones.public.clone()).await && has_www(zones.private.clone()).await);
    assert!(has_api(zones.org.clone()).await);
    assert_eq!(
        zonesync_aws("plan", &moto.endpoint(), dir.path(), &[]).code,
        0
    );

    let zones = setup().await;
    let sync = zonesync_aws(
        "sync",
        &moto.endpoint(),
        dir.path(),
        &["--aws-zone-type", "private"],
    );
    assert_eq!(sync.code, 0, "{}", sync.both());
    assert!(has_www(zones.private.clone()).await);
    assert!(!has_www(zones.public.clone()).await && !has_api(zones.org.clone()).await);

    let zones = setup().await;
    let id_filter = format!("/hostedzone/{}", zones.public);
    let sync = zonesync_aws(
        "sync",
        &moto.endpoint(),
        dir.path(),
        &["--zone-id-filter", &id_filter],
    );
    assert_eq!(sync.code, 0, "{}", sync.both());
    assert!(has_www(zones.public.clone()).await);
    assert!(!has_www(zones.private.clone()).await && !has_api(zones.org.clone()).await);

    let zones = setup().await;
    let sync = zonesync_aws(
        "sync",
        &moto.endpoint(),
        dir.path(),
        &["--aws-zone-tags", "team=web"],
    );
    assert_eq!(sync.code, 0, "{}", sync.both());
    assert!(has_www(zones.public.clone()).await && has_www(zones.private.clone()).await);
    assert!(!has_api(zones.org.clone()).await);

    let zones = setup().await;
    let sync = zonesync_aws(
        "sync",
        &moto.endpoint(),
        dir.path(),
        &["--aws-zone-type", "public", "--aws-zone-tags", "team"],
    );
    assert_eq!(sync.code, 0, "{}", sync.both());
    assert!(has_www(zones.public.clone()).await && has_api(zones.org.clone()).await);
    assert!(!has_www(zones.private.clone()).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_are_created_updated_and_deleted_with_markers_and_foreign_records_are_kept() {
    let moto = Moto::start();
    let zone = moto.create_zone("example.com.", ZoneSpec::public()).await;
    moto.change(
        &zone,
        vec![
            (
                ChangeAction::Create,
                record_set("foreign.example.com.", RrType::A, 60, &["198.51.100.1"]),
            ),
            (
                ChangeAction::Create,
                record_set("example.com.", RrType::Txt, 300, &["\"v=spf1 -all\""]),
            ),
            (
                ChangeAction::Create,
                record_set("example.com.", RrType::Mx, 300, &["10 mail.example.com."]),
            ),
        ],
    )
    .await;
    let foreign_before: Vec<_> = moto
        .records(&zone)
        .await
        .into_iter()
        .filter(|(n, t, _)| {
            n == "foreign.example.com" || (n == "example.com" && (t == "TXT" || t == "MX"))
        })
        .collect();
    assert_eq!(foreign_before.len(), 3);
    let dir = tempfile::tempdir().unwrap();
    let endpoint = moto.endpoint();

    // Create: A + AAAA, CNAME, ALIAS (A + AAAA) to a load balancer.
    manifests(
        dir.path(),
        &[
            (
                "web.yaml",
                ingress(
                    "web",
                    &["www.example.com"],
                    &["192.0.2.10", "2001:db8::10"],
                    &[],
                ),
            ),
            (
                "api.yaml",
                ingress("api", &["api.example.com"], &["lb.example.net"], &[]),
            ),
            (
                "alb.yaml",
                ingress(
                    "alb",
                    &["alb.example.com"],
                    &["my-alb-123.us-east-1.elb.amazonaws.com"],
                    &[],
                ),
            ),
        ],
    );
    let plan = zonesync_aws("plan", &endpoint, dir.path(), &[]);
    assert_eq!(plan.code, 2, "{}", plan.both());
    let sync = zonesync_aws("sync", &endpoint, dir.path(), &[]);
    assert_eq!(sync.code, 0, "{}", sync.both());
    let again = zonesync_aws("plan", &endpoint, dir.path(), &[]);
    assert_eq!(again.code, 0, "the second plan is empty: {}", again.both());

    assert_eq!(
        values_of(&moto, &zone, "www.example.com", "A")
            .await
            .unwrap(),
        ["192.0.2.10"]
    );
    assert_eq!(
        values_of(&moto, &zone, "www.example.com", "AAAA")
            .await
            .unwrap(),
        ["2001:db8::10"]
    );
    assert_eq!(
        values_of(&moto, &zone, "api.example.com", "CNAME")
            .await
            .unwrap(),
        ["lb.example.net"]
    );
    for record_type in ["A", "AAAA"] {
        assert_eq!(
            values_of(&moto, &zone, "alb.example.com", record_type)
                .await
                .unwrap(),
            ["ALIAS my-alb-123.us-east-1.elb.amazonaws.com Z35SXDOTRQ7X7K true"]
        );
    }
    for (marker_name, resource) in [
        ("a-www.example.com", "ingress/default/web"),
        ("aaaa-www.example.com", "ingress/default/web"),
        ("cname-api.example.com", "ingress/default/api"),
        ("a-alb.example.com", "ingress/default/alb"),
        ("aaaa-alb.example.com", "ingress/default/alb"),
    ] {
        assert_eq!(
            values_of(&moto, &zone, marker_name, "TXT").await,
            Some(vec![marker(resource)]),
            "{marker_name}"
        );
    }

    // Update: new address, new CNAME target, ALIAS opted out (becomes a CNAME), AAAA dropped.
    manifests(
        dir.path(),
        &[
            (
                "web.yaml",
                ingress("web", &["www.example.com"], &["192.0.2.11"], &[]),
            ),
            (
                "api.yaml",
                ingress("api", &["api.example.com"], &["new-lb.example.net"], &[]),
            ),
            (
                "alb.yaml",
                ingress(
                    "alb",
                    &["alb.example.com"],
                    &["my-alb-123.us-east-1.elb.amazonaws.com"],
                    &[("external-dns.alpha.kubernetes.io/alias", "false")],
                ),
            ),
        ],
    );
    let sync = zonesync_aws("sync", &endpoint, dir.path(), &[]);
    assert_eq!(sync.code, 0, "{}", sync.both());
    let again = zonesync_aws("plan", &endpoint, dir.path(), &[]);
    assert_eq!(again.code, 0, "{}", again.both());
    assert_eq!(
        values_of(&moto, &zone, "www.example.com", "A")
            .await
            .unwrap(),
        ["192.0.2.11"]
    );
    assert_eq!(
        values_of(&moto, &zone, "www.example.com", "AAAA").await,
        None
    );
    assert_eq!(
        values_of(&moto, &zone, "aaaa-www.example.com", "TXT").await,
        None
    );
    assert_eq!(
        values_of(&moto, &zone, "api.example.com", "CNAME")
            .await
            .unwrap(),
        ["new-lb.example.net"]
    );
    assert_eq!(values_of(&moto, &zone, "alb.example.com", "A").await, None);
    assert_eq!(
        values_of(&moto, &zone, "alb.example.com", "AAAA").await,
        None
    );
    assert_eq!(
        values_of(&moto, &zone, "alb.example.com", "CNAME")
            .await
            .unwrap(),
        ["my-alb-123.us-east-1.elb.amazonaws.com"]
    );
    assert_eq!(
        values_of(&moto, &zone, "cname-alb.example.com", "TXT").await,
        Some(vec![marker("ingress/default/alb")])
    );
    assert_eq!(
        values_of(&moto, &zone, "a-alb.example.com", "TXT").await,
        None
    );

    // Delete: every object gone; only what zonesync owns goes with them.
    manifests(dir.path(), &[]);
    let sync = zonesync_aws("sync", &endpoint, dir.path(), &[]);
    assert_eq!(sync.code, 0, "{}", sync.both());
    assert_eq!(zonesync_aws("plan", &endpoint, dir.path(), &[]).code, 0);
    let left = moto.records(&zone).await;
    let kinds: Vec<(&str, &str)> = left
        .iter()
        .map(|(n, t, _)| (n.as_str(), t.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("example.com", "MX"),
            ("example.com", "NS"),
            ("example.com", "SOA"),
            ("example.com", "TXT"),
            ("foreign.example.com", "A"),
        ]
    );
    for record in &foreign_before {
        assert!(left.contains(record), "{record:?} changed");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_hostnames_take_the_minimum_number_of_change_calls() {
    let moto = Moto::start();
    let proxy = FaultProxy::start(&moto.endpoint());
    let zone = moto
        .create_zone("bulk.example.com.", ZoneSpec::public())
        .await;
    let dir = tempfile::tempdir().unwrap();
    let hosts: Vec<String> = (0..2500)
        .map(|i| format!("host-{i:04}.bulk.example.com"))
        .collect();
    // Ten Ingresses of 250 host names each (an object may ask for at most 256).
    let files: Vec<(String, String)> = hosts
        .chunks(250)
        .enumerate()
        .map(|(i, chunk)| {
            let chunk: Vec<&str> = chunk.iter().map(String::as_str).collect();
            (
                format!("bulk-{i}.yaml"),
                ingress(&format!("bulk-{i}"), &chunk, &["192.0.2.44"], &[]),
            )
        })
        .collect();
    let files: Vec<(&str, String)> = files
        .iter()
        .map(|(name, content)| (name.as_str(), content.clone()))
        .collect();
    manifests(dir.path(), &files);

    moto.reset_recording();
    moto.start_recording();
    let sync = zonesync_aws("sync", &proxy.url(), dir.path(), &[]);
    assert_eq!(sync.code, 0, "{}", sync.both());
    moto.stop_recording();

    let batches: Vec<_> = proxy
        .requests()
        .into_iter()
        .filter(|r| r.action == "ChangeResourceRecordSets")
        .map(|r| r.batch_cost())
        .collect();
    let records: usize = batches.iter().map(|b| b.records).sum();
    let characters: usize = batches.iter().map(|b| b.characters).sum();
    assert_eq!(records, 5000, "2,500 A records and their markers");
    for batch in &batches {
        assert!(batch.records <= 1000, "{batch:?} over the record limit");
        assert!(
            batch.characters <= 32_000,
            "{batch:?} over the character limit"
        );
    }
    let by_records = records.div_ceil(1000);
    let by_characters = characters.div_ceil(32_000);
    assert!(
        by_characters > by_records,
        "markers make the character limit bind"
    );
    assert_eq!(
        batches.len(),
        by_records.max(by_characters),
        "{characters} characters: {batches:?}"
    );
    let recorded = moto.recorded_actions();
    assert_eq!(
        recorded.get("ChangeResourceRecordSets"),
        Some(&batches.len()),
        "{recorded:?}"
    );
    assert_eq!(
        recorded.get("ListResourceRecordSets"),
        Some(&1),
        "an empty zone is one page"
    );

    // The next plan reads 5,002 record sets: 17 pages of 300, and finds nothing to do.
    moto.reset_recording();
    moto.start_recording();
    let plan = zonesync_aws("plan", &moto.endpoint(), dir.path(), &[]);
    moto.stop_recording();
    assert_eq!(plan.code, 0, "{}", plan.both());
    let recorded = moto.recorded_actions();
    assert_eq!(
        recorded.get("ListResourceRecordSets"),
        Some(&17),
        "{recorded:?}"
    );
    assert_eq!(recorded.get("ChangeResourceRecordSets"), None);
    assert_eq!(moto.record_sets(&zone).await.len(), 5002);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_converges_under_throttling_errors_and_a_rejected_record() {
    let moto = Moto::start();
    let proxy = FaultProxy::start(&moto.endpoint());
    let zone = moto.create_zone("example.com.", ZoneSpec::public()).await;
    let dir = tempfile::tempdir().unwrap();
    let hosts: Vec<String> = (0..30).map(|i| format!("app-{i}.example.com")).collect();
    let hosts: Vec<&str> = hosts.iter().map(String::as_str).collect();
    manifests(
        dir.path(),
        &[("apps.yaml", ingress("apps", &hosts, &["192.0.2.50"], &[]))],
    );

    proxy.fail_next("ListHostedZones", 1);
    proxy.throttle_next("ListResourceRecordSets", 1);
    proxy.throttle_next("ChangeResourceRecordSets", 2);
    proxy.reject_record("app-7.example.com");
    let sync = zonesync_aws("sync", &proxy.url(), dir.path(), &[]);
    assert_eq!(
        sync.code,
        1,
        "the rejected record fails the sync: {}",
        sync.both()
    );
    assert!(
        sync.stderr.contains("app-7.example.com A rejected"),
        "{}",
        sync.both()
    );
    assert!(
        sync.stderr.contains("refused by the fault proxy"),
        "AWS's message is shown: {}",
        sync.both()
    );
    assert!(!sync.stderr.contains("panicked"), "{}", sync.both());
    let names = names_of(&moto, &zone, "A").await;
    assert_eq!(names.len(), 29, "every other record was applied: {names:?}");
    assert!(!names.contains(&"app-7.example.com".to_string()));
    assert_eq!(
        names_of(&moto, &zone, "TXT").await.len(),
        29,
        "with their markers"
    );
    let seen = proxy.actions();
    let changes = seen["ChangeResourceRecordSets"];
    // 2 throttled + 1 whole batch + bisection of 30 groups (at most 2 per halving).
    assert!(changes <= 3 + 2 * 5, "{seen:?}");
    assert_eq!(seen["ListHostedZones"], 2, "one 500, one retry");

    // Once Route53 accepts the record, the next sync converges and the plan is empty.
    proxy.clear_rules();
    let sync = zonesync_aws("sync", &proxy.url(), dir.path(), &[]);
    assert_eq!(sync.code, 0, "{}", sync.both());
    assert!(sync.stdout.contains("app-7.example.com"), "{}", sync.both());
    assert_eq!(names_of(&moto, &zone, "A").await.len(), 30);
    assert_eq!(zonesync_aws("plan", &proxy.url(), dir.path(), &[]).code, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn persistent_throttling_fails_cleanly_after_bounded_retries() {
    let moto = Moto::start();
    let proxy = FaultProxy::start(&moto.endpoint());
    moto.create_zone("example.com.", ZoneSpec::public()).await;
    let dir = tempfile::tempdir().unwrap();
    manifests(
        dir.path(),
        &[(
            "web.yaml",
            ingress("web", &["www.example.com"], &["192.0.2.1"], &[]),
        )],
    );
    proxy.throttle_next("ListResourceRecordSets", usize::MAX);
    let started = std::time::Instant::now();
    let plan = zonesync_aws(
        "plan",
        &proxy.url(),
        dir.path(),
        &["--aws-api-retries", "2"],
    );
    assert_eq!(plan.code, 1, "{}", plan.both());
    assert!(
        plan.stderr.contains("cannot read zone example.com"),
        "{}",
        plan.both()
    );
    assert!(plan.stderr.contains("Throttling"), "{}", plan.both());
    assert!(!plan.stderr.contains("panicked"), "{}", plan.both());
    assert_eq!(
        proxy.actions()["ListResourceRecordSets"],
        3,
        "one attempt and two retries"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
}
