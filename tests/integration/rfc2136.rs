//! The binary with `--provider rfc2136` against BIND (two zones) and Knot: records and their
//! ownership markers created, updated and deleted, checked with an independent `dig` transfer;
//! foreign records and other owners' records left alone; a CNAME → A change in one sync; and
//! the errors an operator meets (wrong secret, unknown key, unserved zone, server down), with
//! exit status 1 and the secret never printed.

use std::path::Path;

use zonesync_test_support::dns::{Bind, DnsServer, Knot, TsigKey, ZoneRecord, find_records};

use crate::common::{Run, ingress_manifest, run, write, zonesync};

const ZONE_RECORDS: &[&str] = &[
    "foreign IN A 192.0.2.200",
    "other IN A 192.0.2.201",
    "a-other IN TXT \"heritage=external-dns,external-dns/owner=someone-else,external-dns/resource=ingress/x/y\"",
    "@ IN MX 10 mail",
    "mail IN A 192.0.2.25",
];

/// An Ingress in namespace `default` asking for `hosts`, pointing at load-balancer `targets`.
fn ingress(name: &str, hosts: &[&str], targets: &[&str]) -> String {
    ingress_manifest("default", name, hosts, targets)
}

/// A LoadBalancer Service in namespace `default` asking for `host`, pointing at `ip`.
fn service(name: &str, host: &str, ip: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\n  namespace: default\n  annotations:\n    external-dns.kubernetes.io/hostname: {host}\nspec:\n  type: LoadBalancer\n  ports: [{{port: 443}}]\nstatus:\n  loadBalancer:\n    ingress:\n      - ip: \"{ip}\"\n"
    )
}

/// Makes `dir` hold exactly `files`; a ConfigMap keeps the folder from being empty.
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

/// Runs `zonesync <command>` with the RFC2136 provider pointed at `port`, signing with `key`
/// (its secret from a file), managing `zones`.
fn zonesync_dns(
    command: &str,
    dir: &Path,
    port: u16,
    key: &TsigKey,
    zones: &[&str],
    extra: &[&str],
) -> Run {
    let secrets = tempfile::tempdir().unwrap();
    let secret_file = write(secrets.path(), "tsig.secret", &format!("{}\n", key.secret));
    let mut cmd = zonesync();
    cmd.arg(command)
        .args(["--source", "manifest", "--manifest"])
        .arg(dir)
        .args(["--provider", "rfc2136", "--rfc2136-host", "127.0.0.1"])
        .args(["--rfc2136-port", &port.to_string()])
        .args(["--rfc2136-tsig-keyname", &key.name])
        .args(["--rfc2136-tsig-secret-alg", &key.algorithm])
        .arg("--rfc2136-tsig-secret-file")
        .arg(&secret_file)
        .args(["--rfc2136-timeout", "2s"]);
    for zone in zones {
        cmd.args(["--rfc2136-zone", zone]);
    }
    cmd.args(extra);
    run(&mut cmd)
}

fn marker(resource: &str) -> String {
    format!("heritage=external-dns,external-dns/owner=default,external-dns/resource={resource}")
}

fn values(records: &[ZoneRecord], name: &str, record_type: &str) -> Vec<String> {
    let mut values: Vec<String> = find_records(records, name, record_type)
        .into_iter()
        .map(ZoneRecord::text)
        .collect();
    values.sort();
    values
}

