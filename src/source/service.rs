//! Service → claim, as external-dns's Service source: names from the `hostname` annotation (or
//! `--fqdn-template`); targets from the `target` annotation, else by type:
//!
//! - `LoadBalancer`: `spec.externalIPs`, else the load balancer status;
//! - `ExternalName`: `spec.externalIPs`, else `spec.externalName` (a CNAME, or A/AAAA when it
//!   is an address);
//! - `ClusterIP` with `--publish-internal-services`: `spec.clusterIP`;
//! - headless (`clusterIP: None`, published without `--publish-internal-services`, as
//!   external-dns does): the first address of each ready endpoint of its EndpointSlices (not
//!   ready ones too with `spec.publishNotReadyAddresses` or
//!   `--always-publish-not-ready-addresses`), endpoints that are Pods only; an endpoint with a
//!   `hostname` also gets `<hostname>.<name>`;
//! - `NodePort`: the nodes' `ExternalIP` addresses, or their `InternalIP` ones when no node has
//!   an external one or the `access` annotation is `private` (`public` forces external ones).
//!   Cordoned (unschedulable) nodes are left out. With `externalTrafficPolicy: Local` only the
//!   nodes its endpoints run on count: those with a ready endpoint, else those with a serving
//!   (terminating) one, else those with any. Each port with a `nodePort` also gets the SRV
//!   record `_<service name>._<protocol>.<name>` → `0 50 <nodePort> <name>` (published only
//!   when SRV is in `--managed-record-types`, as in external-dns). While no node has a usable
//!   address the Service has no records, like a load balancer without an address: its existing
//!   records are kept for the grace period.
//!
//! `--service-type-filter` narrows the types read.

use k8s_openapi::api::core::v1::Service;

use super::annotations::{
    annotation_field, parse_hostnames, push_status_targets, read_common, single_cname_target,
    too_many_names,
};
use std::net::IpAddr;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use zonesync_core::{DnsName, Endpoint, RecordType};

use super::backends::{Dependency, NodeAddresses, ServiceBackends};
use super::{Claim, ObjectOutcome, ResourceKind, ResourceRef, SourceConfig, Target};
use super::{SkipScope, SkippedInput};

