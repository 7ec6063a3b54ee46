//! Zone-file text in, endpoints out; then the same text through the provider's write path.
//!
//! The input is the text of a zone file (bytes that are not UTF-8 are replaced, as a file with
//! them is refused before parsing anyway). Checks:
//! - parsing never panics, with the origin a file name gives and without any;
//! - what parses has unique, sorted keys and no RRset without targets;
//! - the provider reads the same text from a file as the same endpoints;
//! - adding one record through `Provider::apply` makes the provider render the zone and read
//!   the rendering back: it must never fail to read back its own rendering, and afterwards the
//!   zone holds exactly the old records plus the new one (the SOA serial aside).

#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use futures::executor::block_on;
use libfuzzer_sys::fuzz_target;
use zonesync_core::{
    Change, ChangeGroup, DnsName, Endpoint, Provider, RecordType, Zone, name::is_within,
};
use zonesync_zonefile::{ZoneFileError, ZoneFileProvider, parse_zone_text};

const ORIGIN: &str = "example.com";
const PROBE_LABEL: &str = "zonesync-fuzz-probe";

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    // Without an origin the text must bring its own; either way, no panic.
    let _ = parse_zone_text(&text, None);
    let Ok(endpoints) = parse_zone_text(&text, Some(ORIGIN)) else {
        return;
    };
    check_endpoints(&endpoints);
    round_trip_through_provider(&text, &endpoints);
});

fn check_endpoints(endpoints: &[Endpoint]) {
    for pair in endpoints.windows(2) {
        assert!(
            pair[0].key() < pair[1].key(),
            "endpoints not sorted by unique key: {} then {}",
            pair[0],
            pair[1]
        );
    }
    for endpoint in endpoints {
        assert!(!endpoint.targets.is_empty(), "{endpoint} has no targets");
        assert!(endpoint.ttl.is_some(), "{endpoint} has no TTL");
    }
}

/// A folder of its own for this process; `TMPDIR` decides where (the smoke script points it
/// at a folder it removes afterwards).
fn zone_dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("zonesync-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temporary folder");
        dir
    })
}

fn round_trip_through_provider(text: &str, endpoints: &[Endpoint]) {
    let dir = zone_dir();
    let path = dir.join(format!("{ORIGIN}.zone"));
    std::fs::write(&path, text).expect("write zone file");
    let provider = ZoneFileProvider::new(dir).expect("provider over the temporary folder");

    let zones = block_on(provider.zones()).expect("the provider reads what parse_zone_text read");
    let [zone] = zones.as_slice() else {
        panic!("one file, {} zones", zones.len());
    };
    let read = block_on(provider.records(zone)).expect("records of a readable zone");
    assert_eq!(read, endpoints, "the provider reads the file differently");

    let Some(probe) = probe_record(zone, endpoints) else {
        return;
    };
    let create = [Change::Create {
        record: probe.clone(),
    }];
    let group = ChangeGroup::new(probe.key(), &create);
    let report = match block_on(provider.apply(zone, &[group])) {
        Ok(report) => report,
        Err(error) => {
            let read_back = std::error::Error::source(&error)
                .and_then(|source| source.downcast_ref::<ZoneFileError>())
                .is_some_and(|e| matches!(e, ZoneFileError::ReadBack { .. }));
            assert!(
                !read_back,
                "a zone zonesync reads cannot be written back: {error}"
            );
            panic!("applying one TXT record failed: {error}");
        }
    };
    let after = block_on(provider.records(zone)).expect("the rewritten zone is readable");
    let mut expected: Vec<Endpoint> = endpoints.to_vec();
    if report.rejected.is_empty() {
        expected.push(probe.with_ttl(provider.default_ttl()));
        expected.sort_by_key(Endpoint::key);
    }
    assert_eq!(
        without_soa(&after),
        without_soa(&expected),
        "the rewritten zone holds other records (rejected: {:?})",
        report.rejected
    );
}

/// A TXT record at a name the zone does not use yet; `None` when the zone name leaves no room.
fn probe_record(zone: &Zone, endpoints: &[Endpoint]) -> Option<Endpoint> {
    if zone.name.as_str().is_empty() {
        return None;
    }
    let name = (0..)
        .map(|n| DnsName::from_provider(&format!("{PROBE_LABEL}-{n}.{}", zone.name)))
        .find(|name| endpoints.iter().all(|e| e.name != *name))?;
    if !is_within(name.as_str(), zone.name.as_str()) {
        return None;
    }
    Some(Endpoint::new(name, RecordType::Txt, ["fuzz probe"]))
}

fn without_soa(endpoints: &[Endpoint]) -> Vec<&Endpoint> {
    endpoints
        .iter()
        .filter(|e| e.record_type != RecordType::Soa)
        .collect()
}
