//! The contract between zonesync and its DNS back ends: the record model ([`Endpoint`]),
//! zones, [`Change`]s and the async [`Provider`] trait, and [`table`]: what a change does to a zone's records.
//!
//! This crate is deliberately light: no Kubernetes, no async runtime, no cloud SDK.

pub mod batch;
pub mod change;
pub mod error;
pub mod name;
pub mod provider;
pub mod record;
pub mod table;
pub mod zone;

pub use batch::{Bisect, InTurn};
pub use change::{
    ApplyReport, Change, ChangeGroup, DeleteReason, Rejection, UpdateField, differences,
    differences_to,
};
pub use error::{ErrorChain, ErrorKind, ProviderError};
pub use name::{DnsName, MAX_LABEL_LEN, MAX_NAME_LEN, NameError};
pub use provider::{DEFAULT_TTL, NameScope, Provider};
pub use record::{
    Endpoint, LABEL_OWNER, LABEL_RESOURCE, Labels, Properties, RecordKey, RecordType, Targets,
};
pub use table::{RecordTable, Refused, Strictness, ZoneRecords, apply_group, keys_at_name};
pub use zone::{Zone, zones_for};
