//! Every limit the daemon applies, each with the reason for its value.

/// Chunks of a PUT body queued between the HTTP task and the blocking engine writer: enough to
/// keep the writer busy while the next network read is in flight, few enough that a slow drive
/// pushes back on the client instead of buffering the body in memory.
pub const PUT_CHANNEL_DEPTH: usize = 8;

/// Pieces of a GET range queued between the blocking engine reader and the HTTP response: the
/// same trade-off as [`PUT_CHANNEL_DEPTH`], in the other direction.
pub const GET_CHANNEL_DEPTH: usize = 8;

/// Objects per page of `GET /v1/objects` when the client gives no `limit`.
pub const DEFAULT_LIST_LIMIT: usize = 100;

/// Largest page of `GET /v1/objects`: bounds the JSON a single request can make the daemon build.
pub const MAX_LIST_LIMIT: usize = 1000;

/// How long the CLI waits for a running daemon's admin API (scrub and rebuild of a full set of
/// drives can take minutes).
pub const ADMIN_CLIENT_TIMEOUT_SECS: u64 = 3600;

/// Seconds between upkeeps of the Prometheus recorder (draining histogram samples), the
/// exporter's own default period.
pub const METRICS_UPKEEP_SECS: u64 = 5;

/// GET ranges up to this many bytes are read in the same blocking task as the object lookup and
/// answered from one buffer: small reads skip a task hop and the streaming channel, at the cost of
/// at most this much memory per request.
pub const INLINE_READ_MAX: u64 = 256 << 10;

/// Bucket bounds (seconds) of every latency histogram on `/metrics`: 100 µs (a cached small read)
/// to 10 s (a 256 MiB object on a slow drive), about 2.5x apart, so fleet-wide percentiles can be
/// aggregated from buckets.
pub const LATENCY_BUCKETS_SECONDS: [f64; 16] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];

/// Seconds a stopping daemon waits for a background scrub or compaction step still running
/// before it exits anyway: long enough for a step to finish on small sets, short enough for a
/// service manager's stop timeout; an interrupted step is recovered like a crash.
pub const SHUTDOWN_GRACE_SECS: u64 = 20;

/// Seconds a stopping daemon waits for its QUIC peers to be told the sample server is closing
/// (QUIC's own draining takes a few round trips; a peer that has vanished is not waited for).
pub const QUIC_CLOSE_GRACE_SECS: u64 = 3;

/// Default memory for whole chunks recently sampled over QUIC (`--sample-cache`): about 1000
/// chunks, the last few of the largest blobs, which is what light clients sample; small beside a
/// box's memory.
pub const DEFAULT_SAMPLE_CACHE_BYTES: u64 = 256 << 20;

/// Default seconds between background compactions: often enough that deleted space comes back
/// before a busy box fills up, rarely enough that a compaction pass (which only scans zone
/// accounting when nothing is reclaimable) costs nothing noticeable.
pub const DEFAULT_COMPACT_EVERY_SECS: u64 = 60;

/// Default seconds between background scrubs: daily, so latent sector errors are found and
/// repaired from parity long before a second failure in the same stripe could make them fatal,
/// while a full read of every drive stays a small share of their bandwidth.
pub const DEFAULT_SCRUB_EVERY_SECS: u64 = 86_400;

/// Seconds a push of custody columns to one peer may take (a 32 MiB blob's columns for one
/// peer of three are about 45 MiB over the network plus the peer's proof check).
pub const CUSTODY_PUSH_TIMEOUT_SECS: u64 = 120;

/// Milliseconds between looks at the custody outbox for pushes due again: well under the first
/// retry wait, so a retry is not late by much.
pub const OUTBOX_POLL_MILLIS: u64 = 200;

/// Queued custody pushes retried at once: each builds a batch of up to a blob's columns in
/// memory, so a long outbox after an outage drains a few at a time.
pub const OUTBOX_BATCH: usize = 8;

/// Most boxes `appliance cluster` starts on one machine: each runs its own engine and threads.
pub const MAX_CLUSTER_NODES: usize = 32;

/// Milliseconds between `appliance cluster`'s checks of its boxes.
pub const CLUSTER_POLL_MILLIS: u64 = 200;

/// `Cache-Control` of object reads: objects are content-addressed, so the bytes behind an id never
/// change; caches may keep them for a year (the longest `max-age` caches are asked to honour).
pub const OBJECT_CACHE_CONTROL: &str = "public, max-age=31536000, immutable";

/// Bytes of a refused, over-limit body still read and dropped so the client sees the 413 rather
/// than a reset: covers any client that overshot by a few socket buffers, while one streaming
/// far more is cut off.
pub const OVERSIZED_DRAIN_BYTES: usize = 8 << 20;

/// Longest time spent dropping the rest of a refused body (see [`OVERSIZED_DRAIN_BYTES`]).
pub const OVERSIZED_DRAIN_MILLIS: u64 = 2000;
