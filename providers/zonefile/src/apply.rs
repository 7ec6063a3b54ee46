//! Applying change groups to a parsed zone with the strictness of a real DNS API
//! ([`Strictness::Strict`]): creating an RRset that exists, updating or deleting one whose
//! targets differ from `old`, or a CNAME beside other data rejects the whole group, which is
//! rolled back; the other groups still apply.
//!
//! Zone files add three refusals of their own, in [`RecordTable::insert`]: names outside the
//! zone, set identifiers (a file has no routing policies) and targets that are not valid
//! master-file data for their type.

use zonesync_core::{
    ApplyReport, ChangeGroup, DnsName, Endpoint, RecordKey, RecordTable, RecordType, Rejection,
    Strictness, Targets, apply_group,
};

use crate::contents::{RrSet, ZoneContents};

/// A zone file's records as the one change-applying implementation sees them.
struct FileTable<'z> {
    zone: &'z mut ZoneContents,
    default_ttl: u32,
}

impl RecordTable for FileTable<'_> {
    type Entry = RrSet;

    fn targets(&self, key: &RecordKey) -> Option<&Targets> {
        self.zone.sets.get(key).map(|set| &set.endpoint.targets)
    }

    fn keys_at(&self, name: &DnsName) -> Vec<RecordKey> {
        let first_of_name = RecordKey {
            name: name.clone(),
            record_type: RecordType::A,
            set_identifier: None,
        };
        self.zone
            .sets
            .range(first_of_name..)
            .map(|(key, _)| key)
            .take_while(|key| key.name == *name)
            .cloned()
            .collect()
    }

    fn save(&self, key: &RecordKey) -> Option<RrSet> {
        self.zone.sets.get(key).cloned()
    }

    fn restore(&mut self, key: &RecordKey, entry: Option<RrSet>) {
        self.zone.set(key.clone(), entry);
    }

    fn insert(&mut self, record: &Endpoint) -> Result<(), String> {
        let set = storable(self.zone, record, self.default_ttl)?;
        self.zone.set(record.key(), Some(set));
        Ok(())
    }

    fn remove(&mut self, key: &RecordKey) {
        self.zone.set(key.clone(), None);
    }
}

/// Applies `groups` to `zone` in order. Returns the report and how many groups were applied.
pub(crate) fn apply_groups(
    zone: &mut ZoneContents,
    groups: &[ChangeGroup<'_>],
    default_ttl: u32,
) -> (ApplyReport, usize) {
    let mut report = ApplyReport::default();
    let mut applied = 0;
    let zone_name = zone.name.clone();
    let mut table = FileTable { zone, default_ttl };
    for group in groups {
        match apply_group(&mut table, group, Strictness::Strict) {
            Ok(()) => applied += 1,
            Err(message) => {
                tracing::debug!(zone = %zone_name, subject = %group.subject, %message, "change group rejected");
                report.rejected.push(Rejection {
                    subject: group.subject.clone(),
                    message,
                });
            }
        }
    }
    (report, applied)
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
