//! Dynamic evaluation (`eval --dynamic LR`; Mikolov's toolkit `-dynamic`,
//! Krause et al. 2018): the model adapts to the text it scores.
//!
//! ```text
//!   h ← 0
//!   for each chunk x[s .. s+T] of the text, in order:
//!       score the chunk's T predictions with the weights W as they are,   (the nats reported)
//!         starting from h
//!       h ← h_T of that forward
//!       W ← W − LR·min(1, clip/‖g‖)·g,  g = ∇L(chunk) by BPTT (eqs. 7–16)  (plain SGD, no dropout)
//! ```
//!
//! Every token is scored before any update that has seen it: the chunk's
//! loss is the forward of [`take_step`], computed before its update, and
//! the next chunk is scored only after. A text made of one sentence
//! repeated therefore scores its first chunk exactly as the static model
//! does, and the rest better (tested in `tests/dynamic.rs`).
//!
//! The weights adapted here are a copy: the model file is never changed.

use super::optim::Optimizer;
use super::step::{take_step, Chunk, NonFinite, Regularization};
use crate::error::{Error, Result};
use crate::matmul::Kernel;
use crate::matrix::Matrix;
use crate::model::{Params, Shards};
use crate::rng::Rng;

/// The chunk T of a checkpoint saved without its training state.
pub const DYNAMIC_CHUNK: usize = 35;
/// The clip of a checkpoint saved without its training state (training's default).
pub const DYNAMIC_CLIP: f64 = 5.0;

/// How dynamic evaluation adapts.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Dynamic {
    /// SGD's rate.
    pub lr: f64,
    /// Clip each chunk's gradient to this global norm (0 = off).
    pub clip: f64,
    /// T: predictions per chunk, one update after each.
    pub chunk: usize,
}

/// Score `ids` as one stream from h_0 = 0 while adapting `params` to it
/// (module docs). `before_update(params, h0, start..end)` is called for
/// each chunk with the weights that score it and the state it starts from
/// (for per-token output). Returns what it measured ([`DynamicScore`]);
/// `params` is left adapted to the whole text.
///
/// # Errors
/// A chunk whose loss, gradient or updated weights are not finite (the
/// rate is too high): the error names the chunk's first token.
///
/// # Panics
/// If `ids` has fewer than two tokens or `d.chunk` is 0.
pub fn evaluate_dynamic(
    params: &mut Params<f32>,
    ids: &[u32],
    d: Dynamic,
    kernel: Kernel,
    threads: usize,
    mut before_update: impl FnMut(&Params<f32>, &[f32], std::ops::Range<usize>) -> Result<()>,
) -> Result<DynamicScore> {
    assert!(ids.len() >= 2 && d.chunk > 0, "evaluate_dynamic: nothing to score");
    let h = params.config.hidden;
    let mut ws = Shards::new(kernel, threads);
    let mut grads = Params::zeros(&params.config);
    // No dropout: the generator is never drawn from.
    let mut rng = Rng::new(0);
    let mut reg = Regularization {
        dropout: 0.0,
        weight_decay: 0.0,
        rng: &mut rng,
    };
    // Plain SGD: Adam continued from a run's saved moments (RMS-normalized
    // updates, as Krause et al. 2018 normalize theirs) was measured no
    // better on the Korean validation text (README, "Korean").
    let mut sgd = Optimizer::Sgd;
    let mut state = Matrix::<f32>::zeros(1, h);
    let n = ids.len() - 1;
    let mut total = 0.0;
    let mut token_nats = Vec::with_capacity(n);
    for start in (0..n).step_by(d.chunk) {
        let end = (start + d.chunk).min(n);
        before_update(params, state.row(0), start..end)?;
        let chunk = Chunk {
            inputs: &ids[start..end],
            targets: &ids[start + 1..end + 1],
            batch: 1,
            h0: state.view(),
        };
        let report = take_step(params, &mut grads, &mut sgd, &mut ws, chunk, d.lr, d.clip, &mut reg).map_err(|e| {
            let what = match e {
                NonFinite::Loss(x) => format!("the loss is {x}"),
                NonFinite::GradientNorm(x) => format!("the gradient norm is {x}"),
                NonFinite::Weights => "an updated weight is not finite".into(),
            };
            Error::Data(format!("--dynamic {}: at token {start}, {what}; lower the rate", d.lr))
        })?;
        total += report.loss * (end - start) as f64;
        token_nats.extend(ws.token_nats()); // the forward before the update
        state.as_mut_slice().copy_from_slice(&ws.last_hidden().data()[..h]);
    }
    Ok(DynamicScore {
        tokens: n,
        nats: total / n as f64,
        token_nats,
    })
}

/// What [`evaluate_dynamic`] measured.
#[derive(Clone, Debug, PartialEq)]
pub struct DynamicScore {
    /// Predicted tokens.
    pub tokens: usize,
    /// Mean nats per token.
    pub nats: f64,
    /// Each predicted token's nats, as the weights of its chunk scored it.
    pub token_nats: Vec<f64>,
}
