//! The HTTP side: routing a request to discovery, list, watch, get or a write, and writing the
//! answer the way the API server does.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::Response;
use bytes::Bytes;
use serde_json::{Value, json};
use tokio_stream::StreamExt as _;
use tokio_stream::wrappers::ReceiverStream;

use super::control;
use super::fault::{RequestRecord, Verb};
use super::patch::Scope;
use super::resource::{PathTarget, ResourcePath, ResourceType, parse_path};
use super::selector::{FieldSelector, LabelSelector};
use super::server::Shared;
use super::status::ApiError;
use super::store::{ListPage, ListQuery, Origin, PatchKind, Preconditions, WriteOptions};
use super::watch::{self, WatchRequest, WatchStart};

/// A decoded query string.
#[derive(Debug, Default)]
pub(crate) struct Query(Vec<(String, String)>);

impl Query {
    /// Parses `a=1&b=x%2Fy`; empty pairs (kube starts its queries with `&`) are skipped.
    pub(crate) fn parse(query: &str) -> Self {
        Self(
            query
                .split('&')
                .filter(|pair| !pair.is_empty())
                .map(|pair| {
                    let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                    (percent_decode(key), percent_decode(value))
                })
                .collect(),
        )
    }

    /// The last value of a parameter.
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn flag(&self, key: &str) -> bool {
        matches!(self.get(key), Some("true" | "1"))
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => match text
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                Some(byte) => {
                    out.push(byte);
                    i += 2;
                }
                None => out.push(b'%'),
            },
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Answers one request: a control endpoint, a fault, or the API itself; logs it.
pub(crate) async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let raw_query = uri.query().unwrap_or_default().to_owned();
    let query = Query::parse(&raw_query);
    if shared.settings.control_api && path.starts_with("/fake/") {
        return control::handle(&shared, &method, &path, &query, &body);
    }
    let target = parse_path(&path, &shared.types);
    let mut record = RequestRecord {
        method: method.to_string(),
        path,
        query: raw_query,
        verb: verb_of(&method, &target, &query),
        resource: None,
        group: None,
        namespace: None,
        name: None,
        subresource: None,
        status: 0,
    };
    if let PathTarget::Resource(r) = &target {
        let resource = &shared.types[r.type_index];
        record.resource = Some(resource.plural().to_owned());
        record.group = Some(resource.group().to_owned());
        record.namespace.clone_from(&r.namespace);
        record.name.clone_from(&r.name);
        record.subresource.clone_from(&r.subresource);
    }
    let response = match shared.take_fault(&record) {
        Some(fault) => {
            if let Some(delay) = fault.delay {
                tokio::time::sleep(delay).await;
            }
            match fault.status {
                Some(410) if record.verb == Verb::Watch => {
                    let error = ApiError::expired("too old resource version (injected)");
                    stream_response(Body::from(watch::expired_stream(&error)))
                }
                Some(code) => error_response(&ApiError::from_code(code)),
                None => serve(&shared, &method, &target, &query, &headers, &body),
            }
        }
        None => serve(&shared, &method, &target, &query, &headers, &body),
    };
    record.status = response.status().as_u16();
    shared.record(record);
    response
}

fn verb_of(method: &Method, target: &PathTarget, query: &Query) -> Verb {
    let PathTarget::Resource(r) = target else {
        return Verb::Discovery;
    };
    match (method.as_str(), r.name.is_some()) {
        ("GET", false) if query.flag("watch") => Verb::Watch,
        ("GET", false) => Verb::List,
        ("GET", true) => Verb::Get,
        ("POST", _) => Verb::Create,
        ("PUT", _) => Verb::Update,
        ("PATCH", _) => Verb::Patch,
        ("DELETE", true) => Verb::Delete,
        ("DELETE", false) => Verb::DeleteCollection,
        _ => Verb::Discovery,
    }
}

