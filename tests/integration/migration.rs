//! Moving from external-dns: a typical external-dns argument list is accepted by
//! `zonesync run --check-config` flag by flag, and the external-dns flags zonesync does not take
//! fail with a message that names them and says what to use instead.

use crate::common::{run, zonesync};

/// 32 characters: an AES-256 key as external-dns takes it.
const AES_KEY: &str = "k3y-0f-thirty-two-characters-!!!";

/// The 34 external-dns flags a typical installation sets, as external-dns users write them, and
/// the three of its Service source zonesync takes as well.
const COMMON_EXTERNAL_DNS_FLAGS: [&str; 37] = [
    "--source=ingress",
    "--provider=aws",
    "--domain-filter=example.com",
    "--exclude-domains=internal.example.com",
    "--policy=upsert-only",
    "--registry=txt",
    "--txt-owner-id=my-cluster",
    "--txt-prefix=extdns-",
    "--txt-wildcard-replacement=wildcard",
    "--interval=1m",
    "--min-event-sync-interval=5s",
    "--namespace=default",
    "--label-filter=team=web",
    "--annotation-filter=external-dns.kubernetes.io/enabled=true",
    "--ingress-class=nginx",
    "--managed-record-types=A",
    "--log-level=debug",
    "--log-format=json",
    "--metrics-address=:7979",
    "--dry-run",
    "--events",
    "--once",
    "--txt-encrypt-enabled",
    "--txt-encrypt-aes-key=k3y-0f-thirty-two-characters-!!!",
    "--fqdn-template={{.Name}}.example.com",
    "--combine-fqdn-annotation",
    "--ignore-hostname-annotation",
    "--exclude-target-net=10.0.0.0/8",
    "--target-net-filter=192.0.2.0/24",
    "--publish-internal-services",
    "--service-type-filter=LoadBalancer",
    "--request-timeout=30s",
    "--txt-cache-interval=1h",
    "--default-targets=192.0.2.1",
    "--always-publish-not-ready-addresses",
    "--listen-endpoint-events",
    "--exclude-unschedulable",
];

/// Flags of the list zonesync does not take yet: each must fail with the explained message.
const PENDING: &[&str] = &[];

fn name(flag: &str) -> &str {
    flag.split_once('=').map_or(flag, |(name, _)| name)
}

fn check_config(flags: &[&str]) -> crate::common::Run {
    run(zonesync().args(["run", "--check-config"]).args(flags))
}

#[test]
fn common_external_dns_flags_pass_check_config() {
    let mut accepted = Vec::new();
    for flag in COMMON_EXTERNAL_DNS_FLAGS {
        let mut args = vec![flag];
        // Encryption needs its key, as in external-dns.
        if flag == "--txt-encrypt-enabled" {
            args.push("--txt-encrypt-aes-key=k3y-0f-thirty-two-characters-!!!");
        }
        // And ignoring the hostname annotation needs a template.
        if flag == "--ignore-hostname-annotation" {
            args.push("--fqdn-template={{.Name}}.example.com");
        }
        // The two flags every invocation needs, unless the flag under test is one of them.
        for required in ["--source=ingress", "--provider=aws"] {
            if name(required) != name(flag) {
                args.push(required);
            }
        }
        let result = check_config(&args);
        if PENDING.contains(&name(flag)) {
            assert_eq!(result.code, 1, "{flag}: {}", result.both());
            assert!(
                result
                    .stderr
                    .contains(&format!("error: {} is an external-dns flag", name(flag))),
                "{flag}: {}",
                result.both()
            );
            continue;
        }
        assert_eq!(result.code, 0, "{flag}: {}", result.both());
        assert!(result.stdout.contains("configuration is valid"), "{flag}");
        assert!(!result.both().contains(AES_KEY), "{flag}: the key leaked");
        accepted.push(flag);
    }
    assert_eq!(
        accepted.len(),
        COMMON_EXTERNAL_DNS_FLAGS.len() - PENDING.len()
    );

    // All the accepted ones together, as one argument list.
    let result = check_config(&accepted);
    assert_eq!(result.code, 0, "{}", result.both());
    assert!(!result.both().contains(AES_KEY), "the key leaked");
    let once = result
        .stdout
        .lines()
        .find(|l| l.trim_start().starts_with("--once "))
        .unwrap_or_default();
    assert!(once.contains("true"), "{}", result.stdout);
    let key = result
        .stdout
        .lines()
        .find(|l| l.trim_start().starts_with("--txt-encrypt-aes-key "))
        .unwrap_or_default();
    assert!(key.contains("(redacted)"), "{}", result.stdout);
}

