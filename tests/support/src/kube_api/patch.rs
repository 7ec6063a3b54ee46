//! Patches: JSON merge patch (also used for strategic merge patch), JSON patch, and server-side
//! apply with field ownership between appliers.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

/// RFC 7386 JSON merge patch: objects merge key by key, `null` removes a key, anything else
/// (arrays included) replaces.
pub(crate) fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Value::Object(target) = target {
        for (key, value) in patch {
            if value.is_null() {
                target.remove(key);
            } else {
                merge_patch(target.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
    }
}

/// Removes strategic-merge-patch directives (`$patch`, `$retainKeys`, `$setElementOrder/…`), so
/// the rest can be applied as a merge patch.
pub(crate) fn strip_directives(patch: &mut Value) {
    match patch {
        Value::Object(map) => {
            map.retain(|key, _| !key.starts_with('$'));
            map.values_mut().for_each(strip_directives);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_directives),
        _ => {}
    }
}

/// RFC 6902 JSON patch: `add`, `remove`, `replace`, `move`, `copy` and `test`.
///
/// Fails with a message when an operation is malformed, its path does not exist, or a `test` fails.
pub(crate) fn json_patch(target: &mut Value, operations: &Value) -> Result<(), String> {
    let operations = operations
        .as_array()
        .ok_or("a JSON patch must be an array of operations")?;
    for operation in operations {
        let op = operation
            .get("op")
            .and_then(Value::as_str)
            .ok_or("operation without \"op\"")?;
        let path = operation
            .get("path")
            .and_then(Value::as_str)
            .ok_or("operation without \"path\"")?;
        let value = || {
            operation
                .get("value")
                .cloned()
                .ok_or(format!("{op} {path}: missing \"value\""))
        };
        let from = || {
            operation
                .get("from")
                .and_then(Value::as_str)
                .ok_or(format!("{op} {path}: missing \"from\""))
        };
        match op {
            "add" => pointer_add(target, path, value()?)?,
            "remove" => {
                pointer_remove(target, path).ok_or(format!("remove {path}: no such path"))?;
            }
            "replace" => {
                let slot = target
                    .pointer_mut(path)
                    .ok_or(format!("replace {path}: no such path"))?;
                *slot = value()?;
            }
            "move" => {
                let moved = pointer_remove(target, from()?)
                    .ok_or(format!("move {path}: no such source"))?;
                pointer_add(target, path, moved)?;
            }
            "copy" => {
                let copied = target
                    .pointer(from()?)
                    .cloned()
                    .ok_or(format!("copy {path}: no such source"))?;
                pointer_add(target, path, copied)?;
            }
            "test" => {
                if target.pointer(path) != Some(&value()?) {
                    return Err(format!("test {path}: value differs"));
                }
            }
            other => return Err(format!("unknown JSON patch operation {other:?}")),
        }
    }
    Ok(())
}

fn unescape(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

fn split_pointer(path: &str) -> Option<(&str, String)> {
    let (parent, last) = path.rsplit_once('/')?;
    Some((parent, unescape(last)))
}

fn pointer_add(target: &mut Value, path: &str, value: Value) -> Result<(), String> {
    if path.is_empty() {
        *target = value;
        return Ok(());
    }
    let (parent, last) = split_pointer(path).ok_or(format!("add {path}: invalid path"))?;
    match target.pointer_mut(parent) {
        Some(Value::Object(map)) => {
            map.insert(last, value);
            Ok(())
        }
        Some(Value::Array(items)) => {
            let index = if last == "-" {
                items.len()
            } else {
                last.parse().map_err(|_| format!("add {path}: bad index"))?
            };
            if index > items.len() {
                return Err(format!("add {path}: index out of range"));
            }
            items.insert(index, value);
            Ok(())
        }
        _ => Err(format!("add {path}: no such parent")),
    }
}

/// Removes the value at a JSON pointer and returns it; `None` if there is none.
pub(crate) fn pointer_remove(target: &mut Value, path: &str) -> Option<Value> {
    let (parent, last) = split_pointer(path)?;
    match target.pointer_mut(parent)? {
        Value::Object(map) => map.remove(&last),
        Value::Array(items) => {
            let index: usize = last.parse().ok()?;
            (index < items.len()).then(|| items.remove(index))
        }
        _ => None,
    }
}

/// Which part of an object a write may change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Scope {
    /// Everything (the type has no status subresource, or the write comes from a test hook).
    All,
    /// Everything but `.status`: a write to the main resource of a type with a status subresource.
    MainResource,
    /// Only `.status`: a write to the `status` subresource.
    Status,
}

impl Scope {
    fn contains(self, path: &str) -> bool {
        let status = path == "/status" || path.starts_with("/status/");
        match self {
            Self::All => true,
            Self::MainResource => !status,
            Self::Status => status,
        }
    }
}

/// Paths nobody owns: identity and server-maintained metadata.
const UNOWNED: [&str; 12] = [
    "/apiVersion",
    "/kind",
    "/metadata/name",
    "/metadata/namespace",
    "/metadata/uid",
    "/metadata/resourceVersion",
    "/metadata/generation",
    "/metadata/creationTimestamp",
    "/metadata/deletionTimestamp",
    "/metadata/deletionGracePeriodSeconds",
    "/metadata/managedFields",
    "/metadata/selfLink",
];

/// The leaf fields of an object within a scope, by JSON pointer. Maps are walked key by key;
/// arrays and scalars are leaves (lists are atomic); `null`s and empty maps own nothing.
pub(crate) fn leaves(value: &Value, scope: Scope) -> BTreeMap<String, &Value> {
    fn walk<'a>(
        path: &mut String,
        value: &'a Value,
        scope: Scope,
        out: &mut BTreeMap<String, &'a Value>,
    ) {
        if UNOWNED.contains(&path.as_str()) {
            return;
        }
        match value {
            Value::Null => {}
            Value::Object(map) => {
                for (key, child) in map {
                    let length = path.len();
                    path.push('/');
                    path.push_str(&escape(key));
                    walk(path, child, scope, out);
                    path.truncate(length);
                }
            }
            leaf => {
                if scope.contains(path) {
                    out.insert(path.clone(), leaf);
                }
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(&mut String::new(), value, scope, &mut out);
    out
}

/// Which field managers applied which fields of one object (server-side apply). Only appliers
/// are tracked: a plain update that changes a field takes it away from the appliers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct ManagedFields(BTreeMap<String, BTreeSet<String>>);

/// A field another manager applied with a different value: (manager, dotted path).
pub(crate) type Conflict = (String, String);

impl ManagedFields {
    /// Whether no field is owned.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The managers that applied a field (JSON pointer), for tests.
    #[cfg(test)]
    fn owners(&self, path: &str) -> Vec<&str> {
        self.0
            .get(path)
            .map(|o| o.iter().map(String::as_str).collect())
            .unwrap_or_default()
    }

    /// Records a plain update (create, replace, merge/JSON patch) by `manager` from `old` to `new`:
    /// changed fields are owned by no other applier any more, and removed fields by nobody.
    pub(crate) fn record_update(&mut self, old: &Value, new: &Value, manager: &str) {
        if self.0.is_empty() {
            return;
        }
        let old = leaves(old, Scope::All);
        let new = leaves(new, Scope::All);
        self.0.retain(|path, owners| match new.get(path) {
            None => false,
            Some(value) => {
                if old.get(path) != Some(value) {
                    owners.retain(|owner| owner == manager);
                }
                !owners.is_empty()
            }
        });
    }

    /// Server-side apply of `config` by `manager` onto `current`: returns the new object, or the
    /// conflicts when another manager applied a field `config` sets to a different value and
    /// `force` is off. Fields this manager applied before and `config` now omits are removed unless
    /// another manager applied them too.
    pub(crate) fn apply(
        &mut self,
        current: &Value,
        config: &Value,
        manager: &str,
        force: bool,
        scope: Scope,
    ) -> Result<Value, Vec<Conflict>> {
        let config_leaves = leaves(config, scope);
        let current_leaves = leaves(current, scope);
        let mut conflicts = Vec::new();
        for (path, value) in &config_leaves {
            let differs = current_leaves
                .get(path)
                .is_some_and(|current| current != value);
            if differs && let Some(owners) = self.0.get(path) {
                conflicts.extend(
                    owners
                        .iter()
                        .filter(|owner| *owner != manager)
                        .map(|owner| (owner.clone(), dotted(path))),
                );
            }
        }
        if !conflicts.is_empty() && !force {
            return Err(conflicts);
        }
        let mut object = current.clone();
        merge_patch(&mut object, &scoped(config, scope));
        for (path, value) in &config_leaves {
            let owners = self.0.entry(path.clone()).or_default();
            if current_leaves.get(path) != Some(value) {
                owners.clear();
            }
            owners.insert(manager.to_owned());
        }
        let omitted: Vec<String> = self
            .0
            .iter()
            .filter(|(path, owners)| {
                scope.contains(path)
                    && owners.contains(manager)
                    && !config_leaves.contains_key(*path)
                    && !config_leaves.keys().any(|leaf| is_below(leaf, path))
            })
            .map(|(path, _)| path.clone())
            .collect();
        for path in omitted {
            if let Some(owners) = self.0.get_mut(&path) {
                owners.remove(manager);
                if owners.is_empty() {
                    self.0.remove(&path);
                    pointer_remove(&mut object, &path);
                }
            }
        }
        Ok(object)
    }
}

/// The part of an apply configuration a scope may change.
fn scoped(config: &Value, scope: Scope) -> Value {
    let mut config = config.clone();
    if let Value::Object(map) = &mut config {
        match scope {
            Scope::All => {}
            Scope::MainResource => {
                map.remove("status");
            }
            Scope::Status => map.retain(|key, _| key == "status"),
        }
    }
    config
}

/// Whether a JSON pointer lies strictly below another.
fn is_below(pointer: &str, ancestor: &str) -> bool {
    pointer
        .strip_prefix(ancestor)
        .is_some_and(|rest| rest.starts_with('/'))
}

/// `/spec/holderIdentity` → `.spec.holderIdentity`, as the API server prints field paths.
fn dotted(pointer: &str) -> String {
    pointer
        .split('/')
        .skip(1)
        .map(|s| format!(".{}", unescape(s)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_patch_follows_rfc_7386() {
        let mut doc = json!({"a": {"b": 1, "c": 2}, "list": [1, 2], "keep": true});
        merge_patch(
            &mut doc,
            &json!({"a": {"b": null, "d": 3}, "list": [3], "new": "x"}),
        );
        assert_eq!(
            doc,
            json!({"a": {"c": 2, "d": 3}, "list": [3], "keep": true, "new": "x"})
        );
    }

    #[test]
    fn strategic_directives_are_dropped() {
        let mut patch = json!({"$patch": "merge", "spec": {"$retainKeys": ["a"], "a": 1}});
        strip_directives(&mut patch);
        assert_eq!(patch, json!({"spec": {"a": 1}}));
    }

    #[test]
    fn json_patch_operations() {
        let mut doc = json!({"metadata": {"labels": {"a/b": "1"}}, "items": [1, 3]});
        json_patch(
            &mut doc,
            &json!([
                {"op": "test", "path": "/metadata/labels/a~1b", "value": "1"},
                {"op": "add", "path": "/items/1", "value": 2},
                {"op": "add", "path": "/items/-", "value": 4},
                {"op": "replace", "path": "/metadata/labels/a~1b", "value": "2"},
                {"op": "copy", "from": "/items", "path": "/copy"},
                {"op": "move", "from": "/copy", "path": "/moved"},
                {"op": "remove", "path": "/items/0"},
            ]),
        )
        .unwrap();
        assert_eq!(
            doc,
            json!({"metadata": {"labels": {"a/b": "2"}}, "items": [2, 3, 4], "moved": [1, 2, 3, 4]})
        );
        assert!(
            json_patch(
                &mut doc,
                &json!([{"op": "test", "path": "/items/0", "value": 9}])
            )
            .is_err()
        );
        assert!(json_patch(&mut doc, &json!([{"op": "remove", "path": "/missing"}])).is_err());
    }

    #[test]
    fn leaves_skip_identity_and_respect_scope() {
        let object = json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "web", "labels": {"app": "web"}, "resourceVersion": "3"},
            "spec": {"ports": [{"port": 80}]},
            "status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.1"}]}},
        });
        let all: Vec<String> = leaves(&object, Scope::All).into_keys().collect();
        assert_eq!(
            all,
            [
                "/metadata/labels/app",
                "/spec/ports",
                "/status/loadBalancer/ingress"
            ]
        );
        let status: Vec<String> = leaves(&object, Scope::Status).into_keys().collect();
        assert_eq!(status, ["/status/loadBalancer/ingress"]);
        let main: Vec<String> = leaves(&object, Scope::MainResource).into_keys().collect();
        assert_eq!(main, ["/metadata/labels/app", "/spec/ports"]);
    }

    #[test]
    fn appliers_conflict_on_different_values_and_share_equal_ones() {
        let mut managed = ManagedFields::default();
        let empty = json!({"spec": {}});
        let a = json!({"spec": {"holderIdentity": "a", "leaseDurationSeconds": 15}});
        let object = managed.apply(&empty, &a, "a", false, Scope::All).unwrap();
        assert_eq!(managed.owners("/spec/holderIdentity"), ["a"]);

        let b = json!({"spec": {"holderIdentity": "b", "leaseDurationSeconds": 15}});
        let conflicts = managed
            .clone()
            .apply(&object, &b, "b", false, Scope::All)
            .unwrap_err();
        assert_eq!(
            conflicts,
            [("a".to_owned(), ".spec.holderIdentity".to_owned())]
        );

        let mut forced = managed.clone();
        let object_b = forced.apply(&object, &b, "b", true, Scope::All).unwrap();
        assert_eq!(object_b["spec"]["holderIdentity"], "b");
        assert_eq!(forced.owners("/spec/holderIdentity"), ["b"]);
        assert_eq!(forced.owners("/spec/leaseDurationSeconds"), ["a", "b"]);

        // A plain update that removes the field frees it for anyone.
        let mut released = object.clone();
        merge_patch(&mut released, &json!({"spec": {"holderIdentity": null}}));
        managed.record_update(&object, &released, "c");
        assert!(managed.owners("/spec/holderIdentity").is_empty());
        let object_b = managed
            .apply(&released, &b, "b", false, Scope::All)
            .unwrap();
        assert_eq!(object_b["spec"]["holderIdentity"], "b");
    }

    #[test]
    fn an_empty_map_owns_nothing() {
        let mut managed = ManagedFields::default();
        let empty = json!({"metadata": {"annotations": {}}});
        let object = managed
            .apply(&json!({}), &empty, "m", false, Scope::All)
            .unwrap();
        let filled = json!({"metadata": {"annotations": {"a": "1"}}});
        let object = managed
            .apply(&object, &filled, "m", false, Scope::All)
            .unwrap();
        assert_eq!(object, filled);
        // A field applied as a scalar, then as a map: the map stays.
        let scalar = json!({"spec": {"x": 1}});
        let object = managed
            .apply(&object, &scalar, "m", false, Scope::All)
            .unwrap();
        let nested = json!({"spec": {"x": {"y": 2}}});
        let object = managed
            .apply(&object, &nested, "m", false, Scope::All)
            .unwrap();
        let annotations_dropped = json!({"metadata": {"annotations": {}}, "spec": {"x": {"y": 2}}});
        assert_eq!(object, annotations_dropped);
    }

    #[test]
    fn apply_removes_fields_the_manager_no_longer_applies() {
        let mut managed = ManagedFields::default();
        let first = json!({"metadata": {"labels": {"a": "1", "b": "2"}}});
        let object = managed
            .apply(
                &json!({"metadata": {"name": "x"}}),
                &first,
                "m",
                false,
                Scope::All,
            )
            .unwrap();
        let second = json!({"metadata": {"labels": {"a": "1"}}});
        let object = managed
            .apply(&object, &second, "m", false, Scope::All)
            .unwrap();
        assert_eq!(
            object,
            json!({"metadata": {"name": "x", "labels": {"a": "1"}}})
        );
    }
}
