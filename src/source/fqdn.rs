//! `--fqdn-template`: host names made from an object with a Go text/template, as external-dns
//! does it (`source/fqdn`).
//!
//! The template runs over the object with Go's field names, as external-dns's templates see the
//! Kubernetes types: `.Name`, `.Namespace`, `.Kind`, `.Labels`, `.Annotations` (and the same
//! under `.ObjectMeta`), `.Spec` and `.Status.LoadBalancer.Ingress` (each with `.IP` and
//! `.Hostname`). Service specs carry `.Type`, `.ClusterIP`, `.ClusterIPs`, `.ExternalIPs`,
//! `.ExternalName`, `.LoadBalancerIP` and `.Ports` (`.Name`, `.Port`, `.Protocol`,
//! `.NodePort`); Ingress specs `.IngressClassName`, `.Rules` (`.Host`) and `.TLS` (`.Hosts`,
//! `.SecretName`). Gateway API routes (`HTTPRoute`, `GRPCRoute`, `TLSRoute`, `TCPRoute`,
//! `UDPRoute`) carry `.Spec.Hostnames`, `.Spec.ParentRefs` (`.Group`, `.Kind`, `.Namespace`,
//! `.Name`, `.SectionName`, `.Port`) and `.Status.Parents` (`.ParentRef`, `.Conditions` with
//! `.Type` and `.Status`). Go's builtins (`index`, `range`, `if`, `eq`, `printf`, …) work, plus
//! external-dns's functions `contains`, `trimPrefix`, `trimSuffix`, `trim`, `toLower`,
//! `replace`, `isIPv4`, `isIPv6` and `hasKey`.
//!
//! The output is split at commas; each piece, trimmed and without a trailing dot, is a host
//! name. Empty pieces are dropped.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use gtmpl_ng::{Context, FuncError, Template, Value};
use k8s_openapi::api::core::v1::{LoadBalancerStatus, Service};
use k8s_openapi::api::networking::v1::{Ingress, IngressLoadBalancerStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::gateway_api::{ParentReference, Route, RouteKind};

/// A parsed `--fqdn-template`.
#[derive(Clone)]
pub struct FqdnTemplate {
    text: String,
    template: Arc<Template>,
}

impl std::fmt::Debug for FqdnTemplate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("FqdnTemplate").field(&self.text).finish()
    }
}

impl PartialEq for FqdnTemplate {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

/// external-dns's template functions (`source/fqdn/fqdn.go`).
const FUNCTIONS: &[(&str, gtmpl_ng::Func)] = &[
    ("contains", contains),
    ("trimPrefix", trim_prefix),
    ("trimSuffix", trim_suffix),
    ("trim", trim),
    ("toLower", to_lower),
    ("replace", replace),
    ("isIPv4", is_ipv4),
    ("isIPv6", is_ipv6),
    ("hasKey", has_key),
];

/// A `--fqdn-template` that does not parse, or that fails on an object.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FqdnError {
    /// The template text does not parse.
    #[error("--fqdn-template {text:?} does not parse: {message}")]
    Parse {
        /// The template.
        text: String,
        /// The template engine's message.
        message: String,
    },
    /// The template cannot be executed on an object.
    #[error("{0}")]
    Render(String),
}

impl FqdnTemplate {
    /// Parses `text`.
    ///
    /// Fails with a message naming the template when it does not parse.
    pub fn parse(text: &str) -> Result<Self, FqdnError> {
        let mut template = Template::default();
        template.add_funcs(FUNCTIONS);
        template.parse(text).map_err(|e| FqdnError::Parse {
            text: text.to_string(),
            message: e.to_string(),
        })?;
        Ok(Self {
            text: text.to_string(),
            template: Arc::new(template),
        })
    }

    /// The host names the template makes for an object (`context` from [`ingress_context`],
    /// [`service_context`] or [`route_context`]), as written: not yet validated.
    ///
    /// Fails when the template cannot be executed on this object (a function given the wrong
    /// arguments, a field of something that is not an object).
    pub fn names(&self, context: Value) -> Result<Vec<String>, FqdnError> {
        let output = self
            .template
            .render(&Context::from(context))
            .map_err(|e| FqdnError::Render(e.to_string()))?;
        Ok(output
            .split(',')
            .map(|name| name.trim().trim_end_matches('.').to_string())
            .filter(|name| !name.is_empty())
            .collect())
    }

