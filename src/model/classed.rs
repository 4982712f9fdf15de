//! The class-factored output layer: forward and backward side by side
//! (`docs/bptt.md` section 4, eqs. 17–26; batched form C1–C4).
//!
//! ```text
//!   P(y | h) = softmax(W_c h + b_c)[c(y)] · softmax(W_y[K] h + b_y[K])[y],   K = ids of class c(y)
//! ```
//!
//! Positions are grouped by the class of their target, so each class's word
//! scores are one GEMM over its gathered hidden rows against its contiguous
//! block of W_y; the class scores are one GEMM over all positions.

use std::ops::Range;

use super::classes::Classes;
use super::layers::{bias_backward, bias_forward, softmax_returning_log_z, softmax_xent_backward, softmax_xent_rows};
use super::norm::BlockSquares;
use super::params::Params;
use crate::matmul::Gemm;
use crate::matrix::{MatMut, MatRef, Matrix};
use crate::scalar::Float;

/// What the classed forward keeps for backward. Sized once per shape and
/// reused.
#[derive(Clone, Debug)]
pub struct ClassedCache<T> {
    /// k: the class of each position's target `[N]`.
    pub k: Vec<u32>,
    /// q `[N, C]`: class probabilities; backward turns them into dS in place.
    pub q: Matrix<T>,
    /// Positions grouped by target class, ascending within a class:
    /// class K's positions are `order[rows[K] .. rows[K + 1]]`.
    pub order: Vec<u32>,
    /// `[C + 1]` group boundaries into `order`.
    pub rows: Vec<usize>,
    /// Each grouped position's target as an offset into its class `[N]`.
    pub local: Vec<u32>,
    /// G `[N, H]`: the hidden rows in `order`.
    pub g: Matrix<T>,
    /// Per class, r `[n_K, |K|]`: word probabilities within the class;
    /// backward turns them into dU in place.
    pub r: Vec<Matrix<T>>,
    /// dG `[N, H]` (backward scratch): the word part of dh in `order`.
    dg: Matrix<T>,
    /// Leave the word part to phases over all shards at once: forward
    /// leaves the word scores and their loss to [`classed_words_forward`]
    /// (which, for a training step, also turns them into dU and dG while
    /// each block of W_y is in cache), backward leaves ∂L/∂W_y and ∂L/∂b_y
    /// to [`classed_word_weights_backward`] (dU and G stay here for them).
    pub defer_words: bool,
    /// The deferred word part's dU (in `r`) and dG are ready: set by
    /// [`ClassedCache::split_words`] when given backward's scale.
    words_backward_done: bool,
    /// −Σ ln q[k]: the class part of the loss of the last forward.
    q_loss: f64,
    /// −Σ ln r[y] of each class's positions, last forward `[C]`.
    losses: Vec<f64>,
    /// −ln q[k] of each position, last forward `[N]`.
    q_nats: Vec<f64>,
    /// −ln r[y] of each grouped position (in `order`), last forward `[N]`.
    word_nats: Vec<f64>,
}

impl<T: Float> Default for ClassedCache<T> {
    fn default() -> Self {
        let e = || Matrix::zeros(0, 0);
        ClassedCache {
            k: Vec::new(),
            q: e(),
            order: Vec::new(),
            rows: Vec::new(),
            local: Vec::new(),
            g: e(),
            r: Vec::new(),
            dg: e(),
            defer_words: false,
            words_backward_done: false,
            q_loss: 0.0,
            losses: Vec::new(),
            q_nats: Vec::new(),
            word_nats: Vec::new(),
        }
    }
}

/// Row `i` of a row-major view.
fn row<'a, T: Float>(m: &MatRef<'a, T>, i: usize) -> &'a [T] {
    &m.data()[i * m.row_stride()..i * m.row_stride() + m.cols()]
}

