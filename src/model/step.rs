//! One token per stream at a time: the forward equations without the chunk
//! machinery — no cache, no allocation per token. Generation feeds each
//! sampled token back through [`step`], for one stream or a batch of
//! independent ones (`generate --samples N`).
//!
//! With one row (or a few), every product is a row vector times a weight
//! matrix, which [`Gemm::gemm`] sends to its few-rows path: each weight row
//! is read once, in place, by SIMD dot products. A larger batch multiplies
//! by W_hᵀ and W_yᵀ packed once ([`Stepper`]). When the vocabulary is small,
//! `W_x e` comes from the table `U = E·W_xᵀ` `[V, H]`, as in training
//! ([`super::InputPath::Table`]): one row copy instead of a D × H product.
//!
//! With [`Weights::Bf16`] or [`Weights::F16`] the weights are rounded to
//! that format first ([`in_precision`](super::in_precision): the model
//! generates with those values on every path) and the few-rows steps read
//! W_h and W_y in it ([`Bf16Matrix`], laid out for the kernel, or
//! [`F16Matrix`]): half the bytes of the stream that bounds them. Each step
//! reads them in the order opposite to the step before ([`Order`]), so
//! that it starts with the weights still in L2.

use super::classed::classed_distribution;
use super::layers::{bias_forward, softmax_returning_log_z, tanh_forward};
use super::params::Params;
use crate::matmul::gemv::bf16::{Bf16Matrix, Layout};
use crate::matmul::gemv::f16::F16Matrix;
use crate::matmul::gemv::Order;
use crate::matmul::gemv::FEW_ROWS;
use crate::matmul::{Gemm, PackedB};
use crate::matrix::{MatMut, Matrix};
use crate::scalar::Float;

use super::precision::Weights;

/// Vocabularies up to this size get the input table U = E·W_xᵀ: it costs
/// V·D·H multiply-adds once and V·H floats, and saves D·H per token.
pub const TABLE_MAX_VOCAB: usize = 4096;

/// The weights of one model prepared for steps: the input table (small
/// vocabularies), and W_hᵀ, W_yᵀ packed for batches wider than the
/// few-rows path. Built once per model; valid while the weights do not
/// change.
#[derive(Debug)]
pub struct Stepper<T> {
    gemm: Gemm<T>,
    /// U = E·W_xᵀ `[V, H]` (V ≤ [`TABLE_MAX_VOCAB`]).
    table: Option<Matrix<T>>,
    /// W_hᵀ and (full softmax only: a classed model multiplies by W_y a
    /// class at a time) W_yᵀ packed, once a batch needs them.
    packed: Option<(PackedB<T>, Option<PackedB<T>>)>,
    /// W_h and W_y in half the bytes ([`Weights::Bf16`], [`Weights::F16`]),
    /// for steps of at most [`FEW_ROWS`] streams.
    half: Option<(HalfMatrix, HalfMatrix)>,
    /// The order the current step reads the half-precision weights in: flipped at the
    /// start of each step ([`advance`]), read again by its distribution.
    order: Order,
}

impl<T: Float> Stepper<T> {
    /// Prepare `params` for steps on `gemm` (its kernel and threads are used).
    pub fn new(params: &Params<T>, mut gemm: Gemm<T>) -> Self {
        let (v, h) = (params.config.vocab, params.config.hidden);
        let table = (v <= TABLE_MAX_VOCAB).then(|| {
            let mut u = Matrix::zeros(v, h);
            gemm.gemm(
                T::one(),
                params.e.view(),
                params.w_x.view().t(),
                T::zero(),
                u.view_mut(),
            );
            u
        });
        Stepper {
            gemm,
            table,
            packed: None,
            half: None,
            order: Order::Forward,
        }
    }

