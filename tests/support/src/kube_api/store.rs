//! The object store: every object as serialized JSON, one global resourceVersion counter, and the
//! history of changes that watches replay.
//!
//! Objects are kept as their JSON bytes plus the few fields that lists and watches filter on
//! (namespace, name, labels), so 20,000 objects cost little more than their JSON, and lists and
//! watch events are written by concatenation without re-serializing.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::ops::Bound;
use std::sync::Arc;

use bytes::Bytes;
use serde_json::{Map, Value, json};
use tokio::sync::watch;

use super::patch::{self, ManagedFields, Scope};
use super::resource::ResourceType;
use super::selector::{FieldSelector, LabelSelector};
use super::status::ApiError;

/// Namespace (empty for cluster-scoped objects) and name.
pub(crate) type Key = (String, String);

/// One stored version of an object.
#[derive(Debug)]
pub(crate) struct StoredObject {
    /// The namespace; empty for cluster-scoped objects.
    pub namespace: String,
    /// The name.
    pub name: String,
    /// The labels, kept apart for selectors.
    pub labels: BTreeMap<String, String>,
    /// The object as JSON.
    pub json: Bytes,
}

impl StoredObject {
    /// The object parsed back into a JSON value.
    pub(crate) fn value(&self) -> Value {
        serde_json::from_slice(&self.json).unwrap_or(Value::Null)
    }

    /// Whether the object is in a namespace (if one is asked for) and satisfies the selectors.
    pub(crate) fn matches(
        &self,
        namespace: Option<&str>,
        labels: &LabelSelector,
        fields: &FieldSelector,
    ) -> bool {
        namespace.is_none_or(|ns| ns == self.namespace)
            && labels.matches(&self.labels)
            && (fields.is_empty() || fields.matches(&self.namespace, &self.name, || self.value()))
    }
}

/// What happened to an object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EventType {
    /// It was created.
    Added,
    /// It was changed.
    Modified,
    /// It was deleted; the event carries its last state at the deletion's resourceVersion.
    Deleted,
}

/// One change, as watches replay it.
#[derive(Debug)]
pub(crate) struct HistoryEvent {
    /// The resourceVersion of the change.
    pub resource_version: u64,
    /// The resource type's index.
    pub type_index: usize,
    /// What happened.
    pub event_type: EventType,
    /// The object after the change (before it, for a deletion).
    pub object: Arc<StoredObject>,
    /// The object before a modification, so a watch with a selector can tell an object that
    /// stopped matching (sent as DELETED) from one that started (sent as ADDED).
    pub previous: Option<Arc<StoredObject>>,
}

/// Where a write comes from: the HTTP API applies the API server's rules (a create clears
/// `.status` of types with a status subresource, for instance); test hooks store what they are given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Origin {
    /// A request over HTTP.
    Api,
    /// A test hook.
    Hook,
}

/// Options of one write.
#[derive(Clone, Copy, Debug)]
pub(crate) struct WriteOptions<'a> {
    /// `fieldManager`.
    pub field_manager: Option<&'a str>,
    /// `dryRun=All`: validate and answer, store nothing.
    pub dry_run: bool,
    /// Who writes.
    pub origin: Origin,
}

impl WriteOptions<'_> {
    /// A test hook's write.
    pub(crate) const HOOK: WriteOptions<'static> = WriteOptions {
        field_manager: None,
        dry_run: false,
        origin: Origin::Hook,
    };
}

/// The patch formats the API server accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PatchKind {
    /// `application/merge-patch+json`.
    Merge,
    /// `application/strategic-merge-patch+json`, treated as a merge patch.
    Strategic,
    /// `application/json-patch+json`.
    Json,
    /// `application/apply-patch+yaml`: server-side apply.
    Apply {
        /// `force=true`: take over fields other managers applied.
        force: bool,
    },
}

/// `metadata.resourceVersion` / `metadata.uid` preconditions of a delete.
#[derive(Clone, Debug, Default)]
pub(crate) struct Preconditions {
    /// The resourceVersion the object must have.
    pub resource_version: Option<String>,
    /// The uid the object must have.
    pub uid: Option<String>,
}

/// One page of a list.
#[derive(Debug)]
pub(crate) struct ListPage {
    /// The matching objects, in key order.
    pub items: Vec<Arc<StoredObject>>,
    /// The list's resourceVersion.
    pub resource_version: u64,
    /// The token for the next page, if there is one.
    pub continue_token: Option<String>,
}

