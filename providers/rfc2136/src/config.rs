//! The `--rfc2136-*` flags (external-dns's names) and their validation into an
//! [`Rfc2136Config`].

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use base64::Engine as _;
use zonesync_core::{DEFAULT_TTL, DnsName};

/// Groups per UPDATE message when `--rfc2136-batch-change-size` is not given. Messages are also
/// split by encoded size (64 KiB), which is usually the tighter limit.
pub const DEFAULT_BATCH_CHANGE_SIZE: usize = 1000;
/// Port when `--rfc2136-port` is not given.
pub const DEFAULT_PORT: u16 = 53;
/// Per-request timeout when `--rfc2136-timeout` is not given.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Attempts per request on connection failures and timeouts (the first try included).
pub const DEFAULT_ATTEMPTS: usize = 4;

/// Command-line flags of the RFC2136 provider. None is required by clap: [`Rfc2136Args::validate`]
/// checks them when `--provider rfc2136` is chosen.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Rfc2136Args {
    /// DNS server for updates and zone transfers (IP address or host name, optionally HOST:PORT); repeatable, tried in order.
    #[arg(
        long = "rfc2136-host",
        value_name = "HOST",
        value_delimiter = ',',
        env = "ZONESYNC_RFC2136_HOST",
        help_heading = "RFC2136"
    )]
    pub rfc2136_host: Vec<String>,

    /// Port of the DNS servers [default: 53].
    #[arg(
        long = "rfc2136-port",
        value_name = "PORT",
        env = "ZONESYNC_RFC2136_PORT",
        help_heading = "RFC2136"
    )]
    pub rfc2136_port: Option<u16>,

    /// Zone to manage; repeatable. A record belongs to the longest zone that contains it.
    #[arg(
        long = "rfc2136-zone",
        value_name = "ZONE",
        value_delimiter = ',',
        env = "ZONESYNC_RFC2136_ZONE",
        help_heading = "RFC2136"
    )]
    pub rfc2136_zone: Vec<String>,

    /// Name of the TSIG key that signs updates and zone transfers.
    #[arg(
        long = "rfc2136-tsig-keyname",
        value_name = "NAME",
        env = "ZONESYNC_RFC2136_TSIG_KEYNAME",
        help_heading = "RFC2136"
    )]
    pub rfc2136_tsig_keyname: Option<String>,

    /// TSIG secret, base64 (prefer --rfc2136-tsig-secret-file).
    #[arg(
        long = "rfc2136-tsig-secret",
        value_name = "BASE64",
        env = "ZONESYNC_RFC2136_TSIG_SECRET",
        hide_env_values = true,
        help_heading = "RFC2136"
    )]
    pub rfc2136_tsig_secret: Option<String>,

    /// File holding the TSIG secret: base64 alone, or a BIND key clause (`key "…" { …; secret "…"; };`).
    #[arg(
        long = "rfc2136-tsig-secret-file",
        value_name = "FILE",
        env = "ZONESYNC_RFC2136_TSIG_SECRET_FILE",
        help_heading = "RFC2136"
    )]
    pub rfc2136_tsig_secret_file: Option<PathBuf>,

    /// TSIG algorithm: hmac-sha1, hmac-sha224, hmac-sha256, hmac-sha384 or hmac-sha512 [default: hmac-sha256].
    #[arg(
        long = "rfc2136-tsig-secret-alg",
        value_name = "ALGORITHM",
        env = "ZONESYNC_RFC2136_TSIG_SECRET_ALG",
        help_heading = "RFC2136"
    )]
    pub rfc2136_tsig_secret_alg: Option<String>,

    /// Accepted for external-dns compatibility; zone transfers are always used (and signed when a key is set).
    #[arg(
        long = "rfc2136-tsig-axfr",
        env = "ZONESYNC_RFC2136_TSIG_AXFR",
        help_heading = "RFC2136"
    )]
    pub rfc2136_tsig_axfr: bool,

    /// Send unsigned updates and transfers (no TSIG). Must be explicit.
    #[arg(
        long = "rfc2136-insecure",
        env = "ZONESYNC_RFC2136_INSECURE",
        help_heading = "RFC2136"
    )]
    pub rfc2136_insecure: bool,

    /// Lowest TTL written: configured TTLs below it are raised (seconds, or a duration like 5m) [default: 0].
    #[arg(
        long = "rfc2136-min-ttl",
        value_name = "TTL",
        env = "ZONESYNC_RFC2136_MIN_TTL",
        help_heading = "RFC2136"
    )]
    pub rfc2136_min_ttl: Option<String>,

    /// Most change groups (a record and its ownership markers) per UPDATE message [default: 1000].
    #[arg(
        long = "rfc2136-batch-change-size",
        value_name = "N",
        env = "ZONESYNC_RFC2136_BATCH_CHANGE_SIZE",
        help_heading = "RFC2136"
    )]
    pub rfc2136_batch_change_size: Option<usize>,

    /// Timeout for connecting and for each answer (seconds, or a duration like 500ms) [default: 10s].
    #[arg(
        long = "rfc2136-timeout",
        value_name = "DURATION",
        env = "ZONESYNC_RFC2136_TIMEOUT",
        help_heading = "RFC2136"
    )]
    pub rfc2136_timeout: Option<String>,
}

