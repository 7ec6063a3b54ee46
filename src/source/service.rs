//! Service → claim: LoadBalancer Services only; names from the `hostname` annotation, targets
//! from the `target` annotation, else `spec.externalIPs`, else the load balancer status.

use k8s_openapi::api::core::v1::Service;

use super::annotations::{
    annotation_field, parse_hostnames, push_status_targets, read_common, single_cname_target,
    too_many_names,
};
use super::{ObjectOutcome, ResourceKind, ResourceRef, SourceConfig, Target};
use super::{SkipScope, SkippedInput};

/// Converts one Service into what it asks for. Types other than `LoadBalancer` ask for nothing.
pub fn convert(service: &Service, config: &SourceConfig) -> ObjectOutcome {
    let meta = &service.metadata;
    let resource = ResourceRef {
        kind: ResourceKind::Service,
        namespace: meta.namespace.clone().unwrap_or_else(|| "default".into()),
        name: meta.name.clone().unwrap_or_default(),
    };
    let empty = Default::default();
    let annotations = meta.annotations.as_ref().unwrap_or(&empty);
    let labels = meta.labels.as_ref().unwrap_or(&empty);
    let spec = service.spec.as_ref();
    let is_load_balancer = spec.and_then(|s| s.type_.as_deref()) == Some("LoadBalancer");

    let selected = is_load_balancer
        && config
            .namespace
            .as_ref()
            .is_none_or(|ns| *ns == resource.namespace)
        && config
            .label_selector
            .as_ref()
            .is_none_or(|s| s.matches(labels))
        && config
            .annotation_selector
            .as_ref()
            .is_none_or(|s| s.matches(annotations));
    if !selected {
        return ObjectOutcome::not_selected(resource);
    }

    let prefixes = &config.annotation_prefixes;
    let mut common = match read_common(&resource, annotations, prefixes) {
        Ok(common) => common,
        Err(outcome) => return *outcome,
    };
    let mut skipped = Vec::new();
    let mut names = Vec::new();
    if !config.ignore_hostname_annotation
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
        || super::fqdn::service_context(service),
        &mut names,
        &mut skipped,
    );

    if let Some(outcome) = too_many_names(&resource, &names) {
        return outcome;
    }
    let mut targets: Vec<Target> = Vec::new();
    let field;
    if let Some(from_annotation) = common.targets.take() {
        targets = from_annotation;
        field = prefixes
            .get(annotations, "target")
            .map(|(key, _)| annotation_field(&key))
            .unwrap_or_default();
    } else if let Some(external) = spec
        .and_then(|s| s.external_ips.as_ref())
        .filter(|ips| !ips.is_empty())
    {
        field = "spec.externalIPs".to_string();
        for (index, value) in external.iter().enumerate() {
            match value.parse() {
                Ok(address) => {
                    let target = Target::Address(address);
                    if !targets.contains(&target) {
                        targets.push(target);
                    }
                }
                Err(_) => skipped.push(SkippedInput::new(
                    &resource,
                    format!("spec.externalIPs[{index}]"),
                    value,
                    "not a valid IP address",
                    SkipScope::Target,
                )),
            }
        }
    } else {
        field = "status.loadBalancer.ingress".to_string();
        let entries = service
            .status
            .as_ref()
            .and_then(|s| s.load_balancer.as_ref())
            .and_then(|lb| lb.ingress.as_ref())
            .into_iter()
            .flatten()
            .map(|e| (e.ip.as_deref(), e.hostname.as_deref()));
        push_status_targets(&resource, &field, entries, &mut targets, &mut skipped);
    }
    single_cname_target(&resource, &field, &mut targets, &mut skipped);

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
