//! The contents of one zone file: its RRsets as hickory records (what is written back) and as
//! endpoints (what zonesync sees).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use hickory_proto::rr::rdata::TXT;
use hickory_proto::rr::{Name, RData, Record};
use hickory_proto::serialize::txt::Parser;
use zonesync_core::{DnsName, Endpoint, RecordKey, RecordType, Targets};

use crate::presentation::{
    core_record_type, name_text, rdata_text, relative_name_text, split_character_strings,
    target_text,
};
use crate::syntax::{Normalised, SyntaxError, normalise};

/// One RRset: the records as they will be written, and the endpoint they read as.
#[derive(Clone, Debug)]
pub(crate) struct RrSet {
    /// What zonesync sees.
    pub(crate) endpoint: Endpoint,
    /// What the file holds, record by record (individual TTLs and string boundaries kept).
    pub(crate) records: Vec<Record>,
}

impl RrSet {
    /// The RRset of `records`, which share owner and type.
    fn from_records(records: Vec<Record>) -> Option<Self> {
        let first = records.first()?;
        let record_type = core_record_type(first.record_type());
        let name = DnsName::from_provider(&name_text(&first.name));
        let targets = Targets::new(&record_type, records.iter().map(|r| target_text(&r.data)));
        let ttl = records.iter().map(|r| r.ttl).min();
        let mut endpoint = Endpoint::new(name, record_type, targets.iter());
        endpoint.ttl = ttl;
        Some(Self { endpoint, records })
    }

    /// The records that store `endpoint` with `ttl`.
    ///
    /// Fails with an operator-facing message when the name or a target is not valid master-file
    /// data for the type, or would not read back as the same target.
    pub(crate) fn from_endpoint(endpoint: &Endpoint, ttl: u32) -> Result<Self, String> {
        let key = endpoint.key();
        let name = Name::from_ascii(endpoint.name.to_fqdn())
            .map_err(|e| format!("{key}: {} is not a valid name: {e}", endpoint.name))?;
        if DnsName::from_provider(&name_text(&name)) != endpoint.name {
            return Err(format!(
                "{key}: the name {} cannot be stored in a zone file",
                endpoint.name
            ));
        }
        if endpoint.targets.is_empty() {
            return Err(format!("{key} has no targets"));
        }
        let mut records = Vec::with_capacity(endpoint.targets.len());
        for target in &endpoint.targets {
            let rdata = rdata_of(&endpoint.record_type, target).map_err(|e| {
                format!(
                    "{key}: {target:?} is not valid {} data: {e}",
                    endpoint.record_type
                )
            })?;
            let stored = Targets::new(&endpoint.record_type, [target_text(&rdata)]);
            if stored.as_slice() != [target.as_str()] {
                return Err(format!(
                    "{key}: {target:?} would be stored as {:?}; write it in that form",
                    stored
                        .as_slice()
                        .first()
                        .map(String::as_str)
                        .unwrap_or_default()
                ));
            }
            records.push(Record::from_rdata(name.clone(), ttl, rdata));
        }
        Self::from_records(records).ok_or_else(|| format!("{key} has no targets"))
    }
}

/// RDATA for one target of an endpoint. Names in targets are absolute, with or without the
/// trailing dot, so the target is read with the root as origin.
fn rdata_of(record_type: &RecordType, target: &str) -> Result<RData, String> {
    if *record_type == RecordType::Txt {
        let pieces = split_character_strings(target.as_bytes())
            .into_iter()
            .map(|piece| String::from_utf8_lossy(piece).into_owned())
            .collect();
        return Ok(RData::TXT(TXT::new(pieces)));
    }
    let root = Name::root();
    let entry = format!("@ 0 IN {record_type} {target}\n");
    let normalised = normalise(&entry, Some(&root)).map_err(|e| e.message)?;
    if normalised.entries.len() != 1 {
        return Err("a target must be a single entry".to_string());
    }
    let mut records = normalised.parse(Some(&root))?.into_iter().flatten();
    match (records.next(), records.next()) {
        (Some(record), None) if core_record_type(record.record_type()) == *record_type => {
            Ok(record.data)
        }
        _ => Err(format!("not a single {record_type} record")),
    }
}

/// A parsed zone file.
#[derive(Clone, Debug)]
pub(crate) struct ZoneContents {
    /// The zone apex, absolute.
    pub(crate) apex: Name,
    /// The zone apex as zonesync names it.
    pub(crate) name: DnsName,
    /// The file's first `$TTL`, written back as the default for hand-added records.
    pub(crate) default_ttl: Option<u32>,
    /// Every RRset, by key.
    pub(crate) sets: BTreeMap<RecordKey, RrSet>,
}

