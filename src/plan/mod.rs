//! The planner: desired endpoints against the owned current records of a zone → [`Change`]s.
//!
//! Pure and synchronous. It never emits a change that touches a record without our ownership
//! marker; it reports what it will not do (conflicts, foreign records, skipped input) instead
//! of guessing. Output order is deterministic: rows sorted by name and set identifier, and
//! within a row deletions before updates before creations.

mod conflict;
mod desired;
mod options;
mod row;
mod table;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use serde::Serialize;
use zonesync_core::{Change, DeleteReason, DnsName, Endpoint, RecordKey, Zone, zones_for};

pub use conflict::{Conflict, ConflictKind, KeptRecord};
pub use desired::{DesiredEndpoint, DesiredState, ObjectLookup, ObjectStatus};
pub use options::{PlanOptions, Policy, UnknownPolicy};
use row::RowContext;
use table::ZoneTable;

use crate::registry::{Inventory, Registry};
use crate::source::{SkipScope, SkippedInput};

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
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod proptests;
