//! `zonesync run`: the in-cluster controller.
//!
//! Watches feed the [`index::DesiredIndex`]; each event marks the DNS names it touches dirty.
//! The reconcile loop waits until every watch delivered its initial list (never planning from a
//! half view), then plans and applies only the dirty names against the cached zones
//! ([`store::ZoneStore`]), gathering a burst of events into one apply. A drift pass re-reads the
//! provider every `--interval` and repairs what changed by hand. With leader election only the
//! Lease holder writes; standbys keep their watches warm.

pub mod events;
pub mod health;
pub mod index;
pub mod instrumented;
pub mod leader;
pub mod metrics;
pub mod reconcile;
pub mod server;
pub mod store;
pub mod watch;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio::sync::{Notify, watch as watch_channel};
use tokio_util::sync::CancellationToken;
use zonesync_core::{Change, DnsName, Provider};

use crate::apply::ApplyMode;
use crate::config::{RunConfig, SourceMode};
use events::EventSink;
use health::Health;
use index::DesiredIndex;
use instrumented::InstrumentedProvider;
use metrics::{ChangeLabels, Metrics, ReconcileLabels};
use reconcile::{ReconcileReport, Reconciler, Scope, lock};

/// Shared state between the watches, the reconcile loop and the HTTP server.
pub struct Shared {
    /// Desired state.
    pub index: Mutex<DesiredIndex>,
    /// Woken when names become dirty.
    pub dirty: Notify,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Readiness.
    pub health: Arc<Health>,
}

impl Shared {
    /// Counts a watch event the desired state has taken in (its names are marked dirty by now)
    /// and wakes the reconcile loop, which records the count as settled once it has acted on it.
    pub fn saw_event(&self) {
        self.metrics.watch_events.inc();
        self.dirty.notify_one();
    }
}

/// Runs the controller until SIGTERM/SIGINT.
///
/// Fails when the Kubernetes client, the provider or the metrics server cannot be set up.
pub async fn run(config: RunConfig) -> anyhow::Result<()> {
    let kubeconfig = match &config.common.source_mode {
        SourceMode::Cluster { kubeconfig } => kubeconfig.clone(),
        SourceMode::Manifests(_) => None,
    };
    let client =
        crate::cluster::client(kubeconfig.as_deref(), config.common.request_timeout, true).await?;
    let metrics = Arc::new(Metrics::new());
    let health = Arc::new(Health::new(config.readiness_max_sync_age));
    let provider = config
        .common
        .provider
        .build()
        .await
        .context(config.common.provider.flag())?;
    let provider: Arc<dyn Provider> =
        Arc::new(InstrumentedProvider::new(provider, metrics.clone()));
    let shared = Arc::new(Shared {
        index: Mutex::new(DesiredIndex::new(config.common.target_grace)),
        dirty: Notify::new(),
        metrics: metrics.clone(),
        health: health.clone(),
    });
    let shutdown = CancellationToken::new();
    spawn_signal_handler(shutdown.clone());

    let server = {
        let token = shutdown.clone();
        server::serve(
            config.metrics_address,
            metrics.clone(),
            health.clone(),
            async move { token.cancelled().await },
        )
        .await
        .with_context(|| format!("cannot listen on {}", config.metrics_address))?
    };

    let watches = watch::spawn_all(
        client.clone(),
        &config.common.source,
        config.watch_list,
        shared.clone(),
        shutdown.clone(),
    );

    // Without leader election a lone instance always leads; the sender lives as long as the
    // run, so the receiver never reports a closed channel.
    let (_always_leader, mut leader, leader_task) = match &config.leader {
        Some(lease) => {
            let (receiver, task) = leader::spawn(client.clone(), lease.clone(), shutdown.clone());
            (None, receiver, Some(task))
        }
        None => {
            let (sender, receiver) = watch_channel::channel(true);
            (Some(sender), receiver, None)
        }
    };

    // DNSEndpoints get their status (observedGeneration and a Ready condition) after each
    // reconcile that planned them.
    let (status, status_task) = if !config.dry_run
        && config
            .common
            .source
            .kinds
            .contains(&crate::source::ResourceKind::DnsEndpoint)
    {
        let (status, task) =
            events::spawn_status_writer(client.clone(), config.common.source.clone());
        (status, Some(task))
    } else {
        (events::StatusSink::disabled(), None)
    };

    let (sink, events_task) = if config.events && !config.dry_run {
        let instance = config.leader.as_ref().map(|l| l.identity.clone());
        let (sink, task) = events::spawn(client.clone(), instance, metrics.clone());
        (sink, Some(task))
    } else {
        (EventSink::disabled(), None)
    };

    let mode = if config.dry_run {
        ApplyMode::DryRun
    } else {
        ApplyMode::Apply
    };
    let mut reconciler = Reconciler::new(
        provider.clone(),
        config.common.registry.clone(),
        config.common.plan.clone(),
        config.common.safety,
        mode,
    );
    let result = reconcile_loop(
        &config,
        &shared,
        &mut reconciler,
        &mut leader,
        &Sinks {
            events: &sink,
            status: &status,
        },
        provider.name(),
        shutdown.clone(),
    )
    .await;

    shutdown.cancel();
    if let Some(task) = leader_task {
        let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
    }
    for task in watches {
        task.abort();
    }
    drop(sink);
    drop(status);
    if let Some(task) = status_task {
        let _ = tokio::time::timeout(Duration::from_secs(2), task).await;
    }
    if let Some(task) = events_task {
        let _ = tokio::time::timeout(Duration::from_secs(2), task).await;
    }
    let _ = tokio::time::timeout(Duration::from_secs(2), server).await;
    tracing::info!("zonesync stopped");
    result
}

