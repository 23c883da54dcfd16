//! The sample protocol: length-prefixed binary frames that a light client and a box exchange over
//! QUIC bidirectional streams, one request and one response per stream.
//!
//! Every frame is `u32 length (little-endian) || body`, and every body starts with the magic byte
//! [`MAGIC`], the protocol [`VERSION`] and a kind byte. docs/sample-protocol.md lays the format out
//! byte by byte. Encoding never fails on values built through the constructors here; decoding
//! checks every length, count and index once and returns a typed [`FrameError`].

use std::fmt;

use crate::blob_id::BlobId;
use crate::da_limits::{BYTES_PER_CELL, BYTES_PER_COMMITMENT, BYTES_PER_PROOF, CELLS_PER_CHUNK};
use crate::limits::{
    BYTES_PER_CELL_ENTRY, FRAME_LENGTH_BYTES, MAX_CELLS_PER_REQUEST, MAX_COMMITMENTS,
    MAX_ERROR_MESSAGE_BYTES, MAX_FRAME_BYTES, MAX_REQUEST_FRAME_BYTES,
};

/// First byte of every frame body; tells a sample frame from anything else sent to the port.
pub const MAGIC: u8 = 0xDA;
/// Version of the wire format written by this code, the only one it reads.
pub const VERSION: u8 = 1;
/// Bytes of magic, version and kind at the start of every body.
pub const HEADER_BYTES: usize = 3;

/// Kind byte of a commitments request.
const KIND_COMMITMENTS_REQUEST: u8 = 0x01;
/// Kind byte of a cells request.
const KIND_CELLS_REQUEST: u8 = 0x02;
/// Kind byte of a commitments response.
const KIND_COMMITMENTS_RESPONSE: u8 = 0x81;
/// Kind byte of a cells response.
const KIND_CELLS_RESPONSE: u8 = 0x82;
/// Kind byte of an error response.
const KIND_ERROR: u8 = 0xEE;

