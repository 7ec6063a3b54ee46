//! TSIG (RFC 8945) signing of requests and verification of responses.
//!
//! hickory's own `TSigner` supports only hmac-sha256/384/512 and verifies responses before the
//! caller sees them, which turns a server's BADKEY/BADSIG answer into a misleading "truncated
//! HMACs" error. This signer reuses hickory's wire encoding of the TSIG record and of the data to
//! be signed, computes the MAC with aws-lc-rs for every algorithm external-dns offers, and leaves
//! the response code to the caller.

use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::hmac;
use hickory_proto::op::Message;
use hickory_proto::rr::Name;
use hickory_proto::rr::rdata::tsig::{
    TSIG, TsigAlgorithm as WireAlgorithm, make_tsig_record, message_tbs, signed_bitmessage_to_buf,
};

use crate::config::{TsigAlgorithm, TsigKey};

/// Allowed clock difference between us and the server, in seconds (BIND's default).
const FUDGE: u16 = 300;

/// Why a response's signature is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TsigFailure {
    /// The response carries no TSIG record although the request was signed.
    #[error("the response is not signed")]
    Unsigned,
    /// The response is signed with another key or algorithm.
    #[error("the response is signed with key {key:?} ({algorithm}), not ours")]
    OtherKey {
        /// Key name in the response.
        key: String,
        /// Algorithm in the response.
        algorithm: String,
    },
    /// The MAC is shorter than the algorithm's output (truncated MACs are not accepted).
    #[error("the response's MAC is truncated")]
    Truncated,
    /// The MAC does not verify with our secret.
    #[error("the response's MAC does not verify with our secret")]
    BadMac,
    /// The response was signed too far from our clock.
    #[error("the response was signed at {signed}, more than {fudge} s from our clock ({now})")]
    BadTime {
        /// Signing time in the response (seconds since the epoch).
        signed: u64,
        /// Our time.
        now: u64,
        /// Allowed difference.
        fudge: u16,
    },
    /// The message could not be parsed for verification.
    #[error("the response cannot be parsed for TSIG verification: {0}")]
    Malformed(String),
}

/// A TSIG key name that cannot be written into a DNS message.
#[derive(Debug, thiserror::Error)]
#[error("TSIG key name {name} is not usable")]
pub(crate) struct UnusableKeyName {
    /// The key name.
    name: String,
    /// Why it cannot be encoded.
    #[source]
    source: hickory_proto::ProtoError,
}

/// Signs requests with one key and verifies the responses.
pub(crate) struct TsigSigner {
    key_name: Name,
    algorithm: TsigAlgorithm,
    key: hmac::Key,
}

impl TsigSigner {
    /// A signer for `key`. Fails when the key name is not a valid DNS name.
    pub(crate) fn new(key: &TsigKey) -> Result<Self, UnusableKeyName> {
        let key_name =
            Name::from_ascii(key.name().to_fqdn()).map_err(|source| UnusableKeyName {
                name: key.name().to_string(),
                source,
            })?;
        let algorithm = match key.algorithm() {
            TsigAlgorithm::HmacSha1 => hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
            TsigAlgorithm::HmacSha224 => hmac::HMAC_SHA224,
            TsigAlgorithm::HmacSha256 => hmac::HMAC_SHA256,
            TsigAlgorithm::HmacSha384 => hmac::HMAC_SHA384,
            TsigAlgorithm::HmacSha512 => hmac::HMAC_SHA512,
        };
        Ok(Self {
            key_name,
            algorithm: key.algorithm(),
            key: hmac::Key::new(algorithm, key.secret()),
        })
    }

    fn wire_algorithm(&self) -> WireAlgorithm {
        match self.algorithm {
            TsigAlgorithm::HmacSha1 => WireAlgorithm::HmacSha1,
            TsigAlgorithm::HmacSha224 => WireAlgorithm::HmacSha224,
            TsigAlgorithm::HmacSha256 => WireAlgorithm::HmacSha256,
            TsigAlgorithm::HmacSha384 => WireAlgorithm::HmacSha384,
            TsigAlgorithm::HmacSha512 => WireAlgorithm::HmacSha512,
        }
    }

    /// Signs `message` (its id must be final): appends the TSIG record and returns the request
    /// MAC, which the first response's signature covers.
    pub(crate) fn sign(&self, message: &mut Message) -> Result<Vec<u8>, String> {
        let stub = TSIG::new(
            self.wire_algorithm(),
            now(),
            FUDGE,
            Vec::new(),
            message.metadata.id,
            None,
            Vec::new(),
        );
        let to_be_signed = message_tbs(&*message, &stub, &self.key_name)
            .map_err(|e| format!("cannot encode the message for signing: {e}"))?;
        let mac = hmac::sign(&self.key, &to_be_signed).as_ref().to_vec();
        message.set_signature(Box::new(make_tsig_record(
            self.key_name.clone(),
            stub.set_mac(mac.clone()),
        )));
        Ok(mac)
    }

