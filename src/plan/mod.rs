//! The planner: desired endpoints against the owned current records of a zone → [`Change`]s.
//!
//! Pure and synchronous. It never emits a change that touches a record without our ownership
//! marker; it reports what it will not do (conflicts, foreign records, skipped input) instead
//! of guessing. Output order is deterministic: rows sorted by name and set identifier, and
//! within a row deletions before updates before creations.

use std::cell::OnceCell;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;
use std::str::FromStr;

use serde::Serialize;
use zonesync_core::{
    Change, DeleteReason, DnsName, Endpoint, LABEL_OWNER, LABEL_RESOURCE, RecordKey, RecordType,
    Zone, differences, zones_for,
};

use crate::filter::DomainFilter;
use crate::registry::{CurrentRecord, FoundMarker, Inventory, Ownership, Registry};
use crate::source::{SkipScope, SkippedInput};

/// Which kinds of change zonesync may make (`--policy`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Policy {
    /// Create, update and delete.
    #[default]
    Sync,
    /// Create and update, never delete.
    UpsertOnly,
    /// Only create.
    CreateOnly,
}

impl Policy {
    /// True when the policy allows this kind of change.
    pub fn allows(self, change: &Change) -> bool {
        match (self, change) {
            (Policy::Sync, _) => true,
            (Policy::UpsertOnly, Change::Delete { .. }) => false,
            (Policy::UpsertOnly, _) => true,
            (Policy::CreateOnly, Change::Create { .. }) => true,
            (Policy::CreateOnly, _) => false,
        }
    }

    /// The flag value.
    pub fn as_str(self) -> &'static str {
        match self {
            Policy::Sync => "sync",
            Policy::UpsertOnly => "upsert-only",
            Policy::CreateOnly => "create-only",
        }
    }
}

impl FromStr for Policy {
    type Err = String;
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value {
            "sync" => Ok(Policy::Sync),
            "upsert-only" => Ok(Policy::UpsertOnly),
            "create-only" => Ok(Policy::CreateOnly),
            other => Err(format!(
                "unknown policy {other:?} (use sync, upsert-only or create-only)"
            )),
        }
    }
}

impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Planner settings.
#[derive(Clone, Debug)]
pub struct PlanOptions {
    /// `--policy`.
    pub policy: Policy,
    /// `--managed-record-types`.
    pub managed_types: BTreeSet<RecordType>,
    /// `--domain-filter` / `--exclude-domains`.
    pub domain_filter: DomainFilter,
    /// TTL written when none is configured (the provider's default).
    pub default_ttl: u32,
}

impl Default for PlanOptions {
    fn default() -> Self {
        Self {
            policy: Policy::Sync,
            managed_types: [RecordType::A, RecordType::Aaaa, RecordType::Cname].into(),
            domain_filter: DomainFilter::default(),
            default_ttl: zonesync_core::DEFAULT_TTL,
        }
    }
}

/// One endpoint an object wants, with when that object was created (for conflicts).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DesiredEndpoint {
    /// The endpoint; its `resource` label names the object.
    pub endpoint: Endpoint,
    /// The object's creation time, seconds since the epoch.
    pub created: Option<i64>,
}

/// What the sources know about one object, named `kind/namespace/name`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObjectStatus {
    /// The object does not exist (or was never read).
    Absent,
    /// It exists, but the filters do not select it.
    NotSelected,
    /// It exists and is selected.
    Selected,
    /// It is selected but was skipped as a whole for bad input: its records are kept.
    Skipped,
}

/// Answers what the sources know about an object; the planner asks it for delete reasons and
/// to keep the records of skipped objects.
pub trait ObjectLookup {
    /// The status of `resource` (`kind/namespace/name`).
    fn object_status(&self, resource: &str) -> ObjectStatus;
}

/// Desired endpoints with what the sources know about objects, as plain sets: a small
/// [`ObjectLookup`] for planning without a [`crate::controller::index::DesiredIndex`]
/// (planner tests and benchmarks).
#[derive(Clone, Debug, Default)]
pub struct DesiredState {
    /// Desired endpoints, already adjusted by the provider.
    pub endpoints: Vec<DesiredEndpoint>,
    /// Every object read.
    pub seen: BTreeSet<String>,
    /// Objects that passed the filters.
    pub selected: BTreeSet<String>,
    /// Objects skipped as a whole: their records are kept untouched.
    pub protected: BTreeSet<String>,
}

