//! Master-file syntax (RFC 1035 §5.1), tokenised here and rewritten into the subset that
//! hickory's zone parser reads as RFC 1035 means it.
//!
//! hickory-proto 0.26's lexer decodes `\DDD` escapes wrongly (the digits are shifted, not
//! decimal), its name parser reads them as octal, unquoted character-strings keep their
//! backslashes, `@` is refused inside RDATA, directives must be upper case, SVCB and HTTPS
//! targets are read without the origin, names are read through IDNA (which refuses `_` inside
//! a label; see the `labels` module), and CERT keeps only the first token of its base64 data
//! and refuses the type and algorithm mnemonics BIND writes.
//! Any of these would silently change (or refuse) a foreign record when
//! the file is written back, so every entry is re-tokenised here, escapes are decoded once, and
//! the entry is re-emitted on one line in a form hickory cannot misread. What cannot be
//! expressed that way is refused with the line number.

use std::str::FromStr;

use hickory_proto::rr::{DNSClass, Name, Record};
use hickory_proto::serialize::txt::{Parser, parse_ttl};

use crate::labels::{LabelAliases, is_name_field};
use crate::presentation::name_text;

/// A syntax problem, with the line of the entry it is in when known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    /// 1-based line number.
    pub(crate) line: Option<usize>,
    /// What is wrong.
    pub(crate) message: String,
}

impl SyntaxError {
    fn at(line: usize, message: impl Into<String>) -> Self {
        Self {
            line: Some(line),
            message: message.into(),
        }
    }
}

/// A zone file rewritten for hickory's parser, one entry per line.
#[derive(Debug)]
pub(crate) struct Normalised {
    /// The rewritten text.
    pub(crate) text: String,
    /// For each entry, the end offset of its text and the line it started on in the original.
    pub(crate) entries: Vec<(usize, usize)>,
    /// The first `$ORIGIN` of the file, made absolute.
    pub(crate) first_origin: Option<Name>,
    /// The first `$TTL` of the file.
    pub(crate) first_ttl: Option<u32>,
    /// The labels written in `text` as aliases, because hickory's parser refuses them.
    aliases: LabelAliases,
}

impl Normalised {
    /// Parses the rewritten text with hickory, `origin` being the origin before any `$ORIGIN`:
    /// the RRsets, DNSSEC signatures left out, with their names as the file wrote them.
    ///
    /// Fails on what hickory refuses, and on a name that is longer than DNS allows.
    pub(crate) fn parse(&self, origin: Option<&Name>) -> Result<Vec<Vec<Record>>, String> {
        let (_, sets) = Parser::new(self.text.as_str(), None, origin.cloned())
            .parse()
            .map_err(|e| e.to_string())?;
        sets.into_values()
            .map(|set| {
                set.records_without_rrsigs()
                    .map(|record| self.aliases.restore(record.clone()))
                    .collect()
            })
            .collect()
    }

    /// The rewritten text of the first `count` entries.
    pub(crate) fn prefix(&self, count: usize) -> &str {
        let end = match count {
            0 => 0,
            n => self
                .entries
                .get(n - 1)
                .map_or(self.text.len(), |(end, _)| *end),
        };
        &self.text[..end]
    }
}

#[derive(Debug)]
struct Token {
    /// The text as written (empty for quoted strings).
    raw: String,
    /// The value with escapes decoded.
    bytes: Vec<u8>,
    quoted: bool,
}

#[derive(Debug)]
struct Entry {
    line: usize,
    owner_omitted: bool,
    tokens: Vec<Token>,
}

/// Rewrites `input` for hickory's parser; `origin` is the origin before any `$ORIGIN`.
///
/// Fails on unbalanced parentheses or quotes, malformed escapes, `$INCLUDE` and unknown
/// directives, classes other than `IN`, and escapes hickory would misread.
pub(crate) fn normalise(input: &str, origin: Option<&Name>) -> Result<Normalised, SyntaxError> {
    let input = input.strip_prefix('\u{feff}').unwrap_or(input);
    let entries = lex(input)?;
    let mut rewriter = Rewriter {
        origin: origin.cloned(),
        class: DNSClass::IN,
        normalised: Normalised {
            text: String::with_capacity(input.len()),
            entries: Vec::with_capacity(entries.len()),
            first_origin: None,
            first_ttl: None,
            aliases: LabelAliases::for_text(input),
        },
    };
    for entry in &entries {
        rewriter.entry(entry)?;
        let end = rewriter.normalised.text.len();
        rewriter.normalised.entries.push((end, entry.line));
    }
    Ok(rewriter.normalised)
}

