//! The zonesync binary under test as a child process: started with `zonesync run`, its metrics
//! scraped over HTTP, its memory and CPU read from `/proc`, stopped with SIGTERM (SIGKILL when it
//! does not exit) and always killed on drop.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};

use crate::procfs;

/// A running `zonesync run`.
pub struct Controller {
    child: Option<Child>,
    pid: u32,
    metrics_address: SocketAddr,
    log: PathBuf,
    /// When the process was spawned.
    pub started: Instant,
    /// The same moment on the wall clock, to read the log's timestamps against.
    started_wall: SystemTime,
}

impl Controller {
    /// Starts `binary run <args>` (under `wrapper` when not empty) with `env`, logging to `log`,
    /// serving metrics on a free loopback port.
    ///
    /// Fails when the process cannot be spawned.
    pub fn start(
        binary: &Path,
        wrapper: &[String],
        args: &[String],
        env: &[(String, String)],
        log: &Path,
    ) -> anyhow::Result<Self> {
        let metrics_address = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port()?));
        let file = std::fs::File::create(log).with_context(|| format!("create {log:?}"))?;
        let mut command = match wrapper.split_first() {
            Some((program, wrapper_args)) => {
                let mut command = Command::new(program);
                command.args(wrapper_args).arg(binary);
                command
            }
            None => Command::new(binary),
        };
        command
            .arg("run")
            .args(args)
            .args(["--metrics-address", &metrics_address.to_string()])
            .stdin(Stdio::null())
            .stdout(file.try_clone()?)
            .stderr(file);
        for (key, value) in env {
            command.env(key, value);
        }
        let started = Instant::now();
        let started_wall = SystemTime::now();
        let child = command
            .spawn()
            .with_context(|| format!("start {}", binary.display()))?;
        eprintln!(
            "zonesync-scale: zonesync pid {} (log {})",
            child.id(),
            log.display()
        );
        Ok(Self {
            pid: child.id(),
            child: Some(child),
            metrics_address,
            log: log.to_path_buf(),
            started,
            started_wall,
        })
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The last lines of the log, for error messages.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// How long after the spawn zonesync logged the first line containing `needle`, by the
    /// line's own timestamp (RFC 3339, UTC, microseconds).
    pub fn logged_after_start(&self, needle: &str) -> Option<Duration> {
        let text = std::fs::read_to_string(&self.log).ok()?;
        let line = text.lines().find(|line| line.contains(needle))?;
        let logged = parse_utc_timestamp(line.split_whitespace().next()?)?;
        let started = self.started_wall.duration_since(UNIX_EPOCH).ok()?;
        Some(logged.saturating_sub(started))
    }

    /// Fails when the process has exited.
    pub fn check_alive(&mut self) -> anyhow::Result<()> {
        if let Some(child) = self.child.as_mut()
            && let Some(status) = child.try_wait()?
        {
            bail!(
                "zonesync exited with {status}; log tail:\n{}",
                self.log_tail()
            );
        }
        Ok(())
    }

    /// Memory now and at its peak.
    pub fn memory(&self) -> procfs::Memory {
        procfs::memory(self.pid).unwrap_or_default()
    }

    /// CPU time used so far.
    pub fn cpu(&self) -> Duration {
        procfs::cpu_time(self.pid).unwrap_or_default()
    }

    /// The current metrics; empty when the endpoint does not answer.
    pub fn metrics(&self) -> Metrics {
        http_get(self.metrics_address, "/metrics")
            .filter(|(status, _)| *status == 200)
            .map(|(_, body)| Metrics::parse(&body))
            .unwrap_or_default()
    }

    /// SIGTERM, then waits up to `grace` for the exit; SIGKILL after that. Returns how long the
    /// process took to exit and whether it exited by itself with status 0.
    pub fn stop(&mut self, grace: Duration) -> (Duration, bool) {
        let Some(mut child) = self.child.take() else {
            return (Duration::ZERO, false);
        };
        let asked = Instant::now();
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        while asked.elapsed() < grace {
            if let Ok(Some(status)) = child.try_wait() {
                return (asked.elapsed(), status.success());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = child.kill();
        let _ = child.wait();
        (asked.elapsed(), false)
    }
}

impl Drop for Controller {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// One scrape of `/metrics`: `(name, labels, value)` per sample line.
#[derive(Clone, Debug, Default)]
pub struct Metrics {
    samples: Vec<(String, String, f64)>,
}

impl Metrics {
    /// Parses OpenMetrics/Prometheus text.
    pub fn parse(text: &str) -> Self {
        let samples = text
            .lines()
            .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
            .filter_map(|line| {
                let (series, value) = line.rsplit_once(' ')?;
                let value: f64 = value.parse().ok()?;
                let (name, labels) = match series.split_once('{') {
                    Some((name, labels)) => (name, labels.trim_end_matches('}')),
                    None => (series, ""),
                };
                Some((name.to_string(), labels.to_string(), value))
            })
            .collect();
        Self { samples }
    }

    /// The sum of every sample of `name` whose labels include each `key="value"` in `labels`.
    pub fn sum(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.samples
            .iter()
            .filter(|(n, l, _)| {
                n == name
                    && labels
                        .iter()
                        .all(|(key, value)| l.contains(&format!("{key}=\"{value}\"")))
            })
            .map(|(_, _, v)| *v)
            .sum::<f64>()
            + 0.0
    }

    /// Every label set of `name` with its value.
    pub fn series(&self, name: &str) -> Vec<(String, f64)> {
        self.samples
            .iter()
            .filter(|(n, _, _)| n == name)
            .map(|(_, l, v)| (l.clone(), *v))
            .collect()
    }

    /// A histogram's cumulative buckets `(upper bound, count)`, `+Inf` last.
    pub fn histogram(&self, name: &str) -> Vec<(f64, f64)> {
        let mut buckets: Vec<(f64, f64)> = self
            .series(&format!("{name}_bucket"))
            .into_iter()
            .filter_map(|(labels, count)| {
                let bound = labels.split("le=\"").nth(1)?.split('"').next()?;
                let bound = if bound == "+Inf" {
                    f64::INFINITY
                } else {
                    bound.parse().ok()?
                };
                Some((bound, count))
            })
            .collect();
        buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
        buckets
    }
}

/// Bucket counts of `after` minus `before` (both cumulative, same bounds).
pub fn histogram_delta(after: &[(f64, f64)], before: &[(f64, f64)]) -> Vec<(f64, f64)> {
    after
        .iter()
        .map(|(bound, count)| {
            let earlier = before
                .iter()
                .find(|(b, _)| b == bound)
                .map_or(0.0, |(_, c)| *c);
            (*bound, count - earlier)
        })
        .collect()
}

/// The upper bound of the bucket holding quantile `q` of a cumulative histogram.
pub fn histogram_quantile(buckets: &[(f64, f64)], q: f64) -> Option<f64> {
    let total = buckets.last()?.1;
    if total <= 0.0 {
        return None;
    }
    buckets
        .iter()
        .find(|(_, count)| *count >= q * total)
        .map(|(bound, _)| *bound)
}

/// Parses `2026-11-22T06:14:34.639691Z` into time since the epoch.
fn parse_utc_timestamp(text: &str) -> Option<Duration> {
    let text = text.strip_suffix('Z')?;
    let (date, time) = text.split_once('T')?;
    let mut date_parts = date.split('-').map(|p| p.parse::<i64>());
    let (year, month, day) = (
        date_parts.next()?.ok()?,
        date_parts.next()?.ok()?,
        date_parts.next()?.ok()?,
    );
    let (clock, fraction) = time.split_once('.').unwrap_or((time, "0"));
    let mut clock_parts = clock.split(':').map(|p| p.parse::<i64>());
    let (hour, minute, second) = (
        clock_parts.next()?.ok()?,
        clock_parts.next()?.ok()?,
        clock_parts.next()?.ok()?,
    );
    let nanos: u32 = format!("{fraction:0<9}").get(..9)?.parse().ok()?;
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let day_of_year = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = era * 146_097 + day_of_era - 719_468;
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second;
    Some(Duration::new(u64::try_from(seconds).ok()?, nanos))
}

/// A loopback TCP port free right now.
///
/// Fails when none can be bound.
pub fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port())
}

/// A GET over plain HTTP/1.0 with short timeouts: (status, body).
pub fn http_get(address: SocketAddr, path: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_millis(500)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split_whitespace().nth(1)?.parse().ok()?;
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())?;
    Some((status, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_parse_as_utc() {
        assert_eq!(
            parse_utc_timestamp("1970-01-02T00:00:01.5Z"),
            Some(Duration::from_millis(86_401_500))
        );
        assert_eq!(
            parse_utc_timestamp("2026-11-22T06:14:34.639691Z"),
            Some(Duration::new(1_795_328_074, 639_691_000))
        );
    }

    #[test]
    fn metrics_sum_matching_series() {
        let metrics = Metrics::parse(
            "# TYPE x counter\nx_total{a=\"1\",b=\"2\"} 3\nx_total{a=\"1\",b=\"3\"} 4\ny 1.5\n",
        );
        assert_eq!(metrics.sum("x_total", &[("a", "1")]), 7.0);
        assert_eq!(metrics.sum("x_total", &[("b", "3")]), 4.0);
        assert_eq!(metrics.sum("y", &[]), 1.5);
        assert_eq!(metrics.sum("z", &[]).to_string(), "0");
    }
}