impl Rfc2136Args {
    /// Validates the flags into a configuration; reads the secret file.
    ///
    /// Fails with one message naming the flag and value when: no host or zone is given; a
    /// host, port, zone, key name, algorithm, TTL, batch size or timeout is malformed; both
    /// `--rfc2136-tsig-secret` and `--rfc2136-tsig-secret-file` are set; the secret is not
    /// base64 or the file cannot be read; a key is half configured; or neither a key nor
    /// `--rfc2136-insecure` is given (or both are). Secrets never appear in the message.
    pub fn validate(&self) -> Result<Rfc2136Config, ConfigError> {
        let port = self.rfc2136_port.unwrap_or(DEFAULT_PORT);
        if port == 0 {
            return Err(ConfigError::invalid(
                "--rfc2136-port",
                "0",
                "use a port from 1 to 65535",
            ));
        }
        let hosts: Vec<&str> = self
            .rfc2136_host
            .iter()
            .map(|h| h.trim())
            .filter(|h| !h.is_empty())
            .collect();
        if hosts.is_empty() {
            return Err(ConfigError::Missing {
                flag: "--rfc2136-host",
                hint: "name the DNS server that accepts the updates (repeat the flag for fallbacks)",
            });
        }
        let servers = hosts
            .iter()
            .map(|host| ServerAddress::parse(host, port))
            .collect::<Result<Vec<_>, _>>()?;

        let mut zones: Vec<DnsName> = Vec::new();
        for zone in self
            .rfc2136_zone
            .iter()
            .map(|z| z.trim())
            .filter(|z| !z.is_empty())
        {
            let name = DnsName::parse(zone).map_err(|e| {
                ConfigError::invalid("--rfc2136-zone", zone, &format!("not a zone name: {e}"))
            })?;
            if !zones.contains(&name) {
                zones.push(name);
            }
        }
        if zones.is_empty() {
            return Err(ConfigError::Missing {
                flag: "--rfc2136-zone",
                hint: "name each zone to manage (repeat the flag for several)",
            });
        }

        let tsig = self.tsig_key()?;

        let min_ttl = match self.rfc2136_min_ttl.as_deref().map(str::trim) {
            None | Some("") => 0,
            Some(value) => {
                let duration = parse_duration("--rfc2136-min-ttl", value)?;
                u32::try_from(duration.as_secs()).map_err(|_| {
                    ConfigError::invalid("--rfc2136-min-ttl", value, "too large for a TTL")
                })?
            }
        };
        let batch_change_size = self
            .rfc2136_batch_change_size
            .unwrap_or(DEFAULT_BATCH_CHANGE_SIZE);
        if batch_change_size == 0 {
            return Err(ConfigError::invalid(
                "--rfc2136-batch-change-size",
                "0",
                "use at least 1",
            ));
        }
        let timeout = match self.rfc2136_timeout.as_deref().map(str::trim) {
            None | Some("") => DEFAULT_TIMEOUT,
            Some(value) => {
                let timeout = parse_duration("--rfc2136-timeout", value)?;
                if timeout.is_zero() {
                    return Err(ConfigError::invalid(
                        "--rfc2136-timeout",
                        value,
                        "must be longer than zero",
                    ));
                }
                timeout
            }
        };

        Ok(Rfc2136Config {
            servers,
            zones,
            tsig,
            min_ttl,
            batch_change_size,
            timeout,
            attempts: DEFAULT_ATTEMPTS,
        })
    }

