//! The id of a dispersed blob: a hash that binds its size and every chunk's KZG commitment.
//!
//! `id = BLAKE3-derive_key("appliance-da blob id v1", u64_le(size) || commitment_0 || ... )`.
//! A light client that holds the id checks the commitments a box sends against it, so a box
//! cannot swap in commitments of other data.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::da_limits::BYTES_PER_COMMITMENT;

/// BLAKE3 key-derivation context of blob ids; changing it changes every id.
const BLOB_ID_CONTEXT: &str = "appliance-da blob id v1";

/// 32-byte id of a blob, shown as 64 lowercase hex characters.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct BlobId(pub [u8; 32]);

impl BlobId {
    /// The id of a blob of `size` input bytes whose chunks have `commitments`, in chunk order.
    pub fn of(size: u64, commitments: &[[u8; BYTES_PER_COMMITMENT]]) -> Self {
        let mut hasher = blake3::Hasher::new_derive_key(BLOB_ID_CONTEXT);
        hasher.update(&size.to_le_bytes());
        for commitment in commitments {
            hasher.update(commitment);
        }
        BlobId(*hasher.finalize().as_bytes())
    }
}

impl fmt::Display for BlobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for BlobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BlobId({self})")
    }
}

/// A string that is not 64 hex characters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("blob id must be 64 hex characters, got {0:?}")]
pub struct ParseBlobIdError(pub String);

impl FromStr for BlobId {
    type Err = ParseBlobIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(s, &mut bytes).map_err(|_| ParseBlobIdError(s.to_owned()))?;
        Ok(BlobId(bytes))
    }
}

impl From<BlobId> for String {
    fn from(id: BlobId) -> String {
        id.to_string()
    }
}

impl TryFrom<String> for BlobId {
    type Error = ParseBlobIdError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn id_binds_size_and_every_commitment() {
        let commitments = [[1u8; 48], [2u8; 48]];
        let id = BlobId::of(200_000, &commitments);
        assert_ne!(id, BlobId::of(200_001, &commitments));
        assert_ne!(id, BlobId::of(200_000, &[[1u8; 48], [3u8; 48]]));
        assert_ne!(id, BlobId::of(200_000, &[[2u8; 48], [1u8; 48]]));
        assert_ne!(id, BlobId::of(200_000, &commitments[..1]));
    }

    #[test]
    fn bad_hex_is_refused() {
        assert!("zz".parse::<BlobId>().is_err());
        assert!("ab".repeat(31).parse::<BlobId>().is_err());
        assert!("ab".repeat(33).parse::<BlobId>().is_err());
    }

    proptest! {
        #[test]
        fn hex_round_trips(bytes in any::<[u8; 32]>()) {
            let id = BlobId(bytes);
            prop_assert_eq!(id.to_string().parse::<BlobId>().unwrap(), id);
            prop_assert_eq!(BlobId::try_from(String::from(id)).unwrap(), id);
        }
    }
}
