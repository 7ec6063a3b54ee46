//! Sending a zone's change groups as a series of requests, for providers whose API takes many
//! groups per request (Route53, the webhook protocol).

use std::fmt::Display;

use crate::{ApplyReport, RecordKey, Rejection, Zone};

/// Sends requests (each a list of change groups) one after another, stopping at the first
/// failure: the groups that failed request left unsent, and every group of the requests after
/// it, are rejected as "not applied: <error>". The zone fails as a whole only when no group
/// was applied at all.
///
/// ```ignore
/// let mut turn = InTurn::new(zone);
/// for request in requests {
///     if let Some(request) = turn.admit(request, &mut report, &subject) {
///         let outcome = send(request, &mut report).await; // Ok(applied) or Err((error, unsent))
///         turn.sent(outcome, &mut report, &subject);
///     }
/// }
/// let not_sent = turn.finish()?;
/// ```
#[derive(Debug)]
pub struct InTurn<'z, E> {
    zone: &'z Zone,
    applied: usize,
    not_sent: usize,
    failure: Option<E>,
}

impl<'z, E: Display> InTurn<'z, E> {
    /// Nothing sent yet in `zone`.
    pub fn new(zone: &'z Zone) -> Self {
        Self {
            zone,
            applied: 0,
            not_sent: 0,
            failure: None,
        }
    }

    /// `request` back when it may be sent; `None` after a failure, its groups rejected.
    pub fn admit<G>(
        &mut self,
        request: Vec<G>,
        report: &mut ApplyReport,
        subject: &impl Fn(&G) -> RecordKey,
    ) -> Option<Vec<G>> {
        if self.failure.is_none() {
            return Some(request);
        }
        self.reject(request, report, subject);
        None
    }

    /// Takes the outcome of a sent request: how many groups it applied, or the error and the
    /// groups it did not send.
    pub fn sent<G>(
        &mut self,
        outcome: Result<usize, (E, Vec<G>)>,
        report: &mut ApplyReport,
        subject: &impl Fn(&G) -> RecordKey,
    ) {
        match outcome {
            Ok(applied) => self.applied += applied,
            Err((error, unsent)) => {
                tracing::error!(zone = %self.zone.name, %error, "change request failed; not sending the rest");
                self.failure = Some(error);
                self.reject(unsent, report, subject);
            }
        }
    }

    fn reject<G>(
        &mut self,
        groups: Vec<G>,
        report: &mut ApplyReport,
        subject: &impl Fn(&G) -> RecordKey,
    ) {
        let reason = self
            .failure
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
        self.not_sent += groups.len();
        for group in groups {
            report.rejected.push(Rejection {
                subject: subject(&group),
                message: format!("not applied: {reason}"),
            });
        }
    }

    /// How many groups were not sent; the error when a request failed before any group was
    /// applied.
    pub fn finish(self) -> Result<usize, E> {
        match self.failure {
            Some(error) if self.applied == 0 => Err(error),
            _ => Ok(self.not_sent),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DnsName, RecordType};

    fn key(name: &&str) -> RecordKey {
        RecordKey {
            name: DnsName::parse(name).unwrap(),
            record_type: RecordType::A,
            set_identifier: None,
        }
    }

    /// Sends `requests` in turn where the group `fails_at` fails its request (the groups
    /// before it in that request are applied): the result, the report and what was sent.
    fn run(
        requests: Vec<Vec<&'static str>>,
        fails_at: &str,
    ) -> (Result<usize, String>, ApplyReport, Vec<Vec<&'static str>>) {
        let zone = Zone::new(DnsName::parse("example.com").unwrap());
        let mut report = ApplyReport::default();
        let mut sent = Vec::new();
        let mut turn = InTurn::new(&zone);
        for request in requests {
            if let Some(request) = turn.admit(request, &mut report, &key) {
                sent.push(request.clone());
                let outcome = match request.iter().position(|name| *name == fails_at) {
                    None => Ok(request.len()),
                    Some(at) => Err((format!("throttled at {fails_at}"), request[at..].to_vec())),
                };
                turn.sent(outcome, &mut report, &key);
            }
        }
        (turn.finish(), report, sent)
    }

    fn rejected(report: &ApplyReport) -> Vec<(String, String)> {
        report
            .rejected
            .iter()
            .map(|r| (r.subject.name.to_string(), r.message.clone()))
            .collect()
    }

    #[test]
    fn the_requests_after_a_failure_are_not_sent_and_their_groups_are_rejected() {
        let (result, report, sent) = run(
            vec![
                vec!["a.example.com"],
                vec!["b.example.com", "c.example.com"],
                vec!["d.example.com"],
            ],
            "c.example.com",
        );
        assert_eq!(result, Ok(2));
        assert_eq!(
            sent,
            vec![
                vec!["a.example.com"],
                vec!["b.example.com", "c.example.com"]
            ]
        );
        let why = "not applied: throttled at c.example.com".to_string();
        assert_eq!(
            rejected(&report),
            [
                ("c.example.com".to_string(), why.clone()),
                ("d.example.com".to_string(), why),
            ]
        );
    }

    #[test]
    fn a_failure_before_anything_applied_fails_the_zone() {
        let (result, report, sent) = run(
            vec![vec!["a.example.com"], vec!["b.example.com"]],
            "a.example.com",
        );
        assert_eq!(result, Err("throttled at a.example.com".to_string()));
        assert_eq!(sent.len(), 1);
        assert_eq!(report.rejected.len(), 2);
    }

    #[test]
    fn without_failures_nothing_is_rejected() {
        let (result, report, sent) = run(vec![vec!["a.example.com", "b.example.com"]], "none");
        assert_eq!(result, Ok(0));
        assert_eq!(sent.len(), 1);
        assert!(report.rejected.is_empty());
    }
}