/// Converts one Service into what it asks for; `NodePort` and headless Services are resolved
/// against `backends` (the nodes and EndpointSlices read).
pub fn convert(
    service: &Service,
    backends: &ServiceBackends,
    config: &SourceConfig,
) -> ObjectOutcome {
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
    } else if service_type == "NodePort" {
        if names.is_empty() {
            return ObjectOutcome::not_selected(resource);
        }
        let access = prefixes.get(annotations, "access").map(|(_, v)| v.trim());
        let records = node_port_records(
            service,
            &resource,
            &names,
            access,
            backends,
            config,
            &mut skipped,
        );
        return with_records(resource, meta, names, records, common, skipped);
    } else if service_type == "ClusterIP" && cluster_ip == Some("None") {
        if names.is_empty() {
            return ObjectOutcome::not_selected(resource);
        }
        let records = headless_records(service, &resource, &names, backends, config, &mut skipped);
        return with_records(resource, meta, names, records, common, skipped);
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

/// What a selected Service's records depend on besides the Service itself: nodes for `NodePort`
/// Services, EndpointSlices for headless ones; `None` for the others (and for Services the
/// configuration does not select).
pub fn dependency(service: &Service, config: &SourceConfig) -> Option<Dependency> {
    let spec = service.spec.as_ref();
    let service_type = spec.and_then(|s| s.type_.as_deref()).unwrap_or("ClusterIP");
    let dependency = match service_type {
        "NodePort" => Dependency::Nodes {
            local: spec.and_then(|s| s.external_traffic_policy.as_deref()) == Some("Local"),
        },
        "ClusterIP" if spec.and_then(|s| s.cluster_ip.as_deref()) == Some("None") => {
            Dependency::Slices
        }
        _ => return None,
    };
    let meta = &service.metadata;
    let empty = Default::default();
    let type_in_scope =
        config.service_types.is_empty() || config.service_types.iter().any(|t| t == service_type);
    let selected = type_in_scope
        && config.selects(
            meta.namespace.as_deref().unwrap_or("default"),
            meta.labels.as_ref().unwrap_or(&empty),
            meta.annotations.as_ref().unwrap_or(&empty),
        );
    selected.then_some(dependency)
}

/// The claim of a Service whose records are not simply every name → the same targets.
///
/// `names` are the Service's host names: a headless Service with no ready endpoint still claims
/// them (without records), so its records are kept for the grace period as an emptied load
/// balancer's are.
fn with_records(
    resource: ResourceRef,
    meta: &ObjectMeta,
    mut names: Vec<DnsName>,
    mut records: Vec<Endpoint>,
    common: super::annotations::CommonSettings,
    skipped: Vec<super::SkippedInput>,
) -> ObjectOutcome {
    for record in &mut records {
        record.ttl = common.ttl;
        record.set_identifier = common.set_identifier.clone();
        record.properties = common.properties.clone();
        if !names.contains(&record.name) {
            names.push(record.name.clone());
        }
    }
    ObjectOutcome {
        claim: Some(Claim {
            created: meta.creation_timestamp.as_ref().map(|t| t.0.as_second()),
            resource: resource.clone(),
            names,
            targets: Vec::new(),
            ttl: common.ttl,
            set_identifier: common.set_identifier,
            properties: common.properties,
            records,
            generation: None,
        }),
        resource,
        selected: true,
        skipped,
    }
}

/// `addresses` after `--target-net-filter` / `--exclude-target-net` (and
/// `--force-default-targets`), as records of `name`: one per record type.
fn address_records(config: &SourceConfig, name: &DnsName, addresses: Vec<IpAddr>) -> Vec<Endpoint> {
    if addresses.is_empty() {
        return Vec::new();
    }
    let targets = config
        .targets
        .apply(addresses.into_iter().map(Target::Address).collect())
        .unwrap_or_default();
    let mut by_type: Vec<(RecordType, Vec<String>)> = Vec::new();
    for target in targets {
        let record_type = target.record_type();
        let value = target.to_string();
        match by_type.iter_mut().find(|(t, _)| *t == record_type) {
            Some((_, values)) => values.push(value),
            None => by_type.push((record_type, vec![value])),
        }
    }
    by_type
        .into_iter()
        .map(|(record_type, values)| Endpoint::new(name.clone(), record_type, values))
        .collect()
}

/// The A/AAAA records of a `NodePort` Service's names (its nodes' addresses) and the SRV record
/// of each node port.
fn node_port_records(
    service: &Service,
    resource: &ResourceRef,
    names: &[DnsName],
    access: Option<&str>,
    backends: &ServiceBackends,
    config: &SourceConfig,
    skipped: &mut Vec<super::SkippedInput>,
) -> Vec<Endpoint> {
    let spec = service.spec.as_ref();
    let local = spec.and_then(|s| s.external_traffic_policy.as_deref()) == Some("Local");
    let nodes: Vec<&NodeAddresses> = if local {
        // The best tier present: nodes with a ready endpoint, else with a serving (terminating)
        // one, else with any.
        let endpoints: Vec<_> = backends
            .endpoints_of(&resource.namespace, &resource.name)
            .collect();
        let tiers: [&dyn Fn(&super::backends::SliceEndpoint) -> bool; 3] =
            [&|e| e.ready && !e.terminating, &|e| e.serving, &|_| true];
        tiers
            .iter()
            .map(|tier| {
                let names: std::collections::BTreeSet<&str> = endpoints
                    .iter()
                    .filter(|e| tier(e))
                    .filter_map(|e| e.node_name.as_deref())
                    .collect();
                names
                    .into_iter()
                    .filter_map(|n| backends.nodes().get(n))
                    .collect::<Vec<_>>()
            })
            .find(|nodes| !nodes.is_empty())
            .unwrap_or_default()
    } else {
        backends.nodes().values().collect()
    };
    let schedulable = nodes.iter().filter(|n| !n.unschedulable);
    let external: Vec<IpAddr> = schedulable
        .clone()
        .flat_map(|n| n.external.iter().copied())
        .collect();
    let internal: Vec<IpAddr> = schedulable
        .flat_map(|n| n.internal.iter().copied())
        .collect();
    let addresses = match access {
        Some("public") => external,
        Some("private") => internal,
        _ if !external.is_empty() => external,
        _ => internal,
    };
    let mut records = Vec::new();
    for name in names {
        records.extend(address_records(config, name, addresses.clone()));
    }
    if records.is_empty() {
        // No node address (yet): no SRV records pointing at a name without one. The Service
        // claims its names without records, so existing ones are kept for the grace period.
        return records;
    }
    let ports = spec.and_then(|s| s.ports.as_ref()).into_iter().flatten();
    for (index, port) in ports.enumerate() {
        let Some(node_port) = port.node_port.filter(|p| *p > 0) else {
            continue;
        };
        let protocol = port
            .protocol
            .as_deref()
            .filter(|p| !p.is_empty())
            .unwrap_or("TCP")
            .to_ascii_lowercase();
        for name in names {
            let srv_name = format!("_{}._{protocol}.{name}", resource.name);
            match DnsName::parse(&srv_name) {
                Ok(srv_name) => records.push(Endpoint::new(
                    srv_name,
                    RecordType::Srv,
                    [format!("0 50 {node_port} {name}")],
                )),
                Err(error) => skipped.push(super::SkippedInput::new(
                    resource,
                    format!("spec.ports[{index}]"),
                    &srv_name,
                    format!("the SRV record name is not a valid DNS name: {error}"),
                    super::SkipScope::Hostname,
                )),
            }
        }
    }
    records
}

/// The A/AAAA records of a headless Service's names: the first address of each ready endpoint
/// that is a Pod, and `<hostname>.<name>` for endpoints with a host name.
fn headless_records(
    service: &Service,
    resource: &ResourceRef,
    names: &[DnsName],
    backends: &ServiceBackends,
    config: &SourceConfig,
    skipped: &mut Vec<super::SkippedInput>,
) -> Vec<Endpoint> {
    let publish_not_ready = service
        .spec
        .as_ref()
        .and_then(|s| s.publish_not_ready_addresses)
        .unwrap_or(false)
        || config.always_publish_not_ready_addresses;
    let mut by_name: Vec<(DnsName, Vec<IpAddr>)> =
        names.iter().map(|n| (n.clone(), Vec::new())).collect();
    let mut push =
        |name: DnsName, address: IpAddr| match by_name.iter_mut().find(|(n, _)| *n == name) {
            Some((_, addresses)) => {
                if !addresses.contains(&address) {
                    addresses.push(address);
                }
            }
            None => by_name.push((name, vec![address])),
        };
    for endpoint in backends.endpoints_of(&resource.namespace, &resource.name) {
        if !(endpoint.ready || publish_not_ready) || !endpoint.is_pod {
            continue;
        }
        let Some(address) = endpoint.address else {
            continue;
        };
        for name in names {
            push(name.clone(), address);
            if let Some(hostname) = &endpoint.hostname {
                let pod_name = format!("{hostname}.{name}");
                match DnsName::parse(&pod_name) {
                    Ok(pod_name) => push(pod_name, address),
                    Err(error) => {
                        let skip = super::SkippedInput::new(
                            resource,
                            "EndpointSlice endpoints[].hostname",
                            &pod_name,
                            format!("not a valid DNS name: {error}"),
                            super::SkipScope::Hostname,
                        );
                        if !skipped.contains(&skip) {
                            skipped.push(skip);
                        }
                    }
                }
            }
        }
    }
    by_name
        .into_iter()
        .flat_map(|(name, addresses)| address_records(config, &name, addresses))
        .collect()
}
