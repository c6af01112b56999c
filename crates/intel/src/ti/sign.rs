/*!
Package signing keys: Ed25519, stored as PEM — the private key as PKCS#8 (`BEGIN PRIVATE KEY`),
the public key as SubjectPublicKeyInfo (`BEGIN PUBLIC KEY`) — the forms `openssl pkey` reads
and writes, so a key can be made, inspected or kept in an HSM workflow with standard tools.

A key's id is the first 8 bytes of the SHA-256 of its 32-byte public key; a package names the
id of the key that signed it, so a package checked against another key is refused as "signed
by another key" rather than as a damaged signature.

Key generation draws 32 bytes from the operating system (getrandom). The private key file is
created with mode 0600 and never overwritten; private key bytes are never printed.
*/

use std::fmt;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
pub use ed25519_dalek::{Signature, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

/// Largest key file read.
const MAX_KEY_FILE_BYTES: u64 = 64 << 10;

/// A key id: the first 8 bytes of the SHA-256 of the public key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyId(pub [u8; 8]);

impl KeyId {
    /// The id of `key`.
    pub fn of(key: &VerifyingKey) -> Self {
        let digest = Sha256::digest(key.as_bytes());
        let mut id = [0; 8];
        id.copy_from_slice(&digest[..8]);
        KeyId(id)
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in self.0 {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

/// Why a key could not be made, written or read.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The operating system's random source failed.
    #[error("no randomness from the operating system: {0}")]
    Random(String),
    /// A key file could not be written or read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// The file exists; keygen never overwrites a key.
    #[error("{0}: exists; a key is never overwritten (remove it or choose another name)")]
    Exists(PathBuf),
    /// The file is not a PEM key of the expected kind.
    #[error("{path}: not an Ed25519 {kind} key in PEM ({reason})")]
    Format {
        /// The file.
        path: PathBuf,
        /// `private` or `public`.
        kind: &'static str,
        /// What the decoder said (never key material).
        reason: String,
    },
}

/// A new random signing key.
pub fn generate() -> Result<SigningKey, KeyError> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| KeyError::Random(e.to_string()))?;
    let key = SigningKey::from_bytes(&seed);
    // SigningKey wipes its own copy on drop; wipe the seed it was made from too.
    seed.iter_mut().for_each(|b| *b = 0);
    std::hint::black_box(&seed);
    Ok(key)
}

/// Where the public key of the private key at `private` goes: `KEYFILE.pub`.
pub fn public_key_path(private: &Path) -> PathBuf {
    let mut name = private.as_os_str().to_owned();
    name.push(".pub");
    PathBuf::from(name)
}

/// Writes `key` to `private` (PKCS#8 PEM, mode 0600) and its public key to `private.pub`
/// (SPKI PEM); refuses to overwrite either. Returns the public key's path.
pub fn write_key_pair(key: &SigningKey, private: &Path) -> Result<PathBuf, KeyError> {
    let public = public_key_path(private);
    for path in [private, public.as_path()] {
        if path.exists() {
            return Err(KeyError::Exists(path.to_owned()));
        }
    }
    // PKCS#8 v1 (no public key inside): OpenSSL 3.0 cannot read the v2 form that
    // `SigningKey::to_pkcs8_pem` writes.
    let key_pair = ed25519_dalek::pkcs8::KeypairBytes {
        secret_key: key.to_bytes(),
        public_key: None,
    };
    let private_pem = key_pair
        .to_pkcs8_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
        .map_err(|e| KeyError::Format {
            path: private.to_owned(),
            kind: "private",
            reason: e.to_string(),
        })?;
    let public_pem = key
        .verifying_key()
        .to_public_key_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
        .map_err(|e| KeyError::Format {
            path: public.clone(),
            kind: "public",
            reason: e.to_string(),
        })?;
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| KeyError::Io { path, source }
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(private).map_err(io(private))?;
    file.write_all(private_pem.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(io(private))?;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&public)
        .map_err(io(&public))?;
    file.write_all(public_pem.as_bytes()).map_err(io(&public))?;
    Ok(public)
}

/// Reads a private key (PKCS#8 PEM).
pub fn read_signing_key(path: &Path) -> Result<SigningKey, KeyError> {
    let text = read_key_file(path)?;
    SigningKey::from_pkcs8_pem(&text).map_err(|e| KeyError::Format {
        path: path.to_owned(),
        kind: "private",
        reason: e.to_string(),
    })
}

/// Reads a public key (SPKI PEM).
pub fn read_verifying_key(path: &Path) -> Result<VerifyingKey, KeyError> {
    let text = read_key_file(path)?;
    VerifyingKey::from_public_key_pem(&text).map_err(|e| KeyError::Format {
        path: path.to_owned(),
        kind: "public",
        reason: e.to_string(),
    })
}

fn read_key_file(path: &Path) -> Result<String, KeyError> {
    let io = |source| KeyError::Io {
        path: path.to_owned(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut text = String::new();
    file.take(MAX_KEY_FILE_BYTES)
        .read_to_string(&mut text)
        .map_err(io)?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::{Signer, Verifier};

    #[test]
    fn a_key_pair_round_trips_through_pem_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let private = dir.path().join("ti.key");
        let key = generate().expect("key");
        let public = write_key_pair(&key, &private).expect("write");
        assert_eq!(public, dir.path().join("ti.key.pub"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&private)
                .expect("meta")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let text = std::fs::read_to_string(&private).expect("read");
        assert!(text.starts_with("-----BEGIN PRIVATE KEY-----"));
        let read = read_signing_key(&private).expect("private");
        let verifying = read_verifying_key(&public).expect("public");
        assert_eq!(verifying, key.verifying_key());
        let signature = read.sign(b"package");
        assert!(verifying.verify(b"package", &signature).is_ok());
        assert!(matches!(
            write_key_pair(&key, &private),
            Err(KeyError::Exists(_))
        ));
        assert!(matches!(
            read_verifying_key(&private),
            Err(KeyError::Format { kind: "public", .. })
        ));
        assert_ne!(generate().expect("key").to_bytes(), key.to_bytes());
        assert_eq!(KeyId::of(&verifying).to_string().len(), 16);
    }
}
