//! One measured run: a peer, `n` Ingresses and `n` Services in the fake API server, and the
//! zonesync release binary through its phases (initial sync, updates, steady state with the
//! default drift interval, restart, steady state with a short drift interval).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};
use zonesync_test_support::kube_api::FakeApiServer;

use crate::cluster;
use crate::controller::{Controller, histogram_delta, histogram_quantile};
use crate::peers::{Peer, Requests, requests_delta};
use crate::procfs::RssSampler;

/// Settings shared by every run.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The zonesync binary.
    pub zonesync: PathBuf,
    /// Updates of one Ingress's address.
    pub updates: usize,
    /// Length of the steady window with the default drift interval.
    pub steady: Duration,
    /// The short drift interval.
    pub short_interval: Duration,
    /// Length of the steady window with the short drift interval.
    pub short_steady: Duration,
    /// Pause between polls of the served value.
    pub poll_interval: Duration,
    /// Bound on every wait for zonesync.
    pub timeout: Duration,
    /// Folder for logs.
    pub work_dir: PathBuf,
    /// A command (and arguments) to run zonesync under; empty for none.
    pub wrapper: Vec<String>,
}

/// What to do in one run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Depth {
    /// Every phase.
    Full,
    /// Initial sync, then a short settle for the resident set.
    MemoryOnly,
}

