//! Desired endpoints → what Route53 will store for them: ALIAS conversion for AWS service host
//! names and normalised provider-specific properties, so that the records read back after a
//! sync compare equal to the desired ones.

use std::collections::HashSet;

use zonesync_core::{DnsName, Endpoint, Properties, RecordType};

use crate::canonical_zones::canonical_zone;
use crate::config::clean_zone_id;
use crate::record_set::{
    ALIAS, ALIAS_PROPERTIES, ALIAS_TTL, EVALUATE_TARGET_HEALTH, FAILOVER, GEOLOCATION_CONTINENT,
    GEOLOCATION_COUNTRY, GEOLOCATION_SUBDIVISION, GEOPROXIMITY_BIAS, GEOPROXIMITY_COORDINATES,
    GEOPROXIMITY_LOCAL_ZONE_GROUP, GEOPROXIMITY_REGION, HEALTH_CHECK_ID, KNOWN_PROPERTIES,
    MULTI_VALUE_ANSWER, REGION, TARGET_HOSTED_ZONE, WEIGHT,
};

/// What the adjustment depends on.
#[derive(Clone, Debug, Default)]
pub(crate) struct AdjustOptions {
    /// `--aws-prefer-cname`.
    pub prefer_cname: bool,
    /// `--aws-evaluate-target-health`.
    pub evaluate_target_health: bool,
    /// The managed zones (id, apex), to recognise an explicit target zone that is the
    /// record's own zone.
    pub zones: Vec<(String, DnsName)>,
}

/// Adjusts the endpoints one object wants.
pub(crate) fn adjust(endpoints: Vec<Endpoint>, options: &AdjustOptions) -> Vec<Endpoint> {
    // Names that also get plain addresses: their CNAME is dropped by the planner as a conflict,
    // so it must stay a CNAME here rather than become a competing A record.
    let with_addresses: HashSet<(DnsName, Option<String>)> = endpoints
        .iter()
        .filter(|e| matches!(e.record_type, RecordType::A | RecordType::Aaaa) && !e.is_alias())
        .map(|e| (e.name.clone(), e.set_identifier.clone()))
        .collect();
    let mut adjusted = Vec::with_capacity(endpoints.len());
    for mut endpoint in endpoints {
        normalise_properties(&mut endpoint.properties);
        let wants_alias = endpoint.record_type == RecordType::Cname
            && !with_addresses.contains(&(endpoint.name.clone(), endpoint.set_identifier.clone()))
            && alias_wanted(&endpoint, options);
        if !wants_alias {
            for key in ALIAS_PROPERTIES {
                endpoint.properties.remove(key);
            }
            adjusted.push(endpoint);
            continue;
        }
        let target = endpoint
            .targets
            .as_slice()
            .first()
            .cloned()
            .unwrap_or_default();
        let explicit_zone = endpoint
            .properties
            .get(TARGET_HOSTED_ZONE)
            .map(|zone| clean_zone_id(zone.trim()).to_string())
            .filter(|zone| !zone.is_empty());
        let target_zone = explicit_zone
            .or_else(|| canonical_zone(&target).map(|zone| zone.hosted_zone_id.to_string()))
            // A zone we manage that holds the record is "the same zone": Route53 reports no
            // target zone for it, so neither may we.
            .filter(|zone| {
                !options
                    .zones
                    .iter()
                    .any(|(id, apex)| id == zone && endpoint.name.is_within(apex))
            });
        let evaluate = match endpoint
            .properties
            .get(EVALUATE_TARGET_HEALTH)
            .map(String::as_str)
        {
            Some("true") => true,
            Some("false") => false,
            _ => options.evaluate_target_health,
        };
        let mut properties: Properties = endpoint
            .properties
            .iter()
            .filter(|(key, _)| !ALIAS_PROPERTIES.contains(&key.as_str()))
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect();
        properties.insert(ALIAS.to_string(), "true".to_string());
        properties.insert(EVALUATE_TARGET_HEALTH.to_string(), evaluate.to_string());
        if let Some(zone) = target_zone {
            properties.insert(TARGET_HOSTED_ZONE.to_string(), zone);
        }
        for record_type in [RecordType::A, RecordType::Aaaa] {
            let mut alias = Endpoint::new(endpoint.name.clone(), record_type, [target.as_str()]);
            alias.ttl = Some(ALIAS_TTL);
            alias.set_identifier = endpoint.set_identifier.clone();
            alias.labels = endpoint.labels.clone();
            alias.properties = properties.clone();
            adjusted.push(alias);
        }
    }
    adjusted
}

