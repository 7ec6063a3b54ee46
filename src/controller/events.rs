//! Kubernetes Events on the Ingress, Service, route or DNSEndpoint a record belongs to, and the
//! `status` of DNSEndpoints.
//!
//! | reason | type | when |
//! |---|---|---|
//! | `RecordCreated` / `RecordUpdated` / `RecordDeleted` | Normal | zonesync wrote the record |
//! | `ConflictLost` | Warning | another object keeps the name, or a foreign record is in the way |
//! | `InputSkipped` | Warning | a host name, target or the whole object could not be used |
//! | `ProviderRejected` | Warning | the DNS provider refused the change |
//! | `ChangeHeldBack` | Warning | the safety thresholds hold the change back |
//!
//! A reconcile publishes at most one Event per object: what happened to its records is
//! gathered into one note (the reason is the common one, `RecordsChanged` for a mix of
//! creations, updates and deletions; a warning outranks the normal reasons). Records that only
//! changed owner object, their values untouched, get no Event. Warnings that persist are
//! published once an hour, not on every reconcile. As in client-go, each object has a token
//! bucket (a burst of [`OBJECT_BURST`], then one Event per [`OBJECT_REFILL`]) and all Events
//! share a global one ([`GLOBAL_BURST`], then [`GLOBAL_PER_SECOND`] a second); what they refuse
//! is dropped and counted in `zonesync_events_dropped_total`.
//!
//! A DNSEndpoint's status after a reconcile of its names follows from that reconcile's Events
//! ([`dnsendpoint_statuses`]; written by [`StatusSink`]): `status.observedGeneration` and a
//! `Ready` condition, `True` (`Synced`) when every record set was written or already right,
//! else `False` with the problem's reason (`ProviderRejected`, `HeldBack`, `ConflictLost`,
//! `InvalidEndpoint`) and the Event's note.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::ObjectReference;
use kube::Client;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use tokio::sync::mpsc;
use zonesync_core::Change;

use super::metrics::Metrics;
use super::reconcile::ReconcileReport;
use crate::apply::RowStatus;
use crate::plan::{ConflictKind, ObjectLookup, ObjectStatus};

/// An Event to publish.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct EventRequest {
    /// The object, as `kind/namespace/name`.
    pub resource: String,
    /// True for a Warning, false for Normal.
    pub warning: bool,
    /// Reason (`RecordCreated`, …).
    pub reason: &'static str,
    /// Human-readable note.
    pub note: String,
}

/// The Events a reconcile report warrants, at most one per object; objects that no longer
/// exist get none (except for changes held back, which explain why records are still there).
///
/// Events are built for at most `room` objects (the room left in the publishing queue, so a
/// first sync of many objects does not build Events only to drop them); DNSEndpoints, whose
/// status follows from their Events, always get theirs. Returns the Events and how many objects
/// were left out.
pub fn events_for(
    report: &ReconcileReport,
    objects: &dyn ObjectLookup,
    room: usize,
) -> (Vec<EventRequest>, usize) {
    let mut admission = Admission {
        room,
        admitted: HashSet::new(),
        left_out: HashSet::new(),
    };
    let events = aggregate(each_event(report, objects, &mut admission));
    (events, admission.left_out.len())
}

/// Which objects get Events in one reconcile.
struct Admission<'r> {
    room: usize,
    admitted: HashSet<&'r str>,
    left_out: HashSet<&'r str>,
}

impl<'r> Admission<'r> {
    fn admits(&mut self, resource: &'r str) -> bool {
        if self.admitted.contains(resource) {
            return true;
        }
        if self.admitted.len() >= self.room && !resource.starts_with("crd/") {
            self.left_out.insert(resource);
            return false;
        }
        self.admitted.insert(resource);
        true
    }
}

/// Most characters of an Event note.
const NOTE_LIMIT: usize = 1000;

