//! The sample server's metrics (through the `metrics` facade; the daemon installs the exporter).

use std::time::Duration;

/// Counter: cells served with their proofs.
pub const SAMPLES_SERVED: &str = "sample_cells_served_total";
/// Counter: bytes of response frames written, error frames included.
pub const BYTES_SERVED: &str = "sample_bytes_served_total";
/// Histogram, label `kind` (`commitments`, `cells`): seconds from a stream's opening to its
/// response being handed to QUIC.
pub const REQUEST_SECONDS: &str = "sample_request_seconds";
/// Counter, label `reason` (an error code's name, `too_many_connections`, `handshake` or
/// `stream_error`): requests and connections refused or failed.
pub const REJECTED: &str = "sample_requests_rejected_total";

/// Counts one refused or failed request or connection.
pub(crate) fn rejected(reason: &'static str) {
    metrics::counter!(REJECTED, "reason" => reason).increment(1);
}

/// Counts the bytes of one response frame written.
pub(crate) fn wrote(bytes: usize) {
    metrics::counter!(BYTES_SERVED).increment(bytes as u64);
}

/// Records one answered request.
pub(crate) fn served(kind: &'static str, cells: usize, elapsed: Duration) {
    metrics::counter!(SAMPLES_SERVED).increment(cells as u64);
    metrics::histogram!(REQUEST_SECONDS, "kind" => kind).record(elapsed.as_secs_f64());
}
