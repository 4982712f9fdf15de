//! Training: the run's settings and state, the checkpoint file, optimizers, the learning-rate
//! schedule, evaluation, progress reports and the training loop.
//!
//! | file | holds |
//! |---|---|
//! | [`state`] | `Settings` (fixed for a run) and `TrainState` (where it stands) |
//! | [`checkpoint`] | the versioned, checksummed file of a model and its paused run |
//! | [`optim`] | SGD, Adagrad, Adam — one enum variant per state — and clipping |
//! | [`step`](mod@step) | one optimizer step on one chunk (the trainer's and the bench's) |
//! | [`schedule`] | the epoch-end decision: keep the rate, halve it, or stop |
//! | [`evaluate`](mod@evaluate) | cross-entropy on held-out text; the unigram baseline |
//! | [`dynamic`] | dynamic evaluation: scoring a text while adapting to it |
//! | [`footprint`] | the memory a run will hold, by the flags that size it |
//! | [`report`] | the progress line and the CSV learning curve |
//! | [`trainer`] | the loop: a step per chunk, an epoch end per pass |

pub mod checkpoint;
pub mod dynamic;
pub mod evaluate;
pub mod footprint;
pub mod optim;
pub mod report;
pub mod schedule;
pub mod state;
pub mod step;
pub mod trainer;

pub use optim::{clip_global_norm, Optimizer, OptimizerKind};
pub use state::{Settings, TrainState};
