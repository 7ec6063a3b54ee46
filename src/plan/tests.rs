//! Planner tests: policy × ownership × record type × conflicts.

use std::collections::BTreeSet;

use zonesync_core::{
    Change, DeleteReason, Endpoint, LABEL_OWNER, LABEL_RESOURCE, Provider, RecordType, UpdateField,
    differences,
};
use zonesync_test_support::inmemory::InMemoryProvider;

use super::row::needs_update;
use super::*;
use crate::apply::{ApplyMode, apply};
use crate::registry::RegistryConfig;
use crate::testing::*;

const WEB: &str = "ingress/default/web";
const API: &str = "ingress/default/api";

struct Scenario {
    registry: Registry,
    options: PlanOptions,
    zone: Zone,
    current: Vec<Endpoint>,
    wanted: Vec<DesiredEndpoint>,
    seen: Option<BTreeSet<String>>,
    selected: Option<BTreeSet<String>>,
    protected: BTreeSet<String>,
}

impl Scenario {
    fn new() -> Self {
        Self {
            registry: Registry::new(RegistryConfig::default()).unwrap(),
            options: PlanOptions::default(),
            zone: zone("example.com"),
            current: Vec::new(),
            wanted: Vec::new(),
            seen: None,
            selected: None,
            protected: BTreeSet::new(),
        }
    }

    /// Adds a record owned by us for `resource`.
    fn ours(mut self, record: Endpoint, resource: &str) -> Self {
        let pair = owned_by(&self.registry, "default", record, resource);
        self.current.extend(pair);
        self
    }

    /// Adds a record owned by another owner id.
    fn theirs(mut self, owner: &str, record: Endpoint) -> Self {
        let pair = owned_by(&self.registry, owner, record, "ingress/x/y");
        self.current.extend(pair);
        self
    }

    /// Adds a record without any marker.
    fn unowned(mut self, mut record: Endpoint) -> Self {
        record.ttl = Some(record.ttl.unwrap_or(300));
        self.current.push(record);
        self
    }

    fn want(mut self, endpoint: Endpoint, resource: &str) -> Self {
        self.wanted.push(want(endpoint, resource, None));
        self
    }

    fn want_at(mut self, endpoint: Endpoint, resource: &str, created: i64) -> Self {
        self.wanted.push(want(endpoint, resource, Some(created)));
        self
    }

    fn policy(mut self, policy: Policy) -> Self {
        self.options.policy = policy;
        self
    }

    fn desired(&self) -> DesiredState {
        let resources: BTreeSet<String> = self
            .wanted
            .iter()
            .filter_map(|w| w.endpoint.resource().map(str::to_string))
            .collect();
        DesiredState {
            endpoints: self.wanted.clone(),
            seen: self.seen.clone().unwrap_or_else(|| resources.clone()),
            selected: self.selected.clone().unwrap_or(resources),
            protected: self.protected.clone(),
        }
    }

    fn plan(&self) -> Plan {
        let inventory = self.registry.inventory(self.current.clone());
        let desired = self.desired();
        Planner::new(&self.registry, &self.options).plan(
            &desired.endpoints,
            &desired,
            &[(self.zone.clone(), inventory)],
            &[],
        )
    }
}

fn changes(plan: &Plan) -> Vec<Change> {
    plan.zones
        .iter()
        .flat_map(|z| z.changes().cloned())
        .collect()
}

fn markers(plan: &Plan) -> Vec<Change> {
    plan.zones
        .iter()
        .flat_map(|z| z.rows.iter().flat_map(|r| r.markers.clone()))
        .collect()
}

fn summary(plan: &Plan) -> Vec<String> {
    changes(plan)
        .iter()
        .map(|c| format!("{} {}", c.action(), c.key()))
        .collect()
}