    /// [`Stepper::new`], reading the weights in `weights`' precision.
    ///
    /// # Panics
    /// For [`Weights::Bf16`] and [`Weights::F16`], if `params` is not f32 or
    /// a weight is not already a value of the format
    /// ([`in_precision`](super::in_precision) makes them so): every path of
    /// a step must see the same weights.
    pub fn with_weights(params: &Params<T>, gemm: Gemm<T>, weights: Weights) -> Self {
        let mut stepper = Self::new(params, gemm);
        if weights != Weights::F32 {
            let layout = Layout::for_kernel(stepper.gemm.kernel());
            let half = |m: &Matrix<T>| {
                let name = weights.name();
                let v = m
                    .view()
                    .as_f32()
                    .unwrap_or_else(|| panic!("{name} weights: an f32 model"));
                assert!(
                    v.data().iter().all(|&x| weights.round(x).to_bits() == x.to_bits()),
                    "{name} weights: round the model first (in_precision)"
                );
                match weights {
                    Weights::Bf16 => HalfMatrix::Bf16(Bf16Matrix::new(v, layout)),
                    Weights::F16 => HalfMatrix::F16(F16Matrix::new(v)),
                    Weights::F32 => unreachable!("f32 weights are read where they are"),
                }
            };
            stepper.half = Some((half(&params.w_h), half(&params.w_y)));
        }
        stepper
    }

    /// Pack W_hᵀ (and a full softmax's W_yᵀ) once a step has more than
    /// [`FEW_ROWS`] streams.
    fn prepare(&mut self, params: &Params<T>, b: usize) {
        if b > FEW_ROWS && self.packed.is_none() {
            let w_y_t = params
                .config
                .classes
                .is_none()
                .then(|| self.gemm.pack_b(params.w_y.view().t()));
            self.packed = Some((self.gemm.pack_b(params.w_h.view().t()), w_y_t));
        }
    }

    /// The precision this stepper reads the weights in.
    pub fn weights(&self) -> Weights {
        match &self.half {
            Some((HalfMatrix::Bf16(_), _)) => Weights::Bf16,
            Some((HalfMatrix::F16(_), _)) => Weights::F16,
            None => Weights::F32,
        }
    }

    /// The kernel the steps run on.
    pub fn kernel(&self) -> crate::matmul::Kernel {
        self.gemm.kernel()
    }
}

/// The recurrent state and the last prediction of B streams.
#[derive(Clone, Debug)]
pub struct StepState<T> {
    /// h_t `[B, H]`.
    pub h: Matrix<T>,
    /// a_t `[B, H]` (scratch).
    a: Matrix<T>,
    /// p_t `[B, V]`: each stream's distribution of its next token.
    pub p: Matrix<T>,
    /// q_t `[B, C]`: the class distributions (classed models; scratch).
    q: Matrix<T>,
}

impl<T: Float> StepState<T> {
    /// One stream: h_0 = 0, p uniform.
    pub fn new(params: &Params<T>) -> Self {
        Self::streams(params, 1)
    }

    /// `b` streams, each with h_0 = 0 and p uniform.
    pub fn streams(params: &Params<T>, b: usize) -> Self {
        let (v, h) = (params.config.vocab, params.config.hidden);
        StepState {
            h: Matrix::zeros(b, h),
            a: Matrix::zeros(b, h),
            p: Matrix::filled(b, v, T::one() / T::from_usize(v)),
            q: Matrix::zeros(b, params.config.classes.count()),
        }
    }
}

/// Feed token `tokens[i]` to stream i: advance each h and set each row of p
/// to that stream's next-token distribution.
///
/// # Panics
/// If a token is ≥ V or `tokens` is not one per stream.
pub fn step<T: Float>(params: &Params<T>, stepper: &mut Stepper<T>, tokens: &[u32], s: &mut StepState<T>) {
    advance(params, stepper, tokens, s);
    distribution(params, stepper, s);
}