/// A frame (or its length prefix) that cannot be decoded, or values that cannot form a frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The body ended before the field being read.
    #[error("frame truncated: {field} needs {needed} more bytes, {left} left")]
    Truncated {
        /// The field being read.
        field: &'static str,
        /// Bytes the field needs.
        needed: usize,
        /// Bytes left in the body.
        left: usize,
    },
    /// Bytes were left after the last field of the body.
    #[error("{0} bytes after the end of the frame")]
    TrailingBytes(usize),
    /// The length prefix does not match the bytes given.
    #[error("length prefix says {declared} bytes, {actual} follow")]
    LengthMismatch {
        /// Body length in the prefix.
        declared: usize,
        /// Bytes that follow the prefix.
        actual: usize,
    },
    /// The body is longer than the reader accepts.
    #[error("frame of {len} bytes exceeds the limit of {max}")]
    TooLarge {
        /// Body length in the prefix.
        len: usize,
        /// The reader's limit.
        max: usize,
    },
    /// The first body byte is not [`MAGIC`].
    #[error("bad magic byte {0:#04x} (expected {MAGIC:#04x})")]
    BadMagic(u8),
    /// The version byte is not [`VERSION`].
    #[error("unsupported protocol version {0} (this side speaks {VERSION})")]
    UnsupportedVersion(u8),
    /// The kind byte is not one this side reads here.
    #[error("unknown frame kind {0:#04x}")]
    UnknownKind(u8),
    /// A cells request or response with no cells.
    #[error("a cells frame must name at least one cell")]
    NoCells,
    /// More cells than [`MAX_CELLS_PER_REQUEST`].
    #[error("{count} cells in one frame, at most {max} allowed")]
    TooManyCells {
        /// Cells in the frame.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// A cell index of 128 or more.
    #[error("cell index {0} out of range (a chunk has {CELLS_PER_CHUNK} cells)")]
    CellIndexOutOfRange(u16),
    /// The same cell index twice.
    #[error("cell index {0} appears twice")]
    DuplicateCellIndex(u16),
    /// More commitments than [`MAX_COMMITMENTS`].
    #[error("{count} commitments, at most {max} allowed")]
    TooManyCommitments {
        /// Commitments in the frame.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// An error message longer than [`MAX_ERROR_MESSAGE_BYTES`].
    #[error("error message of {len} bytes, at most {max} allowed")]
    MessageTooLong {
        /// Bytes of the message.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// An error message that is not UTF-8.
    #[error("error message is not UTF-8")]
    MessageNotUtf8,
}

impl FrameError {
    /// The error code a server answers this decoding failure with.
    pub fn code(&self) -> ErrorCode {
        match self {
            FrameError::TooLarge { .. } => ErrorCode::FRAME_TOO_LARGE,
            FrameError::UnsupportedVersion(_) => ErrorCode::UNSUPPORTED_VERSION,
            FrameError::TooManyCells { .. } => ErrorCode::TOO_MANY_CELLS,
            FrameError::CellIndexOutOfRange(_)
            | FrameError::DuplicateCellIndex(_)
            | FrameError::NoCells => ErrorCode::BAD_CELL_INDEX,
            _ => ErrorCode::MALFORMED_FRAME,
        }
    }
}

/// Numeric code of an error response; also used as the QUIC stream error code when a stream is
/// closed early. Codes this version does not name still decode and re-encode unchanged.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ErrorCode(pub u16);

impl ErrorCode {
    /// The request frame could not be decoded.
    pub const MALFORMED_FRAME: Self = Self(1);
    /// The request's version byte is not one the server speaks.
    pub const UNSUPPORTED_VERSION: Self = Self(2);
    /// The request frame is longer than the server reads.
    pub const FRAME_TOO_LARGE: Self = Self(3);
    /// The request asks for more cells than one request may.
    pub const TOO_MANY_CELLS: Self = Self(4);
    /// A cell index is out of range, repeated, or no cell is named.
    pub const BAD_CELL_INDEX: Self = Self(5);
    /// The box holds no blob with this id.
    pub const UNKNOWN_BLOB: Self = Self(6);
    /// The blob has no chunk with this index.
    pub const CHUNK_OUT_OF_RANGE: Self = Self(7);
    /// The box cannot serve some of the cells (not in its custody, or lost).
    pub const CELLS_UNAVAILABLE: Self = Self(8);
    /// The request did not arrive in time.
    pub const TIMEOUT: Self = Self(9);
    /// The server is at a concurrency limit; try again or elsewhere.
    pub const BUSY: Self = Self(10);
    /// The server failed while answering.
    pub const INTERNAL: Self = Self(11);

    /// Short name of a code this version knows.
    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            Self::MALFORMED_FRAME => "malformed_frame",
            Self::UNSUPPORTED_VERSION => "unsupported_version",
            Self::FRAME_TOO_LARGE => "frame_too_large",
            Self::TOO_MANY_CELLS => "too_many_cells",
            Self::BAD_CELL_INDEX => "bad_cell_index",
            Self::UNKNOWN_BLOB => "unknown_blob",
            Self::CHUNK_OUT_OF_RANGE => "chunk_out_of_range",
            Self::CELLS_UNAVAILABLE => "cells_unavailable",
            Self::TIMEOUT => "timeout",
            Self::BUSY => "busy",
            Self::INTERNAL => "internal",
            _ => return None,
        })
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{name} ({})", self.0),
            None => write!(f, "code {}", self.0),
        }
    }
}

impl fmt::Debug for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ErrorCode({self})")
    }
}

/// Checks cell indices: at least one, at most [`MAX_CELLS_PER_REQUEST`], each below 128, no
/// repeats.
fn check_cell_indices(indices: impl ExactSizeIterator<Item = u16>) -> Result<(), FrameError> {
    let count = indices.len();
    if count == 0 {
        return Err(FrameError::NoCells);
    }
    if count > MAX_CELLS_PER_REQUEST {
        return Err(FrameError::TooManyCells {
            count,
            max: MAX_CELLS_PER_REQUEST,
        });
    }
    let mut seen = [false; CELLS_PER_CHUNK];
    for index in indices {
        let slot = seen
            .get_mut(usize::from(index))
            .ok_or(FrameError::CellIndexOutOfRange(index))?;
        if *slot {
            return Err(FrameError::DuplicateCellIndex(index));
        }
        *slot = true;
    }
    Ok(())
}

