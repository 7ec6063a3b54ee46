//! What a server's refusal means: response codes and TSIG errors turned into an operator's
//! message and an [`ErrorKind`].

use std::fmt;

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::rdata::tsig::TsigError;
use zonesync_core::ErrorKind;

/// What zonesync asked the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Operation {
    /// The SOA query that checks the serial.
    SoaQuery,
    /// The AXFR that reads the zone.
    Transfer,
    /// An UPDATE message.
    Update,
    /// Queries that read changed RRsets back.
    ReadBack,
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Operation::SoaQuery => "SOA query",
            Operation::Transfer => "zone transfer (AXFR)",
            Operation::Update => "UPDATE",
            Operation::ReadBack => "read-back query",
        })
    }
}

/// The codes of an answer that was not a success.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Refusal {
    /// The response code.
    pub rcode: ResponseCode,
    /// The error of the answer's TSIG record, if any.
    pub tsig_error: Option<TsigError>,
}

impl Refusal {
    /// The refusal an answer carries, or `None` for NOERROR without TSIG error. NXDOMAIN counts as
    /// a refusal only where `nxdomain_is_error`.
    pub(crate) fn of(message: &Message, nxdomain_is_error: bool) -> Option<Self> {
        let tsig_error = message.signature().and_then(|tsig| tsig.data.error);
        let rcode = message.metadata.response_code;
        let failed = tsig_error.is_some()
            || match rcode {
                ResponseCode::NoError => false,
                ResponseCode::NXDomain => nxdomain_is_error,
                _ => true,
            };
        failed.then_some(Self { rcode, tsig_error })
    }

    /// `REFUSED`, or `NOTAUTH, TSIG error BADSIG` when the TSIG record says more.
    pub(crate) fn codes(&self) -> String {
        match self.tsig_error {
            Some(error) => format!(
                "{}, TSIG error {}",
                mnemonic(self.rcode),
                tsig_mnemonic(error)
            ),
            None => mnemonic(self.rcode),
        }
    }

    /// True when the refusal concerns the key or the zone as a whole, so every other message to
    /// this zone would be refused the same way (no point in splitting a batch).
    pub(crate) fn affects_whole_zone(&self) -> bool {
        self.tsig_error.is_some()
            || matches!(self.rcode, ResponseCode::NotAuth | ResponseCode::NotImp)
    }

    /// The failure class and what the refusal usually means.
    ///
    /// `key` is the TSIG key name (`None` with `--rfc2136-insecure`).
    pub(crate) fn explain(&self, operation: Operation, key: Option<&str>) -> (ErrorKind, String) {
        let key_text = key.map_or("(none: --rfc2136-insecure)".to_string(), |k| {
            format!("{k:?}")
        });
        if let Some(error) = self.tsig_error {
            let meaning = match error {
                TsigError::BadKey => format!(
                    "TSIG authentication failed: the server does not know key {key_text} (or not with this algorithm); check --rfc2136-tsig-keyname and --rfc2136-tsig-secret-alg against the server's key"
                ),
                TsigError::BadSig => format!(
                    "TSIG authentication failed: the signature made with key {key_text} does not verify; the secret (or --rfc2136-tsig-secret-alg) differs from the server's"
                ),
                TsigError::BadTime => "TSIG authentication failed: the clocks of zonesync and the server differ by more than 5 minutes".to_string(),
                _ => format!("TSIG authentication failed for key {key_text}"),
            };
            return (ErrorKind::Auth, meaning);
        }
        let insecure = key.is_none();
        match (self.rcode, operation) {
            (ResponseCode::NotAuth, _) if insecure => (
                ErrorKind::Auth,
                "the server is not authoritative for the zone or requires TSIG (requests are unsigned with --rfc2136-insecure); check --rfc2136-zone, --rfc2136-host and the server's allow-update/allow-transfer".to_string(),
            ),
            (ResponseCode::NotAuth, _) => (
                ErrorKind::Config,
                "the server is not authoritative for the zone: it does not serve it as a primary (check --rfc2136-zone and --rfc2136-host)".to_string(),
            ),
            (ResponseCode::Refused, Operation::Update) => (
                ErrorKind::Auth,
                if insecure {
                    "the server does not accept unsigned updates for this zone (configure a TSIG key instead of --rfc2136-insecure)".to_string()
                } else {
                    format!("key {key_text} may not update this zone or these names: a key or policy problem (check allow-update / update-policy on the server)")
                },
            ),
            (ResponseCode::Refused, Operation::Transfer) => (
                ErrorKind::Auth,
                if insecure {
                    "the server does not allow unsigned zone transfers (configure a TSIG key instead of --rfc2136-insecure)".to_string()
                } else {
                    format!("key {key_text} may not transfer this zone: a key or policy problem (allow-transfer must permit the key)")
                },
            ),
            (ResponseCode::Refused, _) => (
                ErrorKind::Config,
                "the server does not answer for this zone: it does not serve it (check --rfc2136-zone and --rfc2136-host), or its allow-query excludes zonesync".to_string(),
            ),
            (ResponseCode::NXDomain, _) => (
                ErrorKind::Config,
                "the zone does not exist on the server (check --rfc2136-zone)".to_string(),
            ),
            (ResponseCode::NotZone, _) => (
                ErrorKind::Config,
                "a name in the update lies outside the zone as the server sees it: the server serves a more specific zone for it, so the --rfc2136-zone list is wrong (add that zone)".to_string(),
            ),
            (ResponseCode::ServFail, Operation::Update) => (
                ErrorKind::Permanent,
                "the server failed to apply the update and rolled it back, usually a server-side limit such as BIND's max-records-per-type (100 records in one RRset) or a journal problem; see the server's log".to_string(),
            ),
            (ResponseCode::ServFail, _) => (
                ErrorKind::Transient,
                "the server failed to answer, usually because the zone did not load; see the server's log".to_string(),
            ),
            (ResponseCode::FormErr, _) => (
                ErrorKind::Permanent,
                "the server could not parse the request".to_string(),
            ),
            (ResponseCode::NotImp, _) => (
                ErrorKind::Permanent,
                format!("the server does not implement this operation ({operation})"),
            ),
            (ResponseCode::YXDomain | ResponseCode::YXRRSet | ResponseCode::NXRRSet, _) => (
                ErrorKind::Permanent,
                "a prerequisite of the update failed".to_string(),
            ),
            _ => (
                ErrorKind::Permanent,
                "the server refused the request".to_string(),
            ),
        }
    }
}