#[test]
fn creates_record_and_marker_with_default_ttl() {
    let plan = Scenario::new()
        .want(a("www.example.com", ["192.0.2.1"]), WEB)
        .plan();
    let changes = changes(&plan);
    assert_eq!(changes.len(), 1);
    let Change::Create { record } = &changes[0] else {
        panic!("expected a create, got {changes:?}")
    };
    assert_eq!(record.ttl, Some(300));
    assert_eq!(record.owner(), Some("default"));
    assert_eq!(record.resource(), Some(WEB));
    let markers = markers(&plan);
    assert_eq!(markers.len(), 1);
    let Change::Create { record: marker } = &markers[0] else {
        panic!("expected a marker create")
    };
    assert_eq!(marker.name.as_str(), "a-www.example.com");
    assert_eq!(
        marker.targets.as_slice(),
        [
            "heritage=external-dns,external-dns/owner=default,external-dns/resource=ingress/default/web"
        ]
    );
    assert_eq!(plan.counts().create, 1);
}

#[test]
fn nothing_to_do_when_in_sync() {
    let plan = Scenario::new()
        .ours(a("www.example.com", ["192.0.2.1"]), WEB)
        .want(a("www.example.com", ["192.0.2.1"]), WEB)
        .plan();
    assert!(!plan.has_changes(), "{:?}", changes(&plan));
}

#[test]
fn updates_targets_and_keeps_marker() {
    let plan = Scenario::new()
        .ours(a("www.example.com", ["192.0.2.1"]), WEB)
        .want(a("www.example.com", ["192.0.2.2", "192.0.2.3"]), WEB)
        .plan();
    let changes = changes(&plan);
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].updated_fields(), [UpdateField::Targets]);
    let Change::Update { new, .. } = &changes[0] else {
        panic!()
    };
    assert_eq!(new.ttl, Some(300), "unset TTL keeps the current one");
    assert!(markers(&plan).is_empty());
}

#[test]
fn ttl_updates_only_when_configured() {
    let unset = Scenario::new()
        .ours(a("www.example.com", ["192.0.2.1"]).with_ttl(600), WEB)
        .want(a("www.example.com", ["192.0.2.1"]), WEB)
        .plan();
    assert!(!unset.has_changes());
    let set = Scenario::new()
        .ours(a("www.example.com", ["192.0.2.1"]).with_ttl(600), WEB)
        .want(a("www.example.com", ["192.0.2.1"]).with_ttl(60), WEB)
        .plan();
    assert_eq!(changes(&set)[0].updated_fields(), [UpdateField::Ttl]);
}

#[test]
fn targets_compare_case_and_order_insensitively() {
    let plan = Scenario::new()
        .ours(cname("www.example.com", "LB.example.net."), WEB)
        .want(cname("www.example.com", "lb.example.net"), WEB)
        .plan();
    assert!(!plan.has_changes());
}

#[test]
fn new_claimant_rewrites_marker() {
    let plan = Scenario::new()
        .ours(a("www.example.com", ["192.0.2.1"]), WEB)
        .want(a("www.example.com", ["192.0.2.1"]), API)
        .plan();
    let changes = changes(&plan);
    assert_eq!(changes[0].updated_fields(), [UpdateField::Resource]);
    let markers = markers(&plan);
    assert_eq!(markers.len(), 1);
    let Change::Update { new, .. } = &markers[0] else {
        panic!()
    };
    assert!(new.targets.as_slice()[0].ends_with("resource=ingress/default/api"));
}

#[test]
fn delete_reasons_say_why() {
    let base = || {
        Scenario::new()
            .ours(a("gone.example.com", ["192.0.2.1"]), WEB)
            .want(a("other.example.com", ["192.0.2.9"]), API)
    };
    let gone = base().plan();
    assert!(changes(&gone).contains(&Change::Delete {
        old: gone_record(&gone),
        reason: DeleteReason::ResourceGone {
            resource: WEB.into()
        }
    }));

    let mut filtered = base();
    filtered.seen = Some([WEB.to_string(), API.to_string()].into());
    let filtered = filtered.plan();
    assert!(matches!(
        delete_reason(&filtered),
        DeleteReason::ResourceNotSelected { .. }
    ));

    let mut unclaimed = base();
    unclaimed.seen = Some([WEB.to_string(), API.to_string()].into());
    unclaimed.selected = Some([WEB.to_string(), API.to_string()].into());
    let unclaimed = unclaimed.plan();
    assert!(matches!(
        delete_reason(&unclaimed),
        DeleteReason::NoLongerClaimed { .. }
    ));
    // The marker goes in the same row.
    let marker_deletes: Vec<_> = markers(&unclaimed)
        .into_iter()
        .filter(|m| matches!(m, Change::Delete { .. }))
        .map(|m| m.record().name.to_string())
        .collect();
    assert_eq!(marker_deletes, ["a-gone.example.com"]);
}

