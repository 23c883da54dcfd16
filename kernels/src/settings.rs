//! [`KzgSettings`]: the validated setup, the evaluation domains and the compute backend.

use std::sync::OnceLock;

use blstrs::{G1Affine, G2Affine, G2Prepared, G2Projective, Scalar};
use ff::Field;
use group::Curve;

use crate::backend::{ComputeBackend, CpuBackend};
use crate::error::SetupError;
use crate::field::{bit_reverse_permute, powers, root_of_unity};
use crate::fixed_base_msm::FixedBaseTable;
use crate::fk20::Fk20Table;
use crate::limits::{
    FIELD_ELEMENTS_PER_BLOB, FIELD_ELEMENTS_PER_CELL, FIELD_ELEMENTS_PER_EXT_BLOB,
};
use crate::shifted_base_msm::ShiftedBaseTable;
use crate::trusted_setup::TrustedSetup;

/// Everything the KZG calls need, built once. Methods for EIP-4844 and EIP-7594 live in
/// [`crate::eip4844`] and [`crate::eip7594`].
#[derive(Debug)]
pub struct KzgSettings {
    pub(crate) setup: TrustedSetup,
    pub(crate) backend: Box<dyn ComputeBackend>,
    /// Primitive 4096-th root of unity.
    pub(crate) root_blob: Scalar,
    /// The 4096 roots of unity in bit-reversed order (the blob evaluation domain).
    pub(crate) roots_blob_brp: Vec<Scalar>,
    /// Primitive 8192-th root of unity.
    pub(crate) root_ext: Scalar,
    /// The 8192 roots of unity in bit-reversed order (cell `i` holds entries `64i..64i+64`).
    pub(crate) roots_ext_brp: Vec<Scalar>,
    /// Inverse of the primitive 64-th root of unity (cell interpolation).
    pub(crate) root_cell_inv: Scalar,
    /// `1/64`.
    pub(crate) cell_size_inv: Scalar,
    /// `-[1]_2`, prepared for pairings.
    pub(crate) neg_g2_prepared: G2Prepared,
    /// `[1]_2`, prepared for pairings.
    pub(crate) g2_prepared: G2Prepared,
    /// `-[s]_2`, prepared for pairings (EIP-4844 batch verification).
    pub(crate) neg_s_prepared: G2Prepared,
    /// `[s^64]_2`, prepared for pairings (cell batch verification).
    pub(crate) s_cell_prepared: G2Prepared,
    /// FK20 tables, built on first use of a cell-proof call.
    fk20: OnceLock<Fk20Table>,
    /// True when the setup is the embedded Ethereum one, whose FK20 columns are embedded too.
    ethereum_setup: bool,
    /// Window shifts of the Lagrange points, built on first use of a commitment or proof.
    lagrange: OnceLock<ShiftedBaseTable>,
    /// Fixed-base tables of `[s^0]_1..[s^63]_1` (1.6 MB), for the interpolation term of cell
    /// batch verification, built on first use.
    cell_interpolation: OnceLock<FixedBaseTable>,
}

impl KzgSettings {
    /// Builds settings from a validated setup, on the CPU backend.
    pub fn new(setup: TrustedSetup) -> Self {
        Self::with_backend(setup, Box::new(CpuBackend))
    }

    /// Builds settings from a validated setup and a compute backend.
    pub fn with_backend(setup: TrustedSetup, backend: Box<dyn ComputeBackend>) -> Self {
        let root_blob = root_of_unity(FIELD_ELEMENTS_PER_BLOB);
        let mut roots_blob_brp = powers(root_blob, FIELD_ELEMENTS_PER_BLOB);
        bit_reverse_permute(&mut roots_blob_brp);
        let root_ext = root_of_unity(FIELD_ELEMENTS_PER_EXT_BLOB);
        let mut roots_ext_brp = powers(root_ext, FIELD_ELEMENTS_PER_EXT_BLOB);
        bit_reverse_permute(&mut roots_ext_brp);
        let g2 = G2Projective::from(setup.g2_monomial[0]);
        let neg_g2_prepared = G2Prepared::from((-g2).to_affine());
        let g2_prepared = G2Prepared::from(setup.g2_monomial[0]);
        let neg_s_prepared =
            G2Prepared::from((-G2Projective::from(setup.g2_monomial[1])).to_affine());
        let s_cell_prepared = G2Prepared::from(setup.g2_monomial[FIELD_ELEMENTS_PER_CELL]);
        let root_cell_inv = root_of_unity(FIELD_ELEMENTS_PER_CELL)
            .invert()
            .expect("roots of unity are non-zero");
        let cell_size_inv = Scalar::from(FIELD_ELEMENTS_PER_CELL as u64)
            .invert()
            .expect("non-zero size");
        Self {
            root_cell_inv,
            cell_size_inv,
            neg_g2_prepared,
            g2_prepared,
            neg_s_prepared,
            s_cell_prepared,
            setup,
            backend,
            root_blob,
            roots_blob_brp,
            root_ext,
            roots_ext_brp,
            fk20: OnceLock::new(),
            ethereum_setup: false,
            lagrange: OnceLock::new(),
            cell_interpolation: OnceLock::new(),
        }
    }

    /// Loads the embedded Ethereum setup into fresh settings.
    pub fn load_ethereum() -> Result<Self, SetupError> {
        let mut settings = Self::new(TrustedSetup::ethereum()?);
        settings.ethereum_setup = true;
        Ok(settings)
    }

    /// Process-wide settings over the embedded Ethereum setup, loaded on first use.
    pub fn ethereum() -> &'static Self {
        static SETTINGS: OnceLock<KzgSettings> = OnceLock::new();
        SETTINGS.get_or_init(|| {
            Self::load_ethereum().expect("the embedded trusted setup is validated by the tests")
        })
    }

    /// Builds the FK20 tables now instead of on the first cell-proof call.
    pub fn precompute_fk20(&self) {
        self.fk20();
    }

    /// Builds every precomputed table now (FK20's, the commitment table and cell verification's)
    /// instead of on first use.
    pub fn precompute(&self) {
        rayon::join(
            || self.fk20(),
            || rayon::join(|| self.lagrange_table(), || self.cell_interpolation_table()),
        );
    }

    pub(crate) fn cell_interpolation_table(&self) -> &FixedBaseTable {
        self.cell_interpolation.get_or_init(|| {
            FixedBaseTable::new(&[self.setup.g1_monomial[..FIELD_ELEMENTS_PER_CELL].to_vec()])
        })
    }

    pub(crate) fn lagrange_table(&self) -> &ShiftedBaseTable {
        self.lagrange
            .get_or_init(|| ShiftedBaseTable::new(&self.setup.g1_lagrange_brp))
    }

    pub(crate) fn fk20(&self) -> &Fk20Table {
        self.fk20.get_or_init(|| {
            if self.ethereum_setup {
                Fk20Table::ethereum()
            } else {
                Fk20Table::new(&self.setup.g1_monomial, self.backend.as_ref())
            }
        })
    }

    pub(crate) fn g2_generator(&self) -> &G2Affine {
        &self.setup.g2_monomial[0]
    }

    pub(crate) fn g2_s(&self, power: usize) -> &G2Affine {
        &self.setup.g2_monomial[power]
    }

    pub(crate) fn g1_generator(&self) -> &G1Affine {
        &self.setup.g1_monomial[0]
    }
}
