//! End-to-end behaviour of the zone-file provider on real files in a temporary folder.

use std::fs;
use std::path::{Path, PathBuf};

use tempfile::TempDir;
use zonesync_core::{
    Change, ChangeGroup, DeleteReason, DnsName, Endpoint, ErrorKind, Provider, ProviderError,
    RecordType, Zone,
};
use zonesync_zonefile::{ZoneFileError, ZoneFileProvider};

// ---- fixtures -------------------------------------------------------------------------------

/// An RRset under construction: `endpoint("www.example.com").a("192.0.2.1").ttl(60)`.
struct RrSet {
    name: &'static str,
    record_type: Option<RecordType>,
    values: Vec<String>,
}

fn endpoint(name: &'static str) -> RrSet {
    RrSet {
        name,
        record_type: None,
        values: Vec::new(),
    }
}

impl RrSet {
    fn value(mut self, record_type: RecordType, value: &str) -> Self {
        self.record_type = Some(record_type);
        self.values.push(value.to_string());
        self
    }
    fn a(self, value: &str) -> Self {
        self.value(RecordType::A, value)
    }
    fn aaaa(self, value: &str) -> Self {
        self.value(RecordType::Aaaa, value)
    }
    fn cname(self, value: &str) -> Self {
        self.value(RecordType::Cname, value)
    }
    fn txt(self, value: &str) -> Self {
        self.value(RecordType::Txt, value)
    }
    fn ns(self, value: &str) -> Self {
        self.value(RecordType::Ns, value)
    }
    fn mx(self, value: &str) -> Self {
        self.value(RecordType::Mx, value)
    }
    fn srv(self, value: &str) -> Self {
        self.value(RecordType::Srv, value)
    }
    fn caa(self, value: &str) -> Self {
        self.value(RecordType::Caa, value)
    }
    fn soa(self, value: &str) -> Self {
        self.value(RecordType::Soa, value)
    }
    fn build(self) -> Endpoint {
        let record_type = self.record_type.expect("fixture has a value");
        Endpoint::new(DnsName::from_provider(self.name), record_type, &self.values)
    }
    fn ttl(self, ttl: u32) -> Endpoint {
        self.build().with_ttl(ttl)
    }
}

fn create(record: Endpoint) -> Change {
    Change::Create { record }
}

fn update(old: Endpoint, new: Endpoint) -> Change {
    Change::Update { old, new }
}

fn delete(old: Endpoint) -> Change {
    Change::Delete {
        old,
        reason: DeleteReason::NoLongerDesired,
    }
}

/// A group of `changes`. Groups borrow their changes from a plan; here the test's changes are
/// leaked to live as long as the test.
fn group(changes: Vec<Change>) -> ChangeGroup<'static> {
    let changes: &'static [Change] = Vec::leak(changes);
    ChangeGroup::new(changes[0].key(), changes)
}

fn sorted(mut endpoints: Vec<Endpoint>) -> Vec<Endpoint> {
    endpoints.sort_by_key(Endpoint::key);
    endpoints
}

/// A folder with the given files, and a provider over it.
fn folder(files: &[(&str, &str)]) -> (TempDir, ZoneFileProvider) {
    let dir = tempfile::tempdir().expect("temporary folder");
    for (name, content) in files {
        fs::write(dir.path().join(name), content).expect("fixture file");
    }
    let provider = ZoneFileProvider::new(dir.path()).expect("folder is readable");
    (dir, provider)
}

async fn only_zone(provider: &ZoneFileProvider) -> Zone {
    let zones = provider.zones().await.expect("zones list");
    assert_eq!(zones.len(), 1, "{zones:?}");
    zones.into_iter().next().expect("one zone")
}

fn soa_serial(endpoints: &[Endpoint]) -> u32 {
    let soa = endpoints
        .iter()
        .find(|e| e.record_type == RecordType::Soa)
        .expect("zone has a SOA");
    soa.targets.as_slice()[0]
        .split_whitespace()
        .nth(2)
        .and_then(|serial| serial.parse().ok())
        .expect("SOA has a serial")
}

fn without_soa(endpoints: Vec<Endpoint>) -> Vec<Endpoint> {
    endpoints
        .into_iter()
        .filter(|e| e.record_type != RecordType::Soa)
        .collect()
}

/// Files in the folder other than the zone files the test wrote.
fn leftovers(dir: &Path, zone_files: &[&str]) -> Vec<PathBuf> {
    fs::read_dir(dir)
        .expect("folder")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| {
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            !zone_files.contains(&name)
        })
        .collect()
}

const MARKER: &str =
    "heritage=external-dns,external-dns/owner=default,external-dns/resource=ingress/default/web";

const EXAMPLE_COM: &str = r#"; example.com, edited by hand and by zonesync
$ORIGIN example.com.
$TTL 3600
@       IN  SOA ns1.example.com. hostmaster.example.com. (
                2024010101 ; serial
                7200       ; refresh
                900        ; retry
                1209600    ; expire
                300 )      ; negative caching
        IN  NS  ns1
        IN  NS  ns2.example.net.