fn gone_record(plan: &Plan) -> Endpoint {
    changes(plan)
        .into_iter()
        .find_map(|c| match c {
            Change::Delete { old, .. } => Some(old),
            _ => None,
        })
        .expect("a delete")
}

fn delete_reason(plan: &Plan) -> DeleteReason {
    changes(plan)
        .into_iter()
        .find_map(|c| match c {
            Change::Delete { reason, .. } => Some(reason),
            _ => None,
        })
        .expect("a delete")
}

#[test]
fn foreign_records_are_never_touched() {
    let plan = Scenario::new()
        .unowned(a("manual.example.com", ["192.0.2.50"]))
        .theirs("other-cluster", a("shared.example.com", ["192.0.2.60"]))
        .unowned(txt("example.com", "v=spf1 -all"))
        .want(a("manual.example.com", ["192.0.2.1"]), WEB)
        .want(a("shared.example.com", ["192.0.2.1"]), WEB)
        .plan();
    assert!(!plan.has_changes(), "{:?}", summary(&plan));
    assert_eq!(plan.conflicts.len(), 2);
    let owners: Vec<Option<String>> = plan
        .conflicts
        .iter()
        .map(|c| match &c.kind {
            ConflictKind::ForeignRecord { owner, .. } => owner.clone(),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(owners, [None, Some("other-cluster".to_string())]);
    // Nothing wants them: still nothing happens.
    let idle = Scenario::new()
        .unowned(a("manual.example.com", ["192.0.2.50"]))
        .theirs("other-cluster", a("shared.example.com", ["192.0.2.60"]))
        .plan();
    assert!(!idle.has_changes());
}

#[test]
fn policies_filter_change_kinds() {
    let scenario = || {
        Scenario::new()
            .ours(a("old.example.com", ["192.0.2.1"]), "ingress/default/old")
            .ours(a("www.example.com", ["192.0.2.1"]), WEB)
            .want(a("www.example.com", ["192.0.2.2"]), WEB)
            .want(a("new.example.com", ["192.0.2.3"]), API)
    };
    let sync = scenario().plan();
    assert_eq!(
        summary(&sync),
        [
            "create new.example.com A",
            "delete old.example.com A",
            "update www.example.com A"
        ]
    );
    let upsert = scenario().policy(Policy::UpsertOnly).plan();
    assert_eq!(
        summary(&upsert),
        ["create new.example.com A", "update www.example.com A"]
    );
    assert!(
        markers(&upsert)
            .iter()
            .all(|m| !matches!(m, Change::Delete { .. }))
    );
    let create = scenario().policy(Policy::CreateOnly).plan();
    assert_eq!(summary(&create), ["create new.example.com A"]);
}

#[test]
fn older_object_wins_a_contested_name() {
    let plan = Scenario::new()
        .want_at(a("shop.example.com", ["192.0.2.2"]), API, 2_000)
        .want_at(a("shop.example.com", ["192.0.2.1"]), WEB, 1_000)
        .plan();
    let changes = changes(&plan);
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].record().resource(), Some(WEB));
    assert_eq!(
        plan.conflicts[0].kind,
        ConflictKind::ClaimedFirst {
            winner: WEB.into(),
            losers: vec![API.into()]
        }
    );
}

#[test]
fn current_owner_keeps_a_contested_name() {
    let plan = Scenario::new()
        .ours(a("shop.example.com", ["192.0.2.2"]), API)
        .want_at(a("shop.example.com", ["192.0.2.2"]), API, 2_000)
        .want_at(a("shop.example.com", ["192.0.2.1"]), WEB, 1_000)
        .plan();
    assert!(!plan.has_changes());
    assert!(matches!(
        &plan.conflicts[0].kind,
        ConflictKind::AlreadyOwned { winner, .. } if winner == API
    ));
}

