//! BLS12-381 KZG commitments, EIP-4844 and EIP-7594 cells, proofs and recovery: pure compute, no I/O.
