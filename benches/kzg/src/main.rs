//! KZG benchmark: `kernels` against `c-kzg` and `rust_eth_kzg` on the same random blobs, in one
//! process, single-threaded and on all cores, printing our time as a ratio to the faster reference.
//!
//! Usage: `kzg-bench [--blobs N] [--reps R] [--only NAME] [--warm-up P]` (defaults: 8 blobs, 3
//! repetitions, best kept; every operation; 2 warm-up passes). The three implementations take
//! turns within each repetition.
//!
//! The warm-up passes run every selected operation on all cores, untimed, before the timed
//! all-core runs: on lent 16-core VMs rust_eth_kzg's FK20 lines on 16 threads took 24-28 ms a
//! blob until other operations had run in the same process, and about 18 ms after (repeating the
//! same operation did not warm it). Without warm-up the all-core lines depend on their order.

use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rayon::prelude::*;

const BYTES_PER_BLOB: usize = 131_072;
const CELLS: usize = 128;

struct Options {
    blobs: usize,
    reps: usize,
    /// Runs only the operations whose name contains this.
    only: Option<String>,
    /// Untimed passes over the selected operations on all cores before the timed ones.
    warm_up: usize,
}

fn parse_options() -> Options {
    let mut options = Options {
        blobs: 8,
        reps: 3,
        only: None,
        warm_up: 2,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = |name: &str| -> usize {
            args.next().and_then(|v| v.parse().ok()).unwrap_or_else(|| {
                eprintln!("{name} needs a positive integer");
                std::process::exit(2)
            })
        };
        match flag.as_str() {
            "--blobs" => options.blobs = value("--blobs").max(1),
            "--reps" => options.reps = value("--reps").max(1),
            "--warm-up" => options.warm_up = value("--warm-up"),
            "--only" => {
                options.only = Some(args.next().unwrap_or_else(|| {
                    eprintln!("--only needs part of an operation's name");
                    std::process::exit(2)
                }))
            }
            "--help" | "-h" => {
                println!(
                    "kzg-bench [--blobs N (default 8)] [--reps R (default 3, best kept)] [--only NAME] [--warm-up P]\n\
                     Times kernels, c-kzg and rust_eth_kzg (precompute 8) on the same blobs: on one thread,\n\
                     then on all cores with the blobs in parallel (throughput), then on all cores one blob at\n\
                     a time (latency: how well one call spreads over the cores; c-kzg runs each call on one).\n\
                     --only NAME runs the operations whose name contains NAME (verify, encode_chunked, ...).\n\
                     --warm-up P runs P untimed passes over those operations on all cores before timing them there (default 2)."
                );
                std::process::exit(0);
            }
            other => {
                eprintln!("unknown flag {other}; see --help");
                std::process::exit(2);
            }
        }
    }
    options
}

fn random_blob(rng: &mut impl Rng) -> Vec<u8> {
    let mut blob = vec![0u8; BYTES_PER_BLOB];
    rng.fill(&mut blob[..]);
    // Clear the top byte of each word so every element is canonical.
    for word in blob.chunks_exact_mut(32) {
        word[0] = 0;
    }
    blob
}

/// One run of `f` over every blob index, sequential or in parallel.
fn run_once(blobs: usize, parallel: bool, f: &(dyn Fn(usize) + Sync)) -> Duration {
    let start = Instant::now();
    if parallel {
        (0..blobs).into_par_iter().for_each(f);
    } else {
        (0..blobs).for_each(f);
    }
    start.elapsed()
}

/// Best of `reps` runs of each of `fs`. Within a repetition the implementations take turns, so a
/// slow spell of a shared machine falls on all of them rather than on one.
fn best_of<const N: usize>(
    reps: usize,
    blobs: usize,
    parallel: bool,
    fs: [&(dyn Fn(usize) + Sync); N],
) -> [Duration; N] {
    let mut best = [Duration::MAX; N];
    for _ in 0..reps {
        for (f, best) in fs.iter().zip(best.iter_mut()) {
            *best = (*best).min(run_once(blobs, parallel, *f));
        }
    }
    best
}

struct Inputs {
    blobs: Vec<Vec<u8>>,
    ckzg_blobs: Vec<c_kzg::Blob>,
    commitments: Vec<[u8; 48]>,
    cells: Vec<Vec<kernels::Cell>>,
    proofs: Vec<Vec<[u8; 48]>>,
    half: Vec<u64>,
}

