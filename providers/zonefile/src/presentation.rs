//! Text forms of names, character-strings and RDATA: what goes into a zone file and what an
//! [`Endpoint`](zonesync_core::Endpoint) target holds.
//!
//! hickory's `Display` is not master-file syntax for every type (TXT loses its quotes, CAA and
//! NAPTR do not escape quotes or backslashes, HINFO is unquoted, CERT uses mnemonics its own
//! parser refuses, SVCB adds trailing commas and `no-default-alpn=`, and names come out as
//! Unicode instead of punycode), so every type that carries names or strings is formatted here.

use std::fmt::Write as _;

use hickory_proto::rr::rdata::svcb::{SVCB, SvcParamValue};
use hickory_proto::rr::{Name, RData, RecordType as HickoryType};
use zonesync_core::RecordType;

/// Longest character-string DNS can carry.
pub(crate) const MAX_CHARACTER_STRING: usize = 255;

/// `name` as an absolute master-file name with its trailing dot, ASCII (punycode) and escaped.
pub(crate) fn name_text(name: &Name) -> String {
    if name.is_root() {
        return ".".to_string();
    }
    let mut text = String::new();
    for label in name.iter() {
        push_label(&mut text, label);
        text.push('.');
    }
    text
}

/// `name` relative to `origin`: `@` for the origin itself, the leading labels for a name below
/// it, the absolute form otherwise.
pub(crate) fn relative_name_text(name: &Name, origin: &Name) -> String {
    if !origin.zone_of(name) {
        return name_text(name);
    }
    // Not `num_labels()`: it leaves out a leading `*`, as RRSIG label counts do.
    let own_labels = name.iter().count() - origin.iter().count();
    if own_labels == 0 {
        return "@".to_string();
    }
    let mut text = String::new();
    for (index, label) in name.iter().take(own_labels).enumerate() {
        if index > 0 {
            text.push('.');
        }
        push_label(&mut text, label);
    }
    text
}

fn push_label(text: &mut String, label: &[u8]) {
    if label == b"*" {
        text.push('*');
        return;
    }
    for &byte in label {
        match byte {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' => text.push(char::from(byte)),
            // Printable ASCII is escaped with a backslash; `;`, `(` and `)` too, although the
            // reader refuses them in names (hickory's lexer splits tokens there).
            0x21..=0x7e => {
                text.push('\\');
                text.push(char::from(byte));
            }
            _ => {
                let _ = write!(text, "\\{byte:03}");
            }
        }
    }
}

/// A `<character-string>` in quotes: `"` and `\` escaped with a backslash, control characters
/// as `\DDD`, everything else (including non-ASCII text) as is.
pub(crate) fn character_string(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(bytes.len() + 2);
    text.push('"');
    match std::str::from_utf8(bytes) {
        Ok(value) => {
            for character in value.chars() {
                match character {
                    '"' => text.push_str("\\\""),
                    '\\' => text.push_str("\\\\"),
                    control if control.is_control() => {
                        let mut buffer = [0; 4];
                        for byte in control.encode_utf8(&mut buffer).bytes() {
                            let _ = write!(text, "\\{byte:03}");
                        }
                    }
                    printable => text.push(printable),
                }
            }
        }
        Err(_) => {
            for &byte in bytes {
                match byte {
                    b'"' => text.push_str("\\\""),
                    b'\\' => text.push_str("\\\\"),
                    0x20..=0x7e => text.push(char::from(byte)),
                    _ => {
                        let _ = write!(text, "\\{byte:03}");
                    }
                }
            }
        }
    }
    text.push('"');
    text
}

