//! The control API under `/fake/`: the test hooks over HTTP, for a harness in another process
//! (see the `fake-kube-api` binary). Served only when the server is built with
//! [`FakeApiServerBuilder::control_api`](super::FakeApiServerBuilder::control_api).

use std::sync::Arc;
use std::time::Duration;

use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};

use super::fault::{Fault, RequestMatcher};
use super::http::{Query, error_response, json_response};
use super::server::Shared;
use super::status::ApiError;

/// A fault as the control API receives it: the matcher's fields (`verbs`, `resource`,
/// `namespace`, `name`) plus what to do.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ControlFault {
    #[serde(flatten)]
    matcher: RequestMatcher,
    status: Option<u16>,
    #[serde(default)]
    delay_ms: u64,
    count: Option<usize>,
}

/// Answers one control request.
pub(crate) fn handle(
    shared: &Arc<Shared>,
    method: &Method,
    path: &str,
    query: &Query,
    body: &[u8],
) -> Response {
    let result = match (method.as_str(), path.trim_end_matches('/')) {
        ("GET", "/fake/health") => {
            let (version, objects) = {
                let store = shared.store();
                (store.resource_version(), store.object_count())
            };
            Ok(json!({
                "ok": true,
                "url": format!("http://{}", shared.addr),
                "resourceVersion": version.to_string(),
                "objects": objects,
                "openWatches": shared.open_watches(),
            }))
        }
        ("POST", "/fake/drop-watches") => {
            let open = shared.open_watches();
            shared.drop_watches();
            Ok(json!({"dropped": open}))
        }
        ("POST", "/fake/expire-history") => {
            Ok(json!({"resourceVersion": shared.expire_history().to_string()}))
        }
        ("POST", "/fake/objects") => apply_objects(shared, body),
        ("GET", "/fake/objects") => type_index(shared, query)
            .map(|index| json!({"items": shared.list(index, query.get("namespace"))})),
        ("DELETE", "/fake/objects") => type_index(shared, query).and_then(|index| {
            let name = query
                .get("name")
                .ok_or_else(|| ApiError::bad_request("name is required"))?;
            let resource = &shared.types[index];
            shared
                .delete(index, query.get("namespace"), name)
                .ok_or_else(|| ApiError::not_found(resource, name))
        }),
        ("POST", "/fake/faults") => serde_json::from_slice::<ControlFault>(body)
            .map_err(|e| ApiError::bad_request(format!("invalid fault: {e}")))
            .map(|fault| {
                let delay = Duration::from_millis(fault.delay_ms);
                let mut injected = match fault.status {
                    Some(status) => Fault::fail(fault.matcher, status),
                    None => Fault::delay(fault.matcher, delay),
                };
                if fault.delay_ms > 0 {
                    injected = injected.with_delay(delay);
                }
                shared.inject(injected.times(fault.count.unwrap_or(1)));
                json!({"injected": true})
            }),
        ("DELETE", "/fake/faults") => {
            shared.clear_faults();
            Ok(json!({"cleared": true}))
        }
        ("GET", "/fake/requests") => {
            Ok(serde_json::to_value(shared.requests()).unwrap_or_default())
        }
        ("DELETE", "/fake/requests") => {
            shared.clear_requests();
            Ok(json!({"cleared": true}))
        }
        _ => Err(ApiError::new(
            404,
            "NotFound",
            format!("no control endpoint {method} {path}"),
        )),
    };
    match result {
        Ok(value) => json_response(StatusCode::OK, &value),
        Err(error) => error_response(&error),
    }
}

fn type_index(shared: &Shared, query: &Query) -> Result<usize, ApiError> {
    let api_version = query.get("apiVersion").unwrap_or_default();
    let kind = query.get("kind").unwrap_or_default();
    shared.type_index_of(api_version, kind).ok_or_else(|| {
        ApiError::bad_request(format!(
            "no resource type is served for apiVersion {api_version:?}, kind {kind:?}"
        ))
    })
}

fn apply_objects(shared: &Shared, body: &[u8]) -> Result<Value, ApiError> {
    let text = std::str::from_utf8(body)
        .map_err(|e| ApiError::bad_request(format!("body is not UTF-8: {e}")))?;
    let objects = parse_manifests(text).map_err(ApiError::bad_request)?;
    let applied = shared.apply_all(objects)?;
    Ok(
        json!({"applied": applied, "resourceVersion": shared.store().resource_version().to_string()}),
    )
}

/// Objects from manifest text: one JSON object or array, or YAML with one object per document;
/// `…List` objects are expanded into their items.
///
/// Fails with a message when the text is neither valid JSON nor valid YAML.
pub(crate) fn parse_manifests(text: &str) -> Result<Vec<Value>, String> {
    let trimmed = text.trim_start();
    let documents = match trimmed.chars().next() {
        Some('{' | '[') => match serde_json::from_str::<Value>(trimmed) {
            Ok(value) => vec![value],
            Err(_) => parse_yaml(text)?,
        },
        _ => parse_yaml(text)?,
    };
    let mut objects = Vec::new();
    for document in documents {
        flatten(document, &mut objects);
    }
    Ok(objects)
}

fn parse_yaml(text: &str) -> Result<Vec<Value>, String> {
    serde_saphyr::from_multiple::<Value>(text).map_err(|e| format!("invalid YAML: {e}"))
}

