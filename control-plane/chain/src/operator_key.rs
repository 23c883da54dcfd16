//! The operator's signing key: from an Ethereum keystore file (password from an environment
//! variable) or from a raw hex key in an environment variable. Never printed: `Debug` shows only
//! the address.

use std::path::{Path, PathBuf};

use alloy::network::EthereumWallet;
use alloy::primitives::Address;
use alloy::signers::local::PrivateKeySigner;

/// Why the operator key could not be loaded. No variant carries key material.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The environment variable is not set or not UTF-8.
    #[error("environment variable {0} is not set (or not UTF-8)")]
    MissingEnv(String),
    /// The variable's value is not a 32-byte secp256k1 key in hex.
    #[error("environment variable {0} does not hold a hex secp256k1 private key (64 hex digits)")]
    InvalidKey(String),
    /// The keystore file could not be read or decrypted (wrong password, corrupt file).
    #[error("cannot open keystore {path}: {reason}")]
    Keystore {
        /// The keystore file.
        path: PathBuf,
        /// What went wrong, without key material.
        reason: String,
    },
}

/// The key that signs registrations; its address is the boxes' operator on chain.
#[derive(Clone)]
pub struct OperatorKey {
    signer: PrivateKeySigner,
}

impl std::fmt::Debug for OperatorKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OperatorKey")
            .field("address", &self.signer.address())
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl OperatorKey {
    /// Decrypts an Ethereum (scrypt or pbkdf2) keystore file with the password held in the
    /// environment variable `password_env`.
    pub fn from_keystore(path: &Path, password_env: &str) -> Result<Self, KeyError> {
        let password = std::env::var(password_env)
            .map_err(|_| KeyError::MissingEnv(password_env.to_owned()))?;
        let signer =
            PrivateKeySigner::decrypt_keystore(path, password).map_err(|e| KeyError::Keystore {
                path: path.to_owned(),
                reason: e.to_string(),
            })?;
        Ok(Self { signer })
    }

    /// Reads a hex private key (with or without `0x`) from the environment variable `key_env`.
    pub fn from_env(key_env: &str) -> Result<Self, KeyError> {
        let hex = std::env::var(key_env).map_err(|_| KeyError::MissingEnv(key_env.to_owned()))?;
        Self::from_hex(hex.trim()).map_err(|_| KeyError::InvalidKey(key_env.to_owned()))
    }

    /// Parses a hex private key (with or without `0x`); the error says nothing about the input.
    pub fn from_hex(hex: &str) -> Result<Self, KeyError> {
        let signer = hex
            .parse::<PrivateKeySigner>()
            .map_err(|_| KeyError::InvalidKey("(given directly)".to_owned()))?;
        Ok(Self { signer })
    }

    /// The operator's address.
    pub fn address(&self) -> Address {
        self.signer.address()
    }

    pub(crate) fn wallet(&self) -> EthereumWallet {
        EthereumWallet::from(self.signer.clone())
    }
}
