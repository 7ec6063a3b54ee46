//! Applying a plan: the one place that decides whether anything is written.
//!
//! Each row of the plan (a name and set identifier) becomes one [`ChangeGroup`] holding the
//! record changes and their marker changes, ordered deletions → updates → creations, so a
//! record never exists without its marker and a CNAME ↔ A swap lands in one request.

use std::fmt;

use zonesync_core::{
    ApplyReport, Change, ChangeGroup, Provider, ProviderError, RecordKey, Rejection, Zone,
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
                write!(f, "zone {}: {}", zone.zone.name, error_chain(error))?;
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

/// The error with its causes, `: `-separated.
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
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
        if let Some(error) = &error {
            tracing::error!(zone = %zone_plan.zone.name, error = %error_chain(error), "applying changes failed");
        }
        outcome.zones.push(ZoneOutcome {
            zone: zone_plan.zone.clone(),
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
    }
}