fn lex(input: &str) -> Result<Vec<Entry>, SyntaxError> {
    let chars: Vec<char> = input.chars().collect();
    let mut entries = Vec::new();
    let mut current: Option<Entry> = None;
    let mut line = 1;
    let mut line_start = 0;
    let mut open_parens: Vec<usize> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let character = chars[i];
        match character {
            '\n' => {
                line += 1;
                i += 1;
                line_start = i;
                if open_parens.is_empty()
                    && let Some(entry) = current.take()
                    && !entry.tokens.is_empty()
                {
                    entries.push(entry);
                }
                continue;
            }
            ';' => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
                continue;
            }
            c if c.is_whitespace() => {
                i += 1;
                continue;
            }
            _ => {}
        }
        let entry = current.get_or_insert_with(|| Entry {
            line,
            owner_omitted: chars[line_start] != '\n' && chars[line_start].is_whitespace(),
            tokens: Vec::new(),
        });
        match character {
            '(' => {
                open_parens.push(line);
                i += 1;
            }
            ')' => {
                if open_parens.pop().is_none() {
                    return Err(SyntaxError::at(line, "')' without a matching '('"));
                }
                i += 1;
            }
            '"' => {
                let start_line = line;
                i += 1;
                let mut bytes = Vec::new();
                loop {
                    let Some(&c) = chars.get(i) else {
                        return Err(SyntaxError::at(start_line, "unterminated quoted string"));
                    };
                    i += 1;
                    match c {
                        '"' => break,
                        '\\' => {
                            let escaped = escape(&chars, &mut i, line)?;
                            if escaped.text == "\n" {
                                line += 1;
                            }
                            bytes.extend_from_slice(&escaped.bytes);
                        }
                        c => {
                            if c == '\n' {
                                line += 1;
                            }
                            push_char(&mut bytes, c);
                        }
                    }
                }
                entry.tokens.push(Token {
                    raw: String::new(),
                    bytes,
                    quoted: true,
                });
            }
            _ => {
                let mut raw = String::new();
                let mut bytes = Vec::new();
                while let Some(&c) = chars.get(i) {
                    if c.is_whitespace() || matches!(c, ';' | '(' | ')') {
                        break;
                    }
                    i += 1;
                    if c == '\\' {
                        let escaped = escape(&chars, &mut i, line)?;
                        if escaped.text == "\n" {
                            line += 1;
                        }
                        raw.push('\\');
                        raw.push_str(&escaped.text);
                        bytes.extend_from_slice(&escaped.bytes);
                    } else {
                        raw.push(c);
                        push_char(&mut bytes, c);
                    }
                }
                entry.tokens.push(Token {
                    raw,
                    bytes,
                    quoted: false,
                });
            }
        }
    }
    if let Some(&opened) = open_parens.first() {
        return Err(SyntaxError::at(opened, "'(' is never closed"));
    }
    if let Some(entry) = current.take()
        && !entry.tokens.is_empty()
    {
        entries.push(entry);
    }
    Ok(entries)
}

struct Escape {
    /// The escape as written after the backslash (`065`, `"`).
    text: String,
    /// The byte(s) it stands for.
    bytes: Vec<u8>,
}

