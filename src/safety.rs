//! Safety thresholds: a plan that would delete or update too large a share of the records
//! zonesync owns in a zone is refused for that kind of change (octoDNS semantics).
//!
//! The check runs between planning and applying, on the same plan that is printed. Refused
//! changes are held back; every other change (creations, the other kind, other zones) goes on.
//! `--force` applies everything.

use std::fmt;

use serde::Serialize;
use zonesync_core::{Change, DnsName};

use crate::plan::Plan;

/// Threshold settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SafetyLimits {
    /// Most deletions allowed, in percent of owned records (`--max-delete-percent`).
    pub max_delete_percent: u32,
    /// Most updates allowed, in percent of owned records (`--max-update-percent`).
    pub max_update_percent: u32,
    /// Zones where zonesync owns fewer records are not limited (`--safety-min-owned`).
    pub min_owned: usize,
    /// Apply regardless (`--force`).
    pub force: bool,
}

impl Default for SafetyLimits {
    fn default() -> Self {
        Self {
            max_delete_percent: 30,
            max_update_percent: 30,
            min_owned: 10,
            force: false,
        }
    }
}

/// The kind of change a threshold limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitedKind {
    /// Deletions.
    Delete,
    /// Updates.
    Update,
}

impl LimitedKind {
    fn matches(self, change: &Change) -> bool {
        matches!(
            (self, change),
            (LimitedKind::Delete, Change::Delete { .. })
                | (LimitedKind::Update, Change::Update { .. })
        )
    }
}

/// A kind of change refused in one zone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Refusal {
    /// The zone.
    pub zone: DnsName,
    /// What was refused.
    pub kind: LimitedKind,
    /// How many changes of that kind the plan holds.
    pub count: usize,
    /// Records zonesync owns in the zone.
    pub owned: usize,
    /// The limit in percent.
    pub limit_percent: u32,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (verb, flag) = match self.kind {
            LimitedKind::Delete => ("delete", "--max-delete-percent"),
            LimitedKind::Update => ("update", "--max-update-percent"),
        };
        write!(
            f,
            "zone {}: the plan would {verb} {} of the {} records zonesync owns ({}%), more than {flag}={}; these changes are held back (use --force to apply them)",
            self.zone,
            self.count,
            self.owned,
            self.count * 100 / self.owned.max(1),
            self.limit_percent
        )
    }
}

/// False when `count` deletions or updates can never cross a threshold, whatever the zone
/// size: below `min_owned` records nothing is limited, and from there on `count` is within the
/// smaller percentage. Lets the controller skip counting owned records for small changes.
pub fn may_refuse(count: usize, limits: &SafetyLimits) -> bool {
    let smallest = limits.max_delete_percent.min(limits.max_update_percent) as usize;
    !limits.force && count * 100 > limits.min_owned.max(1) * smallest
}

/// Finds what `plan` may not do under `limits`. Records owned per zone come from
/// `owned(zone index)`, so an incremental plan can be judged against the whole zone.
pub fn check(plan: &Plan, limits: &SafetyLimits, owned: impl Fn(usize) -> usize) -> Vec<Refusal> {
    if limits.force {
        return Vec::new();
    }
    let mut refusals = Vec::new();
    for (index, zone) in plan.zones.iter().enumerate() {
        let owned = owned(index);
        if owned < limits.min_owned.max(1) {
            continue;
        }
        for (kind, limit) in [
            (LimitedKind::Delete, limits.max_delete_percent),
            (LimitedKind::Update, limits.max_update_percent),
        ] {
            let count = zone.changes().filter(|c| kind.matches(c)).count();
            // More than `limit` percent: count / owned > limit / 100.
            if count * 100 > owned * limit as usize {
                refusals.push(Refusal {
                    zone: zone.zone.name.clone(),
                    kind,
                    count,
                    owned,
                    limit_percent: limit,
                });
            }
        }
    }
    refusals
}

/// Checks `plan` and moves refused changes (with their markers) out of it into
/// `plan.held_back`, recording the refusals in `plan.refusals`. Returns true when something was
/// held back.
pub fn enforce(plan: &mut Plan, limits: &SafetyLimits, owned: impl Fn(usize) -> usize) -> bool {
    let refusals = check(plan, limits, owned);
    hold_back(plan, &refusals);
    plan.refusals = refusals;
    !plan.refusals.is_empty()
}

