//! BIND 9 (`named`) as a test peer.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;

use super::process::{ServerProcess, StartFailure, before_retry, free_port, start_attempts};
use super::{DnsServer, TsigKey, zone_file_text};

/// Where Debian installs named.
const NAMED: &str = "/usr/sbin/named";

/// Settings for a [`Bind`] instance; [`Bind::builder`] starts one.
#[derive(Clone, Debug)]
pub struct BindBuilder {
    zones: Vec<(String, Vec<String>)>,
    key: TsigKey,
    other_keys: Vec<TsigKey>,
    options: Vec<String>,
    zone_options: Vec<String>,
}

impl BindBuilder {
    /// Adds a primary zone with the default contents (SOA, NS, the NS's address).
    #[must_use]
    pub fn zone(self, name: &str) -> Self {
        self.zone_with_records(name, &[])
    }

    /// Adds a primary zone with extra zone-file lines (names relative to the zone unless they
    /// end in a dot), e.g. `"@ IN MX 10 mail"`.
    #[must_use]
    pub fn zone_with_records(mut self, name: &str, records: &[&str]) -> Self {
        self.zones.push((
            name.trim_end_matches('.').to_string(),
            records.iter().map(|r| r.to_string()).collect(),
        ));
        self
    }

    /// Replaces the key allowed to update and transfer the zones (default: a fresh
    /// `zonesync-key` with hmac-sha256).
    #[must_use]
    pub fn key(mut self, key: TsigKey) -> Self {
        self.key = key;
        self
    }

    /// Declares another key the server knows but that may neither update nor transfer: requests
    /// signed with it are refused by policy.
    #[must_use]
    pub fn known_key(mut self, key: TsigKey) -> Self {
        self.other_keys.push(key);
        self
    }

    /// Adds a statement to the `options` block, e.g. `"max-records-per-type 100;"`.
    #[must_use]
    pub fn option(mut self, statement: &str) -> Self {
        self.options.push(statement.to_string());
        self
    }

    /// Adds a statement to every `zone` block.
    #[must_use]
    pub fn zone_option(mut self, statement: &str) -> Self {
        self.zone_options.push(statement.to_string());
        self
    }

    /// Writes the configuration into a fresh temporary folder and starts named on a free
    /// loopback port; returns once named logs that it is running.
    ///
    /// # Panics
    /// When named cannot be started or does not become ready (the log is in the message).
    pub fn start(self) -> Bind {
        let dir = tempfile::Builder::new()
            .prefix("zonesync-bind-")
            .tempdir()
            .expect("create a temporary folder for named");
        for (zone, records) in &self.zones {
            std::fs::write(zone_path(dir.path(), zone), zone_file_text(zone, records))
                .expect("write zone file");
        }
        let mut keys = self.key.named_conf();
        for key in &self.other_keys {
            keys.push_str(&key.named_conf());
        }
        std::fs::write(dir.path().join("keys.conf"), keys).expect("write keys.conf");
        let mut bind = Bind {
            process: None,
            port: 0,
            settings: self,
            dir,
        };
        bind.launch(true);
        bind
    }
}

/// A running `named` serving primary zones on `127.0.0.1:<port>`; killed on drop.
///
/// The zones allow updates and transfers signed with [`DnsServer::key`]; queries are open.
pub struct Bind {
    process: Option<ServerProcess>,
    port: u16,
    settings: BindBuilder,
    dir: TempDir,
}

impl Bind {
    /// Settings for a new instance, with a fresh hmac-sha256 key `zonesync-key` and no zone.
    pub fn builder() -> BindBuilder {
        BindBuilder {
            zones: Vec::new(),
            key: TsigKey::generate("zonesync-key", "hmac-sha256"),
            other_keys: Vec::new(),
            options: Vec::new(),
            zone_options: Vec::new(),
        }
    }

    /// Starts named with these zones at their default contents.
    ///
    /// # Panics
    /// When named cannot be started.
    pub fn start(zones: &[&str]) -> Self {
        zones
            .iter()
            .fold(Self::builder(), |builder, zone| builder.zone(zone))
            .start()
    }

    /// The zone file of `zone` (updates land in the journal beside it, `<file>.jnl`).
    pub fn zone_file(&self, zone: &str) -> PathBuf {
        zone_path(self.dir.path(), zone.trim_end_matches('.'))
    }

    /// Stops named and starts it again on the same port with the same files (journals kept).
    ///
    /// # Panics
    /// When named does not come back.
    pub fn restart(&mut self) {
        self.stop();
        self.launch(false);
    }

    fn write_config(&self) {
        let dir = self.dir.path().display().to_string();
        let mut conf = format!(
            "include \"{dir}/keys.conf\";\noptions {{\n  directory \"{dir}\";\n  pid-file \"{dir}/named.pid\";\n  session-keyfile \"{dir}/session.key\";\n  listen-on port {port} {{ 127.0.0.1; }};\n  listen-on-v6 {{ none; }};\n  reuseport no;\n  recursion no;\n  allow-query {{ any; }};\n  dnssec-validation no;\n  notify no;\n",
            port = self.port
        );
        for option in &self.settings.options {
            let _ = writeln!(conf, "  {option}");
        }
        conf.push_str("};\ncontrols { };\n");
        let key = &self.settings.key.name;
        for (zone, _) in &self.settings.zones {
            let _ = write!(
                conf,
                "zone \"{zone}\" {{\n  type primary;\n  file \"{file}\";\n  allow-update {{ key \"{key}\"; }};\n  allow-transfer {{ key \"{key}\"; }};\n",
                file = zone_path(self.dir.path(), zone).display()
            );
            for option in &self.settings.zone_options {
                let _ = writeln!(conf, "  {option}");
            }
            conf.push_str("};\n");
        }
        std::fs::write(self.dir.path().join("named.conf"), conf).expect("write named.conf");
    }

    /// Starts named; on a fresh start picks a free port (another one when it is taken).
    fn launch(&mut self, pick_port: bool) {
        let attempts = start_attempts(pick_port);
        let mut last_failure = String::new();
        for _ in 0..attempts {
            if pick_port {
                self.port = free_port();
            }
            self.write_config();
            let mut command = Command::new(NAMED);
            command
                .arg("-g")
                .arg("-c")
                .arg(self.dir.path().join("named.conf"));
            let ready = |log: &str| log.lines().any(|line| line.ends_with(" running"));
            let port_taken =
                |log: &str| log.contains("address in use") || log.contains("could not listen");
            match ServerProcess::start(
                command,
                &self.dir.path().join("named.log"),
                &ready,
                &port_taken,
            ) {
                Ok(process) => {
                    self.process = Some(process);
                    return;
                }
                Err(StartFailure::PortTaken) => {
                    last_failure = format!("port {} taken", self.port);
                    before_retry(pick_port);
                }
                Err(StartFailure::Failed(message)) => panic!("named did not start: {message}"),
            }
        }
        panic!("named did not start: {last_failure}");
    }
}

impl DnsServer for Bind {
    fn kind(&self) -> &'static str {
        "bind"
    }

    fn port(&self) -> u16 {
        self.port
    }

    fn key(&self) -> &TsigKey {
        &self.settings.key
    }

    fn dir(&self) -> &Path {
        self.dir.path()
    }

    fn log(&self) -> String {
        std::fs::read(self.dir.path().join("named.log"))
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .unwrap_or_default()
    }

    fn stop(&mut self) {
        if let Some(mut process) = self.process.take() {
            process.stop();
        }
    }
}

fn zone_path(dir: &Path, zone: &str) -> PathBuf {
    dir.join(format!("{zone}.zone"))
}
