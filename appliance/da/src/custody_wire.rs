//! The body of `POST /v1/internal/custody`: the cells of some columns of every chunk of a
//! blob, with what a receiver needs to check them (the blob's size and commitments, which hash
//! to its id).
//!
//! Layout (little endian):
//!
//! | bytes | what |
//! | --- | --- |
//! | 8 | magic `APCUSTD1` |
//! | 32 | blob id |
//! | 8 | blob size |
//! | 4 | chunks `n` |
//! | 2 | columns `c` |
//! | 48 n | commitments, in chunk order |
//! | 2 c | column indices, strictly ascending, below 128 |
//! | 2096 n c | records (cell 2048 ‖ proof 48), chunk-major, columns in the order above |

use appliance_protocol::BlobId;

use crate::error::DaError;
use crate::limits::{BYTES_PER_COMMITMENT, CELLS_PER_CHUNK, RECORD_LEN};
use crate::manifest::Commitment;

/// Identifies the format.
const MAGIC: &[u8; 8] = b"APCUSTD1";

/// Bytes before the commitments.
const FIXED_LEN: usize = 8 + 32 + 8 + 4 + 2;

/// Cells of some columns of every chunk of a blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustodyBatch {
    /// The blob.
    pub id: BlobId,
    /// Its input bytes.
    pub size: u64,
    /// Every chunk's commitment, in chunk order.
    pub commitments: Vec<Commitment>,
    /// The columns carried, strictly ascending.
    pub columns: Vec<u16>,
    /// `commitments.len() x columns.len()` records (cell ‖ proof), chunk-major.
    pub records: Vec<u8>,
}

impl CustodyBatch {
    /// Record of the `i`-th carried column of chunk `chunk`.
    pub fn record(&self, chunk: usize, i: usize) -> &[u8] {
        let at = (chunk * self.columns.len() + i) * RECORD_LEN;
        &self.records[at..at + RECORD_LEN]
    }

    /// Bytes of the encoded batch for `chunks` chunks and `columns` columns.
    pub fn encoded_len(chunks: usize, columns: usize) -> usize {
        FIXED_LEN + chunks * BYTES_PER_COMMITMENT + columns * 2 + chunks * columns * RECORD_LEN
    }

    /// The wire bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(Self::encoded_len(
            self.commitments.len(),
            self.columns.len(),
        ));
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&self.id.0);
        out.extend_from_slice(&self.size.to_le_bytes());
        out.extend_from_slice(&(self.commitments.len() as u32).to_le_bytes());
        out.extend_from_slice(&(self.columns.len() as u16).to_le_bytes());
        for c in &self.commitments {
            out.extend_from_slice(c);
        }
        for c in &self.columns {
            out.extend_from_slice(&c.to_le_bytes());
        }
        out.extend_from_slice(&self.records);
        out
    }

    /// Parses and shape-checks wire bytes (the cells themselves are checked by the receiver).
    pub fn decode(bytes: &[u8]) -> Result<CustodyBatch, DaError> {
        let bad = |why: &str| DaError::BadCustody(why.to_owned());
        if bytes.len() < FIXED_LEN || &bytes[..8] != MAGIC {
            return Err(bad("not a custody batch (bad magic or too short)"));
        }
        let id = BlobId(bytes[8..40].try_into().expect("32 bytes"));
        let size = u64::from_le_bytes(bytes[40..48].try_into().expect("8 bytes"));
        let chunks = u32::from_le_bytes(bytes[48..52].try_into().expect("4 bytes")) as usize;
        let columns = u16::from_le_bytes(bytes[52..54].try_into().expect("2 bytes")) as usize;
        if chunks == 0 || columns == 0 || columns > CELLS_PER_CHUNK {
            return Err(bad(
                "a batch carries 1 to 128 columns of at least one chunk",
            ));
        }
        if bytes.len() != Self::encoded_len(chunks, columns) {
            return Err(bad("length does not match the chunk and column counts"));
        }
        let mut at = FIXED_LEN;
        let commitments = bytes[at..at + chunks * BYTES_PER_COMMITMENT]
            .chunks_exact(BYTES_PER_COMMITMENT)
            .map(|c| c.try_into().expect("commitment length"))
            .collect();
        at += chunks * BYTES_PER_COMMITMENT;
        let columns: Vec<u16> = bytes[at..at + columns * 2]
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        at += columns.len() * 2;
        if columns.windows(2).any(|w| w[0] >= w[1])
            || columns
                .last()
                .is_some_and(|&c| c as usize >= CELLS_PER_CHUNK)
        {
            return Err(bad("columns must be strictly ascending and below 128"));
        }
        Ok(CustodyBatch {
            id,
            size,
            commitments,
            columns,
            records: bytes[at..].to_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch() -> CustodyBatch {
        CustodyBatch {
            id: BlobId([7; 32]),
            size: 200_000,
            commitments: vec![[1; 48], [2; 48]],
            columns: vec![0, 5, 127],
            records: (0..2 * 3 * RECORD_LEN).map(|i| i as u8).collect(),
        }
    }

    #[test]
    fn round_trips_and_indexes_records() {
        let b = batch();
        let bytes = b.encode();
        assert_eq!(bytes.len(), CustodyBatch::encoded_len(2, 3));
        let back = CustodyBatch::decode(&bytes).unwrap();
        assert_eq!(back, b);
        assert_eq!(
            back.record(1, 2),
            &b.records[5 * RECORD_LEN..6 * RECORD_LEN]
        );
    }

    #[test]
    fn malformed_batches_are_refused() {
        let good = batch().encode();
        let mut cases = vec![
            good[..good.len() - 1].to_vec(),
            good[..20].to_vec(),
            [b"XXXXXXXX", &good[8..]].concat(),
        ];
        let mut zero_columns = good.clone();
        zero_columns[52..54].copy_from_slice(&0u16.to_le_bytes());
        cases.push(zero_columns);
        let mut unordered = batch();
        unordered.columns = vec![5, 0, 127];
        cases.push(unordered.encode());
        let mut too_high = batch();
        too_high.columns = vec![0, 5, 128];
        cases.push(too_high.encode());
        for bytes in cases {
            assert!(matches!(
                CustodyBatch::decode(&bytes),
                Err(DaError::BadCustody(_))
            ));
        }
    }
}