#[test]
fn ties_break_on_object_name() {
    let plan = Scenario::new()
        .want(a("shop.example.com", ["192.0.2.2"]), "ingress/b/b")
        .want(a("shop.example.com", ["192.0.2.1"]), "ingress/a/a")
        .plan();
    assert_eq!(changes(&plan)[0].record().resource(), Some("ingress/a/a"));
}

#[test]
fn set_identifiers_let_objects_share_a_name() {
    let plan = Scenario::new()
        .want(
            a("shop.example.com", ["192.0.2.1"]).with_set_identifier("blue"),
            WEB,
        )
        .want(
            a("shop.example.com", ["192.0.2.2"]).with_set_identifier("green"),
            API,
        )
        .plan();
    assert!(plan.conflicts.is_empty());
    assert_eq!(changes(&plan).len(), 2);
    assert_eq!(markers(&plan).len(), 2);
}

#[test]
fn addresses_win_over_cname_of_the_same_object() {
    let plan = Scenario::new()
        .want(a("mixed.example.com", ["192.0.2.1"]), WEB)
        .want(cname("mixed.example.com", "lb.example.net"), WEB)
        .plan();
    assert_eq!(summary(&plan), ["create mixed.example.com A"]);
    assert!(matches!(
        plan.conflicts[0].kind,
        ConflictKind::CnameBesideAddresses { .. }
    ));
}

#[test]
fn cname_to_a_lands_in_one_row() {
    let plan = Scenario::new()
        .ours(cname("app.example.com", "lb.example.net"), WEB)
        .want(a("app.example.com", ["192.0.2.1"]), WEB)
        .plan();
    let zone = &plan.zones[0];
    assert_eq!(zone.rows.len(), 1);
    let row = &zone.rows[0];
    assert_eq!(row.changes.len(), 2);
    assert!(matches!(
        &row.changes[0],
        Change::Delete { reason: DeleteReason::ReplacedByType { record_type }, .. }
            if *record_type == RecordType::A
    ));
    assert!(matches!(&row.changes[1], Change::Create { .. }));
    let marker_names: Vec<String> = row
        .markers
        .iter()
        .map(|m| format!("{} {}", m.action(), m.record().name))
        .collect();
    assert_eq!(
        marker_names,
        ["delete cname-app.example.com", "create a-app.example.com"]
    );
}

#[test]
fn cname_is_not_created_beside_foreign_data() {
    let plan = Scenario::new()
        .unowned(record(
            "app.example.com",
            RecordType::Mx,
            ["10 mail.example.com"],
        ))
        .want(cname("app.example.com", "lb.example.net"), WEB)
        .plan();
    assert!(!plan.has_changes());
    assert!(matches!(
        &plan.conflicts[0].kind,
        ConflictKind::ForeignRecord { existing, .. } if existing.record_type == RecordType::Mx
    ));
    let a_beside_foreign_cname = Scenario::new()
        .unowned(cname("app.example.com", "elsewhere.example.net"))
        .want(a("app.example.com", ["192.0.2.1"]), WEB)
        .plan();
    assert!(!a_beside_foreign_cname.has_changes());
}

#[test]
fn upsert_only_does_not_swap_cname_for_a() {
    let plan = Scenario::new()
        .ours(cname("app.example.com", "lb.example.net"), WEB)
        .want(a("app.example.com", ["192.0.2.1"]), WEB)
        .policy(Policy::UpsertOnly)
        .plan();
    assert!(!plan.has_changes(), "{:?}", summary(&plan));
    assert_eq!(plan.conflicts.len(), 1);
}

#[test]
fn unmanaged_types_and_filtered_domains_are_left_alone() {
    let mut scenario = Scenario::new()
        .ours(a("www.example.com", ["192.0.2.1"]), WEB)
        .ours(cname("other.example.com", "lb.example.net"), API)
        .want(cname("new.example.com", "lb.example.net"), API);
    scenario.options.managed_types = [RecordType::A].into();
    scenario.options.domain_filter =
        crate::filter::DomainFilter::new(["other.example.com"], Vec::<String>::new()).unwrap();
    let plan = scenario.plan();
    assert!(!plan.has_changes(), "{:?}", summary(&plan));
}