/// Folds the events of one reconcile into one per object, keeping the objects' first-seen
/// order.
fn aggregate(events: Vec<EventRequest>) -> Vec<EventRequest> {
    let mut order: Vec<String> = Vec::new();
    let mut by_object: BTreeMap<String, Vec<EventRequest>> = BTreeMap::new();
    for event in events {
        let list = by_object.entry(event.resource.clone()).or_default();
        if list.is_empty() {
            order.push(event.resource.clone());
        }
        if !list.contains(&event) {
            list.push(event);
        }
    }
    order
        .into_iter()
        .filter_map(|resource| {
            let list = by_object.remove(&resource)?;
            if list.len() == 1 {
                return list.into_iter().next();
            }
            let warning = list.iter().any(|e| e.warning);
            let kept: Vec<&EventRequest> = list.iter().filter(|e| e.warning == warning).collect();
            let first = kept[0].reason;
            // A warning outranks the rest; normal events of one kind keep it.
            let reason = if warning || kept.iter().all(|e| e.reason == first) {
                first
            } else {
                "RecordsChanged"
            };
            let mut note = String::new();
            for (shown, event) in list.iter().enumerate() {
                let part = if shown == 0 {
                    event.note.clone()
                } else {
                    format!("; {}", event.note)
                };
                if note.len() + part.len() > NOTE_LIMIT - 40 {
                    note.push_str(&format!("; … and {} more", list.len() - shown));
                    break;
                }
                note.push_str(&part);
            }
            Some(EventRequest {
                resource,
                warning,
                reason,
                note,
            })
        })
        .collect()
}

/// Every event of a report, before aggregation.
fn each_event<'r>(
    report: &'r ReconcileReport,
    objects: &dyn ObjectLookup,
    admission: &mut Admission<'r>,
) -> Vec<EventRequest> {
    let mut events = Vec::new();
    let exists = |resource: &str| objects.object_status(resource) != ObjectStatus::Absent;
    let mut push = |resource: &'r str, warning: bool, reason: &'static str, note: String| {
        if exists(resource) && admission.admits(resource) {
            events.push(EventRequest {
                resource: resource.to_string(),
                warning,
                reason,
                note,
            });
        }
    };
    for zone_outcome in &report.outcome.zones {
        let Some(zone_plan) = report
            .plan
            .zones
            .iter()
            .find(|z| z.zone.id == zone_outcome.zone.id)
        else {
            continue;
        };
        for (row, status) in zone_plan.rows.iter().zip(&zone_outcome.rows) {
            let refusal = match status {
                RowStatus::Rejected(message) => Some(message),
                _ => None,
            };
            for change in &row.changes {
                let record = change.record();
                let Some(resource) = record.resource() else {
                    continue;
                };
                if let Some(error) = &zone_outcome.error {
                    push(
                        resource,
                        true,
                        "ProviderRejected",
                        format!("{} {}: {}", change.action(), record.key(), error.message()),
                    );
                    continue;
                }
                if let Some(message) = refusal {
                    push(
                        resource,
                        true,
                        "ProviderRejected",
                        format!("{} {}: {message}", change.action(), record.key()),
                    );
                    continue;
                }
                if change
                    .updated_fields()
                    .iter()
                    .all(|field| *field == zonesync_core::UpdateField::Resource)
                    && matches!(change, Change::Update { .. })
                {
                    // Adopted unchanged: only the owning object recorded in the marker moved.
                    continue;
                }
                let (reason, note) = match change {
                    Change::Create { record } => (
                        "RecordCreated",
                        format!(
                            "created {} → {} in zone {}",
                            record.key(),
                            record.targets.as_slice().join(","),
                            zone_plan.zone.name
                        ),
                    ),
                    Change::Update { old, new } => (
                        "RecordUpdated",
                        format!(
                            "updated {}: {} → {}",
                            new.key(),
                            old.targets.as_slice().join(","),
                            new.targets.as_slice().join(",")
                        ),
                    ),
                    Change::Delete { old, reason } => {
                        ("RecordDeleted", format!("deleted {}: {reason}", old.key()))
                    }
                };
                push(resource, false, reason, note);
            }
        }
    }
    for conflict in &report.plan.conflicts {
        match &conflict.kind {
            ConflictKind::AlreadyOwned { losers, .. }
            | ConflictKind::ClaimedFirst { losers, .. } => {
                for loser in losers {
                    push(loser, true, "ConflictLost", conflict.to_string());
                }
            }
            ConflictKind::CnameBesideAddresses { resource, .. }
            | ConflictKind::ForeignRecord { resource, .. } => {
                push(resource, true, "ConflictLost", conflict.to_string());
            }
        }
    }
    for skipped in &report.plan.skipped {
        push(&skipped.resource, true, "InputSkipped", skipped.to_string());
    }
    // Also for objects that are gone: `kubectl get events` shows why their records are still
    // there.
    let why = report
        .plan
        .refusals
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ");
    for change in &report.plan.held_back {
        if let Some(resource) = change.record().resource()
            && admission.admits(resource)
        {
            events.push(EventRequest {
                resource: resource.to_string(),
                warning: true,
                reason: "ChangeHeldBack",
                note: format!("{} {} held back: {why}", change.action(), change.key()),
            });
        }
    }
    events
}

