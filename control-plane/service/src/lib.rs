//! The fleet control plane: enrollment of boxes with one-time tokens, a CA that issues each
//! approved box a client certificate, heartbeats with inventory over mTLS, an admin API with
//! roles and an audit log, and the seam to chain registration. See `docs/control-plane.md`.
//!
//! | listener | route | who |
//! | --- | --- | --- |
//! | public | `POST /api/login`, `GET /api/openapi.json`, `POST /v1/enroll`, `POST /v1/enroll/status` | anyone (password, token or box key) |
//! | public | `GET /api/boxes`, `GET /api/boxes/{id}`, `POST /api/logout` | viewer |
//! | public | `POST /api/boxes/{id}/approve`, `/revoke`; `PUT /api/boxes/{id}/zone`, `/modules`, `/drain` | operator |
//! | public | `GET`/`POST /api/tokens`, `GET`/`POST /api/users`, `GET /api/audit` | admin |
//! | agent (mTLS) | `POST /v1/agent/heartbeat` | approved boxes |

pub mod agent_listener;
pub mod api;
pub mod ca;
pub mod chain;
pub mod chain_registrar;
pub mod cli;
pub mod credentials;
pub mod health;
pub mod heartbeat_buffer;
pub mod limits;
pub mod roles;
pub mod server;
pub mod store;
