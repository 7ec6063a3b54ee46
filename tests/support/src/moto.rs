//! `moto_server` as a Route53 stand-in: started on a free loopback port in a fresh temporary
//! folder, reset between tests, with its request recorder for counting calls, and killed when
//! the handle is dropped.
//!
//! The binary comes from `ZONESYNC_MOTO_SERVER`, else `<workspace>/.venv-peers/bin/moto_server`
//! (`scripts/install-test-peers.sh` creates it). moto is weaker than Route53 (see
//! `TEST-PEERS.md`): it never throttles, accepts CREATE of an existing name, deletes every set
//! sharing a set identifier, and answers bad DELETEs with `InvalidInput`. Use
//! [`crate::proxy::FaultProxy`] for error paths.
//!
//! Independent views of the zones come from the AWS SDK directly ([`Moto::record_sets`]), not
//! from zonesync's provider.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The SDK types the helpers take, for test crates that do not depend on the SDK themselves.
pub use aws_sdk_route53::types::{ChangeAction, RrType};

use aws_sdk_route53::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_route53::types::{
    Change, ChangeBatch, HostedZoneConfig, ResourceRecord, ResourceRecordSet, Tag, TagResourceType,
    Vpc, VpcRegion,
};

/// How long moto may take to start (it is a Python process; a busy machine slows it down).
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// Time allowed for one moto-api exchange.
const API_TIMEOUT: Duration = Duration::from_secs(30);

/// The `moto_server` executable the tests use.
pub fn moto_server_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("ZONESYNC_MOTO_SERVER") {
        return PathBuf::from(path);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv-peers/bin/moto_server")
}

/// A running `moto_server`.
pub struct Moto {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl std::fmt::Debug for Moto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Moto")
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

impl Moto {
    /// Starts moto on 127.0.0.1 with a port the OS picks, and waits until it answers
    /// `POST /moto-api/reset`.
    ///
    /// # Panics
    /// When the binary is missing, does not start, or is not ready within a minute.
    pub fn start() -> Moto {
        let binary = moto_server_binary();
        assert!(
            binary.exists(),
            "moto_server not found at {}; run scripts/install-test-peers.sh or set ZONESYNC_MOTO_SERVER",
            binary.display()
        );
        let dir = tempfile::tempdir().expect("temporary folder for moto");
        let log_path = dir.path().join("moto.log");
        let log = std::fs::File::create(&log_path).expect("moto log file");
        let child = Command::new(&binary)
            .args(["-H", "127.0.0.1", "-p", "0"])
            .current_dir(dir.path())
            .env("MOTO_RECORDER_FILEPATH", dir.path().join("recording.jsonl"))
            .env("PYTHONUNBUFFERED", "1")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("moto log file"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        let mut moto = Moto {
            child,
            port: 0,
            dir,
        };
        let deadline = Instant::now() + START_TIMEOUT;
        while moto.port == 0 {
            if let Some(status) = moto.child.try_wait().expect("moto status") {
                panic!("moto_server exited with {status}: {}", moto.log());
            }
            assert!(
                Instant::now() < deadline,
                "moto_server printed no port: {}",
                moto.log()
            );
            moto.port = parse_port(&moto.log()).unwrap_or(0);
            std::thread::sleep(Duration::from_millis(50));
        }
        loop {
            match http_request(moto.port, "POST", "/moto-api/reset", b"") {
                Ok((200, _)) => break,
                _ if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
                other => panic!("moto_server is not ready: {other:?}: {}", moto.log()),
            }
        }
        moto
    }

    /// The port moto listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:<port>`: the value for `AWS_ENDPOINT_URL`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// What moto logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("moto.log")).unwrap_or_default()
    }

    /// Wipes every zone and record.
    ///
    /// # Panics
    /// When moto does not answer 200.
    pub fn reset(&self) {
        self.moto_api("POST", "/moto-api/reset");
    }

    /// Empties the request recording.
    pub fn reset_recording(&self) {
        self.moto_api("POST", "/moto-api/recorder/reset-recording");
    }

    /// Starts recording requests (appending to the recording).
    pub fn start_recording(&self) {
        self.moto_api("POST", "/moto-api/recorder/start-recording");
    }

