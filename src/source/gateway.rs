//! Gateway API route → claim: a route's host names, narrowed by the listeners of the Gateways
//! that accepted it, pointing at those Gateways' addresses.
//!
//! A route contributes only through a parent in `status.parents[]` that it also names in
//! `spec.parentRefs` (group `gateway.networking.k8s.io`, kind `Gateway` and the route's
//! namespace by default), that is a watched Gateway matching `--gateway-name`, and whose
//! `Accepted` condition is `"True"`. Of that Gateway's listeners, those picked by the
//! reference's `sectionName` and `port`, speaking a protocol the route kind runs over, and
//! allowing the route (`allowedRoutes` namespaces `Same`/`All`/`Selector` and `kinds`) narrow
//! the route's host names: a wildcard `*.x` matches names below `x` (not `x` itself) and the
//! more specific name is kept; a route without host names takes the listener's. As in
//! external-dns, `--fqdn-template` names a route without `spec.hostnames` (every route with
//! `--combine-fqdn-annotation`) and `--ignore-hostname-annotation` leaves the `hostname`
//! annotation unread. Targets are the
//! Gateway's `target` annotation, else its `status.addresses`. TTL, set identifier and
//! provider-specific settings come from the route's annotations.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use kube::core::{Selector, SelectorExt};
use zonesync_core::{DnsName, Endpoint};

use super::annotations::{annotation_field, read_common, single_cname_target, too_many_names};
use super::gateway_api::{GATEWAY_GROUP, GATEWAY_KIND};
use super::gateway_api::{Gateway, GatewayObject, Listener, ParentKey, Route, RouteKind};
use super::{
    Claim, ObjectOutcome, ResourceKind, ResourceRef, SkipScope, SkippedInput, SourceConfig, Target,
    looks_like_address,
};

/// The annotation kubectl leaves on applied objects: never read, so never kept.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

impl RouteKind {
    /// The kind as [`ResourceKind`].
    pub fn resource_kind(self) -> ResourceKind {
        match self {
            RouteKind::Http => ResourceKind::HttpRoute,
            RouteKind::Grpc => ResourceKind::GrpcRoute,
            RouteKind::Tls => ResourceKind::TlsRoute,
            RouteKind::Tcp => ResourceKind::TcpRoute,
            RouteKind::Udp => ResourceKind::UdpRoute,
        }
    }
}

/// Namespace and name of a Gateway.
pub type GatewayName = (String, String);

/// The Gateways and namespace labels routes are resolved against.
#[derive(Clone, Debug, Default)]
pub struct GatewaySet {
    gateways: HashMap<GatewayName, Gateway>,
    namespaces: HashMap<String, BTreeMap<String, String>>,
}

impl GatewaySet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// True when `--gateway-namespace` and `--gateway-label-filter` let this Gateway in.
    pub fn admits(gateway: &Gateway, config: &SourceConfig) -> bool {
        let namespace = gateway.metadata.namespace.as_deref().unwrap_or("default");
        let empty = BTreeMap::new();
        let labels = gateway.metadata.labels.as_ref().unwrap_or(&empty);
        config
            .gateway
            .namespace
            .as_deref()
            .is_none_or(|ns| ns == namespace)
            && config
                .gateway
                .label_selector
                .as_ref()
                .is_none_or(|s| s.matches(labels))
    }

    /// Records a Gateway (replacing an older version of it), or forgets it when the filters no
    /// longer admit it. Returns its name.
    pub fn upsert(&mut self, gateway: GatewayObject, config: &SourceConfig) -> GatewayName {
        let mut gateway = gateway.0;
        let name = gateway_name(&gateway);
        if !Self::admits(&gateway, config) {
            self.gateways.remove(&name);
            return name;
        }
        slim_metadata(&mut gateway.metadata);
        self.gateways.insert(name.clone(), gateway);
        name
    }

    /// Forgets a Gateway.
    pub fn remove(&mut self, name: &GatewayName) {
        self.gateways.remove(name);
    }

    /// Replaces every Gateway (a completed list).
    pub fn replace_gateways(&mut self, gateways: Vec<GatewayObject>, config: &SourceConfig) {
        self.gateways.clear();
        for gateway in gateways {
            self.upsert(gateway, config);
        }
    }

    /// Records a namespace's labels.
    pub fn set_namespace(&mut self, name: String, labels: BTreeMap<String, String>) {
        self.namespaces.insert(name, labels);
    }

    /// Forgets a namespace.
    pub fn remove_namespace(&mut self, name: &str) {
        self.namespaces.remove(name);
    }

    /// Replaces every namespace's labels (a completed list).
    pub fn replace_namespaces(&mut self, namespaces: HashMap<String, BTreeMap<String, String>>) {
        self.namespaces = namespaces;
    }

    /// True when some listener admits routes by namespace labels, so namespaces must be read.
    pub fn needs_namespaces(&self) -> bool {
        self.gateways.values().any(|g| {
            g.spec
                .listeners
                .iter()
                .any(Listener::uses_namespace_selector)
        })
    }

    /// Number of Gateways held.
    pub fn len(&self) -> usize {
        self.gateways.len()
    }

    /// True when no Gateway is held.
    pub fn is_empty(&self) -> bool {
        self.gateways.is_empty()
    }
}

