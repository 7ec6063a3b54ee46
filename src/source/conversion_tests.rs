//! Source conversion tests: objects in, claims and skipped input out.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    LoadBalancerIngress, LoadBalancerStatus, Service, ServiceSpec, ServiceStatus,
};
use k8s_openapi::api::networking::v1::{
    Ingress, IngressLoadBalancerIngress, IngressLoadBalancerStatus, IngressRule, IngressSpec,
    IngressStatus, IngressTLS,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};

use super::*;
use crate::filter::LabelSelector;

struct IngressBuilder(Ingress);

fn ingress(name: &str) -> IngressBuilder {
    IngressBuilder(Ingress {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some("default".into()),
            ..ObjectMeta::default()
        },
        spec: Some(IngressSpec::default()),
        status: None,
    })
}

impl IngressBuilder {
    fn host(mut self, host: &str) -> Self {
        let spec = self.0.spec.get_or_insert_with(Default::default);
        spec.rules.get_or_insert_with(Vec::new).push(IngressRule {
            host: Some(host.into()),
            http: None,
        });
        self
    }

    fn tls_host(mut self, host: &str) -> Self {
        let spec = self.0.spec.get_or_insert_with(Default::default);
        spec.tls.get_or_insert_with(Vec::new).push(IngressTLS {
            hosts: Some(vec![host.into()]),
            secret_name: None,
        });
        self
    }

    fn class(mut self, class: &str) -> Self {
        self.0
            .spec
            .get_or_insert_with(Default::default)
            .ingress_class_name = Some(class.into());
        self
    }

    fn annotation(mut self, key: &str, value: &str) -> Self {
        self.0
            .metadata
            .annotations
            .get_or_insert_with(BTreeMap::new)
            .insert(key.into(), value.into());
        self
    }

    fn label(mut self, key: &str, value: &str) -> Self {
        self.0
            .metadata
            .labels
            .get_or_insert_with(BTreeMap::new)
            .insert(key.into(), value.into());
        self
    }

    fn lb(mut self, ip: Option<&str>, hostname: Option<&str>) -> Self {
        let status = self.0.status.get_or_insert_with(|| IngressStatus {
            load_balancer: Some(IngressLoadBalancerStatus {
                ingress: Some(vec![]),
            }),
        });
        status
            .load_balancer
            .as_mut()
            .and_then(|lb| lb.ingress.as_mut())
            .unwrap()
            .push(IngressLoadBalancerIngress {
                ip: ip.map(Into::into),
                hostname: hostname.map(Into::into),
                ports: None,
            });
        self
    }

    fn created(mut self, seconds: i64) -> Self {
        self.0.metadata.creation_timestamp = Some(Time(
            k8s_openapi::jiff::Timestamp::from_second(seconds).unwrap(),
        ));
        self
    }

    fn convert(&self, config: &SourceConfig) -> ObjectOutcome {
        ingress::convert(&self.0, config)
    }
}

struct ServiceBuilder(Service);

fn service(name: &str, service_type: &str) -> ServiceBuilder {
    ServiceBuilder(Service {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some("default".into()),
            ..ObjectMeta::default()
        },
        spec: Some(ServiceSpec {
            type_: Some(service_type.into()),
            ..ServiceSpec::default()
        }),
        status: None,
    })
}

impl ServiceBuilder {
    fn annotation(mut self, key: &str, value: &str) -> Self {
        self.0
            .metadata
            .annotations
            .get_or_insert_with(BTreeMap::new)
            .insert(key.into(), value.into());
        self
    }

    fn external_ip(mut self, ip: &str) -> Self {
        self.0
            .spec
            .as_mut()
            .unwrap()
            .external_ips
            .get_or_insert_with(Vec::new)
            .push(ip.into());
        self
    }

    fn lb(mut self, ip: Option<&str>, hostname: Option<&str>) -> Self {
        let status = self.0.status.get_or_insert_with(|| ServiceStatus {
            load_balancer: Some(LoadBalancerStatus {
                ingress: Some(vec![]),
            }),
            conditions: None,
        });
        status
            .load_balancer
            .as_mut()
            .and_then(|lb| lb.ingress.as_mut())
            .unwrap()
            .push(LoadBalancerIngress {
                ip: ip.map(Into::into),
                hostname: hostname.map(Into::into),
                ..LoadBalancerIngress::default()
            });
        self
    }