/// Reads the escape after a backslash at `chars[*i]`: `\DDD` (decimal) or `\X`.
fn escape(chars: &[char], i: &mut usize, line: usize) -> Result<Escape, SyntaxError> {
    let Some(&first) = chars.get(*i) else {
        return Err(SyntaxError::at(line, "backslash at the end of the file"));
    };
    if first.is_ascii_digit() {
        let digits: String = chars.iter().skip(*i).take(3).collect();
        if digits.len() != 3 || !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err(SyntaxError::at(
                line,
                format!("\\{digits} is not a \\DDD escape (three decimal digits)"),
            ));
        }
        let value: u16 = digits.parse().unwrap_or(u16::MAX);
        let byte = u8::try_from(value).map_err(|_| {
            SyntaxError::at(line, format!("\\{digits} is not a byte (at most \\255)"))
        })?;
        *i += 3;
        Ok(Escape {
            text: digits,
            bytes: vec![byte],
        })
    } else {
        *i += 1;
        let mut bytes = Vec::new();
        push_char(&mut bytes, first);
        Ok(Escape {
            text: first.to_string(),
            bytes,
        })
    }
}

fn push_char(bytes: &mut Vec<u8>, c: char) {
    let mut buffer = [0; 4];
    bytes.extend_from_slice(c.encode_utf8(&mut buffer).as_bytes());
}

struct Rewriter {
    origin: Option<Name>,
    class: DNSClass,
    normalised: Normalised,
}

impl Rewriter {
    fn entry(&mut self, entry: &Entry) -> Result<(), SyntaxError> {
        let line = entry.line;
        let first = &entry.tokens[0];
        if !entry.owner_omitted && !first.quoted && first.raw.starts_with('$') {
            return self.directive(entry);
        }
        let (owner, rest) = if entry.owner_omitted {
            (String::new(), &entry.tokens[..])
        } else if first.quoted {
            return Err(SyntaxError::at(
                line,
                "a quoted owner name is not supported",
            ));
        } else if first.raw == "@" {
            ("@".to_string(), &entry.tokens[1..])
        } else {
            let owner = word(first, line)?;
            (
                self.normalised.aliases.name_text(&owner),
                &entry.tokens[1..],
            )
        };

        let mut parts = Vec::with_capacity(rest.len());
        let mut rest = rest.iter();
        let record_type = loop {
            let Some(token) = rest.next() else {
                return Err(SyntaxError::at(line, "record without a type"));
            };
            if token.quoted {
                return Err(SyntaxError::at(
                    line,
                    "expected a TTL, class or type, found a quoted string",
                ));
            }
            if parse_ttl(&token.raw).is_ok() {
                parts.push(token.raw.clone());
                continue;
            }
            let upper = token.raw.to_ascii_uppercase();
            if let Ok(class) = DNSClass::from_str(&upper) {
                self.class = class;
                parts.push(upper);
                continue;
            }
            parts.push(upper.clone());
            break upper;
        };
        if self.class != DNSClass::IN {
            return Err(SyntaxError::at(
                line,
                format!("class {} is not supported, only IN", self.class),
            ));
        }

        let rdata: Vec<&Token> = rest.collect();
        if record_type == "CAA" {
            check_caa(&rdata, line)?;
        }
        let joined_from = match record_type.as_str() {
            // Base64 or hex data that zone files commonly spread over several tokens.
            "CERT" => Some(3),
            "SSHFP" => Some(2),
            "OPENPGPKEY" => Some(0),
            _ => None,
        };
        for (index, token) in rdata.iter().enumerate() {
            if joined_from.is_some_and(|from| index >= from) {
                let text = text_of(token, line)?;
                match parts.last_mut() {
                    Some(last) if joined_from.is_some_and(|from| index > from) => {
                        last.push_str(&text)
                    }
                    _ => parts.push(text),
                }
            } else if let Some(number) = cert_number(&record_type, index, token) {
                parts.push(number.to_string());
            } else if token.quoted || is_character_string(&record_type, index) {
                parts.push(quoted(token, line)?);
            } else if token.raw == "@" {
                let origin = self
                    .origin
                    .as_ref()
                    .ok_or_else(|| SyntaxError::at(line, "'@' used before the origin is known"))?;
                let text = name_text(origin);
                parts.push(self.normalised.aliases.name_text(&text));
            } else if is_name_field(&record_type, index) {
                let mut text = word(token, line)?;
                // hickory reads an SVCB/HTTPS target without the origin: make it absolute here.
                if matches!(record_type.as_str(), "SVCB" | "HTTPS") && !is_absolute(&text) {
                    let origin = self.origin.as_ref().ok_or_else(|| {
                        SyntaxError::at(line, "relative name used before the origin is known")
                    })?;
                    text = format!("{text}.{}", name_text(origin));
                }
                parts.push(self.normalised.aliases.name_text(&text));
            } else {
                let text = word(token, line)?;
                if matches!(record_type.as_str(), "SVCB" | "HTTPS") && index >= 2 {
                    check_service_parameter(&text, line)?;
                }
                parts.push(text);
            }
        }

        let text = &mut self.normalised.text;
        text.push_str(&owner);
        for part in parts {
            text.push(' ');
            text.push_str(&part);
        }
        text.push('\n');
        Ok(())
    }

