//! The fake Kubernetes API server (`zonesync_test_support::kube_api`) driven by the real `kube`
//! client over HTTP: lists, watches, reflectors, writes, Leases and Events, the way the controller
//! uses them.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ::kube::api::{
    Api, DeleteParams, ListParams, ObjectList, Patch, PatchParams, PostParams, WatchEvent,
    WatchParams,
};
use ::kube::config::{KubeConfigOptions, Kubeconfig};
use ::kube::runtime::events::{Event as Occurrence, EventType, Recorder, Reporter};
use ::kube::runtime::{WatchStreamExt, reflector, watcher};
use ::kube::{Client, Config, Resource, ResourceExt};
use futures::{Stream, StreamExt, TryStreamExt};
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::api::core::v1::{
    LoadBalancerIngress, LoadBalancerStatus, Service, ServiceSpec, ServiceStatus,
};
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::api::networking::v1::{Ingress, IngressRule, IngressSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::json;
use tokio::sync::mpsc;
use tokio::time::Instant;
use zonesync_test_support::kube_api::{FakeApiServer, RequestMatcher, ResourceType, Verb};

/// The longest any single wait in these tests may take.
const WAIT: Duration = Duration::from_secs(20);

/// A `kube` client configured the way zonesync is: from a kubeconfig file.
async fn client_for(server: &FakeApiServer) -> Client {
    let kubeconfig = Kubeconfig::read_from(server.kubeconfig()).unwrap();
    let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .unwrap();
    assert_eq!(
        config.cluster_url.to_string().trim_end_matches('/'),
        server.url()
    );
    Client::try_from(config).unwrap()
}

/// A Service fixture: `service("default", "web").label("app", "web").load_balancer_ip("192.0.2.1")`.
struct ServiceFixture(Service);

fn service(namespace: &str, name: &str) -> ServiceFixture {
    ServiceFixture(Service {
        metadata: ObjectMeta {
            namespace: Some(namespace.into()),
            name: Some(name.into()),
            ..ObjectMeta::default()
        },
        spec: Some(ServiceSpec {
            type_: Some("LoadBalancer".into()),
            ..ServiceSpec::default()
        }),
        status: None,
    })
}

impl ServiceFixture {
    fn label(mut self, key: &str, value: &str) -> Self {
        self.0
            .metadata
            .labels
            .get_or_insert_default()
            .insert(key.into(), value.into());
        self
    }

    fn load_balancer_ip(mut self, ip: &str) -> Self {
        let ingress = LoadBalancerIngress {
            ip: Some(ip.into()),
            ..LoadBalancerIngress::default()
        };
        self.0.status = Some(ServiceStatus {
            load_balancer: Some(LoadBalancerStatus {
                ingress: Some(vec![ingress]),
            }),
            ..ServiceStatus::default()
        });
        self
    }

    fn build(self) -> Service {
        self.0
    }
}

fn ingress(namespace: &str, name: &str, host: &str) -> Ingress {
    Ingress {
        metadata: ObjectMeta {
            namespace: Some(namespace.into()),
            name: Some(name.into()),
            ..ObjectMeta::default()
        },
        spec: Some(IngressSpec {
            rules: Some(vec![IngressRule {
                host: Some(host.into()),
                http: None,
            }]),
            ..IngressSpec::default()
        }),
        status: None,
    }
}

fn host_of(ingress: &Ingress) -> Option<&str> {
    ingress
        .spec
        .as_ref()?
        .rules
        .as_ref()?
        .first()?
        .host
        .as_deref()
}

fn load_balancer_ip(service: &Service) -> Option<&str> {
    service
        .status
        .as_ref()?
        .load_balancer
        .as_ref()?
        .ingress
        .as_ref()?
        .first()?
        .ip
        .as_deref()
}

/// The code and reason of the API error a request failed with.
fn api_error<T: std::fmt::Debug>(result: Result<T, ::kube::Error>) -> (u16, String) {
    match result {
        Err(::kube::Error::Api(status)) => (status.code, status.reason.clone()),
        other => panic!("expected an API error, got {other:?}"),
    }
}

fn names<K: Resource + Clone>(list: &ObjectList<K>) -> BTreeSet<String> {
    list.items.iter().map(ResourceExt::name_any).collect()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| (*n).to_owned()).collect()
}

