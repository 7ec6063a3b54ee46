//! Label and field selectors, parsed from the query string the way the API server reads them.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

/// One requirement of a label selector.
#[derive(Clone, Debug, PartialEq, Eq)]
enum LabelRequirement {
    /// `key`: the label is present.
    Exists(String),
    /// `!key`: the label is absent.
    NotExists(String),
    /// `key=v`, `key==v`, `key in (a,b)`.
    In(String, BTreeSet<String>),
    /// `key!=v`, `key notin (a,b)`: absent, or present with another value.
    NotIn(String, BTreeSet<String>),
    /// `key>n`, `key<n`: present with an integer value greater (less) than n.
    Compare(String, std::cmp::Ordering, i64),
}

/// A parsed label selector: every requirement must hold. The empty selector matches everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct LabelSelector(Vec<LabelRequirement>);

impl LabelSelector {
    /// Parses `labelSelector`: comma-separated requirements, where `in`/`notin` sets are
    /// parenthesised and may themselves contain commas.
    ///
    /// Fails with a message when the selector is malformed.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let mut requirements = Vec::new();
        for part in split_top_level(text) {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            requirements.push(parse_requirement(part)?);
        }
        Ok(Self(requirements))
    }

    /// Whether labels satisfy every requirement.
    pub(crate) fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.0.iter().all(|requirement| match requirement {
            LabelRequirement::Exists(key) => labels.contains_key(key),
            LabelRequirement::NotExists(key) => !labels.contains_key(key),
            LabelRequirement::In(key, values) => {
                labels.get(key).is_some_and(|v| values.contains(v))
            }
            LabelRequirement::NotIn(key, values) => {
                labels.get(key).is_none_or(|v| !values.contains(v))
            }
            LabelRequirement::Compare(key, ordering, bound) => labels
                .get(key)
                .and_then(|v| v.parse::<i64>().ok())
                .is_some_and(|v| v.cmp(bound) == *ordering),
        })
    }
}

/// Splits at commas outside parentheses.
fn split_top_level(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0_usize;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

fn parse_requirement(part: &str) -> Result<LabelRequirement, String> {
    let invalid = || format!("unable to parse requirement: {part:?}");
    if let Some(key) = part.strip_prefix('!') {
        return Ok(LabelRequirement::NotExists(valid_key(key.trim(), part)?));
    }
    for (operator, negated) in [("!=", true), ("==", false), ("=", false)] {
        if let Some((key, value)) = part.split_once(operator) {
            let key = valid_key(key.trim(), part)?;
            let value = valid_value(value.trim(), part)?;
            let values = BTreeSet::from([value]);
            return Ok(if negated {
                LabelRequirement::NotIn(key, values)
            } else {
                LabelRequirement::In(key, values)
            });
        }
    }
    for (operator, ordering) in [
        ('>', std::cmp::Ordering::Greater),
        ('<', std::cmp::Ordering::Less),
    ] {
        if let Some((key, value)) = part.split_once(operator) {
            let bound = value.trim().parse::<i64>().map_err(|_| invalid())?;
            return Ok(LabelRequirement::Compare(
                valid_key(key.trim(), part)?,
                ordering,
                bound,
            ));
        }
    }
    let mut words = part.splitn(2, char::is_whitespace);
    let key = words.next().unwrap_or_default();
    let rest = words.next().unwrap_or_default().trim();
    if rest.is_empty() {
        return Ok(LabelRequirement::Exists(valid_key(key, part)?));
    }
    let (negated, set) = if let Some(set) = rest.strip_prefix("notin") {
        (true, set)
    } else if let Some(set) = rest.strip_prefix("in") {
        (false, set)
    } else {
        return Err(invalid());
    };
    let set = set
        .trim()
        .strip_prefix('(')
        .and_then(|s| s.strip_suffix(')'))
        .ok_or_else(invalid)?;
    let values = set
        .split(',')
        .map(|v| valid_value(v.trim(), part))
        .collect::<Result<BTreeSet<_>, _>>()?;
    let key = valid_key(key, part)?;
    Ok(if negated {
        LabelRequirement::NotIn(key, values)
    } else {
        LabelRequirement::In(key, values)
    })
}

fn valid_key(key: &str, part: &str) -> Result<String, String> {
    let ok = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'));
    if ok {
        Ok(key.to_owned())
    } else {
        Err(format!("invalid label key in requirement {part:?}"))
    }
}

fn valid_value(value: &str, part: &str) -> Result<String, String> {
    let ok = value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(value.to_owned())
    } else {
        Err(format!("invalid label value in requirement {part:?}"))
    }
}