    fn tsig_key(&self) -> Result<Option<TsigKey>, ConfigError> {
        let key_name = self
            .rfc2136_tsig_keyname
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty());
        let inline_secret = self
            .rfc2136_tsig_secret
            .as_deref()
            .filter(|s| !s.trim().is_empty());
        let secret_file = self.rfc2136_tsig_secret_file.as_deref();
        if inline_secret.is_some() && secret_file.is_some() {
            return Err(ConfigError::Conflict(
                "--rfc2136-tsig-secret and --rfc2136-tsig-secret-file are mutually exclusive; give the secret once",
            ));
        }
        let any_key_flag = key_name.is_some() || inline_secret.is_some() || secret_file.is_some();
        if self.rfc2136_insecure {
            if any_key_flag {
                return Err(ConfigError::Conflict(
                    "--rfc2136-insecure sends unsigned requests and cannot be combined with --rfc2136-tsig-keyname/--rfc2136-tsig-secret/--rfc2136-tsig-secret-file",
                ));
            }
            return Ok(None);
        }
        let Some(key_name) = key_name else {
            if any_key_flag {
                return Err(ConfigError::Missing {
                    flag: "--rfc2136-tsig-keyname",
                    hint: "a TSIG secret is set but not the name of its key",
                });
            }
            return Err(ConfigError::Conflict(
                "no TSIG key configured: set --rfc2136-tsig-keyname with --rfc2136-tsig-secret or --rfc2136-tsig-secret-file, or pass --rfc2136-insecure to send unsigned updates",
            ));
        };
        let name = DnsName::parse(key_name).map_err(|e| {
            ConfigError::invalid(
                "--rfc2136-tsig-keyname",
                key_name,
                &format!("not a valid key name: {e}"),
            )
        })?;
        let algorithm = match self.rfc2136_tsig_secret_alg.as_deref().map(str::trim) {
            None | Some("") => TsigAlgorithm::HmacSha256,
            Some(value) => value.parse().map_err(|_| {
                ConfigError::invalid(
                    "--rfc2136-tsig-secret-alg",
                    value,
                    "use hmac-sha1, hmac-sha224, hmac-sha256, hmac-sha384 or hmac-sha512",
                )
            })?,
        };
        let encoded = match (inline_secret, secret_file) {
            (Some(secret), None) => secret.trim().to_string(),
            (None, Some(path)) => read_secret_file(path)?,
            _ => {
                return Err(ConfigError::Missing {
                    flag: "--rfc2136-tsig-secret",
                    hint: "give the secret of --rfc2136-tsig-keyname with --rfc2136-tsig-secret or --rfc2136-tsig-secret-file",
                });
            }
        };
        let origin = if inline_secret.is_some() {
            "--rfc2136-tsig-secret".to_string()
        } else {
            format!("--rfc2136-tsig-secret-file {}", display_path(secret_file))
        };
        let secret = base64::engine::general_purpose::STANDARD
            .decode(encoded.as_bytes())
            .map_err(|_| ConfigError::BadSecret {
                origin: origin.clone(),
                reason: "the secret is not valid base64",
            })?;
        if secret.is_empty() {
            return Err(ConfigError::BadSecret {
                origin,
                reason: "the secret is empty",
            });
        }
        Ok(Some(TsigKey {
            name,
            algorithm,
            secret,
        }))
    }
}