@       IN  MX  10 mail
@       IN  MX  20 Mail.Backup.Example.NET.
@       IN  TXT "v=spf1 mx -all"
@       IN  CAA 0 issue "letsencrypt.org"
ns1     IN  A   192.0.2.1
mail    300 IN  A    192.0.2.25
        300 IN  AAAA 2001:DB8::25   ; same owner, written short
www     60  IN  A   192.0.2.10
www.example.com. 60 IN A 192.0.2.11
a-www   60  IN  TXT "heritage=external-dns,external-dns/owner=default,external-dns/resource=ingress/default/web"
api     IN  CNAME www
_sip._tcp IN SRV 0 5 5060 sip.example.com.
*.apps  120 IN  A   192.0.2.50
selector._domainkey IN TXT ( "v=DKIM1; k=rsa; "
                             "p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQC" )
"#;

fn example_com_endpoints() -> Vec<Endpoint> {
    sorted(vec![
        endpoint("example.com")
            .soa("ns1.example.com. hostmaster.example.com. 2024010101 7200 900 1209600 300")
            .ttl(3600),
        endpoint("example.com")
            .ns("ns1.example.com")
            .ns("ns2.example.net")
            .ttl(3600),
        endpoint("example.com")
            .mx("10 mail.example.com")
            .mx("20 mail.backup.example.net")
            .ttl(3600),
        endpoint("example.com").txt("v=spf1 mx -all").ttl(3600),
        endpoint("example.com")
            .caa("0 issue \"letsencrypt.org\"")
            .ttl(3600),
        endpoint("ns1.example.com").a("192.0.2.1").ttl(3600),
        endpoint("mail.example.com").a("192.0.2.25").ttl(300),
        endpoint("mail.example.com").aaaa("2001:db8::25").ttl(300),
        endpoint("www.example.com")
            .a("192.0.2.10")
            .a("192.0.2.11")
            .ttl(60),
        endpoint("a-www.example.com").txt(MARKER).ttl(60),
        endpoint("api.example.com")
            .cname("www.example.com")
            .ttl(3600),
        endpoint("_sip._tcp.example.com")
            .srv("0 5 5060 sip.example.com")
            .ttl(3600),
        endpoint("*.apps.example.com").a("192.0.2.50").ttl(120),
        endpoint("selector._domainkey.example.com")
            .txt("v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQC")
            .ttl(3600),
    ])
}

// ---- construction and listing ---------------------------------------------------------------

#[test]
fn new_refuses_what_is_not_a_readable_directory() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let file = dir.path().join("plain-file");
    fs::write(&file, "").expect("file");
    for path in [file, dir.path().join("missing")] {
        let error = ZoneFileProvider::new(&path).expect_err("not a directory");
        assert_eq!(error.kind(), ErrorKind::Config);
        assert!(
            error.message().contains(&path.display().to_string()),
            "{}",
            error.message()
        );
    }
}

#[tokio::test]
async fn parses_a_realistic_zone_file() {
    let (dir, provider) = folder(&[("example.com.zone", EXAMPLE_COM)]);
    assert_eq!(provider.name(), "zonefile");
    let zone = only_zone(&provider).await;
    assert_eq!(zone.name.as_str(), "example.com");
    assert_eq!(
        zone.id,
        dir.path().join("example.com.zone").to_string_lossy()
    );
    assert_eq!(zone.horizon, "");
    let records = provider.records(&zone).await.expect("records");
    assert_eq!(records, example_com_endpoints());
}

#[tokio::test]
async fn zone_names_come_from_origin_soa_or_file_name() {
    let (_dir, provider) = folder(&[
        // $ORIGIN, although the file name says otherwise.
        ("a.txt", "$ORIGIN example.org.\nwww 60 IN A 192.0.2.1\n"),
        // SOA owner, absolute; no $ORIGIN.
        (
            "b.zone",
            "example.net. 60 IN SOA ns1.example.net. hostmaster.example.net. 1 2 3 4 5\n",
        ),
        // Neither: the file name without its extension.
        ("example.info.db", "www 60 IN A 192.0.2.2\n"),
        ("example.biz", "@ 60 IN A 192.0.2.3\n"),
    ]);
    let zones = provider.zones().await.expect("zones");
    let names: Vec<&str> = zones.iter().map(|z| z.name.as_str()).collect();
    assert_eq!(
        names,
        ["example.org", "example.net", "example.biz", "example.info"]
    );
    let info = &zones[3];
    let records = provider.records(info).await.expect("records");
    assert_eq!(
        records,
        [endpoint("www.example.info").a("192.0.2.2").ttl(60)]
    );
}