fn spawn_signal_handler(shutdown: CancellationToken) {
    tokio::spawn(async move {
        let terminate = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut signal) => {
                    signal.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT received; shutting down"),
            _ = terminate => tracing::info!("SIGTERM received; shutting down"),
        }
        shutdown.cancel();
    });
}

/// Where a reconcile's outcome goes besides the logs and metrics.
struct Sinks<'a> {
    /// Kubernetes Events.
    events: &'a EventSink,
    /// DNSEndpoint statuses.
    status: &'a events::StatusSink,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Trigger {
    Event,
    Drift,
}

async fn reconcile_loop(
    config: &RunConfig,
    shared: &Shared,
    reconciler: &mut Reconciler,
    leader: &mut watch_channel::Receiver<bool>,
    sinks: &Sinks<'_>,
    provider_name: &str,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let kinds = config.common.source.kinds.clone();
    // Never plan from a half view: wait for every initial list. Each completed list notifies
    // `dirty` (a notification given while nobody waits is kept), so no polling is needed.
    loop {
        if lock(&shared.index).is_synced(&kinds) {
            break;
        }
        tokio::select! {
            _ = shutdown.cancelled() => return Ok(()),
            _ = shared.dirty.notified() => {}
        }
    }
    shared.health.set_synced(true);
    tracing::info!(
        objects = lock(&shared.index).len(),
        "initial lists complete"
    );

    let mut next_drift = Instant::now();
    let mut retry_at: Option<Instant> = None;
    let mut retries = retry_delays();
    let mut was_leader = false;
    // When the last event reconcile started: an event arriving while nothing is being applied
    // is applied at once; events arriving during an apply, or within
    // --min-event-sync-interval of the last one, are gathered into the next, which waits at
    // most that long.
    let mut last_event_pass: Option<Instant> = None;
    // Deletions are never applied from a lone first event: they wait for the batch window, so
    // a burst of deletions is judged as a whole by the safety thresholds.
    let mut deletions_wait_until: Option<Instant> = None;
    // While deletions wait, each new event extends the wait by the window again (a burst of
    // deletions trickling in from the API server is gathered whole), up to this long in all.
    let mut deletions_deferred_at: Option<Instant> = None;
    let longest_deletion_wait = config.debounce * DELETION_WAIT_WINDOWS;
    // Names of the changes the last pass held back.
    let mut held_names: BTreeSet<DnsName> = BTreeSet::new();
    loop {
        let is_leader = *leader.borrow();
        shared.health.set_leader(is_leader);
        shared.metrics.leader.set(i64::from(is_leader));
        if is_leader && !was_leader {
            // A new term starts from a fresh read of the provider.
            next_drift = Instant::now();
        }
        if !is_leader && was_leader {
            reconciler.unload();
        }
        was_leader = is_leader;

        if !is_leader {
            // Standby: keep the index warm; the next leader term plans everything anyway.
            lock(&shared.index).take_dirty();
            tokio::select! {
                _ = shutdown.cancelled() => return Ok(()),
                _ = leader.changed() => {}
                _ = shared.dirty.notified() => {}
            }
            continue;
        }

        let grace_due = {
            let mut index = lock(&shared.index);
            index.expire_grace();
            index.next_grace_expiry()
        };
        let now = Instant::now();
        let due = [Some(next_drift), retry_at, grace_due]
            .into_iter()
            .flatten()
            .min();
        // Read before the dirty set: events counted by then have marked their names dirty.
        let seen = shared.metrics.watch_events_seen();
        let has_dirty = lock(&shared.index).has_dirty();
        let batch_ready_at = [
            last_event_pass.map(|at| at + config.debounce),
            deletions_wait_until,
        ]
        .into_iter()
        .flatten()
        .max();
        let trigger = if now >= next_drift {
            Some(Trigger::Drift)
        } else if has_dirty
            && retry_at.is_none_or(|at| now >= at)
            && batch_ready_at.is_none_or(|at| now >= at)
        {
            Some(Trigger::Event)
        } else {
            None
        };
        let Some(trigger) = trigger else {
            if !has_dirty {
                shared.metrics.settled(seen);
            }
            let mut sleep_until = due.unwrap_or(now + config.interval);
            if has_dirty {
                // Names wait for the batch window or a retry: wake when it ends.
                let ready = [retry_at, batch_ready_at].into_iter().flatten().max();
                if let Some(ready) = ready {
                    sleep_until = sleep_until.min(ready);
                }
            }
            tokio::select! {
                _ = shutdown.cancelled() => return Ok(()),
                _ = leader.changed() => {}
                _ = shared.dirty.notified() => {
                    if let (Some(until), Some(deferred)) = (deletions_wait_until.as_mut(), deletions_deferred_at) {
                        *until = (Instant::now() + config.debounce).min(deferred + longest_deletion_wait);
                    }
                }
                _ = tokio::time::sleep_until(sleep_until.into()) => {}
            }
            continue;
        };
        if trigger == Trigger::Event {
            last_event_pass = Some(now);
        }

        let (mut names, since) = lock(&shared.index).take_dirty();
        // Changes held back by a safety threshold are planned again with every event batch, so
        // deletions that trickle in over several batches are judged together, and what is held
        // back stays reported until it is applied or no longer planned.
        if trigger == Trigger::Event {
            names.extend(held_names.iter().cloned());
        }
        let scope = match trigger {
            Trigger::Drift => Scope::All { reread: true },
            Trigger::Event => Scope::Names(&names),
        };
        // Planning only reads: on shutdown it is dropped at once.
        let planned = tokio::select! {
            planned = reconciler.plan(&shared.index, scope) => planned,
            _ = shutdown.cancelled() => {
                tracing::info!("shutdown requested while planning; nothing was written");
                return Ok(());
            }
        };
        let gathered = deletions_wait_until.take().is_some();
        deletions_deferred_at = None;
        // Deletions are never applied from a lone first event: their rows wait for the batch
        // window (the rest of the plan, e.g. the new name of a renamed host, goes now).
        let planned = match planned {
            Ok(mut plan) if trigger == Trigger::Event && !gathered => {
                let deferred = take_deleting_rows(&mut plan);
                if !deferred.is_empty() {
                    names.retain(|name| !deferred.contains(name));
                    lock(&shared.index).restore_dirty(deferred, since);
                    deletions_wait_until = Some(Instant::now() + config.debounce);
                    deletions_deferred_at = Some(Instant::now());
                    tracing::debug!(window = ?config.debounce, "deletions planned: gathering events for the batch window first");
                    if !plan.has_changes() && plan.held_back.is_empty() {
                        continue;
                    }
                }
                Ok(plan)
            }
            other => other,
        };
        let result = match planned {
            Err(error) => Err(error),
            Ok(plan) => {
                let apply = reconciler.apply(plan);
                let mut apply = std::pin::pin!(apply);
                Ok(tokio::select! {
                    report = &mut apply => report,
                    _ = shutdown.cancelled() => {
                        tracing::info!(grace = ?config.shutdown_grace, "shutdown requested; letting the apply in flight finish");
                        match tokio::time::timeout(config.shutdown_grace, &mut apply).await {
                            Ok(report) => report,
                            Err(_) => {
                                tracing::warn!("apply in flight abandoned at shutdown; the next start re-reads the provider");
                                return Ok(());
                            }
                        }
                    }
                })
            }
        };
        let names = match trigger {
            Trigger::Drift => Default::default(),
            Trigger::Event => names,
        };
        let label = ReconcileLabels {
            trigger: if trigger == Trigger::Drift {
                "drift"
            } else {
                "event"
            }
            .into(),
            result: String::new(),
        };
        match result {
            Ok(report) => {
                let success = report.is_success();
                held_names = report
                    .plan
                    .held_back
                    .iter()
                    .map(|change| change.record().name.clone())
                    .collect();
                record(shared, provider_name, &report, since, &label, success);
                let (events, left_out, reconciled) = {
                    let index = lock(&shared.index);
                    let (events, left_out) =
                        events::events_for(&report, &*index, sinks.events.room());
                    let reconciled =
                        index.dnsendpoints((trigger == Trigger::Event).then_some(&names));
                    (events, left_out, reconciled)
                };
                sinks
                    .status
                    .report(events::dnsendpoint_statuses(&events, reconciled));
                sinks.events.emit(events);
                sinks.events.dropped(left_out);
                log_report(&report, trigger);
                if trigger == Trigger::Drift {
                    next_drift = Instant::now() + config.interval;
                }
                if success {
                    retries = retry_delays();
                    retry_at = None;
                } else {
                    lock(&shared.index).restore_dirty(names, since);
                    let delay = next_delay(&mut retries);
                    retry_at = Some(Instant::now() + delay);
                    if trigger == Trigger::Drift {
                        next_drift = Instant::now() + delay;
                    }
                    shared.health.record_failure(report.outcome.to_string());
                }
            }
            Err(error) => {
                let message = zonesync_core::ErrorChain(&error).to_string();
                tracing::error!(error = %message, "cannot read the provider; will retry");
                shared
                    .metrics
                    .reconciles
                    .get_or_create(&ReconcileLabels {
                        result: "failure".into(),
                        ..label
                    })
                    .inc();
                shared.health.record_failure(message);
                lock(&shared.index).restore_dirty(names, since);
                let delay = next_delay(&mut retries);
                retry_at = Some(Instant::now() + delay);
                next_drift = next_drift.max(Instant::now() + delay);
            }
        }
    }
}

