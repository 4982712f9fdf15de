//! rnnlm — placeholder, rewritten below.
#![deny(unsafe_code)]
pub mod bench;
pub mod gradcheck;
pub mod matmul;
pub mod matrix;
pub mod rng;
pub mod scalar;
pub use scalar::Float;
pub mod model;