    fn directive(&mut self, entry: &Entry) -> Result<(), SyntaxError> {
        let line = entry.line;
        let name = entry.tokens[0].raw.to_ascii_uppercase();
        let argument = |what: &str| match &entry.tokens[1..] {
            [argument] if !argument.quoted => Ok(argument),
            _ => Err(SyntaxError::at(
                line,
                format!("{name} takes exactly one {what}"),
            )),
        };
        match name.as_str() {
            "$ORIGIN" => {
                let argument = word(argument("domain name")?, line)?;
                let argument = self.normalised.aliases.name_text(&argument);
                let origin = Name::parse(&argument, self.origin.as_ref())
                    .map_err(|e| e.to_string())
                    .and_then(|origin| self.normalised.aliases.restore_name(&origin))
                    .map_err(|e| SyntaxError::at(line, format!("bad $ORIGIN: {e}")))?;
                if !origin.is_fqdn() {
                    return Err(SyntaxError::at(
                        line,
                        "relative $ORIGIN before any absolute origin",
                    ));
                }
                let text = self.normalised.aliases.name_text(&name_text(&origin));
                self.normalised.first_origin.get_or_insert(origin.clone());
                self.origin = Some(origin);
                self.normalised.text.push_str(&format!("$ORIGIN {text}\n"));
            }
            "$TTL" => {
                let argument = argument("TTL")?;
                let ttl = parse_ttl(&argument.raw)
                    .map_err(|e| SyntaxError::at(line, format!("bad $TTL: {e}")))?;
                self.normalised.first_ttl.get_or_insert(ttl);
                self.normalised.text.push_str(&format!("$TTL {ttl}\n"));
            }
            "$INCLUDE" => {
                return Err(SyntaxError::at(
                    line,
                    "$INCLUDE is not supported: zonesync rewrites whole zone files",
                ));
            }
            other => {
                return Err(SyntaxError::at(line, format!("unknown directive {other}")));
            }
        }
        Ok(())
    }
}

/// Whether the RDATA field at `index` of `record_type` is a `<character-string>`, which hickory
/// only unescapes when quoted.
fn is_character_string(record_type: &str, index: usize) -> bool {
    match record_type {
        "TXT" | "HINFO" => true,
        "CAA" => index >= 2,
        "NAPTR" => (2..=4).contains(&index),
        _ => false,
    }
}

/// The number of a CERT type or algorithm mnemonic (RFC 4398 §2.2, which BIND writes), which
/// hickory's CERT parser does not know.
fn cert_number(record_type: &str, index: usize, token: &Token) -> Option<u8> {
    if record_type != "CERT" || token.quoted {
        return None;
    }
    let mnemonic = token.raw.to_ascii_uppercase();
    let number = match (index, mnemonic.as_str()) {
        (0, "PKIX") => 1,
        (0, "SPKI") => 2,
        (0, "PGP") => 3,
        (0, "IPKIX") => 4,
        (0, "ISPKI") => 5,
        (0, "IPGP") => 6,
        (0, "ACPKIX") => 7,
        (0, "IACPKIX") => 8,
        (0, "URI") => 253,
        (0, "OID") => 254,
        (2, "RSAMD5") => 1,
        (2, "DH") => 2,
        (2, "DSA") => 3,
        (2, "RSASHA1") => 5,
        (2, "DSA-NSEC3-SHA1" | "NSEC3DSA") => 6,
        (2, "RSASHA1-NSEC3-SHA1" | "NSEC3RSASHA1") => 7,
        (2, "RSASHA256") => 8,
        (2, "RSASHA512") => 10,
        (2, "ECC-GOST") => 12,
        (2, "ECDSAP256SHA256") => 13,
        (2, "ECDSAP384SHA384") => 14,
        (2, "ED25519") => 15,
        (2, "ED448") => 16,
        (2, "INDIRECT") => 252,
        (2, "PRIVATEDNS") => 253,
        (2, "PRIVATEOID") => 254,
        _ => return None,
    };
    Some(number)
}

