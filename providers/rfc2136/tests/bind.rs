//! The RFC2136 provider against real servers: BIND 9 (and Knot for the basics), checked with an
//! independent `dig` transfer.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use zonesync_core::{
    Change, ChangeGroup, DeleteReason, DnsName, Endpoint, ErrorKind, Provider, RecordType, Zone,
};
use zonesync_rfc2136::{Rfc2136Args, Rfc2136Config, Rfc2136Provider};
use zonesync_test_support::dns::{Bind, DnsServer, Knot, TsigKey, ZoneRecord, find_records};

const MARKER: &str =
    "heritage=external-dns,external-dns/owner=default,external-dns/resource=ingress/default/web";

fn args_for(port: u16, key: &TsigKey, zones: &[&str]) -> Rfc2136Args {
    Rfc2136Args {
        rfc2136_host: vec!["127.0.0.1".into()],
        rfc2136_port: Some(port),
        rfc2136_zone: zones.iter().map(|z| z.to_string()).collect(),
        rfc2136_tsig_keyname: Some(key.name.clone()),
        rfc2136_tsig_secret: Some(key.secret.clone()),
        rfc2136_tsig_secret_alg: Some(key.algorithm.clone()),
        ..Rfc2136Args::default()
    }
}

fn fast(config: Rfc2136Config) -> Rfc2136Config {
    config.with_attempts(1).with_timeout(Duration::from_secs(5))
}

async fn provider_for(server: &impl DnsServer, zones: &[&str]) -> Rfc2136Provider {
    let config = args_for(server.port(), server.key(), zones)
        .validate()
        .unwrap();
    Rfc2136Provider::new(fast(config)).await.unwrap()
}

fn name(s: &str) -> DnsName {
    DnsName::parse(s).unwrap()
}

fn zone(s: &str) -> Zone {
    Zone::new(name(s))
}

fn endpoint(n: &str, record_type: RecordType, targets: &[&str]) -> Endpoint {
    Endpoint::new(name(n), record_type, targets)
}

fn marker_name(record_type: &RecordType, n: &str) -> String {
    format!("{}-{n}", record_type.as_str().to_ascii_lowercase())
}

/// A record and its ownership marker created together, as the planner groups them.
fn create(record: Endpoint) -> ChangeGroup<'static> {
    let marker = Endpoint::new(
        name(&marker_name(&record.record_type, record.name.as_str())),
        RecordType::Txt,
        [MARKER],
    );
    leak_group(
        record.key(),
        vec![Change::Create { record }, Change::Create { record: marker }],
    )
}

fn update(old: Endpoint, new: Endpoint) -> ChangeGroup<'static> {
    leak_group(new.key(), vec![Change::Update { old, new }])
}

fn delete(old: Endpoint) -> ChangeGroup<'static> {
    let marker = Endpoint::new(
        name(&marker_name(&old.record_type, old.name.as_str())),
        RecordType::Txt,
        [MARKER],
    );
    leak_group(
        old.key(),
        vec![
            Change::Delete {
                old,
                reason: DeleteReason::NoLongerDesired,
            },
            Change::Delete {
                old: marker,
                reason: DeleteReason::OrphanMarker,
            },
        ],
    )
}

fn data(records: &[ZoneRecord], n: &str, record_type: &str) -> Vec<String> {
    let mut values: Vec<String> = find_records(records, n, record_type)
        .into_iter()
        .map(ZoneRecord::text)
        .collect();
    values.sort();
    values
}

fn listed<'e>(endpoints: &'e [Endpoint], n: &str, record_type: RecordType) -> Option<&'e Endpoint> {
    endpoints
        .iter()
        .find(|e| e.name.as_str() == n && e.record_type == record_type)
}

