//! A training chunk's forward and backward on fixed shards of its streams,
//! run side by side: the unit of multi-thread training.
//!
//! The B streams of a chunk are independent until the gradient is summed
//! over them (eqs. 8, 9, 12–15 sum over b and t). So the streams are cut into
//! [`SHARDS`] contiguous groups — fewer when B is smaller — by B alone, never
//! by the thread count. Each shard runs eqs. 1–16 on its streams with its own
//! workspace and its own gradient buffer, and the buffers are added in shard
//! order:
//!
//! ```text
//!   L = Σ_s N_s·L_s / N             L_s: mean loss of shard s over its N_s positions
//!   g = g_0 + g_1 + …               g_s: shard s's gradient, its dz scaled by 1/N (eq. 7)
//! ```
//!
//! One thread runs the shards one after the other, two run them at once; the
//! numbers are the same to the bit either way, so a run paused with one
//! thread count resumes exactly with another (on the same SIMD kernel).
//! Shard 0 writes into the caller's gradient; the others' buffers are added
//! into it over the rows they touched, and zeroed as they are read. A
//! classed model's word part goes over all shards at once, class by class
//! (`docs/bptt.md` section 3): forward scores every shard's positions with
//! a block of W_y in a row (and, in training, takes dU and dG = dU·W_y\[K\]
//! with the same block), and backward takes dW_y and db_y after the
//! shards, in shard order, straight into the caller's gradient, so each
//! touched block of W_y's gradient is written once per step.

use std::ops::Range;

use super::classed::{classed_word_weights_backward, classed_words_forward, ClassedCache};
use super::norm::{BlockSquares, NormBlock};
use super::params::{tensor, Params};
use super::rnn::{backward_scaled, forward, DropoutMasks, Workspace};
use super::rows::TouchedRows;
use crate::matmul::{Gemm, Kernel};
use crate::matrix::{MatRef, Matrix};
use crate::scalar::Float;
use crate::workers;

/// How many shards a chunk's streams are cut into (when B allows): two, so
/// that two threads split a step evenly (more threads split each shard's
/// products). Changing it
/// changes the order of the gradient sums, so results (not their meaning)
/// depend on it; the thread count does not.
pub const SHARDS: usize = 2;

/// The streams of each shard: B cut into `min(SHARDS, B)` contiguous,
/// nearly equal ranges.
pub fn shard_streams(batch: usize) -> Vec<Range<usize>> {
    let mut start = 0;
    workers::even_counts(batch, SHARDS.min(batch).max(1))
        .into_iter()
        .map(|len| {
            start += len;
            start - len..start
        })
        .collect()
}

/// One shard: its streams, its slice of the chunk, its workspace and (for
/// shards after the first) its gradient buffer.
#[derive(Debug)]
struct Shard<T> {
    streams: Range<usize>,
    ws: Workspace<T>,
    /// Shard 0 writes into the caller's gradient; this stays empty there.
    grads: Option<Params<T>>,
    inputs: Vec<u32>,
    targets: Vec<u32>,
    /// The shard's rows of h_0 `[B_s, H]`.
    h0: Matrix<T>,
    /// The positions of the last forward (B_s·T).
    positions: usize,
}

/// The workspaces of a sharded step; sized on first use, then reused.
#[derive(Debug)]
pub struct Shards<T> {
    kernel: Kernel,
    threads: usize,
    shards: Vec<Shard<T>>,
    /// h_T of the last forward, all streams `[B, H]`.
    h_last: Matrix<T>,
    /// Union of the shards' touched rows after the last backward.
    touched: TouchedRows,
    /// B·T of the last forward.
    positions: usize,
    /// The blocks of ∂L/∂W_y whose squares the last backward summed as it
    /// wrote them (a classed model's; see [`Shards::norm_blocks`]).
    norm_blocks: Vec<NormBlock>,
    /// Dropout masks for the whole chunk for the next forward and backward
    /// (training only; set by the caller each step, `None` for none): each
    /// shard takes its streams' rows.
    pub dropout: Option<DropoutMasks<T>>,
    /// Every forward is followed by a backward ([`Shards::new`]), so a
    /// classed model's forward takes the word part of backward too, while
    /// each block of W_y is in cache; [`Shards::for_eval`]'s forwards
    /// don't, and cannot be followed by a backward.
    training: bool,
}

