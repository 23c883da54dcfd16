//! A client of the sample server: connects (pinning the box's node id), asks for commitments and
//! cells, and checks that each answer is the one asked for. Proofs are checked by the caller
//! (the sampler), which holds the KZG settings.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use appliance_protocol::sample_frames::{
    BlobCommitments, CellsRequest, CellsResponse, ErrorFrame, FrameError, Request, Response,
};
use appliance_protocol::BlobId;
use quinn::VarInt;
use tracing::warn;

use crate::frame_io::{read_frame_body, FrameReadError};
use crate::identity::NodeId;
use crate::limits::{
    CLIENT_REQUEST_TIMEOUT, CONNECT_TIMEOUT, IDLE_TIMEOUT, MAX_RESPONSE_BYTES, SERVER_NAME,
};
use crate::tls::{self, PinMismatch, PinnedNodeVerifier};

/// A request to a box failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The local UDP socket could not be opened.
    #[error("opening a local QUIC endpoint: {0}")]
    Endpoint(io::Error),
    /// The TLS or QUIC configuration was refused.
    #[error("client configuration: {0}")]
    Config(String),
    /// The box presented a key other than the pinned one.
    #[error(transparent)]
    PinMismatch(#[from] PinMismatch),
    /// The connection could not be made.
    #[error("connecting: {0}")]
    Connect(String),
    /// The handshake did not finish in time.
    #[error("connecting: no handshake within {0:?}")]
    ConnectTimeout(Duration),
    /// The connection broke.
    #[error("connection lost: {0}")]
    Connection(#[from] quinn::ConnectionError),
    /// The request could not be sent.
    #[error("sending the request: {0}")]
    Write(#[from] quinn::WriteError),
    /// The response could not be read.
    #[error("reading the response: {0}")]
    Read(#[from] FrameReadError),
    /// The response is not a valid frame.
    #[error("decoding the response: {0}")]
    Frame(#[from] FrameError),
    /// The box answered with an error frame.
    #[error("refused: {0}")]
    Refused(ErrorFrame),
    /// No response in time.
    #[error("no response within {0:?}")]
    Timeout(Duration),
    /// The box answered with a frame of the wrong kind.
    #[error("answered a {asked} request with a {got} frame")]
    UnexpectedResponse {
        /// Kind of the request.
        asked: &'static str,
        /// Kind of the response.
        got: &'static str,
    },
    /// The box sent other cells than asked for.
    #[error("asked for cells {asked:?} of chunk {asked_chunk}, got {got:?} of chunk {got_chunk}")]
    WrongCells {
        /// Chunk asked for.
        asked_chunk: u32,
        /// Cells asked for.
        asked: Vec<u16>,
        /// Chunk answered.
        got_chunk: u32,
        /// Cells answered.
        got: Vec<u16>,
    },
    /// The commitments the box sent do not hash to the blob id asked about.
    #[error("commitments hash to blob id {got}, not to the {expected} asked about")]
    WrongCommitments {
        /// The id asked about.
        expected: BlobId,
        /// The id of the answer.
        got: BlobId,
    },
}

fn kind_of(response: &Response) -> &'static str {
    match response {
        Response::Commitments(_) => "commitments",
        Response::Cells(_) => "cells",
        Response::Error(_) => "error",
    }
}

/// One connection to one box.
pub struct SampleClient {
    endpoint: quinn::Endpoint,
    connection: quinn::Connection,
    node_id: NodeId,
}

impl SampleClient {
    /// Connects to the box at `addr`, accepting it only if its key has node id `pin`. With no
    /// pin any box is accepted, and a warning says so: anyone on the path can then answer.
    pub async fn connect(addr: SocketAddr, pin: Option<NodeId>) -> Result<Self, ClientError> {
        if pin.is_none() {
            warn!(%addr, "no node id pinned for {addr}: accepting whichever key it presents");
        }
        let verifier = Arc::new(PinnedNodeVerifier::new(pin));
        let crypto =
            tls::client_config(verifier.clone()).map_err(|e| ClientError::Config(e.to_string()))?;
        let crypto = quinn::crypto::rustls::QuicClientConfig::try_from(crypto)
            .map_err(|e| ClientError::Config(e.to_string()))?;
        let mut config = quinn::ClientConfig::new(Arc::new(crypto));
        let mut transport = quinn::TransportConfig::default();
        transport.max_idle_timeout(Some(
            IDLE_TIMEOUT
                .try_into()
                .map_err(|e: quinn::VarIntBoundsExceeded| ClientError::Config(e.to_string()))?,
        ));
        config.transport_config(Arc::new(transport));
        let local: SocketAddr = if addr.is_ipv6() {
            (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
        } else {
            (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
        };
        let mut endpoint = quinn::Endpoint::client(local).map_err(ClientError::Endpoint)?;
        endpoint.set_default_client_config(config);
        let connecting = endpoint
            .connect(addr, SERVER_NAME)
            .map_err(|e| ClientError::Connect(e.to_string()))?;
        let connection = match tokio::time::timeout(CONNECT_TIMEOUT, connecting).await {
            Err(_) => return Err(ClientError::ConnectTimeout(CONNECT_TIMEOUT)),
            Ok(Err(e)) => {
                return Err(match verifier.mismatch() {
                    Some(mismatch) => mismatch.into(),
                    None => ClientError::Connect(e.to_string()),
                })
            }
            Ok(Ok(connection)) => connection,
        };
        let node_id = verifier
            .seen()
            .expect("a finished handshake has had its certificate checked");
        Ok(Self {
            endpoint,
            connection,
            node_id,
        })
    }

    /// The node id of the box at the other end (the pin, when one was given).
    pub fn node_id(&self) -> NodeId {
        self.node_id
    }

    /// The QUIC connection, for callers that speak the protocol themselves.
    pub fn connection(&self) -> &quinn::Connection {
        &self.connection
    }

    /// Sends one request on a new stream and reads the response frame.
    pub async fn request(&self, request: &Request) -> Result<Response, ClientError> {
        let exchange = async {
            let (mut send, mut recv) = self.connection.open_bi().await?;
            match send.write_all(&request.encode()).await {
                // A server that refuses a request stops the stream and still answers why.
                Ok(()) | Err(quinn::WriteError::Stopped(_)) => {}
                Err(e) => return Err(e.into()),
            }
            // Finishing fails only on a stream the server stopped; its answer is read below.
            let _ = send.finish();
            let body = read_frame_body(&mut recv, MAX_RESPONSE_BYTES).await?;
            Ok(Response::decode_body(&body)?)
        };
        tokio::time::timeout(CLIENT_REQUEST_TIMEOUT, exchange)
            .await
            .map_err(|_| ClientError::Timeout(CLIENT_REQUEST_TIMEOUT))?
    }

    /// The size and commitments of `blob`, checked to hash to `blob`.
    pub async fn get_commitments(&self, blob: &BlobId) -> Result<BlobCommitments, ClientError> {
        match self.request(&Request::Commitments(*blob)).await? {
            Response::Commitments(commitments) => {
                let got = commitments.blob_id();
                if got != *blob {
                    return Err(ClientError::WrongCommitments {
                        expected: *blob,
                        got,
                    });
                }
                Ok(commitments)
            }
            Response::Error(error) => Err(ClientError::Refused(error)),
            other => Err(ClientError::UnexpectedResponse {
                asked: "commitments",
                got: kind_of(&other),
            }),
        }
    }

    /// The cells asked for, checked to be exactly those, in the order asked; their proofs are
    /// not checked here.
    pub async fn get_cells(&self, request: &CellsRequest) -> Result<CellsResponse, ClientError> {
        match self.request(&Request::Cells(request.clone())).await? {
            Response::Cells(response) => {
                let as_asked = response.chunk() == request.chunk()
                    && response
                        .cells()
                        .iter()
                        .map(|entry| entry.index)
                        .eq(request.indices().iter().copied());
                if !as_asked {
                    return Err(ClientError::WrongCells {
                        asked_chunk: request.chunk(),
                        asked: request.indices().to_vec(),
                        got_chunk: response.chunk(),
                        got: response.cells().iter().map(|entry| entry.index).collect(),
                    });
                }
                Ok(response)
            }
            Response::Error(error) => Err(ClientError::Refused(error)),
            other => Err(ClientError::UnexpectedResponse {
                asked: "cells",
                got: kind_of(&other),
            }),
        }
    }

    /// Closes the connection and waits until the box is told.
    pub async fn close(self) {
        self.connection.close(VarInt::from_u32(0), b"done");
        self.endpoint.wait_idle().await;
    }
}
