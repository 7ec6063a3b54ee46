//! DNSEndpoint (`externaldns.k8s.io/v1alpha1`, external-dns's CRD) → claim: each entry of
//! `spec.endpoints[]` asks for one record set as written, of any type in
//! `--managed-record-types`.
//!
//! Targets are checked per type before anything is planned: A and AAAA must be addresses of
//! their family, MX `<preference> <host>`, SRV `<priority> <weight> <port> <host>`, NAPTR must
//! end with a dot, other non-text types must not (a CNAME may), a CNAME holds one target. A bad
//! entry is skipped with a message naming it; the object's other entries are planned.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::{Deserialize, Serialize};
use zonesync_core::{DnsName, Endpoint, LABEL_OWNER, LABEL_RESOURCE, Properties, RecordType};

use super::SourceConfig;
use super::annotations::{MAX_TTL, too_many_names};
use super::{Claim, ObjectOutcome, ResourceKind, ResourceRef, SkipScope, SkippedInput};

/// external-dns's DNSEndpoint `apiVersion`, the default of `--crd-source-apiversion`.
pub const DEFAULT_API_VERSION: &str = "externaldns.k8s.io/v1alpha1";
/// external-dns's kind, the default of `--crd-source-kind`.
pub const DEFAULT_KIND: &str = "DNSEndpoint";

/// A DNSEndpoint: what DNS planning reads of it.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
pub struct DnsEndpoint {
    /// Name, namespace, labels, annotations, generation.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// The records.
    #[serde(default)]
    pub spec: DnsEndpointSpec,
}

/// `spec` of a DNSEndpoint.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
pub struct DnsEndpointSpec {
    /// One record set each.
    #[serde(default, deserialize_with = "null_as_default")]
    pub endpoints: Vec<EndpointSpec>,
}

/// `spec.endpoints[]`: one record set, as external-dns's `Endpoint` serialises.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EndpointSpec {
    /// Owner name.
    #[serde(default)]
    pub dns_name: String,
    /// Values.
    #[serde(default, deserialize_with = "null_as_default")]
    pub targets: Vec<String>,
    /// Record type (`A`, `TXT`, `MX`, …).
    #[serde(default)]
    pub record_type: String,
    /// Routing-policy set identifier.
    #[serde(default)]
    pub set_identifier: String,
    /// TTL in seconds; 0 or absent = the provider's default.
    #[serde(default, rename = "recordTTL")]
    pub record_ttl: i64,
    /// Labels stored with the record's ownership marker.
    #[serde(default, deserialize_with = "null_as_default")]
    pub labels: BTreeMap<String, String>,
    /// Provider-specific properties.
    #[serde(default, deserialize_with = "null_as_default")]
    pub provider_specific: Vec<ProviderSpecificProperty>,
}

/// `providerSpecific[]` of an endpoint.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct ProviderSpecificProperty {
    /// Name (`alias`, `aws/weight`, …).
    #[serde(default)]
    pub name: String,
    /// Value.
    #[serde(default)]
    pub value: String,
}

fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

impl DnsEndpoint {
    /// Decodes a DNSEndpoint from any object of the configured kind.
    ///
    /// Fails when `spec` does not have the DNSEndpoint shape, with serde's message.
    pub fn from_value(value: serde_json::Value) -> Result<Self, serde_json::Error> {
        serde_json::from_value(value)
    }

    /// The object as `crd/<namespace>/<name>`.
    pub fn resource(&self) -> ResourceRef {
        ResourceRef {
            kind: ResourceKind::DnsEndpoint,
            namespace: self
                .metadata
                .namespace
                .clone()
                .unwrap_or_else(|| "default".into()),
            name: self.metadata.name.clone().unwrap_or_default(),
        }
    }
}

