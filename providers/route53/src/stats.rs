//! Call counters, for tests, benchmarks and logs: what zonesync cost the account's API budget.

use std::sync::atomic::{AtomicU64, Ordering};

/// A snapshot of the Route53 requests one provider has sent since it was built.
///
/// Every HTTP attempt counts, retries included: that is what Route53's request bucket sees.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Route53Stats {
    /// `ListHostedZones` requests.
    pub list_hosted_zones: u64,
    /// `ListTagsForResources` requests (only with `--aws-zone-tags`).
    pub list_tags_for_resources: u64,
    /// `ListResourceRecordSets` requests (one per page of up to 300 record sets).
    pub list_resource_record_sets: u64,
    /// `ChangeResourceRecordSets` requests, bisection and retries included.
    pub change_resource_record_sets: u64,
    /// Attempts that were repeated after a retryable failure.
    pub retries: u64,
    /// Answers that were `Throttling` or `PriorRequestNotComplete`.
    pub throttled: u64,
    /// `ChangeResourceRecordSets` answers that rejected the batch (`InvalidChangeBatch`).
    pub rejected_batches: u64,
    /// Change groups finally reported as rejected.
    pub rejected_groups: u64,
    /// Most resource records sent in one change request (UPSERT counted twice).
    pub largest_batch_records: u64,
    /// Most value characters sent in one change request (UPSERT counted twice).
    pub largest_batch_characters: u64,
}

impl Route53Stats {
    /// Every request sent, of any operation.
    pub fn total_requests(&self) -> u64 {
        self.list_hosted_zones
            + self.list_tags_for_resources
            + self.list_resource_record_sets
            + self.change_resource_record_sets
    }
}

/// The Route53 operations zonesync calls (also the IAM actions it needs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Operation {
    ListHostedZones,
    ListTagsForResources,
    ListResourceRecordSets,
    ChangeResourceRecordSets,
}

impl Operation {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Operation::ListHostedZones => "ListHostedZones",
            Operation::ListTagsForResources => "ListTagsForResources",
            Operation::ListResourceRecordSets => "ListResourceRecordSets",
            Operation::ChangeResourceRecordSets => "ChangeResourceRecordSets",
        }
    }
}

/// The live counters behind [`Route53Stats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    list_hosted_zones: AtomicU64,
    list_tags_for_resources: AtomicU64,
    list_resource_record_sets: AtomicU64,
    change_resource_record_sets: AtomicU64,
    retries: AtomicU64,
    throttled: AtomicU64,
    rejected_batches: AtomicU64,
    rejected_groups: AtomicU64,
    largest_batch_records: AtomicU64,
    largest_batch_characters: AtomicU64,
}

impl Counters {
    pub(crate) fn request(&self, operation: Operation) {
        let counter = match operation {
            Operation::ListHostedZones => &self.list_hosted_zones,
            Operation::ListTagsForResources => &self.list_tags_for_resources,
            Operation::ListResourceRecordSets => &self.list_resource_record_sets,
            Operation::ChangeResourceRecordSets => &self.change_resource_record_sets,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn retry(&self) {
        self.retries.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn throttled(&self) {
        self.throttled.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn rejected_batch(&self) {
        self.rejected_batches.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn rejected_groups(&self, count: usize) {
        self.rejected_groups
            .fetch_add(count as u64, Ordering::Relaxed);
    }

    pub(crate) fn batch_size(&self, records: usize, characters: usize) {
        self.largest_batch_records
            .fetch_max(records as u64, Ordering::Relaxed);
        self.largest_batch_characters
            .fetch_max(characters as u64, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> Route53Stats {
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        Route53Stats {
            list_hosted_zones: load(&self.list_hosted_zones),
            list_tags_for_resources: load(&self.list_tags_for_resources),
            list_resource_record_sets: load(&self.list_resource_record_sets),
            change_resource_record_sets: load(&self.change_resource_record_sets),
            retries: load(&self.retries),
            throttled: load(&self.throttled),
            rejected_batches: load(&self.rejected_batches),
            rejected_groups: load(&self.rejected_groups),
            largest_batch_records: load(&self.largest_batch_records),
            largest_batch_characters: load(&self.largest_batch_characters),
        }
    }
}