#[tokio::test]
async fn skips_hidden_files_journals_and_folders() {
    let (dir, provider) = folder(&[
        ("example.com.zone", EXAMPLE_COM),
        ("example.com.zone.jnl", "\u{0}binary journal"),
        (".example.com.zone.swp", "junk"),
    ]);
    fs::create_dir(dir.path().join("archive")).expect("sub-folder");
    let zone = only_zone(&provider).await;
    assert_eq!(zone.name.as_str(), "example.com");
}

#[tokio::test]
async fn two_files_for_one_zone_are_an_error_naming_both() {
    let (_dir, provider) = folder(&[
        ("example.com.zone", EXAMPLE_COM),
        ("old-copy", "$ORIGIN example.com.\nwww 60 IN A 192.0.2.9\n"),
    ]);
    let error = provider.zones().await.expect_err("duplicate zone");
    assert_eq!(error.kind(), ErrorKind::Config);
    assert!(
        error.message().contains("example.com.zone"),
        "{}",
        error.message()
    );
    assert!(error.message().contains("old-copy"), "{}", error.message());
}

#[tokio::test]
async fn a_broken_file_is_an_error_naming_file_and_line() {
    let broken = "$ORIGIN example.com.\n$TTL 60\nwww A 192.0.2.1\nbad A 192.0.2.300\n";
    let (_dir, provider) = folder(&[("example.com.zone", broken)]);
    let error = provider.zones().await.expect_err("broken file");
    assert_eq!(error.kind(), ErrorKind::Config);
    assert!(
        error.message().contains("example.com.zone: line 4:"),
        "{}",
        error.message()
    );
    let zone_file_error =
        std::error::Error::source(&error).and_then(|source| source.downcast_ref::<ZoneFileError>());
    assert!(
        matches!(
            zone_file_error,
            Some(ZoneFileError::Syntax { line: Some(4), .. })
        ),
        "{zone_file_error:?}"
    );

    let unclosed =
        "$ORIGIN example.com.\n@ 60 SOA ns1 hostmaster ( 1 2 3 4 5\nwww 60 A 192.0.2.1\n";
    let (_dir, provider) = folder(&[("example.com.zone", unclosed)]);
    let error = provider.zones().await.expect_err("unclosed parenthesis");
    assert!(error.message().contains("line 2:"), "{}", error.message());
}

#[tokio::test]
async fn non_utf8_content_is_an_error_naming_the_file() {
    let (dir, provider) = folder(&[]);
    let mut bytes = b"$ORIGIN example.com.\nwww 60 IN TXT \"caf".to_vec();
    bytes.extend_from_slice(&[0xe9, b'"', b'\n']);
    fs::write(dir.path().join("example.com.zone"), bytes).expect("file");
    let error = provider.zones().await.expect_err("not UTF-8");
    assert_eq!(error.kind(), ErrorKind::Config);
    assert!(
        error
            .message()
            .contains("example.com.zone: line 2: the file is not UTF-8 text"),
        "{}",
        error.message()
    );
}

#[tokio::test]
async fn include_is_refused() {
    let (_dir, provider) = folder(&[(
        "example.com.zone",
        "$ORIGIN example.com.\n$INCLUDE /etc/passwd\n",
    )]);
    let error = provider.zones().await.expect_err("$INCLUDE");
    assert!(
        error.message().contains("line 2: $INCLUDE"),
        "{}",
        error.message()
    );
}

#[tokio::test]
async fn zone_ids_outside_the_folder_are_refused() {
    let (_dir, provider) = folder(&[("example.com.zone", EXAMPLE_COM)]);
    let stranger = Zone::new(DnsName::parse("example.com").expect("valid")).with_id("/etc/hosts");
    let error = provider.records(&stranger).await.expect_err("not ours");
    assert_eq!(error.kind(), ErrorKind::Config);
}

// ---- apply ----------------------------------------------------------------------------------

#[tokio::test]
async fn apply_creates_updates_and_deletes() {
    let (dir, provider) = folder(&[("example.com.zone", EXAMPLE_COM)]);
    let zone = only_zone(&provider).await;
    let before = provider.records(&zone).await.expect("records");

    let www = endpoint("www.example.com")
        .a("192.0.2.10")
        .a("192.0.2.11")
        .ttl(60);
    let marker = endpoint("a-www.example.com").txt(MARKER).ttl(60);
    let groups = [
        group(vec![
            create(endpoint("shop.example.com").cname("lb.example.net").build()),
            create(
                endpoint("cname-shop.example.com")
                    .txt(&MARKER.replace("web", "shop"))
                    .build(),
            ),
        ]),
        group(vec![update(
            www.clone(),
            endpoint("www.example.com").a("192.0.2.12").ttl(30),
        )]),
        group(vec![delete(
            endpoint("api.example.com").cname("www.example.com").build(),
        )]),
        group(vec![delete(marker)]),
    ];
    let report = provider.apply(&zone, &groups).await.expect("apply");
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);

    let after = provider.records(&zone).await.expect("records");
    assert_eq!(soa_serial(&after), soa_serial(&before) + 1);
    let expected = sorted(
        without_soa(before)
            .into_iter()
            .filter(|e| {
                !matches!(
                    e.name.as_str(),
                    "www.example.com" | "api.example.com" | "a-www.example.com"
                )
            })
            .chain([
                endpoint("shop.example.com")
                    .cname("lb.example.net")
                    .ttl(300),
                endpoint("cname-shop.example.com")
                    .txt(&MARKER.replace("web", "shop"))
                    .ttl(300),
                endpoint("www.example.com").a("192.0.2.12").ttl(30),
            ])
            .collect(),
    );
    assert_eq!(without_soa(after), expected);
    assert!(leftovers(dir.path(), &["example.com.zone"]).is_empty());
}

