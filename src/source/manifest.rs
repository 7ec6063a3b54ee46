//! The manifest source: Ingresses, Services (with the Nodes and EndpointSlices `NodePort` and
//! headless Services are published with), Gateway API routes with their Gateways (and
//! Namespaces, for listeners that admit routes by namespace labels) and DNSEndpoints read from
//! YAML or JSON files instead of a cluster (`--source manifest --manifest PATH`), for the demo, CI checks and GitOps reviews.
//!
//! Files may hold several documents and `List` kinds. Objects of other kinds are ignored. Any
//! file that cannot be read or parsed fails the whole run: a broken manifest must never look
//! like "nothing desired", which would delete records.

use std::path::{Path, PathBuf};

use k8s_openapi::api::core::v1::{Node, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::networking::v1::Ingress;
use serde_json::Value;

use super::backends::{NodeAddresses, ServiceBackends, SliceEndpoints};
use super::gateway::GatewaySet;
use super::gateway_api::{GatewayObject, NamespaceLabels, Route, RouteKind};
use super::{CrdSource, ResourceKind, SourceConfig, SourceSnapshot, dnsendpoint, gateway};
use super::{ingress, service};

/// Why manifests could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// A file or folder could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A file is not UTF-8 text.
    #[error("{path} is not UTF-8 text (invalid byte at offset {offset})")]
    NotUtf8 {
        /// The file.
        path: PathBuf,
        /// Offset of the first invalid byte.
        offset: usize,
    },
    /// A file is not valid YAML.
    #[error("{path} is not valid YAML: {message}")]
    Yaml {
        /// The file.
        path: PathBuf,
        /// The parser's message, with line and column.
        message: String,
    },
    /// A document does not match its kind's schema.
    #[error("{path}: document {document} ({kind} {name}) is malformed: {message}")]
    Object {
        /// The file.
        path: PathBuf,
        /// 1-based document number in the file.
        document: usize,
        /// `Ingress` or `Service`.
        kind: String,
        /// `metadata.name`, or `?`.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// A folder holds no manifest file.
    #[error("{path} holds no .yaml, .yml or .json file")]
    Empty {
        /// The folder.
        path: PathBuf,
    },
}

/// A Kubernetes object the sources understand.
#[derive(Clone, Debug)]
pub enum KubeObject {
    /// An Ingress.
    Ingress(Box<Ingress>),
    /// A Service.
    Service(Box<Service>),
    /// A Gateway API route.
    Route(RouteKind, Box<Route>),
    /// A Gateway.
    Gateway(Box<GatewayObject>),
    /// A Namespace (its labels).
    Namespace(Box<NamespaceLabels>),
    /// A Node (its addresses).
    Node(Box<Node>),
    /// A `discovery.k8s.io/v1` EndpointSlice.
    EndpointSlice(Box<EndpointSlice>),
    /// A DNSEndpoint (of the kind `--crd-source-apiversion`/`--crd-source-kind` name).
    DnsEndpoint(Box<dnsendpoint::DnsEndpoint>),
}

/// Loads every object of a kind zonesync reads from `paths` (files, or folders searched
/// recursively for `.yaml`, `.yml` and `.json` files), in path order; `crd` names the
/// DNSEndpoint type.
///
/// Fails on the first file that cannot be read or parsed, naming it.
pub fn load(paths: &[PathBuf], crd: &CrdSource) -> Result<Vec<KubeObject>, ManifestError> {
    let mut files = Vec::new();
    for path in paths {
        let metadata = std::fs::metadata(path).map_err(|source| ManifestError::Io {
            path: path.clone(),
            source,
        })?;
        if metadata.is_dir() {
            let before = files.len();
            collect_files(path, &mut files)?;
            if files.len() == before {
                return Err(ManifestError::Empty { path: path.clone() });
            }
        } else {
            files.push(path.clone());
        }
    }
    let mut objects = Vec::new();
    for file in files {
        load_file(&file, crd, &mut objects)?;
    }
    Ok(objects)
}

fn collect_files(dir: &Path, files: &mut Vec<PathBuf>) -> Result<(), ManifestError> {
    let io = |source| ManifestError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io)?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(io)?;
    entries.sort();
    for entry in entries {
        let hidden = entry
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'));
        if hidden {
            continue;
        }
        if entry.is_dir() {
            collect_files(&entry, files)?;
        } else if entry
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| matches!(e, "yaml" | "yml" | "json"))
        {
            files.push(entry);
        }
    }
    Ok(())
}

