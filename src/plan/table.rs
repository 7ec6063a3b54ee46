//! The name table: a zone indexed once per plan, rows numbered by name and set identifier.

use std::cell::OnceCell;

use zonesync_core::{DnsName, Endpoint};

use super::{DesiredEndpoint, FastMap, RowKey, fast_map};
use crate::registry::{CurrentRecord, FoundMarker, Inventory};

/// A zone indexed for planning, once per plan: its rows (every name and set identifier with a
/// managed record or a desired endpoint, in the order first seen) with the records and
/// endpoints of each row in input order, and the lookups that only rows with something to
/// create, update or delete need, built on first use.
pub(super) struct ZoneTable<'a> {
    pub(super) inventory: &'a Inventory,
    pub(super) rows: Vec<RowKey<'a>>,
    /// The name of each row, as an index into the names the table saw.
    pub(super) row_names: Vec<usize>,
    pub(super) current: Grouped<&'a CurrentRecord>,
    pub(super) desired: Grouped<&'a DesiredEndpoint>,
    /// Every record (managed or not) with the index of its name.
    pub(super) named: Vec<(usize, &'a CurrentRecord)>,
    pub(super) names: usize,
    pub(super) at_name: OnceCell<Grouped<&'a CurrentRecord>>,
    /// Markers by name and set identifier; the last one read wins, as in a provider's listing.
    pub(super) markers: OnceCell<FastMap<(&'a str, Option<&'a str>), &'a FoundMarker>>,
}

/// Numbers names and rows as [`ZoneTable::new`] meets them: one hash lookup per name; the
/// rows of a name (one per set identifier, usually just one) chain from its first row.
pub(super) struct RowKeys<'a> {
    names: FastMap<&'a str, usize>,
    /// Per name, its first row.
    first_row: Vec<usize>,
    /// Per row, the next row at the same name.
    next_row: Vec<usize>,
    rows: Vec<RowKey<'a>>,
    row_names: Vec<usize>,
}

/// No row.
const NO_ROW: usize = usize::MAX;

impl<'a> RowKeys<'a> {
    pub(super) fn with_capacity(capacity: usize) -> Self {
        Self {
            names: fast_map(capacity),
            first_row: Vec::with_capacity(capacity),
            next_row: Vec::with_capacity(capacity),
            rows: Vec::with_capacity(capacity),
            row_names: Vec::with_capacity(capacity),
        }
    }

    /// The number of `name`.
    pub(super) fn name(&mut self, name: &'a DnsName) -> usize {
        let next = self.names.len();
        let id = *self.names.entry(name.as_str()).or_insert(next);
        if id == next {
            self.first_row.push(NO_ROW);
        }
        id
    }

    /// The row of `endpoint`, whose name has the number `name`.
    pub(super) fn row(&mut self, name: usize, endpoint: &'a Endpoint) -> usize {
        let set_identifier = endpoint.set_identifier.as_deref();
        let mut row = self.first_row[name];
        let mut last = NO_ROW;
        while row != NO_ROW {
            if self.rows[row].1 == set_identifier {
                return row;
            }
            last = row;
            row = self.next_row[row];
        }
        let row = self.rows.len();
        self.rows.push((&endpoint.name, set_identifier));
        self.row_names.push(name);
        self.next_row.push(NO_ROW);
        if last == NO_ROW {
            self.first_row[name] = row;
        } else {
            self.next_row[last] = row;
        }
        row
    }
}

impl<'a> ZoneTable<'a> {
    /// Indexes `inventory` (its records that `managed` accepts) and `desired`.
    pub(super) fn new(
        inventory: &'a Inventory,
        mut managed: impl FnMut(&CurrentRecord) -> bool,
        desired: &[&'a DesiredEndpoint],
    ) -> Self {
        let records = &inventory.records;
        let mut keys = RowKeys::with_capacity(records.len().max(desired.len()));
        let mut named = Vec::with_capacity(records.len());
        let mut current = Vec::with_capacity(records.len());
        for record in records {
            let endpoint = &record.endpoint;
            let name = keys.name(&endpoint.name);
            named.push((name, record));
            if managed(record) {
                current.push((keys.row(name, endpoint), record));
            }
        }
        let wanted: Vec<(usize, &DesiredEndpoint)> = desired
            .iter()
            .map(|wanted| {
                let endpoint = &wanted.endpoint;
                let name = keys.name(&endpoint.name);
                (keys.row(name, endpoint), *wanted)
            })
            .collect();
        let rows = keys.rows.len();
        Self {
            inventory,
            rows: keys.rows,
            row_names: keys.row_names,
            current: Grouped::new(rows, &current),
            desired: Grouped::new(rows, &wanted),
            named,
            names: keys.first_row.len(),
            at_name: OnceCell::new(),
            markers: OnceCell::new(),
        }
    }

    /// Every record at the name of `row`, in inventory order.
    pub(super) fn at_name(&self, row: usize) -> &[&'a CurrentRecord] {
        self.at_name
            .get_or_init(|| Grouped::new(self.names, &self.named))
            .get(self.row_names[row])
    }

    /// The marker in the zone with the name and set identifier of `marker`.
    pub(super) fn marker(&self, marker: &Endpoint) -> Option<&'a FoundMarker> {
        let markers = self.markers.get_or_init(|| {
            let mut markers = fast_map(self.inventory.markers.len());
            for found in &self.inventory.markers {
                markers.insert(
                    (
                        found.record.name.as_str(),
                        found.record.set_identifier.as_deref(),
                    ),
                    found,
                );
            }
            markers
        });
        markers
            .get(&(marker.name.as_str(), marker.set_identifier.as_deref()))
            .copied()
    }
}

/// Items grouped by a dense index (a row or a name): group `g` is
/// `items[starts[g]..starts[g + 1]]`, in input order. One allocation for all groups.
pub(super) struct Grouped<T> {
    items: Vec<T>,
    starts: Vec<usize>,
}

impl<T: Copy> Grouped<T> {
    /// Groups `(group, item)` pairs into `groups` groups (every group index below `groups`).
    pub(super) fn new(groups: usize, tagged: &[(usize, T)]) -> Self {
        let mut starts = vec![0; groups + 1];
        for &(group, _) in tagged {
            starts[group + 1] += 1;
        }
        for group in 0..groups {
            starts[group + 1] += starts[group];
        }
        let mut items = Vec::with_capacity(tagged.len());
        if let Some(&(_, first)) = tagged.first() {
            items.resize(tagged.len(), first);
        }
        let mut next = starts.clone();
        for &(group, item) in tagged {
            items[next[group]] = item;
            next[group] += 1;
        }
        Self { items, starts }
    }

    pub(super) fn get(&self, group: usize) -> &[T] {
        match (self.starts.get(group), self.starts.get(group + 1)) {
            (Some(&start), Some(&end)) => &self.items[start..end],
            _ => &[],
        }
    }
}
