//! DNS names as zonesync compares them: lower-case, ASCII (IDN as punycode), no trailing dot.

use std::fmt;
use std::sync::Arc;

use serde::{Serialize, Serializer};

/// Longest name, in presentation form without the trailing dot, that DNS can carry.
pub const MAX_NAME_LEN: usize = 253;
/// Longest label DNS can carry.
pub const MAX_LABEL_LEN: usize = 63;

/// Why a string is not a usable DNS name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// The name is empty (or only a dot).
    #[error("name is empty")]
    Empty,
    /// The name is longer than 253 bytes.
    #[error("name is {len} bytes long, DNS allows at most {MAX_NAME_LEN}")]
    TooLong {
        /// Length in bytes, after IDN conversion.
        len: usize,
    },
    /// A label is longer than 63 bytes.
    #[error("label {label:?} is {len} bytes long, DNS allows at most {MAX_LABEL_LEN}")]
    LabelTooLong {
        /// The offending label (after IDN conversion).
        label: String,
        /// Its length in bytes.
        len: usize,
    },
    /// Two dots in a row, or a leading dot.
    #[error("name has an empty label")]
    EmptyLabel,
    /// A character that is not allowed in a host name.
    #[error("character {character:?} is not allowed in a host name")]
    InvalidCharacter {
        /// The first character that was refused.
        character: char,
    },
    /// A label starts or ends with a hyphen.
    #[error("label {label:?} starts or ends with a hyphen")]
    HyphenAtLabelEdge {
        /// The offending label.
        label: String,
    },
    /// `*` anywhere but as the whole left-most label.
    #[error("a wildcard '*' is only allowed as the whole left-most label")]
    MisplacedWildcard,
    /// The internationalised name could not be converted to punycode.
    #[error("internationalised name cannot be converted to punycode")]
    InvalidIdn,
}

/// A normalised DNS name: lower-case, ASCII (IDN labels as punycode), without trailing dot.
///
/// Cheap to clone (shared string). Names from users go through [`DnsName::parse`], which
/// validates them as host names; names read back from a DNS provider go through
/// [`DnsName::from_provider`], which only normalises, because a zone may hold anything.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DnsName(Arc<str>);

impl DnsName {
    /// Parses a host name given by a user (annotation, spec, flag).
    ///
    /// Accepts a trailing dot, upper case and internationalised names. Fails when the name is
    /// empty, too long, has a label over 63 bytes, a character other than letters, digits, `-`
    /// and `_`, a label starting or ending with `-`, or a `*` that is not the whole left-most label.
    pub fn parse(input: &str) -> Result<Self, NameError> {
        let trimmed = input.trim();
        let trimmed = trimmed.strip_suffix('.').unwrap_or(trimmed);
        if trimmed.is_empty() {
            return Err(NameError::Empty);
        }
        let ascii = if trimmed.is_ascii() {
            trimmed.to_ascii_lowercase()
        } else {
            // Reject characters idna would silently map away (spaces, control characters) first.
            if let Some(character) = trimmed
                .chars()
                .find(|c| c.is_control() || c.is_whitespace())
            {
                return Err(NameError::InvalidCharacter { character });
            }
            idna::domain_to_ascii(trimmed).map_err(|_| NameError::InvalidIdn)?
        };
        validate_host_name(&ascii)?;
        Ok(Self(ascii.into()))
    }

    /// Normalises a name read from a DNS provider or zone file, without host-name validation.
    ///
    /// Lower-cases ASCII letters and drops one trailing dot; never fails.
    pub fn from_provider(input: &str) -> Self {
        let trimmed = input.strip_suffix('.').unwrap_or(input);
        Self(trimmed.to_ascii_lowercase().into())
    }

    /// The name as text, without trailing dot.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name with a trailing dot, as zone files and DNS messages write it.
    pub fn to_fqdn(&self) -> String {
        format!("{}.", self.0)
    }

    /// Labels from left to right.
    pub fn labels(&self) -> impl DoubleEndedIterator<Item = &str> {
        self.0.split('.')
    }

    /// The left-most label.
    pub fn first_label(&self) -> &str {
        self.0.split('.').next().unwrap_or_default()
    }

    /// Everything after the left-most label (empty for a single-label name).
    pub fn parent(&self) -> &str {
        self.0.split_once('.').map(|(_, rest)| rest).unwrap_or("")
    }

    /// True when `self` equals `ancestor` or lies below it on a label boundary
    /// (`a.example.com` is within `example.com`; `aexample.com` is not).
    pub fn is_within(&self, ancestor: &DnsName) -> bool {
        is_within(self.as_str(), ancestor.as_str())
    }