fn load_file(
    path: &Path,
    crd: &CrdSource,
    objects: &mut Vec<KubeObject>,
) -> Result<(), ManifestError> {
    let bytes = std::fs::read(path).map_err(|source| ManifestError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let text = std::str::from_utf8(&bytes).map_err(|e| ManifestError::NotUtf8 {
        path: path.to_path_buf(),
        offset: e.valid_up_to(),
    })?;
    let documents: Vec<Value> =
        serde_saphyr::from_multiple_with_options(text, parse_options(text.len())).map_err(|e| {
            ManifestError::Yaml {
                path: path.to_path_buf(),
                message: e.to_string(),
            }
        })?;
    for (index, document) in documents.into_iter().enumerate() {
        push_document(path, index + 1, document, crd, objects)?;
    }
    Ok(())
}

/// The YAML parser's budget, scaled to the file: the defaults stop at 1,024 documents and
/// 250,000 nodes, which a file of a few thousand objects exceeds. Alias and anchor limits (the
/// "billion laughs" defence) keep their defaults.
fn parse_options(len: usize) -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_documents = budget.max_documents.max(len / 8);
    budget.max_nodes = budget.max_nodes.max(len);
    budget.max_events = budget.max_events.max(len.saturating_mul(2));
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    options
}

fn push_document(
    path: &Path,
    document: usize,
    value: Value,
    crd: &CrdSource,
    objects: &mut Vec<KubeObject>,
) -> Result<(), ManifestError> {
    let kind = value
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let api_version = value
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let gateway_group = api_version
        .split_once('/')
        .is_some_and(|(group, _)| group == super::gateway_api::GATEWAY_GROUP);
    let name = value
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("?")
        .to_string();
    let malformed = |kind: &str, message: String| ManifestError::Object {
        path: path.to_path_buf(),
        document,
        kind: kind.to_string(),
        name: name.clone(),
        message,
    };
    match kind.as_str() {
        "List" => {
            let items = match value.get("items") {
                Some(Value::Array(items)) => items.clone(),
                Some(Value::Null) | None => Vec::new(),
                Some(_) => return Err(malformed("List", "items is not a list".into())),
            };
            for item in items {
                push_document(path, document, item, crd, objects)?;
            }
        }
        "Ingress" => {
            let ingress: Ingress =
                serde_json::from_value(value).map_err(|e| malformed("Ingress", e.to_string()))?;
            objects.push(KubeObject::Ingress(Box::new(ingress)));
        }
        "Service" => {
            let service: Service =
                serde_json::from_value(value).map_err(|e| malformed("Service", e.to_string()))?;
            objects.push(KubeObject::Service(Box::new(service)));
        }
        _ if kind == crd.kind && api_version == crd.api_version => {
            let object = dnsendpoint::DnsEndpoint::from_value(value)
                .map_err(|e| malformed(&kind, e.to_string()))?;
            objects.push(KubeObject::DnsEndpoint(Box::new(object)));
        }
        "Gateway" if gateway_group => {
            let gateway: GatewayObject =
                serde_json::from_value(value).map_err(|e| malformed(&kind, e.to_string()))?;
            objects.push(KubeObject::Gateway(Box::new(gateway)));
        }
        "Node" if api_version == "v1" => {
            let node: Node =
                serde_json::from_value(value).map_err(|e| malformed(&kind, e.to_string()))?;
            objects.push(KubeObject::Node(Box::new(node)));
        }
        "EndpointSlice" if api_version == "discovery.k8s.io/v1" => {
            let slice: EndpointSlice =
                serde_json::from_value(value).map_err(|e| malformed(&kind, e.to_string()))?;
            objects.push(KubeObject::EndpointSlice(Box::new(slice)));
        }
        "Namespace" if api_version == "v1" => {
            let namespace: NamespaceLabels =
                serde_json::from_value(value).map_err(|e| malformed(&kind, e.to_string()))?;
            objects.push(KubeObject::Namespace(Box::new(namespace)));
        }
        _ if gateway_group && RouteKind::ALL.iter().any(|k| k.kind() == kind) => {
            let route_kind = RouteKind::ALL
                .into_iter()
                .find(|k| k.kind() == kind)
                .unwrap_or(RouteKind::Http);
            let route: Route =
                serde_json::from_value(value).map_err(|e| malformed(&kind, e.to_string()))?;
            objects.push(KubeObject::Route(route_kind, Box::new(route)));
        }
        _ => {
            tracing::debug!(file = %path.display(), document, kind, "ignoring object of a kind zonesync does not read")
        }
    }
    Ok(())
}