/// Converts one DNSEndpoint into what it asks for.
pub fn convert(object: &DnsEndpoint, config: &SourceConfig) -> ObjectOutcome {
    let meta = &object.metadata;
    let resource = object.resource();
    let empty = BTreeMap::new();
    let annotations = meta.annotations.as_ref().unwrap_or(&empty);
    let labels = meta.labels.as_ref().unwrap_or(&empty);
    let controller_ok = config
        .annotation_prefixes
        .get(annotations, "controller")
        .is_none_or(|(_, value)| value == "dns-controller");
    let selected = controller_ok && config.selects(&resource.namespace, labels, annotations);
    if !selected {
        return ObjectOutcome::not_selected(resource);
    }

    let mut skipped = Vec::new();
    let mut records: Vec<Endpoint> = Vec::new();
    let mut names: Vec<DnsName> = Vec::new();
    for (index, entry) in object.spec.endpoints.iter().enumerate() {
        let Some(endpoint) = entry_endpoint(&resource, index, entry, config, &mut skipped) else {
            continue;
        };
        if records.iter().any(|r| r.key() == endpoint.key()) {
            skipped.push(SkippedInput::new(
                &resource,
                format!("spec.endpoints[{index}]"),
                &format!("{} {}", entry.dns_name, entry.record_type),
                "an earlier entry already declares this name, type and set identifier",
                SkipScope::Hostname,
            ));
            continue;
        }
        if !names.contains(&endpoint.name) {
            names.push(endpoint.name.clone());
        }
        records.push(endpoint);
    }
    if let Some(outcome) = too_many_names(&resource, &names) {
        return outcome;
    }
    ObjectOutcome {
        claim: Some(Claim {
            resource: resource.clone(),
            created: meta.creation_timestamp.as_ref().map(|t| t.0.as_second()),
            names,
            targets: Vec::new(),
            ttl: None,
            set_identifier: None,
            properties: Properties::new(),
            records,
            generation: meta.generation,
        }),
        resource,
        selected: true,
        skipped,
    }
}

/// One entry as an endpoint; `None` (with the reason in `skipped`) when it cannot be used.
fn entry_endpoint(
    resource: &ResourceRef,
    index: usize,
    entry: &EndpointSpec,
    config: &SourceConfig,
    skipped: &mut Vec<SkippedInput>,
) -> Option<Endpoint> {
    let field = |name: &str| format!("spec.endpoints[{index}].{name}");
    let mut skip = |field: String, value: &str, reason: String| {
        skipped.push(SkippedInput::new(
            resource,
            field,
            value,
            reason,
            SkipScope::Hostname,
        ));
    };
    let name = match DnsName::parse(&entry.dns_name) {
        Ok(name) => name,
        Err(error) => {
            skip(
                field("dnsName"),
                &entry.dns_name,
                format!("invalid DNS name: {error}"),
            );
            return None;
        }
    };
    let record_type: RecordType = match entry.record_type.parse() {
        Ok(RecordType::Soa) => {
            skip(
                field("recordType"),
                &entry.record_type,
                "zonesync never manages SOA records".into(),
            );
            return None;
        }
        Ok(record_type) => record_type,
        Err(_) => {
            skip(
                field("recordType"),
                &entry.record_type,
                "not a DNS record type".into(),
            );
            return None;
        }
    };
    if !config.managed_types.is_empty() && !config.managed_types.contains(&record_type) {
        let managed: Vec<&str> = config
            .managed_types
            .iter()
            .map(RecordType::as_str)
            .collect();
        skip(
            field("recordType"),
            &entry.record_type,
            format!(
                "not in --managed-record-types ({}); add it there to manage it",
                managed.join(",")
            ),
        );
        return None;
    }
    if entry.targets.is_empty() {
        skip(
            field("targets"),
            "",
            "an entry needs at least one target".into(),
        );
        return None;
    }
    if record_type == RecordType::Cname && entry.targets.len() > 1 {
        skip(
            field("targets"),
            &entry.targets.join(","),
            "a CNAME holds one target".into(),
        );
        return None;
    }
    for (target_index, target) in entry.targets.iter().enumerate() {
        if let Err(reason) = check_target(&record_type, target) {
            skip(field(&format!("targets[{target_index}]")), target, reason);
            return None;
        }
    }
    let ttl = match entry.record_ttl {
        ttl if ttl <= 0 => None,
        ttl if ttl as u64 > MAX_TTL => {
            skip(
                field("recordTTL"),
                &ttl.to_string(),
                format!("a TTL must be between 1 and {MAX_TTL} seconds"),
            );
            return None;
        }
        ttl => u32::try_from(ttl).ok(),
    };
    let set_identifier = entry.set_identifier.trim();
    if set_identifier.len() > 128 || set_identifier.chars().any(char::is_control) {
        skip(
            field("setIdentifier"),
            set_identifier,
            "a set identifier must be at most 128 printable characters".into(),
        );
        return None;
    }
    let mut endpoint = Endpoint::new(name, record_type, &entry.targets);
    endpoint.ttl = ttl;
    endpoint.set_identifier = Some(set_identifier.to_string()).filter(|s| !s.is_empty());
    for property in &entry.provider_specific {
        if !property.name.is_empty() {
            endpoint
                .properties
                .insert(property.name.clone(), property.value.clone());
        }
    }
    for (key, value) in &entry.labels {
        // Ownership labels are zonesync's to write.
        if key != LABEL_OWNER && key != LABEL_RESOURCE {
            endpoint.labels.insert(key.clone(), value.clone());
        }
    }
    Some(endpoint)
}

