//! The protocol's JSON: external-dns's `endpoint.Endpoint`, written the way Go writes it
//! (`omitempty`) and read the way Go reads it (keys case-insensitive, unknown keys ignored).

use serde_json::{Map, Value, json};
use zonesync_core::{DnsName, Endpoint, Properties, RecordType};

/// The value external-dns's TXT registry stores in an ownership marker begins with this.
const HERITAGE_PREFIX: &str = "heritage=";

/// The field `name` of an object as Go's decoder finds it: the exact key, else a key equal to
/// it ignoring case.
pub(crate) fn field<'v>(object: &'v Map<String, Value>, name: &str) -> Option<&'v Value> {
    object.get(name).or_else(|| {
        object
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value)
    })
}

/// JSON that is not what the protocol specifies. Messages name the field and, inside an
/// endpoint, the endpoint.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// A value of another JSON type than the protocol's.
    #[error("{what} is {found}, not {expected}")]
    WrongType {
        /// The field or value (`recordTTL`, `an endpoint`, `the answer`).
        what: String,
        /// The JSON type found (`a number` …).
        found: &'static str,
        /// The type the protocol specifies.
        expected: &'static str,
    },
    /// A list holding an item of another JSON type than the protocol's.
    #[error("{field} holds {found}, not {expected}")]
    WrongItem {
        /// The list field.
        field: String,
        /// The JSON type found.
        found: &'static str,
        /// The type the protocol specifies.
        expected: &'static str,
    },
    /// An endpoint without a `dnsName`.
    #[error("an endpoint has no dnsName")]
    NoName,
    /// A value of the right JSON type that is not a valid value of its field.
    #[error("{field} {value} is not {expected}")]
    BadValue {
        /// The field.
        field: &'static str,
        /// Its value, as JSON.
        value: String,
        /// What it must be.
        expected: &'static str,
    },
    /// A problem inside the endpoint named `name`.
    #[error("{name}: {source}")]
    InEndpoint {
        /// The endpoint's `dnsName`.
        name: String,
        /// The problem.
        #[source]
        source: Box<WireError>,
    },
}

impl WireError {
    fn wrong_type(what: &str, found: &Value, expected: &'static str) -> Self {
        WireError::WrongType {
            what: what.to_string(),
            found: kind(found),
            expected,
        }
    }

    fn in_endpoint(name: &str) -> impl FnOnce(WireError) -> WireError + '_ {
        move |source| WireError::InEndpoint {
            name: name.to_string(),
            source: Box::new(source),
        }
    }
}

/// A string field; `null` and absent are empty.
pub(crate) fn string_field(object: &Map<String, Value>, name: &str) -> Result<String, WireError> {
    match field(object, name) {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(other) => Err(WireError::wrong_type(name, other, "a string")),
    }
}

/// A list-of-strings field; `null` and absent are empty.
pub(crate) fn string_list_field(
    object: &Map<String, Value>,
    name: &str,
) -> Result<Vec<String>, WireError> {
    match field(object, name) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| match item {
                Value::String(s) => Ok(s.clone()),
                Value::Null => Ok(String::new()),
                other => Err(WireError::WrongItem {
                    field: name.to_string(),
                    found: kind(other),
                    expected: "a string",
                }),
            })
            .collect(),
        Some(other) => Err(WireError::wrong_type(name, other, "a list")),
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// The wire form of `endpoint`: TXT ownership markers get the double quotes external-dns
/// stores them with; properties become `providerSpecific` entries.
pub(crate) fn to_wire(endpoint: &Endpoint) -> Value {
    let mut object = Map::new();
    object.insert("dnsName".into(), json!(endpoint.name.as_str()));
    let targets: Vec<String> = endpoint
        .targets
        .iter()
        .map(|target| {
            if endpoint.record_type == RecordType::Txt && target.starts_with(HERITAGE_PREFIX) {
                format!("\"{target}\"")
            } else {
                target.clone()
            }
        })
        .collect();
    if !targets.is_empty() {
        object.insert("targets".into(), json!(targets));
    }
    object.insert("recordType".into(), json!(endpoint.record_type.as_str()));
    if let Some(set_identifier) = endpoint.set_identifier.as_deref().filter(|s| !s.is_empty()) {
        object.insert("setIdentifier".into(), json!(set_identifier));
    }
    if let Some(ttl) = endpoint.ttl.filter(|ttl| *ttl > 0) {
        object.insert("recordTTL".into(), json!(ttl));
    }
    if !endpoint.labels.is_empty() {
        let labels: Map<String, Value> = endpoint
            .labels
            .iter()
            .map(|(key, value)| (key.clone(), json!(value)))
            .collect();
        object.insert("labels".into(), Value::Object(labels));
    }
    if !endpoint.properties.is_empty() {
        let properties: Vec<Value> = endpoint
            .properties
            .iter()
            .map(|(name, value)| json!({ "name": name, "value": value }))
            .collect();
        object.insert("providerSpecific".into(), Value::Array(properties));
    }
    Value::Object(object)
}

