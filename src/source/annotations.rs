//! The annotations both object kinds share: `hostname`, `target`, `ttl`, `set-identifier`,
//! `controller`, `alias`, the `aws-*` routing keys and the `webhook-*` provider-specific keys,
//! under either annotation prefix.

use std::collections::BTreeMap;

use zonesync_core::{DnsName, Properties};

use super::{ObjectOutcome, ResourceRef, SkipScope, SkippedInput, Target};
use crate::duration::DurationError;

/// Why an annotation setting cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnnotationError {
    /// An `--annotation-prefix` that does not end in `/`.
    #[error("--annotation-prefix {prefix:?} must end with '/' (e.g. {PREFIX})")]
    Prefix {
        /// The prefix as given.
        prefix: String,
    },
    /// A `ttl` that is neither whole seconds nor a duration.
    #[error("a TTL must be whole seconds (300) or a duration (10m, 1h30m)")]
    TtlMalformed,
    /// A negative `ttl` duration.
    #[error("a TTL cannot be negative")]
    TtlNegative,
    /// A `ttl` outside 1..=2147483647 seconds.
    #[error("a TTL must be between 1 and {MAX_TTL} seconds, got {value}")]
    TtlOutOfRange {
        /// The value as given (whole seconds are shown as seconds).
        value: String,
    },
}

/// The prefix external-dns ≥ 0.22 writes.
pub const PREFIX: &str = "external-dns.kubernetes.io/";
/// The prefix older external-dns releases (and most existing manifests) use.
pub const ALPHA_PREFIX: &str = "external-dns.alpha.kubernetes.io/";

/// Largest TTL DNS allows (2^31 - 1 seconds).
pub const MAX_TTL: u64 = 2_147_483_647;

/// Longest annotation value zonesync reads; a longer one is ignored with a warning.
pub const MAX_VALUE_BYTES: usize = 64 * 1024;

/// Most host names one object may ask for; an object asking for more is skipped whole (its
/// records are kept), so one object cannot flood a zone.
pub const MAX_NAMES_PER_OBJECT: usize = 256;

/// The annotation prefixes zonesync reads, in order of preference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AnnotationPrefixes(Vec<String>);

impl Default for AnnotationPrefixes {
    /// Both prefixes; the current one wins when an object carries both.
    fn default() -> Self {
        Self(vec![PREFIX.to_string(), ALPHA_PREFIX.to_string()])
    }
}

impl AnnotationPrefixes {
    /// Exactly one prefix (`--annotation-prefix`). Fails unless it ends in `/`.
    pub fn only(prefix: &str) -> Result<Self, AnnotationError> {
        if !prefix.ends_with('/') || prefix.len() < 2 {
            return Err(AnnotationError::Prefix {
                prefix: prefix.to_string(),
            });
        }
        Ok(Self(vec![prefix.to_string()]))
    }

    /// The prefixes, preferred first.
    pub fn as_slice(&self) -> &[String] {
        &self.0
    }

    /// Finds annotation `key` under the first prefix that has it: `(full key, value)`.
    pub fn get<'a>(
        &self,
        annotations: &'a BTreeMap<String, String>,
        key: &str,
    ) -> Option<(String, &'a str)> {
        self.0.iter().find_map(|prefix| {
            let full = format!("{prefix}{key}");
            annotations.get(&full).map(|value| (full, value.as_str()))
        })
    }

    /// Every `(suffix, value)` pair under any prefix, preferred prefix first.
    fn with_suffix<'a>(
        &'a self,
        annotations: &'a BTreeMap<String, String>,
    ) -> impl Iterator<Item = (&'a str, &'a str)> {
        self.0.iter().flat_map(move |prefix| {
            annotations.iter().filter_map(move |(key, value)| {
                key.strip_prefix(prefix.as_str())
                    .map(|suffix| (suffix, value.as_str()))
            })
        })
    }
}

/// `metadata.annotations[<key>]`, the field path used in warnings.
pub fn annotation_field(full_key: &str) -> String {
    format!("metadata.annotations[{full_key}]")
}

