//! Registration throughput against a local anvil: boxes submitted per second (simulate, sign,
//! journal, send) and boxes confirmed per second end to end. A benchmark, not a test.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use control_plane_chain::local_chain::{sample_fleet, LocalChain};
use control_plane_chain::{BoxOperation, BoxState, RedbJournal, Registrar, RegistrarConfig};
use futures::StreamExt;

#[derive(Parser)]
#[command(about = "Chain registration throughput against a local anvil")]
struct Args {
    /// Boxes to register.
    #[arg(long, default_value_t = 200)]
    boxes: usize,
    /// Confirmations each box waits for.
    #[arg(long, default_value_t = 1)]
    confirmations: u64,
    /// anvil block time in seconds; 0 mines each transaction as it arrives (automine).
    #[arg(long, default_value_t = 0)]
    block_time: u64,
    /// Submissions in flight at once (as when many boxes are approved together).
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let block_time = args.block_time.to_string();
    let extra: Vec<&str> = if args.block_time == 0 {
        Vec::new()
    } else {
        vec!["--block-time", &block_time]
    };
    let chain = LocalChain::start(&extra)?;
    let contract = chain.deploy_registry().await?;
    let dir = tempfile::tempdir().context("temp dir for the journal")?;
    let journal = Arc::new(RedbJournal::open(&dir.path().join("journal.redb"))?);
    let mut config = RegistrarConfig::new(vec![chain.url()], contract);
    config.confirmations = args.confirmations;
    let registrar = Registrar::connect(config, &LocalChain::dev_key(0), journal).await?;

    let fleet = sample_fleet(args.boxes);
    let started = Instant::now();
    let submissions: Vec<_> = futures::stream::iter(&fleet)
        .map(|record| registrar.submit(BoxOperation::Register(record.clone())))
        .buffer_unordered(args.concurrency.max(1))
        .collect()
        .await;
    for submission in submissions {
        submission?;
    }
    let submitted = started.elapsed();
    let ids: Vec<_> = fleet.iter().map(|r| r.node_id).collect();
    if args.confirmations > 1 && args.block_time == 0 {
        // Automine makes blocks only for transactions: mine the confirmations' blocks.
        chain
            .request("anvil_mine", serde_json::json!([args.confirmations - 1]))
            .await?;
    }
    let statuses = registrar
        .wait_settled(&ids, Duration::from_secs(600))
        .await?;
    let settled = started.elapsed();
    let confirmed = statuses
        .iter()
        .filter(|s| matches!(s.state, BoxState::Confirmed { .. }))
        .count();
    anyhow::ensure!(
        confirmed == fleet.len(),
        "only {confirmed} of {} boxes confirmed",
        fleet.len()
    );

    let rate = |d: Duration| fleet.len() as f64 / d.as_secs_f64();
    println!(
        "chain registration, {} boxes, {} submitting at once, {} confirmation(s), block time {}",
        fleet.len(),
        args.concurrency,
        args.confirmations,
        if args.block_time == 0 {
            "automine".to_owned()
        } else {
            format!("{}s", args.block_time)
        }
    );
    println!("{:<28} {:>10} {:>12}", "phase", "seconds", "boxes/s");
    println!(
        "{:<28} {:>10.2} {:>12.1}",
        "submit (sign+journal+send)",
        submitted.as_secs_f64(),
        rate(submitted)
    );
    println!(
        "{:<28} {:>10.2} {:>12.1}",
        "submit to confirmed",
        settled.as_secs_f64(),
        rate(settled)
    );
    Ok(())
}