impl ObjectLookup for DesiredState {
    fn object_status(&self, resource: &str) -> ObjectStatus {
        if self.protected.contains(resource) {
            ObjectStatus::Skipped
        } else if self.selected.contains(resource) {
            ObjectStatus::Selected
        } else if self.seen.contains(resource) {
            ObjectStatus::NotSelected
        } else {
            ObjectStatus::Absent
        }
    }
}

/// Why a desired record was not planned as asked.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum ConflictKind {
    /// Several objects want the name; `winner` keeps it because it already owns the record.
    AlreadyOwned {
        /// The object that keeps the name.
        winner: String,
        /// The objects that lose.
        losers: Vec<String>,
    },
    /// Several objects want the name; `winner` keeps it because it was created first.
    ClaimedFirst {
        /// The object that keeps the name.
        winner: String,
        /// The objects that lose.
        losers: Vec<String>,
    },
    /// The object wants both addresses and a host name for one name; the CNAME is dropped.
    CnameBesideAddresses {
        /// The object.
        resource: String,
        /// The dropped CNAME target.
        dropped: Vec<String>,
    },
    /// A record zonesync does not own is in the way.
    ForeignRecord {
        /// The object that wanted the record.
        resource: String,
        /// The record in the way.
        existing: RecordKey,
        /// Its owner id, when another external-dns/zonesync instance owns it.
        owner: Option<String>,
    },
}

/// A name zonesync could not plan as asked.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Conflict {
    /// The name.
    pub name: DnsName,
    /// Its set identifier.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub set_identifier: Option<String>,
    /// What happened.
    #[serde(flatten)]
    pub kind: ConflictKind,
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.name)?;
        if let Some(set_identifier) = &self.set_identifier {
            write!(f, " [{set_identifier}]")?;
        }
        match &self.kind {
            ConflictKind::AlreadyOwned { winner, losers } => write!(
                f,
                ": wanted by {} and {winner}; {winner} keeps it (it owns the record)",
                losers.join(", ")
            ),
            ConflictKind::ClaimedFirst { winner, losers } => write!(
                f,
                ": wanted by {} and {winner}; {winner} keeps it (created first)",
                losers.join(", ")
            ),
            ConflictKind::CnameBesideAddresses { resource, dropped } => write!(
                f,
                ": {resource} has address and host-name targets; A/AAAA kept, CNAME {} dropped",
                dropped.join(",")
            ),
            ConflictKind::ForeignRecord {
                resource,
                existing,
                owner,
            } => {
                let whose = match owner {
                    Some(owner) => format!("owned by {owner:?}"),
                    None => "not owned by zonesync".to_string(),
                };
                write!(
                    f,
                    ": {resource} wants it, but {} {existing} exists and is {whose}; left alone",
                    if existing.record_type == RecordType::Txt {
                        "marker"
                    } else {
                        "record"
                    }
                )
            }
        }
    }
}

/// A record zonesync owns and leaves alone although nothing wants it, because its object was
/// skipped for bad input.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct KeptRecord {
    /// The record.
    pub record: RecordKey,
    /// The skipped object.
    pub resource: String,
}

/// The changes of one RRset row (a name and set identifier) in a zone, applied together.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowPlan {
    /// Name.
    pub name: DnsName,
    /// Set identifier.
    pub set_identifier: Option<String>,
    /// Record changes: deletions, then updates, then creations.
    pub changes: Vec<Change>,
    /// The ownership-marker changes that go with them.
    pub markers: Vec<Change>,
}

/// The plan for one zone.
#[derive(Clone, Debug)]
pub struct ZonePlan {
    /// The zone.
    pub zone: Zone,
    /// Rows with at least one change.
    pub rows: Vec<RowPlan>,
    /// Records of managed types zonesync owns in the zone now.
    pub owned: usize,
}

impl ZonePlan {
    /// Every record change in the zone, in plan order.
    pub fn changes(&self) -> impl Iterator<Item = &Change> {
        self.rows.iter().flat_map(|row| row.changes.iter())
    }
}

/// Numbers for the summary line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Records to create.
    pub create: usize,
    /// Records to update.
    pub update: usize,
    /// Records (and orphan markers) to delete.
    pub delete: usize,
}

/// A whole plan: what will change in each zone and what will not, and why.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    /// Zones with their changes (zones without changes included, rows empty).
    pub zones: Vec<ZonePlan>,
    /// Names not planned as asked.
    pub conflicts: Vec<Conflict>,
    /// Input that could not be used.
    pub skipped: Vec<SkippedInput>,
    /// Owned records kept because their object was skipped.
    pub kept: Vec<KeptRecord>,
    /// Kinds of change refused by the safety thresholds (see [`crate::safety`]).
    pub refusals: Vec<crate::safety::Refusal>,
    /// Record changes held back because of those refusals; not applied.
    pub held_back: Vec<Change>,
}

