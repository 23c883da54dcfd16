//! The engine's Prometheus metrics, recorded through the `metrics` facade (the daemon installs
//! the exporter). Names: `storage_bytes_written_total`, `storage_bytes_read_total`,
//! `storage_ops_total{op}`, `storage_op_seconds{op}`, `storage_degraded_reads_total`,
//! `storage_degraded_writes_total`, `storage_checksum_failures_total`,
//! `storage_read_errors_total`, `storage_repairs_total`.

use std::time::Instant;

/// An operation finished: count it and record its latency.
pub(crate) fn op_done(op: &'static str, started: Instant) {
    metrics::counter!("storage_ops_total", "op" => op).increment(1);
    metrics::histogram!("storage_op_seconds", "op" => op).record(started.elapsed().as_secs_f64());
}

pub(crate) fn bytes_written(n: u64) {
    metrics::counter!("storage_bytes_written_total").increment(n);
}

pub(crate) fn bytes_read(n: u64) {
    metrics::counter!("storage_bytes_read_total").increment(n);
}

pub(crate) fn degraded_read() {
    metrics::counter!("storage_degraded_reads_total").increment(1);
}

pub(crate) fn degraded_write() {
    metrics::counter!("storage_degraded_writes_total").increment(1);
}

pub(crate) fn checksum_failure() {
    metrics::counter!("storage_checksum_failures_total").increment(1);
}

pub(crate) fn read_error() {
    metrics::counter!("storage_read_errors_total").increment(1);
}

pub(crate) fn repair() {
    metrics::counter!("storage_repairs_total").increment(1);
}
