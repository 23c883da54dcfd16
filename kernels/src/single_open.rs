//! Single-point KZG openings over the blob domain (EIP-4844): quotients, proofs, verification.

use blstrs::{G1Affine, G1Projective, G2Prepared, G2Projective, Scalar};
use ff::Field;
use group::Curve;

use crate::curve::pairing_check;
use crate::field::{batch_invert, powers};
use crate::polynomial::evaluate_evaluation_form;
use crate::settings::KzgSettings;

/// Commitment to a polynomial given by its evaluations over the bit-reversed domain.
pub fn commit(settings: &KzgSettings, evals: &[Scalar]) -> G1Projective {
    settings
        .backend
        .g1_shifted_base_msm(settings.lagrange_table(), evals)
}

/// Proof that the polynomial `evals` takes value `y` at `z`; returns `(proof, y)`.
pub fn prove(settings: &KzgSettings, evals: &[Scalar], z: &Scalar) -> (G1Projective, Scalar) {
    let roots = &settings.roots_blob_brp;
    let y = evaluate_evaluation_form(evals, roots, z);
    let mut denominators: Vec<Scalar> = roots.iter().map(|w| w - z).collect();
    batch_invert(&mut denominators);
    let mut quotient: Vec<Scalar> = evals
        .iter()
        .zip(&denominators)
        .map(|(f, d)| (f - y) * d)
        .collect();
    if let Some(m) = roots.iter().position(|w| w == z) {
        quotient[m] = quotient_within_domain(evals, roots, m, &y);
    }
    (commit(settings, &quotient), y)
}

/// Quotient value at the domain point `roots[m] = z` (spec `compute_quotient_eval_within_domain`):
/// `sum_{i != m} (f_i - y) * w_i / (z * (z - w_i))`.
fn quotient_within_domain(evals: &[Scalar], roots: &[Scalar], m: usize, y: &Scalar) -> Scalar {
    let z = roots[m];
    let mut denominators: Vec<Scalar> = roots.iter().map(|w| z * (z - w)).collect();
    denominators[m] = Scalar::ONE;
    batch_invert(&mut denominators);
    evals
        .iter()
        .zip(roots)
        .zip(&denominators)
        .enumerate()
        .filter(|(i, _)| *i != m)
        .fold(Scalar::ZERO, |acc, (_, ((f, w), d))| acc + (f - y) * w * d)
}

/// Checks `e(C - [y], -[1]) * e(proof, [s] - [z]) == 1`.
pub fn verify(
    settings: &KzgSettings,
    commitment: &G1Affine,
    z: &Scalar,
    y: &Scalar,
    proof: &G1Affine,
) -> bool {
    let x_minus_z = (G2Projective::from(settings.g2_s(1))
        - G2Projective::from(settings.g2_generator()) * z)
        .to_affine();
    let p_minus_y = (G1Projective::from(commitment)
        - G1Projective::from(settings.g1_generator()) * y)
        .to_affine();
    pairing_check(&[
        (&p_minus_y, &settings.neg_g2_prepared),
        (proof, &G2Prepared::from(x_minus_z)),
    ])
}

/// Spec `verify_kzg_proof_batch` with challenge `r`: one pairing check for many openings.
pub fn verify_batch(
    settings: &KzgSettings,
    commitments: &[G1Affine],
    zs: &[Scalar],
    ys: &[Scalar],
    proofs: &[G1Affine],
    r: Scalar,
) -> bool {
    let n = commitments.len();
    let r_powers = powers(r, n);
    let backend = settings.backend.as_ref();
    let proof_lincomb = backend.g1_msm(proofs, &r_powers).to_affine();
    let r_times_z: Vec<Scalar> = r_powers.iter().zip(zs).map(|(r, z)| r * z).collect();
    let proof_z_lincomb = backend.g1_msm(proofs, &r_times_z);
    let commitment_lincomb = backend.g1_msm(commitments, &r_powers);
    let y_lincomb: Scalar = r_powers.iter().zip(ys).map(|(r, y)| r * y).sum();
    let rhs = (commitment_lincomb - G1Projective::from(settings.g1_generator()) * y_lincomb
        + proof_z_lincomb)
        .to_affine();
    pairing_check(&[
        (&proof_lincomb, &settings.neg_s_prepared),
        (&rhs, &settings.g2_prepared),
    ])
}
