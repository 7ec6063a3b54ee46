//! The provider against moto_server (and the fault proxy in front of it): zones and filters,
//! record round trips, the record cache, pagination, batching limits, failure isolation,
//! retries and the rate limit.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use aws_sdk_route53::types::{ChangeAction, RrType};
use zonesync_core::{
    Change, ChangeGroup, DnsName, Endpoint, ErrorKind, Provider, RecordType, Zone,
};
use zonesync_route53::{
    BatchLimits, RateLimit, RetryPolicy, Route53Config, Route53Provider, TagFilter, ZoneFilter,
    ZoneType,
};
use zonesync_test_support::moto::{Moto, ZoneSpec, record_set, sdk_config_for};
use zonesync_test_support::proxy::{Fault, FaultProxy, FaultRule};

const OWNER: &str = "default";

fn config() -> Route53Config {
    Route53Config {
        retry: RetryPolicy {
            max_retries: 3,
            min_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(50),
        },
        rate_limit: RateLimit {
            requests_per_second: 1000.0,
            burst: 1000,
        },
        ..Route53Config::default()
    }
}

fn provider(endpoint: &str, config: Route53Config) -> Route53Provider {
    Route53Provider::with_sdk_config(config, sdk_config_for(endpoint))
}

fn name(s: &str) -> DnsName {
    DnsName::parse(s).unwrap()
}

fn endpoint(host: &str, record_type: RecordType, targets: &[&str]) -> Endpoint {
    Endpoint::new(name(host), record_type, targets).with_ttl(300)
}

/// The ownership marker the registry writes for `record` (external-dns format).
fn marker(record: &Endpoint) -> Endpoint {
    let marker_name = format!(
        "{}-{}",
        record.record_type.as_str().to_ascii_lowercase(),
        record.name
    );
    let mut marker = Endpoint::new(
        DnsName::from_provider(&marker_name),
        RecordType::Txt,
        [format!(
            "heritage=external-dns,external-dns/owner={OWNER},external-dns/resource=ingress/default/{}",
            record.name.first_label()
        )],
    );
    marker.ttl = record.ttl;
    marker.set_identifier = record.set_identifier.clone();
    marker.properties = record.properties.clone();
    marker
}

fn create_group(record: Endpoint) -> ChangeGroup<'static> {
    let marker = marker(&record);
    leak_group(
        record.key(),
        vec![Change::Create { record }, Change::Create { record: marker }],
    )
}

async fn zone_named(provider: &Route53Provider, id: &str) -> Zone {
    provider
        .zones()
        .await
        .unwrap()
        .into_iter()
        .find(|zone| zone.id == id)
        .unwrap_or_else(|| panic!("zone {id} not listed"))
}

