//! `zonesync run` end to end: the fake Kubernetes API server, the real binary, and a zone-file
//! zone. Watches, incremental applies, watch drops and history expiry, list failures, leader
//! election, Events, metrics and graceful shutdown.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use zonesync_test_support::dns::{Bind, DnsServer, find_records};
use zonesync_test_support::kube_api::{FakeApiServer, RequestMatcher, ResourceType, Verb};

use crate::common::{cluster_to_zonefiles, run, write, zonesync};

const ZONE: &str = "$ORIGIN example.com.
@ 3600 IN SOA ns1.example.com. hostmaster.example.com. 1 7200 3600 1209600 300
@ 3600 IN NS ns1.example.com.
ns1 3600 IN A 192.0.2.1
manual 3600 IN A 198.51.100.7
";

pub(crate) fn ingress(name: &str, host: &str, ip: Option<&str>) -> Value {
    let status = match ip {
        Some(ip) => json!({"loadBalancer": {"ingress": [{"ip": ip}]}}),
        None => json!({"loadBalancer": {}}),
    };
    json!({
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"rules": [{"host": host}]},
        "status": status,
    })
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A GET over plain HTTP/1.0: (status, body).
fn http_get(address: SocketAddr, path: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_millis(500)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split_whitespace().nth(1)?.parse().ok()?;
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())?;
    Some((status, body))
}

/// Polls `check` every 50 ms until it holds or `timeout` passes.
pub(crate) async fn eventually(timeout: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out after {timeout:?} waiting for {what}");
}

/// A running `zonesync run`, killed on drop.
pub(crate) struct Controller {
    child: Option<Child>,
    metrics: SocketAddr,
    log: PathBuf,
}

impl Controller {
    fn start(kubeconfig: &Path, zones: &Path, log_dir: &Path, extra: &[&str]) -> Self {
        let provider = [
            "--provider".to_string(),
            "zonefile".to_string(),
            "--zonefile-dir".to_string(),
            zones.display().to_string(),
        ];
        Self::start_with(kubeconfig, &provider, log_dir, extra)
    }

    pub(crate) fn start_with(
        kubeconfig: &Path,
        provider: &[String],
        log_dir: &Path,
        extra: &[&str],
    ) -> Self {
        let port = free_port();
        let metrics: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let log = log_dir.join(format!("zonesync-{port}.log"));
        let file = std::fs::File::create(&log).unwrap();
        let child = zonesync()
            .args([
                "run",
                "--source",
                "ingress",
                "--source",
                "service",
                "--kubeconfig",
            ])
            .arg(kubeconfig)
            .args(provider)
            .args(["--metrics-address", &metrics.to_string()])
            .args(
                [
                    ("--log-level", "info"),
                    ("--min-event-sync-interval", "20ms"),
                ]
                .iter()
                .filter(|(flag, _)| !extra.contains(flag))
                .flat_map(|(flag, value)| [*flag, *value]),
            )
            .args(extra)
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .stdin(Stdio::null())
            .spawn()
            .expect("start zonesync run");
        Self {
            child: Some(child),
            metrics,
            log,
        }
    }

    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub(crate) fn ready(&self) -> Option<(u16, String)> {
        http_get(self.metrics, "/readyz")
    }

    pub(crate) fn metrics(&self) -> String {
        http_get(self.metrics, "/metrics")
            .map(|(_, body)| body)
            .unwrap_or_default()
    }

    pub(crate) fn metric(&self, line_prefix: &str) -> Option<f64> {
        self.metrics()
            .lines()
            .find(|l| l.starts_with(line_prefix))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
    }

    /// The watch events the controller has taken into its desired state so far.
    pub(crate) fn watch_events(&self) -> f64 {
        self.metric("zonesync_watch_events_total ").unwrap_or(0.0)
    }

