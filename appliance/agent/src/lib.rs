//! The box's agent: enrollment with the control plane, heartbeats, workload supervision.