#[tokio::test]
async fn creates_updates_and_deletes_records_of_every_managed_type() {
    let bind = Bind::start(&["example.org"]);
    let provider = provider_for(&bind, &["example.org"]).await;
    let z = zone("example.org");
    let long_text: String = (0..600)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();

    let www = endpoint(
        "www.example.org",
        RecordType::A,
        &["192.0.2.1", "192.0.2.2"],
    )
    .with_ttl(120);
    let v6 = endpoint("v6.example.org", RecordType::Aaaa, &["2001:db8::1"]);
    let alias = endpoint("alias.example.org", RecordType::Cname, &["lb.example.net"]);
    let text = endpoint("text.example.org", RecordType::Txt, &[&long_text]);
    let report = provider
        .apply(
            &z,
            &[
                create(www.clone()),
                create(v6.clone()),
                create(alias.clone()),
                create(text.clone()),
            ],
        )
        .await
        .unwrap();
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    assert_eq!(
        provider.stats().update_messages,
        1,
        "one UPDATE for the whole apply"
    );

    let records = bind.axfr("example.org").unwrap();
    assert_eq!(
        data(&records, "www.example.org", "A"),
        ["192.0.2.1", "192.0.2.2"]
    );
    assert!(
        find_records(&records, "www.example.org", "A")
            .iter()
            .all(|r| r.ttl == 120)
    );
    assert!(
        find_records(&records, "v6.example.org", "AAAA")
            .iter()
            .all(|r| r.ttl == 300),
        "unset TTL is written as 300"
    );
    assert_eq!(data(&records, "v6.example.org", "AAAA"), ["2001:db8::1"]);
    assert_eq!(
        data(&records, "alias.example.org", "CNAME"),
        ["lb.example.net."]
    );
    let stored = find_records(&records, "text.example.org", "TXT");
    assert_eq!(stored.len(), 1);
    assert_eq!(
        stored[0].txt_strings(),
        3,
        "600 bytes need three character-strings"
    );
    assert_eq!(stored[0].text(), long_text);
    assert_eq!(data(&records, "a-www.example.org", "TXT"), [MARKER]);
    assert_eq!(data(&records, "cname-alias.example.org", "TXT"), [MARKER]);

    // The provider reads back what dig sees, TXT strings joined.
    let listed_now = provider.records(&z).await.unwrap();
    assert_eq!(
        listed(&listed_now, "text.example.org", RecordType::Txt)
            .unwrap()
            .targets
            .as_slice(),
        std::slice::from_ref(&long_text)
    );
    assert_eq!(
        listed(&listed_now, "www.example.org", RecordType::A)
            .unwrap()
            .ttl,
        Some(120)
    );

    // Update: exactly the old records go, the new ones come.
    let www_new = endpoint(
        "www.example.org",
        RecordType::A,
        &["192.0.2.2", "192.0.2.3"],
    )
    .with_ttl(60);
    let report = provider
        .apply(&z, &[update(www.clone(), www_new), delete(alias.clone())])
        .await
        .unwrap();
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    let records = bind.axfr("example.org").unwrap();
    assert_eq!(
        data(&records, "www.example.org", "A"),
        ["192.0.2.2", "192.0.2.3"]
    );
    assert!(
        find_records(&records, "www.example.org", "A")
            .iter()
            .all(|r| r.ttl == 60)
    );
    assert!(find_records(&records, "alias.example.org", "CNAME").is_empty());
    assert!(find_records(&records, "cname-alias.example.org", "TXT").is_empty());
    assert_eq!(
        data(&records, "a-www.example.org", "TXT"),
        [MARKER],
        "untouched marker stays"
    );
}

#[tokio::test]
async fn cname_and_address_swap_places_in_one_message() {
    let bind = Bind::start(&["example.org"]);
    let provider = provider_for(&bind, &["example.org"]).await;
    let z = zone("example.org");
    let cname = endpoint("app.example.org", RecordType::Cname, &["lb.example.net"]);
    let address = endpoint("app.example.org", RecordType::A, &["192.0.2.10"]);
    provider.apply(&z, &[create(cname.clone())]).await.unwrap();

    let swap = |old: &Endpoint, new: &Endpoint| {
        leak_group(
            new.key(),
            vec![
                Change::Delete {
                    old: old.clone(),
                    reason: DeleteReason::ReplacedByType {
                        record_type: new.record_type.clone(),
                    },
                },
                Change::Create {
                    record: new.clone(),
                },
            ],
        )
    };
    let before = provider.stats().update_messages;
    let report = provider.apply(&z, &[swap(&cname, &address)]).await.unwrap();
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    assert_eq!(provider.stats().update_messages, before + 1);
    let records = bind.axfr("example.org").unwrap();
    assert!(find_records(&records, "app.example.org", "CNAME").is_empty());
    assert_eq!(data(&records, "app.example.org", "A"), ["192.0.2.10"]);

    let report = provider.apply(&z, &[swap(&address, &cname)]).await.unwrap();
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    let records = bind.axfr("example.org").unwrap();
    assert!(find_records(&records, "app.example.org", "A").is_empty());
    assert_eq!(
        data(&records, "app.example.org", "CNAME"),
        ["lb.example.net."]
    );
}

