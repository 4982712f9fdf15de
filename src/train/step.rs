//! One optimizer step on one chunk — the unit the trainer repeats and
//! `bench train` times, so that the two measure the same work.
//!
//! ```text
//!   L = forward(chunk) ; backward           on fixed shards of the streams, side by side (model::shards);
//!                                           gradients add into `grads`, which is all zero on entry
//!   ‖g‖ over the entries backward wrote     in fixed blocks, whatever the thread count (Params::norm_in);
//!                                           blocks of dW_y summed as the class phase wrote them, or
//!                                           a tied model's dE as the tie wrote it, are not read
//!                                           again (Shards::norm_blocks, tie_gradients, norm_with)
//!   update W with g·min(1, clip/‖g‖),       split across the threads entry by entry;
//!     zeroing g as it is used               so `grads` is all zero again on return
//! ```
//!
//! With SGD and Adagrad the work after backward visits only the rows of E
//! and W_y that backward wrote into ([`Shards::touched`]): elsewhere the
//! gradient is zero and the update leaves the weight as it is, so the result
//! is the dense update's, exactly.

use super::optim::{clip_factor, Optimizer};
use crate::matrix::MatRef;
use crate::model::layers::dropout_mask;
use crate::model::tie::tie_gradients;
use crate::model::{tensor, DropoutMasks, Params, Shards, Span, TouchedRows};
use crate::rng::Rng;

/// Regularization of a training step: dropout (its masks drawn from `rng`)
/// and L2 weight decay.
#[derive(Debug)]
pub struct Regularization<'a> {
    /// Dropout probability on the non-recurrent connections (0 = off).
    pub dropout: f64,
    /// λ of the L2 term: λ·W is added to the gradient of every weight
    /// matrix (E, W_x, W_h, W_y, W_c; not the biases).
    pub weight_decay: f64,
    /// The run's dropout generator.
    pub rng: &'a mut Rng,
}

/// The weight matrices weight decay applies to, by [`Params::tensors`] index:
/// E, W_x, W_h, W_y, W_c.
const WEIGHT_MATRICES: [usize; 5] = [tensor::E, tensor::W_X, tensor::W_H, tensor::W_Y, tensor::W_C];

/// A chunk of B streams × T steps, time-major (`[T·B]` each), and the
/// hidden state it starts from `[B, H]`.
#[derive(Clone, Copy, Debug)]
pub struct Chunk<'a> {
    pub inputs: &'a [u32],
    pub targets: &'a [u32],
    pub batch: usize,
    pub h0: MatRef<'a, f32>,
}

/// A step that went numerically wrong; the weights are left as they were
/// when the loss or the norm is the culprit, and updated when the weights
/// are.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum NonFinite {
    Loss(f64),
    GradientNorm(f64),
    Weights,
}

/// The step's loss (mean nats per prediction) and gradient norm before
/// clipping.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepReport {
    pub loss: f64,
    pub grad_norm: f64,
}

/// Draw this step's dropout masks for the whole chunk (reusing the
/// buffers), or clear them when dropout is off.
fn draw_masks(ws: &mut Shards<f32>, params: &Params<f32>, n: usize, p: f64, rng: &mut Rng) {
    if p <= 0.0 {
        ws.dropout = None;
        return;
    }
    let (d, h) = (params.config.embed, params.config.hidden);
    match &mut ws.dropout {
        Some(m) if m.e.shape() == (n, d) && m.h.shape() == (n, h) => {
            dropout_mask(m.e.as_mut_slice(), p, rng);
            dropout_mask(m.h.as_mut_slice(), p, rng);
        }
        slot => *slot = Some(DropoutMasks::draw(n, d, h, p, rng)),
    }
}

/// One step: forward, backward (with dropout masks drawn for it, and weight
/// decay added to the gradient), clipping to `clip` (0 = off), the
/// optimizer's update with rate `lr` — on the threads of `ws`, with the same
/// result for any number of them. `grads` must be all zero on entry and is
/// all zero on return; h_T is left in [`Shards::last_hidden`].
#[allow(clippy::too_many_arguments)]
pub fn take_step(
    params: &mut Params<f32>,
    grads: &mut Params<f32>,
    optimizer: &mut Optimizer,
    ws: &mut Shards<f32>,
    chunk: Chunk,
    lr: f64,
    clip: f64,
    reg: &mut Regularization,
) -> Result<StepReport, NonFinite> {
    draw_masks(ws, params, chunk.inputs.len(), reg.dropout, reg.rng);
    let loss = ws.forward(params, chunk.inputs, chunk.targets, chunk.batch, chunk.h0);
    if !loss.is_finite() {
        return Err(NonFinite::Loss(loss));
    }
    ws.backward(params, grads);
    let threads = ws.threads();
    let mut touched = ws.touched().clone();
    let tied = params.config.tied;
    let mut tied_blocks = Vec::new();
    if tied {
        // E ≡ W_y: both tensors get dE + dW_y (eq. 33), so the update keeps
        // them equal; E's squares are taken as the sum is written.
        (touched, tied_blocks) = tie_gradients(grads, &touched, threads);
    }
    if reg.weight_decay > 0.0 {
        // g += λ·W on every weight matrix: the gradient is dense now.
        let lambda = reg.weight_decay as f32;
        for ti in WEIGHT_MATRICES {
            let (w, g) = (params.tensors()[ti].as_slice(), grads.tensors_mut()[ti].as_mut_slice());
            g.iter_mut().zip(w).for_each(|(g, &w)| *g += lambda * w);
        }
        touched = TouchedRows::all();
    }
    let written = grads.spans(&touched);
    // Blocks whose squares were summed as they were written (by backward,
    // or by the tie for a tied model's E) are taken as they are (the same
    // bits), unless weight decay changed them since.
    let done = if reg.weight_decay > 0.0 {
        &[][..]
    } else if tied {
        &tied_blocks[..]
    } else {
        ws.norm_blocks()
    };
    // A tied model's shared matrix counts once in ‖g‖: as E, not again as W_y.
    let without_w_y: Vec<Span>;
    let norm_spans = if tied {
        without_w_y = written.iter().filter(|s| s.tensor != tensor::W_Y).cloned().collect();
        &without_w_y[..]
    } else {
        &written[..]
    };
    let grad_norm = grads.norm_with(norm_spans, done, threads);
    if !grad_norm.is_finite() {
        grads.fill_zero_in(&written);
        return Err(NonFinite::GradientNorm(grad_norm));
    }
    // Clipping scales g by the factor as the update reads it. The update
    // reads and zeroes every span backward wrote (Adam's spans cover them
    // all; SGD's and Adagrad's are the same spans).
    let updated = optimizer.spans_to_update(params, &touched);
    if !optimizer.step(params, grads, lr, &updated, clip_factor(grad_norm, clip), threads) {
        return Err(NonFinite::Weights);
    }
    Ok(StepReport { loss, grad_norm })
}
