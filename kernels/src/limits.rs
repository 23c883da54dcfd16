//! Every size and count the KZG code relies on, each with the reason for its value.

/// Field elements in one EIP-4844 blob: the degree bound of a blob polynomial (spec constant).
pub const FIELD_ELEMENTS_PER_BLOB: usize = 4096;

/// Bytes in one serialized BLS12-381 scalar field element (big-endian, canonical).
pub const BYTES_PER_FIELD_ELEMENT: usize = 32;

/// Bytes in one EIP-4844 blob: 4096 field elements of 32 bytes.
pub const BYTES_PER_BLOB: usize = FIELD_ELEMENTS_PER_BLOB * BYTES_PER_FIELD_ELEMENT;

/// Bytes in a compressed G1 point (commitments and proofs).
pub const BYTES_PER_G1: usize = 48;

/// Bytes in a compressed G2 point (trusted setup only).
pub const BYTES_PER_G2: usize = 96;

/// Bytes in a serialized KZG commitment (a compressed G1 point).
pub const BYTES_PER_COMMITMENT: usize = BYTES_PER_G1;

/// Bytes in a serialized KZG proof (a compressed G1 point).
pub const BYTES_PER_PROOF: usize = BYTES_PER_G1;

/// G2 monomial points in the Ethereum setup: `[s^0]..[s^64]`, enough for cell proofs of 64 elements.
pub const NUM_G2_POINTS: usize = 65;

/// Evaluations of the 2x Reed-Solomon extension of a blob (EIP-7594).
pub const FIELD_ELEMENTS_PER_EXT_BLOB: usize = 2 * FIELD_ELEMENTS_PER_BLOB;

/// Field elements in one EIP-7594 cell: the coset size of a multi-proof.
pub const FIELD_ELEMENTS_PER_CELL: usize = 64;

/// Bytes in one serialized cell.
pub const BYTES_PER_CELL: usize = FIELD_ELEMENTS_PER_CELL * BYTES_PER_FIELD_ELEMENT;

/// Cells in one extended blob: 8192 evaluations / 64 per cell.
pub const CELLS_PER_EXT_BLOB: usize = FIELD_ELEMENTS_PER_EXT_BLOB / FIELD_ELEMENTS_PER_CELL;

/// Fewest distinct cells from which a blob can be recovered: half of the extension (rate 1/2 code).
pub const MIN_CELLS_FOR_RECOVERY: usize = CELLS_PER_EXT_BLOB / 2;

/// Size of the trusted setup as embedded: G1 Lagrange + G2 monomial + G1 monomial, compressed.
pub const TRUSTED_SETUP_BYTES: usize =
    2 * FIELD_ELEMENTS_PER_BLOB * BYTES_PER_G1 + NUM_G2_POINTS * BYTES_PER_G2;

/// Most chunks one multi-chunk call accepts: 4096 x 128 KiB = 512 MiB of data, about 1 GiB of
/// cells in memory at once; larger objects are split by the caller.
pub const MAX_CHUNKS: usize = 4096;

/// Digit width of the fixed-base MSM behind FK20, whose points go in pairs with a table of all
/// `a P + b Q` (544 entries for 5 bits): 52 windows (26 a GLV half) of one addition per pair, as
/// few additions as 10-bit tables per point would need (26 windows per point) in half their memory
/// (214 MB for FK20's 8192 points instead of 400 MB); measured about 15% faster than 8-bit tables
/// per point (100 MB, 32 windows per point), which were 20% faster than 6 bits and 35% faster than
/// blst's Pippenger.
pub const FIXED_BASE_WINDOW_BITS: usize = 5;

/// Window of the shifted-base MSM behind commitments: the 4096 Lagrange points are stored with
/// their 22 window shifts (8.6 MB); 2048 buckets keep the bucket-combining cost small beside the
/// 90k batch-affine term additions.
pub const COMMIT_WINDOW_BITS: usize = 12;

/// Terms of FK20's fixed-base MSM summed together (one field inversion per level shared by all):
/// 8192 affine points, 768 KiB, stay in L2; that is all windows of 4 rows of 32 point pairs,
/// whatever the number of threads, so the inversions are never spread over a handful of additions.
pub const FIXED_BASE_TERMS_PER_BATCH: usize = 8192;
