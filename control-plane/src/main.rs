//! The fleet control plane: enrollment, inventory, chain registration, scheduling, web console.

fn main() {}