/// The object reference of `kind/namespace/name`; `None` for an unknown kind.
pub fn object_reference(resource: &str) -> Option<ObjectReference> {
    let mut parts = resource.splitn(3, '/');
    let (kind, namespace, name) = (parts.next()?, parts.next()?, parts.next()?);
    let (api_version, kind) = match kind {
        "ingress" => ("networking.k8s.io/v1", "Ingress"),
        "service" => ("v1", "Service"),
        "httproute" => ("gateway.networking.k8s.io/v1", "HTTPRoute"),
        "grpcroute" => ("gateway.networking.k8s.io/v1", "GRPCRoute"),
        "tlsroute" => ("gateway.networking.k8s.io/v1", "TLSRoute"),
        "tcproute" => ("gateway.networking.k8s.io/v1alpha2", "TCPRoute"),
        "udproute" => ("gateway.networking.k8s.io/v1alpha2", "UDPRoute"),
        "crd" => (
            crate::source::dnsendpoint::DEFAULT_API_VERSION,
            crate::source::dnsendpoint::DEFAULT_KIND,
        ),
        _ => return None,
    };
    Some(ObjectReference {
        api_version: Some(api_version.into()),
        kind: Some(kind.into()),
        namespace: Some(namespace.into()),
        name: Some(name.into()),
        ..ObjectReference::default()
    })
}

/// Sends events to the publisher task without blocking the reconcile loop.
#[derive(Clone)]
pub struct EventSink {
    sender: Option<mpsc::Sender<EventRequest>>,
    metrics: Option<Arc<Metrics>>,
}

impl EventSink {
    /// A sink that drops everything (events disabled).
    pub fn disabled() -> Self {
        Self {
            sender: None,
            metrics: None,
        }
    }

    /// How many more events the queue takes now (none when events are disabled).
    pub fn room(&self) -> usize {
        self.sender.as_ref().map_or(0, mpsc::Sender::capacity)
    }

    /// Counts `count` events dropped before they were queued.
    pub fn dropped(&self, count: usize) {
        if let (Some(metrics), true) = (&self.metrics, self.sender.is_some()) {
            metrics.events_dropped.inc_by(count as u64);
        }
    }

    /// Queues events; drops them when the queue is full rather than slow down reconciles.
    pub fn emit(&self, events: Vec<EventRequest>) {
        let Some(sender) = &self.sender else {
            return;
        };
        for event in events {
            if sender.try_send(event).is_err() {
                tracing::debug!("event queue full; dropping an event");
                if let Some(metrics) = &self.metrics {
                    metrics.events_dropped.inc();
                }
            }
        }
    }
}

