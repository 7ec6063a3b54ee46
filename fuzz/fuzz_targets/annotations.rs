//! Annotations and specs of Ingresses and Services in, claims and skipped input out.
//!
//! The input is text, one item a line, so the seeds in `fuzz/seeds/annotations/` read like the
//! manifests they come from (bytes that are not UTF-8 are replaced; `\n` in a value is a
//! newline):
//!
//! ```text
//! external-dns.kubernetes.io/hostname: www.example.com, shop.example.com
//! @name web                 @namespace shop          @class nginx      @type LoadBalancer
//! @host www.example.com     @tls a.example.com,b.example.com
//! @lb-ip 192.0.2.10         @lb-hostname lb.example.net               @external-ip 192.0.2.1
//! @label app=web            @prefix external-dns.kubernetes.io/
//! @filter-label app=web     @filter-annotation k=v   @filter-namespace shop   @filter-class nginx
//! ```
//!
//! Both an Ingress and a Service are built from the lines and converted with
//! `zonesync::source::{ingress, service}::convert`. Every value also goes through the parsers
//! on its own (`parse_ttl`, `Target::parse`, `LabelSelector::parse`, `DnsName::parse`).
//!
//! Checks, beyond "no panic": names in a claim are valid, normalised `DnsName`s (re-parsing
//! gives the same name; labels of at most 63 bytes, names of at most 253); names and targets
//! are not repeated; every skipped input names the object and a field; an object skipped whole
//! says why; `Claim::endpoints()` yields only A, AAAA and CNAME records whose targets parse as
//! their type, and a CNAME holds one target; TTLs are in range; the parsers agree with
//! themselves on their own output.

#![no_main]

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use k8s_openapi::api::core::v1::{
    LoadBalancerIngress, LoadBalancerStatus, Service, ServiceSpec, ServiceStatus,
};
use k8s_openapi::api::networking::v1::{
    Ingress, IngressLoadBalancerIngress, IngressLoadBalancerStatus, IngressRule, IngressSpec,
    IngressStatus, IngressTLS,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use libfuzzer_sys::fuzz_target;
use zonesync::controller::index::DesiredIndex;
use zonesync::filter::LabelSelector;
use zonesync::plan::{ObjectLookup, ObjectStatus};
use zonesync::source::annotations::{MAX_TTL, parse_ttl};
use zonesync::source::{
    AnnotationPrefixes, ObjectOutcome, ResourceKind, ResourceRef, SkipScope, SourceConfig,
    Target, ingress, service,
};
use zonesync_core::{DnsName, MAX_LABEL_LEN, MAX_NAME_LEN, RecordType};

/// What the lines describe.
#[derive(Default)]
struct Described {
    name: Option<String>,
    namespace: Option<String>,
    class: Option<String>,
    service_type: Option<String>,
    annotations: BTreeMap<String, String>,
    labels: BTreeMap<String, String>,
    hosts: Vec<String>,
    tls: Vec<Vec<String>>,
    load_balancer: Vec<(Option<String>, Option<String>)>,
    external_ips: Vec<String>,
    config: SourceConfig,
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let described = describe(&text);
    for value in described.annotations.values() {
        check_parsers(value);
        for item in value.split(',') {
            check_parsers(item);
        }
    }
    for host in described.hosts.iter().chain(described.tls.iter().flatten()) {
        check_parsers(host);
    }

    let ingress_resource = resource(&described, ResourceKind::Ingress);
    let outcome = ingress::convert(&build_ingress(&described), &described.config);
    check_outcome(&outcome, &ingress_resource);

    let service_resource = resource(&described, ResourceKind::Service);
    let outcome = service::convert(
        &build_service(&described),
        &zonesync::source::backends::ServiceBackends::new(),
        &described.config,
    );
    check_outcome(&outcome, &service_resource);
});

fn describe(text: &str) -> Described {
    let mut described = Described::default();
    for line in text.lines() {
        let line = line.replace("\\n", "\n");
        if let Some(directive) = line.strip_prefix('@') {
            let (word, value) = directive.split_once(' ').unwrap_or((directive, ""));
            apply_directive(&mut described, word, value);
        } else if let Some((key, value)) = line.split_once(':') {
            let value = value.strip_prefix(' ').unwrap_or(value);
            described
                .annotations
                .insert(key.to_string(), value.to_string());
        }
    }
    described
}

