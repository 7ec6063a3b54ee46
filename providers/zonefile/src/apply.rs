//! Applying change groups to a parsed zone with the strictness of a real DNS API, as
//! [`InMemoryProvider`](zonesync_core::InMemoryProvider) does: creating an RRset that exists,
//! updating or deleting one whose targets differ from `old`, or a CNAME beside other data
//! rejects the whole group, which is rolled back; the other groups still apply.
//!
//! Zone files add three refusals of their own: names outside the zone, set identifiers (a file
//! has no routing policies) and targets that are not valid master-file data for their type.

use zonesync_core::{ApplyReport, Change, ChangeGroup, Endpoint, RecordKey, RecordType, Rejection};

use crate::contents::{RrSet, ZoneContents};

/// Applies `groups` to `zone` in order. Returns the report and how many groups were applied.
pub(crate) fn apply_groups(
    zone: &mut ZoneContents,
    groups: &[ChangeGroup],
    default_ttl: u32,
) -> (ApplyReport, usize) {
    let mut report = ApplyReport::default();
    let mut applied = 0;
    for group in groups {
        // What each touched key held, to roll the group back as a whole.
        let mut undo: Vec<(RecordKey, Option<RrSet>)> = Vec::new();
        let outcome = group.changes.iter().try_for_each(|change| {
            for key in touched_keys(change) {
                undo.push((key.clone(), zone.sets.get(&key).cloned()));
            }
            apply_change(zone, change, default_ttl)
        });
        match outcome {
            Ok(()) => applied += 1,
            Err(message) => {
                for (key, previous) in undo.into_iter().rev() {
                    zone.set(key, previous);
                }
                tracing::debug!(zone = %zone.name, subject = %group.subject, %message, "change group rejected");
                report.rejected.push(Rejection {
                    subject: group.subject.clone(),
                    message,
                });
            }
        }
    }
    (report, applied)
}

fn touched_keys(change: &Change) -> Vec<RecordKey> {
    match change {
        Change::Update { old, new } => vec![old.key(), new.key()],
        other => vec![other.key()],
    }
}

fn apply_change(zone: &mut ZoneContents, change: &Change, default_ttl: u32) -> Result<(), String> {
    match change {
        Change::Create { record } => {
            if zone.sets.contains_key(&record.key()) {
                return Err(format!("{} already exists", record.key()));
            }
            check_cname_rules(zone, record)?;
            let set = storable(zone, record, default_ttl)?;
            zone.set(record.key(), Some(set));
        }
        Change::Update { old, new } => {
            check_current(zone, old)?;
            let set = storable(zone, new, default_ttl)?;
            zone.set(old.key(), None);
            if new.key() != old.key() && zone.sets.contains_key(&new.key()) {
                return Err(format!("{} already exists", new.key()));
            }
            check_cname_rules(zone, new)?;
            zone.set(new.key(), Some(set));
        }
        Change::Delete { old, .. } => {
            check_current(zone, old)?;
            zone.set(old.key(), None);
        }
    }
    Ok(())
}

/// The RRset `old` names must hold exactly `old`'s targets.
fn check_current(zone: &ZoneContents, old: &Endpoint) -> Result<(), String> {
    match zone.sets.get(&old.key()) {
        Some(existing) if existing.endpoint.targets == old.targets => Ok(()),
        Some(existing) => Err(format!(
            "{} holds {:?}, not {:?}",
            old.key(),
            existing.endpoint.targets,
            old.targets
        )),
        None => Err(format!("{} does not exist", old.key())),
    }
}

/// The records for `record`, after the checks a zone file needs beyond the in-memory ones.
fn storable(zone: &ZoneContents, record: &Endpoint, default_ttl: u32) -> Result<RrSet, String> {
    if let Some(set_identifier) = &record.set_identifier {
        return Err(format!(
            "{}: zone files have no routing policies, set identifier {set_identifier:?} cannot be stored",
            record.key()
        ));
    }
    if !record.name.is_within(&zone.name) {
        return Err(format!("{} is outside zone {}", record.key(), zone.name));
    }
    RrSet::from_endpoint(record, record.ttl.unwrap_or(default_ttl))
}

/// A CNAME cannot share its name with any other type (RFC 1034 §3.6.2).
fn check_cname_rules(zone: &ZoneContents, record: &Endpoint) -> Result<(), String> {
    let first_of_name = RecordKey {
        name: record.name.clone(),
        record_type: RecordType::A,
        set_identifier: None,
    };
    let same_name = zone
        .sets
        .range(first_of_name..)
        .map(|(key, _)| key)
        .take_while(|key| key.name == record.name);
    for key in same_name {
        let clash = (record.record_type == RecordType::Cname)
            != (key.record_type == RecordType::Cname)
            || (record.record_type == RecordType::Cname
                && key.set_identifier == record.set_identifier);
        if clash && key != &record.key() {
            return Err(format!(
                "{} {} cannot coexist with the existing {} record",
                record.name, record.record_type, key.record_type
            ));
        }
    }
    Ok(())
}
