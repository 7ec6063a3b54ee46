//! API calls and wall time of the Route53 provider against moto_server, for the README:
//! an initial sync of 10,000 host names, a sync with nothing to change, and a one-record change,
//! each from a fresh process (`zonesync sync` in a CronJob) and from a warm provider (the
//! controller, which keeps its zone copies between passes).
//!
//! Not a timed test: it prints a table. `cargo bench -p zonesync-route53 --bench route53`
//! (set `ZONESYNC_BENCH_HOSTS` for another size). Needs moto (scripts/install-test-peers.sh).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::time::{Duration, Instant};

use zonesync_core::{
    Change, ChangeGroup, DnsName, Endpoint, Provider, RecordKey, RecordType, Zone,
};
use zonesync_route53::{Route53Config, Route53Provider, Route53Stats};
use zonesync_test_support::moto::{Moto, ZoneSpec, sdk_config_for};

const ZONE: &str = "bench.example.com";

fn desired(hosts: usize, changed: Option<usize>) -> Vec<Endpoint> {
    (0..hosts)
        .map(|i| {
            let address = if Some(i) == changed {
                "192.0.2.200".to_string()
            } else {
                format!("10.{}.{}.{}", i / 65536 % 256, i / 256 % 256, i % 256)
            };
            Endpoint::new(
                DnsName::parse(&format!("host-{i:05}.{ZONE}")).unwrap(),
                RecordType::A,
                [address],
            )
            .with_ttl(300)
        })
        .collect()
}

fn marker(record: &Endpoint) -> Endpoint {
    Endpoint::new(
        DnsName::from_provider(&format!("a-{}", record.name)),
        RecordType::Txt,
        [format!(
            "heritage=external-dns,external-dns/owner=bench,external-dns/resource=ingress/default/{}",
            record.name.first_label()
        )],
    )
    .with_ttl(300)
}

/// A minimal planner: creates missing records with their markers, updates changed targets.
fn plan(desired: &[Endpoint], current: &[Endpoint]) -> Vec<ChangeGroup<'static>> {
    let current: HashMap<RecordKey, &Endpoint> = current.iter().map(|e| (e.key(), e)).collect();
    desired
        .iter()
        .filter_map(|want| match current.get(&want.key()) {
            None => Some(leak_group(
                want.key(),
                vec![
                    Change::Create {
                        record: want.clone(),
                    },
                    Change::Create {
                        record: marker(want),
                    },
                ],
            )),
            Some(have) if have.targets != want.targets => Some(leak_group(
                want.key(),
                vec![Change::Update {
                    old: (*have).clone(),
                    new: want.clone(),
                }],
            )),
            Some(_) => None,
        })
        .collect()
}

/// One sync pass: zones, records, plan, apply. Returns the number of groups applied.
async fn sync(provider: &Route53Provider, desired: &[Endpoint]) -> usize {
    let zone: Zone = provider
        .zones()
        .await
        .unwrap()
        .into_iter()
        .find(|z| z.name.as_str() == ZONE)
        .unwrap();
    let current = provider.records(&zone).await.unwrap();
    let groups = plan(desired, &current);
    if !groups.is_empty() {
        let report = provider.apply(&zone, &groups).await.unwrap();
        assert!(report.rejected.is_empty(), "{:?}", report.rejected.first());
    }
    groups.len()
}

struct Row {
    scenario: String,
    groups: usize,
    calls: Route53Stats,
    wall: Duration,
}

fn delta(after: Route53Stats, before: Route53Stats) -> Route53Stats {
    Route53Stats {
        list_hosted_zones: after.list_hosted_zones - before.list_hosted_zones,
        list_tags_for_resources: after.list_tags_for_resources - before.list_tags_for_resources,
        list_resource_record_sets: after.list_resource_record_sets
            - before.list_resource_record_sets,
        change_resource_record_sets: after.change_resource_record_sets
            - before.change_resource_record_sets,
        retries: after.retries - before.retries,
        throttled: after.throttled - before.throttled,
        ..after
    }
}

async fn measure(scenario: &str, provider: &Route53Provider, desired: &[Endpoint]) -> Row {
    let before = provider.stats();
    let started = Instant::now();
    let groups = sync(provider, desired).await;
    Row {
        scenario: scenario.to_string(),
        groups,
        calls: delta(provider.stats(), before),
        wall: started.elapsed(),
    }
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` runs this as a smoke test.
    let smoke = !std::env::args().any(|a| a == "--bench");
    let hosts: usize = std::env::var("ZONESYNC_BENCH_HOSTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if smoke { 200 } else { 10_000 });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let moto = Moto::start();
    let rows = runtime.block_on(async {
        moto.create_zone(&format!("{ZONE}."), ZoneSpec::public())
            .await;
        let fresh = || {
            Route53Provider::with_sdk_config(
                Route53Config::default(),
                sdk_config_for(&moto.endpoint()),
            )
        };
        let all = desired(hosts, None);
        let one_changed = desired(hosts, Some(hosts / 2));
        let mut rows = Vec::new();

        let warm = fresh();
        rows.push(measure(&format!("initial sync, {hosts} names"), &warm, &all).await);
        rows.push(measure("no-change sync, warm provider", &warm, &all).await);
        rows.push(measure("one-record change, warm provider", &warm, &one_changed).await);
        rows.push(measure("no-change sync, fresh process", &fresh(), &one_changed).await);
        rows.push(measure("one-record change, fresh process", &fresh(), &all).await);
        rows
    });

    println!(
        "Route53 provider against moto_server, default limits (burst 50, 10 requests/s), {hosts} host names"
    );
    println!();
    println!(
        "| scenario | groups | ListHostedZones | ListResourceRecordSets | ChangeResourceRecordSets | total calls | wall time |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for row in &rows {
        let calls = row.calls;
        println!(
            "| {} | {} | {} | {} | {} | {} | {:.2} s |",
            row.scenario,
            row.groups,
            calls.list_hosted_zones,
            calls.list_resource_record_sets,
            calls.change_resource_record_sets,
            calls.total_requests(),
            row.wall.as_secs_f64()
        );
    }
    let initial = &rows[0].calls;
    println!();
    println!(
        "largest change request: {} records, {} characters (limits 1,000 and 32,000)",
        initial.largest_batch_records, initial.largest_batch_characters
    );
}

/// A change group owning its changes for the rest of the test (groups borrow their changes
/// from a plan; tests have no plan to borrow from).
fn leak_group(
    subject: zonesync_core::RecordKey,
    changes: Vec<zonesync_core::Change>,
) -> zonesync_core::ChangeGroup<'static> {
    zonesync_core::ChangeGroup::new(subject, Vec::leak(changes).iter())
}