fn serve(
    shared: &Arc<Shared>,
    method: &Method,
    target: &PathTarget,
    query: &Query,
    headers: &HeaderMap,
    body: &Bytes,
) -> Response {
    let result = match target {
        PathTarget::Version => Ok(json_response(StatusCode::OK, &version_info())),
        PathTarget::Health => Ok(text_response(StatusCode::OK, "ok")),
        PathTarget::CoreVersions => Ok(json_response(
            StatusCode::OK,
            &json!({
                "kind": "APIVersions",
                "versions": ["v1"],
                "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": shared.addr.to_string()}],
            }),
        )),
        PathTarget::GroupList => Ok(json_response(StatusCode::OK, &group_list(&shared.types))),
        PathTarget::Group(group) => {
            group_document(&shared.types, group).map(|g| json_response(StatusCode::OK, &g))
        }
        PathTarget::ResourceList { group, version } => {
            resource_list(&shared.types, group, version).map(|l| json_response(StatusCode::OK, &l))
        }
        PathTarget::Resource(path) => serve_resource(shared, method, path, query, headers, body),
        PathTarget::Unknown => Err(ApiError::resource_not_served()),
    };
    result.unwrap_or_else(|error| error_response(&error))
}

fn serve_resource(
    shared: &Arc<Shared>,
    method: &Method,
    path: &ResourcePath,
    query: &Query,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Response, ApiError> {
    let resource = &shared.types[path.type_index];
    let scope = match path.subresource.as_deref() {
        None if resource.has_status_subresource() => Scope::MainResource,
        None => Scope::All,
        Some("status") if resource.has_status_subresource() => Scope::Status,
        Some(_) => return Err(ApiError::resource_not_served()),
    };
    let namespace = path.namespace.as_deref();
    let partial_metadata = headers
        .get(header::ACCEPT)
        .and_then(|a| a.to_str().ok())
        .is_some_and(|a| a.contains("as=PartialObjectMetadata"));
    let options = WriteOptions {
        field_manager: query.get("fieldManager"),
        dry_run: query.get("dryRun") == Some("All"),
        origin: Origin::Api,
    };
    let name = path.name.as_deref();
    match (method.as_str(), name) {
        ("GET", None) if query.flag("watch") => watch(shared, path, query, partial_metadata),
        ("GET", None) => list(shared, path, query, partial_metadata),
        ("GET", Some(name)) => {
            let object = shared.store().get(path.type_index, namespace, name);
            let object = object.ok_or_else(|| ApiError::not_found(resource, name))?;
            let bytes = if partial_metadata {
                Bytes::from(watch::partial_object_metadata(&object.value()))
            } else {
                object.json.clone()
            };
            Ok(bytes_response(StatusCode::OK, bytes))
        }
        ("POST", None) if scope != Scope::Status => {
            if resource.is_namespaced() && namespace.is_none() {
                return Err(ApiError::method_not_allowed("POST"));
            }
            let object = parse_json(body)?;
            let created = shared
                .store()
                .create(path.type_index, namespace, object, options)?;
            Ok(json_response(StatusCode::CREATED, &created))
        }
        ("PUT", Some(name)) => {
            let object = parse_json(body)?;
            let replaced =
                shared
                    .store()
                    .replace(path.type_index, namespace, name, object, scope, options)?;
            Ok(json_response(StatusCode::OK, &replaced))
        }
        ("PATCH", Some(name)) => {
            let content_type = headers
                .get(header::CONTENT_TYPE)
                .and_then(|c| c.to_str().ok())
                .unwrap_or_default();
            let kind = match content_type.split(';').next().unwrap_or_default().trim() {
                "application/merge-patch+json" => PatchKind::Merge,
                "application/strategic-merge-patch+json" => PatchKind::Strategic,
                "application/json-patch+json" => PatchKind::Json,
                "application/apply-patch+yaml" => PatchKind::Apply {
                    force: query.flag("force"),
                },
                other => {
                    return Err(ApiError::new(
                        415,
                        "UnsupportedMediaType",
                        format!(
                            "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml (got {other:?})"
                        ),
                    ));
                }
            };
            let (patched, created) = shared.store().patch(
                path.type_index,
                namespace,
                name,
                kind,
                body,
                scope,
                options,
            )?;
            let status = if created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            Ok(json_response(status, &patched))
        }
        ("DELETE", Some(name)) if scope != Scope::Status => {
            let (preconditions, dry_run) = delete_options(body)?;
            let options = WriteOptions {
                dry_run: options.dry_run || dry_run,
                ..options
            };
            let deleted =
                shared
                    .store()
                    .delete(path.type_index, namespace, name, &preconditions, options)?;
            Ok(json_response(StatusCode::OK, &deleted))
        }
        ("DELETE", None) => {
            let (_, dry_run) = delete_options(body)?;
            let options = WriteOptions {
                dry_run: options.dry_run || dry_run,
                ..options
            };
            let (labels, fields) = selectors(query)?;
            let mut store = shared.store();
            let doomed = store.snapshot(path.type_index, namespace, &labels, &fields);
            let mut deleted = Vec::new();
            for object in doomed {
                let ns = resource
                    .is_namespaced()
                    .then_some(object.namespace.as_str());
                let value = store.delete(
                    path.type_index,
                    ns,
                    &object.name,
                    &Preconditions::default(),
                    options,
                )?;
                deleted.push(Bytes::from(serde_json::to_vec(&value).unwrap_or_default()));
            }
            let page = store.resource_version();
            drop(store);
            Ok(bytes_response(
                StatusCode::OK,
                list_body(resource, &deleted, page, None, false),
            ))
        }
        (other, _) => Err(ApiError::method_not_allowed(other)),
    }
}

fn parse_json(body: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("error decoding request body: {e}")))
}

