//! Kubernetes Events on the Ingress or Service a record belongs to.
//!
//! | reason | type | when |
//! |---|---|---|
//! | `RecordCreated` / `RecordUpdated` / `RecordDeleted` | Normal | zonesync wrote the record |
//! | `ConflictLost` | Warning | another object keeps the name, or a foreign record is in the way |
//! | `InputSkipped` | Warning | a host name, target or the whole object could not be used |
//! | `ProviderRejected` | Warning | the DNS provider refused the change |
//! | `ChangeHeldBack` | Warning | the safety thresholds hold the change back |
//!
//! Warnings that persist are published once an hour, not on every reconcile.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::ObjectReference;
use kube::Client;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use tokio::sync::mpsc;
use zonesync_core::{Change, RecordKey};

use super::reconcile::ReconcileReport;
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

/// The Events a reconcile report warrants; objects that no longer exist get none.
pub fn events_for(report: &ReconcileReport, objects: &dyn ObjectLookup) -> Vec<EventRequest> {
    let mut events = Vec::new();
    let exists = |resource: &str| objects.object_status(resource) != ObjectStatus::Absent;
    let mut push = |resource: &str, warning: bool, reason: &'static str, note: String| {
        if exists(resource) {
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
        let rejected: HashMap<&RecordKey, &str> = zone_outcome
            .rejected
            .iter()
            .map(|r| (&r.subject, r.message.as_str()))
            .collect();
        for row in &zone_plan.rows {
            let subject = row.changes.first().map(Change::key);
            let refusal = subject.as_ref().and_then(|s| rejected.get(s));
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
    let mut held = Vec::new();
    for change in &report.plan.held_back {
        if let Some(resource) = change.record().resource() {
            let why = report
                .plan
                .refusals
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ");
            // Also for objects that are gone: `kubectl get events` shows why their records
            // are still there.
            held.push(EventRequest {
                resource: resource.to_string(),
                warning: true,
                reason: "ChangeHeldBack",
                note: format!("{} {} held back: {why}", change.action(), change.key()),
            });
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
    events.extend(held);
    events
}

/// The object reference of `kind/namespace/name`; `None` for an unknown kind.
pub fn object_reference(resource: &str) -> Option<ObjectReference> {
    let mut parts = resource.splitn(3, '/');
    let (kind, namespace, name) = (parts.next()?, parts.next()?, parts.next()?);
    let (api_version, kind) = match kind {
        "ingress" => ("networking.k8s.io/v1", "Ingress"),
        "service" => ("v1", "Service"),
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
}

impl EventSink {
    /// A sink that drops everything (events disabled).
    pub fn disabled() -> Self {
        Self { sender: None }
    }

    /// Queues events; drops them when the queue is full rather than slow down reconciles.
    pub fn emit(&self, events: Vec<EventRequest>) {
        let Some(sender) = &self.sender else {
            return;
        };
        for event in events {
            if sender.try_send(event).is_err() {
                tracing::debug!("event queue full; dropping an event");
            }
        }
    }
}

/// How long a repeated warning stays quiet.
const REPEAT_AFTER: Duration = Duration::from_secs(3600);

/// Starts the publisher task.
pub fn spawn(client: Client, instance: Option<String>) -> (EventSink, tokio::task::JoinHandle<()>) {
    let (sender, mut receiver) = mpsc::channel::<EventRequest>(1024);
    let recorder = Recorder::new(
        client,
        Reporter {
            controller: "zonesync".into(),
            instance,
        },
    );
    let handle = tokio::spawn(async move {
        let mut recent: HashMap<EventRequest, Instant> = HashMap::new();
        while let Some(request) = receiver.recv().await {
            if request.warning {
                if recent
                    .get(&request)
                    .is_some_and(|at| at.elapsed() < REPEAT_AFTER)
                {
                    continue;
                }
                recent.retain(|_, at| at.elapsed() < REPEAT_AFTER);
                recent.insert(request.clone(), Instant::now());
            }
            let Some(reference) = object_reference(&request.resource) else {
                continue;
            };
            let mut note = request.note.clone();
            if note.len() > 1000 {
                let mut end = 1000;
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
            if let Err(error) = recorder.publish(&event, &reference).await {
                tracing::debug!(%error, resource = %request.resource, "could not publish an event");
            }
        }
    });
    (
        EventSink {
            sender: Some(sender),
        },
        handle,
    )
}
