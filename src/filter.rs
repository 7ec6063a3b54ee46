//! Filters shared by sources and planner: label selectors over labels or annotations, and
//! domain filters.

use kube::core::{Expression, Selector, SelectorExt};
use std::collections::{BTreeMap, BTreeSet};

use zonesync_core::DnsName;

/// A malformed `--label-filter` or `--annotation-filter`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid selector {input:?}: {problem}")]
pub struct SelectorError {
    /// The whole selector as given.
    pub input: String,
    /// What is wrong.
    pub problem: String,
}

/// A parsed Kubernetes label selector (`app=web,tier!=db,env in (prod,staging),!legacy`).
///
/// Keeps the kube `Selector` so the same value can be sent to the API server and matched
/// locally.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LabelSelector {
    selector: Selector,
    text: String,
}

impl LabelSelector {
    /// Parses label selector syntax: comma-separated `key`, `!key`, `key=value`, `key==value`,
    /// `key!=value`, `key in (a,b)`, `key notin (a,b)`.
    ///
    /// Fails on an empty requirement, an unbalanced parenthesis, an unknown operator, or a key
    /// or value with characters labels cannot hold.
    pub fn parse(input: &str) -> Result<Self, SelectorError> {
        let error = |problem: String| SelectorError {
            input: input.to_string(),
            problem,
        };
        let mut expressions = Vec::new();
        for requirement in split_requirements(input).map_err(error)? {
            expressions.push(parse_requirement(&requirement).map_err(error)?);
        }
        Ok(Self {
            selector: expressions.into_iter().collect(),
            text: input.trim().to_string(),
        })
    }

    /// True when `labels` satisfy every requirement.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.selector.matches(labels)
    }

    /// The kube selector, for list and watch parameters.
    pub fn selector(&self) -> &Selector {
        &self.selector
    }

    /// The selector as the user wrote it.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

fn split_requirements(input: &str) -> Result<Vec<String>, String> {
    let mut requirements = Vec::new();
    let mut current = String::new();
    let mut depth = 0usize;
    for character in input.chars() {
        match character {
            '(' => {
                depth += 1;
                current.push(character);
            }
            ')' => {
                depth = depth
                    .checked_sub(1)
                    .ok_or_else(|| "unbalanced ')'".to_string())?;
                current.push(character);
            }
            ',' if depth == 0 => requirements.push(std::mem::take(&mut current)),
            _ => current.push(character),
        }
    }
    if depth != 0 {
        return Err("unbalanced '('".to_string());
    }
    requirements.push(current);
    let requirements: Vec<String> = requirements
        .into_iter()
        .map(|r| r.trim().to_string())
        .collect();
    if requirements.len() == 1 && requirements[0].is_empty() {
        return Ok(Vec::new());
    }
    if requirements.iter().any(String::is_empty) {
        return Err("empty requirement".to_string());
    }
    Ok(requirements)
}

fn parse_requirement(requirement: &str) -> Result<Expression, String> {
    if let Some(key) = requirement.strip_prefix('!') {
        return Ok(Expression::DoesNotExist(valid_key(key.trim())?));
    }
    if let Some((key, value)) = requirement.split_once("!=") {
        return Ok(Expression::NotEqual(
            valid_key(key.trim())?,
            valid_value(value.trim())?,
        ));
    }
    if let Some((key, value)) = requirement
        .split_once("==")
        .or_else(|| requirement.split_once('='))
    {
        return Ok(Expression::Equal(
            valid_key(key.trim())?,
            valid_value(value.trim())?,
        ));
    }
    let mut words = requirement.splitn(2, char::is_whitespace);
    let key = words.next().unwrap_or_default();
    let rest = words.next().unwrap_or_default().trim();
    if rest.is_empty() {
        return Ok(Expression::Exists(valid_key(key)?));
    }
    let (operator, set) = rest
        .split_once(char::is_whitespace)
        .map(|(op, set)| (op, set.trim()))
        .or_else(|| rest.find('(').map(|i| (rest[..i].trim(), &rest[i..])))
        .ok_or_else(|| format!("cannot read requirement {requirement:?}"))?;
    let values = set
        .strip_prefix('(')
        .and_then(|s| s.strip_suffix(')'))
        .ok_or_else(|| format!("expected a (value,…) set in {requirement:?}"))?;
    let values: BTreeSet<String> = values
        .split(',')
        .map(|v| valid_value(v.trim()))
        .collect::<Result<_, _>>()?;
    match operator {
        "in" => Ok(Expression::In(valid_key(key)?, values)),
        "notin" => Ok(Expression::NotIn(valid_key(key)?, values)),
        other => Err(format!(
            "unknown operator {other:?} in {requirement:?} (use =, ==, !=, in, notin, !)"
        )),
    }
}

fn valid_key(key: &str) -> Result<String, String> {
    let ok = !key.is_empty()
        && key.len() <= 317
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'));
    if ok {
        Ok(key.to_string())
    } else {
        Err(format!("invalid key {key:?}"))
    }
}

fn valid_value(value: &str) -> Result<String, String> {
    let ok = value.len() <= 63
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(value.to_string())
    } else {
        Err(format!("invalid value {value:?}"))
    }
}

/// A malformed domain in `--domain-filter` or `--exclude-domains`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{flag} {value:?} is not a valid domain: {source}")]
pub struct DomainFilterError {
    /// The flag.
    pub flag: &'static str,
    /// The value given.
    pub value: String,
    /// Why it is invalid.
    #[source]
    pub source: zonesync_core::NameError,
}

