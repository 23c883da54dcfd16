//! `sampler`: checks that a blob is available by sampling random cells from boxes.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;

use appliance_protocol::BlobId;
use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};
use rand::SeedableRng;
use sampler::limits::{DEFAULT_SAMPLES, MAX_SAMPLES};
use sampler::{exit_code, sample_blob, NodeSpec, SampleConfig};

/// Samples random cells of every chunk of a blob from one or more boxes over QUIC, verifies each
/// cell's KZG proof against commitments that hash to the blob id, and prints the confidence that
/// the blob is available.
#[derive(Debug, Parser)]
#[command(name = "sampler", version, after_help = exit_code::HELP)]
struct Args {
    /// A box to sample: HOST:PORT, or NODEID@HOST:PORT to accept only the box with that node id
    /// (printed by `appliance up` and `appliance status`). Repeat for several boxes; cells are
    /// spread over them and a box that fails is replaced by the next. Without a node id any
    /// box is accepted (a warning says so).
    #[arg(long = "node", value_name = "[NODEID@]HOST:PORT", required = true)]
    nodes: Vec<NodeSpec>,

    /// The blob id (64 hex characters, as `POST /v1/blobs` answers).
    #[arg(long, value_name = "ID")]
    blob: BlobId,

    /// Distinct cells to sample in every chunk, 1 to 128.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_SAMPLES,
          value_parser = clap::value_parser!(u16).range(1..=i64::from(MAX_SAMPLES)))]
    samples: u16,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let config = SampleConfig {
        nodes: args.nodes,
        blob: args.blob,
        samples: args.samples,
    };
    let bar = if std::io::stderr().is_terminal() {
        let bar = ProgressBar::new(0).with_style(
            ProgressStyle::with_template("{spinner} {pos} cells verified {elapsed}")
                .expect("the template is valid"),
        );
        bar.enable_steady_tick(std::time::Duration::from_millis(100));
        bar
    } else {
        ProgressBar::hidden()
    };
    let progress = {
        let bar = bar.clone();
        Arc::new(move |cells: u64| bar.inc(cells))
    };
    let mut rng = rand::rngs::StdRng::from_os_rng();
    let result = sample_blob(&config, &mut rng, progress).await;
    bar.finish_and_clear();
    match result {
        Ok(report) => {
            for failure in &report.node_failures {
                eprintln!("sampler: warning: {failure}");
            }
            println!(
                "blob {}: {} bytes in {} chunks (commitments from {})",
                report.blob, report.size, report.chunks, report.commitments_from
            );
            println!(
                "verified {} cells ({} per chunk)",
                report.cells_verified, report.samples_per_chunk
            );
            println!(
                "confidence {:.12} (probability the blob is unavailable < {:.3e})",
                report.confidence, report.miss_probability
            );
            ExitCode::from(exit_code::OK)
        }
        Err(e) => {
            eprintln!("sampler: error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
