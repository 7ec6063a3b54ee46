//! The desired-state index: what every watched object asks for, by object and by DNS name.
//!
//! Pure and synchronous. Watch events replace one object's outcome; the index records which
//! names that touched (the dirty set), so a reconcile re-plans only those names. An object's
//! full Kubernetes representation is never kept: only its small [`Claim`].

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use zonesync_core::DnsName;

use crate::plan::{DesiredEndpoint, ObjectLookup, ObjectStatus};
use crate::source::{Claim, ObjectOutcome, ResourceKind, SkippedInput};

/// What is kept per object.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Entry {
    kind: ResourceKind,
    selected: bool,
    claim: Option<Claim>,
    skipped: Vec<SkippedInput>,
    /// Since when the object has had no target (empty load-balancer status or `target`
    /// annotation), while that lasts.
    targetless_since: Option<Instant>,
}

impl Entry {
    fn from_outcome(outcome: ObjectOutcome) -> Self {
        let mut claim = outcome.claim;
        let mut skipped = outcome.skipped;
        // Kept for the object's lifetime: no spare capacity from building them.
        if let Some(claim) = claim.as_mut() {
            claim.names.shrink_to_fit();
            claim.targets.shrink_to_fit();
        }
        skipped.shrink_to_fit();
        Self {
            kind: outcome.resource.kind,
            selected: outcome.selected,
            claim,
            skipped,
            targetless_since: None,
        }
    }

    fn is_targetless(&self) -> bool {
        self.claim.as_ref().is_some_and(Claim::is_targetless)
    }

    fn names(&self) -> impl Iterator<Item = &DnsName> {
        self.claim.iter().flat_map(|c| c.names.iter())
    }
}

/// Desired state fed by watch events.
#[derive(Default)]
pub struct DesiredIndex {
    /// How long an object without targets keeps its records (`--target-grace-period`).
    grace: std::time::Duration,
    /// Entries by `kind/namespace/name`. Boxed: a hash table keeps about a third of its slots
    /// empty, and an empty slot the size of an `Entry` costs more than the box.
    objects: HashMap<Arc<str>, Box<Entry>>,
    /// The objects claiming each name, sharing the keys of `objects`. Nearly always one, so a
    /// small `Vec` (a `BTreeSet` would allocate a node with room for eleven).
    by_name: HashMap<DnsName, Vec<Arc<str>>>,
    dirty: BTreeSet<DnsName>,
    dirty_since: Option<Instant>,
    /// Kinds whose initial list has completed at least once.
    synced: HashSet<ResourceKind>,
}

impl DesiredIndex {
    /// An empty index; objects that lose every target keep their records for `grace`.
    pub fn new(grace: std::time::Duration) -> Self {
        Self {
            grace,
            ..Self::default()
        }
    }

    /// Records `outcome` as the object's current state; marks the names it had and has dirty
    /// when anything that matters changed.
    ///
    /// An object whose targets vanished (a load balancer status emptied during an ingress
    /// controller rollout) keeps its last targets for the grace period, so nothing changes in
    /// DNS if they come back; an object first seen without targets has its existing records
    /// kept for the same period.
    pub fn upsert(&mut self, outcome: ObjectOutcome) {
        let resource = outcome.resource.to_string();
        // The key already held, if any, so `by_name` shares one allocation per object.
        let resource: Arc<str> = match self.objects.get_key_value(resource.as_str()) {
            Some((key, _)) => Arc::clone(key),
            None => resource.into(),
        };
        let mut entry = Box::new(Entry::from_outcome(outcome));
        let previous = self.objects.get(&resource);
        if !self.grace.is_zero() && entry.is_targetless() {
            let now = Instant::now();
            let since = previous.and_then(|p| p.targetless_since).unwrap_or(now);
            if since.elapsed() < self.grace {
                entry.targetless_since = Some(since);
                let last = previous
                    .and_then(|p| p.claim.as_ref())
                    .filter(|c| !c.targets.is_empty() || !c.records.is_empty());
                if let (Some(claim), Some(last)) = (entry.claim.as_mut(), last) {
                    tracing::info!(%resource, grace = ?self.grace, "no targets any more; keeping the last ones for the grace period");
                    claim.targets = last.targets.clone();
                    // Records (a NodePort or headless Service's) may have names of their own.
                    claim.records = last.records.clone();
                    for name in &last.names {
                        if !claim.names.contains(name) {
                            claim.names.push(name.clone());
                        }
                    }
                }
            }
        }
        if let Some(previous) = previous
            && previous.claim == entry.claim
            && previous.selected == entry.selected
            && previous.skipped == entry.skipped
        {
            // Nothing DNS depends on changed (at most the grace bookkeeping).
            self.objects.insert(resource, entry);
            return;
        }
        let mut touched: Vec<DnsName> = entry.names().cloned().collect();
        if let Some(previous) = previous {
            touched.extend(previous.names().cloned());
        }
        self.unlink(&resource);
        for name in entry.names() {
            let claimants = self
                .by_name
                .entry(name.clone())
                .or_insert_with(|| Vec::with_capacity(1));
            if !claimants.contains(&resource) {
                claimants.push(Arc::clone(&resource));
            }
        }
        self.objects.insert(resource, entry);
        self.mark_dirty(touched);
    }