/// [`step`] without the distribution: each h advances, p is left as it
/// was. For draws that read h through [`class_probs`] and [`block_probs`].
///
/// # Panics
/// As [`step`].
pub fn advance<T: Float>(params: &Params<T>, stepper: &mut Stepper<T>, tokens: &[u32], s: &mut StepState<T>) {
    let b = s.h.rows();
    assert_eq!(tokens.len(), b, "step: {} tokens for {b} streams", tokens.len());
    stepper.prepare(params, b);
    let Stepper {
        gemm,
        table,
        packed,
        half,
        order,
    } = stepper;
    *order = order.flipped();
    // a = W_x e + b_h, e = E[x]  (eqs. 1, 2)                              [B, H]
    for (r, &x) in tokens.iter().enumerate() {
        match table {
            Some(u) => s.a.row_mut(r).copy_from_slice(u.row(x as usize)),
            None => {
                let e = params.e.rows_view(x as usize, 1);
                gemm.gemm(T::one(), e, params.w_x.view().t(), T::zero(), s.a.rows_view_mut(r, 1));
            }
        }
    }
    bias_forward(s.a.as_mut_slice(), params.b_h.as_slice());
    //   + W_h h_{t−1}  (eq. 2)                                             [B, H]
    match ProductPath::of(half, packed, b) {
        ProductPath::Half((w_h, _)) => rows_times_half(gemm.kernel(), w_h, *order, &s.h, 1.0, &mut s.a),
        ProductPath::Packed((w_h_t, _)) => gemm.gemm_packed(T::one(), s.h.view(), w_h_t, T::one(), s.a.view_mut()),
        ProductPath::InPlace => gemm.gemm(T::one(), s.h.view(), params.w_h.view().t(), T::one(), s.a.view_mut()),
    }
    // h = tanh(a)  (eq. 3)
    tanh_forward(s.a.as_mut_slice());
    std::mem::swap(&mut s.h, &mut s.a);
}

/// Each row of p from its stream's h.
fn distribution<T: Float>(params: &Params<T>, stepper: &mut Stepper<T>, s: &mut StepState<T>) {
    let b = s.h.rows();
    let Stepper {
        gemm,
        packed,
        half,
        order,
        ..
    } = stepper;
    // z = W_y h + b_y  (eq. 4; a classed model's u, eq. 19)               [B, V]
    match ProductPath::of(half, packed, b) {
        ProductPath::Half((_, w_y)) => rows_times_half(gemm.kernel(), w_y, *order, &s.h, 0.0, &mut s.p),
        ProductPath::Packed((_, Some(w_y_t))) => {
            gemm.gemm_packed(T::one(), s.h.view(), w_y_t, T::zero(), s.p.view_mut())
        }
        ProductPath::Packed((_, None)) | ProductPath::InPlace => {
            gemm.gemm(T::one(), s.h.view(), params.w_y.view().t(), T::zero(), s.p.view_mut())
        }
    }
    bias_forward(s.p.as_mut_slice(), params.b_y.as_slice());
    if !params.config.classes.is_none() {
        // p[w] = q[c(w)] · softmax within c(w)'s block  (eqs. 17–20)
        return classed_distribution(params, s.h.view(), &mut s.q, &mut s.p, gemm);
    }
    // p = softmax(z)  (eq. 5)
    for r in 0..b {
        softmax_returning_log_z(s.p.row_mut(r));
    }
}

/// Where a step's products read W_h and W_y.
enum ProductPath<'a, T> {
    /// The half-precision weights (W_h, W_y): few rows, [`Weights::Bf16`]
    /// or [`Weights::F16`].
    Half(&'a (HalfMatrix, HalfMatrix)),
    /// W_hᵀ and a full softmax's W_yᵀ packed: more than [`FEW_ROWS`] rows.
    Packed(&'a (PackedB<T>, Option<PackedB<T>>)),
    /// The weights where they are, by the few-rows products.
    InPlace,
}

impl<'a, T> ProductPath<'a, T> {
    /// The path of a step of `b` streams (the packed weights are there
    /// once [`Stepper::prepare`] has seen such a step).
    fn of(
        half: &'a Option<(HalfMatrix, HalfMatrix)>,
        packed: &'a Option<(PackedB<T>, Option<PackedB<T>>)>,
        b: usize,
    ) -> Self {
        match (b <= FEW_ROWS, half, packed) {
            (true, Some(weights), _) => ProductPath::Half(weights),
            (false, _, Some(p)) => ProductPath::Packed(p),
            _ => ProductPath::InPlace,
        }
    }
}

/// Stream r's class distribution q = softmax(W_c h + b_c) (eqs. 17, 18),
/// into row r of the state's q, from the stream's current h: the first half
/// of drawing a word class by class, without the rest of p.
///
/// # Panics
/// If the model has no classes.
pub fn class_probs<'s, T: Float>(
    params: &Params<T>,
    stepper: &mut Stepper<T>,
    s: &'s mut StepState<T>,
    r: usize,
) -> &'s [T] {
    assert!(!params.config.classes.is_none(), "class_probs: a model without classes");
    // q = softmax(W_c h + b_c)  (eqs. 17, 18)                 h [1, H] → q [1, C]
    let h = s.h.rows_view(r, 1);
    stepper
        .gemm
        .gemm(T::one(), h, params.w_c.view().t(), T::zero(), s.q.rows_view_mut(r, 1));
    let q = s.q.row_mut(r);
    bias_forward(q, params.b_c.as_slice());
    softmax_returning_log_z(q);
    q
}