fn apply_directive(described: &mut Described, word: &str, value: &str) {
    let list = |value: &str| value.split(',').map(str::to_string).collect::<Vec<_>>();
    let pair = |value: &str| {
        let (k, v) = value.split_once('=').unwrap_or((value, ""));
        (k.to_string(), v.to_string())
    };
    let config = &mut described.config;
    match word {
        "name" => described.name = Some(value.to_string()),
        "namespace" => described.namespace = Some(value.to_string()),
        "class" => described.class = Some(value.to_string()),
        "type" => described.service_type = Some(value.to_string()),
        "host" => described.hosts.push(value.to_string()),
        "tls" => described.tls.push(list(value)),
        "lb-ip" => described
            .load_balancer
            .push((Some(value.to_string()), None)),
        "lb-hostname" => described
            .load_balancer
            .push((None, Some(value.to_string()))),
        "lb-both" => {
            let (ip, host) = value.split_once('|').unwrap_or((value, value));
            described
                .load_balancer
                .push((Some(ip.to_string()), Some(host.to_string())));
        }
        "external-ip" => described.external_ips.push(value.to_string()),
        "label" => {
            let (k, v) = pair(value);
            described.labels.insert(k, v);
        }
        "prefix" => {
            if let Ok(prefixes) = AnnotationPrefixes::only(value) {
                config.annotation_prefixes = prefixes;
            }
        }
        "filter-namespace" => config.namespace = Some(value.to_string()),
        "filter-class" => config.ingress_classes.push(value.to_string()),
        "filter-label" => config.label_selector = checked_selector(value),
        "filter-annotation" => config.annotation_selector = checked_selector(value),
        _ => {}
    }
}

fn checked_selector(value: &str) -> Option<LabelSelector> {
    let selector = LabelSelector::parse(value).ok()?;
    // What the user wrote parses the same again, and the form sent to the API server reads
    // back as the same selector.
    let again = LabelSelector::parse(selector.as_str()).expect("a parsed selector parses again");
    assert_eq!(again.selector(), selector.selector());
    let sent = selector.selector().to_string();
    let reread = LabelSelector::parse(&sent)
        .unwrap_or_else(|e| panic!("selector {value:?} is sent as {sent:?}, which fails: {e}"));
    assert_eq!(
        reread.selector(),
        selector.selector(),
        "selector {value:?} is sent as {sent:?}"
    );
    Some(selector)
}

fn meta(described: &Described) -> ObjectMeta {
    ObjectMeta {
        name: described.name.clone(),
        namespace: described.namespace.clone(),
        annotations: Some(described.annotations.clone()),
        labels: Some(described.labels.clone()),
        ..ObjectMeta::default()
    }
}

fn resource(described: &Described, kind: ResourceKind) -> ResourceRef {
    ResourceRef {
        kind,
        namespace: described
            .namespace
            .clone()
            .unwrap_or_else(|| "default".to_string()),
        name: described.name.clone().unwrap_or_default(),
    }
}

fn build_ingress(described: &Described) -> Ingress {
    let rules = described
        .hosts
        .iter()
        .map(|host| IngressRule {
            host: Some(host.clone()),
            ..IngressRule::default()
        })
        .collect();
    let tls = described
        .tls
        .iter()
        .map(|hosts| IngressTLS {
            hosts: Some(hosts.clone()),
            ..IngressTLS::default()
        })
        .collect();
    let ingress = described
        .load_balancer
        .iter()
        .map(|(ip, hostname)| IngressLoadBalancerIngress {
            ip: ip.clone(),
            hostname: hostname.clone(),
            ..IngressLoadBalancerIngress::default()
        })
        .collect();
    Ingress {
        metadata: meta(described),
        spec: Some(IngressSpec {
            ingress_class_name: described.class.clone(),
            rules: Some(rules),
            tls: Some(tls),
            ..IngressSpec::default()
        }),
        status: Some(IngressStatus {
            load_balancer: Some(IngressLoadBalancerStatus {
                ingress: Some(ingress),
            }),
        }),
    }
}

fn build_service(described: &Described) -> Service {
    let ingress = described
        .load_balancer
        .iter()
        .map(|(ip, hostname)| LoadBalancerIngress {
            ip: ip.clone(),
            hostname: hostname.clone(),
            ..LoadBalancerIngress::default()
        })
        .collect();
    Service {
        metadata: meta(described),
        spec: Some(ServiceSpec {
            type_: Some(
                described
                    .service_type
                    .clone()
                    .unwrap_or_else(|| "LoadBalancer".to_string()),
            ),
            external_ips: Some(described.external_ips.clone()),
            ..ServiceSpec::default()
        }),
        status: Some(ServiceStatus {
            load_balancer: Some(LoadBalancerStatus {
                ingress: Some(ingress),
            }),
            ..ServiceStatus::default()
        }),
    }
}

/// A valid, normalised host name.
fn check_name(name: &DnsName) {
    let text = name.as_str();
    assert_eq!(
        DnsName::parse(text).as_ref(),
        Ok(name),
        "{text:?} does not re-parse as itself"
    );
    assert_eq!(DnsName::parse(&name.to_fqdn()).as_ref(), Ok(name));
    assert!(!text.is_empty() && text.len() <= MAX_NAME_LEN, "{text:?}");
    assert!(
        name.labels()
            .all(|label| !label.is_empty() && label.len() <= MAX_LABEL_LEN),
        "{text:?}"
    );
    assert!(
        text.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.*".contains(&b)),
        "{text:?} is not normalised"
    );
    assert!(
        name.labels().skip(1).all(|label| !label.contains('*')),
        "{text:?} has a wildcard past the first label"
    );
}

