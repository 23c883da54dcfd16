//! BLS12-381 KZG commitments, EIP-4844 and EIP-7594 cells, proofs and recovery: pure compute, no I/O.
//!
//! Layers, bottom to top:
//! [`field`] and [`curve`] (scalars, points, pairing; [`glv`], the endomorphism) → [`fft`] (its G1 twiddles through [`g1_scale`]), [`affine_sum`], [`fixed_base_msm`], [`shifted_base_msm`] (both on one
//! signed-digit recoding) and
//! [`backend`] (the MSM/FFT seam)
//! → [`polynomial`] → [`erasure`] (Reed–Solomon extension and recovery) → [`single_open`] and
//! [`fk20`] (one opening, all cell openings) → [`eip4844`] and [`eip7594`] (the public API on
//! [`KzgSettings`]), with [`serialization`], [`fiat_shamir`] and [`trusted_setup`] beside; [`chunked`] spreads
//! data larger than one blob over all cores.

pub mod affine_sum;
pub mod backend;
pub mod chunked;
pub mod curve;
pub mod eip4844;
pub mod eip7594;
pub mod erasure;
pub mod error;
pub mod fft;
pub mod fiat_shamir;
pub mod field;
pub mod fixed_base_msm;
pub mod fk20;
pub mod g1_scale;
pub mod glv;
pub mod limits;
pub mod polynomial;
pub mod serialization;
pub mod settings;
pub mod shared_base_msm;
pub mod shifted_base_msm;
mod signed_digits;
pub mod single_open;
pub mod trusted_setup;

pub use chunked::ChunkEncoding;
pub use eip4844::compute_challenge;
pub use eip7594::compute_verify_cell_kzg_proof_batch_challenge;
pub use error::{KzgError, SetupError};
pub use serialization::Cell;
pub use settings::KzgSettings;
pub use trusted_setup::TrustedSetup;
