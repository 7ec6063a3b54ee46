//! Change groups → Route53 changes, and the packing of groups into as few
//! `ChangeResourceRecordSets` requests as Route53's limits allow.
//!
//! A group (a record change with its marker changes) is never split across requests.

use aws_sdk_route53::types::{Change as Route53Change, ChangeAction};
use zonesync_core::{Change, ChangeGroup, Endpoint};

use crate::config::BatchLimits;
use crate::record_set::{RecordSetError, record_set_for, request_cost, routing_kind, writes_alias};

/// What one group costs in a request: resource records and value characters, UPSERT doubled.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Cost {
    pub records: usize,
    pub characters: usize,
}

impl Cost {
    fn add(self, other: Cost) -> Cost {
        Cost {
            records: self.records + other.records,
            characters: self.characters + other.characters,
        }
    }

    fn fits(self, limits: BatchLimits) -> bool {
        self.records <= limits.max_records && self.characters <= limits.max_characters
    }

    /// The larger of the two dimensions as a share of its limit.
    fn load(self, limits: BatchLimits) -> f64 {
        let records = self.records as f64 / limits.max_records.max(1) as f64;
        let characters = self.characters as f64 / limits.max_characters.max(1) as f64;
        records.max(characters)
    }
}

/// A group translated into Route53 changes.
#[derive(Clone, Debug)]
pub(crate) struct PreparedGroup {
    /// Position of the group in the caller's list.
    pub index: usize,
    /// The changes, in the group's order.
    pub changes: Vec<Route53Change>,
    /// Their cost.
    pub cost: Cost,
}

/// True when replacing `old` by `new` cannot be an UPSERT: Route53 identifies a record set by
/// name, type and set identifier, and refuses to switch an existing set between ALIAS and
/// plain values or between routing policies in place.
pub(crate) fn requires_delete_create(old: &Endpoint, new: &Endpoint) -> bool {
    old.key() != new.key()
        || writes_alias(old) != writes_alias(new)
        || routing_kind(&old.properties) != routing_kind(&new.properties)
}

/// Translates `group` for hosted zone `zone_id`. `current` returns the record set as Route53
/// listed it, used for deletions so they match exactly what is stored.
///
/// Fails when a record cannot be expressed in Route53.
pub(crate) fn prepare_group(
    index: usize,
    group: &ChangeGroup<'_>,
    zone_id: &str,
) -> Result<PreparedGroup, RecordSetError> {
    let mut changes = Vec::with_capacity(group.changes.len() + 1);
    // Route53 deletes a record set only when given it exactly: the record as read holds all
    // it needs (values, TTL, alias target, routing policy, health check).
    let existing = |endpoint: &Endpoint| record_set_for(endpoint, zone_id);
    for change in group.changes.iter().copied() {
        match change {
            Change::Create { record } => {
                changes.push((ChangeAction::Create, record_set_for(record, zone_id)?));
            }
            Change::Delete { old, .. } => changes.push((ChangeAction::Delete, existing(old)?)),
            Change::Update { old, new } => {
                if requires_delete_create(old, new) {
                    changes.push((ChangeAction::Delete, existing(old)?));
                    changes.push((ChangeAction::Create, record_set_for(new, zone_id)?));
                } else {
                    changes.push((ChangeAction::Upsert, record_set_for(new, zone_id)?));
                }
            }
        }
    }
    let mut cost = Cost::default();
    let mut built = Vec::with_capacity(changes.len());
    for (action, record_set) in changes {
        let (records, characters) = request_cost(&record_set);
        let factor = if action == ChangeAction::Upsert { 2 } else { 1 };
        cost = cost.add(Cost {
            records: records * factor,
            characters: characters * factor,
        });
        built.push(
            Route53Change::builder()
                .action(action)
                .resource_record_set(record_set)
                .build()
                .map_err(|source| RecordSetError::Build {
                    record: group.subject.clone(),
                    source,
                })?,
        );
    }
    Ok(PreparedGroup {
        index,
        changes: built,
        cost,
    })
}