/// Polls `check` until it holds, failing the test after [`WAIT`].
async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Drives a stream on its own task and hands its items over a channel.
fn spawn_stream<S>(
    stream: S,
) -> (
    mpsc::UnboundedReceiver<S::Item>,
    tokio::task::JoinHandle<()>,
)
where
    S: Stream + Send + 'static,
    S::Item: Send + 'static,
{
    let (sender, receiver) = mpsc::unbounded_channel();
    let task = tokio::spawn(stream.for_each(move |item| {
        let _ = sender.send(item);
        async {}
    }));
    (receiver, task)
}

/// The next successful watcher event, failing the test on an error or after [`WAIT`].
async fn next_event<K: std::fmt::Debug>(
    events: &mut mpsc::UnboundedReceiver<Result<watcher::Event<K>, watcher::Error>>,
) -> watcher::Event<K> {
    let event = tokio::time::timeout(WAIT, events.recv())
        .await
        .expect("a watcher event in time");
    event
        .expect("the watcher stream is open")
        .expect("no watcher error")
}

#[tokio::test]
async fn lists_honour_selectors_namespaces_and_pagination() {
    let server = FakeApiServer::start().await.unwrap();
    let namespaces = ["a", "b", "c"];
    for i in 0..30 {
        let mut fixture = service(namespaces[i % 3], &format!("svc-{i:02}"))
            .label("app", if i < 20 { "web" } else { "db" })
            .label("tier", if i % 2 == 0 { "front" } else { "back" });
        if i % 5 == 0 {
            fixture = fixture.label("canary", "true");
        }
        server.apply(fixture.build()).unwrap();
    }
    let expected = |keep: &dyn Fn(usize) -> bool| -> BTreeSet<String> {
        (0..30)
            .filter(|i| keep(*i))
            .map(|i| format!("svc-{i:02}"))
            .collect()
    };
    let client = client_for(&server).await;
    let all: Api<Service> = Api::all(client.clone());

    let cases: [(&str, &dyn Fn(usize) -> bool); 7] = [
        ("", &|_| true),
        ("app=web", &|i| i < 20),
        ("app==web,tier=front", &|i| i < 20 && i % 2 == 0),
        ("app!=web", &|i| i >= 20),
        ("tier in (front),app notin (web)", &|i| {
            i >= 20 && i % 2 == 0
        }),
        ("canary", &|i| i % 5 == 0),
        ("!canary,app=db", &|i| i >= 20 && i % 5 != 0),
    ];
    for (selector, keep) in cases {
        let list = all
            .list(&ListParams::default().labels(selector))
            .await
            .unwrap();
        assert_eq!(names(&list), expected(keep), "labelSelector {selector:?}");
    }

    let in_a: Api<Service> = Api::namespaced(client.clone(), "a");
    let list = in_a.list(&ListParams::default()).await.unwrap();
    assert_eq!(names(&list), expected(&|i| i % 3 == 0));
    let list = in_a
        .list(&ListParams::default().fields("metadata.name=svc-03"))
        .await
        .unwrap();
    assert_eq!(names(&list), set(&["svc-03"]));
    let list = all
        .list(&ListParams::default().fields("metadata.namespace!=a"))
        .await
        .unwrap();
    assert_eq!(names(&list), expected(&|i| i % 3 != 0));
    let malformed = all.list(&ListParams::default().labels("app in web")).await;
    assert_eq!(api_error(malformed), (400, "BadRequest".to_owned()));

    // Pages of 7 over the 20 web services; a write between pages does not break the walk, and
    // every page reports the first page's resourceVersion.
    let mut params = ListParams::default().labels("app=web").limit(7);
    let (mut seen, mut pages, mut versions) = (BTreeSet::new(), 0, BTreeSet::new());
    for _ in 0..10 {
        let page = all.list(&params).await.unwrap();
        pages += 1;
        assert!(page.items.len() <= 7);
        seen.extend(names(&page));
        versions.insert(page.metadata.resource_version.clone().unwrap());
        server
            .apply(service("z", &format!("written-during-page-{pages}")).build())
            .unwrap();
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(token) => params = params.continue_token(&token),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, expected(&|i| i < 20));
    assert_eq!(versions.len(), 1, "{versions:?}");
}

