//! The QUIC sample server: one request and one response per bidirectional stream, answers
//! looked up in a [`SampleSource`] on the blocking pool, every limit of [`ServerLimits`] enforced.
//!
//! A request that cannot be decoded, is too large, or does not arrive in time is answered with an
//! error frame, and the stream's receive side is stopped with the same code; the connection and
//! the server go on serving.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use appliance_protocol::sample_frames::{CellsResponse, ErrorCode, ErrorFrame, Request, Response};
use quinn::{RecvStream, SendStream, VarInt};
use tokio::sync::Semaphore;
use tracing::{debug, warn};

use crate::frame_io::{read_frame_body, FrameReadError};
use crate::identity::{NodeId, NodeIdentity};
use crate::limits::{
    IDLE_TIMEOUT, MAX_CONNECTIONS, MAX_REQUEST_BYTES, MAX_SOURCE_CALLS, MAX_STREAMS_PER_CONNECTION,
    REQUEST_READ_TIMEOUT, SERVER_STREAM_RECEIVE_WINDOW, SOURCE_QUEUE_TIMEOUT,
};
use crate::sample_source::SampleSource;
use crate::server_metrics;
use crate::tls;

/// The server's limits; [`Default`] takes them from [`crate::limits`]. Tests shorten the
/// timeouts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerLimits {
    /// Bidirectional streams a client may have open on one connection.
    pub max_streams_per_connection: u32,
    /// Connections held at once.
    pub max_connections: usize,
    /// QUIC idle timeout.
    pub idle_timeout: Duration,
    /// Time to receive a whole request on an opened stream.
    pub request_timeout: Duration,
    /// Source calls running at once.
    pub max_source_calls: usize,
    /// Longest wait for a source-call slot before answering "busy".
    pub source_queue_timeout: Duration,
}

impl Default for ServerLimits {
    fn default() -> Self {
        Self {
            max_streams_per_connection: MAX_STREAMS_PER_CONNECTION,
            max_connections: MAX_CONNECTIONS,
            idle_timeout: IDLE_TIMEOUT,
            request_timeout: REQUEST_READ_TIMEOUT,
            max_source_calls: MAX_SOURCE_CALLS,
            source_queue_timeout: SOURCE_QUEUE_TIMEOUT,
        }
    }
}

/// Starting the server failed.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The TLS configuration was refused (a bad key or certificate).
    #[error("TLS configuration: {0}")]
    Tls(#[from] rustls::Error),
    /// QUIC refused the TLS configuration or a limit.
    #[error("QUIC configuration: {0}")]
    Config(String),
    /// The UDP socket could not be bound.
    #[error("binding QUIC to {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The cause.
        source: io::Error,
    },
}

/// What every connection and stream task shares.
struct ServerContext {
    source: Arc<dyn SampleSource>,
    limits: ServerLimits,
    connections: Arc<Semaphore>,
    source_calls: Arc<Semaphore>,
}

/// A running sample server; dropping it closes the endpoint.
pub struct SampleServer {
    endpoint: quinn::Endpoint,
    node_id: NodeId,
    accept_task: tokio::task::JoinHandle<()>,
}

impl SampleServer {
    /// Binds `addr` (port 0 picks a free port) and starts serving `source` as `identity`. Must
    /// be called inside a tokio runtime.
    pub fn bind(
        addr: SocketAddr,
        identity: &NodeIdentity,
        source: Arc<dyn SampleSource>,
        limits: ServerLimits,
    ) -> Result<Self, ServerError> {
        let crypto =
            quinn::crypto::rustls::QuicServerConfig::try_from(tls::server_config(identity)?)
                .map_err(|e| ServerError::Config(e.to_string()))?;
        let mut config = quinn::ServerConfig::with_crypto(Arc::new(crypto));
        let mut transport = quinn::TransportConfig::default();
        transport
            .max_concurrent_bidi_streams(VarInt::from_u32(limits.max_streams_per_connection))
            .max_concurrent_uni_streams(VarInt::from_u32(0))
            .stream_receive_window(VarInt::from_u32(SERVER_STREAM_RECEIVE_WINDOW))
            .max_idle_timeout(Some(limits.idle_timeout.try_into().map_err(
                |e: quinn::VarIntBoundsExceeded| ServerError::Config(e.to_string()),
            )?));
        config.transport_config(Arc::new(transport));
        let endpoint = quinn::Endpoint::server(config, addr)
            .map_err(|source| ServerError::Bind { addr, source })?;
        let context = Arc::new(ServerContext {
            source,
            connections: Arc::new(Semaphore::new(limits.max_connections)),
            source_calls: Arc::new(Semaphore::new(limits.max_source_calls)),
            limits,
        });
        let accept_task = tokio::spawn(accept_loop(endpoint.clone(), context));
        Ok(Self {
            endpoint,
            node_id: identity.node_id(),
            accept_task,
        })
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.endpoint.local_addr()
    }

    /// The node id clients pin.
    pub fn node_id(&self) -> NodeId {
        self.node_id
    }

    /// Closes every connection and waits until the peers are told.
    pub async fn shutdown(&self) {
        self.accept_task.abort();
        self.endpoint
            .close(VarInt::from_u32(0), b"server shutting down");
        self.endpoint.wait_idle().await;
    }
}

impl Drop for SampleServer {
    fn drop(&mut self) {
        self.accept_task.abort();
        self.endpoint
            .close(VarInt::from_u32(0), b"server shutting down");
    }
}

