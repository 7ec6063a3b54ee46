//! Conversions between DNS resource records (hickory's wire model) and zonesync's endpoints.
//!
//! Reading keeps every type: A, AAAA, CNAME, NS, PTR and TXT get zonesync's target forms
//! (TXT character-strings joined without quotes), everything else its presentation format, so
//! the planner sees foreign data. Writing supports the same types; TXT values over 255 bytes are
//! split into several character-strings.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};

use hickory_proto::rr::rdata::{A, AAAA, CNAME, NS, NULL, PTR, TXT};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType as WireType};
use zonesync_core::{DnsName, Endpoint, RecordType, Targets};

/// Longest character-string a TXT record can hold.
const MAX_CHARACTER_STRING: usize = 255;

/// Why a target cannot be written as a record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// The name is not a usable DNS name.
    #[error("{name:?} is not a valid DNS name: {reason}")]
    Name {
        /// The name.
        name: String,
        /// hickory's explanation.
        reason: String,
    },
    /// The value does not fit the record type.
    #[error("{value:?} is not a valid {record_type} value: {reason}")]
    Value {
        /// The record type.
        record_type: RecordType,
        /// The value.
        value: String,
        /// What is wrong.
        reason: String,
    },
    /// The record type cannot be written through RFC 2136.
    #[error("{0} records cannot be written")]
    UnsupportedType(RecordType),
}

/// The identity of an RRset inside a zone: owner name and type.
pub(crate) type RrsetKey = (DnsName, RecordType);

/// zonesync's record type for a wire type (`TYPE65534` for types hickory does not know).
pub(crate) fn record_type_of(wire: WireType) -> RecordType {
    match wire {
        WireType::Unknown(code) => RecordType::Other(format!("TYPE{code}").into()),
        known => known
            .to_string()
            .parse()
            .unwrap_or_else(|_| RecordType::Other(format!("TYPE{}", u16::from(known)).into())),
    }
}

/// The wire type for zonesync's record type.
pub(crate) fn wire_type_of(record_type: &RecordType) -> Result<WireType, RecordError> {
    let mnemonic = record_type.as_str();
    if let Some(code) = mnemonic
        .strip_prefix("TYPE")
        .and_then(|digits| digits.parse::<u16>().ok())
    {
        return Ok(WireType::from(code));
    }
    mnemonic
        .parse::<WireType>()
        .map_err(|_| RecordError::UnsupportedType(record_type.clone()))
}

/// The absolute wire name for a zonesync name.
pub(crate) fn wire_name(name: &DnsName) -> Result<Name, RecordError> {
    Name::from_ascii(name.to_fqdn()).map_err(|e| RecordError::Name {
        name: name.to_string(),
        reason: e.to_string(),
    })
}

/// zonesync's name for a wire name.
pub(crate) fn dns_name_of(name: &Name) -> DnsName {
    DnsName::from_provider(&name.to_ascii())
}

/// The target string zonesync uses for this data.
pub(crate) fn target_of(data: &RData) -> String {
    match data {
        RData::A(address) => address.0.to_string(),
        RData::AAAA(address) => address.0.to_string(),
        RData::CNAME(name) => name.0.to_ascii(),
        RData::NS(name) => name.0.to_ascii(),
        RData::PTR(name) => name.0.to_ascii(),
        RData::TXT(text) => {
            let bytes: Vec<u8> = text
                .txt_data
                .iter()
                .flat_map(|s| s.iter().copied())
                .collect();
            String::from_utf8_lossy(&bytes).into_owned()
        }
        RData::Unknown { rdata, .. } | RData::NULL(rdata) => generic_rdata(&rdata.anything),
        other => other.to_string(),
    }
}

/// RFC 3597 generic form: `\# <length> <hex>`.
fn generic_rdata(bytes: &[u8]) -> String {
    let mut text = format!("\\# {}", bytes.len());
    if !bytes.is_empty() {
        text.push(' ');
        for byte in bytes {
            let _ = write!(text, "{byte:02x}");
        }
    }
    text
}

