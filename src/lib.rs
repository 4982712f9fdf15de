//! rnnlm — a recurrent neural network language model from scratch.
#![deny(unsafe_code)]
pub mod app;
pub mod bench;
pub mod checkpoint;
pub mod cli;
pub mod data;
pub mod error;
pub mod gradcheck;
pub mod matmul;
pub mod matrix;
pub mod model;
pub mod rng;
pub mod sample;
pub mod scalar;
pub mod train;
pub use scalar::Float;