/// Whether a CNAME endpoint becomes an ALIAS: an explicit `alias` annotation decides;
/// otherwise an AWS service target does, unless `--aws-prefer-cname`.
fn alias_wanted(endpoint: &Endpoint, options: &AdjustOptions) -> bool {
    let [target] = endpoint.targets.as_slice() else {
        return false;
    };
    match endpoint.properties.get(ALIAS).map(String::as_str) {
        Some("true") => true,
        Some(_) => false,
        None => !options.prefer_cname && canonical_zone(target).is_some(),
    }
}

/// Drops unknown properties and writes known ones the way Route53 reports them back.
fn normalise_properties(properties: &mut Properties) {
    properties.retain(|key, _| KNOWN_PROPERTIES.contains(&key.as_str()));
    for value in properties.values_mut() {
        *value = value.trim().to_string();
    }
    if let Some(alias) = properties.get_mut(ALIAS) {
        *alias = alias.to_ascii_lowercase();
    }
    if let Some(evaluate) = properties.get_mut(EVALUATE_TARGET_HEALTH) {
        *evaluate = evaluate.to_ascii_lowercase();
    }
    if let Some(weight) = properties.get_mut(WEIGHT)
        && let Ok(parsed) = weight.parse::<i64>()
    {
        // Malformed weights are kept as they are: writing them fails with a clear message.
        *weight = parsed.to_string();
    }
    if let Some(region) = properties.get_mut(REGION) {
        *region = region.to_ascii_lowercase();
    }
    for key in [
        FAILOVER,
        GEOLOCATION_CONTINENT,
        GEOLOCATION_COUNTRY,
        GEOLOCATION_SUBDIVISION,
    ] {
        if let Some(value) = properties.get_mut(key) {
            *value = value.to_ascii_uppercase();
        }
    }
    if let Some(region) = properties.get_mut(GEOPROXIMITY_REGION) {
        *region = region.to_ascii_lowercase();
    }
    match properties
        .get(MULTI_VALUE_ANSWER)
        .map(|v| v.to_ascii_lowercase())
    {
        Some(value) if value == "false" => {
            properties.remove(MULTI_VALUE_ANSWER);
        }
        Some(_) => {
            // external-dns treats the annotation's presence as "on", whatever its value.
            properties.insert(MULTI_VALUE_ANSWER.to_string(), "true".to_string());
        }
        None => {}
    }
    let geoproximity = [
        GEOPROXIMITY_REGION,
        GEOPROXIMITY_LOCAL_ZONE_GROUP,
        GEOPROXIMITY_COORDINATES,
    ]
    .iter()
    .any(|key| properties.contains_key(*key));
    if geoproximity {
        // Route53 reports a bias of 0 when none was given.
        let bias = properties
            .entry(GEOPROXIMITY_BIAS.to_string())
            .or_insert_with(|| "0".to_string());
        if let Ok(parsed) = bias.parse::<i32>() {
            *bias = parsed.to_string();
        }
    } else {
        properties.remove(GEOPROXIMITY_BIAS);
    }
    if properties
        .get(HEALTH_CHECK_ID)
        .is_some_and(String::is_empty)
    {
        properties.remove(HEALTH_CHECK_ID);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> DnsName {
        DnsName::parse(s).unwrap()
    }

    fn cname(host: &str, target: &str) -> Endpoint {
        Endpoint::new(name(host), RecordType::Cname, [target])
            .with_label("resource", "ingress/default/web")
    }

    fn options() -> AdjustOptions {
        AdjustOptions {
            prefer_cname: false,
            evaluate_target_health: true,
            zones: vec![("ZOWN".to_string(), name("example.com"))],
        }
    }

    #[test]
    fn load_balancer_cname_becomes_a_and_aaaa_alias() {
        let adjusted = adjust(
            vec![cname("www.example.com", "my-lb-1.eu-west-1.elb.amazonaws.com").with_ttl(60)],
            &options(),
        );
        assert_eq!(adjusted.len(), 2);
        assert_eq!(adjusted[0].record_type, RecordType::A);
        assert_eq!(adjusted[1].record_type, RecordType::Aaaa);
        for alias in &adjusted {
            assert!(alias.is_alias());
            assert_eq!(alias.ttl, Some(ALIAS_TTL));
            assert_eq!(
                alias.properties.get(EVALUATE_TARGET_HEALTH).unwrap(),
                "true"
            );
            assert_eq!(
                alias.properties.get(TARGET_HOSTED_ZONE).unwrap(),
                "Z32O12XQLNTSW2"
            );
            assert_eq!(alias.resource(), Some("ingress/default/web"));
        }
    }

    #[test]
    fn prefer_cname_and_alias_false_keep_a_cname() {
        let mut prefer = options();
        prefer.prefer_cname = true;
        let kept = adjust(vec![cname("www.example.com", "d1.cloudfront.net")], &prefer);
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].record_type, RecordType::Cname);
        assert!(kept[0].properties.is_empty());

        let opted_out = adjust(
            vec![cname("www.example.com", "d1.cloudfront.net").with_property(ALIAS, "false")],
            &options(),
        );
        assert_eq!(opted_out.len(), 1);
        assert_eq!(opted_out[0].record_type, RecordType::Cname);
        assert!(
            opted_out[0].properties.is_empty(),
            "alias=false is not stored"
        );
    }

    #[test]
    fn explicit_alias_to_a_record_in_the_same_zone() {
        let adjusted = adjust(
            vec![
                cname("www.example.com", "app.example.com")
                    .with_property(ALIAS, "true")
                    .with_property(EVALUATE_TARGET_HEALTH, "FALSE"),
            ],
            &options(),
        );
        assert_eq!(adjusted.len(), 2);
        assert_eq!(
            adjusted[0].properties.get(EVALUATE_TARGET_HEALTH).unwrap(),
            "false"
        );
        assert!(!adjusted[0].properties.contains_key(TARGET_HOSTED_ZONE));

        let own_zone_named = adjust(
            vec![
                cname("www.example.com", "app.example.com")
                    .with_property(ALIAS, "true")
                    .with_property(TARGET_HOSTED_ZONE, "/hostedzone/ZOWN"),
            ],
            &options(),
        );
        assert!(
            !own_zone_named[0]
                .properties
                .contains_key(TARGET_HOSTED_ZONE)
        );
    }

    #[test]
    fn default_evaluate_target_health_comes_from_the_flag() {
        let mut no_health = options();
        no_health.evaluate_target_health = false;
        let adjusted = adjust(
            vec![cname("www.example.com", "a1.awsglobalaccelerator.com")],
            &no_health,
        );
        assert_eq!(
            adjusted[0].properties.get(EVALUATE_TARGET_HEALTH).unwrap(),
            "false"
        );
        assert_eq!(
            adjusted[0].properties.get(TARGET_HOSTED_ZONE).unwrap(),
            "Z2BJ6XQ5FK7U4H"
        );
    }

    #[test]
    fn cname_beside_addresses_is_left_for_the_planner() {
        let address = Endpoint::new(name("www.example.com"), RecordType::A, ["192.0.2.1"]);
        let adjusted = adjust(
            vec![
                address,
                cname("www.example.com", "lb-1.us-east-1.elb.amazonaws.com"),
            ],
            &options(),
        );
        assert_eq!(adjusted.len(), 2);
        assert_eq!(adjusted[1].record_type, RecordType::Cname);
    }

    #[test]
    fn other_hosts_stay_cnames_and_addresses_lose_alias_properties() {
        let adjusted = adjust(
            vec![
                cname("www.example.com", "lb.example.net"),
                Endpoint::new(name("ip.example.com"), RecordType::A, ["192.0.2.1"])
                    .with_property(ALIAS, "true")
                    .with_property(EVALUATE_TARGET_HEALTH, "true"),
            ],
            &options(),
        );
        assert_eq!(adjusted[0].record_type, RecordType::Cname);
        assert!(adjusted[1].properties.is_empty());
    }

    #[test]
    fn properties_are_normalised_and_unknown_ones_dropped() {
        let endpoint = cname("api.example.com", "a.example.net")
            .with_set_identifier("one")
            .with_property(WEIGHT, " 010 ")
            .with_property(REGION, "EU-WEST-1")
            .with_property(FAILOVER, "primary")
            .with_property(GEOLOCATION_COUNTRY, "de")
            .with_property(MULTI_VALUE_ANSWER, "")
            .with_property(GEOPROXIMITY_COORDINATES, "1,2")
            .with_property("aws/unknown", "x")
            .with_property("cloudflare-proxied", "true");
        let adjusted = adjust(vec![endpoint], &options());
        let properties = &adjusted[0].properties;
        assert_eq!(properties.get(WEIGHT).unwrap(), "10");
        assert_eq!(properties.get(REGION).unwrap(), "eu-west-1");
        assert_eq!(properties.get(FAILOVER).unwrap(), "PRIMARY");
        assert_eq!(properties.get(GEOLOCATION_COUNTRY).unwrap(), "DE");
        assert_eq!(properties.get(MULTI_VALUE_ANSWER).unwrap(), "true");
        assert_eq!(properties.get(GEOPROXIMITY_BIAS).unwrap(), "0");
        assert!(!properties.contains_key("aws/unknown"));
        assert!(!properties.contains_key("cloudflare-proxied"));
    }
}
