//! Conversion between Route53 resource record sets and zonesync endpoints, both ways.
//!
//! What [`endpoint_from_record_set`] returns for a record set written by
//! [`record_set_for`] is exactly what [`crate::adjust`] produces for the desired endpoint, so a
//! synced record never shows up as a difference again.

use aws_sdk_route53::error::BuildError;
use aws_sdk_route53::types::{
    AliasTarget, Coordinates, GeoLocation, GeoProximityLocation, ResourceRecord, ResourceRecordSet,
    ResourceRecordSetFailover, ResourceRecordSetRegion, RrType,
};
use zonesync_core::{DnsName, Endpoint, Properties, RecordKey, RecordType};

use crate::config::clean_zone_id;

/// `true` on an A/AAAA endpoint that is a Route53 ALIAS; its single target is the alias DNS name.
pub const ALIAS: &str = "alias";
/// `true`/`false`: EvaluateTargetHealth of an ALIAS record.
pub const EVALUATE_TARGET_HEALTH: &str = "aws/evaluate-target-health";
/// Hosted zone id of the ALIAS target, when it is not the record's own zone.
pub const TARGET_HOSTED_ZONE: &str = "aws/target-hosted-zone";
/// Weighted routing: the weight (0..=255).
pub const WEIGHT: &str = "aws/weight";
/// Latency routing: the AWS region.
pub const REGION: &str = "aws/region";
/// Failover routing: `PRIMARY` or `SECONDARY`.
pub const FAILOVER: &str = "aws/failover";
/// Geolocation routing: continent code.
pub const GEOLOCATION_CONTINENT: &str = "aws/geolocation-continent-code";
/// Geolocation routing: country code (`*` for the default record).
pub const GEOLOCATION_COUNTRY: &str = "aws/geolocation-country-code";
/// Geolocation routing: subdivision (state) code.
pub const GEOLOCATION_SUBDIVISION: &str = "aws/geolocation-subdivision-code";
/// Geoproximity routing: AWS region.
pub const GEOPROXIMITY_REGION: &str = "aws/geoproximity-region";
/// Geoproximity routing: local zone group.
pub const GEOPROXIMITY_LOCAL_ZONE_GROUP: &str = "aws/geoproximity-local-zone-group";
/// Geoproximity routing: `latitude,longitude`.
pub const GEOPROXIMITY_COORDINATES: &str = "aws/geoproximity-coordinates";
/// Geoproximity routing: bias (-99..=99).
pub const GEOPROXIMITY_BIAS: &str = "aws/geoproximity-bias";
/// Multivalue answer routing: `true`.
pub const MULTI_VALUE_ANSWER: &str = "aws/multi-value-answer";
/// Health check id attached to the record.
pub const HEALTH_CHECK_ID: &str = "aws/health-check-id";

/// Every property key this provider understands; others are dropped from desired endpoints.
pub const KNOWN_PROPERTIES: [&str; 15] = [
    ALIAS,
    EVALUATE_TARGET_HEALTH,
    TARGET_HOSTED_ZONE,
    WEIGHT,
    REGION,
    FAILOVER,
    GEOLOCATION_CONTINENT,
    GEOLOCATION_COUNTRY,
    GEOLOCATION_SUBDIVISION,
    GEOPROXIMITY_REGION,
    GEOPROXIMITY_LOCAL_ZONE_GROUP,
    GEOPROXIMITY_COORDINATES,
    GEOPROXIMITY_BIAS,
    MULTI_VALUE_ANSWER,
    HEALTH_CHECK_ID,
];

/// The properties that make a record an ALIAS and only mean something on one.
pub const ALIAS_PROPERTIES: [&str; 3] = [ALIAS, EVALUATE_TARGET_HEALTH, TARGET_HOSTED_ZONE];

/// TTL reported for ALIAS records, which have none (external-dns does the same).
pub const ALIAS_TTL: u32 = 300;
/// TTL written when an endpoint has none.
pub const DEFAULT_TTL: u32 = 300;

/// Longest character-string in a TXT record.
const TXT_CHUNK: usize = 255;

