//! [`WebhookProvider`]: zonesync's provider contract over external-dns's webhook protocol.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;
use zonesync_core::{
    ApplyReport, Bisect, Change, ChangeGroup, DnsName, Endpoint, ErrorChain, InTurn, NameScope,
    Provider, ProviderError, RecordKey, Rejection, Zone,
};

use crate::client::{Client, Operation, WebhookStats};
use crate::config::WebhookConfig;
use crate::error::WebhookError;
use crate::filter::NegotiatedFilter;
use crate::wire::{endpoints_from_wire, to_wire};

/// Prefix of the provider-specific properties the webhook protocol carries
/// (`external-dns.kubernetes.io/webhook-<name>` → `webhook/<name>`).
pub const PROPERTY_PREFIX: &str = "webhook/";

/// The webhook provider: negotiated once when built, then every call is one HTTP exchange; it
/// keeps no copy of the records.
#[derive(Debug)]
pub struct WebhookProvider {
    client: Client,
    filter: Arc<NegotiatedFilter>,
    zones: Vec<Zone>,
}

/// One change group in wire form.
#[derive(Debug)]
struct WireGroup {
    /// Position in the caller's list.
    index: usize,
    create: Vec<String>,
    update_old: Vec<String>,
    update_new: Vec<String>,
    delete: Vec<String>,
    /// Serialised size of the entries, commas included.
    size: usize,
}

impl WireGroup {
    fn new(index: usize, group: &ChangeGroup<'_>) -> Self {
        let mut wire = WireGroup {
            index,
            create: Vec::new(),
            update_old: Vec::new(),
            update_new: Vec::new(),
            delete: Vec::new(),
            size: 0,
        };
        let text = |endpoint: &Endpoint| to_wire(endpoint).to_string();
        for change in &group.changes {
            match change {
                Change::Create { record } => wire.create.push(text(record)),
                Change::Delete { old, .. } => wire.delete.push(text(old)),
                Change::Update { old, new } if old.key() == new.key() => {
                    wire.update_old.push(text(old));
                    wire.update_new.push(text(new));
                }
                // The protocol pairs an update by record identity; a new identity is a delete
                // and a create.
                Change::Update { old, new } => {
                    wire.delete.push(text(old));
                    wire.create.push(text(new));
                }
            }
        }
        wire.size = [
            &wire.create,
            &wire.update_old,
            &wire.update_new,
            &wire.delete,
        ]
        .iter()
        .flat_map(|list| list.iter())
        .map(|entry| entry.len() + 1)
        .sum();
        wire
    }
}

/// The `POST /records` body for `groups`: `create`, `updateOld`, `updateNew`, `delete`, each
/// left out when empty (Go's `omitempty`); old and new updates at the same positions.
fn changes_body(groups: &[&WireGroup]) -> String {
    let mut body = String::from("{");
    type List = fn(&WireGroup) -> &Vec<String>;
    let lists: [(&str, List); 4] = [
        ("create", |g| &g.create),
        ("updateOld", |g| &g.update_old),
        ("updateNew", |g| &g.update_new),
        ("delete", |g| &g.delete),
    ];
    for (key, list) in lists {
        let mut entries = groups.iter().flat_map(|g| list(g).iter()).peekable();
        if entries.peek().is_none() {
            continue;
        }
        if body.len() > 1 {
            body.push(',');
        }
        body.push('"');
        body.push_str(key);
        body.push_str("\":[");
        for (position, entry) in entries.enumerate() {
            if position > 0 {
                body.push(',');
            }
            body.push_str(entry);
        }
        body.push(']');
    }
    body.push('}');
    body
}

/// True when `name` belongs to `zone` and to no more specific zone of `zones`: one listing
/// serves every zone, and each record is planned in exactly one.
fn belongs_to(zones: &[Zone], zone: &Zone, name: &DnsName) -> bool {
    zone.contains(name)
        && !zones.iter().any(|other| {
            other.name != zone.name && other.name.is_within(&zone.name) && other.contains(name)
        })
}

/// Room for the keys and brackets of a changes body.
const BODY_OVERHEAD: usize = 64;

impl WebhookProvider {
    /// Connects to the provider and negotiates: `GET /` with the media type in `Accept`
    /// (retried with backoff on connection errors and 5xx), the answer's `Content-Type` must be
    /// exactly the media type, and its body is the provider's domain filter.
    ///
    /// Fails when the provider cannot be reached after the retries, answers another status or
    /// media type, or sends a domain filter that cannot be read.
    pub async fn new(config: WebhookConfig) -> Result<Self, ProviderError> {
        let client = Client::new(config)?;
        let answer = client.exchange(Operation::Negotiate, None).await?;
        let filter = NegotiatedFilter::from_json(&answer).map_err(|error| {
            ProviderError::from(WebhookError::Decode {
                operation: Operation::Negotiate.describe(),
                message: format!("the domain filter: {}", ErrorChain(&error)),
            })
        })?;
        let zones = filter.zones().map_err(|error| {
            ProviderError::config(ErrorChain(&error).to_string()).with_source(error)
        })?;
        tracing::info!(
            url = %client.config().url,
            filter = %filter.describe(),
            zones = ?zones.iter().map(|z| z.name.to_string()).collect::<Vec<_>>(),
            "negotiated with the webhook provider"
        );
        Ok(Self {
            client,
            filter: Arc::new(filter),
            zones,
        })
    }

