//! Encrypted ownership markers (`--txt-encrypt-enabled`, `--txt-encrypt-aes-key`) against an
//! independent implementation of external-dns's scheme: `tests/peers/external_dns_markers.py`
//! (Python's `cryptography`, written from external-dns's `endpoint/crypto.go`) seals the
//! markers a zone starts with and opens the ones zonesync writes. Through the real binary
//! against zone files and BIND: a zone with external-dns's encrypted markers is adopted with
//! no change, a stale record is deleted with its marker, and a wrong key touches nothing.

use std::path::{Path, PathBuf};
use std::process::Command;

use zonesync::registry::{MarkerKey, Registry, RegistryConfig};
use zonesync_test_support::dns::{Bind, DnsServer, find_records};

use crate::common::{Run, ingress_manifest, repo_root, run, write, zonesync};

/// The key as the user gives it to external-dns (32 characters).
const KEY: &str = "0123456789abcdef0123456789ABCDEF";
/// The same key, base64 (the other form external-dns accepts).
const KEY_BASE64: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlBQkNERUY=";
/// Another valid key.
const WRONG_KEY: &str = "ffffffffffffffffffffffffffffffff";

fn python() -> PathBuf {
    repo_root().join(".venv-peers/bin/python")
}

fn peer(args: &[&str]) -> std::process::Output {
    Command::new(python())
        .arg(repo_root().join("tests/peers/external_dns_markers.py"))
        .args(args)
        .output()
        .expect("run the external-dns marker peer (scripts/install-test-peers.sh installs it)")
}

