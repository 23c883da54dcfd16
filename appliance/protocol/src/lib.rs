//! Wire types shared by the box, the sampler and the control plane.