#[tokio::test]
async fn foreign_records_of_every_type_are_listed_and_left_alone() {
    let bind = Bind::builder()
        .zone_with_records(
            "example.org",
            &[
                "@ IN MX 10 mail",
                "mail IN A 192.0.2.25",
                "_sip._tcp IN SRV 10 20 5060 sip.example.net.",
                "@ IN CAA 0 issue \"letsencrypt.org\"",
                "@ IN TXT \"v=spf1 -all\"",
                "sub IN NS ns.elsewhere.net.",
            ],
        )
        .start();
    let provider = provider_for(&bind, &["example.org"]).await;
    let z = zone("example.org");
    let endpoints = provider.records(&z).await.unwrap();
    let target = |n: &str, t: RecordType| {
        listed(&endpoints, n, t)
            .unwrap_or_else(|| panic!("{n} not listed: {endpoints:?}"))
            .targets
            .as_slice()
            .to_vec()
    };
    assert_eq!(
        target("example.org", RecordType::Mx),
        ["10 mail.example.org"]
    );
    assert_eq!(
        target("_sip._tcp.example.org", RecordType::Srv),
        ["10 20 5060 sip.example.net"]
    );
    assert_eq!(
        target("example.org", RecordType::Caa),
        ["0 issue \"letsencrypt.org\""]
    );
    assert_eq!(target("example.org", RecordType::Txt), ["v=spf1 -all"]);
    assert_eq!(
        target("sub.example.org", RecordType::Ns),
        ["ns.elsewhere.net"]
    );
    assert!(listed(&endpoints, "example.org", RecordType::Soa).is_some());
    assert!(listed(&endpoints, "example.org", RecordType::Ns).is_some());

    let before = bind.axfr("example.org").unwrap();
    let report = provider
        .apply(
            &z,
            &[create(endpoint(
                "web.example.org",
                RecordType::A,
                &["192.0.2.80"],
            ))],
        )
        .await
        .unwrap();
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    let after = bind.axfr("example.org").unwrap();
    for record in before.iter().filter(|r| r.record_type != "SOA") {
        assert!(after.contains(record), "{record:?} changed");
    }
}

#[tokio::test]
async fn one_soa_query_tells_an_unchanged_zone_and_our_own_writes_keep_it_so() {
    let bind = Bind::start(&["example.org"]);
    let provider = provider_for(&bind, &["example.org"]).await;
    let z = zone("example.org");

    assert!(
        !provider.unchanged_since_read(&z).await.unwrap(),
        "never listed: nothing to compare with"
    );
    provider.records(&z).await.unwrap();
    let first = provider.stats();
    assert_eq!(first.axfr, 1);
    assert!(provider.unchanged_since_read(&z).await.unwrap());
    let second = provider.stats();
    assert_eq!(second.axfr, 1, "the check is no transfer");
    assert_eq!(second.soa_queries, first.soa_queries + 1, "one SOA query");

    // Our own write moves the remembered serial along, without a SOA query before it.
    let report = provider
        .apply(
            &z,
            &[create(endpoint(
                "ours.example.org",
                RecordType::A,
                &["192.0.2.7"],
            ))],
        )
        .await
        .unwrap();
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    let after_apply = provider.stats();
    assert_eq!(
        after_apply.soa_queries,
        second.soa_queries + 1,
        "only the read-back's SOA query"
    );
    assert!(provider.unchanged_since_read(&z).await.unwrap());
    assert_eq!(provider.stats().axfr, 1, "no transfer after our own write");

    // Someone else's write changes the serial: the zone is reported changed and a listing
    // sees the write.
    bind.nsupdate(
        "example.org",
        &["update add theirs.example.org. 300 A 192.0.2.8"],
    )
    .unwrap();
    assert!(!provider.unchanged_since_read(&z).await.unwrap());
    let endpoints = provider.records(&z).await.unwrap();
    assert_eq!(provider.stats().axfr, 2);
    assert!(listed(&endpoints, "theirs.example.org", RecordType::A).is_some());
    assert!(listed(&endpoints, "ours.example.org", RecordType::A).is_some());
    assert!(listed(&endpoints, "a-ours.example.org", RecordType::Txt).is_some());

    // A write by someone else between our listing and our own write: the serial after our
    // write is not ours alone, so the zone is no longer known unchanged.
    bind.nsupdate(
        "example.org",
        &["update add sneaky.example.org. 300 A 192.0.2.9"],
    )
    .unwrap();
    provider
        .apply(
            &z,
            &[create(endpoint(
                "more.example.org",
                RecordType::A,
                &["192.0.2.10"],
            ))],
        )
        .await
        .unwrap();
    assert!(!provider.unchanged_since_read(&z).await.unwrap());
}

