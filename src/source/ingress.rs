//! Ingress → claim: hosts of `spec.rules` and `spec.tls`, the `hostname` annotation, targets
//! from the `target` annotation or the load balancer status.

use k8s_openapi::api::networking::v1::Ingress;

use super::annotations::{
    annotation_field, parse_hostnames, push_hostname, push_status_targets, read_common,
    single_cname_target, too_many_names,
};
use super::{ObjectOutcome, ResourceKind, ResourceRef, SkipScope, SkippedInput, SourceConfig};

/// Legacy annotation naming the ingress class, used when `spec.ingressClassName` is unset.
pub const LEGACY_CLASS_ANNOTATION: &str = "kubernetes.io/ingress.class";

/// Converts one Ingress into what it asks for.
pub fn convert(ingress: &Ingress, config: &SourceConfig) -> ObjectOutcome {
    let meta = &ingress.metadata;
    let resource = ResourceRef {
        kind: ResourceKind::Ingress,
        namespace: meta.namespace.clone().unwrap_or_else(|| "default".into()),
        name: meta.name.clone().unwrap_or_default(),
    };
    let empty = Default::default();
    let annotations = meta.annotations.as_ref().unwrap_or(&empty);
    let labels = meta.labels.as_ref().unwrap_or(&empty);

    let selected = config.selects(&resource.namespace, labels, annotations);
    let spec = ingress.spec.as_ref();
    let class = spec
        .and_then(|s| s.ingress_class_name.as_deref())
        .or_else(|| annotations.get(LEGACY_CLASS_ANNOTATION).map(String::as_str));
    let class_match = config.ingress_classes.is_empty()
        || class.is_some_and(|c| config.ingress_classes.iter().any(|want| want == c));
    if !(selected && class_match) {
        return ObjectOutcome::not_selected(resource);
    }

    let prefixes = &config.annotation_prefixes;
    let mut common = match read_common(&resource, annotations, prefixes) {
        Ok(common) => common,
        Err(outcome) => return *outcome,
    };
    let mut skipped = Vec::new();

    let (use_spec, use_annotation) = match prefixes.get(annotations, "ingress-hostname-source") {
        None => (true, true),
        Some((_, "defined-hosts-only")) => (true, false),
        Some((_, "annotation-only")) => (false, true),
        Some((key, other)) => {
            let mut outcome = ObjectOutcome::not_selected(resource.clone());
            outcome.selected = true;
            outcome.skipped.push(SkippedInput::new(
                &resource,
                annotation_field(&key),
                other,
                "must be defined-hosts-only or annotation-only",
                SkipScope::Object,
            ));
            return outcome;
        }
    };

    let mut names = Vec::new();
    if use_spec && let Some(spec) = spec {
        for (index, rule) in spec.rules.iter().flatten().enumerate() {
            if let Some(host) = rule.host.as_deref().filter(|h| !h.is_empty()) {
                let field = format!("spec.rules[{index}].host");
                push_hostname(&resource, &field, host, &mut names, &mut skipped);
            }
        }
        for (index, tls) in spec.tls.iter().flatten().enumerate() {
            for (host_index, host) in tls.hosts.iter().flatten().enumerate() {
                let field = format!("spec.tls[{index}].hosts[{host_index}]");
                push_hostname(&resource, &field, host, &mut names, &mut skipped);
            }
        }
    }
    if use_annotation
        && !config.ignore_hostname_annotation
        && let Some((key, value)) = prefixes.get(annotations, "hostname")
    {
        parse_hostnames(
            &resource,
            &annotation_field(&key),
            value,
            &mut names,
            &mut skipped,
        );
    }

    super::fqdn::push_template_names(
        config,
        &resource,
        || super::fqdn::ingress_context(ingress),
        &mut names,
        &mut skipped,
    );

    if let Some(outcome) = too_many_names(&resource, &names) {
        return outcome;
    }
    let mut targets = Vec::new();
    let targets_field = match common.targets.take() {
        Some(from_annotation) => {
            targets = from_annotation;
            prefixes
                .get(annotations, "target")
                .map(|(key, _)| annotation_field(&key))
                .unwrap_or_default()
        }
        None => {
            let entries = ingress
                .status
                .as_ref()
                .and_then(|s| s.load_balancer.as_ref())
                .and_then(|lb| lb.ingress.as_ref())
                .into_iter()
                .flatten()
                .map(|e| (e.ip.as_deref(), e.hostname.as_deref()));
            let field = "status.loadBalancer.ingress";
            push_status_targets(&resource, field, entries, &mut targets, &mut skipped);
            field.to_string()
        }
    };
    single_cname_target(&resource, &targets_field, &mut targets, &mut skipped);

    ObjectOutcome::claiming(
        config,
        resource,
        meta.creation_timestamp.as_ref(),
        names,
        targets,
        common,
        skipped,
    )
}
