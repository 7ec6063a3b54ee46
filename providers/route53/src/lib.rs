//! zonesync's AWS Route53 provider (`--provider aws`).
//!
//! - **Zones**: `ListHostedZones` (paginated), filtered by id, type and tags; cached for
//!   `--aws-zones-cache-duration`. Public zones share one split-horizon group and each private
//!   zone has its own, so a name is written to the longest public zone and to every matching
//!   private zone.
//! - **Records**: `ListResourceRecordSets` at 300 per page, read once per zone and then kept
//!   up to date from our own successful changes; [`zonesync_core::Provider::invalidate`] forces
//!   a re-read. ALIAS records and routing policies become provider-specific properties
//!   (`alias`, `aws/evaluate-target-health`, `aws/weight`, …) and back.
//! - **ALIAS**: CNAMEs to AWS load balancers, CloudFront, API Gateway, Global Accelerator and
//!   VPC endpoints become A and AAAA ALIAS records (table in `canonical_zones.tsv`).
//! - **Changes**: record and marker changes of one group always travel in one request; groups
//!   are packed into as few `ChangeResourceRecordSets` requests as the 1,000-record and
//!   32,000-character limits allow (UPSERT counted twice). A rejected batch is bisected so only
//!   the offending groups fail, each reported with Route53's message.
//! - **Rate**: one token bucket for all calls (burst 50, 10/s by default) and bounded, jittered
//!   exponential backoff on throttling, `PriorRequestNotComplete`, 5xx and connection errors.
//!
//! IAM actions used: `route53:ListHostedZones`, `route53:ListResourceRecordSets`,
//! `route53:ChangeResourceRecordSets`, and `route53:ListTagsForResources` with
//! `--aws-zone-tags` (plus `sts:AssumeRole` on the role given to `--aws-assume-role`).

mod adjust;
mod api;
mod batch;
pub mod canonical_zones;
mod config;
mod error;
mod provider;
mod rate_limit;
pub mod record_set;
mod stats;

pub use config::{
    AssumeRole, AwsArgs, BatchLimits, ConfigError, MAX_CHARACTERS_PER_REQUEST,
    MAX_RECORDS_PER_REQUEST, RateLimit, RetryPolicy, Route53Config, TagFilter, ZoneFilter,
    ZoneType, clean_zone_id,
};
pub use error::Route53Error;
pub use provider::Route53Provider;
pub use stats::Route53Stats;