    fn convert(&self, config: &SourceConfig) -> ObjectOutcome {
        service::convert(
            &self.0,
            &crate::source::backends::ServiceBackends::new(),
            config,
        )
    }
}

fn config() -> SourceConfig {
    SourceConfig {
        kinds: [ResourceKind::Ingress, ResourceKind::Service].into(),
        ..SourceConfig::default()
    }
}

fn names(outcome: &ObjectOutcome) -> Vec<String> {
    outcome
        .claim
        .as_ref()
        .map(|c| c.names.iter().map(ToString::to_string).collect())
        .unwrap_or_default()
}

fn targets(outcome: &ObjectOutcome) -> Vec<String> {
    outcome
        .claim
        .as_ref()
        .map(|c| c.targets.iter().map(ToString::to_string).collect())
        .unwrap_or_default()
}

const HOSTNAME: &str = "external-dns.kubernetes.io/hostname";
const ALPHA_HOSTNAME: &str = "external-dns.alpha.kubernetes.io/hostname";

#[test]
fn ingress_names_come_from_rules_tls_and_annotation() {
    let outcome = ingress("web")
        .host("www.example.com")
        .tls_host("secure.example.com")
        .tls_host("WWW.example.com")
        .annotation(ALPHA_HOSTNAME, "a.example.com, b.example.com")
        .lb(Some("192.0.2.1"), None)
        .convert(&config());
    assert_eq!(
        names(&outcome),
        [
            "www.example.com",
            "secure.example.com",
            "a.example.com",
            "b.example.com"
        ]
    );
    assert_eq!(targets(&outcome), ["192.0.2.1"]);
    assert_eq!(outcome.resource.to_string(), "ingress/default/web");
}

#[test]
fn ingress_hostname_source_limits_names() {
    let base = || {
        ingress("web")
            .host("www.example.com")
            .annotation(HOSTNAME, "extra.example.com")
    };
    let defined = base()
        .annotation(
            "external-dns.kubernetes.io/ingress-hostname-source",
            "defined-hosts-only",
        )
        .convert(&config());
    assert_eq!(names(&defined), ["www.example.com"]);
    let annotation = base()
        .annotation(
            "external-dns.kubernetes.io/ingress-hostname-source",
            "annotation-only",
        )
        .convert(&config());
    assert_eq!(names(&annotation), ["extra.example.com"]);
    let bad = base()
        .annotation(
            "external-dns.kubernetes.io/ingress-hostname-source",
            "everything",
        )
        .convert(&config());
    assert!(bad.is_skipped_whole());
}

#[test]
fn target_annotation_overrides_status() {
    let outcome = ingress("web")
        .host("www.example.com")
        .annotation("external-dns.kubernetes.io/target", "192.0.2.7,2001:db8::7")
        .lb(Some("192.0.2.1"), Some("lb.example.net"))
        .convert(&config());
    assert_eq!(targets(&outcome), ["192.0.2.7", "2001:db8::7"]);
}

#[test]
fn status_ip_and_hostname_are_both_targets() {
    let outcome = ingress("web")
        .host("www.example.com")
        .lb(Some("192.0.2.1"), Some("lb.example.net"))
        .convert(&config());
    assert_eq!(targets(&outcome), ["192.0.2.1", "lb.example.net"]);
}

#[test]
fn several_lb_hostnames_keep_one_cname_target() {
    let outcome = ingress("web")
        .host("www.example.com")
        .lb(None, Some("b.lb.example.net"))
        .lb(None, Some("a.lb.example.net"))
        .convert(&config());
    assert_eq!(targets(&outcome), ["a.lb.example.net"]);
    assert_eq!(outcome.skipped.len(), 1);
    assert_eq!(outcome.skipped[0].scope, SkipScope::Target);
}

