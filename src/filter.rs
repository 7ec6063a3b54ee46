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
    pub problem: SelectorProblem,
}

/// What is wrong in a label selector.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectorProblem {
    /// A `)` without its `(`.
    #[error("unbalanced ')'")]
    UnbalancedClose,
    /// A `(` without its `)`.
    #[error("unbalanced '('")]
    UnbalancedOpen,
    /// Nothing between two commas.
    #[error("empty requirement")]
    EmptyRequirement,
    /// A requirement that is none of the forms.
    #[error("cannot read requirement {0:?}")]
    Unreadable(String),
    /// `in`/`notin` without a `(value,…)` set.
    #[error("expected a (value,…) set in {0:?}")]
    NoSet(String),
    /// An operator other than `=`, `==`, `!=`, `in`, `notin`, `!`.
    #[error("unknown operator {operator:?} in {requirement:?} (use =, ==, !=, in, notin, !)")]
    UnknownOperator {
        /// The operator.
        operator: String,
        /// The requirement holding it.
        requirement: String,
    },
    /// A key with characters label keys cannot hold, or empty.
    #[error("invalid key {0:?}")]
    Key(String),
    /// A value with characters label values cannot hold, or too long.
    #[error("invalid value {0:?}")]
    Value(String),
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
        let error = |problem: SelectorProblem| SelectorError {
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

fn split_requirements(input: &str) -> Result<Vec<String>, SelectorProblem> {
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
                    .ok_or(SelectorProblem::UnbalancedClose)?;
                current.push(character);
            }
            ',' if depth == 0 => requirements.push(std::mem::take(&mut current)),
            _ => current.push(character),
        }
    }
    if depth != 0 {
        return Err(SelectorProblem::UnbalancedOpen);
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
        return Err(SelectorProblem::EmptyRequirement);
    }
    Ok(requirements)
}

fn parse_requirement(requirement: &str) -> Result<Expression, SelectorProblem> {
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
        .ok_or_else(|| SelectorProblem::Unreadable(requirement.to_string()))?;
    let values = set
        .strip_prefix('(')
        .and_then(|s| s.strip_suffix(')'))
        .ok_or_else(|| SelectorProblem::NoSet(requirement.to_string()))?;
    let values: BTreeSet<String> = values
        .split(',')
        .map(|v| valid_value(v.trim()))
        .collect::<Result<_, _>>()?;
    match operator {
        "in" => Ok(Expression::In(valid_key(key)?, values)),
        "notin" => Ok(Expression::NotIn(valid_key(key)?, values)),
        other => Err(SelectorProblem::UnknownOperator {
            operator: other.to_string(),
            requirement: requirement.to_string(),
        }),
    }
}

fn valid_key(key: &str) -> Result<String, SelectorProblem> {
    let ok = !key.is_empty()
        && key.len() <= 317
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'));
    if ok {
        Ok(key.to_string())
    } else {
        Err(SelectorProblem::Key(key.to_string()))
    }
}

fn valid_value(value: &str) -> Result<String, SelectorProblem> {
    let ok = value.len() <= 63
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(value.to_string())
    } else {
        Err(SelectorProblem::Value(value.to_string()))
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

/// A bad value in `--target-net-filter`, `--exclude-target-net` or `--default-targets`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{flag} {value:?} {reason}")]
pub struct TargetPolicyError {
    /// The flag.
    pub flag: &'static str,
    /// The value given.
    pub value: String,
    /// Why it is refused.
    pub reason: String,
}

/// What happens to an object's targets before they become records, as external-dns's source
/// wrappers do it: `--default-targets` first (for objects without targets, or for every object
/// with `--force-default-targets`), then `--target-net-filter` / `--exclude-target-net`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TargetPolicy {
    /// `--target-net-filter`: when not empty, only addresses inside one of these are kept
    /// (host names are dropped then, as in external-dns).
    include: Vec<ipnet::IpNet>,
    /// `--exclude-target-net`: addresses inside one of these are dropped.
    exclude: Vec<ipnet::IpNet>,
    /// `--default-targets`.
    defaults: Vec<crate::source::Target>,
    /// `--force-default-targets`.
    force_defaults: bool,
}