/// Per-phase figures of one run, as JSON (the report reads them back).
pub fn run(
    peer: &mut dyn Peer,
    n: usize,
    depth: Depth,
    settings: &Settings,
    runtime: &tokio::runtime::Runtime,
) -> anyhow::Result<Value> {
    let zone = peer.zone().to_string();
    let mut result = json!({
        "provider": peer.name(),
        "objects": n,
        "hostnames": 2 * n,
        "depth": format!("{depth:?}"),
        "method": peer.method(),
    });

    // The cluster.
    let api = runtime.block_on(
        FakeApiServer::builder()
            .bookmark_interval(Duration::from_secs(60))
            .start(),
    )?;
    let loading = Instant::now();
    let applied = api
        .apply_all(cluster::objects(&zone, n))
        .map_err(|e| anyhow::anyhow!("loading objects: {e:?}"))?;
    result["load_seconds"] = json!(loading.elapsed().as_secs_f64());
    if applied != 2 * n {
        bail!("loaded {applied} objects, expected {}", 2 * n);
    }
    let kubeconfig = api.kubeconfig();
    let mut expected = cluster::expected_records(&zone, n);

    // Initial sync into an empty zone.
    let requests_before = peer.requests()?;
    let log_path = settings
        .work_dir
        .join(format!("zonesync-{}-{n}-first.log", peer.name()));
    let mut controller = Controller::start(
        &settings.zonesync,
        &settings.wrapper,
        &controller_args(&kubeconfig, peer, None),
        &peer.env(),
        &log_path,
    )?;
    let sampler = RssSampler::start(
        controller.pid(),
        controller.started,
        Duration::from_millis(100),
    );
    let initial = initial_sync(peer, &mut controller, &expected, settings).with_context(|| {
        format!(
            "initial sync; zonesync log tail:\n{}",
            controller.log_tail()
        )
    })?;
    let mut initial = initial;
    initial["requests"] = requests_json(&requests_delta(&peer.requests()?, &requests_before));
    result["initial_sync"] = initial;
    // The one-shot command on the synced zone: `zonesync plan` reads the cluster and the zone
    // once, as a CronJob's `sync` does; its peak resident set sizes the CronJob.
    result["one_shot_plan"] = one_shot_plan(&kubeconfig, peer, settings)?;

    if depth == Depth::MemoryOnly {
        sleep_checking(&mut controller, Duration::from_secs(10))?;
        let memory = controller.memory();
        result["memory"] = json!({
            "steady_kib": memory.rss_kib,
            "peak_kib": memory.peak_kib,
            "cpu_seconds": controller.cpu().as_secs_f64(),
        });
        let (took, clean) = controller.stop(Duration::from_secs(15));
        result["shutdown"] = json!({"seconds": took.as_secs_f64(), "clean": clean});
        result["rss_samples"] = samples_json(sampler.finish());
        return Ok(result);
    }

    // Let the apply finish (read-backs, Events) before changing anything.
    sleep_checking(&mut controller, Duration::from_secs(2))?;
    peer.quiesce();

    // Updates of one Ingress's load balancer address.
    let host = cluster::ingress_host(&zone, 0);
    let metrics_before = controller.metrics();
    let requests_before = peer.requests()?;
    let cpu_before = controller.cpu();
    let mut latencies = Vec::with_capacity(settings.updates);
    let mut timeouts = 0;
    let phase_start = Instant::now();
    for k in 0..settings.updates {
        let address = cluster::address(cluster::UPDATE_BLOCK, k);
        let object = cluster::ingress(&zone, 0, &address);
        let written = Instant::now();
        api.apply(object)
            .map_err(|e| anyhow::anyhow!("update {k}: {e:?}"))?;
        match peer.wait_served(&host, &address, written + Duration::from_secs(30))? {
            Some(served) => latencies.push(served.saturating_duration_since(written)),
            None => timeouts += 1,
        }
        if k % 10 == 0 {
            controller.check_alive()?;
        }
        if timeouts > 5 {
            bail!("more than 5 updates were not served within 30 s");
        }
        // Irregular gaps, so updates do not fall into step with the debounce timer.
        std::thread::sleep(Duration::from_millis(40 + (k as u64 * 37) % 110));
    }
    expected[0].1 = cluster::address(cluster::UPDATE_BLOCK, settings.updates.saturating_sub(1));
    sleep_checking(&mut controller, Duration::from_secs(2))?;
    let metrics_after = controller.metrics();
    let histogram = histogram_delta(
        &metrics_after.histogram("zonesync_event_to_apply_seconds"),
        &metrics_before.histogram("zonesync_event_to_apply_seconds"),
    );
    let mut sorted: Vec<f64> = latencies.iter().map(Duration::as_secs_f64).collect();
    sorted.sort_by(f64::total_cmp);
    result["updates"] = json!({
        "count": settings.updates,
        "served": latencies.len(),
        "timeouts": timeouts,
        "phase_seconds": phase_start.elapsed().as_secs_f64(),
        "latencies_seconds": sorted,
        "p50": quantile(&sorted, 0.50),
        "p90": quantile(&sorted, 0.90),
        "p99": quantile(&sorted, 0.99),
        "max": sorted.last(),
        "zonesync_histogram": {
            "buckets": histogram.iter().map(|(b, c)| json!([if b.is_finite() { json!(b) } else { json!("+Inf") }, c])).collect::<Vec<_>>(),
            "p50_bucket": histogram_quantile(&histogram, 0.50),
            "p99_bucket": histogram_quantile(&histogram, 0.99),
        },
        "cpu_seconds": (controller.cpu().saturating_sub(cpu_before)).as_secs_f64(),
        "requests": requests_json(&requests_delta(&peer.requests()?, &requests_before)),
    });
    peer.quiesce();

    // Steady state with the default drift interval: nothing changes.
    result["steady_default"] = steady(peer, &mut controller, settings.steady)?;
    let memory = controller.memory();
    result["memory"] = json!({
        "steady_kib": memory.rss_kib,
        "peak_kib": memory.peak_kib,
        "cpu_seconds": controller.cpu().as_secs_f64(),
    });
    let (took, clean) = controller.stop(Duration::from_secs(15));
    result["shutdown"] = json!({"seconds": took.as_secs_f64(), "clean": clean});
    result["rss_samples"] = samples_json(sampler.finish());

    // Restart against the synced zone, with a short drift interval.
    let requests_before = peer.requests()?;
    let log_path = settings
        .work_dir
        .join(format!("zonesync-{}-{n}-restart.log", peer.name()));
    let mut controller = Controller::start(
        &settings.zonesync,
        &settings.wrapper,
        &controller_args(&kubeconfig, peer, Some(settings.short_interval)),
        &peer.env(),
        &log_path,
    )?;
    let ready = wait_until(&mut controller, settings.timeout, |c| {
        c.metrics().sum(
            "zonesync_reconciles_total",
            &[("trigger", "drift"), ("result", "success")],
        ) >= 1.0
    })
    .with_context(|| format!("restart; zonesync log tail:\n{}", controller.log_tail()))?;
    sleep_checking(&mut controller, Duration::from_secs(1))?;
    let metrics = controller.metrics();
    result["restart"] = json!({
        "synced_seconds": ready.as_secs_f64(),
        "changes": metrics.sum("zonesync_changes_applied_total", &[]),
        "requests": requests_json(&requests_delta(&peer.requests()?, &requests_before)),
        "peak_kib": controller.memory().peak_kib,
    });
    peer.quiesce();
    result["steady_short"] = steady(peer, &mut controller, settings.short_steady)?;
    result["steady_short"]["interval_seconds"] = json!(settings.short_interval.as_secs());
    let (took, clean) = controller.stop(Duration::from_secs(15));
    result["restart"]["shutdown"] = json!({"seconds": took.as_secs_f64(), "clean": clean});

    peer.verify(&expected).context("final state")?;
    drop(api);
    Ok(result)
}

