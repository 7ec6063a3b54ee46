//! Helpers shared by the integration tests: running the binary, writing manifests.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A `zonesync` command with a clean environment (no `ZONESYNC_*` from the caller).
pub fn zonesync() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_zonesync"));
    for (key, _) in std::env::vars() {
        if key.starts_with("ZONESYNC_") {
            command.env_remove(key);
        }
    }
    command.env("NO_COLOR", "1");
    command
}

/// What a finished run printed.
pub struct Run {
    /// Exit status code.
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    /// Both streams, for assertion messages.
    pub fn both(&self) -> String {
        format!(
            "exit {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

impl From<Output> for Run {
    fn from(output: Output) -> Self {
        Self {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

/// Runs `command` to completion.
pub fn run(command: &mut Command) -> Run {
    command.output().expect("zonesync runs").into()
}

/// Writes `content` to `dir/name` and returns the path.
pub fn write(dir: &Path, name: &str, content: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, content).expect("write test file");
    path
}

/// An Ingress manifest asking for `hosts` (annotation) pointing at load-balancer `ips` and
/// `hostnames`.
pub fn ingress_manifest(namespace: &str, name: &str, hosts: &[&str], targets: &[&str]) -> String {
    let entries: Vec<String> = targets
        .iter()
        .map(|t| {
            if t.parse::<std::net::IpAddr>().is_ok() {
                format!("      - ip: \"{t}\"")
            } else {
                format!("      - hostname: \"{t}\"")
            }
        })
        .collect();
    let entries = if entries.is_empty() {
        "      []".to_string()
    } else {
        entries.join("\n")
    };
    format!(
        "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: {name}\n  namespace: {namespace}\n  annotations:\n    external-dns.kubernetes.io/hostname: \"{}\"\nspec: {{}}\nstatus:\n  loadBalancer:\n    ingress:\n{entries}\n",
        hosts.join(",")
    )
}

/// `zonesync <command>` reading Ingresses and Services from the cluster behind `kubeconfig` and
/// writing zone files in `zones`.
pub fn cluster_to_zonefiles(command: &str, kubeconfig: &Path, zones: &Path) -> Command {
    let mut c = zonesync();
    c.args([command, "--source", "ingress", "--source", "service"])
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(["--provider", "zonefile", "--zonefile-dir"])
        .arg(zones);
    c
}