#[tokio::test]
async fn writes_follow_the_api_server_rules_including_status() {
    let server = FakeApiServer::start().await.unwrap();
    let api: Api<Service> = Api::namespaced(client_for(&server).await, "default");
    let pp = PostParams::default();

    let web = service("default", "web")
        .label("app", "web")
        .load_balancer_ip("192.0.2.1")
        .build();
    let created = api.create(&pp, &web).await.unwrap();
    assert!(created.metadata.uid.is_some() && created.metadata.creation_timestamp.is_some());
    assert_eq!(created.metadata.generation, Some(1));
    assert_eq!(
        load_balancer_ip(&created),
        None,
        "a create does not set the status"
    );
    assert_eq!(
        api_error(api.create(&pp, &web).await),
        (409, "AlreadyExists".to_owned())
    );
    assert_eq!(
        api_error(api.get("missing").await),
        (404, "NotFound".to_owned())
    );
    assert!(api.get_opt("missing").await.unwrap().is_none());

    // Replace: a stale resourceVersion conflicts; the current one wins and bumps the generation.
    let mut stale = created.clone();
    stale.metadata.resource_version = Some("1".into());
    assert_eq!(
        api_error(api.replace("web", &pp, &stale).await),
        (409, "Conflict".to_owned())
    );
    let mut changed = created.clone();
    changed.spec.as_mut().unwrap().type_ = Some("ClusterIP".into());
    let replaced = api.replace("web", &pp, &changed).await.unwrap();
    assert_eq!(replaced.metadata.generation, Some(2));
    assert_ne!(
        replaced.metadata.resource_version,
        created.metadata.resource_version
    );
    assert_eq!(replaced.metadata.uid, created.metadata.uid);

    // Merge patch of metadata: no generation bump; the same patch again stores nothing.
    let labels = Patch::Merge(json!({"metadata": {"labels": {"tier": "front"}}}));
    let patched = api
        .patch("web", &PatchParams::default(), &labels)
        .await
        .unwrap();
    assert_eq!(patched.labels().get("app").map(String::as_str), Some("web"));
    assert_eq!(
        patched.labels().get("tier").map(String::as_str),
        Some("front")
    );
    assert_eq!(patched.metadata.generation, Some(2));
    let again = api
        .patch("web", &PatchParams::default(), &labels)
        .await
        .unwrap();
    assert_eq!(
        again.metadata.resource_version,
        patched.metadata.resource_version
    );

    // Status goes through the subresource only.
    let status = json!({"status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.7"}]}}});
    let with_status = api
        .patch_status("web", &PatchParams::default(), &Patch::Merge(&status))
        .await
        .unwrap();
    assert_eq!(load_balancer_ip(&with_status), Some("192.0.2.7"));
    assert_eq!(with_status.spec, replaced.spec);
    let ignored = json!({"status": {"loadBalancer": {"ingress": [{"ip": "203.0.113.9"}]}}});
    let main = api
        .patch("web", &PatchParams::default(), &Patch::Merge(&ignored))
        .await
        .unwrap();
    assert_eq!(load_balancer_ip(&main), Some("192.0.2.7"));
    let mut current = api.get_status("web").await.unwrap();
    current.status = service("default", "web")
        .load_balancer_ip("192.0.2.8")
        .build()
        .status;
    current.metadata.labels = None;
    let replaced_status = api.replace_status("web", &pp, &current).await.unwrap();
    assert_eq!(load_balancer_ip(&replaced_status), Some("192.0.2.8"));
    assert!(
        replaced_status.labels().contains_key("tier"),
        "a status write keeps the metadata"
    );

    // Server-side apply creates a missing object, then merges into it.
    let ssa = PatchParams::apply("zonesync-test");
    let apply = |annotations: serde_json::Value| {
        Patch::Apply(json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "api", "labels": {"app": "api"}, "annotations": annotations},
            "spec": {"type": "LoadBalancer"},
        }))
    };
    let applied = api.patch("api", &ssa, &apply(json!({}))).await.unwrap();
    assert_eq!(applied.labels().get("app").map(String::as_str), Some("api"));
    let merged = api
        .patch(
            "api",
            &ssa,
            &apply(json!({"external-dns.alpha.kubernetes.io/hostname": "api.example.com"})),
        )
        .await
        .unwrap();
    assert_eq!(merged.annotations().len(), 1);
    assert_eq!(merged.metadata.uid, applied.metadata.uid);
    let no_kind = Patch::Apply(json!({"metadata": {"name": "api"}}));
    assert_eq!(api_error(api.patch("api", &ssa, &no_kind).await).0, 400);

    // Delete returns the object; a finalizer holds it until removed.
    let deleted = api.delete("web", &DeleteParams::default()).await.unwrap();
    assert_eq!(deleted.left().map(|s| s.name_any()).as_deref(), Some("web"));
    assert!(api.get_opt("web").await.unwrap().is_none());
    assert_eq!(
        api_error(api.delete("web", &DeleteParams::default()).await),
        (404, "NotFound".to_owned())
    );
    let finalizer = Patch::Merge(json!({"metadata": {"finalizers": ["example.com/cleanup"]}}));
    api.patch("api", &PatchParams::default(), &finalizer)
        .await
        .unwrap();
    api.delete("api", &DeleteParams::default()).await.unwrap();
    let pending = api.get("api").await.unwrap();
    assert!(pending.metadata.deletion_timestamp.is_some());
    let release = Patch::Merge(json!({"metadata": {"finalizers": null}}));
    api.patch("api", &PatchParams::default(), &release)
        .await
        .unwrap();
    assert!(api.get_opt("api").await.unwrap().is_none());
    assert_eq!(server.object_count(), 0);
}

