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

/// Finds the groups a provider rejects within a request by bisection: a rejected part is split
/// in two and both halves are sent again, until every rejected group is alone; all the others
/// are applied. At most 2n - 1 requests for n groups.
///
/// ```ignore
/// let mut bisect = Bisect::new(request);
/// while let Some(part) = bisect.next_part() {
///     match send(&part).await {
///         Ok(()) => bisect.accepted(&part),
///         Err(error) if error.is_rejection() => {
///             if let Some(group) = bisect.rejected(zone, part, &error) { /* report it */ }
///         }
///         Err(error) => return Err((error, bisect.unsent(part))),
///     }
/// }
/// Ok(bisect.applied())
/// ```
#[derive(Debug)]
pub struct Bisect<G> {
    pending: Vec<Vec<G>>,
    applied: usize,
}

impl<G: Clone> Bisect<G> {
    /// Starts with the whole `request`.
    pub fn new(request: Vec<G>) -> Self {
        Self {
            pending: vec![request],
            applied: 0,
        }
    }

    /// The next part to send.
    pub fn next_part(&mut self) -> Option<Vec<G>> {
        self.pending.pop()
    }

    /// The provider applied `part`.
    pub fn accepted(&mut self, part: &[G]) {
        self.applied += part.len();
    }

    /// The provider rejected `part` with `error`: a part of several groups is split to be sent
    /// again; a lone group comes back for the caller to report as rejected.
    pub fn rejected(&mut self, zone: &Zone, part: Vec<G>, error: &impl Display) -> Option<G> {
        if part.len() > 1 {
            tracing::info!(zone = %zone.name, groups = part.len(), %error, "change batch rejected; splitting it to find the offending records");
            let (first, second) = part.split_at(part.len() / 2);
            self.pending.push(second.to_vec());
            self.pending.push(first.to_vec());
            None
        } else {
            part.into_iter().next()
        }
    }

    /// Stops after a failure other than a rejection: `part` and every part not yet sent.
    pub fn unsent(self, part: Vec<G>) -> Vec<G> {
        let mut unsent = part;
        unsent.extend(self.pending.into_iter().flatten());
        unsent
    }

    /// Groups applied so far.
    pub fn applied(&self) -> usize {
        self.applied
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

    /// Bisects `request` where the provider rejects every part holding a name in `bad`:
    /// (applied, rejected alone, requests sent).
    fn bisect(request: Vec<&'static str>, bad: &[&str]) -> (usize, Vec<&'static str>, usize) {
        let zone = Zone::new(DnsName::parse("example.com").unwrap());
        let mut bisect = Bisect::new(request);
        let mut lone = Vec::new();
        let mut sent = 0;
        while let Some(part) = bisect.next_part() {
            sent += 1;
            if part.iter().any(|name| bad.contains(name)) {
                lone.extend(bisect.rejected(&zone, part, &"rejected"));
            } else {
                bisect.accepted(&part);
            }
        }
        (bisect.applied(), lone, sent)
    }

    #[test]
    fn bisection_isolates_each_rejected_group_and_applies_the_rest() {
        let request = vec!["a", "b", "c", "d", "e"];
        assert_eq!(bisect(request.clone(), &[]), (5, vec![], 1));
        let (applied, lone, sent) = bisect(request.clone(), &["b", "e"]);
        assert_eq!((applied, lone.clone()), (3, vec!["b", "e"]));
        assert!(sent < 2 * request.len(), "{sent} requests");
        assert_eq!(bisect(vec!["a"], &["a"]), (0, vec!["a"], 1));
    }

    #[test]
    fn a_failure_returns_the_part_and_everything_not_yet_sent() {
        let zone = Zone::new(DnsName::parse("example.com").unwrap());
        let mut bisect = Bisect::new(vec!["a", "b", "c", "d"]);
        let part = bisect.next_part().unwrap();
        assert!(bisect.rejected(&zone, part, &"rejected").is_none());
        let first = bisect.next_part().unwrap();
        assert_eq!(first, ["a", "b"]);
        let mut unsent = bisect.unsent(first);
        unsent.sort();
        assert_eq!(unsent, ["a", "b", "c", "d"]);
    }
}
