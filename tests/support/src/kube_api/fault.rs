//! Fault injection and the request log: which requests a test wants to fail or slow down, and
//! what the server was asked.

use std::collections::VecDeque;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// What a request does, in the API server's own verbs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verb {
    /// GET one object (or its status).
    Get,
    /// GET a collection.
    List,
    /// GET a collection with `watch=true`.
    Watch,
    /// POST a new object.
    Create,
    /// PUT an object.
    Update,
    /// PATCH an object (merge, strategic, JSON or server-side apply).
    Patch,
    /// DELETE one object.
    Delete,
    /// DELETE a collection.
    #[serde(rename = "deletecollection")]
    DeleteCollection,
    /// Discovery and version documents (`/api`, `/apis`, `/version` …), unknown paths and methods.
    Discovery,
}

/// One request the server received.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestRecord {
    /// The HTTP method.
    pub method: String,
    /// The path.
    pub path: String,
    /// The raw query string (empty if none).
    pub query: String,
    /// What the request does.
    pub verb: Verb,
    /// The resource's plural (`services`), if it addresses one.
    pub resource: Option<String>,
    /// The resource's API group (empty for the core group), if it addresses a resource.
    pub group: Option<String>,
    /// The namespace in the path.
    pub namespace: Option<String>,
    /// The object name in the path.
    pub name: Option<String>,
    /// The subresource in the path (`status`).
    pub subresource: Option<String>,
    /// The HTTP status the server answered.
    pub status: u16,
}

/// Which requests a fault or a count applies to. Every criterion set must hold; the default
/// ([`RequestMatcher::any`]) matches every request.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RequestMatcher {
    verbs: Vec<Verb>,
    resource: Option<String>,
    namespace: Option<String>,
    name: Option<String>,
}

impl RequestMatcher {
    /// Every request.
    pub fn any() -> Self {
        Self::default()
    }

    /// Requests with this verb.
    pub fn verb(verb: Verb) -> Self {
        Self::verbs([verb])
    }

    /// Requests with any of these verbs.
    pub fn verbs(verbs: impl IntoIterator<Item = Verb>) -> Self {
        Self {
            verbs: verbs.into_iter().collect(),
            ..Self::default()
        }
    }

    /// Only requests for this resource: its plural (`services`, matching any group) or its plural
    /// qualified by group (`events.events.k8s.io`).
    #[must_use]
    pub fn resource(mut self, plural: &str) -> Self {
        self.resource = Some(plural.to_owned());
        self
    }

    /// Only requests in this namespace.
    #[must_use]
    pub fn namespace(mut self, namespace: &str) -> Self {
        self.namespace = Some(namespace.to_owned());
        self
    }

    /// Only requests for the object with this name.
    #[must_use]
    pub fn name(mut self, name: &str) -> Self {
        self.name = Some(name.to_owned());
        self
    }

    /// Whether a request satisfies every criterion.
    pub fn matches(&self, request: &RequestRecord) -> bool {
        let resource_matches = self.resource.as_deref().is_none_or(|wanted| {
            let plural = request.resource.as_deref().unwrap_or_default();
            let group = request.group.as_deref().unwrap_or_default();
            wanted == plural || (!group.is_empty() && wanted == format!("{plural}.{group}"))
        });
        (self.verbs.is_empty() || self.verbs.contains(&request.verb))
            && resource_matches
            && (self.namespace.is_none() || self.namespace == request.namespace)
            && (self.name.is_none() || self.name == request.name)
    }
}

/// A fault for the next matching requests: answer with an error status, wait first, or both.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    matcher: RequestMatcher,
    status: Option<u16>,
    delay: Option<Duration>,
    remaining: usize,
}

impl Fault {
    /// Fails the next matching request with `status` (500, 503, 429 …) and the `Status` body the
    /// API server would send. A 410 on a watch arrives as an `ERROR` event in the stream, as the
    /// API server sends it.
    pub fn fail(matcher: RequestMatcher, status: u16) -> Self {
        Self {
            matcher,
            status: Some(status),
            delay: None,
            remaining: 1,
        }
    }

    /// Delays the next matching request, which is then served normally.
    pub fn delay(matcher: RequestMatcher, delay: Duration) -> Self {
        Self {
            matcher,
            status: None,
            delay: Some(delay),
            remaining: 1,
        }
    }