#[test]
fn orphan_markers_are_collected_or_reused() {
    let scenario = Scenario::new()
        .unowned(txt(
            "a-gone.example.com",
            "heritage=external-dns,external-dns/owner=default,external-dns/resource=ingress/default/gone",
        ))
        .unowned(txt(
            "a-back.example.com",
            "heritage=external-dns,external-dns/owner=default,external-dns/resource=ingress/default/web",
        ))
        .unowned(txt(
            "a-theirs.example.com",
            "heritage=external-dns,external-dns/owner=someone-else",
        ))
        .want(a("back.example.com", ["192.0.2.1"]), WEB);
    let plan = scenario.plan();
    assert_eq!(summary(&plan), ["create back.example.com A"]);
    let markers: Vec<String> = markers(&plan)
        .iter()
        .map(|m| format!("{} {}", m.action(), m.record().name))
        .collect();
    assert_eq!(
        markers,
        ["delete a-gone.example.com"],
        "the reused marker is unchanged"
    );
    assert_eq!(plan.counts().delete, 1);

    let upsert = Scenario::new()
        .unowned(txt(
            "a-gone.example.com",
            "heritage=external-dns,external-dns/owner=default",
        ))
        .policy(Policy::UpsertOnly)
        .plan();
    assert!(!upsert.has_changes());
}

#[test]
fn marker_owned_by_someone_else_blocks_creation() {
    let plan = Scenario::new()
        .unowned(txt(
            "a-www.example.com",
            "heritage=external-dns,external-dns/owner=other",
        ))
        .want(a("www.example.com", ["192.0.2.1"]), WEB)
        .plan();
    assert!(!plan.has_changes());
    assert!(matches!(
        &plan.conflicts[0].kind,
        ConflictKind::ForeignRecord { owner: Some(owner), .. } if owner == "other"
    ));
}

#[test]
fn apex_without_prefix_is_skipped_with_a_reason() {
    let plan = Scenario::new()
        .want(a("example.com", ["192.0.2.1"]), WEB)
        .plan();
    assert!(!plan.has_changes());
    assert_eq!(plan.skipped.len(), 1);
    assert!(
        plan.skipped[0].reason.contains("outside zone example.com"),
        "{}",
        plan.skipped[0].reason
    );
    let mut with_prefix = Scenario::new().want(a("example.com", ["192.0.2.1"]), WEB);
    with_prefix.registry = Registry::new(RegistryConfig {
        prefix: "zonesync-%{record_type}.".into(),
        ..RegistryConfig::default()
    })
    .unwrap();
    let plan = with_prefix.plan();
    assert_eq!(summary(&plan), ["create example.com A"]);
    assert_eq!(
        markers(&plan)[0].record().name.as_str(),
        "zonesync-a.example.com"
    );
}

#[test]
fn records_of_skipped_objects_are_kept() {
    let mut scenario = Scenario::new().ours(a("www.example.com", ["192.0.2.1"]), WEB);
    scenario.seen = Some([WEB.to_string()].into());
    scenario.selected = Some([WEB.to_string()].into());
    scenario.protected = [WEB.to_string()].into();
    let plan = scenario.plan();
    assert!(!plan.has_changes());
    assert_eq!(plan.kept.len(), 1);
    assert_eq!(plan.kept[0].resource, WEB);
}

#[test]
fn external_dns_zone_plans_zero_changes() {
    // Records and markers exactly as external-dns writes them for owner "default".
    let current = vec![
        a("www.example.com", ["192.0.2.10"]).with_ttl(300),
        txt(
            "a-www.example.com",
            "\"heritage=external-dns,external-dns/owner=default,external-dns/resource=ingress/shop/web\"",
        ),
        cname("api.example.com", "lb-1.example.net").with_ttl(300),
        txt(
            "cname-api.example.com",
            "heritage=external-dns,external-dns/owner=default,external-dns/resource=service/shop/api",
        ),
        aaaa("v6.example.com", ["2001:db8::10"]).with_ttl(300),
        txt(
            "aaaa-v6.example.com",
            "heritage=external-dns,external-dns/owner=default,external-dns/resource=ingress/shop/web",
        ),
    ];
    let mut scenario = Scenario::new()
        .want(a("www.example.com", ["192.0.2.10"]), "ingress/shop/web")
        .want(aaaa("v6.example.com", ["2001:db8::10"]), "ingress/shop/web")
        .want(
            cname("api.example.com", "lb-1.example.net"),
            "service/shop/api",
        );
    scenario.current = current;
    let plan = scenario.plan();
    assert!(!plan.has_changes(), "{:?}", summary(&plan));
    assert!(plan.conflicts.is_empty());
}

