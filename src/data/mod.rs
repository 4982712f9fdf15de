//! Data: tokenization, vocabulary, batching.

pub mod batches;
pub mod jamo;
pub mod vocab;

pub use batches::Batches;
pub use vocab::{Level, Vocab};