impl Plan {
    /// Counts of creations, updates and deletions, orphan markers included.
    pub fn counts(&self) -> Counts {
        let mut counts = Counts::default();
        for row in self.zones.iter().flat_map(|z| z.rows.iter()) {
            for change in &row.changes {
                match change {
                    Change::Create { .. } => counts.create += 1,
                    Change::Update { .. } => counts.update += 1,
                    Change::Delete { .. } => counts.delete += 1,
                }
            }
            if row.changes.is_empty() {
                counts.delete += row.markers.len();
            }
        }
        counts
    }

    /// True when nothing would be written.
    pub fn has_changes(&self) -> bool {
        self.zones.iter().any(|z| !z.rows.is_empty())
    }
}

/// Builds plans; holds the settings and the registry.
pub struct Planner<'a> {
    registry: &'a Registry,
    options: &'a PlanOptions,
}

/// Notes gathered while planning zones; merged into the [`Plan`].
#[derive(Default)]
struct Notes {
    conflicts: BTreeSet<Conflict>,
    skipped: Vec<SkippedInput>,
    kept: BTreeSet<KeptRecord>,
}

/// A row: a name and a set identifier, borrowed from the records and endpoints being planned.
type RowKey<'k> = (&'k DnsName, Option<&'k str>);

/// Hash maps over keys borrowed from a zone. The planner hashes every record of a zone on each
/// plan, so it uses a fast hasher; nothing iterates these maps, so their order never shows.
type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

fn fast_map<K, V>(capacity: usize) -> FastMap<K, V> {
    HashMap::with_capacity_and_hasher(capacity, foldhash::fast::RandomState::default())
}

impl<'a> Planner<'a> {
    /// A planner with these settings.
    pub fn new(registry: &'a Registry, options: &'a PlanOptions) -> Self {
        Self { registry, options }
    }

    /// True when the planner manages records of this name and type at all.
    fn manages(&self, endpoint: &Endpoint) -> bool {
        self.options.managed_types.contains(&endpoint.record_type)
            && self.options.domain_filter.matches(&endpoint.name)
    }

    /// Plans every zone: `zones` with their current inventories, against `desired`.
    ///
    /// Desired names outside the domain filter are ignored; names inside it that no zone holds
    /// are reported as skipped input.
    pub fn plan(
        &self,
        desired: &[DesiredEndpoint],
        objects: &dyn ObjectLookup,
        zones: &[(Zone, Inventory)],
        source_skipped: &[SkippedInput],
    ) -> Plan {
        let zone_list: Vec<Zone> = zones.iter().map(|(zone, _)| zone.clone()).collect();
        let mut by_zone: FastMap<&str, Vec<&DesiredEndpoint>> = fast_map(zone_list.len());
        let mut notes = Notes {
            skipped: source_skipped.to_vec(),
            ..Notes::default()
        };
        let mut unzoned = BTreeSet::new();
        for wanted in desired.iter().filter(|d| self.manages(&d.endpoint)) {
            let name = &wanted.endpoint.name;
            // With one zone (the usual case) the zone is the only candidate home.
            let homed = if let [only] = zone_list.as_slice() {
                let contains = only.contains(name);
                if contains {
                    by_zone.entry(only.id.as_str()).or_default().push(wanted);
                }
                contains
            } else {
                let homes = zones_for(&zone_list, name);
                for zone in &homes {
                    by_zone.entry(zone.id.as_str()).or_default().push(wanted);
                }
                !homes.is_empty()
            };
            if !homed {
                let resource = wanted.endpoint.resource().unwrap_or("?").to_string();
                unzoned.insert((resource, name.clone()));
            }
        }
        for (resource, name) in unzoned {
            notes.skipped.push(SkippedInput {
                resource,
                field: "hostname".to_string(),
                value: name.to_string(),
                reason: "no managed zone contains this name".to_string(),
                scope: SkipScope::Hostname,
            });
        }
        let mut plans = Vec::with_capacity(zones.len());
        for (zone, inventory) in zones {
            let wanted = by_zone.remove(zone.id.as_str()).unwrap_or_default();
            plans.push(self.plan_zone(zone, &wanted, inventory, objects, &mut notes));
        }
        Plan {
            zones: plans,
            conflicts: notes.conflicts.into_iter().collect(),
            skipped: notes.skipped,
            kept: notes.kept.into_iter().collect(),
            refusals: Vec::new(),
            held_back: Vec::new(),
        }
    }

