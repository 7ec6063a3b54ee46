//! What `/healthz` and `/readyz` answer: readiness from the watches, leadership and the last
//! successful sync.

use std::fmt;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// What `/readyz` reports on.
pub struct Health {
    synced: AtomicBool,
    watch_failing: Mutex<Option<String>>,
    leader: AtomicBool,
    last_success: Mutex<Option<Instant>>,
    last_error: Mutex<Option<String>>,
    held_back: Mutex<Vec<String>>,
    max_sync_age: Duration,
}

impl Health {
    /// Readiness requires a successful sync at most `max_sync_age` ago (for the leader).
    pub fn new(max_sync_age: Duration) -> Self {
        Self {
            synced: AtomicBool::new(false),
            watch_failing: Mutex::new(None),
            leader: AtomicBool::new(false),
            last_success: Mutex::new(None),
            last_error: Mutex::new(None),
            held_back: Mutex::new(Vec::new()),
            max_sync_age,
        }
    }

    /// Every watch delivered its initial list.
    pub fn set_synced(&self, synced: bool) {
        self.synced.store(synced, Ordering::Relaxed);
    }

    /// A watch is failing (`Some(reason)`) or healthy again (`None`).
    pub fn set_watch_failing(&self, reason: Option<String>) {
        *self.watch_failing.lock().unwrap_or_else(|e| e.into_inner()) = reason;
    }

    /// Leadership changed.
    pub fn set_leader(&self, leader: bool) {
        self.leader.store(leader, Ordering::Relaxed);
    }

    /// A reconcile succeeded.
    pub fn record_success(&self) {
        *self.last_success.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
        *self.last_error.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// The safety refusals of the last reconcile (shown by `/readyz`, which stays ready: the rest
    /// of DNS keeps being managed).
    pub fn set_held_back(&self, refusals: Vec<String>) {
        *self.held_back.lock().unwrap_or_else(|e| e.into_inner()) = refusals;
    }

    /// A reconcile failed.
    pub fn record_failure(&self, error: String) {
        *self.last_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(error);
    }

    /// Whether `/readyz` answers 200, and what it says.
    ///
    /// Fails while a watch has not delivered its initial list or is failing, and, for the
    /// leader, when the last successful sync is missing or older than the limit.
    pub fn readiness(&self) -> Result<Ready, NotReady> {
        let failing = self
            .watch_failing
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if !self.synced.load(Ordering::Relaxed) {
            return Err(NotReady::InitialList { failing });
        }
        if let Some(reason) = failing {
            return Err(NotReady::WatchFailing { reason });
        }
        if !self.leader.load(Ordering::Relaxed) {
            return Ok(Ready::Standby);
        }
        let last = *self.last_success.lock().unwrap_or_else(|e| e.into_inner());
        let last_error = self
            .last_error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let held_back = self
            .held_back
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        match last {
            Some(at) if at.elapsed() <= self.max_sync_age => Ok(Ready::Leader { held_back }),
            Some(at) => Err(NotReady::SyncTooOld {
                age: at.elapsed(),
                limit: self.max_sync_age,
                last_error,
            }),
            None => Err(NotReady::NeverSynced { last_error }),
        }
    }
}

/// Why `/readyz` answers 200.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ready {
    /// A standby replica, ready to take over.
    Standby,
    /// The leader, synced recently.
    Leader {
        /// The safety refusals of the last reconcile (the rest of DNS keeps being managed).
        held_back: Vec<String>,
    },
}

impl fmt::Display for Ready {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ready::Standby => f.write_str("ready (standby)"),
            Ready::Leader { held_back } if held_back.is_empty() => f.write_str("ready"),
            Ready::Leader { held_back } => write!(f, "ready; held back: {}", held_back.join("; ")),
        }
    }
}

/// Why `/readyz` answers 503.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NotReady {
    /// A watch has not delivered its initial list yet.
    #[error("waiting for the initial list of every watched resource{}", detail(": ", .failing))]
    InitialList {
        /// Why a watch is failing, if one is.
        failing: Option<String>,
    },
    /// A watch is failing after its initial list.
    #[error("a watch is failing: {reason}")]
    WatchFailing {
        /// Why.
        reason: String,
    },
    /// The leader's last successful sync is older than `--readiness-max-sync-age`.
    #[error(
        "last successful sync {}s ago (limit {}s){}",
        .age.as_secs(),
        .limit.as_secs(),
        detail("; last error: ", .last_error)
    )]
    SyncTooOld {
        /// Time since the last successful sync.
        age: Duration,
        /// The limit.
        limit: Duration,
        /// The error of the last failed sync, if the last one failed.
        last_error: Option<String>,
    },
    /// The leader has not synced successfully yet.
    #[error("no successful sync yet{}", detail("; last error: ", .last_error))]
    NeverSynced {
        /// The error of the last failed sync, if one failed.
        last_error: Option<String>,
    },
}

fn detail(separator: &str, text: &Option<String>) -> String {
    text.as_ref()
        .map(|text| format!("{separator}{text}"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readiness_follows_sync_and_leadership() {
        let health = Health::new(Duration::from_secs(60));
        assert_eq!(
            health.readiness(),
            Err(NotReady::InitialList { failing: None })
        );
        health.set_synced(true);
        assert_eq!(health.readiness(), Ok(Ready::Standby));
        assert_eq!(health.readiness().unwrap().to_string(), "ready (standby)");
        health.set_leader(true);
        health.record_failure("zone example.com refused".into());
        let error = health.readiness().unwrap_err();
        assert_eq!(
            error.to_string(),
            "no successful sync yet; last error: zone example.com refused"
        );
        health.record_success();
        health.set_held_back(vec!["too many deletions in example.com".into()]);
        assert_eq!(
            health.readiness().unwrap().to_string(),
            "ready; held back: too many deletions in example.com"
        );
        health.set_held_back(Vec::new());
        assert_eq!(health.readiness().unwrap().to_string(), "ready");
        health.set_watch_failing(Some("500 from the API server".into()));
        assert_eq!(
            health.readiness().unwrap_err().to_string(),
            "a watch is failing: 500 from the API server"
        );
        health.set_synced(false);
        assert_eq!(
            health.readiness().unwrap_err().to_string(),
            "waiting for the initial list of every watched resource: 500 from the API server"
        );
    }

    #[test]
    fn a_stale_sync_makes_the_leader_unready() {
        let health = Health::new(Duration::ZERO);
        health.set_synced(true);
        health.set_leader(true);
        health.record_success();
        std::thread::sleep(Duration::from_millis(5));
        let error = health.readiness().unwrap_err();
        assert!(matches!(error, NotReady::SyncTooOld { .. }), "{error}");
        assert!(
            error
                .to_string()
                .starts_with("last successful sync 0s ago (limit 0s)"),
            "{error}"
        );
    }
}