    /// Stops recording requests.
    pub fn stop_recording(&self) {
        self.moto_api("POST", "/moto-api/recorder/stop-recording");
    }

    /// The requests recorded since the last reset of the recording.
    pub fn recorded_requests(&self) -> Vec<RecordedRequest> {
        let body = self.moto_api("GET", "/moto-api/recorder/download-recording");
        String::from_utf8_lossy(&body)
            .lines()
            .filter(|line| !line.trim().is_empty())
            .map(|line| {
                let entry: serde_json::Value =
                    serde_json::from_str(line).expect("recording line is JSON");
                let method = entry["method"].as_str().unwrap_or_default().to_string();
                let url = entry["url"].as_str().unwrap_or_default();
                let path = url_path(url).to_string();
                let raw_body = entry["body"].as_str().unwrap_or_default();
                let body = if entry["body_encoded"].as_bool().unwrap_or(false) {
                    base64_decode(raw_body)
                } else {
                    raw_body.as_bytes().to_vec()
                };
                RecordedRequest {
                    action: route53_action(&method, &path),
                    method,
                    path,
                    body,
                }
            })
            .collect()
    }

    /// Recorded requests counted per Route53 action (`ChangeResourceRecordSets`, …).
    pub fn recorded_actions(&self) -> BTreeMap<&'static str, usize> {
        count_actions(self.recorded_requests().iter().map(|r| r.action))
    }

    fn moto_api(&self, method: &str, path: &str) -> Vec<u8> {
        match http_request(self.port, method, path, b"") {
            Ok((200, body)) => body,
            other => panic!("moto-api {method} {path} failed: {other:?}"),
        }
    }

    /// SDK settings pointing at moto: static test credentials, us-east-1, no SDK retries.
    pub fn sdk_config(&self) -> aws_sdk_route53::config::Builder {
        sdk_config_for(&self.endpoint())
    }

    /// An SDK client talking to moto directly, independent of zonesync's provider.
    pub fn client(&self) -> aws_sdk_route53::Client {
        aws_sdk_route53::Client::from_conf(self.sdk_config().build())
    }