/// Splits `bytes` into pieces of at most 255 bytes, never inside a UTF-8 character when the
/// bytes are text.
pub(crate) fn split_character_strings(bytes: &[u8]) -> Vec<&[u8]> {
    if bytes.is_empty() {
        return vec![bytes];
    }
    let text = std::str::from_utf8(bytes).ok();
    let mut pieces = Vec::new();
    let mut start = 0;
    while start < bytes.len() {
        let mut end = (start + MAX_CHARACTER_STRING).min(bytes.len());
        if let Some(text) = text {
            while !text.is_char_boundary(end) {
                end -= 1;
            }
        }
        pieces.push(&bytes[start..end]);
        start = end;
    }
    pieces
}

/// The RDATA of a record as master-file text, with absolute names.
pub(crate) fn rdata_text(rdata: &RData) -> String {
    match rdata {
        RData::TXT(txt) => txt
            .txt_data
            .iter()
            .flat_map(|data| split_character_strings(data))
            .map(character_string)
            .collect::<Vec<_>>()
            .join(" "),
        other => common_text(other),
    }
}

/// The target of an endpoint for this RDATA: the character-strings joined for TXT, the
/// master-file text for every other type (names absolute, normalised later by `Targets`).
pub(crate) fn target_text(rdata: &RData) -> String {
    match rdata {
        RData::TXT(txt) => {
            let joined: Vec<u8> = txt
                .txt_data
                .iter()
                .flat_map(|d| d.iter().copied())
                .collect();
            String::from_utf8_lossy(&joined).into_owned()
        }
        other => common_text(other),
    }
}

fn common_text(rdata: &RData) -> String {
    match rdata {
        RData::CNAME(name) => name_text(&name.0),
        RData::NS(name) => name_text(&name.0),
        RData::PTR(name) => name_text(&name.0),
        RData::ANAME(name) => name_text(&name.0),
        RData::MX(mx) => format!("{} {}", mx.preference, name_text(&mx.exchange)),
        RData::SRV(srv) => format!(
            "{} {} {} {}",
            srv.priority,
            srv.weight,
            srv.port,
            name_text(&srv.target)
        ),
        RData::SOA(soa) => format!(
            "{} {} {} {} {} {} {}",
            name_text(&soa.mname),
            name_text(&soa.rname),
            soa.serial,
            soa.refresh,
            soa.retry,
            soa.expire,
            soa.minimum
        ),
        RData::CAA(caa) => format!(
            "{} {} {}",
            caa.flags(),
            caa.tag,
            character_string(&caa.value)
        ),
        RData::HINFO(hinfo) => format!(
            "{} {}",
            character_string(&hinfo.cpu),
            character_string(&hinfo.os)
        ),
        RData::NAPTR(naptr) => format!(
            "{} {} {} {} {} {}",
            naptr.order,
            naptr.preference,
            character_string(&naptr.flags),
            character_string(&naptr.services),
            character_string(&naptr.regexp),
            name_text(&naptr.replacement)
        ),
        RData::CERT(cert) => format!(
            "{} {} {} {}",
            u16::from(cert.cert_type),
            cert.key_tag,
            u8::from(cert.algorithm),
            cert.cert_base64()
        ),
        RData::SVCB(svcb) => svcb_text(svcb),
        RData::HTTPS(https) => svcb_text(&https.0),
        // A, AAAA, SSHFP, TLSA, SMIMEA, OPENPGPKEY, CSYNC: hickory's form reads back as is.
        other => other.to_string(),
    }
}

