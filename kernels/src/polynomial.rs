//! Polynomial evaluation in both forms, and vanishing polynomials.

use blstrs::Scalar;
use ff::Field;

use crate::field::batch_invert;

/// Evaluates at `z` the polynomial whose values over `roots_brp` (the bit-reversed domain) are
/// `evals`, with the barycentric formula (spec `evaluate_polynomial_in_evaluation_form`).
pub fn evaluate_evaluation_form(evals: &[Scalar], roots_brp: &[Scalar], z: &Scalar) -> Scalar {
    debug_assert_eq!(evals.len(), roots_brp.len());
    if let Some(index) = roots_brp.iter().position(|w| w == z) {
        return evals[index];
    }
    let mut denominators: Vec<Scalar> = roots_brp.iter().map(|w| z - w).collect();
    batch_invert(&mut denominators);
    let sum = evals
        .iter()
        .zip(roots_brp)
        .zip(&denominators)
        .fold(Scalar::ZERO, |acc, ((f, w), d)| acc + f * w * d);
    let width = evals.len() as u64;
    let width_inv = Scalar::from(width).invert().expect("non-zero width");
    sum * (z.pow_vartime([width]) - Scalar::ONE) * width_inv
}

/// Evaluates a polynomial in coefficient form at `z` (Horner).
pub fn evaluate_coefficient_form(coeffs: &[Scalar], z: &Scalar) -> Scalar {
    coeffs.iter().rev().fold(Scalar::ZERO, |acc, c| acc * z + c)
}

/// Coefficients of `prod_i (X - roots[i])`, lowest degree first.
pub fn vanishing_polynomial(roots: &[Scalar]) -> Vec<Scalar> {
    let mut coeffs = vec![Scalar::ONE];
    for root in roots {
        let mut next = vec![Scalar::ZERO; coeffs.len() + 1];
        for (i, c) in coeffs.iter().enumerate() {
            next[i + 1] += c;
            next[i] -= c * root;
        }
        coeffs = next;
    }
    coeffs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field::{bit_reverse_permute, powers, root_of_unity};

    #[test]
    fn barycentric_matches_horner() {
        let n = 16;
        let coeffs: Vec<Scalar> = (0..n as u64).map(|i| Scalar::from(3 * i + 2)).collect();
        let mut roots = powers(root_of_unity(n), n);
        bit_reverse_permute(&mut roots);
        let evals: Vec<Scalar> = roots
            .iter()
            .map(|w| evaluate_coefficient_form(&coeffs, w))
            .collect();
        let z = Scalar::from(123_456u64);
        assert_eq!(
            evaluate_evaluation_form(&evals, &roots, &z),
            evaluate_coefficient_form(&coeffs, &z)
        );
        assert_eq!(
            evaluate_evaluation_form(&evals, &roots, &roots[5]),
            evals[5]
        );
    }

    #[test]
    fn vanishing_polynomial_vanishes_exactly_on_its_roots() {
        let roots: Vec<Scalar> = (1..6u64).map(Scalar::from).collect();
        let poly = vanishing_polynomial(&roots);
        assert_eq!(poly.len(), 6);
        assert_eq!(poly[5], Scalar::ONE);
        for r in &roots {
            assert_eq!(evaluate_coefficient_form(&poly, r), Scalar::ZERO);
        }
        assert_ne!(
            evaluate_coefficient_form(&poly, &Scalar::from(9u64)),
            Scalar::ZERO
        );
    }
}
