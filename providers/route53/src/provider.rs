//! [`Route53Provider`]: zones, records and changes through the Route53 API.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use aws_sdk_route53::types::{Change as Route53Change, ChangeBatch, RrType, TagResourceType};
use tokio::time::Instant;
use zonesync_core::{
    ApplyReport, Bisect, ChangeGroup, DnsName, Endpoint, ErrorChain, InTurn, Provider,
    ProviderError, RecordKey, Rejection, Zone,
};

use crate::adjust::{AdjustOptions, adjust};
use crate::api::{Api, load_sdk_config};
use crate::batch::{PreparedGroup, pack, prepare_group};
use crate::config::{Route53Config, clean_zone_id};
use crate::error::Route53Error;
use crate::record_set::{DEFAULT_TTL, decode_name, endpoint_from_record_set};
use crate::stats::{Operation, Route53Stats};

/// Record sets per `ListResourceRecordSets` page: Route53's maximum.
const RECORDS_PAGE_SIZE: i32 = 300;
/// Hosted zones per `ListHostedZones` page: Route53's maximum.
const ZONES_PAGE_SIZE: i32 = 100;
/// Zone ids per `ListTagsForResources` request: Route53's maximum.
const TAGS_BATCH: usize = 10;
/// Upper bound on pages of one listing (30 million record sets), against a server that keeps
/// answering "truncated".
const MAX_PAGES: usize = 100_000;
/// Split-horizon group of every public zone.
const PUBLIC_HORIZON: &str = "public";

#[derive(Debug)]
struct ZoneList {
    zones: Vec<Zone>,
    listed_at: Instant,
}

/// The Route53 provider.
///
/// Holds one rate limit for all its calls and the zone list (for
/// `--aws-zones-cache-duration`); it keeps no records: every [`Provider::records`] lists the
/// zone, and deletions are built from the record as zonesync read it (the record model keeps
/// everything Route53 needs to match a record set exactly).
pub struct Route53Provider {
    config: Route53Config,
    api: Api,
    zone_list: Mutex<Option<ZoneList>>,
}

