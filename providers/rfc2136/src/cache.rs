//! The cached copy of a zone: its RRsets and the SOA serial they belong to.

use std::collections::BTreeMap;

use hickory_proto::rr::Record;
use zonesync_core::Endpoint;

use crate::records::{RrsetKey, rrsets};

/// A zone as of one SOA serial.
#[derive(Clone, Debug)]
pub(crate) struct ZoneSnapshot {
    /// The SOA serial this copy matches.
    pub serial: u32,
    rrsets: BTreeMap<RrsetKey, Endpoint>,
}

impl ZoneSnapshot {
    /// A snapshot from transferred records.
    pub(crate) fn from_records(serial: u32, records: &[Record]) -> Self {
        Self {
            serial,
            rrsets: rrsets(records),
        }
    }

    /// Every RRset, sorted by name and type.
    pub(crate) fn endpoints(&self) -> Vec<Endpoint> {
        self.rrsets.values().cloned().collect()
    }

    /// The RRset with this name and type.
    pub(crate) fn get(&self, key: &RrsetKey) -> Option<&Endpoint> {
        self.rrsets.get(key)
    }

    /// Replaces (or, with `None`, removes) one RRset.
    pub(crate) fn set(&mut self, key: RrsetKey, rrset: Option<Endpoint>) {
        match rrset {
            Some(rrset) => self.rrsets.insert(key, rrset),
            None => self.rrsets.remove(&key),
        };
    }

    /// Number of records (not RRsets).
    pub(crate) fn record_count(&self) -> usize {
        self.rrsets.values().map(|e| e.targets.len()).sum()
    }
}