/// What a list asks for.
#[derive(Debug, Default)]
pub(crate) struct ListQuery {
    /// Only this namespace.
    pub namespace: Option<String>,
    /// `labelSelector`.
    pub labels: LabelSelector,
    /// `fieldSelector`.
    pub fields: FieldSelector,
    /// `limit` (0 or absent: everything).
    pub limit: Option<usize>,
    /// `continue`.
    pub continue_token: Option<String>,
}

#[derive(Debug, Default)]
struct Collection {
    objects: BTreeMap<Key, Arc<StoredObject>>,
    managed: HashMap<Key, ManagedFields>,
}

/// Every object and the change history, behind the server's lock.
#[derive(Debug)]
pub(crate) struct Store {
    types: Vec<ResourceType>,
    collections: Vec<Collection>,
    resource_version: u64,
    history: VecDeque<Arc<HistoryEvent>>,
    history_capacity: usize,
    /// Every change at or below this version has left the history.
    evicted_up_to: u64,
    /// New watches and continue tokens from below this version get 410 Expired.
    expired_below: u64,
    counter: u64,
    seed: u64,
    notify: watch::Sender<u64>,
}

impl Store {
    /// An empty store serving `types`, keeping up to `history_capacity` changes for watches.
    pub(crate) fn new(types: Vec<ResourceType>, history_capacity: usize) -> Self {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0x5eed, |d| d.as_nanos() as u64);
        let collections = types.iter().map(|_| Collection::default()).collect();
        Self {
            types,
            collections,
            resource_version: 1,
            history: VecDeque::new(),
            history_capacity: history_capacity.max(1),
            evicted_up_to: 0,
            expired_below: 0,
            counter: 0,
            seed,
            notify: watch::channel(1).0,
        }
    }

    /// The index of the type of objects with this `apiVersion` and `kind`.
    pub(crate) fn type_index(&self, api_version: &str, kind: &str) -> Option<usize> {
        self.types.iter().position(|t| t.matches(api_version, kind))
    }

    /// The current resourceVersion.
    pub(crate) fn resource_version(&self) -> u64 {
        self.resource_version
    }

    /// How many objects are stored, all types together.
    pub(crate) fn object_count(&self) -> usize {
        self.collections.iter().map(|c| c.objects.len()).sum()
    }

    /// A receiver told the new resourceVersion after every change. Subscribing under the lock
    /// means no change between reading the store and subscribing goes unnoticed.
    pub(crate) fn subscribe(&self) -> watch::Receiver<u64> {
        self.notify.subscribe()
    }

    /// Makes every resourceVersion handed out so far too old for a new watch or a continue token.
    pub(crate) fn expire_history(&mut self) -> u64 {
        // A version of its own, so a client that listed at the current version is expired too.
        // Open watches are not woken: a bookmark carrying the new version would spare them the 410.
        self.resource_version += 1;
        self.expired_below = self.resource_version;
        self.resource_version
    }

    /// Checks that a watch may start from `resource_version`.
    ///
    /// Fails with 410 Expired when changes after it are no longer known.
    pub(crate) fn check_watch_start(&self, resource_version: u64) -> Result<(), ApiError> {
        let oldest = self.evicted_up_to.max(self.expired_below);
        if resource_version < oldest {
            return Err(ApiError::expired(format!(
                "too old resource version: {resource_version} ({oldest})"
            )));
        }
        Ok(())
    }

    /// Up to `max` changes after `position`, and the position to continue from.
    ///
    /// Fails with 410 Expired when some changes after `position` have left the history (a watch
    /// that fell too far behind).
    pub(crate) fn events_after(
        &self,
        position: u64,
        max: usize,
    ) -> Result<(Vec<Arc<HistoryEvent>>, u64), ApiError> {
        if position < self.evicted_up_to {
            return Err(ApiError::expired(format!(
                "too old resource version: {position} ({})",
                self.evicted_up_to
            )));
        }
        let start = self
            .history
            .partition_point(|e| e.resource_version <= position);
        let events: Vec<_> = self.history.iter().skip(start).take(max).cloned().collect();
        let next = if start + events.len() >= self.history.len() {
            self.resource_version.max(position)
        } else {
            events.last().map_or(position, |e| e.resource_version)
        };
        Ok((events, next))
    }

    /// One object.
    pub(crate) fn get(
        &self,
        type_index: usize,
        namespace: Option<&str>,
        name: &str,
    ) -> Option<Arc<StoredObject>> {
        let key = (namespace.unwrap_or_default().to_owned(), name.to_owned());
        self.collections[type_index].objects.get(&key).cloned()
    }

    /// Every matching object at the current version (no pagination).
    pub(crate) fn snapshot(
        &self,
        type_index: usize,
        namespace: Option<&str>,
        labels: &LabelSelector,
        fields: &FieldSelector,
    ) -> Vec<Arc<StoredObject>> {
        self.scan(type_index, namespace, None)
            .filter(|o| o.matches(namespace, labels, fields))
            .cloned()
            .collect()
    }

    fn scan<'a>(
        &'a self,
        type_index: usize,
        namespace: Option<&'a str>,
        after: Option<Key>,
    ) -> impl Iterator<Item = &'a Arc<StoredObject>> + 'a {
        let start = match (after, namespace) {
            (Some(key), _) => Bound::Excluded(key),
            (None, Some(ns)) => Bound::Included((ns.to_owned(), String::new())),
            (None, None) => Bound::Unbounded,
        };
        self.collections[type_index]
            .objects
            .range((start, Bound::Unbounded))
            .take_while(move |((ns, _), _)| namespace.is_none_or(|wanted| wanted == ns))
            .map(|(_, object)| object)
    }

    /// One page of a list.
    ///
    /// Fails with 410 Expired for a continue token older than the expired history, and 400 for a
    /// malformed one.
    pub(crate) fn list(&self, type_index: usize, query: &ListQuery) -> Result<ListPage, ApiError> {
        let (resource_version, after) = match &query.continue_token {
            Some(token) => {
                let (version, key) = decode_continue(token).ok_or_else(|| {
                    ApiError::bad_request("continue key is not valid: malformed token")
                })?;
                if version < self.expired_below {
                    return Err(ApiError::expired(
                        "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.",
                    ));
                }
                (version, Some(key))
            }
            None => (self.resource_version, None),
        };
        let namespace = query.namespace.as_deref();
        let limit = query.limit.filter(|l| *l > 0).unwrap_or(usize::MAX);
        let mut matching = self
            .scan(type_index, namespace, after)
            .filter(|o| o.matches(namespace, &query.labels, &query.fields));
        let items: Vec<_> = matching.by_ref().take(limit).cloned().collect();
        // A continue token only if another matching object follows.
        let continue_token = if items.len() == limit && matching.next().is_some() {
            items
                .last()
                .map(|last| encode_continue(resource_version, &last.namespace, &last.name))
        } else {
            None
        };
        Ok(ListPage {
            items,
            resource_version,
            continue_token,
        })
    }

    /// Creates an object (POST): fills `uid`, `creationTimestamp`, `generation`, and for API
    /// writes clears `.status` of types with a status subresource.
    ///
    /// Fails with 400 when the object is not of the type or namespace asked for, 422 without a
    /// name, 409 AlreadyExists when it exists.
    pub(crate) fn create(
        &mut self,
        type_index: usize,
        namespace: Option<&str>,
        mut object: Value,
        options: WriteOptions<'_>,
    ) -> Result<Value, ApiError> {
        let resource = self.types[type_index].clone();
        prepare_identity(&resource, &mut object, namespace)?;
        if resource.has_status_subresource()
            && options.origin == Origin::Api
            && let Some(map) = object.as_object_mut()
        {
            map.remove("status");
        }
        if meta_str(&object, "name").is_none() {
            let Some(prefix) = meta_str(&object, "generateName").map(str::to_owned) else {
                return Err(ApiError::invalid(
                    &resource,
                    "",
                    "metadata.name: Required value: name or generateName is required",
                ));
            };
            let name = format!("{prefix}{}", self.random_suffix());
            meta_mut(&mut object).insert("name".into(), json!(name));
        }
        let key = key_of(&object);
        if self.collections[type_index].objects.contains_key(&key) {
            return Err(ApiError::already_exists(&resource, &key.1));
        }
        let uid = self.new_uid();
        let metadata = meta_mut(&mut object);
        metadata.remove("resourceVersion");
        metadata.insert("uid".into(), json!(uid));
        metadata.insert("creationTimestamp".into(), json!(now()));
        metadata.insert("generation".into(), json!(1));
        Ok(self.commit(type_index, object, EventType::Added, options.dry_run))
    }

    /// Replaces an object (PUT) within a scope (the main resource or `status`).
    ///
    /// Fails with 404 when it does not exist, 400 when the body names another object, 409 Conflict
    /// when the body's resourceVersion is not the stored one.
    pub(crate) fn replace(
        &mut self,
        type_index: usize,
        namespace: Option<&str>,
        name: &str,
        mut object: Value,
        scope: Scope,
        options: WriteOptions<'_>,
    ) -> Result<Value, ApiError> {
        let resource = self.types[type_index].clone();
        let old = self
            .get(type_index, namespace, name)
            .ok_or_else(|| ApiError::not_found(&resource, name))?;
        prepare_identity(&resource, &mut object, namespace)?;
        check_name(&object, name)?;
        let old = old.value();
        check_resource_version(&resource, &old, &object)?;
        let new = rescope(&old, object, scope);
        self.update(type_index, old, new, None, options)
    }

    /// Patches an object (PATCH) within a scope. Server-side apply creates a missing object.
    ///
    /// Fails with 404 when it does not exist (for the other patch kinds), 400/422 for a malformed
    /// body, 409 Conflict on a resourceVersion mismatch or an apply conflict between managers.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn patch(
        &mut self,
        type_index: usize,
        namespace: Option<&str>,
        name: &str,
        kind: PatchKind,
        body: &[u8],
        scope: Scope,
        options: WriteOptions<'_>,
    ) -> Result<(Value, bool), ApiError> {
        let resource = self.types[type_index].clone();
        let existing = self.get(type_index, namespace, name);
        let PatchKind::Apply { force } = kind else {
            let old = existing
                .ok_or_else(|| ApiError::not_found(&resource, name))?
                .value();
            let mut patch: Value = serde_json::from_slice(body)
                .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?;
            let mut new = old.clone();
            match kind {
                PatchKind::Json => patch::json_patch(&mut new, &patch)
                    .map_err(|e| ApiError::invalid(&resource, name, e))?,
                PatchKind::Strategic => {
                    patch::strip_directives(&mut patch);
                    patch::merge_patch(&mut new, &patch);
                }
                _ => patch::merge_patch(&mut new, &patch),
            }
            check_resource_version(&resource, &old, &new)?;
            check_name(&new, name)?;
            let new = rescope(&old, new, scope);
            return Ok((self.update(type_index, old, new, None, options)?, false));
        };
        let config = parse_apply_body(body)?;
        let manager = options.field_manager.ok_or_else(|| {
            ApiError::bad_request(
                "PATCH, application/apply-patch+yaml requires fieldManager parameter",
            )
        })?;
        let (api_version, kind_name) = (
            config
                .get("apiVersion")
                .and_then(Value::as_str)
                .unwrap_or_default(),
            config
                .get("kind")
                .and_then(Value::as_str)
                .unwrap_or_default(),
        );
        if !resource.matches(api_version, kind_name) {
            return Err(ApiError::bad_request(format!(
                "invalid object type: {api_version}, Kind={kind_name}; expected {}, Kind={}",
                resource.api_version(),
                resource.kind()
            )));
        }
        check_name(&config, name)?;
        let key = (namespace.unwrap_or_default().to_owned(), name.to_owned());
        match existing {
            Some(old) => {
                let old = old.value();
                check_resource_version(&resource, &old, &config)?;
                let mut managed = self.collections[type_index]
                    .managed
                    .get(&key)
                    .cloned()
                    .unwrap_or_default();
                let new = managed
                    .apply(&old, &config, manager, force, scope)
                    .map_err(|conflicts| ApiError::apply_conflict(&resource, name, &conflicts))?;
                let value = self.update(type_index, old, new, Some(managed), options)?;
                Ok((value, false))
            }
            None if scope == Scope::Status => Err(ApiError::not_found(&resource, name)),
            None => {
                let mut managed = ManagedFields::default();
                let skeleton = json!({"metadata": {"name": name}});
                let object = managed
                    .apply(&skeleton, &config, manager, force, scope)
                    .map_err(|conflicts| ApiError::apply_conflict(&resource, name, &conflicts))?;
                let value = self.create(type_index, namespace, object, options)?;
                if !options.dry_run && !managed.is_empty() {
                    self.collections[type_index].managed.insert(key, managed);
                }
                Ok((value, true))
            }
        }
    }

    /// Stores `new` in place of `old`: keeps identity fields, bumps `generation` when anything
    /// but metadata and status changed, stores nothing for a no-op, and completes a pending
    /// deletion once the last finalizer is gone.
    fn update(
        &mut self,
        type_index: usize,
        old: Value,
        mut new: Value,
        applied: Option<ManagedFields>,
        options: WriteOptions<'_>,
    ) -> Result<Value, ApiError> {
        let resource = &self.types[type_index];
        if let Some(map) = new.as_object_mut() {
            map.insert("apiVersion".into(), json!(resource.api_version()));
            map.insert("kind".into(), json!(resource.kind()));
        }
        let old_meta = old
            .get("metadata")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let metadata = meta_mut(&mut new);
        for field in [
            "name",
            "namespace",
            "uid",
            "creationTimestamp",
            "deletionTimestamp",
            "resourceVersion",
        ] {
            match old_meta.get(field) {
                Some(value) => metadata.insert(field.into(), value.clone()),
                None => metadata.remove(field),
            };
        }
        let generation = old_meta
            .get("generation")
            .and_then(Value::as_i64)
            .unwrap_or(1);
        let generation = if spec_changed(&old, &new) {
            generation + 1
        } else {
            generation
        };
        meta_mut(&mut new).insert("generation".into(), json!(generation));
        let key = key_of(&old);
        if !options.dry_run {
            let collection = &mut self.collections[type_index];
            match applied {
                Some(managed) if managed.is_empty() => {
                    collection.managed.remove(&key);
                }
                Some(managed) => {
                    collection.managed.insert(key.clone(), managed);
                }
                None => {
                    if let Some(managed) = collection.managed.get_mut(&key) {
                        managed.record_update(
                            &old,
                            &new,
                            options.field_manager.unwrap_or_default(),
                        );
                    }
                }
            }
        }
        if new == old {
            return Ok(old);
        }
        let pending_deletion = meta(&new).is_some_and(|m| m.contains_key("deletionTimestamp"));
        if pending_deletion && finalizers(&new).is_empty() {
            return Ok(self.commit(type_index, new, EventType::Deleted, options.dry_run));
        }
        Ok(self.commit(type_index, new, EventType::Modified, options.dry_run))
    }

    /// Deletes an object. One with finalizers (through the API) only gets a `deletionTimestamp`
    /// and goes once its finalizers are removed; a test hook's delete is immediate.
    ///
    /// Fails with 404 when it does not exist and 409 Conflict when a precondition does not hold.
    pub(crate) fn delete(
        &mut self,
        type_index: usize,
        namespace: Option<&str>,
        name: &str,
        preconditions: &Preconditions,
        options: WriteOptions<'_>,
    ) -> Result<Value, ApiError> {
        let resource = self.types[type_index].clone();
        let stored = self
            .get(type_index, namespace, name)
            .ok_or_else(|| ApiError::not_found(&resource, name))?;
        let mut object = stored.value();
        for (field, wanted) in [
            ("resourceVersion", &preconditions.resource_version),
            ("uid", &preconditions.uid),
        ] {
            if let Some(wanted) = wanted
                && meta_str(&object, field) != Some(wanted.as_str())
            {
                return Err(ApiError::new(
                    409,
                    "Conflict",
                    format!(
                        "Operation cannot be fulfilled on {} \"{name}\": Precondition failed: {field} in precondition: {wanted}, {field} in object meta: {}",
                        resource.qualified_plural(),
                        meta_str(&object, field).unwrap_or_default()
                    ),
                ));
            }
        }
        if options.origin == Origin::Api && !finalizers(&object).is_empty() {
            if meta_str(&object, "deletionTimestamp").is_some() {
                return Ok(object);
            }
            let metadata = meta_mut(&mut object);
            metadata.insert("deletionTimestamp".into(), json!(now()));
            metadata.insert("deletionGracePeriodSeconds".into(), json!(0));
            return Ok(self.commit(type_index, object, EventType::Modified, options.dry_run));
        }
        Ok(self.commit(type_index, object, EventType::Deleted, options.dry_run))
    }

    /// Creates an object or replaces it whole (a test hook): no status rules, no preconditions.
    ///
    /// Fails with 400 when its `apiVersion`/`kind` is not served or it has no namespace/name
    /// where one is needed.
    pub(crate) fn put(&mut self, object: Value) -> Result<Value, ApiError> {
        let api_version = object
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let kind = object
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let type_index = self.type_index(&api_version, &kind).ok_or_else(|| {
            ApiError::bad_request(format!(
                "no resource type is served for apiVersion {api_version:?}, kind {kind:?}"
            ))
        })?;
        let resource = &self.types[type_index];
        let namespace = resource.is_namespaced().then(|| {
            meta_str(&object, "namespace")
                .unwrap_or("default")
                .to_owned()
        });
        let name = meta_str(&object, "name").unwrap_or_default().to_owned();
        match self.get(type_index, namespace.as_deref(), &name) {
            None => self.create(type_index, namespace.as_deref(), object, WriteOptions::HOOK),
            Some(old) => {
                let old = old.value();
                self.update(type_index, old, object, None, WriteOptions::HOOK)
            }
        }
    }

    /// Appends the change and makes it visible: assigns the next resourceVersion, stores the
    /// object (or removes it), records the change and wakes the watches. With `dry_run`, only
    /// returns what would be stored.
    fn commit(
        &mut self,
        type_index: usize,
        mut object: Value,
        event_type: EventType,
        dry_run: bool,
    ) -> Value {
        if dry_run {
            return object;
        }
        let resource_version = self.resource_version + 1;
        meta_mut(&mut object).insert(
            "resourceVersion".into(),
            json!(resource_version.to_string()),
        );
        let stored = Arc::new(StoredObject {
            namespace: meta_str(&object, "namespace")
                .unwrap_or_default()
                .to_owned(),
            name: meta_str(&object, "name").unwrap_or_default().to_owned(),
            labels: labels_of(&object),
            json: Bytes::from(serde_json::to_vec(&object).unwrap_or_default()),
        });
        let key = (stored.namespace.clone(), stored.name.clone());
        let collection = &mut self.collections[type_index];
        let previous = if event_type == EventType::Deleted {
            collection.managed.remove(&key);
            collection.objects.remove(&key)
        } else {
            collection.objects.insert(key, stored.clone())
        };
        self.history.push_back(Arc::new(HistoryEvent {
            resource_version,
            type_index,
            event_type,
            object: stored,
            previous: previous.filter(|_| event_type == EventType::Modified),
        }));
        while self.history.len() > self.history_capacity {
            if let Some(evicted) = self.history.pop_front() {
                self.evicted_up_to = evicted.resource_version;
            }
        }
        self.resource_version = resource_version;
        self.notify.send_replace(resource_version);
        object
    }

    fn next_counter(&mut self) -> u64 {
        self.counter += 1;
        // splitmix64: distinct, random-looking values from a counter.
        let mut z = self
            .seed
            .wrapping_add(self.counter.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn new_uid(&mut self) -> String {
        let (a, b) = (self.next_counter(), self.next_counter());
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            0x8000 | (b >> 48) & 0x3fff,
            b & 0xffff_ffff_ffff
        )
    }

    fn random_suffix(&mut self) -> String {
        const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
        let mut bits = self.next_counter();
        (0..5)
            .map(|_| {
                let c = ALPHABET[(bits % ALPHABET.len() as u64) as usize];
                bits /= ALPHABET.len() as u64;
                c as char
            })
            .collect()
    }
}