fn parse_generic_rdata(value: &str) -> Option<Vec<u8>> {
    let mut fields = value.split_whitespace();
    if fields.next()? != "\\#" {
        return None;
    }
    let length: usize = fields.next()?.parse().ok()?;
    let hex: String = fields.collect();
    if hex.len() != length * 2 {
        return None;
    }
    (0..length)
        .map(|i| u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok())
        .collect()
}

/// The record data for one target of an endpoint of type `record_type`.
pub(crate) fn rdata_of(record_type: &RecordType, target: &str) -> Result<RData, RecordError> {
    let invalid = |reason: String| RecordError::Value {
        record_type: record_type.clone(),
        value: target.to_string(),
        reason,
    };
    let host = |target: &str| {
        let absolute = if target.ends_with('.') {
            target.to_string()
        } else {
            format!("{target}.")
        };
        Name::from_ascii(&absolute).map_err(|e| invalid(e.to_string()))
    };
    Ok(match record_type {
        RecordType::A => RData::A(A::from(
            target
                .parse::<Ipv4Addr>()
                .map_err(|e| invalid(e.to_string()))?,
        )),
        RecordType::Aaaa => RData::AAAA(AAAA::from(
            target
                .parse::<Ipv6Addr>()
                .map_err(|e| invalid(e.to_string()))?,
        )),
        RecordType::Cname => RData::CNAME(CNAME(host(target)?)),
        RecordType::Ns => RData::NS(NS(host(target)?)),
        RecordType::Ptr => RData::PTR(PTR(host(target)?)),
        RecordType::Txt => RData::TXT(txt_of(target)),
        RecordType::Soa => return Err(RecordError::UnsupportedType(RecordType::Soa)),
        other => {
            let wire = wire_type_of(other)?;
            if let Some(bytes) = parse_generic_rdata(target) {
                RData::Unknown {
                    code: wire,
                    rdata: if bytes.is_empty() {
                        NULL::new()
                    } else {
                        NULL::with(bytes)
                    },
                }
            } else {
                let mut data =
                    RData::try_from_str(wire, target).map_err(|e| invalid(e.to_string()))?;
                make_names_absolute(&mut data);
                data
            }
        }
    })
}

/// Names in presentation data without a trailing dot are meant absolute (zonesync strips the
/// dot when it normalises targets).
fn make_names_absolute(data: &mut RData) {
    match data {
        RData::MX(mx) => mx.exchange.set_fqdn(true),
        RData::SRV(srv) => srv.target.set_fqdn(true),
        RData::CNAME(name) => name.0.set_fqdn(true),
        RData::NS(name) => name.0.set_fqdn(true),
        RData::PTR(name) => name.0.set_fqdn(true),
        _ => {}
    }
}

/// TXT data for a value, split into character-strings of at most 255 bytes (on UTF-8
/// character boundaries, so every piece stays valid text).
pub(crate) fn txt_of(value: &str) -> TXT {
    let mut pieces: Vec<&[u8]> = Vec::new();
    let mut rest = value;
    while rest.len() > MAX_CHARACTER_STRING {
        let mut cut = MAX_CHARACTER_STRING;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        let (head, tail) = rest.split_at(cut);
        pieces.push(head.as_bytes());
        rest = tail;
    }
    pieces.push(rest.as_bytes());
    TXT::from_bytes(pieces)
}

/// A record of class IN.
pub(crate) fn record(name: Name, ttl: u32, data: RData) -> Record {
    Record::from_rdata(name, ttl, data)
}

/// The RR that deletes exactly this record (class NONE, TTL 0, RFC 2136 §2.5.4).
pub(crate) fn deletion(name: Name, data: RData) -> Record {
    let mut record = Record::from_rdata(name, 0, data);
    record.dns_class = DNSClass::NONE;
    record
}

