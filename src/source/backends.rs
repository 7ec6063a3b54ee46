//! What `NodePort` and headless Services are published with: the nodes' addresses and the
//! endpoints of EndpointSlices, kept as small structs (never whole objects), and the table the
//! controller's Service, Node and EndpointSlice watches feed.
//!
//! A `NodePort` Service points at its nodes' addresses (all schedulable nodes, or with
//! `externalTrafficPolicy: Local` the nodes its endpoints run on); a headless Service
//! (`clusterIP: None`) points at its ready endpoints' addresses. Both change when a Node or an
//! EndpointSlice does, so [`ServiceTable`] keeps a slim copy of those Services (and only those)
//! and recomputes just the ones a Node or EndpointSlice change concerns, as
//! [`RouteTable`](super::gateway::RouteTable) does for routes and Gateways.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;

use k8s_openapi::api::core::v1::{Node, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;

use super::{ObjectOutcome, ResourceKind, SourceConfig, service};

/// The label an EndpointSlice names its Service with.
pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";

/// What is kept of one Node.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeAddresses {
    /// `status.addresses[]` of type `ExternalIP`.
    pub external: Vec<IpAddr>,
    /// `status.addresses[]` of type `InternalIP`.
    pub internal: Vec<IpAddr>,
    /// `spec.unschedulable` (a cordoned node).
    pub unschedulable: bool,
}

impl NodeAddresses {
    /// The addresses of `node`; an address that does not parse is left out with a warning
    /// naming the node, the field and the value.
    pub fn from_node(node: &Node) -> Self {
        let name = node.metadata.name.as_deref().unwrap_or_default();
        let mut kept = Self {
            unschedulable: node
                .spec
                .as_ref()
                .and_then(|s| s.unschedulable)
                .unwrap_or(false),
            ..Self::default()
        };
        let addresses = node
            .status
            .as_ref()
            .and_then(|s| s.addresses.as_ref())
            .into_iter()
            .flatten();
        for (index, address) in addresses.enumerate() {
            let list = match address.type_.as_str() {
                "ExternalIP" => &mut kept.external,
                "InternalIP" => &mut kept.internal,
                _ => continue,
            };
            match address.address.trim().parse() {
                Ok(ip) if !list.contains(&ip) => list.push(ip),
                Ok(_) => {}
                Err(_) => tracing::warn!(
                    node = name,
                    field = %format!("status.addresses[{index}].address"),
                    value = %address.address,
                    "ignoring a node address that is not an IP address"
                ),
            }
        }
        kept
    }
}

/// What is kept of one endpoint of an EndpointSlice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SliceEndpoint {
    /// Its first address (further addresses have no defined meaning); `None` when it has none
    /// that parses.
    pub address: Option<IpAddr>,
    /// `conditions.ready` (unset counts as ready).
    pub ready: bool,
    /// `conditions.serving` (unset: as `ready`).
    pub serving: bool,
    /// `conditions.terminating`.
    pub terminating: bool,
    /// `hostname`: the Pod's `spec.hostname` when its `spec.subdomain` names the Service.
    pub hostname: Option<String>,
    /// `nodeName`: where the Pod runs.
    pub node_name: Option<String>,
    /// True when `targetRef` is a Pod.
    pub is_pod: bool,
}

/// What is kept of one EndpointSlice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SliceEndpoints {
    /// The Service it belongs to (its `kubernetes.io/service-name` label).
    pub service: String,
    /// True for `addressType` `IPv4` and `IPv6` (`FQDN` slices are not published).
    pub ip_addresses: bool,
    /// Its endpoints.
    pub endpoints: Vec<SliceEndpoint>,
}

