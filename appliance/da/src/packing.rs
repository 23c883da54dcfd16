//! Bytes to canonical field elements and back.
//!
//! Every 31 input bytes become one 32-byte big-endian element whose first byte is zero (so its
//! value is below 2^248, always below the BLS12-381 scalar modulus); 4096 elements make a
//! 131,072-byte chunk (an EIP-4844 blob) carrying 126,976 input bytes. The last element and the
//! last chunk are zero-padded. There is no length header: the exact size lives in the manifest and
//! is bound into the blob id, and unpacking truncates to it.

use crate::limits::{
    BYTES_PER_CHUNK, BYTES_PER_ELEMENT, ELEMENTS_PER_CHUNK, INPUT_BYTES_PER_CHUNK,
    INPUT_BYTES_PER_ELEMENT,
};

/// Packed bytes that no packing produces.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PackingError {
    /// An element's first byte is not zero.
    #[error("field element {element} has a non-zero top byte")]
    NonZeroTopByte {
        /// Position of the element in the packed bytes.
        element: usize,
    },
    /// The packed length is not a whole number of chunks, or too short for the size.
    #[error("{packed} packed bytes cannot hold {size} input bytes in whole chunks")]
    BadLength {
        /// Packed bytes given.
        packed: usize,
        /// Input bytes asked for.
        size: usize,
    },
}

/// Chunks that `size` input bytes occupy.
pub fn chunk_count(size: usize) -> usize {
    size.div_ceil(INPUT_BYTES_PER_CHUNK)
}

/// Input bytes that chunk `index` of a `size`-byte blob carries.
pub fn chunk_input_range(size: usize, index: usize) -> std::ops::Range<usize> {
    let start = (index * INPUT_BYTES_PER_CHUNK).min(size);
    start..(start + INPUT_BYTES_PER_CHUNK).min(size)
}

/// Packs at most one chunk of input into a full, zero-padded chunk.
pub fn pack_chunk(input: &[u8]) -> Vec<u8> {
    assert!(
        input.len() <= INPUT_BYTES_PER_CHUNK,
        "one chunk carries at most {INPUT_BYTES_PER_CHUNK} bytes"
    );
    let mut chunk = vec![0u8; BYTES_PER_CHUNK];
    for (element, piece) in chunk
        .chunks_exact_mut(BYTES_PER_ELEMENT)
        .zip(input.chunks(INPUT_BYTES_PER_ELEMENT))
    {
        element[1..1 + piece.len()].copy_from_slice(piece);
    }
    chunk
}

/// Appends the first `take` input bytes held by packed `chunk` to `out`.
pub fn unpack_chunk_into(chunk: &[u8], take: usize, out: &mut Vec<u8>) -> Result<(), PackingError> {
    if chunk.len() != BYTES_PER_CHUNK || take > INPUT_BYTES_PER_CHUNK {
        return Err(PackingError::BadLength {
            packed: chunk.len(),
            size: take,
        });
    }
    if let Some(element) = chunk
        .chunks_exact(BYTES_PER_ELEMENT)
        .position(|element| element[0] != 0)
    {
        return Err(PackingError::NonZeroTopByte { element });
    }
    let mut left = take;
    for element in chunk.chunks_exact(BYTES_PER_ELEMENT) {
        let n = left.min(INPUT_BYTES_PER_ELEMENT);
        if n == 0 {
            break;
        }
        out.extend_from_slice(&element[1..1 + n]);
        left -= n;
    }
    Ok(())
}

/// Packs a whole blob: `chunk_count(data.len())` chunks, the last one zero-padded.
pub fn pack(data: &[u8]) -> Vec<u8> {
    let mut packed = Vec::with_capacity(chunk_count(data.len()) * BYTES_PER_CHUNK);
    for input in data.chunks(INPUT_BYTES_PER_CHUNK) {
        packed.extend_from_slice(&pack_chunk(input));
    }
    packed
}

/// The `size` input bytes held by `packed` (whole chunks).
pub fn unpack(packed: &[u8], size: usize) -> Result<Vec<u8>, PackingError> {
    if packed.len() != chunk_count(size) * BYTES_PER_CHUNK {
        return Err(PackingError::BadLength {
            packed: packed.len(),
            size,
        });
    }
    let mut out = Vec::with_capacity(size);
    for (index, chunk) in packed.chunks_exact(BYTES_PER_CHUNK).enumerate() {
        unpack_chunk_into(chunk, chunk_input_range(size, index).len(), &mut out).map_err(|e| {
            match e {
                PackingError::NonZeroTopByte { element } => PackingError::NonZeroTopByte {
                    element: index * ELEMENTS_PER_CHUNK + element,
                },
                other => other,
            }
        })?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn layout_is_31_bytes_per_element_big_endian() {
        let data: Vec<u8> = (1..=62).collect();
        let packed = pack(&data);
        assert_eq!(packed.len(), BYTES_PER_CHUNK);
        assert_eq!(packed[0], 0);
        assert_eq!(&packed[1..32], &data[..31]);
        assert_eq!(packed[32], 0);
        assert_eq!(&packed[33..64], &data[31..]);
        assert!(packed[64..].iter().all(|&b| b == 0));
    }

    #[test]
    fn chunk_boundaries() {
        assert_eq!(INPUT_BYTES_PER_CHUNK, 126_976);
        assert_eq!(chunk_count(0), 0);
        assert_eq!(chunk_count(1), 1);
        assert_eq!(chunk_count(126_976), 1);
        assert_eq!(chunk_count(126_977), 2);
        assert_eq!(chunk_input_range(126_977, 1), 126_976..126_977);
        assert_eq!(pack(&vec![7; 126_977]).len(), 2 * BYTES_PER_CHUNK);
    }

    #[test]
    fn non_zero_top_byte_is_refused_with_its_position() {
        let mut packed = pack(&[9u8; 200_000]);
        packed[BYTES_PER_CHUNK + 5 * BYTES_PER_ELEMENT] = 1;
        assert_eq!(
            unpack(&packed, 200_000),
            Err(PackingError::NonZeroTopByte {
                element: ELEMENTS_PER_CHUNK + 5
            })
        );
    }

    #[test]
    fn wrong_lengths_are_refused() {
        let packed = pack(&[1u8; 1000]);
        assert!(matches!(
            unpack(&packed, 126_977),
            Err(PackingError::BadLength { .. })
        ));
        assert!(matches!(
            unpack(&packed[..100], 10),
            Err(PackingError::BadLength { .. })
        ));
        let mut out = Vec::new();
        assert!(unpack_chunk_into(&packed, INPUT_BYTES_PER_CHUNK + 1, &mut out).is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn round_trips(data in proptest::collection::vec(any::<u8>(), 0..300_000)) {
            let packed = pack(&data);
            prop_assert_eq!(packed.len(), chunk_count(data.len()) * BYTES_PER_CHUNK);
            prop_assert!(packed.chunks_exact(BYTES_PER_ELEMENT).all(|e| e[0] == 0));
            prop_assert_eq!(unpack(&packed, data.len()).unwrap(), data);
        }
    }
}
