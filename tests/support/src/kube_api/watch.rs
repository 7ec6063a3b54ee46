//! Watch streams: newline-delimited watch events over a chunked response, replayed from the
//! store's history.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use serde_json::{Value, json};
use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, MissedTickBehavior};

use super::selector::{FieldSelector, LabelSelector};
use super::server::Shared;
use super::status::ApiError;
use super::store::{EventType, HistoryEvent, StoredObject};

/// Changes read from the history per lock.
const BATCH: usize = 1024;
/// Initial objects per chunk.
const INITIAL_CHUNK: usize = 256;

/// Where a watch starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WatchStart {
    /// After this resourceVersion: replay the changes since.
    After(u64),
    /// At the current version, with a synthetic ADDED event for every existing object, then (for
    /// streaming lists) a bookmark marking the end of the initial events.
    InitialEvents {
        /// Whether to send the `k8s.io/initial-events-end` bookmark.
        end_bookmark: bool,
    },
}

/// What a watch asks for.
#[derive(Debug)]
pub(crate) struct WatchRequest {
    /// The resource type's index.
    pub type_index: usize,
    /// Only this namespace.
    pub namespace: Option<String>,
    /// `labelSelector`.
    pub labels: LabelSelector,
    /// `fieldSelector`.
    pub fields: FieldSelector,
    /// Where to start.
    pub start: WatchStart,
    /// `allowWatchBookmarks=true`.
    pub bookmarks: bool,
    /// When to close the stream.
    pub timeout: Duration,
    /// Whether objects are sent as `PartialObjectMetadata`.
    pub partial_metadata: bool,
}

/// Starts a watch and returns the stream of its chunks; a task feeds it until the timeout, a
/// drop, or the client going away.
pub(crate) fn start(shared: &Arc<Shared>, request: WatchRequest) -> mpsc::Receiver<Bytes> {
    let (sender, receiver) = mpsc::channel(8);
    let guard = shared.open_watch();
    let shared = shared.clone();
    tokio::spawn(async move {
        let _guard = guard;
        run(&shared, &request, &sender).await;
    });
    receiver
}

async fn run(shared: &Shared, request: &WatchRequest, sender: &mpsc::Sender<Bytes>) {
    let deadline = Instant::now() + request.timeout;
    let mut drops = shared.watch_drops();
    let resource = &shared.types[request.type_index];
    let namespace = request.namespace.as_deref();
    let started = {
        let store = shared.store();
        let changes = store.subscribe();
        match request.start {
            WatchStart::After(version) => store
                .check_watch_start(version)
                .map(|()| (changes, version, Vec::new())),
            WatchStart::InitialEvents { .. } => {
                let objects = store.snapshot(
                    request.type_index,
                    namespace,
                    &request.labels,
                    &request.fields,
                );
                Ok((changes, store.resource_version(), objects))
            }
        }
    };
    let (mut changes, mut position, initial) = match started {
        Ok(started) => started,
        Err(error) => {
            let _ = sender.send(error_line(&error)).await;
            return;
        }
    };
    let mut out = Output {
        sender,
        drops: &mut drops,
        deadline,
    };
    for chunk in initial.chunks(INITIAL_CHUNK) {
        let mut bytes = Vec::new();
        for object in chunk {
            write_event(&mut bytes, "ADDED", object, request.partial_metadata);
        }
        if !out.send(bytes.into()).await {
            return;
        }
    }
    drop(initial);
    if let WatchStart::InitialEvents { end_bookmark: true } = request.start
        && !out
            .send(bookmark_line(
                resource.kind(),
                &resource.api_version(),
                position,
                true,
            ))
            .await
    {
        return;
    }
    let interval = shared
        .settings
        .bookmark_interval
        .max(Duration::from_millis(10));
    let mut bookmarks = tokio::time::interval_at(Instant::now() + interval, interval);
    bookmarks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        // Send everything up to the current version, then wait for more.
        loop {
            let batch = shared.store().events_after(position, BATCH);
            let (events, next) = match batch {
                Ok(batch) => batch,
                Err(error) => {
                    out.send(error_line(&error)).await;
                    return;
                }
            };
            position = next;
            let mut bytes = Vec::new();
            for event in &events {
                render(&mut bytes, event, request);
            }
            if !bytes.is_empty() && !out.send(bytes.into()).await {
                return;
            }
            if events.len() < BATCH {
                break;
            }
        }
        tokio::select! {
            () = tokio::time::sleep_until(deadline) => return,
            _ = out.drops.changed() => return,
            () = sender.closed() => return,
            changed = changes.changed() => if changed.is_err() { return },
            _ = bookmarks.tick(), if request.bookmarks => {
                let line = bookmark_line(resource.kind(), &resource.api_version(), position, false);
                if !out.send(line).await {
                    return;
                }
            }
        }
    }
}

