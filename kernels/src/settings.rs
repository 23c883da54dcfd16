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

/// `cell`'s value, built by `build` on first use; later and concurrent callers wait for it.
///
/// The build's parallel work runs on a rayon pool of its own (as many threads as the caller's
/// pool), driven from a thread of its own. A rayon worker waiting here, for its own build or for
/// another thread's, then only blocks: it neither takes other rayon jobs while it waits, which
/// could call for the same cell again on this thread, nor leaves the build needing the caller's
/// pool, whose workers may all be waiting here. Either would deadlock.
fn built_once<T: Send>(cell: &OnceLock<T>, build: impl FnOnce() -> T + Send) -> &T {
    if let Some(value) = cell.get() {
        return value;
    }
    let threads = rayon::current_num_threads();
    cell.get_or_init(|| {
        std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    rayon::ThreadPoolBuilder::new()
                        .num_threads(threads)
                        .thread_name(|i| format!("kzg-tables-{i}"))
                        .build()
                        .expect("a thread pool for building KZG tables")
                        .install(build)
                })
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })
    })
}

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
        built_once(&SETTINGS, || {
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
        built_once(&self.cell_interpolation, || {
            FixedBaseTable::new(&[self.setup.g1_monomial[..FIELD_ELEMENTS_PER_CELL].to_vec()])
        })
    }

    pub(crate) fn lagrange_table(&self) -> &ShiftedBaseTable {
        built_once(&self.lagrange, || {
            ShiftedBaseTable::new(&self.setup.g1_lagrange_brp)
        })
    }

    pub(crate) fn fk20(&self) -> &Fk20Table {
        built_once(&self.fk20, || {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::BYTES_PER_BLOB;
    use rayon::prelude::*;
    use std::sync::{mpsc, Arc, Barrier};
    use std::time::Duration;

    #[test]
    fn tables_first_built_outside_the_pool_while_its_workers_wait_for_them_do_not_deadlock() {
        // Fresh settings, so the FK20 tables are not built yet. Every worker of the global pool
        // takes a task that waits at a barrier, then asks for the tables a moment later; another
        // thread starts building them just after the barrier. Built on the global pool, that
        // build's parallel work waited for workers that were all waiting for the build: a
        // deadlock (seen in `cargo test`, where other tests are the other thread), caught here
        // by the timeout.
        let mut blob = vec![0u8; BYTES_PER_BLOB];
        blob[31] = 7;
        blob[BYTES_PER_BLOB - 1] = 9;
        let expected = KzgSettings::ethereum()
            .compute_cells_and_kzg_proofs(&blob)
            .expect("valid blob");
        let settings = Arc::new(KzgSettings::load_ethereum().expect("embedded setup"));
        let workers = rayon::current_num_threads();
        let barrier = Arc::new(Barrier::new(workers + 1));
        let (done, finished) = mpsc::channel();
        {
            let (settings, barrier, blob, done) = (
                settings.clone(),
                barrier.clone(),
                blob.clone(),
                done.clone(),
            );
            std::thread::spawn(move || {
                let results: Vec<_> = (0..workers)
                    .into_par_iter()
                    .with_max_len(1)
                    .map(|_| {
                        barrier.wait();
                        std::thread::sleep(Duration::from_millis(200));
                        settings.compute_cells_and_kzg_proofs(&blob)
                    })
                    .collect();
                let _ = done.send(results);
            });
        }
        std::thread::spawn(move || {
            barrier.wait();
            let _ = done.send(vec![settings.compute_cells_and_kzg_proofs(&blob)]);
        });
        let mut results = Vec::new();
        for _ in 0..2 {
            results.extend(
                finished
                    .recv_timeout(Duration::from_secs(120))
                    .expect("the tables were built and used within 120 s (no deadlock)"),
            );
        }
        assert_eq!(results.len(), workers + 1);
        for result in results {
            assert_eq!(result.expect("valid blob"), expected);
        }
    }
}
