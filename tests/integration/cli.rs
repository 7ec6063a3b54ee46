//! The binary end to end with the zone-file provider and manifest source: the demo, exit
//! codes, output formats, configuration errors.

use std::path::{Path, PathBuf};

use crate::common::{Run, ingress_manifest, repo_root, run, write, zonesync};

/// A copy of the demo zones in a temp dir.
fn demo_zones() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let source = repo_root().join("deploy/examples/zones");
    for entry in std::fs::read_dir(source).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dir.path().join(path.file_name().unwrap())).unwrap();
    }
    dir
}

fn demo_manifests() -> PathBuf {
    repo_root().join("deploy/examples/manifests")
}

fn plan_args(manifests: &Path, zones: &Path) -> Vec<String> {
    vec![
        "--source".into(),
        "manifest".into(),
        "--manifest".into(),
        manifests.display().to_string(),
        "--provider".into(),
        "zonefile".into(),
        "--zonefile-dir".into(),
        zones.display().to_string(),
    ]
}

fn zonesync_with(command: &str, manifests: &Path, zones: &Path, extra: &[&str]) -> Run {
    run(zonesync()
        .arg(command)
        .args(plan_args(manifests, zones))
        .args(extra))
}

#[test]
fn demo_plan_shows_every_kind_of_outcome() {
    let zones = demo_zones();
    let before = std::fs::read_to_string(zones.path().join("example.com.zone")).unwrap();
    let plan = zonesync_with("plan", &demo_manifests(), zones.path(), &[]);
    assert_eq!(plan.code, 2, "{}", plan.both());
    let out = &plan.stdout;
    assert!(out.contains("Zone example.com"), "{out}");
    assert!(
        out.contains("+ www.example.com A 192.0.2.10 (ttl 300)  ← ingress/shop/web"),
        "{out}"
    );
    assert!(
        out.contains("~ api.example.com CNAME old-lb.example.net → a1b2c3.lb.example.net"),
        "{out}"
    );
    assert!(
        out.contains("- old-promo.example.com A 192.0.2.99  (ingress/shop/promo no longer exists)"),
        "{out}"
    );
    assert!(
        out.contains("! shop.example.com: wanted by ingress/shop/storefront-v2 and ingress/shop/web; ingress/shop/web keeps it (created first)"),
        "{out}"
    );
    assert!(
        out.contains("ingress/ops/status-page: skipped host name: metadata.annotations[external-dns.kubernetes.io/hostname] = \"bad_host!.example.com\""),
        "{out}"
    );
    assert!(
        out.contains("Plan: 5 to create, 1 to update, 1 to delete."),
        "{out}"
    );
    assert!(
        !out.contains("cache.example.com"),
        "ClusterIP services publish nothing"
    );
    let after = std::fs::read_to_string(zones.path().join("example.com.zone")).unwrap();
    assert_eq!(before, after, "plan never writes");
}

#[test]
fn sync_then_plan_is_empty_and_foreign_records_stay() {
    let zones = demo_zones();
    let sync = zonesync_with("sync", &demo_manifests(), zones.path(), &[]);
    assert_eq!(sync.code, 0, "{}", sync.both());
    assert!(
        sync.stdout
            .contains("Applied: 5 created, 1 updated, 1 deleted.")
    );
    // The log counts what the plan counts (records), and the markers apart.
    assert!(
        sync.stderr.contains(
            "changes applied zone=example.com provider=zonefile records=7 markers=6 rejected=0"
        ),
        "{}",
        sync.both()
    );
    let plan = zonesync_with("plan", &demo_manifests(), zones.path(), &[]);
    assert_eq!(plan.code, 0, "{}", plan.both());
    assert!(plan.stdout.contains("No changes. DNS is up to date."));

    let zone = std::fs::read_to_string(zones.path().join("example.com.zone")).unwrap();
    for kept in [
        "legacy       3600 IN A     198.51.100.7",
        "@            3600 IN MX    10 mail.example.com.",
        "api           300 IN CNAME a1b2c3.lb.example.net.",
        "a-www         300 IN TXT   \"heritage=external-dns,external-dns/owner=default,external-dns/resource=ingress/shop/web\"",
    ] {
        assert!(zone.contains(kept), "missing {kept:?} in\n{zone}");
    }
    assert!(!zone.contains("old-promo"), "{zone}");
    assert!(
        !zone.contains("192.0.2.20"),
        "the conflict loser is not published"
    );
    assert!(zone.contains("2025010102"), "serial bumped once:\n{zone}");

    // A second sync changes nothing, not even the serial.
    let again = zonesync_with("sync", &demo_manifests(), zones.path(), &[]);
    assert_eq!(again.code, 0, "{}", again.both());
    let unchanged = std::fs::read_to_string(zones.path().join("example.com.zone")).unwrap();
    assert_eq!(zone, unchanged);
}