/// Checks and fills `apiVersion`, `kind` and `metadata.namespace` against the type and the
/// request's namespace.
fn prepare_identity(
    resource: &ResourceType,
    object: &mut Value,
    namespace: Option<&str>,
) -> Result<(), ApiError> {
    let Some(map) = object.as_object_mut() else {
        return Err(ApiError::bad_request(
            "the body of the request must be a JSON object",
        ));
    };
    let api_version = map
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let kind = map.get("kind").and_then(Value::as_str).unwrap_or_default();
    if (!api_version.is_empty() || !kind.is_empty()) && !resource.matches(api_version, kind) {
        return Err(ApiError::bad_request(format!(
            "the API version in the data ({api_version}) does not match the expected API version ({}) or kind {kind} is not {}",
            resource.api_version(),
            resource.kind()
        )));
    }
    map.insert("apiVersion".into(), json!(resource.api_version()));
    map.insert("kind".into(), json!(resource.kind()));
    let metadata = meta_mut(object);
    if resource.is_namespaced() {
        let in_body = metadata
            .get("namespace")
            .and_then(Value::as_str)
            .filter(|ns| !ns.is_empty());
        let namespace = match (in_body, namespace) {
            (Some(body), Some(path)) if body != path => {
                return Err(ApiError::bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ));
            }
            (_, Some(path)) => path.to_owned(),
            (Some(body), None) => body.to_owned(),
            (None, None) => "default".to_owned(),
        };
        metadata.insert("namespace".into(), json!(namespace));
    } else {
        metadata.remove("namespace");
    }
    Ok(())
}