/// Reads one endpoint of a `GET /records` or `POST /adjustendpoints` answer.
///
/// Labels are not read: ownership comes from the TXT markers only. A marker's value is taken
/// with or without its double quotes. Fails on a missing name or type, a value of the wrong
/// JSON type, or a TTL outside 0..=2³¹−1; the message names the field.
pub(crate) fn from_wire(value: &Value) -> Result<Endpoint, WireError> {
    let Value::Object(object) = value else {
        return Err(WireError::wrong_type("an endpoint", value, "an object"));
    };
    let name = string_field(object, "dnsName")?;
    if name.trim().is_empty() {
        return Err(WireError::NoName);
    }
    let in_endpoint = || WireError::in_endpoint(&name);
    let record_type_text = string_field(object, "recordType").map_err(in_endpoint())?;
    let record_type: RecordType = record_type_text.parse().map_err(|_| {
        in_endpoint()(WireError::BadValue {
            field: "recordType",
            value: format!("{record_type_text:?}"),
            expected: "a record type",
        })
    })?;
    let targets: Vec<String> = string_list_field(object, "targets")
        .map_err(in_endpoint())?
        .into_iter()
        .map(|target| {
            if record_type == RecordType::Txt {
                unquote_marker(&target)
            } else {
                target
            }
        })
        .collect();
    let mut endpoint = Endpoint::new(DnsName::from_provider(name.trim()), record_type, targets);
    let set_identifier = string_field(object, "setIdentifier").map_err(in_endpoint())?;
    if !set_identifier.is_empty() {
        endpoint.set_identifier = Some(set_identifier);
    }
    match field(object, "recordTTL") {
        None | Some(Value::Null) => {}
        Some(Value::Number(number)) => {
            let ttl = number
                .as_i64()
                .filter(|ttl| (0..=i64::from(i32::MAX)).contains(ttl))
                .ok_or_else(|| {
                    in_endpoint()(WireError::BadValue {
                        field: "recordTTL",
                        value: number.to_string(),
                        expected: "a TTL",
                    })
                })?;
            if ttl > 0 {
                endpoint.ttl = u32::try_from(ttl).ok();
            }
        }
        Some(other) => {
            return Err(in_endpoint()(WireError::wrong_type(
                "recordTTL",
                other,
                "a number",
            )));
        }
    }
    endpoint.properties = properties(object).map_err(in_endpoint())?;
    Ok(endpoint)
}

fn properties(object: &Map<String, Value>) -> Result<Properties, WireError> {
    let mut properties = Properties::new();
    match field(object, "providerSpecific") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for item in items {
                let Value::Object(property) = item else {
                    return Err(WireError::WrongItem {
                        field: "providerSpecific".to_string(),
                        found: kind(item),
                        expected: "an object",
                    });
                };
                let name = string_field(property, "name")?;
                let value = string_field(property, "value")?;
                if !name.is_empty() {
                    properties.insert(name, value);
                }
            }
        }
        Some(other) => return Err(WireError::wrong_type("providerSpecific", other, "a list")),
    }
    Ok(properties)
}

/// A marker value without the double quotes external-dns adds; other TXT values unchanged.
fn unquote_marker(target: &str) -> String {
    match target.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        Some(inner) if inner.starts_with(HERITAGE_PREFIX) => inner.to_string(),
        _ => target.to_string(),
    }
}

/// Reads a JSON array of endpoints.
pub(crate) fn endpoints_from_wire(value: &Value) -> Result<Vec<Endpoint>, WireError> {
    match value {
        Value::Null => Ok(Vec::new()),
        Value::Array(items) => items.iter().map(from_wire).collect(),
        other => Err(WireError::wrong_type(
            "the answer",
            other,
            "a list of endpoints",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> DnsName {
        DnsName::parse(s).unwrap()
    }

    #[test]
    fn markers_travel_quoted_and_are_read_either_way() {
        let marker = Endpoint::new(
            name("a-www.example.com"),
            RecordType::Txt,
            ["heritage=external-dns,external-dns/owner=default"],
        );
        let wire = to_wire(&marker);
        assert_eq!(
            wire["targets"][0],
            "\"heritage=external-dns,external-dns/owner=default\""
        );
        assert_eq!(from_wire(&wire).unwrap(), marker);
        let unquoted = json!({"dnsName": "a-www.example.com", "recordType": "TXT",
            "targets": ["heritage=external-dns,external-dns/owner=default"]});
        assert_eq!(from_wire(&unquoted).unwrap(), marker);
        let other = json!({"dnsName": "x.example.com", "recordType": "TXT", "targets": ["\"v=spf1 -all\""]});
        assert_eq!(
            from_wire(&other).unwrap().targets.as_slice(),
            ["\"v=spf1 -all\""]
        );
    }

    #[test]
    fn keys_are_case_insensitive_and_labels_ignored() {
        let value = json!({"DNSName": "WWW.example.com.", "RecordType": "a", "TARGETS": ["192.0.2.1"],
            "recordttl": 60, "SetIdentifier": "eu", "labels": {"owner": "someone"},
            "ProviderSpecific": [{"Name": "webhook/proxied", "VALUE": "true"}], "extra": 1});
        let endpoint = from_wire(&value).unwrap();
        assert_eq!(endpoint.name.as_str(), "www.example.com");
        assert_eq!(endpoint.record_type, RecordType::A);
        assert_eq!(endpoint.ttl, Some(60));
        assert_eq!(endpoint.set_identifier.as_deref(), Some("eu"));
        assert!(endpoint.labels.is_empty());
        assert_eq!(endpoint.properties["webhook/proxied"], "true");
        let round = from_wire(&to_wire(&endpoint)).unwrap();
        assert_eq!(round, endpoint);
    }

    #[test]
    fn wrong_types_are_named() {
        let value = json!({"dnsName": "www.example.com", "recordType": "A", "recordTTL": "60"});
        let error = from_wire(&value).unwrap_err().to_string();
        assert_eq!(
            error, "www.example.com: recordTTL is a string, not a number",
            "{error}"
        );
        let value = json!({"recordType": "A"});
        assert_eq!(from_wire(&value).unwrap_err(), WireError::NoName);
    }
}