fn display_path(path: Option<&Path>) -> String {
    path.map(|p| p.display().to_string()).unwrap_or_default()
}

/// Reads a secret file: the base64 secret alone, or a BIND `key` clause holding `secret "…";`.
fn read_secret_file(path: &Path) -> Result<String, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::SecretFile {
        path: path.to_path_buf(),
        source,
    })?;
    if let Some(position) = text.find("secret") {
        let rest = &text[position + "secret".len()..];
        if let Some(start) = rest.find('"') {
            let rest = &rest[start + 1..];
            if let Some(end) = rest.find('"') {
                return Ok(rest[..end].trim().to_string());
            }
        }
    }
    Ok(text.trim().to_string())
}

/// The value of `flag`: seconds as a plain number, or a humantime duration (`90s`, `5m`,
/// `500ms`). Fails naming the flag and value otherwise.
fn parse_duration(flag: &'static str, value: &str) -> Result<Duration, ConfigError> {
    if let Ok(seconds) = value.parse::<u64>() {
        return Ok(Duration::from_secs(seconds));
    }
    humantime::parse_duration(value).map_err(|e| {
        ConfigError::invalid(
            flag,
            value,
            &format!("not a number of seconds or a duration: {e}"),
        )
    })
}

/// Why the `--rfc2136-*` flags are unusable. Messages name the flag and, except for secrets,
/// its value.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A required flag is missing.
    #[error("--provider rfc2136 needs {flag}: {hint}")]
    Missing {
        /// The flag.
        flag: &'static str,
        /// What to give it.
        hint: &'static str,
    },
    /// A flag has a malformed value.
    #[error("{flag} {value:?}: {reason}")]
    Invalid {
        /// The flag.
        flag: &'static str,
        /// Its value as given.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Flags that cannot go together, or a missing key.
    #[error("{0}")]
    Conflict(&'static str),
    /// The secret cannot be used; the secret itself is never shown.
    #[error("{origin}: {reason}")]
    BadSecret {
        /// `--rfc2136-tsig-secret`, or `--rfc2136-tsig-secret-file PATH`.
        origin: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The secret file cannot be read.
    #[error("--rfc2136-tsig-secret-file {}: cannot read it", path.display())]
    SecretFile {
        /// The file.
        path: PathBuf,
        /// Why reading failed.
        #[source]
        source: std::io::Error,
    },
}

impl ConfigError {
    fn invalid(flag: &'static str, value: &str, reason: &str) -> Self {
        Self::Invalid {
            flag,
            value: value.to_string(),
            reason: reason.to_string(),
        }
    }
}

/// A DNS server to talk to: a host (IP address or name, resolved at connect time) and a port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerAddress {
    /// IP address or host name.
    pub host: String,
    /// TCP port.
    pub port: u16,
}

impl ServerAddress {
    /// Parses `HOST`, `HOST:PORT`, `IPv4:PORT`, `IPv6` or `[IPv6]:PORT`; `default_port` applies
    /// when none is given.
    fn parse(input: &str, default_port: u16) -> Result<Self, ConfigError> {
        let invalid = |reason: &str| ConfigError::invalid("--rfc2136-host", input, reason);
        if let Ok(address) = input.parse::<std::net::SocketAddr>() {
            return Ok(Self {
                host: address.ip().to_string(),
                port: address.port(),
            });
        }
        if let Ok(ip) = input
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
        {
            return Ok(Self {
                host: ip.to_string(),
                port: default_port,
            });
        }
        let (host, port) = match input.rsplit_once(':') {
            Some((host, port)) => {
                let port: u16 = port.parse().ok().filter(|p| *p != 0).ok_or_else(|| {
                    invalid("the port after ':' must be a number from 1 to 65535")
                })?;
                (host, port)
            }
            None => (input, default_port),
        };
        DnsName::parse(host)
            .map_err(|e| invalid(&format!("not a host name or IP address: {e}")))?;
        Ok(Self {
            host: host.to_string(),
            port,
        })
    }
}

impl fmt::Display for ServerAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// TSIG MAC algorithms zonesync can sign with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TsigAlgorithm {
    /// HMAC-SHA1 (legacy, still common in old BIND set-ups).
    HmacSha1,
    /// HMAC-SHA224.
    HmacSha224,
    /// HMAC-SHA256, the default.
    HmacSha256,
    /// HMAC-SHA384.
    HmacSha384,
    /// HMAC-SHA512.
    HmacSha512,
}

