//! Sources: Kubernetes objects in, desired DNS endpoints out.
//!
//! Conversion is pure and synchronous: an object becomes a small [`Claim`] (names, targets,
//! TTL, who asked and since when) the moment it is seen, so nothing downstream holds whole
//! objects. Bad input skips the hostname or the object with a [`SkippedInput`] that names the
//! object, the field and the value; every other claim is unaffected.

pub mod annotations;
pub mod backends;
pub mod dnsendpoint;
pub mod fqdn;
pub mod gateway;
pub mod gateway_api;
pub mod ingress;
pub mod manifest;
pub mod service;

use std::collections::BTreeSet;
use std::fmt;
use std::net::IpAddr;

use serde::Serialize;
use zonesync_core::{DnsName, Endpoint, LABEL_RESOURCE, Properties, RecordType};

use crate::filter::LabelSelector;
pub use annotations::AnnotationPrefixes;

/// Kinds of Kubernetes object zonesync reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ResourceKind {
    /// `networking.k8s.io/v1` Ingress.
    Ingress,
    /// `v1` Service.
    Service,
    /// `gateway.networking.k8s.io/v1` HTTPRoute.
    HttpRoute,
    /// `gateway.networking.k8s.io/v1` GRPCRoute.
    GrpcRoute,
    /// `gateway.networking.k8s.io/v1` TLSRoute.
    TlsRoute,
    /// `gateway.networking.k8s.io/v1alpha2` TCPRoute.
    TcpRoute,
    /// `gateway.networking.k8s.io/v1alpha2` UDPRoute.
    UdpRoute,
    /// `externaldns.k8s.io/v1alpha1` DNSEndpoint (or the kind `--crd-source-kind` names).
    #[serde(rename = "crd")]
    DnsEndpoint,
}

impl ResourceKind {
    /// The lower-case name used in marker `resource` labels.
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceKind::Ingress => "ingress",
            ResourceKind::Service => "service",
            ResourceKind::HttpRoute => "httproute",
            ResourceKind::GrpcRoute => "grpcroute",
            ResourceKind::TlsRoute => "tlsroute",
            ResourceKind::TcpRoute => "tcproute",
            ResourceKind::UdpRoute => "udproute",
            ResourceKind::DnsEndpoint => "crd",
        }
    }

    /// The Gateway API route kind, for route kinds.
    pub fn route_kind(self) -> Option<gateway_api::RouteKind> {
        use gateway_api::RouteKind;
        match self {
            ResourceKind::HttpRoute => Some(RouteKind::Http),
            ResourceKind::GrpcRoute => Some(RouteKind::Grpc),
            ResourceKind::TlsRoute => Some(RouteKind::Tls),
            ResourceKind::TcpRoute => Some(RouteKind::Tcp),
            ResourceKind::UdpRoute => Some(RouteKind::Udp),
            ResourceKind::Ingress | ResourceKind::Service | ResourceKind::DnsEndpoint => None,
        }
    }
}

/// Identifies one object: `ingress/<namespace>/<name>`, the form markers store.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResourceRef {
    /// The kind.
    pub kind: ResourceKind,
    /// Namespace (`default` when a manifest leaves it out).
    pub namespace: String,
    /// Name.
    pub name: String,
}

impl fmt::Display for ResourceRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.kind.as_str(), self.namespace, self.name)
    }
}

/// Why a string is not a [`Target`]. The caller names the field and value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// Looks like an IP address (digits and dots, or a colon) but is not one.
    #[error("not a valid IP address")]
    Address,
    /// Neither an IP address nor a host name.
    #[error("not a valid IP address or host name: {0}")]
    HostName(#[source] zonesync_core::NameError),
}

/// An address or host name a DNS name should point at.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Target {
    /// An IPv4 or IPv6 address (A or AAAA record).
    Address(IpAddr),
    /// A host name (CNAME record).
    Host(DnsName),
}

impl Target {
    /// Parses a target: an IP address, or a host name.
    ///
    /// Fails on something that looks like an address but is not one (`300.1.1.1`, `1.2.3`,
    /// `fe80::zz`, full-width `１.２.３.４`) and on an invalid host name.
    pub fn parse(input: &str) -> Result<Self, TargetError> {
        let trimmed = input.trim();
        if let Ok(address) = trimmed.parse::<IpAddr>() {
            return Ok(Target::Address(address));
        }
        if looks_like_address(trimmed) {
            return Err(TargetError::Address);
        }
        let host = DnsName::parse(trimmed).map_err(TargetError::HostName)?;
        // IDN mapping turns full-width digits and dots into ASCII: `１.２.３.４` would
        // otherwise become a CNAME to the host name `1.2.3.4`.
        if looks_like_address(host.as_str()) {
            return Err(TargetError::Address);
        }
        Ok(Target::Host(host))
    }

