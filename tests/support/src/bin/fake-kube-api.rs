//! `fake-kube-api`: zonesync's fake Kubernetes API server as a process, for the scale harness and
//! other drivers in another process.
//!
//! It prints its URL (`http://127.0.0.1:<port>`) as the only line on stdout once the objects given
//! with `--load` are loaded, and serves until SIGINT or SIGTERM. Besides the Kubernetes API it
//! serves the control API:
//!
//! | request | effect |
//! |---|---|
//! | `GET /fake/health` | `{"ok", "url", "resourceVersion", "objects", "openWatches"}` |
//! | `POST /fake/objects` | applies a JSON object, array or `…List`, or multi-document YAML: `{"applied", "resourceVersion"}` |
//! | `GET /fake/objects?apiVersion=v1&kind=Service[&namespace=ns]` | `{"items": [...]}` |
//! | `DELETE /fake/objects?apiVersion=…&kind=…&namespace=…&name=…` | deletes at once; the last state, or 404 |
//! | `POST /fake/drop-watches` | ends every open watch: `{"dropped"}` |
//! | `POST /fake/expire-history` | watches and continue tokens from older versions get 410 |
//! | `POST /fake/faults` | `{"verbs": ["list"], "resource": "services", "namespace", "name", "status": 500, "count": 1, "delayMs": 0}` |
//! | `DELETE /fake/faults` | removes pending faults |
//! | `GET /fake/requests`, `DELETE /fake/requests` | the request log (method, path, query, verb, resource, namespace, name, status), or clear it |

use std::io::{self, Write as _};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use zonesync_test_support::kube_api::{FakeApiServer, ResourceType};

/// Command-line arguments.
#[derive(Debug, Parser)]
#[command(
    name = "fake-kube-api",
    about = "A fake Kubernetes API server for zonesync's tests"
)]
struct Args {
    /// Address to listen on (port 0: one the OS picks).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Write a kubeconfig pointing at the server to this file.
    #[arg(long, value_name = "PATH")]
    kubeconfig: Option<PathBuf>,
    /// Write the server URL to this file once ready (written whole, by rename).
    #[arg(long, value_name = "PATH")]
    url_file: Option<PathBuf>,
    /// Load objects from a YAML/JSON file, or every .yaml/.yml/.json file under a folder; repeatable.
    #[arg(long, value_name = "PATH")]
    load: Vec<PathBuf>,
    /// Milliseconds between bookmarks on watches that ask for them.
    #[arg(long, default_value_t = 1000)]
    bookmark_interval_ms: u64,
    /// How many changes to remember for watches; older resourceVersions get 410 Expired.
    #[arg(long, default_value_t = 100_000)]
    history: usize,
    /// How many requests the request log keeps.
    #[arg(long, default_value_t = 100_000)]
    request_log: usize,
    /// Also serve the Gateway API kinds (Gateways, HTTP/GRPC/TLS/TCP/UDP routes) and DNSEndpoints.
    #[arg(long)]
    gateway_api: bool,
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Args::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("fake-kube-api: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> io::Result<()> {
    let mut builder = FakeApiServer::builder();
    if args.gateway_api {
        builder = builder
            .resources(ResourceType::GATEWAY_API)
            .resource(ResourceType::DNS_ENDPOINT);
    }
    let server = builder
        .listen(args.listen)
        .bookmark_interval(Duration::from_millis(args.bookmark_interval_ms))
        .history_capacity(args.history)
        .request_log_capacity(args.request_log)
        .control_api(true)
        .start()
        .await?;
    for path in &args.load {
        let applied = server.load_path(path)?;
        eprintln!(
            "fake-kube-api: loaded {applied} objects from {}",
            path.display()
        );
    }
    if let Some(path) = &args.kubeconfig {
        server.write_kubeconfig(path)?;
    }
    if let Some(path) = &args.url_file {
        write_whole(path, &format!("{}\n", server.url()))?;
    }
    let mut stdout = io::stdout().lock();
    writeln!(stdout, "{}", server.url())?;
    stdout.flush()?;
    drop(stdout);
    shutdown_signal().await?;
    eprintln!("fake-kube-api: stopping");
    Ok(())
}

/// Writes a file so that a reader never sees it half-written.
fn write_whole(path: &Path, contents: &str) -> io::Result<()> {
    let partial = path.with_extension("partial");
    std::fs::write(&partial, contents)?;
    std::fs::rename(&partial, path)
}

/// Waits for SIGINT or SIGTERM.
async fn shutdown_signal() -> io::Result<()> {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        result = tokio::signal::ctrl_c() => result,
        _ = terminate.recv() => Ok(()),
    }
}
