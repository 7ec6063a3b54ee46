//! Route conversion: routes and Gateways in, records out, one table row per rule.

use serde_json::{Value, json};

use super::*;
use crate::filter::LabelSelector;
use crate::source::GatewayFilter;
use crate::source::gateway_api::GatewayObject;

const PREFIX: &str = "external-dns.kubernetes.io/";

/// A route in namespace `shop` named `web`, attached to `gateways` (as `namespace/name`), each
/// accepting it.
fn route(hostnames: &[&str], gateways: &[&str]) -> Value {
    let refs: Vec<Value> = gateways.iter().map(|g| parent_ref(g)).collect();
    let parents: Vec<Value> = refs
        .iter()
        .map(|r| json!({"parentRef": r, "conditions": [{"type": "Accepted", "status": "True"}]}))
        .collect();
    json!({
        "metadata": {"name": "web", "namespace": "shop", "creationTimestamp": "2026-01-01T00:00:00Z"},
        "spec": {"hostnames": hostnames, "parentRefs": refs},
        "status": {"parents": parents},
    })
}

fn parent_ref(gateway: &str) -> Value {
    let (namespace, name) = gateway.split_once('/').unwrap_or(("shop", gateway));
    json!({"name": name, "namespace": namespace})
}

/// A Gateway with one listener per `(name, protocol, port, hostname)` and these addresses.
fn gateway(name: &str, listeners: &[(&str, &str, i32, &str)], addresses: &[&str]) -> Value {
    let (namespace, name) = name.split_once('/').unwrap_or(("shop", name));
    let listeners: Vec<Value> = listeners
        .iter()
        .map(|(listener, protocol, port, host)| {
            let mut value = json!({"name": listener, "protocol": protocol, "port": port});
            if !host.is_empty() {
                value["hostname"] = json!(host);
            }
            value
        })
        .collect();
    let addresses: Vec<Value> = addresses.iter().map(|a| json!({"value": a})).collect();
    json!({
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"listeners": listeners},
        "status": {"addresses": addresses},
    })
}

fn http_gateway(name: &str, host: &str, address: &str) -> Value {
    gateway(name, &[("http", "HTTP", 80, host)], &[address])
}

struct Case {
    name: &'static str,
    kind: RouteKind,
    route: Value,
    gateways: Vec<Value>,
    namespaces: Vec<(&'static str, &'static [(&'static str, &'static str)])>,
    config: SourceConfig,
    /// `name TYPE target|target` per endpoint, sorted.
    want: Vec<&'static str>,
    /// Substrings expected in the skipped-input messages, in order.
    skipped: Vec<&'static str>,
}

impl Case {
    fn new(
        name: &'static str,
        route: Value,
        gateways: Vec<Value>,
        want: Vec<&'static str>,
    ) -> Self {
        Self {
            name,
            kind: RouteKind::Http,
            route,
            gateways,
            namespaces: Vec::new(),
            config: SourceConfig::default(),
            want,
            skipped: Vec::new(),
        }
    }

    fn kind(mut self, kind: RouteKind) -> Self {
        self.kind = kind;
        self
    }

    fn config(mut self, config: SourceConfig) -> Self {
        self.config = config;
        self
    }

    fn namespace(
        mut self,
        name: &'static str,
        labels: &'static [(&'static str, &'static str)],
    ) -> Self {
        self.namespaces.push((name, labels));
        self
    }