    /// Waits until the controller has taken in at least `events` watch events and acted on
    /// every one of them (planned and applied what they changed, or found nothing to do). A
    /// "nothing changed" check after this cannot pass merely because the controller is slow.
    pub(crate) async fn wait_settled(&self, events: f64) {
        eventually(
            Duration::from_secs(20),
            &format!("the controller to act on {events} watch events"),
            || {
                let text = self.metrics();
                let value = |name: &str| {
                    text.lines()
                        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse::<f64>().ok())
                };
                let seen = value("zonesync_watch_events_total").unwrap_or(0.0);
                let settled = value("zonesync_watch_events_settled").unwrap_or(0.0);
                seen >= events && settled >= seen
            },
        )
        .await;
    }

    /// Waits until the controller has acted on the next watch event after `before` (a count
    /// from [`watch_events`](Self::watch_events) taken before causing it).
    pub(crate) async fn wait_settled_after(&self, before: f64) {
        self.wait_settled(before + 1.0).await;
    }

    pub(crate) async fn wait_ready(&self) {
        eventually(Duration::from_secs(20), "readiness", || {
            self.ready().is_some_and(|(status, _)| status == 200)
        })
        .await;
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    pub(crate) fn signal(&self, signal: &str) {
        let status = std::process::Command::new("kill")
            .args([&format!("-{signal}"), &self.pid().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for the process to exit; its exit code.
    pub(crate) async fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let deadline = Instant::now() + timeout;
        let child = self.child.as_mut().unwrap();
        while Instant::now() < deadline {
            if let Some(status) = child.try_wait().unwrap() {
                return status.code();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        None
    }
}

impl Drop for Controller {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

struct Setup {
    api: FakeApiServer,
    zones: tempfile::TempDir,
    logs: tempfile::TempDir,
}

impl Setup {
    async fn new() -> Self {
        let api = FakeApiServer::builder()
            .bookmark_interval(Duration::from_millis(200))
            .start()
            .await
            .unwrap();
        let zones = tempfile::tempdir().unwrap();
        write(zones.path(), "example.com.zone", ZONE);
        Self {
            api,
            zones,
            logs: tempfile::tempdir().unwrap(),
        }
    }

    fn zone(&self) -> String {
        std::fs::read_to_string(self.zones.path().join("example.com.zone")).unwrap()
    }

    fn controller(&self, extra: &[&str]) -> Controller {
        Controller::start(
            &self.api.kubeconfig(),
            self.zones.path(),
            self.logs.path(),
            extra,
        )
    }
}

fn has_record(zone: &str, name: &str, value: &str) -> bool {
    zone.lines()
        .any(|l| l.split_whitespace().next() == Some(name) && l.contains(value))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingress_lifecycle_is_mirrored_in_the_zone() {
    let setup = Setup::new().await;
    setup
        .api
        .apply(ingress("web", "www.example.com", Some("192.0.2.10")))
        .unwrap();
    let controller = setup.controller(&[]);
    controller.wait_ready().await;
    eventually(Duration::from_secs(10), "record and marker created", || {
        let zone = setup.zone();
        has_record(&zone, "www", "192.0.2.10")
            && has_record(&zone, "a-www", "external-dns/resource=ingress/default/web")
    })
    .await;

    // A new object: only its name is planned, and it lands quickly.
    setup
        .api
        .apply(ingress("api", "api.example.com", Some("192.0.2.20")))
        .unwrap();
    eventually(Duration::from_secs(5), "second record", || {
        has_record(&setup.zone(), "api", "192.0.2.20")
    })
    .await;

    // The load balancer moves.
    setup
        .api
        .apply(ingress("web", "www.example.com", Some("192.0.2.11")))
        .unwrap();
    eventually(Duration::from_secs(5), "record updated", || {
        let zone = setup.zone();
        has_record(&zone, "www", "192.0.2.11") && !has_record(&zone, "www", "192.0.2.10")
    })
    .await;

    // Deleted: record and marker go, the foreign record stays.
    setup
        .api
        .delete(&ResourceType::INGRESS, Some("default"), "web")
        .unwrap();
    eventually(Duration::from_secs(5), "record and marker deleted", || {
        let zone = setup.zone();
        !has_record(&zone, "www", "192.0.2.11") && !zone.contains("a-www")
    })
    .await;
    let zone = setup.zone();
    assert!(has_record(&zone, "manual", "198.51.100.7"), "{zone}");
    assert!(has_record(&zone, "api", "192.0.2.20"), "{zone}");

    // Events on the objects and metrics.
    let events = setup.api.list(&ResourceType::EVENT, Some("default"));
    let reasons: Vec<(String, String)> = events
        .iter()
        .map(|e| {
            (
                e["regarding"]["name"].as_str().unwrap_or("").to_string(),
                e["reason"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert!(
        reasons.contains(&("api".into(), "RecordCreated".into())),
        "{reasons:?}"
    );
    assert!(
        reasons.contains(&("web".into(), "RecordUpdated".into())),
        "{reasons:?}"
    );
    let metrics = controller.metrics();
    assert!(
        metrics
            .contains("zonesync_changes_applied_total{action=\"create\",provider=\"zonefile\"} 2"),
        "{metrics}"
    );
    assert!(metrics.contains("zonesync_leader 1"), "{metrics}");
    assert!(
        metrics.contains("zonesync_event_to_apply_seconds_count"),
        "{metrics}"
    );
    assert!(
        controller
            .metric("zonesync_provider_requests_total{provider=\"zonefile\",operation=\"records\"}")
            .unwrap()
            <= 1.0,
        "events never re-read the zone:\n{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renamed_host_is_served_at_once_and_the_old_name_goes_after_the_window() {
    let setup = Setup::new().await;
    setup
        .api
        .apply(ingress("web", "www.example.com", Some("192.0.2.10")))
        .unwrap();
    let controller = setup.controller(&["--min-event-sync-interval", "5s"]);
    controller.wait_ready().await;
    eventually(Duration::from_secs(10), "the first name", || {
        has_record(&setup.zone(), "www", "192.0.2.10")
    })
    .await;

    // The host name changes: the new name is created by the first pass, well within the
    // window; the deletion of the old one waits for the window, so a burst of deletions is
    // judged whole.
    let renamed = Instant::now();
    setup
        .api
        .apply(ingress("web", "web.example.com", Some("192.0.2.10")))
        .unwrap();
    eventually(
        Duration::from_secs(4),
        "the new name before the window ends",
        || has_record(&setup.zone(), "web", "192.0.2.10"),
    )
    .await;
    let zone = setup.zone();
    assert!(has_record(&zone, "www", "192.0.2.10"), "{zone}");
    assert!(zone.contains("a-www"), "{zone}");
    eventually(Duration::from_secs(20), "the old name deleted", || {
        let zone = setup.zone();
        !has_record(&zone, "www", "192.0.2.10") && !zone.contains("a-www")
    })
    .await;
    assert!(renamed.elapsed() >= Duration::from_secs(5));
    assert!(has_record(&setup.zone(), "web", "192.0.2.10"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_drops_and_expired_history_cause_no_spurious_deletes() {
    let setup = Setup::new().await;
    let objects: Vec<Value> = (0..30)
        .map(|i| {
            ingress(
                &format!("app{i}"),
                &format!("app{i}.example.com"),
                Some("192.0.2.50"),
            )
        })
        .collect();
    setup.api.apply_all(objects).unwrap();
    let controller = setup.controller(&[]);
    controller.wait_ready().await;
    eventually(Duration::from_secs(10), "30 records", || {
        setup
            .zone()
            .lines()
            .filter(|l| l.contains("192.0.2.50"))
            .count()
            == 30
    })
    .await;

    for round in 0..5 {
        // Each round ends when both watches (Ingress, Service) have re-listed and the
        // controller has acted on the new lists.
        let before = controller.watch_events();
        setup.api.expire_history();
        setup.api.drop_watches();
        if round == 2 {
            setup
                .api
                .apply(ingress("late", "late.example.com", Some("192.0.2.51")))
                .unwrap();
        }
        controller.wait_settled(before + 2.0).await;
    }
    eventually(
        Duration::from_secs(10),
        "the object created during the storm",
        || has_record(&setup.zone(), "late", "192.0.2.51"),
    )
    .await;
    let zone = setup.zone();
    assert_eq!(
        zone.lines().filter(|l| l.contains("192.0.2.50")).count(),
        30,
        "{zone}"
    );
    let deletes = controller
        .metric("zonesync_changes_applied_total{action=\"delete\"")
        .unwrap_or(0.0);
    assert_eq!(deletes, 0.0, "{}", controller.metrics());
    let relists = setup.api.request_count(&RequestMatcher::verb(Verb::List));
    assert!(relists > 2, "the watches re-listed ({relists} lists)");
}

/// Waits until the controller has had a half view for a while: its Service list is complete and
/// it has seen the Ingress list fail twice (the second after a backoff). A controller that planned
/// from a half view would have done so by then; this one must not have planned at all.
async fn wait_for_a_half_view(controller: &Controller) {
    eventually(
        Duration::from_secs(20),
        "a complete Service list and two failed Ingress lists",
        || {
            controller.metric("zonesync_watch_synced{resource=\"service\"}") == Some(1.0)
                && controller
                    .metric("zonesync_watch_errors_total{resource=\"ingress\"}")
                    .unwrap_or(0.0)
                    >= 2.0
        },
    )
    .await;
    let metrics = controller.metrics();
    assert!(
        !metrics.contains("zonesync_reconciles_total{"),
        "no reconcile without every initial list:\n{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_lists_block_planning_and_readiness() {
    let setup = Setup::new().await;
    // A record owned for an Ingress that exists: a "no objects" view would delete it.
    let zone = format!(
        "{ZONE}web 300 IN A 192.0.2.10\na-web 300 IN TXT \"heritage=external-dns,external-dns/owner=default,external-dns/resource=ingress/default/web\"\n"
    );
    write(setup.zones.path(), "example.com.zone", &zone);
    setup
        .api
        .apply(ingress("web", "web.example.com", Some("192.0.2.10")))
        .unwrap();
    setup.api.fail_next(
        RequestMatcher::verb(Verb::List).resource("ingresses"),
        500,
        1000,
    );
    let controller = setup.controller(&[]);
    eventually(Duration::from_secs(10), "the list failures", || {
        setup
            .api
            .request_count(&RequestMatcher::verb(Verb::List).resource("ingresses"))
            >= 2
    })
    .await;
    let (status, body) = controller.ready().expect("readyz answers");
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("waiting for the initial list"), "{body}");
    wait_for_a_half_view(&controller).await;
    assert_eq!(setup.zone(), zone, "nothing written while lists fail");

    setup.api.clear_faults();
    controller.wait_ready().await;
    // Now the view is complete: the desired record stays, a new one is added.
    setup
        .api
        .apply(ingress("new", "new.example.com", Some("192.0.2.12")))
        .unwrap();
    eventually(Duration::from_secs(10), "recovery", || {
        has_record(&setup.zone(), "new", "192.0.2.12")
    })
    .await;
    assert!(has_record(&setup.zone(), "web", "192.0.2.10"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_leader_writes_and_a_standby_takes_over() {
    let setup = Setup::new().await;
    setup
        .api
        .apply(ingress("one", "one.example.com", Some("192.0.2.61")))
        .unwrap();
    let election = [
        "--leader-election",
        "--leader-election-namespace",
        "zonesync",
        "--leader-election-lease-duration",
        "2s",
    ];
    let mut first = setup.controller(&election);
    first.wait_ready().await;
    eventually(Duration::from_secs(10), "first is leader", || {
        first.metric("zonesync_leader") == Some(1.0)
    })
    .await;
    let second = setup.controller(&election);
    second.wait_ready().await;
    assert_eq!(second.metric("zonesync_leader"), Some(0.0));
    eventually(Duration::from_secs(10), "record by the leader", || {
        has_record(&setup.zone(), "one", "192.0.2.61")
    })
    .await;
    let lease = setup
        .api
        .get(&ResourceType::LEASE, Some("zonesync"), "zonesync")
        .expect("lease exists");
    let holder = lease["spec"]["holderIdentity"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(holder.ends_with(&format!("-{}", first.pid())), "{holder}");

    // The standby never wrote: only the leader's process logged applies.
    assert!(
        !second.log().contains("zone file written"),
        "{}",
        second.log()
    );

    // Kill the leader hard: the standby takes over within the lease duration and writes.
    first.signal("KILL");
    first.wait_exit(Duration::from_secs(5)).await;
    eventually(Duration::from_secs(15), "standby takes over", || {
        second.metric("zonesync_leader") == Some(1.0)
    })
    .await;
    setup
        .api
        .apply(ingress("two", "two.example.com", Some("192.0.2.62")))
        .unwrap();
    eventually(Duration::from_secs(10), "record by the new leader", || {
        has_record(&setup.zone(), "two", "192.0.2.62")
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_releases_the_lease_and_exits_zero() {
    let setup = Setup::new().await;
    let mut controller = setup.controller(&[
        "--leader-election",
        "--leader-election-namespace",
        "zonesync",
        "--leader-election-lease-duration",
        "30s",
    ]);
    controller.wait_ready().await;
    eventually(Duration::from_secs(10), "leader", || {
        controller.metric("zonesync_leader") == Some(1.0)
    })
    .await;
    controller.signal("TERM");
    let code = controller.wait_exit(Duration::from_secs(10)).await;
    assert_eq!(code, Some(0), "{}", controller.log());
    let lease = setup
        .api
        .get(&ResourceType::LEASE, Some("zonesync"), "zonesync")
        .unwrap();
    assert!(
        lease["spec"]["holderIdentity"].is_null(),
        "lease released: {lease}"
    );
    assert!(controller.log().contains("released the lease"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_and_sync_read_the_cluster_once() {
    let setup = Setup::new().await;
    setup
        .api
        .apply(ingress("web", "www.example.com", Some("192.0.2.10")))
        .unwrap();
    setup
        .api
        .apply(json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "api", "namespace": "shop",
                         "annotations": {"external-dns.kubernetes.io/hostname": "api.example.com"}},
            "spec": {"type": "LoadBalancer"},
            "status": {"loadBalancer": {"ingress": [{"hostname": "lb.example.net"}]}}
        }))
        .unwrap();
    let kubeconfig = setup.api.kubeconfig();
    let args = |command: &str| cluster_to_zonefiles(command, &kubeconfig, setup.zones.path());
    let plan = tokio::task::block_in_place(|| run(&mut args("plan")));
    assert_eq!(plan.code, 2, "{}", plan.both());
    assert!(
        plan.stdout.contains("+ www.example.com A 192.0.2.10"),
        "{}",
        plan.both()
    );
    assert!(
        plan.stdout
            .contains("+ api.example.com CNAME lb.example.net"),
        "{}",
        plan.both()
    );
    let namespaced = tokio::task::block_in_place(|| {
        run(zonesync()
            .args([
                "plan",
                "--source",
                "ingress",
                "--namespace",
                "other",
                "--kubeconfig",
            ])
            .arg(setup.api.kubeconfig())
            .args(["--provider", "zonefile", "--zonefile-dir"])
            .arg(setup.zones.path()))
    });
    assert_eq!(namespaced.code, 0, "{}", namespaced.both());

    setup
        .api
        .fail_next(RequestMatcher::verb(Verb::List), 500, 1);
    let failed = tokio::task::block_in_place(|| {
        run(zonesync()
            .args(["sync", "--source", "ingress", "--kubeconfig"])
            .arg(setup.api.kubeconfig())
            .args(["--provider", "zonefile", "--zonefile-dir"])
            .arg(setup.zones.path()))
    });
    assert_eq!(failed.code, 1, "{}", failed.both());
    assert!(
        failed.stderr.contains("cannot list ingresses"),
        "{}",
        failed.both()
    );
    assert!(
        !setup.zone().contains("www"),
        "nothing written after a failed list"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vanished_load_balancer_status_keeps_records_for_the_grace_period() {
    let setup = Setup::new().await;
    setup
        .api
        .apply(ingress("web", "www.example.com", Some("192.0.2.10")))
        .unwrap();
    let controller = setup.controller(&["--target-grace-period", "2s"]);
    controller.wait_ready().await;
    eventually(Duration::from_secs(10), "record", || {
        has_record(&setup.zone(), "www", "192.0.2.10")
    })
    .await;
    let before = setup.zone();
    let grace = Duration::from_secs(2);

    // The ingress controller rolls out: the status empties, then comes back.
    let events = controller.watch_events();
    let emptied = Instant::now();
    setup
        .api
        .apply(ingress("web", "www.example.com", None))
        .unwrap();
    controller.wait_settled_after(events).await;
    assert_eq!(
        setup.zone(),
        before,
        "nothing changes during the grace period"
    );
    let events = controller.watch_events();
    setup
        .api
        .apply(ingress("web", "www.example.com", Some("192.0.2.10")))
        .unwrap();
    controller.wait_settled_after(events).await;
    assert_eq!(
        setup.zone(),
        before,
        "nothing changes when the status comes back"
    );
    // Past the end of the first grace period, an event that changes nothing in DNS wakes the
    // controller, which ends any grace period that is over before it settles.
    tokio::time::sleep_until((emptied + grace + Duration::from_millis(100)).into()).await;
    let events = controller.watch_events();
    let mut relabelled = ingress("web", "www.example.com", Some("192.0.2.10"));
    relabelled["metadata"]["labels"] = json!({"rollout": "done"});
    setup.api.apply(relabelled).unwrap();
    controller.wait_settled_after(events).await;
    assert_eq!(
        setup.zone(),
        before,
        "nothing changes after the first grace period would have ended"
    );

    // Empty for good: the records go once the grace period is over, not before.
    let events = controller.watch_events();
    let emptied = Instant::now();
    setup
        .api
        .apply(ingress("web", "www.example.com", None))
        .unwrap();
    controller.wait_settled_after(events).await;
    assert!(has_record(&setup.zone(), "www", "192.0.2.10"));
    eventually(
        Duration::from_secs(10),
        "deletion after the grace period",
        || {
            let zone = setup.zone();
            !has_record(&zone, "www", "192.0.2.10") && !zone.contains("a-www")
        },
    )
    .await;
    assert!(
        emptied.elapsed() >= grace,
        "deleted after {:?}, before the grace period of {grace:?} ended",
        emptied.elapsed()
    );
}

/// Twelve Ingresses (`app0` … `app11`, all at 192.0.2.70) and a controller with the batch window
/// `window` that has written their records.
async fn twelve_owned_records(window: &str) -> (Setup, Controller) {
    let setup = Setup::new().await;
    let objects: Vec<Value> = (0..12)
        .map(|i| {
            ingress(
                &format!("app{i}"),
                &format!("app{i}.example.com"),
                Some("192.0.2.70"),
            )
        })
        .collect();
    setup.api.apply_all(objects).unwrap();
    let controller = setup.controller(&["--min-event-sync-interval", window]);
    controller.wait_ready().await;
    eventually(Duration::from_secs(10), "12 records", || {
        setup
            .zone()
            .lines()
            .filter(|l| l.contains("192.0.2.70"))
            .count()
            == 12
    })
    .await;
    (setup, controller)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mass_deletion_is_held_back_while_the_rest_goes_on() {
    let (setup, controller) = twelve_owned_records("500ms").await;

    // Half the objects vanish at once, and one new object arrives.
    let events = controller.watch_events();
    for i in 0..6 {
        setup
            .api
            .delete(&ResourceType::INGRESS, Some("default"), &format!("app{i}"))
            .unwrap();
    }
    setup
        .api
        .apply(ingress("fresh", "fresh.example.com", Some("192.0.2.71")))
        .unwrap();
    // Seven events (six deletions, one new object), all acted on: the zone file is written
    // before the metrics and /readyz are updated, so waiting for the record alone is not enough.
    controller.wait_settled(events + 7.0).await;
    let zone = setup.zone();
    assert!(has_record(&zone, "fresh", "192.0.2.71"), "{zone}");
    assert_eq!(
        zone.lines().filter(|l| l.contains("192.0.2.70")).count(),
        12,
        "deletions held back:\n{zone}"
    );
    assert!(
        controller
            .metric("zonesync_changes_held_back")
            .unwrap_or(0.0)
            >= 6.0,
        "{}\n{}",
        controller.metrics(),
        controller.log()
    );
    let (status, body) = controller.ready().unwrap();
    assert_eq!(status, 200, "the rest keeps working: {body}");
    assert!(body.contains("held back"), "{body}");
    assert!(
        body.contains("the plan would delete 6 of the 12 records zonesync owns"),
        "{body}"
    );
    eventually(Duration::from_secs(5), "a ChangeHeldBack event", || {
        setup
            .api
            .list(&ResourceType::EVENT, Some("default"))
            .iter()
            .any(|e| e["reason"] == "ChangeHeldBack")
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deletions_arriving_after_a_held_back_batch_are_judged_with_it() {
    let (setup, controller) = twelve_owned_records("100ms").await;
    let count = |zone: &str| zone.lines().filter(|l| l.contains("192.0.2.70")).count();

    // Four of twelve (33 %) are held back ...
    let events = controller.watch_events();
    for i in 0..4 {
        setup
            .api
            .delete(&ResourceType::INGRESS, Some("default"), &format!("app{i}"))
            .unwrap();
    }
    controller.wait_settled(events + 4.0).await;
    assert_eq!(count(&setup.zone()), 12, "{}", setup.zone());
    // ... and two more in a later batch (17 % on their own) are judged together with them.
    let events = controller.watch_events();
    for i in 4..6 {
        setup
            .api
            .delete(&ResourceType::INGRESS, Some("default"), &format!("app{i}"))
            .unwrap();
    }
    controller.wait_settled(events + 2.0).await;
    let zone = setup.zone();
    assert_eq!(count(&zone), 12, "deletions held back:\n{zone}");
    assert_eq!(controller.metric("zonesync_changes_held_back "), Some(6.0));
    let (status, body) = controller.ready().unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("the plan would delete 6 of the 12 records zonesync owns"),
        "{body}"
    );

    // An unrelated change goes on, and the held-back deletions stay reported.
    let events = controller.watch_events();
    setup
        .api
        .apply(ingress("fresh", "fresh.example.com", Some("192.0.2.71")))
        .unwrap();
    controller.wait_settled(events + 1.0).await;
    let zone = setup.zone();
    assert!(has_record(&zone, "fresh", "192.0.2.71"), "{zone}");
    assert_eq!(count(&zone), 12, "{zone}");
    assert_eq!(controller.metric("zonesync_changes_held_back "), Some(6.0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn controller_keeps_bind_in_step() {
    let api = FakeApiServer::start().await.unwrap();
    let bind = tokio::task::block_in_place(|| {
        Bind::builder()
            .zone_with_records("example.org", &["manual 300 IN A 198.51.100.7"])
            .start()
    });
    let logs = tempfile::tempdir().unwrap();
    let secret = write(logs.path(), "tsig.secret", &bind.key().secret);
    let provider = crate::faults::rfc2136_args(&bind, &secret);
    let controller = Controller::start_with(&api.kubeconfig(), &provider, logs.path(), &[]);
    controller.wait_ready().await;
    let values = |name: &str, record_type: &str| -> Vec<String> {
        let records = bind.axfr("example.org").unwrap();
        find_records(&records, name, record_type)
            .into_iter()
            .map(|r| r.text())
            .collect()
    };

    api.apply(ingress("web", "www.example.org", Some("192.0.2.10")))
        .unwrap();
    eventually(Duration::from_secs(10), "A and marker served by BIND", || {
        values("www.example.org", "A") == ["192.0.2.10"]
            && values("a-www.example.org", "TXT")
                == ["heritage=external-dns,external-dns/owner=default,external-dns/resource=ingress/default/web"]
    })
    .await;
    api.apply(ingress("web", "www.example.org", Some("192.0.2.11")))
        .unwrap();
    eventually(Duration::from_secs(10), "A updated", || {
        values("www.example.org", "A") == ["192.0.2.11"]
    })
    .await;
    api.delete(&ResourceType::INGRESS, Some("default"), "web")
        .unwrap();
    eventually(Duration::from_secs(10), "record and marker deleted", || {
        values("www.example.org", "A").is_empty() && values("a-www.example.org", "TXT").is_empty()
    })
    .await;
    assert_eq!(values("manual.example.org", "A"), ["198.51.100.7"]);
    assert_eq!(
        controller
            .metric("zonesync_provider_requests_total{provider=\"rfc2136\",operation=\"records\"}")
            .unwrap_or(0.0),
        1.0,
        "one read at start; events never re-read the zone"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_object_in_a_list_never_means_nothing_desired() {
    let setup = Setup::new().await;
    let zone = format!(
        "{ZONE}web 300 IN A 192.0.2.10\na-web 300 IN TXT \"heritage=external-dns,external-dns/owner=default,external-dns/resource=ingress/default/web\"\n"
    );
    write(setup.zones.path(), "example.com.zone", &zone);
    setup
        .api
        .apply(ingress("web", "web.example.com", Some("192.0.2.10")))
        .unwrap();
    // An object the API server would never have accepted: `rules` is not a list.
    setup
        .api
        .apply(json!({
            "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": "broken", "namespace": "default"},
            "spec": {"rules": "not-a-list"}
        }))
        .unwrap();
    let sync = tokio::task::block_in_place(|| {
        run(zonesync()
            .args(["sync", "--source", "ingress", "--kubeconfig"])
            .arg(setup.api.kubeconfig())
            .args(["--provider", "zonefile", "--zonefile-dir"])
            .arg(setup.zones.path()))
    });
    assert_eq!(sync.code, 1, "{}", sync.both());
    assert!(
        sync.stderr.contains("cannot list ingresses"),
        "{}",
        sync.both()
    );
    let controller = setup.controller(&[]);
    eventually(Duration::from_secs(10), "the failing list", || {
        controller
            .ready()
            .is_some_and(|(status, body)| status == 503 && body.contains("initial list"))
    })
    .await;
    wait_for_a_half_view(&controller).await;
    assert_eq!(setup.zone(), zone, "nothing deleted");
}

/// A large initial sync into BIND goes out in many UPDATE messages, each group prepared only
/// when its message is built: every record lands with its marker, the report still carries
/// every change (Events), and a later mass deletion is judged against the whole zone and held
/// back while a new object is still written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_sync_into_bind_lands_every_marker_and_keeps_the_safety_thresholds() {
    const OBJECTS: usize = 600;
    let api = FakeApiServer::start().await.unwrap();
    let bind = tokio::task::block_in_place(|| Bind::builder().zone("example.org").start());
    let logs = tempfile::tempdir().unwrap();
    let secret = write(logs.path(), "tsig.secret", &bind.key().secret);
    let mut provider = crate::faults::rfc2136_args(&bind, &secret);
    provider.extend(["--rfc2136-batch-change-size".to_string(), "100".to_string()]);
    let objects: Vec<Value> = (0..OBJECTS)
        .map(|i| {
            ingress(
                &format!("app{i}"),
                &format!("app{i}.example.org"),
                Some("192.0.2.80"),
            )
        })
        .collect();
    api.apply_all(objects).unwrap();
    let controller = Controller::start_with(
        &api.kubeconfig(),
        &provider,
        logs.path(),
        &["--min-event-sync-interval", "500ms"],
    );
    controller.wait_ready().await;
    let served = |address: &str| -> Vec<String> {
        let records = bind.axfr("example.org").unwrap();
        (0..OBJECTS)
            .filter(|i| {
                let host = format!("app{i}.example.org");
                find_records(&records, &host, "A")
                    .iter()
                    .any(|r| r.text() == address)
                    && find_records(&records, &format!("a-{host}"), "TXT")
                        .iter()
                        .any(|r| r.text().ends_with(&format!("ingress/default/app{i}")))
            })
            .map(|i| format!("app{i}"))
            .collect()
    };
    eventually(
        Duration::from_secs(20),
        "every record with its marker",
        || served("192.0.2.80").len() == OBJECTS,
    )
    .await;
    eventually(Duration::from_secs(10), "RecordCreated events", || {
        api.list(&ResourceType::EVENT, Some("default"))
            .iter()
            .filter(|e| e["reason"] == "RecordCreated")
            .count()
            >= OBJECTS
    })
    .await;

    // Half the objects vanish at once (above --max-delete-percent=30), one new object arrives.
    let events = controller.watch_events();
    for i in 0..OBJECTS / 2 {
        api.delete(&ResourceType::INGRESS, Some("default"), &format!("app{i}"))
            .unwrap();
    }
    api.apply(ingress("fresh", "fresh.example.org", Some("192.0.2.81")))
        .unwrap();
    eventually(Duration::from_secs(10), "the new record", || {
        let records = bind.axfr("example.org").unwrap();
        find_records(&records, "fresh.example.org", "A")
            .iter()
            .any(|r| r.text() == "192.0.2.81")
    })
    .await;
    // The record is served before /readyz is updated: wait until every event was acted on.
    controller
        .wait_settled(events + (OBJECTS / 2 + 1) as f64)
        .await;
    assert_eq!(
        served("192.0.2.80").len(),
        OBJECTS,
        "the deletions are held back, markers included"
    );
    let (_, body) = controller.ready().unwrap();
    assert!(
        body.contains("the plan would delete 300 of the 601 records zonesync owns")
            || body.contains("the plan would delete 300 of the 600 records zonesync owns"),
        "{body}"
    );
}