/// "Send me these cells of one chunk of a blob, with their proofs."
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellsRequest {
    blob: BlobId,
    chunk: u32,
    indices: Vec<u16>,
}

impl CellsRequest {
    /// A request for `indices` (1 to [`MAX_CELLS_PER_REQUEST`], each below 128, distinct) of
    /// chunk `chunk` of `blob`.
    pub fn new(blob: BlobId, chunk: u32, indices: Vec<u16>) -> Result<Self, FrameError> {
        check_cell_indices(indices.iter().copied())?;
        Ok(Self {
            blob,
            chunk,
            indices,
        })
    }

    /// The blob asked about.
    pub fn blob(&self) -> &BlobId {
        &self.blob
    }

    /// The chunk asked about.
    pub fn chunk(&self) -> u32 {
        self.chunk
    }

    /// The cell indices asked for, in the order asked.
    pub fn indices(&self) -> &[u16] {
        &self.indices
    }
}

/// A request from a light client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// "Send me the size and chunk commitments of this blob."
    Commitments(BlobId),
    /// "Send me these cells."
    Cells(CellsRequest),
}

/// A blob's input size and the commitment of each of its chunks, in chunk order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobCommitments {
    size: u64,
    commitments: Vec<[u8; BYTES_PER_COMMITMENT]>,
}

impl BlobCommitments {
    /// Size and commitments of a blob; at most [`MAX_COMMITMENTS`] commitments.
    pub fn new(
        size: u64,
        commitments: Vec<[u8; BYTES_PER_COMMITMENT]>,
    ) -> Result<Self, FrameError> {
        if commitments.len() > MAX_COMMITMENTS {
            return Err(FrameError::TooManyCommitments {
                count: commitments.len(),
                max: MAX_COMMITMENTS,
            });
        }
        Ok(Self { size, commitments })
    }

    /// Bytes of blob input.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// One commitment per chunk, in chunk order.
    pub fn commitments(&self) -> &[[u8; BYTES_PER_COMMITMENT]] {
        &self.commitments
    }

    /// The id these values hash to; a client compares it with the id it asked about.
    pub fn blob_id(&self) -> BlobId {
        BlobId::of(self.size, &self.commitments)
    }
}

/// One served cell: its index in the chunk, its 2048 bytes and its KZG proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellEntry {
    /// Index of the cell in its chunk's extension (0..128).
    pub index: u16,
    /// The cell's bytes.
    pub cell: Box<[u8; BYTES_PER_CELL]>,
    /// The cell's KZG proof.
    pub proof: [u8; BYTES_PER_PROOF],
}

/// The cells of one chunk that a request asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellsResponse {
    chunk: u32,
    cells: Vec<CellEntry>,
}

impl CellsResponse {
    /// Cells of chunk `chunk`; same rules on their indices as a [`CellsRequest`].
    pub fn new(chunk: u32, cells: Vec<CellEntry>) -> Result<Self, FrameError> {
        check_cell_indices(cells.iter().map(|entry| entry.index))?;
        Ok(Self { chunk, cells })
    }

    /// The chunk the cells belong to.
    pub fn chunk(&self) -> u32 {
        self.chunk
    }

    /// The cells, in the order served.
    pub fn cells(&self) -> &[CellEntry] {
        &self.cells
    }

    /// Takes the cells out.
    pub fn into_cells(self) -> Vec<CellEntry> {
        self.cells
    }
}

/// An error response: a code and a human-readable message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorFrame {
    code: ErrorCode,
    message: String,
}

impl ErrorFrame {
    /// An error response; a message longer than [`MAX_ERROR_MESSAGE_BYTES`] is cut at a character
    /// boundary.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        let mut message = message.into();
        if message.len() > MAX_ERROR_MESSAGE_BYTES {
            let mut end = MAX_ERROR_MESSAGE_BYTES;
            while !message.is_char_boundary(end) {
                end -= 1;
            }
            message.truncate(end);
        }
        Self { code, message }
    }

    /// The error's code.
    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// The error's message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for ErrorFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

/// A box's answer to a [`Request`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    /// Answer to [`Request::Commitments`].
    Commitments(BlobCommitments),
    /// Answer to [`Request::Cells`].
    Cells(CellsResponse),
    /// The request was refused or failed.
    Error(ErrorFrame),
}

