//! zonesync's provider for a folder of RFC 1035 zone files, one zone per file: the embedded
//! back end of the demo, and a real one for zones a name server loads from files.
//!
//! [`ZoneFileProvider`] lists every regular, non-hidden file of its folder (journals `*.jnl`
//! excepted) as a zone. The zone name is the SOA owner, else the first `$ORIGIN`, else the file
//! name without a `.zone` or `.db` extension; the zone id is the file path. Files are parsed with
//! hickory-proto's zone parser, after a pass of our own lexer that works around the parser's
//! quirks (see the `syntax` module), and every RRset is returned, SOA, NS and foreign records
//! included.
//!
//! [`Provider::apply`](zonesync_core::Provider::apply) has the in-memory provider's strictness
//! (each change group applies whole or is rejected and rolled back) and, when anything changed,
//! rewrites the whole file atomically with the SOA serial increased by one.
//!
//! # What a rewrite keeps, and what it loses
//!
//! Every record zonesync does not touch comes back with the same owner, type, TTL and data,
//! down to the boundaries between TXT character-strings. Comments, blank lines, `$TTL`
//! positions, parentheses, relative names inside RDATA and the order of records are **not**
//! kept: the file is written in one canonical layout (`$ORIGIN`, `$TTL`, SOA, apex NS, then the
//! other RRsets by name and type, one record per line, owners relative to the apex).
//!
//! # Not supported
//!
//! Files with `$INCLUDE` (a rewrite would inline the included records), classes other than `IN`,
//! DNSSEC records (a signed zone cannot be edited anyway), types hickory cannot parse (`DNAME`,
//! `NULL`, the generic `TYPE<n> \# …` syntax), TXT and other character-strings that are not
//! UTF-8, and escapes of spaces, control bytes or `;()` in names. Each of these makes the file
//! unreadable with an error naming the file and line, rather than risk rewriting it wrongly.
//! Zone files cannot store set identifiers (routing policies): such changes are rejected.

mod apply;
mod contents;
pub mod error;
mod labels;
mod presentation;
mod provider;
mod syntax;

pub use error::ZoneFileError;
pub use provider::ZoneFileProvider;

/// Parses zone-file text into its RRsets as endpoints, sorted by key, exactly as
/// [`ZoneFileProvider`] reads a file, without touching the disk (for fuzzing and tools).
///
/// `origin` plays the part of the file name: the origin before any `$ORIGIN`, and the zone
/// name when the text has neither SOA nor `$ORIGIN`; a trailing dot is optional.
///
/// Fails with [`ZoneFileError::Syntax`], whose path is `-`, when `origin` is not a DNS name,
/// when both `origin` and `$ORIGIN` are missing, and on everything a zone file fails on.
pub fn parse_zone_text(
    text: &str,
    origin: Option<&str>,
) -> Result<Vec<zonesync_core::Endpoint>, ZoneFileError> {
    let syntax_error = |line, message| ZoneFileError::Syntax {
        path: std::path::PathBuf::from("-"),
        line,
        message,
    };
    let origin = origin
        .map(|origin| {
            let absolute = if origin.ends_with('.') {
                origin.to_string()
            } else {
                format!("{origin}.")
            };
            hickory_proto::rr::Name::from_str_relaxed(absolute).map_err(|e| {
                syntax_error(None, format!("origin {origin:?} is not a DNS name: {e}"))
            })
        })
        .transpose()?;
    let contents = contents::ZoneContents::parse(text, origin.as_ref())
        .map_err(|e| syntax_error(e.line, e.message))?;
    Ok(contents.endpoints())
}
