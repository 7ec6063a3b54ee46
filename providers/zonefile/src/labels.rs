//! Labels that DNS allows but hickory's zone parser refuses, and the aliases they are parsed
//! under.
//!
//! hickory-proto 0.26 reads every name of a zone file through IDNA (UTS #46 with the STD3
//! rules), which refuses `_` anywhere but at the start of a label. Such labels are common:
//! external-dns names the ownership marker of a record whose first label starts with `_` by
//! putting the type in front of that label (`srv-_sip._tcp.example.com`), and vendors ask for
//! names like `_spf.my_domain.example.com`. A label that starts with `_` is taken by the parser
//! as plain ASCII, so each refused label is written for it as an alias `_zsN-<index>` (with `N`
//! chosen so that no alias occurs in the text), and the parsed records get the original label
//! back in every name ([`LabelAliases::restore`]).

use std::collections::HashMap;

use hickory_proto::rr::domain::Label;
use hickory_proto::rr::rdata::{ANAME, CNAME, HTTPS, NS, PTR};
use hickory_proto::rr::{Name, RData, Record};

/// Longest label DNS allows.
const MAX_LABEL: usize = 63;

/// The aliases of one zone file's refused labels.
#[derive(Debug, Default)]
pub(crate) struct LabelAliases {
    /// Start of every alias, lower case; absent from the text the aliases were made for.
    prefix: String,
    /// The original labels, by alias number.
    labels: Vec<Vec<u8>>,
    /// Alias number by lower-case label: names compare without case, so `A_b` and `a_b` are
    /// one label and must share an alias to land in one RRset.
    numbers: HashMap<Vec<u8>, usize>,
}

impl LabelAliases {
    /// Aliases for names of `text`, whose prefix occurs nowhere in it.
    pub(crate) fn for_text(text: &str) -> Self {
        let lower = text.to_ascii_lowercase();
        let prefix = (0..)
            .map(|n| format!("_zs{n}-"))
            .find(|prefix| !lower.contains(prefix.as_str()))
            .unwrap_or_default();
        Self {
            prefix,
            ..Self::default()
        }
    }

    /// `name`, master-file text with only `\X` escapes, with every label hickory would refuse
    /// replaced by its alias. Labels that are not ASCII or too long are left for hickory to
    /// judge (and refuse with its own message).
    pub(crate) fn name_text(&mut self, name: &str) -> String {
        if plainly_valid(name) {
            return name.to_string();
        }
        let mut text = String::with_capacity(name.len());
        let mut raw = String::new();
        let mut decoded = Vec::new();
        let mut chars = name.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => {
                    raw.push('\\');
                    if let Some(escaped) = chars.next() {
                        raw.push(escaped);
                        let mut buffer = [0; 4];
                        decoded.extend_from_slice(escaped.encode_utf8(&mut buffer).as_bytes());
                    }
                }
                '.' => {
                    self.push_label(&mut text, &raw, &decoded);
                    text.push('.');
                    raw.clear();
                    decoded.clear();
                }
                c => {
                    raw.push(c);
                    let mut buffer = [0; 4];
                    decoded.extend_from_slice(c.encode_utf8(&mut buffer).as_bytes());
                }
            }
        }
        self.push_label(&mut text, &raw, &decoded);
        text
    }

    fn push_label(&mut self, text: &mut String, raw: &str, decoded: &[u8]) {
        if !needs_alias(decoded) {
            text.push_str(raw);
            return;
        }
        let next = self.labels.len();
        let number = *self
            .numbers
            .entry(decoded.to_ascii_lowercase())
            .or_insert(next);
        if number == next {
            self.labels.push(decoded.to_vec());
        }
        text.push_str(&self.prefix);
        text.push_str(&number.to_string());
    }

    /// The original label of an alias, if `label` is one.
    fn original(&self, label: &[u8]) -> Option<&[u8]> {
        let number = label.strip_prefix(self.prefix.as_bytes())?;
        let number: usize = std::str::from_utf8(number).ok()?.parse().ok()?;
        self.labels.get(number).map(Vec::as_slice)
    }

    /// `name` with its aliases replaced by the original labels.
    ///
    /// Fails when the original name is longer than DNS allows (an alias can be shorter than
    /// its label).
    pub(crate) fn restore_name(&self, name: &Name) -> Result<Name, String> {
        if self.labels.is_empty() || !name.iter().any(|label| self.original(label).is_some()) {
            return Ok(name.clone());
        }
        let labels = name
            .iter()
            .map(|label| self.original(label).unwrap_or(label));
        let mut restored = Name::from_labels(labels).map_err(|e| e.to_string())?;
        restored.set_fqdn(name.is_fqdn());
        Ok(restored)
    }

    /// `record` with the original labels back in its owner and in every name of its data.
    ///
    /// Fails when a name is longer than DNS allows.
    pub(crate) fn restore(&self, mut record: Record) -> Result<Record, String> {
        if self.labels.is_empty() {
            return Ok(record);
        }
        record.name = self.restore_name(&record.name)?;
        let name = |name: &mut Name| -> Result<(), String> {
            *name = self.restore_name(name)?;
            Ok(())
        };
        match &mut record.data {
            RData::CNAME(CNAME(target))
            | RData::NS(NS(target))
            | RData::PTR(PTR(target))
            | RData::ANAME(ANAME(target)) => name(target)?,
            RData::MX(mx) => name(&mut mx.exchange)?,
            RData::SRV(srv) => name(&mut srv.target)?,
            RData::SOA(soa) => {
                name(&mut soa.mname)?;
                name(&mut soa.rname)?;
            }
            RData::NAPTR(naptr) => name(&mut naptr.replacement)?,
            RData::SVCB(svcb) | RData::HTTPS(HTTPS(svcb)) => name(&mut svcb.target_name)?,
            _ => {}
        }
        Ok(record)
    }
}