fn gateway_name(gateway: &Gateway) -> GatewayName {
    (
        gateway
            .metadata
            .namespace
            .clone()
            .unwrap_or_else(|| "default".into()),
        gateway.metadata.name.clone().unwrap_or_default(),
    )
}

/// Drops what planning never reads from kept metadata.
pub fn slim_metadata(meta: &mut k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) {
    meta.managed_fields = None;
    if let Some(annotations) = meta.annotations.as_mut() {
        annotations.remove(LAST_APPLIED);
    }
}

/// The Gateways a route names as parents (in `spec.parentRefs` or `status.parents`): the
/// Gateways whose change can change the route's records.
pub fn attached_gateways(route: &Route) -> BTreeSet<GatewayName> {
    let namespace = route.metadata.namespace.as_deref().unwrap_or("default");
    route
        .spec
        .parent_refs
        .iter()
        .chain(route.status.parents.iter().map(|p| &p.parent_ref))
        .map(|r| r.key(namespace))
        .filter(|k| k.group == GATEWAY_GROUP && k.kind == GATEWAY_KIND)
        .map(|k| (k.namespace, k.name))
        .collect()
}

/// Converts one route of `kind` into what it asks for, resolved against `gateways`.
pub fn convert(
    route: &Route,
    kind: RouteKind,
    gateways: &GatewaySet,
    config: &SourceConfig,
) -> ObjectOutcome {
    let meta = &route.metadata;
    let resource = ResourceRef {
        kind: kind.resource_kind(),
        namespace: meta.namespace.clone().unwrap_or_else(|| "default".into()),
        name: meta.name.clone().unwrap_or_default(),
    };
    let empty = BTreeMap::new();
    let annotations = meta.annotations.as_ref().unwrap_or(&empty);
    let labels = meta.labels.as_ref().unwrap_or(&empty);
    let selected = config.selects(&resource.namespace, labels, annotations);
    if !selected {
        return ObjectOutcome::not_selected(resource);
    }
    let prefixes = &config.annotation_prefixes;
    let common = match read_common(&resource, annotations, prefixes) {
        Ok(common) => common,
        Err(outcome) => return *outcome,
    };
    let mut skipped = Vec::new();

    let (use_spec, use_annotation) = match prefixes.get(annotations, "gateway-hostname-source") {
        None => (true, true),
        Some((_, "defined-hosts-only")) => (true, false),
        Some((_, "annotation-only")) => (false, true),
        Some((key, other)) => {
            return ObjectOutcome::skipped_whole(
                &resource,
                annotation_field(&key),
                other,
                "must be defined-hosts-only or annotation-only",
            );
        }
    };

    // Route host names; `None` stands for "any": the listener's host name.
    let mut hosts: Vec<Option<DnsName>> = Vec::new();
    let spec_hostnames: &[String] = if kind.has_hostnames() {
        &route.spec.hostnames
    } else {
        &[]
    };
    if use_spec {
        for (index, host) in spec_hostnames.iter().enumerate() {
            let field = format!("spec.hostnames[{index}]");
            if let Some(name) = valid_host(&resource, &field, host, &mut skipped)
                && !hosts.contains(&Some(name.clone()))
            {
                hosts.push(Some(name));
            }
        }
    }
    // As external-dns: template names when the route names no host itself (or always, with
    // --combine-fqdn-annotation), never under `annotation-only`.
    if use_spec && (spec_hostnames.is_empty() || config.combine_fqdn_annotation) {
        let mut names = Vec::new();
        super::fqdn::push_template_names(
            config,
            &resource,
            || super::fqdn::route_context(route, kind),
            &mut names,
            &mut skipped,
        );
        for name in names {
            if !hosts.contains(&Some(name.clone())) {
                hosts.push(Some(name));
            }
        }
    }
    if use_annotation
        && !config.ignore_hostname_annotation
        && let Some((key, value)) = prefixes.get(annotations, "hostname")
    {
        let field = annotation_field(&key);
        for item in value.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            if let Some(name) = valid_host(&resource, &field, item, &mut skipped)
                && !hosts.contains(&Some(name.clone()))
            {
                hosts.push(Some(name));
            }
        }
    }
    // "Any host": the listener's. external-dns leaves it out under `defined-hosts-only`, which
    // takes only the names the route defines (its own and the template's).
    if use_spec && use_annotation && spec_hostnames.is_empty() {
        hosts.push(None);
    }

    let parent_refs: BTreeSet<ParentKey> = route
        .spec
        .parent_refs
        .iter()
        .map(|r| r.key(&resource.namespace))
        .collect();
    // Host name → targets, over every accepted parent.
    let mut by_host: BTreeMap<DnsName, Vec<Target>> = BTreeMap::new();
    for (parent_index, parent) in route.status.parents.iter().enumerate() {
        let key = parent.parent_ref.key(&resource.namespace);
        if key.group != GATEWAY_GROUP || key.kind != GATEWAY_KIND {
            continue;
        }
        if !parent_refs.contains(&key) {
            tracing::debug!(route = %resource, gateway = %key.name, "status parent not in spec.parentRefs");
            continue;
        }
        if config
            .gateway
            .name
            .as_deref()
            .is_some_and(|want| want != key.name)
        {
            continue;
        }
        let Some(gateway) = gateways
            .gateways
            .get(&(key.namespace.clone(), key.name.clone()))
        else {
            tracing::debug!(route = %resource, gateway = %format!("{}/{}", key.namespace, key.name), "parent Gateway not found or not selected");
            continue;
        };
        let accepted = parent
            .conditions
            .iter()
            .find(|c| c.type_ == "Accepted")
            .is_some_and(|c| c.status == "True");
        if !accepted {
            tracing::debug!(route = %resource, gateway = %key.name, "parent has not accepted the route");
            continue;
        }
        let parent_field = format!("status.parents[{parent_index}]");
        let mut matched: Vec<DnsName> = Vec::new();
        for (listener_index, listener) in gateway.spec.listeners.iter().enumerate() {
            if !key.section_name.is_empty() && listener.name != key.section_name {
                continue;
            }
            if key.port.is_some_and(|port| port != listener.port) {
                continue;
            }
            if !kind.accepts_protocol(&listener.protocol) {
                continue;
            }
            if !allows(
                &resource,
                kind,
                &key,
                listener,
                gateways,
                &parent_field,
                &mut skipped,
            ) {
                continue;
            }
            let listener_host = match listener.hostname.as_deref().filter(|h| !h.is_empty()) {
                None => None,
                Some(value) => {
                    let field = format!(
                        "{parent_field}: Gateway {}/{} spec.listeners[{listener_index}].hostname",
                        key.namespace, key.name
                    );
                    match valid_host(&resource, &field, value, &mut skipped) {
                        Some(name) => Some(name),
                        None => continue,
                    }
                }
            };
            for host in &hosts {
                if let Some(name) = matching_host(listener_host.as_ref(), host.as_ref())
                    && !matched.contains(&name)
                {
                    matched.push(name);
                }
            }
        }
        if matched.is_empty() {
            continue;
        }
        let targets = gateway_targets(&resource, gateway, &key, config, &mut skipped);
        for name in matched {
            let entry = by_host.entry(name).or_default();
            for target in &targets {
                if !entry.contains(target) {
                    entry.push(target.clone());
                }
            }
        }
    }

    let names: Vec<DnsName> = by_host.keys().cloned().collect();
    if let Some(outcome) = too_many_names(&resource, &names) {
        return outcome;
    }
    let mut groups: Vec<(Vec<DnsName>, Vec<Target>)> = Vec::new();
    for (name, mut targets) in by_host {
        targets.sort();
        single_cname_target(&resource, "targets", &mut targets, &mut skipped);
        match groups.iter_mut().find(|(_, t)| *t == targets) {
            Some((names, _)) => names.push(name),
            None => groups.push((vec![name], targets)),
        }
    }
    skipped.dedup();
    let created = meta.creation_timestamp.as_ref();
    if groups.len() <= 1 {
        let (names, targets) = groups.pop().unwrap_or_default();
        return ObjectOutcome::claiming(config, resource, created, names, targets, common, skipped);
    }
    // Host names reached through Gateways with different addresses: one record set per group.
    let mut records: Vec<Endpoint> = Vec::new();
    for (names, targets) in groups {
        let part = Claim {
            resource: resource.clone(),
            created: None,
            names,
            targets,
            ttl: common.ttl,
            set_identifier: common.set_identifier.clone(),
            properties: common.properties.clone(),
            records: Vec::new(),
            generation: None,
        };
        records.extend(part.endpoints());
    }
    let mut outcome = ObjectOutcome::claiming(
        config,
        resource,
        created,
        names,
        Vec::new(),
        common,
        skipped,
    );
    if let Some(claim) = outcome.claim.as_mut() {
        claim.records = records;
    }
    outcome
}