fn check_name(object: &Value, name: &str) -> Result<(), ApiError> {
    match meta_str(object, "name") {
        Some(in_body) if in_body != name => Err(ApiError::bad_request(format!(
            "the name of the object ({in_body}) does not match the name on the URL ({name})"
        ))),
        _ => Ok(()),
    }
}

/// 409 Conflict when `new` carries a resourceVersion other than `old`'s.
fn check_resource_version(
    resource: &ResourceType,
    old: &Value,
    new: &Value,
) -> Result<(), ApiError> {
    match meta_str(new, "resourceVersion") {
        Some(wanted) if !wanted.is_empty() && Some(wanted) != meta_str(old, "resourceVersion") => {
            Err(ApiError::conflict(
                resource,
                meta_str(old, "name").unwrap_or_default(),
            ))
        }
        _ => Ok(()),
    }
}

/// Keeps what a scope may not change from the old object.
fn rescope(old: &Value, mut new: Value, scope: Scope) -> Value {
    match scope {
        Scope::All => new,
        Scope::MainResource => {
            if let Some(map) = new.as_object_mut() {
                match old.get("status") {
                    Some(status) => map.insert("status".into(), status.clone()),
                    None => map.remove("status"),
                };
            }
            new
        }
        Scope::Status => {
            let mut result = old.clone();
            if let Some(map) = result.as_object_mut() {
                match new.get_mut("status").map(Value::take) {
                    Some(status) if !status.is_null() => map.insert("status".into(), status),
                    _ => map.remove("status"),
                };
            }
            result
        }
    }
}

