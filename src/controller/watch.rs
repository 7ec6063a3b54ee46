//! Watches: Ingresses and Services streamed from the API server into the desired-state index.
//!
//! Each object is converted into its small claim as soon as it arrives; the object itself is
//! dropped. A (re-)list is buffered until it completes, then replaces that kind's objects as a
//! whole, so a failed or partial list can never look like "these objects are gone".

use std::sync::Arc;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::networking::v1::Ingress;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use kube::{Api, Client, Resource, ResourceExt};
use tokio_util::sync::CancellationToken;

use super::Shared;
use super::metrics::ResourceLabels;
use super::reconcile::lock;
use crate::source::{ObjectOutcome, ResourceKind, ResourceRef, SourceConfig, ingress, service};

/// Starts one watch per configured kind.
pub fn spawn_all(
    client: Client,
    config: &SourceConfig,
    watch_list: bool,
    shared: Arc<Shared>,
    shutdown: CancellationToken,
) -> Vec<tokio::task::JoinHandle<()>> {
    let mut tasks = Vec::new();
    let mut watcher_config = watcher::Config::default();
    if let Some(selector) = &config.label_selector {
        watcher_config = watcher_config.labels_from(selector.selector());
    }
    if watch_list {
        watcher_config = watcher_config.streaming_lists();
    }
    if config.kinds.contains(&ResourceKind::Ingress) {
        let api = crate::cluster::ingresses(&client, config);
        tasks.push(tokio::spawn(watch_kind::<Ingress>(
            api,
            watcher_config.clone(),
            ResourceKind::Ingress,
            ingress::convert,
            config.clone(),
            shared.clone(),
            shutdown.clone(),
        )));
    }
    if config.kinds.contains(&ResourceKind::Service) {
        let api = crate::cluster::services(&client, config);
        tasks.push(tokio::spawn(watch_kind::<Service>(
            api,
            watcher_config,
            ResourceKind::Service,
            service::convert,
            config.clone(),
            shared,
            shutdown,
        )));
    }
    tasks
}

fn resource_of<K: ResourceExt>(kind: ResourceKind, object: &K) -> ResourceRef {
    ResourceRef {
        kind,
        namespace: object.namespace().unwrap_or_else(|| "default".into()),
        name: object.name_any(),
    }
}

async fn watch_kind<K>(
    api: Api<K>,
    config: watcher::Config,
    kind: ResourceKind,
    convert: fn(&K, &SourceConfig) -> ObjectOutcome,
    source: SourceConfig,
    shared: Arc<Shared>,
    shutdown: CancellationToken,
) where
    K: Resource + Clone + std::fmt::Debug + serde::de::DeserializeOwned + Send + 'static,
{
    let labels = ResourceLabels {
        resource: kind.as_str().to_string(),
    };
    let mut stream = watcher::watcher(api, config).default_backoff().boxed();
    let mut buffer: Option<Vec<ObjectOutcome>> = None;
    loop {
        let event = tokio::select! {
            _ = shutdown.cancelled() => return,
            event = stream.next() => event,
        };
        let Some(event) = event else {
            tracing::error!(resource = kind.as_str(), "watch stream ended");
            return;
        };
        match event {
            Ok(Event::Init) => buffer = Some(Vec::new()),
            Ok(Event::InitApply(object)) => {
                buffer
                    .get_or_insert_with(Vec::new)
                    .push(convert(&object, &source));
            }
            Ok(Event::InitDone) => {
                let outcomes = buffer.take().unwrap_or_default();
                tracing::info!(
                    resource = kind.as_str(),
                    objects = outcomes.len(),
                    "list complete"
                );
                lock(&shared.index).replace_kind(kind, outcomes);
                shared.metrics.watch_synced.get_or_create(&labels).set(1);
                shared.health.set_watch_failing(None);
                shared.dirty.notify_one();
            }
            Ok(Event::Apply(object)) => {
                let outcome = convert(&object, &source);
                lock(&shared.index).upsert(outcome);
                shared.health.set_watch_failing(None);
                shared.dirty.notify_one();
            }
            Ok(Event::Delete(object)) => {
                let resource = resource_of(kind, &object).to_string();
                lock(&shared.index).remove(&resource);
                shared.dirty.notify_one();
            }
            Err(error) => {
                // The watcher retries with backoff. The index keeps its last complete view:
                // nothing is planned as deleted because a list failed.
                let error = zonesync_core::ErrorChain(&error);
                tracing::warn!(resource = kind.as_str(), %error, "watch failed; retrying");
                shared.metrics.watch_errors.get_or_create(&labels).inc();
                shared.metrics.watch_synced.get_or_create(&labels).set(0);
                shared
                    .health
                    .set_watch_failing(Some(format!("{}: {error}", kind.as_str())));
            }
        }
    }
}