/// A quoted string hickory's lexer decodes back to exactly `token.bytes`.
fn quoted(token: &Token, line: usize) -> Result<String, SyntaxError> {
    let value = std::str::from_utf8(&token.bytes).map_err(|_| {
        SyntaxError::at(
            line,
            "character-string is not UTF-8 text, which zonesync cannot represent",
        )
    })?;
    let mut text = String::with_capacity(value.len() + 2);
    text.push('"');
    for c in value.chars() {
        if matches!(c, '"' | '\\') {
            text.push('\\');
        }
        // Any other character, control characters included, is taken literally inside quotes.
        text.push(c);
    }
    text.push('"');
    Ok(text)
}

/// CAA is flags, an alphanumeric tag and one value (RFC 8659 §4.1.1). hickory takes any tag,
/// which it then writes in a form it cannot read back (`"café €"`), and ignores tokens after
/// the value, which a rewrite would drop.
fn check_caa(rdata: &[&Token], line: usize) -> Result<(), SyntaxError> {
    if let Some(tag) = rdata.get(1)
        && (tag.quoted || !tag.raw.chars().all(|c| c.is_ascii_alphanumeric()))
    {
        return Err(SyntaxError::at(
            line,
            "a CAA tag must be letters and digits, unquoted",
        ));
    }
    if rdata.len() > 3 {
        return Err(SyntaxError::at(
            line,
            "CAA takes one value after its tag; quote a value that holds spaces",
        ));
    }
    Ok(())
}

/// Refuses an SVCB/HTTPS parameter whose value is quoted only in part (`ech="AEX+"junk`):
/// hickory reads the quoted part and silently drops the rest, which can leave a value that
/// cannot be written back (an empty `ech`).
fn check_service_parameter(text: &str, line: usize) -> Result<(), SyntaxError> {
    let Some((_, value)) = text.split_once('=') else {
        return Ok(());
    };
    let mut quotes = Vec::new();
    let mut escaped = false;
    for (position, c) in value.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => quotes.push(position),
            _ => {}
        }
    }
    let whole_value_quoted = quotes.len() == 2 && quotes[0] == 0 && quotes[1] == value.len() - 1;
    if quotes.is_empty() || whole_value_quoted {
        Ok(())
    } else {
        Err(SyntaxError::at(
            line,
            format!("service parameter {text} is quoted only in part; quote the whole value"),
        ))
    }
}

/// Whether a name in master-file text (only `\X` escapes) ends with an unescaped dot.
fn is_absolute(name: &str) -> bool {
    let trailing_backslashes = name
        .strip_suffix('.')
        .map(|rest| rest.chars().rev().take_while(|&c| c == '\\').count());
    trailing_backslashes.is_some_and(|count| count % 2 == 0)
}

/// The value of a token that is base64 or hex data.
fn text_of(token: &Token, line: usize) -> Result<String, SyntaxError> {
    String::from_utf8(token.bytes.clone())
        .map_err(|_| SyntaxError::at(line, "data field is not text"))
}