#[tokio::test]
async fn watcher_sees_added_modified_and_deleted() {
    let server = FakeApiServer::start().await.unwrap();
    server
        .apply(ingress("prod", "existing", "old.example.com"))
        .unwrap();
    let api: Api<Ingress> = Api::all(client_for(&server).await);
    let (mut events, task) = spawn_stream(watcher(api, watcher::Config::default()));

    assert!(matches!(
        next_event(&mut events).await,
        watcher::Event::Init
    ));
    match next_event(&mut events).await {
        watcher::Event::InitApply(ing) => assert_eq!(ing.name_any(), "existing"),
        other => panic!("expected the existing Ingress, got {other:?}"),
    }
    assert!(matches!(
        next_event(&mut events).await,
        watcher::Event::InitDone
    ));

    server
        .apply(ingress("prod", "www", "www.example.com"))
        .unwrap();
    match next_event(&mut events).await {
        watcher::Event::Apply(ing) => assert_eq!(host_of(&ing), Some("www.example.com")),
        other => panic!("expected the new Ingress, got {other:?}"),
    }
    server
        .apply(ingress("prod", "www", "www2.example.com"))
        .unwrap();
    match next_event(&mut events).await {
        watcher::Event::Apply(ing) => assert_eq!(host_of(&ing), Some("www2.example.com")),
        other => panic!("expected the changed Ingress, got {other:?}"),
    }
    server
        .delete(&ResourceType::INGRESS, Some("prod"), "www")
        .unwrap();
    match next_event(&mut events).await {
        watcher::Event::Delete(ing) => assert_eq!(ing.name_any(), "www"),
        other => panic!("expected the deletion, got {other:?}"),
    }
    task.abort();
}

#[tokio::test]
async fn label_selector_watch_sees_objects_enter_and_leave() {
    let server = FakeApiServer::start().await.unwrap();
    let api: Api<Service> = Api::namespaced(client_for(&server).await, "default");
    let config = watcher::Config::default().labels("zonesync.io/managed=true");
    let (mut events, task) = spawn_stream(watcher(api, config));
    for _ in 0..2 {
        next_event(&mut events).await; // Init, InitDone
    }
    server.apply(service("default", "web").build()).unwrap();
    server
        .apply(
            service("default", "web")
                .label("zonesync.io/managed", "true")
                .build(),
        )
        .unwrap();
    match next_event(&mut events).await {
        watcher::Event::Apply(svc) => assert_eq!(svc.name_any(), "web"),
        other => panic!("expected web to enter the selection, got {other:?}"),
    }
    server
        .apply(
            service("default", "web")
                .label("zonesync.io/managed", "false")
                .build(),
        )
        .unwrap();
    match next_event(&mut events).await {
        watcher::Event::Delete(svc) => assert_eq!(svc.name_any(), "web"),
        other => panic!("expected web to leave the selection, got {other:?}"),
    }
    task.abort();
}

