//! Service → claim, as external-dns's Service source: names from the `hostname` annotation (or
//! `--fqdn-template`); targets from the `target` annotation, else by type:
//!
//! - `LoadBalancer`: `spec.externalIPs`, else the load balancer status;
//! - `ExternalName`: `spec.externalIPs`, else `spec.externalName` (a CNAME, or A/AAAA when it
//!   is an address);
//! - `ClusterIP` with `--publish-internal-services`: `spec.clusterIP`.
//!
//! Headless and `NodePort` Services need Pods, EndpointSlices or Nodes, which zonesync does not
//! read: one that asks for names is skipped as a whole (its records are kept) and reported.
//! `--service-type-filter` narrows the types read.

use k8s_openapi::api::core::v1::Service;

use super::annotations::{
    annotation_field, parse_hostnames, push_status_targets, read_common, single_cname_target,
    too_many_names,
};
use super::{ObjectOutcome, ResourceKind, ResourceRef, SourceConfig, Target};
use super::{SkipScope, SkippedInput};

/// Converts one Service into what it asks for.
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
    // Kubernetes defaults an unset type to ClusterIP.
    let service_type = spec.and_then(|s| s.type_.as_deref()).unwrap_or("ClusterIP");
    let type_in_scope =
        config.service_types.is_empty() || config.service_types.iter().any(|t| t == service_type);

    let selected = type_in_scope && config.selects(&resource.namespace, labels, annotations);
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
    let cluster_ip = spec.and_then(|s| s.cluster_ip.as_deref());
    if let Some(from_annotation) = common.targets.take() {
        targets = from_annotation;
        field = prefixes
            .get(annotations, "target")
            .map(|(key, _)| annotation_field(&key))
            .unwrap_or_default();
    } else if matches!(service_type, "NodePort")
        || (service_type == "ClusterIP" && cluster_ip == Some("None"))
    {
        if names.is_empty() {
            return ObjectOutcome::not_selected(resource);
        }
        let (field, value) = if service_type == "NodePort" {
            ("spec.type", "NodePort")
        } else {
            ("spec.clusterIP", "None")
        };
        let mut outcome = ObjectOutcome::not_selected(resource.clone());
        outcome.selected = true;
        outcome.skipped = skipped;
        outcome.skipped.push(SkippedInput::new(
            &resource,
            field,
            value,
            "zonesync does not publish NodePort or headless Services (they need Nodes or EndpointSlices); its records are kept as they are",
            SkipScope::Object,
        ));
        return outcome;
    } else if service_type == "ClusterIP" {
        if !config.publish_internal_services {
            return ObjectOutcome::not_selected(resource);
        }
        field = "spec.clusterIP".to_string();
        match cluster_ip.map(|ip| (ip, ip.parse())) {
            Some((_, Ok(address))) => targets.push(Target::Address(address)),
            Some((value, Err(_))) => skipped.push(SkippedInput::new(
                &resource,
                "spec.clusterIP",
                value,
                "not a valid IP address",
                SkipScope::Target,
            )),
            None => {}
        }
    } else if service_type != "LoadBalancer" && service_type != "ExternalName" {
        return ObjectOutcome::not_selected(resource);
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
    } else if service_type == "ExternalName" {
        field = "spec.externalName".to_string();
        if let Some(name) = spec
            .and_then(|s| s.external_name.as_deref())
            .filter(|n| !n.is_empty())
        {
            match Target::parse(name) {
                Ok(target) => targets.push(target),
                Err(reason) => skipped.push(SkippedInput::new(
                    &resource,
                    "spec.externalName",
                    name,
                    reason,
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