    /// Requests and bytes exchanged so far.
    pub fn stats(&self) -> WebhookStats {
        self.client.stats()
    }

    /// The negotiated domain filter.
    pub fn filter(&self) -> &NegotiatedFilter {
        &self.filter
    }

    /// Sends one `POST /records`.
    async fn post(&self, groups: &[&WireGroup]) -> Result<(), WebhookError> {
        let body = changes_body(groups);
        tracing::debug!(
            groups = groups.len(),
            bytes = body.len(),
            "sending a webhook change batch"
        );
        self.client
            .exchange(Operation::ApplyChanges, Some(&body))
            .await
            .map(|_| ())
    }

    /// Sends `part`; when the provider rejects it (a 4xx), bisects it until every rejected group
    /// is alone and applies all the others.
    ///
    /// Returns how many groups were applied, or the first other error with the groups not sent.
    async fn post_isolating<'w>(
        &self,
        zone: &Zone,
        part: Vec<&'w WireGroup>,
        groups: &[ChangeGroup<'_>],
        report: &mut ApplyReport,
    ) -> Result<usize, (WebhookError, Vec<&'w WireGroup>)> {
        let mut bisect = Bisect::new(part);
        while let Some(part) = bisect.next_part() {
            match self.post(&part).await {
                Ok(()) => bisect.accepted(&part),
                Err(error) if error.is_rejection() => {
                    if let Some(group) = bisect.rejected(zone, part, &error) {
                        let subject = groups[group.index].subject.clone();
                        tracing::warn!(zone = %zone.name, record = %subject, error = %error, "the webhook provider rejected a change");
                        report.rejected.push(Rejection {
                            subject,
                            message: error.provider_message(),
                        });
                    }
                }
                Err(error) => return Err((error, bisect.unsent(part))),
            }
        }
        Ok(bisect.applied())
    }

    /// `POST /adjustendpoints` with `desired`: the provider's normalisation (defaults for its
    /// properties, TTL rules). Properties other than `webhook/…` are dropped first. Labels (the
    /// owning object) are carried over from the input by position, or by record identity when
    /// the provider reordered or dropped endpoints.
    ///
    /// Fails when the provider cannot be reached or answers anything but 200 with a list of
    /// endpoints of the media type.
    pub async fn adjust_endpoints(
        &self,
        mut desired: Vec<Endpoint>,
    ) -> Result<Vec<Endpoint>, ProviderError> {
        for endpoint in &mut desired {
            endpoint
                .properties
                .retain(|name, _| name.starts_with(PROPERTY_PREFIX));
        }
        if desired.is_empty() {
            return Ok(desired);
        }
        let body = Value::Array(desired.iter().map(to_wire).collect()).to_string();
        let answer = self
            .client
            .exchange(Operation::AdjustEndpoints, Some(&body))
            .await?;
        let mut adjusted = endpoints_from_wire(&answer).map_err(|error| {
            ProviderError::from(WebhookError::Decode {
                operation: Operation::AdjustEndpoints.describe(),
                message: ErrorChain(&error).to_string(),
            })
        })?;
        let same_order = adjusted.len() == desired.len()
            && adjusted
                .iter()
                .zip(&desired)
                .all(|(a, d)| a.key() == d.key());
        if same_order {
            for (endpoint, original) in adjusted.iter_mut().zip(desired) {
                endpoint.labels = original.labels;
            }
        } else {
            let mut labels: HashMap<RecordKey, Vec<zonesync_core::Labels>> = HashMap::new();
            for original in desired {
                labels
                    .entry(original.key())
                    .or_default()
                    .push(original.labels);
            }
            for endpoint in &mut adjusted {
                if let Some(list) = labels.get_mut(&endpoint.key())
                    && !list.is_empty()
                {
                    endpoint.labels = list.remove(0);
                }
            }
        }
        Ok(adjusted)
    }
}

