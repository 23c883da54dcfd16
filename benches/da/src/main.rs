//! DA benchmark. In one run: blob dispersal (pack, commit, cells and proofs for every chunk,
//! store, manifest) through the `appliance-da` library and through `POST /v1/blobs` on loopback,
//! each against the `kernels` time for encoding the same chunks alone, as overhead ratios; and
//! the other dispersal order (encode every chunk, then store) for comparison. Then QUIC sample
//! serving on loopback from the DA store against an in-memory source, as a ratio. Prints one
//! table per part.

mod disperse;
mod sample_serving;

use clap::{Parser, ValueEnum};

/// Flags; the defaults run in about a minute on a 2-core machine.
#[derive(Debug, Parser)]
#[command(name = "da-bench", version)]
pub struct Args {
    /// Dispersal flags.
    #[command(flatten)]
    pub disperse: disperse::Args,
    /// Sample-serving flags.
    #[command(flatten)]
    pub serve: sample_serving::Args,
    /// Runs of each measurement; the table shows each figure's median, and each overhead's
    /// median over the runs' own ratios (the machine may be shared: more runs steady the figures).
    #[arg(long, default_value_t = 1)]
    pub repeat: usize,
    /// Which parts to run.
    #[arg(long, value_enum, default_value_t = Part::All)]
    pub only: Part,
}

/// Parts of the benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Part {
    /// Dispersal, then sample serving.
    All,
    /// Dispersal only.
    Disperse,
    /// Sample serving only.
    Serve,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let repeat = args.repeat.max(1);
    if args.only != Part::Serve {
        let table = disperse::measure(&args.disperse, repeat)?;
        println!("{table}");
    }
    if args.only != Part::Disperse {
        let table = sample_serving::measure(&args.serve, args.disperse.dir.as_ref(), repeat)?;
        println!("{table}");
    }
    Ok(())
}