async fn accept_loop(endpoint: quinn::Endpoint, context: Arc<ServerContext>) {
    while let Some(incoming) = endpoint.accept().await {
        let Ok(permit) = context.connections.clone().try_acquire_owned() else {
            server_metrics::rejected("too_many_connections");
            incoming.refuse();
            continue;
        };
        let context = context.clone();
        tokio::spawn(async move {
            serve_connection(incoming, context).await;
            drop(permit);
        });
    }
}

async fn serve_connection(incoming: quinn::Incoming, context: Arc<ServerContext>) {
    let connection = match incoming.await {
        Ok(connection) => connection,
        Err(e) => {
            debug!(error = %e, "QUIC handshake failed");
            server_metrics::rejected("handshake");
            return;
        }
    };
    while let Ok((send, recv)) = connection.accept_bi().await {
        tokio::spawn(serve_stream(send, recv, context.clone()));
    }
}

async fn serve_stream(mut send: SendStream, mut recv: RecvStream, context: Arc<ServerContext>) {
    let started = Instant::now();
    let timeout = context.limits.request_timeout;
    let read = tokio::time::timeout(timeout, read_frame_body(&mut recv, MAX_REQUEST_BYTES)).await;
    let refusal = match read {
        Err(_) => ErrorFrame::new(
            ErrorCode::TIMEOUT,
            format!("no whole request within {timeout:?}"),
        ),
        Ok(Err(FrameReadError::Stream(e))) => {
            debug!(error = %e, "sample stream broke before its request arrived");
            server_metrics::rejected("stream_error");
            return;
        }
        Ok(Err(e @ FrameReadError::FinishedEarly { .. })) => {
            ErrorFrame::new(ErrorCode::MALFORMED_FRAME, e.to_string())
        }
        Ok(Err(FrameReadError::Frame(e))) => ErrorFrame::new(e.code(), e.to_string()),
        Ok(Ok(body)) => match Request::decode_body(&body) {
            Ok(request) => return answer(send, request, context, started).await,
            Err(e) => ErrorFrame::new(e.code(), e.to_string()),
        },
    };
    refuse(&mut send, &mut recv, refusal).await;
}

/// Answers a refused request with an error frame and stops the stream's receive side with the
/// same code.
async fn refuse(send: &mut SendStream, recv: &mut RecvStream, error: ErrorFrame) {
    server_metrics::rejected(error.code().name().unwrap_or("other"));
    debug!(%error, "sample request refused");
    let code = VarInt::from_u32(u32::from(error.code().0));
    // The peer may already be gone; there is nobody left to tell then.
    let _ = recv.stop(code);
    let frame = Response::Error(error).encode();
    if send.write_all(&frame).await.is_ok() {
        let _ = send.finish();
        server_metrics::wrote(frame.len());
    }
}

async fn answer(
    mut send: SendStream,
    request: Request,
    context: Arc<ServerContext>,
    started: Instant,
) {
    let kind = match request {
        Request::Commitments(_) => "commitments",
        Request::Cells(_) => "cells",
    };
    let queue_timeout = context.limits.source_queue_timeout;
    let slot =
        tokio::time::timeout(queue_timeout, context.source_calls.clone().acquire_owned()).await;
    let (frame, cells, refused) = match slot {
        Ok(Ok(permit)) => {
            let source = context.source.clone();
            let lookup = tokio::task::spawn_blocking(move || {
                let answer = look_up(source.as_ref(), request);
                drop(permit);
                answer
            });
            match lookup.await {
                Ok(answer) => answer,
                Err(e) => {
                    warn!(error = %e, "sample source call failed");
                    error_frame(ErrorCode::INTERNAL, "the sample source failed")
                }
            }
        }
        _ => error_frame(
            ErrorCode::BUSY,
            format!("no source slot free within {queue_timeout:?}"),
        ),
    };
    if let Some(code) = refused {
        server_metrics::rejected(code.name().unwrap_or("other"));
    }
    if send.write_all(&frame).await.is_err() {
        server_metrics::rejected("stream_error");
        return;
    }
    let _ = send.finish();
    server_metrics::wrote(frame.len());
    server_metrics::served(kind, cells, started.elapsed());
}

/// An encoded answer: the frame, the cells it carries, and the error code if it refuses.
type Answer = (Vec<u8>, usize, Option<ErrorCode>);

fn error_frame(code: ErrorCode, message: impl Into<String>) -> Answer {
    (
        Response::Error(ErrorFrame::new(code, message)).encode(),
        0,
        Some(code),
    )
}

/// Runs one request against the source and encodes the answer (on the blocking pool: a full
/// cells response is a quarter of a megabyte to copy).
fn look_up(source: &dyn SampleSource, request: Request) -> Answer {
    match request {
        Request::Commitments(blob) => match source.commitments(&blob) {
            Ok(commitments) => (Response::Commitments(commitments).encode(), 0, None),
            Err(e) => error_frame(e.code(), e.to_string()),
        },
        Request::Cells(request) => {
            let cells = match source.cells(request.blob(), request.chunk(), request.indices()) {
                Ok(cells) => cells,
                Err(e) => return error_frame(e.code(), e.to_string()),
            };
            let as_asked = cells.len() == request.indices().len()
                && cells
                    .iter()
                    .zip(request.indices())
                    .all(|(entry, &index)| entry.index == index);
            if !as_asked {
                warn!(blob = %request.blob(), chunk = request.chunk(), "sample source returned other cells than asked");
                return error_frame(
                    ErrorCode::INTERNAL,
                    "the sample source returned other cells",
                );
            }
            let count = cells.len();
            match CellsResponse::new(request.chunk(), cells) {
                Ok(response) => (Response::Cells(response).encode(), count, None),
                Err(e) => error_frame(ErrorCode::INTERNAL, e.to_string()),
            }
        }
    }
}
