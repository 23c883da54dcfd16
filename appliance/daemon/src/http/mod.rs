//! The HTTP API: object routes, health, metrics and admin, and their shared error type.

pub mod error;
pub mod range;