impl SliceEndpoints {
    /// The endpoints of `slice`; `None` when it names no Service.
    pub fn from_slice(slice: &EndpointSlice) -> Option<Self> {
        let service = slice.metadata.labels.as_ref()?.get(SERVICE_NAME_LABEL)?;
        let ip_addresses = matches!(slice.address_type.as_str(), "IPv4" | "IPv6");
        let endpoints = slice
            .endpoints
            .iter()
            .flatten()
            .map(|endpoint| {
                let conditions = endpoint.conditions.as_ref();
                let ready = conditions.and_then(|c| c.ready).unwrap_or(true);
                SliceEndpoint {
                    address: endpoint
                        .addresses
                        .first()
                        .and_then(|a| a.trim().parse().ok()),
                    ready,
                    serving: conditions.and_then(|c| c.serving).unwrap_or(ready),
                    terminating: conditions.and_then(|c| c.terminating).unwrap_or(false),
                    hostname: endpoint.hostname.clone().filter(|h| !h.is_empty()),
                    node_name: endpoint.node_name.clone().filter(|n| !n.is_empty()),
                    is_pod: endpoint
                        .target_ref
                        .as_ref()
                        .is_some_and(|r| r.kind.as_deref() == Some("Pod")),
                }
            })
            .collect();
        Some(Self {
            service: service.clone(),
            ip_addresses,
            endpoints,
        })
    }
}

/// `(namespace, name)` of a namespaced object.
pub type ObjectKey = (String, String);

/// The nodes and EndpointSlices Services are resolved against.
#[derive(Clone, Debug, Default)]
pub struct ServiceBackends {
    nodes: BTreeMap<String, NodeAddresses>,
    slices: HashMap<ObjectKey, SliceEndpoints>,
    /// EndpointSlice names by Service, so a Service finds its slices without a scan.
    by_service: HashMap<ObjectKey, BTreeSet<String>>,
}

impl ServiceBackends {
    /// No nodes, no EndpointSlices.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a node; returns true when what is kept of it changed.
    pub fn set_node(&mut self, name: &str, node: NodeAddresses) -> bool {
        if self.nodes.get(name) == Some(&node) {
            return false;
        }
        self.nodes.insert(name.to_string(), node);
        true
    }

    /// Forgets a node; returns true when it was known.
    pub fn remove_node(&mut self, name: &str) -> bool {
        self.nodes.remove(name).is_some()
    }

    /// Replaces every node.
    pub fn replace_nodes(&mut self, nodes: BTreeMap<String, NodeAddresses>) {
        self.nodes = nodes;
    }

    /// Records an EndpointSlice `namespace/name` (or forgets it, for `None`); returns the
    /// Services whose endpoints that changed (the one it names now and the one it named before).
    pub fn set_slice(
        &mut self,
        namespace: &str,
        name: &str,
        slice: Option<SliceEndpoints>,
    ) -> Vec<ObjectKey> {
        let key = (namespace.to_string(), name.to_string());
        let mut touched = Vec::new();
        if self.slices.get(&key) == slice.as_ref() {
            return touched;
        }
        if let Some(old) = self.slices.remove(&key) {
            let service = (namespace.to_string(), old.service);
            if let Some(names) = self.by_service.get_mut(&service) {
                names.remove(name);
                if names.is_empty() {
                    self.by_service.remove(&service);
                }
            }
            touched.push(service);
        }
        if let Some(slice) = slice {
            let service = (namespace.to_string(), slice.service.clone());
            self.by_service
                .entry(service.clone())
                .or_default()
                .insert(name.to_string());
            self.slices.insert(key, slice);
            if !touched.contains(&service) {
                touched.push(service);
            }
        }
        touched
    }

    /// Replaces every EndpointSlice: `((namespace, name), endpoints)`.
    pub fn replace_slices(&mut self, slices: Vec<(ObjectKey, SliceEndpoints)>) {
        self.slices.clear();
        self.by_service.clear();
        for ((namespace, name), slice) in slices {
            self.set_slice(&namespace, &name, Some(slice));
        }
    }

    /// Every node, by name.
    pub fn nodes(&self) -> &BTreeMap<String, NodeAddresses> {
        &self.nodes
    }

    /// The endpoints of Service `namespace/name`, from all its EndpointSlices (IP slices only).
    pub fn endpoints_of<'a>(
        &'a self,
        namespace: &'a str,
        name: &str,
    ) -> impl Iterator<Item = &'a SliceEndpoint> + 'a {
        let key = (namespace.to_string(), name.to_string());
        self.by_service
            .get(&key)
            .into_iter()
            .flatten()
            .filter_map(move |slice| self.slices.get(&(namespace.to_string(), slice.clone())))
            .filter(|slice| slice.ip_addresses)
            .flat_map(|slice| slice.endpoints.iter())
    }

    /// True when an endpoint of Service `namespace/name` runs on `node`.
    fn service_runs_on(&self, namespace: &str, name: &str, node: &str) -> bool {
        self.endpoints_of(namespace, name)
            .any(|e| e.node_name.as_deref() == Some(node))
    }

    /// Number of nodes and EndpointSlices held.
    pub fn len(&self) -> (usize, usize) {
        (self.nodes.len(), self.slices.len())
    }
}