/// Length of the body that follows a 4-byte prefix, refused above `max` (before any body byte is
/// read, so an oversized frame costs the reader nothing).
pub fn body_len(prefix: [u8; FRAME_LENGTH_BYTES], max: usize) -> Result<usize, FrameError> {
    let len = u32::from_le_bytes(prefix) as usize;
    if len > max {
        return Err(FrameError::TooLarge { len, max });
    }
    Ok(len)
}

impl Request {
    /// The whole frame: length prefix and body.
    pub fn encode(&self) -> Vec<u8> {
        let mut writer = FrameWriter::new(match self {
            Request::Commitments(_) => KIND_COMMITMENTS_REQUEST,
            Request::Cells(_) => KIND_CELLS_REQUEST,
        });
        match self {
            Request::Commitments(blob) => writer.put(&blob.0),
            Request::Cells(request) => {
                writer.put(&request.blob.0);
                writer.put(&request.chunk.to_le_bytes());
                writer.put_count16(request.indices.len());
                for index in &request.indices {
                    writer.put(&index.to_le_bytes());
                }
            }
        }
        writer.finish()
    }

    /// Decodes a whole frame (prefix and body) of at most [`MAX_REQUEST_FRAME_BYTES`].
    pub fn decode(frame: &[u8]) -> Result<Self, FrameError> {
        Self::decode_body(split_frame(frame, MAX_REQUEST_FRAME_BYTES)?)
    }

    /// Decodes a body whose prefix was read with [`body_len`].
    pub fn decode_body(body: &[u8]) -> Result<Self, FrameError> {
        let mut reader = FrameReader::new(body)?;
        let request = match reader.kind {
            KIND_COMMITMENTS_REQUEST => Request::Commitments(BlobId(reader.array("blob id")?)),
            KIND_CELLS_REQUEST => {
                let blob = BlobId(reader.array("blob id")?);
                let chunk = u32::from_le_bytes(reader.array("chunk")?);
                let count = reader.count16("cell count", MAX_CELLS_PER_REQUEST)?;
                let mut indices = Vec::with_capacity(count);
                for _ in 0..count {
                    indices.push(u16::from_le_bytes(reader.array("cell index")?));
                }
                Request::Cells(CellsRequest::new(blob, chunk, indices)?)
            }
            kind => return Err(FrameError::UnknownKind(kind)),
        };
        reader.finish()?;
        Ok(request)
    }
}

impl Response {
    /// The whole frame: length prefix and body.
    pub fn encode(&self) -> Vec<u8> {
        let mut writer = FrameWriter::new(match self {
            Response::Commitments(_) => KIND_COMMITMENTS_RESPONSE,
            Response::Cells(_) => KIND_CELLS_RESPONSE,
            Response::Error(_) => KIND_ERROR,
        });
        match self {
            Response::Commitments(blob) => {
                writer.put(&blob.size.to_le_bytes());
                let count = u32::try_from(blob.commitments.len())
                    .expect("BlobCommitments::new bounds the count");
                writer.put(&count.to_le_bytes());
                for commitment in &blob.commitments {
                    writer.put(commitment);
                }
            }
            Response::Cells(response) => {
                writer.reserve(response.cells.len() * BYTES_PER_CELL_ENTRY);
                writer.put(&response.chunk.to_le_bytes());
                writer.put_count16(response.cells.len());
                for entry in &response.cells {
                    writer.put(&entry.index.to_le_bytes());
                    writer.put(&entry.cell[..]);
                    writer.put(&entry.proof);
                }
            }
            Response::Error(error) => {
                writer.put(&error.code.0.to_le_bytes());
                writer.put_count16(error.message.len());
                writer.put(error.message.as_bytes());
            }
        }
        writer.finish()
    }

    /// Decodes a whole frame (prefix and body) of at most [`MAX_FRAME_BYTES`].
    pub fn decode(frame: &[u8]) -> Result<Self, FrameError> {
        Self::decode_body(split_frame(frame, MAX_FRAME_BYTES)?)
    }

