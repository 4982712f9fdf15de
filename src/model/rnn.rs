//! The recurrent network over one chunk: teacher-forced forward and BPTT.
//!
//! Rows of every `[N, ·]` matrix are positions, time-major: row `t·B + b` is
//! stream b at step t (0-based here; `docs/bptt.md` counts steps 1..T, so
//! docs step t is row block t−1). Each step's rows are one contiguous `[B, ·]`
//! block, so the recurrence multiplies whole blocks.
//!
//! Everything that is not sequential is one GEMM over all N = T·B rows; only
//! `a_t += h_{t−1}·W_hᵀ` (forward) and `dh_{t−1} += da_t·W_h` (backward) walk
//! the steps ([`super::recurrence`]), against a weight packed once per call.

use super::classed::{classed_backward, classed_forward, ClassedCache};
use super::layers::*;
use super::params::Params;
use super::recurrence;
use super::rows::{range_union, row_ranges, TouchedRows};
use crate::matmul::{Gemm, PackedB};
use crate::matrix::{MatRef, Matrix};
use crate::scalar::Float;

/// How the input projection `W_x e_t` is computed for all positions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputPath {
    /// Gather `X_e = E[x]` `[N, D]`, then one GEMM `X_e·W_xᵀ` `[N, H]`.
    Gather,
    /// When V < N (char level): `U = E·W_xᵀ` `[V, H]` once, then gather
    /// `U[x]`. The same numbers (the projection is linear) for V·D·H
    /// instead of N·D·H multiply-adds.
    Table,
}

impl InputPath {
    /// The cheaper path for a vocabulary of `vocab` and `n` positions.
    pub fn choose(vocab: usize, n: usize) -> Self {
        if vocab < n {
            InputPath::Table
        } else {
            InputPath::Gather
        }
    }
}

/// What forward keeps for backward. Sized once per (B, T) and reused.
#[derive(Clone, Debug)]
pub struct ForwardCache<T> {
    pub batch: usize,
    pub steps: usize,
    pub path: InputPath,
    /// x: input tokens `[N]`.
    pub inputs: Vec<u32>,
    /// y: target tokens `[N]` (teacher forcing: y_t = x_{t+1}).
    pub targets: Vec<u32>,
    /// X_e = E\[x\] `[N, D]` (Gather path only).
    pub x_e: Matrix<T>,
    /// U = E·W_xᵀ `[V, H]` (Table path only).
    pub u: Matrix<T>,
    /// `[(T+1)·B, H]`: block 0 is h_0, block t is h_t.
    pub hs: Matrix<T>,
    /// p `[N, V]`: softmax outputs; backward turns it into dZ in place
    /// (full softmax only).
    pub p: Matrix<T>,
    /// The class-factored output layer's cache (models with classes only).
    pub classed: ClassedCache<T>,
    /// H_out = M_h ⊙ H `[N, H]`: what the output layer sees (dropout only).
    pub h_out: Matrix<T>,
    /// `−ln p_t[y_t]` of each position `[N]` (full softmax only; a classed
    /// model keeps its two parts in [`ClassedCache`]).
    pub nats: Vec<f64>,
}

/// Inverted-dropout masks for one training step (`docs/bptt.md` eqs. 27–30),
/// constants of the step: entries 0 or 1/(1 − p), drawn by the caller.
#[derive(Clone, Debug)]
pub struct DropoutMasks<T> {
    /// M_e `[N, D]`: on each e_t before W_x.
    pub e: Matrix<T>,
    /// M_h `[N, H]`: on each h_t where it enters the output layer.
    pub h: Matrix<T>,
}

impl<T: Float> DropoutMasks<T> {
    /// Draw masks for `n` positions of a model with widths D, H, dropping
    /// with probability `p`, in a fixed order from `rng` (M_e row by row,
    /// then M_h): the same masks whatever the thread count.
    pub fn draw(n: usize, embed: usize, hidden: usize, p: f64, rng: &mut crate::rng::Rng) -> Self {
        let mut e = Matrix::zeros(n, embed);
        let mut h = Matrix::zeros(n, hidden);
        dropout_mask(e.as_mut_slice(), p, rng);
        dropout_mask(h.as_mut_slice(), p, rng);
        DropoutMasks { e, h }
    }
}