#[test]
fn including_cordoned_nodes_is_refused_with_the_reason() {
    let result = check_config(&[
        "--source=service",
        "--provider=aws",
        "--exclude-unschedulable=false",
    ]);
    assert_eq!(result.code, 1, "{}", result.both());
    assert!(
        result
            .stderr
            .contains("--exclude-unschedulable=false is not supported: zonesync always leaves cordoned nodes out"),
        "{}",
        result.both()
    );
}

#[test]
fn external_dns_only_flags_name_the_flag_and_the_alternative() {
    let result = check_config(&[
        "--source=ingress",
        "--provider=aws",
        "--regex-domain-filter=.*example.com",
    ]);
    assert_eq!(result.code, 1, "{}", result.both());
    assert_eq!(
        result.stderr.trim(),
        "error: --regex-domain-filter is an external-dns flag that zonesync does not take; use --domain-filter and --exclude-domains (label-boundary suffixes) instead"
    );
    let result = check_config(&[
        "--source=ingress",
        "--provider=aws",
        "--no-cloudflare-proxied",
    ]);
    assert_eq!(result.code, 1);
    assert!(
        result.stderr.contains(
            "--no-cloudflare-proxied is an external-dns flag that zonesync does not take; use --provider webhook"
        ),
        "{}",
        result.both()
    );
    // Anything else keeps clap's own message.
    let result = check_config(&["--source=ingress", "--provider=aws", "--bogus"]);
    assert_eq!(result.code, 1);
    assert!(
        result.stderr.contains("unexpected argument '--bogus'"),
        "{}",
        result.both()
    );
}

#[test]
fn the_aes_key_never_shows_in_help_errors_or_config() {
    let help = run(zonesync()
        .args(["run", "--help"])
        .env("ZONESYNC_TXT_ENCRYPT_AES_KEY", AES_KEY));
    assert_eq!(help.code, 0);
    assert!(!help.both().contains(AES_KEY), "{}", help.both());
    let bad = check_config(&[
        "--source=ingress",
        "--provider=aws",
        "--txt-encrypt-enabled",
        "--txt-encrypt-aes-key=not-a-valid-key-of-any-kind",
    ]);
    assert_eq!(bad.code, 1);
    assert!(
        bad.stderr
            .contains("--txt-encrypt-aes-key must be 32 bytes long"),
        "{}",
        bad.both()
    );
    assert!(!bad.both().contains("not-a-valid-key"), "{}", bad.both());
    let keyless = check_config(&[
        "--source=ingress",
        "--provider=aws",
        "--txt-encrypt-enabled",
    ]);
    assert_eq!(keyless.code, 1);
    assert!(
        keyless
            .stderr
            .contains("--txt-encrypt-enabled needs an AES-256 key"),
        "{}",
        keyless.both()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_runs_one_sync_pass_with_syncs_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let path = crate::common::write(
        dir.path(),
        "example.com.zone",
        "$ORIGIN example.com.\n$TTL 3600\n@ IN SOA ns1 hostmaster 1 7200 3600 1209600 300\n@ IN NS ns1\nns1 IN A 192.0.2.1\n",
    );
    // `run` reads a cluster; the fake API server stands in for one.
    let api = zonesync_test_support::kube_api::FakeApiServer::start()
        .await
        .unwrap();
    api.apply(serde_json::json!({
        "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"rules": [{"host": "www.example.com"}]},
        "status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.10"}]}}
    }))
    .unwrap();
    let kubeconfig = api.kubeconfig();
    let once = |extra: &[&str]| {
        tokio::task::block_in_place(|| {
            run(zonesync()
                .args(["run", "--once", "--source", "ingress", "--kubeconfig"])
                .arg(&kubeconfig)
                .args(["--provider", "zonefile", "--zonefile-dir"])
                .arg(dir.path())
                .args(extra))
        })
    };
    let dry = once(&["--dry-run"]);
    assert_eq!(dry.code, 0, "{}", dry.both());
    assert!(
        dry.stdout.contains("+ www.example.com A 192.0.2.10"),
        "{}",
        dry.both()
    );
    assert!(
        !std::fs::read_to_string(&path)
            .unwrap()
            .contains("192.0.2.10")
    );
    let real = once(&["--txt-cache-interval=1h"]);
    assert_eq!(real.code, 0, "{}", real.both());
    assert!(
        std::fs::read_to_string(&path)
            .unwrap()
            .contains("192.0.2.10")
    );
    assert_eq!(
        real.stderr
            .matches("--txt-cache-interval is accepted")
            .count(),
        1,
        "{}",
        real.both()
    );
}