/// One requirement of a field selector: a dotted field path, equal or not equal to a value.
#[derive(Clone, Debug, PartialEq, Eq)]
struct FieldRequirement {
    path: String,
    value: String,
    negated: bool,
}

/// A parsed field selector (`metadata.name=web,metadata.namespace!=kube-system`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct FieldSelector(Vec<FieldRequirement>);

impl FieldSelector {
    /// Parses `fieldSelector`: comma-separated `path=value`, `path==value` or `path!=value`.
    ///
    /// Fails with a message when a requirement has no operator.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let mut requirements = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (path, value, negated) = if let Some((p, v)) = part.split_once("!=") {
                (p, v, true)
            } else if let Some((p, v)) = part.split_once("==") {
                (p, v, false)
            } else if let Some((p, v)) = part.split_once('=') {
                (p, v, false)
            } else {
                return Err(format!("invalid selector: {part:?}; can't understand it"));
            };
            requirements.push(FieldRequirement {
                path: path.trim().to_owned(),
                value: value.trim().to_owned(),
                negated,
            });
        }
        Ok(Self(requirements))
    }

    /// Whether the selector has no requirement.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Checks `metadata.name` / `metadata.namespace` requirements against the given values, and
    /// any other path by looking it up in the object (parsed only when needed).
    pub(crate) fn matches(
        &self,
        namespace: &str,
        name: &str,
        object: impl FnOnce() -> Value,
    ) -> bool {
        let mut parsed: Option<Value> = None;
        let mut object = Some(object);
        self.0.iter().all(|requirement| {
            let actual = match requirement.path.as_str() {
                "metadata.name" => name.to_owned(),
                "metadata.namespace" => namespace.to_owned(),
                path => {
                    let value = parsed
                        .get_or_insert_with(|| object.take().map(|f| f()).unwrap_or_default());
                    field_text(value, path)
                }
            };
            (actual == requirement.value) != requirement.negated
        })
    }
}

/// The text of a field at a dotted path, as the API server compares it; empty when missing.
fn field_text(object: &Value, path: &str) -> String {
    let mut current = object;
    for segment in path.split('.') {
        match current.get(segment) {
            Some(next) => current = next,
            None => return String::new(),
        }
    }
    match current {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn label_selector_operators() {
        let web = labels(&[("app", "web"), ("tier", "front"), ("replicas", "3")]);
        let cases = [
            ("", true),
            ("app=web", true),
            ("app==web", true),
            ("app!=web", false),
            ("app!=db", true),
            ("missing!=x", true),
            ("app in (web, db)", true),
            ("app notin (web,db)", false),
            ("missing notin (web)", true),
            ("app", true),
            ("!app", false),
            ("!missing", true),
            ("app=web,tier=front", true),
            ("app=web,tier=back", false),
            ("app in (db),tier", false),
            ("replicas>2", true),
            ("replicas<2", false),
            ("example.com/owner", false),
        ];
        for (selector, expected) in cases {
            let parsed = LabelSelector::parse(selector).unwrap();
            assert_eq!(parsed.matches(&web), expected, "{selector}");
        }
        assert!(LabelSelector::parse("app in web").is_err());
        assert!(LabelSelector::parse("a b c").is_err());
        assert!(LabelSelector::parse("app=we b").is_err());
    }

    #[test]
    fn field_selector_reads_metadata_and_nested_fields() {
        let selector =
            FieldSelector::parse("metadata.name=web,metadata.namespace!=kube-system").unwrap();
        assert!(selector.matches("default", "web", || unreachable!()));
        assert!(!selector.matches("kube-system", "web", || unreachable!()));

        let selector = FieldSelector::parse("spec.type=LoadBalancer").unwrap();
        assert!(selector.matches("a", "b", || json!({"spec": {"type": "LoadBalancer"}})));
        assert!(!selector.matches("a", "b", || json!({"spec": {}})));
        assert!(FieldSelector::parse("metadata.name").is_err());
    }
}