/// Annotation-derived settings common to Ingresses and Services.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CommonSettings {
    /// Targets from the `target` annotation; `None` when absent.
    pub targets: Option<Vec<Target>>,
    /// TTL in seconds.
    pub ttl: Option<u32>,
    /// Set identifier.
    pub set_identifier: Option<String>,
    /// Provider-specific properties.
    pub properties: Properties,
}

/// Reads the shared annotations.
///
/// Returns `Err` with the finished outcome when the object is not for zonesync (a
/// `controller` annotation other than `dns-controller`) or must be skipped whole (bad TTL, bad
/// target).
pub fn read_common(
    resource: &ResourceRef,
    annotations: &BTreeMap<String, String>,
    prefixes: &AnnotationPrefixes,
) -> Result<CommonSettings, Box<ObjectOutcome>> {
    if let Some((_, controller)) = prefixes.get(annotations, "controller")
        && controller != "dns-controller"
    {
        return Err(Box::new(ObjectOutcome::not_selected(resource.clone())));
    }
    let skip = |field: String, value: &str, reason: String| {
        let mut outcome = ObjectOutcome::not_selected(resource.clone());
        outcome.selected = true;
        outcome.skipped.push(SkippedInput::new(
            resource,
            field,
            value,
            reason,
            SkipScope::Object,
        ));
        Box::new(outcome)
    };

    let mut settings = CommonSettings::default();
    for key in ["ttl", "target", "set-identifier"] {
        if let Some((full, value)) = prefixes.get(annotations, key)
            && value.len() > MAX_VALUE_BYTES
        {
            return Err(skip(
                annotation_field(&full),
                value,
                format!(
                    "the value is {} bytes, more than {MAX_VALUE_BYTES}",
                    value.len()
                ),
            ));
        }
    }
    if let Some((key, value)) = prefixes.get(annotations, "ttl") {
        settings.ttl = Some(
            parse_ttl(value)
                .map_err(|reason| skip(annotation_field(&key), value, reason.to_string()))?,
        );
    }
    if let Some((key, value)) = prefixes.get(annotations, "target") {
        let mut targets = Vec::new();
        for item in value.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let target = Target::parse(item).map_err(|reason| {
                skip(
                    annotation_field(&key),
                    value,
                    format!("{item:?} is {reason}"),
                )
            })?;
            if !targets.contains(&target) {
                targets.push(target);
            }
        }
        settings.targets = Some(targets);
    }
    if let Some((key, value)) = prefixes.get(annotations, "set-identifier") {
        let value = value.trim();
        if value.is_empty() || value.len() > 128 || value.chars().any(char::is_control) {
            return Err(skip(
                annotation_field(&key),
                value,
                "a set identifier must be 1 to 128 printable characters".to_string(),
            ));
        }
        settings.set_identifier = Some(value.to_string());
    }
    for (suffix, value) in prefixes.with_suffix(annotations) {
        let property = if suffix == "alias" {
            "alias".to_string()
        } else if let Some(aws) = suffix.strip_prefix("aws-") {
            format!("aws/{aws}")
        } else if let Some(webhook) = suffix.strip_prefix("webhook-") {
            format!("webhook/{webhook}")
        } else {
            continue;
        };
        // The preferred prefix comes first; keep its value.
        settings
            .properties
            .entry(property)
            .or_insert_with(|| value.trim().to_string());
    }
    Ok(settings)
}

