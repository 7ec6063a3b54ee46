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
        service::convert(&self.0, config)
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

#[test]
fn other_service_types_produce_nothing() {
    for service_type in ["ClusterIP", "NodePort", "ExternalName"] {
        let outcome = service("api", service_type)
            .annotation(HOSTNAME, "api.example.com")
            .external_ip("198.51.100.1")
            .convert(&config());
        assert!(!outcome.selected, "{service_type}");
        assert!(outcome.claim.is_none());
    }
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
