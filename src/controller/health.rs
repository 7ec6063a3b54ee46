//! What `/healthz` and `/readyz` answer: readiness from the watches, leadership and the last
//! successful sync.

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

    /// `Ok` with a short text when ready, `Err` with the reason when not.
    pub fn readiness(&self) -> Result<String, String> {
        if !self.synced.load(Ordering::Relaxed) {
            let failing = self
                .watch_failing
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone();
            return Err(match failing {
                Some(reason) => {
                    format!("waiting for the initial list of every watched resource: {reason}")
                }
                None => "waiting for the initial list of every watched resource".into(),
            });
        }
        if let Some(reason) = self
            .watch_failing
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
        {
            return Err(format!("a watch is failing: {reason}"));
        }
        if !self.leader.load(Ordering::Relaxed) {
            return Ok("ready (standby)".into());
        }
        let last = *self.last_success.lock().unwrap_or_else(|e| e.into_inner());
        let error = self
            .last_error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let held = self
            .held_back
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let note = if held.is_empty() {
            String::new()
        } else {
            format!("; held back: {}", held.join("; "))
        };
        match last {
            Some(at) if at.elapsed() <= self.max_sync_age => Ok(format!("ready{note}")),
            Some(at) => Err(format!(
                "last successful sync {}s ago (limit {}s){}",
                at.elapsed().as_secs(),
                self.max_sync_age.as_secs(),
                error
                    .map(|e| format!("; last error: {e}"))
                    .unwrap_or_default()
            )),
            None => Err(format!(
                "no successful sync yet{}",
                error
                    .map(|e| format!("; last error: {e}"))
                    .unwrap_or_default()
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readiness_follows_sync_and_leadership() {
        let health = Health::new(Duration::from_secs(60));
        assert!(health.readiness().is_err());
        health.set_synced(true);
        assert_eq!(health.readiness().unwrap(), "ready (standby)");
        health.set_leader(true);
        assert!(
            health
                .readiness()
                .unwrap_err()
                .contains("no successful sync yet")
        );
        health.record_success();
        assert_eq!(health.readiness().unwrap(), "ready");
        health.set_watch_failing(Some("500 from the API server".into()));
        assert!(health.readiness().unwrap_err().contains("500"));
    }
}
