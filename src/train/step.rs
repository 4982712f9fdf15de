//! One optimizer step on one chunk — the unit the trainer repeats and
//! `bench train` times, so that the two measure the same work.
//!
//! ```text
//!   L = forward(chunk) ; backward           gradients add into `grads`, which is all zero on entry
//!   clip ‖g‖ to `clip`                      over the entries backward wrote
//!   update W, zeroing g as it is used       so `grads` is all zero again on return
//! ```
//!
//! With SGD and Adagrad the work after backward visits only the rows of E
//! and W_y that backward wrote into ([`Workspace::touched`]): elsewhere the
//! gradient is zero and the update leaves the weight as it is, so the result
//! is the dense update's, exactly.

use super::optim::{clip_global_norm, Optimizer};
use crate::matrix::MatRef;
use crate::model::{backward, forward, Params, Workspace};

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

/// One step: forward, backward, clipping to `clip` (0 = off), the
/// optimizer's update with rate `lr`. `grads` must be all zero on entry and
/// is all zero on return; h_T is left in [`Workspace::last_hidden`].
pub fn take_step(
    params: &mut Params<f32>,
    grads: &mut Params<f32>,
    optimizer: &mut Optimizer,
    ws: &mut Workspace<f32>,
    chunk: Chunk,
    lr: f64,
    clip: f64,
) -> Result<StepReport, NonFinite> {
    let loss = forward(params, chunk.inputs, chunk.targets, chunk.batch, chunk.h0, ws);
    if !loss.is_finite() {
        return Err(NonFinite::Loss(loss));
    }
    backward(params, grads, ws);
    let written = grads.spans(ws.touched());
    let grad_norm = clip_global_norm(grads, &written, clip);
    if !grad_norm.is_finite() {
        grads.fill_zero_in(&written);
        return Err(NonFinite::GradientNorm(grad_norm));
    }
    // The update reads and zeroes every span backward wrote (Adam's spans
    // cover them all; SGD's and Adagrad's are the same spans).
    let updated = optimizer.spans_to_update(params, ws.touched());
    if !optimizer.step(params, grads, lr, &updated) {
        return Err(NonFinite::Weights);
    }
    Ok(StepReport { loss, grad_norm })
}