fn sorted(mut endpoints: Vec<Endpoint>) -> Vec<Endpoint> {
    endpoints.sort_by_key(Endpoint::key);
    endpoints
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zones_are_filtered_by_id_type_and_tags_with_one_horizon_per_private_zone() {
    let moto = Moto::start();
    let public = moto
        .create_zone(
            "example.com.",
            ZoneSpec::public().tag("env", "prod").tag("dns", "zonesync"),
        )
        .await;
    let private = moto
        .create_zone("example.com.", ZoneSpec::private().tag("env", "prod"))
        .await;
    let private_other = moto
        .create_zone("internal.example.com.", ZoneSpec::private())
        .await;
    let dev = moto
        .create_zone("example.org.", ZoneSpec::public().tag("env", "dev"))
        .await;

    let all = provider(&moto.endpoint(), config());
    let zones = all.zones().await.unwrap();
    assert_eq!(zones.len(), 4, "{zones:?}");
    let horizon = |id: &str| zones.iter().find(|z| z.id == id).unwrap().horizon.clone();
    assert_eq!(
        horizon(&public),
        horizon(&dev),
        "public zones share a horizon"
    );
    assert_ne!(horizon(&private), horizon(&public));
    assert_ne!(
        horizon(&private),
        horizon(&private_other),
        "each private zone is its own horizon"
    );
    // Split horizon: a name is written to the public zone and to every private zone holding it.
    let homes = zonesync_core::zones_for(&zones, &name("www.internal.example.com"));
    let mut home_ids: Vec<&str> = homes.iter().map(|z| z.id.as_str()).collect();
    home_ids.sort_unstable();
    let mut expected = vec![public.as_str(), private.as_str(), private_other.as_str()];
    expected.sort_unstable();
    assert_eq!(home_ids, expected);
    assert_eq!(
        all.stats().list_tags_for_resources,
        0,
        "no tag calls without a tag filter"
    );

    let endpoint = moto.endpoint();
    let only = |filter: ZoneFilter| {
        let endpoint = endpoint.clone();
        async move {
            let provider = provider(
                &endpoint,
                Route53Config {
                    zone_filter: filter,
                    ..config()
                },
            );
            let mut ids: Vec<String> = provider
                .zones()
                .await
                .unwrap()
                .into_iter()
                .map(|z| z.id)
                .collect();
            ids.sort();
            (ids, provider.stats())
        }
    };
    let (ids, _) = only(ZoneFilter {
        zone_type: Some(ZoneType::Private),
        ..ZoneFilter::default()
    })
    .await;
    let mut privates = vec![private.clone(), private_other.clone()];
    privates.sort();
    assert_eq!(ids, privates);
    let (ids, _) = only(ZoneFilter {
        zone_type: Some(ZoneType::Public),
        ..ZoneFilter::default()
    })
    .await;
    assert_eq!(ids.len(), 2);
    let (ids, _) = only(ZoneFilter {
        ids: vec![dev.clone()],
        ..ZoneFilter::default()
    })
    .await;
    assert_eq!(ids, [dev]);
    let (ids, stats) = only(ZoneFilter {
        tags: vec![
            TagFilter {
                key: "env".into(),
                value: Some("prod".into()),
            },
            TagFilter {
                key: "dns".into(),
                value: None,
            },
        ],
        ..ZoneFilter::default()
    })
    .await;
    assert_eq!(ids, [public]);
    assert_eq!(
        stats.list_tags_for_resources, 1,
        "four zones fit in one tag request"
    );
    let (ids, _) = only(ZoneFilter {
        zone_type: Some(ZoneType::Private),
        tags: vec![TagFilter {
            key: "env".into(),
            value: Some("prod".into()),
        }],
        ..ZoneFilter::default()
    })
    .await;
    assert_eq!(ids, [private]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zone_list_is_paginated_and_cached() {
    let moto = Moto::start();
    for i in 0..105 {
        moto.create_zone(&format!("zone{i:03}.example.net."), ZoneSpec::public())
            .await;
    }
    let cached = provider(&moto.endpoint(), config());
    assert_eq!(cached.zones().await.unwrap().len(), 105);
    assert_eq!(cached.stats().list_hosted_zones, 2, "100 zones per page");
    cached.zones().await.unwrap();
    assert_eq!(
        cached.stats().list_hosted_zones,
        2,
        "second call served from the cache"
    );

    let uncached = provider(
        &moto.endpoint(),
        Route53Config {
            zones_cache_duration: Duration::ZERO,
            ..config()
        },
    );
    uncached.zones().await.unwrap();
    uncached.zones().await.unwrap();
    assert_eq!(uncached.stats().list_hosted_zones, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_written_are_read_back_identically_and_foreign_data_is_listed() {
    let moto = Moto::start();
    let zone_id = moto.create_zone("example.com.", ZoneSpec::public()).await;
    moto.change(
        &zone_id,
        vec![
            (
                ChangeAction::Create,
                record_set("example.com.", RrType::Mx, 3600, &["10 mail.example.com."]),
            ),
            (
                ChangeAction::Create,
                record_set("foreign.example.com.", RrType::A, 60, &["198.51.100.7"]),
            ),
        ],
    )
    .await;
    let writer = provider(&moto.endpoint(), config());
    let zone = zone_named(&writer, &zone_id).await;

    let long_text = format!("v=long {}", "x".repeat(400));
    let desired = writer
        .adjust_desired(vec![
            endpoint("a.example.com", RecordType::A, &["192.0.2.2", "192.0.2.1"]),
            endpoint("aaaa.example.com", RecordType::Aaaa, &["2001:db8::1"]),
            endpoint(
                "cname.example.com",
                RecordType::Cname,
                &["target.example.net"],
            ),
            endpoint("*.apps.example.com", RecordType::A, &["192.0.2.3"]),
            endpoint(
                "lb.example.com",
                RecordType::Cname,
                &["my-lb-1.eu-west-1.elb.amazonaws.com"],
            ),
            endpoint("w.example.com", RecordType::A, &["192.0.2.4"])
                .with_set_identifier("blue")
                .with_property("aws/weight", "20"),
            endpoint("text.example.com", RecordType::Txt, &[long_text.as_str()]),
        ])
        .await
        .unwrap();
    assert_eq!(
        desired.len(),
        8,
        "the load balancer CNAME became A and AAAA aliases"
    );
    let groups: Vec<ChangeGroup<'static>> = desired.iter().cloned().map(create_group).collect();
    let report = writer.apply(&zone, &groups).await.unwrap();
    assert!(report.rejected.is_empty(), "{report:?}");
    assert_eq!(
        writer.stats().change_resource_record_sets,
        1,
        "everything fits one request"
    );

    // A fresh provider (no cache) reads back exactly what was desired, markers included.
    let reader = provider(&moto.endpoint(), config());
    let read = reader.records(&zone).await.unwrap();
    let marker_as_stored = |record: &Endpoint| {
        let mut stored = marker(record);
        for key in zonesync_route53::record_set::ALIAS_PROPERTIES {
            stored.properties.remove(key);
        }
        stored
    };
    for wanted in desired
        .iter()
        .flat_map(|d| [d.clone(), marker_as_stored(d)])
    {
        let found = read.iter().find(|r| r.key() == wanted.key());
        let mut wanted_without_labels = wanted.clone();
        wanted_without_labels.labels.clear();
        assert_eq!(found, Some(&wanted_without_labels), "{}", wanted.key());
    }
    let types_at_apex: Vec<&str> = read
        .iter()
        .filter(|r| r.name.as_str() == "example.com")
        .map(|r| r.record_type.as_str())
        .collect();
    assert!(
        types_at_apex.contains(&"SOA")
            && types_at_apex.contains(&"NS")
            && types_at_apex.contains(&"MX")
    );
    assert!(
        read.iter()
            .any(|r| r.name.as_str() == "foreign.example.com")
    );

    // Independent view: what moto stores, in Route53's wire format.
    let raw = moto.records(&zone_id).await;
    let value_of = |n: &str, t: &str| {
        raw.iter()
            .find(|(rn, rt, _)| rn == n && rt == t)
            .map(|(_, _, v)| v.clone())
            .unwrap_or_else(|| panic!("{n} {t} missing in {raw:?}"))
    };
    assert_eq!(
        value_of("a-a.example.com", "TXT"),
        [
            "\"heritage=external-dns,external-dns/owner=default,external-dns/resource=ingress/default/a\""
        ]
    );
    let text = &value_of("text.example.com", "TXT")[0];
    assert_eq!(
        text.matches("\" \"").count(),
        1,
        "407 bytes are two strings: {text}"
    );
    assert_eq!(
        value_of("lb.example.com", "A"),
        ["ALIAS my-lb-1.eu-west-1.elb.amazonaws.com Z32O12XQLNTSW2 true"]
    );
    assert_eq!(value_of("*.apps.example.com", "A"), ["192.0.2.3"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
/// The provider keeps no copy of a zone: deletions and updates are built from the records as
/// zonesync read them, and every listing reads Route53.
async fn updates_and_deletes_work_from_the_records_as_read() {
    let moto = Moto::start();
    let zone_id = moto.create_zone("example.com.", ZoneSpec::public()).await;
    let provider = provider(&moto.endpoint(), config());
    let zone = zone_named(&provider, &zone_id).await;
    assert_eq!(
        provider.records(&zone).await.unwrap().len(),
        2,
        "SOA and NS"
    );
    assert_eq!(provider.stats().list_resource_record_sets, 1);

    let www = endpoint("www.example.com", RecordType::A, &["192.0.2.1"]);
    let api = endpoint("api.example.com", RecordType::Cname, &["old.example.net"]);
    let gone = endpoint("gone.example.com", RecordType::Aaaa, &["2001:db8::9"]);
    let groups: Vec<ChangeGroup<'static>> = [&www, &api, &gone]
        .into_iter()
        .cloned()
        .map(create_group)
        .collect();
    provider.apply(&zone, &groups).await.unwrap();

    // Update targets (UPSERT), change identity (CNAME -> A: DELETE + CREATE), delete.
    let www_new = endpoint("www.example.com", RecordType::A, &["192.0.2.2"]).with_ttl(60);
    let api_new = endpoint("api.example.com", RecordType::A, &["192.0.2.9"]);
    let second = vec![
        leak_group(
            www.key(),
            vec![Change::Update {
                old: www.clone(),
                new: www_new.clone(),
            }],
        ),
        leak_group(
            api_new.key(),
            vec![
                Change::Delete {
                    old: api.clone(),
                    reason: zonesync_core::DeleteReason::NoLongerDesired,
                },
                Change::Create {
                    record: api_new.clone(),
                },
                Change::Delete {
                    old: marker(&api),
                    reason: zonesync_core::DeleteReason::OrphanMarker,
                },
                Change::Create {
                    record: marker(&api_new),
                },
            ],
        ),
        leak_group(
            gone.key(),
            vec![
                Change::Delete {
                    old: gone.clone(),
                    reason: zonesync_core::DeleteReason::NoLongerDesired,
                },
                Change::Delete {
                    old: marker(&gone),
                    reason: zonesync_core::DeleteReason::OrphanMarker,
                },
            ],
        ),
    ];
    let report = provider.apply(&zone, &second).await.unwrap();
    assert!(report.rejected.is_empty(), "{report:?}");

    let listed = sorted(provider.records(&zone).await.unwrap());
    assert_eq!(
        provider.stats().list_resource_record_sets,
        2,
        "a listing always reads Route53"
    );
    let fresh = sorted(
        self::provider(&moto.endpoint(), config())
            .records(&zone)
            .await
            .unwrap(),
    );
    assert_eq!(listed, fresh);
    assert!(fresh.iter().any(|r| r == &www_new));
    assert!(fresh.iter().any(|r| r == &api_new));
    assert!(!fresh.iter().any(|r| r.name.as_str() == "gone.example.com"));
    assert!(!fresh.iter().any(|r| r.record_type == RecordType::Cname));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listing_follows_pages_of_300() {
    let moto = Moto::start();
    let zone_id = moto.create_zone("example.com.", ZoneSpec::public()).await;
    for chunk in (0..700).collect::<Vec<_>>().chunks(350) {
        let changes = chunk
            .iter()
            .map(|i| {
                (
                    ChangeAction::Create,
                    record_set(
                        &format!("host{i:04}.example.com."),
                        RrType::A,
                        300,
                        &["192.0.2.1"],
                    ),
                )
            })
            .collect();
        moto.change(&zone_id, changes).await;
    }
    let provider = provider(&moto.endpoint(), config());
    let zone = zone_named(&provider, &zone_id).await;
    let records = provider.records(&zone).await.unwrap();
    assert_eq!(records.len(), 702, "700 A records, SOA and NS");
    assert_eq!(
        provider.stats().list_resource_record_sets,
        3,
        "pages of 300"
    );
    for i in [0, 299, 300, 599, 699] {
        let host = format!("host{i:04}.example.com");
        assert!(
            records.iter().any(|r| r.name.as_str() == host),
            "{host} missing"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_groups_take_the_minimum_number_of_requests_each_within_both_limits() {
    let moto = Moto::start();
    let proxy = FaultProxy::start(&moto.endpoint());
    let zone_id = moto
        .create_zone("bulk.example.com.", ZoneSpec::public())
        .await;
    let provider = provider(&proxy.url(), config());
    let zone = zone_named(&provider, &zone_id).await;
    let groups: Vec<ChangeGroup<'static>> = (0..2500)
        .map(|i| {
            create_group(endpoint(
                &format!("host-{i}.bulk.example.com"),
                RecordType::A,
                &[&format!("10.{}.{}.{}", i % 7, i / 256 % 256, i % 256)],
            ))
        })
        .collect();
    let report = provider.apply(&zone, &groups).await.unwrap();
    assert!(report.rejected.is_empty(), "{report:?}");

    let batches: Vec<_> = proxy
        .requests()
        .into_iter()
        .filter(|r| r.action == "ChangeResourceRecordSets")
        .map(|r| r.batch_cost())
        .collect();
    let records: usize = batches.iter().map(|b| b.records).sum();
    let characters: usize = batches.iter().map(|b| b.characters).sum();
    assert_eq!(records, 5000);
    let minimum = records.div_ceil(1000).max(characters.div_ceil(32_000));
    assert!(
        characters.div_ceil(32_000) > records.div_ceil(1000),
        "the character limit binds"
    );
    assert_eq!(
        batches.len(),
        minimum,
        "{characters} characters in {batches:?}"
    );
    for batch in &batches {
        assert!(
            batch.records <= 1000 && batch.characters <= 32_000,
            "{batch:?}"
        );
    }
    let stats = provider.stats();
    assert_eq!(stats.change_resource_record_sets as usize, minimum);
    assert!(stats.largest_batch_characters <= 32_000);
    assert_eq!(moto.record_sets(&zone_id).await.len(), 5002);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_record_is_isolated_and_the_others_applied() {
    let moto = Moto::start();
    let proxy = FaultProxy::start(&moto.endpoint());
    let zone_id = moto.create_zone("example.com.", ZoneSpec::public()).await;
    proxy.reject_record("bad-17.example.com");
    let provider = provider(&proxy.url(), config());
    let zone = zone_named(&provider, &zone_id).await;
    let groups: Vec<ChangeGroup<'static>> = (0..40)
        .map(|i| {
            create_group(endpoint(
                &format!("bad-{i}.example.com"),
                RecordType::A,
                &["192.0.2.1"],
            ))
        })
        .collect();
    let report = provider.apply(&zone, &groups).await.unwrap();
    assert_eq!(report.rejected.len(), 1, "{report:?}");
    assert_eq!(
        report.rejected[0].subject.name.as_str(),
        "bad-17.example.com"
    );
    assert!(
        report.rejected[0]
            .message
            .contains("refused by the fault proxy"),
        "{report:?}"
    );
    let names: Vec<String> = moto
        .records(&zone_id)
        .await
        .into_iter()
        .map(|(n, _, _)| n)
        .collect();
    assert_eq!(names.iter().filter(|n| n.starts_with("bad-")).count(), 39);
    assert_eq!(
        names.iter().filter(|n| n.starts_with("a-bad-")).count(),
        39,
        "markers too"
    );
    assert!(
        !names.iter().any(|n| n.contains("bad-17.")),
        "neither record nor marker of the rejected group"
    );
    let stats = provider.stats();
    // One whole batch, then halving down to one group: at most 2 × ⌈log2 40⌉ + 1 requests.
    assert!(stats.change_resource_record_sets <= 13, "{stats:?}");
    assert_eq!(stats.rejected_groups, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_and_server_errors_are_retried_a_bounded_number_of_times() {
    let moto = Moto::start();
    let proxy = FaultProxy::start(&moto.endpoint());
    let zone_id = moto.create_zone("example.com.", ZoneSpec::public()).await;
    let provider = provider(&proxy.url(), config());
    let zone = zone_named(&provider, &zone_id).await;

    proxy.throttle_next("ListResourceRecordSets", 2);
    proxy.fail_next("ChangeResourceRecordSets", 1);
    proxy.throttle_next("ChangeResourceRecordSets", 1);
    proxy.add_rule(FaultRule {
        action: Some("ChangeResourceRecordSets"),
        body_contains: None,
        fault: Fault::PriorRequestNotComplete,
        remaining: 1,
    });
    provider.records(&zone).await.unwrap();
    let group = create_group(endpoint("www.example.com", RecordType::A, &["192.0.2.1"]));
    let report = provider
        .apply(&zone, std::slice::from_ref(&group))
        .await
        .unwrap();
    assert!(report.rejected.is_empty());
    let stats = provider.stats();
    assert_eq!(stats.retries, 5, "{stats:?}");
    assert_eq!(stats.throttled, 4, "{stats:?}");
    assert_eq!(stats.list_resource_record_sets, 3);
    assert_eq!(stats.change_resource_record_sets, 4);
    assert_eq!(moto.records(&zone_id).await.len(), 4);

    // Throttled for good: the request is tried 1 + max_retries times, then the apply fails
    // as a transient error, and nothing crashes.
    proxy.throttle_next("ChangeResourceRecordSets", usize::MAX);
    let other = create_group(endpoint("api.example.com", RecordType::A, &["192.0.2.2"]));
    let error = provider.apply(&zone, &[other]).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Transient, "{error}");
    assert!(error.to_string().contains("Throttling"), "{error}");
    assert_eq!(provider.stats().change_resource_record_sets, 4 + 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_request_stops_the_rest_and_names_the_unsent_groups() {
    let moto = Moto::start();
    let proxy = FaultProxy::start(&moto.endpoint());
    let zone_id = moto.create_zone("example.com.", ZoneSpec::public()).await;
    let tiny = Route53Config {
        batch_limits: BatchLimits {
            max_records: 4,
            max_characters: 32_000,
        },
        ..config()
    };
    let provider = provider(&proxy.url(), tiny);
    let zone = zone_named(&provider, &zone_id).await;
    let groups: Vec<ChangeGroup<'static>> = (0..6)
        .map(|i| {
            create_group(endpoint(
                &format!("h{i}.example.com"),
                RecordType::A,
                &["192.0.2.1"],
            ))
        })
        .collect();
    // Four records per request: [h0, h1], [h2, h3], [h4, h5]. The second request fails on
    // every attempt; the third is never sent.
    proxy.add_rule(FaultRule {
        action: Some("ChangeResourceRecordSets"),
        body_contains: Some("h3.example.com".to_string()),
        fault: Fault::ServerError,
        remaining: usize::MAX,
    });
    let report = provider.apply(&zone, &groups).await;
    let report = report.unwrap();
    let mut rejected: Vec<&str> = report
        .rejected
        .iter()
        .map(|r| r.subject.name.as_str())
        .collect();
    rejected.sort_unstable();
    assert_eq!(
        rejected,
        [
            "h2.example.com",
            "h3.example.com",
            "h4.example.com",
            "h5.example.com"
        ]
    );
    assert!(
        report
            .rejected
            .iter()
            .all(|r| r.message.starts_with("not applied:")),
        "{report:?}"
    );
    assert_eq!(
        moto.records(&zone_id).await.len(),
        2 + 4,
        "two groups of record + marker"
    );
    let stats = provider.stats();
    assert_eq!(
        stats.change_resource_record_sets,
        1 + 4,
        "one success, one request tried 4 times, none after"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_calls_share_one_rate_limit() {
    let moto = Moto::start();
    moto.create_zone("example.com.", ZoneSpec::public()).await;
    let limited = provider(
        &moto.endpoint(),
        Route53Config {
            zones_cache_duration: Duration::ZERO,
            rate_limit: RateLimit {
                requests_per_second: 10.0,
                burst: 2,
            },
            ..config()
        },
    );
    let started = Instant::now();
    for _ in 0..7 {
        limited.zones().await.unwrap();
    }
    // Two requests from the burst, five more at 10 per second.
    assert!(
        started.elapsed() >= Duration::from_millis(480),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(limited.stats().list_hosted_zones, 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_that_cannot_be_expressed_are_rejected_before_sending() {
    let moto = Moto::start();
    let zone_id = moto.create_zone("example.com.", ZoneSpec::public()).await;
    let provider = provider(&moto.endpoint(), config());
    let zone = zone_named(&provider, &zone_id).await;
    let bad = endpoint("w.example.com", RecordType::A, &["192.0.2.1"])
        .with_set_identifier("x")
        .with_property("aws/weight", "heavy");
    let good = endpoint("ok.example.com", RecordType::A, &["192.0.2.1"]);
    let report = provider
        .apply(&zone, &[create_group(bad), create_group(good)])
        .await
        .unwrap();
    assert_eq!(report.rejected.len(), 1);
    assert!(
        report.rejected[0].message.contains("aws/weight"),
        "{report:?}"
    );
    assert_eq!(provider.stats().change_resource_record_sets, 1);
    assert!(
        moto.records(&zone_id)
            .await
            .iter()
            .any(|(n, _, _)| n == "ok.example.com")
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