/// Which Services depend on what.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dependency {
    /// A `NodePort` Service: its nodes (and, with `externalTrafficPolicy: Local`, its
    /// EndpointSlices).
    Nodes {
        /// `externalTrafficPolicy: Local`.
        local: bool,
    },
    /// A headless Service: its EndpointSlices.
    Slices,
}

/// Services, nodes and EndpointSlices as the watches deliver them, and which Services' claims
/// must be recomputed. Pure and synchronous; the controller's watches feed it and publish what
/// [`ServiceTable::drain`] returns into the desired-state index.
///
/// Services that need neither Nodes nor EndpointSlices are converted as they arrive and not
/// kept. Nothing is published until the Nodes and EndpointSlices the configuration needs are
/// listed: a Service resolved against half-known nodes would look like it lost its addresses.
#[derive(Debug, Default)]
pub struct ServiceTable {
    backends: ServiceBackends,
    needs_nodes: bool,
    needs_slices: bool,
    nodes_listed: bool,
    slices_listed: bool,
    services_listed: bool,
    /// Slim copies of the Services that depend on nodes or EndpointSlices.
    dependent: HashMap<ObjectKey, (Dependency, Service)>,
    /// Outcomes of the other Services from the last list, until published.
    listed: Vec<ObjectOutcome>,
    /// Outcomes of other Services changed since, until published.
    pending: Vec<ObjectOutcome>,
    /// Publish every Service (a completed Service list).
    full: bool,
    /// Dependent Services to recompute.
    dirty: BTreeSet<ObjectKey>,
}

/// What to publish into the desired-state index.
#[derive(Debug, Default)]
pub struct ServicePublish {
    /// Every Service (a completed list): replace the Service kind whole.
    pub replace: Option<Vec<ObjectOutcome>>,
    /// Single Services recomputed.
    pub upsert: Vec<ObjectOutcome>,
}

impl ServicePublish {
    /// True when there is nothing to publish.
    pub fn is_empty(&self) -> bool {
        self.replace.is_none() && self.upsert.is_empty()
    }
}

/// A Service as it arrives, reduced to what the table keeps: the outcome of a Service that
/// depends on neither nodes nor EndpointSlices, or a slim copy of one that does.
#[derive(Debug)]
// Nearly every Service arrives converted; boxing the outcome would cost an allocation each.
#[allow(clippy::large_enum_variant)]
pub enum ServiceArrival {
    /// Converted already.
    Converted(ObjectOutcome),
    /// Kept (without status, managed fields or the last-applied annotation) to be converted
    /// against the nodes and EndpointSlices.
    Dependent(ObjectKey, Dependency, Box<Service>),
}

impl ServiceArrival {
    /// Reduces `service` as it arrives, so a list never holds whole Services.
    pub fn new(mut service: Service, config: &SourceConfig) -> Self {
        match service::dependency(&service, config) {
            Some(dependency) => {
                super::gateway::slim_metadata(&mut service.metadata);
                service.status = None;
                Self::Dependent(key_of(&service), dependency, Box::new(service))
            }
            None => Self::Converted(service::convert(&service, &ServiceBackends::new(), config)),
        }
    }
}

fn key_of(service: &Service) -> ObjectKey {
    (
        service
            .metadata
            .namespace
            .clone()
            .unwrap_or_else(|| "default".into()),
        service.metadata.name.clone().unwrap_or_default(),
    )
}

impl ServiceTable {
    /// An empty table for `config`: Nodes are needed when `NodePort` Services are read,
    /// EndpointSlices when headless (`ClusterIP`) or `NodePort` Services are (the latter for
    /// `externalTrafficPolicy: Local`).
    pub fn new(config: &SourceConfig) -> Self {
        Self {
            needs_nodes: needs_nodes(config),
            needs_slices: needs_endpoint_slices(config),
            ..Self::default()
        }
    }

    /// True when Nodes must be watched.
    pub fn needs_nodes(&self) -> bool {
        self.needs_nodes
    }