    /// Forgets the object; marks its names dirty.
    pub fn remove(&mut self, resource: &str) {
        if let Some(entry) = self.objects.get(resource) {
            let touched: Vec<DnsName> = entry.names().cloned().collect();
            self.unlink(resource);
            self.objects.remove(resource);
            self.mark_dirty(touched);
        }
    }

    /// Replaces every object of `kind` with `outcomes` (a completed re-list): objects not in the
    /// list are removed, the others upserted.
    pub fn replace_kind(&mut self, kind: ResourceKind, outcomes: Vec<ObjectOutcome>) {
        let listed: HashSet<String> = outcomes.iter().map(|o| o.resource.to_string()).collect();
        let gone: Vec<Arc<str>> = self
            .objects
            .iter()
            .filter(|(resource, entry)| entry.kind == kind && !listed.contains(&***resource))
            .map(|(resource, _)| Arc::clone(resource))
            .collect();
        for resource in gone {
            self.remove(&resource);
        }
        for outcome in outcomes {
            self.upsert(outcome);
        }
        self.synced.insert(kind);
    }

    /// When the next grace period ends, if any object is in one.
    pub fn next_grace_expiry(&self) -> Option<Instant> {
        self.objects
            .values()
            .filter_map(|e| e.targetless_since)
            .map(|since| since + self.grace)
            .min()
    }

    /// Ends the grace periods that are over: those objects now ask for nothing, so their
    /// records are planned for deletion.
    pub fn expire_grace(&mut self) {
        let expired: Vec<Arc<str>> = self
            .objects
            .iter()
            .filter(|(_, e)| {
                e.targetless_since
                    .is_some_and(|s| s.elapsed() >= self.grace)
            })
            .map(|(resource, _)| Arc::clone(resource))
            .collect();
        for resource in expired {
            let Some(entry) = self.objects.get_mut(&resource) else {
                continue;
            };
            entry.targetless_since = None;
            let names: Vec<DnsName> = entry.names().cloned().collect();
            if let Some(claim) = entry.claim.as_mut() {
                claim.targets.clear();
            }
            tracing::info!(%resource, "grace period over; its records go");
            self.mark_dirty(names);
        }
    }

    /// True once the initial list of every kind in `kinds` has completed.
    pub fn is_synced(&self, kinds: &BTreeSet<ResourceKind>) -> bool {
        kinds.iter().all(|kind| self.synced.contains(kind))
    }

    /// Takes the dirty names and when the oldest of them became dirty.
    pub fn take_dirty(&mut self) -> (BTreeSet<DnsName>, Option<Instant>) {
        (std::mem::take(&mut self.dirty), self.dirty_since.take())
    }

    /// Puts names back (a reconcile that could not run).
    pub fn restore_dirty(&mut self, names: BTreeSet<DnsName>, since: Option<Instant>) {
        if names.is_empty() {
            return;
        }
        self.dirty.extend(names);
        self.dirty_since = match (self.dirty_since, since) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }

