//! The appliance daemon: the command line, the HTTP object API over the storage engine, and the
//! server that runs it. The `appliance` binary wires these parts; the storage bench reuses the
//! server to measure the HTTP path.

pub mod cli;
pub mod http;
pub mod limits;
pub mod maintenance;
pub mod reports;
pub mod server;