/// How long a repeated warning stays quiet.
const REPEAT_AFTER: Duration = Duration::from_secs(3600);
/// Events one object may get in a burst (client-go's spam filter: 25).
pub const OBJECT_BURST: f64 = 25.0;
/// Time for one more Event of an object once its burst is spent (client-go: 5 minutes).
pub const OBJECT_REFILL: Duration = Duration::from_secs(300);
/// Events published in a burst over all objects (client-go queues at most 1000).
pub const GLOBAL_BURST: f64 = 1000.0;
/// Events published per second over all objects once the burst is spent.
pub const GLOBAL_PER_SECOND: f64 = 10.0;

/// A token bucket: `burst` tokens, refilled at `per_second`.
#[derive(Clone, Debug)]
pub struct TokenBucket {
    tokens: f64,
    burst: f64,
    per_second: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(burst: f64, per_second: f64, now: Instant) -> Self {
        Self {
            tokens: burst,
            burst,
            per_second,
            last: now,
        }
    }

    /// Takes a token if there is one at `now`.
    pub fn take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.burst);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// True when the bucket would be full at `now` (an idle object's bucket can be dropped).
    fn is_full(&self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens + elapsed * self.per_second >= self.burst
    }
}

/// Decides which Events are published: repeated warnings, the per-object and the global
/// rate limits. Pure, so it is tested without a cluster.
pub struct EventFilter {
    recent_warnings: HashMap<EventRequest, Instant>,
    per_object: HashMap<String, TokenBucket>,
    global: TokenBucket,
}

impl EventFilter {
    /// A filter with full buckets.
    pub fn new(now: Instant) -> Self {
        Self {
            recent_warnings: HashMap::new(),
            per_object: HashMap::new(),
            global: TokenBucket::new(GLOBAL_BURST, GLOBAL_PER_SECOND, now),
        }
    }

    /// `Some(true)` to publish, `Some(false)` to drop for a rate limit, `None` to skip quietly
    /// (a warning published less than an hour ago).
    pub fn admit(&mut self, request: &EventRequest, now: Instant) -> Option<bool> {
        if request.warning {
            if self
                .recent_warnings
                .get(request)
                .is_some_and(|at| now.saturating_duration_since(*at) < REPEAT_AFTER)
            {
                return None;
            }
            self.recent_warnings
                .retain(|_, at| now.saturating_duration_since(*at) < REPEAT_AFTER);
            self.recent_warnings.insert(request.clone(), now);
        }
        if self.per_object.len() > 10_000 {
            self.per_object.retain(|_, bucket| !bucket.is_full(now));
        }
        let bucket = self
            .per_object
            .entry(request.resource.clone())
            .or_insert_with(|| {
                TokenBucket::new(OBJECT_BURST, 1.0 / OBJECT_REFILL.as_secs_f64(), now)
            });
        if !bucket.take(now) {
            return Some(false);
        }
        Some(self.global.take(now))
    }
}

/// Starts the publisher task.
pub fn spawn(
    client: Client,
    instance: Option<String>,
    metrics: Arc<Metrics>,
) -> (EventSink, tokio::task::JoinHandle<()>) {
    let (sender, mut receiver) = mpsc::channel::<EventRequest>(1024);
    let recorder = Recorder::new(
        client,
        Reporter {
            controller: "zonesync".into(),
            instance,
        },
    );
    let sink_metrics = metrics.clone();
    let handle = tokio::spawn(async move {
        let mut filter = EventFilter::new(Instant::now());
        while let Some(request) = receiver.recv().await {
            match filter.admit(&request, Instant::now()) {
                None => continue,
                Some(false) => {
                    metrics.events_dropped.inc();
                    tracing::debug!(resource = %request.resource, reason = request.reason, "event rate limit reached; dropping an event");
                    continue;
                }
                Some(true) => {}
            }
            let Some(reference) = object_reference(&request.resource) else {
                continue;
            };
            let mut note = request.note.clone();
            if note.len() > NOTE_LIMIT {
                let mut end = NOTE_LIMIT;
                while !note.is_char_boundary(end) {
                    end -= 1;
                }
                note.truncate(end);
            }
            let event = Event {
                type_: if request.warning {
                    EventType::Warning
                } else {
                    EventType::Normal
                },
                reason: request.reason.into(),
                note: Some(note),
                action: "Reconcile".into(),
                secondary: None,
            };
            match recorder.publish(&event, &reference).await {
                Ok(()) => {
                    metrics.events_published.inc();
                }
                Err(error) => {
                    tracing::debug!(%error, resource = %request.resource, "could not publish an event")
                }
            }
        }
    });
    (
        EventSink {
            sender: Some(sender),
            metrics: Some(sink_metrics),
        },
        handle,
    )
}

