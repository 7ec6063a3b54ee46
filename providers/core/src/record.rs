//! The record model: an endpoint is one RRset (name, type, set identifier) with its targets.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use serde::{Serialize, Serializer};

use crate::name::DnsName;

/// A DNS record type. The common ones have variants; anything else is kept by its mnemonic.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RecordType {
    /// IPv4 address.
    A,
    /// IPv6 address.
    Aaaa,
    /// Canonical name (alias).
    Cname,
    /// Text; zonesync's ownership markers are TXT records.
    Txt,
    /// Name server.
    Ns,
    /// Mail exchange.
    Mx,
    /// Service locator.
    Srv,
    /// Certification authority authorisation.
    Caa,
    /// Pointer (reverse DNS).
    Ptr,
    /// Start of authority.
    Soa,
    /// Any other type, by its upper-case mnemonic (`NAPTR`, `TYPE65534`, …).
    Other(Box<str>),
}

impl RecordType {
    /// The upper-case mnemonic (`A`, `AAAA`, `CNAME`, …).
    pub fn as_str(&self) -> &str {
        match self {
            RecordType::A => "A",
            RecordType::Aaaa => "AAAA",
            RecordType::Cname => "CNAME",
            RecordType::Txt => "TXT",
            RecordType::Ns => "NS",
            RecordType::Mx => "MX",
            RecordType::Srv => "SRV",
            RecordType::Caa => "CAA",
            RecordType::Ptr => "PTR",
            RecordType::Soa => "SOA",
            RecordType::Other(other) => other,
        }
    }

    /// True for types whose targets are compared case-sensitively (text data).
    pub fn has_case_sensitive_targets(&self) -> bool {
        matches!(
            self,
            RecordType::Txt | RecordType::Caa | RecordType::Other(_)
        )
    }
}

/// Returned when a record type mnemonic is not a valid token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a DNS record type")]
pub struct InvalidRecordType(pub String);

impl FromStr for RecordType {
    type Err = InvalidRecordType;

    /// Parses a mnemonic case-insensitively; fails on an empty string or one that is not
    /// letters and digits.
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let upper = input.trim().to_ascii_uppercase();
        Ok(match upper.as_str() {
            "A" => RecordType::A,
            "AAAA" => RecordType::Aaaa,
            "CNAME" => RecordType::Cname,
            "TXT" => RecordType::Txt,
            "NS" => RecordType::Ns,
            "MX" => RecordType::Mx,
            "SRV" => RecordType::Srv,
            "CAA" => RecordType::Caa,
            "PTR" => RecordType::Ptr,
            "SOA" => RecordType::Soa,
            "" => return Err(InvalidRecordType(input.to_string())),
            other if other.chars().all(|c| c.is_ascii_alphanumeric()) => {
                RecordType::Other(other.into())
            }
            _ => return Err(InvalidRecordType(input.to_string())),
        })
    }
}

impl fmt::Display for RecordType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for RecordType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for RecordType {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// The value set of an RRset, normalised so that two equal sets compare equal: sorted,
/// without duplicates, addresses in canonical form, host names lower-case without trailing dot.
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Targets(Vec<String>);

impl Targets {
    /// Normalises `values` for a record of type `record_type`.
    pub fn new<I, S>(record_type: &RecordType, values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut targets: Vec<String> = values
            .into_iter()
            .map(|value| normalise_target(record_type, value.as_ref()))
            .collect();
        targets.sort();
        targets.dedup();
        Self(targets)
    }

    /// The values in sorted order.
    pub fn as_slice(&self) -> &[String] {
        &self.0
    }

    /// Iterates over the values in sorted order.
    pub fn iter(&self) -> std::slice::Iter<'_, String> {
        self.0.iter()
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there is no value.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Targets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(&self.0).finish()
    }
}

