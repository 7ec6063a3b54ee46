//! Knot DNS (`knotd`) as a second RFC2136 peer.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;

use super::process::{ServerProcess, StartFailure, before_retry, free_port, start_attempts};
use super::{DnsServer, TsigKey, zone_file_text};

/// Where Debian installs knotd.
const KNOTD: &str = "/usr/sbin/knotd";

/// Settings for a [`Knot`] instance; [`Knot::builder`] starts one.
#[derive(Clone, Debug)]
pub struct KnotBuilder {
    zones: Vec<(String, Vec<String>)>,
    key: TsigKey,
}

impl KnotBuilder {
    /// Adds a primary zone with the default contents (SOA, NS, the NS's address).
    #[must_use]
    pub fn zone(self, name: &str) -> Self {
        self.zone_with_records(name, &[])
    }

    /// Adds a primary zone with extra zone-file lines (names relative to the zone unless they
    /// end in a dot).
    #[must_use]
    pub fn zone_with_records(mut self, name: &str, records: &[&str]) -> Self {
        self.zones.push((
            name.trim_end_matches('.').to_string(),
            records.iter().map(|r| r.to_string()).collect(),
        ));
        self
    }

    /// Replaces the key allowed to update and transfer the zones.
    #[must_use]
    pub fn key(mut self, key: TsigKey) -> Self {
        self.key = key;
        self
    }

    /// Writes the configuration into a fresh temporary folder and starts knotd on a free
    /// loopback port; returns once knotd has started and loaded every zone.
    ///
    /// # Panics
    /// When knotd cannot be started or does not become ready (the log is in the message).
    pub fn start(self) -> Knot {
        let dir = tempfile::Builder::new()
            .prefix("zonesync-knot-")
            .tempdir()
            .expect("create a temporary folder for knotd");
        std::fs::create_dir_all(dir.path().join("db")).expect("create knot database folder");
        for (zone, records) in &self.zones {
            std::fs::write(zone_path(dir.path(), zone), zone_file_text(zone, records))
                .expect("write zone file");
        }
        let mut knot = Knot {
            process: None,
            port: 0,
            settings: self,
            dir,
        };
        knot.launch(true);
        knot
    }
}

/// A running `knotd` serving primary zones on `127.0.0.1:<port>`; killed on drop.
///
/// The zones allow updates and transfers signed with [`DnsServer::key`]; queries are open.
pub struct Knot {
    process: Option<ServerProcess>,
    port: u16,
    settings: KnotBuilder,
    dir: TempDir,
}

impl Knot {
    /// Settings for a new instance, with a fresh hmac-sha256 key `zonesync-key` and no zone.
    pub fn builder() -> KnotBuilder {
        KnotBuilder {
            zones: Vec::new(),
            key: TsigKey::generate("zonesync-key", "hmac-sha256"),
        }
    }

    /// Starts knotd with these zones at their default contents.
    ///
    /// # Panics
    /// When knotd cannot be started.
    pub fn start(zones: &[&str]) -> Self {
        zones
            .iter()
            .fold(Self::builder(), |builder, zone| builder.zone(zone))
            .start()
    }

    /// The zone file of `zone` (knotd keeps updates in its journal under `db/` and writes them
    /// back to this file).
    pub fn zone_file(&self, zone: &str) -> PathBuf {
        zone_path(self.dir.path(), zone.trim_end_matches('.'))
    }

    /// Stops knotd and starts it again on the same port with the same files.
    ///
    /// # Panics
    /// When knotd does not come back.
    pub fn restart(&mut self) {
        self.stop();
        self.launch(false);
    }

    fn write_config(&self) {
        let dir = self.dir.path().display().to_string();
        let key = &self.settings.key;
        let mut conf = format!(
            "server:\n  rundir: \"{dir}\"\n  listen: 127.0.0.1@{port}\nlog:\n  - target: stderr\n    any: info\ndatabase:\n  storage: \"{dir}/db\"\nkey:\n  - id: {name}\n    algorithm: {algorithm}\n    secret: {secret}\nacl:\n  - id: zonesync\n    key: {name}\n    action: [transfer, update]\ntemplate:\n  - id: default\n    storage: \"{dir}\"\n    file: \"%s.zone\"\nzone:\n",
            port = self.port,
            name = key.name,
            algorithm = key.algorithm,
            secret = key.secret,
        );
        for (zone, _) in &self.settings.zones {
            let _ = write!(conf, "  - domain: {zone}\n    acl: zonesync\n");
        }
        std::fs::write(self.dir.path().join("knot.conf"), conf).expect("write knot.conf");
    }

    fn launch(&mut self, pick_port: bool) {
        let attempts = start_attempts(pick_port);
        let mut last_failure = String::new();
        for _ in 0..attempts {
            if pick_port {
                self.port = free_port();
            }
            self.write_config();
            let mut command = Command::new(KNOTD);
            command.arg("-c").arg(self.dir.path().join("knot.conf"));
            let zones: Vec<String> = self
                .settings
                .zones
                .iter()
                .map(|(zone, _)| format!("[{zone}.] loaded"))
                .collect();
            let ready = |log: &str| {
                log.contains("server started") && zones.iter().all(|zone| log.contains(zone))
            };
            let port_taken =
                |log: &str| log.contains("cannot bind") || log.contains("address already in use");
            match ServerProcess::start(
                command,
                &self.dir.path().join("knot.log"),
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
                Err(StartFailure::Failed(message)) => panic!("knotd did not start: {message}"),
            }
        }
        panic!("knotd did not start: {last_failure}");
    }
}

impl DnsServer for Knot {
    fn kind(&self) -> &'static str {
        "knot"
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
        std::fs::read(self.dir.path().join("knot.log"))
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