    /// Environment for the zonesync binary so that it talks to `endpoint` (moto or a proxy in
    /// front of it) with test credentials.
    pub fn env_for(endpoint: &str) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", endpoint.to_string()),
            ("AWS_ACCESS_KEY_ID", "test".to_string()),
            ("AWS_SECRET_ACCESS_KEY", "test".to_string()),
            ("AWS_REGION", "us-east-1".to_string()),
            ("AWS_EC2_METADATA_DISABLED", "true".to_string()),
            (
                "AWS_CONFIG_FILE",
                "/nonexistent/zonesync-test-aws-config".to_string(),
            ),
            (
                "AWS_SHARED_CREDENTIALS_FILE",
                "/nonexistent/zonesync-test-aws-credentials".to_string(),
            ),
        ]
    }

    /// Creates a hosted zone and returns its id without the `/hostedzone/` prefix.
    ///
    /// # Panics
    /// When moto refuses.
    pub async fn create_zone(&self, name: &str, spec: ZoneSpec) -> String {
        let client = self.client();
        let mut request = client
            .create_hosted_zone()
            .name(name)
            .caller_reference(format!("{name}-{}", unique()));
        if spec.private {
            request = request
                .hosted_zone_config(HostedZoneConfig::builder().private_zone(true).build())
                .vpc(
                    Vpc::builder()
                        .vpc_id(format!("vpc-{}", unique()))
                        .vpc_region(VpcRegion::UsEast1)
                        .build(),
                );
        }
        let zone = request.send().await.expect("create hosted zone");
        let id = zone
            .hosted_zone()
            .map(|z| z.id().trim_start_matches("/hostedzone/").to_string())
            .expect("hosted zone in answer");
        if !spec.tags.is_empty() {
            let tags = spec
                .tags
                .iter()
                .map(|(key, value)| Tag::builder().key(*key).value(*value).build())
                .collect();
            client
                .change_tags_for_resource()
                .resource_type(TagResourceType::Hostedzone)
                .resource_id(&id)
                .set_add_tags(Some(tags))
                .send()
                .await
                .expect("tag hosted zone");
        }
        id
    }

    /// Applies `changes` (action, record set) to a zone directly, bypassing zonesync.
    ///
    /// # Panics
    /// When moto refuses.
    pub async fn change(&self, zone_id: &str, changes: Vec<(ChangeAction, ResourceRecordSet)>) {
        let changes = changes
            .into_iter()
            .map(|(action, record_set)| {
                Change::builder()
                    .action(action)
                    .resource_record_set(record_set)
                    .build()
                    .expect("change")
            })
            .collect();
        self.client()
            .change_resource_record_sets()
            .hosted_zone_id(zone_id)
            .change_batch(
                ChangeBatch::builder()
                    .set_changes(Some(changes))
                    .build()
                    .expect("batch"),
            )
            .send()
            .await
            .expect("change resource record sets");
    }

    /// Every record set of a zone, read page by page with the SDK.
    ///
    /// # Panics
    /// When moto refuses.
    pub async fn record_sets(&self, zone_id: &str) -> Vec<ResourceRecordSet> {
        let client = self.client();
        let mut all: Vec<ResourceRecordSet> = Vec::new();
        let mut start: Option<(String, RrType)> = None;
        for _ in 0..10_000 {
            let mut request = client
                .list_resource_record_sets()
                .hosted_zone_id(zone_id)
                .max_items(300);
            if let Some((name, record_type)) = &start {
                request = request
                    .start_record_name(name)
                    .start_record_type(record_type.clone());
            }
            let page = request.send().await.expect("list resource record sets");
            for record_set in page.resource_record_sets() {
                if !all.contains(record_set) {
                    all.push(record_set.clone());
                }
            }
            match (
                page.is_truncated(),
                page.next_record_name(),
                page.next_record_type(),
            ) {
                (true, Some(name), Some(record_type)) => {
                    start = Some((name.to_string(), record_type.clone()));
                }
                _ => return all,
            }
        }
        panic!("listing zone {zone_id} does not end");
    }

    /// `(name without trailing dot, type, values)` of every record set, values sorted; ALIAS
    /// records show `ALIAS <dns name> <zone id> <evaluate>` as their value.
    pub async fn records(&self, zone_id: &str) -> Vec<(String, String, Vec<String>)> {
        let mut records: Vec<_> = self
            .record_sets(zone_id)
            .await
            .iter()
            .map(|set| {
                let name = set.name().trim_end_matches('.').replace("\\052", "*");
                let mut values: Vec<String> = match set.alias_target() {
                    Some(alias) => vec![format!(
                        "ALIAS {} {} {}",
                        alias.dns_name().trim_end_matches('.'),
                        alias.hosted_zone_id(),
                        alias.evaluate_target_health()
                    )],
                    None => set
                        .resource_records()
                        .iter()
                        .map(|r| r.value().to_string())
                        .collect(),
                };
                values.sort();
                (name, set.r#type().as_str().to_string(), values)
            })
            .collect();
        records.sort();
        records
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// SDK settings for a Route53 endpoint on loopback (moto, or a proxy in front of it).
pub fn sdk_config_for(endpoint: &str) -> aws_sdk_route53::config::Builder {
    aws_sdk_route53::config::Builder::new()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            "test",
            "test",
            None,
            None,
            "zonesync-tests",
        ))
        .endpoint_url(endpoint)
        .retry_config(aws_sdk_route53::config::retry::RetryConfig::disabled())
}

/// A plain record set for [`Moto::change`].
pub fn record_set(name: &str, record_type: RrType, ttl: i64, values: &[&str]) -> ResourceRecordSet {
    let mut builder = ResourceRecordSet::builder()
        .name(name)
        .r#type(record_type)
        .ttl(ttl);
    for value in values {
        builder = builder.resource_records(
            ResourceRecord::builder()
                .value(*value)
                .build()
                .expect("record"),
        );
    }
    builder.build().expect("record set")
}

/// How to create a hosted zone.
#[derive(Clone, Debug, Default)]
pub struct ZoneSpec {
    /// A private zone (associated with a made-up VPC).
    pub private: bool,
    /// Tags to put on the zone.
    pub tags: Vec<(&'static str, &'static str)>,
}