fn run_all(
    inputs: &Inputs,
    ours: &kernels::KzgSettings,
    ckzg: &c_kzg::KzgSettings,
    reth: &rust_eth_kzg::DASContext,
    reps: usize,
    parallel: bool,
    wanted: &dyn Fn(&str) -> bool,
) -> Vec<(&'static str, [Duration; 3])> {
    let n = inputs.blobs.len();
    let all: Vec<u64> = (0..CELLS as u64).collect();
    let mut rows = Vec::new();
    let mut row = |name: &'static str, fs: [&(dyn Fn(usize) + Sync); 3]| {
        if wanted(name) {
            rows.push((name, best_of(reps, n, parallel, fs)));
        }
    };

    row(
        "blob_to_kzg_commitment",
        [
            &|i| {
                ours.blob_to_kzg_commitment(&inputs.blobs[i]).expect("ours");
            },
            &|i| {
                ckzg.blob_to_kzg_commitment(&inputs.ckzg_blobs[i])
                    .expect("c-kzg");
            },
            &|i| {
                let blob: &[u8; BYTES_PER_BLOB] = inputs.blobs[i][..].try_into().expect("size");
                reth.blob_to_kzg_commitment(blob).expect("rust_eth_kzg");
            },
        ],
    );

    row(
        "compute_cells_and_kzg_proofs",
        [
            &|i| {
                ours.compute_cells_and_kzg_proofs(&inputs.blobs[i])
                    .expect("ours");
            },
            &|i| {
                ckzg.compute_cells_and_kzg_proofs(&inputs.ckzg_blobs[i])
                    .expect("c-kzg");
            },
            &|i| {
                let blob: &[u8; BYTES_PER_BLOB] = inputs.blobs[i][..].try_into().expect("size");
                reth.compute_cells_and_kzg_proofs(blob)
                    .expect("rust_eth_kzg");
            },
        ],
    );

    let ckzg_cells: Vec<Vec<c_kzg::Cell>> = inputs
        .cells
        .iter()
        .map(|cells| {
            cells
                .iter()
                .map(|c| c_kzg::Cell::from_bytes(c).expect("cell"))
                .collect()
        })
        .collect();
    let ckzg_proofs: Vec<Vec<c_kzg::Bytes48>> = inputs
        .proofs
        .iter()
        .map(|proofs| proofs.iter().map(|p| c_kzg::Bytes48::new(*p)).collect())
        .collect();
    row(
        "verify_cell_kzg_proof_batch (128 cells)",
        [
            &|i| {
                let commitments = vec![inputs.commitments[i]; CELLS];
                assert!(ours
                    .verify_cell_kzg_proof_batch(
                        &commitments,
                        &all,
                        &inputs.cells[i],
                        &inputs.proofs[i]
                    )
                    .expect("ours"));
            },
            &|i| {
                let commitments = vec![c_kzg::Bytes48::new(inputs.commitments[i]); CELLS];
                assert!(ckzg
                    .verify_cell_kzg_proof_batch(
                        &commitments,
                        &all,
                        &ckzg_cells[i],
                        &ckzg_proofs[i]
                    )
                    .expect("c-kzg"));
            },
            &|i| {
                let commitments = vec![&inputs.commitments[i]; CELLS];
                let cells: Vec<&[u8; 2048]> = inputs.cells[i].iter().collect();
                let proofs: Vec<&[u8; 48]> = inputs.proofs[i].iter().collect();
                reth.verify_cell_kzg_proof_batch(commitments, &all, cells, proofs)
                    .expect("rust_eth_kzg");
            },
        ],
    );

    let half = &inputs.half;
    row(
        "recover_cells_and_kzg_proofs (half missing)",
        [
            &|i| {
                let cells: Vec<&kernels::Cell> =
                    half.iter().map(|&c| &inputs.cells[i][c as usize]).collect();
                ours.recover_cells_and_kzg_proofs(half, &cells)
                    .expect("ours");
            },
            &|i| {
                let cells: Vec<c_kzg::Cell> =
                    half.iter().map(|&c| ckzg_cells[i][c as usize]).collect();
                ckzg.recover_cells_and_kzg_proofs(half, &cells)
                    .expect("c-kzg");
            },
            &|i| {
                let cells: Vec<&[u8; 2048]> =
                    half.iter().map(|&c| &inputs.cells[i][c as usize]).collect();
                reth.recover_cells_and_kzg_proofs(half.clone(), cells)
                    .expect("rust_eth_kzg");
            },
        ],
    );
    rows
}

fn ms(d: Duration, blobs: usize) -> f64 {
    d.as_secs_f64() * 1e3 / blobs as f64
}

