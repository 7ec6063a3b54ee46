//! Starting, watching and stopping a server process whose log goes to a file.

use std::fs::File;
use std::net::{Ipv4Addr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a server may take to become ready.
const START_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a server may take to exit after SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);
/// How many ports to try when the chosen one turns out to be taken.
const PORT_ATTEMPTS: usize = 8;
/// A restart needs its old port back (clients know it): how often to try while another process
/// (often a test probing for a free port) holds it for a moment, and how long to wait between.
const RESTART_ATTEMPTS: usize = 50;
const RESTART_PAUSE: Duration = Duration::from_millis(100);

/// How many start attempts to make: on fresh ports, or on the same port for a restart.
pub(crate) fn start_attempts(pick_port: bool) -> usize {
    if pick_port {
        PORT_ATTEMPTS
    } else {
        RESTART_ATTEMPTS
    }
}

/// Waits before another attempt on the same port (nothing to wait for with a fresh port).
pub(crate) fn before_retry(pick_port: bool) {
    if !pick_port {
        std::thread::sleep(RESTART_PAUSE);
    }
}

/// Why a start attempt failed.
#[derive(Debug)]
pub(crate) enum StartFailure {
    /// Another process holds the port: try another one.
    PortTaken,
    /// The server exited or never became ready; the log says why.
    Failed(String),
}

/// A running server process, stopped on drop.
pub(crate) struct ServerProcess {
    child: Option<Child>,
    log_path: PathBuf,
}

impl ServerProcess {
    /// Spawns `command` with stderr (and stdout) written to `log_path`, then waits until the log
    /// satisfies `ready`.
    ///
    /// Fails with [`StartFailure::PortTaken`] when the log satisfies `port_taken`.
    pub(crate) fn start(
        mut command: Command,
        log_path: &Path,
        ready: &dyn Fn(&str) -> bool,
        port_taken: &dyn Fn(&str) -> bool,
    ) -> Result<Self, StartFailure> {
        let log = File::create(log_path)
            .map_err(|e| StartFailure::Failed(format!("cannot create {log_path:?}: {e}")))?;
        let log_err = log
            .try_clone()
            .map_err(|e| StartFailure::Failed(format!("cannot clone log handle: {e}")))?;
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log_err))
            .spawn()
            .map_err(|e| StartFailure::Failed(format!("cannot start {command:?}: {e}")))?;
        let mut process = Self {
            child: Some(child),
            log_path: log_path.to_path_buf(),
        };
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let log = process.log();
            if port_taken(&log) {
                process.stop();
                return Err(StartFailure::PortTaken);
            }
            if ready(&log) {
                return Ok(process);
            }
            if !process.is_running() {
                return Err(StartFailure::Failed(format!(
                    "server exited before it was ready; log:\n{}",
                    process.log()
                )));
            }
            if Instant::now() > deadline {
                process.stop();
                return Err(StartFailure::Failed(format!(
                    "server not ready after {START_TIMEOUT:?}; log:\n{}",
                    process.log()
                )));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The log so far (lossy UTF-8).
    pub(crate) fn log(&self) -> String {
        std::fs::read(&self.log_path)
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .unwrap_or_default()
    }

    /// True while the process has not exited.
    pub(crate) fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// SIGTERM, a bounded wait, then SIGKILL. Idempotent.
    pub(crate) fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if matches!(child.try_wait(), Ok(Some(_))) {
            return;
        }
        // Graceful first, so named and knotd flush their journals; `kill` by our child's PID.
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + STOP_TIMEOUT;
        while Instant::now() < deadline {
            if matches!(child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A loopback port that is free for both TCP and UDP right now.
///
/// # Panics
/// When no such port is found in 50 attempts.
pub(crate) fn free_port() -> u16 {
    for _ in 0..50 {
        let Ok(tcp) = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)) else {
            continue;
        };
        let Ok(address) = tcp.local_addr() else {
            continue;
        };
        if UdpSocket::bind((Ipv4Addr::LOCALHOST, address.port())).is_ok() {
            return address.port();
        }
    }
    panic!("no free loopback port found for a DNS server");
}