/// Forward over N positions: hidden states `h_all` `[N, H]`, targets `[N]`.
/// Returns `Σ_r −ln P(y_r | h_r)` in nats (eq. 21 without the 1/N).
///
/// # Panics
/// If the model has no classes or the shapes disagree.
pub fn classed_forward<T: Float>(
    cache: &mut ClassedCache<T>,
    h_all: MatRef<T>,
    targets: &[u32],
    params: &Params<T>,
    gemm: &mut Gemm<T>,
) -> f64 {
    let classes = &params.config.classes;
    let (n, h, c) = (h_all.rows(), h_all.cols(), classes.count());
    assert!(c > 0, "classed_forward: the model has no classes");
    assert_eq!(
        targets.len(),
        n,
        "classed_forward: {} targets for {n} rows",
        targets.len()
    );

    // s = W_c h + b_c ;  q = softmax(s) ;  −ln q[k]      (C1; eqs. 17, 18, 21)
    cache.k.clear();
    cache
        .k
        .extend(targets.iter().map(|&y| classes.class_of(y as usize) as u32));
    cache.q.ensure_shape(n, c); //                                           [N, C]
    gemm.gemm(T::one(), h_all, params.w_c.view().t(), T::zero(), cache.q.view_mut());
    bias_forward(cache.q.as_mut_slice(), params.b_c.as_slice());
    cache.q_nats.resize(n, 0.0);
    let loss = softmax_xent_rows(&mut cache.q, &cache.k, gemm.threads(), &mut cache.q_nats);

    // Group the positions by target class (a counting sort: stable).
    group_by_class(cache, targets, classes);
    cache.g.ensure_shape(n, h); //                                           [N, H]
    for (i, &pos) in cache.order.iter().enumerate() {
        cache.g.row_mut(i).copy_from_slice(row(&h_all, pos as usize));
    }

    // Per class K: u = W_y[K] h + b_y[K] ;  r = softmax(u) ;  −ln r[y]  (C2; eqs. 19–21)
    cache.r.resize_with(c, || Matrix::zeros(0, 0));
    cache.losses.clear();
    cache.losses.resize(c, 0.0);
    cache.word_nats.resize(n, 0.0);
    cache.q_loss = loss;
    cache.words_backward_done = false;
    if !cache.defer_words {
        let mut words = WordsOf {
            first: 0,
            r: &mut cache.r,
            losses: &mut cache.losses,
            nats: &mut cache.word_nats,
            g: &cache.g,
            rows: &cache.rows,
            local: &cache.local,
            backward: None,
        };
        for kc in 0..c {
            words.score(kc, params, gemm);
        }
    }
    cache.loss()
}

/// A cache's word part for a run of classes from `first` on (`r` and
/// `losses` hold those classes), so that runs can go to different workers.
pub struct WordsOf<'a, T> {
    first: usize,
    r: &'a mut [Matrix<T>],
    losses: &'a mut [f64],
    /// −ln r[y] of the run's grouped positions (from its first on).
    nats: &'a mut [f64],
    g: &'a Matrix<T>,
    rows: &'a [usize],
    local: &'a [u32],
    /// For a training step: backward's scale 1/N and the run's rows of dG
    /// (from the run's first grouped position on).
    backward: Option<(T, &'a mut [T])>,
}