/// The preconditions and `dryRun` of a DELETE's `DeleteOptions` body (which may be empty).
fn delete_options(body: &[u8]) -> Result<(Preconditions, bool), ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok((Preconditions::default(), false));
    }
    let options = parse_json(body)?;
    let precondition = |field: &str| {
        options
            .pointer(&format!("/preconditions/{field}"))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let preconditions = Preconditions {
        resource_version: precondition("resourceVersion"),
        uid: precondition("uid"),
    };
    let dry_run = options
        .get("dryRun")
        .and_then(Value::as_array)
        .is_some_and(|d| d.iter().any(|v| v == "All"));
    Ok((preconditions, dry_run))
}

fn selectors(query: &Query) -> Result<(LabelSelector, FieldSelector), ApiError> {
    let labels = LabelSelector::parse(query.get("labelSelector").unwrap_or_default())
        .map_err(|e| ApiError::bad_request(format!("unable to parse requirement: {e}")))?;
    let fields = FieldSelector::parse(query.get("fieldSelector").unwrap_or_default())
        .map_err(ApiError::bad_request)?;
    Ok((labels, fields))
}

fn parse_version(text: &str) -> Result<u64, ApiError> {
    text.parse()
        .map_err(|_| ApiError::bad_request(format!("invalid resource version: {text:?}")))
}

fn list(
    shared: &Shared,
    path: &ResourcePath,
    query: &Query,
    partial_metadata: bool,
) -> Result<Response, ApiError> {
    let resource = &shared.types[path.type_index];
    let (labels, fields) = selectors(query)?;
    let version = query.get("resourceVersion").filter(|v| !v.is_empty());
    let version_match = query.get("resourceVersionMatch").filter(|v| !v.is_empty());
    let continue_token = query
        .get("continue")
        .filter(|c| !c.is_empty())
        .map(str::to_owned);
    if continue_token.is_some() && version.is_some_and(|v| v != "0") {
        return Err(ApiError::bad_request(
            "specifying resource version is not allowed when using continue",
        ));
    }
    if version_match.is_some() && version.is_none() {
        return Err(ApiError::bad_request(
            "resourceVersionMatch is forbidden unless resourceVersion is provided",
        ));
    }
    let limit = match query.get("limit") {
        Some(limit) => Some(
            limit
                .parse::<usize>()
                .map_err(|_| ApiError::bad_request("invalid limit"))?,
        ),
        None => None,
    };
    let store = shared.store();
    if let Some(version) = version
        && continue_token.is_none()
    {
        let version = parse_version(version)?;
        let current = store.resource_version();
        match version_match {
            Some("Exact") if version != current => {
                return Err(ApiError::expired(format!(
                    "too old resource version: {version} ({current}); the fake serves only the current version"
                )));
            }
            Some("Exact" | "NotOlderThan") | None => {}
            Some(other) => {
                return Err(ApiError::bad_request(format!(
                    "unknown resourceVersionMatch {other:?}"
                )));
            }
        }
        if version > current {
            return Err(ApiError::new(
                504,
                "Timeout",
                format!("Too large resource version: {version}, current: {current}"),
            ));
        }
    }
    let list_query = ListQuery {
        namespace: path.namespace.clone(),
        labels,
        fields,
        limit,
        continue_token,
    };
    let ListPage {
        items,
        resource_version,
        continue_token,
    } = store.list(path.type_index, &list_query)?;
    drop(store);
    let items: Vec<Bytes> = if partial_metadata {
        items
            .iter()
            .map(|o| Bytes::from(watch::partial_object_metadata(&o.value())))
            .collect()
    } else {
        items.iter().map(|o| o.json.clone()).collect()
    };
    let body = list_body(
        resource,
        &items,
        resource_version,
        continue_token.as_deref(),
        partial_metadata,
    );
    Ok(bytes_response(StatusCode::OK, body))
}

