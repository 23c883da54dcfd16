//! Storage engine benchmark: raw io_uring O_DIRECT against the engine's library API and HTTP.

fn main() {}