    fn record_type(&self) -> RecordType {
        match self {
            Target::Address(IpAddr::V4(_)) => RecordType::A,
            Target::Address(IpAddr::V6(_)) => RecordType::Aaaa,
            Target::Host(_) => RecordType::Cname,
        }
    }
}

/// Digits and dots only (`1.2.3`, `300.1.1.1`), or anything with a colon: meant as an address.
pub(crate) fn looks_like_address(text: &str) -> bool {
    let numeric = text
        .trim_end_matches('.')
        .split('.')
        .all(|label| !label.is_empty() && label.chars().all(|c| c.is_ascii_digit()));
    numeric || text.contains(':')
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Address(address) => address.fmt(f),
            Target::Host(host) => host.fmt(f),
        }
    }
}

/// What one object asks for: every name in `names` should point at `targets`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claim {
    /// The object.
    pub resource: ResourceRef,
    /// Its creation time (seconds since the epoch); the older claim wins a conflict.
    pub created: Option<i64>,
    /// Host names, validated and de-duplicated, in the order found.
    pub names: Vec<DnsName>,
    /// Targets, validated and de-duplicated. Empty when the load balancer has no address yet.
    pub targets: Vec<Target>,
    /// TTL from the `ttl` annotation.
    pub ttl: Option<u32>,
    /// Routing-policy set identifier from the `set-identifier` annotation.
    pub set_identifier: Option<String>,
    /// Provider-specific properties from annotations (`alias`, `aws/weight`, …).
    pub properties: Properties,
    /// Records asked for as they are, beside `names` × `targets` (a DNSEndpoint's entries, or a
    /// route whose host names reach Gateways with different addresses); their names are also
    /// in `names`.
    pub records: Vec<Endpoint>,
    /// `metadata.generation` of objects whose status zonesync writes (DNSEndpoints), so the
    /// status can say which generation was reconciled; `None` for the others.
    pub generation: Option<i64>,
}

impl Claim {
    /// The endpoints this claim wants: per name, one per record type of its targets. A name
    /// with both addresses and host names yields A/AAAA and CNAME endpoints; the planner keeps
    /// the addresses and reports the CNAME.
    pub fn endpoints(&self) -> Vec<Endpoint> {
        let mut by_type: Vec<(RecordType, Vec<String>)> = Vec::new();
        for target in &self.targets {
            let record_type = target.record_type();
            let value = target.to_string();
            match by_type.iter_mut().find(|(t, _)| *t == record_type) {
                Some((_, values)) => values.push(value),
                None => by_type.push((record_type, vec![value])),
            }
        }
        let resource = self.resource.to_string();
        let mut endpoints = Vec::with_capacity(self.names.len() * by_type.len());
        for name in &self.names {
            for (record_type, values) in &by_type {
                let mut endpoint = Endpoint::new(name.clone(), record_type.clone(), values);
                endpoint.ttl = self.ttl;
                endpoint.set_identifier = self.set_identifier.clone();
                endpoint.properties = self.properties.clone();
                endpoint
                    .labels
                    .insert(LABEL_RESOURCE.to_string(), resource.clone());
                endpoints.push(endpoint);
            }
        }
        for record in &self.records {
            let mut endpoint = record.clone();
            endpoint
                .labels
                .insert(LABEL_RESOURCE.to_string(), resource.clone());
            endpoints.push(endpoint);
        }
        endpoints
    }

    /// True when the claim has names but nothing to point them at yet (a load balancer or
    /// Gateway without an address).
    pub fn is_targetless(&self) -> bool {
        !self.names.is_empty() && self.targets.is_empty() && self.records.is_empty()
    }
}

/// How much of an object a problem made zonesync skip.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipScope {
    /// One host name was skipped; the object's other names are used.
    Hostname,
    /// One target was ignored.
    Target,
    /// The whole object was skipped; records it already has are kept as they are.
    Object,
}

/// A piece of input zonesync could not use, with where it was and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SkippedInput {
    /// The object, as `kind/namespace/name`.
    pub resource: String,
    /// The field, e.g. `spec.rules[0].host` or `metadata.annotations[external-dns.kubernetes.io/ttl]`.
    pub field: String,
    /// The offending value (shortened when huge).
    pub value: String,
    /// Why it was refused.
    pub reason: String,
    /// What was skipped.
    pub scope: SkipScope,
}

impl SkippedInput {
    fn new(
        resource: &ResourceRef,
        field: impl Into<String>,
        value: &str,
        reason: impl fmt::Display,
        scope: SkipScope,
    ) -> Self {
        Self {
            resource: resource.to_string(),
            field: field.into(),
            value: shorten(value),
            reason: reason.to_string(),
            scope,
        }
    }
}