impl<T: Float> WordsOf<'_, T> {
    /// Class K = `kc`: u = W_y[K] h + b_y[K] ;  r = softmax(u) ;  −ln r[y]
    /// over the class's positions                                  (eqs. 19–21)
    /// and, for a training step, the word part of backward with the same
    /// block of W_y: r becomes dU, and dG_K = dU W_y[K]        (eqs. 23, 26)
    fn score(&mut self, kc: usize, params: &Params<T>, gemm: &mut Gemm<T>) {
        let (ids, rows) = (params.config.classes.range(kc), self.rows[kc]..self.rows[kc + 1]);
        let (r, loss) = (&mut self.r[kc - self.first], &mut self.losses[kc - self.first]);
        // Shapes change every chunk; the product below overwrites r (β = 0).
        r.reshape_for_overwrite(rows.len(), ids.len()); //                   [n_K, |K|]
        *loss = 0.0;
        if rows.is_empty() {
            return;
        }
        let g_k = self.g.rows_view(rows.start, rows.len()); //              [n_K, H]
        let w_k = params.w_y.rows_view(ids.start, ids.len()); //            [|K|, H]
        gemm.gemm(T::one(), g_k, w_k.t(), T::zero(), r.view_mut());
        bias_forward(r.as_mut_slice(), &params.b_y.as_slice()[ids.clone()]);
        // The run's grouped positions start at its first class's rows.
        let first = self.rows[self.first];
        let nats = &mut self.nats[rows.start - first..rows.end - first];
        *loss = softmax_xent_rows(r, &self.local[rows.clone()], 1, nats);
        if let Some((scale, dg)) = &mut self.backward {
            // dU = (r − onehot(y)) / N on the class's words        (C4; eq. 23)
            softmax_xent_backward(r, &self.local[rows.clone()], *scale, 1);
            // dG_K = dU W_y[K]                              (C4; eq. 26, word part)
            let h = params.config.hidden;
            let dg_k = &mut dg[(rows.start - first) * h..(rows.end - first) * h];
            gemm.gemm(
                T::one(),
                r.view(),
                w_k,
                T::zero(),
                MatMut::from_slice(dg_k, rows.len(), h),
            );
        }
    }
}

/// The word part of several forwards that deferred it
/// ([`ClassedCache::defer_words`]), for the classes `class_range`: `parts` holds
/// each cache's share of those classes ([`ClassedCache::split_words`]), and
/// each class's block of W_y scores every cache's positions in a row, while
/// it is in cache. Each cache's numbers are those its own forward would
/// have computed.
pub fn classed_words_forward<T: Float>(
    mut parts: Vec<WordsOf<T>>,
    class_range: Range<usize>,
    params: &Params<T>,
    gemm: &mut Gemm<T>,
) {
    for kc in class_range {
        for part in &mut parts {
            part.score(kc, params, gemm);
        }
    }
}

impl<T: Float> ClassedCache<T> {
    /// The word part of the last forward, cut at the classes of `runs`
    /// (contiguous, from class 0 on): one share per run, for
    /// [`classed_words_forward`]. With `backward_scale` = Some(1/N) the
    /// shares also take the word part of backward (dU and dG), which
    /// [`classed_backward`] then finds done.
    pub fn split_words(&mut self, runs: &[Range<usize>], backward_scale: Option<T>) -> Vec<WordsOf<'_, T>> {
        self.words_backward_done = backward_scale.is_some();
        let h = self.g.cols();
        if backward_scale.is_some() {
            self.dg.ensure_shape(self.order.len(), h); //                      [N, H]
        }
        let (mut r, mut losses) = (&mut self.r[..], &mut self.losses[..]);
        let mut nats = &mut self.word_nats[..];
        let mut dg = self.dg.as_mut_slice();
        let mut out = Vec::new();
        for run in runs {
            let (r_run, r_rest) = std::mem::take(&mut r).split_at_mut(run.len());
            let (l_run, l_rest) = std::mem::take(&mut losses).split_at_mut(run.len());
            (r, losses) = (r_rest, l_rest);
            let grouped = self.rows[run.end] - self.rows[run.start];
            let (n_run, n_rest) = std::mem::take(&mut nats).split_at_mut(grouped);
            nats = n_rest;
            let backward = backward_scale.map(|scale| {
                let (mine, rest) = std::mem::take(&mut dg).split_at_mut(grouped * h);
                dg = rest;
                (scale, mine)
            });
            out.push(WordsOf {
                first: run.start,
                r: r_run,
                losses: l_run,
                nats: n_run,
                g: &self.g,
                rows: &self.rows,
                local: &self.local,
                backward,
            });
        }
        out
    }

    /// The last forward's Σ −ln P(y | h) in nats: the class part, then each
    /// class's word part in class order (eq. 21 without the 1/N).
    pub fn loss(&self) -> f64 {
        self.losses.iter().fold(self.q_loss, |sum, &l| sum + l)
    }

    /// The last forward's `−ln P(y | h) = −ln q[k] − ln r[y]` at each position
    /// `[N]`, in position order (eq. 21's terms).
    pub fn token_nats(&self) -> Vec<f64> {
        let mut nats = self.q_nats.clone();
        for (&pos, &word) in self.order.iter().zip(&self.word_nats) {
            nats[pos as usize] += word;
        }
        nats
    }
}