#[tokio::test]
async fn reflector_relists_after_history_expires_and_converges() {
    let server = FakeApiServer::start().await.unwrap();
    for name in ["a", "b", "c"] {
        server.apply(service("default", name).build()).unwrap();
    }
    let api: Api<Service> = Api::all(client_for(&server).await);
    let (reader, writer) = reflector::store::<Service>();
    let errors = Arc::new(Mutex::new(Vec::new()));
    let seen_errors = errors.clone();
    let stream = reflector(writer, watcher(api, watcher::Config::default()))
        .default_backoff()
        .inspect_err(move |error| {
            if let watcher::Error::WatchError(status) = error {
                seen_errors.lock().unwrap().push(status.code);
            }
        });
    let (_items, task) = spawn_stream(stream);
    tokio::time::timeout(WAIT, reader.wait_until_ready())
        .await
        .unwrap()
        .unwrap();
    let cached = || {
        reader
            .state()
            .iter()
            .map(|s| s.name_any())
            .collect::<BTreeSet<_>>()
    };
    assert_eq!(cached(), set(&["a", "b", "c"]));
    assert!(server.wait_for_open_watches(1, WAIT).await);
    let lists = RequestMatcher::verb(Verb::List).resource("services");
    assert_eq!(server.request_count(&lists), 1);

    // The watch ends and its resourceVersion is gone: the resumed watch gets 410 and the
    // reflector lists again, picking up what changed meanwhile.
    server.expire_history();
    server.drop_watches();
    server
        .delete(&ResourceType::SERVICE, Some("default"), "a")
        .unwrap();
    server.apply(service("default", "d").build()).unwrap();
    eventually("the reflector to converge", || {
        cached() == set(&["b", "c", "d"])
    })
    .await;
    assert!(
        server.wait_for_requests(&lists, 2, WAIT).await,
        "the reflector lists again"
    );
    assert_eq!(errors.lock().unwrap().as_slice(), [410]);

    // Live changes arrive on the new watch.
    server.apply(service("default", "e").build()).unwrap();
    eventually("the change after the relist", || cached().contains("e")).await;
    task.abort();
}

#[tokio::test]
async fn watch_sends_bookmarks_and_closes_at_timeout_seconds() {
    let server = FakeApiServer::builder()
        .bookmark_interval(Duration::from_millis(100))
        .start()
        .await
        .unwrap();
    let api: Api<Service> = Api::all(client_for(&server).await);
    let version = api
        .list(&ListParams::default())
        .await
        .unwrap()
        .metadata
        .resource_version
        .unwrap();

    let started = Instant::now();
    let stream = api
        .watch(&WatchParams::default().timeout(2), &version)
        .await
        .unwrap();
    server.apply(service("default", "web").build()).unwrap();
    let events: Vec<WatchEvent<Service>> = tokio::time::timeout(WAIT, stream.try_collect())
        .await
        .expect("the watch ends at its timeout")
        .unwrap();
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(1500),
        "closed after {elapsed:?}"
    );
    let bookmarks: Vec<u64> = events
        .iter()
        .filter_map(|e| match e {
            WatchEvent::Bookmark(b) => Some(b.metadata.resource_version.parse().unwrap()),
            _ => None,
        })
        .collect();
    assert!(bookmarks.len() >= 5, "{} bookmarks", bookmarks.len());
    assert!(bookmarks.windows(2).all(|w| w[0] <= w[1]));
    assert!(bookmarks.iter().all(|b| *b >= version.parse().unwrap()));
    assert!(
        events
            .iter()
            .any(|e| matches!(e, WatchEvent::Added(s) if s.name_any() == "web"))
    );

    let quiet = api
        .watch(
            &WatchParams::default().timeout(1).disable_bookmarks(),
            &version,
        )
        .await
        .unwrap();
    let events: Vec<WatchEvent<Service>> = tokio::time::timeout(WAIT, quiet.try_collect())
        .await
        .unwrap()
        .unwrap();
    assert!(!events.iter().any(|e| matches!(e, WatchEvent::Bookmark(_))));
    assert_eq!(events.len(), 1, "only the Service added after {version}");
}