    /// True when EndpointSlices must be watched.
    pub fn needs_slices(&self) -> bool {
        self.needs_slices
    }

    /// The nodes and EndpointSlices held.
    pub fn backends(&self) -> &ServiceBackends {
        &self.backends
    }

    /// Takes in a Service as [`ServiceArrival::new`] prepared it; returns the outcome of an
    /// independent Service.
    fn take_in(&mut self, arrival: ServiceArrival) -> Option<ObjectOutcome> {
        match arrival {
            ServiceArrival::Dependent(key, dependency, service) => {
                self.dependent.insert(key.clone(), (dependency, *service));
                self.dirty.insert(key);
                None
            }
            ServiceArrival::Converted(outcome) => {
                let key = (
                    outcome.resource.namespace.clone(),
                    outcome.resource.name.clone(),
                );
                self.dependent.remove(&key);
                self.dirty.remove(&key);
                Some(outcome)
            }
        }
    }

    /// A completed list of Services.
    pub fn services_listed(&mut self, services: Vec<ServiceArrival>) {
        self.begin_service_list();
        for service in services {
            self.service_listed(service);
        }
        self.end_service_list();
    }

    /// Starts taking in a list of Services (one at a time, so whole objects are not all held).
    pub fn begin_service_list(&mut self) {
        self.dependent.clear();
        self.pending.clear();
        self.listed.clear();
    }

    /// One Service of the list begun with [`ServiceTable::begin_service_list`].
    pub fn service_listed(&mut self, service: ServiceArrival) {
        if let Some(outcome) = self.take_in(service) {
            self.listed.push(outcome);
        }
    }

    /// Ends the list begun with [`ServiceTable::begin_service_list`].
    pub fn end_service_list(&mut self) {
        self.dirty.clear();
        self.services_listed = true;
        self.full = true;
    }

    /// A Service was added or changed.
    pub fn service_applied(&mut self, service: ServiceArrival) {
        if let Some(outcome) = self.take_in(service) {
            self.pending.push(outcome);
        }
    }

    /// A Service was deleted; returns its `service/namespace/name` for removal from the index.
    pub fn service_deleted(&mut self, service: &Service) -> String {
        let key = key_of(service);
        self.dependent.remove(&key);
        self.dirty.remove(&key);
        let resource = format!("{}/{}/{}", ResourceKind::Service.as_str(), key.0, key.1);
        let other = |o: &ObjectOutcome| o.resource.to_string() != resource;
        self.listed.retain(other);
        self.pending.retain(other);
        resource
    }

    /// A completed list of nodes.
    pub fn nodes_listed(&mut self, nodes: &[Node]) {
        self.backends.replace_nodes(
            nodes
                .iter()
                .map(|n| {
                    (
                        n.metadata.name.clone().unwrap_or_default(),
                        NodeAddresses::from_node(n),
                    )
                })
                .collect(),
        );
        self.nodes_listed = true;
        self.touch_node_ports(None);
    }

    /// A node was added, changed or deleted (`node` = `None`).
    pub fn node_changed(&mut self, name: &str, node: Option<&Node>) {
        let changed = match node {
            Some(node) => self.backends.set_node(name, NodeAddresses::from_node(node)),
            None => self.backends.remove_node(name),
        };
        if changed {
            self.touch_node_ports(Some(name));
        }
    }

    /// Marks the `NodePort` Services a change of `node` (every node when `None`) concerns:
    /// all of them, except `externalTrafficPolicy: Local` ones with no endpoint on that node.
    fn touch_node_ports(&mut self, node: Option<&str>) {
        let backends = &self.backends;
        let touched =
            self.dependent
                .iter()
                .filter(|(key, (dependency, _))| match (dependency, node) {
                    (Dependency::Nodes { .. }, None) | (Dependency::Nodes { local: false }, _) => {
                        true
                    }
                    (Dependency::Nodes { local: true }, Some(node)) => {
                        backends.service_runs_on(&key.0, &key.1, node)
                    }
                    (Dependency::Slices, _) => false,
                });
        self.dirty.extend(touched.map(|(key, _)| key.clone()));
    }

