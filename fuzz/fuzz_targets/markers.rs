//! Ownership markers: names and values under arbitrary `--txt-prefix`, `--txt-suffix` and
//! `--txt-wildcard-replacement` settings, and `Registry::inventory` over arbitrary records.
//!
//! The input is text, one item a line, so seeds read like the registry's tests and a crash
//! reproduces as a readable file (bytes that are not UTF-8 are replaced):
//!
//! ```text
//! @owner default        @prefix _o.      @suffix -%{record_type}      @wildcard any
//! name www.example.com                        a name whose markers are checked
//! marker a-www.example.com                    read back with record_for_marker
//! value heritage=external-dns,external-dns/owner=default     parsed as a marker value
//! label owner=default                         written and parsed as a marker value
//! www.example.com A 192.0.2.1                 a record for inventory()
//! ~A:www.example.com TXT heritage=external-dns,external-dns/owner=default
//! lb.example.com set=eu alias A abc.elb.amazonaws.com
//! ```
//!
//! (`~TYPE:name` is the marker name of `name` under the configured affixes.)
//!
//! Checks, beyond "no panic":
//! - a marker name reads back as its record (`record_for_marker(marker_name(n, t))` is
//!   `(n, Some(t))` for t in A, AAAA, CNAME, `n` spelt with the wildcard replacement) whenever
//!   that is decidable: the host label holds no dot when a suffix is used, and no type read
//!   earlier (A before AAAA before CNAME) fits the marker's `%{record_type}` affix too
//!   (`%{record_type}` directly followed by the host makes `aaaa…` read as `a`, as in
//!   external-dns);
//! - then, when the marker name has no empty label, a record and the marker `marker_for`
//!   writes for it are read back as ours, with no orphan marker;
//! - an accepted marker placement is inside the zone and within DNS length limits;
//! - marker values round-trip through `marker_value` / `parse_marker_value`;
//! - `inventory` keeps every record, and only calls a record ours when a marker with our owner
//!   id vouches for it.

#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use zonesync::registry::{Inventory, Ownership, Registry, RegistryConfig};
use zonesync_core::{DnsName, Endpoint, LABEL_OWNER, LABEL_RESOURCE, Labels, RecordType, Zone};

const TEMPLATE: &str = "%{record_type}";
/// The types whose markers carry a readable type token, in the order the registry tries them.
const TYPED: [RecordType; 6] = [
    RecordType::A,
    RecordType::Aaaa,
    RecordType::Cname,
    RecordType::Ns,
    RecordType::Mx,
    RecordType::Srv,
];

/// What the lines describe.
#[derive(Default)]
struct Described {
    config: RegistryConfig,
    /// Names whose markers are checked (`name` lines and record owners).
    names: Vec<String>,
    /// `marker` lines.
    marker_names: Vec<String>,
    /// `value` lines.
    marker_values: Vec<String>,
    /// `label` lines.
    labels: BTreeMap<String, String>,
    records: Vec<RecordLine>,
}

struct RecordLine {
    owner: String,
    record_type: String,
    target: String,
    set_identifier: Option<String>,
    alias: bool,
}

fn describe(text: &str) -> Described {
    let mut described = Described::default();
    for line in text.lines() {
        let (word, rest) = line.split_once(' ').unwrap_or((line, ""));
        let config = &mut described.config;
        match word {
            "@owner" => config.owner_id = rest.to_string(),
            "@prefix" => config.prefix = rest.to_string(),
            "@suffix" => config.suffix = rest.to_string(),
            "@wildcard" => config.wildcard_replacement = Some(rest.to_string()),
            "name" => described.names.push(rest.to_string()),
            "marker" => described.marker_names.push(rest.to_string()),
            "value" => described.marker_values.push(rest.to_string()),
            "label" => {
                let (key, value) = rest.split_once('=').unwrap_or((rest, ""));
                described.labels.insert(key.to_string(), value.to_string());
            }
            _ if line.trim().is_empty() || line.starts_with('#') => {}
            owner => {
                let mut record = RecordLine {
                    owner: owner.to_string(),
                    record_type: String::new(),
                    target: String::new(),
                    set_identifier: None,
                    alias: false,
                };
                let mut rest = rest;
                loop {
                    let (token, after) = rest.split_once(' ').unwrap_or((rest, ""));
                    if let Some(set_identifier) = token.strip_prefix("set=") {
                        record.set_identifier = Some(set_identifier.to_string());
                    } else if token == "alias" {
                        record.alias = true;
                    } else {
                        record.record_type = token.to_string();
                        record.target = after.to_string();
                        break;
                    }
                    rest = after;
                }
                described.names.push(owner.to_string());
                described.records.push(record);
            }
        }
    }
    described
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let described = describe(&text);
    for value in &described.marker_values {
        check_marker_value(value);
    }
    check_labels_round_trip(&described.labels);
    let Ok(registry) = Registry::new(described.config.clone()) else {
        return;
    };
    for marker in &described.marker_names {
        let _ = registry.record_for_marker(marker);
    }
    for name in &described.names {
        if let Ok(name) = DnsName::parse(name) {
            check_marker_names(&registry, &described.config, &name);
        }
    }
    let records = build_records(&registry, &described.records);
    let count = records.len();
    let inventory = registry.inventory(records);
    check_inventory(&registry, &inventory, count);
});