    /// True when some names wait for a reconcile.
    pub fn has_dirty(&self) -> bool {
        !self.dirty.is_empty()
    }

    /// Marks names dirty by hand (for records owned by an object, found in the zone store).
    pub fn mark_dirty(&mut self, names: impl IntoIterator<Item = DnsName>) {
        let before = self.dirty.len();
        self.dirty.extend(names);
        if self.dirty.len() > before && self.dirty_since.is_none() {
            self.dirty_since = Some(Instant::now());
        }
    }

    fn unlink(&mut self, resource: &str) {
        let Some(entry) = self.objects.get(resource) else {
            return;
        };
        let names: Vec<DnsName> = entry.names().cloned().collect();
        for name in names {
            if let Some(claimants) = self.by_name.get_mut(&name) {
                claimants.retain(|claimant| &**claimant != resource);
                if claimants.is_empty() {
                    self.by_name.remove(&name);
                }
            }
        }
    }

    /// The desired endpoints for `names`, from every object claiming them.
    pub fn desired_for<'a>(
        &self,
        names: impl IntoIterator<Item = &'a DnsName>,
    ) -> Vec<DesiredEndpoint> {
        let mut resources = BTreeSet::new();
        let names: HashSet<&DnsName> = names.into_iter().collect();
        for name in &names {
            if let Some(claimants) = self.by_name.get(*name) {
                resources.extend(claimants.iter());
            }
        }
        let mut desired = Vec::new();
        for resource in resources {
            let Some(claim) = self.objects.get(resource).and_then(|e| e.claim.as_ref()) else {
                continue;
            };
            desired.extend(
                claim
                    .endpoints()
                    .into_iter()
                    .filter(|e| names.contains(&e.name))
                    .map(|endpoint| DesiredEndpoint {
                        endpoint,
                        created: claim.created,
                    }),
            );
        }
        desired
    }

    /// Every desired endpoint, by object.
    pub fn desired_all(&self) -> Vec<DesiredEndpoint> {
        let mut desired = Vec::new();
        let mut resources: Vec<&Arc<str>> = self.objects.keys().collect();
        resources.sort();
        for resource in resources {
            if let Some(claim) = self.objects.get(resource).and_then(|e| e.claim.as_ref()) {
                desired.extend(
                    claim
                        .endpoints()
                        .into_iter()
                        .map(|endpoint| DesiredEndpoint {
                            endpoint,
                            created: claim.created,
                        }),
                );
            }
        }
        desired
    }

    /// Skipped input of the objects claiming `names` (all objects when `None`).
    pub fn skipped(&self, names: Option<&BTreeSet<DnsName>>) -> Vec<SkippedInput> {
        let mut skipped: Vec<SkippedInput> = match names {
            None => self
                .objects
                .values()
                .flat_map(|e| e.skipped.iter().cloned())
                .collect(),
            Some(names) => {
                let resources: BTreeSet<&Arc<str>> = names
                    .iter()
                    .filter_map(|n| self.by_name.get(n))
                    .flatten()
                    .collect();
                resources
                    .into_iter()
                    .filter_map(|r| self.objects.get(r))
                    .flat_map(|e| e.skipped.iter().cloned())
                    .collect()
            }
        };
        skipped.sort_by(|a, b| (&a.resource, &a.field).cmp(&(&b.resource, &b.field)));
        skipped
    }

    /// `(resource, generation)` of the DNSEndpoints claiming any of `names` (every DNSEndpoint
    /// when `None`): the objects whose status a reconcile of those names decides.
    pub fn dnsendpoints(&self, names: Option<&BTreeSet<DnsName>>) -> Vec<(String, Option<i64>)> {
        let generation = |resource: &Arc<str>| {
            let entry = self.objects.get(resource)?;
            (entry.kind == ResourceKind::DnsEndpoint).then(|| {
                (
                    resource.to_string(),
                    entry.claim.as_ref().and_then(|c| c.generation),
                )
            })
        };
        let mut found: Vec<(String, Option<i64>)> = match names {
            None => self.objects.keys().filter_map(generation).collect(),
            Some(names) => names
                .iter()
                .filter_map(|n| self.by_name.get(n))
                .flatten()
                .filter_map(generation)
                .collect(),
        };
        found.sort();
        found.dedup();
        found
    }

    /// Number of objects indexed.
    pub fn len(&self) -> usize {
        self.objects.len()
    }

    /// True when no object is indexed.
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }
}