#[async_trait]
impl Provider for WebhookProvider {
    fn name(&self) -> &'static str {
        "webhook"
    }

    async fn zones(&self) -> Result<Vec<Zone>, ProviderError> {
        Ok(self.zones.clone())
    }

    async fn records(&self, zone: &Zone) -> Result<Vec<Endpoint>, ProviderError> {
        let answer = self.client.exchange(Operation::Records, None).await?;
        let endpoints = endpoints_from_wire(&answer).map_err(|error| {
            ProviderError::from(WebhookError::Decode {
                operation: Operation::Records.describe(),
                message: ErrorChain(&error).to_string(),
            })
        })?;
        Ok(endpoints
            .into_iter()
            .filter(|endpoint| belongs_to(&self.zones, zone, &endpoint.name))
            .collect())
    }

    async fn apply(
        &self,
        zone: &Zone,
        groups: &[ChangeGroup<'_>],
    ) -> Result<ApplyReport, ProviderError> {
        let mut report = ApplyReport::default();
        let limit = self.client.config().max_body_bytes;
        let mut wire = Vec::with_capacity(groups.len());
        for (index, group) in groups.iter().enumerate() {
            let prepared = WireGroup::new(index, group);
            if prepared.size + BODY_OVERHEAD > limit {
                report.rejected.push(Rejection {
                    subject: group.subject.clone(),
                    message: format!(
                        "too large for one webhook request ({} bytes; the limit is {limit})",
                        prepared.size
                    ),
                });
            } else {
                wire.push(prepared);
            }
        }
        // As few requests as the body limit allows; a group never spans two.
        let mut requests: Vec<Vec<&WireGroup>> = Vec::new();
        let mut current_size = BODY_OVERHEAD;
        for group in &wire {
            match requests.last_mut() {
                Some(request) if current_size + group.size <= limit => {
                    request.push(group);
                    current_size += group.size;
                }
                _ => {
                    requests.push(vec![group]);
                    current_size = BODY_OVERHEAD + group.size;
                }
            }
        }
        tracing::info!(zone = %zone.name, groups = wire.len(), requests = requests.len(), "applying changes through the webhook provider");
        let subject = |group: &&WireGroup| groups[group.index].subject.clone();
        let mut turn = InTurn::new(zone);
        for request in requests {
            if let Some(request) = turn.admit(request, &mut report, &subject) {
                let outcome = self
                    .post_isolating(zone, request, groups, &mut report)
                    .await;
                turn.sent(outcome, &mut report, &subject);
            }
        }
        turn.finish()?;
        Ok(report)
    }

    fn name_scope(&self) -> Option<Arc<dyn NameScope>> {
        Some(self.filter.clone())
    }

    async fn adjust_desired(&self, desired: Vec<Endpoint>) -> Result<Vec<Endpoint>, ProviderError> {
        self.adjust_endpoints(desired).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zonesync_core::{DeleteReason, RecordType};

    fn a(name: &str, ip: &str) -> Endpoint {
        Endpoint::new(DnsName::parse(name).unwrap(), RecordType::A, [ip])
    }

    #[test]
    fn a_record_belongs_to_the_longest_zone_only() {
        let zone = |n: &str| Zone::new(DnsName::parse(n).unwrap());
        let zones = [
            zone("example.com"),
            zone("dev.example.com"),
            zone("example.org"),
        ];
        let name = |n: &str| DnsName::parse(n).unwrap();
        assert!(belongs_to(&zones, &zones[0], &name("www.example.com")));
        assert!(!belongs_to(&zones, &zones[0], &name("api.dev.example.com")));
        assert!(belongs_to(&zones, &zones[1], &name("api.dev.example.com")));
        assert!(belongs_to(&zones, &zones[1], &name("dev.example.com")));
        assert!(!belongs_to(&zones, &zones[1], &name("www.example.com")));
        assert!(!belongs_to(&zones, &zones[2], &name("www.example.com")));
    }

    #[test]
    fn updates_pair_by_position_and_empty_lists_are_left_out() {
        let changes = [
            Change::Update {
                old: a("a.example.com", "192.0.2.1"),
                new: a("a.example.com", "192.0.2.2"),
            },
            Change::Update {
                old: a("b.example.com", "192.0.2.3"),
                new: a("b.example.com", "192.0.2.4"),
            },
            Change::Delete {
                old: a("c.example.com", "192.0.2.5"),
                reason: DeleteReason::NoLongerDesired,
            },
        ];
        let first = ChangeGroup::new(changes[0].key(), [&changes[0]]);
        let second = ChangeGroup::new(changes[1].key(), [&changes[1], &changes[2]]);
        let groups = [WireGroup::new(0, &first), WireGroup::new(1, &second)];
        let body = changes_body(&groups.iter().collect::<Vec<_>>());
        let value: Value = serde_json::from_str(&body).unwrap();
        assert!(value.get("create").is_none());
        assert_eq!(value["updateOld"][0]["dnsName"], "a.example.com");
        assert_eq!(value["updateNew"][0]["targets"][0], "192.0.2.2");
        assert_eq!(value["updateOld"][1]["dnsName"], "b.example.com");
        assert_eq!(value["updateNew"][1]["targets"][0], "192.0.2.4");
        assert_eq!(value["delete"][0]["dnsName"], "c.example.com");
        let sizes: usize = groups.iter().map(|g| g.size).sum();
        assert!(body.len() <= sizes + BODY_OVERHEAD);
    }
}