    fn plan_zone(
        &self,
        zone: &Zone,
        wanted: &[&DesiredEndpoint],
        inventory: &Inventory,
        objects: &dyn ObjectLookup,
        notes: &mut Notes,
    ) -> ZonePlan {
        let mut owned = 0;
        let table = ZoneTable::new(
            inventory,
            |record| {
                let managed = self.manages(&record.endpoint);
                if managed && record.ownership.is_ours() {
                    owned += 1;
                }
                managed
            },
            wanted,
        );

        // Rows are planned in the order the table found them; what that order could show (the
        // rows and the input skipped while planning them) is sorted by row key afterwards.
        let mut rows = Vec::new();
        let mut skipped: Vec<(RowKey<'_>, SkippedInput)> = Vec::new();
        let mut reused_markers: HashSet<RecordKey> = HashSet::new();
        let mut scratch = Vec::new();
        for (row, key) in table.rows.iter().enumerate() {
            let context = RowContext {
                zone,
                key: *key,
                row,
                table: &table,
                objects,
            };
            let skipped_before = notes.skipped.len();
            let planned = self.plan_row(
                &context,
                table.desired.get(row),
                table.current.get(row),
                notes,
                &mut reused_markers,
                &mut scratch,
            );
            if notes.skipped.len() > skipped_before {
                skipped.extend(notes.skipped.drain(skipped_before..).map(|s| (*key, s)));
            }
            rows.extend(planned);
        }
        skipped.sort_by(|a, b| a.0.cmp(&b.0));
        notes.skipped.extend(skipped.into_iter().map(|(_, s)| s));
        if self.options.policy == Policy::Sync {
            self.collect_orphan_markers(inventory, &reused_markers, &mut rows);
        }
        rows.sort_by(|a, b| (&a.name, &a.set_identifier).cmp(&(&b.name, &b.set_identifier)));
        ZonePlan {
            zone: zone.clone(),
            rows,
            owned,
        }
    }

    fn collect_orphan_markers(
        &self,
        inventory: &Inventory,
        reused: &HashSet<RecordKey>,
        rows: &mut Vec<RowPlan>,
    ) {
        let mut orphan_rows: BTreeMap<(DnsName, Option<String>), Vec<Change>> = BTreeMap::new();
        for orphan in self.registry.orphan_markers(inventory) {
            if reused.contains(&orphan.record.key()) {
                continue;
            }
            let Ok(name) = DnsName::parse(&orphan.points_at.0) else {
                continue;
            };
            if !self.options.domain_filter.matches(&name) {
                continue;
            }
            orphan_rows
                .entry((name, orphan.record.set_identifier.clone()))
                .or_default()
                .push(Change::Delete {
                    old: orphan.record.clone(),
                    reason: DeleteReason::OrphanMarker,
                });
        }
        if orphan_rows.is_empty() {
            return;
        }
        let mut positions: FastMap<(DnsName, Option<String>), usize> = fast_map(rows.len());
        for (position, row) in rows.iter().enumerate() {
            positions
                .entry((row.name.clone(), row.set_identifier.clone()))
                .or_insert(position);
        }
        for ((name, set_identifier), markers) in orphan_rows {
            match positions.get(&(name.clone(), set_identifier.clone())) {
                Some(&position) => rows[position].markers.extend(markers),
                None => rows.push(RowPlan {
                    name,
                    set_identifier,
                    changes: Vec::new(),
                    markers,
                }),
            }
        }
    }

    /// Plans one row; `None` when it needs no change. `wanted` is scratch space, reused from
    /// row to row.
    fn plan_row<'w>(
        &self,
        context: &RowContext<'_, '_>,
        claims: &[&'w DesiredEndpoint],
        current: &[&CurrentRecord],
        notes: &mut Notes,
        reused_markers: &mut HashSet<RecordKey>,
        wanted: &mut Vec<&'w Endpoint>,
    ) -> Option<RowPlan> {
        let (name, set_identifier) = context.key;
        self.resolve_claims(context.key, claims, current, notes, wanted);
        let wanted: &[&Endpoint] = wanted;

        let mut deletes = Vec::new();
        let mut updates = Vec::new();
        let mut creates = Vec::new();
        let mut markers = Vec::new();

        // Deletions first: they decide whether a creation has room (CNAME <-> A).
        let replacement = wanted.first().map(|want| want.record_type.clone());
        for record in current.iter().filter(|r| {
            r.ownership.is_ours()
                && !wanted
                    .iter()
                    .any(|want| want.record_type == r.endpoint.record_type)
        }) {
            let resource = record.endpoint.resource().map(str::to_string);
            let status = resource
                .as_deref()
                .map(|r| context.objects.object_status(r));
            if let (Some(resource), Some(ObjectStatus::Skipped)) = (&resource, status) {
                notes.kept.insert(KeptRecord {
                    record: record.endpoint.key(),
                    resource: resource.clone(),
                });
                continue;
            }
            let reason = match (&replacement, resource, status) {
                (Some(record_type), _, _) => DeleteReason::ReplacedByType {
                    record_type: record_type.clone(),
                },
                (None, Some(resource), Some(ObjectStatus::Absent)) => {
                    DeleteReason::ResourceGone { resource }
                }
                (None, Some(resource), Some(ObjectStatus::NotSelected)) => {
                    DeleteReason::ResourceNotSelected { resource }
                }
                (None, Some(resource), _) => DeleteReason::NoLongerClaimed { resource },
                (None, None, _) => DeleteReason::NoLongerDesired,
            };
            let change = Change::Delete {
                old: record.endpoint.clone(),
                reason,
            };
            if self.options.policy.allows(&change) {
                deletes.push((change, *record));
            }
        }
        let deleted_keys: HashSet<RecordKey> =
            deletes.iter().map(|(change, _)| change.key()).collect();

        for &want in wanted {
            let record_type = &want.record_type;
            let resource = want.resource().unwrap_or("?");
            let existing = current
                .iter()
                .find(|r| r.endpoint.record_type == *record_type);
            match existing {
                Some(record) if record.ownership.is_ours() => {
                    if !needs_update(&record.endpoint, want, resource) {
                        continue;
                    }
                    let mut new = want.clone();
                    new.ttl = want.ttl.or(record.endpoint.ttl);
                    new.labels = record.endpoint.labels.clone();
                    new.labels
                        .insert(LABEL_OWNER.into(), self.registry.owner_id().into());
                    new.labels.insert(LABEL_RESOURCE.into(), resource.into());
                    if differences(&record.endpoint, &new).is_empty() {
                        continue;
                    }
                    let change = Change::Update {
                        old: record.endpoint.clone(),
                        new,
                    };
                    if self.options.policy.allows(&change) {
                        updates.push((change, *record));
                    }
                }
                Some(record) => {
                    notes.conflicts.insert(Conflict {
                        name: name.clone(),
                        set_identifier: set_identifier.map(str::to_string),
                        kind: ConflictKind::ForeignRecord {
                            resource: resource.to_string(),
                            existing: record.endpoint.key(),
                            owner: owner_of(&record.ownership),
                        },
                    });
                }
                None => {
                    if let Some(blocker) = context.creation_blocker(want, &deleted_keys) {
                        notes.conflicts.insert(Conflict {
                            name: name.clone(),
                            set_identifier: set_identifier.map(str::to_string),
                            kind: ConflictKind::ForeignRecord {
                                resource: resource.to_string(),
                                existing: blocker.endpoint.key(),
                                owner: owner_of(&blocker.ownership),
                            },
                        });
                        continue;
                    }
                    if let Err(problem) =
                        self.registry
                            .check_marker_placement(name, record_type, context.zone)
                    {
                        notes.skipped.push(SkippedInput {
                            resource: resource.to_string(),
                            field: "hostname".into(),
                            value: name.to_string(),
                            reason: format!("cannot own {record_type} record: {problem}"),
                            scope: SkipScope::Hostname,
                        });
                        continue;
                    }
                    let mut record = want.clone();
                    record.ttl = Some(want.ttl.unwrap_or(self.options.default_ttl));
                    record
                        .labels
                        .insert(LABEL_OWNER.into(), self.registry.owner_id().into());
                    let marker = self.registry.marker_for(&record);
                    match context.table.marker(&marker) {
                        Some(found) if found.owner() != Some(self.registry.owner_id()) => {
                            notes.conflicts.insert(Conflict {
                                name: name.clone(),
                                set_identifier: set_identifier.map(str::to_string),
                                kind: ConflictKind::ForeignRecord {
                                    resource: resource.to_string(),
                                    existing: found.record.key(),
                                    owner: found.owner().map(str::to_string),
                                },
                            });
                            continue;
                        }
                        Some(found) => {
                            reused_markers.insert(found.record.key());
                            if !same_marker(&found.record, &marker) {
                                markers.push(Change::Update {
                                    old: found.record.clone(),
                                    new: marker,
                                });
                            }
                        }
                        None => markers.push(Change::Create { record: marker }),
                    }
                    creates.push(Change::Create { record });
                }
            }
        }

        // Markers of updated records: rewrite when the value changes, add when only a legacy
        // marker vouched for the record.
        for (change, record) in &updates {
            let Change::Update { new, .. } = change else {
                continue;
            };
            let marker = self.registry.marker_for(new);
            match record.markers.iter().find(|m| m.key() == marker.key()) {
                Some(existing) if same_marker(existing, &marker) => {}
                Some(existing) => markers.push(Change::Update {
                    old: existing.clone(),
                    new: marker,
                }),
                None => match context.table.marker(&marker) {
                    Some(found) => {
                        reused_markers.insert(found.record.key());
                        markers.push(Change::Update {
                            old: found.record.clone(),
                            new: marker,
                        });
                    }
                    None => markers.push(Change::Create { record: marker }),
                },
            }
        }
        // Markers of deleted records: typed markers go with their record; a legacy same-name
        // marker only when no other record of ours at the name still relies on it.
        for (_, record) in &deletes {
            for marker in &record.markers {
                let shared = context.table.at_name(context.row).iter().any(|other| {
                    other.endpoint.key() != record.endpoint.key()
                        && !deleted_keys.contains(&other.endpoint.key())
                        && other.markers.iter().any(|m| m.key() == marker.key())
                });
                let already = markers
                    .iter()
                    .any(|c: &Change| c.record().key() == marker.key());
                if !shared && !already {
                    markers.push(Change::Delete {
                        old: marker.clone(),
                        reason: DeleteReason::OrphanMarker,
                    });
                }
            }
        }
        if deletes.is_empty() && updates.is_empty() && creates.is_empty() && markers.is_empty() {
            return None;
        }
        markers.sort_by_key(|change| match change {
            Change::Delete { .. } => 0,
            Change::Update { .. } => 1,
            Change::Create { .. } => 2,
        });

        // Exact capacities: a plan holds one `RowPlan` per changed row for the whole apply, and
        // a `Vec` grown by pushes keeps room for four changes (the initial sync of a large zone
        // would hold three empty slots per list and row).
        let mut changes: Vec<Change> =
            Vec::with_capacity(deletes.len() + updates.len() + creates.len());
        changes.extend(deletes.into_iter().map(|(c, _)| c));
        changes.extend(updates.into_iter().map(|(c, _)| c));
        changes.extend(creates);
        markers.shrink_to_fit();
        Some(RowPlan {
            name: name.clone(),
            set_identifier: set_identifier.map(str::to_string),
            changes,
            markers,
        })
    }

    /// Picks the object that keeps a contested row and fills `wanted` with its endpoints, one
    /// per type in type order, with the CNAME dropped when it also wants addresses.
    fn resolve_claims<'w>(
        &self,
        key: RowKey<'_>,
        claims: &[&'w DesiredEndpoint],
        current: &[&CurrentRecord],
        notes: &mut Notes,
        wanted: &mut Vec<&'w Endpoint>,
    ) {
        fn resource_of(claim: &DesiredEndpoint) -> &str {
            claim.endpoint.resource().unwrap_or("")
        }
        let first = claims.first().map(|claim| resource_of(claim)).unwrap_or("");
        let contested = claims.iter().any(|claim| resource_of(claim) != first);
        let winner: &str = if !contested {
            first
        } else {
            let mut resources: BTreeMap<&str, Option<i64>> = BTreeMap::new();
            for claim in claims {
                let created = resources.entry(resource_of(claim)).or_insert(claim.created);
                if claim.created < *created {
                    *created = claim.created;
                }
            }
            let owning = current
                .iter()
                .filter(|r| r.ownership.is_ours())
                .filter_map(|r| r.endpoint.resource())
                .find(|r| resources.contains_key(r));
            let (winner, sticky) = match owning {
                Some(owner) => (owner, true),
                None => {
                    let oldest = resources
                        .iter()
                        .min_by_key(|(resource, created)| {
                            (created.is_none(), created.unwrap_or(0), **resource)
                        })
                        .map(|(resource, _)| *resource)
                        .unwrap_or("");
                    (oldest, false)
                }
            };
            let losers: Vec<String> = resources
                .keys()
                .filter(|r| **r != winner)
                .map(|r| r.to_string())
                .collect();
            let kind = if sticky {
                ConflictKind::AlreadyOwned {
                    winner: winner.to_string(),
                    losers,
                }
            } else {
                ConflictKind::ClaimedFirst {
                    winner: winner.to_string(),
                    losers,
                }
            };
            notes.conflicts.insert(Conflict {
                name: key.0.clone(),
                set_identifier: key.1.map(str::to_string),
                kind,
            });
            winner
        };

        wanted.clear();
        for claim in claims {
            let endpoint = &claim.endpoint;
            if resource_of(claim) == winner
                && !wanted
                    .iter()
                    .any(|want| want.record_type == endpoint.record_type)
            {
                wanted.push(endpoint);
            }
        }
        wanted.sort_by(|a, b| a.record_type.cmp(&b.record_type));
        let has_address = wanted
            .iter()
            .any(|want| matches!(want.record_type, RecordType::A | RecordType::Aaaa));
        let cname = wanted
            .iter()
            .position(|want| want.record_type == RecordType::Cname);
        if has_address && let Some(position) = cname {
            let cname = wanted.remove(position);
            notes.conflicts.insert(Conflict {
                name: key.0.clone(),
                set_identifier: key.1.map(str::to_string),
                kind: ConflictKind::CnameBesideAddresses {
                    resource: winner.to_string(),
                    dropped: cname.targets.as_slice().to_vec(),
                },
            });
        }
    }
}

/// A zone indexed for planning, once per plan: its rows (every name and set identifier with a
/// managed record or a desired endpoint, in the order first seen) with the records and
/// endpoints of each row in input order, and the lookups that only rows with something to
/// create, update or delete need, built on first use.
struct ZoneTable<'a> {
    inventory: &'a Inventory,
    rows: Vec<RowKey<'a>>,
    /// The name of each row, as an index into the names the table saw.
    row_names: Vec<usize>,
    current: Grouped<&'a CurrentRecord>,
    desired: Grouped<&'a DesiredEndpoint>,
    /// Every record (managed or not) with the index of its name.
    named: Vec<(usize, &'a CurrentRecord)>,
    names: usize,
    at_name: OnceCell<Grouped<&'a CurrentRecord>>,
    /// Markers by name and set identifier; the last one read wins, as in a provider's listing.
    markers: OnceCell<FastMap<(&'a str, Option<&'a str>), &'a FoundMarker>>,
}

/// Numbers names and rows as [`ZoneTable::new`] meets them: one hash lookup per name; the
/// rows of a name (one per set identifier, usually just one) chain from its first row.
struct RowKeys<'a> {
    names: FastMap<&'a str, usize>,
    /// Per name, its first row.
    first_row: Vec<usize>,
    /// Per row, the next row at the same name.
    next_row: Vec<usize>,
    rows: Vec<RowKey<'a>>,
    row_names: Vec<usize>,
}

