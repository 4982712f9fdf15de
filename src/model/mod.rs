//! The RNNLM: parameters, layers and the recurrent network with BPTT.
//!
//! The derivation of every gradient, numbered and with the symbols used here,
//! is in [`docs/bptt.md`](https://github.com/rnnlm/rnnlm/blob/main/docs/bptt.md)
//! (the file `docs/bptt.md` in this repository); each backward statement in
//! [`rnn`] and [`layers`] cites the equation it implements.
//!
//! | file | holds |
//! |---|---|
//! | [`params`] | `E W_x W_h b_h W_y b_y`: shapes, init, the gradient layout |
//! | [`layers`] | embedding, bias, tanh, softmax–cross-entropy: forward/backward pairs |
//! | [`recurrence`] | the loops over time, streams split across workers |
//! | [`rnn`] | the chunk forward (teacher forcing) and backward (BPTT), workspaces |
//! | [`step`](mod@step) | one-token inference (B = 1) for generation |

pub mod layers;
pub mod params;
pub mod recurrence;
pub mod rnn;
pub mod step;

pub use params::{Config, Params, TENSOR_NAMES};

use crate::data::Vocab;

/// A trained model: its vocabulary (token ids ⇄ text) and its weights.
#[derive(Clone, Debug, PartialEq)]
pub struct Model {
    pub vocab: Vocab,
    pub params: Params<f32>,
}
pub use rnn::{backward, forward, ForwardCache, InputPath, Workspace};
pub use step::{step, StepState};
