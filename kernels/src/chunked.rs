//! Data larger than one blob: a sequence of 128 KiB EIP-4844 blobs, encoded in parallel.

use rayon::prelude::*;

use crate::curve::G1Bytes;
use crate::error::KzgError;
use crate::limits::{BYTES_PER_BLOB, MAX_CHUNKS};
use crate::serialization::Cell;
use crate::settings::KzgSettings;

/// The EIP-7594 encoding of one chunk: its commitment, 128 cells and 128 cell proofs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkEncoding {
    /// Commitment to the chunk's blob polynomial.
    pub commitment: G1Bytes,
    /// The 128 cells of the extension.
    pub cells: Vec<Cell>,
    /// One proof per cell.
    pub proofs: Vec<G1Bytes>,
}

/// Number of chunks `len` bytes of data occupy.
pub fn chunk_count(len: usize) -> usize {
    len.div_ceil(BYTES_PER_BLOB)
}

fn chunks(data: &[u8]) -> Result<Vec<Vec<u8>>, KzgError> {
    if data.is_empty() {
        return Err(KzgError::EmptyData);
    }
    let count = chunk_count(data.len());
    if count > MAX_CHUNKS {
        return Err(KzgError::TooManyChunks {
            max: MAX_CHUNKS,
            got: count,
        });
    }
    Ok(data
        .chunks(BYTES_PER_BLOB)
        .map(|chunk| {
            let mut blob = chunk.to_vec();
            blob.resize(BYTES_PER_BLOB, 0);
            blob
        })
        .collect())
}

fn in_chunk<T>(index: usize, result: Result<T, KzgError>) -> Result<T, KzgError> {
    result.map_err(|source| KzgError::InChunk {
        index,
        source: Box::new(source),
    })
}

impl KzgSettings {
    /// Commitments to each 128 KiB chunk of `data` (the last one zero-padded), in parallel.
    /// Every 32-byte word must be a canonical field element.
    pub fn blob_to_kzg_commitments_chunked(&self, data: &[u8]) -> Result<Vec<G1Bytes>, KzgError> {
        chunks(data)?
            .par_iter()
            .enumerate()
            .map(|(index, blob)| in_chunk(index, self.blob_to_kzg_commitment(blob)))
            .collect()
    }

    /// Commitment, cells and cell proofs of each 128 KiB chunk of `data` (the last one
    /// zero-padded), chunks encoded in parallel over all cores of the current rayon pool.
    pub fn encode_chunked(&self, data: &[u8]) -> Result<Vec<ChunkEncoding>, KzgError> {
        chunks(data)?
            .par_iter()
            .enumerate()
            .map(|(index, blob)| {
                let commitment = in_chunk(index, self.blob_to_kzg_commitment(blob))?;
                let (cells, proofs) = in_chunk(index, self.compute_cells_and_kzg_proofs(blob))?;
                Ok(ChunkEncoding {
                    commitment,
                    cells,
                    proofs,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blob_with(seed: u8) -> Vec<u8> {
        let mut blob = vec![0u8; BYTES_PER_BLOB];
        for (i, word) in blob.chunks_exact_mut(32).enumerate() {
            word[31] = seed.wrapping_add(i as u8);
            word[5] = seed;
        }
        blob
    }

    #[test]
    fn chunks_match_single_blob_calls_and_last_chunk_is_padded() {
        let settings = KzgSettings::ethereum();
        let first = blob_with(1);
        let second = blob_with(2);
        let mut data = first.clone();
        data.extend_from_slice(&second[..1000 * 32]);
        let encoded = settings.encode_chunked(&data).unwrap();
        assert_eq!(encoded.len(), 2);
        let mut padded = second[..1000 * 32].to_vec();
        padded.resize(BYTES_PER_BLOB, 0);
        for (encoding, blob) in encoded.iter().zip([&first, &padded]) {
            assert_eq!(
                encoding.commitment,
                settings.blob_to_kzg_commitment(blob).unwrap()
            );
            let (cells, proofs) = settings.compute_cells_and_kzg_proofs(blob).unwrap();
            assert_eq!(encoding.cells, cells);
            assert_eq!(encoding.proofs, proofs);
        }
        let commitments = settings.blob_to_kzg_commitments_chunked(&data).unwrap();
        assert_eq!(commitments[1], encoded[1].commitment);
    }

    #[test]
    fn bad_chunk_is_named_and_empty_data_refused() {
        let settings = KzgSettings::ethereum();
        let mut data = blob_with(3);
        data.extend_from_slice(&[0xff; 64]);
        let err = settings.blob_to_kzg_commitments_chunked(&data).unwrap_err();
        assert!(matches!(err, KzgError::InChunk { index: 1, .. }), "{err:?}");
        assert_eq!(settings.encode_chunked(&[]), Err(KzgError::EmptyData));
    }
}
