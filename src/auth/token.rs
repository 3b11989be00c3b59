//! Token secrets and their hashes.

use std::fmt;

use sha2::{Digest, Sha256};

/// Prefix of every token, so a leaked one is recognisable in a scan.
const TOKEN_PREFIX: &str = "cfx_";

/// A freshly generated token secret. Shown to the user once, never stored.
pub struct PlainToken(String);

impl PlainToken {
    /// Draws 256 random bits from the operating system's generator.
    pub fn generate() -> Self {
        let secret: [u8; 32] = rand::random();
        Self(format!("{TOKEN_PREFIX}{}", hex::encode(secret)))
    }

    /// The secret, for printing once to whoever created it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The hash under which this token is stored.
    pub fn hash(&self) -> TokenHash {
        TokenHash::of(&self.0)
    }
}

// Keeps the secret out of logs and panic messages.
impl fmt::Debug for PlainToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PlainToken(<redacted>)")
    }
}

/// Hex SHA-256 of a token secret: the only form in which a token is stored.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TokenHash(String);

impl TokenHash {
    /// Hashes a secret as presented by a client.
    pub fn of(secret: &str) -> Self {
        Self(hex::encode(Sha256::digest(secret.as_bytes())))
    }

    /// Wraps a hash read back from storage.
    pub fn from_hex(hex: String) -> Self {
        Self(hex)
    }

    /// The lowercase hex digest.
    pub fn as_hex(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_are_distinct_and_prefixed() {
        let a = PlainToken::generate();
        let b = PlainToken::generate();
        assert_ne!(a.expose(), b.expose());
        assert!(a.expose().starts_with("cfx_"));
        assert_eq!(a.expose().len(), 4 + 64);
    }

    #[test]
    fn hash_is_sha256_hex_of_the_secret() {
        // sha256("abc") from FIPS 180-2.
        assert_eq!(
            TokenHash::of("abc").as_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn debug_does_not_leak_the_secret() {
        let token = PlainToken::generate();
        assert!(!format!("{token:?}").contains(token.expose()));
    }
}