impl<'a> IntoIterator for &'a Targets {
    type Item = &'a String;
    type IntoIter = std::slice::Iter<'a, String>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

fn normalise_target(record_type: &RecordType, value: &str) -> String {
    // Text data is taken as it is: spaces are part of a TXT string.
    if record_type.has_case_sensitive_targets() {
        return value.to_string();
    }
    let value = value.trim();
    match record_type {
        RecordType::A => value
            .parse::<Ipv4Addr>()
            .map(|ip| ip.to_string())
            .unwrap_or_else(|_| value.to_string()),
        RecordType::Aaaa => value
            .parse::<Ipv6Addr>()
            .map(|ip| ip.to_string())
            .unwrap_or_else(|_| value.to_ascii_lowercase()),
        // A bare name: lower-case, without the trailing dot (the root stays ".").
        RecordType::Cname | RecordType::Ns | RecordType::Ptr => {
            strip_name_dot(&value.to_ascii_lowercase())
        }
        // Fields then a name (`10 mail.example.com.`, `0 5 5060 sip.example.com.`).
        RecordType::Mx | RecordType::Srv => {
            let lower = value.to_ascii_lowercase();
            match lower.rsplit_once(' ') {
                Some((fields, name)) => format!("{fields} {}", strip_name_dot(name)),
                None => lower,
            }
        }
        _ => value.to_string(),
    }
}

fn strip_name_dot(name: &str) -> String {
    match name.strip_suffix('.') {
        Some(stripped) if !stripped.is_empty() => stripped.to_string(),
        _ => name.to_string(),
    }
}

/// Labels attached to an endpoint: `owner` and `resource` for owned records, as in the marker.
///
/// A map kept as a sorted `Vec`: an endpoint has two or three labels, and every desired
/// endpoint, planned change and parsed marker carries its own, so a B-tree node (over 500
/// bytes for two `String` pairs) per endpoint was the largest part of one at scale.
pub type Labels = litemap::LiteMap<String, String>;

/// Provider-specific properties (`alias`, `aws/weight`, …) of an endpoint.
pub type Properties = BTreeMap<String, String>;

/// Label key for the owner id stored in the ownership marker.
pub const LABEL_OWNER: &str = "owner";
/// Label key for the Kubernetes object (`ingress/<namespace>/<name>`) that wanted the record.
pub const LABEL_RESOURCE: &str = "resource";

/// The identity of an RRset: what a DNS provider treats as one record set.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct RecordKey {
    /// Owner name.
    pub name: DnsName,
    /// Record type.
    pub record_type: RecordType,
    /// Routing-policy set identifier (Route53 weighted, latency, …), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub set_identifier: Option<String>,
}

impl fmt::Display for RecordKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.name, self.record_type)?;
        if let Some(set_identifier) = &self.set_identifier {
            write!(f, " [{set_identifier}]")?;
        }
        Ok(())
    }
}

/// One RRset: a name, a type, its targets, and what zonesync knows about it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Endpoint {
    /// Owner name.
    pub name: DnsName,
    /// Record type.
    pub record_type: RecordType,
    /// The values.
    pub targets: Targets,
    /// TTL in seconds; `None` means "not configured" (the provider's default applies, and a
    /// differing TTL on an existing record is left alone).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttl: Option<u32>,
    /// Routing-policy set identifier, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub set_identifier: Option<String>,
    /// Ownership labels (`owner`, `resource`).
    #[serde(skip_serializing_if = "Labels::is_empty")]
    pub labels: Labels,
    /// Provider-specific properties.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub properties: Properties,
}

impl Endpoint {
    /// An endpoint with normalised `targets` and nothing else set.
    pub fn new<I, S>(name: DnsName, record_type: RecordType, targets: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let targets = Targets::new(&record_type, targets);
        Self {
            name,
            record_type,
            targets,
            ttl: None,
            set_identifier: None,
            labels: Labels::new(),
            properties: Properties::new(),
        }
    }

    /// Sets the TTL.
    #[must_use]
    pub fn with_ttl(mut self, ttl: u32) -> Self {
        self.ttl = Some(ttl);
        self
    }