fn check_parsers(value: &str) {
    if let Ok(name) = DnsName::parse(value) {
        check_name(&name);
    }
    match Target::parse(value) {
        Ok(Target::Address(address)) => {
            assert_eq!(
                Target::parse(&address.to_string()),
                Ok(Target::Address(address))
            );
        }
        Ok(Target::Host(host)) => {
            check_name(&host);
            assert_eq!(Target::parse(host.as_str()), Ok(Target::Host(host.clone())));
        }
        Err(_) => {}
    }
    match parse_ttl(value) {
        Ok(ttl) => assert!((1..=MAX_TTL).contains(&u64::from(ttl)), "TTL {ttl}"),
        Err(_) => {
            if let Ok(seconds) = value.trim().parse::<u64>() {
                assert!(
                    !(1..=MAX_TTL).contains(&seconds),
                    "{value:?} refused as a TTL"
                );
            }
        }
    }
    let _ = checked_selector(value);
}

fn check_outcome(outcome: &ObjectOutcome, resource: &ResourceRef) {
    assert_eq!(&outcome.resource, resource);
    for skipped in &outcome.skipped {
        assert_eq!(
            skipped.resource,
            resource.to_string(),
            "skipped input names another object: {skipped}"
        );
        assert!(
            !skipped.field.is_empty(),
            "skipped input without a field: {skipped}"
        );
        assert!(
            !skipped.reason.is_empty(),
            "skipped input without a reason: {skipped}"
        );
    }
    if !outcome.selected {
        assert!(outcome.claim.is_none() && outcome.skipped.is_empty());
        return;
    }
    let Some(claim) = &outcome.claim else {
        assert!(
            outcome.skipped.iter().any(|s| s.scope == SkipScope::Object),
            "{resource} skipped whole without saying why: {:?}",
            outcome.skipped
        );
        check_snapshot(outcome);
        return;
    };
    assert_eq!(&claim.resource, resource);
    let unique_names: BTreeSet<_> = claim.names.iter().collect();
    assert_eq!(unique_names.len(), claim.names.len(), "repeated names");
    let unique_targets: BTreeSet<_> = claim.targets.iter().collect();
    assert_eq!(
        unique_targets.len(),
        claim.targets.len(),
        "repeated targets"
    );
    for name in &claim.names {
        check_name(name);
    }
    for target in &claim.targets {
        if let Target::Host(host) = target {
            check_name(host);
        }
    }
    if let Some(ttl) = claim.ttl {
        assert!((1..=MAX_TTL).contains(&u64::from(ttl)));
    }
    if let Some(set_identifier) = &claim.set_identifier {
        assert!(!set_identifier.is_empty() && set_identifier.len() <= 128);
    }

    let endpoints = claim.endpoints();
    let has_address = claim
        .targets
        .iter()
        .any(|t| matches!(t, Target::Address(_)));
    for endpoint in &endpoints {
        assert_eq!(endpoint.resource(), Some(resource.to_string().as_str()));
        assert!(claim.names.contains(&endpoint.name));
        for target in &endpoint.targets {
            match endpoint.record_type {
                RecordType::A => assert!(target.parse::<Ipv4Addr>().is_ok(), "A {target}"),
                RecordType::Aaaa => assert!(target.parse::<Ipv6Addr>().is_ok(), "AAAA {target}"),
                RecordType::Cname => {
                    assert!(target.parse::<IpAddr>().is_err(), "CNAME {target}");
                    check_name(&DnsName::parse(target).expect("CNAME target is a name"));
                }
                ref other => panic!("a claim yields a {other} record: {endpoint}"),
            }
        }
        if endpoint.record_type == RecordType::Cname && !has_address {
            assert_eq!(endpoint.targets.len(), 1, "CNAME with several targets");
        }
    }
    let types: BTreeSet<&str> = claim
        .targets
        .iter()
        .map(|target| match target {
            Target::Address(IpAddr::V4(_)) => "A",
            Target::Address(IpAddr::V6(_)) => "AAAA",
            Target::Host(_) => "CNAME",
        })
        .collect();
    assert_eq!(
        endpoints.len(),
        claim.names.len() * types.len(),
        "every name gets one record per target type"
    );
    check_snapshot(outcome);
}

fn check_snapshot(outcome: &ObjectOutcome) {
    let mut index = DesiredIndex::new(std::time::Duration::ZERO);
    index.upsert(outcome.clone());
    let resource = outcome.resource.to_string();
    let expected = if !outcome.selected {
        ObjectStatus::NotSelected
    } else if outcome.is_skipped_whole() {
        ObjectStatus::Skipped
    } else {
        ObjectStatus::Selected
    };
    assert_eq!(index.object_status(&resource), expected);
}
