//! Applying a plan: the one place that decides whether anything is written.
//!
//! Each row of the plan (a name and set identifier) becomes one [`ChangeGroup`] holding the
//! record changes and their marker changes, ordered deletions → updates → creations, so a
//! record never exists without its marker and a CNAME ↔ A swap lands in one request.

use std::fmt;

use zonesync_core::{
    ApplyReport, Change, ChangeGroup, ErrorChain, Provider, ProviderError, RecordKey, Rejection,
    Zone,
};

use crate::plan::{Plan, RowPlan, ZonePlan};

/// Whether to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApplyMode {
    /// Compute and print only; the provider's apply is never called.
    DryRun,
    /// Write the changes.
    Apply,
}

/// What happened in one zone.
#[derive(Debug)]
pub struct ZoneOutcome {
    /// The zone.
    pub zone: Zone,
    /// Change groups sent.
    pub groups: usize,
    /// Groups the provider refused.
    pub rejected: Vec<Rejection>,
    /// Set when the whole zone's apply failed.
    pub error: Option<ProviderError>,
}

/// What happened to a whole plan.
#[derive(Debug, Default)]
pub struct ApplyOutcome {
    /// One entry per zone that had changes.
    pub zones: Vec<ZoneOutcome>,
}

impl ApplyOutcome {
    /// True when every group of every zone was applied.
    pub fn is_success(&self) -> bool {
        self.zones
            .iter()
            .all(|z| z.error.is_none() && z.rejected.is_empty())
    }
}

impl fmt::Display for ApplyOutcome {
    /// Lists the failures, one per line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for zone in &self.zones {
            if let Some(error) = &zone.error {
                write!(f, "zone {}: {}", zone.zone.name, ErrorChain(error))?;
                writeln!(f)?;
            }
            for rejection in &zone.rejected {
                writeln!(
                    f,
                    "zone {}: {} rejected: {}",
                    zone.zone.name, rejection.subject, rejection.message
                )?;
            }
        }
        Ok(())
    }
}

/// A zone plan's change groups, one per row, holding the plan's own changes (moved, not copied);
/// the plan's rows are empty until [`restore_changes`] puts the changes back.
#[derive(Debug)]
struct MovedGroups {
    /// One group per row: its record and marker changes, deletions → updates → creations,
    /// records before their markers within each.
    groups: Vec<ChangeGroup>,
    /// For every change of every group, in order: its position in the row's record changes
    /// followed by its marker changes.
    origins: Vec<u32>,
    /// Per group, how many of its changes are record changes (the rest are markers).
    records: Vec<u32>,
}

/// Moves the changes of `zone_plan` into change groups, so applying a large plan does not hold
/// a second copy of every change.
fn take_change_groups(zone_plan: &mut ZonePlan) -> MovedGroups {
    let mut moved = MovedGroups {
        groups: Vec::with_capacity(zone_plan.rows.len()),
        origins: Vec::new(),
        records: Vec::with_capacity(zone_plan.rows.len()),
    };
    for row in &mut zone_plan.rows {
        let subject = subject_of(row);
        let records = std::mem::take(&mut row.changes);
        moved.records.push(records.len() as u32);
        let mut changes: Vec<(u32, Change)> = records
            .into_iter()
            .chain(std::mem::take(&mut row.markers))
            .enumerate()
            .map(|(position, change)| (position as u32, change))
            .collect();
        changes.sort_by_key(|(_, change)| rank(change));
        moved
            .origins
            .extend(changes.iter().map(|(position, _)| *position));
        moved.groups.push(ChangeGroup {
            subject,
            changes: changes.into_iter().map(|(_, change)| change).collect(),
        });
    }
    moved
}

/// Puts the changes taken by [`take_change_groups`] back into `zone_plan`'s rows, in their
/// original order.
fn restore_changes(zone_plan: &mut ZonePlan, moved: MovedGroups) {
    let mut origins = moved.origins.into_iter();
    for ((row, group), records) in zone_plan
        .rows
        .iter_mut()
        .zip(moved.groups)
        .zip(moved.records)
    {
        let count = group.changes.len();
        let mut slots: Vec<Option<Change>> = std::iter::repeat_with(|| None).take(count).collect();
        for (change, origin) in group.changes.into_iter().zip(origins.by_ref()) {
            slots[origin as usize] = Some(change);
        }
        // Exact capacities: collecting from a flattening iterator would reserve four changes
        // per row, a large share of a big plan.
        let records = records as usize;
        let mut changes = slots.into_iter().flatten();
        row.changes = Vec::with_capacity(records);
        row.changes.extend(changes.by_ref().take(records));
        row.markers = Vec::with_capacity(count - records);
        row.markers.extend(changes);
    }
}

/// Record changes and marker changes in the groups the provider did not reject: the first
/// figure is the one plans count.
fn applied_counts(moved: &MovedGroups, rejected: &[Rejection]) -> (usize, usize) {
    let mut counts = (0, 0);
    for (group, records) in moved.groups.iter().zip(&moved.records) {
        if rejected.iter().any(|r| r.subject == group.subject) {
            continue;
        }
        let records = *records as usize;
        counts.0 += records;
        counts.1 += group.changes.len() - records;
    }
    counts
}