#[test]
fn bad_hostname_skips_only_that_name() {
    let outcome = ingress("web")
        .host("bad_host!.example.com")
        .host("good.example.com")
        .lb(Some("192.0.2.1"), None)
        .convert(&config());
    assert_eq!(names(&outcome), ["good.example.com"]);
    assert_eq!(outcome.skipped.len(), 1);
    let skipped = &outcome.skipped[0];
    assert_eq!(skipped.resource, "ingress/default/web");
    assert_eq!(skipped.field, "spec.rules[0].host");
    assert_eq!(skipped.value, "bad_host!.example.com");
    assert!(skipped.reason.contains("'!'"), "{}", skipped.reason);
}

#[test]
fn long_labels_and_names_are_refused() {
    let long_label = format!("{}.example.com", "a".repeat(64));
    let long_name = format!("{}.example.com", ["abcdefghij"; 23].join("."));
    let outcome = ingress("web")
        .annotation(HOSTNAME, &format!("{long_label},{long_name}"))
        .lb(Some("192.0.2.1"), None)
        .convert(&config());
    assert!(names(&outcome).is_empty());
    assert_eq!(outcome.skipped.len(), 2);
    assert!(outcome.skipped[0].reason.contains("63"));
    assert!(outcome.skipped[1].reason.contains("253"));
}

#[test]
fn bad_target_or_ttl_skips_the_object_and_protects_it() {
    let bad_ip = ingress("web")
        .host("www.example.com")
        .annotation("external-dns.kubernetes.io/target", "300.1.1.1")
        .convert(&config());
    assert!(bad_ip.is_skipped_whole());
    assert_eq!(
        bad_ip.skipped[0].field,
        "metadata.annotations[external-dns.kubernetes.io/target]"
    );
    assert_eq!(bad_ip.skipped[0].value, "300.1.1.1");

    let bad_ttl = ingress("web")
        .host("www.example.com")
        .annotation("external-dns.alpha.kubernetes.io/ttl", "0")
        .convert(&config());
    assert!(bad_ttl.is_skipped_whole());
    let mut index = crate::controller::index::DesiredIndex::new(std::time::Duration::ZERO);
    index.upsert(bad_ttl);
    assert_eq!(
        crate::plan::ObjectLookup::object_status(&index, "ingress/default/web"),
        crate::plan::ObjectStatus::Skipped,
        "an object skipped whole keeps its records"
    );
}

#[test]
fn ttl_set_identifier_and_properties_are_read() {
    let outcome = ingress("web")
        .host("www.example.com")
        .annotation("external-dns.kubernetes.io/ttl", "10m")
        .annotation("external-dns.kubernetes.io/set-identifier", "eu")
        .annotation("external-dns.kubernetes.io/aws-region", "eu-west-1")
        .lb(Some("192.0.2.1"), None)
        .created(1_700_000_000)
        .convert(&config());
    let claim = outcome.claim.unwrap();
    assert_eq!(claim.ttl, Some(600));
    assert_eq!(claim.set_identifier.as_deref(), Some("eu"));
    assert_eq!(claim.properties.get("aws/region").unwrap(), "eu-west-1");
    assert_eq!(claim.created, Some(1_700_000_000));
}

#[test]
fn controller_annotation_opts_out() {
    let other = ingress("web")
        .host("www.example.com")
        .annotation("external-dns.kubernetes.io/controller", "someone-else")
        .convert(&config());
    assert!(!other.selected);
    let ours = ingress("web")
        .host("www.example.com")
        .annotation("external-dns.kubernetes.io/controller", "dns-controller")
        .convert(&config());
    assert!(ours.selected);
}

#[test]
fn filters_select_objects() {
    let mut config = config();
    config.namespace = Some("shop".into());
    assert!(
        !ingress("web")
            .host("a.example.com")
            .convert(&config)
            .selected
    );

    let mut config = self::config();
    config.label_selector = Some(LabelSelector::parse("team=dns").unwrap());
    assert!(!ingress("web").convert(&config).selected);
    assert!(
        ingress("web")
            .label("team", "dns")
            .convert(&config)
            .selected
    );

    let mut config = self::config();
    config.annotation_selector = Some(LabelSelector::parse("dns=public").unwrap());
    assert!(!ingress("web").convert(&config).selected);
    assert!(
        ingress("web")
            .annotation("dns", "public")
            .convert(&config)
            .selected
    );

    let mut config = self::config();
    config.ingress_classes = vec!["nginx".into()];
    assert!(ingress("web").class("nginx").convert(&config).selected);
    assert!(!ingress("web").class("traefik").convert(&config).selected);
    assert!(!ingress("web").convert(&config).selected);
    assert!(
        ingress("web")
            .annotation("kubernetes.io/ingress.class", "nginx")
            .convert(&config)
            .selected
    );
}