/// Packs items (group costs) into the fewest requests within `limits`.
///
/// Every item must fit on its own. Returns, per request, the positions of its items in
/// ascending order; requests are ordered by their first item.
///
/// The count is the lower bound `max(⌈Σrecords / limit⌉, ⌈Σcharacters / limit⌉)` whenever a
/// balanced or first-fit-decreasing packing reaches it, which with groups as small as
/// zonesync's (a few records each) is practically always; otherwise one or two more.
pub(crate) fn pack(items: &[Cost], limits: BatchLimits) -> Vec<Vec<usize>> {
    if items.is_empty() {
        return Vec::new();
    }
    let total = items
        .iter()
        .fold(Cost::default(), |sum, item| sum.add(*item));
    let lower_bound = total
        .records
        .div_ceil(limits.max_records.max(1))
        .max(total.characters.div_ceil(limits.max_characters.max(1)))
        .max(1);
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_by(|&a, &b| {
        items[b]
            .load(limits)
            .total_cmp(&items[a].load(limits))
            .then(a.cmp(&b))
    });
    let first_fit = first_fit_decreasing(&order, items, limits);
    let best_fit = best_fit_decreasing(&order, items, limits);
    let mut best = if best_fit.len() < first_fit.len() {
        best_fit
    } else {
        first_fit
    };
    // A few more attempts at fewer requests; each costs O(items × requests).
    let ceiling = best.len().min(lower_bound + 3);
    for bins in lower_bound..ceiling {
        if let Some(packed) = balanced(&order, items, limits, bins) {
            best = packed;
            break;
        }
    }
    for bin in &mut best {
        bin.sort_unstable();
    }
    best.retain(|bin| !bin.is_empty());
    best.sort_by_key(|bin| bin.first().copied());
    best
}

/// Each item, largest first, into the first request with room.
fn first_fit_decreasing(order: &[usize], items: &[Cost], limits: BatchLimits) -> Vec<Vec<usize>> {
    let mut bins: Vec<(Cost, Vec<usize>)> = Vec::new();
    for &item in order {
        match bins
            .iter_mut()
            .find(|(load, _)| load.add(items[item]).fits(limits))
        {
            Some((load, members)) => {
                *load = load.add(items[item]);
                members.push(item);
            }
            None => bins.push((items[item], vec![item])),
        }
    }
    bins.into_iter().map(|(_, members)| members).collect()
}

/// Each item, largest first, into the fullest request where it still fits.
fn best_fit_decreasing(order: &[usize], items: &[Cost], limits: BatchLimits) -> Vec<Vec<usize>> {
    let mut bins: Vec<(Cost, Vec<usize>)> = Vec::new();
    for &item in order {
        let fullest = bins
            .iter_mut()
            .filter(|(load, _)| load.add(items[item]).fits(limits))
            .max_by(|(a, _), (b, _)| a.load(limits).total_cmp(&b.load(limits)));
        match fullest {
            Some((load, members)) => {
                *load = load.add(items[item]);
                members.push(item);
            }
            None => bins.push((items[item], vec![item])),
        }
    }
    bins.into_iter().map(|(_, members)| members).collect()
}