fn check_marker_value(value: &str) {
    let Some(labels) = Registry::parse_marker_value(value) else {
        return;
    };
    // Labels read from a marker are written back as the same marker, as long as no value
    // holds a quote (the reader strips quotes around the whole value).
    if labels
        .iter()
        .all(|(k, v)| !k.contains('"') && !v.contains('"'))
    {
        let written = Registry::marker_value(&labels);
        assert_eq!(
            Registry::parse_marker_value(&written).as_ref(),
            Some(&labels),
            "{value:?} rewritten as {written:?}"
        );
    }
}

fn check_labels_round_trip(labels: &BTreeMap<String, String>) {
    let writable = labels
        .iter()
        .all(|(k, v)| !format!("{k}{v}").contains([',', '=', '"']));
    if !writable {
        return;
    }
    let labels: Labels = labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    let written = Registry::marker_value(&labels);
    assert_eq!(
        Registry::parse_marker_value(&written),
        Some(labels),
        "labels written as {written:?}"
    );
}

/// The record name as markers spell it: a leading `*` replaced when configured.
fn lookup_name(config: &RegistryConfig, name: &DnsName) -> String {
    match config
        .wildcard_replacement
        .as_deref()
        .filter(|r| !r.is_empty())
    {
        Some(replacement) if name.is_wildcard() => {
            let replacement = replacement.to_ascii_lowercase();
            match name.parent() {
                "" => replacement,
                parent => format!("{replacement}.{parent}"),
            }
        }
        _ => name.to_string(),
    }
}

/// The host label as the marker holds it.
fn marker_host(config: &RegistryConfig, name: &DnsName) -> String {
    match config
        .wildcard_replacement
        .as_deref()
        .filter(|r| !r.is_empty())
    {
        Some(replacement) if name.is_wildcard() => replacement.to_ascii_lowercase(),
        _ => name.first_label().to_string(),
    }
}

/// True when the marker name for `record_type` cannot be read as another type's marker that
/// the registry tries first.
fn unambiguous(config: &RegistryConfig, marker: &str, record_type: &RecordType) -> bool {
    let prefix = config.prefix.to_ascii_lowercase();
    let suffix = config.suffix.to_ascii_lowercase();
    if !prefix.contains(TEMPLATE) && !suffix.contains(TEMPLATE) {
        return true;
    }
    let dots = suffix.matches('.').count();
    let head: String = marker
        .split('.')
        .take(dots + 1)
        .collect::<Vec<_>>()
        .join(".");
    TYPED
        .iter()
        .take_while(|earlier| *earlier != record_type)
        .all(|earlier| {
            let token = earlier.as_str().to_ascii_lowercase();
            if suffix.is_empty() {
                !marker.starts_with(&prefix.replace(TEMPLATE, &token))
            } else {
                !head.ends_with(&suffix.replace(TEMPLATE, &token))
            }
        })
}