/// A `<Kind>List` document, written around the stored JSON of each item.
fn list_body(
    resource: &ResourceType,
    items: &[Bytes],
    resource_version: u64,
    continue_token: Option<&str>,
    partial_metadata: bool,
) -> Bytes {
    let (api_version, kind) = if partial_metadata {
        (
            "meta.k8s.io/v1".to_owned(),
            "PartialObjectMetadataList".to_owned(),
        )
    } else {
        (resource.api_version(), format!("{}List", resource.kind()))
    };
    let mut metadata = json!({"resourceVersion": resource_version.to_string()});
    if let Some(token) = continue_token {
        metadata["continue"] = json!(token);
    }
    let head = json!({"apiVersion": api_version, "kind": kind, "metadata": metadata}).to_string();
    let mut out =
        Vec::with_capacity(head.len() + items.iter().map(|i| i.len() + 1).sum::<usize>() + 16);
    // `head` is an object: reopen it to append the items.
    out.extend_from_slice(&head.as_bytes()[..head.len() - 1]);
    out.extend_from_slice(b",\"items\":[");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(item);
    }
    out.extend_from_slice(b"]}");
    out.into()
}

fn watch(
    shared: &Arc<Shared>,
    path: &ResourcePath,
    query: &Query,
    partial_metadata: bool,
) -> Result<Response, ApiError> {
    let (labels, fields) = selectors(query)?;
    let bookmarks = query.flag("allowWatchBookmarks");
    let version = query.get("resourceVersion").filter(|v| !v.is_empty());
    let start = if query.flag("sendInitialEvents") {
        if query.get("resourceVersionMatch") != Some("NotOlderThan") {
            return Err(ApiError::bad_request(
                "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
            ));
        }
        if !bookmarks {
            return Err(ApiError::bad_request(
                "sendInitialEvents requires setting allowWatchBookmarks to true",
            ));
        }
        WatchStart::InitialEvents { end_bookmark: true }
    } else {
        match version {
            None | Some("0") => WatchStart::InitialEvents {
                end_bookmark: false,
            },
            Some(version) => WatchStart::After(parse_version(version)?),
        }
    };
    let seconds = match query.get("timeoutSeconds") {
        Some(seconds) => seconds
            .parse::<u64>()
            .map_err(|_| ApiError::bad_request("invalid timeoutSeconds"))?,
        None => 0,
    };
    // 0 or absent: the server's own default, as the API server does.
    let timeout = match seconds {
        0 => shared.settings.default_watch_timeout,
        seconds => Duration::from_secs(seconds),
    };
    let request = WatchRequest {
        type_index: path.type_index,
        namespace: path.namespace.clone(),
        labels,
        fields,
        start,
        bookmarks,
        timeout,
        partial_metadata,
    };
    let chunks = ReceiverStream::new(watch::start(shared, request)).map(Ok::<_, Infallible>);
    Ok(stream_response(Body::from_stream(chunks)))
}

fn version_info() -> Value {
    json!({
        "major": "1",
        "minor": "33",
        "gitVersion": "v1.33.0-zonesync-fake",
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z",
        "goVersion": "go1.24.0",
        "compiler": "gc",
        "platform": "linux/amd64",
    })
}

fn group_versions(types: &[ResourceType]) -> Vec<(String, Vec<String>)> {
    let mut groups: Vec<(String, Vec<String>)> = Vec::new();
    for t in types.iter().filter(|t| !t.group().is_empty()) {
        match groups.iter_mut().find(|(g, _)| g == t.group()) {
            Some((_, versions)) if !versions.iter().any(|v| v == t.version()) => {
                versions.push(t.version().to_owned())
            }
            Some(_) => {}
            None => groups.push((t.group().to_owned(), vec![t.version().to_owned()])),
        }
    }
    groups
}