    /// Applies to the next `count` matching requests instead of one (`usize::MAX`: until
    /// cleared).
    #[must_use]
    pub fn times(mut self, count: usize) -> Self {
        self.remaining = count;
        self
    }

    /// Waits this long before answering.
    #[must_use]
    pub fn with_delay(mut self, delay: Duration) -> Self {
        self.delay = Some(delay);
        self
    }
}

/// What to do with one request because of a fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FaultAction {
    /// Answer with this status instead of serving the request.
    pub status: Option<u16>,
    /// Wait this long first.
    pub delay: Option<Duration>,
}

/// The injected faults, in the order they were added.
#[derive(Debug, Default)]
pub(crate) struct Faults(Vec<Fault>);

impl Faults {
    pub(crate) fn add(&mut self, fault: Fault) {
        if fault.remaining > 0 {
            self.0.push(fault);
        }
    }

    pub(crate) fn clear(&mut self) {
        self.0.clear();
    }

    /// Takes one use of the first fault matching a request.
    pub(crate) fn take(&mut self, request: &RequestRecord) -> Option<FaultAction> {
        let index = self.0.iter().position(|f| f.matcher.matches(request))?;
        let fault = &mut self.0[index];
        let action = FaultAction {
            status: fault.status,
            delay: fault.delay,
        };
        fault.remaining -= 1;
        if fault.remaining == 0 {
            self.0.remove(index);
        }
        Some(action)
    }
}

/// The most recent requests, up to a capacity.
#[derive(Debug)]
pub(crate) struct RequestLog {
    records: VecDeque<RequestRecord>,
    capacity: usize,
}

impl RequestLog {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            records: VecDeque::new(),
            capacity: capacity.max(1),
        }
    }

    pub(crate) fn push(&mut self, record: RequestRecord) {
        if self.records.len() == self.capacity {
            self.records.pop_front();
        }
        self.records.push_back(record);
    }

    pub(crate) fn records(&self) -> Vec<RequestRecord> {
        self.records.iter().cloned().collect()
    }

    pub(crate) fn count(&self, matcher: &RequestMatcher) -> usize {
        self.records.iter().filter(|r| matcher.matches(r)).count()
    }

    pub(crate) fn clear(&mut self) {
        self.records.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(verb: Verb, resource: &str, group: &str, namespace: Option<&str>) -> RequestRecord {
        RequestRecord {
            method: "GET".into(),
            path: String::new(),
            query: String::new(),
            verb,
            resource: Some(resource.into()),
            group: Some(group.into()),
            namespace: namespace.map(str::to_owned),
            name: None,
            subresource: None,
            status: 200,
        }
    }

    #[test]
    fn matcher_criteria() {
        let list = request(Verb::List, "events", "events.k8s.io", Some("a"));
        assert!(RequestMatcher::any().matches(&list));
        assert!(
            RequestMatcher::verb(Verb::List)
                .resource("events")
                .matches(&list)
        );
        assert!(
            RequestMatcher::verb(Verb::List)
                .resource("events.events.k8s.io")
                .matches(&list)
        );
        assert!(!RequestMatcher::verb(Verb::Watch).matches(&list));
        assert!(!RequestMatcher::any().namespace("b").matches(&list));
        assert!(
            RequestMatcher::verbs([Verb::Watch, Verb::List])
                .namespace("a")
                .matches(&list)
        );
    }

    #[test]
    fn faults_are_used_up_in_order() {
        let mut faults = Faults::default();
        faults.add(Fault::fail(RequestMatcher::verb(Verb::List), 500).times(2));
        faults.add(Fault::delay(
            RequestMatcher::any(),
            Duration::from_millis(5),
        ));
        let list = request(Verb::List, "services", "", None);
        let get = request(Verb::Get, "services", "", None);
        assert_eq!(faults.take(&list).unwrap().status, Some(500));
        assert_eq!(faults.take(&get).unwrap().status, None);
        assert!(faults.take(&get).is_none());
        assert_eq!(faults.take(&list).unwrap().status, Some(500));
        assert!(faults.take(&list).is_none());
    }
}