fn svcb_text(svcb: &SVCB) -> String {
    let mut text = format!("{} {}", svcb.svc_priority, name_text(&svcb.target_name));
    // In key order, as on the wire (RFC 9460 §2.2), so equal RDATA has one text form.
    let mut params: Vec<_> = svcb.svc_params.iter().collect();
    params.sort_by_key(|(key, _)| u16::from(*key));
    for (key, value) in params {
        text.push(' ');
        let _ = write!(text, "{key}");
        match value {
            SvcParamValue::Mandatory(keys) => {
                let keys: Vec<String> = keys.0.iter().map(ToString::to_string).collect();
                let _ = write!(text, "={}", keys.join(","));
            }
            SvcParamValue::Alpn(alpn) => {
                let ids: Vec<String> = alpn
                    .0
                    .iter()
                    .map(|id| id.replace('\\', "\\\\").replace(',', "\\,"))
                    .collect();
                let _ = write!(text, "={}", ids.join(","));
            }
            SvcParamValue::NoDefaultAlpn => {}
            SvcParamValue::Port(port) => {
                let _ = write!(text, "={port}");
            }
            SvcParamValue::Ipv4Hint(hints) => {
                let hints: Vec<String> = hints.0.iter().map(ToString::to_string).collect();
                let _ = write!(text, "={}", hints.join(","));
            }
            SvcParamValue::Ipv6Hint(hints) => {
                let hints: Vec<String> = hints.0.iter().map(ToString::to_string).collect();
                let _ = write!(text, "={}", hints.join(","));
            }
            // Quoted base64, which hickory's SVCB parser unquotes.
            SvcParamValue::EchConfigList(ech) => {
                let _ = write!(text, "={ech}");
            }
            // hickory keeps the raw text of the token, which had no white space.
            SvcParamValue::Unknown(unknown) if !unknown.0.is_empty() => {
                let _ = write!(text, "={}", String::from_utf8_lossy(&unknown.0));
            }
            SvcParamValue::Unknown(_) => {}
        }
    }
    text
}

/// The zonesync record type of a hickory record type (`TYPE<n>` for types hickory has no name for).
pub(crate) fn core_record_type(record_type: HickoryType) -> RecordType {
    let mnemonic = match record_type {
        HickoryType::Unknown(code) => format!("TYPE{code}"),
        known => known.to_string(),
    };
    mnemonic
        .parse()
        .unwrap_or_else(|_| RecordType::Other(mnemonic.into()))
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    fn name(text: &str) -> Name {
        Name::from_str(text).expect("test names are valid")
    }

    #[test]
    fn names_are_ascii_and_escaped() {
        assert_eq!(name_text(&name("www.example.com.")), "www.example.com.");
        assert_eq!(
            name_text(&name("bücher.example.")),
            "xn--bcher-kva.example."
        );
        assert_eq!(name_text(&Name::root()), ".");
        let dotted = Name::from_labels(vec![&b"a.b"[..], b"example", b"com"]).expect("valid");
        assert_eq!(name_text(&dotted), "a\\.b.example.com.");
    }

    #[test]
    fn relative_names() {
        let origin = name("example.com.");
        assert_eq!(relative_name_text(&name("example.com."), &origin), "@");
        assert_eq!(
            relative_name_text(&name("*.apps.example.com."), &origin),
            "*.apps"
        );
        assert_eq!(
            relative_name_text(&name("www.example.net."), &origin),
            "www.example.net."
        );
    }

    #[test]
    fn character_strings_escape_quotes_backslashes_and_controls() {
        assert_eq!(character_string(b"a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(character_string(b"tab\there"), r#""tab\009here""#);
        assert_eq!(character_string("café".as_bytes()), "\"café\"");
        assert_eq!(character_string(&[0xff, b'a']), r#""\255a""#);
    }

    #[test]
    fn long_strings_split_on_character_boundaries() {
        let value = format!("{}é", "a".repeat(254));
        let pieces = split_character_strings(value.as_bytes());
        assert_eq!(pieces.len(), 2);
        assert_eq!(pieces[0].len(), 254);
        assert_eq!(pieces[1], "é".as_bytes());
        assert_eq!(split_character_strings(b""), vec![&b""[..]]);
    }

    #[test]
    fn record_types_map_to_core() {
        assert_eq!(core_record_type(HickoryType::AAAA), RecordType::Aaaa);
        assert_eq!(
            core_record_type(HickoryType::NAPTR),
            RecordType::Other("NAPTR".into())
        );
        assert_eq!(
            core_record_type(HickoryType::Unknown(65534)),
            RecordType::Other("TYPE65534".into())
        );
    }
}
