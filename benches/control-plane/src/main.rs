//! Control plane benchmark: heartbeat ingest rate from many simulated boxes, each with its own
//! key, client certificate and mTLS connection over loopback. Prints one table.
//!
//! With `--registration`: chain registration throughput instead, from approval through the admin
//! API to every box registered with `--confirmations` on a local anvil (see `registration`).
//!
//! The boxes are enrolled and approved straight through the store and the CA (the same calls the
//! enrollment route makes), so the run measures heartbeats, not enrollment. The service runs in a
//! child process (this binary with `--serve DIR`), as it would in production: the boxes' and the
//! service's sockets count against separate open-file limits.

mod load;
mod provision;
mod registration;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::Context;
use appliance_agent::limits::REQUEST_TIMEOUT_SECS;
use clap::Parser;
use control_plane::server::start;

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
    /// Worker threads of the simulated boxes' runtime (the service uses one per core).
    /// [default: the number of cores]
    #[arg(long)]
    threads: Option<usize>,
    /// Measure chain registration instead of heartbeats: `--boxes` approvals (use a few
    /// hundred) registered on a local anvil.
    #[arg(long)]
    registration: bool,
    /// With --registration: anvil's block time in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    block_time: u64,
    /// With --registration: confirmations each box waits for.
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..))]
    confirmations: u64,
    /// Internal: run the service on the store in DIR and print its agent URL.
    #[arg(long, value_name = "DIR", hide = true)]
    serve: Option<std::path::PathBuf>,
}

/// Raises the open-file limit to its hard maximum and checks it covers `needed`.
fn open_files(needed: u64) -> anyhow::Result<()> {
    let limit = rlimit::increase_nofile_limit(u64::MAX).context("raising the open file limit")?;
    anyhow::ensure!(
        limit >= needed,
        "{needed} open files needed; the limit is {limit} (raise `ulimit -Hn`)"
    );
    Ok(())
}

/// `--serve DIR`: the service, until stdin closes (the parent exits or drops the pipe).
fn serve(data: std::path::PathBuf, boxes: usize) -> anyhow::Result<()> {
    // One socket per box, plus the store and some slack.
    open_files(boxes as u64 + 64)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let running = start(provision::serve_config(data)?, None).await?;
        println!("{}", running.agent_url);
        tokio::task::spawn_blocking(|| {
            let mut sink = String::new();
            let _ = std::io::stdin().read_line(&mut sink);
        })
        .await?;
        running.stop().await;
        Ok(())
    })
}

/// `--registration`: runs the registration bench and prints its table.
fn registration_table(args: &Args) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let report = runtime.block_on(registration::run(
        args.boxes,
        args.block_time,
        args.confirmations,
    ))?;
    println!("| measure | value |");
    println!("| --- | --- |");
    println!(
        "| boxes / block time / confirmations | {} / {} s / {} |",
        args.boxes, args.block_time, args.confirmations
    );
    println!(
        "| all approvals answered (admin API) | {:.2} s |",
        report.approve_secs
    );
    println!(
        "| first approval to every box registered | {:.2} s: {:.1} boxes/s |",
        report.registered_secs,
        args.boxes as f64 / report.registered_secs
    );
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if let Some(data) = args.serve {
        return serve(data, args.boxes);
    }
    if args.registration {
        return registration_table(&args);
    }
    open_files(args.boxes as u64 + 64)?;
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");

    let started = std::time::Instant::now();
    let boxes = provision::enroll_and_approve(&data, args.boxes)?;
    let provision_secs = started.elapsed().as_secs_f64();

    let mut service = Command::new(std::env::current_exe()?)
        .arg("--serve")
        .arg(&data)
        .args(["--boxes", &args.boxes.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .context("starting the service process")?;
    let mut agent_url = String::new();
    BufReader::new(service.stdout.take().context("service stdout")?)
        .read_line(&mut agent_url)
        .context("reading the service's agent URL")?;
    let agent_url = agent_url.trim().to_owned();
    anyhow::ensure!(
        agent_url.starts_with("https://"),
        "the service did not start"
    );

    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if let Some(threads) = args.threads {
        runtime.worker_threads(threads);
    }
    let runtime = runtime.enable_all().build()?;
    let report = runtime.block_on(load::run(
        &boxes,
        &agent_url,
        Duration::from_secs(args.seconds),
    ));
    drop(service.stdin.take());
    let _ = service.wait();
    let report = report?;
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
    // Every box sends back to back, far above a real fleet's rate: under that overload some
    // requests outlive the agent's request timeout, and the count says how many.
    println!(
        "| heartbeats failed (agent timeout {REQUEST_TIMEOUT_SECS} s) | {} |",
        report.failures
    );
    Ok(())
}