#[test]
fn annotation_prefix_narrows_to_one() {
    let config = SourceConfig {
        annotation_prefixes: AnnotationPrefixes::only("external-dns.kubernetes.io/").unwrap(),
        ..config()
    };
    let outcome = ingress("web")
        .annotation(ALPHA_HOSTNAME, "alpha.example.com")
        .annotation(HOSTNAME, "current.example.com")
        .convert(&config);
    assert_eq!(names(&outcome), ["current.example.com"]);
}

#[test]
fn load_balancer_service_targets_in_order_of_preference() {
    let status = service("api", "LoadBalancer")
        .annotation(HOSTNAME, "api.example.com")
        .lb(Some("192.0.2.1"), Some("lb.example.net"))
        .convert(&config());
    assert_eq!(names(&status), ["api.example.com"]);
    assert_eq!(targets(&status), ["192.0.2.1", "lb.example.net"]);

    let external = service("api", "LoadBalancer")
        .annotation(HOSTNAME, "api.example.com")
        .external_ip("198.51.100.1")
        .lb(Some("192.0.2.1"), None)
        .convert(&config());
    assert_eq!(targets(&external), ["198.51.100.1"]);

    let annotated = service("api", "LoadBalancer")
        .annotation(HOSTNAME, "api.example.com")
        .annotation("external-dns.kubernetes.io/target", "lb.example.org")
        .external_ip("198.51.100.1")
        .convert(&config());
    assert_eq!(targets(&annotated), ["lb.example.org"]);
}

impl ServiceBuilder {
    fn spec(mut self, change: impl FnOnce(&mut ServiceSpec)) -> Self {
        change(self.0.spec.as_mut().unwrap());
        self
    }
}

#[test]
fn external_name_services_point_at_their_external_name() {
    let cname = service("ext", "ExternalName")
        .annotation(HOSTNAME, "ext.example.com")
        .spec(|s| s.external_name = Some("db.partner.example.net".into()))
        .convert(&config());
    assert_eq!(targets(&cname), ["db.partner.example.net"]);
    let address = service("ext", "ExternalName")
        .annotation(HOSTNAME, "ext.example.com")
        .spec(|s| s.external_name = Some("192.0.2.50".into()))
        .convert(&config());
    assert_eq!(targets(&address), ["192.0.2.50"]);
    let external_ips = service("ext", "ExternalName")
        .annotation(HOSTNAME, "ext.example.com")
        .spec(|s| s.external_name = Some("db.partner.example.net".into()))
        .external_ip("198.51.100.1")
        .convert(&config());
    assert_eq!(targets(&external_ips), ["198.51.100.1"]);
}

#[test]
fn cluster_ip_services_need_publish_internal_services() {
    let build = || {
        service("internal", "ClusterIP")
            .annotation(HOSTNAME, "internal.example.com")
            .spec(|s| s.cluster_ip = Some("10.96.0.10".into()))
    };
    let off = build().convert(&config());
    assert!(!off.selected);
    let on = build().convert(&SourceConfig {
        publish_internal_services: true,
        ..config()
    });
    assert_eq!(targets(&on), ["10.96.0.10"]);
    // The target annotation publishes any type, as in external-dns.
    let annotated = build()
        .annotation("external-dns.kubernetes.io/target", "lb.example.net")
        .convert(&config());
    assert_eq!(targets(&annotated), ["lb.example.net"]);
}

fn node(
    name: &str,
    external: &[&str],
    internal: &[&str],
    unschedulable: bool,
) -> k8s_openapi::api::core::v1::Node {
    let mut addresses: Vec<serde_json::Value> = external
        .iter()
        .map(|a| serde_json::json!({"type": "ExternalIP", "address": a}))
        .collect();
    addresses.extend(
        internal
            .iter()
            .map(|a| serde_json::json!({"type": "InternalIP", "address": a})),
    );
    addresses.push(serde_json::json!({"type": "Hostname", "address": name}));
    serde_json::from_value(serde_json::json!({
        "metadata": {"name": name},
        "spec": {"unschedulable": unschedulable},
        "status": {"addresses": addresses},
    }))
    .unwrap()
}