impl std::fmt::Debug for Route53Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Route53Provider")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Route53Provider {
    /// Builds the provider with the AWS SDK's default credential and region chain, the
    /// configured profile and role, and the endpoint from `AWS_ENDPOINT_URL` /
    /// `AWS_ENDPOINT_URL_ROUTE_53` when set.
    ///
    /// Fails when the assumed role cannot be set up; credentials themselves are only checked
    /// by the first call.
    pub async fn new(config: Route53Config) -> Result<Self, ProviderError> {
        let sdk = load_sdk_config(&config).await;
        Ok(Self::with_sdk_config(config, sdk))
    }

    /// Builds the provider on an SDK configuration prepared by the caller (tests point it at an
    /// emulator this way). zonesync's retry, timeout and rate-limit policy is applied on top.
    pub fn with_sdk_config(config: Route53Config, sdk: aws_sdk_route53::config::Builder) -> Self {
        let api = Api::new(sdk, &config);
        Self {
            config,
            api,
            zone_list: Mutex::new(None),
        }
    }

    /// Requests sent so far, per operation.
    pub fn stats(&self) -> Route53Stats {
        self.api.counters.snapshot()
    }

    /// The settings in use.
    pub fn config(&self) -> &Route53Config {
        &self.config
    }

    fn zone_list_cache(&self) -> MutexGuard<'_, Option<ZoneList>> {
        self.zone_list.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn list_zones(&self) -> Result<Vec<Zone>, Route53Error> {
        let client = self.api.client();
        let filter = &self.config.zone_filter;
        let mut candidates: Vec<(String, String, bool)> = Vec::new();
        let mut marker: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let page = self
                .api
                .send(Operation::ListHostedZones, || {
                    client
                        .list_hosted_zones()
                        .set_marker(marker.clone())
                        .max_items(ZONES_PAGE_SIZE)
                        .send()
                })
                .await?;
            for zone in page.hosted_zones() {
                let id = clean_zone_id(zone.id()).to_string();
                let private = zone.config().is_some_and(|c| c.private_zone());
                if filter.matches_id_and_type(&id, private) {
                    candidates.push((id, zone.name().to_string(), private));
                }
            }
            marker = page.next_marker().map(str::to_string);
            if !page.is_truncated() || marker.is_none() {
                break;
            }
        }

        if !filter.tags.is_empty() {
            let mut tagged = std::collections::HashSet::new();
            for chunk in candidates.chunks(TAGS_BATCH) {
                let ids: Vec<String> = chunk.iter().map(|(id, _, _)| id.clone()).collect();
                let answer = self
                    .api
                    .send(Operation::ListTagsForResources, || {
                        client
                            .list_tags_for_resources()
                            .resource_type(TagResourceType::Hostedzone)
                            .set_resource_ids(Some(ids.clone()))
                            .send()
                    })
                    .await?;
                for set in answer.resource_tag_sets() {
                    let tags = set
                        .tags()
                        .iter()
                        .map(|tag| (tag.key().unwrap_or(""), tag.value().unwrap_or("")));
                    if filter.matches_tags(tags)
                        && let Some(id) = set.resource_id()
                    {
                        tagged.insert(clean_zone_id(id).to_string());
                    }
                }
            }
            candidates.retain(|(id, _, _)| tagged.contains(id));
        }

        let mut zones: Vec<Zone> = candidates
            .into_iter()
            .map(|(id, name, private)| {
                let horizon = if private {
                    format!("private/{id}")
                } else {
                    PUBLIC_HORIZON.to_string()
                };
                Zone::new(DnsName::from_provider(&decode_name(&name)))
                    .with_id(id)
                    .with_horizon(horizon)
            })
            .collect();
        zones.sort();
        Ok(zones)
    }

    async fn list_records(&self, zone_id: &str) -> Result<Vec<Endpoint>, Route53Error> {
        let client = self.api.client();
        let mut records: BTreeMap<RecordKey, Endpoint> = BTreeMap::new();
        let mut start: Option<(String, RrType, Option<String>)> = None;
        for _ in 0..MAX_PAGES {
            let page = self
                .api
                .send(Operation::ListResourceRecordSets, || {
                    let mut request = client
                        .list_resource_record_sets()
                        .hosted_zone_id(zone_id)
                        .max_items(RECORDS_PAGE_SIZE);
                    if let Some((name, record_type, identifier)) = &start {
                        request = request
                            .start_record_name(name)
                            .start_record_type(record_type.clone())
                            .set_start_record_identifier(identifier.clone());
                    }
                    request.send()
                })
                .await?;
            for record_set in page.resource_record_sets() {
                let endpoint = endpoint_from_record_set(record_set, zone_id);
                // A server that ignores StartRecordIdentifier repeats the start of a page.
                records.entry(endpoint.key()).or_insert(endpoint);
            }
            if !page.is_truncated() {
                return Ok(records.into_values().collect());
            }
            let next = match (page.next_record_name(), page.next_record_type()) {
                (Some(name), Some(record_type)) => (
                    name.to_string(),
                    record_type.clone(),
                    page.next_record_identifier().map(str::to_string),
                ),
                _ => {
                    return Err(Route53Error::Other {
                        operation: Operation::ListResourceRecordSets.name(),
                        code: "IncompletePage".to_string(),
                        message: "a truncated page named no next record".to_string(),
                    });
                }
            };
            if start.as_ref() == Some(&next) {
                return Err(Route53Error::Other {
                    operation: Operation::ListResourceRecordSets.name(),
                    code: "StuckPagination".to_string(),
                    message: format!(
                        "the listing of zone {zone_id} does not advance past {}",
                        next.0
                    ),
                });
            }
            start = Some(next);
        }
        Err(Route53Error::Other {
            operation: Operation::ListResourceRecordSets.name(),
            code: "TooManyPages".to_string(),
            message: format!("zone {zone_id} has more than {MAX_PAGES} pages of records"),
        })
    }

    /// Sends one change batch.
    async fn submit(&self, zone: &Zone, groups: &[&PreparedGroup]) -> Result<(), Route53Error> {
        let changes: Vec<Route53Change> = groups
            .iter()
            .flat_map(|group| group.changes.iter().cloned())
            .collect();
        let (records, characters) = groups.iter().fold((0, 0), |(r, c), group| {
            (r + group.cost.records, c + group.cost.characters)
        });
        self.api.counters.batch_size(records, characters);
        tracing::debug!(zone = %zone.name, groups = groups.len(), changes = changes.len(), records, characters, "sending a change batch");
        let batch = ChangeBatch::builder()
            .set_changes(Some(changes))
            .build()
            .map_err(|e| Route53Error::Other {
                operation: Operation::ChangeResourceRecordSets.name(),
                code: "InvalidRequest".to_string(),
                message: e.to_string(),
            })?;
        let client = self.api.client();
        let result = self
            .api
            .send(Operation::ChangeResourceRecordSets, || {
                client
                    .change_resource_record_sets()
                    .hosted_zone_id(&zone.id)
                    .change_batch(batch.clone())
                    .send()
            })
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(error) => {
                if error.is_rejection() {
                    self.api.counters.rejected_batch();
                }
                Err(error)
            }
        }
    }

    /// Sends `members` as one request; when Route53 rejects the batch, bisects it until every
    /// rejected group is alone and applies all the others.
    ///
    /// Returns how many groups were applied, or the first non-rejection error together with
    /// the groups that were not sent.
    async fn submit_isolating<'p>(
        &self,
        zone: &Zone,
        members: Vec<&'p PreparedGroup>,
        subjects: &[ChangeGroup<'_>],
        report: &mut ApplyReport,
    ) -> Result<usize, (Route53Error, Vec<&'p PreparedGroup>)> {
        let mut bisect = Bisect::new(members);
        while let Some(part) = bisect.next_part() {
            match self.submit(zone, &part).await {
                Ok(()) => bisect.accepted(&part),
                Err(error) if error.is_rejection() => {
                    if let Some(group) = bisect.rejected(zone, part, &error) {
                        self.api.counters.rejected_groups(1);
                        report.rejected.push(Rejection {
                            subject: subjects[group.index].subject.clone(),
                            message: error.server_message().to_string(),
                        });
                    }
                }
                Err(error) => return Err((error, bisect.unsent(part))),
            }
        }
        Ok(bisect.applied())
    }
}

