//! Training: optimizers, the learning-rate schedule and the training loop.

pub mod optim;
pub mod trainer;

pub use optim::{clip_global_norm, Kind, Optimizer};