#[tokio::test]
async fn read_back_reports_a_cname_the_server_silently_ignored() {
    let bind = Bind::builder()
        .zone_with_records("example.org", &["taken IN A 192.0.2.99"])
        .start();
    let provider = provider_for(&bind, &["example.org"]).await;
    let z = zone("example.org");
    provider.records(&z).await.unwrap();
    let cname = endpoint("taken.example.org", RecordType::Cname, &["lb.example.net"]);
    let fine = endpoint("fine.example.org", RecordType::A, &["192.0.2.1"]);
    let report = provider
        .apply(&z, &[create(cname.clone()), create(fine)])
        .await
        .unwrap();
    assert_eq!(report.rejected.len(), 1, "{:?}", report.rejected);
    assert_eq!(report.rejected[0].subject, cname.key());
    let message = &report.rejected[0].message;
    assert!(message.contains("answered NOERROR"), "{message}");
    assert!(
        message.contains("taken.example.org CNAME lb.example.net is missing"),
        "{message}"
    );
    let records = bind.axfr("example.org").unwrap();
    assert_eq!(data(&records, "taken.example.org", "A"), ["192.0.2.99"]);
    assert_eq!(data(&records, "fine.example.org", "A"), ["192.0.2.1"]);
}

#[tokio::test]
async fn a_wrong_secret_is_reported_as_a_tsig_authentication_failure() {
    let bind = Bind::start(&["example.org"]);
    let wrong = bind.key().with_other_secret();
    let config = args_for(bind.port(), &wrong, &["example.org"])
        .validate()
        .unwrap();
    let provider = Rfc2136Provider::new(fast(config)).await.unwrap();
    let z = zone("example.org");

    let error = provider.records(&z).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Auth, "{error}");
    let text = error.to_string();
    assert!(text.contains("TSIG authentication failed"), "{text}");
    assert!(text.contains("BADSIG"), "{text}");
    assert!(
        text.contains(&format!("127.0.0.1:{}", bind.port())),
        "{text}"
    );
    assert!(text.contains("example.org"), "{text}");
    assert!(
        !text.contains(&wrong.secret) && !text.contains(&bind.key().secret),
        "{text}"
    );
    assert!(!text.contains("truncated"), "{text}");

    let error = provider
        .apply(
            &z,
            &[create(endpoint(
                "www.example.org",
                RecordType::A,
                &["192.0.2.1"],
            ))],
        )
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Auth, "{error}");
    assert!(error.to_string().contains("BADSIG"), "{error}");
    assert!(
        find_records(&bind.axfr("example.org").unwrap(), "www.example.org", "A").is_empty(),
        "nothing written"
    );
}

