//! Registers a sample fleet (`local_chain::sample_fleet`) through the `Registrar` and waits until
//! every box is confirmed. The crash test runs it, SIGKILLs it mid-way and runs it again; the
//! control plane will take its place later. Prints one line per step on stdout:
//! `submitted <index>` after each submission and `settled <confirmed> <failed>` at the end.
//!
//! The operator key comes from the environment variable named by `--key-env`.
//! Exit codes: 0 all boxes confirmed, 1 an error, 2 some box failed.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use control_plane_chain::local_chain::sample_fleet;
use control_plane_chain::{
    BoxOperation, BoxState, OperatorKey, RedbJournal, Registrar, RegistrarConfig,
};

#[derive(Parser)]
#[command(about = "Register a sample fleet of boxes on chain (crash-test driver)")]
struct Args {
    /// Chain JSON-RPC endpoint; repeat for failover, tried in order.
    #[arg(long = "rpc", required = true)]
    rpc: Vec<url::Url>,
    /// NodeRegistry contract address.
    #[arg(long)]
    contract: alloy::primitives::Address,
    /// Registration journal (redb file), created if missing.
    #[arg(long)]
    journal: PathBuf,
    /// Boxes in the sample fleet.
    #[arg(long, default_value_t = 50)]
    count: usize,
    /// Confirmations before a box counts as registered.
    #[arg(long, default_value_t = 1)]
    confirmations: u64,
    /// Environment variable holding the operator's hex private key.
    #[arg(long, default_value = "CHAIN_OPERATOR_KEY")]
    key_env: String,
    /// Seconds to wait for every box to settle.
    #[arg(long, default_value_t = 120)]
    timeout_s: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let key = OperatorKey::from_env(&args.key_env)?;
    let journal = Arc::new(RedbJournal::open(&args.journal).context("open the journal")?);
    let mut config = RegistrarConfig::new(args.rpc, args.contract);
    config.confirmations = args.confirmations;
    let registrar = Registrar::connect(config, &key, journal).await?;

    let fleet = sample_fleet(args.count);
    let mut stdout = std::io::stdout();
    for (index, record) in fleet.iter().enumerate() {
        registrar
            .submit(BoxOperation::Register(record.clone()))
            .await?;
        writeln!(stdout, "submitted {index}")?;
        stdout.flush()?;
    }
    let ids: Vec<_> = fleet.iter().map(|r| r.node_id).collect();
    let statuses = registrar
        .wait_settled(&ids, Duration::from_secs(args.timeout_s))
        .await?;
    let confirmed = statuses
        .iter()
        .filter(|s| matches!(s.state, BoxState::Confirmed { .. }))
        .count();
    let failed: Vec<_> = statuses
        .iter()
        .filter(|s| matches!(s.state, BoxState::Failed { .. }))
        .collect();
    writeln!(stdout, "settled {confirmed} {}", failed.len())?;
    for status in &failed {
        eprintln!("{}: {:?}", status.node_id, status.state);
    }
    if confirmed + failed.len() < fleet.len() {
        anyhow::bail!(
            "{} boxes not settled after {}s",
            fleet.len() - confirmed - failed.len(),
            args.timeout_s
        );
    }
    std::process::exit(if failed.is_empty() { 0 } else { 2 });
}