#[test]
fn external_dns_records_are_adopted_with_zero_changes() {
    let zones = tempfile::tempdir().unwrap();
    // Exactly what external-dns (owner "default") writes for these two objects.
    write(
        zones.path(),
        "example.org.zone",
        r#"$ORIGIN example.org.
@ 3600 IN SOA ns.example.org. admin.example.org. 1 7200 3600 1209600 300
@ 3600 IN NS ns.example.org.
ns 3600 IN A 192.0.2.1
app 300 IN A 203.0.113.5
a-app 300 IN TXT "heritage=external-dns,external-dns/owner=default,external-dns/resource=ingress/default/app"
api 300 IN CNAME lb-42.elb.example.net.
cname-api 300 IN TXT "heritage=external-dns,external-dns/owner=default,external-dns/resource=service/default/api"
"#,
    );
    let manifests = tempfile::tempdir().unwrap();
    write(
        manifests.path(),
        "app.yaml",
        &ingress_manifest("default", "app", &["app.example.org"], &["203.0.113.5"]),
    );
    write(
        manifests.path(),
        "api.yaml",
        r#"apiVersion: v1
kind: Service
metadata:
  name: api
  annotations:
    external-dns.alpha.kubernetes.io/hostname: api.example.org
spec:
  type: LoadBalancer
status:
  loadBalancer:
    ingress:
      - hostname: lb-42.elb.example.net
"#,
    );
    let plan = zonesync_with("plan", manifests.path(), zones.path(), &[]);
    assert_eq!(plan.code, 0, "{}", plan.both());
    assert!(plan.stdout.contains("No changes"), "{}", plan.both());
}

#[test]
fn json_output_is_the_documented_schema() {
    let zones = demo_zones();
    let plan = zonesync_with(
        "plan",
        &demo_manifests(),
        zones.path(),
        &["--output", "json"],
    );
    assert_eq!(plan.code, 2, "{}", plan.both());
    let json: serde_json::Value = serde_json::from_str(&plan.stdout).unwrap();
    assert_eq!(json["version"], 1);
    assert_eq!(json["has_changes"], true);
    assert_eq!(json["summary"]["create"], 5);
    assert_eq!(json["summary"]["update"], 1);
    assert_eq!(json["summary"]["delete"], 1);
    let changes = json["zones"][0]["changes"].as_array().unwrap();
    let delete = changes.iter().find(|c| c["action"] == "delete").unwrap();
    assert_eq!(delete["name"], "old-promo.example.com");
    assert_eq!(delete["type"], "A");
    assert_eq!(delete["reason"]["code"], "resource_gone");
    assert_eq!(delete["reason"]["resource"], "ingress/shop/promo");
    assert_eq!(delete["old"]["targets"][0], "192.0.2.99");
    let update = changes.iter().find(|c| c["action"] == "update").unwrap();
    assert_eq!(update["fields"][0], "targets");
    assert_eq!(update["new"]["targets"][0], "a1b2c3.lb.example.net");
    let markers = json["zones"][0]["markers"].as_array().unwrap();
    assert!(markers.iter().any(|m| m["name"] == "a-www.example.com"));
    assert_eq!(json["conflicts"][0]["code"], "claimed_first");
    assert_eq!(json["conflicts"][0]["winner"], "ingress/shop/web");
    assert_eq!(json["skipped"][0]["resource"], "ingress/ops/status-page");
    assert_eq!(json["skipped"][0]["scope"], "hostname");
}

#[test]
fn markdown_output_is_a_table() {
    let zones = demo_zones();
    let plan = zonesync_with(
        "plan",
        &demo_manifests(),
        zones.path(),
        &["--output", "markdown"],
    );
    assert_eq!(plan.code, 2, "{}", plan.both());
    assert!(plan.stdout.contains("| | Zone | Record | Change | Why |"));
    assert!(plan.stdout.contains(
        "| ➖ | example.com | `old-promo.example.com A` | 192.0.2.99 | ingress/shop/promo no longer exists |"
    ), "{}", plan.stdout);
    assert!(
        plan.stdout
            .contains("**Plan: 5 to create, 1 to update, 1 to delete.**")
    );
}