/// Which routing policy a record uses; a change of kind needs DELETE + CREATE.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RoutingKind {
    /// Simple routing.
    Simple,
    /// Weighted.
    Weighted,
    /// Latency.
    Latency,
    /// Failover.
    Failover,
    /// Geolocation.
    Geolocation,
    /// Geoproximity.
    Geoproximity,
    /// Multivalue answer.
    MultiValue,
}

/// The routing policy named by `properties`.
pub fn routing_kind(properties: &Properties) -> RoutingKind {
    let has = |key: &str| properties.contains_key(key);
    if has(WEIGHT) {
        RoutingKind::Weighted
    } else if has(REGION) {
        RoutingKind::Latency
    } else if has(FAILOVER) {
        RoutingKind::Failover
    } else if has(GEOLOCATION_CONTINENT) || has(GEOLOCATION_COUNTRY) || has(GEOLOCATION_SUBDIVISION)
    {
        RoutingKind::Geolocation
    } else if has(GEOPROXIMITY_REGION)
        || has(GEOPROXIMITY_LOCAL_ZONE_GROUP)
        || has(GEOPROXIMITY_COORDINATES)
    {
        RoutingKind::Geoproximity
    } else if has(MULTI_VALUE_ANSWER) {
        RoutingKind::MultiValue
    } else {
        RoutingKind::Simple
    }
}

/// True when `endpoint` is written as an ALIAS: only A and AAAA records can be (the TXT
/// marker of an ALIAS record copies its properties but stays a TXT record).
pub fn writes_alias(endpoint: &Endpoint) -> bool {
    endpoint.is_alias() && matches!(endpoint.record_type, RecordType::A | RecordType::Aaaa)
}

/// Decodes Route53's escapes in a name: `\052` → `*`, `\NNN` octal bytes, `\X` → `X`.
pub fn decode_name(raw: &str) -> String {
    if !raw.contains('\\') {
        return raw.to_string();
    }
    String::from_utf8_lossy(&unescape_bytes(raw.as_bytes())).into_owned()
}

/// Resolves backslash escapes in `input`: `\DDD` (three octal digits) and `\X`.
fn unescape_bytes(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        let byte = input[i];
        if byte == b'\\' && i + 1 < input.len() {
            let digits = &input[i + 1..input.len().min(i + 4)];
            if digits.len() == 3 && digits.iter().all(|d| (b'0'..=b'7').contains(d)) {
                let value = digits
                    .iter()
                    .fold(0u32, |acc, d| acc * 8 + u32::from(d - b'0'));
                if let Ok(value) = u8::try_from(value) {
                    out.push(value);
                    i += 4;
                    continue;
                }
            }
            out.push(input[i + 1]);
            i += 2;
        } else {
            out.push(byte);
            i += 1;
        }
    }
    out
}

/// Writes a TXT value as Route53 wants it: quoted character-strings of at most 255 bytes,
/// separated by spaces, with `"` and `\` escaped and non-printable bytes as `\DDD`.
pub fn quote_txt(value: &str) -> String {
    let bytes = value.as_bytes();
    if bytes.is_empty() {
        return "\"\"".to_string();
    }
    let mut out = String::with_capacity(bytes.len() + 2 * (bytes.len() / TXT_CHUNK + 1));
    for (index, chunk) in bytes.chunks(TXT_CHUNK).enumerate() {
        if index > 0 {
            out.push(' ');
        }
        out.push('"');
        for &byte in chunk {
            match byte {
                b'"' => out.push_str("\\\""),
                b'\\' => out.push_str("\\\\"),
                0x20..=0x7e => out.push(char::from(byte)),
                _ => out.push_str(&format!("\\{byte:03o}")),
            }
        }
        out.push('"');
    }
    out
}