/// Parses a TTL: whole seconds (`300`) or a duration (`10m`, `1h30m`), 1..=2147483647 s.
///
/// Fails on anything else, with a message saying what is accepted.
pub fn parse_ttl(value: &str) -> Result<u32, AnnotationError> {
    let trimmed = value.trim();
    let out_of_range = |value: String| AnnotationError::TtlOutOfRange { value };
    let seconds = match trimmed.parse::<u64>() {
        Ok(seconds) => seconds,
        Err(_) => match crate::duration::parse(trimmed) {
            Ok(duration) if duration.negative => return Err(AnnotationError::TtlNegative),
            Ok(duration) => duration.duration.as_secs(),
            Err(DurationError::TooLarge { .. }) => return Err(out_of_range(trimmed.to_string())),
            Err(DurationError::Invalid { .. } | DurationError::Negative { .. }) => {
                return Err(AnnotationError::TtlMalformed);
            }
        },
    };
    if !(1..=MAX_TTL).contains(&seconds) {
        return Err(out_of_range(seconds.to_string()));
    }
    u32::try_from(seconds).map_err(|_| out_of_range(seconds.to_string()))
}

/// Parses a comma-separated host name list found in `field`; bad names are skipped one by one.
pub fn parse_hostnames(
    resource: &ResourceRef,
    field: &str,
    value: &str,
    names: &mut Vec<DnsName>,
    skipped: &mut Vec<SkippedInput>,
) {
    if value.len() > MAX_VALUE_BYTES {
        skipped.push(SkippedInput::new(
            resource,
            field,
            value,
            format!(
                "the value is {} bytes, more than {MAX_VALUE_BYTES}; ignored",
                value.len()
            ),
            SkipScope::Hostname,
        ));
        return;
    }
    for item in value.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        push_hostname(resource, field, item, names, skipped);
    }
}

/// Refuses an object asking for more than [`MAX_NAMES_PER_OBJECT`] names: `Some(outcome)` with
/// the object skipped whole.
pub fn too_many_names(resource: &ResourceRef, names: &[DnsName]) -> Option<ObjectOutcome> {
    if names.len() <= MAX_NAMES_PER_OBJECT {
        return None;
    }
    let mut outcome = ObjectOutcome::not_selected(resource.clone());
    outcome.selected = true;
    outcome.skipped.push(SkippedInput::new(
        resource,
        "host names",
        &format!("{} names", names.len()),
        format!("an object may ask for at most {MAX_NAMES_PER_OBJECT} host names"),
        SkipScope::Object,
    ));
    Some(outcome)
}

/// Validates one host name found in `field` and adds it unless already present.
pub fn push_hostname(
    resource: &ResourceRef,
    field: &str,
    value: &str,
    names: &mut Vec<DnsName>,
    skipped: &mut Vec<SkippedInput>,
) {
    match DnsName::parse(value) {
        Ok(name) => {
            if !names.contains(&name) {
                names.push(name);
            }
        }
        Err(error) => skipped.push(SkippedInput::new(
            resource,
            field,
            value,
            format!("invalid host name: {error}"),
            SkipScope::Hostname,
        )),
    }
}

/// Appends load-balancer status entries (`ip`, `hostname`) as targets; bad ones are ignored
/// with a warning.
pub fn push_status_targets<'a>(
    resource: &ResourceRef,
    field_prefix: &str,
    entries: impl Iterator<Item = (Option<&'a str>, Option<&'a str>)>,
    targets: &mut Vec<Target>,
    skipped: &mut Vec<SkippedInput>,
) {
    for (index, (ip, hostname)) in entries.enumerate() {
        for (field, value) in [("ip", ip), ("hostname", hostname)] {
            let Some(value) = value.filter(|v| !v.trim().is_empty()) else {
                continue;
            };
            match Target::parse(value) {
                Ok(target) if !targets.contains(&target) => targets.push(target),
                Ok(_) => {}
                Err(reason) => skipped.push(SkippedInput::new(
                    resource,
                    format!("{field_prefix}[{index}].{field}"),
                    value,
                    reason,
                    SkipScope::Target,
                )),
            }
        }
    }
}