/// Groups records into RRsets keyed by (name, type) as they come, so that a zone transfer is
/// grouped message by message and never held whole as wire records.
///
/// Records of other classes than IN and transfer-only types (TSIG, OPT) are skipped. The TTL
/// of an RRset is the lowest TTL among its records.
#[derive(Debug, Default)]
pub(crate) struct RrsetGrouper {
    grouped: BTreeMap<RrsetKey, (u32, Vec<String>)>,
    records: usize,
}

impl RrsetGrouper {
    /// Adds one record.
    pub(crate) fn add(&mut self, record: &Record) {
        self.records += 1;
        if record.dns_class != DNSClass::IN {
            return;
        }
        let wire = record.record_type();
        if matches!(wire, WireType::TSIG | WireType::OPT | WireType::SIG) {
            return;
        }
        let key = (dns_name_of(&record.name), record_type_of(wire));
        // Most RRsets hold one value: room for one, not the four a first push reserves.
        let entry = self
            .grouped
            .entry(key)
            .or_insert_with(|| (record.ttl, Vec::with_capacity(1)));
        entry.0 = entry.0.min(record.ttl);
        entry.1.push(target_of(&record.data));
    }

    /// Records added, skipped ones included.
    pub(crate) fn records(&self) -> usize {
        self.records
    }

    /// The RRsets, each with its lowest TTL and its normalised values made into a `V` by
    /// `make`.
    pub(crate) fn finish<V>(
        self,
        mut make: impl FnMut(&RrsetKey, u32, Targets) -> V,
    ) -> BTreeMap<RrsetKey, V> {
        self.grouped
            .into_iter()
            .map(|(key, (ttl, values))| {
                let value = make(&key, ttl, Targets::new(&key.1, values));
                (key, value)
            })
            .collect()
    }
}