/// Validates a host name from a route or listener: IPs and invalid names are skipped with a
/// message naming the field.
fn valid_host(
    resource: &ResourceRef,
    field: &str,
    value: &str,
    skipped: &mut Vec<SkippedInput>,
) -> Option<DnsName> {
    let trimmed = value.trim();
    if trimmed.parse::<std::net::IpAddr>().is_ok() || looks_like_address(trimmed) {
        skipped.push(SkippedInput::new(
            resource,
            field,
            value,
            "an IP address is not a host name",
            SkipScope::Hostname,
        ));
        return None;
    }
    match DnsName::parse(trimmed) {
        Ok(name) => Some(name),
        Err(error) => {
            skipped.push(SkippedInput::new(
                resource,
                field,
                value,
                format!("invalid host name: {error}"),
                SkipScope::Hostname,
            ));
            None
        }
    }
}

/// The name both a listener host name and a route host name cover, the more specific one;
/// `None` stands for "any host". Both "any" match nothing: there is no name to publish.
pub fn matching_host(listener: Option<&DnsName>, route: Option<&DnsName>) -> Option<DnsName> {
    match (listener, route) {
        (None, None) => None,
        (None, Some(route)) => Some(route.clone()),
        (Some(listener), None) => Some(listener.clone()),
        (Some(listener), Some(route)) => {
            if covers(listener, route) {
                Some(route.clone())
            } else if covers(route, listener) {
                Some(listener.clone())
            } else {
                None
            }
        }
    }
}

