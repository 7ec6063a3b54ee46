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

/// A string field; `null` and absent are empty.
pub(crate) fn string_field(object: &Map<String, Value>, name: &str) -> Result<String, String> {
    match field(object, name) {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(other) => Err(format!("{name} is {}, not a string", kind(other))),
    }
}

/// A list-of-strings field; `null` and absent are empty.
pub(crate) fn string_list_field(
    object: &Map<String, Value>,
    name: &str,
) -> Result<Vec<String>, String> {
    match field(object, name) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| match item {
                Value::String(s) => Ok(s.clone()),
                Value::Null => Ok(String::new()),
                other => Err(format!("{name} holds {}, not a string", kind(other))),
            })
            .collect(),
        Some(other) => Err(format!("{name} is {}, not a list", kind(other))),
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
pub(crate) fn from_wire(value: &Value) -> Result<Endpoint, String> {
    let Value::Object(object) = value else {
        return Err(format!("an endpoint is {}, not an object", kind(value)));
    };
    let name = string_field(object, "dnsName")?;
    if name.trim().is_empty() {
        return Err("an endpoint has no dnsName".to_string());
    }
    let record_type_text = string_field(object, "recordType")?;
    let record_type: RecordType = record_type_text
        .parse()
        .map_err(|_| format!("{name}: recordType {record_type_text:?} is not a record type"))?;
    let targets: Vec<String> = string_list_field(object, "targets")
        .map_err(|e| format!("{name}: {e}"))?
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
    let set_identifier =
        string_field(object, "setIdentifier").map_err(|e| format!("{name}: {e}"))?;
    if !set_identifier.is_empty() {
        endpoint.set_identifier = Some(set_identifier);
    }
    match field(object, "recordTTL") {
        None | Some(Value::Null) => {}
        Some(Value::Number(number)) => {
            let ttl = number
                .as_i64()
                .filter(|ttl| (0..=i64::from(i32::MAX)).contains(ttl))
                .ok_or_else(|| format!("{name}: recordTTL {number} is not a TTL"))?;
            if ttl > 0 {
                endpoint.ttl = u32::try_from(ttl).ok();
            }
        }
        Some(other) => {
            return Err(format!(
                "{name}: recordTTL is {}, not a number",
                kind(other)
            ));
        }
    }
    endpoint.properties = properties(object).map_err(|e| format!("{name}: {e}"))?;
    Ok(endpoint)
}

fn properties(object: &Map<String, Value>) -> Result<Properties, String> {
    let mut properties = Properties::new();
    match field(object, "providerSpecific") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for item in items {
                let Value::Object(property) = item else {
                    return Err(format!(
                        "providerSpecific holds {}, not an object",
                        kind(item)
                    ));
                };
                let name = string_field(property, "name")?;
                let value = string_field(property, "value")?;
                if !name.is_empty() {
                    properties.insert(name, value);
                }
            }
        }
        Some(other) => return Err(format!("providerSpecific is {}, not a list", kind(other))),
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
pub(crate) fn endpoints_from_wire(value: &Value) -> Result<Vec<Endpoint>, String> {
    match value {
        Value::Null => Ok(Vec::new()),
        Value::Array(items) => items.iter().map(from_wire).collect(),
        other => Err(format!(
            "the answer is {}, not a list of endpoints",
            kind(other)
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
        let error = from_wire(&value).unwrap_err();
        assert!(error.contains("www.example.com: recordTTL"), "{error}");
        let value = json!({"recordType": "A"});
        assert!(from_wire(&value).unwrap_err().contains("no dnsName"));
    }
}