/// external-dns's encrypted value for `text` under `nonce` (base64 of 12 bytes, or `-`).
fn seal(key: &str, nonce: &str, text: &str) -> String {
    let out = peer(&["seal", key, nonce, text]);
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// external-dns's reading of `value`: `(plain text, nonce)`, `None` when it does not open.
fn open(key: &str, value: &str) -> Option<(String, String)> {
    let out = peer(&["open", key, value]);
    if out.status.code() == Some(3) {
        return None;
    }
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    Some((
        lines.next().unwrap().to_string(),
        lines.next().unwrap().to_string(),
    ))
}

fn plain_marker(resource: &str) -> String {
    format!("heritage=external-dns,external-dns/owner=default,external-dns/resource={resource}")
}

fn registry(key: &str, encrypt: bool) -> Registry {
    Registry::new(RegistryConfig {
        aes_key: Some(MarkerKey::parse("--txt-encrypt-aes-key", key).unwrap()),
        encrypt,
        ..RegistryConfig::default()
    })
    .unwrap()
}

#[test]
fn zonesync_and_external_dns_open_each_others_markers() {
    // Theirs, read by zonesync with the key in either form; the nonce becomes a label.
    let theirs = seal(KEY, "AAECAwQFBgcICQoL", &plain_marker("ingress/shop/web"));
    assert!(theirs.starts_with("AAECAwQFBgcICQoL"), "{theirs}");
    for key in [KEY, KEY_BASE64] {
        let labels = registry(key, false)
            .decode_marker(&format!("\"{theirs}\""))
            .unwrap()
            .expect("an external-dns marker");
        assert_eq!(labels.get("owner").map(String::as_str), Some("default"));
        assert_eq!(
            labels.get("resource").map(String::as_str),
            Some("ingress/shop/web")
        );
        assert_eq!(
            labels.get("txt-encryption-nonce").map(String::as_str),
            Some("AAECAwQFBgcICQoL")
        );
        // Rewritten by zonesync: same nonce, and external-dns reads the same labels.
        let ours = registry(key, true).encode_marker(&labels);
        assert!(ours.starts_with("AAECAwQFBgcICQoL"), "{ours}");
        assert_eq!(
            open(KEY_BASE64, &ours),
            Some((
                plain_marker("ingress/shop/web"),
                "AAECAwQFBgcICQoL".to_string()
            ))
        );
    }
    // A fresh marker of zonesync's: a random nonce that external-dns reads back.
    let fresh = registry(KEY, true).encode_marker(
        &[
            ("owner".to_string(), "default".to_string()),
            ("resource".to_string(), "service/db/main".to_string()),
        ]
        .into_iter()
        .collect(),
    );
    let (text, nonce) = open(KEY, &fresh).expect("external-dns opens zonesync's marker");
    assert_eq!(text, plain_marker("service/db/main"));
    assert!(fresh.starts_with(&nonce));
    // Another key opens neither.
    assert_eq!(open(WRONG_KEY, &fresh), None);
    assert_eq!(registry(WRONG_KEY, false).decode_marker(&theirs), Err(()));
}

/// `example.com` as external-dns left it with encryption on: two records in use and one whose
/// Ingress is gone, each with its encrypted marker; a hand-made record; a plain marker of
/// another owner.
fn zone_lines() -> Vec<String> {
    vec![
        "www 300 IN A 192.0.2.10".into(),
        format!(
            "a-www 300 IN TXT \"{}\"",
            seal(KEY, "-", &plain_marker("ingress/shop/web"))
        ),
        "api 300 IN CNAME lb.example.net.".into(),
        format!(
            "cname-api 300 IN TXT \"{}\"",
            seal(KEY, "-", &plain_marker("ingress/shop/api"))
        ),
        "old 300 IN A 192.0.2.99".into(),
        format!(
            "a-old 300 IN TXT \"{}\"",
            seal(KEY, "-", &plain_marker("ingress/shop/gone"))
        ),
        "manual 300 IN A 198.51.100.7".into(),
        "other 300 IN A 192.0.2.77".into(),
        "a-other 300 IN TXT \"heritage=external-dns,external-dns/owner=someone,external-dns/resource=ingress/x/y\"".into(),
    ]
}

/// The Ingresses still there: web and api.
fn manifests(dir: &Path) {
    write(
        dir,
        "web.yaml",
        &ingress_manifest("shop", "web", &["www.example.com"], &["192.0.2.10"]),
    );
    write(
        dir,
        "api.yaml",
        &ingress_manifest("shop", "api", &["api.example.com"], &["lb.example.net"]),
    );
}

fn zone_file(dir: &Path, lines: &[String]) -> PathBuf {
    let mut text = String::from(
        "$ORIGIN example.com.\n$TTL 3600\n@ IN SOA ns1.example.com. hostmaster.example.com. 1 7200 3600 1209600 300\n@ IN NS ns1.example.com.\nns1 IN A 192.0.2.1\n",
    );
    for line in lines {
        text.push_str(line);
        text.push('\n');
    }
    write(dir, "example.com.zone", &text)
}

fn zonesync_files(command: &str, manifests: &Path, zones: &Path, extra: &[&str]) -> Run {
    run(zonesync()
        .arg(command)
        .args(["--source", "manifest", "--manifest"])
        .arg(manifests)
        .args(["--provider", "zonefile", "--zonefile-dir"])
        .arg(zones)
        .args(extra))
}

#[test]
fn zone_files_with_encrypted_markers_adopted_cleaned_and_left_alone_with_a_wrong_key() {
    let lines = zone_lines();
    let dir = tempfile::tempdir().unwrap();
    let (manifest_dir, zones) = (dir.path().join("manifests"), dir.path().join("zones"));
    std::fs::create_dir_all(&manifest_dir).unwrap();
    std::fs::create_dir_all(&zones).unwrap();
    manifests(&manifest_dir);
    let path = zone_file(&zones, &lines);
    let before = std::fs::read_to_string(&path).unwrap();

    // A wrong key: nothing is ours, nothing is written, the unreadable markers are reported once.
    let wrong = ["--txt-encrypt-enabled", "--txt-encrypt-aes-key", WRONG_KEY];
    let sync = zonesync_files("sync", &manifest_dir, &zones, &wrong);
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        before,
        "{}",
        sync.both()
    );
    assert!(!sync.stdout.contains("old.example.com"), "{}", sync.both());
    assert_eq!(
        sync.stderr
            .matches("3 TXT record(s) look like encrypted ownership markers")
            .count(),
        1,
        "{}",
        sync.both()
    );
    assert!(!sync.both().contains(WRONG_KEY), "the key leaked");
    // Without any key the same: the records are not ours.
    let keyless = zonesync_files("sync", &manifest_dir, &zones, &[]);
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        before,
        "{}",
        keyless.both()
    );
    assert!(
        keyless
            .stderr
            .contains("cannot be read without --txt-encrypt-aes-key")
    );

    // The right key: only the stale record is planned away (with its marker).
    let key = ["--txt-encrypt-enabled", "--txt-encrypt-aes-key", KEY];
    let plan = zonesync_files("plan", &manifest_dir, &zones, &key);
    assert_eq!(plan.code, 2, "{}", plan.both());
    assert!(
        plan.stdout.contains("- old.example.com A 192.0.2.99"),
        "{}",
        plan.both()
    );
    assert!(
        plan.stdout
            .contains("Plan: 0 to create, 0 to update, 1 to delete."),
        "{}",
        plan.both()
    );
    assert!(!plan.both().contains(KEY), "the key leaked");
    let sync = zonesync_files("sync", &manifest_dir, &zones, &key);
    assert_eq!(sync.code, 0, "{}", sync.both());
    let after = std::fs::read_to_string(&path).unwrap();
    assert!(!after.contains("192.0.2.99"), "{after}");
    assert!(
        !after.contains(lines[5].split('"').nth(1).unwrap()),
        "{after}"
    );
    // The markers in use are not rewritten: each value is still external-dns's own.
    for line in [&lines[1], &lines[3], &lines[8]] {
        let value = line.split('"').nth(1).unwrap();
        assert!(after.contains(value), "{value} rewritten:\n{after}");
    }
    assert!(after.contains("198.51.100.7") && after.contains("192.0.2.77"));
    let again = zonesync_files("plan", &manifest_dir, &zones, &key);
    assert_eq!(again.code, 0, "{}", again.both());

    // A new Ingress: its marker is encrypted, and external-dns reads it.
    write(
        &manifest_dir,
        "new.yaml",
        &ingress_manifest("shop", "new", &["new.example.com"], &["192.0.2.20"]),
    );
    let sync = zonesync_files("sync", &manifest_dir, &zones, &key);
    assert_eq!(sync.code, 0, "{}", sync.both());
    let after = std::fs::read_to_string(&path).unwrap();
    let marker_line = after
        .lines()
        .find(|l| l.starts_with("a-new"))
        .unwrap_or_else(|| panic!("no marker for new:\n{after}"));
    let value = marker_line.split('"').nth(1).unwrap();
    assert_eq!(
        open(KEY, value).map(|(text, _)| text),
        Some(plain_marker("ingress/shop/new"))
    );
}