/// `--domain-filter` / `--exclude-domains`: which names zonesync may touch.
///
/// `example.com` matches `example.com` and every name below it on a label boundary;
/// `.example.com` matches only names below it. An empty include list matches everything.
/// A provider that restricts names itself (the webhook provider's negotiated filter) narrows
/// it further through [`DomainFilter::restrict_to`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DomainFilter {
    include: Vec<DomainPattern>,
    exclude: Vec<DomainPattern>,
    provider_scope: Option<ProviderScope>,
}

/// A provider's own name scope, compared by identity.
#[derive(Clone, Debug)]
struct ProviderScope(std::sync::Arc<dyn zonesync_core::NameScope>);

impl PartialEq for ProviderScope {
    fn eq(&self, other: &Self) -> bool {
        std::sync::Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for ProviderScope {}

#[derive(Clone, Debug, PartialEq, Eq)]
struct DomainPattern {
    domain: DnsName,
    subdomains_only: bool,
}

impl DomainPattern {
    fn parse(flag: &'static str, value: &str) -> Result<Self, DomainFilterError> {
        let trimmed = value.trim();
        let (subdomains_only, domain) = match trimmed.strip_prefix('.') {
            Some(rest) => (true, rest),
            None => (false, trimmed),
        };
        let domain = DnsName::parse(domain).map_err(|source| DomainFilterError {
            flag,
            value: value.to_string(),
            source,
        })?;
        Ok(Self {
            domain,
            subdomains_only,
        })
    }

    fn matches(&self, name: &DnsName) -> bool {
        if self.subdomains_only && name == &self.domain {
            return false;
        }
        name.is_within(&self.domain)
    }
}

impl DomainFilter {
    /// Builds a filter; fails on a value that is not a domain name.
    pub fn new<I, J, S, T>(include: I, exclude: J) -> Result<Self, DomainFilterError>
    where
        I: IntoIterator<Item = S>,
        J: IntoIterator<Item = T>,
        S: AsRef<str>,
        T: AsRef<str>,
    {
        let include = include
            .into_iter()
            .filter(|d| !d.as_ref().trim().is_empty())
            .map(|d| DomainPattern::parse("--domain-filter", d.as_ref()))
            .collect::<Result<_, _>>()?;
        let exclude = exclude
            .into_iter()
            .filter(|d| !d.as_ref().trim().is_empty())
            .map(|d| DomainPattern::parse("--exclude-domains", d.as_ref()))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            include,
            exclude,
            provider_scope: None,
        })
    }

    /// Narrows the filter to the names the provider lets zonesync manage
    /// ([`Provider::name_scope`](zonesync_core::Provider::name_scope)); `None` leaves it as is.
    pub fn restrict_to(&mut self, scope: Option<std::sync::Arc<dyn zonesync_core::NameScope>>) {
        if let Some(scope) = scope {
            self.provider_scope = Some(ProviderScope(scope));
        }
    }

    /// True when `name` may be managed.
    pub fn matches(&self, name: &DnsName) -> bool {
        let included = self.include.is_empty() || self.include.iter().any(|p| p.matches(name));
        included
            && !self.exclude.iter().any(|p| p.matches(name))
            && self
                .provider_scope
                .as_ref()
                .is_none_or(|scope| scope.0.contains(name))
    }

    /// True when a zone named `zone` may hold names the filter accepts (used to pick zones).
    pub fn may_match_zone(&self, zone: &DnsName) -> bool {
        self.include.is_empty()
            || self
                .include
                .iter()
                .any(|p| p.domain.is_within(zone) || zone.is_within(&p.domain))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn parses_every_operator() {
        let selector =
            LabelSelector::parse("app=web, tier!=db,env in (prod, staging),!legacy,team").unwrap();
        assert!(selector.matches(&labels(&[("app", "web"), ("env", "prod"), ("team", "x")])));
        assert!(!selector.matches(&labels(&[("app", "web"), ("env", "dev"), ("team", "x")])));
        assert!(!selector.matches(&labels(&[
            ("app", "web"),
            ("env", "prod"),
            ("team", "x"),
            ("legacy", "1")
        ])));
        assert!(!selector.matches(&labels(&[("app", "web"), ("env", "prod")])));
        let notin = LabelSelector::parse("env notin (dev)").unwrap();
        assert!(notin.matches(&labels(&[])));
        assert!(!notin.matches(&labels(&[("env", "dev")])));
        let double = LabelSelector::parse("a==b").unwrap();
        assert!(double.matches(&labels(&[("a", "b")])));
    }

    #[test]
    fn annotation_keys_with_prefixes_work() {
        let selector = LabelSelector::parse("kubernetes.io/ingress.class=nginx").unwrap();
        assert!(selector.matches(&labels(&[("kubernetes.io/ingress.class", "nginx")])));
    }

    #[test]
    fn empty_selector_matches_everything() {
        assert!(LabelSelector::parse("").unwrap().matches(&labels(&[])));
    }

    #[test]
    fn rejects_malformed_selectors() {
        for bad in ["a=b,,c", "env in (a", "env between (a)", "a=b c", "=x"] {
            assert!(LabelSelector::parse(bad).is_err(), "{bad} should fail");
        }
    }

    #[test]
    fn domain_filter_matches_on_label_boundary() {
        let filter = DomainFilter::new(
            ["example.com", ".apps.example.org"],
            ["internal.example.com"],
        )
        .unwrap();
        let name = |s: &str| DnsName::parse(s).unwrap();
        assert!(filter.matches(&name("example.com")));
        assert!(filter.matches(&name("www.example.com")));
        assert!(!filter.matches(&name("badexample.com")));
        assert!(!filter.matches(&name("apps.example.org")));
        assert!(filter.matches(&name("x.apps.example.org")));
        assert!(!filter.matches(&name("db.internal.example.com")));
        assert!(DomainFilter::default().matches(&name("anything.test")));
        assert!(DomainFilter::new(["bad!domain"], Vec::<String>::new()).is_err());
    }
}
