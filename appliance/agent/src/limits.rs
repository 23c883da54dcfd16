//! Every limit the agent applies, each with the reason for its value.

/// Attempts of the first enrollment request when the control plane does not answer: a box often
/// boots before the network or the control plane is up.
pub const ENROLL_ATTEMPTS: u32 = 5;

/// Milliseconds before the second attempt; each later wait doubles.
pub const ENROLL_RETRY_FIRST_MS: u64 = 500;

/// Seconds any request to the control plane may take: heartbeats are small, so a slower answer
/// means trouble and the next period retries.
pub const REQUEST_TIMEOUT_SECS: u64 = 10;

/// Longest wait between retries after failures, in milliseconds: a control plane back from an
/// outage hears from every box within a minute.
pub const MAX_RETRY_MS: u64 = 60_000;

/// Shortest period the agent accepts from the control plane, in milliseconds: a misconfigured
/// control plane cannot make boxes flood it.
pub const MIN_PERIOD_MS: u64 = 50;