/// One endpoint of an EndpointSlice: address, ready, serving, terminating, hostname, node.
type SliceEntry<'a> = (&'a str, bool, bool, bool, Option<&'a str>, &'a str);

fn slice(
    service: &str,
    name: &str,
    address_type: &str,
    entries: &[SliceEntry],
) -> k8s_openapi::api::discovery::v1::EndpointSlice {
    let endpoints: Vec<serde_json::Value> = entries
        .iter()
        .map(|(address, ready, serving, terminating, hostname, node)| {
            serde_json::json!({
                "addresses": [address],
                "conditions": {"ready": ready, "serving": serving, "terminating": terminating},
                "hostname": hostname,
                "nodeName": node,
                "targetRef": {"kind": "Pod", "name": format!("{service}-{address}"), "namespace": "default"},
            })
        })
        .collect();
    serde_json::from_value(serde_json::json!({
        "metadata": {"name": name, "namespace": "default", "labels": {"kubernetes.io/service-name": service}},
        "addressType": address_type,
        "endpoints": endpoints,
    }))
    .unwrap()
}

fn backends(
    nodes: &[k8s_openapi::api::core::v1::Node],
    slices: &[k8s_openapi::api::discovery::v1::EndpointSlice],
) -> backends::ServiceBackends {
    let mut backends = backends::ServiceBackends::new();
    for n in nodes {
        backends.set_node(
            n.metadata.name.as_deref().unwrap(),
            backends::NodeAddresses::from_node(n),
        );
    }
    for s in slices {
        backends.set_slice(
            "default",
            s.metadata.name.as_deref().unwrap(),
            backends::SliceEndpoints::from_slice(s),
        );
    }
    backends
}

/// `name TYPE target,target` for each endpoint of an outcome, sorted.
fn records(outcome: &ObjectOutcome) -> Vec<String> {
    let mut records: Vec<String> = outcome
        .claim
        .as_ref()
        .map(|c| {
            c.endpoints()
                .iter()
                .map(|e| {
                    let targets: Vec<&str> = e.targets.iter().map(String::as_str).collect();
                    format!("{} {} {}", e.name, e.record_type, targets.join(","))
                })
                .collect()
        })
        .unwrap_or_default();
    records.sort();
    records
}

impl ServiceBuilder {
    fn convert_with(
        &self,
        backends: &backends::ServiceBackends,
        config: &SourceConfig,
    ) -> ObjectOutcome {
        service::convert(&self.0, backends, config)
    }
}

/// (case, nodes, access annotation, expected address records)
type NodePortCase<'a> = (
    &'a str,
    &'a [k8s_openapi::api::core::v1::Node],
    Option<&'a str>,
    &'a [&'a str],
);

#[test]
fn node_port_services_point_at_the_nodes_addresses() {
    let cloud = [
        node("n1", &["203.0.113.1"], &["10.0.0.1"], false),
        node(
            "n2",
            &["203.0.113.2", "2001:db8::2"],
            &["10.0.0.2", "fd00::2"],
            false,
        ),
        node("cordoned", &["203.0.113.3"], &["10.0.0.3"], true),
    ];
    let on_premises = [
        node("n1", &[], &["10.0.0.1"], false),
        node("n2", &[], &["10.0.0.2"], false),
    ];
    let cases: [NodePortCase; 5] = [
        (
            "external addresses when a node has one; cordoned nodes left out",
            &cloud,
            None,
            &[
                "np.example.com A 203.0.113.1,203.0.113.2",
                "np.example.com AAAA 2001:db8::2",
            ],
        ),
        (
            "internal addresses when no node has an external one",
            &on_premises,
            None,
            &["np.example.com A 10.0.0.1,10.0.0.2"],
        ),
        (
            "access: private takes the internal addresses",
            &cloud,
            Some("private"),
            &[
                "np.example.com A 10.0.0.1,10.0.0.2",
                "np.example.com AAAA fd00::2",
            ],
        ),
        (
            "access: public takes the external addresses",
            &cloud,
            Some("public"),
            &[
                "np.example.com A 203.0.113.1,203.0.113.2",
                "np.example.com AAAA 2001:db8::2",
            ],
        ),
        (
            "access: public without external addresses publishes no address",
            &on_premises,
            Some("public"),
            &[],
        ),
    ];
    for (case, nodes, access, expected) in cases {
        let mut builder = service("np", "NodePort").annotation(HOSTNAME, "np.example.com");
        if let Some(access) = access {
            builder = builder.annotation("external-dns.alpha.kubernetes.io/access", access);
        }
        let outcome = builder.convert_with(&backends(nodes, &[]), &config());
        let addresses: Vec<String> = records(&outcome)
            .into_iter()
            .filter(|r| !r.contains(" SRV "))
            .collect();
        assert_eq!(addresses, expected, "{case}");
        assert!(outcome.skipped.is_empty(), "{case}: {:?}", outcome.skipped);
        // Without an address there are no SRV records either: the Service is targetless, so
        // its existing records are kept for the grace period.
        assert_eq!(
            outcome.claim.as_ref().unwrap().is_targetless(),
            expected.is_empty(),
            "{case}"
        );
    }
}