impl fmt::Display for SkippedInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.scope {
            SkipScope::Hostname => "skipped host name",
            SkipScope::Target => "ignored target",
            SkipScope::Object => "skipped object",
        };
        write!(
            f,
            "{}: {what}: {} = {:?}: {}",
            self.resource, self.field, self.value, self.reason
        )
    }
}

/// Keeps error messages readable when an annotation holds megabytes.
fn shorten(value: &str) -> String {
    const LIMIT: usize = 200;
    if value.len() <= LIMIT {
        return value.to_string();
    }
    let mut end = LIMIT;
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes)", &value[..end], value.len())
}

/// Settings that decide which objects are read and how.
#[derive(Clone, Debug, Default)]
pub struct SourceConfig {
    /// Annotation prefixes to read.
    pub annotation_prefixes: AnnotationPrefixes,
    /// Only this namespace (`--namespace`); all when `None`.
    pub namespace: Option<String>,
    /// `--label-filter`.
    pub label_selector: Option<LabelSelector>,
    /// `--annotation-filter`.
    pub annotation_selector: Option<LabelSelector>,
    /// `--ingress-class`: accepted classes; all when empty.
    pub ingress_classes: Vec<String>,
    /// Kinds read (`--source ingress`, `--source service`, `--source gateway-httproute`, …).
    pub kinds: BTreeSet<ResourceKind>,
    /// `--default-targets`, `--target-net-filter`, `--exclude-target-net`.
    pub targets: crate::filter::TargetPolicy,
    /// `--fqdn-template`: host names for objects that name none themselves.
    pub fqdn_template: Option<fqdn::FqdnTemplate>,
    /// `--combine-fqdn-annotation`: template names are added to the object's own.
    pub combine_fqdn_annotation: bool,
    /// `--ignore-hostname-annotation`: the `hostname` annotation is not read.
    pub ignore_hostname_annotation: bool,
    /// `--service-type-filter`: Service types read; all when empty.
    pub service_types: Vec<String>,
    /// `--publish-internal-services`: ClusterIP Services are published with their cluster IP.
    pub publish_internal_services: bool,
    /// `--always-publish-not-ready-addresses`: headless Services publish not-ready endpoints too.
    pub always_publish_not_ready_addresses: bool,
    /// Which Gateways routes are resolved against.
    pub gateway: GatewayFilter,
    /// Where DNSEndpoints are read from.
    pub crd: CrdSource,
    /// `--managed-record-types`: DNSEndpoint entries of other types are skipped with a message.
    /// Empty accepts every type.
    pub managed_types: BTreeSet<RecordType>,
}

impl SourceConfig {
    /// True when `--namespace`, `--label-filter` and `--annotation-filter` select an object
    /// in `namespace` with these labels and annotations: the selection every source shares.
    pub fn selects(
        &self,
        namespace: &str,
        labels: &std::collections::BTreeMap<String, String>,
        annotations: &std::collections::BTreeMap<String, String>,
    ) -> bool {
        self.namespace.as_ref().is_none_or(|ns| ns == namespace)
            && self
                .label_selector
                .as_ref()
                .is_none_or(|s| s.matches(labels))
            && self
                .annotation_selector
                .as_ref()
                .is_none_or(|s| s.matches(annotations))
    }
}

/// `--gateway-name`, `--gateway-namespace`, `--gateway-label-filter`.
#[derive(Clone, Debug, Default)]
pub struct GatewayFilter {
    /// Only routes attached to Gateways of this name count.
    pub name: Option<String>,
    /// Only Gateways in this namespace are read.
    pub namespace: Option<String>,
    /// Only Gateways whose labels match are read.
    pub label_selector: Option<LabelSelector>,
}

/// `--crd-source-apiversion` and `--crd-source-kind`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CrdSource {
    /// `group/version` of the DNSEndpoint type.
    pub api_version: String,
    /// Its kind.
    pub kind: String,
}

impl Default for CrdSource {
    fn default() -> Self {
        Self {
            api_version: dnsendpoint::DEFAULT_API_VERSION.to_string(),
            kind: dnsendpoint::DEFAULT_KIND.to_string(),
        }
    }
}

/// What one object contributed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectOutcome {
    /// The object.
    pub resource: ResourceRef,
    /// False when a filter, the controller annotation or its type excluded it.
    pub selected: bool,
    /// Its claim; `None` when not selected or skipped as a whole.
    pub claim: Option<Claim>,
    /// Problems found in it.
    pub skipped: Vec<SkippedInput>,
}

