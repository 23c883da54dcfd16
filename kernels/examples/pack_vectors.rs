//! Packs the consensus-spec-tests KZG vectors (YAML layout) into the compact file the tests embed.
//!
//! Usage: `cargo run -p kernels --example pack_vectors -- <vectors-dir> <out.bin.gz>`

#[path = "../tests/vector_format/mod.rs"]
mod vector_format;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, dir, out] = args.as_slice() else {
        eprintln!("usage: pack_vectors <vectors-dir> <out.bin.gz>");
        std::process::exit(2);
    };
    let dir = std::path::Path::new(dir);
    let mut cases = Vec::new();
    for suite in vector_format::SUITES {
        let suite_cases = vector_format::load_yaml_suite(dir, suite);
        println!("{suite}: {} cases", suite_cases.len());
        cases.extend(suite_cases);
    }
    let packed = vector_format::pack(&cases);
    assert_eq!(vector_format::unpack(&packed), cases, "round trip");
    std::fs::write(out, &packed).unwrap_or_else(|e| panic!("cannot write {out}: {e}"));
    println!("{} cases, {} bytes -> {out}", cases.len(), packed.len());
}