#[tokio::test]
async fn streaming_list_sends_initial_events_then_live_changes() {
    let server = FakeApiServer::start().await.unwrap();
    let objects = (0..50)
        .map(|i| serde_json::to_value(service("default", &format!("svc-{i}")).build()).unwrap());
    assert_eq!(server.apply_all(objects).unwrap(), 50);
    let api: Api<Service> = Api::all(client_for(&server).await);
    let (mut events, task) =
        spawn_stream(watcher(api, watcher::Config::default().streaming_lists()));

    assert!(matches!(
        next_event(&mut events).await,
        watcher::Event::Init
    ));
    let mut initial = BTreeSet::new();
    loop {
        match next_event(&mut events).await {
            watcher::Event::InitApply(svc) => initial.insert(svc.name_any()),
            watcher::Event::InitDone => break,
            other => panic!("unexpected {other:?} during the initial events"),
        };
    }
    assert_eq!(initial.len(), 50);
    server.apply(service("default", "late").build()).unwrap();
    match next_event(&mut events).await {
        watcher::Event::Apply(svc) => assert_eq!(svc.name_any(), "late"),
        other => panic!("expected the live change, got {other:?}"),
    }
    assert_eq!(
        server.request_count(&RequestMatcher::verb(Verb::List)),
        0,
        "no list in streaming mode"
    );
    let watches = server
        .requests()
        .into_iter()
        .filter(|r| r.verb == Verb::Watch)
        .collect::<Vec<_>>();
    assert!(
        watches[0].query.contains("sendInitialEvents=true"),
        "{:?}",
        watches[0]
    );
    task.abort();
}

#[tokio::test]
async fn injected_faults_fail_requests_and_the_watcher_retries() {
    let server = FakeApiServer::start().await.unwrap();
    for name in ["a", "b"] {
        server.apply(service("default", name).build()).unwrap();
    }
    let lists = RequestMatcher::verb(Verb::List).resource("services");
    server.fail_next(lists.clone(), 500, 2);
    let api: Api<Service> = Api::all(client_for(&server).await);
    let (reader, writer) = reflector::store::<Service>();
    let failures = Arc::new(Mutex::new(Vec::new()));
    let seen = failures.clone();
    let stream = reflector(writer, watcher(api.clone(), watcher::Config::default()))
        .default_backoff()
        .inspect_err(move |error| seen.lock().unwrap().push(error.to_string()));
    let (_items, task) = spawn_stream(stream);
    tokio::time::timeout(WAIT, reader.wait_until_ready())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(reader.state().len(), 2);
    assert_eq!(
        failures.lock().unwrap().len(),
        2,
        "{:?}",
        failures.lock().unwrap()
    );
    let statuses: Vec<u16> = server
        .requests()
        .iter()
        .filter(|r| lists.matches(r))
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, [500, 500, 200]);

    // A 410 on the resumed watch sends the reflector back to listing.
    assert!(server.wait_for_open_watches(1, WAIT).await);
    server.fail_next(
        RequestMatcher::verb(Verb::Watch).resource("services"),
        410,
        1,
    );
    server.drop_watches();
    assert!(
        server.wait_for_requests(&lists, 4, WAIT).await,
        "a relist after the 410"
    );

    // A delay holds a request back, then serves it.
    server.delay_next(
        RequestMatcher::verb(Verb::Get).name("a"),
        Duration::from_millis(300),
        1,
    );
    let namespaced: Api<Service> = Api::namespaced(api.into_client(), "default");
    let started = Instant::now();
    assert_eq!(namespaced.get("a").await.unwrap().name_any(), "a");
    assert!(started.elapsed() >= Duration::from_millis(300));
    task.abort();
}