impl TsigAlgorithm {
    /// The algorithm name as written in TSIG records and BIND key files (`hmac-sha256`).
    pub fn as_str(self) -> &'static str {
        match self {
            TsigAlgorithm::HmacSha1 => "hmac-sha1",
            TsigAlgorithm::HmacSha224 => "hmac-sha224",
            TsigAlgorithm::HmacSha256 => "hmac-sha256",
            TsigAlgorithm::HmacSha384 => "hmac-sha384",
            TsigAlgorithm::HmacSha512 => "hmac-sha512",
        }
    }
}

impl fmt::Display for TsigAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Returned when an algorithm name is not one of the supported HMACs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unsupported TSIG algorithm {0:?}")]
pub struct UnsupportedAlgorithm(pub String);

impl FromStr for TsigAlgorithm {
    type Err = UnsupportedAlgorithm;

    /// Accepts the names case-insensitively, with or without a trailing dot (external-dns
    /// writes `hmac-sha256.`).
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let name = input.trim().trim_end_matches('.').to_ascii_lowercase();
        Ok(match name.as_str() {
            "hmac-sha1" => TsigAlgorithm::HmacSha1,
            "hmac-sha224" => TsigAlgorithm::HmacSha224,
            "hmac-sha256" => TsigAlgorithm::HmacSha256,
            "hmac-sha384" => TsigAlgorithm::HmacSha384,
            "hmac-sha512" => TsigAlgorithm::HmacSha512,
            _ => return Err(UnsupportedAlgorithm(input.to_string())),
        })
    }
}

/// A TSIG key: name, algorithm and the decoded secret. `Debug` never shows the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct TsigKey {
    name: DnsName,
    algorithm: TsigAlgorithm,
    secret: Vec<u8>,
}

impl TsigKey {
    /// A key from its parts; `secret` is the decoded (binary) secret.
    pub fn new(name: DnsName, algorithm: TsigAlgorithm, secret: Vec<u8>) -> Self {
        Self {
            name,
            algorithm,
            secret,
        }
    }

    /// The key name.
    pub fn name(&self) -> &DnsName {
        &self.name
    }

    /// The MAC algorithm.
    pub fn algorithm(&self) -> TsigAlgorithm {
        self.algorithm
    }

    pub(crate) fn secret(&self) -> &[u8] {
        &self.secret
    }
}

impl fmt::Debug for TsigKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TsigKey")
            .field("name", &self.name)
            .field("algorithm", &self.algorithm)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// Validated RFC2136 settings. `Debug` redacts the TSIG secret.
#[derive(Debug, Clone)]
pub struct Rfc2136Config {
    servers: Vec<ServerAddress>,
    zones: Vec<DnsName>,
    tsig: Option<TsigKey>,
    min_ttl: u32,
    batch_change_size: usize,
    timeout: Duration,
    attempts: usize,
}

impl Rfc2136Config {
    /// Servers in the order they are tried.
    pub fn servers(&self) -> &[ServerAddress] {
        &self.servers
    }

    /// The managed zones, in flag order.
    pub fn zones(&self) -> &[DnsName] {
        &self.zones
    }

    /// The TSIG key; `None` with `--rfc2136-insecure`.
    pub fn tsig(&self) -> Option<&TsigKey> {
        self.tsig.as_ref()
    }

    /// The lowest TTL written.
    pub fn min_ttl(&self) -> u32 {
        self.min_ttl
    }