fn group_json(group: &str, versions: &[String]) -> Value {
    let versions: Vec<Value> = versions
        .iter()
        .map(|v| json!({"groupVersion": format!("{group}/{v}"), "version": v}))
        .collect();
    json!({"name": group, "versions": versions, "preferredVersion": versions[0]})
}

fn group_list(types: &[ResourceType]) -> Value {
    let groups: Vec<Value> = group_versions(types)
        .iter()
        .map(|(g, v)| group_json(g, v))
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

fn group_document(types: &[ResourceType], group: &str) -> Result<Value, ApiError> {
    let groups = group_versions(types);
    let (name, versions) = groups
        .iter()
        .find(|(g, _)| g == group)
        .ok_or_else(ApiError::resource_not_served)?;
    let mut document = group_json(name, versions);
    document["kind"] = json!("APIGroup");
    document["apiVersion"] = json!("v1");
    Ok(document)
}

fn resource_list(types: &[ResourceType], group: &str, version: &str) -> Result<Value, ApiError> {
    let served: Vec<&ResourceType> = types
        .iter()
        .filter(|t| t.group() == group && t.version() == version)
        .collect();
    if served.is_empty() {
        return Err(ApiError::resource_not_served());
    }
    let mut resources = Vec::new();
    for t in served {
        resources.push(json!({
            "name": t.plural(),
            "singularName": t.kind().to_lowercase(),
            "namespaced": t.is_namespaced(),
            "kind": t.kind(),
            "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"],
        }));
        if t.has_status_subresource() {
            resources.push(json!({
                "name": format!("{}/status", t.plural()),
                "singularName": "",
                "namespaced": t.is_namespaced(),
                "kind": t.kind(),
                "verbs": ["get", "patch", "update"],
            }));
        }
    }
    let group_version = if group.is_empty() {
        version.to_owned()
    } else {
        format!("{group}/{version}")
    };
    Ok(
        json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": resources}),
    )
}

pub(crate) fn bytes_response(status: StatusCode, body: Bytes) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

pub(crate) fn json_response(status: StatusCode, value: &Value) -> Response {
    bytes_response(
        status,
        Bytes::from(serde_json::to_vec(value).unwrap_or_default()),
    )
}

fn text_response(status: StatusCode, text: &'static str) -> Response {
    let mut response = Response::new(Body::from(text));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    response
}

fn stream_response(body: Body) -> Response {
    let mut response = Response::new(body);
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

pub(crate) fn error_response(error: &ApiError) -> Response {
    let status = StatusCode::from_u16(error.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = json_response(status, &error.to_status());
    if error.code == 429 {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_decoding() {
        let query =
            Query::parse("&watch=true&labelSelector=app%3Dweb%2Ctier+in+%28a%29&x=%zz&empty");
        assert_eq!(query.get("labelSelector"), Some("app=web,tier in (a)"));
        assert!(query.flag("watch"));
        assert_eq!(query.get("x"), Some("%zz"));
        assert_eq!(query.get("empty"), Some(""));
        assert_eq!(query.get("missing"), None);
    }

    #[test]
    fn list_body_is_valid_json() {
        let items = [
            Bytes::from_static(br#"{"a":1}"#),
            Bytes::from_static(br#"{"b":2}"#),
        ];
        let body = list_body(&ResourceType::INGRESS, &items, 7, Some("tok"), false);
        let value: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(value["kind"], "IngressList");
        assert_eq!(value["apiVersion"], "networking.k8s.io/v1");
        assert_eq!(value["metadata"]["resourceVersion"], "7");
        assert_eq!(value["metadata"]["continue"], "tok");
        assert_eq!(value["items"].as_array().unwrap().len(), 2);
        let empty: Value =
            serde_json::from_slice(&list_body(&ResourceType::SERVICE, &[], 1, None, true)).unwrap();
        assert_eq!(empty["kind"], "PartialObjectMetadataList");
        assert_eq!(empty["items"], json!([]));
    }
}