/// An apply body: JSON, or YAML (JSON is YAML too, but parsing JSON first is faster and exact).
fn parse_apply_body(body: &[u8]) -> Result<Value, ApiError> {
    if let Ok(value) = serde_json::from_slice::<Value>(body) {
        return Ok(value);
    }
    let text = std::str::from_utf8(body)
        .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))?;
    serde_saphyr::from_str::<Value>(text)
        .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))
}

/// Whether anything but `metadata` and `status` differs.
fn spec_changed(old: &Value, new: &Value) -> bool {
    let ignored = |key: &str| matches!(key, "metadata" | "status" | "apiVersion" | "kind");
    let (Some(old), Some(new)) = (old.as_object(), new.as_object()) else {
        return old != new;
    };
    old.keys()
        .chain(new.keys())
        .filter(|k| !ignored(k))
        .any(|k| old.get(k) != new.get(k))
}

fn finalizers(object: &Value) -> Vec<Value> {
    object
        .pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// `metadata` as a map, if present.
pub(crate) fn meta(object: &Value) -> Option<&Map<String, Value>> {
    object.get("metadata").and_then(Value::as_object)
}

/// A string field of `metadata`.
pub(crate) fn meta_str<'a>(object: &'a Value, field: &str) -> Option<&'a str> {
    meta(object)
        .and_then(|m| m.get(field))
        .and_then(Value::as_str)
}

