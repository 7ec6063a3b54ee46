//! 10,000 host names into an empty webhook store, against the strict webhook test server: how
//! many `POST /records` requests and bytes the initial sync sends, and what one full read (the
//! controller's drift pass; events never read) costs afterwards.
//!
//! `cargo bench -p zonesync-webhook --bench webhook_10k` (`-- --names N` for another count).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::Instant;

use zonesync_core::{Change, ChangeGroup, DnsName, Endpoint, Provider, RecordType};
use zonesync_test_support::webhook::{DomainFilter, WebhookConfig as ServerConfig, WebhookServer};
use zonesync_webhook::{WebhookConfig, WebhookProvider};

/// A record and its ownership marker, as the registry builds them.
fn changes(index: usize) -> [Change; 2] {
    let host = format!("host-{index:05}.example.com");
    let resource = format!("ingress/default/web-{index:05}");
    let record = Endpoint::new(
        DnsName::parse(&host).unwrap(),
        RecordType::A,
        [format!(
            "192.0.{}.{}",
            2 + index / 250 % 250,
            1 + index % 250
        )],
    )
    .with_ttl(300)
    .with_label("owner", "bench")
    .with_label("resource", resource.clone());
    let marker = Endpoint::new(
        DnsName::parse(&format!("a-{host}")).unwrap(),
        RecordType::Txt,
        [format!(
            "heritage=external-dns,external-dns/owner=bench,external-dns/resource={resource}"
        )],
    )
    .with_ttl(300);
    [Change::Create { record }, Change::Create { record: marker }]
}

fn main() {
    let mut names = 10_000usize;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--names" {
            names = args.next().and_then(|n| n.parse().ok()).expect("--names N");
        }
    }
    let server = WebhookServer::start(ServerConfig {
        domain_filter: DomainFilter::include(&["example.com"]),
        ..ServerConfig::default()
    });
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let provider = WebhookProvider::new(WebhookConfig::new(server.url()))
            .await
            .unwrap();
        let zones = provider.zones().await.unwrap();
        let zone = &zones[0];
        let changes: Vec<[Change; 2]> = (0..names).map(changes).collect();
        let groups: Vec<ChangeGroup<'_>> = changes
            .iter()
            .map(|pair| ChangeGroup::new(pair[0].key(), pair))
            .collect();

        let started = Instant::now();
        let report = provider.apply(zone, &groups).await.unwrap();
        let apply_time = started.elapsed();
        assert!(report.rejected.is_empty(), "{:?}", report.rejected);
        assert_eq!(server.records().len(), 2 * names);
        let posts = server.count("POST", "/records");
        let bytes = server.change_bytes();

        let started = Instant::now();
        let records = provider.records(zone).await.unwrap();
        let read_time = started.elapsed();
        assert_eq!(records.len(), 2 * names);
        let read_bytes: usize = server
            .requests()
            .iter()
            .filter(|r| r.method == "GET" && r.path == "/records")
            .map(|r| r.response_bytes)
            .sum();
        let stats = provider.stats();

        println!("webhook initial sync, {names} host names (A record + TXT marker each) into an empty store:");
        println!(
            "  POST /records: {posts} request(s), {bytes} bytes sent ({:.1} bytes per name), {:.0} ms",
            bytes as f64 / names as f64,
            apply_time.as_secs_f64() * 1000.0
        );
        println!(
            "  one full read (drift pass): GET /records x{}, {} records, {read_bytes} bytes received, {:.0} ms",
            server.count("GET", "/records"),
            records.len(),
            read_time.as_secs_f64() * 1000.0
        );
        println!(
            "  client counters: {} negotiation(s), {} change post(s), {} retries, {} bytes sent, {} bytes received",
            stats.negotiations, stats.change_posts, stats.retries, stats.bytes_sent, stats.bytes_received
        );
    });
}