/// No row.
const NO_ROW: usize = usize::MAX;

impl<'a> RowKeys<'a> {
    fn with_capacity(capacity: usize) -> Self {
        Self {
            names: fast_map(capacity),
            first_row: Vec::with_capacity(capacity),
            next_row: Vec::with_capacity(capacity),
            rows: Vec::with_capacity(capacity),
            row_names: Vec::with_capacity(capacity),
        }
    }

    /// The number of `name`.
    fn name(&mut self, name: &'a DnsName) -> usize {
        let next = self.names.len();
        let id = *self.names.entry(name.as_str()).or_insert(next);
        if id == next {
            self.first_row.push(NO_ROW);
        }
        id
    }

    /// The row of `endpoint`, whose name has the number `name`.
    fn row(&mut self, name: usize, endpoint: &'a Endpoint) -> usize {
        let set_identifier = endpoint.set_identifier.as_deref();
        let mut row = self.first_row[name];
        let mut last = NO_ROW;
        while row != NO_ROW {
            if self.rows[row].1 == set_identifier {
                return row;
            }
            last = row;
            row = self.next_row[row];
        }
        let row = self.rows.len();
        self.rows.push((&endpoint.name, set_identifier));
        self.row_names.push(name);
        self.next_row.push(NO_ROW);
        if last == NO_ROW {
            self.first_row[name] = row;
        } else {
            self.next_row[last] = row;
        }
        row
    }
}

