//! Encrypted ownership markers, byte-compatible with external-dns's `--txt-encrypt-enabled`.
//!
//! The marker value is `base64(nonce ‖ AES-256-GCM(gzip(labels)))`: a 12-byte nonce, then the
//! sealed gzip (best compression) of the plain marker text, standard base64 with padding. The
//! nonce is kept in the record's labels (`txt-encryption-nonce`, the nonce in base64) so that
//! rewriting a marker reuses it, as external-dns does. The key never leaves this module: its
//! `Debug` is redacted and no error carries it.

use std::io::{Read, Write};
use std::sync::Arc;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// Label that carries the nonce of an encrypted marker (base64 of the 12 bytes).
pub const LABEL_ENCRYPTION_NONCE: &str = "txt-encryption-nonce";

/// AES-256 key length.
const KEY_LEN: usize = 32;
/// AES-GCM tag length.
const TAG_LEN: usize = 16;
/// The smallest gzip stream (empty content) is 20 bytes.
const MIN_GZIP_LEN: usize = 20;
/// Decompressed marker text is a few hundred bytes at most; refuse anything far larger.
const MAX_PLAIN_LEN: u64 = 64 * 1024;

/// Why an AES key flag value is unusable. Never holds the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MarkerKeyError {
    /// Neither 32 bytes nor standard base64 of 32 bytes.
    #[error(
        "{flag} must be 32 bytes long, in plain text or base64-encoded (got {len} bytes that are neither)"
    )]
    BadLength {
        /// The flag (or its file form) the value came from.
        flag: &'static str,
        /// The length of the value given.
        len: usize,
    },
}

/// The AES-256-GCM key of encrypted markers.
#[derive(Clone)]
pub struct MarkerKey(Arc<LessSafeKey>);

impl std::fmt::Debug for MarkerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MarkerKey(<redacted>)")
    }
}

/// Why an encrypted marker value could not be opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenError {
    /// Not base64, or too short to hold a nonce, a tag and a gzip stream: not an encrypted
    /// marker at all.
    NotEncrypted,
    /// Shaped like one, but it does not open with this key (another key, or damaged).
    WrongKey,
}

impl MarkerKey {
    /// Reads a key as external-dns does: the value's bytes when there are exactly 32 of them,
    /// else standard base64 that decodes to 32 bytes.
    ///
    /// Fails when it is neither. The error names `flag` and the length, never the value.
    pub fn parse(flag: &'static str, value: &str) -> Result<Self, MarkerKeyError> {
        let bytes = if value.len() == KEY_LEN {
            value.as_bytes().to_vec()
        } else {
            STANDARD
                .decode(value)
                .ok()
                .filter(|decoded| decoded.len() == KEY_LEN)
                .ok_or(MarkerKeyError::BadLength {
                    flag,
                    len: value.len(),
                })?
        };
        let unbound =
            UnboundKey::new(&AES_256_GCM, &bytes).map_err(|_| MarkerKeyError::BadLength {
                flag,
                len: value.len(),
            })?;
        Ok(Self(Arc::new(LessSafeKey::new(unbound))))
    }

    /// Encrypts the plain marker text `text` under `nonce` (base64 of 12 bytes, as the nonce
    /// label holds it); a nonce label that does not decode gets a fresh nonce instead.
    pub fn seal(&self, text: &str, nonce: Option<&str>) -> String {
        let nonce_bytes = nonce
            .and_then(|n| STANDARD.decode(n).ok())
            .and_then(|n| <[u8; NONCE_LEN]>::try_from(n).ok())
            .unwrap_or_else(random_nonce);
        let mut sealed = nonce_bytes.to_vec();
        let mut data = gzip(text.as_bytes());
        // Sealing only fails for inputs beyond GCM's limits (gigabytes).
        #[allow(clippy::expect_used)]
        self.0
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce_bytes),
                Aad::empty(),
                &mut data,
            )
            .expect("a marker is far below AES-GCM's size limit");
        sealed.extend_from_slice(&data);
        STANDARD.encode(sealed)
    }

    /// Opens an encrypted marker value (surrounding quotes tolerated) into its plain text and
    /// its nonce (base64).
    ///
    /// Fails with [`OpenError::NotEncrypted`] when the value cannot be one, and with
    /// [`OpenError::WrongKey`] when it is shaped like one but does not open.
    pub fn open(&self, value: &str) -> Result<(String, String), OpenError> {
        let mut data = decode_candidate(value).ok_or(OpenError::NotEncrypted)?;
        let (nonce, sealed) = data.split_at_mut(NONCE_LEN);
        let nonce_text = STANDARD.encode(&*nonce);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| OpenError::WrongKey)?;
        let compressed = self
            .0
            .open_in_place(nonce, Aad::empty(), sealed)
            .map_err(|_| OpenError::WrongKey)?;
        let text = gunzip(compressed).ok_or(OpenError::WrongKey)?;
        Ok((text, nonce_text))
    }
}