fn flatten(document: Value, out: &mut Vec<Value>) {
    match document {
        Value::Null => {}
        Value::Array(items) => items.into_iter().for_each(|item| flatten(item, out)),
        Value::Object(mut map)
            if map
                .get("kind")
                .and_then(Value::as_str)
                .is_some_and(|k| k.ends_with("List"))
                && map.get("items").is_some_and(Value::is_array) =>
        {
            flatten(map.remove("items").unwrap_or_default(), out);
        }
        object => out.push(object),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kube_api::FakeApiServer;
    use bytes::Bytes;
    use http_body_util::{BodyExt, Full};
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;

    type HttpClient = Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>;

    async fn call(client: &HttpClient, method: &str, url: &str, body: &str) -> (u16, Vec<u8>) {
        let request = axum::http::Request::builder()
            .method(method)
            .uri(url)
            .body(Full::new(Bytes::from(body.to_owned())))
            .unwrap();
        let response = client.request(request).await.unwrap();
        let status = response.status().as_u16();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, body.to_vec())
    }

    async fn call_json(client: &HttpClient, method: &str, url: &str, body: &str) -> (u16, Value) {
        let (status, body) = call(client, method, url, body).await;
        (status, serde_json::from_slice(&body).unwrap())
    }

    #[tokio::test]
    async fn control_api_drives_the_hooks_over_http() {
        let server = FakeApiServer::builder()
            .control_api(true)
            .start()
            .await
            .unwrap();
        let client: HttpClient = Client::builder(TokioExecutor::new()).build_http();
        let url = |path: &str| format!("{}{path}", server.url());

        let manifests = "apiVersion: v1\nkind: Service\nmetadata: {name: a, namespace: one}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: b, namespace: two}\n";
        let (status, applied) = call_json(&client, "POST", &url("/fake/objects"), manifests).await;
        assert_eq!((status, applied["applied"].as_u64()), (200, Some(2)));
        let (_, listed) = call_json(
            &client,
            "GET",
            &url("/fake/objects?apiVersion=v1&kind=Service&namespace=one"),
            "",
        )
        .await;
        assert_eq!(listed["items"].as_array().unwrap().len(), 1);
        let version = server.resource_version();

        let fault = r#"{"verbs": ["list"], "resource": "services", "status": 503, "count": 1}"#;
        assert_eq!(
            call(&client, "POST", &url("/fake/faults"), fault).await.0,
            200
        );
        assert_eq!(
            call(&client, "GET", &url("/api/v1/services"), "").await.0,
            503
        );
        let (status, list) = call_json(&client, "GET", &url("/api/v1/services"), "").await;
        assert_eq!((status, list["items"].as_array().unwrap().len()), (200, 2));
        let (_, requests) = call_json(&client, "GET", &url("/fake/requests"), "").await;
        let statuses: Vec<u64> = requests
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["status"].as_u64().unwrap())
            .collect();
        assert_eq!(statuses, [503, 200], "control requests are not logged");

        assert_eq!(
            call(&client, "POST", &url("/fake/expire-history"), "")
                .await
                .0,
            200
        );
        let watch =
            format!("/api/v1/services?watch=true&timeoutSeconds=5&resourceVersion={version}");
        let (status, body) = call(&client, "GET", &url(&watch), "").await;
        let event: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            (
                status,
                event["type"].as_str(),
                event["object"]["code"].as_u64()
            ),
            (200, Some("ERROR"), Some(410))
        );

        let delete = "/fake/objects?apiVersion=v1&kind=Service&namespace=one&name=a";
        assert_eq!(call(&client, "DELETE", &url(delete), "").await.0, 200);
        assert_eq!(call(&client, "DELETE", &url(delete), "").await.0, 404);
        let (_, health) = call_json(&client, "GET", &url("/fake/health"), "").await;
        assert_eq!(health["objects"], 1);
        assert_eq!(
            call(&client, "POST", &url("/fake/drop-watches"), "")
                .await
                .0,
            200
        );
    }

    #[tokio::test]
    async fn control_api_is_off_by_default() {
        let server = FakeApiServer::start().await.unwrap();
        let client: HttpClient = Client::builder(TokioExecutor::new()).build_http();
        let (status, _) = call(&client, "GET", &format!("{}/fake/health", server.url()), "").await;
        assert_eq!(status, 404);
    }

    #[test]
    fn manifests_from_yaml_json_and_lists() {
        let yaml = "apiVersion: v1\nkind: Service\nmetadata:\n  name: a\n  labels:\n    x: \"1\"\nspec:\n  ports:\n  - port: 80\n---\n---\napiVersion: v1\nkind: ServiceList\nitems:\n- apiVersion: v1\n  kind: Service\n  metadata: {name: b}\n";
        let objects = parse_manifests(yaml).unwrap();
        assert_eq!(objects.len(), 2);
        assert_eq!(objects[0]["metadata"]["labels"]["x"], "1");
        assert_eq!(objects[0]["spec"]["ports"][0]["port"], 80);
        assert_eq!(objects[1]["metadata"]["name"], "b");

        let json = r#"[{"apiVersion":"v1","kind":"Service","metadata":{"name":"c"}}]"#;
        assert_eq!(parse_manifests(json).unwrap().len(), 1);
        assert!(parse_manifests("a: [unclosed").is_err());
    }
}