/// Reads a TXT value from Route53: unquotes and joins its character-strings.
pub fn unquote_txt(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let quoted = bytes[i] == b'"';
        if quoted {
            i += 1;
        }
        let start = i;
        while i < bytes.len() {
            match bytes[i] {
                b'\\' => i += 2,
                b'"' if quoted => break,
                byte if !quoted && byte.is_ascii_whitespace() => break,
                _ => i += 1,
            }
        }
        let end = i.min(bytes.len());
        out.extend(unescape_bytes(&bytes[start..end]));
        if quoted {
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The endpoint a Route53 record set stands for, in hosted zone `zone_id`.
pub fn endpoint_from_record_set(record_set: &ResourceRecordSet, zone_id: &str) -> Endpoint {
    let name = DnsName::from_provider(&decode_name(record_set.name()));
    let type_text = record_set.r#type().as_str();
    let record_type = type_text
        .parse::<RecordType>()
        .unwrap_or_else(|_| RecordType::Other(type_text.into()));
    let mut properties = Properties::new();
    let mut endpoint = match record_set.alias_target() {
        Some(alias) => {
            properties.insert(ALIAS.to_string(), "true".to_string());
            properties.insert(
                EVALUATE_TARGET_HEALTH.to_string(),
                alias.evaluate_target_health().to_string(),
            );
            let target_zone = clean_zone_id(alias.hosted_zone_id());
            if target_zone != clean_zone_id(zone_id) {
                properties.insert(TARGET_HOSTED_ZONE.to_string(), target_zone.to_string());
            }
            // Targets of A/AAAA records are not host-name-normalised by the core.
            let target = alias.dns_name().to_ascii_lowercase();
            let target = target.strip_suffix('.').unwrap_or(&target);
            let mut endpoint = Endpoint::new(name, record_type, [target]);
            endpoint.ttl = Some(ALIAS_TTL);
            endpoint
        }
        None => {
            let values = record_set
                .resource_records()
                .iter()
                .map(ResourceRecord::value);
            let mut endpoint = if matches!(record_type, RecordType::Txt) || type_text == "SPF" {
                Endpoint::new(name, record_type, values.map(unquote_txt))
            } else {
                Endpoint::new(name, record_type, values)
            };
            endpoint.ttl = record_set
                .ttl()
                .map(|ttl| u32::try_from(ttl.max(0)).unwrap_or(u32::MAX));
            endpoint
        }
    };
    endpoint.set_identifier = record_set.set_identifier().map(str::to_string);
    if let Some(weight) = record_set.weight() {
        properties.insert(WEIGHT.to_string(), weight.to_string());
    }
    if let Some(region) = record_set.region() {
        properties.insert(REGION.to_string(), region.as_str().to_string());
    }
    if let Some(failover) = record_set.failover() {
        properties.insert(FAILOVER.to_string(), failover.as_str().to_string());
    }
    if let Some(geo) = record_set.geo_location() {
        let pairs = [
            (GEOLOCATION_CONTINENT, geo.continent_code()),
            (GEOLOCATION_COUNTRY, geo.country_code()),
            (GEOLOCATION_SUBDIVISION, geo.subdivision_code()),
        ];
        for (key, value) in pairs {
            if let Some(value) = value {
                properties.insert(key.to_string(), value.to_string());
            }
        }
    }
    if let Some(geo) = record_set.geo_proximity_location() {
        if let Some(region) = geo.aws_region() {
            properties.insert(GEOPROXIMITY_REGION.to_string(), region.to_string());
        }
        if let Some(group) = geo.local_zone_group() {
            properties.insert(GEOPROXIMITY_LOCAL_ZONE_GROUP.to_string(), group.to_string());
        }
        if let Some(coordinates) = geo.coordinates() {
            properties.insert(
                GEOPROXIMITY_COORDINATES.to_string(),
                format!("{},{}", coordinates.latitude(), coordinates.longitude()),
            );
        }
        properties.insert(
            GEOPROXIMITY_BIAS.to_string(),
            geo.bias().unwrap_or(0).to_string(),
        );
    }
    if record_set.multi_value_answer() == Some(true) {
        properties.insert(MULTI_VALUE_ANSWER.to_string(), "true".to_string());
    }
    if let Some(health_check) = record_set.health_check_id() {
        properties.insert(HEALTH_CHECK_ID.to_string(), health_check.to_string());
    }
    endpoint.properties = properties;
    endpoint
}

/// Why an endpoint cannot be written as a Route53 record set. Every message names the record.
#[derive(Debug, thiserror::Error)]
pub enum RecordSetError {
    /// The endpoint has no targets.
    #[error("{record} has no targets")]
    NoTargets {
        /// The record.
        record: RecordKey,
    },
    /// An ALIAS record with more than one target.
    #[error("{record}: an ALIAS record points at exactly one host name, not {targets}")]
    AliasTargets {
        /// The record.
        record: RecordKey,
        /// How many targets it has.
        targets: usize,
    },
    /// A routing property with a value Route53 does not accept.
    #[error("{record}: {property} {value:?} must be {expected}")]
    Property {
        /// The record.
        record: RecordKey,
        /// The property (`aws/weight` …).
        property: &'static str,
        /// Its value.
        value: String,
        /// What it must be.
        expected: &'static str,
    },
    /// A routing policy on a record without a set identifier.
    #[error(
        "{record}: a routing policy ({properties}) needs a set identifier (the set-identifier annotation)"
    )]
    NoSetIdentifier {
        /// The record.
        record: RecordKey,
        /// The routing properties it has, comma-separated.
        properties: String,
    },
    /// Both a continent and a country for geolocation routing.
    #[error(
        "{record}: give either {GEOLOCATION_CONTINENT} or {GEOLOCATION_COUNTRY} (with an optional subdivision), not both"
    )]
    GeolocationConflict {
        /// The record.
        record: RecordKey,
    },
    /// The SDK refused to build part of the request (a required field is missing).
    #[error("{record}: {source}")]
    Build {
        /// The record.
        record: RecordKey,
        /// The SDK's reason.
        #[source]
        source: BuildError,
    },
}