/// Groups records into RRsets and turns them into endpoints, keyed by (name, type), as
/// [`RrsetGrouper`] groups them.
pub(crate) fn rrsets<'r>(
    records: impl IntoIterator<Item = &'r Record>,
) -> BTreeMap<RrsetKey, Endpoint> {
    let mut grouper = RrsetGrouper::default();
    for record in records {
        grouper.add(record);
    }
    grouper.finish(|(name, record_type), ttl, targets| {
        let mut endpoint = Endpoint::new(name.clone(), record_type.clone(), [""; 0]);
        endpoint.targets = targets;
        endpoint.ttl = Some(ttl);
        endpoint
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::serialize::binary::{BinDecodable, BinEncodable};

    fn roundtrip(record_type: RecordType, target: &str) -> String {
        let data = rdata_of(&record_type, target).unwrap();
        let record = record(Name::from_ascii("x.example.org.").unwrap(), 300, data);
        let bytes = record.to_bytes().unwrap();
        let decoded = Record::from_bytes(&bytes).unwrap();
        let endpoints = rrsets([&decoded]);
        let endpoint = endpoints.values().next().unwrap();
        assert_eq!(endpoint.record_type, record_type);
        assert_eq!(endpoint.ttl, Some(300));
        endpoint.targets.as_slice()[0].clone()
    }

    #[test]
    fn common_types_roundtrip_to_the_same_normalised_target() {
        for (record_type, target) in [
            (RecordType::A, "192.0.2.1"),
            (RecordType::Aaaa, "2001:db8::1"),
            (RecordType::Cname, "lb.example.net"),
            (RecordType::Ns, "ns1.example.net"),
            (RecordType::Ptr, "host.example.net"),
            (
                RecordType::Txt,
                "heritage=external-dns,external-dns/owner=default",
            ),
            (RecordType::Mx, "10 mail.example.net"),
            (RecordType::Srv, "10 20 443 svc.example.net"),
            (RecordType::Caa, "0 issue \"letsencrypt.org\""),
            (RecordType::Other("TYPE65534".into()), "\\# 3 0a0b0c"),
        ] {
            let expected =
                Endpoint::new(DnsName::from_provider("x"), record_type.clone(), [target]);
            assert_eq!(
                roundtrip(record_type.clone(), target),
                expected.targets.as_slice()[0],
                "{record_type}"
            );
        }
    }

    #[test]
    fn long_txt_values_are_split_and_joined() {
        let value: String = "é".repeat(200); // 400 bytes, two-byte characters
        let txt = txt_of(&value);
        assert_eq!(txt.txt_data.len(), 2);
        assert!(txt.txt_data.iter().all(|s| s.len() <= 255));
        assert!(txt.txt_data.iter().all(|s| std::str::from_utf8(s).is_ok()));
        assert_eq!(roundtrip(RecordType::Txt, &value), value);
        assert_eq!(txt_of("").txt_data.len(), 1);
    }

    #[test]
    fn invalid_values_are_errors() {
        assert!(matches!(
            rdata_of(&RecordType::A, "not-an-ip"),
            Err(RecordError::Value { .. })
        ));
        assert!(matches!(
            rdata_of(&RecordType::Soa, "x"),
            Err(RecordError::UnsupportedType(_))
        ));
        assert!(matches!(
            rdata_of(&RecordType::Other("NOSUCHTYPE".into()), "x"),
            Err(RecordError::UnsupportedType(_))
        ));
    }

    #[test]
    fn rrsets_group_by_name_and_type_with_the_lowest_ttl() {
        let name = Name::from_ascii("WWW.example.org.").unwrap();
        let records = [
            record(
                name.clone(),
                300,
                rdata_of(&RecordType::A, "192.0.2.2").unwrap(),
            ),
            record(
                name.clone(),
                60,
                rdata_of(&RecordType::A, "192.0.2.1").unwrap(),
            ),
            record(name, 300, rdata_of(&RecordType::Txt, "hello").unwrap()),
        ];
        let sets = rrsets(&records);
        assert_eq!(sets.len(), 2);
        let a = &sets[&(DnsName::from_provider("www.example.org"), RecordType::A)];
        assert_eq!(a.targets.as_slice(), ["192.0.2.1", "192.0.2.2"]);
        assert_eq!(a.ttl, Some(60));
    }

    #[test]
    fn grouper_counts_every_record_and_keeps_only_in_class_rrsets() {
        let www = Name::from_ascii("www.example.org.").unwrap();
        let api = Name::from_ascii("api.example.org.").unwrap();
        let mut chaos = record(www.clone(), 300, rdata_of(&RecordType::Txt, "x").unwrap());
        chaos.dns_class = DNSClass::CH;
        let mut grouper = RrsetGrouper::default();
        // Records of one RRset arriving apart, as they may across transfer messages.
        for record in [
            record(
                www.clone(),
                300,
                rdata_of(&RecordType::A, "192.0.2.2").unwrap(),
            ),
            record(
                api,
                120,
                rdata_of(&RecordType::Cname, "www.example.org.").unwrap(),
            ),
            chaos,
            record(www, 30, rdata_of(&RecordType::A, "192.0.2.1").unwrap()),
        ] {
            grouper.add(&record);
        }
        assert_eq!(grouper.records(), 4);
        let sets = grouper.finish(|key, ttl, targets| (key.1.clone(), ttl, targets));
        assert_eq!(sets.len(), 2);
        let (_, ttl, targets) = &sets[&(DnsName::from_provider("www.example.org"), RecordType::A)];
        assert_eq!(
            (*ttl, targets.as_slice()),
            (30, &["192.0.2.1".to_string(), "192.0.2.2".to_string()][..])
        );
        let (record_type, ttl, targets) =
            &sets[&(DnsName::from_provider("api.example.org"), RecordType::Cname)];
        assert_eq!(*record_type, RecordType::Cname);
        assert_eq!(
            (*ttl, targets.as_slice()),
            (120, &["www.example.org".to_string()][..])
        );
    }
}