#[test]
fn target_filters_and_default_targets_shape_the_records() {
    let dir = tempfile::tempdir().unwrap();
    let (manifests, zones) = (dir.path().join("manifests"), dir.path().join("zones"));
    std::fs::create_dir_all(&manifests).unwrap();
    std::fs::create_dir_all(&zones).unwrap();
    let ingress = crate::common::ingress_manifest;
    crate::common::write(
        &manifests,
        "mixed.yaml",
        &ingress(
            "shop",
            "mixed",
            &["mixed.example.com"],
            &["192.0.2.10", "10.0.0.5", "2001:db8::1", "fd00::1"],
        ),
    );
    crate::common::write(
        &manifests,
        "private.yaml",
        &ingress("shop", "private", &["private.example.com"], &["10.0.0.7"]),
    );
    crate::common::write(
        &manifests,
        "pending.yaml",
        &ingress("shop", "pending", &["pending.example.com"], &[]),
    );
    crate::common::write(
        &zones,
        "example.com.zone",
        "$ORIGIN example.com.\n$TTL 3600\n@ IN SOA ns1 hostmaster 1 7200 3600 1209600 300\n@ IN NS ns1\nns1 IN A 192.0.2.1\n\
         private 300 IN A 10.0.0.7\n\
         a-private 300 IN TXT \"heritage=external-dns,external-dns/owner=default,external-dns/resource=ingress/shop/private\"\n",
    );
    let plan = run(zonesync()
        .args(["plan", "--source", "manifest", "--manifest"])
        .arg(&manifests)
        .args(["--provider", "zonefile", "--zonefile-dir"])
        .arg(&zones)
        .args([
            "--target-net-filter=192.0.2.0/24",
            "--target-net-filter=2001:db8::/32",
            "--exclude-target-net=192.0.2.128/25",
            "--default-targets=192.0.2.99",
            "--default-targets=192.0.2.200",
        ]));
    assert_eq!(plan.code, 2, "{}", plan.both());
    let out = &plan.stdout;
    // Only the addresses inside the filter and outside the exclusion are published.
    assert!(out.contains("+ mixed.example.com A 192.0.2.10 "), "{out}");
    assert!(
        out.contains("+ mixed.example.com AAAA 2001:db8::1 "),
        "{out}"
    );
    assert!(
        !out.contains("10.0.0.5") && !out.contains("fd00::1"),
        "{out}"
    );
    // An object with no targets gets the default ones, filtered the same way.
    assert!(out.contains("+ pending.example.com A 192.0.2.99 "), "{out}");
    assert!(!out.contains("192.0.2.200"), "{out}");
    // An object whose every target is filtered out asks for nothing: its record goes.
    assert!(out.contains("- private.example.com A 10.0.0.7"), "{out}");

    let bad = run(zonesync()
        .args(["plan", "--source", "manifest", "--manifest"])
        .arg(&manifests)
        .args(["--provider", "zonefile", "--zonefile-dir"])
        .arg(&zones)
        .arg("--exclude-target-net=10.0.0.1"));
    assert_eq!(bad.code, 1);
    assert!(
        bad.stderr
            .contains("--exclude-target-net \"10.0.0.1\" is not a network in CIDR notation"),
        "{}",
        bad.both()
    );
}

