//! TSIG keys as BIND, Knot, dig and nsupdate spell them.

use std::fmt;
use std::io::Read;

/// A TSIG key: name, algorithm (`hmac-sha256` …) and base64 secret.
///
/// `Debug` hides the secret, so a failing assertion never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct TsigKey {
    /// Key name, without trailing dot (`zonesync-key`).
    pub name: String,
    /// Algorithm as BIND names it (`hmac-sha1`, `hmac-sha224`, `hmac-sha256`, `hmac-sha384`,
    /// `hmac-sha512`).
    pub algorithm: String,
    /// The secret, base64.
    pub secret: String,
}

impl TsigKey {
    /// A key with a fresh random 32-byte secret.
    ///
    /// # Panics
    /// When `/dev/urandom` cannot be read.
    pub fn generate(name: &str, algorithm: &str) -> Self {
        Self::new(name, algorithm, &random_secret(32))
    }

    /// A key with the given base64 `secret`.
    pub fn new(name: &str, algorithm: &str, secret: &str) -> Self {
        Self {
            name: name.to_string(),
            algorithm: algorithm.to_string(),
            secret: secret.to_string(),
        }
    }

    /// The same key name and algorithm with another random secret: what a client with a wrong
    /// secret sends.
    pub fn with_other_secret(&self) -> Self {
        Self::new(&self.name, &self.algorithm, &random_secret(32))
    }

    /// The `-y` argument of dig and nsupdate: `algorithm:name:secret`.
    pub fn dig_spec(&self) -> String {
        format!("{}:{}:{}", self.algorithm, self.name, self.secret)
    }

    /// The `key "<name>" { algorithm …; secret "…"; };` clause of named.conf.
    pub fn named_conf(&self) -> String {
        format!(
            "key \"{}\" {{\n  algorithm {};\n  secret \"{}\";\n}};\n",
            self.name, self.algorithm, self.secret
        )
    }
}

impl fmt::Debug for TsigKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TsigKey")
            .field("name", &self.name)
            .field("algorithm", &self.algorithm)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// `bytes` random bytes from `/dev/urandom`, base64-encoded.
///
/// # Panics
/// When `/dev/urandom` cannot be read.
pub fn random_secret(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut file| file.read_exact(&mut buffer))
        .expect("read /dev/urandom");
    base64(&buffer)
}

/// Standard base64 with padding (enough for secrets; avoids a dependency).
fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> shift) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn debug_hides_the_secret() {
        let key = TsigKey::new("k", "hmac-sha256", "c2VjcmV0");
        assert!(!format!("{key:?}").contains("c2VjcmV0"));
    }
}
