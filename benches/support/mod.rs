//! Input builders shared by the criterion benches: a zone of `n` owned host names with their
//! ownership markers, desired endpoints for the same names, and Ingress/Service objects.
//!
//! Every host name is `host-<i>.bench.example`, wanted by `ingress/bench/host-<i>` and pointing
//! at a distinct IPv4 address, so nothing collides and every row is planned on its own.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{
    LoadBalancerIngress, LoadBalancerStatus, Service, ServiceSpec, ServiceStatus,
};
use k8s_openapi::api::networking::v1::{
    Ingress, IngressLoadBalancerIngress, IngressLoadBalancerStatus, IngressRule, IngressSpec,
    IngressStatus,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use zonesync::plan::{DesiredEndpoint, DesiredState};
use zonesync::registry::{Registry, RegistryConfig};
use zonesync_core::{DnsName, Endpoint, LABEL_OWNER, LABEL_RESOURCE, RecordType, Zone};

/// The zone every bench plans.
pub const ZONE: &str = "bench.example";

/// The sizes the benches run at.
pub const SIZES: [usize; 3] = [1_000, 10_000, 100_000];

/// The registry with default settings (owner id `default`, no affixes).
pub fn registry() -> Registry {
    Registry::new(RegistryConfig::default()).expect("default registry settings are valid")
}

/// The bench zone.
pub fn zone() -> Zone {
    Zone::new(DnsName::parse(ZONE).unwrap())
}

/// `host-<i>.bench.example`.
pub fn host(i: usize) -> DnsName {
    DnsName::parse(&format!("host-{i}.{ZONE}")).unwrap()
}

/// A distinct address per host; `generation` moves it to another /16 (a changed target).
pub fn address(i: usize, generation: usize) -> String {
    format!(
        "10.{}.{}.{}",
        generation * 16 + i / 65_536,
        (i / 256) % 256,
        i % 256
    )
}

/// The object that wants host `i`.
pub fn resource(i: usize) -> String {
    format!("ingress/bench/host-{i}")
}

/// An A record as a provider lists it: TTL 300, no labels.
pub fn stored_a(i: usize) -> Endpoint {
    Endpoint::new(host(i), RecordType::A, [address(i, 0)]).with_ttl(300)
}

/// The ownership marker of host `i`'s A record, as a provider lists it.
pub fn stored_marker(registry: &Registry, i: usize) -> Endpoint {
    let mut labelled = stored_a(i);
    labelled
        .labels
        .insert(LABEL_OWNER.into(), registry.owner_id().into());
    labelled.labels.insert(LABEL_RESOURCE.into(), resource(i));
    let mut marker = registry.marker_for(&labelled);
    marker.labels.clear();
    marker
}

/// The apex SOA and NS every real zone has.
fn apex_records() -> Vec<Endpoint> {
    let apex = DnsName::parse(ZONE).unwrap();
    vec![
        Endpoint::new(
            apex.clone(),
            RecordType::Soa,
            [format!(
                "ns1.{ZONE}. hostmaster.{ZONE}. 1 3600 600 86400 300"
            )],
        )
        .with_ttl(300),
        Endpoint::new(apex, RecordType::Ns, [format!("ns1.{ZONE}")]).with_ttl(300),
    ]
}

/// What the provider holds for hosts `0..n`: each A record and its marker, plus the apex.
pub fn zone_records(registry: &Registry, n: usize) -> Vec<Endpoint> {
    let mut records = apex_records();
    records.reserve(2 * n);
    for i in 0..n {
        records.push(stored_a(i));
        records.push(stored_marker(registry, i));
    }
    records
}

/// What the sources want for host `i` (as `Claim::endpoints` builds it: no TTL, the resource
/// label only).
pub fn desired(i: usize, generation: usize) -> DesiredEndpoint {
    let mut endpoint = Endpoint::new(host(i), RecordType::A, [address(i, generation)]);
    endpoint.labels.insert(LABEL_RESOURCE.into(), resource(i));
    DesiredEndpoint {
        endpoint,
        created: Some(1_700_000_000 + i as i64),
    }
}

/// How a "1% changes" plan differs from the zone, per host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Churn {
    /// Same as the zone.
    Same,
    /// Another address (an update).
    Moved,
    /// Not in the zone yet (a creation).
    Added,
    /// In the zone but no longer wanted (a deletion).
    Removed,
}