fn check_marker_names(registry: &Registry, config: &RegistryConfig, name: &DnsName) {
    for record_type in [RecordType::A, RecordType::Aaaa, RecordType::Cname] {
        let marker = registry.marker_name(name, &record_type);
        assert!(
            registry
                .marker_names_for(name)
                .contains(&DnsName::from_provider(&marker)),
            "marker_names_for({name}) misses {marker}"
        );
        let read = registry.record_for_marker(&marker);
        let host_has_dot = marker_host(config, name).contains('.');
        let decidable = (config.suffix.is_empty() || !host_has_dot)
            && unambiguous(config, &marker, &record_type);
        if decidable {
            assert_eq!(
                read,
                Some((lookup_name(config, name), Some(record_type.clone()))),
                "marker {marker} of {name} {record_type} reads back wrongly"
            );
            // An affix or replacement with a dot at its edge makes marker names with an
            // empty label (`a-any..example.com`) that no DNS server stores; such a marker is
            // not expected to work (the provider refuses it).
            let well_formed = !marker.split('.').any(str::is_empty);
            if well_formed {
                check_owned_pair(registry, name, &record_type);
            }
        }
        // The zone of a record is one of its ancestors; checking must not panic, and an
        // accepted marker is a name within the zone.
        let mut zone_name = name.as_str();
        loop {
            let zone = Zone::new(DnsName::from_provider(zone_name));
            if registry
                .check_marker_placement(name, &record_type, &zone)
                .is_ok()
            {
                assert!(
                    zonesync_core::name::is_within(&marker, zone.name.as_str()),
                    "{marker} accepted outside {}",
                    zone.name
                );
                assert!(marker.len() <= zonesync_core::MAX_NAME_LEN);
                assert!(
                    marker
                        .split('.')
                        .all(|l| l.len() <= zonesync_core::MAX_LABEL_LEN)
                );
            }
            match zone_name.split_once('.') {
                Some((_, parent)) => zone_name = parent,
                None => break,
            }
        }
    }
}

/// A record and the marker zonesync would write for it read back as ours, with no orphan.
fn check_owned_pair(registry: &Registry, name: &DnsName, record_type: &RecordType) {
    let target = match record_type {
        RecordType::A => "192.0.2.1",
        RecordType::Aaaa => "2001:db8::1",
        _ => "lb.example.net",
    };
    let record = Endpoint::new(name.clone(), record_type.clone(), [target])
        .with_label(LABEL_OWNER, registry.owner_id())
        .with_label(LABEL_RESOURCE, "ingress/default/web");
    let marker = registry.marker_for(&record);
    let inventory = registry.inventory(vec![record.clone(), marker.clone()]);
    assert_eq!(
        inventory.markers.len(),
        1,
        "{marker} is not read as the marker of {record}"
    );
    assert_eq!(inventory.records.len(), 1);
    assert_eq!(
        inventory.records[0].ownership,
        Ownership::Ours,
        "{record} with marker {marker} is not ours"
    );
    assert!(
        registry.orphan_markers(&inventory).is_empty(),
        "{marker} is an orphan next to {record}"
    );
}

/// Endpoints of the record lines; an owner `~TYPE:name` stands for the marker name of `name`.
fn build_records(registry: &Registry, lines: &[RecordLine]) -> Vec<Endpoint> {
    lines
        .iter()
        .filter_map(|line| {
            let record_type: RecordType = line.record_type.parse().ok()?;
            let name = match line
                .owner
                .strip_prefix('~')
                .and_then(|marker| marker.split_once(':'))
            {
                Some((of_type, of_name)) => {
                    let of_type: RecordType = of_type.parse().ok()?;
                    let of_name = DnsName::parse(of_name).ok()?;
                    DnsName::from_provider(&registry.marker_name(&of_name, &of_type))
                }
                None => DnsName::from_provider(&line.owner),
            };
            let mut endpoint = Endpoint::new(name, record_type, [line.target.as_str()]);
            if let Some(set_identifier) = &line.set_identifier {
                endpoint = endpoint.with_set_identifier(set_identifier.clone());
            }
            if line.alias {
                endpoint = endpoint.with_property("alias", "true");
            }
            Some(endpoint)
        })
        .collect()
}

fn check_inventory(registry: &Registry, inventory: &Inventory, count: usize) {
    assert_eq!(
        inventory.records.len() + inventory.markers.len(),
        count,
        "inventory lost or invented records"
    );
    for marker in &inventory.markers {
        assert_eq!(marker.record.record_type, RecordType::Txt);
        assert_eq!(
            registry.record_for_marker(marker.record.name.as_str()),
            Some(marker.points_at.clone())
        );
    }
    for record in &inventory.records {
        match &record.ownership {
            Ownership::Ours => {
                let first = inventory
                    .markers_of(record)
                    .next()
                    .expect("ours without a marker");
                let labels = first
                    .targets
                    .iter()
                    .next()
                    .and_then(|value| Registry::parse_marker_value(value))
                    .expect("the vouching marker has a marker value");
                assert_eq!(
                    labels.get(LABEL_OWNER).map(String::as_str),
                    Some(registry.owner_id())
                );
                assert_eq!(record.endpoint.owner(), Some(registry.owner_id()));
            }
            Ownership::OtherOwner(owner) => {
                assert_ne!(owner, registry.owner_id());
                assert!(!record.markers.is_empty());
            }
            Ownership::Unowned => {}
        }
    }
    for orphan in registry.orphan_markers(inventory) {
        assert_eq!(orphan.owner(), Some(registry.owner_id()));
    }
}
