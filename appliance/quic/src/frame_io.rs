//! Reading one length-prefixed frame from a QUIC stream, refusing an oversized one before its
//! body is read.

use appliance_protocol::limits::FRAME_LENGTH_BYTES;
use appliance_protocol::sample_frames::{body_len, FrameError};
use quinn::{ReadExactError, RecvStream};

/// Reading a frame failed: the stream broke, or the bytes are not a frame.
#[derive(Debug, thiserror::Error)]
pub enum FrameReadError {
    /// The stream was reset, the connection lost, or the peer closed the stream mid-frame.
    #[error("stream: {0}")]
    Stream(#[from] quinn::ReadError),
    /// The peer finished the stream before a whole frame arrived.
    #[error("stream finished after {got} of {expected} bytes of the frame")]
    FinishedEarly {
        /// Bytes of the current field received.
        got: usize,
        /// Bytes of the field expected.
        expected: usize,
    },
    /// The length prefix is over the reader's limit.
    #[error(transparent)]
    Frame(#[from] FrameError),
}

async fn read_exact(recv: &mut RecvStream, buf: &mut [u8]) -> Result<(), FrameReadError> {
    recv.read_exact(buf).await.map_err(|e| match e {
        ReadExactError::FinishedEarly(got) => FrameReadError::FinishedEarly {
            got,
            expected: buf.len(),
        },
        ReadExactError::ReadError(e) => FrameReadError::Stream(e),
    })
}

/// Reads one frame's body (prefix checked against `max`, then exactly that many bytes).
pub async fn read_frame_body(recv: &mut RecvStream, max: usize) -> Result<Vec<u8>, FrameReadError> {
    let mut prefix = [0u8; FRAME_LENGTH_BYTES];
    read_exact(recv, &mut prefix).await?;
    let len = body_len(prefix, max)?;
    let mut body = vec![0u8; len];
    read_exact(recv, &mut body).await?;
    Ok(body)
}