/// The sending end of a watch, which gives up when the watch is dropped or times out even while
/// the client is not reading.
struct Output<'a> {
    sender: &'a mpsc::Sender<Bytes>,
    drops: &'a mut watch::Receiver<u64>,
    deadline: Instant,
}

impl Output<'_> {
    /// Sends one chunk; false when the watch must end.
    async fn send(&mut self, chunk: Bytes) -> bool {
        // Checked after the chunk was read from the store: nothing written after
        // `drop_watches()` returned reaches a dropped watch.
        if self.drops.has_changed().unwrap_or(true) {
            return false;
        }
        tokio::select! {
            sent = self.sender.send(chunk) => sent.is_ok(),
            _ = self.drops.changed() => false,
            () = tokio::time::sleep_until(self.deadline) => false,
        }
    }
}

/// Writes one change as the watch sees it: a modification that makes an object start (stop)
/// matching the selectors is an ADDED (DELETED) event, as the API server sends it.
fn render(out: &mut Vec<u8>, event: &HistoryEvent, request: &WatchRequest) {
    if event.type_index != request.type_index {
        return;
    }
    let namespace = request.namespace.as_deref();
    let matches =
        |object: &StoredObject| object.matches(namespace, &request.labels, &request.fields);
    let now = matches(&event.object);
    let event_type = match event.event_type {
        EventType::Added if now => "ADDED",
        EventType::Deleted if now => "DELETED",
        EventType::Modified => {
            let before = event.previous.as_deref().is_none_or(matches);
            match (before, now) {
                (true, true) => "MODIFIED",
                (false, true) => "ADDED",
                (true, false) => "DELETED",
                (false, false) => return,
            }
        }
        _ => return,
    };
    write_event(out, event_type, &event.object, request.partial_metadata);
}

fn write_event(out: &mut Vec<u8>, event_type: &str, object: &StoredObject, partial_metadata: bool) {
    out.extend_from_slice(b"{\"type\":\"");
    out.extend_from_slice(event_type.as_bytes());
    out.extend_from_slice(b"\",\"object\":");
    if partial_metadata {
        out.extend_from_slice(&partial_object_metadata(&object.value()));
    } else {
        out.extend_from_slice(&object.json);
    }
    out.extend_from_slice(b"}\n");
}

/// An object reduced to `PartialObjectMetadata`, for clients that ask for metadata only.
pub(crate) fn partial_object_metadata(object: &Value) -> Vec<u8> {
    let partial = json!({
        "apiVersion": "meta.k8s.io/v1",
        "kind": "PartialObjectMetadata",
        "metadata": object.get("metadata").cloned().unwrap_or_else(|| json!({})),
    });
    serde_json::to_vec(&partial).unwrap_or_default()
}

fn bookmark_line(
    kind: &str,
    api_version: &str,
    resource_version: u64,
    initial_events_end: bool,
) -> Bytes {
    let mut metadata = json!({"resourceVersion": resource_version.to_string()});
    if initial_events_end {
        metadata["annotations"] = json!({"k8s.io/initial-events-end": "true"});
    }
    let event = json!({"type": "BOOKMARK", "object": {"kind": kind, "apiVersion": api_version, "metadata": metadata}});
    line(&event)
}

fn error_line(error: &ApiError) -> Bytes {
    line(&json!({"type": "ERROR", "object": error.to_status()}))
}

fn line(event: &Value) -> Bytes {
    let mut out = serde_json::to_vec(event).unwrap_or_default();
    out.push(b'\n');
    out.into()
}

/// The stream a watch fault with 410 answers with: one ERROR event carrying the Status.
pub(crate) fn expired_stream(error: &ApiError) -> Bytes {
    error_line(error)
}