/// Buffers for one model: GEMM context, packed weights, cache, gradients of
/// activations. Nothing here outlives a step except allocations.
#[derive(Debug)]
pub struct Workspace<T> {
    pub gemm: Gemm<T>,
    /// One single-threaded context per worker of the time loops.
    step_gemms: Vec<Gemm<T>>,
    pub cache: ForwardCache<T>,
    /// Force an input path (tests); `None` chooses by size.
    pub force_path: Option<InputPath>,
    /// Dropout masks for the next forward and backward (training only; set
    /// by the caller each step, `None` for no dropout). With masks the input
    /// projection takes the gather path: a mask per position cannot be
    /// folded into the table.
    pub dropout: Option<DropoutMasks<T>>,
    w_x_t: PackedB<T>,
    w_h_t: PackedB<T>,
    w_h: PackedB<T>,
    /// dH, then dA in place `[N, H]`.
    dh: Matrix<T>,
    /// dX_e `[N, D]` (Gather path).
    dx_e: Matrix<T>,
    /// dU `[V, H]` (Table path).
    du: Matrix<T>,
    /// ∂L/∂h_0 `[B, H]`.
    dh0: Matrix<T>,
    /// The rows of E and W_y the last backward wrote into.
    touched: TouchedRows,
}

impl<T: Float> Workspace<T> {
    /// A workspace on `gemm` (its kernel and thread count are used).
    pub fn new(gemm: Gemm<T>) -> Self {
        let e = || Matrix::zeros(0, 0);
        Workspace {
            gemm,
            step_gemms: Vec::new(),
            cache: ForwardCache {
                batch: 0,
                steps: 0,
                path: InputPath::Gather,
                inputs: Vec::new(),
                targets: Vec::new(),
                x_e: e(),
                u: e(),
                hs: e(),
                p: e(),
                classed: ClassedCache::default(),
                h_out: e(),
                nats: Vec::new(),
            },
            dropout: None,
            force_path: None,
            w_x_t: PackedB::empty(),
            w_h_t: PackedB::empty(),
            w_h: PackedB::empty(),
            dh: e(),
            dx_e: e(),
            du: e(),
            dh0: e(),
            touched: TouchedRows::all(),
        }
    }

    /// Start measuring the time spent in GEMM and packing (all contexts).
    pub fn start_timing(&mut self) {
        self.gemm.start_timing();
        self.step_gemms.iter_mut().for_each(Gemm::start_timing);
    }

    /// Wall-clock GEMM and packing time since [`Workspace::start_timing`]:
    /// the main context's time plus the time-loop workers' (which run side
    /// by side, so their sum divided by their number).
    pub fn gemm_time(&self) -> std::time::Duration {
        let main = self.gemm.timed().unwrap_or_default();
        let steps: std::time::Duration = self.step_gemms.iter().filter_map(Gemm::timed).sum();
        main + steps / self.step_gemms.len().max(1) as u32
    }

    /// h_T of the last forward `[B, H]`: the next chunk's h_0.
    pub fn last_hidden(&self) -> MatRef<'_, T> {
        let (b, t) = (self.cache.batch, self.cache.steps);
        self.cache.hs.rows_view(t * b, b)
    }

    /// ∂L/∂h_0 of the last backward `[B, H]`.
    pub fn dh0(&self) -> &Matrix<T> {
        &self.dh0
    }

    /// The rows of E and W_y the last [`backward`] added gradient into
    /// (`None`: all of them): E's rows of the chunk's input tokens on the
    /// gather path, W_y's blocks of the targets' classes with classes.
    /// Elsewhere their gradient is exactly zero.
    pub fn touched(&self) -> &TouchedRows {
        &self.touched
    }

    /// Softmax outputs of the last forward `[N, V]` (valid until backward).
    pub fn probs(&self) -> &Matrix<T> {
        &self.cache.p
    }

    /// `−ln p_t[y_t]` of each position of the last forward `[N]`, time-major
    /// as its targets: the terms of eq. 6 (eq. 21 with classes), whose
    /// mean is the loss forward returned (to f64 rounding).
    pub fn token_nats(&self) -> Vec<f64> {
        if self.cache.nats.len() == self.cache.targets.len() {
            return self.cache.nats.clone(); // full softmax
        }
        self.cache.classed.token_nats()
    }
}