/// `metadata` as a mutable map, created if missing. `object` must be a JSON object.
fn meta_mut(object: &mut Value) -> &mut Map<String, Value> {
    if !object.get("metadata").is_some_and(Value::is_object) {
        object["metadata"] = json!({});
    }
    match object.get_mut("metadata") {
        Some(Value::Object(map)) => map,
        _ => unreachable!("metadata was just made an object"),
    }
}

fn key_of(object: &Value) -> Key {
    (
        meta_str(object, "namespace").unwrap_or_default().to_owned(),
        meta_str(object, "name").unwrap_or_default().to_owned(),
    )
}

fn labels_of(object: &Value) -> BTreeMap<String, String> {
    object
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
        .map(|labels| {
            labels
                .iter()
                .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}

/// Now, as the API server writes timestamps (RFC 3339, whole seconds, UTC).
fn now() -> String {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0));
    k8s_openapi::jiff::Timestamp::from_second(seconds)
        .unwrap_or_default()
        .to_string()
}

fn hex(text: &str) -> String {
    text.bytes().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<String> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect();
    String::from_utf8(bytes?).ok()
}

/// A continue token: the list's resourceVersion and the key of the last object sent.
fn encode_continue(resource_version: u64, namespace: &str, name: &str) -> String {
    format!("{resource_version}-{}-{}", hex(namespace), hex(name))
}

