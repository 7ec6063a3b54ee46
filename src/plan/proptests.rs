//! Property tests of the planner: for random zones and random desired states,
//! - applying the plan to a strict in-memory DNS then planning again gives an empty plan;
//! - no change ever touches a record (or marker) that zonesync did not own before;
//! - a policy never emits a change kind it forbids.

use std::collections::BTreeSet;

use proptest::prelude::*;
use zonesync_core::{Change, Endpoint, Provider, RecordKey, RecordType};
use zonesync_test_support::inmemory::InMemoryProvider;

use super::*;
use crate::apply::{ApplyMode, apply};
use crate::registry::RegistryConfig;
use crate::testing::{owned_by, txt, want, zone};

const NAMES: [&str; 5] = ["a", "b", "c", "d", "e"];
const RESOURCES: [&str; 3] = [
    "ingress/default/one",
    "ingress/default/two",
    "service/shop/api",
];
const ADDRESSES: [&str; 3] = ["192.0.2.1", "192.0.2.2", "2001:db8::1"];
const HOSTS: [&str; 2] = ["lb-1.example.net", "lb-2.example.net"];

/// What one name holds before the plan.
#[derive(Clone, Debug)]
enum Existing {
    Nothing,
    /// Owned by us for RESOURCES[r].
    Ours(RecordType, usize, usize),
    /// A record without marker.
    Unowned(RecordType, usize),
    /// Owned by another owner id.
    Theirs(RecordType, usize),
    /// Only a marker of ours (its record is gone).
    OrphanMarker(usize),
}

fn record_type() -> impl Strategy<Value = RecordType> {
    prop_oneof![
        Just(RecordType::A),
        Just(RecordType::Aaaa),
        Just(RecordType::Cname)
    ]
}

fn existing() -> impl Strategy<Value = Existing> {
    prop_oneof![
        Just(Existing::Nothing),
        (record_type(), 0..3usize, 0..2usize).prop_map(|(t, r, v)| Existing::Ours(t, r, v)),
        (record_type(), 0..2usize).prop_map(|(t, v)| Existing::Unowned(t, v)),
        (record_type(), 0..2usize).prop_map(|(t, v)| Existing::Theirs(t, v)),
        (0..3usize).prop_map(Existing::OrphanMarker),
    ]
}

/// One object's claim: a resource, some names, some targets.
#[derive(Clone, Debug)]
struct Wanted {
    resource: usize,
    names: Vec<usize>,
    addresses: Vec<usize>,
    host: Option<usize>,
    ttl: Option<u32>,
    created: Option<i64>,
}

fn wanted() -> impl Strategy<Value = Wanted> {
    (
        0..3usize,
        prop::collection::vec(0..5usize, 1..3),
        prop::collection::vec(0..3usize, 0..3),
        prop::option::of(0..2usize),
        prop::option::of(prop_oneof![Just(60u32), Just(300u32)]),
        prop::option::of(0..3i64),
    )
        .prop_map(|(resource, names, addresses, host, ttl, created)| Wanted {
            resource,
            names,
            addresses,
            host,
            ttl,
            created,
        })
}

fn policy() -> impl Strategy<Value = Policy> {
    prop_oneof![
        Just(Policy::Sync),
        Just(Policy::UpsertOnly),
        Just(Policy::CreateOnly)
    ]
}

fn value_for(record_type: &RecordType, index: usize) -> String {
    match record_type {
        RecordType::A => ["192.0.2.1", "192.0.2.9"][index % 2].to_string(),
        RecordType::Aaaa => ["2001:db8::1", "2001:db8::9"][index % 2].to_string(),
        _ => HOSTS[index % 2].to_string(),
    }
}

fn fqdn(index: usize) -> String {
    format!("{}.example.com", NAMES[index])
}

fn build_zone(registry: &Registry, existing: &[Existing]) -> Vec<Endpoint> {
    let mut records = Vec::new();
    for (index, state) in existing.iter().enumerate() {
        let name = fqdn(index);
        let make = |t: &RecordType, v: usize| {
            Endpoint::new(crate::testing::name(&name), t.clone(), [value_for(t, v)]).with_ttl(300)
        };
        match state {
            Existing::Nothing => {}
            Existing::Ours(t, r, v) => {
                records.extend(owned_by(registry, "default", make(t, *v), RESOURCES[*r]))
            }
            Existing::Unowned(t, v) => records.push(make(t, *v)),
            Existing::Theirs(t, v) => {
                records.extend(owned_by(registry, "other", make(t, *v), "ingress/x/y"))
            }
            Existing::OrphanMarker(r) => records.push(txt(
                &format!("a-{name}"),
                &format!(
                    "heritage=external-dns,external-dns/owner=default,external-dns/resource={}",
                    RESOURCES[*r]
                ),
            )),
        }
    }
    records
}

