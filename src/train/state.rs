//! What a training run is and where it stands: the settings fixed for its
//! lifetime and the state a paused run resumes from. The checkpoint file
//! stores both ([`super::checkpoint`]); the trainer reads and advances them.

use super::optim::{Optimizer, OptimizerKind};
use crate::matrix::Matrix;
use crate::model::Params;

/// Settings of a training run, fixed for its lifetime (restored on resume).
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    pub batch: usize,
    pub seq_len: usize,
    pub optimizer: OptimizerKind,
    pub lr: f64,
    pub clip: f64,
    pub seed: u64,
    pub epochs: usize,
    /// Relative validation improvement below which the rate is halved.
    pub min_improvement: f64,
    /// Non-improving epochs before stopping early.
    pub patience: usize,
}

/// Where a paused run stands.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainState {
    pub settings: Settings,
    pub optimizer: Optimizer,
    /// Current learning rate (after halvings).
    pub lr: f64,
    /// Epoch in progress (0-based) and the next chunk in it.
    pub epoch: usize,
    pub chunk: usize,
    /// Optimizer steps taken.
    pub step: u64,
    /// Best validation loss so far (nats per token; +∞ before the first).
    pub best_valid: f64,
    /// Epochs in a row that did not improve enough.
    pub bad_epochs: usize,
    /// The hidden state carried into the next chunk `[B, H]`.
    pub hidden: Matrix<f32>,
}

impl TrainState {
    /// The state of a run that has not taken a step yet.
    pub fn fresh(settings: Settings, params: &Params<f32>) -> Self {
        TrainState {
            optimizer: Optimizer::new(settings.optimizer, params),
            lr: settings.lr,
            epoch: 0,
            chunk: 0,
            step: 0,
            best_valid: f64::INFINITY,
            bad_epochs: 0,
            hidden: Matrix::zeros(settings.batch, params.config.hidden),
            settings,
        }
    }
}