impl ObjectLookup for DesiredIndex {
    fn object_status(&self, resource: &str) -> ObjectStatus {
        match self.objects.get(resource) {
            None => ObjectStatus::Absent,
            Some(entry) if !entry.selected => ObjectStatus::NotSelected,
            Some(entry) if entry.claim.is_none() => ObjectStatus::Skipped,
            Some(entry) if entry.targetless_since.is_some() => ObjectStatus::Skipped,
            Some(_) => ObjectStatus::Selected,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::ingress_outcome;
    use crate::testing::name;

    fn outcome(object: &str, names: &[&str], target: &str) -> ObjectOutcome {
        ingress_outcome(object, names, target)
    }

    fn dirty(index: &mut DesiredIndex) -> Vec<String> {
        index
            .take_dirty()
            .0
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn events_mark_only_touched_names() {
        let mut index = DesiredIndex::new(std::time::Duration::ZERO);
        index.upsert(outcome("a", &["a.example.com"], "192.0.2.1"));
        index.upsert(outcome("b", &["b.example.com"], "192.0.2.2"));
        assert_eq!(dirty(&mut index), ["a.example.com", "b.example.com"]);
        // Same content again: nothing to do.
        index.upsert(outcome("a", &["a.example.com"], "192.0.2.1"));
        assert!(dirty(&mut index).is_empty());
        // Renamed host: old and new names are dirty.
        index.upsert(outcome("a", &["c.example.com"], "192.0.2.1"));
        assert_eq!(dirty(&mut index), ["a.example.com", "c.example.com"]);
        index.remove("ingress/default/b");
        assert_eq!(dirty(&mut index), ["b.example.com"]);
        assert_eq!(
            index.object_status("ingress/default/b"),
            ObjectStatus::Absent
        );
    }

    #[test]
    fn desired_for_returns_only_requested_names() {
        let mut index = DesiredIndex::new(std::time::Duration::ZERO);
        index.upsert(outcome(
            "a",
            &["a.example.com", "x.example.com"],
            "192.0.2.1",
        ));
        index.upsert(outcome("b", &["x.example.com"], "192.0.2.2"));
        let wanted = [name("x.example.com")];
        let desired = index.desired_for(wanted.iter());
        assert_eq!(desired.len(), 2);
        assert!(
            desired
                .iter()
                .all(|d| d.endpoint.name.as_str() == "x.example.com")
        );
    }

    fn targetless(object: &str, host: &str) -> ObjectOutcome {
        let mut outcome = outcome(object, &[host], "192.0.2.1");
        outcome.claim.as_mut().unwrap().targets.clear();
        outcome
    }

    #[test]
    fn vanished_targets_are_kept_for_the_grace_period() {
        let mut index = DesiredIndex::new(std::time::Duration::from_millis(200));
        index.upsert(outcome("web", &["www.example.com"], "192.0.2.1"));
        dirty(&mut index);
        // The load balancer status empties: nothing changes in DNS.
        index.upsert(targetless("web", "www.example.com"));
        assert!(dirty(&mut index).is_empty());
        let desired = index.desired_for([name("www.example.com")].iter());
        assert_eq!(desired.len(), 1, "the last targets are still wanted");
        assert_eq!(
            index.object_status("ingress/default/web"),
            ObjectStatus::Skipped
        );
        // It comes back before the grace period ends: still nothing to do.
        index.upsert(outcome("web", &["www.example.com"], "192.0.2.1"));
        assert!(dirty(&mut index).is_empty());
        assert_eq!(index.next_grace_expiry(), None);
        // Empty again, and for good.
        index.upsert(targetless("web", "www.example.com"));
        assert!(index.next_grace_expiry().is_some());
        index.expire_grace();
        assert!(dirty(&mut index).is_empty(), "not over yet");
        std::thread::sleep(std::time::Duration::from_millis(250));
        index.expire_grace();
        assert_eq!(dirty(&mut index), ["www.example.com"]);
        assert!(
            index
                .desired_for([name("www.example.com")].iter())
                .is_empty()
        );
        assert_eq!(
            index.object_status("ingress/default/web"),
            ObjectStatus::Selected
        );
    }

    #[test]
    fn records_of_services_without_addresses_are_kept_for_the_grace_period() {
        let service = |records: &[(&str, &str)]| {
            let mut outcome = outcome("np", &["np.example.com"], "192.0.2.1");
            let claim = outcome.claim.as_mut().unwrap();
            claim.targets.clear();
            for (host, value) in records {
                claim.names.push(name(host));
                claim.records.push(zonesync_core::Endpoint::new(
                    name(host),
                    zonesync_core::RecordType::Srv,
                    [*value],
                ));
            }
            claim.names.dedup();
            outcome
        };
        let mut index = DesiredIndex::new(std::time::Duration::from_secs(60));
        index.upsert(service(&[(
            "_np._tcp.np.example.com",
            "0 50 30080 np.example.com",
        )]));
        dirty(&mut index);
        // The records vanish (no node address): the last ones stay wanted, names included.
        index.upsert(service(&[]));
        assert!(dirty(&mut index).is_empty());
        let desired = index.desired_for([name("_np._tcp.np.example.com")].iter());
        assert_eq!(desired.len(), 1);
        assert_eq!(
            index.object_status("ingress/default/np"),
            ObjectStatus::Skipped
        );
    }

    #[test]
    fn objects_first_seen_without_targets_keep_existing_records() {
        let mut index = DesiredIndex::new(std::time::Duration::from_secs(60));
        index.upsert(targetless("web", "www.example.com"));
        assert_eq!(
            index.object_status("ingress/default/web"),
            ObjectStatus::Skipped
        );
        let no_grace = {
            let mut index = DesiredIndex::new(std::time::Duration::ZERO);
            index.upsert(targetless("web", "www.example.com"));
            index.object_status("ingress/default/web")
        };
        assert_eq!(no_grace, ObjectStatus::Selected);
    }

    #[test]
    fn dnsendpoints_are_found_by_name_with_their_generation() {
        let mut index = DesiredIndex::new(std::time::Duration::ZERO);
        let object: crate::source::dnsendpoint::DnsEndpoint = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "records", "namespace": "dns", "generation": 4},
            "spec": {"endpoints": [{"dnsName": "txt.example.com", "recordType": "TXT", "targets": ["x"]}]},
        }))
        .unwrap();
        index.upsert(crate::source::dnsendpoint::convert(
            &object,
            &crate::source::SourceConfig::default(),
        ));
        index.upsert(outcome("web", &["www.example.com"], "192.0.2.1"));
        let wanted: BTreeSet<DnsName> = [name("txt.example.com"), name("www.example.com")].into();
        assert_eq!(
            index.dnsendpoints(Some(&wanted)),
            [("crd/dns/records".to_string(), Some(4))]
        );
        assert_eq!(index.dnsendpoints(None).len(), 1);
        let other: BTreeSet<DnsName> = [name("www.example.com")].into();
        assert!(index.dnsendpoints(Some(&other)).is_empty());
    }

    #[test]
    fn relist_removes_missing_objects_and_marks_sync() {
        let mut index = DesiredIndex::new(std::time::Duration::ZERO);
        let kinds = [ResourceKind::Ingress].into();
        assert!(!index.is_synced(&kinds));
        index.replace_kind(
            ResourceKind::Ingress,
            vec![
                outcome("a", &["a.example.com"], "192.0.2.1"),
                outcome("b", &["b.example.com"], "192.0.2.2"),
            ],
        );
        assert!(index.is_synced(&kinds));
        dirty(&mut index);
        index.replace_kind(
            ResourceKind::Ingress,
            vec![outcome("a", &["a.example.com"], "192.0.2.1")],
        );
        assert_eq!(dirty(&mut index), ["b.example.com"]);
        assert_eq!(index.len(), 1);
    }
}