#[test]
fn upsert_only_never_deletes() {
    let zones = demo_zones();
    let sync = zonesync_with(
        "sync",
        &demo_manifests(),
        zones.path(),
        &["--policy", "upsert-only"],
    );
    assert_eq!(sync.code, 0, "{}", sync.both());
    let zone = std::fs::read_to_string(zones.path().join("example.com.zone")).unwrap();
    assert!(zone.contains("old-promo"), "{zone}");
    assert!(zone.contains("a-old-promo"), "{zone}");
}

#[test]
fn another_owner_id_touches_nothing_of_default() {
    let zones = demo_zones();
    let plan = zonesync_with(
        "plan",
        &demo_manifests(),
        zones.path(),
        &["--txt-owner-id", "cluster-b", "--output", "json"],
    );
    let json: serde_json::Value = serde_json::from_str(&plan.stdout).unwrap();
    let changes = json["zones"][0]["changes"].as_array().unwrap();
    assert!(
        changes.iter().all(|c| c["action"] == "create"),
        "cluster-b may only create: {changes:?}"
    );
    assert!(
        json["conflicts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["code"] == "foreign_record" && c["name"] == "api.example.com")
    );
}

#[test]
fn flags_come_from_the_environment() {
    let zones = demo_zones();
    let plan = run(zonesync()
        .arg("plan")
        .env("ZONESYNC_SOURCE", "manifest")
        .env("ZONESYNC_MANIFEST", demo_manifests())
        .env("ZONESYNC_PROVIDER", "zonefile")
        .env("ZONESYNC_ZONEFILE_DIR", zones.path())
        .env(
            "ZONESYNC_DOMAIN_FILTER",
            "api.example.com,old-promo.example.com",
        )
        .env("ZONESYNC_OUTPUT", "json"));
    assert_eq!(plan.code, 2, "{}", plan.both());
    let json: serde_json::Value = serde_json::from_str(&plan.stdout).unwrap();
    assert_eq!(json["summary"]["create"], 0);
    assert_eq!(json["summary"]["update"], 1);
    assert_eq!(json["summary"]["delete"], 1);
}

#[test]
fn invalid_configuration_is_one_clear_error() {
    let zones = demo_zones();
    let cases: [(&[&str], &str); 6] = [
        (
            &["--txt-prefix", "p-", "--txt-suffix=-s"],
            "mutually exclusive",
        ),
        (&["--policy", "yolo"], "unknown policy \"yolo\""),
        (
            &["--managed-record-types", "A,B C"],
            "--managed-record-types",
        ),
        (&["--label-filter", "app in (a"], "--label-filter"),
        (
            &["--domain-filter", "bad!domain"],
            "--domain-filter \"bad!domain\"",
        ),
        (&["--annotation-prefix", "nope"], "must end with '/'"),
    ];
    for (extra, expected) in cases {
        let result = zonesync_with("plan", &demo_manifests(), zones.path(), extra);
        assert_eq!(result.code, 1, "{extra:?}: {}", result.both());
        assert!(
            result.stderr.contains(expected),
            "{extra:?}: expected {expected:?} in {}",
            result.both()
        );
    }
    let missing = run(zonesync().args([
        "plan",
        "--source",
        "manifest",
        "--provider",
        "zonefile",
        "--zonefile-dir",
        "/nonexistent",
    ]));
    assert_eq!(missing.code, 1);
    assert!(
        missing
            .stderr
            .contains("--source manifest needs at least one --manifest")
    );
    let unknown_provider =
        run(zonesync().args(["plan", "--source", "manifest", "--provider", "bind"]));
    assert_eq!(unknown_provider.code, 1, "usage errors exit 1, not 2");
    assert!(unknown_provider.stderr.contains("invalid value 'bind'"));
}

#[test]
fn broken_manifest_fails_without_touching_dns() {
    let zones = demo_zones();
    let before = std::fs::read_to_string(zones.path().join("example.com.zone")).unwrap();
    let manifests = tempfile::tempdir().unwrap();
    write(
        manifests.path(),
        "good.yaml",
        &ingress_manifest("default", "app", &["app.example.com"], &["192.0.2.5"]),
    );
    std::fs::write(
        manifests.path().join("bad.yaml"),
        b"kind: Ingress\nmetadata: {name: \xff\xfe}\n",
    )
    .unwrap();
    let sync = zonesync_with("sync", manifests.path(), zones.path(), &[]);
    assert_eq!(sync.code, 1, "{}", sync.both());
    assert!(
        sync.stderr.contains("bad.yaml is not UTF-8"),
        "{}",
        sync.both()
    );
    let after = std::fs::read_to_string(zones.path().join("example.com.zone")).unwrap();
    assert_eq!(
        before, after,
        "nothing deleted because a manifest was unreadable"
    );
}

#[test]
fn rejected_changes_fail_the_sync_and_are_named() {
    let zones = tempfile::tempdir().unwrap();
    // A hand-made CNAME sits where an owned A record would go; zonesync must not write and
    // must say why (a conflict, reported; the sync itself succeeds because nothing failed).
    write(
        zones.path(),
        "example.net.zone",
        "$ORIGIN example.net.\n@ 3600 IN SOA ns. admin. 1 7200 3600 1209600 300\nweb 300 IN CNAME elsewhere.example.com.\n",
    );
    let manifests = tempfile::tempdir().unwrap();
    write(
        manifests.path(),
        "web.yaml",
        &ingress_manifest("default", "web", &["web.example.net"], &["192.0.2.8"]),
    );
    let sync = zonesync_with("sync", manifests.path(), zones.path(), &[]);
    assert_eq!(sync.code, 0, "{}", sync.both());
    assert!(
        sync.stdout.contains(
            "record web.example.net CNAME exists and is not owned by zonesync; left alone"
        ),
        "{}",
        sync.both()
    );
    let zone = std::fs::read_to_string(zones.path().join("example.net.zone")).unwrap();
    assert!(zone.contains("elsewhere.example.com"));
    assert!(!zone.contains("192.0.2.8"));
}

/// A zone where zonesync owns `count` A records `host0..` for one Ingress each.
fn owned_zone(dir: &Path, count: usize) {
    let mut zone =
        String::from("$ORIGIN example.org.\n@ 3600 IN SOA ns. admin. 1 7200 3600 1209600 300\n");
    for i in 0..count {
        zone.push_str(&format!(
            "host{i} 300 IN A 192.0.2.{i}\na-host{i} 300 IN TXT \"heritage=external-dns,external-dns/owner=default,external-dns/resource=ingress/default/app{i}\"\n"
        ));
    }
    write(dir, "example.org.zone", &zone);
}

fn owned_manifests(dir: &Path, range: std::ops::Range<usize>) {
    for i in range {
        write(
            dir,
            &format!("app{i}.yaml"),
            &ingress_manifest(
                "default",
                &format!("app{i}"),
                &[&format!("host{i}.example.org")],
                &[&format!("192.0.2.{i}")],
            ),
        );
    }
}

#[test]
fn mass_deletion_is_refused_unless_forced() {
    let zones = tempfile::tempdir().unwrap();
    owned_zone(zones.path(), 10);
    let manifests = tempfile::tempdir().unwrap();
    // Only 6 of the 10 objects remain (40% would be deleted), plus one new object.
    owned_manifests(manifests.path(), 0..6);
    write(
        manifests.path(),
        "new.yaml",
        &ingress_manifest("default", "new", &["new.example.org"], &["192.0.2.200"]),
    );
    let plan = zonesync_with("plan", manifests.path(), zones.path(), &[]);
    assert_eq!(plan.code, 1, "{}", plan.both());
    let message = "zone example.org: the plan would delete 4 of the 10 records zonesync owns (40%), more than --max-delete-percent=30";
    assert!(plan.stderr.contains(message), "{}", plan.both());
    assert!(
        plan.stdout.contains("Held back by the safety thresholds:"),
        "{}",
        plan.both()
    );
    assert!(
        plan.stdout.contains(
            "Plan: 1 to create, 0 to update, 0 to delete (4 held back by the safety thresholds.)"
        ),
        "{}",
        plan.both()
    );

    let sync = zonesync_with("sync", manifests.path(), zones.path(), &[]);
    assert_eq!(sync.code, 1, "{}", sync.both());
    let zone = std::fs::read_to_string(zones.path().join("example.org.zone")).unwrap();
    assert!(zone.contains("new "), "the creation went ahead:\n{zone}");
    assert!(
        zone.contains("host9 "),
        "the deletions were held back:\n{zone}"
    );

    let raised = zonesync_with(
        "plan",
        manifests.path(),
        zones.path(),
        &["--max-delete-percent", "50"],
    );
    assert_eq!(raised.code, 2, "{}", raised.both());

    let forced = zonesync_with("sync", manifests.path(), zones.path(), &["--force"]);
    assert_eq!(forced.code, 0, "{}", forced.both());
    let zone = std::fs::read_to_string(zones.path().join("example.org.zone")).unwrap();
    assert!(!zone.contains("host9 "), "{zone}");
    assert!(!zone.contains("a-host9 "), "{zone}");
}

#[test]
fn records_of_objects_without_an_address_are_kept_by_one_shot_runs() {
    let zones = tempfile::tempdir().unwrap();
    owned_zone(zones.path(), 1);
    let manifests = tempfile::tempdir().unwrap();
    // The load balancer status is empty (an ingress controller rolling out).
    write(
        manifests.path(),
        "app0.yaml",
        &ingress_manifest("default", "app0", &["host0.example.org"], &[]),
    );
    let plan = zonesync_with("plan", manifests.path(), zones.path(), &[]);
    assert_eq!(plan.code, 0, "{}", plan.both());
    assert!(
        plan.stdout
            .contains("host0.example.org A (ingress/default/app0)"),
        "{}",
        plan.both()
    );
    let immediate = zonesync_with(
        "plan",
        manifests.path(),
        zones.path(),
        &["--target-grace-period", "0s"],
    );
    assert_eq!(immediate.code, 2, "{}", immediate.both());
    assert!(
        immediate.stdout.contains("- host0.example.org A 192.0.2.0"),
        "{}",
        immediate.both()
    );
}

#[test]
fn the_allocator_runs_with_the_options_it_was_built_with() {
    // .cargo/config.toml compiles jemalloc's options in; a build that lost them (another
    // allocator, the config not read) would hold more memory after a large sync.
    let output = zonesync()
        .arg("--version")
        .env("_RJEM_MALLOC_CONF", "stats_print:true")
        .output()
        .unwrap();
    assert!(output.status.success());
    let stats = String::from_utf8_lossy(&output.stderr);
    for option in [
        "opt.narenas: 1",
        "opt.background_thread: true",
        "opt.dirty_decay_ms: 1000",
        "opt.muzzy_decay_ms: 1000",
    ] {
        assert!(stats.contains(option), "{option} missing from:\n{stats}");
    }
}

#[test]
fn errors_print_each_cause_once_and_name_the_flag() {
    let zones = demo_zones();
    let missing = repo_root().join("deploy/examples/manifestz");
    let result = zonesync_with("plan", &missing, zones.path(), &[]);
    assert_eq!(result.code, 1, "{}", result.both());
    assert_eq!(
        result.stderr,
        format!(
            "error: --manifest: cannot read {}: No such file or directory (os error 2)\n",
            missing.display()
        )
    );

    let no_dir = zones.path().join("nonexistent");
    let result = zonesync_with("plan", &demo_manifests(), &no_dir, &[]);
    assert_eq!(result.code, 1, "{}", result.both());
    assert_eq!(
        result.stderr,
        format!(
            "error: --zonefile-dir: {} is not a readable directory: No such file or directory (os error 2)\n",
            no_dir.display()
        )
    );

    // The same value from the environment: the error names the variable that set it.
    let result = run(zonesync()
        .args(["plan", "--source", "manifest", "--manifest"])
        .arg(demo_manifests())
        .args(["--provider", "zonefile"])
        .env("ZONESYNC_ZONEFILE_DIR", &no_dir));
    assert_eq!(result.code, 1, "{}", result.both());
    assert_eq!(
        result.stderr,
        format!(
            "error: --zonefile-dir: {} is not a readable directory: No such file or directory (os error 2)\n\
             note: --zonefile-dir was set by the environment variable ZONESYNC_ZONEFILE_DIR\n",
            no_dir.display()
        )
    );
    let result = run(zonesync()
        .args(["plan", "--provider", "zonefile", "--zonefile-dir"])
        .arg(zones.path())
        .env("ZONESYNC_SOURCE", "manifest")
        .env("ZONESYNC_POLICY", "yolo"));
    assert_eq!(
        result.stderr,
        "error: --source manifest needs at least one --manifest PATH\n\
         note: --source was set by the environment variable ZONESYNC_SOURCE\n",
        "{}",
        result.both()
    );
}

#[test]
fn check_config_prints_each_flag_its_value_and_origin() {
    let zones = demo_zones();
    let secret = "c2VjcmV0LXNlY3JldA==";
    let check = |output: &str| {
        run(zonesync()
            .args(["sync", "--check-config", "--output", output])
            .args(plan_args(&demo_manifests(), zones.path()))
            .args(["--rfc2136-tsig-secret", secret])
            .env("ZONESYNC_TXT_OWNER_ID", "cluster-a"))
    };
    let text = check("text");
    assert_eq!(text.code, 0, "{}", text.both());
    assert!(
        text.stdout
            .starts_with("The configuration is valid. zonesync sync would run with:\n\nOptions\n"),
        "{}",
        text.stdout
    );
    let line = |flag: &str| {
        text.stdout
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{flag} ")))
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .unwrap_or_else(|| panic!("{flag} missing from\n{}", text.stdout))
    };
    assert_eq!(line("--source"), "--source manifest flag");
    assert_eq!(
        line("--txt-owner-id"),
        "--txt-owner-id cluster-a environment (ZONESYNC_TXT_OWNER_ID)"
    );
    assert_eq!(line("--policy"), "--policy sync default");
    assert_eq!(
        line("--managed-record-types"),
        "--managed-record-types A,AAAA,CNAME default"
    );
    assert_eq!(
        line("--rfc2136-tsig-secret"),
        "--rfc2136-tsig-secret (redacted) flag"
    );
    assert!(!text.stdout.contains(secret), "{}", text.stdout);
    assert!(
        !text.stdout.contains("--namespace"),
        "unset flags are left out"
    );
    for heading in ["\nSources\n", "\nOwnership\n", "\nSafety\n"] {
        assert!(
            text.stdout.contains(heading),
            "{heading:?} in {}",
            text.stdout
        );
    }

    let json = check("json");
    assert_eq!(json.code, 0, "{}", json.both());
    assert!(!json.stdout.contains(secret), "{}", json.stdout);
    let document: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(document["valid"], true);
    assert_eq!(document["command"], "sync");
    let flags = document["flags"].as_array().unwrap();
    let flag = |name: &str| flags.iter().find(|f| f["flag"] == name).unwrap().clone();
    assert_eq!(
        flag("--txt-owner-id"),
        serde_json::json!({"flag": "--txt-owner-id", "value": "cluster-a", "origin": "environment",
            "env": "ZONESYNC_TXT_OWNER_ID", "heading": "Ownership"})
    );
    assert_eq!(flag("--source")["value"], serde_json::json!(["manifest"]));
    assert_eq!(flag("--rfc2136-tsig-secret")["value"], "(redacted)");
    assert_eq!(flag("--policy")["origin"], "default");
    // The same flags in both forms.
    let text_flags: Vec<&str> = text
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("  "))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    let json_flags: Vec<&str> = flags.iter().map(|f| f["flag"].as_str().unwrap()).collect();
    let mut sorted_text = text_flags.clone();
    let mut sorted_json = json_flags.clone();
    sorted_text.sort_unstable();
    sorted_json.sort_unstable();
    assert_eq!(sorted_text, sorted_json);
}

