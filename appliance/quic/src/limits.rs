//! Every limit and fixed name of the QUIC sample service, each with the reason for its value.

use std::time::Duration;

use appliance_protocol::limits::{MAX_FRAME_BYTES, MAX_REQUEST_FRAME_BYTES};

/// File in the data directory that holds the node key (PKCS#8 DER).
pub const NODE_KEY_FILE: &str = "node.key";

/// Permission bits of the node key file: the owner reads and writes, nobody else.
pub const KEY_FILE_MODE: u32 = 0o600;

/// Name in the box's certificate and the client's SNI; the pin, not the name, identifies a box.
pub const SERVER_NAME: &str = "appliance";

/// ALPN protocol id of sample protocol version 1; a client speaking anything else is refused
/// during the handshake.
pub const ALPN: &[u8] = b"appliance-sample/1";

/// Largest request body the server reads: a cells request for the most cells a request may name.
pub const MAX_REQUEST_BYTES: usize = MAX_REQUEST_FRAME_BYTES;

/// Largest response body the client reads: the protocol's largest frame.
pub const MAX_RESPONSE_BYTES: usize = MAX_FRAME_BYTES;

/// Bidirectional streams a client may have open on one connection: enough to keep a link busy
/// with a whole sampling round in flight, few enough that one client cannot tie up the server.
pub const MAX_STREAMS_PER_CONNECTION: u32 = 64;

/// Connections the server holds at once; more are refused at the handshake.
pub const MAX_CONNECTIONS: usize = 1024;

/// A connection with no traffic for this long is closed (QUIC idle timeout, both ends).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// Time a client has to send its whole request once it opened a stream (against slow-loris
/// clients holding stream slots).
pub const REQUEST_READ_TIMEOUT: Duration = Duration::from_secs(5);

/// Source calls (disk reads, recovery) running at once on the blocking pool: enough to overlap
/// I/O on a few drives, bounded so a flood of requests cannot grow the pool without limit.
pub const MAX_SOURCE_CALLS: usize = 32;

/// Longest a request waits for a free source-call slot before it is answered "busy".
pub const SOURCE_QUEUE_TIMEOUT: Duration = Duration::from_secs(2);

/// Receive window of one stream on the server: a request is under 300 bytes, so a client
/// cannot park more than this in the server's memory per stream.
pub const SERVER_STREAM_RECEIVE_WINDOW: u32 = 4096;

/// Longest a client waits for the answer to one request.
pub const CLIENT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Longest a client waits for a connection's handshake.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