#[test]
fn node_ports_get_the_srv_records_external_dns_writes() {
    let outcome = service("game", "NodePort")
        .annotation(HOSTNAME, "game.example.com,play.example.com")
        .annotation("external-dns.kubernetes.io/ttl", "60")
        .spec(|s| {
            s.ports = Some(
                serde_json::from_value(serde_json::json!([
                    {"name": "http", "port": 80, "nodePort": 30080, "protocol": "TCP"},
                    {"port": 53, "nodePort": 30053, "protocol": "UDP"},
                    {"port": 9000},
                ]))
                .unwrap(),
            )
        })
        .convert_with(
            &backends(&[node("n1", &["203.0.113.1"], &[], false)], &[]),
            &config(),
        );
    assert_eq!(
        records(&outcome),
        [
            "_game._tcp.game.example.com SRV 0 50 30080 game.example.com",
            "_game._tcp.play.example.com SRV 0 50 30080 play.example.com",
            "_game._udp.game.example.com SRV 0 50 30053 game.example.com",
            "_game._udp.play.example.com SRV 0 50 30053 play.example.com",
            "game.example.com A 203.0.113.1",
            "play.example.com A 203.0.113.1",
        ]
    );
    let claim = outcome.claim.as_ref().unwrap();
    for endpoint in claim.endpoints() {
        assert_eq!(endpoint.ttl, Some(60), "{}", endpoint.name);
        assert_eq!(endpoint.resource(), Some("service/default/game"));
    }
    assert!(
        claim
            .names
            .iter()
            .any(|n| n.as_str() == "_game._udp.play.example.com"),
        "SRV names are claimed, so the index re-plans them"
    );
}

#[test]
fn external_traffic_policy_local_takes_the_nodes_the_endpoints_run_on() {
    let nodes = [
        node("n1", &["203.0.113.1"], &[], false),
        node("n2", &["203.0.113.2"], &[], false),
        node("n3", &["203.0.113.3"], &[], false),
    ];
    // (case, endpoints: address, ready, serving, terminating, hostname, node; expected)
    let cases: [(&str, &[SliceEntry], &str); 4] = [
        (
            "ready endpoints first",
            &[
                ("10.1.0.1", true, true, false, None, "n1"),
                ("10.1.0.2", false, true, true, None, "n2"),
                ("10.1.0.3", false, false, false, None, "n3"),
            ],
            "np.example.com A 203.0.113.1",
        ),
        (
            "else serving (terminating) ones",
            &[
                ("10.1.0.2", false, true, true, None, "n2"),
                ("10.1.0.3", false, false, false, None, "n3"),
            ],
            "np.example.com A 203.0.113.2",
        ),
        (
            "else any",
            &[("10.1.0.3", false, false, false, None, "n3")],
            "np.example.com A 203.0.113.3",
        ),
        (
            "several nodes",
            &[
                ("10.1.0.1", true, true, false, None, "n1"),
                ("10.1.0.3", true, true, false, None, "n3"),
            ],
            "np.example.com A 203.0.113.1,203.0.113.3",
        ),
    ];
    for (case, entries, expected) in cases {
        let outcome = service("np", "NodePort")
            .annotation(HOSTNAME, "np.example.com")
            .spec(|s| s.external_traffic_policy = Some("Local".into()))
            .convert_with(
                &backends(&nodes, &[slice("np", "np-abc", "IPv4", entries)]),
                &config(),
            );
        assert_eq!(records(&outcome), [expected], "{case}");
    }
    // Without Local every node counts.
    let cluster = service("np", "NodePort")
        .annotation(HOSTNAME, "np.example.com")
        .convert_with(
            &backends(
                &nodes,
                &[slice(
                    "np",
                    "np-abc",
                    "IPv4",
                    &[("10.1.0.1", true, true, false, None, "n1")],
                )],
            ),
            &config(),
        );
    assert_eq!(
        records(&cluster),
        ["np.example.com A 203.0.113.1,203.0.113.2,203.0.113.3"]
    );
}