#[async_trait]
impl Provider for Route53Provider {
    fn name(&self) -> &'static str {
        "aws"
    }

    async fn zones(&self) -> Result<Vec<Zone>, ProviderError> {
        let ttl = self.config.zones_cache_duration;
        if let Some(list) = self.zone_list_cache().as_ref()
            && !ttl.is_zero()
            && list.listed_at.elapsed() < ttl
        {
            return Ok(list.zones.clone());
        }
        let zones = self.list_zones().await.map_err(ProviderError::from)?;
        tracing::debug!(zones = zones.len(), "listed Route53 hosted zones");
        *self.zone_list_cache() = Some(ZoneList {
            zones: zones.clone(),
            listed_at: Instant::now(),
        });
        Ok(zones)
    }

    async fn records(&self, zone: &Zone) -> Result<Vec<Endpoint>, ProviderError> {
        self.list_records(&zone.id)
            .await
            .map_err(ProviderError::from)
    }

    async fn apply(
        &self,
        zone: &Zone,
        groups: &[ChangeGroup<'_>],
    ) -> Result<ApplyReport, ProviderError> {
        let mut report = ApplyReport::default();
        let limits = self.config.batch_limits;
        let mut prepared = Vec::with_capacity(groups.len());
        {
            for (index, group) in groups.iter().enumerate() {
                match prepare_group(index, group, &zone.id) {
                    Ok(group) if group.cost.records <= limits.max_records
                        && group.cost.characters <= limits.max_characters =>
                    {
                        prepared.push(group)
                    }
                    Ok(too_big) => report.rejected.push(Rejection {
                        subject: group.subject.clone(),
                        message: format!(
                            "too large for one Route53 request ({} records, {} characters of values; the limits are {} and {})",
                            too_big.cost.records, too_big.cost.characters, limits.max_records, limits.max_characters
                        ),
                    }),
                    Err(error) => report.rejected.push(Rejection {
                        subject: group.subject.clone(),
                        message: ErrorChain(&error).to_string(),
                    }),
                }
            }
        }
        self.api.counters.rejected_groups(report.rejected.len());

        let costs: Vec<_> = prepared.iter().map(|group| group.cost).collect();
        let requests = pack(&costs, limits);
        tracing::info!(zone = %zone.name, groups = prepared.len(), requests = requests.len(), "applying changes to Route53");
        let requests: Vec<Vec<&PreparedGroup>> = requests
            .iter()
            .map(|request| request.iter().map(|&i| &prepared[i]).collect())
            .collect();
        let subject = |group: &&PreparedGroup| groups[group.index].subject.clone();
        let mut turn = InTurn::new(zone);
        for request in requests {
            if let Some(members) = turn.admit(request, &mut report, &subject) {
                let outcome = self
                    .submit_isolating(zone, members, groups, &mut report)
                    .await;
                turn.sent(outcome, &mut report, &subject);
            }
        }
        let not_sent = turn.finish()?;
        self.api.counters.rejected_groups(not_sent);
        Ok(report)
    }

    fn default_ttl(&self) -> u32 {
        DEFAULT_TTL
    }

    async fn adjust_desired(&self, desired: Vec<Endpoint>) -> Result<Vec<Endpoint>, ProviderError> {
        let zones = self
            .zone_list_cache()
            .as_ref()
            .map(|list| {
                list.zones
                    .iter()
                    .map(|zone| (zone.id.clone(), zone.name.clone()))
                    .collect()
            })
            .unwrap_or_default();
        let options = AdjustOptions {
            prefer_cname: self.config.prefer_cname,
            evaluate_target_health: self.config.evaluate_target_health,
            zones,
        };
        Ok(adjust(desired, &options))
    }
}