/// Checks one target of a record of `record_type`, like external-dns (plus address and field
/// checks for the types whose layout is fixed).
fn check_target(record_type: &RecordType, target: &str) -> Result<(), String> {
    let ends_with_dot = target.ends_with('.');
    match record_type {
        RecordType::A => target
            .parse::<Ipv4Addr>()
            .map(|_| ())
            .map_err(|_| "an A target must be an IPv4 address".to_string()),
        RecordType::Aaaa => target
            .parse::<Ipv6Addr>()
            .map(|_| ())
            .map_err(|_| "an AAAA target must be an IPv6 address".to_string()),
        RecordType::Cname => DnsName::parse(target)
            .map(|_| ())
            .map_err(|e| format!("a CNAME target must be a host name: {e}")),
        RecordType::Txt => Ok(()),
        RecordType::Mx => {
            let fields: Vec<&str> = target.split_whitespace().collect();
            match fields.as_slice() {
                [preference, host]
                    if preference.parse::<u16>().is_ok() && DnsName::parse(host).is_ok() =>
                {
                    Ok(())
                }
                _ => Err("an MX target is \"<preference> <host>\" (10 mail.example.com)".into()),
            }
        }
        RecordType::Srv => {
            let fields: Vec<&str> = target.split_whitespace().collect();
            match fields.as_slice() {
                [priority, weight, port, host]
                    if [priority, weight, port]
                        .iter()
                        .all(|f| f.parse::<u16>().is_ok())
                        && (*host == "." || DnsName::parse(host).is_ok()) =>
                {
                    Ok(())
                }
                _ => Err(
                    "an SRV target is \"<priority> <weight> <port> <host>\" (0 5 5060 sip.example.com)"
                        .into(),
                ),
            }
        }
        RecordType::Other(other) if &**other == "NAPTR" => {
            if ends_with_dot {
                Ok(())
            } else {
                Err("a NAPTR target must end with a dot".into())
            }
        }
        RecordType::Other(other) if &**other == "DNAME" => Ok(()),
        _ if ends_with_dot => Err(format!("a {record_type} target must not end with a dot")),
        _ => Ok(()),
    }
}