#[test]
fn fqdn_templates_name_objects_as_external_dns_does() {
    let dir = tempfile::tempdir().unwrap();
    let (manifests, zones) = (dir.path().join("manifests"), dir.path().join("zones"));
    std::fs::create_dir_all(&manifests).unwrap();
    std::fs::create_dir_all(&zones).unwrap();
    let write = crate::common::write;
    write(
        &manifests,
        "svc.yaml",
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: api\n  namespace: shop\n  labels: {sub: \"bad_name!\"}\nspec:\n  type: LoadBalancer\nstatus:\n  loadBalancer:\n    ingress:\n      - ip: \"192.0.2.30\"\n",
    );
    write(
        &manifests,
        "web.yaml",
        &crate::common::ingress_manifest("shop", "web", &["www.example.com"], &["192.0.2.10"]),
    );
    write(
        &zones,
        "example.com.zone",
        "$ORIGIN example.com.\n$TTL 3600\n@ IN SOA ns1 hostmaster 1 7200 3600 1209600 300\n@ IN NS ns1\nns1 IN A 192.0.2.1\n",
    );
    let plan = |extra: &[&str]| {
        run(zonesync()
            .args(["plan", "--source", "manifest", "--manifest"])
            .arg(&manifests)
            .args(["--provider", "zonefile", "--zonefile-dir"])
            .arg(&zones)
            .args(extra))
    };

    // Objects without names get the template's; the Ingress keeps its own.
    let out = plan(&["--fqdn-template={{.Name}}.{{.Namespace}}.example.com"]);
    assert_eq!(out.code, 2, "{}", out.both());
    assert!(
        out.stdout.contains("+ api.shop.example.com A 192.0.2.30 "),
        "{}",
        out.both()
    );
    assert!(
        out.stdout.contains("+ www.example.com A 192.0.2.10 "),
        "{}",
        out.both()
    );
    assert!(
        !out.stdout.contains("web.shop.example.com"),
        "{}",
        out.both()
    );

    // Combined: the Ingress gets both.
    let out = plan(&[
        "--fqdn-template={{.Name}}.{{.Namespace}}.example.com",
        "--combine-fqdn-annotation",
    ]);
    assert!(
        out.stdout.contains("+ web.shop.example.com A 192.0.2.10 "),
        "{}",
        out.both()
    );
    assert!(
        out.stdout.contains("+ www.example.com A 192.0.2.10 "),
        "{}",
        out.both()
    );

    // Several names, and a name that is not valid is skipped with the object named.
    let out = plan(&[
        r#"--fqdn-template={{.Kind | toLower}}-{{.Name}}.example.com,{{index .Labels "sub"}}.example.com"#,
    ]);
    assert!(
        out.stdout
            .contains("+ service-api.example.com A 192.0.2.30 "),
        "{}",
        out.both()
    );
    assert!(
        out.stdout.contains(
            "service/shop/api: skipped host name: --fqdn-template = \"bad_name!.example.com\""
        ),
        "{}",
        out.both()
    );

    // A template that does not parse stops the start, naming it.
    let out = plan(&["--fqdn-template={{.Name"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("--fqdn-template \"{{.Name\" does not parse"),
        "{}",
        out.both()
    );
    let out = plan(&["--ignore-hostname-annotation"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("--ignore-hostname-annotation needs --fqdn-template"),
        "{}",
        out.both()
    );
}

#[test]
fn service_types_beyond_load_balancer() {
    let dir = tempfile::tempdir().unwrap();
    let (manifests, zones) = (dir.path().join("manifests"), dir.path().join("zones"));
    std::fs::create_dir_all(&manifests).unwrap();
    std::fs::create_dir_all(&zones).unwrap();
    let service = |name: &str, spec: &str| {
        format!(
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\n  namespace: shop\n  annotations:\n    external-dns.kubernetes.io/hostname: {name}.example.com\nspec:\n{spec}"
        )
    };
    let write = crate::common::write;
    write(
        &manifests,
        "ext.yaml",
        &service(
            "ext",
            "  type: ExternalName\n  externalName: db.partner.example.net\n",
        ),
    );
    write(
        &manifests,
        "internal.yaml",
        &service("internal", "  type: ClusterIP\n  clusterIP: 10.96.0.10\n"),
    );
    write(
        &manifests,
        "np.yaml",
        &service(
            "np",
            "  type: NodePort\n  ports: [{port: 80, nodePort: 30080}]\n",
        ),
    );
    write(
        &zones,
        "example.com.zone",
        "$ORIGIN example.com.\n$TTL 3600\n@ IN SOA ns1 hostmaster 1 7200 3600 1209600 300\n@ IN NS ns1\nns1 IN A 192.0.2.1\n\
         np 300 IN A 192.0.2.77\n\
         a-np 300 IN TXT \"heritage=external-dns,external-dns/owner=default,external-dns/resource=service/shop/np\"\n",
    );
    let plan = |extra: &[&str]| {
        run(zonesync()
            .args(["plan", "--source", "manifest", "--manifest"])
            .arg(&manifests)
            .args(["--provider", "zonefile", "--zonefile-dir"])
            .arg(&zones)
            .args(extra))
    };
    let out = plan(&[]);
    assert_eq!(out.code, 2, "{}", out.both());
    assert!(
        out.stdout
            .contains("+ ext.example.com CNAME db.partner.example.net "),
        "{}",
        out.both()
    );
    assert!(
        !out.stdout.contains("internal.example.com"),
        "{}",
        out.both()
    );
    // The NodePort Service's records (written by external-dns) are kept while no Node with an
    // address is known, as a load balancer's are while it has no address.
    assert!(!out.stdout.contains("- np.example.com"), "{}", out.both());
    assert!(
        out.stdout.contains("= np.example.com A (service/shop/np)"),
        "{}",
        out.both()
    );
    write(
        &manifests,
        "node.yaml",
        "apiVersion: v1\nkind: Node\nmetadata: {name: n1}\nstatus:\n  addresses: [{type: ExternalIP, address: 203.0.113.5}]\n",
    );
    let out = plan(&[]);
    assert!(
        out.stdout
            .contains("~ np.example.com A 192.0.2.77 → 203.0.113.5 "),
        "{}",
        out.both()
    );

    let out = plan(&["--publish-internal-services"]);
    assert!(
        out.stdout.contains("+ internal.example.com A 10.96.0.10 "),
        "{}",
        out.both()
    );
    let out = plan(&[
        "--publish-internal-services",
        "--service-type-filter=ClusterIP",
    ]);
    assert!(
        out.stdout.contains("+ internal.example.com A 10.96.0.10 "),
        "{}",
        out.both()
    );
    assert!(!out.stdout.contains("ext.example.com"), "{}", out.both());
    let bad = plan(&["--service-type-filter=Headless"]);
    assert_eq!(bad.code, 1);
    assert!(
        bad.stderr
            .contains("--service-type-filter \"Headless\" is not a Service type"),
        "{}",
        bad.both()
    );
}
