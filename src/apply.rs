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

/// What happened to one row (one change group) of a zone plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RowStatus {
    /// Written.
    Applied,
    /// The provider refused the group; its message.
    Rejected(String),
    /// The zone's apply failed as a whole (the zone's error says why).
    Failed,
}

/// What happened in one zone.
#[derive(Debug)]
pub struct ZoneOutcome {
    /// The zone.
    pub zone: Zone,
    /// Change groups sent.
    pub groups: usize,
    /// The status of each row of the zone plan, in the plan's order: what reports, Events
    /// and metrics read.
    pub rows: Vec<RowStatus>,
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

/// A zone plan's change groups, one per row, borrowing the plan's changes: the row's record
/// and marker changes in apply order ([`Change::apply_rank`]; the sort is stable, so records
/// come before their markers within each rank).
fn change_groups(zone_plan: &ZonePlan) -> Vec<ChangeGroup<'_>> {
    zone_plan
        .rows
        .iter()
        .map(|row| {
            let mut changes: Vec<&Change> = row.changes.iter().chain(&row.markers).collect();
            changes.sort_by_key(|change| change.apply_rank());
            ChangeGroup {
                subject: subject_of(row),
                changes,
            }
        })
        .collect()
}

/// Record changes and marker changes of the rows that were applied (one group per row, as
/// [`change_groups`] builds them): the first figure is the one plans count.
fn applied_counts(zone_plan: &ZonePlan, rows: &[RowStatus]) -> (usize, usize) {
    applied_rows(zone_plan, rows).fold((0, 0), |(records, markers), row| {
        (records + row.changes.len(), markers + row.markers.len())
    })
}

/// The rows of `zone_plan` the provider wrote, by their `statuses` (a [`ZoneOutcome`]'s rows).
pub fn applied_rows<'p>(
    zone_plan: &'p ZonePlan,
    statuses: &'p [RowStatus],
) -> impl Iterator<Item = &'p RowPlan> {
    zone_plan
        .rows
        .iter()
        .zip(statuses)
        .filter(|(_, status)| **status == RowStatus::Applied)
        .map(|(row, _)| row)
}

/// Each group's status: refused ones by their subject, all of them when the zone failed.
fn row_statuses(
    groups: &[ChangeGroup<'_>],
    rejected: &[Rejection],
    failed: bool,
) -> Vec<RowStatus> {
    let refused: std::collections::HashMap<&RecordKey, &str> = rejected
        .iter()
        .map(|r| (&r.subject, r.message.as_str()))
        .collect();
    groups
        .iter()
        .map(|group| {
            if failed {
                RowStatus::Failed
            } else if let Some(message) = refused.get(&group.subject) {
                RowStatus::Rejected((*message).to_string())
            } else {
                RowStatus::Applied
            }
        })
        .collect()
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
/// provider's answer (the caller patches its copy of the zone from them). The groups borrow
/// the plan's changes, so a large plan is never copied. A failing zone does not stop the
/// others; failures are in the outcome.
pub async fn apply(
    provider: &dyn Provider,
    plan: &Plan,
    mode: ApplyMode,
    mut applied: impl FnMut(&Zone, &[ChangeGroup<'_>], Result<&ApplyReport, &ProviderError>),
) -> ApplyOutcome {
    let mut outcome = ApplyOutcome::default();
    if mode == ApplyMode::DryRun {
        return outcome;
    }
    for zone_plan in plan.zones.iter().filter(|z| !z.rows.is_empty()) {
        let groups = &change_groups(zone_plan);
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
        let rows = row_statuses(groups, &rejected, error.is_some());
        if let Some(error) = &error {
            tracing::error!(zone = %zone_plan.zone.name, error = %ErrorChain(error), "applying changes failed");
        } else {
            let (records, markers) = applied_counts(zone_plan, &rows);
            tracing::info!(zone = %zone_plan.zone.name, provider = %provider.name(), records, markers, rejected = rejected.len(), "changes applied");
        }
        outcome.zones.push(ZoneOutcome {
            zone: zone_plan.zone.clone(),
            rows,
            groups: groups.len(),
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

    fn marker(host: &str) -> Endpoint {
        txt(host, "heritage=external-dns,external-dns/owner=default")
    }

    #[test]
    fn groups_put_deletions_first_and_records_before_their_markers() {
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
        let plan = ZonePlan {
            zone: zone("example.com"),
            rows: vec![swap, orphan],
            owned: 2,
        };
        let groups = change_groups(&plan);
        let order: Vec<String> = groups[0]
            .changes
            .iter()
            .map(|c| format!("{} {}", c.action(), c.record().name))
            .collect();
        assert_eq!(
            order,
            [
                "delete www.example.com",
                "delete cname-www.example.com",
                "create www.example.com",
                "create a-www.example.com",
            ]
        );
        assert_eq!(groups[0].subject, a("www.example.com", ["192.0.2.1"]).key());
        // A row of markers only is reported under its name.
        assert_eq!(groups[1].subject.name, name("old.example.com"));
        assert_eq!(groups[1].changes.len(), 1);
        // The groups borrow the plan's own changes.
        assert!(std::ptr::eq(groups[1].changes[0], &plan.rows[1].markers[0]));
        let applied = [RowStatus::Applied, RowStatus::Applied];
        assert_eq!(applied_counts(&plan, &applied), (2, 3));
        let one_refused = [RowStatus::Rejected("refused".into()), RowStatus::Applied];
        assert_eq!(applied_counts(&plan, &one_refused), (0, 1));
    }

    #[tokio::test]
    async fn the_outcome_has_a_status_per_row() {
        let provider =
            zonesync_test_support::inmemory::InMemoryProvider::new().with_zone(zone("example.com"));
        provider.reject_name(name("bad.example.com"));
        let row = |host: &str| RowPlan {
            name: name(host),
            set_identifier: None,
            changes: vec![Change::Create {
                record: a(host, ["192.0.2.1"]),
            }],
            markers: Vec::new(),
        };
        let plan = Plan {
            zones: vec![ZonePlan {
                zone: zone("example.com"),
                rows: vec![row("good.example.com"), row("bad.example.com")],
                owned: 0,
            }],
            ..Plan::default()
        };
        let outcome = apply(&provider, &plan, ApplyMode::Apply, |_, _, _| {}).await;
        let rows = &outcome.zones[0].rows;
        assert_eq!(rows[0], RowStatus::Applied);
        assert!(
            matches!(&rows[1], RowStatus::Rejected(message) if message.contains("bad.example.com")),
            "{rows:?}"
        );

        provider.fail_next_applies(1, zonesync_core::ErrorKind::Transient);
        let outcome = apply(&provider, &plan, ApplyMode::Apply, |_, _, _| {}).await;
        assert_eq!(
            outcome.zones[0].rows,
            [RowStatus::Failed, RowStatus::Failed]
        );
    }
}