#[test]
fn invalid_configuration_is_not_printed_as_valid() {
    let zones = demo_zones();
    let result = zonesync_with(
        "plan",
        &demo_manifests(),
        zones.path(),
        &["--check-config", "--policy", "yolo"],
    );
    assert_eq!(result.code, 1, "{}", result.both());
    assert!(result.stdout.is_empty(), "{}", result.both());
}

/// The sources listed under `--source` in a command's `--help`.
fn offered_sources(command: &str) -> Vec<String> {
    let help = run(zonesync().args([command, "--help"]));
    assert_eq!(help.code, 0, "{}", help.both());
    let section = help
        .stdout
        .split("\n      --source <SOURCES>\n")
        .nth(1)
        .and_then(|rest| rest.split("[env: ZONESYNC_SOURCE").next())
        .unwrap_or_else(|| panic!("no --source in {}", help.stdout));
    section
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- "))
        .filter_map(|l| l.split(':').next())
        .map(str::to_string)
        .collect()
}

#[test]
fn each_command_offers_only_the_sources_it_accepts() {
    let one_shot = [
        "ingress",
        "service",
        "manifest",
        "gateway-httproute",
        "gateway-grpcroute",
        "gateway-tlsroute",
        "gateway-tcproute",
        "gateway-udproute",
        "crd",
    ];
    assert_eq!(offered_sources("plan"), one_shot);
    assert_eq!(offered_sources("sync"), one_shot);
    let run_sources = offered_sources("run");
    assert!(
        !run_sources.contains(&"manifest".to_string()),
        "{run_sources:?}"
    );
    assert!(
        run_sources.contains(&"ingress".to_string()),
        "{run_sources:?}"
    );
    let refused = run(zonesync().args(["run", "--source", "manifest", "--provider", "zonefile"]));
    assert_eq!(refused.code, 1, "{}", refused.both());
    assert!(
        refused
            .stderr
            .contains("invalid value 'manifest' for '--source <SOURCES>'"),
        "{}",
        refused.both()
    );
    assert!(
        !refused
            .stderr
            .contains("possible values: ingress, service, manifest"),
        "{}",
        refused.both()
    );
}

