//! Typed errors for every input the public API refuses.

use thiserror::Error;

/// Why a KZG call refused its input. No call panics on bad bytes: it returns one of these.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum KzgError {
    /// A byte string had the wrong length.
    #[error("{what} must be {expected} bytes, got {actual}")]
    InvalidLength {
        /// Which argument.
        what: &'static str,
        /// Required length.
        expected: usize,
        /// Length received.
        actual: usize,
    },
    /// A 32-byte field element was not below the BLS12-381 scalar modulus.
    #[error("field element {index} of {what} is not canonical (>= BLS modulus)")]
    NonCanonicalFieldElement {
        /// Which argument.
        what: &'static str,
        /// Position of the element inside the argument.
        index: usize,
    },
    /// A 48-byte string was not a valid compressed G1 point in the prime-order subgroup.
    #[error("{what} {index} is not a valid compressed G1 point in the subgroup")]
    InvalidG1Point {
        /// Which argument.
        what: &'static str,
        /// Position of the point in its list (0 for a single point).
        index: usize,
    },
    /// Lists that must be of equal length were not.
    #[error("argument lists differ in length: {0}")]
    LengthMismatch(&'static str),
    /// A cell index was not below 128.
    #[error("cell index {0} is out of range (must be < 128)")]
    CellIndexOutOfRange(u64),
    /// Cell indices for recovery must be strictly ascending (which also rules out duplicates).
    #[error("cell indices must be strictly ascending without duplicates (index {0})")]
    CellIndicesNotAscending(u64),
    /// Too few cells to recover a blob.
    #[error("recovery needs at least {needed} distinct cells, got {got}")]
    NotEnoughCells {
        /// Cells needed.
        needed: usize,
        /// Cells given.
        got: usize,
    },
    /// More cells than an extended blob has.
    #[error("at most {max} cells exist per blob, got {got}")]
    TooManyCells {
        /// Cells in an extended blob.
        max: usize,
        /// Cells given.
        got: usize,
    },
    /// Data for a multi-chunk blob was empty.
    #[error("data is empty")]
    EmptyData,
    /// Data for a multi-chunk blob spans more chunks than allowed.
    #[error("data spans {got} chunks, at most {max} allowed")]
    TooManyChunks {
        /// Largest chunk count accepted.
        max: usize,
        /// Chunks the data would need.
        got: usize,
    },
    /// A chunk of multi-chunk data was refused.
    #[error("chunk {index}: {source}")]
    InChunk {
        /// Position of the chunk.
        index: usize,
        /// Why it was refused.
        source: Box<KzgError>,
    },
}

/// Why the embedded (or a supplied) trusted setup was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SetupError {
    /// The setup bytes had the wrong total length.
    #[error("trusted setup must be {expected} bytes, got {actual}")]
    InvalidLength {
        /// Required length.
        expected: usize,
        /// Length received.
        actual: usize,
    },
    /// A point failed to decode, lies off the curve or outside the subgroup, or is the identity.
    #[error("trusted setup {section} point {index} is invalid")]
    InvalidPoint {
        /// `g1_lagrange`, `g2_monomial` or `g1_monomial`.
        section: &'static str,
        /// Position in that section.
        index: usize,
    },
}
