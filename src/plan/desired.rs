//! What the planner is asked for: desired endpoints and what the sources know about objects.

use std::collections::BTreeSet;

use zonesync_core::Endpoint;

/// One endpoint an object wants, with when that object was created (for conflicts).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DesiredEndpoint {
    /// The endpoint; its `resource` label names the object.
    pub endpoint: Endpoint,
    /// The object's creation time, seconds since the epoch.
    pub created: Option<i64>,
}

/// What the sources know about one object, named `kind/namespace/name`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObjectStatus {
    /// The object does not exist (or was never read).
    Absent,
    /// It exists, but the filters do not select it.
    NotSelected,
    /// It exists and is selected.
    Selected,
    /// It is selected but was skipped as a whole for bad input: its records are kept.
    Skipped,
}

/// Answers what the sources know about an object; the planner asks it for delete reasons and
/// to keep the records of skipped objects.
pub trait ObjectLookup {
    /// The status of `resource` (`kind/namespace/name`).
    fn object_status(&self, resource: &str) -> ObjectStatus;
}

/// Desired endpoints with what the sources know about objects, as plain sets: a small
/// [`ObjectLookup`] for planning without a [`crate::controller::index::DesiredIndex`]
/// (planner tests and benchmarks).
#[derive(Clone, Debug, Default)]
pub struct DesiredState {
    /// Desired endpoints, already adjusted by the provider.
    pub endpoints: Vec<DesiredEndpoint>,
    /// Every object read.
    pub seen: BTreeSet<String>,
    /// Objects that passed the filters.
    pub selected: BTreeSet<String>,
    /// Objects skipped as a whole: their records are kept untouched.
    pub protected: BTreeSet<String>,
}

impl ObjectLookup for DesiredState {
    fn object_status(&self, resource: &str) -> ObjectStatus {
        if self.protected.contains(resource) {
            ObjectStatus::Skipped
        } else if self.selected.contains(resource) {
            ObjectStatus::Selected
        } else if self.seen.contains(resource) {
            ObjectStatus::NotSelected
        } else {
            ObjectStatus::Absent
        }
    }
}