fn random_nonce() -> [u8; NONCE_LEN] {
    let mut nonce = [0u8; NONCE_LEN];
    // Without a working system random source no nonce can be trusted; nothing can go on.
    #[allow(clippy::expect_used)]
    aws_lc_rs::rand::fill(&mut nonce).expect("the system random source failed");
    nonce
}

/// True when `value` is shaped like an encrypted marker (base64 long enough for a nonce, a tag
/// and a gzip stream), whatever the key.
pub fn looks_encrypted(value: &str) -> bool {
    decode_candidate(value).is_some()
}

fn decode_candidate(value: &str) -> Option<Vec<u8>> {
    let value = value.trim_matches('"');
    // Cheap refusals first: most TXT records are not base64 at all.
    if value.len() < 4 * (NONCE_LEN + TAG_LEN + MIN_GZIP_LEN).div_ceil(3)
        || !value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
    {
        return None;
    }
    STANDARD
        .decode(value)
        .ok()
        .filter(|data| data.len() >= NONCE_LEN + TAG_LEN + MIN_GZIP_LEN)
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    // Writing into a Vec cannot fail.
    let _ = encoder.write_all(data);
    encoder.finish().unwrap_or_default()
}

fn gunzip(data: &[u8]) -> Option<String> {
    let mut text = String::new();
    flate2::read::GzDecoder::new(data)
        .take(MAX_PLAIN_LEN)
        .read_to_string(&mut text)
        .ok()?;
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// external-dns's own fixture (`TestTXTRegistryApplyChangesEncrypt` in its TXT registry
    /// tests), sealed by external-dns (Go) with this key.
    const EXTERNAL_DNS_KEY: &str = "12345678901234567890123456789012";
    const EXTERNAL_DNS_VALUE: &str = "h8UQ6jelUFUsEIn7SbFktc2MYXPx/q8lySqI4VwfVtVaIbb2nkHWV/88KKbuLtu7fJNzMir8ELVeVnRSY01KdiIuj7ledqZe5ailEjQaU5Z6uEKd5pgs6sH8";

    fn key() -> MarkerKey {
        MarkerKey::parse("--txt-encrypt-aes-key", EXTERNAL_DNS_KEY).unwrap()
    }

    #[test]
    fn opens_a_marker_sealed_by_external_dns() {
        let (text, nonce) = key().open(&format!("\"{EXTERNAL_DNS_VALUE}\"")).unwrap();
        assert_eq!(text, "heritage=external-dns,external-dns/owner=owner");
        assert_eq!(nonce, "h8UQ6jelUFUsEIn7");
        assert!(EXTERNAL_DNS_VALUE.starts_with(&nonce));
    }

    #[test]
    fn sealing_keeps_the_nonce_and_round_trips() {
        let key = key();
        let sealed = key.seal(
            "heritage=external-dns,external-dns/owner=a",
            Some("h8UQ6jelUFUsEIn7"),
        );
        assert!(sealed.starts_with("h8UQ6jelUFUsEIn7"), "{sealed}");
        let (text, nonce) = key.open(&sealed).unwrap();
        assert_eq!(text, "heritage=external-dns,external-dns/owner=a");
        assert_eq!(nonce, "h8UQ6jelUFUsEIn7");
        let fresh = key.seal("heritage=external-dns", None);
        assert_eq!(key.open(&fresh).unwrap().0, "heritage=external-dns");
        assert_ne!(
            fresh,
            key.seal("heritage=external-dns", None),
            "nonces are random"
        );
    }

    #[test]
    fn another_key_does_not_open() {
        let other = MarkerKey::parse("--txt-encrypt-aes-key", &"x".repeat(32)).unwrap();
        assert_eq!(other.open(EXTERNAL_DNS_VALUE), Err(OpenError::WrongKey));
        assert_eq!(other.open("v=spf1 -all"), Err(OpenError::NotEncrypted));
        assert_eq!(other.open("aGVsbG8="), Err(OpenError::NotEncrypted));
        assert!(looks_encrypted(EXTERNAL_DNS_VALUE));
        assert!(!looks_encrypted(
            "heritage=external-dns,external-dns/owner=x"
        ));
    }

    #[test]
    fn keys_are_read_as_external_dns_reads_them() {
        let base64_key = STANDARD.encode(EXTERNAL_DNS_KEY);
        let from_base64 = MarkerKey::parse("--txt-encrypt-aes-key", &base64_key).unwrap();
        assert!(from_base64.open(EXTERNAL_DNS_VALUE).is_ok());
        for bad in ["short", &"y".repeat(33), &STANDARD.encode("z".repeat(31))] {
            let error = MarkerKey::parse("--txt-encrypt-aes-key", bad).unwrap_err();
            let message = error.to_string();
            assert!(message.contains("--txt-encrypt-aes-key"), "{message}");
            assert!(!message.contains(bad), "the key leaked: {message}");
        }
        let debug = format!("{:?}", key());
        assert_eq!(debug, "MarkerKey(<redacted>)");
    }
}
