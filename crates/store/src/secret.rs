//! Random secrets and their hashes: tokens, credentials and session ids are shown once and
//! stored only as SHA-256.

use sha2::{Digest, Sha256};

use crate::{Result, StoreError};

/// A new random secret: 32 bytes from the operating system, as 64 lower-case hex digits.
pub fn new_secret() -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| StoreError::Invalid(format!("no randomness: {e}")))?;
    Ok(hex(&bytes))
}

/// The stored form of a secret: SHA-256 of its text, lower-case hex. Secrets are 32 random
/// bytes, so a fast hash is enough (passwords, which are not, use argon2id in the caller).
pub fn hash_secret(plain: &str) -> String {
    hex(&Sha256::digest(plain.as_bytes()))
}

/// A short stable key for long text (fact and event identities): SHA-256 of the parts, each
/// followed by a NUL so that ("ab","c") and ("a","bc") differ.
pub(crate) fn key_of(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.as_bytes());
        hasher.update([0u8]);
    }
    hex(&hasher.finalize())
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(char::from(DIGITS[usize::from(byte >> 4)]));
        text.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_random_hex_and_hash_stably() {
        let a = new_secret().unwrap();
        let b = new_secret().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(
            hash_secret("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_ne!(key_of(&["ab", "c"]), key_of(&["a", "bc"]));
    }
}
