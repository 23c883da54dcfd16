//! Storage engine benchmark. In one run, on the same drive files: raw io_uring O_DIRECT
//! sequential writes (durable, and cached with one flush at the end), sequential read and 4 KiB
//! random reads (through the engine's public device layer),
//! then the engine's PUT, GET and random small-object reads through the library API and again
//! through HTTP on loopback, each as a ratio to raw; then Reed-Solomon encoding inside the engine
//! against the bare `reed-solomon-simd` crate. Prints one table.

mod erasure;
mod library;
mod over_http;
mod raw;
mod report;
mod workload;

use std::path::PathBuf;

use anyhow::Context;
use appliance::cli::parse_size;
use clap::Parser;

use report::{median, Row, Table};
use workload::Workload;

/// Flags; the defaults run in about two minutes on a 2-core machine with an SSD-backed disk.
#[derive(Debug, Parser)]
#[command(name = "storage-bench", version)]
pub struct Args {
    /// Folder for the drive files. [default: a new temporary folder, removed afterwards]
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Number of file drives.
    #[arg(long, default_value_t = 6)]
    pub drives: usize,
    /// Size of each drive file (sparse).
    #[arg(long, value_name = "SIZE", default_value = "4GiB", value_parser = parse_size)]
    pub drive_size: u64,
    /// Object data written by the sequential PUT test (parity comes on top).
    #[arg(long, value_name = "SIZE", default_value = "4GiB", value_parser = parse_size)]
    pub data: u64,
    /// Size of each object in the sequential PUT/GET tests.
    #[arg(long, value_name = "SIZE", default_value = "16MiB", value_parser = parse_size)]
    pub object_size: u64,
    /// Concurrent writers and readers in the sequential tests. Each object is flushed before
    /// its PUT returns, so one writer leaves the drives idle between objects, and a reader of a
    /// 16 MiB object has at most its 4 stripes (16 data extents) in flight: eight clients keep
    /// about 21 extents in flight per drive on 6 drives, under the raw test's queue depth.
    #[arg(long, default_value_t = 8)]
    pub clients: usize,
    /// I/O operations in flight per drive in the sequential raw tests, and the engine's
    /// io_uring queue depth.
    #[arg(long, default_value_t = 32)]
    pub queue_depth: u32,
    /// Stripe buffers in the engine's registered pool (the engine's default).
    #[arg(long, default_value_t = appliance_storage::limits::DEFAULT_STRIPE_BUFFERS)]
    pub stripe_buffers: usize,
    /// Size of each small object in the random-read tests: 4096 minus the 64-byte extent
    /// header, so one small object is one 4 KiB block on the drive, like a raw 4 KiB read.
    #[arg(long, value_name = "BYTES", default_value_t = 4032)]
    pub small_size: usize,
    /// Small objects stored for the random-read tests; the raw random reads cover the same
    /// number of blocks per drive as these objects occupy.
    #[arg(long, default_value_t = 2000)]
    pub small_objects: usize,
    /// Random reads per random-read test.
    #[arg(long, default_value_t = 200_000)]
    pub random_reads: usize,
    /// Random reads in flight, in total: the raw test's queue depth over all drives and the
    /// number of concurrent readers of the engine tests.
    #[arg(long, default_value_t = 16)]
    pub random_depth: usize,
    /// Data bytes per Reed-Solomon encode (split into the engine's k data shards).
    #[arg(long, value_name = "SIZE", default_value = "4MiB", value_parser = parse_size)]
    pub rs_stripe: u64,
    /// Reed-Solomon encodes per measurement.
    #[arg(long, default_value_t = 1000)]
    pub rs_rounds: usize,
    /// Runs of the whole suite; the table shows each figure's median over the runs, and each
    /// ratio's median over the runs' own ratios (the machine may be shared: more runs steady
    /// the figures).
    #[arg(long, default_value_t = 2)]
    pub repeat: usize,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let temp;
    let dir = match &args.dir {
        Some(dir) => {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            dir.clone()
        }
        None => {
            temp = tempfile::tempdir().context("creating a temporary folder")?;
            temp.path().to_path_buf()
        }
    };
    let workload = Workload::new(&args, &dir)?;
    eprintln!(
        "storage-bench: {} drives of {} MiB in {}, {}+{} shards",
        args.drives,
        args.drive_size >> 20,
        dir.display(),
        workload.k,
        workload.m
    );

    let mut rounds = Vec::new();
    for round in 1..=args.repeat.max(1) {
        eprintln!("round {round}: raw io_uring O_DIRECT...");
        let raw = raw::measure(&args, &workload)?;
        eprintln!("round {round}: engine, library API...");
        let lib = library::measure(&args, &workload)?;
        eprintln!("round {round}: engine, HTTP on loopback...");
        let http = over_http::measure(&args, &workload)?;
        eprintln!("round {round}: Reed-Solomon encode...");
        let rs = erasure::measure(&args, workload.k, workload.m);
        rounds.push((raw, lib, http, rs));
    }
    let mut table = Table::default();
    type RawFigure = fn(&raw::Raw) -> f64;
    let raw_bandwidths: [(&str, RawFigure); 3] = [
        ("raw sequential write, durable", |r| r.durable_write_bps),
        ("raw sequential write, cached + flush", |r| {
            r.cached_write_bps
        }),
        ("raw sequential read", |r| r.read_bps),
    ];
    for (name, figure) in raw_bandwidths {
        table.push(Row::bandwidth(
            name,
            median(rounds.iter().map(|r| figure(&r.0))),
            None,
        ));
    }
    table.push(Row::iops(
        "raw 4 KiB random read",
        median(rounds.iter().map(|r| r.0.random_iops)),
        None,
    ));
    let lib: Vec<_> = rounds.iter().map(|r| (&r.1, &r.0)).collect();
    table.push_engine("library", &lib, &workload);
    let http: Vec<_> = rounds.iter().map(|r| (&r.2, &r.0)).collect();
    table.push_engine("HTTP", &http, &workload);
    table.push(Row::bandwidth(
        "RS encode, bare reed-solomon-simd",
        median(rounds.iter().map(|r| r.3.bare_bps)),
        None,
    ));
    table.push(Row::bandwidth(
        "RS encode, inside the engine",
        median(rounds.iter().map(|r| r.3.engine_bps)),
        Some((
            "bare crate",
            median(rounds.iter().map(|r| r.3.engine_bps / r.3.bare_bps)),
        )),
    ));
    table.print();
    Ok(())
}