impl RecordSetError {
    fn build(endpoint: &Endpoint) -> impl FnOnce(BuildError) -> Self + '_ {
        move |source| RecordSetError::Build {
            record: endpoint.key(),
            source,
        }
    }
}

/// The Route53 record set that stores `endpoint` in hosted zone `zone_id`.
///
/// Fails when the endpoint cannot be expressed: no targets, an ALIAS with several targets, or a
/// malformed routing property.
pub fn record_set_for(
    endpoint: &Endpoint,
    zone_id: &str,
) -> Result<ResourceRecordSet, RecordSetError> {
    if endpoint.targets.is_empty() {
        return Err(RecordSetError::NoTargets {
            record: endpoint.key(),
        });
    }
    let properties = &endpoint.properties;
    let mut builder = ResourceRecordSet::builder()
        .name(endpoint.name.to_fqdn())
        .r#type(RrType::from(endpoint.record_type.as_str()))
        .set_set_identifier(endpoint.set_identifier.clone());

    if writes_alias(endpoint) {
        let [target] = endpoint.targets.as_slice() else {
            return Err(RecordSetError::AliasTargets {
                record: endpoint.key(),
                targets: endpoint.targets.len(),
            });
        };
        let target_zone = properties
            .get(TARGET_HOSTED_ZONE)
            .map(|zone| clean_zone_id(zone))
            .unwrap_or_else(|| clean_zone_id(zone_id));
        let evaluate = match properties.get(EVALUATE_TARGET_HEALTH).map(String::as_str) {
            None | Some("true") => true,
            Some("false") => false,
            Some(other) => {
                return Err(RecordSetError::Property {
                    record: endpoint.key(),
                    property: EVALUATE_TARGET_HEALTH,
                    value: other.to_string(),
                    expected: "true or false",
                });
            }
        };
        let alias = AliasTarget::builder()
            .hosted_zone_id(target_zone)
            .dns_name(fqdn(target))
            .evaluate_target_health(evaluate)
            .build()
            .map_err(RecordSetError::build(endpoint))?;
        builder = builder.alias_target(alias);
    } else {
        let ttl = endpoint.ttl.unwrap_or(DEFAULT_TTL);
        builder = builder.ttl(i64::from(ttl));
        let is_text = matches!(endpoint.record_type, RecordType::Txt)
            || endpoint.record_type.as_str() == "SPF";
        for target in &endpoint.targets {
            let value = if is_text {
                quote_txt(target)
            } else {
                target.clone()
            };
            let record = ResourceRecord::builder()
                .value(value)
                .build()
                .map_err(RecordSetError::build(endpoint))?;
            builder = builder.resource_records(record);
        }
    }

    builder = apply_routing(builder, endpoint)?;
    builder.build().map_err(RecordSetError::build(endpoint))
}

fn fqdn(name: &str) -> String {
    if name.ends_with('.') {
        name.to_string()
    } else {
        format!("{name}.")
    }
}