/// The end-to-end scenario, against any server serving `example.org` (with [`ZONE_RECORDS`])
/// and `example.com`.
fn sync_scenario(server: &impl DnsServer) {
    let dir = tempfile::tempdir().unwrap();
    let zones = ["example.org", "example.com"];
    let key = server.key();
    let sync = |dir: &Path| zonesync_dns("sync", dir, server.port(), key, &zones, &[]);
    let plan = |dir: &Path| zonesync_dns("plan", dir, server.port(), key, &zones, &[]);
    let foreign_before: Vec<ZoneRecord> = server
        .axfr("example.org")
        .unwrap()
        .into_iter()
        .filter(|r| r.record_type != "SOA")
        .collect();

    // Create: A + AAAA in both zones, a CNAME, an A from a Service; foreign names are wanted too.
    manifests(
        dir.path(),
        &[
            (
                "web.yaml",
                ingress(
                    "web",
                    &["www.example.org", "www.example.com"],
                    &["192.0.2.10", "2001:db8::10"],
                ),
            ),
            (
                "api.yaml",
                ingress("api", &["api.example.org"], &["lb.example.net"]),
            ),
            ("db.yaml", service("db", "db.example.com", "192.0.2.40")),
            (
                "claims.yaml",
                ingress(
                    "claims",
                    &["foreign.example.org", "other.example.org"],
                    &["192.0.2.99"],
                ),
            ),
        ],
    );
    let first_plan = plan(dir.path());
    assert_eq!(first_plan.code, 2, "{}", first_plan.both());
    let run = sync(dir.path());
    assert_eq!(run.code, 0, "{}", run.both());
    let org = server.axfr("example.org").unwrap();
    let com = server.axfr("example.com").unwrap();
    assert_eq!(values(&org, "www.example.org", "A"), ["192.0.2.10"]);
    assert_eq!(values(&org, "www.example.org", "AAAA"), ["2001:db8::10"]);
    assert_eq!(
        values(&org, "a-www.example.org", "TXT"),
        [marker("ingress/default/web")]
    );
    assert_eq!(
        values(&org, "aaaa-www.example.org", "TXT"),
        [marker("ingress/default/web")]
    );
    assert_eq!(
        values(&org, "api.example.org", "CNAME"),
        ["lb.example.net."]
    );
    assert_eq!(
        values(&org, "cname-api.example.org", "TXT"),
        [marker("ingress/default/api")]
    );
    assert_eq!(values(&com, "www.example.com", "A"), ["192.0.2.10"]);
    assert_eq!(values(&com, "www.example.com", "AAAA"), ["2001:db8::10"]);
    assert_eq!(
        values(&com, "a-www.example.com", "TXT"),
        [marker("ingress/default/web")]
    );
    assert_eq!(values(&com, "db.example.com", "A"), ["192.0.2.40"]);
    assert_eq!(
        values(&com, "a-db.example.com", "TXT"),
        [marker("service/default/db")]
    );
    assert!(
        find_records(&org, "www.example.org", "A")
            .iter()
            .all(|r| r.ttl == 300)
    );
    for record in &foreign_before {
        assert!(org.contains(record), "foreign {record:?} changed: {org:?}");
    }
    assert!(find_records(&org, "a-foreign.example.org", "TXT").is_empty());

    let again = plan(dir.path());
    assert_eq!(again.code, 0, "the second plan is empty: {}", again.both());

    // Update a target; swap the CNAME for an A record; both in one sync.
    manifests(
        dir.path(),
        &[
            (
                "web.yaml",
                ingress(
                    "web",
                    &["www.example.org", "www.example.com"],
                    &["192.0.2.11", "2001:db8::10"],
                ),
            ),
            (
                "api.yaml",
                ingress("api", &["api.example.org"], &["192.0.2.12"]),
            ),
            ("db.yaml", service("db", "db.example.com", "192.0.2.40")),
            (
                "claims.yaml",
                ingress(
                    "claims",
                    &["foreign.example.org", "other.example.org"],
                    &["192.0.2.99"],
                ),
            ),
        ],
    );
    let run = sync(dir.path());
    assert_eq!(run.code, 0, "{}", run.both());
    let org = server.axfr("example.org").unwrap();
    let com = server.axfr("example.com").unwrap();
    assert_eq!(values(&org, "www.example.org", "A"), ["192.0.2.11"]);
    assert_eq!(values(&com, "www.example.com", "A"), ["192.0.2.11"]);
    assert!(
        find_records(&org, "api.example.org", "CNAME").is_empty(),
        "{org:?}"
    );
    assert!(find_records(&org, "cname-api.example.org", "TXT").is_empty());
    assert_eq!(values(&org, "api.example.org", "A"), ["192.0.2.12"]);
    assert_eq!(
        values(&org, "a-api.example.org", "TXT"),
        [marker("ingress/default/api")]
    );
    let again = plan(dir.path());
    assert_eq!(again.code, 0, "converged in one sync: {}", again.both());

    // Remove a manifest: its records and markers go, in both zones; the rest stays.
    manifests(
        dir.path(),
        &[
            (
                "api.yaml",
                ingress("api", &["api.example.org"], &["192.0.2.12"]),
            ),
            ("db.yaml", service("db", "db.example.com", "192.0.2.40")),
            (
                "claims.yaml",
                ingress(
                    "claims",
                    &["foreign.example.org", "other.example.org"],
                    &["192.0.2.99"],
                ),
            ),
        ],
    );
    let run = sync(dir.path());
    assert_eq!(run.code, 0, "{}", run.both());
    let org = server.axfr("example.org").unwrap();
    let com = server.axfr("example.com").unwrap();
    for (records, zone) in [(&org, "example.org"), (&com, "example.com")] {
        for (name, record_type) in [
            ("www", "A"),
            ("www", "AAAA"),
            ("a-www", "TXT"),
            ("aaaa-www", "TXT"),
        ] {
            assert!(
                find_records(records, &format!("{name}.{zone}"), record_type).is_empty(),
                "{name}.{zone} {record_type} still there"
            );
        }
    }
    assert_eq!(values(&org, "api.example.org", "A"), ["192.0.2.12"]);
    assert_eq!(values(&com, "db.example.com", "A"), ["192.0.2.40"]);
    for record in &foreign_before {
        assert!(org.contains(record), "foreign {record:?} changed");
    }
    let again = plan(dir.path());
    assert_eq!(again.code, 0, "{}", again.both());
}

