//! `zonesync-scale`: zonesync's scale harness (issue 8).
//!
//! For each provider (BIND over RFC2136, Route53 as moto behind a counting proxy) and each object
//! count N, it loads N Ingresses and N LoadBalancer Services into the in-process fake Kubernetes
//! API server, runs the zonesync binary (`zonesync run`, a separate process) and measures the
//! initial sync, update → served latency, provider requests in steady state (default drift
//! interval, then a restart with a short one), resident memory and CPU time. It writes a results
//! section into BENCHMARKS.md, SVG plots beside it and the raw figures as JSON.
//!
//! `scripts/scale.sh` builds everything and runs it; `scripts/scale-smoke.sh` runs it small.

mod cluster;
mod controller;
mod peers;
mod probe;
mod procfs;
mod report;
mod run;
mod svg;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use serde_json::{Value, json};

use peers::{BindPeer, Peer, Route53Peer};
use run::{Depth, Settings};

/// Command-line arguments.
#[derive(Debug, Parser)]
#[command(name = "zonesync-scale", about = "zonesync's scale harness")]
struct Args {
    /// The zonesync binary to measure (a release build).
    #[arg(long)]
    zonesync: PathBuf,
    /// Object counts N (N Ingresses and N Services) of the full runs.
    #[arg(long, value_delimiter = ',', default_value = "1000,10000")]
    objects: Vec<usize>,
    /// Object counts of the Route53 runs (default: --objects). moto slows down with zone size.
    #[arg(long, value_delimiter = ',')]
    route53_objects: Option<Vec<usize>>,
    /// Providers: bind, route53.
    #[arg(long, value_delimiter = ',', default_value = "bind,route53")]
    providers: Vec<String>,
    /// Extra BIND runs that only measure the initial sync and memory, for the RSS plot.
    #[arg(long, value_delimiter = ',', default_value = "0,5000")]
    memory_objects: Vec<usize>,
    /// Updates of one Ingress's address per full run.
    #[arg(long, default_value_t = 200)]
    updates: usize,
    /// Seconds of steady state with the default drift interval.
    #[arg(long, default_value_t = 120)]
    steady_seconds: u64,
    /// The short drift interval, in seconds.
    #[arg(long, default_value_t = 30)]
    short_interval_seconds: u64,
    /// Seconds of steady state with the short drift interval.
    #[arg(long, default_value_t = 120)]
    short_steady_seconds: u64,
    /// Microseconds between polls of the served value.
    #[arg(long, default_value_t = 1000)]
    poll_interval_us: u64,
    /// Bound on each wait for zonesync, in seconds.
    #[arg(long, default_value_t = 1800)]
    timeout_seconds: u64,
    /// The Markdown file to write the results section into.
    #[arg(long, default_value = "BENCHMARKS.md")]
    out: PathBuf,
    /// Folder for the SVG plots and the raw JSON (default: `benches/` beside --out).
    #[arg(long)]
    plots_dir: Option<PathBuf>,
    /// Criterion's output folder, for the planner figures (default: $CARGO_TARGET_DIR/criterion).
    #[arg(long)]
    criterion_dir: Option<PathBuf>,
    /// Keep the logs of zonesync here (default: a temporary folder, removed at the end).
    #[arg(long)]
    logs: Option<PathBuf>,
    /// Do not run anything: rewrite the report and plots from the JSON of an earlier run (and
    /// the current criterion figures).
    #[arg(long)]
    report_only: bool,
    /// Only the initial sync and the resident set, for every count (profiling memory).
    #[arg(long)]
    memory_only: bool,
    /// A command to run zonesync under, split on spaces: one that execs it keeps the process id
    /// (`env LD_PRELOAD=… DUMP_HEAPTRACK_OUTPUT=…` for heaptrack, `valgrind --tool=massif`). The
    /// /proc figures then describe the wrapped process.
    #[arg(long)]
    zonesync_wrapper: Option<String>,
    /// HTTPRoutes of the Gateway API run (BIND only; 0 leaves it out). Its figures go to
    /// `scale-routes.json` beside the plots.
    #[arg(long, default_value_t = 0)]
    routes: usize,
    /// Gateways the routes of the Gateway API run are spread over.
    #[arg(long, default_value_t = 100)]
    gateways: usize,
    /// The command line to show in the report (scripts pass theirs).
    #[arg(long)]
    command_line: Option<String>,
}

const ZONE: &str = "scale.example";