#[tokio::test]
async fn an_unknown_key_and_a_key_without_rights_are_refused_clearly() {
    let other = TsigKey::generate("other-key", "hmac-sha256");
    let bind = Bind::builder()
        .zone("example.org")
        .known_key(other.clone())
        .start();
    let z = zone("example.org");

    let unknown = TsigKey::generate("nobody-knows-me", "hmac-sha256");
    let config = args_for(bind.port(), &unknown, &["example.org"])
        .validate()
        .unwrap();
    let provider = Rfc2136Provider::new(fast(config)).await.unwrap();
    let error = provider.records(&z).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Auth);
    assert!(error.to_string().contains("BADKEY"), "{error}");
    assert!(error.to_string().contains("does not know key"), "{error}");

    // Known to the server, but neither allow-update nor allow-transfer lists it.
    let config = args_for(bind.port(), &other, &["example.org"])
        .validate()
        .unwrap();
    let provider = Rfc2136Provider::new(fast(config)).await.unwrap();
    let error = provider.records(&z).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Auth, "{error}");
    assert!(error.to_string().contains("REFUSED"), "{error}");
    assert!(error.to_string().contains("zone transfer"), "{error}");
    let error = provider
        .apply(
            &z,
            &[create(endpoint(
                "www.example.org",
                RecordType::A,
                &["192.0.2.1"],
            ))],
        )
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Auth, "{error}");
    assert!(error.to_string().contains("REFUSED"), "{error}");
    assert!(
        error.to_string().contains("key or policy problem"),
        "{error}"
    );
}

#[tokio::test]
async fn an_unserved_zone_and_a_name_in_an_unlisted_subzone_are_configuration_errors() {
    let bind = Bind::start(&["example.org", "dev.example.org"]);
    let provider = provider_for(&bind, &["example.org", "example.com"]).await;

    let error = provider.records(&zone("example.com")).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Config, "{error}");
    assert!(error.to_string().contains("example.com"), "{error}");
    assert!(error.to_string().contains("does not serve it"), "{error}");
    let error = provider
        .apply(
            &zone("example.com"),
            &[create(endpoint(
                "www.example.com",
                RecordType::A,
                &["192.0.2.1"],
            ))],
        )
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Config, "{error}");
    assert!(error.to_string().contains("NOTAUTH"), "{error}");

    // dev.example.org is its own zone on the server, but not in --rfc2136-zone: BIND writes the
    // record into example.org, where nobody sees it; the read-back notices.
    let z = zone("example.org");
    let report = provider
        .apply(
            &z,
            &[
                create(endpoint(
                    "api.dev.example.org",
                    RecordType::A,
                    &["192.0.2.1"],
                )),
                create(endpoint("www.example.org", RecordType::A, &["192.0.2.2"])),
            ],
        )
        .await
        .unwrap();
    assert_eq!(report.rejected.len(), 1, "{:?}", report.rejected);
    assert!(
        report.rejected[0]
            .message
            .contains("answers for api.dev.example.org from its zone dev.example.org: add --rfc2136-zone dev.example.org"),
        "{:?}",
        report.rejected
    );
    let records = bind.axfr("example.org").unwrap();
    assert_eq!(data(&records, "www.example.org", "A"), ["192.0.2.2"]);

    // A name outside every configured zone never reaches the server.
    let report = provider
        .apply(
            &z,
            &[create(endpoint(
                "www.example.net",
                RecordType::A,
                &["192.0.2.3"],
            ))],
        )
        .await
        .unwrap();
    assert!(
        report.rejected[0]
            .message
            .contains("no --rfc2136-zone contains www.example.net")
    );
    let error = provider.records(&zone("example.net")).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Config);
}

#[tokio::test]
async fn a_server_that_is_down_gives_a_transient_error_and_the_next_host_is_tried() {
    let mut bind = Bind::start(&["example.org"]);
    let port = bind.port();
    let z = zone("example.org");
    let provider = provider_for(&bind, &["example.org"]).await;
    provider.records(&z).await.unwrap();
    bind.stop();

    let error = provider.records(&z).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Transient, "{error}");
    assert!(error.to_string().contains("cannot reach"), "{error}");
    assert!(
        error.to_string().contains(&format!("127.0.0.1:{port}")),
        "{error}"
    );
    let error = provider
        .apply(
            &z,
            &[create(endpoint(
                "www.example.org",
                RecordType::A,
                &["192.0.2.1"],
            ))],
        )
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Transient, "{error}");

    // Hosts are tried in order: a dead one first, then a live one.
    let live = Bind::start(&["example.org"]);
    let mut args = args_for(live.port(), live.key(), &["example.org"]);
    args.rfc2136_host = vec![
        format!("127.0.0.1:{port}"),
        format!("127.0.0.1:{}", live.port()),
    ];
    let provider = Rfc2136Provider::new(fast(args.validate().unwrap()))
        .await
        .unwrap();
    provider.records(&z).await.unwrap();
}

