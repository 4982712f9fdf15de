//! What a training run is and where it stands: the settings fixed for its
//! lifetime and the state a paused run resumes from. The checkpoint file
//! stores both ([`super::checkpoint`]); the trainer reads and advances them.

use super::optim::{Optimizer, OptimizerKind};
use crate::matrix::Matrix;
use crate::model::Params;
use crate::rng::Rng;

/// Which rule ends an epoch (`--schedule`; the rules are in
/// [`super::schedule`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Schedule {
    Plateau,
    /// Mikolov's rejection and halving; stops once an epoch, halving, gains
    /// less than a tenth of `min_improvement`.
    Mikolov,
    /// Mikolov's toolkit to the letter: stops at the first epoch, halving,
    /// that gains less than `min_improvement` (the `mikolov` of checkpoint
    /// version 2, which such runs resume under).
    MikolovStrict,
}

impl Schedule {
    pub const ALL: [Schedule; 3] = [Schedule::Mikolov, Schedule::Plateau, Schedule::MikolovStrict];

    pub fn name(self) -> &'static str {
        match self {
            Schedule::Plateau => "plateau",
            Schedule::Mikolov => "mikolov",
            Schedule::MikolovStrict => "mikolov-strict",
        }
    }

    pub fn parse(s: &str) -> Option<Schedule> {
        Schedule::ALL.into_iter().find(|k| k.name() == s)
    }

    /// The default schedule of an optimizer: `mikolov` for all three. On
    /// gutenberg-words (README, "Word level") rejection and halving gave
    /// the best held-out perplexity with SGD and with Adam alike; `plateau`
    /// keeps training past the best epoch.
    pub fn default_for(optimizer: OptimizerKind) -> Schedule {
        match optimizer {
            OptimizerKind::Sgd | OptimizerKind::Adagrad | OptimizerKind::Adam => Schedule::Mikolov,
        }
    }
}

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
    /// Non-improving epochs before stopping early (`plateau` only).
    pub patience: usize,
    /// The learning-rate schedule.
    pub schedule: Schedule,
    /// Dropout probability on the non-recurrent connections (0 = off).
    pub dropout: f64,
    /// L2 weight decay added to the gradient of every weight matrix.
    pub weight_decay: f64,
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
    /// Epochs in a row that did not improve enough (`plateau`).
    pub bad_epochs: usize,
    /// Whether the rate is being halved after every epoch (`mikolov`).
    pub halving: bool,
    /// Where a rejected epoch returns to (`mikolov`): the weights and
    /// optimizer state at the end of the last accepted epoch.
    pub rollback: Option<Rollback>,
    /// The dropout masks' generator, so a resumed run draws the masks the
    /// uninterrupted run would have.
    pub rng: [u64; 4],
    /// The hidden state carried into the next chunk `[B, H]`.
    pub hidden: Matrix<f32>,
}

/// The dropout masks' generator at the start of a run with seed `seed`
/// (its own stream, apart from the weights' initialization).
pub fn dropout_rng(seed: u64) -> [u64; 4] {
    Rng::new(seed ^ 0xD809_0000).state()
}

/// The weights and optimizer state a rejected epoch returns to.
#[derive(Clone, Debug, PartialEq)]
pub struct Rollback {
    pub params: Params<f32>,
    pub optimizer: Optimizer,
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
            halving: false,
            rollback: None,
            rng: dropout_rng(settings.seed),
            hidden: Matrix::zeros(settings.batch, params.config.hidden),
            settings,
        }
    }
}
