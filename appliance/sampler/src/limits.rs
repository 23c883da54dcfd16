//! The sampler's limits and defaults, each with the reason for its value.

use appliance_protocol::da_limits::CELLS_PER_CHUNK;

/// Cells sampled per chunk unless `--samples` says otherwise: a withheld chunk escapes 30
/// samples with probability below 1e-10.
pub const DEFAULT_SAMPLES: u16 = 30;

/// Most samples per chunk: every cell of the chunk.
pub const MAX_SAMPLES: u16 = CELLS_PER_CHUNK as u16;

/// Most cells a withheld chunk can still serve: a chunk is lost only when more than half of its
/// cells are withheld, so at most half minus one are served.
pub const MAX_SERVED_CELLS_OF_LOST_CHUNK: usize = CELLS_PER_CHUNK / 2 - 1;

/// Cell requests in flight at once over all nodes: keeps every node's stream limit (64) busy
/// without queueing thousands of tasks for a large blob.
pub const MAX_REQUESTS_IN_FLIGHT: usize = 64;