/// True when every name `specific` stands for is also covered by `general`: equal names, or
/// `general` = `*.x` and `specific` below `x` (a wildcard or not), never `x` itself.
fn covers(general: &DnsName, specific: &DnsName) -> bool {
    if general == specific {
        return true;
    }
    if !general.is_wildcard() {
        return false;
    }
    let base = general.parent();
    let specific_base = if specific.is_wildcard() {
        specific.parent()
    } else {
        specific.as_str()
    };
    specific_base
        .strip_suffix(base)
        .is_some_and(|head| head.len() > 1 && head.ends_with('.'))
}

/// True when the listener lets this route attach: its namespace (`Same`, `All`, `Selector`)
/// and kind.
fn allows(
    resource: &ResourceRef,
    kind: RouteKind,
    gateway: &ParentKey,
    listener: &Listener,
    gateways: &GatewaySet,
    parent_field: &str,
    skipped: &mut Vec<SkippedInput>,
) -> bool {
    let allowed = listener.allowed_routes.as_ref();
    let namespaces = allowed.and_then(|a| a.namespaces.as_ref());
    let from = namespaces.and_then(|n| n.from.as_deref()).unwrap_or("Same");
    let namespace_ok = match from {
        "All" => true,
        "Same" => gateway.namespace == resource.namespace,
        "Selector" => {
            let selector = namespaces
                .and_then(|n| n.selector.clone())
                .unwrap_or_default();
            match Selector::try_from(selector) {
                Ok(selector) => gateways
                    .namespaces
                    .get(&resource.namespace)
                    .is_some_and(|labels| selector.matches(labels)),
                Err(error) => {
                    skipped.push(SkippedInput::new(
                        resource,
                        format!(
                            "{parent_field}: Gateway {}/{} listener {:?} allowedRoutes.namespaces.selector",
                            gateway.namespace, gateway.name, listener.name
                        ),
                        &error.to_string(),
                        "invalid namespace selector; the listener admits no route",
                        SkipScope::Target,
                    ));
                    false
                }
            }
        }
        _ => false,
    };
    if !namespace_ok {
        return false;
    }
    let kinds = allowed.map(|a| a.kinds.as_slice()).unwrap_or_default();
    kinds.is_empty()
        || kinds.iter().any(|k| {
            k.group
                .as_deref()
                .filter(|g| !g.is_empty())
                .unwrap_or(GATEWAY_GROUP)
                == GATEWAY_GROUP
                && k.kind == kind.kind()
        })
}