#[test]
fn headless_services_point_at_their_ready_endpoints() {
    let entries: &[SliceEntry] = &[
        ("10.1.0.1", true, true, false, Some("web-0"), "n1"),
        ("10.1.0.2", true, true, false, None, "n2"),
        ("10.1.0.3", false, false, false, Some("web-2"), "n1"),
    ];
    let slices = [
        slice("web", "web-v4", "IPv4", entries),
        slice(
            "web",
            "web-v6",
            "IPv6",
            &[("fd00::1", true, true, false, None, "n1")],
        ),
        slice(
            "web",
            "web-fqdn",
            "FQDN",
            &[("db.example.net", true, true, false, None, "n1")],
        ),
        slice(
            "other",
            "other-v4",
            "IPv4",
            &[("10.9.0.1", true, true, false, None, "n1")],
        ),
    ];
    let backends = backends(&[], &slices);
    let headless = || {
        service("web", "ClusterIP")
            .annotation(HOSTNAME, "web.example.com")
            .spec(|s| s.cluster_ip = Some("None".into()))
    };
    // Published without --publish-internal-services, as external-dns does.
    let ready = headless().convert_with(&backends, &config());
    assert_eq!(
        records(&ready),
        [
            "web-0.web.example.com A 10.1.0.1",
            "web.example.com A 10.1.0.1,10.1.0.2",
            "web.example.com AAAA fd00::1",
        ]
    );
    let with_not_ready = [
        "web-0.web.example.com A 10.1.0.1",
        "web-2.web.example.com A 10.1.0.3",
        "web.example.com A 10.1.0.1,10.1.0.2,10.1.0.3",
        "web.example.com AAAA fd00::1",
    ];
    let by_spec = headless()
        .spec(|s| s.publish_not_ready_addresses = Some(true))
        .convert_with(&backends, &config());
    assert_eq!(records(&by_spec), with_not_ready);
    let by_flag = headless().convert_with(
        &backends,
        &SourceConfig {
            always_publish_not_ready_addresses: true,
            ..config()
        },
    );
    assert_eq!(records(&by_flag), with_not_ready);
    // The target annotation wins over the endpoints.
    let annotated = headless()
        .annotation("external-dns.kubernetes.io/target", "192.0.2.9")
        .convert_with(&backends, &config());
    assert_eq!(records(&annotated), ["web.example.com A 192.0.2.9"]);
}

#[test]
fn headless_endpoints_that_are_not_pods_are_left_out() {
    let mut manual = slice(
        "web",
        "web-manual",
        "IPv4",
        &[("10.1.0.7", true, true, false, None, "n1")],
    );
    manual.endpoints.as_mut().unwrap()[0].target_ref = None;
    let outcome = service("web", "ClusterIP")
        .annotation(HOSTNAME, "web.example.com")
        .spec(|s| s.cluster_ip = Some("None".into()))
        .convert_with(&backends(&[], &[manual]), &config());
    assert!(records(&outcome).is_empty());
    // Still claiming its name without a target: its records are kept for the grace period.
    assert!(outcome.claim.as_ref().unwrap().is_targetless());
}