    /// Decodes a body whose prefix was read with [`body_len`].
    pub fn decode_body(body: &[u8]) -> Result<Self, FrameError> {
        let mut reader = FrameReader::new(body)?;
        let response = match reader.kind {
            KIND_COMMITMENTS_RESPONSE => {
                let size = u64::from_le_bytes(reader.array("size")?);
                let count = u32::from_le_bytes(reader.array("commitment count")?) as usize;
                if count > MAX_COMMITMENTS {
                    return Err(FrameError::TooManyCommitments {
                        count,
                        max: MAX_COMMITMENTS,
                    });
                }
                let mut commitments = Vec::with_capacity(count);
                for _ in 0..count {
                    commitments.push(reader.array("commitment")?);
                }
                Response::Commitments(BlobCommitments::new(size, commitments)?)
            }
            KIND_CELLS_RESPONSE => {
                let chunk = u32::from_le_bytes(reader.array("chunk")?);
                let count = reader.count16("cell count", MAX_CELLS_PER_REQUEST)?;
                let mut cells = Vec::with_capacity(count);
                for _ in 0..count {
                    let index = u16::from_le_bytes(reader.array("cell index")?);
                    let cell = Box::new(reader.array("cell")?);
                    let proof = reader.array("proof")?;
                    cells.push(CellEntry { index, cell, proof });
                }
                Response::Cells(CellsResponse::new(chunk, cells)?)
            }
            KIND_ERROR => {
                let code = ErrorCode(u16::from_le_bytes(reader.array("error code")?));
                let len = usize::from(u16::from_le_bytes(reader.array("message length")?));
                if len > MAX_ERROR_MESSAGE_BYTES {
                    return Err(FrameError::MessageTooLong {
                        len,
                        max: MAX_ERROR_MESSAGE_BYTES,
                    });
                }
                let message = std::str::from_utf8(reader.take("message", len)?)
                    .map_err(|_| FrameError::MessageNotUtf8)?;
                Response::Error(ErrorFrame {
                    code,
                    message: message.to_owned(),
                })
            }
            kind => return Err(FrameError::UnknownKind(kind)),
        };
        reader.finish()?;
        Ok(response)
    }
}

/// Splits a whole frame into its body after checking the prefix against the length and `max`.
fn split_frame(frame: &[u8], max: usize) -> Result<&[u8], FrameError> {
    let Some((prefix, body)) = frame.split_first_chunk::<FRAME_LENGTH_BYTES>() else {
        return Err(FrameError::Truncated {
            field: "length prefix",
            needed: FRAME_LENGTH_BYTES,
            left: frame.len(),
        });
    };
    let declared = body_len(*prefix, max)?;
    if declared != body.len() {
        return Err(FrameError::LengthMismatch {
            declared,
            actual: body.len(),
        });
    }
    Ok(body)
}

/// Builds one frame: reserves the prefix, writes the header, fills the length in at the end.
struct FrameWriter {
    out: Vec<u8>,
}

impl FrameWriter {
    fn new(kind: u8) -> Self {
        let mut out = Vec::with_capacity(FRAME_LENGTH_BYTES + HEADER_BYTES + 64);
        out.extend_from_slice(&[0; FRAME_LENGTH_BYTES]);
        out.extend_from_slice(&[MAGIC, VERSION, kind]);
        Self { out }
    }

    fn reserve(&mut self, additional: usize) {
        self.out.reserve(additional);
    }

    fn put(&mut self, bytes: &[u8]) {
        self.out.extend_from_slice(bytes);
    }

    fn put_count16(&mut self, count: usize) {
        let count = u16::try_from(count).expect("constructors bound every u16 count");
        self.put(&count.to_le_bytes());
    }

    fn finish(mut self) -> Vec<u8> {
        let body = self.out.len() - FRAME_LENGTH_BYTES;
        debug_assert!(body <= MAX_FRAME_BYTES, "encoded a frame no reader accepts");
        let len = u32::try_from(body).expect("frames are bounded by MAX_FRAME_BYTES");
        self.out[..FRAME_LENGTH_BYTES].copy_from_slice(&len.to_le_bytes());
        self.out
    }
}

/// Reads the fields of one body in order, with typed errors for short or long bodies.
struct FrameReader<'a> {
    rest: &'a [u8],
    kind: u8,
}