    /// Sets the routing-policy set identifier.
    #[must_use]
    pub fn with_set_identifier(mut self, set_identifier: impl Into<String>) -> Self {
        self.set_identifier = Some(set_identifier.into());
        self
    }

    /// Adds one label.
    #[must_use]
    pub fn with_label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.labels.insert(key.into(), value.into());
        self
    }

    /// Adds one provider-specific property.
    #[must_use]
    pub fn with_property(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.properties.insert(key.into(), value.into());
        self
    }

    /// The RRset identity.
    pub fn key(&self) -> RecordKey {
        RecordKey {
            name: self.name.clone(),
            record_type: self.record_type.clone(),
            set_identifier: self.set_identifier.clone(),
        }
    }

    /// The `owner` label, if any.
    pub fn owner(&self) -> Option<&str> {
        self.labels.get(LABEL_OWNER).map(String::as_str)
    }

    /// The `resource` label (`ingress/<namespace>/<name>`), if any.
    pub fn resource(&self) -> Option<&str> {
        self.labels.get(LABEL_RESOURCE).map(String::as_str)
    }

    /// True when the `alias` property says this record is a provider alias (Route53 ALIAS).
    pub fn is_alias(&self) -> bool {
        self.properties.get("alias").is_some_and(|v| v == "true")
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.key(), self.targets.as_slice().join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> DnsName {
        DnsName::parse(s).unwrap()
    }

    #[test]
    fn targets_are_order_and_case_insensitive_for_names() {
        let a = Targets::new(&RecordType::Cname, ["LB.Example.net.", "lb.example.net"]);
        let b = Targets::new(&RecordType::Cname, ["lb.example.net"]);
        assert_eq!(a, b);
        let ips = Targets::new(&RecordType::A, ["192.0.2.2", " 192.0.2.1", "192.0.2.2"]);
        assert_eq!(ips.as_slice(), ["192.0.2.1", "192.0.2.2"]);
    }

    #[test]
    fn ipv6_targets_are_canonical() {
        let targets = Targets::new(&RecordType::Aaaa, ["2001:DB8:0:0::1"]);
        assert_eq!(targets.as_slice(), ["2001:db8::1"]);
    }

    #[test]
    fn txt_targets_keep_case_and_spaces() {
        let targets = Targets::new(&RecordType::Txt, ["Hello World.", "  padded  "]);
        assert_eq!(targets.as_slice(), ["  padded  ", "Hello World."]);
    }

    #[test]
    fn root_names_keep_their_dot() {
        let null_mx = Targets::new(&RecordType::Mx, ["0 ."]);
        assert_eq!(null_mx.as_slice(), ["0 ."]);
        let mx = Targets::new(&RecordType::Mx, ["10 Mail.Example.com."]);
        assert_eq!(mx.as_slice(), ["10 mail.example.com"]);
        let srv = Targets::new(&RecordType::Srv, ["0 0 0 ."]);
        assert_eq!(srv.as_slice(), ["0 0 0 ."]);
        let soa = Targets::new(
            &RecordType::Soa,
            ["ns1.example.com. hostmaster.example.com. 1 7200 3600 1209600 300"],
        );
        assert!(soa.as_slice()[0].starts_with("ns1.example.com. "));
    }

    #[test]
    fn record_types_parse_case_insensitively() {
        assert_eq!("aaaa".parse::<RecordType>().unwrap(), RecordType::Aaaa);
        assert_eq!(
            "naptr".parse::<RecordType>().unwrap(),
            RecordType::Other("NAPTR".into())
        );
        assert!("".parse::<RecordType>().is_err());
        assert!("A A".parse::<RecordType>().is_err());
    }

    #[test]
    fn key_display_includes_set_identifier() {
        let endpoint = Endpoint::new(name("www.example.com"), RecordType::A, ["192.0.2.1"])
            .with_set_identifier("eu");
        assert_eq!(endpoint.key().to_string(), "www.example.com A [eu]");
    }
}
