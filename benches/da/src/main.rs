//! DA benchmark. In one run: blob dispersal (pack, commit, cells and proofs for every chunk,
//! store, manifest) through the `appliance-da` library and through `POST /v1/blobs` on loopback,
//! each against the `kernels` time for encoding the same chunks alone, as overhead ratios; and
//! the other dispersal order (encode every chunk, then store) for comparison. Prints one table.

mod disperse;

use clap::Parser;

/// Flags; the defaults run in about a minute on a 2-core machine.
#[derive(Debug, Parser)]
#[command(name = "da-bench", version)]
pub struct Args {
    /// Dispersal flags.
    #[command(flatten)]
    pub disperse: disperse::Args,
    /// Runs of each measurement; the table shows each figure's median, and each overhead's
    /// median over the runs' own ratios (the machine may be shared: more runs steady the figures).
    #[arg(long, default_value_t = 1)]
    pub repeat: usize,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let table = disperse::measure(&args.disperse, args.repeat.max(1))?;
    println!("{table}");
    Ok(())
}