/// One host in a hundred changes, cycling through update, creation and deletion.
pub fn churn(i: usize, percent_changed: bool) -> Churn {
    if !percent_changed || !i.is_multiple_of(100) {
        return Churn::Same;
    }
    match (i / 100) % 3 {
        0 => Churn::Moved,
        1 => Churn::Added,
        _ => Churn::Removed,
    }
}

/// The zone's records and the desired state for `n` hosts; with `percent_changed`, 1% of the
/// hosts differ (a third each updated, new, gone).
pub fn scenario(
    registry: &Registry,
    n: usize,
    percent_changed: bool,
) -> (Vec<Endpoint>, DesiredState) {
    let mut records = apex_records();
    let mut state = DesiredState::default();
    for i in 0..n {
        let change = churn(i, percent_changed);
        if change != Churn::Added {
            records.push(stored_a(i));
            records.push(stored_marker(registry, i));
        }
        if change == Churn::Removed {
            continue;
        }
        let generation = usize::from(change == Churn::Moved);
        state.endpoints.push(desired(i, generation));
        state.seen.insert(resource(i));
        state.selected.insert(resource(i));
    }
    (records, state)
}

/// How many hosts of `n` a 1% scenario updates, creates and deletes.
pub fn expected_churn(n: usize) -> (usize, usize, usize) {
    let mut counts = (0, 0, 0);
    for i in 0..n {
        match churn(i, true) {
            Churn::Moved => counts.0 += 1,
            Churn::Added => counts.1 += 1,
            Churn::Removed => counts.2 += 1,
            Churn::Same => {}
        }
    }
    counts
}

fn meta(name: String, annotations: BTreeMap<String, String>) -> ObjectMeta {
    ObjectMeta {
        name: Some(name),
        namespace: Some("bench".to_string()),
        annotations: Some(annotations),
        labels: Some(BTreeMap::from([("app".to_string(), "web".to_string())])),
        ..ObjectMeta::default()
    }
}

/// An Ingress with one rule host, a TTL annotation and a load balancer address, as a cluster
/// typically has them.
pub fn ingress(i: usize) -> Ingress {
    let annotations = BTreeMap::from([
        (
            "external-dns.kubernetes.io/ttl".to_string(),
            "300".to_string(),
        ),
        (
            "kubectl.kubernetes.io/last-applied-configuration".to_string(),
            "{\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":\"Ingress\"}".to_string(),
        ),
    ]);
    Ingress {
        metadata: meta(format!("web-{i}"), annotations),
        spec: Some(IngressSpec {
            ingress_class_name: Some("nginx".into()),
            rules: Some(vec![IngressRule {
                host: Some(format!("web-{i}.{ZONE}")),
                http: None,
            }]),
            ..IngressSpec::default()
        }),
        status: Some(IngressStatus {
            load_balancer: Some(IngressLoadBalancerStatus {
                ingress: Some(vec![IngressLoadBalancerIngress {
                    ip: Some(address(i, 0)),
                    ..IngressLoadBalancerIngress::default()
                }]),
            }),
        }),
    }
}

/// A LoadBalancer Service with a `hostname` annotation and a load balancer address.
pub fn service(i: usize) -> Service {
    let annotations = BTreeMap::from([(
        "external-dns.kubernetes.io/hostname".to_string(),
        format!("svc-{i}.{ZONE}"),
    )]);
    Service {
        metadata: meta(format!("svc-{i}"), annotations),
        spec: Some(ServiceSpec {
            type_: Some("LoadBalancer".into()),
            ..ServiceSpec::default()
        }),
        status: Some(ServiceStatus {
            load_balancer: Some(LoadBalancerStatus {
                ingress: Some(vec![LoadBalancerIngress {
                    ip: Some(address(i, 1)),
                    ..LoadBalancerIngress::default()
                }]),
            }),
            ..ServiceStatus::default()
        }),
    }
}

/// Every distinct resource in a desired state (for assertions).
pub fn resources(state: &DesiredState) -> BTreeSet<&str> {
    state
        .endpoints
        .iter()
        .filter_map(|d| d.endpoint.resource())
        .collect()
}
