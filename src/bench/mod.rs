//! The measurements behind `rnnlm bench` (and the criterion benches).
//!
//! Timings are the best of several runs inside a time budget: on a shared,
//! noisy machine the minimum is the most repeatable statistic, and every
//! figure is reported next to a ratio measured in the same rounds.
//!
//! | file | holds |
//! |---|---|
//! | [`timing`] | round-robin best-of timing of several jobs in the same rounds |
//! | [`peak`] | FMA peak probes, one per instruction set, on one or more cores |
//! | [`gemm`] | GEMM shapes and cases; the micro-kernel alone |
//! | [`train`] | tokens per second of a training step |
//! | [`generate`] | tokens per second of generation, one sample and a batch, f32 and bf16 weights |
//! | [`score`] | tokens per second of sentences scored side by side, against one stream as `eval` scores |

pub mod gemm;
pub mod generate;
pub mod peak;
pub mod score;
pub mod timing;
pub mod train;

pub use gemm::{Shape, GEMM_SHAPES};
pub use generate::{GENERATE_CASES, GENERATE_CONFIGS};
pub use timing::{best_times_interleaved, Job};
pub use train::TRAIN_CONFIGS;