/// How many batch windows (`--min-event-sync-interval`) deletions may wait in all while events
/// keep arriving.
const DELETION_WAIT_WINDOWS: u32 = 20;

/// Takes the rows that delete records (not only ownership markers) out of `plan`; the names of
/// those rows.
fn take_deleting_rows(plan: &mut crate::plan::Plan) -> BTreeSet<DnsName> {
    let mut names = BTreeSet::new();
    for zone in &mut plan.zones {
        zone.rows.retain(|row| {
            let deletes = row
                .changes
                .iter()
                .any(|change| matches!(change, Change::Delete { .. }));
            if deletes {
                names.insert(row.name.clone());
            }
            !deletes
        });
    }
    names
}

/// Delays between retries of a failed reconcile: 1 s doubling to at most 60 s, each with
/// random jitter so replicas and restarts do not retry in step; endless (a controller keeps
/// trying).
fn retry_delays() -> impl Iterator<Item = Duration> {
    use backon::BackoffBuilder;
    backon::ExponentialBuilder::default()
        .with_min_delay(Duration::from_secs(1))
        .with_max_delay(Duration::from_secs(60))
        .with_jitter()
        .without_max_times()
        .build()
}

fn next_delay(retries: &mut impl Iterator<Item = Duration>) -> Duration {
    retries.next().unwrap_or(Duration::from_secs(60))
}