/// Forward over one chunk of B streams × T steps from h_0 `[B, H]`.
///
/// `inputs` and `targets` are `[T·B]`, time-major. Returns the mean loss L
/// (eq. 6) in nats per prediction; the cache in `ws` holds what backward
/// needs and [`Workspace::last_hidden`] gives h_T.
///
/// # Panics
/// If the lengths or h_0's shape do not match B, T, H, or a token is ≥ V.
pub fn forward<T: Float>(
    params: &Params<T>,
    inputs: &[u32],
    targets: &[u32],
    batch: usize,
    h0: MatRef<T>,
    ws: &mut Workspace<T>,
) -> f64 {
    let cfg = &params.config;
    let (v, d, h) = (cfg.vocab, cfg.embed, cfg.hidden);
    let b = batch;
    assert!(
        b > 0 && !inputs.is_empty() && inputs.len().is_multiple_of(b),
        "forward: {} inputs for batch {b}",
        inputs.len()
    );
    assert_eq!(
        inputs.len(),
        targets.len(),
        "forward: inputs and targets differ in length"
    );
    assert_eq!(
        (h0.rows(), h0.cols()),
        (b, h),
        "forward: h_0 is {} × {}, want {b} × {h}",
        h0.rows(),
        h0.cols()
    );
    if let Some(&bad) = inputs.iter().chain(targets).find(|&&x| x as usize >= v) {
        panic!("forward: token {bad} outside the vocabulary of {v}");
    }
    let n = inputs.len();
    let steps = n / b;
    let path = match (&ws.dropout, ws.force_path) {
        (Some(_), _) => InputPath::Gather,
        (None, Some(p)) => p,
        (None, None) => InputPath::choose(v, n),
    };
    if let Some(m) = &ws.dropout {
        assert_eq!(
            (m.e.shape(), m.h.shape()),
            ((n, d), (n, h)),
            "forward: dropout masks shaped for another chunk"
        );
    }
    let Workspace {
        gemm,
        step_gemms,
        cache,
        w_x_t,
        w_h_t,
        dropout,
        ..
    } = ws;
    cache.batch = b;
    cache.steps = steps;
    cache.path = path;
    cache.inputs.clear();
    cache.inputs.extend_from_slice(inputs);
    cache.targets.clear();
    cache.targets.extend_from_slice(targets);
    cache.hs.ensure_shape((steps + 1) * b, h); //                         [(T+1)B, H]

    // h_0 into block 0.
    for i in 0..b {
        for (j, x) in cache.hs.row_mut(i).iter_mut().enumerate() {
            *x = h0.at(i, j);
        }
    }

    // Input projection for all positions: A = W_x e_t (B1, or B1′ by the
    // table; eqs. 1, 2), into the
    // h blocks 1..=T, which the recurrence then completes in place.
    match path {
        InputPath::Gather => {
            cache.x_e.ensure_shape(n, d); //                                [N, D]
            embedding_forward(&mut cache.x_e, inputs, &params.e);
            if let Some(m) = dropout {
                // e_t ← M_e ⊙ e_t                                      (eq. 27)
                apply_mask(cache.x_e.as_mut_slice(), m.e.as_slice());
            }
            gemm.pack_b_into(params.w_x.view().t(), w_x_t); //              [D, H]
            gemm.gemm_packed(
                T::one(),
                cache.x_e.view(),
                w_x_t,
                T::zero(),
                cache.hs.rows_view_mut(b, n),
            );
        }
        InputPath::Table => {
            // U = E·W_xᵀ, then a_t = U[x_t]                              (B1′)
            cache.u.ensure_shape(v, h); //                                   [V, H]
            gemm.gemm(
                T::one(),
                params.e.view(),
                params.w_x.view().t(),
                T::zero(),
                cache.u.view_mut(),
            );
            for (r, &tok) in inputs.iter().enumerate() {
                cache.hs.row_mut(b + r).copy_from_slice(cache.u.row(tok as usize));
            }
        }
    }
    bias_forward(&mut cache.hs.as_mut_slice()[b * h..], params.b_h.as_slice()); //   + b_h

    // The recurrence, the only sequential part:
    //   a_t += h_{t−1}·W_hᵀ  (eq. 2);  h_t = tanh(a_t)  (eq. 3)   (B1, per step)
    gemm.pack_b_into(params.w_h.view().t(), w_h_t); //                      [H, H]
    let workers = recurrence::workers(gemm.threads(), b, h, steps);
    let kernel = gemm.kernel();
    step_gemms.resize_with(workers, || Gemm::with_kernel(kernel).expect("kernel already in use"));
    recurrence::forward_steps(cache.hs.as_mut_slice(), b, h, w_h_t, &mut step_gemms[..workers]);

    // What the output layer sees: h_t, or M_h ⊙ h_t with dropout     (eq. 28)
    let h_all = match dropout {
        None => cache.hs.rows_view(b, n),
        Some(m) => {
            cache.h_out.ensure_shape(n, h);
            cache
                .h_out
                .as_mut_slice()
                .copy_from_slice(&cache.hs.as_slice()[b * h..]);
            apply_mask(cache.h_out.as_mut_slice(), m.h.as_slice());
            cache.h_out.view()
        }
    }; //                                                                   [N, H]
    if !cfg.classes.is_none() {
        // The class-factored output layer, L = mean −ln q[k] − ln r[y]  (eqs. 17–21)
        cache.nats.clear();
        return classed_forward(&mut cache.classed, h_all, targets, params, gemm) / n as f64;
    }
    // Output layer for all positions: z_t = W_y h_t + b_y  (B2; eq. 4)
    cache.p.ensure_shape(n, v); //                                           [N, V]
    gemm.gemm(T::one(), h_all, params.w_y.view().t(), T::zero(), cache.p.view_mut());
    bias_forward(cache.p.as_mut_slice(), params.b_y.as_slice());

    // p_t = softmax(z_t), L = mean −ln p_t[y_t]  (B2; eqs. 5, 6)
    cache.nats.resize(n, 0.0);
    softmax_xent_rows(&mut cache.p, targets, gemm.threads(), &mut cache.nats) / n as f64
}