impl<'a> ZoneTable<'a> {
    /// Indexes `inventory` (its records that `managed` accepts) and `desired`.
    fn new(
        inventory: &'a Inventory,
        mut managed: impl FnMut(&CurrentRecord) -> bool,
        desired: &[&'a DesiredEndpoint],
    ) -> Self {
        let records = &inventory.records;
        let mut keys = RowKeys::with_capacity(records.len().max(desired.len()));
        let mut named = Vec::with_capacity(records.len());
        let mut current = Vec::with_capacity(records.len());
        for record in records {
            let endpoint = &record.endpoint;
            let name = keys.name(&endpoint.name);
            named.push((name, record));
            if managed(record) {
                current.push((keys.row(name, endpoint), record));
            }
        }
        let wanted: Vec<(usize, &DesiredEndpoint)> = desired
            .iter()
            .map(|wanted| {
                let endpoint = &wanted.endpoint;
                let name = keys.name(&endpoint.name);
                (keys.row(name, endpoint), *wanted)
            })
            .collect();
        let rows = keys.rows.len();
        Self {
            inventory,
            rows: keys.rows,
            row_names: keys.row_names,
            current: Grouped::new(rows, &current),
            desired: Grouped::new(rows, &wanted),
            named,
            names: keys.first_row.len(),
            at_name: OnceCell::new(),
            markers: OnceCell::new(),
        }
    }

    /// Every record at the name of `row`, in inventory order.
    fn at_name(&self, row: usize) -> &[&'a CurrentRecord] {
        self.at_name
            .get_or_init(|| Grouped::new(self.names, &self.named))
            .get(self.row_names[row])
    }

    /// The marker in the zone with the name and set identifier of `marker`.
    fn marker(&self, marker: &Endpoint) -> Option<&'a FoundMarker> {
        let markers = self.markers.get_or_init(|| {
            let mut markers = fast_map(self.inventory.markers.len());
            for found in &self.inventory.markers {
                markers.insert(
                    (
                        found.record.name.as_str(),
                        found.record.set_identifier.as_deref(),
                    ),
                    found,
                );
            }
            markers
        });
        markers
            .get(&(marker.name.as_str(), marker.set_identifier.as_deref()))
            .copied()
    }
}