#[tokio::test]
async fn leases_detect_conflicting_writers() {
    let server = FakeApiServer::start().await.unwrap();
    let api: Api<Lease> = Api::namespaced(client_for(&server).await, "kube-system");
    let pp = PostParams::default();
    let lease = Lease {
        metadata: ObjectMeta {
            name: Some("zonesync".into()),
            ..ObjectMeta::default()
        },
        spec: Some(LeaseSpec {
            holder_identity: Some("a".into()),
            lease_duration_seconds: Some(15),
            ..LeaseSpec::default()
        }),
    };
    let created = api.create(&pp, &lease).await.unwrap();
    assert_eq!(
        api_error(api.create(&pp, &lease).await),
        (409, "AlreadyExists".to_owned())
    );

    // Two candidates read the same version: the first write wins, the second conflicts.
    let mut renewal = created.clone();
    renewal.spec.as_mut().unwrap().lease_transitions = Some(1);
    let mut takeover = created.clone();
    takeover.spec.as_mut().unwrap().holder_identity = Some("b".into());
    api.replace("zonesync", &pp, &renewal).await.unwrap();
    assert_eq!(
        api_error(api.replace("zonesync", &pp, &takeover).await),
        (409, "Conflict".to_owned())
    );

    // Server-side apply: another manager cannot take a field one applied, unless it forces.
    let holder = |identity: &str| {
        Patch::Apply(json!({
            "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "spec": {"holderIdentity": identity, "leaseDurationSeconds": 15},
        }))
    };
    api.patch("zonesync", &PatchParams::apply("candidate-a"), &holder("a"))
        .await
        .unwrap();
    let contested = api
        .patch("zonesync", &PatchParams::apply("candidate-b"), &holder("b"))
        .await;
    assert_eq!(api_error(contested), (409, "Conflict".to_owned()));
    let forced = api
        .patch(
            "zonesync",
            &PatchParams::apply("candidate-b").force(),
            &holder("b"),
        )
        .await
        .unwrap();
    assert_eq!(forced.spec.unwrap().holder_identity.as_deref(), Some("b"));

    // Releasing (clearing the holder) frees the field for anyone.
    let release = Patch::Strategic(json!({"spec": {"holderIdentity": null}}));
    api.patch("zonesync", &PatchParams::default(), &release)
        .await
        .unwrap();
    let acquired = api
        .patch("zonesync", &PatchParams::apply("candidate-a"), &holder("a"))
        .await
        .unwrap();
    assert_eq!(acquired.spec.unwrap().holder_identity.as_deref(), Some("a"));
    assert_eq!(
        server
            .get_as::<Lease>(Some("kube-system"), "zonesync")
            .unwrap()
            .spec
            .unwrap()
            .lease_transitions,
        Some(1)
    );
}

#[tokio::test]
async fn recorder_events_are_stored_and_listed() {
    let server = FakeApiServer::start().await.unwrap();
    server.apply(service("default", "web").build()).unwrap();
    let client = client_for(&server).await;
    let web = Api::<Service>::namespaced(client.clone(), "default")
        .get("web")
        .await
        .unwrap();
    let reporter = Reporter {
        controller: "zonesync".into(),
        instance: Some("zonesync-0".into()),
    };
    let recorder = Recorder::new(client.clone(), reporter);
    let created = Occurrence {
        type_: EventType::Normal,
        reason: "RecordCreated".into(),
        note: Some("created A web.example.com".into()),
        action: "Sync".into(),
        secondary: None,
    };
    recorder
        .publish(&created, &web.object_ref(&()))
        .await
        .unwrap();
    recorder
        .publish(&created, &web.object_ref(&()))
        .await
        .unwrap(); // a series: patched in place
    let conflict = Occurrence {
        type_: EventType::Warning,
        reason: "ConflictLost".into(),
        note: Some("web.example.com is claimed by default/other".into()),
        action: "Sync".into(),
        secondary: None,
    };
    recorder
        .publish(&conflict, &web.object_ref(&()))
        .await
        .unwrap();

    let events: Api<Event> = Api::namespaced(client.clone(), "default");
    let list = events.list(&ListParams::default()).await.unwrap();
    assert_eq!(list.items.len(), 2);
    let recorded = list
        .items
        .iter()
        .find(|e| e.reason.as_deref() == Some("RecordCreated"))
        .unwrap();
    assert_eq!(recorded.series.as_ref().map(|s| s.count), Some(2));
    assert_eq!(
        recorded.regarding.as_ref().and_then(|r| r.name.as_deref()),
        Some("web")
    );
    assert_eq!(recorded.reporting_controller.as_deref(), Some("zonesync"));
    let warning = list
        .items
        .iter()
        .find(|e| e.reason.as_deref() == Some("ConflictLost"))
        .unwrap();
    assert_eq!(warning.type_.as_deref(), Some("Warning"));
    let about_web = events
        .list(&ListParams::default().fields("regarding.name=web"))
        .await
        .unwrap();
    assert_eq!(about_web.items.len(), 2);
    let core_events: Api<k8s_openapi::api::core::v1::Event> = Api::namespaced(client, "default");
    assert!(
        core_events
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .is_empty(),
        "a separate resource"
    );
}