/// A Gateway's targets: its `target` annotation, else every `status.addresses[].value`.
fn gateway_targets(
    resource: &ResourceRef,
    gateway: &Gateway,
    key: &ParentKey,
    config: &SourceConfig,
    skipped: &mut Vec<SkippedInput>,
) -> Vec<Target> {
    let prefixes = &config.annotation_prefixes;
    let empty = BTreeMap::new();
    let annotations = gateway.metadata.annotations.as_ref().unwrap_or(&empty);
    let mut targets = Vec::new();
    let mut push = |field: String, value: &str| match Target::parse(value) {
        Ok(target) => {
            if !targets.contains(&target) {
                targets.push(target);
            }
        }
        Err(reason) => skipped.push(SkippedInput::new(
            resource,
            field,
            value,
            reason,
            SkipScope::Target,
        )),
    };
    if let Some((full_key, value)) = prefixes.get(annotations, "target") {
        let field = format!(
            "Gateway {}/{} {}",
            key.namespace,
            key.name,
            annotation_field(&full_key)
        );
        for item in value.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            push(field.clone(), item);
        }
    } else {
        for (index, address) in gateway.status.addresses.iter().enumerate() {
            if address.value.trim().is_empty() {
                continue;
            }
            let field = format!(
                "Gateway {}/{} status.addresses[{index}].value",
                key.namespace, key.name
            );
            push(field, &address.value);
        }
    }
    targets
}

/// A route's identity within its kind: kind, namespace, name.
pub type RouteKey = (RouteKind, String, String);

/// Routes, Gateways and namespace labels as the watches deliver them, and which routes' claims
/// must be recomputed. Pure and synchronous; the controller's watches feed it and publish what
/// [`RouteTable::drain`] returns into the desired-state index.
///
/// Nothing is published until the Gateways (and, when a listener admits routes by namespace
/// labels, the Namespaces) are listed: a route resolved against a half-known set of Gateways
/// would look like it lost its names.
#[derive(Debug, Default)]
pub struct RouteTable {
    gateways: GatewaySet,
    routes: HashMap<RouteKey, Route>,
    /// Routes by the Gateways they name, so a Gateway change recomputes only those.
    attached: HashMap<GatewayName, BTreeSet<RouteKey>>,
    gateways_listed: bool,
    namespaces_listed: bool,
    routes_listed: BTreeSet<RouteKind>,
    /// Kinds to publish whole.
    full: BTreeSet<RouteKind>,
    /// Routes to publish one by one.
    dirty: BTreeSet<RouteKey>,
}

/// What to publish into the desired-state index.
#[derive(Debug, Default)]
pub struct RoutePublish {
    /// Kinds whose every route was recomputed (a completed list): replace them whole.
    pub replace: Vec<(ResourceKind, Vec<ObjectOutcome>)>,
    /// Single routes recomputed.
    pub upsert: Vec<ObjectOutcome>,
}

impl RoutePublish {
    /// True when there is nothing to publish.
    pub fn is_empty(&self) -> bool {
        self.replace.is_empty() && self.upsert.is_empty()
    }
}