    /// A completed list of EndpointSlices.
    pub fn slices_listed(&mut self, slices: &[EndpointSlice]) {
        self.backends.replace_slices(
            slices
                .iter()
                .filter_map(|s| {
                    let key = (
                        s.metadata
                            .namespace
                            .clone()
                            .unwrap_or_else(|| "default".into()),
                        s.metadata.name.clone().unwrap_or_default(),
                    );
                    SliceEndpoints::from_slice(s).map(|e| (key, e))
                })
                .collect(),
        );
        self.slices_listed = true;
        self.dirty.extend(
            self.dependent
                .iter()
                .filter(|(_, (d, _))| {
                    matches!(d, Dependency::Slices | Dependency::Nodes { local: true })
                })
                .map(|(key, _)| key.clone()),
        );
    }

    /// An EndpointSlice was added, changed or deleted (`slice` = `None`).
    pub fn slice_changed(&mut self, namespace: &str, name: &str, slice: Option<&EndpointSlice>) {
        let endpoints = slice.and_then(SliceEndpoints::from_slice);
        for service in self.backends.set_slice(namespace, name, endpoints) {
            if self.dependent.contains_key(&service) {
                self.dirty.insert(service);
            }
        }
    }

    /// True when Services can be resolved: the Nodes and EndpointSlices needed are listed.
    pub fn is_ready(&self) -> bool {
        (self.nodes_listed || !self.needs_nodes) && (self.slices_listed || !self.needs_slices)
    }

    /// Takes what must be published, recomputed against the current nodes and EndpointSlices;
    /// nothing while the table is not ready (it is kept until then).
    pub fn drain(&mut self, config: &SourceConfig) -> ServicePublish {
        let mut publish = ServicePublish::default();
        if !self.is_ready() || !self.services_listed {
            return publish;
        }
        let convert = |service: &Service| service::convert(service, &self.backends, config);
        if std::mem::take(&mut self.full) {
            let mut outcomes = std::mem::take(&mut self.listed);
            outcomes.extend(self.dependent.values().map(|(_, s)| convert(s)));
            publish.replace = Some(outcomes);
            self.dirty.clear();
        }
        publish.upsert = std::mem::take(&mut self.pending);
        for key in std::mem::take(&mut self.dirty) {
            if let Some((_, service)) = self.dependent.get(&key) {
                publish.upsert.push(convert(service));
            }
        }
        publish
    }

    /// Number of Services kept (those depending on nodes or EndpointSlices).
    pub fn len(&self) -> usize {
        self.dependent.len()
    }

    /// True when no Service is kept.
    pub fn is_empty(&self) -> bool {
        self.dependent.is_empty()
    }
}

/// True when the Service source reads `type` Services (`--service-type-filter`).
fn admits(config: &SourceConfig, service_type: &str) -> bool {
    config.kinds.contains(&ResourceKind::Service)
        && (config.service_types.is_empty()
            || config.service_types.iter().any(|t| t == service_type))
}

/// True when Nodes must be read: the Service source reads `NodePort` Services.
pub fn needs_nodes(config: &SourceConfig) -> bool {
    admits(config, "NodePort")
}