#[tokio::test]
async fn version_and_discovery_describe_the_served_resources() {
    let server = FakeApiServer::start().await.unwrap();
    let client = client_for(&server).await;
    let version = client.apiserver_version().await.unwrap();
    assert_eq!(
        (version.major.as_str(), version.minor.as_str()),
        ("1", "33")
    );
    let discovery = ::kube::discovery::Discovery::new(client)
        .run()
        .await
        .unwrap();
    for group in [
        "",
        "networking.k8s.io",
        "coordination.k8s.io",
        "events.k8s.io",
    ] {
        assert!(discovery.has_group(group), "group {group:?}");
    }
    let gvk = ::kube::api::GroupVersionKind::gvk("networking.k8s.io", "v1", "Ingress");
    let (resource, capabilities) = discovery.resolve_gvk(&gvk).unwrap();
    assert_eq!(resource.plural, "ingresses");
    assert_eq!(capabilities.scope, ::kube::discovery::Scope::Namespaced);
    assert!(
        capabilities
            .subresources
            .iter()
            .any(|(sub, _)| sub.plural == "status")
    );
    let gvk = ::kube::api::GroupVersionKind::gvk("", "v1", "Service");
    assert!(discovery.resolve_gvk(&gvk).is_some());
}

#[tokio::test]
async fn twenty_thousand_objects_load_list_and_watch() {
    let server = FakeApiServer::start().await.unwrap();
    let started = Instant::now();
    let objects = (0..20_000).map(|i| {
        let fixture = service(&format!("ns-{}", i % 50), &format!("svc-{i:05}"))
            .label("app", "web")
            .load_balancer_ip(&format!("10.{}.{}.{}", i / 65536, (i / 256) % 256, i % 256));
        serde_json::to_value(fixture.build()).unwrap()
    });
    assert_eq!(server.apply_all(objects).unwrap(), 20_000);
    let loaded = started.elapsed();

    let api: Api<Service> = Api::all(client_for(&server).await);
    let (reader, writer) = reflector::store::<Service>();
    let (_items, task) =
        spawn_stream(reflector(writer, watcher(api, watcher::Config::default())).default_backoff());
    tokio::time::timeout(WAIT * 3, reader.wait_until_ready())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(reader.state().len(), 20_000);
    let pages = server.request_count(&RequestMatcher::verb(Verb::List));
    assert_eq!(pages, 40, "the watcher's default pages of 500");

    server
        .apply(
            service("ns-7", "svc-00007")
                .load_balancer_ip("192.0.2.99")
                .build(),
        )
        .unwrap();
    eventually("the update to reach the reflector", || {
        reader
            .state()
            .iter()
            .any(|s| s.name_any() == "svc-00007" && load_balancer_ip(s) == Some("192.0.2.99"))
    })
    .await;
    eprintln!(
        "20,000 objects: loaded in {loaded:?}, listed and watched in {:?}",
        started.elapsed()
    );
    task.abort();
}