/// Removes the refused changes (and their markers) from `plan` into `plan.held_back`, keeping
/// everything else.
pub fn hold_back(plan: &mut Plan, refusals: &[Refusal]) {
    let mut held = Vec::new();
    for zone in &mut plan.zones {
        let refused: Vec<LimitedKind> = refusals
            .iter()
            .filter(|r| r.zone == zone.zone.name)
            .map(|r| r.kind)
            .collect();
        if refused.is_empty() {
            continue;
        }
        // A row is applied whole or not at all: its record and marker changes belong together
        // (a CNAME → A swap is a delete and a create in one row).
        zone.rows.retain(|row| {
            let refuse = row
                .changes
                .iter()
                .any(|c| refused.iter().any(|kind| kind.matches(c)));
            if refuse {
                held.extend(row.changes.iter().cloned());
            }
            !refuse
        });
    }
    plan.held_back.extend(held);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{RowPlan, ZonePlan};
    use crate::testing::{a, name, zone};
    use zonesync_core::DeleteReason;

    fn plan_with(deletes: usize, updates: usize, creates: usize, owned: usize) -> Plan {
        let mut rows = Vec::new();
        for i in 0..deletes {
            rows.push(RowPlan {
                name: name(&format!("d{i}.example.com")),
                set_identifier: None,
                changes: vec![Change::Delete {
                    old: a(&format!("d{i}.example.com"), ["192.0.2.1"]),
                    reason: DeleteReason::NoLongerDesired,
                }],
                markers: vec![],
            });
        }
        for i in 0..updates {
            rows.push(RowPlan {
                name: name(&format!("u{i}.example.com")),
                set_identifier: None,
                changes: vec![Change::Update {
                    old: a(&format!("u{i}.example.com"), ["192.0.2.1"]),
                    new: a(&format!("u{i}.example.com"), ["192.0.2.2"]),
                }],
                markers: vec![],
            });
        }
        for i in 0..creates {
            rows.push(RowPlan {
                name: name(&format!("c{i}.example.com")),
                set_identifier: None,
                changes: vec![Change::Create {
                    record: a(&format!("c{i}.example.com"), ["192.0.2.1"]),
                }],
                markers: vec![],
            });
        }
        Plan {
            zones: vec![ZonePlan {
                zone: zone("example.com"),
                rows,
                owned,
            }],
            ..Plan::default()
        }
    }

    #[test]
    fn refuses_more_than_the_threshold() {
        let limits = SafetyLimits::default();
        let plan = plan_with(4, 0, 5, 10);
        let refusals = check(&plan, &limits, |i| plan.zones[i].owned);
        assert_eq!(refusals.len(), 1);
        assert_eq!(refusals[0].kind, LimitedKind::Delete);
        assert_eq!(
            refusals[0].to_string(),
            "zone example.com: the plan would delete 4 of the 10 records zonesync owns (40%), more than --max-delete-percent=30; these changes are held back (use --force to apply them)"
        );
        // Exactly at the threshold is allowed.
        let plan = plan_with(3, 3, 0, 10);
        assert!(check(&plan, &limits, |i| plan.zones[i].owned).is_empty());
        let plan = plan_with(0, 4, 0, 10);
        assert_eq!(
            check(&plan, &limits, |i| plan.zones[i].owned)[0].kind,
            LimitedKind::Update
        );
    }

    #[test]
    fn small_changes_never_need_counting() {
        let limits = SafetyLimits::default();
        assert!(!may_refuse(3, &limits), "3 of at least 10 is at most 30%");
        assert!(may_refuse(4, &limits));
        // Consistent with check(): a plan may_refuse rejects is refused for some zone size.
        let plan = plan_with(4, 0, 0, 10);
        assert_eq!(check(&plan, &limits, |i| plan.zones[i].owned).len(), 1);
    }

    #[test]
    fn small_zones_and_force_are_not_limited() {
        let plan = plan_with(9, 0, 0, 9);
        assert!(check(&plan, &SafetyLimits::default(), |i| plan.zones[i].owned).is_empty());
        let plan = plan_with(10, 0, 0, 10);
        let forced = SafetyLimits {
            force: true,
            ..SafetyLimits::default()
        };
        assert!(check(&plan, &forced, |i| plan.zones[i].owned).is_empty());
        assert_eq!(
            check(&plan, &SafetyLimits::default(), |i| plan.zones[i].owned).len(),
            1
        );
    }

    #[test]
    fn holding_back_keeps_everything_else() {
        let mut plan = plan_with(5, 2, 3, 10);
        let owned: Vec<usize> = plan.zones.iter().map(|z| z.owned).collect();
        assert!(enforce(&mut plan, &SafetyLimits::default(), |i| owned[i]));
        let counts = plan.counts();
        assert_eq!((counts.create, counts.update, counts.delete), (3, 2, 0));
        assert_eq!(plan.held_back.len(), 5);
        assert_eq!(plan.refusals.len(), 1);
    }
}