/// Stable counting sort of the positions by the class of their target:
/// fills `order`, `rows` and `local`.
fn group_by_class<T>(cache: &mut ClassedCache<T>, targets: &[u32], classes: &Classes) {
    let c = classes.count();
    cache.rows.clear();
    cache.rows.resize(c + 1, 0);
    for &k in &cache.k {
        cache.rows[k as usize + 1] += 1;
    }
    for kc in 0..c {
        cache.rows[kc + 1] += cache.rows[kc];
    }
    let mut next = cache.rows.clone();
    // Positions are stored as u32: a chunk of B·T positions must fit (the
    // memory check refuses any run near that long before this point).
    assert!(
        u32::try_from(targets.len()).is_ok(),
        "a chunk of {} positions is more than u32 indexes",
        targets.len()
    );
    cache.order.resize(targets.len(), 0);
    cache.local.resize(targets.len(), 0);
    for (pos, (&k, &y)) in cache.k.iter().zip(targets).enumerate() {
        let slot = &mut next[k as usize];
        cache.order[*slot] = pos as u32;
        cache.local[*slot] = y - classes.range(k as usize).start as u32;
        *slot += 1;
    }
}

/// Backward of the last [`classed_forward`]: adds ∂L/∂W_c, ∂L/∂b_c,
/// ∂L/∂W_y, ∂L/∂b_y into `grads` and *writes* the output part of dh
/// `[N, H]` (eq. 26 without its recurrent term). `scale` is 1/N.
pub fn classed_backward<T: Float>(
    cache: &mut ClassedCache<T>,
    dh: &mut Matrix<T>,
    h_all: MatRef<T>,
    params: &Params<T>,
    grads: &mut Params<T>,
    scale: T,
    gemm: &mut Gemm<T>,
) {
    let classes = &params.config.classes;
    let (n, h) = (h_all.rows(), h_all.cols());

    // dS = (q − onehot(k)) / N                                    (C3; eq. 22)
    softmax_xent_backward(&mut cache.q, &cache.k, scale, gemm.threads());
    let ds = cache.q.view(); //                                              [N, C]

    // dW_c += dSᵀ H ;  db_c += colsum(dS)                         (C3; eq. 24)
    gemm.gemm(T::one(), ds.t(), h_all, T::one(), grads.w_c.view_mut());
    bias_backward(grads.b_c.as_mut_slice(), ds);
    // dh = W_cᵀ ds, all positions at once: dH = dS W_c    (C3; eq. 26, class part)
    gemm.gemm(T::one(), ds, params.w_c.view(), T::zero(), dh.view_mut());

    // The word part, class by class — unless it was deferred: then dU and
    // dG came with the word scores (classed_words_forward), and dW_y, db_y
    // are left to classed_word_weights_backward.
    assert!(
        !cache.defer_words || cache.words_backward_done,
        "classed_backward: the deferred word part was scored without its backward (split_words without a scale)"
    );
    let classes_here = if cache.defer_words { 0 } else { classes.count() };
    cache.dg.ensure_shape(n, h); //                                          [N, H]
    for kc in 0..classes_here {
        let (ids, rows) = (classes.range(kc), cache.rows[kc]..cache.rows[kc + 1]);
        if rows.is_empty() {
            continue;
        }
        // dU = (r − onehot(y)) / N on the class's words           (C4; eq. 23)
        let r = &mut cache.r[kc];
        softmax_xent_backward(r, &cache.local[rows.clone()], scale, 1);
        let du = r.view(); //                                                [n_K, |K|]
        let g_k = cache.g.rows_view(rows.start, rows.len()); //             [n_K, H]

        // dW_y[K] += dUᵀ G_K ;  db_y[K] += colsum(dU)             (C4; eq. 25)
        let dw_k = grads.w_y.rows_view_mut(ids.start, ids.len());
        gemm.gemm(T::one(), du.t(), g_k, T::one(), dw_k);
        bias_backward(&mut grads.b_y.as_mut_slice()[ids.clone()], du);
        // dG_K = dU W_y[K]                                 (C4; eq. 26, word part)
        let w_k = params.w_y.rows_view(ids.start, ids.len());
        gemm.gemm(
            T::one(),
            du,
            w_k,
            T::zero(),
            cache.dg.rows_view_mut(rows.start, rows.len()),
        );
    }
    // Scatter the word part back to the positions: dh[order[i]] += dG[i]
    //                                                      (C5; completes eq. 26)
    for (i, &pos) in cache.order.iter().enumerate() {
        for (d, &g) in dh.row_mut(pos as usize).iter_mut().zip(cache.dg.row(i)) {
            *d += g;
        }
    }
}