#[test]
fn bind_zone_with_encrypted_markers_adopted_cleaned_and_left_alone_with_a_wrong_key() {
    let lines = zone_lines();
    let records: Vec<&str> = lines.iter().map(String::as_str).collect();
    let server = Bind::builder()
        .zone_with_records("example.com", &records)
        .start();
    let dir = tempfile::tempdir().unwrap();
    manifests(dir.path());
    let key_file = write(
        dir.path(),
        "tsig.secret",
        &format!("{}\n", server.key().secret),
    );
    let dns = |command: &str, extra: &[&str]| {
        run(zonesync()
            .arg(command)
            .args(["--source", "manifest", "--manifest"])
            .arg(dir.path().join("web.yaml"))
            .arg("--manifest")
            .arg(dir.path().join("api.yaml"))
            .args(["--provider", "rfc2136", "--rfc2136-host", "127.0.0.1"])
            .args(["--rfc2136-port", &server.port().to_string()])
            .args(["--rfc2136-tsig-keyname", &server.key().name])
            .args(["--rfc2136-tsig-secret-alg", &server.key().algorithm])
            .arg("--rfc2136-tsig-secret-file")
            .arg(&key_file)
            .args(["--rfc2136-zone", "example.com", "--rfc2136-timeout", "2s"])
            .args(extra))
    };
    let transfer = || {
        let mut records = server.axfr("example.com").unwrap();
        records.retain(|r| r.record_type != "SOA");
        records
    };
    let before = transfer();

    let sync = dns(
        "sync",
        &["--txt-encrypt-enabled", "--txt-encrypt-aes-key", WRONG_KEY],
    );
    assert_eq!(transfer(), before, "{}", sync.both());
    assert!(
        sync.stderr
            .contains("3 TXT record(s) look like encrypted ownership markers"),
        "{}",
        sync.both()
    );

    let key = ["--txt-encrypt-enabled", "--txt-encrypt-aes-key", KEY_BASE64];
    let plan = dns("plan", &key);
    assert!(
        plan.stdout
            .contains("Plan: 0 to create, 0 to update, 1 to delete."),
        "{}",
        plan.both()
    );
    let sync = dns("sync", &key);
    assert_eq!(sync.code, 0, "{}", sync.both());
    let after = transfer();
    assert!(find_records(&after, "old.example.com", "A").is_empty());
    assert!(find_records(&after, "a-old.example.com", "TXT").is_empty());
    let expected: Vec<_> = before
        .iter()
        .filter(|r| !r.name.ends_with("old.example.com"))
        .cloned()
        .collect();
    assert_eq!(after, expected, "only the stale record and its marker go");
    assert_eq!(dns("plan", &key).code, 0);
}