    /// True when the left-most label is `*`.
    pub fn is_wildcard(&self) -> bool {
        self.first_label() == "*"
    }

    /// Number of labels.
    pub fn label_count(&self) -> usize {
        self.0.split('.').count()
    }
}

/// True when `name` equals `ancestor` or lies below it on a label boundary.
pub fn is_within(name: &str, ancestor: &str) -> bool {
    if ancestor.is_empty() {
        return true;
    }
    match name.strip_suffix(ancestor) {
        Some("") => true,
        Some(head) => head.ends_with('.'),
        None => false,
    }
}

fn validate_host_name(name: &str) -> Result<(), NameError> {
    if name.len() > MAX_NAME_LEN {
        return Err(NameError::TooLong { len: name.len() });
    }
    for (index, label) in name.split('.').enumerate() {
        if label.is_empty() {
            return Err(NameError::EmptyLabel);
        }
        if label.len() > MAX_LABEL_LEN {
            return Err(NameError::LabelTooLong {
                label: label.to_string(),
                len: label.len(),
            });
        }
        if label == "*" {
            if index == 0 {
                continue;
            }
            return Err(NameError::MisplacedWildcard);
        }
        if let Some(character) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
        {
            return Err(if character == '*' {
                NameError::MisplacedWildcard
            } else {
                NameError::InvalidCharacter { character }
            });
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(NameError::HyphenAtLabelEdge {
                label: label.to_string(),
            });
        }
    }
    Ok(())
}

impl fmt::Display for DnsName {
    /// The name without trailing dot; the root (a zone holding every name) as `.`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str(".");
        }
        f.write_str(&self.0)
    }
}

impl fmt::Debug for DnsName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", &*self.0)
    }
}

impl Serialize for DnsName {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl AsRef<str> for DnsName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_case_and_trailing_dot() {
        let name = DnsName::parse("WWW.Example.COM.").unwrap();
        assert_eq!(name.as_str(), "www.example.com");
        assert_eq!(name.to_fqdn(), "www.example.com.");
    }

    #[test]
    fn converts_idn_to_punycode() {
        let name = DnsName::parse("bücher.example").unwrap();
        assert_eq!(name.as_str(), "xn--bcher-kva.example");
    }

    #[test]
    fn accepts_wildcard_only_as_first_label() {
        assert!(DnsName::parse("*.example.com").unwrap().is_wildcard());
        assert_eq!(
            DnsName::parse("a.*.example.com"),
            Err(NameError::MisplacedWildcard)
        );
        assert_eq!(
            DnsName::parse("a*.example.com"),
            Err(NameError::MisplacedWildcard)
        );
    }

    #[test]
    fn rejects_bad_characters_and_lengths() {
        assert_eq!(
            DnsName::parse("bad!host.example.com"),
            Err(NameError::InvalidCharacter { character: '!' })
        );
        assert_eq!(
            DnsName::parse("a b.example.com"),
            Err(NameError::InvalidCharacter { character: ' ' })
        );
        let long_label = "a".repeat(64);
        assert!(matches!(
            DnsName::parse(&format!("{long_label}.example.com")),
            Err(NameError::LabelTooLong { len: 64, .. })
        ));
        let long_name = ["abcdefghi"; 26].join(".");
        assert!(matches!(
            DnsName::parse(&long_name),
            Err(NameError::TooLong { len: 259 })
        ));
        assert_eq!(DnsName::parse(""), Err(NameError::Empty));
        assert_eq!(DnsName::parse("a..b"), Err(NameError::EmptyLabel));
        assert!(matches!(
            DnsName::parse("-a.example.com"),
            Err(NameError::HyphenAtLabelEdge { .. })
        ));
        assert!(matches!(
            DnsName::parse("ex\u{7}ample.ü"),
            Err(NameError::InvalidCharacter { .. })
        ));
    }

    #[test]
    fn within_respects_label_boundaries() {
        let zone = DnsName::parse("example.com").unwrap();
        assert!(DnsName::parse("example.com").unwrap().is_within(&zone));
        assert!(DnsName::parse("a.b.example.com").unwrap().is_within(&zone));
        assert!(!DnsName::parse("aexample.com").unwrap().is_within(&zone));
        assert!(!DnsName::parse("example.org").unwrap().is_within(&zone));
    }

    #[test]
    fn splits_first_label_and_parent() {
        let name = DnsName::parse("www.example.com").unwrap();
        assert_eq!(name.first_label(), "www");
        assert_eq!(name.parent(), "example.com");
        assert_eq!(DnsName::parse("com").unwrap().parent(), "");
    }
}