impl<T: Float> Shards<T> {
    /// Shards for training steps (each forward followed by a backward),
    /// computing with `kernel` on `threads` threads in all.
    pub fn new(kernel: Kernel, threads: usize) -> Self {
        Shards {
            kernel,
            threads: threads.max(1),
            shards: Vec::new(),
            h_last: Matrix::zeros(0, 0),
            touched: TouchedRows::all(),
            positions: 0,
            norm_blocks: Vec::new(),
            dropout: None,
            training: true,
        }
    }

    /// Shards for forwards alone (validation): as [`Shards::new`], but a
    /// forward does no backward work and [`Shards::backward`] panics.
    pub fn for_eval(kernel: Kernel, threads: usize) -> Self {
        Shards {
            training: false,
            ..Shards::new(kernel, threads)
        }
    }

    /// The thread count in all.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Threads working at once: one per shard at most.
    fn workers(&self) -> usize {
        self.threads.min(self.shards.len()).max(1)
    }

    /// Re-cut for a batch of `batch` streams (no-op when already cut so).
    fn cut(&mut self, batch: usize, config: &super::Config) {
        let streams = shard_streams(batch);
        let same = self.shards.len() == streams.len()
            && self.shards.iter().zip(&streams).all(|(s, r)| s.streams == *r)
            && self
                .shards
                .iter()
                .skip(1)
                .all(|s| s.grads.as_ref().is_some_and(|g| g.config == *config));
        if same {
            return;
        }
        let count = streams.len();
        self.shards = streams
            .into_iter()
            .enumerate()
            .map(|(i, streams)| {
                // Spare threads (more than shards) go to the shards' own products.
                let threads = self.threads / count + usize::from(i < self.threads % count);
                let gemm = Gemm::with_kernel(self.kernel).expect("kernel already in use");
                Shard {
                    streams,
                    ws: Workspace::new(gemm.with_threads(threads.max(1))),
                    grads: (i > 0).then(|| Params::zeros(config)),
                    inputs: Vec::new(),
                    targets: Vec::new(),
                    h0: Matrix::zeros(0, 0),
                    positions: 0,
                }
            })
            .collect();
    }

    /// Forward over one chunk (as [`forward`], which each shard runs on its
    /// streams), with [`Shards::dropout`]'s masks when set.
    /// Returns the mean loss over all B·T positions; h_T is then
    /// [`Shards::last_hidden`].
    ///
    /// # Panics
    /// As [`forward`].
    pub fn forward(&mut self, params: &Params<T>, inputs: &[u32], targets: &[u32], batch: usize, h0: MatRef<T>) -> f64 {
        assert!(
            batch > 0 && inputs.len().is_multiple_of(batch) && inputs.len() == targets.len(),
            "forward: {} inputs, {} targets for batch {batch}",
            inputs.len(),
            targets.len()
        );
        let h = params.config.hidden;
        self.cut(batch, &params.config);
        let n = inputs.len();
        for shard in &mut self.shards {
            shard.gather(inputs, targets, batch, h0, self.dropout.as_ref());
        }
        let workers = self.workers();
        // A classed model's word scores are taken for all shards at once,
        // below: each block of W_y is read once for both.
        let classed = !params.config.classes.is_none();
        for s in &mut self.shards {
            s.ws.cache.classed.defer_words = classed;
        }
        // Each worker returns (shard, loss) for its shards.
        let losses = workers::run_each(round_robin(self.shards.iter_mut().enumerate(), workers), |group| {
            group
                .into_iter()
                .map(|(i, s)| {
                    (
                        i,
                        forward(params, &s.inputs, &s.targets, s.h0.rows(), s.h0.view(), &mut s.ws),
                    )
                })
                .collect::<Vec<(usize, f64)>>()
        });
        let mut by_shard = vec![0.0; self.shards.len()];
        for (i, loss) in losses.into_iter().flatten() {
            by_shard[i] = loss;
        }
        if classed {
            // A training step also takes dU and dG here (eqs. 23, 26), with
            // backward's scale 1/N (eq. 7).
            let scale = self.training.then(|| T::one() / T::from_usize(n));
            words_forward(&mut self.shards, params, workers, scale);
            for (s, l) in self.shards.iter().zip(&mut by_shard) {
                *l = s.ws.cache.classed.loss() / s.positions as f64; // as forward's own (eq. 21)
            }
        }
        self.h_last.ensure_shape(batch, h);
        for s in &self.shards {
            let rows = s.streams.clone();
            self.h_last.as_mut_slice()[rows.start * h..rows.end * h].copy_from_slice(s.ws.last_hidden().data());
        }
        self.positions = n;
        // L = Σ_s N_s·L_s / N, in shard order
        let total: f64 = self
            .shards
            .iter()
            .zip(&by_shard)
            .map(|(s, l)| s.positions as f64 * l)
            .sum();
        total / n as f64
    }