/// The mnemonic of a response code (`NOERROR`, `REFUSED`, …).
pub(crate) fn mnemonic(rcode: ResponseCode) -> String {
    match rcode {
        ResponseCode::NoError => "NOERROR".into(),
        ResponseCode::FormErr => "FORMERR".into(),
        ResponseCode::ServFail => "SERVFAIL".into(),
        ResponseCode::NXDomain => "NXDOMAIN".into(),
        ResponseCode::NotImp => "NOTIMP".into(),
        ResponseCode::Refused => "REFUSED".into(),
        ResponseCode::YXDomain => "YXDOMAIN".into(),
        ResponseCode::YXRRSet => "YXRRSET".into(),
        ResponseCode::NXRRSet => "NXRRSET".into(),
        ResponseCode::NotAuth => "NOTAUTH".into(),
        ResponseCode::NotZone => "NOTZONE".into(),
        other => format!("RCODE {}", u16::from(other)),
    }
}

fn tsig_mnemonic(error: TsigError) -> String {
    match error {
        TsigError::BadSig => "BADSIG".into(),
        TsigError::BadKey => "BADKEY".into(),
        TsigError::BadTime => "BADTIME".into(),
        TsigError::BadTrunc => "BADTRUNC".into(),
        TsigError::Unknown(code) => format!("{code}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tsig_errors_are_authentication_failures() {
        let refusal = Refusal {
            rcode: ResponseCode::NotAuth,
            tsig_error: Some(TsigError::BadSig),
        };
        assert_eq!(refusal.codes(), "NOTAUTH, TSIG error BADSIG");
        let (kind, text) = refusal.explain(Operation::Update, Some("zonesync-key"));
        assert_eq!(kind, ErrorKind::Auth);
        assert!(text.starts_with("TSIG authentication failed"), "{text}");
        assert!(refusal.affects_whole_zone());
    }

    #[test]
    fn notauth_without_tsig_error_means_zone_not_served() {
        let refusal = Refusal {
            rcode: ResponseCode::NotAuth,
            tsig_error: None,
        };
        let (kind, text) = refusal.explain(Operation::Update, Some("k"));
        assert_eq!(kind, ErrorKind::Config);
        assert!(text.contains("not authoritative"), "{text}");
    }

    #[test]
    fn servfail_on_update_points_at_server_limits_and_can_be_isolated() {
        let refusal = Refusal {
            rcode: ResponseCode::ServFail,
            tsig_error: None,
        };
        let (kind, text) = refusal.explain(Operation::Update, Some("k"));
        assert_eq!(kind, ErrorKind::Permanent);
        assert!(text.contains("max-records-per-type"), "{text}");
        assert!(!refusal.affects_whole_zone());
    }
}