impl<'a> FrameReader<'a> {
    fn new(body: &'a [u8]) -> Result<Self, FrameError> {
        let mut reader = Self {
            rest: body,
            kind: 0,
        };
        let [magic, version, kind] = reader.array("header")?;
        if magic != MAGIC {
            return Err(FrameError::BadMagic(magic));
        }
        if version != VERSION {
            return Err(FrameError::UnsupportedVersion(version));
        }
        reader.kind = kind;
        Ok(reader)
    }

    fn take(&mut self, field: &'static str, len: usize) -> Result<&'a [u8], FrameError> {
        if self.rest.len() < len {
            return Err(FrameError::Truncated {
                field,
                needed: len,
                left: self.rest.len(),
            });
        }
        let (head, tail) = self.rest.split_at(len);
        self.rest = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], FrameError> {
        Ok(self
            .take(field, N)?
            .try_into()
            .expect("take returns exactly N bytes"))
    }

    /// A u16 count of cells, refused above `max` before anything is allocated for it.
    fn count16(&mut self, field: &'static str, max: usize) -> Result<usize, FrameError> {
        let count = usize::from(u16::from_le_bytes(self.array(field)?));
        if count > max {
            return Err(FrameError::TooManyCells { count, max });
        }
        Ok(count)
    }

    fn finish(self) -> Result<(), FrameError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(FrameError::TrailingBytes(self.rest.len()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn cells_request(indices: Vec<u16>) -> Result<CellsRequest, FrameError> {
        CellsRequest::new(BlobId([7; 32]), 3, indices)
    }

    fn entry(index: u16, fill: u8) -> CellEntry {
        CellEntry {
            index,
            cell: Box::new([fill; BYTES_PER_CELL]),
            proof: [fill.wrapping_add(1); BYTES_PER_PROOF],
        }
    }

    #[test]
    fn cells_request_layout_is_as_documented() {
        let request = Request::Cells(cells_request(vec![5, 127]).unwrap());
        let frame = request.encode();
        let mut expected = vec![45, 0, 0, 0, MAGIC, VERSION, 0x02];
        expected.extend_from_slice(&[7; 32]);
        expected.extend_from_slice(&[3, 0, 0, 0, 2, 0, 5, 0, 127, 0]);
        assert_eq!(frame, expected);
        assert_eq!(Request::decode(&frame).unwrap(), request);
    }

    #[test]
    fn error_layout_is_as_documented() {
        let frame = Response::Error(ErrorFrame::new(ErrorCode::UNKNOWN_BLOB, "no")).encode();
        assert_eq!(
            frame,
            [9, 0, 0, 0, MAGIC, VERSION, 0xEE, 6, 0, 2, 0, b'n', b'o']
        );
    }

    #[test]
    fn bad_cell_indices_are_refused() {
        assert_eq!(cells_request(vec![]), Err(FrameError::NoCells));
        assert_eq!(
            cells_request(vec![1, 128]),
            Err(FrameError::CellIndexOutOfRange(128))
        );
        assert_eq!(
            cells_request(vec![4, 9, 4]),
            Err(FrameError::DuplicateCellIndex(4))
        );
        assert_eq!(
            CellsResponse::new(0, vec![entry(2, 0), entry(2, 1)]),
            Err(FrameError::DuplicateCellIndex(2))
        );
        assert!(cells_request((0..128).collect()).is_ok());
    }

    #[test]
    fn too_many_cells_are_refused_before_reading_them() {
        // A hand-made frame claiming 129 indices but carrying none: the count alone refuses it.
        let mut body = vec![MAGIC, VERSION, 0x02];
        body.extend_from_slice(&[0; 32]);
        body.extend_from_slice(&[0, 0, 0, 0]);
        body.extend_from_slice(&129u16.to_le_bytes());
        assert_eq!(
            Request::decode_body(&body),
            Err(FrameError::TooManyCells {
                count: 129,
                max: 128
            })
        );
        assert_eq!(
            Request::decode_body(&body).unwrap_err().code(),
            ErrorCode::TOO_MANY_CELLS
        );
    }

    #[test]
    fn oversized_and_mismatched_prefixes_are_refused() {
        let huge = (MAX_FRAME_BYTES as u32 + 1).to_le_bytes();
        assert_eq!(
            body_len(huge, MAX_FRAME_BYTES),
            Err(FrameError::TooLarge {
                len: MAX_FRAME_BYTES + 1,
                max: MAX_FRAME_BYTES
            })
        );
        let mut frame = Request::Commitments(BlobId([1; 32])).encode();
        frame.push(0);
        assert_eq!(
            Request::decode(&frame),
            Err(FrameError::LengthMismatch {
                declared: 35,
                actual: 36
            })
        );
        // Requests are small: a response-sized frame is too large as a request.
        let cells = (0..128).map(|i| entry(i, i as u8)).collect();
        let big = Response::Cells(CellsResponse::new(1, cells).unwrap()).encode();
        assert!(matches!(
            Request::decode(&big),
            Err(FrameError::TooLarge { .. })
        ));
        assert!(big.len() - FRAME_LENGTH_BYTES <= MAX_FRAME_BYTES);
    }

    #[test]
    fn header_faults_are_typed() {
        let frame = Request::Commitments(BlobId([1; 32])).encode();
        let mut bad = frame.clone();
        bad[4] = 0xDB;
        assert_eq!(Request::decode(&bad), Err(FrameError::BadMagic(0xDB)));
        let mut bad = frame.clone();
        bad[5] = 2;
        assert_eq!(
            Request::decode(&bad),
            Err(FrameError::UnsupportedVersion(2))
        );
        assert_eq!(
            Request::decode(&bad).unwrap_err().code(),
            ErrorCode::UNSUPPORTED_VERSION
        );
        let mut bad = frame.clone();
        bad[6] = 0x81;
        assert_eq!(Request::decode(&bad), Err(FrameError::UnknownKind(0x81)));
        bad.truncate(20);
        bad[..4].copy_from_slice(&16u32.to_le_bytes());
        bad[6] = 0x01;
        assert_eq!(
            Request::decode(&bad),
            Err(FrameError::Truncated {
                field: "blob id",
                needed: 32,
                left: 13
            })
        );
        // A request kind is not a response.
        assert_eq!(Response::decode(&frame), Err(FrameError::UnknownKind(0x01)));
    }

    #[test]
    fn error_messages_are_cut_at_a_char_boundary_and_checked_on_decode() {
        let long = "é".repeat(MAX_ERROR_MESSAGE_BYTES);
        let error = ErrorFrame::new(ErrorCode::INTERNAL, long);
        assert_eq!(error.message().len(), MAX_ERROR_MESSAGE_BYTES);
        let mut frame = Response::Error(error).encode();
        assert!(Response::decode(&frame).is_ok());
        frame[FRAME_LENGTH_BYTES + HEADER_BYTES + 2] = 0xFF; // message length 1279 > 1024
        frame[FRAME_LENGTH_BYTES + HEADER_BYTES + 3] = 0x04;
        assert_eq!(
            Response::decode(&frame),
            Err(FrameError::MessageTooLong {
                len: 0x4FF,
                max: MAX_ERROR_MESSAGE_BYTES
            })
        );
        let mut frame = vec![0, 0, 0, 0, MAGIC, VERSION, 0xEE, 1, 0, 2, 0, 0xFF, 0xFE];
        let len = (frame.len() - FRAME_LENGTH_BYTES) as u32;
        frame[..4].copy_from_slice(&len.to_le_bytes());
        assert_eq!(Response::decode(&frame), Err(FrameError::MessageNotUtf8));
        frame.push(b'x');
        frame[0] += 1;
        assert_eq!(Response::decode(&frame), Err(FrameError::MessageNotUtf8));
        frame[11] = b'o';
        frame[12] = b'k';
        assert_eq!(Response::decode(&frame), Err(FrameError::TrailingBytes(1)));
    }

    #[test]
    fn unknown_error_codes_survive_a_round_trip() {
        let frame = Response::Error(ErrorFrame::new(ErrorCode(60_000), "future")).encode();
        let Response::Error(error) = Response::decode(&frame).unwrap() else {
            panic!("not an error frame");
        };
        assert_eq!(error.code(), ErrorCode(60_000));
        assert_eq!(error.code().name(), None);
        assert_eq!(ErrorCode::BUSY.to_string(), "busy (10)");
    }

    #[test]
    fn commitments_hash_to_the_blob_id() {
        let commitments = BlobCommitments::new(5, vec![[3; 48]]).unwrap();
        assert_eq!(commitments.blob_id(), BlobId::of(5, &[[3; 48]]));
        assert!(matches!(
            BlobCommitments::new(5, vec![[0; 48]; MAX_COMMITMENTS + 1]),
            Err(FrameError::TooManyCommitments { .. })
        ));
    }

    fn indices() -> impl Strategy<Value = Vec<u16>> {
        proptest::sample::subsequence((0..CELLS_PER_CHUNK as u16).collect::<Vec<_>>(), 1..=12)
            .prop_shuffle()
    }

    fn request() -> impl Strategy<Value = Request> {
        prop_oneof![
            any::<[u8; 32]>().prop_map(|id| Request::Commitments(BlobId(id))),
            (any::<[u8; 32]>(), any::<u32>(), indices()).prop_map(|(id, chunk, indices)| {
                Request::Cells(CellsRequest::new(BlobId(id), chunk, indices).unwrap())
            }),
        ]
    }

    fn response() -> impl Strategy<Value = Response> {
        prop_oneof![
            (
                any::<u64>(),
                proptest::collection::vec(any::<[u8; 48]>(), 0..6)
            )
                .prop_map(|(size, commitments)| {
                    Response::Commitments(BlobCommitments::new(size, commitments).unwrap())
                }),
            (any::<u32>(), indices(), any::<u8>()).prop_map(|(chunk, indices, fill)| {
                let cells = indices
                    .into_iter()
                    .map(|i| entry(i, fill ^ i as u8))
                    .collect();
                Response::Cells(CellsResponse::new(chunk, cells).unwrap())
            }),
            (any::<u16>(), ".{0,40}").prop_map(|(code, message)| {
                Response::Error(ErrorFrame::new(ErrorCode(code), message))
            }),
        ]
    }

    /// Mutations of a valid frame: flipped bytes, cuts, and appended junk.
    fn mutate(mut frame: Vec<u8>, flips: Vec<(usize, u8)>, cut: Option<usize>) -> Vec<u8> {
        let len = frame.len();
        for (at, byte) in flips {
            frame[at % len] ^= byte;
        }
        if let Some(cut) = cut {
            frame.truncate(cut % (len + 1));
        }
        frame
    }

    proptest! {
        #[test]
        fn requests_round_trip(request in request()) {
            prop_assert_eq!(Request::decode(&request.encode()).unwrap(), request);
        }

        #[test]
        fn responses_round_trip(response in response()) {
            prop_assert_eq!(Response::decode(&response.encode()).unwrap(), response);
        }

        #[test]
        fn random_bytes_decode_to_an_error_or_to_themselves(
            bytes in proptest::collection::vec(any::<u8>(), 0..600)
        ) {
            if let Ok(request) = Request::decode(&bytes) {
                prop_assert_eq!(request.encode(), bytes.clone());
            }
            if let Ok(response) = Response::decode(&bytes) {
                prop_assert_eq!(response.encode(), bytes);
            }
        }

        #[test]
        fn mutated_requests_decode_to_an_error_or_to_themselves(
            request in request(),
            flips in proptest::collection::vec((any::<usize>(), 1..=255u8), 0..4),
            cut in proptest::option::of(any::<usize>()),
        ) {
            let bytes = mutate(request.encode(), flips, cut);
            if let Ok(decoded) = Request::decode(&bytes) {
                prop_assert_eq!(decoded.encode(), bytes);
            }
        }

        #[test]
        fn mutated_responses_decode_to_an_error_or_to_themselves(
            response in response(),
            flips in proptest::collection::vec((any::<usize>(), 1..=255u8), 0..4),
            cut in proptest::option::of(any::<usize>()),
        ) {
            let bytes = mutate(response.encode(), flips, cut);
            if let Ok(decoded) = Response::decode(&bytes) {
                prop_assert_eq!(decoded.encode(), bytes);
            }
        }
    }
}