fn main() -> ExitCode {
    match run_all(Args::parse()) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("zonesync-scale: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs everything; `Ok(false)` when a run failed (the others are still reported).
fn run_all(args: Args) -> anyhow::Result<bool> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let zonesync = args
        .zonesync
        .canonicalize()
        .with_context(|| format!("zonesync binary {}", args.zonesync.display()))?;
    let temporary_logs = tempfile::Builder::new()
        .prefix("zonesync-scale-")
        .tempdir()?;
    let work_dir = match &args.logs {
        Some(dir) => {
            std::fs::create_dir_all(dir)?;
            dir.clone()
        }
        None => temporary_logs.path().to_path_buf(),
    };
    let settings = Settings {
        zonesync: zonesync.clone(),
        updates: args.updates,
        steady: Duration::from_secs(args.steady_seconds),
        short_interval: Duration::from_secs(args.short_interval_seconds),
        short_steady: Duration::from_secs(args.short_steady_seconds),
        poll_interval: Duration::from_micros(args.poll_interval_us),
        timeout: Duration::from_secs(args.timeout_seconds),
        work_dir,
        wrapper: args
            .zonesync_wrapper
            .as_deref()
            .map(|w| w.split_whitespace().map(str::to_string).collect())
            .unwrap_or_default(),
    };
    let plots_dir = args
        .plots_dir
        .clone()
        .unwrap_or_else(|| args.out.parent().unwrap_or(Path::new(".")).join("benches"));
    std::fs::create_dir_all(&plots_dir)?;
    let json_path = plots_dir.join("scale-results.json");

    let mut plan: Vec<(String, usize, Depth)> = Vec::new();
    for provider in &args.providers {
        let counts = match provider.as_str() {
            "bind" => args.objects.clone(),
            "route53" => args
                .route53_objects
                .clone()
                .unwrap_or_else(|| args.objects.clone()),
            other => anyhow::bail!("unknown provider {other:?} (use bind, route53)"),
        };
        let depth = if args.memory_only {
            Depth::MemoryOnly
        } else {
            Depth::Full
        };
        for n in counts {
            plan.push((provider.clone(), n, depth));
        }
    }
    if args.providers.iter().any(|p| p == "bind") && !args.memory_only {
        for &n in &args.memory_objects {
            if !args.objects.contains(&n) {
                plan.push(("bind".into(), n, Depth::MemoryOnly));
            }
        }
    }

    let mut results: Vec<Value> = Vec::new();
    let mut all_ok = true;
    if args.report_only {
        let text = std::fs::read_to_string(&json_path)
            .with_context(|| format!("read {}", json_path.display()))?;
        results = serde_json::from_str(&text)?;
        plan.clear();
    }
    for (provider, n, depth) in plan {
        eprintln!("zonesync-scale: {provider}, {n} Ingresses + {n} Services, {depth:?}");
        let started = std::time::Instant::now();
        let outcome = (|| -> anyhow::Result<Value> {
            let mut peer: Box<dyn Peer> = match provider.as_str() {
                "bind" => Box::new(BindPeer::start(ZONE, settings.poll_interval)?),
                _ => Box::new(Route53Peer::start(
                    ZONE,
                    runtime.handle().clone(),
                    settings.poll_interval,
                )?),
            };
            run::run(peer.as_mut(), n, depth, &settings, &runtime)
        })();
        let result = match outcome {
            Ok(mut result) => {
                result["run_seconds"] = json!(started.elapsed().as_secs_f64());
                eprintln!("zonesync-scale: {}", summary(&result));
                result
            }
            Err(error) => {
                all_ok = false;
                eprintln!("zonesync-scale: {provider} at {n} failed: {error:#}");
                json!({"provider": provider, "objects": n, "depth": format!("{depth:?}"), "error": format!("{error:#}")})
            }
        };
        results.push(result);
        std::fs::write(&json_path, serde_json::to_string_pretty(&results)?)?;
    }

    if args.routes > 0 && !args.report_only {
        eprintln!(
            "zonesync-scale: bind, {} HTTPRoutes on {} Gateways",
            args.routes, args.gateways
        );
        let outcome = (|| -> anyhow::Result<Value> {
            let mut peer = BindPeer::start(ZONE, settings.poll_interval)?;
            run::run_routes(&mut peer, args.routes, args.gateways, &settings, &runtime)
        })();
        let result = outcome.unwrap_or_else(|error| {
            all_ok = false;
            eprintln!("zonesync-scale: the Gateway API run failed: {error:#}");
            json!({"routes": args.routes, "gateways": args.gateways, "error": format!("{error:#}")})
        });
        std::fs::write(
            plots_dir.join("scale-routes.json"),
            serde_json::to_string_pretty(&result)?,
        )?;
    }

    let latency_plot = plots_dir.join("scale-latency-cdf.svg");
    let rss_plot = plots_dir.join("scale-rss.svg");
    report::write_plots(&results, &latency_plot, &rss_plot)?;
    let criterion_dir = args.criterion_dir.clone().unwrap_or_else(|| {
        PathBuf::from(std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into()))
            .join("criterion")
    });
    let out_dir = args.out.parent().unwrap_or(Path::new("."));
    let relative = |path: &Path| {
        path.strip_prefix(out_dir)
            .unwrap_or(path)
            .display()
            .to_string()
    };
    // Where and how the figures were taken: saved with them, so a report-only pass keeps it.
    let environment_path = plots_dir.join("scale-environment.json");
    let (environment, command) = if args.report_only {
        let saved: (Vec<(String, String)>, String) = serde_json::from_str(
            &std::fs::read_to_string(&environment_path)
                .with_context(|| format!("read {}", environment_path.display()))?,
        )?;
        saved
    } else {
        let saved = (
            environment(&zonesync),
            args.command_line
                .clone()
                .unwrap_or_else(|| std::env::args().collect::<Vec<_>>().join(" ")),
        );
        std::fs::write(&environment_path, serde_json::to_string_pretty(&saved)?)?;
        saved
    };
    let context = report::Context {
        environment,
        command,
        criterion: report::criterion_estimates(&criterion_dir),
        latency_plot: relative(&latency_plot),
        rss_plot: relative(&rss_plot),
    };
    report::write_markdown(&args.out, &report::markdown(&results, &context))?;
    eprintln!(
        "zonesync-scale: wrote {}, {} and {}{}",
        args.out.display(),
        latency_plot.display(),
        rss_plot.display(),
        if args.report_only {
            String::new()
        } else {
            format!(", raw figures in {}", json_path.display())
        }
    );
    Ok(all_ok)
}

