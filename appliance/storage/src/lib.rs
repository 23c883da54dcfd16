//! The appliance's log-structured, erasure-coded NVMe storage engine (io_uring, O_DIRECT, registered buffers).
