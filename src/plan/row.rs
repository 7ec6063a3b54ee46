//! Planning one row (a name and set identifier): claims resolved, records deleted, updated or
//! created, markers following their records.

use std::collections::{BTreeMap, HashSet};

use zonesync_core::{
    Change, DeleteReason, Endpoint, LABEL_OWNER, LABEL_RESOURCE, RecordKey, RecordType, Zone,
    differences_to,
};

use super::table::ZoneTable;
use super::{
    Conflict, ConflictKind, DesiredEndpoint, KeptRecord, Notes, ObjectLookup, ObjectStatus,
    Planner, RowKey, RowPlan,
};
use crate::registry::{CurrentRecord, Ownership};
use crate::source::{SkipScope, SkippedInput};

impl Planner<'_> {
    /// Plans one row; `None` when it needs no change. `wanted` is scratch space, reused from
    /// row to row.
    pub(super) fn plan_row<'w>(
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
                            if !self.registry.same_marker(&found.record, &marker) {
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
            let inventory = context.table.inventory;
            match inventory
                .markers_of(record)
                .find(|m| m.key() == marker.key())
            {
                Some(existing) if self.registry.same_marker(existing, &marker) => {}
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
            let inventory = context.table.inventory;
            for marker in inventory.markers_of(record) {
                let shared = context.table.at_name(context.row).iter().any(|other| {
                    other.endpoint.key() != record.endpoint.key()
                        && !deleted_keys.contains(&other.endpoint.key())
                        && inventory.markers_of(other).any(|m| m.key() == marker.key())
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
    pub(super) fn resolve_claims<'w>(
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

/// What planning a row needs of its zone.
pub(super) struct RowContext<'c, 'a> {
    pub(super) zone: &'c Zone,
    pub(super) key: RowKey<'a>,
    pub(super) row: usize,
    pub(super) table: &'c ZoneTable<'a>,
    pub(super) objects: &'c dyn ObjectLookup,
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

/// True when the update built from `want` for `resource` (its TTL, or the current one when it
/// sets none; the resource label) would differ from `current`: [`differences_to`], the one
/// comparison, without building that update.
pub(super) fn needs_update(current: &Endpoint, want: &Endpoint, resource: &str) -> bool {
    !differences_to(
        current,
        &want.targets,
        want.ttl,
        &want.properties,
        Some(resource),
    )
    .is_empty()
}

fn owner_of(ownership: &Ownership) -> Option<String> {
    match ownership {
        Ownership::OtherOwner(owner) => Some(owner.clone()),
        _ => None,
    }
}
