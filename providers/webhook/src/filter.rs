//! The provider's domain filter, negotiated on `GET /`, and how it maps onto zonesync's zones.
//!
//! The protocol has no zones. zonesync makes **one zone per included domain** (`include`
//! entries, a leading dot removed), so plan output, safety thresholds and metrics are per
//! domain as the provider announces them; a record belongs to the longest of them. A filter
//! without included domains (empty, or regular expressions) gives one zone covering every name,
//! shown as `.`. Names the filter refuses (`exclude`, `regexExclude`, a `regexInclude` that does
//! not match) are never planned: the filter is zonesync's [`NameScope`] on top of
//! `--domain-filter`/`--exclude-domains`.

use regex::Regex;
use serde_json::{Map, Value};
use zonesync_core::{DnsName, NameError, NameScope, Zone};

use crate::wire::{WireError, string_field, string_list_field};

/// Why a provider's domain filter cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum FilterError {
    /// The body of `GET /` is not a JSON object (nor `null`).
    #[error("the domain filter is not a JSON object")]
    NotAnObject,
    /// A field of the filter has another JSON type than the protocol's.
    #[error(transparent)]
    Field(#[from] WireError),
    /// Domain lists and regular expressions in one filter.
    #[error("the domain filter has both domain lists and regular expressions")]
    Mixed,
    /// A regular expression that does not compile.
    #[error("{key} {pattern:?} is not a regular expression: {source}")]
    Regex {
        /// `regexInclude` or `regexExclude`.
        key: &'static str,
        /// The pattern.
        pattern: String,
        /// Why it does not compile.
        #[source]
        source: regex::Error,
    },
    /// An included domain that is not a domain name.
    #[error(
        "the provider's domain filter includes {domain:?}, which is not a domain name: {source}"
    )]
    Domain {
        /// The domain as the provider sent it.
        domain: String,
        /// Why it is not a name.
        #[source]
        source: NameError,
    },
}

/// Zone id of the single zone of a filter without included domains.
pub const WHOLE_NAMESPACE_ZONE_ID: &str = ".";

/// A negotiated domain filter, matched the way external-dns matches it.
#[derive(Clone, Debug)]
pub enum NegotiatedFilter {
    /// Domain lists: `example.com` matches it and every name below; `.example.com` only names
    /// below it. Empty `include` matches everything.
    Lists {
        /// Included domains, lower-case, without trailing dot.
        include: Vec<String>,
        /// Excluded domains.
        exclude: Vec<String>,
    },
    /// Regular expressions. As in external-dns, when `exclude` is set it alone decides.
    Regex {
        /// `regexInclude`.
        include: Option<Regex>,
        /// `regexExclude`.
        exclude: Option<Regex>,
    },
}

impl NegotiatedFilter {
    /// Reads the body of `GET /` (`{"include","exclude"}` or `{"regexInclude","regexExclude"}`,
    /// keys case-insensitive; `{}` or `null` = no filter).
    ///
    /// Fails when the body is not an object of that shape, mixes lists and regular expressions,
    /// or holds a regular expression that does not compile.
    pub fn from_json(value: &Value) -> Result<Self, FilterError> {
        let empty = Map::new();
        let object = match value {
            Value::Object(object) => object,
            Value::Null => &empty,
            _ => return Err(FilterError::NotAnObject),
        };
        let include = prepare(string_list_field(object, "include")?);
        let exclude = prepare(string_list_field(object, "exclude")?);
        let regex_include = string_field(object, "regexInclude")?;
        let regex_exclude = string_field(object, "regexExclude")?;
        if regex_include.is_empty() && regex_exclude.is_empty() {
            return Ok(Self::Lists { include, exclude });
        }
        if !include.is_empty() || !exclude.is_empty() {
            return Err(FilterError::Mixed);
        }
        let compile = |key: &'static str, pattern: &str| {
            if pattern.is_empty() {
                return Ok(None);
            }
            Regex::new(pattern)
                .map(Some)
                .map_err(|source| FilterError::Regex {
                    key,
                    pattern: pattern.to_string(),
                    source,
                })
        };
        Ok(Self::Regex {
            include: compile("regexInclude", &regex_include)?,
            exclude: compile("regexExclude", &regex_exclude)?,
        })
    }

    /// True when `name` is inside the filter.
    pub fn matches(&self, name: &str) -> bool {
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        match self {
            Self::Lists { include, exclude } => {
                match_lists(include, &name, true) && !match_lists(exclude, &name, false)
            }
            Self::Regex { include, exclude } => match (include, exclude) {
                (_, Some(exclude)) => !exclude.is_match(&name),
                (Some(include), None) => include.is_match(&name),
                (None, None) => true,
            },
        }
    }

    /// The zones: one per included domain, or one covering every name.
    ///
    /// Fails when an included domain is not a domain name.
    pub fn zones(&self) -> Result<Vec<Zone>, FilterError> {
        let mut zones: Vec<Zone> = Vec::new();
        if let Self::Lists { include, .. } = self {
            for domain in include {
                let apex = domain.trim_start_matches('.');
                let name = DnsName::parse(apex).map_err(|source| FilterError::Domain {
                    domain: domain.clone(),
                    source,
                })?;
                if !zones.iter().any(|zone| zone.name == name) {
                    zones.push(Zone::new(name));
                }
            }
        }
        if zones.is_empty() {
            zones.push(Zone::new(DnsName::from_provider("")).with_id(WHOLE_NAMESPACE_ZONE_ID));
        }
        zones.sort();
        Ok(zones)
    }

    /// A short description for logs.
    pub fn describe(&self) -> String {
        match self {
            Self::Lists { include, exclude } => {
                format!("include {include:?}, exclude {exclude:?}")
            }
            Self::Regex { include, exclude } => format!(
                "regexInclude {:?}, regexExclude {:?}",
                include.as_ref().map(Regex::as_str).unwrap_or(""),
                exclude.as_ref().map(Regex::as_str).unwrap_or("")
            ),
        }
    }
}