#[test]
fn check_config_is_listed_under_the_general_heading() {
    for command in ["plan", "sync", "run"] {
        let help = run(zonesync().args([command, "--help"]));
        let mut heading = "";
        let mut found = None;
        for line in help.stdout.lines() {
            if !line.starts_with(' ') && line.ends_with(':') {
                heading = line;
            }
            if line.trim_start().starts_with("--check-config") {
                found = Some(heading);
            }
        }
        assert_eq!(found, Some("Options:"), "{command}: {}", help.stdout);
    }
}

#[test]
fn every_flag_is_in_the_readme_flag_tables_and_nothing_else_is() {
    use clap::CommandFactory;
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    // The first cell of every table row that starts with a flag.
    let mut documented = std::collections::BTreeSet::new();
    for line in readme.lines().filter(|l| l.starts_with("| `-")) {
        let cell = line.split('|').nth(1).unwrap();
        for piece in cell.split('`').filter(|p| p.starts_with("--")) {
            let flag: String = piece
                .chars()
                .skip(2)
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect();
            documented.insert(format!("--{flag}"));
        }
    }
    let mut accepted = std::collections::BTreeSet::new();
    for command in zonesync::cli::Cli::command().get_subcommands() {
        for arg in command.get_arguments().filter(|a| !a.is_hide_set()) {
            if let Some(long) = arg.get_long() {
                accepted.insert(format!("--{long}"));
            }
        }
    }
    let missing: Vec<_> = accepted.difference(&documented).collect();
    assert!(
        missing.is_empty(),
        "not in the README's flag tables: {missing:?}"
    );
    let unknown: Vec<_> = documented.difference(&accepted).collect();
    assert!(
        unknown.is_empty(),
        "in the README but not accepted: {unknown:?}"
    );
}

