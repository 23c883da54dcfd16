//! Sizes fixed by EIP-4844 / EIP-7594 that both ends of the DA protocol rely on.

/// Bytes of one KZG commitment or proof (a compressed G1 point).
pub const BYTES_PER_COMMITMENT: usize = 48;
/// Bytes of one cell proof.
pub const BYTES_PER_PROOF: usize = 48;
/// Cells of one erasure-extended chunk (EIP-7594 `CELLS_PER_EXT_BLOB`).
pub const CELLS_PER_CHUNK: usize = 128;
/// Bytes of one cell (64 field elements of 32 bytes).
pub const BYTES_PER_CELL: usize = 2048;
/// Bytes of one chunk before extension (an EIP-4844 blob: 4096 field elements).
pub const BYTES_PER_CHUNK: usize = 131_072;