#[test]
fn legacy_same_name_marker_gets_a_typed_marker_on_update() {
    let mut scenario = Scenario::new().want(a("www.example.com", ["192.0.2.2"]), WEB);
    scenario.current = vec![
        a("www.example.com", ["192.0.2.1"]).with_ttl(300),
        txt(
            "www.example.com",
            "heritage=external-dns,external-dns/owner=default,external-dns/resource=ingress/default/web",
        ),
    ];
    let plan = scenario.plan();
    assert_eq!(summary(&plan), ["update www.example.com A"]);
    let markers: Vec<String> = markers(&plan)
        .iter()
        .map(|m| format!("{} {}", m.action(), m.record().name))
        .collect();
    assert_eq!(markers, ["create a-www.example.com"]);
}

#[test]
fn names_without_a_zone_are_reported() {
    let plan = Scenario::new()
        .want(a("www.example.org", ["192.0.2.1"]), WEB)
        .plan();
    assert!(!plan.has_changes());
    assert_eq!(plan.skipped[0].value, "www.example.org");
    assert_eq!(plan.skipped[0].reason, "no managed zone contains this name");
}

#[test]
fn output_order_is_deterministic() {
    let forward = Scenario::new()
        .want(a("b.example.com", ["192.0.2.1"]), WEB)
        .want(a("a.example.com", ["192.0.2.1"]), API)
        .want(aaaa("a.example.com", ["2001:db8::1"]), API)
        .plan();
    let mut reversed = Scenario::new();
    reversed.wanted = forward_wanted_reversed();
    assert_eq!(summary(&forward), summary(&reversed.plan()));
    assert_eq!(
        summary(&forward),
        [
            "create a.example.com A",
            "create a.example.com AAAA",
            "create b.example.com A"
        ]
    );
}

fn forward_wanted_reversed() -> Vec<DesiredEndpoint> {
    vec![
        want(aaaa("a.example.com", ["2001:db8::1"]), API, None),
        want(a("a.example.com", ["192.0.2.1"]), API, None),
        want(a("b.example.com", ["192.0.2.1"]), WEB, None),
    ]
}

#[tokio::test]
async fn applying_a_plan_then_replanning_is_empty() {
    let scenario = Scenario::new()
        .ours(cname("app.example.com", "lb.example.net"), WEB)
        .ours(a("old.example.com", ["192.0.2.1"]), "ingress/default/old")
        .ours(a("www.example.com", ["192.0.2.1"]), WEB)
        .unowned(a("manual.example.com", ["192.0.2.99"]))
        .want(a("app.example.com", ["192.0.2.5"]), WEB)
        .want(a("www.example.com", ["192.0.2.2"]).with_ttl(60), WEB)
        .want(aaaa("new.example.com", ["2001:db8::5"]), API);
    let provider = InMemoryProvider::new().with_zone(scenario.zone.clone());
    for record in &scenario.current {
        provider.insert(&scenario.zone.id, record.clone());
    }
    let plan = scenario.plan();
    assert!(plan.has_changes());
    let mut told = Vec::new();
    let outcome = apply(
        &provider,
        &plan,
        ApplyMode::Apply,
        |zone, groups, result| {
            told.push((zone.id.clone(), groups.len(), result.is_ok()));
        },
    )
    .await;
    assert!(outcome.is_success(), "{outcome}");
    // The applied hook hears of the zone once, with every row's group.
    let rows = plan.zones[0].rows.len();
    assert_eq!(told, vec![(scenario.zone.id.clone(), rows, true)]);

    let after = provider.records(&scenario.zone).await.unwrap();
    let inventory = scenario.registry.inventory(after.clone());
    let desired = scenario.desired();
    let replanned = Planner::new(&scenario.registry, &scenario.options).plan(
        &desired.endpoints,
        &desired,
        &[(scenario.zone.clone(), inventory)],
        &[],
    );
    assert!(!replanned.has_changes(), "{:?}", summary(&replanned));
    let names: BTreeSet<String> = after
        .iter()
        .map(|r| format!("{} {}", r.name, r.record_type))
        .collect();
    assert!(
        names.contains("manual.example.com A"),
        "foreign record kept"
    );
    assert!(!names.contains("old.example.com A"));
    assert!(!names.contains("a-old.example.com TXT"));
    assert!(!names.contains("cname-app.example.com TXT"));
    assert!(names.contains("a-app.example.com TXT"));
    assert!(names.contains("aaaa-new.example.com TXT"));
}