fn decode_continue(token: &str) -> Option<(u64, Key)> {
    let mut parts = token.splitn(3, '-');
    let version = parts.next()?.parse().ok()?;
    let namespace = unhex(parts.next()?)?;
    let name = unhex(parts.next()?)?;
    Some((version, (namespace, name)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> Store {
        Store::new(ResourceType::BUILTIN.to_vec(), 100)
    }

    fn service(ns: &str, name: &str, app: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "Service",
               "metadata": {"namespace": ns, "name": name, "labels": {"app": app}},
               "spec": {"type": "LoadBalancer"},
               "status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.1"}]}}})
    }

    #[test]
    fn create_fills_metadata_and_api_create_clears_status() {
        let mut store = store();
        let hook = store.put(service("a", "web", "web")).unwrap();
        assert_eq!(hook["metadata"]["resourceVersion"], "2");
        assert_eq!(hook["metadata"]["generation"], 1);
        assert!(hook["metadata"]["uid"].as_str().unwrap().len() == 36);
        assert!(hook["status"].is_object(), "hooks keep the status");

        let api = WriteOptions {
            field_manager: None,
            dry_run: false,
            origin: Origin::Api,
        };
        let created = store
            .create(0, Some("a"), service("a", "db", "db"), api)
            .unwrap();
        assert!(created.get("status").is_none());
        let error = store
            .create(0, Some("a"), service("a", "db", "db"), api)
            .unwrap_err();
        assert_eq!((error.code, error.reason.as_str()), (409, "AlreadyExists"));
        let error = store
            .create(0, Some("b"), service("a", "x", "x"), api)
            .unwrap_err();
        assert_eq!(error.code, 400);
    }

    #[test]
    fn pagination_walks_every_matching_object_once() {
        let mut store = store();
        for i in 0..25 {
            let app = if i % 2 == 0 { "even" } else { "odd" };
            store
                .put(service(&format!("ns{}", i % 3), &format!("svc{i:02}"), app))
                .unwrap();
        }
        let mut query = ListQuery {
            limit: Some(4),
            labels: LabelSelector::parse("app=even").unwrap(),
            ..Default::default()
        };
        let mut seen = Vec::new();
        let mut versions = Vec::new();
        for _ in 0..10 {
            let page = store.list(0, &query).unwrap();
            seen.extend(page.items.iter().map(|o| o.name.clone()));
            versions.push(page.resource_version);
            match page.continue_token {
                Some(token) => query.continue_token = Some(token),
                None => break,
            }
        }
        seen.sort();
        assert_eq!(seen.len(), 13);
        seen.dedup();
        assert_eq!(seen.len(), 13);
        assert!(
            versions.iter().all(|v| *v == versions[0]),
            "every page reports the first page's version"
        );
    }

    #[test]
    fn history_serves_watch_positions_and_expires() {
        let mut store = Store::new(ResourceType::BUILTIN.to_vec(), 3);
        for i in 0..5 {
            store.put(service("a", &format!("s{i}"), "x")).unwrap();
        }
        // Versions 2..=6 were written; 4, 5, 6 are retained.
        assert!(store.events_after(2, 10).is_err());
        let (events, next) = store.events_after(3, 10).unwrap();
        assert_eq!(
            events
                .iter()
                .map(|e| e.resource_version)
                .collect::<Vec<_>>(),
            [4, 5, 6]
        );
        assert_eq!(next, 6);
        assert!(store.check_watch_start(3).is_ok());
        store.expire_history();
        assert_eq!(store.check_watch_start(6).unwrap_err().code, 410);
        assert!(store.check_watch_start(store.resource_version()).is_ok());
    }

    #[test]
    fn replace_checks_resource_version_and_update_skips_no_ops() {
        let mut store = store();
        let api = WriteOptions {
            field_manager: None,
            dry_run: false,
            origin: Origin::Api,
        };
        let created = store.put(service("a", "web", "web")).unwrap();
        let mut stale = created.clone();
        stale["metadata"]["resourceVersion"] = json!("1");
        let error = store
            .replace(0, Some("a"), "web", stale, Scope::MainResource, api)
            .unwrap_err();
        assert_eq!((error.code, error.reason.as_str()), (409, "Conflict"));
        let same = store
            .replace(
                0,
                Some("a"),
                "web",
                created.clone(),
                Scope::MainResource,
                api,
            )
            .unwrap();
        assert_eq!(
            same["metadata"]["resourceVersion"],
            created["metadata"]["resourceVersion"]
        );
        let mut changed = created.clone();
        changed["spec"]["type"] = json!("ClusterIP");
        changed["status"] = json!({});
        let replaced = store
            .replace(0, Some("a"), "web", changed, Scope::MainResource, api)
            .unwrap();
        assert_eq!(replaced["metadata"]["generation"], 2);
        assert_eq!(
            replaced["status"], created["status"],
            "the main resource keeps the status"
        );
    }

    #[test]
    fn finalizers_delay_deletion() {
        let mut store = store();
        let api = WriteOptions {
            field_manager: None,
            dry_run: false,
            origin: Origin::Api,
        };
        let mut object = service("a", "web", "web");
        object["metadata"]["finalizers"] = json!(["example.com/cleanup"]);
        store.put(object).unwrap();
        let pending = store
            .delete(0, Some("a"), "web", &Preconditions::default(), api)
            .unwrap();
        assert!(pending["metadata"]["deletionTimestamp"].is_string());
        assert!(store.get(0, Some("a"), "web").is_some());
        let patch = br#"{"metadata":{"finalizers":null}}"#;
        store
            .patch(
                0,
                Some("a"),
                "web",
                PatchKind::Merge,
                patch,
                Scope::MainResource,
                api,
            )
            .unwrap();
        assert!(store.get(0, Some("a"), "web").is_none());
    }

    #[test]
    fn continue_tokens_round_trip() {
        let token = encode_continue(42, "kube-system", "a-b.c");
        assert_eq!(
            decode_continue(&token),
            Some((42, ("kube-system".into(), "a-b.c".into())))
        );
        assert_eq!(decode_continue("garbage"), None);
    }
}
