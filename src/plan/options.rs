//! Planner settings: `--policy`, managed record types, domain filters, the default TTL.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use serde::Serialize;
use zonesync_core::{Change, RecordType};

use crate::filter::DomainFilter;

/// Which kinds of change zonesync may make (`--policy`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Policy {
    /// Create, update and delete.
    #[default]
    Sync,
    /// Create and update, never delete.
    UpsertOnly,
    /// Only create.
    CreateOnly,
}

impl Policy {
    /// True when the policy allows this kind of change.
    pub fn allows(self, change: &Change) -> bool {
        match (self, change) {
            (Policy::Sync, _) => true,
            (Policy::UpsertOnly, Change::Delete { .. }) => false,
            (Policy::UpsertOnly, _) => true,
            (Policy::CreateOnly, Change::Create { .. }) => true,
            (Policy::CreateOnly, _) => false,
        }
    }

    /// The flag value.
    pub fn as_str(self) -> &'static str {
        match self {
            Policy::Sync => "sync",
            Policy::UpsertOnly => "upsert-only",
            Policy::CreateOnly => "create-only",
        }
    }
}

/// A `--policy` value that is not one of the policies.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown policy {0:?} (use sync, upsert-only or create-only)")]
pub struct UnknownPolicy(pub String);

impl FromStr for Policy {
    type Err = UnknownPolicy;
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value {
            "sync" => Ok(Policy::Sync),
            "upsert-only" => Ok(Policy::UpsertOnly),
            "create-only" => Ok(Policy::CreateOnly),
            other => Err(UnknownPolicy(other.to_string())),
        }
    }
}

impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Planner settings.
#[derive(Clone, Debug)]
pub struct PlanOptions {
    /// `--policy`.
    pub policy: Policy,
    /// `--managed-record-types`.
    pub managed_types: BTreeSet<RecordType>,
    /// `--domain-filter` / `--exclude-domains`.
    pub domain_filter: DomainFilter,
    /// TTL written when none is configured (the provider's default).
    pub default_ttl: u32,
}

impl Default for PlanOptions {
    fn default() -> Self {
        Self {
            policy: Policy::Sync,
            managed_types: [RecordType::A, RecordType::Aaaa, RecordType::Cname].into(),
            domain_filter: DomainFilter::default(),
            default_ttl: zonesync_core::DEFAULT_TTL,
        }
    }
}