#[tokio::test]
async fn dry_run_writes_nothing() {
    let scenario = Scenario::new().want(a("www.example.com", ["192.0.2.1"]), WEB);
    let provider = InMemoryProvider::new().with_zone(scenario.zone.clone());
    let plan = scenario.plan();
    let mut told = 0;
    let outcome = apply(&provider, &plan, ApplyMode::DryRun, |_, _, _| told += 1).await;
    assert!(outcome.zones.is_empty());
    assert_eq!(told, 0);
    assert!(plan.has_changes());
    assert_eq!(provider.apply_calls(), 0);
    assert!(provider.snapshot(&scenario.zone.id).is_empty());
}

#[test]
fn unchanged_rows_are_told_apart_as_differences_would() {
    let stored = |endpoint: Endpoint| {
        endpoint
            .with_ttl(300)
            .with_label(LABEL_OWNER, "default")
            .with_label(LABEL_RESOURCE, WEB)
    };
    let currents = [
        stored(a("www.example.com", ["192.0.2.1"])),
        stored(a("www.example.com", ["192.0.2.1", "192.0.2.2"])),
        stored(a("www.example.com", ["192.0.2.1"])).with_property("alias", "true"),
        a("www.example.com", ["192.0.2.1"]),
        a("www.example.com", ["192.0.2.1"]).with_ttl(60),
    ];
    let wants = [
        a("www.example.com", ["192.0.2.1"]),
        a("www.example.com", ["192.0.2.1"]).with_ttl(300),
        a("www.example.com", ["192.0.2.1"]).with_ttl(60),
        a("www.example.com", ["192.0.2.9"]),
        a("www.example.com", ["192.0.2.1"]).with_property("alias", "true"),
        a("www.example.com", ["192.0.2.1"]).with_label(LABEL_RESOURCE, WEB),
    ];
    for current in &currents {
        for want in &wants {
            for resource in [WEB, API, "?"] {
                // The update `plan_row` builds for an owned record.
                let mut new = want.clone();
                new.ttl = want.ttl.or(current.ttl);
                new.labels = current.labels.clone();
                new.labels.insert(LABEL_OWNER.into(), "default".into());
                new.labels.insert(LABEL_RESOURCE.into(), resource.into());
                assert_eq!(
                    needs_update(current, want, resource),
                    !differences(current, &new).is_empty(),
                    "{current:?} -> {want:?} for {resource}"
                );
            }
        }
    }
}

#[test]
fn rows_of_one_name_are_planned_apart_in_key_order() {
    let plan = Scenario::new()
        .ours(
            a("shop.example.com", ["192.0.2.1"]).with_set_identifier("blue"),
            WEB,
        )
        .want(
            a("shop.example.com", ["192.0.2.3"]).with_set_identifier("green"),
            WEB,
        )
        .want(
            a("shop.example.com", ["192.0.2.2"]).with_set_identifier("blue"),
            WEB,
        )
        .want(a("shop.example.com", ["192.0.2.4"]), WEB)
        .want(a("alpha.example.com", ["192.0.2.5"]), WEB)
        .plan();
    assert_eq!(
        summary(&plan),
        [
            "create alpha.example.com A",
            "create shop.example.com A",
            "update shop.example.com A [blue]",
            "create shop.example.com A [green]",
        ]
    );
    let markers: Vec<String> = markers(&plan)
        .iter()
        .map(|m| format!("{} {}", m.action(), m.key()))
        .collect();
    assert_eq!(
        markers,
        [
            "create a-alpha.example.com TXT",
            "create a-shop.example.com TXT",
            "create a-shop.example.com TXT [green]",
        ],
        "the blue marker already says the same"
    );
}