#[test]
fn node_port_and_headless_services_without_names_are_not_selected() {
    let backends = backends(&[node("n1", &["203.0.113.1"], &[], false)], &[]);
    let node_port = service("np", "NodePort").convert_with(&backends, &config());
    assert!(!node_port.selected && node_port.skipped.is_empty());
    let headless = service("hl", "ClusterIP")
        .spec(|s| s.cluster_ip = Some("None".into()))
        .convert_with(&backends, &config());
    assert!(!headless.selected);
}

#[test]
fn target_net_filters_apply_to_node_addresses() {
    let mut config = config();
    config.targets =
        crate::filter::TargetPolicy::new(&[], &["10.0.0.0/8".to_string()], &[], false).unwrap();
    let outcome = service("np", "NodePort")
        .annotation(HOSTNAME, "np.example.com")
        .annotation("external-dns.kubernetes.io/access", "private")
        .convert_with(
            &backends(&[node("n1", &[], &["10.0.0.1", "192.168.0.1"], false)], &[]),
            &config,
        );
    assert_eq!(records(&outcome), ["np.example.com A 192.168.0.1"]);
}

#[test]
fn service_type_filter_narrows_the_types_read() {
    let only_lb = SourceConfig {
        service_types: vec!["LoadBalancer".into()],
        ..config()
    };
    let ext = service("ext", "ExternalName")
        .annotation(HOSTNAME, "ext.example.com")
        .spec(|s| s.external_name = Some("db.partner.example.net".into()))
        .convert(&only_lb);
    assert!(!ext.selected);
    let lb = service("api", "LoadBalancer")
        .annotation(HOSTNAME, "api.example.com")
        .lb(Some("192.0.2.1"), None)
        .convert(&only_lb);
    assert_eq!(targets(&lb), ["192.0.2.1"]);
}

#[test]
fn empty_load_balancer_status_gives_no_targets() {
    let outcome = service("api", "LoadBalancer")
        .annotation(HOSTNAME, "api.example.com")
        .convert(&config());
    assert!(targets(&outcome).is_empty());
    assert!(outcome.claim.unwrap().endpoints().is_empty());
}

#[test]
fn idn_hostnames_become_punycode() {
    let outcome = ingress("web")
        .host("bücher.example.com")
        .lb(Some("192.0.2.1"), None)
        .convert(&config());
    assert_eq!(names(&outcome), ["xn--bcher-kva.example.com"]);
}

#[test]
fn hostile_annotations_are_skipped_and_named() {
    // A megabyte of host names: ignored as a whole, with a short message.
    let huge = "a.example.com,".repeat(80_000);
    let outcome = ingress("web")
        .host("ok.example.com")
        .annotation(HOSTNAME, &huge)
        .lb(Some("192.0.2.1"), None)
        .convert(&config());
    assert_eq!(names(&outcome), ["ok.example.com"]);
    assert_eq!(outcome.skipped.len(), 1);
    assert!(outcome.skipped[0].reason.contains("more than 65536"));
    assert!(outcome.skipped[0].value.len() < 300, "value shortened");

    // Thousands of distinct names: the object is skipped whole (its records are kept).
    let many: Vec<String> = (0..1000).map(|i| format!("h{i}.example.com")).collect();
    let outcome = ingress("web")
        .annotation(HOSTNAME, &many.join(","))
        .lb(Some("192.0.2.1"), None)
        .convert(&config());
    assert!(outcome.is_skipped_whole());
    assert!(outcome.skipped[0].reason.contains("at most 256"));

    // Control characters, a wildcard in the middle, an absurd TTL.
    let outcome = ingress("web")
        .annotation(
            HOSTNAME,
            "tab\there.example.com,a.*.example.com,ok.example.com",
        )
        .lb(Some("192.0.2.1"), None)
        .convert(&config());
    assert_eq!(names(&outcome), ["ok.example.com"]);
    assert_eq!(outcome.skipped.len(), 2);
    let ttl = ingress("web")
        .host("ok.example.com")
        .annotation("external-dns.kubernetes.io/ttl", "99999999999999999999999")
        .convert(&config());
    assert!(ttl.is_skipped_whole());
    let huge_target = ingress("web")
        .host("ok.example.com")
        .annotation("external-dns.kubernetes.io/target", &"1".repeat(100_000))
        .convert(&config());
    assert!(huge_target.is_skipped_whole());
    assert!(huge_target.skipped[0].value.len() < 300);
}
