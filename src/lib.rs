//! # rnnlm — a recurrent neural network language model from scratch
//!
//! Legend, used in every shape comment: **B** streams in a batch, **T** time
//! steps per chunk, **N** = T·B positions, **V** vocabulary, **D** embedding
//! width, **H** hidden width, **C** output classes.
//!
//! ```text
//!   e_t = E[x_t]                                  E   [V, D]          (1)
//!   a_t = W_x e_t + W_h h_{t-1} + b_h             W_x [H, D]  W_h [H, H]  b_h [H]   (2)
//!   h_t = tanh(a_t)                                                   (3)
//!   z_t = W_y h_t + b_y                           W_y [V, H]  b_y [V] (4)
//!   p_t = softmax(z_t)                                                (5)
//!   L   = -(1 / (B·T)) Σ_{b,t} ln p_t[b, y_t[b]]  y_t = x_{t+1}       (6)
//! ```
//!
//! Training is teacher-forced: the true text goes in, the same text shifted by
//! one token is the label. Gradients come from backpropagation through time,
//! truncated to chunks of T steps with the hidden state carried across chunks;
//! the derivation, numbered as above, is `docs/bptt.md`. Prediction is
//! autoregressive: each sampled token is fed back in ([`sample`]).
//!
//! At word level the output layer is usually class-factored (C classes):
//! eqs. (4)–(6) become
//!
//! ```text
//!   P(y | h_t) = softmax(W_c h_t + b_c)[c(y)] · softmax(W_y[K] h_t + b_y[K])[y]    (17)–(21)
//!                W_c [C, H]  b_c [C];  K = the ids of class c(y): one block of W_y's rows
//! ```
//!
//! and training may drop entries of e_t and of h_t where it enters the output
//! layer (dropout, eqs. 27–30). The classes are √-frequency bins, or those
//! bins improved by exchange clustering on the training bigrams
//! (`model::exchange`). A tied model (`--tie`, eqs. 31–33) uses one matrix
//! as E and W_y; its gradient is the sum of the two paths'. The initial
//! scales of E and W_y depend on the level (`model::InitScheme`, derived in
//! `docs/bptt.md` §8). `eval --dynamic` keeps adapting the weights to the
//! text it scores, each chunk scored before the update that learns from it
//! (`train::dynamic`).
//!
//! ## Module map
//!
//! Dependencies run one way, top to bottom: `cli → app → train → model →
//! matmul → matrix → scalar`, with `io`, `data` and `baselines` beside them.
//!
//! | module | what it holds |
//! |---|---|
//! | [`scalar`] | the `Float` trait: f32 to train, f64 to gradient-check |
//! | [`bf16`](mod@bf16), [`f16`](mod@f16) | bfloat16 and IEEE half-precision weights for generation: rounding and widening |
//! | [`fastmath`] | vectorizable f32 `exp` and `tanh` for the hot elementwise loops |
//! | [`matrix`] | `Matrix<T>` (row-major) and the strided views `MatRef`, `MatMut` |
//! | [`rng`] | xoshiro256**: the one source of randomness, seeded everywhere |
//! | [`matmul`] | `C := α·op(A)·op(B) + β·C`: naive, then BLIS-style packed loops around SIMD micro-kernels |
//! | [`model`] | parameters, layers (forward/backward pairs), the RNN chunk forward and BPTT, a step cut into shards of streams, one-token steps |
//! | [`gradcheck`] | finite-difference checks of every gradient |
//! | [`data`] | char / word tokenization, vocabulary, batching into B streams × T steps |
//! | [`train`] | run settings and state, the checkpoint file, optimizers, schedule, evaluation (static, dynamic, sentence by sentence), the memory a run needs, the training loop |
//! | [`sample`] | temperature / top-k / top-p sampling and generation |
//! | [`io`] | atomic files, `.npy`, JSON, `export`/`import` (the checkpoint format is `train::checkpoint`) |
//! | [`baselines`] | interpolated Kneser–Ney n-grams, ARPA files, RNN + n-gram mixtures; text with an exactly known cross-entropy |
//! | [`bench`](mod@bench) | the measurements behind `rnnlm bench` |
//! | [`cli`], [`app`] | the `rnnlm` command: parsing into one struct per command, then running |
//! | [`error`] | the one error type |
//! | [`workers`] | scoped threads for per-shard and elementwise work |
//! | [`memory`] | what a command will allocate, checked against what this machine has; peak memory |
//!
//! `unsafe` is denied everywhere except the three per-ISA SIMD modules, the
//! micro-kernels (`matmul::kernel::x86_64`), the few-rows products over
//! f32, bf16 and f16 weights (`matmul::gemv::x86_64`) and the fast-math maps
//! (`fastmath::x86_64`), where every block carries a `// SAFETY:` note.
#![deny(unsafe_code)]

pub mod app;
pub mod baselines;
pub mod bench;
pub mod bf16;
pub mod cli;
pub mod data;
pub mod error;
pub mod f16;
pub mod fastmath;
pub mod gradcheck;
pub mod io;
pub mod matmul;
pub mod matrix;
pub mod memory;
pub mod model;
pub mod rng;
pub mod sample;
pub mod scalar;
pub mod train;
pub mod workers;

pub use scalar::Float;
