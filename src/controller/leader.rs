//! Leader election on a `coordination.k8s.io/v1` Lease, the way client-go does it: the holder
//! renews the lease well within its duration; a candidate takes over when the lease record has
//! not changed for a whole lease duration (measured on its own clock, so node clocks need not
//! agree); the holder releases it on shutdown so a standby takes over at once.

use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::Client;
use kube::api::{Api, PostParams};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// Leader election settings.
#[derive(Clone, Debug)]
pub struct LeaseConfig {
    /// Lease name.
    pub name: String,
    /// Lease namespace.
    pub namespace: String,
    /// This instance's identity (pod name).
    pub identity: String,
    /// How long a lease is valid without renewal.
    pub duration: Duration,
}

impl LeaseConfig {
    fn renew_every(&self) -> Duration {
        (self.duration / 3).max(Duration::from_millis(200))
    }
}

/// The lease record as last observed, and since when it has not changed.
struct Observation {
    holder: Option<String>,
    renew_time: Option<MicroTime>,
    since: Instant,
}

/// Runs the election until `shutdown`; sends `true` while this instance leads. Releases the
/// lease on shutdown if held.
pub fn spawn(
    client: Client,
    config: LeaseConfig,
    shutdown: CancellationToken,
) -> (watch::Receiver<bool>, tokio::task::JoinHandle<()>) {
    let (sender, receiver) = watch::channel(false);
    let handle = tokio::spawn(async move {
        let api: Api<Lease> = Api::namespaced(client, &config.namespace);
        let mut observed: Option<Observation> = None;
        let mut last_renewal: Option<Instant> = None;
        loop {
            let leading = *sender.borrow();
            match try_acquire_or_renew(&api, &config, &mut observed).await {
                Ok(true) => {
                    last_renewal = Some(Instant::now());
                    if !leading {
                        tracing::info!(lease = %config.name, identity = %config.identity, "became the leader");
                        let _ = sender.send(true);
                    }
                }
                Ok(false) => {
                    if leading {
                        tracing::warn!(lease = %config.name, "another instance holds the lease; stepping down");
                        let _ = sender.send(false);
                    }
                }
                Err(error) => {
                    let error = zonesync_core::ErrorChain(&error);
                    tracing::warn!(lease = %config.name, %error, "lease update failed");
                    // Keep leading only while the last renewal is still valid.
                    let expired =
                        last_renewal.is_none_or(|at| at.elapsed() >= config.duration * 2 / 3);
                    if leading && expired {
                        tracing::warn!(lease = %config.name, "could not renew the lease in time; stepping down");
                        let _ = sender.send(false);
                    }
                }
            }
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(config.renew_every()) => {}
            }
        }
        if *sender.borrow() {
            let _ = sender.send(false);
            match release(&api, &config).await {
                Ok(()) => tracing::info!(lease = %config.name, "released the lease"),
                Err(error) => {
                    let error = zonesync_core::ErrorChain(&error);
                    tracing::warn!(lease = %config.name, %error, "could not release the lease")
                }
            }
        }
    });
    (receiver, handle)
}

fn now() -> MicroTime {
    MicroTime(k8s_openapi::jiff::Timestamp::now())
}

fn duration_seconds(config: &LeaseConfig) -> i32 {
    i32::try_from(config.duration.as_secs().max(1)).unwrap_or(i32::MAX)
}

/// One election round: `Ok(true)` when this instance holds the lease afterwards.
async fn try_acquire_or_renew(
    api: &Api<Lease>,
    config: &LeaseConfig,
    observed: &mut Option<Observation>,
) -> Result<bool, kube::Error> {
    let Some(mut lease) = api.get_opt(&config.name).await? else {
        let lease = Lease {
            metadata: ObjectMeta {
                name: Some(config.name.clone()),
                namespace: Some(config.namespace.clone()),
                ..ObjectMeta::default()
            },
            spec: Some(LeaseSpec {
                holder_identity: Some(config.identity.clone()),
                lease_duration_seconds: Some(duration_seconds(config)),
                acquire_time: Some(now()),
                renew_time: Some(now()),
                lease_transitions: Some(0),
                ..LeaseSpec::default()
            }),
        };
        return match api.create(&PostParams::default(), &lease).await {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(status)) if status.code == 409 => Ok(false),
            Err(error) => Err(error),
        };
    };
    let spec = lease.spec.clone().unwrap_or_default();
    let holder = spec.holder_identity.clone().filter(|h| !h.is_empty());
    let changed = observed
        .as_ref()
        .is_none_or(|o| o.holder != holder || o.renew_time != spec.renew_time);
    if changed {
        *observed = Some(Observation {
            holder: holder.clone(),
            renew_time: spec.renew_time.clone(),
            since: Instant::now(),
        });
    }
    let lease_duration = spec
        .lease_duration_seconds
        .and_then(|s| u64::try_from(s).ok())
        .map(Duration::from_secs)
        .unwrap_or(config.duration);
    let ours = holder.as_deref() == Some(config.identity.as_str());
    let expired = observed
        .as_ref()
        .is_some_and(|o| o.since.elapsed() >= lease_duration);
    if !(ours || holder.is_none() || expired) {
        return Ok(false);
    }
    let mut new_spec = spec;
    if !ours {
        new_spec.acquire_time = Some(now());
        new_spec.lease_transitions = Some(new_spec.lease_transitions.unwrap_or(0) + 1);
    }
    new_spec.holder_identity = Some(config.identity.clone());
    new_spec.lease_duration_seconds = Some(duration_seconds(config));
    new_spec.renew_time = Some(now());
    lease.spec = Some(new_spec);
    // `replace` carries the resourceVersion we read: a concurrent writer makes this a 409.
    match api
        .replace(&config.name, &PostParams::default(), &lease)
        .await
    {
        Ok(_) => Ok(true),
        Err(kube::Error::Api(status)) if status.code == 409 => Ok(false),
        Err(error) => Err(error),
    }
}

async fn release(api: &Api<Lease>, config: &LeaseConfig) -> Result<(), kube::Error> {
    let Some(mut lease) = api.get_opt(&config.name).await? else {
        return Ok(());
    };
    let Some(spec) = lease.spec.as_mut() else {
        return Ok(());
    };
    if spec.holder_identity.as_deref() != Some(config.identity.as_str()) {
        return Ok(());
    }
    spec.holder_identity = None;
    spec.renew_time = Some(now());
    spec.lease_duration_seconds = Some(1);
    api.replace(&config.name, &PostParams::default(), &lease)
        .await
        .map(|_| ())
}