impl ZoneContents {
    /// Parses a zone file. `default_origin` is the origin before any `$ORIGIN` (derived from
    /// the file name) and the zone name when the file has neither SOA nor `$ORIGIN`.
    pub(crate) fn parse(text: &str, default_origin: Option<&Name>) -> Result<Self, SyntaxError> {
        let normalised = normalise(text, default_origin)?;
        if default_origin.is_none() && normalised.first_origin.is_none() {
            return Err(SyntaxError {
                line: None,
                message:
                    "no $ORIGIN, and the file name is not a DNS name, so the zone name is unknown"
                        .to_string(),
            });
        }
        let record_sets = normalised
            .parse(default_origin)
            .map_err(|message| SyntaxError {
                line: failing_line(&normalised, default_origin),
                message,
            })?;

        let mut sets = BTreeMap::new();
        let mut soa_owners = Vec::new();
        for records in record_sets {
            let Some(set) = RrSet::from_records(records) else {
                continue;
            };
            if set.endpoint.record_type == RecordType::Soa {
                soa_owners.extend(set.records.first().map(|record| record.name.clone()));
            }
            sets.insert(set.endpoint.key(), set);
        }
        let apex = match soa_owners.as_slice() {
            [owner] => owner.clone(),
            [] => normalised
                .first_origin
                .clone()
                .or_else(|| default_origin.cloned())
                .unwrap_or_else(Name::root),
            owners => {
                let names: Vec<String> = owners.iter().map(name_text).collect();
                return Err(SyntaxError {
                    line: None,
                    message: format!("more than one SOA record ({})", names.join(", ")),
                });
            }
        };
        Ok(Self {
            name: DnsName::from_provider(&name_text(&apex)),
            apex,
            default_ttl: normalised.first_ttl,
            sets,
        })
    }

    /// Every RRset as an endpoint, sorted by key.
    pub(crate) fn endpoints(&self) -> Vec<Endpoint> {
        self.sets.values().map(|set| set.endpoint.clone()).collect()
    }

    /// Replaces (or, with `None`, removes) the RRset at `key`.
    pub(crate) fn set(&mut self, key: RecordKey, set: Option<RrSet>) {
        match set {
            Some(set) => self.sets.insert(key, set),
            None => self.sets.remove(&key),
        };
    }

    /// Adds one to the SOA serial (RFC 1982 arithmetic wraps around). Returns the new serial,
    /// or `None` when the zone has no SOA.
    pub(crate) fn bump_serial(&mut self) -> Option<u32> {
        let key = RecordKey {
            name: self.name.clone(),
            record_type: RecordType::Soa,
            set_identifier: None,
        };
        let set = self.sets.get_mut(&key)?;
        let mut serial = None;
        for record in &mut set.records {
            if let RData::SOA(soa) = &mut record.data {
                soa.serial = soa.serial.wrapping_add(1);
                serial = Some(soa.serial);
            }
        }
        if let Some(updated) = RrSet::from_records(set.records.clone()) {
            *set = updated;
        }
        serial
    }

    /// The zone as master-file text: `$ORIGIN`, `$TTL`, the apex SOA and NS, then every other
    /// RRset in DNS name order (parents before children) and by type; one record per line,
    /// with its own TTL and owner relative to the apex.
    pub(crate) fn render(&self, fallback_ttl: u32) -> String {
        let mut sets: Vec<&RrSet> = self.sets.values().collect();
        sets.sort_by_cached_key(|set| {
            let key = &set.endpoint;
            let at_apex = key.name == self.name;
            let rank = match &key.record_type {
                RecordType::Soa if at_apex => 0,
                RecordType::Ns if at_apex => 1,
                _ => 2,
            };
            let labels: Vec<String> = key.name.labels().rev().map(str::to_string).collect();
            (rank, labels, key.record_type.as_str().to_string())
        });

        let mut lines: Vec<(String, u32, String, String)> = Vec::new();
        for set in sets {
            let mut records: Vec<(String, u32, String, String)> = set
                .records
                .iter()
                .map(|record| {
                    (
                        relative_name_text(&record.name, &self.apex),
                        record.ttl,
                        record.record_type().to_string(),
                        rdata_text(&record.data),
                    )
                })
                .collect();
            records.sort_by(|a, b| a.3.cmp(&b.3).then(a.1.cmp(&b.1)));
            lines.extend(records);
        }

        let owner_width = lines.iter().map(|l| l.0.len()).max().unwrap_or(1).min(40);
        let type_width = lines.iter().map(|l| l.2.len()).max().unwrap_or(1);
        let mut text = String::new();
        text.push_str("; written by zonesync: comments and formatting are not preserved\n");
        let _ = writeln!(text, "$ORIGIN {}", name_text(&self.apex));
        let _ = writeln!(text, "$TTL {}", self.default_ttl.unwrap_or(fallback_ttl));
        for (owner, ttl, record_type, rdata) in lines {
            let _ = writeln!(
                text,
                "{owner:<owner_width$} {ttl:>7} IN {record_type:<type_width$} {rdata}"
            );
        }
        text
    }
}