    fn skipped(mut self, messages: &[&'static str]) -> Self {
        self.skipped = messages.to_vec();
        self
    }

    fn run(&self) -> ObjectOutcome {
        let mut set = GatewaySet::new();
        for gateway in &self.gateways {
            let object: GatewayObject = serde_json::from_value(gateway.clone()).unwrap();
            set.upsert(object, &self.config);
        }
        for (name, labels) in &self.namespaces {
            set.set_namespace(
                name.to_string(),
                labels
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            );
        }
        let route: Route = serde_json::from_value(self.route.clone()).unwrap();
        convert(&route, self.kind, &set, &self.config)
    }
}

fn endpoints(outcome: &ObjectOutcome) -> Vec<String> {
    let mut lines: Vec<String> = outcome
        .claim
        .iter()
        .flat_map(Claim::endpoints)
        .map(|e| {
            format!(
                "{} {} {}",
                e.name,
                e.record_type,
                e.targets.as_slice().join("|")
            )
        })
        .collect();
    lines.sort();
    lines
}

fn with_annotation(mut value: Value, key: &str, annotation: &str) -> Value {
    value["metadata"]["annotations"][format!("{PREFIX}{key}")] = json!(annotation);
    value
}

fn with_listener(mut gateway: Value, index: usize, field: &str, value: Value) -> Value {
    gateway["spec"]["listeners"][index][field] = value;
    gateway
}

/// A configuration with `--fqdn-template text`, `--combine-fqdn-annotation` and
/// `--ignore-hostname-annotation` as given.
fn templated(text: &str, combine: bool, ignore_annotation: bool) -> SourceConfig {
    SourceConfig {
        fqdn_template: Some(crate::source::fqdn::FqdnTemplate::parse(text).unwrap()),
        combine_fqdn_annotation: combine,
        ignore_hostname_annotation: ignore_annotation,
        ..SourceConfig::default()
    }
}

fn cases() -> Vec<Case> {
    let gw = || http_gateway("gw", "", "192.0.2.10");
    vec![
        Case::new(
            "route host names point at the Gateway's addresses",
            route(&["www.example.com", "WWW.example.com.", "api.example.com"], &["gw"]),
            vec![gateway("gw", &[("http", "HTTP", 80, "")], &["192.0.2.10", "2001:db8::10"])],
            vec![
                "api.example.com A 192.0.2.10",
                "api.example.com AAAA 2001:db8::10",
                "www.example.com A 192.0.2.10",
                "www.example.com AAAA 2001:db8::10",
            ],
        ),
        Case::new(
            "parentRef defaults: group, kind and the route's namespace",
            {
                let mut r = route(&["www.example.com"], &[]);
                r["spec"]["parentRefs"] = json!([{"name": "gw"}]);
                r["status"]["parents"] = json!([{
                    "parentRef": {"group": "gateway.networking.k8s.io", "kind": "Gateway", "namespace": "shop", "name": "gw"},
                    "conditions": [{"type": "Accepted", "status": "True"}]}]);
                r
            },
            vec![gw()],
            vec!["www.example.com A 192.0.2.10"],
        ),
        Case::new(
            "a status parent the spec does not name is ignored",
            {
                let mut r = route(&["www.example.com"], &["gw"]);
                r["spec"]["parentRefs"] = json!([{"name": "other"}]);
                r
            },
            vec![gw()],
            vec![],
        ),
        Case::new(
            "a parent of another kind is ignored",
            {
                let mut r = route(&["www.example.com"], &["gw"]);
                r["spec"]["parentRefs"][0]["kind"] = json!("Service");
                r["spec"]["parentRefs"][0]["group"] = json!("");
                r["status"]["parents"][0]["parentRef"]["kind"] = json!("Service");
                r
            },
            vec![gw()],
            vec![],
        ),
        Case::new(
            "Accepted False contributes nothing",
            {
                let mut r = route(&["www.example.com"], &["gw"]);
                r["status"]["parents"][0]["conditions"][0]["status"] = json!("False");
                r
            },
            vec![gw()],
            vec![],
        ),
        Case::new(
            "no Accepted condition contributes nothing",
            {
                let mut r = route(&["www.example.com"], &["gw"]);
                r["status"]["parents"][0]["conditions"] =
                    json!([{"type": "ResolvedRefs", "status": "True"}]);
                r
            },
            vec![gw()],
            vec![],
        ),
        Case::new(
            "a Gateway that is not there contributes nothing",
            route(&["www.example.com"], &["gw"]),
            vec![http_gateway("other", "", "192.0.2.99")],
            vec![],
        ),
        Case::new(
            "sectionName picks one listener",
            {
                let mut r = route(&[], &["gw"]);
                r["spec"]["parentRefs"][0]["sectionName"] = json!("b");
                r["status"]["parents"][0]["parentRef"]["sectionName"] = json!("b");
                r
            },
            vec![gateway(
                "gw",
                &[
                    ("a", "HTTP", 80, "*.a.example.com"),
                    ("b", "HTTP", 80, "*.b.example.com"),
                ],
                &["192.0.2.10"],
            )],
            vec!["*.b.example.com A 192.0.2.10"],
        ),
        Case::new(
            "port picks the listeners on that port",
            {
                let mut r = route(&[], &["gw"]);
                r["spec"]["parentRefs"][0]["port"] = json!(8080);
                r["status"]["parents"][0]["parentRef"]["port"] = json!(8080);
                r
            },
            vec![gateway(
                "gw",
                &[
                    ("a", "HTTP", 80, "a.example.com"),
                    ("b", "HTTP", 8080, "b.example.com"),
                ],
                &["192.0.2.10"],
            )],
            vec!["b.example.com A 192.0.2.10"],
        ),
        Case::new(
            "an HTTPRoute does not attach to a TCP listener",
            route(&["www.example.com"], &["gw"]),
            vec![gateway("gw", &[("tcp", "TCP", 5432, "")], &["192.0.2.10"])],
            vec![],
        ),
        Case::new(
            "an HTTPRoute attaches to an HTTPS listener",
            route(&["www.example.com"], &["gw"]),
            vec![gateway("gw", &[("https", "HTTPS", 443, "")], &["192.0.2.10"])],
            vec!["www.example.com A 192.0.2.10"],
        ),
        Case::new(
            "a GRPCRoute needs an HTTPS listener",
            route(&["grpc.example.com"], &["gw"]),
            vec![gateway(
                "gw",
                &[("http", "HTTP", 80, ""), ("https", "HTTPS", 443, "grpc.example.com")],
                &["192.0.2.10"],
            )],
            vec!["grpc.example.com A 192.0.2.10"],
        )
        .kind(RouteKind::Grpc),
        Case::new(
            "a GRPCRoute does not attach to an HTTP listener",
            route(&["grpc.example.com"], &["gw"]),
            vec![gw()],
            vec![],
        )
        .kind(RouteKind::Grpc),
        Case::new(
            "a TLSRoute needs a TLS listener",
            route(&["tls.example.com"], &["gw"]),
            vec![gateway("gw", &[("tls", "TLS", 443, "*.example.com")], &["192.0.2.10"])],
            vec!["tls.example.com A 192.0.2.10"],
        )
        .kind(RouteKind::Tls),
        Case::new(
            "a TCPRoute takes its names from the annotation only, on a TLS listener too",
            with_annotation(route(&["ignored.example.com"], &["gw"]), "hostname", "db.example.com"),
            vec![gateway("gw", &[("tls", "TLS", 5432, "")], &["192.0.2.10"])],
            vec!["db.example.com A 192.0.2.10"],
        )
        .kind(RouteKind::Tcp),
        Case::new(
            "a UDPRoute without the annotation asks for nothing",
            route(&[], &["gw"]),
            vec![gateway("gw", &[("dns", "UDP", 53, "")], &["192.0.2.10"])],
            vec![],
        )
        .kind(RouteKind::Udp),
        Case::new(
            "a UDPRoute with the annotation on a UDP listener",
            with_annotation(route(&[], &["gw"]), "hostname", "dns.example.com"),
            vec![gateway("gw", &[("dns", "UDP", 53, "")], &["192.0.2.10"])],
            vec!["dns.example.com A 192.0.2.10"],
        )
        .kind(RouteKind::Udp),
        Case::new(
            "a UDPRoute does not attach to a TCP listener",
            with_annotation(route(&[], &["gw"]), "hostname", "dns.example.com"),
            vec![gateway("gw", &[("dns", "TCP", 53, "")], &["192.0.2.10"])],
            vec![],
        )
        .kind(RouteKind::Udp),
        Case::new(
            "allowedRoutes defaults to Same: another namespace's Gateway does not admit",
            route(&["www.example.com"], &["infra/gw"]),
            vec![http_gateway("infra/gw", "", "192.0.2.10")],
            vec![],
        ),
        Case::new(
            "allowedRoutes All admits any namespace",
            route(&["www.example.com"], &["infra/gw"]),
            vec![with_listener(
                http_gateway("infra/gw", "", "192.0.2.10"),
                0,
                "allowedRoutes",
                json!({"namespaces": {"from": "All"}}),
            )],
            vec!["www.example.com A 192.0.2.10"],
        ),
        Case::new(
            "allowedRoutes Selector admits namespaces whose labels match",
            route(&["www.example.com"], &["infra/gw"]),
            vec![with_listener(
                http_gateway("infra/gw", "", "192.0.2.10"),
                0,
                "allowedRoutes",
                json!({"namespaces": {"from": "Selector", "selector": {"matchLabels": {"expose": "yes"}}}}),
            )],
            vec!["www.example.com A 192.0.2.10"],
        )
        .namespace("shop", &[("expose", "yes")]),
        Case::new(
            "allowedRoutes Selector refuses namespaces whose labels do not match",
            route(&["www.example.com"], &["infra/gw"]),
            vec![with_listener(
                http_gateway("infra/gw", "", "192.0.2.10"),
                0,
                "allowedRoutes",
                json!({"namespaces": {"from": "Selector", "selector": {"matchExpressions": [{"key": "expose", "operator": "In", "values": ["yes"]}]}}}),
            )],
            vec![],
        )
        .namespace("shop", &[("expose", "no")]),
        Case::new(
            "allowedRoutes kinds that leave the route's kind out refuse it",
            route(&["www.example.com"], &["gw"]),
            vec![with_listener(
                gw(),
                0,
                "allowedRoutes",
                json!({"kinds": [{"kind": "GRPCRoute"}]}),
            )],
            vec![],
        ),
        Case::new(
            "allowedRoutes kinds that list the route's kind admit it",
            route(&["www.example.com"], &["gw"]),
            vec![with_listener(
                gw(),
                0,
                "allowedRoutes",
                json!({"kinds": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute"}]}),
            )],
            vec!["www.example.com A 192.0.2.10"],
        ),
        Case::new(
            "a wildcard listener keeps the route's more specific names, not its apex",
            route(&["a.example.com", "x.y.example.com", "example.com", "other.org"], &["gw"]),
            vec![http_gateway("gw", "*.example.com", "192.0.2.10")],
            vec!["a.example.com A 192.0.2.10", "x.y.example.com A 192.0.2.10"],
        ),
        Case::new(
            "a wildcard route takes the listener's more specific name",
            route(&["*.example.com"], &["gw"]),
            vec![http_gateway("gw", "shop.example.com", "192.0.2.10")],
            vec!["shop.example.com A 192.0.2.10"],
        ),
        Case::new(
            "a wildcard route does not match the listener's apex",
            route(&["*.example.com"], &["gw"]),
            vec![http_gateway("gw", "example.com", "192.0.2.10")],
            vec![],
        ),
        Case::new(
            "two wildcards: the narrower one wins",
            route(&["*.example.com"], &["gw"]),
            vec![http_gateway("gw", "*.apps.example.com", "192.0.2.10")],
            vec!["*.apps.example.com A 192.0.2.10"],
        ),
        Case::new(
            "a route without host names takes the listener's",
            route(&[], &["gw"]),
            vec![http_gateway("gw", "www.example.com", "192.0.2.10")],
            vec!["www.example.com A 192.0.2.10"],
        ),
        Case::new(
            "neither route nor listener names a host: nothing",
            route(&[], &["gw"]),
            vec![gw()],
            vec![],
        ),
        Case::new(
            "the hostname annotation adds names",
            with_annotation(route(&["www.example.com"], &["gw"]), "hostname", "extra.example.com"),
            vec![gw()],
            vec!["extra.example.com A 192.0.2.10", "www.example.com A 192.0.2.10"],
        ),
        Case::new(
            "gateway-hostname-source annotation-only ignores spec.hostnames",
            with_annotation(
                with_annotation(route(&["www.example.com"], &["gw"]), "hostname", "extra.example.com"),
                "gateway-hostname-source",
                "annotation-only",
            ),
            vec![gw()],
            vec!["extra.example.com A 192.0.2.10"],
        ),
        Case::new(
            "gateway-hostname-source defined-hosts-only ignores the annotation",
            with_annotation(
                with_annotation(route(&["www.example.com"], &["gw"]), "hostname", "extra.example.com"),
                "gateway-hostname-source",
                "defined-hosts-only",
            ),
            vec![gw()],
            vec!["www.example.com A 192.0.2.10"],
        ),
        Case::new(
            "the target annotation on the Gateway replaces its addresses",
            route(&["www.example.com"], &["gw"]),
            vec![with_annotation(gw(), "target", "lb.example.net")],
            vec!["www.example.com CNAME lb.example.net"],
        ),
        Case::new(
            "targets are merged over parents and de-duplicated",
            route(&["www.example.com"], &["gw", "gw2"]),
            vec![
                gateway("gw", &[("http", "HTTP", 80, "")], &["192.0.2.10", "192.0.2.11"]),
                gateway("gw2", &[("http", "HTTP", 80, "")], &["192.0.2.11", "192.0.2.12"]),
            ],
            vec!["www.example.com A 192.0.2.10|192.0.2.11|192.0.2.12"],
        ),
        Case::new(
            "names behind Gateways with different addresses get their own targets",
            route(&["a.example.com", "b.example.com"], &["gw", "gw2"]),
            vec![
                http_gateway("gw", "a.example.com", "192.0.2.10"),
                http_gateway("gw2", "b.example.com", "192.0.2.20"),
            ],
            vec!["a.example.com A 192.0.2.10", "b.example.com A 192.0.2.20"],
        ),
        Case::new(
            "IP addresses and invalid names are skipped with a message",
            route(&["192.0.2.1", "bad_name!.example.com", "www.example.com"], &["gw"]),
            vec![gw()],
            vec!["www.example.com A 192.0.2.10"],
        )
        .skipped(&["spec.hostnames[0]", "spec.hostnames[1]"]),
        Case::new(
            "--gateway-name keeps only parents of that name",
            route(&["www.example.com"], &["gw", "gw2"]),
            vec![
                http_gateway("gw", "", "192.0.2.10"),
                http_gateway("gw2", "", "192.0.2.20"),
            ],
            vec!["www.example.com A 192.0.2.20"],
        )
        .config(SourceConfig {
            gateway: GatewayFilter {
                name: Some("gw2".into()),
                ..GatewayFilter::default()
            },
            ..SourceConfig::default()
        }),
        Case::new(
            "--gateway-namespace leaves other namespaces' Gateways out",
            route(&["www.example.com"], &["gw"]),
            vec![gw()],
            vec![],
        )
        .config(SourceConfig {
            gateway: GatewayFilter {
                namespace: Some("infra".into()),
                ..GatewayFilter::default()
            },
            ..SourceConfig::default()
        }),
        Case::new(
            "--gateway-label-filter leaves unlabelled Gateways out",
            route(&["www.example.com"], &["gw"]),
            vec![gw()],
            vec![],
        )
        .config(SourceConfig {
            gateway: GatewayFilter {
                label_selector: Some(LabelSelector::parse("dns=public").unwrap()),
                ..GatewayFilter::default()
            },
            ..SourceConfig::default()
        }),
        Case::new(
            "--label-filter applies to routes",
            route(&["www.example.com"], &["gw"]),
            vec![gw()],
            vec![],
        )
        .config(SourceConfig {
            label_selector: Some(LabelSelector::parse("dns=public").unwrap()),
            ..SourceConfig::default()
        }),
        Case::new(
            "--fqdn-template names a route that names no host",
            route(&[], &["gw"]),
            vec![gw()],
            vec!["web.shop.example.com A 192.0.2.10"],
        )
        .config(templated("{{.Name}}.{{.Namespace}}.example.com", false, false)),
        Case::new(
            "--fqdn-template is not used for a route with host names",
            route(&["www.example.com"], &["gw"]),
            vec![gw()],
            vec!["www.example.com A 192.0.2.10"],
        )
        .config(templated("{{.Name}}.{{.Namespace}}.example.com", false, false)),
        Case::new(
            "--fqdn-template with --combine-fqdn-annotation adds to the route's names",
            with_annotation(route(&["www.example.com"], &["gw"]), "hostname", "extra.example.com"),
            vec![gw()],
            vec![
                "extra.example.com A 192.0.2.10",
                "web.shop.example.com A 192.0.2.10",
                "www.example.com A 192.0.2.10",
            ],
        )
        .config(templated("{{.Name}}.{{.Namespace}}.example.com", true, false)),
        Case::new(
            "--fqdn-template is used although the hostname annotation names a host",
            with_annotation(route(&[], &["gw"]), "hostname", "extra.example.com"),
            vec![gw()],
            vec!["extra.example.com A 192.0.2.10", "web.shop.example.com A 192.0.2.10"],
        )
        .config(templated("{{.Name}}.{{.Namespace}}.example.com", false, false)),
        Case::new(
            "template names are narrowed by the listener's host name like others",
            route(&[], &["gw"]),
            vec![http_gateway("gw", "*.apps.example.com", "192.0.2.10")],
            // The route names no host, so it also takes the listener's.
            vec!["*.apps.example.com A 192.0.2.10", "web.apps.example.com A 192.0.2.10"],
        )
        .config(templated(
            "{{.Name}}.apps.example.com,{{.Name}}.other.example.com",
            false,
            false,
        )),
        Case::new(
            "--fqdn-template sees the route's kind, labels and parents",
            with_annotation(route(&[], &["infra/gw"]), "team", "payments"),
            vec![with_listener(
                gateway("infra/gw", &[("tcp", "TCP", 5432, "")], &["192.0.2.10"]),
                0,
                "allowedRoutes",
                json!({"namespaces": {"from": "All"}}),
            )],
            vec!["tcproute-web.payments.gw.example.com A 192.0.2.10"],
        )
        .kind(RouteKind::Tcp)
        .config(templated(
            r#"{{.Kind | toLower}}-{{.Name}}.{{index .Annotations "external-dns.kubernetes.io/team"}}.{{(index .Spec.ParentRefs 0).Name}}.example.com"#,
            false,
            false,
        )),
        Case::new(
            "--ignore-hostname-annotation leaves the hostname annotation unread",
            with_annotation(route(&[], &["gw"]), "hostname", "extra.example.com"),
            vec![gw()],
            vec!["web.shop.example.com A 192.0.2.10"],
        )
        .config(templated("{{.Name}}.{{.Namespace}}.example.com", false, true)),
        Case::new(
            "--ignore-hostname-annotation leaves a TCP route only the template's names",
            with_annotation(route(&[], &["gw"]), "hostname", "db.example.com"),
            vec![gateway("gw", &[("tcp", "TCP", 5432, "")], &["192.0.2.10"])],
            vec!["web.tcp.example.com A 192.0.2.10"],
        )
        .kind(RouteKind::Tcp)
        .config(templated("{{.Name}}.tcp.example.com", false, true)),
        Case::new(
            "annotation-only takes no template names",
            with_annotation(
                with_annotation(route(&[], &["gw"]), "hostname", "extra.example.com"),
                "gateway-hostname-source",
                "annotation-only",
            ),
            vec![gw()],
            vec!["extra.example.com A 192.0.2.10"],
        )
        .config(templated("{{.Name}}.{{.Namespace}}.example.com", true, false)),
        Case::new(
            "annotation-only with --ignore-hostname-annotation names nothing",
            with_annotation(
                with_annotation(route(&["www.example.com"], &["gw"]), "hostname", "extra.example.com"),
                "gateway-hostname-source",
                "annotation-only",
            ),
            vec![gw()],
            vec![],
        )
        .config(templated("{{.Name}}.{{.Namespace}}.example.com", false, true)),
        Case::new(
            "defined-hosts-only takes the template's names, not the listener's",
            with_annotation(route(&[], &["gw"]), "gateway-hostname-source", "defined-hosts-only"),
            vec![http_gateway("gw", "*.example.com", "192.0.2.10")],
            vec!["web.shop.example.com A 192.0.2.10"],
        )
        .config(templated("{{.Name}}.{{.Namespace}}.example.com", false, false)),
        Case::new(
            "without defined-hosts-only the listener's name is added to the template's",
            route(&[], &["gw"]),
            vec![http_gateway("gw", "*.example.com", "192.0.2.10")],
            vec!["*.example.com A 192.0.2.10", "web.shop.example.com A 192.0.2.10"],
        )
        .config(templated("{{.Name}}.{{.Namespace}}.example.com", false, false)),
        Case::new(
            "defined-hosts-only without host names or template names nothing",
            with_annotation(route(&[], &["gw"]), "gateway-hostname-source", "defined-hosts-only"),
            vec![http_gateway("gw", "listener.example.com", "192.0.2.10")],
            vec![],
        ),
        Case::new(
            "a template failing on the route is reported with the route",
            route(&[], &["gw"]),
            vec![gw()],
            vec![],
        )
        .config(templated("{{trim .Name .Namespace}}", false, false))
        .skipped(&["--fqdn-template"]),
        Case::new(
            "the controller annotation for someone else leaves the route out",
            with_annotation(route(&["www.example.com"], &["gw"]), "controller", "other"),
            vec![gw()],
            vec![],
        ),
    ]
}

#[test]
fn route_conversion_table() {
    for case in cases() {
        let outcome = case.run();
        assert_eq!(endpoints(&outcome), case.want, "case: {}", case.name);
        let reasons: Vec<String> = outcome.skipped.iter().map(ToString::to_string).collect();
        assert_eq!(
            reasons.len(),
            case.skipped.len(),
            "case: {}: {reasons:?}",
            case.name
        );
        for (reason, want) in reasons.iter().zip(&case.skipped) {
            assert!(reason.contains(want), "case: {}: {reason}", case.name);
            assert!(reason.starts_with("httproute/shop/web"), "{reason}");
        }
    }
}

#[test]
fn markers_name_the_route_kind() {
    for (kind, label) in [
        (RouteKind::Http, "httproute/shop/web"),
        (RouteKind::Grpc, "grpcroute/shop/web"),
        (RouteKind::Tls, "tlsroute/shop/web"),
        (RouteKind::Tcp, "tcproute/shop/web"),
        (RouteKind::Udp, "udproute/shop/web"),
    ] {
        let protocol = match kind {
            RouteKind::Http | RouteKind::Grpc => "HTTPS",
            RouteKind::Tls => "TLS",
            RouteKind::Tcp => "TCP",
            RouteKind::Udp => "UDP",
        };
        let case = Case::new(
            "kind",
            with_annotation(
                route(&["www.example.com"], &["gw"]),
                "hostname",
                "www.example.com",
            ),
            vec![gateway("gw", &[("l", protocol, 443, "")], &["192.0.2.10"])],
            vec![],
        )
        .kind(kind);
        let outcome = case.run();
        let endpoints = outcome.claim.as_ref().unwrap().endpoints();
        assert_eq!(endpoints.len(), 1, "{kind:?}");
        assert_eq!(endpoints[0].resource(), Some(label));
    }
}

#[test]
fn ttl_set_identifier_and_properties_come_from_the_route() {
    let mut r = with_annotation(route(&["www.example.com"], &["gw"]), "ttl", "60");
    r = with_annotation(r, "set-identifier", "blue");
    r = with_annotation(r, "aws-weight", "10");
    let gateway = with_annotation(http_gateway("gw", "", "192.0.2.10"), "ttl", "999");
    let outcome = Case::new("ttl", r, vec![gateway], vec![]).run();
    let endpoint = &outcome.claim.as_ref().unwrap().endpoints()[0];
    assert_eq!(endpoint.ttl, Some(60));
    assert_eq!(endpoint.set_identifier.as_deref(), Some("blue"));
    assert_eq!(endpoint.properties.get("aws/weight").unwrap(), "10");
    let created = outcome.claim.as_ref().unwrap().created;
    assert!(created.is_some());
}

#[test]
fn a_gateway_without_addresses_leaves_the_route_targetless() {
    let outcome = Case::new(
        "no address",
        route(&["www.example.com"], &["gw"]),
        vec![gateway("gw", &[("http", "HTTP", 80, "")], &[])],
        vec![],
    )
    .run();
    let claim = outcome.claim.as_ref().unwrap();
    assert_eq!(claim.names.len(), 1);
    assert!(
        claim.is_targetless(),
        "kept for the grace period, not deleted"
    );
}

#[test]
fn bad_hostname_source_skips_the_route_whole() {
    let outcome = Case::new(
        "bad source",
        with_annotation(
            route(&["www.example.com"], &["gw"]),
            "gateway-hostname-source",
            "both",
        ),
        vec![http_gateway("gw", "", "192.0.2.10")],
        vec![],
    )
    .run();
    assert!(outcome.is_skipped_whole());
    assert!(
        outcome.skipped[0]
            .to_string()
            .contains("gateway-hostname-source")
    );
}

#[test]
fn matching_is_symmetric_and_picks_the_specific_name() {
    let name = |s: &str| DnsName::parse(s).unwrap();
    let cases = [
        ("*.example.com", "a.example.com", Some("a.example.com")),
        ("a.example.com", "*.example.com", Some("a.example.com")),
        ("*.example.com", "example.com", None),
        ("example.com", "*.example.com", None),
        ("*.example.com", "*.example.com", Some("*.example.com")),
        ("*.example.com", "b.a.example.com", Some("b.a.example.com")),
        ("a.example.com", "b.example.com", None),
        ("*.example.com", "a.example.org", None),
        ("*.example.com", "aexample.com", None),
    ];
    for (listener, route, want) in cases {
        assert_eq!(
            matching_host(Some(&name(listener)), Some(&name(route))).map(|n| n.to_string()),
            want.map(String::from),
            "{listener} x {route}"
        );
    }
    assert_eq!(matching_host(None, None), None);
}

#[test]
fn attached_gateways_come_from_spec_and_status() {
    let mut r: Route =
        serde_json::from_value(route(&["a.example.com"], &["gw", "infra/edge"])).unwrap();
    r.status
        .parents
        .push(serde_json::from_value(json!({"parentRef": {"name": "late"}})).unwrap());
    let attached: Vec<String> = attached_gateways(&r)
        .into_iter()
        .map(|(ns, name)| format!("{ns}/{name}"))
        .collect();
    assert_eq!(attached, ["infra/edge", "shop/gw", "shop/late"]);
}

#[test]
fn needs_namespaces_only_for_selector_listeners() {
    let config = SourceConfig::default();
    let mut set = GatewaySet::new();
    set.upsert(
        serde_json::from_value(http_gateway("gw", "", "192.0.2.1")).unwrap(),
        &config,
    );
    assert!(!set.needs_namespaces());
    set.upsert(
        serde_json::from_value(with_listener(
            http_gateway("gw2", "", "192.0.2.1"),
            0,
            "allowedRoutes",
            json!({"namespaces": {"from": "Selector"}}),
        ))
        .unwrap(),
        &config,
    );
    assert!(set.needs_namespaces());
}

fn gateway_object(value: Value) -> GatewayObject {
    serde_json::from_value(value).unwrap()
}

fn route_object(value: Value) -> Route {
    serde_json::from_value(value).unwrap()
}

fn named(mut value: Value, name: &str) -> Value {
    value["metadata"]["name"] = json!(name);
    value
}

#[test]
fn route_table_publishes_only_once_gateways_are_listed() {
    let config = SourceConfig::default();
    let mut table = RouteTable::new();
    table.routes_listed(
        RouteKind::Http,
        vec![route_object(route(&["www.example.com"], &["gw"]))],
    );
    assert!(table.drain(&config).is_empty(), "no Gateways yet: nothing");
    table.gateways_listed(
        vec![gateway_object(http_gateway("gw", "", "192.0.2.1"))],
        &config,
    );
    let publish = table.drain(&config);
    assert_eq!(publish.replace.len(), 1);
    let (kind, outcomes) = &publish.replace[0];
    assert_eq!(*kind, ResourceKind::HttpRoute);
    assert_eq!(endpoints(&outcomes[0]), ["www.example.com A 192.0.2.1"]);
    assert!(table.drain(&config).is_empty(), "drained");
}

#[test]
fn route_table_recomputes_only_routes_attached_to_a_changed_gateway() {
    let config = SourceConfig::default();
    let mut table = RouteTable::new();
    table.gateways_listed(
        vec![
            gateway_object(http_gateway("gw", "", "192.0.2.1")),
            gateway_object(http_gateway("gw2", "", "192.0.2.2")),
        ],
        &config,
    );
    table.routes_listed(
        RouteKind::Http,
        vec![
            route_object(named(route(&["a.example.com"], &["gw"]), "a")),
            route_object(named(route(&["b.example.com"], &["gw2"]), "b")),
        ],
    );
    table.drain(&config);
    table.gateway_applied(gateway_object(http_gateway("gw", "", "192.0.2.9")), &config);
    let publish = table.drain(&config);
    assert!(publish.replace.is_empty());
    assert_eq!(publish.upsert.len(), 1);
    assert_eq!(publish.upsert[0].resource.name, "a");
    assert_eq!(endpoints(&publish.upsert[0]), ["a.example.com A 192.0.2.9"]);

    // A route edit re-plans that route; its deletion names it for removal.
    table.route_applied(
        RouteKind::Http,
        route_object(named(route(&["c.example.com"], &["gw2"]), "b")),
    );
    let publish = table.drain(&config);
    assert_eq!(endpoints(&publish.upsert[0]), ["c.example.com A 192.0.2.2"]);
    let removed = table.route_deleted(
        RouteKind::Http,
        &route_object(named(route(&[], &["gw2"]), "b")),
    );
    assert_eq!(removed, "httproute/shop/b");
    table.gateway_deleted(&gateway_object(http_gateway("gw2", "", "192.0.2.2")));
    assert!(table.drain(&config).is_empty(), "no route left on gw2");
    table.gateway_deleted(&gateway_object(http_gateway("gw", "", "192.0.2.2")));
    let publish = table.drain(&config);
    assert_eq!(publish.upsert.len(), 1);
    assert!(
        endpoints(&publish.upsert[0]).is_empty(),
        "gw gone: a asks for nothing"
    );
}

#[test]
fn route_table_waits_for_namespaces_when_a_listener_selects_by_label() {
    let config = SourceConfig::default();
    let mut table = RouteTable::new();
    let selector_gateway = with_listener(
        http_gateway("infra/gw", "", "192.0.2.1"),
        0,
        "allowedRoutes",
        json!({"namespaces": {"from": "Selector", "selector": {"matchLabels": {"expose": "yes"}}}}),
    );
    table.routes_listed(
        RouteKind::Http,
        vec![route_object(route(&["www.example.com"], &["infra/gw"]))],
    );
    table.gateways_listed(vec![gateway_object(selector_gateway)], &config);
    assert!(table.needs_namespaces());
    assert!(table.drain(&config).is_empty(), "namespaces not listed yet");
    table.namespaces_listed(
        [(
            "shop".to_string(),
            [("expose".to_string(), "yes".to_string())].into(),
        )]
        .into(),
    );
    let publish = table.drain(&config);
    assert_eq!(
        endpoints(&publish.replace[0].1[0]),
        ["www.example.com A 192.0.2.1"]
    );
    table.namespace_changed("shop", Some(BTreeMap::new()));
    let publish = table.drain(&config);
    assert!(
        endpoints(&publish.upsert[0]).is_empty(),
        "label gone: not admitted"
    );
}