/// Keeps one host-name target when there is no address: a CNAME holds a single value.
pub fn single_cname_target(
    resource: &ResourceRef,
    field: &str,
    targets: &mut Vec<Target>,
    skipped: &mut Vec<SkippedInput>,
) {
    let has_address = targets.iter().any(|t| matches!(t, Target::Address(_)));
    let hosts: Vec<Target> = targets
        .iter()
        .filter(|t| matches!(t, Target::Host(_)))
        .cloned()
        .collect();
    if has_address || hosts.len() < 2 {
        return;
    }
    let mut sorted = hosts.clone();
    sorted.sort();
    let kept = sorted[0].clone();
    for extra in sorted.iter().skip(1) {
        skipped.push(SkippedInput::new(
            resource,
            field,
            &extra.to_string(),
            format!("a CNAME holds one target; using {kept}"),
            SkipScope::Target,
        ));
    }
    targets.retain(|t| matches!(t, Target::Address(_)) || *t == kept);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn annotations(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn ttl_accepts_seconds_and_durations() {
        assert_eq!(parse_ttl("300"), Ok(300));
        assert_eq!(parse_ttl("10m"), Ok(600));
        assert_eq!(parse_ttl("1h30m"), Ok(5400));
        assert_eq!(parse_ttl("2147483647"), Ok(2_147_483_647));
        let out_of_range = |value: &str| {
            Err(AnnotationError::TtlOutOfRange {
                value: value.into(),
            })
        };
        assert_eq!(parse_ttl("0"), out_of_range("0"));
        assert_eq!(parse_ttl("2147483648"), out_of_range("2147483648"));
        assert_eq!(parse_ttl("-5m"), Err(AnnotationError::TtlNegative));
        assert_eq!(parse_ttl("soon"), Err(AnnotationError::TtlMalformed));
        assert_eq!(parse_ttl(""), Err(AnnotationError::TtlMalformed));
    }

    /// Found by the `annotations` fuzz target: these used to panic inside kube's duration
    /// parser, so one annotation could crash the controller.
    #[test]
    fn ttl_refuses_durations_too_long_to_count() {
        let huge = parse_ttl("99999999999999999999h").unwrap_err().to_string();
        assert!(huge.contains("between 1 and 2147483647"), "{huge}");
        assert!(parse_ttl("5124095576030431h5124095576030431h").is_err());
        assert!(parse_ttl("5m-3s").is_err());
        assert!(parse_ttl("1e400h").is_err());
    }

    #[test]
    fn current_prefix_wins_over_alpha() {
        let prefixes = AnnotationPrefixes::default();
        let map = annotations(&[
            ("external-dns.alpha.kubernetes.io/ttl", "60"),
            ("external-dns.kubernetes.io/ttl", "120"),
        ]);
        let (key, value) = prefixes.get(&map, "ttl").unwrap();
        assert_eq!(key, "external-dns.kubernetes.io/ttl");
        assert_eq!(value, "120");
        let only_alpha = AnnotationPrefixes::only(ALPHA_PREFIX).unwrap();
        assert_eq!(only_alpha.get(&map, "ttl").unwrap().1, "60");
        let error = AnnotationPrefixes::only("no-slash").unwrap_err();
        assert_eq!(
            error.to_string(),
            "--annotation-prefix \"no-slash\" must end with '/' (e.g. external-dns.kubernetes.io/)"
        );
    }

    #[test]
    fn aws_annotations_become_properties() {
        let resource = ResourceRef {
            kind: super::super::ResourceKind::Service,
            namespace: "default".into(),
            name: "lb".into(),
        };
        let map = annotations(&[
            ("external-dns.alpha.kubernetes.io/aws-weight", "10"),
            ("external-dns.kubernetes.io/set-identifier", "blue"),
            ("external-dns.kubernetes.io/alias", "true"),
            ("external-dns.kubernetes.io/webhook-proxied", " true "),
        ]);
        let settings = read_common(&resource, &map, &AnnotationPrefixes::default()).unwrap();
        assert_eq!(settings.properties.get("aws/weight").unwrap(), "10");
        assert_eq!(settings.properties.get("webhook/proxied").unwrap(), "true");
        assert_eq!(settings.properties.get("alias").unwrap(), "true");
        assert_eq!(settings.set_identifier.as_deref(), Some("blue"));
    }
}