#[tokio::test]
async fn written_file_has_the_canonical_layout() {
    let (dir, provider) = folder(&[("example.com.zone", EXAMPLE_COM)]);
    let zone = only_zone(&provider).await;
    let groups = [group(vec![create(
        endpoint("web.example.com").a("192.0.2.80").build(),
    )])];
    provider.apply(&zone, &groups).await.expect("apply");
    let text = fs::read_to_string(dir.path().join("example.com.zone")).expect("zone file");
    let lines: Vec<&str> = text.lines().filter(|l| !l.starts_with(';')).collect();
    assert_eq!(lines[0], "$ORIGIN example.com.");
    assert_eq!(lines[1], "$TTL 3600");
    let collapse = |line: &str| line.split_whitespace().collect::<Vec<_>>().join(" ");
    assert_eq!(
        collapse(lines[2]),
        "@ 3600 IN SOA ns1.example.com. hostmaster.example.com. 2024010102 7200 900 1209600 300"
    );
    assert_eq!(collapse(lines[3]), "@ 3600 IN NS ns1.example.com.");
    assert_eq!(collapse(lines[4]), "@ 3600 IN NS ns2.example.net.");
    let rest: Vec<String> = lines[5..].iter().map(|l| collapse(l)).collect();
    assert!(
        rest.contains(&"web 300 IN A 192.0.2.80".to_string()),
        "{text}"
    );
    assert!(
        rest.contains(&"*.apps 120 IN A 192.0.2.50".to_string()),
        "{text}"
    );
    assert!(
        rest.contains(&"selector._domainkey 3600 IN TXT \"v=DKIM1; k=rsa; \" \"p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQC\"".to_string()),
        "string boundaries of a foreign TXT are kept: {text}"
    );
    // Parents come before children, names in DNS order.
    let position = |owner: &str| rest.iter().position(|l| l.starts_with(owner)).expect(owner);
    assert!(position("@ 3600 IN CAA") < position("_sip._tcp"));
    assert!(position("api ") < position("*.apps"));
    assert!(position("*.apps") < position("mail "));
}

#[tokio::test]
async fn unset_ttl_gets_the_default_ttl() {
    let (_dir, provider) = folder(&[("example.com.zone", EXAMPLE_COM)]);
    let provider = provider.with_default_ttl(900);
    assert_eq!(provider.default_ttl(), 900);
    let zone = only_zone(&provider).await;
    let groups = [group(vec![create(
        endpoint("new.example.com").a("192.0.2.7").build(),
    )])];
    provider.apply(&zone, &groups).await.expect("apply");
    let records = provider.records(&zone).await.expect("records");
    assert!(records.contains(&endpoint("new.example.com").a("192.0.2.7").ttl(900)));
}

#[tokio::test]
async fn invalid_groups_are_rejected_and_rolled_back_while_others_apply() {
    let (dir, provider) = folder(&[("example.com.zone", EXAMPLE_COM)]);
    let zone = only_zone(&provider).await;
    let before = provider.records(&zone).await.expect("records");

    let groups = [
        // Create of an existing RRset.
        group(vec![create(
            endpoint("ns1.example.com").a("192.0.2.99").build(),
        )]),
        // Delete of a missing RRset.
        group(vec![delete(
            endpoint("gone.example.com").a("192.0.2.1").build(),
        )]),
        // Delete whose `old` differs from what the file holds.
        group(vec![delete(
            endpoint("www.example.com").a("192.0.2.10").build(),
        )]),
        // A CNAME beside an A.
        group(vec![create(
            endpoint("ns1.example.com").cname("www.example.com").build(),
        )]),
        // The record applies, its marker fails: the whole group goes.
        group(vec![
            create(endpoint("half.example.com").a("192.0.2.5").build()),
            delete(endpoint("a-half.example.com").txt("missing marker").build()),
        ]),
        // Outside the zone.
        group(vec![create(
            endpoint("www.example.org").a("192.0.2.1").build(),
        )]),
        // Not an address.
        group(vec![create(
            endpoint("bad.example.com").a("not-an-address").build(),
        )]),
        // A valid group among the rejected ones.
        group(vec![create(
            endpoint("ok.example.com").a("192.0.2.6").build(),
        )]),
    ];
    let report = provider.apply(&zone, &groups).await.expect("apply");
    let rejected: Vec<String> = report
        .rejected
        .iter()
        .map(|r| r.subject.to_string())
        .collect();
    assert_eq!(
        rejected,
        [
            "ns1.example.com A",
            "gone.example.com A",
            "www.example.com A",
            "ns1.example.com CNAME",
            "half.example.com A",
            "www.example.org A",
            "bad.example.com A",
        ]
    );
    assert!(report.rejected[0].message.contains("already exists"));
    assert!(report.rejected[1].message.contains("does not exist"));
    assert!(report.rejected[3].message.contains("cannot coexist"));

    let after = provider.records(&zone).await.expect("records");
    assert_eq!(soa_serial(&after), soa_serial(&before) + 1);
    let mut expected = without_soa(before);
    expected.push(endpoint("ok.example.com").a("192.0.2.6").ttl(300));
    assert_eq!(without_soa(after), sorted(expected));
    assert!(leftovers(dir.path(), &["example.com.zone"]).is_empty());
}

