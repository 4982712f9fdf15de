//! The RNNLM: parameters, layers and the recurrent network with BPTT.
//!
//! The derivation of every gradient, numbered and with the symbols used here,
//! is in [`docs/bptt.md`](https://github.com/rnnlm/rnnlm/blob/main/docs/bptt.md)
//! (the file `docs/bptt.md` in this repository); each backward statement in
//! [`rnn`] and [`layers`] cites the equation it implements.
//!
//! | file | holds |
//! |---|---|
//! | [`params`] | `E W_x W_h b_h W_y b_y W_c b_c`: shapes, the init schemes, the gradient layout, the tied gradient (eq. 33) |
//! | [`rows`] | the rows of E and W_y a step touched, and the stretches of entries they cover |
//! | [`tie`] | the tied gradient of E ≡ W_y (eq. 33) |
//! | [`norm`] | the gradient's global norm, the same to the bit on any thread count |
//! | [`layers`] | embedding, bias, tanh, softmax–cross-entropy: forward/backward pairs |
//! | [`classes`] | word classes of the class-factored output layer, and their assignment |
//! | [`exchange`] | classes by exchange clustering on the training bigrams (`--class-method exchange`) |
//! | [`classed`] | the class-factored output layer: forward/backward pair, full distribution |
//! | [`recurrence`] | the loops over time, streams split across workers |
//! | [`rnn`] | the chunk forward (teacher forcing) and backward (BPTT), workspaces |
//! | [`shards`] | a chunk's streams cut into fixed shards run side by side; gradients summed in shard order |
//! | [`step`](mod@step) | one-token steps for generation (one stream or a batch), and a classed model's draw class by class |
//! | [`precision`] | the weights in f32 or rounded to bf16 for generation (`--weights`) |

pub mod classed;
pub mod classes;
pub mod exchange;
pub mod layers;
pub mod norm;
pub mod params;
pub mod precision;
pub mod recurrence;
pub mod rnn;
pub mod rows;
pub mod shards;
pub mod step;
pub mod tie;

pub use classes::{ClassMethod, Classes};
pub use norm::NormBlock;
pub use params::{tensor, Config, InitScheme, Params, TENSOR_NAMES};
pub use rows::{row_ranges, Span, TouchedRows};

use crate::data::Vocab;

/// A trained model: its vocabulary (token ids ⇄ text) and its weights.
#[derive(Clone, Debug, PartialEq)]
pub struct Model {
    pub vocab: Vocab,
    pub params: Params<f32>,
    /// The ids as the user numbered them, when the model had to renumber
    /// them: `export_order[i]` is the model's id of the user's id i. Set
    /// by `import` when a classed vocabulary is made into class blocks, so
    /// that `export` gives the user's ids back; `None`: the model's own
    /// order is the user's.
    pub export_order: Option<Vec<u32>>,
}

impl Model {
    /// Renumber the vocabulary: new id i is old id `order[i]`, in the
    /// tokens and in the weights ([`Params::reorder_vocab`]). The model
    /// gives every text the same probabilities.
    ///
    /// # Panics
    /// As [`Params::reorder_vocab`].
    pub fn reorder_vocab(&mut self, order: &[u32]) {
        self.params.reorder_vocab(order);
        let tokens = order.iter().map(|&id| self.vocab.token(id).to_string()).collect();
        self.vocab = Vocab::from_tokens(self.vocab.level, tokens);
        // The user's ids follow their tokens to the new ids.
        if let Some(user) = &mut self.export_order {
            let mut new_id = vec![0u32; order.len()];
            for (new, &old) in order.iter().enumerate() {
                new_id[old as usize] = new as u32;
            }
            for id in user.iter_mut() {
                *id = new_id[*id as usize];
            }
        }
    }

    /// A model of this vocabulary and these weights, in its own id order.
    pub fn new(vocab: Vocab, params: Params<f32>) -> Self {
        Model {
            vocab,
            params,
            export_order: None,
        }
    }

    /// Give the model `classes` output classes found by `method` on
    /// `train_ids` (its own ids): the vocabulary is reordered so that each
    /// class is a contiguous block ([`classes::assign`],
    /// [`exchange::exchange`]), W_c and b_c start fresh from `rng`.
    /// `classes = 0` drops the classes (the full softmax). Returns the
    /// exchange clustering's report, if it ran.
    ///
    /// # Errors
    /// As [`exchange::exchange`] (the model is unchanged then).
    pub fn set_classes(
        &mut self,
        classes: usize,
        method: ClassMethod,
        train_ids: &[u32],
        rng: &mut crate::rng::Rng,
    ) -> Result<Option<exchange::Report>, String> {
        if classes == 0 {
            self.params.set_classes(Classes::none(), rng);
            return Ok(None);
        }
        let (order, assigned, report) = match method {
            ClassMethod::Frequency => {
                let mut counts = vec![0u64; self.vocab.len()];
                for &t in train_ids {
                    counts[t as usize] += 1;
                }
                let (order, assigned) = classes::assign(&counts, classes);
                (order, assigned, None)
            }
            ClassMethod::Exchange => {
                let (order, assigned, report) = exchange::exchange(train_ids, self.vocab.len(), classes)?;
                (order, assigned, Some(report))
            }
        };
        self.params.set_classes(Classes::none(), rng);
        self.reorder_vocab(&order);
        self.params.set_classes(assigned, rng);
        Ok(report)
    }
}
pub use precision::{in_precision, Weights};
pub use rnn::{backward, backward_scaled, forward, DropoutMasks, ForwardCache, InputPath, Workspace};
pub use shards::Shards;
pub use step::{step, StepState};