/// Backward through the chunk of the last [`forward`] (BPTT): adds ∂L/∂θ
/// into `grads` for every parameter and leaves ∂L/∂h_0 in [`Workspace::dh0`].
///
/// The gradient stops at h_0: the previous chunk's graph is gone (truncated
/// BPTT), so dh_0 is returned for checking, not propagated further.
pub fn backward<T: Float>(params: &Params<T>, grads: &mut Params<T>, ws: &mut Workspace<T>) {
    let n = ws.cache.batch * ws.cache.steps;
    backward_scaled(params, grads, ws, T::one() / T::from_usize(n.max(1)));
}

/// [`backward`] with the output gradient scaled by `scale` instead of 1/N
/// (eq. 7): a shard of a larger chunk passes 1/N of the whole chunk, so that
/// the shards' gradients add up to the chunk's ([`super::shards`]).
pub fn backward_scaled<T: Float>(params: &Params<T>, grads: &mut Params<T>, ws: &mut Workspace<T>, scale: T) {
    assert_eq!(
        params.config, grads.config,
        "backward: gradient layout differs from the model"
    );
    let cfg = &params.config;
    let (v, d, h) = (cfg.vocab, cfg.embed, cfg.hidden);
    let Workspace {
        gemm,
        step_gemms,
        cache,
        w_h,
        dh,
        dx_e,
        du,
        dh0,
        touched,
        dropout,
        ..
    } = ws;
    let (b, steps) = (cache.batch, cache.steps);
    let n = b * steps;
    assert!(n > 0, "backward before forward");
    dh.ensure_shape(n, h); //                                                     [N, H]
    dh0.ensure_shape(b, h); //                                                    [B, H]

    let h_all = match dropout {
        None => cache.hs.rows_view(b, n),
        Some(_) => cache.h_out.view(), //                                  M_h ⊙ H (eq. 28)
    }; //                                                                   [N, H]
    if cfg.classes.is_none() {
        // dz_t = (p_t − onehot(y_t)) / (B·T), 1/(B·T) = scale     (B3; eq. 7)
        softmax_xent_backward(&mut cache.p, &cache.targets, scale, gemm.threads());
        let dz = cache.p.view(); //                                         [N, V]

        // dW_y += Σ_t dz_t h_tᵀ = dZᵀ·H                         (B4; eq. 8)
        gemm.gemm(T::one(), dz.t(), h_all, T::one(), grads.w_y.view_mut());
        // db_y += Σ_t dz_t                                       (B4; eq. 9)
        bias_backward(grads.b_y.as_mut_slice(), dz);
        // dh_t = W_yᵀ dz_t (output part of eq. 10, all t at once): dH = dZ·W_y (B5)
        gemm.gemm(T::one(), dz, params.w_y.view(), T::zero(), dh.view_mut());
    } else {
        // dW_c, db_c, dW_y, db_y and dh_t = W_cᵀ ds_t + W_y[K_t]ᵀ du_t  (eqs. 22–26)
        classed_backward(&mut cache.classed, dh, h_all, params, grads, scale, gemm);
    }
    if let Some(m) = dropout {
        // The output part of dh_t passes back through the mask        (eq. 29)
        apply_mask(dh.as_mut_slice(), m.h.as_slice());
    }

    // Reverse over time, carrying the recurrent part of eq. 10: da_t for
    // every t (eq. 11) and dh_0 (eq. 16).
    gemm.pack_b_into(params.w_h.view(), w_h); //                            [H, H]
    let workers = recurrence::workers(gemm.threads(), b, h, steps);
    let hs = cache.hs.as_slice();
    recurrence::backward_steps(
        dh.as_mut_slice(),
        hs,
        dh0.as_mut_slice(),
        b,
        h,
        w_h,
        &mut step_gemms[..workers],
    );
    let da = dh.view(); //                                                   [N, H]
    let h_prev = cache.hs.rows_view(0, n); //                                [N, H]: h_{t−1}

    // dW_h += Σ_t da_t h_{t−1}ᵀ = dAᵀ·H_prev                    (B6; eq. 12)
    gemm.gemm(T::one(), da.t(), h_prev, T::one(), grads.w_h.view_mut());
    // db_h += Σ_t da_t                                          (B6; eq. 14)
    bias_backward(grads.b_h.as_mut_slice(), da);

    match cache.path {
        InputPath::Gather => {
            // dW_x += Σ_t da_t e_tᵀ = dAᵀ·X_e (X_e masked by dropout) (B7; eq. 13)
            gemm.gemm(T::one(), da.t(), cache.x_e.view(), T::one(), grads.w_x.view_mut());
            // de_t = W_xᵀ da_t: dX_e = dA·W_x, scatter-add into dE  (B8; eq. 15)
            dx_e.ensure_shape(n, d); //                                           [N, D]
            gemm.gemm(T::one(), da, params.w_x.view(), T::zero(), dx_e.view_mut());
            if let Some(m) = dropout {
                // de_t = M_e ⊙ W_xᵀ da_t                                 (eq. 30)
                apply_mask(dx_e.as_mut_slice(), m.e.as_slice());
            }
            embedding_backward(&mut grads.e, dx_e, &cache.inputs);
        }
        InputPath::Table => {
            // dU[v] = Σ_{r: x_r = v} da_r  (scatter-add by token)        (eq. 15)
            du.ensure_shape(v, h); //                                             [V, H]
            du.fill_zero();
            embedding_backward(du, &*dh, &cache.inputs);
            // U = E·W_xᵀ ⇒ dW_x += dUᵀ·E                         (B7′; eq. 13)
            gemm.gemm(T::one(), du.view().t(), params.e.view(), T::one(), grads.w_x.view_mut());
            // ... and dE += dU·W_x                                 (B8′; eq. 15)
            gemm.gemm(T::one(), du.view(), params.w_x.view(), T::one(), grads.e.view_mut());
        }
    }
    // What this backward wrote into E and W_y (see `Workspace::touched`).
    touched.e = match cache.path {
        InputPath::Gather => Some(row_ranges(cache.inputs.iter().map(|&x| x as usize))),
        InputPath::Table => None,
    };
    touched.w_y = (!cfg.classes.is_none()).then(|| {
        let classed = &cache.classed;
        let used = (0..cfg.classes.count()).filter(|&k| classed.rows[k + 1] > classed.rows[k]);
        range_union(used.map(|k| cfg.classes.range(k)))
    });
}