/// The word weights' gradient of the classes `class_range` for several
/// backwards that deferred it ([`ClassedCache::defer_words`]), one
/// cache after the other for each class:
///
/// ```text
///   dW_y[K] += dU_Kᵀ G_K ;  db_y[K] += colsum(dU_K)     for each cache, in order   (eq. 25)
/// ```
///
/// `w_y` `[rows, H]` and `b_y` `[rows]` hold the gradient's rows of these
/// classes, from the first id of class `class_range.start` on. Each class's block
/// is written once per step whatever the number of shards, and the result
/// depends only on the caches' order, not on how classes are dealt to
/// workers. Each finished block's squares go into `squares` (for the
/// gradient norm) while the block is in cache.
pub fn classed_word_weights_backward<T: Float>(
    caches: &[&ClassedCache<T>],
    params: &Params<T>,
    class_range: Range<usize>,
    w_y: &mut [T],
    b_y: &mut [T],
    gemm: &mut Gemm<T>,
    squares: &mut BlockSquares,
) {
    let (classes, h) = (&params.config.classes, params.config.hidden);
    let first = classes.ids_of(class_range.clone()).start;
    for kc in class_range {
        let ids = classes.range(kc);
        let local = ids.start - first..ids.end - first;
        let mut touched = false;
        for cache in caches {
            let rows = cache.rows[kc]..cache.rows[kc + 1];
            if rows.is_empty() {
                continue;
            }
            touched = true;
            let du = cache.r[kc].view(); //                                   [n_K, |K|]
            let g_k = cache.g.rows_view(rows.start, rows.len()); //          [n_K, H]
            let dw_k = MatMut::from_slice(&mut w_y[local.start * h..local.end * h], ids.len(), h);
            gemm.gemm(T::one(), du.t(), g_k, T::one(), dw_k);
            bias_backward(&mut b_y[local.clone()], du);
        }
        if touched {
            squares.add(ids.start * h, &w_y[local.start * h..local.end * h]);
        }
    }
}

/// The whole next-word distribution of a classed model for each hidden
/// state, a row of `h` `[B, H]`, given `p` `[B, V]` holding `u = W_y h + b_y`
/// for every word: `p[w] := q[c(w)] · softmax over c(w)'s block of u`
/// (generation, `predict`). `q` is scratch `[B, C]`.
pub fn classed_distribution<T: Float>(
    params: &Params<T>,
    h: MatRef<T>,
    q: &mut Matrix<T>,
    p: &mut Matrix<T>,
    gemm: &mut Gemm<T>,
) {
    let classes = &params.config.classes;
    // q = softmax(W_c h + b_c)                                       (eqs. 17, 18)
    gemm.gemm(T::one(), h, params.w_c.view().t(), T::zero(), q.view_mut());
    bias_forward(q.as_mut_slice(), params.b_c.as_slice());
    // p = q[c(w)] · softmax per class block of u                     (eqs. 19, 20)
    for r in 0..h.rows() {
        let q = q.row_mut(r);
        softmax_returning_log_z(q);
        let p = p.row_mut(r);
        for (kc, &qk) in q.iter().enumerate() {
            let block = &mut p[classes.range(kc)];
            softmax_returning_log_z(block);
            block.iter_mut().for_each(|x| *x *= qk);
        }
    }
}