    /// Verifies a signed response in wire format. `previous_mac` is the request MAC for the
    /// first response message, and the previous response's MAC for later messages of a zone
    /// transfer (`first` false). Returns this message's MAC for chaining.
    pub(crate) fn verify(
        &self,
        response: &[u8],
        previous_mac: &[u8],
        first: bool,
    ) -> Result<Vec<u8>, TsigFailure> {
        let (to_be_verified, record) =
            signed_bitmessage_to_buf(response, Some(previous_mac), first).map_err(|e| {
                if e.to_string().contains("missing tsig") || e.to_string().contains("not found") {
                    TsigFailure::Unsigned
                } else {
                    TsigFailure::Malformed(e.to_string())
                }
            })?;
        let tsig = &record.data;
        let key = record.name.to_ascii();
        let algorithm = tsig.algorithm.to_name().to_ascii();
        if !same_name(&key, &self.key_name.to_ascii())
            || !same_name(&algorithm, self.algorithm.as_str())
        {
            return Err(TsigFailure::OtherKey { key, algorithm });
        }
        if tsig.mac.len() < self.key.algorithm().digest_algorithm().output_len() {
            return Err(TsigFailure::Truncated);
        }
        hmac::verify(&self.key, &to_be_verified, &tsig.mac).map_err(|_| TsigFailure::BadMac)?;
        let now = now();
        if now.abs_diff(tsig.time) > u64::from(tsig.fudge) {
            return Err(TsigFailure::BadTime {
                signed: tsig.time,
                now,
                fudge: tsig.fudge,
            });
        }
        Ok(tsig.mac.clone())
    }
}

fn same_name(a: &str, b: &str) -> bool {
    a.trim_end_matches('.')
        .eq_ignore_ascii_case(b.trim_end_matches('.'))
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::op::{MessageType, OpCode, Query};
    use hickory_proto::rr::RecordType;
    use zonesync_core::DnsName;

    fn key(algorithm: TsigAlgorithm, secret: &[u8]) -> TsigKey {
        TsigKey::new(
            DnsName::parse("zonesync-key").unwrap(),
            algorithm,
            secret.to_vec(),
        )
    }

    /// Plays the server: signs a response to a request whose MAC is `request_mac`.
    fn sign_response(signer: &TsigSigner, request_mac: &[u8], id: u16) -> Vec<u8> {
        let mut response = Message::new(id, MessageType::Response, OpCode::Query);
        response.add_query(Query::query(
            Name::from_ascii("example.org.").unwrap(),
            RecordType::SOA,
        ));
        let stub = TSIG::new(
            signer.wire_algorithm(),
            now(),
            FUDGE,
            Vec::new(),
            id,
            None,
            Vec::new(),
        );
        let mut to_be_signed = Vec::new();
        to_be_signed.extend_from_slice(&(request_mac.len() as u16).to_be_bytes());
        to_be_signed.extend_from_slice(request_mac);
        to_be_signed.extend(message_tbs(&response, &stub, &signer.key_name).unwrap());
        let mac = hmac::sign(&signer.key, &to_be_signed).as_ref().to_vec();
        response.set_signature(Box::new(make_tsig_record(
            signer.key_name.clone(),
            stub.set_mac(mac),
        )));
        response.to_vec().unwrap()
    }

    #[test]
    fn signs_and_verifies_with_every_algorithm() {
        for algorithm in [
            TsigAlgorithm::HmacSha1,
            TsigAlgorithm::HmacSha224,
            TsigAlgorithm::HmacSha256,
            TsigAlgorithm::HmacSha384,
            TsigAlgorithm::HmacSha512,
        ] {
            let signer = TsigSigner::new(&key(algorithm, b"0123456789abcdef")).unwrap();
            let mut request = Message::new(7, MessageType::Query, OpCode::Query);
            let request_mac = signer.sign(&mut request).unwrap();
            assert!(request.signature().is_some());
            let response = sign_response(&signer, &request_mac, 7);
            signer.verify(&response, &request_mac, true).unwrap();

            let other = TsigSigner::new(&key(algorithm, b"another secret!!")).unwrap();
            assert_eq!(
                other.verify(&response, &request_mac, true),
                Err(TsigFailure::BadMac),
                "{algorithm}"
            );
        }
    }

    #[test]
    fn unsigned_responses_are_refused() {
        let signer = TsigSigner::new(&key(TsigAlgorithm::HmacSha256, b"secret")).unwrap();
        let response = Message::new(1, MessageType::Response, OpCode::Query)
            .to_vec()
            .unwrap();
        assert_eq!(
            signer.verify(&response, b"mac", true),
            Err(TsigFailure::Unsigned)
        );
    }
}