    /// The template text.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

fn object(fields: impl IntoIterator<Item = (&'static str, Value)>) -> Value {
    Value::Object(
        fields
            .into_iter()
            .map(|(key, value)| (key.to_string(), value))
            .collect(),
    )
}

fn string(value: Option<&String>) -> Value {
    Value::String(value.cloned().unwrap_or_default())
}

fn strings(values: Option<&Vec<String>>) -> Value {
    Value::Array(
        values
            .into_iter()
            .flatten()
            .map(|v| Value::String(v.clone()))
            .collect(),
    )
}

fn map(values: Option<&BTreeMap<String, String>>) -> Value {
    Value::Map(
        values
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect::<HashMap<_, _>>(),
    )
}

/// The fields every object has: `.Name`, `.Namespace`, `.Labels`, `.Annotations`, `.Kind`,
/// both promoted and under `.ObjectMeta` as Go's embedding allows.
fn with_meta(kind: &str, meta: &ObjectMeta, mut fields: Vec<(&'static str, Value)>) -> Value {
    let meta_fields = [
        ("Name", string(meta.name.as_ref())),
        ("Namespace", string(meta.namespace.as_ref())),
        ("Labels", map(meta.labels.as_ref())),
        ("Annotations", map(meta.annotations.as_ref())),
        ("UID", string(meta.uid.as_ref())),
    ];
    fields.extend(meta_fields.iter().cloned());
    fields.push(("ObjectMeta", object(meta_fields)));
    fields.push(("Kind", Value::String(kind.to_string())));
    object(fields)
}

fn load_balancer<'a>(
    entries: impl Iterator<Item = (Option<&'a String>, Option<&'a String>)>,
) -> Value {
    let ingress = entries
        .map(|(ip, hostname)| object([("IP", string(ip)), ("Hostname", string(hostname))]))
        .collect();
    object([("LoadBalancer", object([("Ingress", Value::Array(ingress))]))])
}

/// The template's view of an Ingress.
pub fn ingress_context(ingress: &Ingress) -> Value {
    let spec = ingress.spec.as_ref();
    let rules = spec
        .and_then(|s| s.rules.as_ref())
        .into_iter()
        .flatten()
        .map(|rule| object([("Host", string(rule.host.as_ref()))]))
        .collect();
    let tls = spec
        .and_then(|s| s.tls.as_ref())
        .into_iter()
        .flatten()
        .map(|tls| {
            object([
                ("Hosts", strings(tls.hosts.as_ref())),
                ("SecretName", string(tls.secret_name.as_ref())),
            ])
        })
        .collect();
    let status = ingress
        .status
        .as_ref()
        .and_then(|s| s.load_balancer.as_ref())
        .and_then(|lb: &IngressLoadBalancerStatus| lb.ingress.as_ref())
        .into_iter()
        .flatten()
        .map(|e| (e.ip.as_ref(), e.hostname.as_ref()));
    with_meta(
        "Ingress",
        &ingress.metadata,
        vec![
            (
                "Spec",
                object([
                    (
                        "IngressClassName",
                        string(spec.and_then(|s| s.ingress_class_name.as_ref())),
                    ),
                    ("Rules", Value::Array(rules)),
                    ("TLS", Value::Array(tls)),
                ]),
            ),
            ("Status", load_balancer(status)),
        ],
    )
}

/// The template's view of a Service.
pub fn service_context(service: &Service) -> Value {
    let spec = service.spec.as_ref();
    let ports = spec
        .and_then(|s| s.ports.as_ref())
        .into_iter()
        .flatten()
        .map(|port| {
            object([
                ("Name", string(port.name.as_ref())),
                ("Port", Value::from(i64::from(port.port))),
                ("Protocol", string(port.protocol.as_ref())),
                (
                    "NodePort",
                    Value::from(i64::from(port.node_port.unwrap_or(0))),
                ),
            ])
        })
        .collect();
    let status = service
        .status
        .as_ref()
        .and_then(|s| s.load_balancer.as_ref())
        .and_then(|lb: &LoadBalancerStatus| lb.ingress.as_ref())
        .into_iter()
        .flatten()
        .map(|e| (e.ip.as_ref(), e.hostname.as_ref()));
    with_meta(
        "Service",
        &service.metadata,
        vec![
            (
                "Spec",
                object([
                    ("Type", string(spec.and_then(|s| s.type_.as_ref()))),
                    (
                        "ClusterIP",
                        string(spec.and_then(|s| s.cluster_ip.as_ref())),
                    ),
                    (
                        "ClusterIPs",
                        strings(spec.and_then(|s| s.cluster_ips.as_ref())),
                    ),
                    (
                        "ExternalIPs",
                        strings(spec.and_then(|s| s.external_ips.as_ref())),
                    ),
                    (
                        "ExternalName",
                        string(spec.and_then(|s| s.external_name.as_ref())),
                    ),
                    (
                        "LoadBalancerIP",
                        string(spec.and_then(|s| s.load_balancer_ip.as_ref())),
                    ),
                    ("Ports", Value::Array(ports)),
                ]),
            ),
            ("Status", load_balancer(status)),
        ],
    )
}

/// The template's view of a Gateway API route of `kind`.
pub fn route_context(route: &Route, kind: RouteKind) -> Value {
    let optional = |value: Option<&String>| string(value);
    let parent_ref = |reference: &ParentReference| {
        object([
            ("Group", optional(reference.group.as_ref())),
            ("Kind", optional(reference.kind.as_ref())),
            ("Namespace", optional(reference.namespace.as_ref())),
            ("Name", Value::String(reference.name.clone())),
            ("SectionName", optional(reference.section_name.as_ref())),
            (
                "Port",
                Value::from(i64::from(reference.port.unwrap_or_default())),
            ),
        ])
    };
    let hostnames = if kind.has_hostnames() {
        Some(&route.spec.hostnames)
    } else {
        None
    };
    let parent_refs = route.spec.parent_refs.iter().map(parent_ref).collect();
    let parents = route
        .status
        .parents
        .iter()
        .map(|parent| {
            let conditions = parent
                .conditions
                .iter()
                .map(|c| {
                    object([
                        ("Type", Value::String(c.type_.clone())),
                        ("Status", Value::String(c.status.clone())),
                    ])
                })
                .collect();
            object([
                ("ParentRef", parent_ref(&parent.parent_ref)),
                ("Conditions", Value::Array(conditions)),
            ])
        })
        .collect();
    with_meta(
        kind.kind(),
        &route.metadata,
        vec![
            (
                "Spec",
                object([
                    ("Hostnames", strings(hostnames)),
                    ("ParentRefs", Value::Array(parent_refs)),
                ]),
            ),
            ("Status", object([("Parents", Value::Array(parents))])),
        ],
    )
}

fn text_args<const N: usize>(name: &str, args: &[Value]) -> Result<[String; N], FuncError> {
    if args.len() != N {
        return Err(FuncError::ExactlyXArgs(name.to_string(), N));
    }
    let mut out: [String; N] = std::array::from_fn(|_| String::new());
    for (slot, arg) in out.iter_mut().zip(args) {
        *slot = match arg {
            Value::String(s) => s.clone(),
            Value::NoValue | Value::Nil => String::new(),
            _ => return Err(FuncError::UnableToConvertFromValue),
        };
    }
    Ok(out)
}

fn contains(args: &[Value]) -> Result<Value, FuncError> {
    let [text, part] = text_args("contains", args)?;
    Ok(Value::Bool(text.contains(&part)))
}

fn trim_prefix(args: &[Value]) -> Result<Value, FuncError> {
    let [text, prefix] = text_args("trimPrefix", args)?;
    Ok(Value::String(
        text.strip_prefix(&prefix).unwrap_or(&text).to_string(),
    ))
}

fn trim_suffix(args: &[Value]) -> Result<Value, FuncError> {
    let [text, suffix] = text_args("trimSuffix", args)?;
    Ok(Value::String(
        text.strip_suffix(&suffix).unwrap_or(&text).to_string(),
    ))
}

fn trim(args: &[Value]) -> Result<Value, FuncError> {
    let [text] = text_args("trim", args)?;
    Ok(Value::String(text.trim().to_string()))
}

fn to_lower(args: &[Value]) -> Result<Value, FuncError> {
    let [text] = text_args("toLower", args)?;
    Ok(Value::String(text.to_lowercase()))
}

/// `replace OLD NEW TEXT`, so that `{{ .Name | replace "-" "." }}` works as in external-dns.
fn replace(args: &[Value]) -> Result<Value, FuncError> {
    let [old, new, text] = text_args("replace", args)?;
    Ok(Value::String(text.replace(&old, &new)))
}

fn is_ipv4(args: &[Value]) -> Result<Value, FuncError> {
    let [text] = text_args("isIPv4", args)?;
    Ok(Value::Bool(text.parse::<std::net::Ipv4Addr>().is_ok()))
}

fn is_ipv6(args: &[Value]) -> Result<Value, FuncError> {
    let [text] = text_args("isIPv6", args)?;
    Ok(Value::Bool(text.parse::<std::net::Ipv6Addr>().is_ok()))
}

fn has_key(args: &[Value]) -> Result<Value, FuncError> {
    if args.len() != 2 {
        return Err(FuncError::ExactlyXArgs("hasKey".into(), 2));
    }
    let Value::String(key) = &args[1] else {
        return Err(FuncError::UnableToConvertFromValue);
    };
    Ok(Value::Bool(match &args[0] {
        Value::Map(m) | Value::Object(m) => m.contains_key(key),
        _ => false,
    }))
}

/// Adds the template's host names for an object to `names` when a template is configured and
/// the object named none itself (or always, with `--combine-fqdn-annotation`). Names that are
/// not valid host names, and a template that fails on this object, are skipped and reported
/// with the object.
pub(super) fn push_template_names(
    config: &super::SourceConfig,
    resource: &super::ResourceRef,
    context: impl FnOnce() -> Value,
    names: &mut Vec<zonesync_core::DnsName>,
    skipped: &mut Vec<super::SkippedInput>,
) {
    let Some(template) = &config.fqdn_template else {
        return;
    };
    if !config.combine_fqdn_annotation && !names.is_empty() {
        return;
    }
    match template.names(context()) {
        Ok(hosts) => {
            for host in hosts {
                super::annotations::push_hostname(
                    resource,
                    "--fqdn-template",
                    &host,
                    names,
                    skipped,
                );
            }
        }
        Err(error) => skipped.push(super::SkippedInput::new(
            resource,
            "--fqdn-template",
            template.as_str(),
            format!("the template fails on this object: {error}"),
            super::SkipScope::Hostname,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service() -> Service {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "web-api", "namespace": "shop",
                         "labels": {"team": "payments", "tier": "front"},
                         "annotations": {"dns/zone": "example.com"}},
            "spec": {"type": "LoadBalancer", "clusterIP": "10.0.0.9",
                     "ports": [{"name": "https", "port": 443, "protocol": "TCP"}]},
            "status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.10"}, {"hostname": "lb.example.net"}]}}
        }))
        .unwrap()
    }

    fn names(template: &str) -> Vec<String> {
        FqdnTemplate::parse(template)
            .unwrap()
            .names(service_context(&service()))
            .unwrap()
    }

    #[test]
    fn fields_labels_and_annotations() {
        assert_eq!(
            names("{{.Name}}.{{.Namespace}}.example.com"),
            ["web-api.shop.example.com"]
        );
        assert_eq!(
            names("{{.Kind | toLower}}-{{.ObjectMeta.Name}}.example.com"),
            ["service-web-api.example.com"]
        );
        assert_eq!(
            names(r#"{{.Name}}.{{index .Labels "team"}}.{{index .Annotations "dns/zone"}}"#),
            ["web-api.payments.example.com"]
        );
        assert_eq!(
            names(r#"{{if hasKey .Labels "team"}}{{.Name}}.example.com{{end}}"#),
            ["web-api.example.com"]
        );
        assert_eq!(
            names(r#"{{if hasKey .Labels "none"}}{{.Name}}.example.com{{end}}"#),
            Vec::<String>::new()
        );
    }

    #[test]
    fn commas_make_several_names_and_ranges_work() {
        assert_eq!(
            names("{{.Name}}.a.example.com., {{.Name}}.b.example.com"),
            ["web-api.a.example.com", "web-api.b.example.com"]
        );
        assert_eq!(
            names(r#"{{range $k, $v := .Labels}}{{$v}}.example.com,{{end}}"#),
            ["payments.example.com", "front.example.com"]
        );
        assert_eq!(
            names(
                r#"{{range .Status.LoadBalancer.Ingress}}{{if .IP}}{{.IP | replace "." "-"}}.ip.example.com{{end}}{{end}}"#
            ),
            ["192-0-2-10.ip.example.com"]
        );
        assert_eq!(
            names(r#"{{trimSuffix (.Name | replace "-" ".") ".api"}}.example.com"#),
            ["web.example.com"]
        );
        assert_eq!(
            names(r#"{{range .Spec.Ports}}{{.Name}}-{{.Port}}.example.com{{end}}"#),
            ["https-443.example.com"]
        );
    }

    #[test]
    fn piped_values_are_the_last_argument_as_in_go() {
        assert_eq!(
            names(r#"{{"-api" | trimSuffix .Name}}.example.com"#),
            ["web.example.com"]
        );
        assert_eq!(
            names(r#"{{.Name | replace "-" "."}}.example.com"#),
            ["web.api.example.com"]
        );
    }

    #[test]
    fn bad_templates_are_named() {
        let error = FqdnTemplate::parse("{{.Name").unwrap_err().to_string();
        assert!(
            error.starts_with("--fqdn-template \"{{.Name\" does not parse"),
            "{error}"
        );
        let error = FqdnTemplate::parse("{{nosuchfunc .Name}}")
            .unwrap_err()
            .to_string();
        assert!(error.contains("does not parse"), "{error}");
        let failing = FqdnTemplate::parse("{{trim .Name .Namespace}}").unwrap();
        assert!(failing.names(service_context(&service())).is_err());
    }
}