/// The `Ready` condition of one DNSEndpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadyCondition {
    /// True when every record set of the object was written or already right.
    pub ready: bool,
    /// `Synced`, or why not: `ProviderRejected`, `HeldBack`, `ConflictLost`, `InvalidEndpoint`.
    pub reason: &'static str,
    /// What happened, in words.
    pub message: String,
}

/// One DNSEndpoint's status to write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusUpdate {
    /// `crd/<namespace>/<name>`.
    pub resource: String,
    /// The `metadata.generation` reconciled.
    pub generation: Option<i64>,
    /// Its condition.
    pub condition: ReadyCondition,
}

/// The statuses of the DNSEndpoints in `reconciled` (`(resource, generation)` of every
/// DNSEndpoint whose names a reconcile planned), from the Events that reconcile produced.
pub fn dnsendpoint_statuses(
    events: &[EventRequest],
    reconciled: impl IntoIterator<Item = (String, Option<i64>)>,
) -> Vec<StatusUpdate> {
    const ORDER: [(&str, &str); 4] = [
        ("ProviderRejected", "ProviderRejected"),
        ("ChangeHeldBack", "HeldBack"),
        ("ConflictLost", "ConflictLost"),
        ("InputSkipped", "InvalidEndpoint"),
    ];
    reconciled
        .into_iter()
        .filter(|(resource, _)| resource.starts_with("crd/"))
        .map(|(resource, generation)| {
            let mine: Vec<&EventRequest> =
                events.iter().filter(|e| e.resource == resource).collect();
            let worst = ORDER.iter().find(|(event_reason, _)| {
                mine.iter().any(|e| e.warning && e.reason == *event_reason)
            });
            let condition = match worst {
                Some((_, reason)) => {
                    let notes: Vec<&str> = mine
                        .iter()
                        .filter(|e| e.warning)
                        .map(|e| e.note.as_str())
                        .collect();
                    ReadyCondition {
                        ready: false,
                        reason,
                        message: shorten_message(&notes.join("; ")),
                    }
                }
                None => {
                    let written: Vec<&str> = mine.iter().map(|e| e.note.as_str()).collect();
                    ReadyCondition {
                        ready: true,
                        reason: "Synced",
                        message: if written.is_empty() {
                            "every record set is as declared".to_string()
                        } else {
                            shorten_message(&format!(
                                "every record set is as declared; {}",
                                written.join("; ")
                            ))
                        },
                    }
                }
            };
            StatusUpdate {
                resource,
                generation,
                condition,
            }
        })
        .collect()
}