    /// Backward through the chunk of the last [`Shards::forward`]: adds ∂L/∂θ
    /// into `grads` (shard 0 directly, then each other shard's buffer in
    /// shard order). [`Shards::touched`] then says which rows of E and W_y
    /// received gradient.
    pub fn backward(&mut self, params: &Params<T>, grads: &mut Params<T>) {
        assert!(self.positions > 0, "backward before forward");
        assert!(self.training, "backward on shards built for eval (Shards::for_eval)");
        let scale = T::one() / T::from_usize(self.positions); // 1/N (eq. 7)
        let workers = self.workers();
        // A classed model's word weights get their gradient for all shards
        // at once, below: each touched block of dW_y is written once.
        let classed = !params.config.classes.is_none();
        let (first, rest) = self.shards.split_first_mut().expect("at least one shard");
        let mut pairs: Vec<(&mut Workspace<T>, &mut Params<T>)> = vec![(&mut first.ws, grads)];
        for s in rest.iter_mut() {
            pairs.push((
                &mut s.ws,
                s.grads.as_mut().expect("shards after the first own a buffer"),
            ));
        }
        workers::run_each(round_robin(pairs, workers), |group| {
            for (ws, g) in group {
                backward_scaled(params, g, ws, scale);
            }
        });
        self.norm_blocks = if classed {
            word_weights_backward(&mut self.shards, params, grads, workers)
        } else {
            Vec::new()
        };
        let (first, rest) = self.shards.split_first_mut().expect("at least one shard");
        // g += g_s, shard by shard, over the rows shard s wrote; g_s ← 0.
        // (A classed model's dW_y and db_y are already whole in g.)
        let mut touched = first.ws.touched().clone();
        for s in rest.iter_mut() {
            let own = s.grads.as_mut().expect("own buffer");
            let mut spans = own.spans(s.ws.touched());
            spans.retain(|s| !(classed && (s.tensor == tensor::W_Y || s.tensor == tensor::B_Y)));
            add_into_and_zero(grads, own, &spans, self.threads);
            touched = touched.union(s.ws.touched());
        }
        self.touched = touched;
    }

    /// Blocks of the gradient whose sums of squares the last backward took
    /// while writing them, for [`Params::norm_with`] (blocks of ∂L/∂W_y
    /// inside one worker's classes, for a classed model; none otherwise).
    /// They hold as long as the gradient is not changed after backward.
    pub fn norm_blocks(&self) -> &[NormBlock] {
        &self.norm_blocks
    }

    /// h_T of the last forward `[B, H]`: the next chunk's h_0.
    pub fn last_hidden(&self) -> MatRef<'_, T> {
        self.h_last.view()
    }

    /// `−ln p_t[y_t]` of each position of the last forward `[B·T]`,
    /// time-major as its targets (row t·B + b: stream b at step t).
    pub fn token_nats(&self) -> Vec<f64> {
        let batch: usize = self.shards.iter().map(|s| s.streams.len()).sum();
        let mut out = vec![0.0; self.positions];
        for s in &self.shards {
            let b_s = s.streams.len();
            for (r, nats) in s.ws.token_nats().into_iter().enumerate() {
                let (t, b) = (r / b_s, r % b_s); // the shard's row t·B_s + b
                out[t * batch + s.streams.start + b] = nats;
            }
        }
        out
    }

    /// The rows of E and W_y the last backward wrote into (see
    /// [`Workspace::touched`]).
    pub fn touched(&self) -> &TouchedRows {
        &self.touched
    }

    /// Start measuring GEMM time in every shard's workspace.
    pub fn start_timing(&mut self) {
        self.shards.iter_mut().for_each(|s| s.ws.start_timing());
    }

    /// Wall-clock GEMM and packing time since [`Shards::start_timing`]: the
    /// shards' times summed, divided by the number of threads running them
    /// side by side.
    pub fn gemm_time(&self) -> std::time::Duration {
        let sum: std::time::Duration = self.shards.iter().map(|s| s.ws.gemm_time()).sum();
        sum / self.workers() as u32
    }
}

