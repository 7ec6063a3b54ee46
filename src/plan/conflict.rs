//! What the planner will not do as asked, and why: conflicts and kept records.

use std::fmt;

use serde::Serialize;
use zonesync_core::{DnsName, RecordKey, RecordType};

/// Why a desired record was not planned as asked.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum ConflictKind {
    /// Several objects want the name; `winner` keeps it because it already owns the record.
    AlreadyOwned {
        /// The object that keeps the name.
        winner: String,
        /// The objects that lose.
        losers: Vec<String>,
    },
    /// Several objects want the name; `winner` keeps it because it was created first.
    ClaimedFirst {
        /// The object that keeps the name.
        winner: String,
        /// The objects that lose.
        losers: Vec<String>,
    },
    /// The object wants both addresses and a host name for one name; the CNAME is dropped.
    CnameBesideAddresses {
        /// The object.
        resource: String,
        /// The dropped CNAME target.
        dropped: Vec<String>,
    },
    /// A record zonesync does not own is in the way.
    ForeignRecord {
        /// The object that wanted the record.
        resource: String,
        /// The record in the way.
        existing: RecordKey,
        /// Its owner id, when another external-dns/zonesync instance owns it.
        owner: Option<String>,
    },
}

/// A name zonesync could not plan as asked.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Conflict {
    /// The name.
    pub name: DnsName,
    /// Its set identifier.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub set_identifier: Option<String>,
    /// What happened.
    #[serde(flatten)]
    pub kind: ConflictKind,
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.name)?;
        if let Some(set_identifier) = &self.set_identifier {
            write!(f, " [{set_identifier}]")?;
        }
        match &self.kind {
            ConflictKind::AlreadyOwned { winner, losers } => write!(
                f,
                ": wanted by {} and {winner}; {winner} keeps it (it owns the record)",
                losers.join(", ")
            ),
            ConflictKind::ClaimedFirst { winner, losers } => write!(
                f,
                ": wanted by {} and {winner}; {winner} keeps it (created first)",
                losers.join(", ")
            ),
            ConflictKind::CnameBesideAddresses { resource, dropped } => write!(
                f,
                ": {resource} has address and host-name targets; A/AAAA kept, CNAME {} dropped",
                dropped.join(",")
            ),
            ConflictKind::ForeignRecord {
                resource,
                existing,
                owner,
            } => {
                let whose = match owner {
                    Some(owner) => format!("owned by {owner:?}"),
                    None => "not owned by zonesync".to_string(),
                };
                write!(
                    f,
                    ": {resource} wants it, but {} {existing} exists and is {whose}; left alone",
                    if existing.record_type == RecordType::Txt {
                        "marker"
                    } else {
                        "record"
                    }
                )
            }
        }
    }
}

/// A record zonesync owns and leaves alone although nothing wants it, because its object was
/// skipped for bad input.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct KeptRecord {
    /// The record.
    pub record: RecordKey,
    /// The skipped object.
    pub resource: String,
}