    /// TTL written when a record configures none: 300 seconds, or the minimum TTL if higher.
    pub fn default_ttl(&self) -> u32 {
        DEFAULT_TTL.max(self.min_ttl)
    }

    /// Most change groups per UPDATE message.
    pub fn batch_change_size(&self) -> usize {
        self.batch_change_size
    }

    /// Timeout for connecting and for each answer.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Attempts per request on connection failures and timeouts, the first try included.
    pub fn attempts(&self) -> usize {
        self.attempts
    }

    /// Sets the attempts per request (at least 1); tests use 1 to fail fast.
    #[must_use]
    pub fn with_attempts(mut self, attempts: usize) -> Self {
        self.attempts = attempts.max(1);
        self
    }

    /// Sets the per-request timeout.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets the most change groups per UPDATE message (at least 1).
    #[must_use]
    pub fn with_batch_change_size(mut self, groups: usize) -> Self {
        self.batch_change_size = groups.max(1);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> Rfc2136Args {
        Rfc2136Args {
            rfc2136_host: vec!["127.0.0.1".into()],
            rfc2136_zone: vec!["example.org".into()],
            rfc2136_tsig_keyname: Some("zonesync-key".into()),
            rfc2136_tsig_secret: Some("c2VjcmV0LXNlY3JldA==".into()),
            ..Rfc2136Args::default()
        }
    }

    #[test]
    fn defaults_apply() {
        let config = args().validate().unwrap();
        assert_eq!(
            config.servers(),
            [ServerAddress {
                host: "127.0.0.1".into(),
                port: 53
            }]
        );
        assert_eq!(
            config.tsig().unwrap().algorithm(),
            TsigAlgorithm::HmacSha256
        );
        assert_eq!(config.tsig().unwrap().secret(), b"secret-secret");
        assert_eq!(config.batch_change_size(), DEFAULT_BATCH_CHANGE_SIZE);
        assert_eq!(config.default_ttl(), 300);
        assert_eq!(config.timeout(), DEFAULT_TIMEOUT);
    }

    #[test]
    fn debug_redacts_the_secret() {
        let config = args().validate().unwrap();
        let debug = format!("{config:?}");
        assert!(debug.contains("zonesync-key"));
        assert!(!debug.contains("c2VjcmV0"), "{debug}");
        assert!(!debug.contains("115, 101, 99"), "{debug}");
    }

    #[test]
    fn hosts_take_optional_ports() {
        let mut a = args();
        a.rfc2136_host = vec![
            "ns1.example.org".into(),
            "192.0.2.1:5353".into(),
            "[2001:db8::1]:54".into(),
            "2001:db8::2".into(),
        ];
        a.rfc2136_port = Some(1053);
        let config = a.validate().unwrap();
        let shown: Vec<String> = config.servers().iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "ns1.example.org:1053",
                "192.0.2.1:5353",
                "[2001:db8::1]:54",
                "[2001:db8::2]:1053"
            ]
        );
        a.rfc2136_host = vec!["bad host".into()];
        let error = a.validate().unwrap_err().to_string();
        assert!(error.starts_with("--rfc2136-host \"bad host\""), "{error}");
    }

    #[test]
    fn requires_host_zone_and_an_explicit_security_choice() {
        let mut a = args();
        a.rfc2136_host.clear();
        assert!(
            a.validate()
                .unwrap_err()
                .to_string()
                .contains("--rfc2136-host")
        );
        let mut a = args();
        a.rfc2136_zone = vec![" ".into()];
        assert!(
            a.validate()
                .unwrap_err()
                .to_string()
                .contains("--rfc2136-zone")
        );
        let mut a = args();
        a.rfc2136_tsig_keyname = None;
        a.rfc2136_tsig_secret = None;
        let error = a.validate().unwrap_err().to_string();
        assert!(error.contains("--rfc2136-insecure"), "{error}");
        a.rfc2136_insecure = true;
        assert!(a.validate().unwrap().tsig().is_none());
        let mut a = args();
        a.rfc2136_insecure = true;
        assert!(
            a.validate()
                .unwrap_err()
                .to_string()
                .contains("cannot be combined")
        );
    }

    #[test]
    fn secret_sources_are_exclusive_and_never_echoed() {
        let mut a = args();
        a.rfc2136_tsig_secret_file = Some("/nonexistent".into());
        assert!(
            a.validate()
                .unwrap_err()
                .to_string()
                .contains("mutually exclusive")
        );
        let mut a = args();
        a.rfc2136_tsig_secret = Some("not base64 !!!".into());
        let error = a.validate().unwrap_err().to_string();
        assert!(error.contains("not valid base64"), "{error}");
        assert!(!error.contains("!!!"), "{error}");
        let mut a = args();
        a.rfc2136_tsig_keyname = None;
        assert!(
            a.validate()
                .unwrap_err()
                .to_string()
                .contains("--rfc2136-tsig-keyname")
        );
    }

    #[test]
    fn secret_file_may_be_a_bind_key_clause() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("plain");
        std::fs::write(&plain, "c2VjcmV0LXNlY3JldA==\n").unwrap();
        let clause = dir.path().join("clause");
        std::fs::write(
            &clause,
            "key \"zonesync-key\" {\n\talgorithm hmac-sha512;\n\tsecret \"c2VjcmV0LXNlY3JldA==\";\n};\n",
        )
        .unwrap();
        for path in [plain, clause] {
            let mut a = args();
            a.rfc2136_tsig_secret = None;
            a.rfc2136_tsig_secret_file = Some(path);
            assert_eq!(
                a.validate().unwrap().tsig().unwrap().secret(),
                b"secret-secret"
            );
        }
        let mut a = args();
        a.rfc2136_tsig_secret = None;
        a.rfc2136_tsig_secret_file = Some(dir.path().join("missing"));
        let error = a.validate().unwrap_err();
        assert!(matches!(error, ConfigError::SecretFile { .. }), "{error}");
        assert!(error.to_string().contains("cannot read it"), "{error}");
        assert!(std::error::Error::source(&error).is_some());
    }

    #[test]
    fn algorithms_ttl_batch_and_timeout_are_checked() {
        for (name, expected) in [
            ("hmac-sha1", TsigAlgorithm::HmacSha1),
            ("HMAC-SHA224", TsigAlgorithm::HmacSha224),
            ("hmac-sha384.", TsigAlgorithm::HmacSha384),
            ("hmac-sha512", TsigAlgorithm::HmacSha512),
        ] {
            let mut a = args();
            a.rfc2136_tsig_secret_alg = Some(name.into());
            assert_eq!(a.validate().unwrap().tsig().unwrap().algorithm(), expected);
        }
        let mut a = args();
        a.rfc2136_tsig_secret_alg = Some("hmac-md5".into());
        assert!(
            a.validate()
                .unwrap_err()
                .to_string()
                .starts_with("--rfc2136-tsig-secret-alg \"hmac-md5\"")
        );

        let mut a = args();
        a.rfc2136_min_ttl = Some("10m".into());
        let config = a.validate().unwrap();
        assert_eq!(config.min_ttl(), 600);
        assert_eq!(config.default_ttl(), 600);
        a.rfc2136_min_ttl = Some("60".into());
        assert_eq!(a.validate().unwrap().min_ttl(), 60);
        a.rfc2136_min_ttl = Some("soon".into());
        assert!(
            a.validate()
                .unwrap_err()
                .to_string()
                .starts_with("--rfc2136-min-ttl \"soon\"")
        );

        let mut a = args();
        a.rfc2136_batch_change_size = Some(0);
        assert!(
            a.validate()
                .unwrap_err()
                .to_string()
                .contains("--rfc2136-batch-change-size")
        );
        let mut a = args();
        a.rfc2136_timeout = Some("1500ms".into());
        assert_eq!(a.validate().unwrap().timeout(), Duration::from_millis(1500));
    }
}