#[tokio::test]
async fn nothing_to_apply_leaves_the_file_untouched() {
    let (dir, provider) = folder(&[("example.com.zone", EXAMPLE_COM)]);
    let path = dir.path().join("example.com.zone");
    let zone = only_zone(&provider).await;
    let modified = fs::metadata(&path)
        .and_then(|m| m.modified())
        .expect("mtime");

    let report = provider.apply(&zone, &[]).await.expect("empty apply");
    assert!(report.rejected.is_empty());
    // Only rejected groups: nothing changes either.
    let rejected_only = [group(vec![delete(
        endpoint("gone.example.com").a("192.0.2.1").build(),
    )])];
    let report = provider.apply(&zone, &rejected_only).await.expect("apply");
    assert_eq!(report.rejected.len(), 1);
    // An update to what the file already holds, and a group without changes.
    let www = endpoint("www.example.com")
        .a("192.0.2.10")
        .a("192.0.2.11")
        .ttl(60);
    let no_op = [
        group(vec![update(www.clone(), www)]),
        ChangeGroup::new(
            endpoint("www.example.com").a("192.0.2.10").build().key(),
            [],
        ),
    ];
    let report = provider.apply(&zone, &no_op).await.expect("apply");
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);

    assert_eq!(fs::read_to_string(&path).expect("zone file"), EXAMPLE_COM);
    assert_eq!(
        fs::metadata(&path)
            .and_then(|m| m.modified())
            .expect("mtime"),
        modified
    );
    assert!(leftovers(dir.path(), &["example.com.zone"]).is_empty());
}

#[tokio::test]
async fn long_txt_values_are_split_and_read_back_whole() {
    let (dir, provider) = folder(&[("example.com.zone", EXAMPLE_COM)]);
    let zone = only_zone(&provider).await;
    let long_value = format!("v=DKIM1; k=rsa; p={}", "A".repeat(600));
    let long = endpoint("big._domainkey.example.com")
        .txt(&long_value)
        .ttl(60);
    provider
        .apply(&zone, &[group(vec![create(long.clone())])])
        .await
        .expect("apply");
    let records = provider.records(&zone).await.expect("records");
    assert!(records.contains(&long));
    let text = fs::read_to_string(dir.path().join("example.com.zone")).expect("zone file");
    let line = text
        .lines()
        .find(|l| l.starts_with("big._domainkey"))
        .expect("record line");
    let strings: Vec<&str> = line.split('"').skip(1).step_by(2).collect();
    assert_eq!(strings.len(), 3, "{line}");
    assert!(strings.iter().all(|s| s.len() <= 255), "{line}");
    assert_eq!(strings.concat(), long_value);
}