impl<T: Float> Shard<T> {
    /// Copy the shard's streams out of the chunk: rows t·B + b for b in its
    /// range become rows t·B_s + (b − b_0), time-major as before.
    fn gather(
        &mut self,
        inputs: &[u32],
        targets: &[u32],
        batch: usize,
        h0: MatRef<T>,
        masks: Option<&DropoutMasks<T>>,
    ) {
        let r = self.streams.clone();
        let rows = |n: usize| (0..n / batch).flat_map(move |t| t * batch + r.start..t * batch + r.end);
        self.inputs.clear();
        self.inputs.extend(rows(inputs.len()).map(|i| inputs[i]));
        self.targets.clear();
        self.targets.extend(rows(targets.len()).map(|i| targets[i]));
        self.positions = self.inputs.len();
        let h = h0.cols();
        self.h0.ensure_shape(self.streams.len(), h);
        for (i, b) in self.streams.clone().enumerate() {
            for (j, x) in self.h0.row_mut(i).iter_mut().enumerate() {
                *x = h0.at(b, j);
            }
        }
        // The shard's rows of the chunk's masks, into the buffers of the last step.
        let Some(m) = masks else {
            self.ws.dropout = None;
            return;
        };
        let n = self.positions;
        let mine = self.ws.dropout.get_or_insert_with(|| DropoutMasks {
            e: Matrix::zeros(n, m.e.cols()),
            h: Matrix::zeros(n, m.h.cols()),
        });
        for (part, full) in [(&mut mine.e, &m.e), (&mut mine.h, &m.h)] {
            part.ensure_shape(n, full.cols());
            for (o, i) in rows(inputs.len()).enumerate() {
                part.row_mut(o).copy_from_slice(full.row(i));
            }
        }
    }
}

/// Deal `items` to `workers` groups: item i to group i mod workers.
fn round_robin<I>(items: impl IntoIterator<Item = I>, workers: usize) -> Vec<Vec<I>> {
    let mut groups: Vec<Vec<I>> = (0..workers).map(|_| Vec::new()).collect();
    for (i, item) in items.into_iter().enumerate() {
        groups[i % workers].push(item);
    }
    groups
}

/// dW_y and db_y of a classed model for all shards (eq. 25, summed over the
/// shards' positions): the classes are dealt to `workers` ([`class_runs`]),
/// and each class's block takes every shard's
/// product in shard order ([`classed_word_weights_backward`]), so neither
/// the dealing nor the thread count changes a bit. Returns the blocks of
/// dW_y whose squares the workers summed (those inside one worker's rows).
fn word_weights_backward<T: Float>(
    shards: &mut [Shard<T>],
    params: &Params<T>,
    grads: &mut Params<T>,
    workers: usize,
) -> Vec<NormBlock> {
    let (classes, h) = (&params.config.classes, params.config.hidden);
    let runs = class_runs(shards, classes, workers, 0);
    let mut caches = Vec::new();
    let mut gemms = Vec::new();
    for s in shards.iter_mut() {
        let super::rnn::Workspace { gemm, cache, .. } = &mut s.ws;
        caches.push(&cache.classed);
        gemms.push(gemm);
    }
    let mut w_y = grads.w_y.as_mut_slice();
    let mut b_y = grads.b_y.as_mut_slice();
    let mut jobs = Vec::new();
    for (run, gemm) in runs.into_iter().zip(gemms) {
        let ids = classes.ids_of(run.clone());
        let (w, w_rest) = std::mem::take(&mut w_y).split_at_mut(ids.len() * h);
        let (b, b_rest) = std::mem::take(&mut b_y).split_at_mut(ids.len());
        (w_y, b_y) = (w_rest, b_rest);
        let squares = BlockSquares::new(tensor::W_Y, ids.start * h..ids.end * h);
        jobs.push((run, w, b, gemm, squares));
    }
    let caches = &caches;
    let blocks = workers::run_each(jobs, |(run, w, b, gemm, mut squares)| {
        classed_word_weights_backward(caches, params, run, w, b, gemm, &mut squares);
        squares.finish()
    });
    blocks.into_iter().flatten().collect()
}