fn shorten_message(text: &str) -> String {
    const LIMIT: usize = 1000;
    if text.len() <= LIMIT {
        return text.to_string();
    }
    let mut end = LIMIT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// The merge patch for a DNSEndpoint's `status`: `observedGeneration` and the `Ready`
/// condition (`lastTransitionTime` = `transition`, an RFC 3339 time).
pub fn status_patch(update: &StatusUpdate, transition: &str) -> serde_json::Value {
    let mut condition = serde_json::json!({
        "type": "Ready",
        "status": if update.condition.ready { "True" } else { "False" },
        "reason": update.condition.reason,
        "message": update.condition.message,
        "lastTransitionTime": transition,
    });
    let mut status = serde_json::json!({ "conditions": [] });
    if let Some(generation) = update.generation {
        condition["observedGeneration"] = generation.into();
        status["observedGeneration"] = generation.into();
    }
    status["conditions"] = serde_json::json!([condition]);
    serde_json::json!({ "status": status })
}

/// Writes one DNSEndpoint's status through the `status` subresource.
///
/// Fails when the API server refuses the patch (a DNSEndpoint deleted meanwhile answers 404).
pub async fn write_status(
    api: &kube::Api<kube::api::DynamicObject>,
    name: &str,
    patch: &serde_json::Value,
) -> Result<(), kube::Error> {
    api.patch_status(
        name,
        &kube::api::PatchParams::default(),
        &kube::api::Patch::Merge(patch),
    )
    .await
    .map(|_| ())
}

/// Sends DNSEndpoint statuses to the writer task without blocking the reconcile loop.
#[derive(Clone)]
pub struct StatusSink {
    sender: Option<mpsc::Sender<Vec<StatusUpdate>>>,
}

impl StatusSink {
    /// A sink that drops everything (dry run, or no `--source crd`).
    pub fn disabled() -> Self {
        Self { sender: None }
    }

    /// Queues statuses; drops them when the queue is full (the next reconcile writes again).
    pub fn report(&self, updates: Vec<StatusUpdate>) {
        if let Some(sender) = &self.sender
            && !updates.is_empty()
            && sender.try_send(updates).is_err()
        {
            tracing::debug!("status queue full; dropping DNSEndpoint statuses");
        }
    }
}

/// Starts the DNSEndpoint status writer. Writes only what changed since its last write, and
/// keeps `lastTransitionTime` while the condition's status stays the same.
pub fn spawn_status_writer(
    client: Client,
    source: crate::source::SourceConfig,
) -> (StatusSink, tokio::task::JoinHandle<()>) {
    let (sender, mut receiver) = mpsc::channel::<Vec<StatusUpdate>>(64);
    let handle = tokio::spawn(async move {
        let mut resource = None;
        // Per object: what was written last, and since when its status holds.
        let mut written: HashMap<String, (StatusUpdate, String)> = HashMap::new();
        while let Some(updates) = receiver.recv().await {
            if resource.is_none() {
                match crate::cluster::dnsendpoint_resource(&client, &source).await {
                    Ok(found) => resource = Some(found),
                    Err(error) => {
                        tracing::warn!(%error, "cannot write DNSEndpoint statuses");
                        continue;
                    }
                }
            }
            let Some(api_resource) = &resource else {
                continue;
            };
            for update in updates {
                if written
                    .get(&update.resource)
                    .is_some_and(|(last, _)| *last == update)
                {
                    continue;
                }
                let mut parts = update.resource.splitn(3, '/');
                let (Some(_), Some(namespace), Some(name)) =
                    (parts.next(), parts.next(), parts.next())
                else {
                    continue;
                };
                let transition = match written.get(&update.resource) {
                    Some((last, since)) if last.condition.ready == update.condition.ready => {
                        since.clone()
                    }
                    _ => k8s_openapi::jiff::Timestamp::now()
                        .strftime("%Y-%m-%dT%H:%M:%SZ")
                        .to_string(),
                };
                let api = kube::Api::namespaced_with(client.clone(), namespace, api_resource);
                match write_status(&api, name, &status_patch(&update, &transition)).await {
                    Ok(()) => {
                        written.insert(update.resource.clone(), (update, transition));
                    }
                    Err(error) => {
                        tracing::debug!(%error, resource = %update.resource, "could not write the DNSEndpoint status");
                    }
                }
            }
        }
    });
    (
        StatusSink {
            sender: Some(sender),
        },
        handle,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(resource: &str, warning: bool, reason: &'static str, note: &str) -> EventRequest {
        EventRequest {
            resource: resource.into(),
            warning,
            reason,
            note: note.into(),
        }
    }

    #[test]
    fn dnsendpoint_status_says_what_happened_to_its_records() {
        let events = [
            event("crd/dns/ok", false, "RecordCreated", "created a"),
            event("crd/dns/held", false, "RecordCreated", "created b"),
            event("crd/dns/held", true, "ChangeHeldBack", "delete c held back"),
            event("crd/dns/held", true, "InputSkipped", "bad entry"),
            event(
                "crd/dns/refused",
                true,
                "ProviderRejected",
                "create d: refused",
            ),
            event(
                "crd/dns/refused",
                true,
                "ChangeHeldBack",
                "delete e held back",
            ),
            event(
                "crd/dns/skipped",
                true,
                "InputSkipped",
                "spec.endpoints[0].targets[0]",
            ),
            event(
                "ingress/default/web",
                true,
                "ConflictLost",
                "not a DNSEndpoint",
            ),
        ];
        let reconciled = [
            ("crd/dns/ok", Some(3)),
            ("crd/dns/held", Some(1)),
            ("crd/dns/refused", None),
            ("crd/dns/skipped", Some(2)),
            ("crd/dns/quiet", Some(7)),
            ("ingress/default/web", None),
        ]
        .map(|(r, g)| (r.to_string(), g));
        let statuses = dnsendpoint_statuses(&events, reconciled);
        let summary: Vec<(String, bool, &str)> = statuses
            .iter()
            .map(|s| (s.resource.clone(), s.condition.ready, s.condition.reason))
            .collect();
        assert_eq!(
            summary,
            [
                ("crd/dns/ok".to_string(), true, "Synced"),
                ("crd/dns/held".to_string(), false, "HeldBack"),
                ("crd/dns/refused".to_string(), false, "ProviderRejected"),
                ("crd/dns/skipped".to_string(), false, "InvalidEndpoint"),
                ("crd/dns/quiet".to_string(), true, "Synced"),
            ]
        );
        assert!(statuses[1].condition.message.contains("delete c held back"));
        assert!(statuses[1].condition.message.contains("bad entry"));
        assert!(statuses[0].condition.message.contains("created a"));

        let patch = status_patch(&statuses[1], "2026-12-06T00:00:00Z");
        assert_eq!(patch["status"]["observedGeneration"], 1);
        let condition = &patch["status"]["conditions"][0];
        assert_eq!(condition["type"], "Ready");
        assert_eq!(condition["status"], "False");
        assert_eq!(condition["reason"], "HeldBack");
        assert_eq!(condition["lastTransitionTime"], "2026-12-06T00:00:00Z");
        let without = status_patch(&statuses[2], "2026-12-06T00:00:00Z");
        assert!(without["status"].get("observedGeneration").is_none());
    }

    #[test]
    fn events_are_built_for_as_many_objects_as_the_queue_takes_and_dnsendpoints_always() {
        let mut admission = Admission {
            room: 2,
            admitted: HashSet::new(),
            left_out: HashSet::new(),
        };
        let asked = [
            "ingress/a/one",
            "ingress/a/two",
            "ingress/a/one",
            "service/a/three",
            "crd/a/records",
            "service/a/four",
            "ingress/a/two",
        ];
        let admitted: Vec<bool> = asked.iter().map(|r| admission.admits(r)).collect();
        assert_eq!(admitted, [true, true, true, false, true, false, true]);
        assert_eq!(admission.left_out.len(), 2);
    }

    #[test]
    fn routes_and_dnsendpoints_get_events() {
        let route = object_reference("tcproute/apps/db").unwrap();
        assert_eq!(route.kind.as_deref(), Some("TCPRoute"));
        assert_eq!(
            route.api_version.as_deref(),
            Some("gateway.networking.k8s.io/v1alpha2")
        );
        let endpoint = object_reference("crd/dns/records").unwrap();
        assert_eq!(endpoint.kind.as_deref(), Some("DNSEndpoint"));
        assert_eq!(endpoint.namespace.as_deref(), Some("dns"));
        assert!(object_reference("pod/default/x").is_none());
    }

    #[test]
    fn one_event_per_object_lists_its_records() {
        let events = aggregate(vec![
            event("ingress/default/web", false, "RecordCreated", "created a"),
            event("ingress/default/api", false, "RecordCreated", "created b"),
            event("ingress/default/web", false, "RecordCreated", "created c"),
            event("ingress/default/api", false, "RecordDeleted", "deleted d"),
            event("ingress/default/web", false, "RecordCreated", "created c"),
        ]);
        assert_eq!(
            events,
            vec![
                event(
                    "ingress/default/web",
                    false,
                    "RecordCreated",
                    "created a; created c"
                ),
                event(
                    "ingress/default/api",
                    false,
                    "RecordsChanged",
                    "created b; deleted d"
                ),
            ]
        );
        let mixed = aggregate(vec![
            event("service/default/lb", false, "RecordCreated", "created a"),
            event("service/default/lb", true, "ProviderRejected", "refused b"),
        ]);
        assert_eq!(mixed.len(), 1);
        assert!(mixed[0].warning);
        assert_eq!(mixed[0].reason, "ProviderRejected");
        assert_eq!(mixed[0].note, "created a; refused b");
    }

    #[test]
    fn long_notes_are_cut_with_a_count() {
        let many: Vec<EventRequest> = (0..200)
            .map(|i| {
                event(
                    "ingress/default/web",
                    false,
                    "RecordCreated",
                    &format!("created host-{i}.example.com A"),
                )
            })
            .collect();
        let events = aggregate(many);
        assert_eq!(events.len(), 1);
        assert!(
            events[0].note.len() <= NOTE_LIMIT,
            "{}",
            events[0].note.len()
        );
        assert!(events[0].note.ends_with("more"), "{}", events[0].note);
    }

    #[test]
    fn rate_limits_per_object_and_overall() {
        let start = Instant::now();
        let mut filter = EventFilter::new(start);
        let web = event("ingress/default/web", false, "RecordCreated", "x");
        let admitted = (0..30)
            .filter(|_| filter.admit(&web, start) == Some(true))
            .count();
        assert_eq!(admitted, OBJECT_BURST as usize, "the object's burst");
        assert_eq!(filter.admit(&web, start + OBJECT_REFILL), Some(true));
        assert_eq!(filter.admit(&web, start + OBJECT_REFILL), Some(false));

        let mut filter = EventFilter::new(start);
        let admitted = (0..1500)
            .filter(|i| {
                let other = event(
                    &format!("ingress/default/o{i}"),
                    false,
                    "RecordCreated",
                    "x",
                );
                filter.admit(&other, start) == Some(true)
            })
            .count();
        assert_eq!(admitted, GLOBAL_BURST as usize, "the global burst");
        let later = start + Duration::from_secs(1);
        let admitted = (0..100)
            .filter(|i| {
                let other = event(
                    &format!("ingress/default/n{i}"),
                    false,
                    "RecordCreated",
                    "x",
                );
                filter.admit(&other, later) == Some(true)
            })
            .count();
        assert_eq!(admitted, GLOBAL_PER_SECOND as usize);
    }

    #[test]
    fn repeated_warnings_wait_an_hour() {
        let start = Instant::now();
        let mut filter = EventFilter::new(start);
        let warning = event("ingress/default/web", true, "ConflictLost", "x");
        assert_eq!(filter.admit(&warning, start), Some(true));
        assert_eq!(
            filter.admit(&warning, start + Duration::from_secs(60)),
            None
        );
        assert_eq!(filter.admit(&warning, start + REPEAT_AFTER), Some(true));
    }
}