fn record(
    shared: &Shared,
    provider_name: &str,
    report: &ReconcileReport,
    since: Option<Instant>,
    label: &ReconcileLabels,
    success: bool,
) {
    let metrics = &shared.metrics;
    metrics
        .reconciles
        .get_or_create(&ReconcileLabels {
            result: if success { "success" } else { "failure" }.into(),
            ..label.clone()
        })
        .inc();
    for zone in &report.outcome.zones {
        let Some(plan) = report.plan.zones.iter().find(|z| z.zone.id == zone.zone.id) else {
            continue;
        };
        for row in crate::apply::applied_rows(plan, &zone.rows) {
            for change in &row.changes {
                metrics
                    .changes_applied
                    .get_or_create(&ChangeLabels {
                        action: change.action().into(),
                        provider: provider_name.into(),
                    })
                    .inc();
            }
        }
    }
    metrics.conflicts.set(report.plan.conflicts.len() as i64);
    metrics.held_back.set(report.plan.held_back.len() as i64);
    shared.health.set_held_back(
        report
            .plan
            .refusals
            .iter()
            .map(ToString::to_string)
            .collect(),
    );
    metrics.skipped_inputs.set(report.plan.skipped.len() as i64);
    metrics
        .indexed_objects
        .set(lock(&shared.index).len() as i64);
    if success {
        metrics.record_success();
        shared.health.record_success();
        if let Some(since) = since
            && report.plan.has_changes()
        {
            metrics
                .event_to_apply_seconds
                .observe(since.elapsed().as_secs_f64());
        }
    }
}

fn log_report(report: &ReconcileReport, trigger: Trigger) {
    let counts = report.plan.counts();
    let trigger = if trigger == Trigger::Drift {
        "drift"
    } else {
        "event"
    };
    if report.plan.has_changes() {
        for zone in &report.plan.zones {
            for change in zone.changes() {
                let record = change.record();
                match change {
                    Change::Delete { reason, .. } => {
                        tracing::info!(zone = %zone.zone.name, action = change.action(), record = %record.key(), targets = %record.targets.as_slice().join(","), %reason, "change")
                    }
                    _ => {
                        tracing::info!(zone = %zone.zone.name, action = change.action(), record = %record.key(), targets = %record.targets.as_slice().join(","), resource = record.resource().unwrap_or("?"), "change")
                    }
                }
            }
        }
        tracing::info!(
            trigger,
            create = counts.create,
            update = counts.update,
            delete = counts.delete,
            success = report.is_success(),
            "reconciled"
        );
    } else {
        tracing::debug!(trigger, "reconciled; nothing to change");
    }
}