fn apply_routing(
    mut builder: aws_sdk_route53::types::builders::ResourceRecordSetBuilder,
    endpoint: &Endpoint,
) -> Result<aws_sdk_route53::types::builders::ResourceRecordSetBuilder, RecordSetError> {
    let properties = &endpoint.properties;
    let bad =
        |property: &'static str, value: &str, expected: &'static str| RecordSetError::Property {
            record: endpoint.key(),
            property,
            value: value.to_string(),
            expected,
        };
    if routing_kind(properties) != RoutingKind::Simple && endpoint.set_identifier.is_none() {
        return Err(RecordSetError::NoSetIdentifier {
            record: endpoint.key(),
            properties: properties
                .keys()
                .filter(|k| k.starts_with("aws/") && k.as_str() != HEALTH_CHECK_ID)
                .cloned()
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    if let Some(weight) = properties.get(WEIGHT) {
        let parsed: i64 = weight
            .parse()
            .ok()
            .filter(|w| (0..=255).contains(w))
            .ok_or_else(|| bad(WEIGHT, weight, "a whole number from 0 to 255"))?;
        builder = builder.weight(parsed);
    }
    if let Some(region) = properties.get(REGION) {
        builder = builder.region(ResourceRecordSetRegion::from(region.as_str()));
    }
    if let Some(failover) = properties.get(FAILOVER) {
        let value = match failover.as_str() {
            "PRIMARY" => ResourceRecordSetFailover::Primary,
            "SECONDARY" => ResourceRecordSetFailover::Secondary,
            _ => return Err(bad(FAILOVER, failover, "PRIMARY or SECONDARY")),
        };
        builder = builder.failover(value);
    }
    let continent = properties.get(GEOLOCATION_CONTINENT);
    let country = properties.get(GEOLOCATION_COUNTRY);
    let subdivision = properties.get(GEOLOCATION_SUBDIVISION);
    if continent.is_some() || country.is_some() || subdivision.is_some() {
        if continent.is_some() && (country.is_some() || subdivision.is_some()) {
            return Err(RecordSetError::GeolocationConflict {
                record: endpoint.key(),
            });
        }
        builder = builder.geo_location(
            GeoLocation::builder()
                .set_continent_code(continent.cloned())
                .set_country_code(country.cloned())
                .set_subdivision_code(subdivision.cloned())
                .build(),
        );
    }
    let proximity_region = properties.get(GEOPROXIMITY_REGION);
    let proximity_group = properties.get(GEOPROXIMITY_LOCAL_ZONE_GROUP);
    let proximity_coordinates = properties.get(GEOPROXIMITY_COORDINATES);
    if proximity_region.is_some() || proximity_group.is_some() || proximity_coordinates.is_some() {
        let mut location = GeoProximityLocation::builder()
            .set_aws_region(proximity_region.cloned())
            .set_local_zone_group(proximity_group.cloned());
        if let Some(coordinates) = proximity_coordinates {
            let (latitude, longitude) = parse_coordinates(coordinates)
                .ok_or_else(|| bad(GEOPROXIMITY_COORDINATES, coordinates, "latitude,longitude"))?;
            let coordinates = Coordinates::builder()
                .latitude(latitude)
                .longitude(longitude)
                .build()
                .map_err(RecordSetError::build(endpoint))?;
            location = location.coordinates(coordinates);
        }
        let bias = match properties.get(GEOPROXIMITY_BIAS) {
            Some(bias) => bias
                .parse::<i32>()
                .ok()
                .filter(|b| (-99..=99).contains(b))
                .ok_or_else(|| bad(GEOPROXIMITY_BIAS, bias, "a whole number from -99 to 99"))?,
            None => 0,
        };
        builder = builder.geo_proximity_location(location.bias(bias).build());
    }
    if properties.contains_key(MULTI_VALUE_ANSWER) {
        builder = builder.multi_value_answer(true);
    }
    if let Some(health_check) = properties.get(HEALTH_CHECK_ID) {
        builder = builder.health_check_id(health_check);
    }
    Ok(builder)
}

/// Parses `latitude,longitude` within the valid ranges.
pub fn parse_coordinates(value: &str) -> Option<(String, String)> {
    let (latitude, longitude) = value.split_once(',')?;
    let (latitude, longitude) = (latitude.trim(), longitude.trim());
    let lat: f64 = latitude.parse().ok()?;
    let long: f64 = longitude.parse().ok()?;
    ((-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&long))
        .then(|| (latitude.to_string(), longitude.to_string()))
}

/// Resource records and value characters a change of `record_set` costs in one request,
/// before the UPSERT doubling. An ALIAS counts as one record of its DNS name's length.
pub fn request_cost(record_set: &ResourceRecordSet) -> (usize, usize) {
    match record_set.alias_target() {
        Some(alias) => (1, alias.dns_name().chars().count()),
        None => {
            record_set
                .resource_records()
                .iter()
                .fold((0, 0), |(records, characters), record| {
                    (records + 1, characters + record.value().chars().count())
                })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> DnsName {
        DnsName::parse(s).unwrap()
    }

    #[test]
    fn octal_escapes_in_names_are_decoded() {
        assert_eq!(decode_name("\\052.example.com."), "*.example.com.");
        assert_eq!(decode_name("a\\040b.example.com."), "a b.example.com.");
        assert_eq!(decode_name("plain.example.com."), "plain.example.com.");
        assert_eq!(decode_name("back\\\\slash."), "back\\slash.");
        let record_set = ResourceRecordSet::builder()
            .name("\\052.apps.example.com.")
            .r#type(RrType::A)
            .ttl(60)
            .resource_records(
                ResourceRecord::builder()
                    .value("192.0.2.1")
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap();
        let endpoint = endpoint_from_record_set(&record_set, "Z1");
        assert_eq!(endpoint.name.as_str(), "*.apps.example.com");
        assert_eq!(endpoint.ttl, Some(60));
    }

    #[test]
    fn txt_values_are_quoted_split_and_read_back() {
        assert_eq!(
            quote_txt("heritage=external-dns"),
            "\"heritage=external-dns\""
        );
        assert_eq!(quote_txt("say \"hi\" \\o/"), "\"say \\\"hi\\\" \\\\o/\"");
        let long = "x".repeat(600);
        let quoted = quote_txt(&long);
        assert_eq!(
            quoted.matches('"').count(),
            6,
            "600 bytes are three strings"
        );
        assert_eq!(unquote_txt(&quoted), long);
        let text = "ünïcode and \"quotes\" and \\ and \u{7f}";
        assert_eq!(unquote_txt(&quote_txt(text)), text);
        assert_eq!(unquote_txt("\"v=spf1 \" \"-all\""), "v=spf1 -all");
        assert_eq!(unquote_txt("unquoted"), "unquoted");
        assert_eq!(unquote_txt("\"\""), "");
    }

    #[test]
    fn multi_byte_characters_survive_a_split_at_255_bytes() {
        let text = format!("{}é{}", "a".repeat(254), "b".repeat(10));
        assert_eq!(unquote_txt(&quote_txt(&text)), text);
    }

    #[test]
    fn alias_records_round_trip() {
        let endpoint = Endpoint::new(
            name("www.example.com"),
            RecordType::A,
            ["lb-1.us-east-1.elb.amazonaws.com"],
        )
        .with_ttl(ALIAS_TTL)
        .with_property(ALIAS, "true")
        .with_property(EVALUATE_TARGET_HEALTH, "false")
        .with_property(TARGET_HOSTED_ZONE, "Z35SXDOTRQ7X7K");
        let record_set = record_set_for(&endpoint, "ZOWN").unwrap();
        let alias = record_set.alias_target().unwrap();
        assert_eq!(alias.dns_name(), "lb-1.us-east-1.elb.amazonaws.com.");
        assert_eq!(alias.hosted_zone_id(), "Z35SXDOTRQ7X7K");
        assert!(!alias.evaluate_target_health());
        assert_eq!(record_set.ttl(), None);
        assert_eq!(
            endpoint_from_record_set(&record_set, "/hostedzone/ZOWN"),
            endpoint
        );
    }

    #[test]
    fn same_zone_alias_has_no_target_zone_property() {
        let endpoint = Endpoint::new(
            name("www.example.com"),
            RecordType::Aaaa,
            ["app.example.com"],
        )
        .with_ttl(ALIAS_TTL)
        .with_property(ALIAS, "true")
        .with_property(EVALUATE_TARGET_HEALTH, "true");
        let record_set = record_set_for(&endpoint, "ZOWN").unwrap();
        assert_eq!(record_set.alias_target().unwrap().hosted_zone_id(), "ZOWN");
        assert_eq!(endpoint_from_record_set(&record_set, "ZOWN"), endpoint);
    }

    #[test]
    fn routing_policies_round_trip() {
        let base = || {
            Endpoint::new(
                name("api.example.com"),
                RecordType::Cname,
                ["a.example.net"],
            )
            .with_ttl(60)
            .with_set_identifier("one")
        };
        let cases = [
            base().with_property(WEIGHT, "10"),
            base().with_property(REGION, "eu-west-1"),
            base()
                .with_property(FAILOVER, "SECONDARY")
                .with_property(HEALTH_CHECK_ID, "hc-1"),
            base().with_property(GEOLOCATION_CONTINENT, "EU"),
            base()
                .with_property(GEOLOCATION_COUNTRY, "US")
                .with_property(GEOLOCATION_SUBDIVISION, "CA"),
            base()
                .with_property(GEOPROXIMITY_COORDINATES, "49.22,-74.01")
                .with_property(GEOPROXIMITY_BIAS, "10"),
            base()
                .with_property(GEOPROXIMITY_REGION, "us-west-2")
                .with_property(GEOPROXIMITY_BIAS, "0"),
            base().with_property(MULTI_VALUE_ANSWER, "true"),
        ];
        for endpoint in cases {
            let record_set = record_set_for(&endpoint, "Z1").unwrap();
            assert_eq!(
                endpoint_from_record_set(&record_set, "Z1"),
                endpoint,
                "{endpoint:?}"
            );
        }
    }

    #[test]
    fn malformed_routing_is_refused_with_a_message() {
        let base = || {
            Endpoint::new(name("api.example.com"), RecordType::A, ["192.0.2.1"])
                .with_set_identifier("one")
        };
        for (endpoint, needle) in [
            (base().with_property(WEIGHT, "heavy"), "aws/weight"),
            (base().with_property(WEIGHT, "256"), "aws/weight"),
            (
                base().with_property(FAILOVER, "third"),
                "PRIMARY or SECONDARY",
            ),
            (
                base()
                    .with_property(GEOLOCATION_CONTINENT, "EU")
                    .with_property(GEOLOCATION_COUNTRY, "DE"),
                "not both",
            ),
            (
                base().with_property(GEOPROXIMITY_COORDINATES, "91,0"),
                "latitude",
            ),
            (
                Endpoint::new(name("api.example.com"), RecordType::A, ["192.0.2.1"])
                    .with_property(WEIGHT, "1"),
                "set identifier",
            ),
        ] {
            let error = record_set_for(&endpoint, "Z1").unwrap_err().to_string();
            assert!(error.contains(needle), "{error}");
        }
    }

    #[test]
    fn markers_of_alias_records_stay_txt() {
        let marker = Endpoint::new(
            name("a-www.example.com"),
            RecordType::Txt,
            ["heritage=external-dns,external-dns/owner=default"],
        )
        .with_property(ALIAS, "true")
        .with_property(EVALUATE_TARGET_HEALTH, "true");
        let record_set = record_set_for(&marker, "Z1").unwrap();
        assert!(record_set.alias_target().is_none());
        assert_eq!(
            record_set.resource_records()[0].value(),
            "\"heritage=external-dns,external-dns/owner=default\""
        );
        assert_eq!(record_set.ttl(), Some(300));
    }

    #[test]
    fn cost_counts_values_and_aliases() {
        let plain = Endpoint::new(
            name("w.example.com"),
            RecordType::A,
            ["192.0.2.1", "192.0.2.22"],
        );
        assert_eq!(request_cost(&record_set_for(&plain, "Z").unwrap()), (2, 19));
        let marker = Endpoint::new(name("a-w.example.com"), RecordType::Txt, ["abc"]);
        assert_eq!(request_cost(&record_set_for(&marker, "Z").unwrap()), (1, 5));
    }
}