/// Converts loaded objects into a snapshot, honouring the configured kinds and filters.
pub fn snapshot(objects: &[KubeObject], config: &SourceConfig) -> SourceSnapshot {
    let mut snapshot = SourceSnapshot::default();
    // Routes are resolved against every Gateway and Namespace in the files, wherever they are.
    let mut gateways = GatewaySet::new();
    // NodePort and headless Services are resolved against every Node and EndpointSlice in the
    // files.
    let mut backends = ServiceBackends::new();
    for object in objects {
        match object {
            KubeObject::Node(node) => {
                backends.set_node(
                    node.metadata.name.as_deref().unwrap_or_default(),
                    NodeAddresses::from_node(node),
                );
            }
            KubeObject::EndpointSlice(slice) => {
                backends.set_slice(
                    slice.metadata.namespace.as_deref().unwrap_or("default"),
                    slice.metadata.name.as_deref().unwrap_or_default(),
                    SliceEndpoints::from_slice(slice),
                );
            }
            KubeObject::Gateway(gateway) => {
                gateways.upsert((**gateway).clone(), config);
            }
            KubeObject::Namespace(namespace) => gateways.set_namespace(
                namespace.metadata.name.clone().unwrap_or_default(),
                namespace.labels().clone(),
            ),
            _ => {}
        }
    }
    for object in objects {
        let outcome = match object {
            KubeObject::Route(kind, route) if config.kinds.contains(&kind.resource_kind()) => {
                gateway::convert(route, *kind, &gateways, config)
            }
            KubeObject::DnsEndpoint(object)
                if config.kinds.contains(&ResourceKind::DnsEndpoint) =>
            {
                dnsendpoint::convert(object, config)
            }
            KubeObject::Ingress(ingress) if config.kinds.contains(&ResourceKind::Ingress) => {
                ingress::convert(ingress, config)
            }
            KubeObject::Service(service) if config.kinds.contains(&ResourceKind::Service) => {
                service::convert(service, &backends, config)
            }
            _ => continue,
        };
        snapshot.push(outcome);
    }
    snapshot
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, content: &[u8]) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, content).unwrap();
        path
    }

    #[test]
    fn reads_multi_document_files_and_lists() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "a.yaml",
            br#"
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web, namespace: shop}
spec:
  rules: [{host: www.example.com}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: ignored}
---
apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Service
    metadata: {name: api}
    spec: {type: LoadBalancer}
"#,
        );
        write(dir.path(), "notes.txt", b"not a manifest");
        let objects = load(&[dir.path().to_path_buf()], &CrdSource::default()).unwrap();
        assert_eq!(objects.len(), 2);
        assert!(
            matches!(&objects[0], KubeObject::Ingress(i) if i.metadata.name.as_deref() == Some("web"))
        );
        assert!(
            matches!(&objects[1], KubeObject::Service(s) if s.metadata.name.as_deref() == Some("api"))
        );
    }

    #[test]
    fn reads_files_with_thousands_of_documents() {
        let dir = tempfile::tempdir().unwrap();
        let one = "apiVersion: v1\nkind: Service\nmetadata:\n  name: s\n  namespace: default\n  annotations:\n    external-dns.kubernetes.io/hostname: a.example.com\nspec:\n  type: LoadBalancer\n  ports: [{port: 80}, {port: 443}]\nstatus:\n  loadBalancer:\n    ingress: [{ip: 192.0.2.1}]\n---\n";
        write(dir.path(), "big.yaml", one.repeat(12_000).as_bytes());
        let objects = load(&[dir.path().to_path_buf()], &CrdSource::default()).unwrap();
        assert_eq!(objects.len(), 12_000);
    }

    #[test]
    fn invalid_utf8_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            "bad.yaml",
            b"kind: Ingress\nmetadata: {name: \xff}\n",
        );
        let error = load(&[path], &CrdSource::default())
            .unwrap_err()
            .to_string();
        assert!(error.contains("bad.yaml"), "{error}");
        assert!(error.contains("not UTF-8"), "{error}");
    }

    #[test]
    fn malformed_object_names_file_document_and_object() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            "svc.yaml",
            b"kind: Service\nmetadata: {name: api}\nspec: {ports: 5}\n",
        );
        let error = load(&[path], &CrdSource::default())
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("svc.yaml: document 1 (Service api)"),
            "{error}"
        );
    }

    #[test]
    fn broken_yaml_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "x.yaml", b"kind: [unclosed\n");
        assert!(matches!(
            load(&[path], &CrdSource::default()),
            Err(ManifestError::Yaml { .. })
        ));
    }

    #[test]
    fn empty_folder_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            load(&[dir.path().to_path_buf()], &CrdSource::default()),
            Err(ManifestError::Empty { .. })
        ));
    }
}