/// Each item, largest first, into the least loaded of exactly `count` requests where it fits;
/// `None` when some item fits nowhere.
fn balanced(
    order: &[usize],
    items: &[Cost],
    limits: BatchLimits,
    count: usize,
) -> Option<Vec<Vec<usize>>> {
    let mut bins: Vec<(Cost, Vec<usize>)> = vec![(Cost::default(), Vec::new()); count];
    for &item in order {
        let (load, members) = bins
            .iter_mut()
            .filter(|(load, _)| load.add(items[item]).fits(limits))
            .min_by(|(a, _), (b, _)| a.load(limits).total_cmp(&b.load(limits)))?;
        *load = load.add(items[item]);
        members.push(item);
    }
    Some(bins.into_iter().map(|(_, members)| members).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use zonesync_core::{DnsName, RecordType};

    fn limits() -> BatchLimits {
        BatchLimits::default()
    }

    fn check(items: &[Cost], packed: &[Vec<usize>], limits: BatchLimits) {
        let mut seen: Vec<usize> = packed.iter().flatten().copied().collect();
        seen.sort_unstable();
        assert_eq!(
            seen,
            (0..items.len()).collect::<Vec<_>>(),
            "each item exactly once"
        );
        for bin in packed {
            let load = bin
                .iter()
                .fold(Cost::default(), |sum, &i| sum.add(items[i]));
            assert!(load.fits(limits), "{load:?} over the limits");
        }
    }

    fn lower_bound(items: &[Cost], limits: BatchLimits) -> usize {
        let total = items
            .iter()
            .fold(Cost::default(), |sum, item| sum.add(*item));
        total
            .records
            .div_ceil(limits.max_records)
            .max(total.characters.div_ceil(limits.max_characters))
    }

    /// Record + marker groups like a real sync: an A value and a ~100-character marker.
    fn marker_groups(count: usize, seed: u64) -> Vec<Cost> {
        let mut state = seed;
        (0..count)
            .map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let jitter = (state >> 33) as usize % 30;
                Cost {
                    records: 2,
                    characters: 95 + jitter,
                }
            })
            .collect()
    }

    #[test]
    fn character_limit_binds_for_record_and_marker_groups() {
        for (count, seed) in [(2500, 1), (10_000, 2), (777, 3), (1, 4)] {
            let items = marker_groups(count, seed);
            let packed = pack(&items, limits());
            check(&items, &packed, limits());
            assert_eq!(
                packed.len(),
                lower_bound(&items, limits()),
                "{count} groups"
            );
        }
    }

    #[test]
    fn record_limit_binds_for_multi_value_groups() {
        // 40 values of 7 characters each: 1,000 records fill long before 32,000 characters.
        let items = vec![
            Cost {
                records: 41,
                characters: 380
            };
            500
        ];
        let packed = pack(&items, limits());
        check(&items, &packed, limits());
        assert_eq!(packed.len(), lower_bound(&items, limits()));
        assert!(packed.iter().all(|bin| bin.len() <= 24));
    }

    #[test]
    fn upserts_count_twice_and_groups_stay_whole() {
        // Ten UPSERT groups of 150 records each = 300 records each when doubled: 3 per request.
        let items = vec![
            Cost {
                records: 300,
                characters: 3000
            };
            10
        ];
        let packed = pack(&items, limits());
        check(&items, &packed, limits());
        assert_eq!(packed.len(), 4);
    }

    #[test]
    fn mixed_sizes_and_small_limits() {
        let small = BatchLimits {
            max_records: 10,
            max_characters: 100,
        };
        let items: Vec<Cost> = (0..200)
            .map(|i| Cost {
                records: 1 + i % 5,
                characters: 7 + (i * 13) % 40,
            })
            .collect();
        let packed = pack(&items, small);
        check(&items, &packed, small);
        let mut order: Vec<usize> = (0..items.len()).collect();
        order.sort_by(|&a, &b| items[b].load(small).total_cmp(&items[a].load(small)));
        assert!(packed.len() <= first_fit_decreasing(&order, &items, small).len());
    }

    #[test]
    fn updates_that_change_identity_become_delete_and_create() {
        let name = DnsName::parse("www.example.com").unwrap();
        let plain = Endpoint::new(name.clone(), RecordType::A, ["192.0.2.1"]).with_ttl(300);
        let other_ip = Endpoint::new(name.clone(), RecordType::A, ["192.0.2.2"]).with_ttl(300);
        let alias = Endpoint::new(
            name.clone(),
            RecordType::A,
            ["lb-1.us-east-1.elb.amazonaws.com"],
        )
        .with_property("alias", "true");
        let weighted = plain
            .clone()
            .with_set_identifier("a")
            .with_property("aws/weight", "1");
        let latency = plain
            .clone()
            .with_set_identifier("a")
            .with_property("aws/region", "us-east-1");
        assert!(!requires_delete_create(&plain, &other_ip));
        assert!(requires_delete_create(&plain, &alias));
        assert!(requires_delete_create(&plain, &weighted));
        assert!(requires_delete_create(&weighted, &latency));

        let swap = [Change::Update {
            old: plain.clone(),
            new: alias,
        }];
        let group = ChangeGroup::new(plain.key(), &swap);
        let prepared = prepare_group(0, &group, "Z1").unwrap();
        let actions: Vec<_> = prepared
            .changes
            .iter()
            .map(|c| c.action().clone())
            .collect();
        assert_eq!(actions, [ChangeAction::Delete, ChangeAction::Create]);

        let subject = plain.key();
        let upsert = [Change::Update {
            old: plain,
            new: other_ip,
        }];
        let group = ChangeGroup::new(subject, &upsert);
        let prepared = prepare_group(0, &group, "Z1").unwrap();
        assert_eq!(prepared.changes[0].action(), &ChangeAction::Upsert);
        assert_eq!(
            prepared.cost,
            Cost {
                records: 2,
                characters: 18
            },
            "UPSERT counts twice"
        );
    }
}
