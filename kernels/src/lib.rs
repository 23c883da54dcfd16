//! BLS12-381 KZG commitments, EIP-4844 and EIP-7594 cells, proofs and recovery: pure compute, no I/O.
//!
//! Layers, bottom to top: [`field`] (scalar helpers) → [`trusted_setup`] (embedded ceremony output).

pub mod error;
pub mod field;
pub mod limits;
pub mod trusted_setup;

pub use error::{KzgError, SetupError};
pub use trusted_setup::TrustedSetup;