impl TargetPolicy {
    /// Builds the policy from the flag values.
    ///
    /// Fails on a value that is not a CIDR (`192.0.2.0/24`, `2001:db8::/32`), on a default
    /// target that is neither an address nor a host name, on more than one host name among the
    /// default targets (a CNAME has one target), and on `--force-default-targets` without
    /// default targets.
    pub fn new(
        include: &[String],
        exclude: &[String],
        defaults: &[String],
        force_defaults: bool,
    ) -> Result<Self, TargetPolicyError> {
        let nets = |flag: &'static str, values: &[String]| {
            values
                .iter()
                .map(|value| {
                    value.trim().parse::<ipnet::IpNet>().map_err(|_| TargetPolicyError {
                        flag,
                        value: value.clone(),
                        reason: "is not a network in CIDR notation (e.g. 192.0.2.0/24 or 2001:db8::/32)".into(),
                    })
                })
                .collect::<Result<Vec<_>, _>>()
        };
        let mut targets: Vec<crate::source::Target> = Vec::new();
        for value in defaults {
            let target =
                crate::source::Target::parse(value).map_err(|reason| TargetPolicyError {
                    flag: "--default-targets",
                    value: value.clone(),
                    reason: format!("is {reason}"),
                })?;
            if !targets.contains(&target) {
                targets.push(target);
            }
        }
        let hosts = targets
            .iter()
            .filter(|t| matches!(t, crate::source::Target::Host(_)))
            .count();
        if hosts > 1 {
            return Err(TargetPolicyError {
                flag: "--default-targets",
                value: defaults.join(","),
                reason: "names more than one host name; a CNAME record has exactly one target"
                    .into(),
            });
        }
        if force_defaults && targets.is_empty() {
            return Err(TargetPolicyError {
                flag: "--force-default-targets",
                value: "true".into(),
                reason: "needs --default-targets".into(),
            });
        }
        Ok(Self {
            include: nets("--target-net-filter", include)?,
            exclude: nets("--exclude-target-net", exclude)?,
            defaults: targets,
            force_defaults,
        })
    }

    /// True when `target` passes the network filters (external-dns `TargetNetFilter.Match`).
    pub fn admits(&self, target: &crate::source::Target) -> bool {
        let address = match target {
            crate::source::Target::Address(address) => Some(*address),
            crate::source::Target::Host(_) => None,
        };
        let inside = |nets: &[ipnet::IpNet]| {
            address.is_some_and(|address| nets.iter().any(|net| net.contains(&address)))
        };
        (self.include.is_empty() || inside(&self.include)) && !inside(&self.exclude)
    }

    /// An object's targets after the policy. `None` when the object had targets and the
    /// network filters removed every one of them: it then asks for nothing, as if a filter had
    /// not selected it.
    pub fn apply(&self, targets: Vec<crate::source::Target>) -> Option<Vec<crate::source::Target>> {
        let targets = if !self.defaults.is_empty() && (self.force_defaults || targets.is_empty()) {
            self.defaults.clone()
        } else {
            targets
        };
        if targets.is_empty() || (self.include.is_empty() && self.exclude.is_empty()) {
            return Some(targets);
        }
        let kept: Vec<_> = targets.into_iter().filter(|t| self.admits(t)).collect();
        (!kept.is_empty()).then_some(kept)
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
        for (bad, problem) in [
            ("a=b,,c", SelectorProblem::EmptyRequirement),
            ("env in (a", SelectorProblem::UnbalancedOpen),
            ("env)", SelectorProblem::UnbalancedClose),
            (
                "env between (a)",
                SelectorProblem::UnknownOperator {
                    operator: "between".into(),
                    requirement: "env between (a)".into(),
                },
            ),
            ("env in a", SelectorProblem::NoSet("env in a".into())),
            ("a=b c", SelectorProblem::Value("b c".into())),
            ("=x", SelectorProblem::Key(String::new())),
        ] {
            let error = LabelSelector::parse(bad).expect_err(bad);
            assert_eq!(error.problem, problem, "{bad}");
        }
        assert_eq!(
            LabelSelector::parse("env between (a)")
                .unwrap_err()
                .to_string(),
            "invalid selector \"env between (a)\": unknown operator \"between\" in \"env between (a)\" (use =, ==, !=, in, notin, !)"
        );
    }

    fn targets(values: &[&str]) -> Vec<crate::source::Target> {
        values
            .iter()
            .map(|v| crate::source::Target::parse(v).unwrap())
            .collect()
    }

    fn strings(values: &[&str]) -> Vec<String> {
        values.iter().map(|v| v.to_string()).collect()
    }

    #[test]
    fn target_net_filters_follow_external_dns() {
        let policy = TargetPolicy::new(
            &strings(&["192.0.2.0/24", "2001:db8::/32"]),
            &strings(&["192.0.2.128/25"]),
            &[],
            false,
        )
        .unwrap();
        let all = targets(&[
            "192.0.2.10",
            "192.0.2.200",
            "198.51.100.1",
            "2001:db8::1",
            "2001:db9::1",
        ]);
        assert_eq!(
            policy.apply(all),
            Some(targets(&["192.0.2.10", "2001:db8::1"]))
        );
        // With an include list, host names never match (they have no address).
        assert_eq!(policy.apply(targets(&["lb.example.net"])), None);
        assert_eq!(policy.apply(targets(&["198.51.100.1"])), None);
        // Exclusions alone keep host names and everything outside them.
        let exclude_only =
            TargetPolicy::new(&[], &strings(&["10.0.0.0/8", "fd00::/8"]), &[], false).unwrap();
        assert_eq!(
            exclude_only.apply(targets(&[
                "10.1.2.3",
                "fd12::1",
                "lb.example.net",
                "192.0.2.1"
            ])),
            Some(targets(&["lb.example.net", "192.0.2.1"]))
        );
        // No targets stays no targets (the load balancer has no address yet).
        assert_eq!(policy.apply(Vec::new()), Some(Vec::new()));
        // Host bits in a CIDR are ignored, as Go's ParseCIDR does.
        let loose = TargetPolicy::new(&strings(&["192.0.2.77/24"]), &[], &[], false).unwrap();
        assert!(loose.admits(&targets(&["192.0.2.1"])[0]));
    }

    #[test]
    fn default_targets_fill_empty_objects_or_replace_with_force() {
        let policy =
            TargetPolicy::new(&[], &[], &strings(&["192.0.2.1", "2001:db8::1"]), false).unwrap();
        assert_eq!(
            policy.apply(Vec::new()),
            Some(targets(&["192.0.2.1", "2001:db8::1"]))
        );
        assert_eq!(
            policy.apply(targets(&["198.51.100.7"])),
            Some(targets(&["198.51.100.7"]))
        );
        let forced = TargetPolicy::new(&[], &[], &strings(&["lb.example.net"]), true).unwrap();
        assert_eq!(
            forced.apply(targets(&["198.51.100.7"])),
            Some(targets(&["lb.example.net"]))
        );
        // Defaults pass through the network filters too.
        let filtered = TargetPolicy::new(
            &strings(&["10.0.0.0/8"]),
            &[],
            &strings(&["192.0.2.1", "10.0.0.1"]),
            false,
        )
        .unwrap();
        assert_eq!(filtered.apply(Vec::new()), Some(targets(&["10.0.0.1"])));
    }

    #[test]
    fn target_policy_refuses_bad_values_naming_the_flag() {
        let error = TargetPolicy::new(&strings(&["10.0.0.1"]), &[], &[], false).unwrap_err();
        assert_eq!(error.flag, "--target-net-filter");
        assert!(
            error
                .to_string()
                .contains("\"10.0.0.1\" is not a network in CIDR notation")
        );
        let error = TargetPolicy::new(&[], &strings(&["nope"]), &[], false).unwrap_err();
        assert_eq!(error.flag, "--exclude-target-net");
        let error = TargetPolicy::new(&[], &[], &strings(&["300.1.1.1"]), false).unwrap_err();
        assert_eq!(error.flag, "--default-targets");
        let error =
            TargetPolicy::new(&[], &[], &strings(&["a.example", "b.example"]), false).unwrap_err();
        assert!(error.reason.contains("more than one host name"));
        let error = TargetPolicy::new(&[], &[], &[], true).unwrap_err();
        assert_eq!(error.flag, "--force-default-targets");
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
