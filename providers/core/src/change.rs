//! Changes: the one list that drives both printing a plan and applying it.

use std::fmt;

use serde::Serialize;

use crate::record::{Endpoint, Properties, RecordKey, RecordType, Targets};

/// Why zonesync deletes a record it owns.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum DeleteReason {
    /// The object that created the record no longer exists.
    ResourceGone {
        /// The object, as `kind/namespace/name`.
        resource: String,
    },
    /// The object still exists but the filters (namespace, labels, annotations, ingress class,
    /// `controller` annotation, Service type) no longer select it.
    ResourceNotSelected {
        /// The object, as `kind/namespace/name`.
        resource: String,
    },
    /// The object still exists but no longer asks for this name.
    NoLongerClaimed {
        /// The object, as `kind/namespace/name`.
        resource: String,
    },
    /// The name is still wanted, but with another record type (a CNAME that became an A).
    ReplacedByType {
        /// The type that replaces it.
        record_type: RecordType,
    },
    /// Owned, but no object wants the name and the marker names no object.
    NoLongerDesired,
    /// An ownership marker of ours whose record is gone.
    OrphanMarker,
}

impl fmt::Display for DeleteReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeleteReason::ResourceGone { resource } => write!(f, "{resource} no longer exists"),
            DeleteReason::ResourceNotSelected { resource } => {
                write!(f, "{resource} is no longer selected by the filters")
            }
            DeleteReason::NoLongerClaimed { resource } => {
                write!(f, "{resource} no longer asks for this name")
            }
            DeleteReason::ReplacedByType { record_type } => {
                write!(f, "replaced by a {record_type} record")
            }
            DeleteReason::NoLongerDesired => f.write_str("no object asks for this name any more"),
            DeleteReason::OrphanMarker => f.write_str("ownership marker without its record"),
        }
    }
}

/// What differs between the old and new version of an updated record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UpdateField {
    /// The value set.
    Targets,
    /// The TTL (only when the new TTL is configured).
    Ttl,
    /// Provider-specific properties.
    Properties,
    /// The object recorded in the ownership marker.
    Resource,
}

impl fmt::Display for UpdateField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            UpdateField::Targets => "targets",
            UpdateField::Ttl => "ttl",
            UpdateField::Properties => "properties",
            UpdateField::Resource => "resource",
        })
    }
}

/// One change to one RRset.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Change {
    /// Create an RRset that does not exist.
    Create {
        /// The record to create.
        record: Endpoint,
    },
    /// Replace an RRset zonesync owns.
    Update {
        /// The record as it is now.
        old: Endpoint,
        /// The record as it should be.
        new: Endpoint,
    },
    /// Remove an RRset zonesync owns.
    Delete {
        /// The record as it is now.
        old: Endpoint,
        /// Why it goes.
        reason: DeleteReason,
    },
}

impl Change {
    /// The RRset this change is about (the new identity for an update).
    pub fn key(&self) -> RecordKey {
        self.record().key()
    }

    /// The record as it will be after a create or update, or as it was before a delete.
    pub fn record(&self) -> &Endpoint {
        match self {
            Change::Create { record } => record,
            Change::Update { new, .. } => new,
            Change::Delete { old, .. } => old,
        }
    }

    /// Short verb for logs and metrics: `create`, `update` or `delete`.
    pub fn action(&self) -> &'static str {
        match self {
            Change::Create { .. } => "create",
            Change::Update { .. } => "update",
            Change::Delete { .. } => "delete",
        }
    }

    /// Where the change goes within its group: deletions (0), then updates (1), then creations
    /// (2), so a CNAME ↔ A swap never has both types at one name and a marker is never written
    /// before the record it describes is free to change.
    pub fn apply_rank(&self) -> u8 {
        match self {
            Change::Delete { .. } => 0,
            Change::Update { .. } => 1,
            Change::Create { .. } => 2,
        }
    }

    /// For an update, the fields that differ; empty for creates and deletes.
    pub fn updated_fields(&self) -> Vec<UpdateField> {
        match self {
            Change::Update { old, new } => differences(old, new),
            _ => Vec::new(),
        }
    }
}

/// The fields in which `desired` differs from `current` in a way that warrants an update.
///
/// Targets are compared as normalised sets; the TTL only when `desired` configures one.
pub fn differences(current: &Endpoint, desired: &Endpoint) -> Vec<UpdateField> {
    differences_to(
        current,
        &desired.targets,
        desired.ttl,
        &desired.properties,
        desired.resource(),
    )
}

/// What [`differences`] finds between `current` and a desired record with these values,
/// without building that record (the planner tells unchanged rows apart this way; an empty
/// answer allocates nothing).
pub fn differences_to(
    current: &Endpoint,
    targets: &Targets,
    ttl: Option<u32>,
    properties: &Properties,
    resource: Option<&str>,
) -> Vec<UpdateField> {
    let mut fields = Vec::new();
    if current.targets != *targets {
        fields.push(UpdateField::Targets);
    }
    if ttl.is_some() && ttl != current.ttl {
        fields.push(UpdateField::Ttl);
    }
    if current.properties != *properties {
        fields.push(UpdateField::Properties);
    }
    if resource.is_some() && current.resource() != resource {
        fields.push(UpdateField::Resource);
    }
    fields
}

/// Changes a provider must apply together, in one request where the backend allows it: a
/// record change and the changes to its ownership markers, in apply order (see
/// [`Change::apply_rank`]). The changes are borrowed from the plan, so applying a large plan
/// never copies it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangeGroup<'a> {
    /// The record the group is about, for reports.
    pub subject: RecordKey,
    /// The changes, in the order they are applied.
    pub changes: Vec<&'a Change>,
}

impl<'a> ChangeGroup<'a> {
    /// A group of `changes` reported under `subject`, in the order given.
    pub fn new(subject: RecordKey, changes: impl IntoIterator<Item = &'a Change>) -> Self {
        Self {
            subject,
            changes: changes.into_iter().collect(),
        }
    }
}

/// Outcome of a provider's apply that did not fail as a whole.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ApplyReport {
    /// Groups the server refused or did not apply, with the server's explanation.
    pub rejected: Vec<Rejection>,
}

/// One change group a provider could not apply.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Rejection {
    /// The record the group was about.
    pub subject: RecordKey,
    /// What the server said, or what the read-back found.
    pub message: String,
}
