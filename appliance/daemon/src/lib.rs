//! The appliance daemon: the command line, the HTTP object and blob APIs over the storage engine
//! and the DA layer, the QUIC sample server over the same blob store ([`sample_serving`]), and
//! the server that runs them. The `appliance` binary wires these parts; the storage bench reuses the
//! server to measure the HTTP path.
//!
//! | route | answer |
//! | --- | --- |
//! | `PUT /v1/objects` | body streamed into the engine; `{"id", "size"}` (id = BLAKE3 of the content) |
//! | `GET /v1/objects/{id}` | the bytes; one `Range: bytes=a-b`, `a-` or `-n` gives 206; `If-None-Match` on the id gives 304 |
//! | `HEAD /v1/objects/{id}` | size, `Accept-Ranges`, `ETag` |
//! | `DELETE /v1/objects/{id}` | 204 |
//! | `GET /v1/objects?after=ID&limit=N` | `{"objects": [{"id", "size"}], "next"}` in id order |
//! | `POST /v1/blobs` | body (1 byte to `--max-blob-size`, default 32 MiB) dispersed: packed, KZG-committed, extended into cells with proofs, stored; `{"id", "size", "chunks", "commitments": [hex]}` |
//! | `GET /v1/blobs/{id}` | the blob's bytes (chunks with lost or corrupt cells are recovered and repaired) |
//! | `GET /v1/blobs/{id}/meta` | `{"id", "size", "chunks", "commitments"}` |
//! | `GET /v1/blobs/{id}/custody` | `{"id", "node", "columns"}`: the cell columns kept here (all 128 where it was dispersed) |
//! | `POST /v1/internal/custody` | a peer's custody batch (cluster mode): checked, kept; `{"id", "node", "columns"}` |
//! | `GET /v1/health` | `{"status": "ok" / "degraded" (200) or "failed" (503, more drives lost than parity), "drives", "failed_drives", "tolerated_failures", "node_id"}` (`node_id`: the node key's id, see [`node_identity`]) |
//! | `GET /metrics` | Prometheus text: the engine's `storage_*` series and the API's `http_*` series |
//! | `GET /v1/admin/status`, `POST /v1/admin/{scrub,compact}`, `POST /v1/admin/rebuild/{drive}` | JSON reports |
//!
//! Errors are JSON `{"error": "..."}`: 400 malformed id or query, empty blob, 404 unknown id or
//! route, 413 too large, 416 bad range (with `Content-Range: bytes */size`), 503 too many failed
//! drives or an unrecoverable blob chunk, 507 drives full, 500 anything else.

pub mod cli;
pub mod cluster;
pub mod fleet;
pub mod http;
pub mod limits;
pub mod maintenance;
pub mod node_identity;
pub mod sample_cache;
pub mod sample_serving;
pub mod server;
