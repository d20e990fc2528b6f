//! Health: wait for a release's workloads with watches, and say why when they do not become ready.

pub mod check;
pub mod reason;
pub mod wait;