/// The demo's plan in each output format, byte for byte, against the files in
/// `tests/golden/` (text without colour). A deliberate change of the output is recorded with
/// `ZONESYNC_UPDATE_GOLDEN=1 cargo test --test integration golden`, and the diff reviewed.
#[test]
fn plan_output_matches_the_golden_files() {
    let golden = repo_root().join("tests/golden");
    let update = std::env::var_os("ZONESYNC_UPDATE_GOLDEN").is_some();
    for (format, file) in [
        ("text", "demo-plan.txt"),
        ("json", "demo-plan.json"),
        ("markdown", "demo-plan.md"),
    ] {
        let zones = demo_zones();
        let plan = run(zonesync()
            .arg("plan")
            .args(plan_args(&demo_manifests(), zones.path()))
            .args(["--output", format])
            .env("NO_COLOR", "1"));
        assert_eq!(plan.code, 2, "{format}: {}", plan.both());
        // The zone id is the zone file's path, in a new folder each run.
        let output = plan
            .stdout
            .replace(&zones.path().display().to_string(), "<zonefile-dir>");
        let path = golden.join(file);
        if update {
            std::fs::create_dir_all(&golden).unwrap();
            std::fs::write(&path, &output).unwrap();
        }
        let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e} (ZONESYNC_UPDATE_GOLDEN=1 writes it)",
                path.display()
            )
        });
        assert!(
            output == expected,
            "{format} plan differs from {}:\n--- expected\n{expected}\n--- got\n{output}",
            path.display(),
        );
    }
}
