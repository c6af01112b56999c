//! Passwords: argon2id hashes in PHC string form, verified in constant time; an unknown user
//! costs the same verification as a wrong password, so timing does not tell which names exist.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

/// Shortest password accepted.
pub const MIN_PASSWORD_LEN: usize = 10;
/// Longest password accepted (bounds the hashing work an attacker can ask for).
pub const MAX_PASSWORD_LEN: usize = 1024;

/// Why a password cannot be set or checked.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PasswordError {
    /// Shorter than [`MIN_PASSWORD_LEN`].
    #[error("the password must have at least {MIN_PASSWORD_LEN} characters")]
    TooShort,
    /// Longer than [`MAX_PASSWORD_LEN`].
    #[error("the password must have at most {MAX_PASSWORD_LEN} bytes")]
    TooLong,
    /// The hashing library failed.
    #[error("hashing the password: {0}")]
    Hash(String),
}

/// argon2id with the OWASP-recommended parameters (19 MiB, 2 passes, 1 lane).
fn hasher() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// The PHC string (`$argon2id$v=19$m=19456,t=2,p=1$...`) of `password` with a random salt.
pub fn hash_password(password: &str) -> Result<String, PasswordError> {
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(PasswordError::TooShort);
    }
    if password.len() > MAX_PASSWORD_LEN {
        return Err(PasswordError::TooLong);
    }
    let mut salt_bytes = [0u8; 16];
    getrandom::fill(&mut salt_bytes).map_err(|e| PasswordError::Hash(e.to_string()))?;
    let salt =
        SaltString::encode_b64(&salt_bytes).map_err(|e| PasswordError::Hash(e.to_string()))?;
    hasher()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

/// Whether `password` matches `phc`; `None` (no such user) spends the same work on a fixed
/// hash and answers false.
pub fn verify_password(password: &str, phc: Option<&str>) -> bool {
    if password.len() > MAX_PASSWORD_LEN {
        return false;
    }
    let stored = phc.and_then(|p| PasswordHash::new(p).ok());
    match stored {
        Some(hash) => hasher().verify_password(password.as_bytes(), &hash).is_ok(),
        None => {
            let dummy = dummy_hash();
            if let Ok(hash) = PasswordHash::new(dummy) {
                let _ = hasher().verify_password(password.as_bytes(), &hash);
            }
            false
        }
    }
}

/// A fixed argon2id hash with the same parameters, for unknown users.
fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| {
        hash_password("ironward-no-such-user-password").unwrap_or_else(|_| {
            "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$\
             2Jq3mC4NRq6cK7tEqjS1l0uQyT6mVfR3rIbmY8Kp9Zo"
                .to_owned()
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_salted_and_verify() {
        let a = hash_password("correct horse battery").unwrap();
        let b = hash_password("correct horse battery").unwrap();
        assert!(a.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{a}");
        assert_ne!(a, b, "salts differ");
        assert!(verify_password("correct horse battery", Some(&a)));
        assert!(!verify_password("correct horse battery!", Some(&a)));
        assert!(!verify_password("correct horse battery", None));
        assert!(!verify_password("x", Some("not a phc string")));
    }

    #[test]
    fn length_bounds() {
        assert_eq!(hash_password("short"), Err(PasswordError::TooShort));
        assert_eq!(
            hash_password(&"a".repeat(MAX_PASSWORD_LEN + 1)),
            Err(PasswordError::TooLong)
        );
    }
}
