//! The provider against the strict webhook test server: body limits both ways, and labels kept
//! through `POST /adjustendpoints`.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use zonesync_core::{Change, ChangeGroup, DnsName, Endpoint, Provider, RecordType};
use zonesync_test_support::webhook::{
    Adjust, DomainFilter, WebhookConfig as ServerConfig, WebhookEndpoint, WebhookServer,
};
use zonesync_webhook::{WebhookConfig, WebhookProvider};

fn server() -> WebhookServer {
    WebhookServer::start(ServerConfig {
        domain_filter: DomainFilter::include(&["example.com"]),
        adjust: Adjust {
            default_properties: vec![("webhook/proxied".into(), "false".into())],
            default_ttl: Some(120),
        },
        ..ServerConfig::default()
    })
}

fn record(index: usize) -> Endpoint {
    Endpoint::new(
        DnsName::parse(&format!("host-{index}.example.com")).unwrap(),
        RecordType::A,
        ["192.0.2.1"],
    )
    .with_ttl(300)
    .with_label("resource", format!("ingress/default/host-{index}"))
}

#[tokio::test]
async fn bodies_over_the_limit_are_split_into_requests_or_refused() {
    let server = server();
    let mut config = WebhookConfig::new(server.url());
    config.max_body_bytes = 2_000;
    let provider = WebhookProvider::new(config).await.unwrap();
    let zone = provider.zones().await.unwrap().remove(0);
    let changes: Vec<Change> = (0..30)
        .map(|i| Change::Create { record: record(i) })
        .collect();
    let groups: Vec<ChangeGroup<'_>> = changes
        .iter()
        .map(|change| ChangeGroup::new(change.key(), [change]))
        .collect();
    let report = provider.apply(&zone, &groups).await.unwrap();
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    assert_eq!(server.records().len(), 30);
    let posts: Vec<usize> = server
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path == "/records")
        .map(|r| r.body.len())
        .collect();
    assert!(posts.len() > 1, "{posts:?}");
    assert!(posts.iter().all(|bytes| *bytes <= 2_000), "{posts:?}");

    // The answer of GET /records is now over the limit.
    let error = provider.records(&zone).await.unwrap_err();
    assert!(
        error
            .to_string()
            .contains("GET /records: the answer body is larger than 2000 bytes"),
        "{error}"
    );
}

#[tokio::test]
async fn adjusted_endpoints_keep_their_owner_labels_and_gain_provider_defaults() {
    let server = server();
    let provider = WebhookProvider::new(WebhookConfig::new(server.url()))
        .await
        .unwrap();
    let desired = vec![
        record(1).with_property("webhook/proxied", "true"),
        record(2).with_property("aws/weight", "10"),
    ];
    let adjusted = provider.adjust_desired(desired).await.unwrap();
    assert_eq!(adjusted.len(), 2);
    assert_eq!(adjusted[0].resource(), Some("ingress/default/host-1"));
    assert_eq!(adjusted[0].properties["webhook/proxied"], "true");
    assert_eq!(adjusted[1].resource(), Some("ingress/default/host-2"));
    assert_eq!(
        adjusted[1].properties["webhook/proxied"], "false",
        "provider default"
    );
    assert!(
        !adjusted[1].properties.contains_key("aws/weight"),
        "only webhook/ properties are sent"
    );
    assert_eq!(adjusted[0].ttl, Some(300));
    let sent = String::from_utf8_lossy(&server.requests()[1].body).into_owned();
    assert!(!sent.contains("aws/weight"), "{sent}");
}

#[tokio::test]
async fn records_outside_the_zone_and_in_nested_zones_are_split_between_zones() {
    let server = WebhookServer::start(ServerConfig {
        domain_filter: DomainFilter::include(&["example.com", "dev.example.com"]),
        ..ServerConfig::default()
    });
    server.insert([
        WebhookEndpoint::new("www.example.com", "A", &["192.0.2.1"]),
        WebhookEndpoint::new("api.dev.example.com", "A", &["192.0.2.2"]),
        WebhookEndpoint::new("www.example.org", "A", &["192.0.2.3"]),
    ]);
    let provider = WebhookProvider::new(WebhookConfig::new(server.url()))
        .await
        .unwrap();
    let zones = provider.zones().await.unwrap();
    let names: Vec<String> = zones.iter().map(|z| z.name.to_string()).collect();
    assert_eq!(names, ["dev.example.com", "example.com"]);
    let listed = |index: usize| {
        let provider = &provider;
        let zone = zones[index].clone();
        async move {
            provider
                .records(&zone)
                .await
                .unwrap()
                .iter()
                .map(|r| r.name.to_string())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(listed(0).await, ["api.dev.example.com"]);
    assert_eq!(listed(1).await, ["www.example.com"]);
}