/// Class c's block of stream r's p: `q[c] · softmax(W_y[K] h + b_y[K])`
/// (eqs. 19, 20), into that block of row r of the state's p, from the
/// stream's h and q ([`class_probs`] first). For steps of up to
/// [`FEW_ROWS`] streams the values are those the whole distribution has
/// there ([`step`]), bit for bit: each output is the same dot product.
///
/// # Panics
/// If the model has no classes or c is not one of them.
pub fn block_probs<'s, T: Float>(
    params: &Params<T>,
    stepper: &mut Stepper<T>,
    s: &'s mut StepState<T>,
    r: usize,
    c: usize,
) -> &'s [T] {
    let k = params.config.classes.range(c);
    let h = s.h.rows_view(r, 1);
    let w_y_k = params.w_y.rows_view(k.start, k.len()); //                   [|K|, H]
    let qc = s.q.get(r, c);
    let block = &mut s.p.row_mut(r)[k.clone()];
    // u_K = W_y[K] h + b_y[K]  (eq. 19)                                  [1, |K|]
    let u = MatMut::from_slice(block, 1, k.len());
    stepper.gemm.gemm(T::one(), h, w_y_k.t(), T::zero(), u);
    bias_forward(block, &params.b_y.as_slice()[k]);
    // p[K] = q[c] · softmax(u_K)  (eq. 20)
    softmax_returning_log_z(block);
    block.iter_mut().for_each(|x| *x *= qc);
    block
}

/// A weight matrix in one of the half-precision formats.
#[derive(Debug)]
enum HalfMatrix {
    Bf16(Bf16Matrix),
    F16(F16Matrix),
}