fn print_rows(title: &str, rows: &[(&str, [Duration; 3])], blobs: usize) {
    println!("\n{title} (ms per blob, best of runs over {blobs} blobs)");
    println!(
        "{:<45} {:>9} {:>9} {:>13} {:>18}",
        "operation", "ours", "c-kzg", "rust_eth_kzg", "ours/faster ref"
    );
    for (name, [ours, ckzg, reth]) in rows {
        let faster = ckzg.min(reth);
        println!(
            "{:<45} {:>9.2} {:>9.2} {:>13.2} {:>18.2}",
            name,
            ms(*ours, blobs),
            ms(*ckzg, blobs),
            ms(*reth, blobs),
            ours.as_secs_f64() / faster.as_secs_f64()
        );
    }
}

fn main() {
    let options = parse_options();
    let cores = rayon::current_num_threads();

    let start = Instant::now();
    let ours = kernels::KzgSettings::load_ethereum().expect("embedded setup");
    let load = start.elapsed();
    let start = Instant::now();
    ours.precompute();
    let fk20 = start.elapsed();
    println!(
        "kernels start-up: setup load+validate {:.1} ms, tables (FK20, commitment) {:.1} ms ({cores} threads)",
        load.as_secs_f64() * 1e3,
        fk20.as_secs_f64() * 1e3
    );
    let start = Instant::now();
    let ckzg = c_kzg::ethereum_kzg_settings(8);
    let ckzg_load = start.elapsed();
    let start = Instant::now();
    let reth = rust_eth_kzg::DASContext::new(
        &rust_eth_kzg::TrustedSetup::default(),
        rust_eth_kzg::UsePrecomp::Yes { width: 8 },
    );
    let reth_load = start.elapsed();
    println!(
        "reference start-up: c-kzg (precompute 8) {:.1} ms, rust_eth_kzg (precompute 8) {:.1} ms",
        ckzg_load.as_secs_f64() * 1e3,
        reth_load.as_secs_f64() * 1e3
    );

    let mut rng = rand::rngs::StdRng::seed_from_u64(4844);
    let blobs: Vec<Vec<u8>> = (0..options.blobs).map(|_| random_blob(&mut rng)).collect();
    let mut encoded = Vec::new();
    for blob in &blobs {
        let commitment = ours.blob_to_kzg_commitment(blob).expect("commit");
        let (cells, proofs) = ours.compute_cells_and_kzg_proofs(blob).expect("cells");
        encoded.push((commitment, cells, proofs));
    }
    let mut half: Vec<u64> = (0..CELLS as u64).collect();
    half.retain(|i| i % 2 == 1);
    let inputs = Inputs {
        ckzg_blobs: blobs
            .iter()
            .map(|b| c_kzg::Blob::from_bytes(b).expect("blob"))
            .collect(),
        commitments: encoded.iter().map(|e| e.0).collect(),
        cells: encoded.iter().map(|e| e.1.clone()).collect(),
        proofs: encoded.iter().map(|e| e.2.clone()).collect(),
        blobs,
        half,
    };

    let wanted = |name: &str| {
        options
            .only
            .as_ref()
            .is_none_or(|only| name.contains(only.as_str()))
    };
    let single = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("thread pool");
    let rows =
        single.install(|| run_all(&inputs, &ours, ckzg, &reth, options.reps, false, &wanted));
    print_rows("single thread", &rows, options.blobs);
    for _ in 0..options.warm_up {
        run_all(&inputs, &ours, ckzg, &reth, 1, true, &wanted);
    }
    let rows = run_all(&inputs, &ours, ckzg, &reth, options.reps, true, &wanted);
    print_rows(
        &format!(
            "all cores ({cores} threads, blobs in parallel, {} warm-up passes)",
            options.warm_up
        ),
        &rows,
        options.blobs,
    );
    let rows = run_all(&inputs, &ours, ckzg, &reth, options.reps, false, &wanted);
    print_rows(
        &format!("all cores ({cores} threads, one blob at a time)"),
        &rows,
        options.blobs,
    );

    if !wanted("encode_chunked") {
        return;
    }
    let data: Vec<u8> = inputs.blobs.concat();
    let encode = |_| {
        ours.encode_chunked(&data).expect("chunked");
    };
    let [one] = single.install(|| best_of(options.reps, 1, false, [&encode]));
    let [all] = best_of(options.reps, 1, false, [&encode]);
    println!(
        "\nmulti-chunk encode_chunked, {} chunks: 1 thread {:.1} ms, {cores} threads {:.1} ms, speed-up {:.2}x",
        options.blobs,
        one.as_secs_f64() * 1e3,
        all.as_secs_f64() * 1e3,
        one.as_secs_f64() / all.as_secs_f64()
    );
}