impl ZoneSpec {
    /// A public zone without tags.
    pub fn public() -> Self {
        Self::default()
    }

    /// A private zone without tags.
    pub fn private() -> Self {
        Self {
            private: true,
            tags: Vec::new(),
        }
    }

    /// Adds a tag.
    #[must_use]
    pub fn tag(mut self, key: &'static str, value: &'static str) -> Self {
        self.tags.push((key, value));
        self
    }
}

/// One request moto recorded.
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    /// HTTP method.
    pub method: String,
    /// Path without query.
    pub path: String,
    /// The Route53 operation ([`route53_action`]).
    pub action: &'static str,
    /// Request body.
    pub body: Vec<u8>,
}

/// The Route53 operation a REST request stands for, from its method and path.
pub fn route53_action(method: &str, path: &str) -> &'static str {
    let path = path.split('?').next().unwrap_or(path).trim_end_matches('/');
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match (method, segments.as_slice()) {
        ("GET", ["2013-04-01", "hostedzone"]) => "ListHostedZones",
        ("POST", ["2013-04-01", "hostedzone"]) => "CreateHostedZone",
        ("GET", ["2013-04-01", "hostedzonesbyname"]) => "ListHostedZonesByName",
        ("GET", ["2013-04-01", "hostedzone", _]) => "GetHostedZone",
        ("DELETE", ["2013-04-01", "hostedzone", _]) => "DeleteHostedZone",
        ("GET", ["2013-04-01", "hostedzone", _, "rrset"]) => "ListResourceRecordSets",
        ("POST", ["2013-04-01", "hostedzone", _, "rrset"]) => "ChangeResourceRecordSets",
        ("POST", ["2013-04-01", "tags", "hostedzone"]) => "ListTagsForResources",
        ("GET", ["2013-04-01", "tags", "hostedzone", _]) => "ListTagsForResource",
        ("POST", ["2013-04-01", "tags", "hostedzone", _]) => "ChangeTagsForResource",
        ("GET", ["2013-04-01", "change", _]) => "GetChange",
        (_, [first, ..]) if first.starts_with("moto-api") => "MotoApi",
        _ => "Other",
    }
}

/// Counts actions.
pub fn count_actions<'a>(actions: impl Iterator<Item = &'a str>) -> BTreeMap<&'a str, usize> {
    let mut counts = BTreeMap::new();
    for action in actions {
        *counts.entry(action).or_insert(0) += 1;
    }
    counts
}

/// What one `ChangeResourceRecordSets` body costs under Route53's request limits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BatchCost {
    /// `<Change>` elements.
    pub changes: usize,
    /// `ResourceRecord` elements, UPSERT counted twice.
    pub records: usize,
    /// Characters in all `<Value>` elements (XML entities decoded), UPSERT counted twice.
    pub characters: usize,
    /// Changes with an `AliasTarget` (no `ResourceRecord`).
    pub aliases: usize,
}

/// Measures a `ChangeResourceRecordSets` request body the way Route53 counts its limits.
pub fn change_batch_cost(xml: &str) -> BatchCost {
    let mut cost = BatchCost::default();
    for change in xml.split("<Change>").skip(1) {
        let change = change.split("</Change>").next().unwrap_or(change);
        let factor = if change.contains("<Action>UPSERT</Action>") {
            2
        } else {
            1
        };
        cost.changes += 1;
        if change.contains("<AliasTarget>") {
            cost.aliases += 1;
        }
        for value in change.split("<Value>").skip(1) {
            let value = value.split("</Value>").next().unwrap_or(value);
            cost.records += factor;
            cost.characters += factor * xml_unescape(value).chars().count();
        }
    }
    cost
}