#[tokio::test]
async fn a_restarted_server_is_reconnected_to() {
    let mut bind = Bind::start(&["example.org"]);
    let provider = provider_for(&bind, &["example.org"]).await;
    let z = zone("example.org");
    provider.records(&z).await.unwrap();
    provider
        .apply(
            &z,
            &[create(endpoint(
                "www.example.org",
                RecordType::A,
                &["192.0.2.1"],
            ))],
        )
        .await
        .unwrap();
    bind.restart();
    // The old connection is dead; with a single attempt the provider must reconnect by itself.
    assert!(
        provider.unchanged_since_read(&z).await.unwrap(),
        "journal kept: same serial"
    );
    let endpoints = provider.records(&z).await.unwrap();
    assert!(listed(&endpoints, "www.example.org", RecordType::A).is_some());
}

#[tokio::test]
async fn an_rrset_over_the_server_limit_fails_alone() {
    let bind = Bind::builder()
        .zone("example.org")
        .option("max-records-per-type 100;")
        .start();
    let provider = provider_for(&bind, &["example.org"]).await;
    let z = zone("example.org");
    let many: Vec<String> = (0..101)
        .map(|i| format!("10.0.{}.{}", i / 250, i % 250 + 1))
        .collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    let big = endpoint("big.example.org", RecordType::A, &many);
    let groups: Vec<ChangeGroup<'static>> = (0..6)
        .map(|i| {
            create(endpoint(
                &format!("ok{i}.example.org"),
                RecordType::A,
                &["192.0.2.1"],
            ))
        })
        .chain([create(big.clone())])
        .collect();
    let report = provider.apply(&z, &groups).await.unwrap();
    assert_eq!(report.rejected.len(), 1, "{:?}", report.rejected);
    assert_eq!(report.rejected[0].subject, big.key());
    assert!(
        report.rejected[0].message.contains("SERVFAIL"),
        "{:?}",
        report.rejected
    );
    assert!(
        report.rejected[0].message.contains("max-records-per-type"),
        "{:?}",
        report.rejected
    );
    let records = bind.axfr("example.org").unwrap();
    for i in 0..6 {
        assert_eq!(
            data(&records, &format!("ok{i}.example.org"), "A"),
            ["192.0.2.1"]
        );
    }
    assert!(find_records(&records, "big.example.org", "A").is_empty());
}

#[tokio::test]
async fn large_applies_are_split_by_size_and_batch_size_without_splitting_groups() {
    let bind = Bind::start(&["example.org"]);
    let z = zone("example.org");
    let groups: Vec<ChangeGroup<'static>> = (0..1200)
        .map(|i| {
            create(endpoint(
                &format!("host-{i}.example.org"),
                RecordType::A,
                &["10.1.2.3"],
            ))
        })
        .collect();
    let provider = provider_for(&bind, &["example.org"]).await;
    let report = provider.apply(&z, &groups).await.unwrap();
    assert!(report.rejected.is_empty(), "{:?}", report.rejected.first());
    let stats = provider.stats();
    assert!((2..=6).contains(&stats.update_messages), "{stats:?}");
    assert!(stats.update_bytes > 150_000, "{stats:?}");
    let records = bind.axfr("example.org").unwrap();
    assert_eq!(
        records.iter().filter(|r| r.record_type == "A").count(),
        1201
    );
    assert_eq!(
        records
            .iter()
            .filter(|r| r.name.starts_with("a-host-"))
            .count(),
        1200
    );

    let config = args_for(bind.port(), bind.key(), &["example.org"])
        .validate()
        .unwrap()
        .with_batch_change_size(10);
    let provider = Rfc2136Provider::new(fast(config)).await.unwrap();
    let groups: Vec<ChangeGroup<'static>> = (0..25)
        .map(|i| {
            create(endpoint(
                &format!("small-{i}.example.org"),
                RecordType::A,
                &["10.1.2.4"],
            ))
        })
        .collect();
    provider.apply(&z, &groups).await.unwrap();
    assert_eq!(provider.stats().update_messages, 3);
}

