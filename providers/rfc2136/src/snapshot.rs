//! A zone as one transfer found it: its RRsets and the SOA serial they belong to. It lives only
//! as long as the listing or read-back that made it; the provider keeps no copy of a zone.

use std::collections::BTreeMap;

use zonesync_core::{Endpoint, Targets};

use crate::records::{RrsetGrouper, RrsetKey};

/// What a transfer keeps of an RRset: only its TTL and values (the key holds name and type).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Rrset {
    ttl: Option<u32>,
    targets: Targets,
}

impl From<Endpoint> for Rrset {
    fn from(endpoint: Endpoint) -> Self {
        Self {
            ttl: endpoint.ttl,
            targets: endpoint.targets,
        }
    }
}

/// A zone as of one SOA serial.
#[derive(Clone, Debug)]
pub(crate) struct ZoneSnapshot {
    /// The SOA serial the transfer ended with.
    pub serial: u32,
    rrsets: BTreeMap<RrsetKey, Rrset>,
}

impl ZoneSnapshot {
    /// A snapshot from a zone transfer's RRsets.
    pub(crate) fn from_transfer(serial: u32, rrsets: RrsetGrouper) -> Self {
        Self {
            serial,
            rrsets: rrsets.finish(|_, ttl, targets| Rrset {
                ttl: Some(ttl),
                targets,
            }),
        }
    }

    /// Every RRset, sorted by name and type.
    pub(crate) fn endpoints(&self) -> Vec<Endpoint> {
        self.rrsets
            .iter()
            .map(|((name, record_type), rrset)| {
                let mut endpoint = Endpoint::new(name.clone(), record_type.clone(), [""; 0]);
                endpoint.targets = rrset.targets.clone();
                endpoint.ttl = rrset.ttl;
                endpoint
            })
            .collect()
    }

    /// The values of the RRset with this name and type.
    pub(crate) fn get(&self, key: &RrsetKey) -> Option<&Targets> {
        self.rrsets.get(key).map(|rrset| &rrset.targets)
    }

    /// Number of records (not RRsets).
    pub(crate) fn record_count(&self) -> usize {
        self.rrsets.values().map(|rrset| rrset.targets.len()).sum()
    }
}
