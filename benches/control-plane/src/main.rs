//! Control plane benchmark: heartbeat ingest rate from many simulated boxes, each with its own
//! key, client certificate and mTLS connection over loopback. Prints one table.
//!
//! The boxes are enrolled and approved straight through the store and the CA (the same calls the
//! enrollment route makes), so the run measures heartbeats, not enrollment.

mod load;
mod provision;

use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use control_plane::server::{start, ServeConfig};

/// Flags; the defaults are the 10 000 boxes (about a minute of set-up on a 2-core
/// machine, most of it one durable store commit per enrollment step).
#[derive(Debug, Parser)]
#[command(name = "control-plane-bench", version)]
struct Args {
    /// Simulated boxes, each with its own key, certificate and connection.
    #[arg(long, default_value_t = 10_000)]
    boxes: usize,
    /// Seconds of steady heartbeats after every box has connected once.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Worker threads of the runtime shared by the service and the simulated boxes.
    /// [default: the number of cores]
    #[arg(long)]
    threads: Option<usize>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let (soft, _) = rlimit::increase_nofile_limit(u64::MAX)
        .map(|limit| (limit, ()))
        .context("raising the open file limit")?;
    // Two sockets per box (client and server end), plus the store and some slack.
    let needed = 2 * args.boxes as u64 + 64;
    anyhow::ensure!(
        soft >= needed,
        "{} boxes need {needed} open files; the limit is {soft} (raise `ulimit -n`)",
        args.boxes
    );
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if let Some(threads) = args.threads {
        runtime.worker_threads(threads);
    }
    let runtime = runtime.enable_all().build()?;
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");

    let started = std::time::Instant::now();
    let boxes = provision::enroll_and_approve(&data, args.boxes)?;
    let provision_secs = started.elapsed().as_secs_f64();

    runtime.block_on(async move {
        let running = start(
            ServeConfig {
                data,
                listen: "127.0.0.1:0".parse()?,
                agent_listen: "127.0.0.1:0".parse()?,
                agent_url: None,
                agent_names: vec![],
                auto_approve: false,
                heartbeat_every_ms: 30_000,
                admin_user: "admin".into(),
                admin_password: Some("bench-admin-password".into()),
            },
            None,
        )
        .await?;
        let report = load::run(
            &boxes,
            &running.agent_url,
            Duration::from_secs(args.seconds),
        )
        .await?;
        running.stop().await;
        println!("| measure | value |");
        println!("| --- | --- |");
        println!("| boxes (one mTLS connection each) | {} |", args.boxes);
        println!("| enroll + approve through the store | {provision_secs:.1} s |");
        println!(
            "| first heartbeat of every box (TLS handshake included) | {:.1} s, {:.0} boxes/s |",
            report.connect_secs,
            args.boxes as f64 / report.connect_secs
        );
        println!(
            "| steady heartbeats | {} in {:.1} s: {:.0}/s |",
            report.heartbeats,
            report.steady_secs,
            report.heartbeats as f64 / report.steady_secs
        );
        println!(
            "| heartbeat latency p50 / p99 | {:.1} ms / {:.1} ms |",
            report.p50_ms, report.p99_ms
        );
        println!(
            "| equivalent fleet at one heartbeat per 30 s | {:.0} boxes |",
            report.heartbeats as f64 / report.steady_secs * 30.0
        );
        anyhow::ensure!(
            report.failures == 0,
            "{} heartbeats failed",
            report.failures
        );
        Ok(())
    })
}