impl ObjectOutcome {
    /// A selected object's outcome: its claim on `names` → `targets` (after the configured
    /// target policy), with the shared annotation settings and what was skipped. An object
    /// whose every target the network filters remove asks for nothing, as if not selected.
    fn claiming(
        config: &SourceConfig,
        resource: ResourceRef,
        created: Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::Time>,
        names: Vec<DnsName>,
        targets: Vec<Target>,
        common: annotations::CommonSettings,
        skipped: Vec<SkippedInput>,
    ) -> Self {
        let Some(targets) = config.targets.apply(targets) else {
            tracing::debug!(resource = %resource, "every target is outside --target-net-filter or inside --exclude-target-net");
            return Self {
                resource,
                selected: false,
                claim: None,
                skipped,
            };
        };
        Self {
            claim: Some(Claim {
                created: created.map(|t| t.0.as_second()),
                resource: resource.clone(),
                names,
                targets,
                ttl: common.ttl,
                set_identifier: common.set_identifier,
                properties: common.properties,
                records: Vec::new(),
                generation: None,
            }),
            resource,
            selected: true,
            skipped,
        }
    }

    /// A selected object skipped as a whole because of `field` = `value`: its records are kept.
    pub(crate) fn skipped_whole(
        resource: &ResourceRef,
        field: impl Into<String>,
        value: &str,
        reason: impl fmt::Display,
    ) -> Self {
        let mut outcome = Self::not_selected(resource.clone());
        outcome.selected = true;
        outcome.skipped.push(SkippedInput::new(
            resource,
            field,
            value,
            reason,
            SkipScope::Object,
        ));
        outcome
    }

    fn not_selected(resource: ResourceRef) -> Self {
        Self {
            resource,
            selected: false,
            claim: None,
            skipped: Vec::new(),
        }
    }

    /// True when the object was selected but had to be skipped as a whole: its existing records
    /// must be kept, not deleted.
    pub fn is_skipped_whole(&self) -> bool {
        self.selected && self.claim.is_none()
    }
}

/// Every object a one-shot read of the sources found, converted: what `plan` and `sync` load
/// into the desired-state index the controller uses.
#[derive(Clone, Debug, Default)]
pub struct SourceSnapshot {
    /// One outcome per object read, selected or not.
    pub outcomes: Vec<ObjectOutcome>,
}

impl SourceSnapshot {
    /// Adds one object's outcome.
    pub fn push(&mut self, outcome: ObjectOutcome) {
        self.outcomes.push(outcome);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_by_kind() {
        assert_eq!(
            Target::parse("192.0.2.1").unwrap(),
            Target::Address("192.0.2.1".parse().unwrap())
        );
        assert_eq!(
            Target::parse("2001:db8::1").unwrap(),
            Target::Address("2001:db8::1".parse().unwrap())
        );
        assert_eq!(
            Target::parse("LB.Example.net.").unwrap(),
            Target::Host(DnsName::parse("lb.example.net").unwrap())
        );
        assert_eq!(Target::parse("300.1.1.1"), Err(TargetError::Address));
        assert_eq!(Target::parse("1.2.3"), Err(TargetError::Address));
        assert_eq!(Target::parse("fe80::zz"), Err(TargetError::Address));
        assert!(matches!(
            Target::parse("bad host"),
            Err(TargetError::HostName(_))
        ));
    }

    /// Found with the `annotations` fuzz target's check that a parsed host name parses again
    /// as the same target: IDN mapping made this a CNAME to the host name `1.2.3.4`.
    #[test]
    fn full_width_addresses_are_not_host_names() {
        assert_eq!(Target::parse("１.２.３.４"), Err(TargetError::Address));
        assert_eq!(Target::parse("１２７.０.０.１"), Err(TargetError::Address));
        assert_eq!(
            Target::parse("ｌｂ.example.net").unwrap(),
            Target::Host(DnsName::parse("lb.example.net").unwrap())
        );
    }

    #[test]
    fn claim_splits_targets_by_type() {
        let claim = Claim {
            resource: ResourceRef {
                kind: ResourceKind::Ingress,
                namespace: "default".into(),
                name: "web".into(),
            },
            created: None,
            names: vec![DnsName::parse("www.example.com").unwrap()],
            targets: vec![
                Target::parse("192.0.2.1").unwrap(),
                Target::parse("2001:db8::1").unwrap(),
                Target::parse("lb.example.net").unwrap(),
            ],
            ttl: Some(60),
            set_identifier: None,
            properties: Properties::new(),
            records: Vec::new(),
            generation: None,
        };
        let endpoints = claim.endpoints();
        let types: Vec<_> = endpoints.iter().map(|e| e.record_type.clone()).collect();
        assert_eq!(types, [RecordType::A, RecordType::Aaaa, RecordType::Cname]);
        assert!(endpoints.iter().all(|e| e.ttl == Some(60)));
        assert_eq!(endpoints[0].resource(), Some("ingress/default/web"));
    }

    #[test]
    fn huge_values_are_shortened() {
        let short = shorten(&"x".repeat(10_000));
        assert!(short.len() < 250);
        assert!(short.ends_with("(10000 bytes)"));
    }
}

#[cfg(test)]
mod conversion_tests;