impl NameScope for NegotiatedFilter {
    fn contains(&self, name: &DnsName) -> bool {
        self.matches(name.as_str())
    }
}

/// external-dns's `prepareFilters`: trimmed, lower-case, no trailing dot, empty ones dropped.
fn prepare(domains: Vec<String>) -> Vec<String> {
    domains
        .into_iter()
        .map(|d| d.trim().trim_end_matches('.').to_ascii_lowercase())
        .filter(|d| !d.is_empty())
        .collect()
}

/// external-dns's `matchFilter`.
fn match_lists(filters: &[String], name: &str, empty: bool) -> bool {
    if filters.is_empty() {
        return empty;
    }
    filters.iter().any(|filter| {
        if filter.starts_with('.') {
            name.ends_with(filter.as_str())
        } else if name.matches('.').count() == filter.matches('.').count() {
            name == filter
        } else {
            name.ends_with(&format!(".{filter}"))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lists_match_like_external_dns() {
        let filter = NegotiatedFilter::from_json(&json!({
            "include": ["Example.com.", ".sub.example.org"], "exclude": ["private.example.com"]
        }))
        .unwrap();
        assert!(filter.matches("example.com"));
        assert!(filter.matches("www.example.com"));
        assert!(!filter.matches("wwwexample.com"));
        assert!(!filter.matches("x.private.example.com"));
        assert!(!filter.matches("sub.example.org"));
        assert!(filter.matches("a.sub.example.org"));
        assert!(!filter.matches("example.net"));
        let names: Vec<String> = filter
            .zones()
            .unwrap()
            .iter()
            .map(|z| z.name.to_string())
            .collect();
        assert_eq!(names, ["example.com", "sub.example.org"]);
    }

    #[test]
    fn regex_exclusion_alone_decides_as_in_external_dns() {
        let filter = NegotiatedFilter::from_json(&json!({
            "regexInclude": "example\\.com$", "regexExclude": "^internal\\."
        }))
        .unwrap();
        assert!(!filter.matches("internal.example.com"));
        assert!(filter.matches("www.example.com"));
        assert!(
            filter.matches("www.example.org"),
            "regexExclude takes precedence"
        );
        let only_include =
            NegotiatedFilter::from_json(&json!({"RegexInclude": "example\\.com$"})).unwrap();
        assert!(!only_include.matches("www.example.org"));
        let zones = only_include.zones().unwrap();
        assert_eq!(zones.len(), 1);
        assert_eq!(zones[0].id, ".");
        assert_eq!(zones[0].name.to_string(), ".");
        assert!(zones[0].contains(&DnsName::parse("anything.example.net").unwrap()));
    }

    #[test]
    fn bad_filters_are_errors() {
        assert!(matches!(
            NegotiatedFilter::from_json(&json!({"include": ["a.com"], "regexInclude": "x"})),
            Err(FilterError::Mixed)
        ));
        let error = NegotiatedFilter::from_json(&json!({"regexInclude": "("})).unwrap_err();
        assert!(
            error.to_string().starts_with("regexInclude \"(\""),
            "{error}"
        );
        let error = NegotiatedFilter::from_json(&json!({"include": "a.com"})).unwrap_err();
        assert_eq!(error.to_string(), "include is a string, not a list");
        assert!(matches!(
            NegotiatedFilter::from_json(&json!([])),
            Err(FilterError::NotAnObject)
        ));
        let none = NegotiatedFilter::from_json(&json!({})).unwrap();
        assert!(none.matches("anything.example"));
    }
}