/// Decodes and converts one object of the DNSEndpoint kind. An object whose fields have the
/// wrong shape is skipped whole with serde's message, and its records are kept.
pub fn convert_value(value: serde_json::Value, config: &SourceConfig) -> ObjectOutcome {
    let name = |field: &str| {
        value
            .pointer(&format!("/metadata/{field}"))
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let resource = ResourceRef {
        kind: ResourceKind::DnsEndpoint,
        namespace: Some(name("namespace"))
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "default".into()),
        name: name("name"),
    };
    match DnsEndpoint::from_value(value) {
        Ok(object) => convert(&object, config),
        Err(error) => ObjectOutcome::skipped_whole(
            &resource,
            "spec",
            "",
            format!("not a DNSEndpoint: {error}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(endpoints: serde_json::Value) -> DnsEndpoint {
        DnsEndpoint::from_value(serde_json::json!({
            "apiVersion": DEFAULT_API_VERSION,
            "kind": DEFAULT_KIND,
            "metadata": {"name": "records", "namespace": "dns"},
            "spec": {"endpoints": endpoints},
        }))
        .unwrap()
    }

    fn config(types: &[&str]) -> SourceConfig {
        SourceConfig {
            managed_types: types.iter().map(|t| t.parse().unwrap()).collect(),
            ..SourceConfig::default()
        }
    }

    fn planned(outcome: &ObjectOutcome) -> Vec<String> {
        outcome
            .claim
            .as_ref()
            .unwrap()
            .endpoints()
            .iter()
            .map(|e| {
                format!(
                    "{} {} {} ttl={:?} set={:?} resource={}",
                    e.name,
                    e.record_type,
                    e.targets.as_slice().join("|"),
                    e.ttl,
                    e.set_identifier,
                    e.resource().unwrap_or("")
                )
            })
            .collect()
    }

    #[test]
    fn every_entry_becomes_a_record_set_with_its_settings() {
        let outcome = convert(
            &object(serde_json::json!([
                {"dnsName": "www.example.com", "recordType": "A", "targets": ["192.0.2.1", "192.0.2.2"],
                 "recordTTL": 60, "setIdentifier": "blue",
                 "providerSpecific": [{"name": "aws/weight", "value": "10"}], "labels": {"team": "web"}},
                {"dnsName": "example.com", "recordType": "MX", "targets": ["10 mail.example.com"]},
                {"dnsName": "_sip._tcp.example.com", "recordType": "SRV", "targets": ["0 5 5060 sip.example.com"]},
                {"dnsName": "example.com", "recordType": "TXT", "targets": ["v=spf1 -all"]},
            ])),
            &config(&["A", "AAAA", "CNAME", "TXT", "MX", "SRV"]),
        );
        assert!(outcome.skipped.is_empty(), "{:?}", outcome.skipped);
        assert_eq!(
            planned(&outcome),
            [
                "www.example.com A 192.0.2.1|192.0.2.2 ttl=Some(60) set=Some(\"blue\") resource=crd/dns/records",
                "example.com MX 10 mail.example.com ttl=None set=None resource=crd/dns/records",
                "_sip._tcp.example.com SRV 0 5 5060 sip.example.com ttl=None set=None resource=crd/dns/records",
                "example.com TXT v=spf1 -all ttl=None set=None resource=crd/dns/records",
            ]
        );
        let claim = outcome.claim.as_ref().unwrap();
        assert_eq!(claim.names.len(), 3);
        assert!(!claim.is_targetless());
        let first = &claim.endpoints()[0];
        assert_eq!(first.properties.get("aws/weight").unwrap(), "10");
        assert_eq!(first.labels.get("team").unwrap(), "web");
    }

    /// Each bad entry is skipped with a message naming its field and value; the good one stays.
    #[test]
    fn bad_entries_are_skipped_one_by_one() {
        let cases: &[(serde_json::Value, &str, &str)] = &[
            (
                serde_json::json!({"dnsName": "a.example.com", "recordType": "A", "targets": ["192.0.2.1."]}),
                "spec.endpoints[0].targets[0]",
                "IPv4",
            ),
            (
                serde_json::json!({"dnsName": "a.example.com", "recordType": "AAAA", "targets": ["192.0.2.1"]}),
                "spec.endpoints[0].targets[0]",
                "IPv6",
            ),
            (
                serde_json::json!({"dnsName": "a.example.com", "recordType": "NAPTR", "targets": ["100 10 \"u\" \"E2U+sip\" \"!^.*$!sip:info@example.com!\" ."]}),
                "",
                "",
            ),
            (
                serde_json::json!({"dnsName": "a.example.com", "recordType": "NAPTR", "targets": ["100 10 \"u\" \"E2U+sip\" \"\" sip.example.com"]}),
                "spec.endpoints[0].targets[0]",
                "end with a dot",
            ),
            (
                serde_json::json!({"dnsName": "a.example.com", "recordType": "PTR", "targets": ["host.example.com."]}),
                "spec.endpoints[0].targets[0]",
                "must not end with a dot",
            ),
            (
                serde_json::json!({"dnsName": "a.example.com", "recordType": "CNAME", "targets": ["lb.example.net."]}),
                "",
                "",
            ),
            (
                serde_json::json!({"dnsName": "a.example.com", "recordType": "CNAME", "targets": ["a.example.net", "b.example.net"]}),
                "spec.endpoints[0].targets",
                "one target",
            ),
            (
                serde_json::json!({"dnsName": "a.example.com", "recordType": "MX", "targets": ["mail.example.com"]}),
                "spec.endpoints[0].targets[0]",
                "preference",
            ),
            (
                serde_json::json!({"dnsName": "a.example.com", "recordType": "SRV", "targets": ["5060 sip.example.com"]}),
                "spec.endpoints[0].targets[0]",
                "priority",
            ),
            (
                serde_json::json!({"dnsName": "a.example.com", "recordType": "A", "targets": []}),
                "spec.endpoints[0].targets",
                "at least one",
            ),
            (
                serde_json::json!({"dnsName": "bad name", "recordType": "A", "targets": ["192.0.2.1"]}),
                "spec.endpoints[0].dnsName",
                "invalid DNS name",
            ),
            (
                serde_json::json!({"dnsName": "a.example.com", "recordType": "HINFO", "targets": ["x"]}),
                "spec.endpoints[0].recordType",
                "--managed-record-types",
            ),
            (
                serde_json::json!({"dnsName": "a.example.com", "recordType": "SOA", "targets": ["x"]}),
                "spec.endpoints[0].recordType",
                "SOA",
            ),
            (
                serde_json::json!({"dnsName": "a.example.com", "recordType": "", "targets": ["x"]}),
                "spec.endpoints[0].recordType",
                "not a DNS record type",
            ),
        ];
        let types = config(&[
            "A", "AAAA", "CNAME", "TXT", "MX", "SRV", "NAPTR", "PTR", "CAA", "NS",
        ]);
        for (entry, field, reason) in cases {
            let good = serde_json::json!({"dnsName": "ok.example.com", "recordType": "TXT", "targets": ["fine"]});
            let outcome = convert(&object(serde_json::json!([entry, good])), &types);
            let claim = outcome.claim.as_ref().unwrap();
            assert!(
                claim.names.iter().any(|n| n.as_str() == "ok.example.com"),
                "{entry}: the good entry must stay"
            );
            if field.is_empty() {
                assert!(outcome.skipped.is_empty(), "{entry}: {:?}", outcome.skipped);
                assert_eq!(claim.records.len(), 2, "{entry}");
                continue;
            }
            assert_eq!(outcome.skipped.len(), 1, "{entry}: {:?}", outcome.skipped);
            let skip = &outcome.skipped[0];
            assert_eq!(skip.resource, "crd/dns/records");
            assert_eq!(skip.field, *field, "{entry}");
            assert!(skip.reason.contains(reason), "{entry}: {}", skip.reason);
            assert_eq!(claim.records.len(), 1, "{entry}");
        }
    }

    #[test]
    fn duplicate_entries_keep_the_first() {
        let outcome = convert(
            &object(serde_json::json!([
                {"dnsName": "a.example.com", "recordType": "A", "targets": ["192.0.2.1"]},
                {"dnsName": "A.example.com.", "recordType": "a", "targets": ["192.0.2.2"]},
            ])),
            &config(&["A"]),
        );
        assert_eq!(outcome.skipped.len(), 1);
        assert_eq!(outcome.skipped[0].field, "spec.endpoints[1]");
        assert_eq!(outcome.claim.unwrap().records.len(), 1);
    }

    #[test]
    fn filters_and_controller_annotation_apply() {
        let mut endpoint = object(serde_json::json!([
            {"dnsName": "a.example.com", "recordType": "A", "targets": ["192.0.2.1"]},
        ]));
        let other = SourceConfig {
            namespace: Some("elsewhere".into()),
            ..SourceConfig::default()
        };
        assert!(!convert(&endpoint, &other).selected);
        endpoint.metadata.annotations = Some(
            [(
                "external-dns.alpha.kubernetes.io/controller".to_string(),
                "someone-else".to_string(),
            )]
            .into(),
        );
        assert!(!convert(&endpoint, &SourceConfig::default()).selected);
    }

    #[test]
    fn an_emptied_object_asks_for_nothing_and_is_not_protected() {
        let outcome = convert(&object(serde_json::json!([])), &SourceConfig::default());
        let claim = outcome.claim.as_ref().unwrap();
        assert!(claim.names.is_empty());
        assert!(!claim.is_targetless(), "its old records go");
    }
}
