//! Applying a plan: the one place that decides whether anything is written.
//!
//! Each row of the plan (a name and set identifier) becomes one [`ChangeGroup`] holding the
//! record changes and their marker changes, ordered deletions → updates → creations, so a
//! record never exists without its marker and a CNAME ↔ A swap lands in one request.

use std::fmt;

use zonesync_core::{Change, ChangeGroup, Provider, ProviderError, RecordKey, Rejection, Zone};

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

/// The change groups a zone plan turns into.
pub fn change_groups(zone_plan: &ZonePlan) -> Vec<ChangeGroup> {
    zone_plan.rows.iter().map(group_for_row).collect()
}

fn group_for_row(row: &RowPlan) -> ChangeGroup {
    let rank = |change: &Change| match change {
        Change::Delete { .. } => 0,
        Change::Update { .. } => 1,
        Change::Create { .. } => 2,
    };
    let mut changes: Vec<Change> = row.changes.iter().chain(&row.markers).cloned().collect();
    // Stable: records before their markers within each rank.
    changes.sort_by_key(rank);
    let subject = row
        .changes
        .first()
        .map(Change::key)
        .unwrap_or_else(|| RecordKey {
            name: row.name.clone(),
            record_type: zonesync_core::RecordType::Txt,
            set_identifier: row.set_identifier.clone(),
        });
    ChangeGroup { subject, changes }
}

/// Applies `plan` through `provider`, zone by zone; in [`ApplyMode::DryRun`] writes nothing.
///
/// A failing zone does not stop the others; failures are in the outcome.
pub async fn apply(provider: &dyn Provider, plan: &Plan, mode: ApplyMode) -> ApplyOutcome {
    let mut outcome = ApplyOutcome::default();
    if mode == ApplyMode::DryRun {
        return outcome;
    }
    for zone_plan in plan.zones.iter().filter(|z| !z.rows.is_empty()) {
        let groups = change_groups(zone_plan);
        tracing::info!(zone = %zone_plan.zone.name, groups = groups.len(), provider = provider.name(), "applying changes");
        let result = provider.apply(&zone_plan.zone, &groups).await;
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