#[tokio::test]
async fn txt_with_quotes_backslashes_and_controls_round_trips() {
    let (dir, provider) = folder(&[("example.com.zone", EXAMPLE_COM)]);
    let zone = only_zone(&provider).await;
    let tricky = endpoint("tricky.example.com")
        .txt(r#"say "hi" \ back\slash"#)
        .txt("tab\there; semicolon (paren) café")
        .txt("")
        .ttl(60);
    provider
        .apply(&zone, &[group(vec![create(tricky.clone())])])
        .await
        .expect("apply");
    let records = provider.records(&zone).await.expect("records");
    assert!(records.contains(&tricky), "{records:?}");
    let text = fs::read_to_string(dir.path().join("example.com.zone")).expect("zone file");
    assert!(text.contains(r#""say \"hi\" \\ back\\slash""#), "{text}");
    assert!(
        text.contains(r#""tab\009here; semicolon (paren) café""#),
        "{text}"
    );

    // A further apply reads the file it wrote and keeps the values.
    provider
        .apply(
            &zone,
            &[group(vec![create(
                endpoint("x.example.com").a("192.0.2.1").build(),
            )])],
        )
        .await
        .expect("second apply");
    let records = provider.records(&zone).await.expect("records");
    assert!(records.contains(&tricky), "{records:?}");
}

/// Foreign records of every type hickory reads, in the forms other tools write them, come back
/// unchanged after a rewrite.
#[tokio::test]
async fn foreign_records_of_every_type_survive_a_rewrite() {
    let zone_text = r#"$ORIGIN example.com.
$TTL 300
@ SOA ns1 hostmaster 7 3600 600 86400 300
@ NS ns1
ns1 A 192.0.2.1
mixed 60 A 192.0.2.1
mixed 120 A 192.0.2.2
v6 AAAA 2001:db8::1
ptr PTR www
an ANAME www
hinfo HINFO "PC \"Intel\"" Linux
naptr NAPTR 100 10 "u" "E2U+sip" "!^\\+(.*)$!sip:\\1@example.com!" .
naptr2 NAPTR 100 20 S SIP+D2U "" _sip._udp
sshfp SSHFP 1 1 123456789abcdef67890123456789abcdef67890
tlsa TLSA 3 1 1 ( 0123456789ABCDEF0123456789ABCDEF
                  0123456789ABCDEF0123456789ABCDEF )
smimea SMIMEA 3 1 1 0123456789ABCDEF
pgp OPENPGPKEY AQIDBAUG BwgJ
cert CERT 1 12345 8 ( AQID BA== )
csync CSYNC 66 3 A NS AAAA
svc HTTPS 1 . alpn="h2,h3" no-default-alpn port=8443 ipv4hint=192.0.2.1,192.0.2.2 mandatory=alpn,port
svc2 SVCB 0 svc.example.com.
svc3 HTTPS 1 . ech="AEX+DQBBAQAgACAC" ipv6hint=2001:db8::1 key65000=opaque
caa CAA 128 iodef "mailto:ops@example.com"
caa CAA 0 issue "ca.example.net; account=123"
caa CAA 0 tbs "a \"quoted\" value"
txt TXT "caf\195\169 \226\130\172" unquoted\032word "\"" "a" "b"
txt TXT "ab"
spaced TXT "  padded  "
idn CNAME xn--bcher-kva.example.
null MX 0 .
"#;
    let (dir, provider) = folder(&[("example.com.zone", zone_text)]);
    let zone = only_zone(&provider).await;
    let before = provider.records(&zone).await.expect("records");

    let txt = before
        .iter()
        .find(|e| e.name.as_str() == "txt.example.com")
        .expect("txt");
    assert_eq!(txt.targets.as_slice(), ["ab", "café €unquoted word\"ab"]);
    let mixed = before
        .iter()
        .find(|e| e.name.as_str() == "mixed.example.com")
        .expect("mixed");
    assert_eq!(mixed.ttl, Some(60), "an RRset's TTL is its smallest");
    let idn = before
        .iter()
        .find(|e| e.name.as_str() == "idn.example.com")
        .expect("idn");
    assert_eq!(idn.targets.as_slice(), ["xn--bcher-kva.example"]);

    let groups = [group(vec![create(
        endpoint("new.example.com").a("192.0.2.9").build(),
    )])];
    let report = provider.apply(&zone, &groups).await.expect("apply");
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    let after = provider.records(&zone).await.expect("records");
    let mut expected = without_soa(before);
    expected.push(endpoint("new.example.com").a("192.0.2.9").ttl(300));
    assert_eq!(without_soa(after), sorted(expected));

    let text = fs::read_to_string(dir.path().join("example.com.zone")).expect("zone file");
    let collapse = |line: &str| line.split_whitespace().collect::<Vec<_>>().join(" ");
    let lines: Vec<String> = text.lines().map(collapse).collect();
    for expected_line in [
        "mixed 60 IN A 192.0.2.1",
        "mixed 120 IN A 192.0.2.2",
        r#"txt 300 IN TXT "café €" "unquoted word" "\"" "a" "b""#,
        r#"txt 300 IN TXT "ab""#,
        r#"hinfo 300 IN HINFO "PC \"Intel\"" "Linux""#,
        r#"naptr 300 IN NAPTR 100 10 "u" "E2U+sip" "!^\\+(.*)$!sip:\\1@example.com!" ."#,
        "cert 300 IN CERT 1 12345 8 AQIDBA==",
        "svc 300 IN HTTPS 1 . mandatory=alpn,port alpn=h2,h3 no-default-alpn port=8443 ipv4hint=192.0.2.1,192.0.2.2",
        "null 300 IN MX 0 .",
    ] {
        assert!(
            lines.iter().any(|l| l == expected_line),
            "missing {expected_line:?} in\n{text}"
        );
    }
    assert!(
        text.contains(r#" "  padded  ""#),
        "leading and trailing spaces kept: {text}"
    );
}

#[cfg(unix)]
#[tokio::test]
async fn rewrite_keeps_permissions_and_symbolic_links() {
    use std::os::unix::fs::{PermissionsExt as _, symlink};

    let (dir, provider) = folder(&[]);
    let data = dir.path().join("..data");
    fs::create_dir(&data).expect("data folder");
    let real = data.join("example.com.zone");
    fs::write(&real, EXAMPLE_COM).expect("zone file");
    fs::set_permissions(&real, fs::Permissions::from_mode(0o640)).expect("chmod");
    let link = dir.path().join("example.com.zone");
    symlink(&real, &link).expect("symlink");

    let zone = only_zone(&provider).await;
    assert_eq!(zone.id, link.to_string_lossy());
    let groups = [group(vec![create(
        endpoint("new.example.com").a("192.0.2.9").build(),
    )])];
    provider.apply(&zone, &groups).await.expect("apply");

    assert!(
        fs::symlink_metadata(&link)
            .expect("link")
            .file_type()
            .is_symlink()
    );
    let mode = fs::metadata(&real).expect("file").permissions().mode() & 0o777;
    assert_eq!(mode, 0o640);
    assert!(fs::read_to_string(&real).expect("file").contains("new"));
    assert!(leftovers(&data, &["example.com.zone"]).is_empty());
}

#[tokio::test]
async fn a_file_that_now_holds_another_zone_is_refused() {
    let (dir, provider) = folder(&[("example.com.zone", EXAMPLE_COM)]);
    let zone = only_zone(&provider).await;
    fs::write(
        dir.path().join("example.com.zone"),
        "$ORIGIN example.org.\nwww 60 IN A 192.0.2.1\n",
    )
    .expect("replace file");
    let error: ProviderError = provider
        .apply(
            &zone,
            &[group(vec![create(
                endpoint("x.example.com").a("192.0.2.1").build(),
            )])],
        )
        .await
        .expect_err("zone changed");
    assert_eq!(error.kind(), ErrorKind::Config);
    assert!(
        error.message().contains("holds zone example.org"),
        "{}",
        error.message()
    );
}

/// `named-checkzone -D` output (absolute names, `\DDD` for non-ASCII text, CERT mnemonics,
/// hex split in two, SVCB keys in wire order) reads as the same records as the hand-written form.
#[tokio::test]
async fn reads_what_bind_writes_like_the_original() {
    let hand_written = r#"$ORIGIN example.com.
$TTL 300
@ SOA ns1 hostmaster 7 3600 600 86400 300
txt TXT "café €" unquoted\032word
cert CERT 1 12345 8 AQIDBA==
tlsa TLSA 3 1 1 0123456789abcdef0123456789abcdef0123456789abcdef
svc HTTPS 1 . alpn="h2,h3" port=8443 mandatory=alpn,port key65000=opaque
"#;
    let bind = r#"example.com.	300 IN SOA	ns1.example.com. hostmaster.example.com. 7 3600 600 86400 300
cert.example.com.	300 IN CERT	PKIX 12345 RSASHA256 AQIDBA==
svc.example.com.	300 IN HTTPS	1 . mandatory=alpn,port alpn="h2,h3" port=8443 key65000="opaque"
tlsa.example.com.	300 IN TLSA	3 1 1 0123456789ABCDEF 0123456789ABCDEF0123456789ABCDEF
txt.example.com.	300 IN TXT	"caf\195\169 \226\130\172" "unquoted word"
"#;
    let (_hand_dir, hand) = folder(&[("example.com.zone", hand_written)]);
    let (_bind_dir, bind_provider) = folder(&[("example.com.zone", bind)]);
    let hand_records = hand
        .records(&only_zone(&hand).await)
        .await
        .expect("records");
    let bind_records = bind_provider
        .records(&only_zone(&bind_provider).await)
        .await
        .expect("records");
    assert_eq!(hand_records, bind_records);
    assert!(
        hand_records.contains(
            &endpoint("txt.example.com")
                .txt("café €unquoted word")
                .ttl(300)
        )
    );
}

/// external-dns names the marker of a record whose first label starts with `_` by putting the
/// type in front of that label (`srv-_sip._tcp.example.com`): a label with `_` inside it, which
/// the IDNA rules of hickory's name parser refuse. Records and markers with such names, of
/// every type zonesync writes, are written and read back (also by a second rewrite).
#[tokio::test]
async fn names_with_underscores_inside_labels_round_trip() {
    let (dir, provider) = folder(&[("example.com.zone", EXAMPLE_COM)]);
    let zone = only_zone(&provider).await;
    let marker = |resource: &str| MARKER.replace("ingress/default/web", resource);
    let other = |name: &'static str, mnemonic: &str, value: &str| {
        endpoint(name).value(RecordType::Other(mnemonic.into()), value)
    };
    let records = vec![
        endpoint("a_b.example.com").a("192.0.2.7").ttl(60),
        endpoint("x_y._tcp.example.com").aaaa("2001:db8::7").ttl(60),
        endpoint("c_name.example.com")
            .cname("lb_1.example.net")
            .ttl(60),
        endpoint("_mx_host.example.com")
            .mx("10 mail_1.example.com")
            .ttl(60),
        endpoint("_sip._tcp.svc.example.com")
            .srv("0 5 5060 sip_1.example.com")
            .ttl(60),
        endpoint("_caa_x.example.com")
            .caa("0 issue \"letsencrypt.org\"")
            .ttl(60),
        endpoint("sub_zone.example.com")
            .ns("ns_1.example.net")
            .ttl(60),
        endpoint("_ptr.example.com").txt("plain text").ttl(60),
        endpoint("p_1.example.com")
            .value(RecordType::Ptr, "host_1.example.com")
            .ttl(60),
        other(
            "_naptr.example.com",
            "NAPTR",
            r#"100 10 "S" "SIP+D2U" "" _sip._udp.example.com."#,
        )
        .ttl(60),
        // Markers, named as external-dns names them.
        endpoint("srv-_sip._tcp.svc.example.com")
            .txt(&marker("crd/default/sip"))
            .ttl(60),
        endpoint("mx-_mx_host.example.com")
            .txt(&marker("crd/default/mx"))
            .ttl(60),
        endpoint("txt-_ptr.example.com")
            .txt(&marker("crd/default/txt"))
            .ttl(60),
        endpoint("a-a_b.example.com")
            .txt(&marker("httproute/default/web"))
            .ttl(60),
    ];
    let groups: Vec<_> = records
        .iter()
        .map(|record| group(vec![create(record.clone())]))
        .collect();
    let report = provider.apply(&zone, &groups).await.expect("apply");
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    let read = provider
        .records(&zone)
        .await
        .expect("the written file reads back");
    for record in &records {
        assert!(read.contains(record), "{record} missing from {read:?}");
    }
    let text = fs::read_to_string(dir.path().join("example.com.zone")).expect("zone file");
    assert!(text.contains("srv-_sip._tcp.svc "), "{text}");

    // The file this wrote is read again for the next change, and the records survive it.
    let next = [group(vec![delete(records[0].clone())])];
    let report = provider.apply(&zone, &next).await.expect("second apply");
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    let read = provider.records(&zone).await.expect("records");
    assert!(!read.contains(&records[0]));
    for record in &records[1..] {
        assert!(read.contains(record), "{record} missing from {read:?}");
    }
}

/// Foreign records with `_` inside labels, in owners, in `$ORIGIN` and in every name field of
/// their data, read as written and survive a rewrite.
#[tokio::test]
async fn foreign_names_with_underscores_inside_labels_survive_a_rewrite() {
    let zone_text = r#"$ORIGIN example.com.
$TTL 300
@ SOA ns_1 host_master 7 3600 600 86400 300
@ NS ns_1
ns_1 A 192.0.2.1
svc_a HTTPS 1 target_1.example.com. alpn=h2
svc_b SVCB 1 target_2
an_ame ANAME www_1
$ORIGIN sub_zone.example.com.
www_2 CNAME @
Www_2 TXT "same name, other case"
"#;
    let (dir, provider) = folder(&[("example.com.zone", zone_text)]);
    let zone = only_zone(&provider).await;
    let before = provider.records(&zone).await.expect("records");
    let target = |name: &str, record_type: &str| -> Vec<String> {
        before
            .iter()
            .find(|e| e.name.as_str() == name && e.record_type.as_str() == record_type)
            .unwrap_or_else(|| panic!("{name} {record_type} in {before:?}"))
            .targets
            .as_slice()
            .to_vec()
    };
    assert_eq!(
        target("example.com", "SOA"),
        ["ns_1.example.com. host_master.example.com. 7 3600 600 86400 300"]
    );
    assert_eq!(target("example.com", "NS"), ["ns_1.example.com"]);
    assert_eq!(
        target("svc_a.example.com", "HTTPS"),
        ["1 target_1.example.com. alpn=h2"]
    );
    assert_eq!(
        target("svc_b.example.com", "SVCB"),
        ["1 target_2.example.com."]
    );
    assert_eq!(
        target("an_ame.example.com", "ANAME"),
        ["www_1.example.com."]
    );
    assert_eq!(
        target("www_2.sub_zone.example.com", "CNAME"),
        ["sub_zone.example.com"]
    );
    assert_eq!(
        target("www_2.sub_zone.example.com", "TXT"),
        ["same name, other case"]
    );

    let groups = [group(vec![create(
        endpoint("new_1.example.com").a("192.0.2.9").build(),
    )])];
    let report = provider.apply(&zone, &groups).await.expect("apply");
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    let after = provider.records(&zone).await.expect("records");
    let mut expected = without_soa(before);
    expected.push(endpoint("new_1.example.com").a("192.0.2.9").ttl(300));
    assert_eq!(without_soa(after), sorted(expected));
    let text = fs::read_to_string(dir.path().join("example.com.zone")).expect("zone file");
    assert!(text.contains("www_2.sub_zone "), "{text}");
}