/// Runs `zonesync plan` against the cluster and the zone, polling its resident set until it
/// exits: its peak (`VmHWM`, read last just before the exit), time and exit status.
fn one_shot_plan(kubeconfig: &Path, peer: &dyn Peer, settings: &Settings) -> anyhow::Result<Value> {
    let log = settings
        .work_dir
        .join(format!("zonesync-{}-plan.log", peer.name()));
    let file = std::fs::File::create(&log).with_context(|| format!("create {log:?}"))?;
    let mut command = std::process::Command::new(&settings.zonesync);
    command
        .arg("plan")
        .args(controller_args(kubeconfig, peer, None))
        .args(["--output", "json"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(file);
    for (key, value) in peer.env() {
        command.env(key, value);
    }
    let started = Instant::now();
    let mut child = command.spawn().context("start zonesync plan")?;
    let mut peak_kib = 0;
    let status = loop {
        if let Some(memory) = crate::procfs::memory(child.id()) {
            peak_kib = peak_kib.max(memory.peak_kib);
        }
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if started.elapsed() > settings.timeout {
            let _ = child.kill();
            bail!("zonesync plan did not finish within {:?}", settings.timeout);
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "zonesync-scale: one-shot plan ({}) exit {:?}, {seconds:.2} s, peak {:.1} MiB",
        peer.name(),
        status.code(),
        peak_kib as f64 / 1024.0
    );
    Ok(json!({
        "exit_code": status.code(),
        "seconds": seconds,
        "peak_kib": peak_kib,
    }))
}

fn controller_args(kubeconfig: &Path, peer: &dyn Peer, interval: Option<Duration>) -> Vec<String> {
    let mut args: Vec<String> = [
        "--source",
        "ingress",
        "--source",
        "service",
        "--kubeconfig",
        &kubeconfig.display().to_string(),
        "--log-level",
        "info",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(peer.provider_args());
    if let Some(interval) = interval {
        args.push("--interval".into());
        args.push(format!("{}ms", interval.as_millis()));
    }
    args
}

/// Waits for every record to be served; the figures of the initial sync.
fn initial_sync(
    peer: &mut dyn Peer,
    controller: &mut Controller,
    expected: &[(String, String)],
    settings: &Settings,
) -> anyhow::Result<Value> {
    let started = controller.started;
    let served = {
        let controller_ref = &mut *controller;
        let mut done = || -> anyhow::Result<bool> {
            controller_ref.check_alive()?;
            Ok(controller_ref.metrics().sum(
                "zonesync_reconciles_total",
                &[("trigger", "drift"), ("result", "success")],
            ) >= 1.0)
        };
        peer.wait_all_served(expected, Instant::now() + settings.timeout, &mut done)?
    };
    let served_after = served.saturating_duration_since(started);
    let cpu = controller.cpu();
    // zonesync's own view: the drift reconcile that wrote everything has finished.
    wait_until(controller, settings.timeout, |c| {
        c.metrics().sum(
            "zonesync_reconciles_total",
            &[("trigger", "drift"), ("result", "success")],
        ) >= 1.0
    })?;
    peer.verify(expected)?;
    let memory = controller.memory();
    Ok(json!({
        "served_seconds": served_after.as_secs_f64(),
        "lists_complete_seconds": controller
            .logged_after_start("initial lists complete")
            .map(|d| d.as_secs_f64()),
        "reconciled_seconds": controller
            .logged_after_start("reconciled trigger=\"drift\"")
            .map(|d| d.as_secs_f64()),
        "cpu_seconds_at_served": cpu.as_secs_f64(),
        "peak_kib": memory.peak_kib,
        "change_costs": peer.change_costs(),
    }))
}

/// A window in which nothing changes: requests by kind, drift passes, CPU.
fn steady(
    peer: &mut dyn Peer,
    controller: &mut Controller,
    window: Duration,
) -> anyhow::Result<Value> {
    let before = peer.requests()?;
    let metrics_before = controller.metrics();
    let cpu_before = controller.cpu();
    let started = Instant::now();
    sleep_checking(controller, window)?;
    // A drift pass in flight when the window ends is let finish, so the window holds whole
    // passes only and requests per pass are not skewed by a partial listing.
    let after = settle(peer, controller)?;
    let elapsed = started.elapsed();
    let requests = requests_delta(&after, &before);
    let metrics_after = controller.metrics();
    let drift_passes = metrics_after.sum("zonesync_reconciles_total", &[("trigger", "drift")])
        - metrics_before.sum("zonesync_reconciles_total", &[("trigger", "drift")]);
    let event_reconciles = metrics_after.sum("zonesync_reconciles_total", &[("trigger", "event")])
        - metrics_before.sum("zonesync_reconciles_total", &[("trigger", "event")]);
    let changes = metrics_after.sum("zonesync_changes_applied_total", &[])
        - metrics_before.sum("zonesync_changes_applied_total", &[]);
    let memory = controller.memory();
    Ok(json!({
        "window_seconds": elapsed.as_secs_f64(),
        "requests": requests_json(&requests),
        "drift_passes": drift_passes,
        "event_reconciles": event_reconciles,
        "changes": changes,
        "cpu_seconds": (controller.cpu().saturating_sub(cpu_before)).as_secs_f64(),
        "rss_kib": memory.rss_kib,
    }))
}

/// Waits until zonesync has sent no request for a second (at most 60 s) and returns the
/// request counts then.
fn settle(peer: &mut dyn Peer, controller: &mut Controller) -> anyhow::Result<Requests> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut last = peer.requests()?;
    loop {
        sleep_checking(controller, Duration::from_secs(1))?;
        let now = peer.requests()?;
        if now == last || Instant::now() >= deadline {
            return Ok(now);
        }
        last = now;
    }
}

/// Sleeps `total`, failing early when zonesync exits.
fn sleep_checking(controller: &mut Controller, total: Duration) -> anyhow::Result<()> {
    let until = Instant::now() + total;
    while Instant::now() < until {
        controller.check_alive()?;
        std::thread::sleep((until - Instant::now()).min(Duration::from_millis(500)));
    }
    Ok(())
}

/// Polls `check` every 50 ms until it holds; how long after the process start it did.
fn wait_until(
    controller: &mut Controller,
    timeout: Duration,
    mut check: impl FnMut(&Controller) -> bool,
) -> anyhow::Result<Duration> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        controller.check_alive()?;
        if check(controller) {
            return Ok(controller.started.elapsed());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    bail!("zonesync did not get there within {timeout:?}")
}

fn requests_json(requests: &Requests) -> Value {
    json!(requests)
}

/// The resident-set samples, thinned to about one a second (the peak is reported separately).
fn samples_json(samples: Vec<(Duration, u64)>) -> Value {
    let mut kept: Vec<Value> = Vec::new();
    let mut last: Option<Duration> = None;
    for (t, kib) in samples {
        if last.is_none_or(|l| t >= l + Duration::from_secs(1)) {
            kept.push(json!([(t.as_secs_f64() * 10.0).round() / 10.0, kib]));
            last = Some(t);
        }
    }
    Value::Array(kept)
}

/// The nearest-rank quantile of sorted values.
pub fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

/// The Gateway API run: `gateways` Gateways and `routes` HTTPRoutes spread over them, `zonesync
/// run --source gateway-httproute` into an empty zone, then route host-name changes. Figures
/// as JSON: the initial sync, route change → served latencies, memory.
pub fn run_routes(
    peer: &mut dyn Peer,
    routes: usize,
    gateways: usize,
    settings: &Settings,
    runtime: &tokio::runtime::Runtime,
) -> anyhow::Result<Value> {
    let zone = peer.zone().to_string();
    let api = runtime.block_on(
        FakeApiServer::builder()
            .resources(zonesync_test_support::kube_api::ResourceType::GATEWAY_API)
            .bookmark_interval(Duration::from_secs(60))
            .start(),
    )?;
    let objects = (0..gateways)
        .map(|g| cluster::gateway(g, &cluster::address(cluster::GATEWAY_BLOCK, g)))
        .chain(
            (0..routes)
                .map(|i| cluster::http_route(i, gateways, &cluster::route_host(&zone, i, 0))),
        );
    let applied = api
        .apply_all(objects)
        .map_err(|e| anyhow::anyhow!("loading objects: {e:?}"))?;
    if applied != gateways + routes {
        bail!("loaded {applied} objects, expected {}", gateways + routes);
    }
    let expected: Vec<(String, String)> = (0..routes)
        .map(|i| {
            (
                cluster::route_host(&zone, i, 0),
                cluster::address(cluster::GATEWAY_BLOCK, i % gateways),
            )
        })
        .collect();
    let kubeconfig = api.kubeconfig();
    let mut args: Vec<String> = [
        "--source",
        "gateway-httproute",
        "--kubeconfig",
        &kubeconfig.display().to_string(),
        "--log-level",
        "info",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(peer.provider_args());
    let log_path = settings
        .work_dir
        .join(format!("zonesync-{}-routes-{routes}.log", peer.name()));
    let mut controller = Controller::start(
        &settings.zonesync,
        &settings.wrapper,
        &args,
        &peer.env(),
        &log_path,
    )?;
    let initial = initial_sync(peer, &mut controller, &expected, settings).with_context(|| {
        format!(
            "initial sync of the routes; zonesync log tail:\n{}",
            controller.log_tail()
        )
    })?;
    sleep_checking(&mut controller, Duration::from_secs(2))?;
    peer.quiesce();

    // Route 0 asks for a new host name, again and again.
    let address = cluster::address(cluster::GATEWAY_BLOCK, 0);
    let mut latencies = Vec::with_capacity(settings.updates);
    let mut timeouts = 0;
    for k in 1..=settings.updates {
        let host = cluster::route_host(&zone, 0, k);
        let written = Instant::now();
        api.apply(cluster::http_route(0, gateways, &host))
            .map_err(|e| anyhow::anyhow!("route update {k}: {e:?}"))?;
        match peer.wait_served(&host, &address, written + Duration::from_secs(30))? {
            Some(served) => latencies.push(served.saturating_duration_since(written)),
            None => timeouts += 1,
        }
        if timeouts > 5 {
            bail!("more than 5 route changes were not served within 30 s");
        }
        std::thread::sleep(Duration::from_millis(40 + (k as u64 * 37) % 110));
    }
    let mut sorted: Vec<f64> = latencies.iter().map(Duration::as_secs_f64).collect();
    sorted.sort_by(f64::total_cmp);
    let memory = controller.memory();
    let ms = |q: f64| quantile(&sorted, q).map_or(f64::NAN, |s| s * 1000.0);
    eprintln!(
        "zonesync-scale: {} {routes} HTTPRoutes on {gateways} Gateways: initial sync {:.2} s, route change → served p50 {:.1} ms p99 {:.1} ms max {:.1} ms ({} served, {timeouts} timeouts), steady RSS {:.1} MiB, peak {:.1} MiB",
        peer.name(),
        initial["served_seconds"].as_f64().unwrap_or(f64::NAN),
        ms(0.5),
        ms(0.99),
        sorted.last().map_or(f64::NAN, |s| s * 1000.0),
        latencies.len(),
        memory.rss_kib as f64 / 1024.0,
        memory.peak_kib as f64 / 1024.0,
    );
    let (took, clean) = controller.stop(Duration::from_secs(15));
    Ok(json!({
        "provider": peer.name(),
        "routes": routes,
        "gateways": gateways,
        "initial_sync": initial,
        "route_change": {
            "served": latencies.len(),
            "timeouts": timeouts,
            "latencies_seconds": sorted,
        },
        "memory": {"steady_kib": memory.rss_kib, "peak_kib": memory.peak_kib},
        "shutdown": {"seconds": took.as_secs_f64(), "clean": clean},
    }))
}
