//! Writes `data/fk20_columns.bin`: the FFTs of the embedded setup's monomial points that FK20
//! multiplies with, compressed, row by row.
//!
//! Usage: `cargo run --release -p kernels --example pack_fk20_columns -- kernels/data/fk20_columns.bin`

use kernels::backend::CpuBackend;
use kernels::TrustedSetup;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: pack_fk20_columns <output file>")?;
    let setup = TrustedSetup::ethereum()?;
    let bytes: Vec<u8> = kernels::fk20::columns(&setup.g1_monomial, &CpuBackend)
        .iter()
        .flatten()
        .flat_map(blstrs::G1Affine::to_compressed)
        .collect();
    std::fs::write(&path, &bytes)?;
    println!("wrote {} bytes to {path}", bytes.len());
    Ok(())
}