/// The original line of the first entry hickory refuses, found by parsing ever longer
/// prefixes (hickory's errors carry no position). `None` when even an empty file fails.
fn failing_line(normalised: &Normalised, origin: Option<&Name>) -> Option<usize> {
    // Parsing the prefix leaves the aliases of refused labels in the names, which only a
    // name too long for DNS would notice: the whole file then fails at its first entry.
    let fails = |count: usize| {
        Parser::new(normalised.prefix(count), None, origin.cloned())
            .parse()
            .is_err()
    };
    if fails(0) {
        return None;
    }
    let (mut good, mut bad) = (0, normalised.entries.len());
    while bad - good > 1 {
        let middle = good + (bad - good) / 2;
        if fails(middle) {
            bad = middle;
        } else {
            good = middle;
        }
    }
    normalised.entries.get(bad - 1).map(|(_, line)| *line)
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    fn origin() -> Name {
        Name::from_str("example.com.").expect("valid")
    }

    fn endpoint(name: &str, record_type: RecordType, targets: &[&str]) -> Endpoint {
        Endpoint::new(DnsName::from_provider(name), record_type, targets)
    }

    #[test]
    fn endpoints_of_targets_round_trip() {
        let cases = [
            endpoint(
                "www.example.com",
                RecordType::A,
                &["192.0.2.1", "192.0.2.2"],
            ),
            endpoint("www.example.com", RecordType::Aaaa, &["2001:db8::1"]),
            endpoint("*.apps.example.com", RecordType::A, &["192.0.2.50"]),
            endpoint("a.example.com", RecordType::Cname, &["lb.example.net"]),
            endpoint("example.com", RecordType::Mx, &["10 mail.example.com"]),
            endpoint(
                "_sip._tcp.example.com",
                RecordType::Srv,
                &["0 5 5060 sip.example.com"],
            ),
            endpoint(
                "example.com",
                RecordType::Caa,
                &["0 issue \"letsencrypt.org\""],
            ),
            endpoint(
                "t.example.com",
                RecordType::Txt,
                &["a \"quoted\" \\ value", ""],
            ),
            endpoint(
                "n.example.com",
                RecordType::Other("NAPTR".into()),
                &[r#"100 10 "u" "E2U+sip" "!^\\+(.*)$!sip:\\1@example.com!" ."#],
            ),
        ];
        for endpoint in cases {
            let set = RrSet::from_endpoint(&endpoint, 60)
                .unwrap_or_else(|e| panic!("{endpoint} is storable: {e}"));
            assert_eq!(set.endpoint, endpoint.clone().with_ttl(60));
        }
    }

    #[test]
    fn targets_in_another_form_are_refused_with_the_stored_form() {
        let caa = endpoint("example.com", RecordType::Caa, &["0 issue letsencrypt.org"]);
        let message = RrSet::from_endpoint(&caa, 60).expect_err("not canonical");
        assert!(
            message.contains(r#"0 issue \"letsencrypt.org\""#),
            "{message}"
        );
        let bad = endpoint("www.example.com", RecordType::A, &["not-an-address"]);
        assert!(RrSet::from_endpoint(&bad, 60).is_err());
        let injected = endpoint(
            "www.example.com",
            RecordType::A,
            &["192.0.2.1\nevil A 192.0.2.66"],
        );
        assert!(RrSet::from_endpoint(&injected, 60).is_err());
    }

    #[test]
    fn serial_wraps_around() {
        let text = "@ 3600 IN SOA ns1 hostmaster 4294967295 1 1 1 1\n";
        let mut zone = ZoneContents::parse(text, Some(&origin())).expect("valid");
        assert_eq!(zone.bump_serial(), Some(0));
        let soa = zone
            .endpoints()
            .into_iter()
            .find(|e| e.record_type == RecordType::Soa);
        assert_eq!(
            soa.map(|s| s.targets.as_slice().to_vec()),
            Some(vec![
                "ns1.example.com. hostmaster.example.com. 0 1 1 1 1".to_string()
            ])
        );
    }

    #[test]
    fn hickory_errors_get_the_original_line() {
        let text = "$TTL 60\n@ SOA ns1 hostmaster ( 1\n 2 3 4 5 )\nwww A 192.0.2.1\n\nbad A 999.0.2.1\nok A 192.0.2.2\n";
        let error = ZoneContents::parse(text, Some(&origin())).expect_err("invalid address");
        assert_eq!(error.line, Some(6));
    }
}
