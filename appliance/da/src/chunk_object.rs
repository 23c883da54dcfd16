//! One chunk's extension as one storage-engine object.
//!
//! Layout (268,352 bytes):
//!
//! | offset | bytes | what |
//! | --- | --- | --- |
//! | 0 | 8 | magic `APDACHK1` |
//! | 8 | 32 | blob key (BLAKE3 of the blob's input bytes) |
//! | 40 | 4 | chunk index, little endian |
//! | 44 | 4 | generation, little endian (0 when dispersed, +1 per repair) |
//! | 48 | 16 | zeros |
//! | 64 + 2096 i | 2048 | cell i (i = 0..128) |
//! | 64 + 2096 i + 2048 | 48 | proof of cell i |
//!
//! A cell and its proof sit side by side, so one sample is one contiguous read and the packed
//! chunk (cells 0..64) is one range. The header makes every object unique to its blob, chunk and
//! generation: the engine is content-addressed, so without it two blobs with an equal chunk would
//! share one object, and a repair (which must write an object with a new id, then delete the old
//! one) of one blob's chunk would delete the other's.

use kernels::Cell;

use crate::limits::{
    BYTES_PER_CELL, BYTES_PER_PROOF, CELLS_PER_CHUNK, CHUNK_HEADER_LEN, CHUNK_OBJECT_LEN,
    DIGEST_LEN, RECORD_LEN,
};

/// Identifies a chunk object's format.
const MAGIC: &[u8; 8] = b"APDACHK1";

/// BLAKE3 of a blob's input bytes: known before encoding, unique per blob content.
pub type BlobKey = [u8; 32];

/// BLAKE3 digest of one cell record (cell and proof).
pub type Digest = [u8; DIGEST_LEN];

/// A compressed G1 point: a cell proof.
pub type Proof = [u8; BYTES_PER_PROOF];

/// The key of a blob's input bytes.
pub fn blob_key(data: &[u8]) -> BlobKey {
    *blake3::hash(data).as_bytes()
}

/// Byte offset of record `index` inside a chunk object.
pub fn record_offset(index: usize) -> u64 {
    debug_assert!(index <= CELLS_PER_CHUNK);
    (CHUNK_HEADER_LEN + index * RECORD_LEN) as u64
}

/// The digest the manifest keeps for a record.
pub fn record_digest(record: &[u8]) -> Digest {
    debug_assert_eq!(record.len(), RECORD_LEN);
    *blake3::hash(record).as_bytes()
}

/// Splits a record into its cell and proof.
pub fn split_record(record: &[u8]) -> (Cell, Proof) {
    assert_eq!(record.len(), RECORD_LEN, "a record is a cell and a proof");
    let (cell, proof) = record.split_at(BYTES_PER_CELL);
    (
        cell.try_into().expect("cell length"),
        proof.try_into().expect("proof length"),
    )
}

/// Builds the object of chunk `chunk` of the blob with `key`, at `generation`.
pub fn build(
    key: &BlobKey,
    chunk: u32,
    generation: u32,
    cells: &[Cell],
    proofs: &[Proof],
) -> Vec<u8> {
    assert_eq!(cells.len(), CELLS_PER_CHUNK, "a chunk extends to 128 cells");
    assert_eq!(proofs.len(), CELLS_PER_CHUNK, "one proof per cell");
    let mut object = Vec::with_capacity(CHUNK_OBJECT_LEN);
    object.extend_from_slice(MAGIC);
    object.extend_from_slice(key);
    object.extend_from_slice(&chunk.to_le_bytes());
    object.extend_from_slice(&generation.to_le_bytes());
    object.resize(CHUNK_HEADER_LEN, 0);
    for (cell, proof) in cells.iter().zip(proofs) {
        object.extend_from_slice(cell);
        object.extend_from_slice(proof);
    }
    debug_assert_eq!(object.len(), CHUNK_OBJECT_LEN);
    object
}

/// Digests of every record of a built object, in cell order.
pub fn digests(object: &[u8]) -> Vec<Digest> {
    assert_eq!(object.len(), CHUNK_OBJECT_LEN);
    object[CHUNK_HEADER_LEN..]
        .chunks_exact(RECORD_LEN)
        .map(record_digest)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_places_header_then_cell_proof_pairs() {
        let cells: Vec<Cell> = (0..128).map(|i| [i as u8; BYTES_PER_CELL]).collect();
        let proofs: Vec<Proof> = (0..128).map(|i| [200 - i as u8; BYTES_PER_PROOF]).collect();
        let key = [0xab; 32];
        let object = build(&key, 7, 2, &cells, &proofs);
        assert_eq!(object.len(), CHUNK_OBJECT_LEN);
        assert_eq!(&object[..8], MAGIC);
        assert_eq!(&object[8..40], &key);
        assert_eq!(&object[40..44], &7u32.to_le_bytes());
        assert_eq!(&object[44..48], &2u32.to_le_bytes());
        for i in [0usize, 63, 127] {
            let at = record_offset(i) as usize;
            let (cell, proof) = split_record(&object[at..at + RECORD_LEN]);
            assert_eq!(cell, cells[i]);
            assert_eq!(proof, proofs[i]);
        }
        let d = digests(&object);
        assert_eq!(d.len(), 128);
        assert_ne!(d[0], d[1]);
        let at = record_offset(5) as usize;
        assert_eq!(d[5], record_digest(&object[at..at + RECORD_LEN]));
    }

    #[test]
    fn generation_and_chunk_change_the_object() {
        let cells = vec![[1u8; BYTES_PER_CELL]; 128];
        let proofs = vec![[2u8; BYTES_PER_PROOF]; 128];
        let key = blob_key(b"blob");
        let base = build(&key, 0, 0, &cells, &proofs);
        assert_ne!(base, build(&key, 0, 1, &cells, &proofs));
        assert_ne!(base, build(&key, 1, 0, &cells, &proofs));
        assert_ne!(base, build(&blob_key(b"other"), 0, 0, &cells, &proofs));
        assert_eq!(digests(&base), digests(&build(&key, 3, 9, &cells, &proofs)));
    }
}