/// Deletions, then updates, then creations.
fn rank(change: &Change) -> u8 {
    match change {
        Change::Delete { .. } => 0,
        Change::Update { .. } => 1,
        Change::Create { .. } => 2,
    }
}

/// What a row's group is reported under: its first record change, or its name.
fn subject_of(row: &RowPlan) -> RecordKey {
    row.changes
        .first()
        .map(Change::key)
        .unwrap_or_else(|| RecordKey {
            name: row.name.clone(),
            record_type: zonesync_core::RecordType::Txt,
            set_identifier: row.set_identifier.clone(),
        })
}

/// Applies `plan` through `provider`, zone by zone; in [`ApplyMode::DryRun`] writes nothing
/// and calls nothing.
///
/// After each zone's provider call `applied` is given the zone, the groups sent and the
/// provider's answer (the controller patches its copy of the zone from them). The groups hold
/// the plan's own changes while they are applied, so a large plan is never copied; `plan` has
/// them back when this returns. A failing zone does not stop the others; failures are in the
/// outcome.
pub async fn apply(
    provider: &dyn Provider,
    plan: &mut Plan,
    mode: ApplyMode,
    mut applied: impl FnMut(&Zone, &[ChangeGroup], Result<&ApplyReport, &ProviderError>),
) -> ApplyOutcome {
    let mut outcome = ApplyOutcome::default();
    if mode == ApplyMode::DryRun {
        return outcome;
    }
    for zone_plan in plan.zones.iter_mut().filter(|z| !z.rows.is_empty()) {
        let moved = take_change_groups(zone_plan);
        let groups = &moved.groups;
        tracing::debug!(zone = %zone_plan.zone.name, groups = groups.len(), provider = provider.name(), "applying changes");
        let result = provider.apply(&zone_plan.zone, groups).await;
        applied(&zone_plan.zone, groups, result.as_ref());
        let (rejected, error) = match result {
            Ok(report) => (report.rejected, None),
            Err(error) => (Vec::new(), Some(error)),
        };
        for rejection in &rejected {
            tracing::warn!(zone = %zone_plan.zone.name, record = %rejection.subject, message = %rejection.message, "provider rejected a change");
        }
        if let Some(error) = &error {
            tracing::error!(zone = %zone_plan.zone.name, error = %ErrorChain(error), "applying changes failed");
        } else {
            let (records, markers) = applied_counts(&moved, &rejected);
            tracing::info!(zone = %zone_plan.zone.name, provider = %provider.name(), records, markers, rejected = rejected.len(), "changes applied");
        }
        let sent = groups.len();
        restore_changes(zone_plan, moved);
        outcome.zones.push(ZoneOutcome {
            zone: zone_plan.zone.clone(),
            groups: sent,
            rejected,
            error,
        });
    }
    outcome
}

#[cfg(test)]
mod tests {
    use zonesync_core::{DeleteReason, Endpoint, RecordType};

    use super::*;
    use crate::testing::{a, cname, name, txt, zone};

    /// The groups a zone plan turns into, by copying: what the moved groups must equal.
    fn change_groups(zone_plan: &ZonePlan) -> Vec<ChangeGroup> {
        zone_plan
            .rows
            .iter()
            .map(|row| {
                let mut changes: Vec<Change> =
                    row.changes.iter().chain(&row.markers).cloned().collect();
                // Stable: records before their markers within each rank.
                changes.sort_by_key(rank);
                ChangeGroup {
                    subject: subject_of(row),
                    changes,
                }
            })
            .collect()
    }

    fn marker(host: &str) -> Endpoint {
        txt(host, "heritage=external-dns,external-dns/owner=default")
    }

    #[test]
    fn moved_groups_match_copied_groups_and_restore_the_plan() {
        let swap = RowPlan {
            name: name("www.example.com"),
            set_identifier: None,
            changes: vec![
                Change::Create {
                    record: a("www.example.com", ["192.0.2.1"]),
                },
                Change::Delete {
                    old: cname("www.example.com", "lb.example.net"),
                    reason: DeleteReason::ReplacedByType {
                        record_type: RecordType::A,
                    },
                },
            ],
            markers: vec![
                Change::Create {
                    record: marker("a-www.example.com"),
                },
                Change::Delete {
                    old: marker("cname-www.example.com"),
                    reason: DeleteReason::NoLongerDesired,
                },
            ],
        };
        let orphan = RowPlan {
            name: name("old.example.com"),
            set_identifier: None,
            changes: Vec::new(),
            markers: vec![Change::Delete {
                old: marker("a-old.example.com"),
                reason: DeleteReason::NoLongerDesired,
            }],
        };
        let original = ZonePlan {
            zone: zone("example.com"),
            rows: vec![swap, orphan],
            owned: 2,
        };
        let copied = change_groups(&original);
        let mut plan = original.clone();
        let moved = take_change_groups(&mut plan);
        assert_eq!(moved.groups, copied);
        assert!(
            plan.rows
                .iter()
                .all(|r| r.changes.is_empty() && r.markers.is_empty())
        );
        assert_eq!(applied_counts(&moved, &[]), (2, 3));
        let rejected = [Rejection {
            subject: moved.groups[0].subject.clone(),
            message: "refused".into(),
        }];
        assert_eq!(applied_counts(&moved, &rejected), (0, 1));
        restore_changes(&mut plan, moved);
        assert_eq!(plan.rows, original.rows);
    }
}