/// The classes dealt to `workers` in contiguous runs of about equal work:
/// a class with n positions over all shards costs |K|·(n + 16) +
/// `per_position`·n (its block is read and multiplied by n rows, and each
/// position has costs of its own), one with none costs nothing; run i ends
/// at the first class whose cumulative cost passes i/workers of the total.
/// Only the speed depends on this.
fn class_runs<T>(
    shards: &[Shard<T>],
    classes: &super::Classes,
    workers: usize,
    per_position: usize,
) -> Vec<Range<usize>> {
    let c = classes.count();
    let cost: Vec<usize> = (0..c)
        .map(|k| {
            let n: usize = shards
                .iter()
                .map(|s| s.ws.cache.classed.rows[k + 1] - s.ws.cache.classed.rows[k])
                .sum();
            if n == 0 {
                0
            } else {
                classes.range(k).len() * (n + 16) + per_position * n
            }
        })
        .collect();
    let total: usize = cost.iter().sum();
    let mut runs = Vec::new();
    let (mut start, mut done) = (0, 0);
    for i in 1..=workers {
        let mut end = start;
        while end < c && (i == workers || done + cost[end] <= i * total / workers) {
            done += cost[end];
            end += 1;
        }
        runs.push(start..end);
        start = end;
    }
    runs
}

/// The word scores of a classed model for all shards (eqs. 19–21): the
/// classes are dealt to `workers` ([`class_runs`]), and each class's block
/// of W_y scores every shard's positions in a row
/// ([`classed_words_forward`]). Each shard gets the numbers its own forward
/// would have computed. With `backward_scale` = Some(1/N), the same visit
/// of each block also takes the word part of backward: dU and dG_K = dU
/// W_y[K] (eqs. 23, 26), each shard's own numbers again.
fn words_forward<T: Float>(shards: &mut [Shard<T>], params: &Params<T>, workers: usize, backward_scale: Option<T>) {
    // A position costs the forward phase about as much as 64 more words in
    // its class: its softmax over the class, with dU, and its row of dG.
    // Without this term the first worker, which gets the frequent words'
    // small classes, took 1.4–1.8× the second's time at V = 10k.
    let runs = class_runs(shards, &params.config.classes, workers, 64);
    // Per shard, its cache split into the runs' classes.
    let mut gemms = Vec::new();
    let mut caches: Vec<&mut ClassedCache<T>> = Vec::new();
    for s in shards.iter_mut() {
        let super::rnn::Workspace { gemm, cache, .. } = &mut s.ws;
        gemms.push(gemm);
        caches.push(&mut cache.classed);
    }
    let mut shares: Vec<_> = caches
        .into_iter()
        .map(|c| c.split_words(&runs, backward_scale).into_iter())
        .collect();
    let mut jobs = Vec::new();
    for (run, gemm) in runs.iter().zip(gemms) {
        let mine: Vec<_> = shares.iter_mut().map(|s| s.next().expect("a share per run")).collect();
        jobs.push((run.clone(), mine, gemm));
    }
    workers::run_each(jobs, |(run, mine, gemm)| {
        classed_words_forward(mine, run, params, gemm);
    });
}

/// `into += from` over `spans`, setting `from` to zero there; the spans are
/// split across `threads` workers (each entry is one add, so the split
/// cannot change a bit).
fn add_into_and_zero<T: Float>(into: &mut Params<T>, from: &mut Params<T>, spans: &[super::Span], threads: usize) {
    let pairs: Vec<(&mut [T], &mut [T])> = into
        .span_slices(spans)
        .into_iter()
        .zip(from.span_slices(spans))
        .collect();
    let parts = workers::split_pairs(pairs, threads, workers::MIN_ELEMENTS_PER_WORKER);
    workers::run_each(parts, |part| {
        for (a, b) in part {
            for (a, b) in a.iter_mut().zip(b.iter_mut()) {
                *a += std::mem::replace(b, T::zero());
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_cut_by_the_batch_alone() {
        assert_eq!(shard_streams(1), vec![0..1]);
        assert_eq!(shard_streams(5), [0..3, 3..5]);
        assert_eq!(shard_streams(64), [0..32, 32..64]);
    }
}