/// Whether hickory's parser refuses a label DNS allows: ASCII, 1 to 63 bytes, not the wildcard.
/// True for a name every label of which hickory takes as it is: letters, digits and inner
/// hyphens (not two in a row), or `*`. Anything else is checked label by label.
fn plainly_valid(name: &str) -> bool {
    name.split('.').all(|label| {
        label == "*"
            || (label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
                && !label.contains("--"))
    })
}

fn needs_alias(label: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(label) else {
        return false;
    };
    !label.is_empty()
        && label.len() <= MAX_LABEL
        && text.is_ascii()
        && text != "*"
        && Label::from_utf8(text).is_err()
}

/// The indexes of the RDATA fields of `record_type` (upper case) that are domain names.
pub(crate) fn is_name_field(record_type: &str, index: usize) -> bool {
    match record_type {
        "CNAME" | "NS" | "PTR" | "ANAME" => index == 0,
        "SOA" => index <= 1,
        "MX" | "SVCB" | "HTTPS" => index == 1,
        "SRV" => index == 3,
        "NAPTR" => index == 5,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_refused_labels_get_aliases() {
        let mut aliases = LabelAliases::for_text("");
        assert_eq!(
            aliases.name_text("srv-_sip._tcp.example.com."),
            "_zs0-0._tcp.example.com."
        );
        assert_eq!(aliases.name_text("a_b.SRV-_sip"), "_zs0-1._zs0-0");
        assert_eq!(aliases.name_text("www.example.com."), "www.example.com.");
        assert_eq!(aliases.name_text("a\\.b.c"), "a\\.b.c");
        assert_eq!(aliases.name_text("a\\/b"), "_zs0-2");
        // A leading hyphen, written plain or escaped, is one label with one alias.
        assert_eq!(
            aliases.name_text("-old.example.com."),
            "_zs0-3.example.com."
        );
        assert_eq!(aliases.name_text("\\-old"), "_zs0-3");
        assert_eq!(
            aliases.name_text("xn--bcher-kva.example"),
            "xn--bcher-kva.example"
        );
        assert_eq!(aliases.name_text("*.example.com."), "*.example.com.");
    }

    #[test]
    fn the_prefix_is_absent_from_the_text() {
        let mut aliases = LabelAliases::for_text("_ZS0-1 A 192.0.2.1\n_zs1-x TXT \"\"");
        assert_eq!(aliases.name_text("a_b"), "_zs2-0");
    }

    #[test]
    fn names_are_restored() {
        let mut aliases = LabelAliases::for_text("");
        let text = aliases.name_text("srv-_sip._tcp.example.com.");
        let parsed = Name::parse(&text, None).expect("hickory reads the alias");
        let restored = aliases.restore_name(&parsed).expect("short enough");
        assert_eq!(
            restored.iter().collect::<Vec<_>>(),
            [&b"srv-_sip"[..], b"_tcp", b"example", b"com"]
        );
        assert!(restored.is_fqdn());
    }
}
