//! Benchmark (not a timed test): sync 10,000 host names into an empty BIND zone through the
//! RFC2136 provider, then list the zone again, and print what it cost.
//!
//! Run with `cargo bench -p zonesync-rfc2136 --bench sync_10k` (needs `named`; see
//! `scripts/install-test-peers.sh`). Each host name is one change group, as the planner builds
//! it: an A record and its ownership marker.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use zonesync_core::{Change, ChangeGroup, DnsName, Endpoint, Provider, RecordType, Zone};
use zonesync_rfc2136::{Rfc2136Args, Rfc2136Provider, Rfc2136Stats};
use zonesync_test_support::dns::{Bind, DnsServer};

const HOSTS: usize = 10_000;
const ZONE: &str = "bench.example";

fn groups() -> Vec<ChangeGroup<'static>> {
    (0..HOSTS)
        .map(|i| {
            let name = format!("host-{i}.{ZONE}");
            let record = Endpoint::new(
                DnsName::parse(&name).unwrap(),
                RecordType::A,
                [format!("10.{}.{}.{}", i / 65536, (i / 256) % 256, i % 256)],
            );
            let marker = Endpoint::new(
                DnsName::parse(&format!("a-{name}")).unwrap(),
                RecordType::Txt,
                [format!(
                    "heritage=external-dns,external-dns/owner=default,external-dns/resource=ingress/bench/host-{i}"
                )],
            );
            leak_group(record.key(), vec![
                    Change::Create { record },
                    Change::Create { record: marker },
                ])
        })
        .collect()
}

fn delta(after: Rfc2136Stats, before: Rfc2136Stats) -> Rfc2136Stats {
    Rfc2136Stats {
        axfr: after.axfr - before.axfr,
        soa_queries: after.soa_queries - before.soa_queries,
        queries: after.queries - before.queries,
        update_messages: after.update_messages - before.update_messages,
        update_bytes: after.update_bytes - before.update_bytes,
    }
}

fn row(step: &str, wall: Duration, stats: Rfc2136Stats, records: usize) {
    println!(
        "| {step:<34} | {:>9.3} | {:>7} | {:>10} | {:>4} | {:>3} | {:>7} |",
        wall.as_secs_f64(),
        stats.update_messages,
        stats.update_bytes,
        stats.axfr,
        stats.soa_queries,
        records
    );
}

#[tokio::main]
async fn main() {
    let bind = Bind::start(&[ZONE]);
    let key = bind.key();
    let args = Rfc2136Args {
        rfc2136_host: vec![format!("127.0.0.1:{}", bind.port())],
        rfc2136_zone: vec![ZONE.to_string()],
        rfc2136_tsig_keyname: Some(key.name.clone()),
        rfc2136_tsig_secret: Some(key.secret.clone()),
        ..Rfc2136Args::default()
    };
    let provider = Rfc2136Provider::new(args.validate().unwrap())
        .await
        .unwrap();
    let zone = Zone::new(DnsName::parse(ZONE).unwrap());
    let groups = groups();

    println!(
        "sync of {HOSTS} host names (A record + ownership marker each) into an empty BIND zone"
    );
    println!();
    println!(
        "| {:<34} | {:>9} | {:>7} | {:>10} | {:>4} | {:>3} | {:>7} |",
        "step", "wall (s)", "UPDATEs", "bytes", "AXFR", "SOA", "RRsets"
    );
    println!(
        "|{:-<36}|{:->11}|{:->9}|{:->12}|{:->6}|{:->5}|{:->9}|",
        "", "", "", "", "", "", ""
    );

    let start = Instant::now();
    let stats = provider.stats();
    let listed = provider.records(&zone).await.unwrap();
    row(
        "first records() (empty zone)",
        start.elapsed(),
        delta(provider.stats(), stats),
        listed.len(),
    );

    let start = Instant::now();
    let stats = provider.stats();
    let report = provider.apply(&zone, &groups).await.unwrap();
    assert!(report.rejected.is_empty(), "{:?}", report.rejected.first());
    row(
        "apply 10,000 groups (+ read-back)",
        start.elapsed(),
        delta(provider.stats(), stats),
        0,
    );

    let start = Instant::now();
    let stats = provider.stats();
    let listed = provider.records(&zone).await.unwrap();
    row(
        "second records() (next sync)",
        start.elapsed(),
        delta(provider.stats(), stats),
        listed.len(),
    );
    assert_eq!(
        listed.len(),
        2 * HOSTS + 3,
        "every record and marker listed"
    );

    bind.nsupdate(
        ZONE,
        &[&format!("update add outside.{ZONE}. 300 A 192.0.2.1")],
    )
    .unwrap();
    let start = Instant::now();
    let stats = provider.stats();
    let listed = provider.records(&zone).await.unwrap();
    row(
        "records() after a foreign change",
        start.elapsed(),
        delta(provider.stats(), stats),
        listed.len(),
    );

    let dig = Instant::now();
    let transferred = bind.axfr(ZONE).unwrap();
    println!();
    println!(
        "independent check: dig AXFR returned {} records in {:.3} s",
        transferred.len(),
        dig.elapsed().as_secs_f64()
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