fn summary(result: &Value) -> String {
    let ms = |v: &Value| {
        v.as_f64()
            .map_or("–".into(), |s| format!("{:.1} ms", s * 1000.0))
    };
    format!(
        "{} {}: initial sync {:.2} s, update p50 {} p99 {}, steady RSS {:.1} MiB, peak {:.1} MiB",
        result["provider"].as_str().unwrap_or("?"),
        result["objects"],
        result["initial_sync"]["served_seconds"]
            .as_f64()
            .unwrap_or(f64::NAN),
        ms(&result["updates"]["p50"]),
        ms(&result["updates"]["p99"]),
        result["memory"]["steady_kib"].as_f64().unwrap_or(f64::NAN) / 1024.0,
        result["memory"]["peak_kib"].as_f64().unwrap_or(f64::NAN) / 1024.0,
    )
}

/// Machine, date and versions.
fn environment(zonesync: &Path) -> Vec<(String, String)> {
    let output = |program: &str, args: &[&str]| -> String {
        Command::new(program)
            .args(args)
            .output()
            .ok()
            .map(|o| {
                let text = if o.stdout.is_empty() {
                    o.stderr
                } else {
                    o.stdout
                };
                String::from_utf8_lossy(&text)
                    .lines()
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_string()
            })
            .unwrap_or_default()
    };
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_default();
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("MemTotal"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kib| kib.parse::<f64>().ok())
        })
        .map_or(String::new(), |kib| {
            format!("{:.1} GiB", kib / 1024.0 / 1024.0)
        });
    let commit = output("git", &["rev-parse", "--short", "HEAD"]);
    let dirty = !output("git", &["status", "--porcelain", "--untracked-files=no"]).is_empty();
    let moto = output(
        &zonesync_test_support::moto::moto_server_binary()
            .with_file_name("python")
            .display()
            .to_string(),
        &["-c", "import moto; print(moto.__version__)"],
    );
    vec![
        (
            "date (UTC)".into(),
            output("date", &["-u", "+%Y-%m-%d %H:%M"]),
        ),
        (
            "machine".into(),
            format!(
                "{cpu}, {} CPUs (shared with other work), {memory}, Linux {}",
                output("nproc", &[]),
                output("uname", &["-r"])
            ),
        ),
        (
            "zonesync".into(),
            format!(
                "{} ({}), commit {commit}{}",
                output(&zonesync.display().to_string(), &["--version"]),
                zonesync.display(),
                if dirty {
                    " with uncommitted changes"
                } else {
                    ""
                }
            ),
        ),
        ("rustc".into(), output("rustc", &["-V"])),
        ("BIND".into(), output("named", &["-v"])),
        ("moto".into(), moto),
    ]
}