fn desired_from(wanted: &[Wanted]) -> DesiredState {
    let mut endpoints = Vec::new();
    let mut seen = BTreeSet::new();
    for w in wanted {
        let resource = RESOURCES[w.resource];
        seen.insert(resource.to_string());
        for &n in &w.names {
            let name = crate::testing::name(&fqdn(n));
            let mut by_type: Vec<(RecordType, Vec<String>)> = Vec::new();
            for &a in &w.addresses {
                let t = if ADDRESSES[a].contains(':') {
                    RecordType::Aaaa
                } else {
                    RecordType::A
                };
                match by_type.iter_mut().find(|(bt, _)| *bt == t) {
                    Some((_, values)) => values.push(ADDRESSES[a].to_string()),
                    None => by_type.push((t, vec![ADDRESSES[a].to_string()])),
                }
            }
            if let Some(h) = w.host {
                by_type.push((RecordType::Cname, vec![HOSTS[h].to_string()]));
            }
            for (t, values) in by_type {
                let mut endpoint = Endpoint::new(name.clone(), t, values);
                endpoint.ttl = w.ttl;
                endpoints.push(want(endpoint, resource, w.created));
            }
        }
    }
    DesiredState {
        endpoints,
        selected: seen.clone(),
        seen,
        protected: BTreeSet::new(),
    }
}

fn plan(
    registry: &Registry,
    options: &PlanOptions,
    desired: &DesiredState,
    records: Vec<Endpoint>,
) -> Plan {
    let inventory = registry.inventory(records);
    Planner::new(registry, options).plan(
        &desired.endpoints,
        desired,
        &[(zone("example.com"), inventory)],
        &[],
    )
}

fn all_changes(plan: &Plan) -> Vec<&Change> {
    plan.zones
        .iter()
        .flat_map(|z| z.rows.iter())
        .flat_map(|r| r.changes.iter().chain(r.markers.iter()))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn plans_converge_and_respect_ownership_and_policy(
        existing in prop::collection::vec(existing(), 5),
        wanted in prop::collection::vec(wanted(), 0..4),
        policy in policy(),
    ) {
        let registry = Registry::new(RegistryConfig::default()).unwrap();
        let options = PlanOptions { policy, ..PlanOptions::default() };
        let records = build_zone(&registry, &existing);
        let desired = desired_from(&wanted);
        let first = plan(&registry, &options, &desired, records.clone());

        // Only records (and markers) we owned may be updated or deleted.
        let inventory = registry.inventory(records.clone());
        let mut ours: BTreeSet<RecordKey> = inventory
            .records
            .iter()
            .filter(|r| r.ownership.is_ours())
            .flat_map(|r| std::iter::once(r.endpoint.key()).chain(inventory.markers_of(r).map(Endpoint::key)))
            .collect();
        ours.extend(
            inventory
                .markers
                .iter()
                .filter(|m| m.owner() == Some("default"))
                .map(|m| m.record.key()),
        );
        for change in all_changes(&first) {
            match change {
                Change::Update { old, .. } | Change::Delete { old, .. } => {
                    prop_assert!(ours.contains(&old.key()), "touched foreign {}", old.key());
                }
                Change::Create { record } => {
                    let exists = records.iter().any(|r| r.key() == record.key());
                    prop_assert!(!exists, "create of existing {}", record.key());
                }
            }
        }

        // The policy forbids what it forbids.
        for zone in &first.zones {
            for change in zone.changes() {
                prop_assert!(policy.allows(change), "{policy} emitted {}", change.action());
            }
            for row in &zone.rows {
                for marker in &row.markers {
                    if matches!(marker, Change::Delete { .. }) {
                        prop_assert_eq!(policy, Policy::Sync, "marker delete under {}", policy);
                    }
                }
            }
        }

        // Applying the plan to a strict DNS works, and planning again finds nothing to do.
        let provider = InMemoryProvider::new().with_zone(zone("example.com"));
        for record in &records {
            provider.insert("example.com", record.clone());
        }
        let outcome = futures::executor::block_on(apply(
            &provider,
            &first,
            ApplyMode::Apply,
            |_, _, _| {},
        ));
        prop_assert!(outcome.is_success(), "{}", outcome);
        let after = futures::executor::block_on(provider.records(&zone("example.com"))).unwrap();
        let second = plan(&registry, &options, &desired, after.clone());
        prop_assert!(
            !second.has_changes(),
            "second plan not empty: {:?}",
            all_changes(&second).iter().map(|c| format!("{} {}", c.action(), c.key())).collect::<Vec<_>>()
        );

        // Nothing foreign changed.
        for record in records.iter().filter(|r| !ours.contains(&r.key())) {
            prop_assert!(after.contains(record), "foreign {} changed", record.key());
        }
    }
}