/// True when EndpointSlices must be read: the Service source reads headless (`ClusterIP`)
/// Services, or `NodePort` ones (for `externalTrafficPolicy: Local`).
pub fn needs_endpoint_slices(config: &SourceConfig) -> bool {
    admits(config, "ClusterIP") || admits(config, "NodePort")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> T {
        serde_json::from_value(value).unwrap()
    }

    fn service(name: &str, spec: serde_json::Value) -> Service {
        object(serde_json::json!({
            "metadata": {"name": name, "namespace": "default",
                "annotations": {"external-dns.kubernetes.io/hostname": format!("{name}.example.com")}},
            "spec": spec,
        }))
    }

    fn node(name: &str, address: &str) -> Node {
        object(serde_json::json!({
            "metadata": {"name": name},
            "status": {"addresses": [{"type": "ExternalIP", "address": address}]},
        }))
    }

    fn slice(service: &str, address: &str, node: &str) -> EndpointSlice {
        object(serde_json::json!({
            "metadata": {"name": format!("{service}-1"), "namespace": "default",
                "labels": {"kubernetes.io/service-name": service}},
            "addressType": "IPv4",
            "endpoints": [{"addresses": [address], "nodeName": node,
                "targetRef": {"kind": "Pod", "name": "p"}}],
        }))
    }

    fn config() -> SourceConfig {
        SourceConfig {
            kinds: [ResourceKind::Service].into(),
            ..SourceConfig::default()
        }
    }

    fn resources(outcomes: &[ObjectOutcome]) -> Vec<String> {
        let mut names: Vec<String> = outcomes.iter().map(|o| o.resource.to_string()).collect();
        names.sort();
        names
    }

    #[test]
    fn what_is_watched_follows_the_service_type_filter() {
        let only = |types: &[&str]| SourceConfig {
            service_types: types.iter().map(ToString::to_string).collect(),
            ..config()
        };
        let table = ServiceTable::new(&config());
        assert!(table.needs_nodes() && table.needs_slices());
        let table = ServiceTable::new(&only(&["LoadBalancer"]));
        assert!(!table.needs_nodes() && !table.needs_slices());
        let table = ServiceTable::new(&only(&["ClusterIP"]));
        assert!(!table.needs_nodes() && table.needs_slices());
        let table = ServiceTable::new(&SourceConfig::default());
        assert!(
            !table.needs_nodes() && !table.needs_slices(),
            "no service source"
        );
    }

    #[test]
    fn node_and_slice_changes_recompute_only_the_services_they_concern() {
        let config = config();
        let mut table = ServiceTable::new(&config);
        let arrive = |s| ServiceArrival::new(s, &config);
        table.services_listed(vec![
            arrive(service("lb", serde_json::json!({"type": "LoadBalancer"}))),
            arrive(service("np", serde_json::json!({"type": "NodePort"}))),
            arrive(service(
                "local",
                serde_json::json!({"type": "NodePort", "externalTrafficPolicy": "Local"}),
            )),
            arrive(service(
                "hl",
                serde_json::json!({"type": "ClusterIP", "clusterIP": "None"}),
            )),
            arrive(service(
                "hl2",
                serde_json::json!({"type": "ClusterIP", "clusterIP": "None"}),
            )),
        ]);
        assert_eq!(
            table.len(),
            4,
            "only NodePort and headless Services are kept"
        );
        // Nothing before the nodes and EndpointSlices are listed.
        assert!(table.drain(&config).is_empty());
        table.nodes_listed(&[node("n1", "203.0.113.1"), node("n2", "203.0.113.2")]);
        assert!(table.drain(&config).is_empty());
        table.slices_listed(&[
            slice("hl", "10.1.0.1", "n1"),
            slice("local", "10.1.0.2", "n2"),
        ]);
        let publish = table.drain(&config);
        assert_eq!(
            resources(publish.replace.as_deref().unwrap()),
            [
                "service/default/hl",
                "service/default/hl2",
                "service/default/lb",
                "service/default/local",
                "service/default/np"
            ]
        );
        assert!(publish.upsert.is_empty());

        // A node the Local Service does not run on: only the other NodePort Service.
        table.node_changed("n1", Some(&node("n1", "203.0.113.9")));
        let publish = table.drain(&config);
        assert!(publish.replace.is_none());
        assert_eq!(resources(&publish.upsert), ["service/default/np"]);
        // The same node again: nothing.
        table.node_changed("n1", Some(&node("n1", "203.0.113.9")));
        assert!(table.drain(&config).is_empty());
        // The node the Local Service runs on: both.
        table.node_changed("n2", None);
        assert_eq!(
            resources(&table.drain(&config).upsert),
            ["service/default/local", "service/default/np"]
        );
        // An EndpointSlice: only its Service.
        table.slice_changed("default", "hl-1", Some(&slice("hl", "10.1.0.5", "n1")));
        let publish = table.drain(&config);
        assert_eq!(resources(&publish.upsert), ["service/default/hl"]);
        let records: Vec<String> = publish.upsert[0]
            .claim
            .as_ref()
            .unwrap()
            .endpoints()
            .iter()
            .flat_map(|e| e.targets.iter().cloned())
            .collect();
        assert_eq!(records, ["10.1.0.5"]);
        // A deleted Service is forgotten.
        assert_eq!(
            table.service_deleted(&service("hl", serde_json::json!({}))),
            "service/default/hl"
        );
        table.slice_changed("default", "hl-1", None);
        assert!(table.drain(&config).is_empty());
        assert_eq!(table.len(), 3);
    }
}