/// Groups are prepared one message at a time: a group that cannot be encoded, one too large
/// for any message and one the server refuses, spread over many messages, are reported in that
/// order, and everything else lands with its marker.
#[tokio::test]
async fn a_large_apply_prepared_message_by_message_reports_each_failure_and_lands_the_rest() {
    let bind = Bind::builder()
        .zone("example.org")
        .option("max-records-per-type 100;")
        .start();
    let config = args_for(bind.port(), bind.key(), &["example.org"])
        .validate()
        .unwrap()
        .with_batch_change_size(50);
    let provider = Rfc2136Provider::new(fast(config)).await.unwrap();
    let z = zone("example.org");
    let addresses = |count: usize| -> Vec<String> {
        (0..count)
            .map(|i| format!("10.{}.{}.{}", i / 62_500, i / 250 % 250, i % 250 + 1))
            .collect()
    };
    let refused_targets = addresses(101);
    let refused_targets: Vec<&str> = refused_targets.iter().map(String::as_str).collect();
    let refused = endpoint("refused.example.org", RecordType::A, &refused_targets);
    let oversized_targets = addresses(5_000);
    let oversized_targets: Vec<&str> = oversized_targets.iter().map(String::as_str).collect();
    let oversized = endpoint("oversized.example.org", RecordType::A, &oversized_targets);
    let unencodable = endpoint("bad.example.org", RecordType::A, &["not-an-address"]);
    let mut groups: Vec<ChangeGroup<'static>> = (0..500)
        .map(|i| {
            create(endpoint(
                &format!("host-{i}.example.org"),
                RecordType::A,
                &["192.0.2.7"],
            ))
        })
        .collect();
    groups.insert(420, create(refused.clone()));
    groups.insert(250, create(oversized.clone()));
    groups.insert(100, create(unencodable.clone()));

    let report = provider.apply(&z, &groups).await.unwrap();
    let subjects: Vec<_> = report.rejected.iter().map(|r| r.subject.clone()).collect();
    assert_eq!(
        subjects,
        [unencodable.key(), oversized.key(), refused.key()],
        "{:?}",
        report.rejected
    );
    assert!(report.rejected[0].message.contains("not-an-address"));
    assert!(report.rejected[1].message.contains("too large"));
    assert!(report.rejected[2].message.contains("SERVFAIL"));
    // 502 groups in messages of at most 50, plus the halves that isolated the refused one.
    assert!(
        provider.stats().update_messages >= 11,
        "{:?}",
        provider.stats()
    );

    let records = bind.axfr("example.org").unwrap();
    for i in 0..500 {
        let host = format!("host-{i}.example.org");
        assert_eq!(data(&records, &host, "A"), ["192.0.2.7"], "{host}");
        assert_eq!(
            data(&records, &format!("a-{host}"), "TXT"),
            [MARKER],
            "{host}"
        );
    }
    for absent in [
        "refused.example.org",
        "oversized.example.org",
        "bad.example.org",
    ] {
        assert!(find_records(&records, absent, "A").is_empty(), "{absent}");
        assert!(
            find_records(&records, &format!("a-{absent}"), "TXT").is_empty(),
            "{absent}"
        );
    }
}

#[tokio::test]
async fn every_tsig_algorithm_signs_updates_and_transfers() {
    for algorithm in ["hmac-sha1", "hmac-sha224", "hmac-sha384", "hmac-sha512"] {
        let bind = Bind::builder()
            .zone("example.org")
            .key(TsigKey::generate("alg-key", algorithm))
            .start();
        let provider = provider_for(&bind, &["example.org"]).await;
        let z = zone("example.org");
        let report = provider
            .apply(
                &z,
                &[create(endpoint(
                    "www.example.org",
                    RecordType::A,
                    &["192.0.2.1"],
                ))],
            )
            .await
            .unwrap();
        assert!(
            report.rejected.is_empty(),
            "{algorithm}: {:?}",
            report.rejected
        );
        let endpoints = provider.records(&z).await.unwrap();
        assert!(
            listed(&endpoints, "www.example.org", RecordType::A).is_some(),
            "{algorithm}"
        );
    }
}

