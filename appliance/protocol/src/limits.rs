//! Limits of the sample protocol's wire format, each with the reason for its value.

use crate::da_limits::{BYTES_PER_CELL, BYTES_PER_PROOF, CELLS_PER_CHUNK};

/// Most cells one request may ask for: a whole chunk's extension, enough for any sampler, and it
/// bounds a response to about 262 KiB.
pub const MAX_CELLS_PER_REQUEST: usize = CELLS_PER_CHUNK;

/// Most chunk commitments a blob may have on the wire: 8192 x 128 KiB covers 1 GiB of input, far
/// past the appliance's largest blob (32 MiB), and keeps a commitments frame under 400 KiB.
pub const MAX_COMMITMENTS: usize = 8192;

/// Most bytes of UTF-8 text an error frame carries: enough for a sentence naming the fault.
pub const MAX_ERROR_MESSAGE_BYTES: usize = 1024;

/// Bytes of the length prefix in front of every frame (u32, little-endian).
pub const FRAME_LENGTH_BYTES: usize = 4;

/// Bytes of one cell entry in a cells response: index (u16), cell, proof.
pub const BYTES_PER_CELL_ENTRY: usize = 2 + BYTES_PER_CELL + BYTES_PER_PROOF;

/// Largest frame body either side accepts: the larger of a full cells response and a full
/// commitments response, plus headers; anything longer is refused before it is read.
pub const MAX_FRAME_BYTES: usize = {
    let cells = 16 + MAX_CELLS_PER_REQUEST * BYTES_PER_CELL_ENTRY;
    let commitments = 16 + MAX_COMMITMENTS * crate::da_limits::BYTES_PER_COMMITMENT;
    if cells > commitments {
        cells
    } else {
        commitments
    }
};

/// Largest request body: a cells request for the most cells (header, id, chunk, count, indices).
pub const MAX_REQUEST_FRAME_BYTES: usize = 3 + 32 + 4 + 2 + 2 * MAX_CELLS_PER_REQUEST;