/// `y := W·x + β·y` for each row x of `x` and y of `y`, W in half
/// precision, its outputs in `order` (f32 rows: [`Stepper::with_weights`]
/// only builds half-precision weights for f32 models).
fn rows_times_half<T: Float>(
    kernel: crate::matmul::Kernel,
    w: &HalfMatrix,
    order: Order,
    x: &Matrix<T>,
    beta: f32,
    y: &mut Matrix<T>,
) {
    for r in 0..x.rows() {
        let xr = T::as_f32(x.row(r)).expect("half-precision weights: f32 rows");
        let yr = T::as_f32_mut(y.row_mut(r)).expect("half-precision weights: f32 rows");
        match w {
            HalfMatrix::Bf16(w) => w.times(kernel, xr, beta, yr, order),
            HalfMatrix::F16(w) => w.times(kernel, xr, beta, yr, order),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{forward, in_precision, Config, Workspace};
    use crate::rng::Rng;

    #[test]
    fn stepping_token_by_token_equals_the_chunk_forward() {
        let cfg = Config::full(9, 5, 7);
        let params = Params::<f64>::init(&cfg, &mut Rng::new(4));
        let tokens = [3u32, 1, 4, 1, 5, 8, 2, 6];
        let mut ws = Workspace::new(Gemm::new());
        let n = tokens.len() - 1;
        forward(
            &params,
            &tokens[..n],
            &tokens[1..],
            1,
            Matrix::zeros(1, 7).view(),
            &mut ws,
        );
        let mut s = StepState::new(&params);
        let mut stepper = Stepper::new(&params, Gemm::new());
        assert!(stepper.table.is_some(), "V = 9 takes the table");
        for (t, &x) in tokens[..n].iter().enumerate() {
            step(&params, &mut stepper, &[x], &mut s);
            for (a, b) in s.p.as_slice().iter().zip(ws.probs().row(t)) {
                assert!((a - b).abs() < 1e-14, "step {t}: p differs: {a} vs {b}");
            }
        }
        for (a, b) in s.h.as_slice().iter().zip(ws.last_hidden().data()) {
            assert!((a - b).abs() < 1e-14);
        }
    }

    /// A batch of streams (packed products past the few-rows path, a
    /// classed model, no input table) steps each stream as it would step
    /// alone.
    #[test]
    fn a_batch_of_streams_steps_each_as_one_stream() {
        use crate::model::Classes;
        let cfg = Config {
            classes: Classes::from_sizes(&[2, 3, 5]),
            ..Config::full(10, 5, 7)
        };
        for table in [true, false] {
            let params = Params::<f64>::init(&cfg, &mut Rng::new(8));
            let b = FEW_ROWS + 3;
            let mut batch = Stepper::new(&params, Gemm::new());
            if !table {
                batch.table = None;
            }
            let mut s = StepState::streams(&params, b);
            let mut alone: Vec<(Stepper<f64>, StepState<f64>)> = (0..b)
                .map(|_| (Stepper::new(&params, Gemm::new()), StepState::new(&params)))
                .collect();
            let mut rng = Rng::new(9);
            for _ in 0..5 {
                let tokens: Vec<u32> = (0..b).map(|_| rng.below(10) as u32).collect();
                step(&params, &mut batch, &tokens, &mut s);
                for (i, (st, one)) in alone.iter_mut().enumerate() {
                    step(&params, st, &tokens[i..=i], one);
                    for (a, w) in s.p.row(i).iter().zip(one.p.row(0)) {
                        assert!((a - w).abs() < 1e-13, "stream {i}: {a} vs {w}");
                    }
                    assert!((s.p.row(i).iter().sum::<f64>() - 1.0).abs() < 1e-12);
                }
            }
            assert!(batch.packed.is_some(), "the batch took the packed path");
        }
    }

    /// With bf16 or f16 weights, a step is the f32 step of the rounded
    /// model: the layout of every kernel this CPU has reads exactly the
    /// rounded values (full softmax and classed, one stream and a few, H
    /// past one group of rows so that the alternating order matters), and
    /// rounding did change the model.
    #[test]
    fn half_precision_steps_are_the_steps_of_the_rounded_model() {
        use crate::model::Classes;
        for (weights, classes) in [Weights::Bf16, Weights::F16]
            .into_iter()
            .flat_map(|w| [(w, Classes::none()), (w, Classes::from_sizes(&[20, 30, 19]))])
        {
            let cfg = Config {
                classes,
                ..Config::full(69, 24, 70)
            };
            let exact = Params::<f32>::init(&cfg, &mut Rng::new(21));
            let rounded = in_precision(&exact, weights).unwrap();
            assert_ne!(rounded, exact, "rounding changed nothing");
            assert_eq!(in_precision(&rounded, weights).unwrap(), rounded, "rounding twice");
            assert_eq!(in_precision(&exact, Weights::F32).unwrap(), exact);
            let kernels = crate::matmul::Kernel::ALL
                .into_iter()
                .filter_map(Gemm::<f32>::with_kernel);
            for (b, gemm) in [1, 3].into_iter().flat_map(|b| kernels.clone().map(move |g| (b, g))) {
                let mut half = Stepper::with_weights(&rounded, gemm, weights);
                let mut full = Stepper::new(&rounded, Gemm::new());
                assert_eq!((half.weights(), full.weights()), (weights, Weights::F32));
                let (mut sh, mut sf) = (StepState::streams(&rounded, b), StepState::streams(&rounded, b));
                let mut rng = Rng::new(2);
                for _ in 0..6 {
                    let tokens: Vec<u32> = (0..b).map(|_| rng.below(69) as u32).collect();
                    step(&rounded, &mut half, &tokens, &mut sh);
                    step(&rounded, &mut full, &tokens, &mut sf);
                    for (x, y) in sh.p.as_slice().iter().zip(sf.p.as_slice()) {
                        assert!(
                            (x - y).abs() <= 1e-5 * y.abs() + 1e-7,
                            "{weights:?} b {b}: p {x} vs {y}"
                        );
                    }
                    for (x, y) in sh.h.as_slice().iter().zip(sf.h.as_slice()) {
                        assert!((x - y).abs() <= 1e-5, "{weights:?} b {b}: h {x} vs {y}");
                    }
                }
            }
        }
    }

    #[test]
    fn a_weight_beyond_the_format_is_named() {
        let mut params = Params::<f32>::init(&Config::full(5, 3, 4), &mut Rng::new(1));
        params.w_h.set(1, 2, f32::MAX);
        let err = in_precision(&params, Weights::Bf16).unwrap_err();
        assert!(err.contains("W_h[1, 2]") && err.contains("bf16"), "{err}");
        // f16 ends at 65504: 65519 rounds to it, 65520 would be ∞.
        params.w_h.set(1, 2, 65519.0);
        assert_eq!(in_precision(&params, Weights::F16).unwrap().w_h.get(1, 2), 65504.0);
        params.w_y.set(3, 1, -65520.0);
        let err = in_precision(&params, Weights::F16).unwrap_err();
        assert!(err.contains("W_y[3, 1]") && err.contains("f16"), "{err}");
        for w in Weights::ALL {
            assert_eq!(Weights::parse(w.name()), Some(w));
        }
        assert_eq!(Weights::parse("fp16"), None);
    }

    #[test]
    #[should_panic(expected = "round the model first")]
    fn bf16_weights_refuse_weights_that_are_not_rounded() {
        let params = Params::<f32>::init(&Config::full(5, 3, 4), &mut Rng::new(1));
        Stepper::with_weights(&params, Gemm::new(), Weights::Bf16);
    }

    #[test]
    #[should_panic(expected = "f16 weights: round the model first")]
    fn f16_weights_refuse_weights_that_are_not_rounded() {
        let params = Params::<f32>::init(&Config::full(5, 3, 4), &mut Rng::new(1));
        Stepper::with_weights(&params, Gemm::new(), Weights::F16);
    }

    /// q and each block of p, taken from h alone, equal the whole
    /// distribution's to the bit (one stream and a few), and advancing
    /// leaves p as it was.
    #[test]
    fn class_and_block_probs_are_the_whole_distributions_entries() {
        use crate::model::Classes;
        let cfg = Config {
            classes: Classes::from_sizes(&[7, 1, 12, 30]),
            ..Config::full(50, 6, 20)
        };
        let params = Params::<f32>::init(&cfg, &mut Rng::new(31));
        for b in [1, FEW_ROWS] {
            let mut stepper = Stepper::new(&params, Gemm::new());
            let (mut whole, mut lazy) = (StepState::streams(&params, b), StepState::streams(&params, b));
            let mut rng = Rng::new(5);
            for _ in 0..4 {
                let tokens: Vec<u32> = (0..b).map(|_| rng.below(50) as u32).collect();
                step(&params, &mut stepper, &tokens, &mut whole);
                let stale = lazy.p.clone();
                advance(&params, &mut stepper, &tokens, &mut lazy);
                assert_eq!(lazy.p, stale, "advance touched p");
                assert_eq!(lazy.h, whole.h);
                for r in 0..b {
                    let q = class_probs(&params, &mut stepper, &mut lazy, r).to_vec();
                    assert_eq!(q, whole.q.row(r), "b {b} stream {r}: q");
                    for c in 0..4 {
                        let k = params.config.classes.range(c);
                        let block = block_probs(&params, &mut stepper, &mut lazy, r, c);
                        assert_eq!(block, &whole.p.row(r)[k], "b {b} stream {r} class {c}");
                    }
                }
            }
        }
    }
}