#[tokio::test]
async fn unsigned_requests_are_refused_by_a_server_that_wants_a_key() {
    let bind = Bind::start(&["example.org"]);
    let args = Rfc2136Args {
        rfc2136_host: vec![format!("127.0.0.1:{}", bind.port())],
        rfc2136_zone: vec!["example.org".into()],
        rfc2136_insecure: true,
        ..Rfc2136Args::default()
    };
    let provider = Rfc2136Provider::new(fast(args.validate().unwrap()))
        .await
        .unwrap();
    let z = zone("example.org");
    let error = provider.records(&z).await.unwrap_err();
    assert!(error.to_string().contains("REFUSED"), "{error}");
    assert!(
        error.to_string().contains("unsigned zone transfers"),
        "{error}"
    );
    let error = provider
        .apply(
            &z,
            &[create(endpoint(
                "www.example.org",
                RecordType::A,
                &["192.0.2.1"],
            ))],
        )
        .await
        .unwrap_err();
    assert!(error.to_string().contains("unsigned updates"), "{error}");
}

#[tokio::test]
async fn knot_accepts_the_same_updates_and_ignores_a_cname_beside_data() {
    let knot = Knot::builder()
        .zone_with_records("example.org", &["taken IN A 192.0.2.99"])
        .start();
    let provider = provider_for(&knot, &["example.org"]).await;
    let z = zone("example.org");
    let www = endpoint("www.example.org", RecordType::A, &["192.0.2.1"]);
    let cname = endpoint("taken.example.org", RecordType::Cname, &["lb.example.net"]);
    let report = provider
        .apply(&z, &[create(www.clone()), create(cname.clone())])
        .await
        .unwrap();
    assert_eq!(report.rejected.len(), 1, "{:?}", report.rejected);
    assert_eq!(report.rejected[0].subject, cname.key());
    let records = knot.axfr("example.org").unwrap();
    assert_eq!(data(&records, "www.example.org", "A"), ["192.0.2.1"]);

    let new = endpoint("www.example.org", RecordType::A, &["192.0.2.2"]);
    let report = provider
        .apply(&z, &[update(www, new.clone())])
        .await
        .unwrap();
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    let endpoints = provider.records(&z).await.unwrap();
    assert_eq!(
        listed(&endpoints, "www.example.org", RecordType::A)
            .unwrap()
            .targets,
        new.targets
    );
    let report = provider.apply(&z, &[delete(new)]).await.unwrap();
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    let records = knot.axfr("example.org").unwrap();
    assert!(find_records(&records, "www.example.org", "A").is_empty());
    assert!(find_records(&records, "a-www.example.org", "TXT").is_empty());

    // Many records: the read-back is a zone transfer of several signed messages.
    let groups: Vec<ChangeGroup<'static>> = (0..1500)
        .map(|i| {
            create(endpoint(
                &format!("host-{i}.example.org"),
                RecordType::A,
                &["10.1.2.3"],
            ))
        })
        .collect();
    let report = provider.apply(&z, &groups).await.unwrap();
    assert!(report.rejected.is_empty(), "{:?}", report.rejected.first());
    assert_eq!(provider.stats().axfr, 2, "read back with one transfer");
    let records = knot.axfr("example.org").unwrap();
    assert_eq!(
        records
            .iter()
            .filter(|r| r.name.starts_with("a-host-"))
            .count(),
        1500
    );

    let wrong = knot.key().with_other_secret();
    let config = args_for(knot.port(), &wrong, &["example.org"])
        .validate()
        .unwrap();
    let provider = Rfc2136Provider::new(fast(config)).await.unwrap();
    let error = provider.records(&z).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Auth, "{error}");
    assert!(
        error.to_string().contains("TSIG authentication failed"),
        "{error}"
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