/// Items grouped by a dense index (a row or a name): group `g` is
/// `items[starts[g]..starts[g + 1]]`, in input order. One allocation for all groups.
struct Grouped<T> {
    items: Vec<T>,
    starts: Vec<usize>,
}

impl<T: Copy> Grouped<T> {
    /// Groups `(group, item)` pairs into `groups` groups (every group index below `groups`).
    fn new(groups: usize, tagged: &[(usize, T)]) -> Self {
        let mut starts = vec![0; groups + 1];
        for &(group, _) in tagged {
            starts[group + 1] += 1;
        }
        for group in 0..groups {
            starts[group + 1] += starts[group];
        }
        let mut items = Vec::with_capacity(tagged.len());
        if let Some(&(_, first)) = tagged.first() {
            items.resize(tagged.len(), first);
        }
        let mut next = starts.clone();
        for &(group, item) in tagged {
            items[next[group]] = item;
            next[group] += 1;
        }
        Self { items, starts }
    }

    fn get(&self, group: usize) -> &[T] {
        match (self.starts.get(group), self.starts.get(group + 1)) {
            (Some(&start), Some(&end)) => &self.items[start..end],
            _ => &[],
        }
    }
}

struct RowContext<'c, 'a> {
    zone: &'c Zone,
    key: RowKey<'a>,
    row: usize,
    table: &'c ZoneTable<'a>,
    objects: &'c dyn ObjectLookup,
}

