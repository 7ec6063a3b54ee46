//! Small builders for unit tests: `a("www.example.com", ["192.0.2.1"])`, `owned(..)`.

use zonesync_core::{DnsName, Endpoint, LABEL_OWNER, LABEL_RESOURCE, RecordType, Zone};

use crate::plan::DesiredEndpoint;
use crate::registry::Registry;
use crate::source::{Claim, ObjectOutcome, ResourceKind, ResourceRef, Target};

/// A validated name.
pub fn name(text: &str) -> DnsName {
    DnsName::parse(text).expect("valid test name")
}

/// A zone by name.
pub fn zone(text: &str) -> Zone {
    Zone::new(name(text))
}

/// An endpoint of any type.
pub fn record<const N: usize>(text: &str, record_type: RecordType, targets: [&str; N]) -> Endpoint {
    Endpoint::new(name(text), record_type, targets)
}

/// An A endpoint.
pub fn a<const N: usize>(text: &str, targets: [&str; N]) -> Endpoint {
    record(text, RecordType::A, targets)
}

/// An AAAA endpoint.
pub fn aaaa<const N: usize>(text: &str, targets: [&str; N]) -> Endpoint {
    record(text, RecordType::Aaaa, targets)
}

/// A CNAME endpoint.
pub fn cname(text: &str, target: &str) -> Endpoint {
    record(text, RecordType::Cname, [target])
}

/// A TXT record as a provider returns it.
pub fn txt(text: &str, value: &str) -> Endpoint {
    Endpoint::new(DnsName::from_provider(text), RecordType::Txt, [value])
}

/// `record` as stored by a provider (TTL 300) and the marker that makes `owner` own it for
/// `resource`.
pub fn owned_by(
    registry: &Registry,
    owner: &str,
    record: Endpoint,
    resource: &str,
) -> [Endpoint; 2] {
    let mut stored = record;
    stored.ttl = Some(stored.ttl.unwrap_or(300));
    let mut labelled = stored.clone();
    labelled.labels.insert(LABEL_OWNER.into(), owner.into());
    labelled
        .labels
        .insert(LABEL_RESOURCE.into(), resource.into());
    let mut marker = registry.marker_for(&labelled);
    marker.labels.clear();
    [stored, marker]
}

/// A desired endpoint wanted by `resource`, created at `created`.
pub fn want(mut endpoint: Endpoint, resource: &str, created: Option<i64>) -> DesiredEndpoint {
    endpoint
        .labels
        .insert(LABEL_RESOURCE.into(), resource.into());
    DesiredEndpoint { endpoint, created }
}

/// The outcome of Ingress `default/<object>` asking for `hosts` → `target`.
pub fn ingress_outcome(object: &str, hosts: &[&str], target: &str) -> ObjectOutcome {
    let resource = ResourceRef {
        kind: ResourceKind::Ingress,
        namespace: "default".into(),
        name: object.into(),
    };
    ObjectOutcome {
        claim: Some(Claim {
            resource: resource.clone(),
            created: None,
            names: hosts.iter().map(|host| name(host)).collect(),
            targets: vec![Target::parse(target).expect("valid test target")],
            ttl: None,
            set_identifier: None,
            properties: Default::default(),
            records: Vec::new(),
            generation: None,
        }),
        resource,
        selected: true,
        skipped: Vec::new(),
    }
}
