//! Writes pseudo-random objects into an engine until killed, printing `ACK <id> <seed> <len>`
//! after each one is committed. The crash test kills it with SIGKILL at random moments and then
//! checks that every acknowledged object survived; run it by hand for longer torture.
//!
//! Usage: storage-torture DATA_DIR DRIVE_BYTES ZONE_BYTES FIRST_SEED

use std::io::Write;

use appliance_storage::{Engine, EngineConfig};

#[path = "../../tests/common/pattern.rs"]
mod pattern;
use pattern::pattern;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 5 {
        eprintln!("usage: storage-torture DATA_DIR DRIVE_BYTES ZONE_BYTES FIRST_SEED");
        std::process::exit(2);
    }
    let number = |i: usize| -> u64 {
        args[i].parse().unwrap_or_else(|_| {
            eprintln!("argument {i} ({:?}) is not a number", args[i]);
            std::process::exit(2)
        })
    };
    let mut cfg = EngineConfig::new(&args[1]);
    cfg.file_drive_size = number(2);
    cfg.zone_size = number(3);
    cfg.stripe_buffers = 6;
    cfg.small_buffers = 32;
    let engine = Engine::open(cfg).unwrap_or_else(|e| {
        eprintln!("cannot open engine: {e}");
        std::process::exit(1)
    });
    let mut stdout = std::io::stdout().lock();
    for seed in number(4).. {
        let len = object_len(seed);
        let meta = engine.put(&pattern(len, seed)).unwrap_or_else(|e| {
            eprintln!("put failed: {e}");
            std::process::exit(1)
        });
        writeln!(stdout, "ACK {} {seed} {len}", meta.id).expect("stdout");
        stdout.flush().expect("stdout");
    }
}

/// Sizes from empty to several stripes, weighted towards small objects.
fn object_len(seed: u64) -> usize {
    match seed % 4 {
        0 => (seed as usize * 7919) % 5000,
        1 => (seed as usize * 104_729) % 70_000,
        2 => (seed as usize * 1_299_709) % (1 << 20),
        _ => (seed as usize * 15_485_863) % (6 << 20),
    }
}