fn bind() -> Bind {
    Bind::builder()
        .zone_with_records("example.org", ZONE_RECORDS)
        .zone("example.com")
        .start()
}

#[test]
fn sync_against_bind_creates_updates_and_deletes_with_markers() {
    sync_scenario(&bind());
}

#[test]
fn sync_against_knot_creates_updates_and_deletes_with_markers() {
    let knot = Knot::builder()
        .zone_with_records("example.org", ZONE_RECORDS)
        .zone("example.com")
        .start();
    sync_scenario(&knot);
}

#[test]
fn errors_are_clear_exit_1_and_never_show_the_secret() {
    let mut server = bind();
    let dir = tempfile::tempdir().unwrap();
    manifests(
        dir.path(),
        &[(
            "web.yaml",
            ingress("web", &["www.example.org"], &["192.0.2.10"]),
        )],
    );
    let zones = ["example.org", "example.com"];
    let real = server.key().clone();
    let assert_secret_hidden = |run: &Run, key: &TsigKey| {
        for secret in [&key.secret, &real.secret] {
            assert!(
                !run.stdout.contains(secret.as_str()),
                "secret printed: {}",
                run.both()
            );
            assert!(
                !run.stderr.contains(secret.as_str()),
                "secret printed: {}",
                run.both()
            );
        }
    };

    let wrong = real.with_other_secret();
    for command in ["plan", "sync"] {
        let run = zonesync_dns(command, dir.path(), server.port(), &wrong, &zones, &[]);
        assert_eq!(run.code, 1, "{}", run.both());
        assert!(
            run.stderr.contains("TSIG authentication failed"),
            "{}",
            run.both()
        );
        assert!(run.stderr.contains("BADSIG"), "{}", run.both());
        assert!(run.stderr.contains("example.org"), "{}", run.both());
        assert!(!run.stderr.contains("truncated"), "{}", run.both());
        assert_secret_hidden(&run, &wrong);
    }

    let unknown = TsigKey::generate("unknown-key", "hmac-sha256");
    let run = zonesync_dns("sync", dir.path(), server.port(), &unknown, &zones, &[]);
    assert_eq!(run.code, 1, "{}", run.both());
    assert!(run.stderr.contains("BADKEY"), "{}", run.both());
    assert!(run.stderr.contains("does not know key"), "{}", run.both());
    assert_secret_hidden(&run, &unknown);

    let run = zonesync_dns(
        "sync",
        dir.path(),
        server.port(),
        &real,
        &["example.org", "example.net"],
        &[],
    );
    assert_eq!(run.code, 1, "{}", run.both());
    assert!(run.stderr.contains("example.net"), "{}", run.both());
    assert!(run.stderr.contains("does not serve it"), "{}", run.both());
    assert_secret_hidden(&run, &real);

    // Secret given inline (environment): still never printed, even in a config error.
    let mut cmd = zonesync();
    cmd.args(["plan", "--source", "manifest", "--manifest"])
        .arg(dir.path())
        .args([
            "--provider",
            "rfc2136",
            "--rfc2136-host",
            "127.0.0.1",
            "--rfc2136-zone",
            "example.org",
        ])
        .args(["--rfc2136-tsig-keyname", &real.name])
        .env("ZONESYNC_RFC2136_TSIG_SECRET", "not base64 at all!")
        .arg("--rfc2136-tsig-secret-file")
        .arg(dir.path().join("missing"));
    let run = crate::common::run(&mut cmd);
    assert_eq!(run.code, 1, "{}", run.both());
    assert!(run.stderr.contains("mutually exclusive"), "{}", run.both());
    assert!(!run.stderr.contains("not base64 at all!"), "{}", run.both());

    server.stop();
    let run = zonesync_dns("sync", dir.path(), server.port(), &real, &zones, &[]);
    assert_eq!(run.code, 1, "{}", run.both());
    assert!(run.stderr.contains("cannot reach"), "{}", run.both());
    assert!(
        run.stderr.contains(&format!("127.0.0.1:{}", server.port())),
        "{}",
        run.both()
    );
    assert_secret_hidden(&run, &real);
}