impl RowContext<'_, '_> {
    /// A record at the same name that makes creating `want` invalid DNS: any other data beside
    /// a CNAME, or a CNAME beside anything. Records being deleted in this row do not count.
    fn creation_blocker(
        &self,
        want: &Endpoint,
        deleted: &HashSet<RecordKey>,
    ) -> Option<&CurrentRecord> {
        self.table
            .at_name(self.row)
            .iter()
            .copied()
            .filter(|record| !deleted.contains(&record.endpoint.key()))
            .find(|record| {
                let existing = &record.endpoint.record_type;
                if want.record_type == RecordType::Cname {
                    *existing != RecordType::Cname
                        || record.endpoint.set_identifier == want.set_identifier
                } else {
                    *existing == RecordType::Cname
                }
            })
    }
}

/// A marker needs rewriting when its value or its provider properties (Route53 routing
/// policy, which markers copy) differ.
fn same_marker(existing: &Endpoint, wanted: &Endpoint) -> bool {
    existing.targets == wanted.targets && existing.properties == wanted.properties
}

/// True when [`differences`] would find something between `current` and the update built from
/// `want` for `resource` (its TTL, or the current one when it sets none; the resource label).
/// Tells unchanged rows apart without building that update.
fn needs_update(current: &Endpoint, want: &Endpoint, resource: &str) -> bool {
    current.targets != want.targets
        || (want.ttl.is_some() && want.ttl != current.ttl)
        || current.properties != want.properties
        || current.resource() != Some(resource)
}

fn owner_of(ownership: &Ownership) -> Option<String> {
    match ownership {
        Ownership::OtherOwner(owner) => Some(owner.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod proptests;