/// An unquoted token with its escapes in the only forms hickory reads correctly: `\X` for
/// printable ASCII, the plain character for letters and digits.
fn word(token: &Token, line: usize) -> Result<String, SyntaxError> {
    let mut text = String::with_capacity(token.raw.len());
    let mut chars = token.raw.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_control() {
            // Written back, it would be an escaped byte, which is refused below.
            return Err(SyntaxError::at(
                line,
                format!(
                    "control byte {:?} outside a quoted string is not supported",
                    u32::from(c)
                ),
            ));
        }
        if c != '\\' {
            text.push(c);
            continue;
        }
        let escaped = match chars.peek() {
            Some(d) if d.is_ascii_digit() => {
                let digits: String = chars.by_ref().take(3).collect();
                let value: u32 = digits.parse().unwrap_or(u32::MAX);
                char::from_u32(value).unwrap_or(char::REPLACEMENT_CHARACTER)
            }
            Some(_) => chars.next().unwrap_or('\\'),
            None => '\\',
        };
        match escaped {
            c if c.is_ascii_alphanumeric() => text.push(c),
            // hickory's lexer ends a token at these even when escaped.
            ';' | '(' | ')' => {
                return Err(SyntaxError::at(
                    line,
                    format!("escaped {escaped:?} outside a quoted string is not supported"),
                ));
            }
            c if c.is_ascii_graphic() => {
                text.push('\\');
                text.push(c);
            }
            other => {
                return Err(SyntaxError::at(
                    line,
                    format!(
                        "escaped byte {:?} outside a quoted string is not supported",
                        u32::from(other)
                    ),
                ));
            }
        }
    }
    // hickory's lexer reads a token starting with '@' or '$' as a token of its own.
    if text.len() > 1 && (text.starts_with('@') || text.starts_with('$')) {
        text.insert(0, '\\');
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin() -> Name {
        Name::from_str("example.com.").expect("valid")
    }

    fn rewrite(input: &str) -> String {
        normalise(input, Some(&origin()))
            .expect("input is valid")
            .text
    }

    fn error(input: &str) -> SyntaxError {
        normalise(input, Some(&origin())).expect_err("input is invalid")
    }

    #[test]
    fn joins_parenthesised_entries_and_drops_comments() {
        let text = rewrite(
            "@ IN SOA ns1 hostmaster ( 1 ; serial\n 3600 600\n 86400 300 )\n; comment only\nwww A 192.0.2.1 ; trailing\n",
        );
        assert_eq!(
            text,
            "@ IN SOA ns1 hostmaster 1 3600 600 86400 300\nwww A 192.0.2.1\n"
        );
    }

    #[test]
    fn keeps_owner_omitted_entries_and_records_lines() {
        let normalised =
            normalise("www A 192.0.2.1\n\n  A 192.0.2.2\n", Some(&origin())).expect("valid");
        assert_eq!(normalised.text, "www A 192.0.2.1\n A 192.0.2.2\n");
        assert_eq!(normalised.entries, vec![(16, 1), (29, 3)]);
        assert_eq!(normalised.prefix(1), "www A 192.0.2.1\n");
    }

    #[test]
    fn control_bytes_in_names_are_refused_and_crlf_line_ends_are_read() {
        let refused = error("example.com. 60 IN SOA ns1 OP\u{14}\u{0}x 1 2 3 4 5\n");
        assert!(
            refused
                .message
                .contains("control byte 20 outside a quoted string"),
            "{refused:?}"
        );
        assert_eq!(rewrite("www A 192.0.2.1\r\n"), "www A 192.0.2.1\n");
    }

    #[test]
    fn decodes_decimal_escapes_in_quoted_strings() {
        assert_eq!(
            rewrite("t TXT \"caf\\195\\169\" \"a\\\"b\\\\c\" \"\\065\\010\"\n"),
            "t TXT \"café\" \"a\\\"b\\\\c\" \"A\n\"\n"
        );
    }

    #[test]
    fn quotes_unquoted_character_strings() {
        assert_eq!(
            rewrite("t TXT v=spf1 a\\;b @\nc CAA 0 issue letsencrypt.org\n"),
            "t TXT \"v=spf1\" \"a;b\" \"@\"\nc CAA 0 issue \"letsencrypt.org\"\n"
        );
    }

    #[test]
    fn replaces_at_in_rdata_and_uppercases_directives() {
        assert_eq!(
            rewrite("$origin sub\n@ NS @\n$ttl 1h\n"),
            "$ORIGIN sub.example.com.\n@ NS sub.example.com.\n$TTL 3600\n"
        );
    }

    #[test]
    fn rewrites_name_escapes_for_hickory() {
        assert_eq!(
            rewrite("n\\065me\\046x A 192.0.2.1\n"),
            "nAme\\.x A 192.0.2.1\n"
        );
        assert_eq!(error("a\\032b A 192.0.2.1\n").line, Some(1));
    }

    /// hickory reads an SVCB/HTTPS target name without appending the origin.
    #[test]
    fn relative_service_targets_are_made_absolute() {
        assert_eq!(
            rewrite("s SVCB 1 target alpn=h2\n"),
            "s SVCB 1 target.example.com. alpn=h2\n"
        );
        assert_eq!(rewrite("s HTTPS 1 . alpn=h2\n"), "s HTTPS 1 . alpn=h2\n");
        assert_eq!(
            rewrite("s HTTPS 0 svc.example.net.\n"),
            "s HTTPS 0 svc.example.net.\n"
        );
        assert_eq!(
            rewrite("s SVCB 1 dot\\.\n"),
            "s SVCB 1 dot\\..example.com.\n"
        );
    }

    #[test]
    fn joins_split_base64() {
        assert_eq!(
            rewrite("c CERT 1 2 8 ( AQID\n BA== )\n"),
            "c CERT 1 2 8 AQIDBA==\n"
        );
    }

    #[test]
    fn cert_mnemonics_become_numbers() {
        assert_eq!(
            rewrite("c CERT PKIX 12345 RSASHA256 AQIDBA==\n"),
            "c CERT 1 12345 8 AQIDBA==\n"
        );
    }

    #[test]
    fn reports_lines_of_errors() {
        assert_eq!(error("a A 1.2.3.4\nb TXT \"open\n\n").line, Some(2));
        assert_eq!(error("a A 1.2.3.4\n\nb SOA ( 1\n").line, Some(3));
        assert_eq!(error("a A 1.2.3.4 )\n").line, Some(1));
        let include = error("\n$INCLUDE other.zone\n");
        assert_eq!(include.line, Some(2));
        assert!(include.message.contains("$INCLUDE"));
        assert!(error("x CH TXT \"chaos\"\n").message.contains("class CH"));
        assert_eq!(error("x TXT \"\\300\"\n").line, Some(1));
        assert_eq!(error("x TXT \"\\12\"\n").line, Some(1));
        assert!(error("x TXT \"\\255\"\n").message.contains("not UTF-8"));
    }

    /// Found by the `zonefile` fuzz target: a quoted CAA tag with a space was read, then
    /// written in a form that reads back as another record.
    #[test]
    fn refuses_caa_tags_that_are_not_words_and_extra_values() {
        let quoted_tag = error("c CAA 128 \"caf\\195\\169 x\" \"v\"\n");
        assert_eq!(quoted_tag.line, Some(1));
        assert!(quoted_tag.message.contains("CAA tag"), "{quoted_tag:?}");
        assert!(error("c CAA 0 is-sue \"v\"\n").message.contains("CAA tag"));
        let extra = error("c CAA 0 issue \"ca.example.net\" \"b\"\n");
        assert!(extra.message.contains("one value"), "{extra:?}");
        assert_eq!(
            rewrite("c CAA 0 issue ca.example.net\n"),
            "c CAA 0 issue \"ca.example.net\"\n"
        );
    }

    /// Found by the `zonefile` fuzz target: hickory read `ech=""u` as an empty ECH list, which
    /// it cannot read back, so the zone could be read but never written.
    #[test]
    fn refuses_service_parameters_quoted_in_part() {
        let partial = error("@ HTTPS 1 . ech=\"\"u\n");
        assert_eq!(partial.line, Some(1));
        assert!(
            partial.message.contains("quoted only in part"),
            "{partial:?}"
        );
        assert_eq!(
            error("a A 192.0.2.1\n\nb SVCB 1 . alpn=\"h2,h3\"x\n").line,
            Some(3)
        );
        assert!(
            normalise(
                "s SVCB 1 . alpn=\"h2\" port=1 key65000=\\\"x\n",
                Some(&origin())
            )
            .is_ok()
        );
        assert_eq!(
            rewrite("s HTTPS 1 . ech=\"AEX+DQBBAQAgACAC\" alpn=h2\n"),
            "s HTTPS 1 . ech=\"AEX+DQBBAQAgACAC\" alpn=h2\n"
        );
    }
}
