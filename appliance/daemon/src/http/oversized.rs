//! Refusing a body that crossed its limit while streaming in.
//!
//! A server that answers 413 with the body unread must close the connection, and that races the
//! client: one still writing the body reports a reset instead of the answer, and one that pooled
//! the connection sends its next request into the closing socket. Like a web server's lingering
//! close, the rest of the body is read and dropped first, within a byte and time budget, so a
//! client that overshot by a little reads the 413 and keeps its connection.

use std::time::Duration;

use axum::body::{Body, BodyDataStream};
use futures_util::StreamExt;

use crate::limits::{OVERSIZED_DRAIN_BYTES, OVERSIZED_DRAIN_MILLIS};

/// Reads and drops what is left of `stream`, up to [`OVERSIZED_DRAIN_BYTES`] or
/// [`OVERSIZED_DRAIN_MILLIS`], whichever comes first.
pub(super) async fn drain(stream: &mut BodyDataStream) {
    let discard = async {
        let mut dropped = 0usize;
        while let Some(Ok(piece)) = stream.next().await {
            dropped += piece.len();
            if dropped > OVERSIZED_DRAIN_BYTES {
                break;
            }
        }
    };
    // Past the budget the connection is closed with the body unread; the client may then see
    // a reset, which is all a client sending that much more than allowed can expect.
    let _ = tokio::time::timeout(Duration::from_millis(OVERSIZED_DRAIN_MILLIS), discard).await;
}

/// For a body refused on its announced length: drains it when it is within
/// [`OVERSIZED_DRAIN_BYTES`] of `max`; a larger one is left unread and its connection closed.
pub(super) async fn drain_announced(body: Body, announced: u64, max: u64) {
    if announced.saturating_sub(max) <= OVERSIZED_DRAIN_BYTES as u64 {
        drain(&mut body.into_data_stream()).await;
    }
}
