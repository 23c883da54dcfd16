//! The DA layer's Prometheus metrics, recorded through the `metrics` facade (the daemon installs
//! the exporter): `da_blobs_dispersed_total`, `da_bytes_dispersed_total`, `da_disperse_seconds`,
//! `da_blobs_retrieved_total`, `da_bytes_retrieved_total`, `da_retrieve_seconds`,
//! `da_cells_read_total`, `da_cells_recovered_total`, `da_chunks_repaired_total`,
//! `da_unrecoverable_chunks_total`.

use std::time::Instant;

/// A blob of `bytes` input bytes was dispersed (or found already dispersed).
pub(crate) fn dispersed(bytes: u64, started: Instant) {
    metrics::counter!("da_blobs_dispersed_total").increment(1);
    metrics::counter!("da_bytes_dispersed_total").increment(bytes);
    metrics::histogram!("da_disperse_seconds").record(started.elapsed().as_secs_f64());
}

/// A whole blob of `bytes` input bytes was read back.
pub(crate) fn retrieved(bytes: u64, started: Instant) {
    metrics::counter!("da_blobs_retrieved_total").increment(1);
    metrics::counter!("da_bytes_retrieved_total").increment(bytes);
    metrics::histogram!("da_retrieve_seconds").record(started.elapsed().as_secs_f64());
}

/// `n` cells were answered to a sample request.
pub(crate) fn cells_read(n: usize) {
    metrics::counter!("da_cells_read_total").increment(n as u64);
}

/// `n` lost or corrupt cells were rebuilt from the others.
pub(crate) fn cells_recovered(n: usize) {
    metrics::counter!("da_cells_recovered_total").increment(n as u64);
}

/// A chunk object was rewritten from recovered cells.
pub(crate) fn chunk_repaired() {
    metrics::counter!("da_chunks_repaired_total").increment(1);
}

/// A chunk had fewer than half of its cells intact.
pub(crate) fn unrecoverable() {
    metrics::counter!("da_unrecoverable_chunks_total").increment(1);
}
