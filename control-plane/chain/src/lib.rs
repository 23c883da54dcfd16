//! Registers approved boxes in the `NodeRegistry` contract on an EVM chain, idempotently.
//!
//! - [`contract`]: `sol!` bindings generated from the ABI that build.rs compiles with solc, and
//!   the contract's custom errors decoded ([`RegistryRevert`]).
//! - [`Registrar`]: signs with the [`OperatorKey`], assigns nonces, journals each signed
//!   transaction before sending it ([`RegistrationJournal`], [`RedbJournal`]), follows it to the
//!   configured confirmations, re-sends dropped ones and replaces stuck ones with bumped fees,
//!   over several RPC endpoints with failover.
//! - [`local_chain`]: an anvil process and a deployed registry, for tests and the bench.

mod box_status;
pub mod contract;
mod journal;
pub mod limits;
pub mod local_chain;
mod operator_key;
mod redb_journal;
mod registrar;
mod rpc_pool;

pub use box_status::{BoxOperation, BoxRecord, BoxState, BoxStatus, NodeId, RecordError};
pub use contract::RegistryRevert;
pub use journal::{Attempt, JournalEntry, JournalError, RegistrationJournal};
pub use operator_key::{KeyError, OperatorKey};
pub use redb_journal::RedbJournal;
pub use registrar::{BoxError, ChainError, Registrar, RegistrarConfig};
pub use rpc_pool::RpcFailure;
