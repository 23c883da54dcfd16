//! KZG benchmark: kernels against c-kzg and rust_eth_kzg.

fn main() {}
