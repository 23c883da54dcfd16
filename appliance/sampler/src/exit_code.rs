//! The sampler's exit codes (also listed in `sampler --help`).

/// Every sampled cell verified; the confidence is printed.
pub const OK: u8 = 0;
/// An unexpected error (printed).
pub const ERROR: u8 = 1;
/// Bad command line.
pub const USAGE: u8 = 2;
/// No node could be reached or answered with the blob's commitments.
pub const NO_COMMITMENTS: u8 = 3;
/// A node sent commitments that do not hash to the blob id.
pub const WRONG_COMMITMENTS: u8 = 4;
/// Some sampled cells were served by no node: the blob may be withheld.
pub const UNAVAILABLE: u8 = 5;
/// A node served a cell or proof that does not verify (or other cells than asked).
pub const INVALID: u8 = 6;

/// The `--help` text that documents the codes.
pub const HELP: &str = "\
Exit codes:
  0  every sampled cell verified; the confidence is printed
  1  unexpected error
  2  bad command line
  3  no node reachable, or none answered with the blob's commitments
  4  a node sent commitments that do not hash to the blob id
  5  some sampled cells were served by no node (the blob may be withheld)
  6  a node served a cell or proof that does not verify";