impl RouteTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    fn key(kind: RouteKind, route: &Route) -> RouteKey {
        (
            kind,
            route
                .metadata
                .namespace
                .clone()
                .unwrap_or_else(|| "default".into()),
            route.metadata.name.clone().unwrap_or_default(),
        )
    }

    fn link(&mut self, key: &RouteKey, route: &Route) {
        for gateway in attached_gateways(route) {
            self.attached
                .entry(gateway)
                .or_default()
                .insert(key.clone());
        }
    }

    fn unlink(&mut self, key: &RouteKey) {
        if let Some(route) = self.routes.get(key) {
            for gateway in attached_gateways(route) {
                if let Some(routes) = self.attached.get_mut(&gateway) {
                    routes.remove(key);
                    if routes.is_empty() {
                        self.attached.remove(&gateway);
                    }
                }
            }
        }
    }

    /// A completed list of `kind`'s routes.
    pub fn routes_listed(&mut self, kind: RouteKind, routes: Vec<Route>) {
        let stale: Vec<RouteKey> = self
            .routes
            .keys()
            .filter(|k| k.0 == kind)
            .cloned()
            .collect();
        for key in stale {
            self.unlink(&key);
            self.routes.remove(&key);
        }
        for route in routes {
            self.insert_route(kind, route);
        }
        self.routes_listed.insert(kind);
        self.full.insert(kind);
    }

    fn insert_route(&mut self, kind: RouteKind, mut route: Route) -> RouteKey {
        slim_metadata(&mut route.metadata);
        let key = Self::key(kind, &route);
        self.unlink(&key);
        self.link(&key, &route);
        self.routes.insert(key.clone(), route);
        key
    }

    /// A route was added or changed.
    pub fn route_applied(&mut self, kind: RouteKind, route: Route) {
        let key = self.insert_route(kind, route);
        self.dirty.insert(key);
    }

    /// A route was deleted; returns its `kind/namespace/name` for removal from the index.
    pub fn route_deleted(&mut self, kind: RouteKind, route: &Route) -> String {
        let key = Self::key(kind, route);
        self.unlink(&key);
        self.routes.remove(&key);
        self.dirty.remove(&key);
        format!("{}/{}/{}", kind.resource_kind().as_str(), key.1, key.2)
    }

    /// A completed list of Gateways.
    pub fn gateways_listed(&mut self, gateways: Vec<GatewayObject>, config: &SourceConfig) {
        self.gateways.replace_gateways(gateways, config);
        self.gateways_listed = true;
        self.full.extend(self.routes_listed.iter().copied());
    }

    /// A Gateway was added or changed.
    pub fn gateway_applied(&mut self, gateway: GatewayObject, config: &SourceConfig) {
        let name = self.gateways.upsert(gateway, config);
        self.touch_gateway(&name);
    }

    /// A Gateway was deleted.
    pub fn gateway_deleted(&mut self, gateway: &GatewayObject) {
        let name = gateway_name(&gateway.0);
        self.gateways.remove(&name);
        self.touch_gateway(&name);
    }

    fn touch_gateway(&mut self, name: &GatewayName) {
        if let Some(routes) = self.attached.get(name) {
            self.dirty.extend(routes.iter().cloned());
        }
    }

    /// A completed list of namespaces.
    pub fn namespaces_listed(&mut self, namespaces: HashMap<String, BTreeMap<String, String>>) {
        self.gateways.replace_namespaces(namespaces);
        self.namespaces_listed = true;
        self.full.extend(self.routes_listed.iter().copied());
    }

    /// A namespace was added, relabelled or deleted (`labels` = `None`).
    pub fn namespace_changed(&mut self, name: &str, labels: Option<BTreeMap<String, String>>) {
        match labels {
            Some(labels) => self.gateways.set_namespace(name.to_string(), labels),
            None => self.gateways.remove_namespace(name),
        }
        let routes = self.routes.keys().filter(|k| k.1 == name).cloned();
        self.dirty.extend(routes.collect::<Vec<_>>());
    }

    /// True when some listener admits routes by namespace labels, so Namespaces must be watched.
    pub fn needs_namespaces(&self) -> bool {
        self.gateways.needs_namespaces()
    }

    /// True when routes can be resolved: Gateways listed, and Namespaces too if needed.
    pub fn is_ready(&self) -> bool {
        self.gateways_listed && (self.namespaces_listed || !self.needs_namespaces())
    }

    /// Takes what must be published, recomputed against the current Gateways; nothing while
    /// the table is not ready (it is kept until then).
    pub fn drain(&mut self, config: &SourceConfig) -> RoutePublish {
        let mut publish = RoutePublish::default();
        if !self.is_ready() {
            return publish;
        }
        let full: BTreeSet<RouteKind> = std::mem::take(&mut self.full)
            .into_iter()
            .filter(|k| self.routes_listed.contains(k))
            .collect();
        for kind in &full {
            let outcomes = self
                .routes
                .iter()
                .filter(|(key, _)| key.0 == *kind)
                .map(|(_, route)| convert(route, *kind, &self.gateways, config))
                .collect();
            publish.replace.push((kind.resource_kind(), outcomes));
        }
        for key in std::mem::take(&mut self.dirty) {
            if full.contains(&key.0) || !self.routes_listed.contains(&key.0) {
                continue;
            }
            if let Some(route) = self.routes.get(&key) {
                publish
                    .upsert
                    .push(convert(route, key.0, &self.gateways, config));
            }
        }
        publish
    }

    /// Number of routes held.
    pub fn len(&self) -> usize {
        self.routes.len()
    }

    /// True when no route is held.
    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }
}

#[cfg(test)]
#[path = "gateway_tests.rs"]
mod tests;