fn xml_unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(position) = rest.find('&') {
        out.push_str(&rest[..position]);
        let after = &rest[position..];
        let Some(end) = after.find(';') else {
            out.push_str(after);
            return out;
        };
        let entity = &after[1..end];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ if entity.starts_with("#x") => u32::from_str_radix(&entity[2..], 16)
                .ok()
                .and_then(char::from_u32),
            _ if entity.starts_with('#') => entity[1..].parse().ok().and_then(char::from_u32),
            _ => None,
        };
        match decoded {
            Some(character) => out.push(character),
            None => out.push_str(&after[..=end]),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

fn parse_port(log: &str) -> Option<u16> {
    let start = log.find("Running on http://127.0.0.1:")? + "Running on http://127.0.0.1:".len();
    let digits: String = log[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok().filter(|port| *port != 0)
}

fn url_path(url: &str) -> &str {
    let without_scheme = url.split_once("://").map(|(_, rest)| rest).unwrap_or(url);
    let path = without_scheme
        .find('/')
        .map(|i| &without_scheme[i..])
        .unwrap_or("/");
    path.split('?').next().unwrap_or(path)
}

fn unique() -> u128 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    nanos + u128::from(COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// One HTTP/1.1 exchange on loopback with `Connection: close`; returns status and body.
fn http_request(
    port: u16,
    method: &str,
    path: &str,
    body: &[u8],
) -> std::io::Result<(u16, Vec<u8>)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(API_TIMEOUT))?;
    stream.set_write_timeout(Some(API_TIMEOUT))?;
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let invalid =
        |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string());
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| invalid("no end of headers"))?;
    let head = String::from_utf8_lossy(&response[..split]).to_string();
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| invalid("no status"))?;
    let mut body = response[split + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = dechunk(&body);
    }
    Ok((status, body))
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(line_end) = data.windows(2).position(|w| w == b"\r\n") {
        let size_text = String::from_utf8_lossy(&data[..line_end]).to_string();
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .unwrap_or(0);
        data = &data[line_end + 2..];
        if size == 0 || size > data.len() {
            break;
        }
        out.extend_from_slice(&data[..size]);
        data = &data[(size + 2).min(data.len())..];
    }
    out
}

fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' | b'-' => Some(62),
        b'/' | b'_' => Some(63),
        _ => None,
    };
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut buffer = 0u32;
    let mut bits = 0;
    for sextet in text.bytes().filter_map(value) {
        buffer = (buffer << 6) | u32::from(sextet);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_are_named_from_method_and_path() {
        assert_eq!(
            route53_action("GET", "/2013-04-01/hostedzone"),
            "ListHostedZones"
        );
        assert_eq!(
            route53_action("GET", "/2013-04-01/hostedzone/Z1/rrset?maxitems=300"),
            "ListResourceRecordSets"
        );
        assert_eq!(
            route53_action("POST", "/2013-04-01/hostedzone/Z1/rrset/"),
            "ChangeResourceRecordSets"
        );
        assert_eq!(
            route53_action("POST", "/2013-04-01/tags/hostedzone"),
            "ListTagsForResources"
        );
    }

    #[test]
    fn batch_cost_counts_values_and_doubles_upserts() {
        let xml = "<ChangeBatch><Changes>\
            <Change><Action>CREATE</Action><ResourceRecordSet><ResourceRecords><ResourceRecord><Value>192.0.2.1</Value></ResourceRecord></ResourceRecords></ResourceRecordSet></Change>\
            <Change><Action>UPSERT</Action><ResourceRecordSet><ResourceRecords><ResourceRecord><Value>&quot;a&amp;b&quot;</Value></ResourceRecord></ResourceRecords></ResourceRecordSet></Change>\
            <Change><Action>CREATE</Action><ResourceRecordSet><AliasTarget><DNSName>x.</DNSName></AliasTarget></ResourceRecordSet></Change>\
            </Changes></ChangeBatch>";
        assert_eq!(
            change_batch_cost(xml),
            BatchCost {
                changes: 3,
                records: 3,
                characters: 9 + 10,
                aliases: 1
            }
        );
    }

    #[test]
    fn helpers_decode_what_moto_sends() {
        assert_eq!(base64_decode("aGVsbG8gd29ybGQ="), b"hello world");
        assert_eq!(dechunk(b"5\r\nhello\r\n0\r\n\r\n"), b"hello");
        assert_eq!(
            parse_port(" * Running on http://127.0.0.1:40355\n"),
            Some(40355)
        );
        assert_eq!(
            url_path("http://127.0.0.1:1/2013-04-01/hostedzone?x=1"),
            "/2013-04-01/hostedzone"
        );
    }
}
