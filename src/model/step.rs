//! One token at a time, B = 1: the forward equations without the chunk
//! machinery — no packing, no cache, no allocation per token. Generation
//! feeds each sampled token back through [`step`].
//!
//! With one row, every product is a row vector times a matrix, which
//! [`Gemm::gemm`] sends to its gemv path: each weight is read once, in place.

use super::classed::classed_distribution;
use super::layers::{bias_forward, softmax_returning_log_z, tanh_forward};
use super::params::Params;
use crate::matmul::Gemm;
use crate::matrix::Matrix;
use crate::scalar::Float;

/// The recurrent state and the last prediction of one stream.
#[derive(Clone, Debug)]
pub struct StepState<T> {
    /// h_t `[1, H]`.
    pub h: Matrix<T>,
    /// a_t `[1, H]` (scratch).
    a: Matrix<T>,
    /// p_t `[1, V]`: the distribution of the next token.
    pub p: Matrix<T>,
    /// q_t `[1, C]`: the class distribution (classed models; scratch).
    q: Matrix<T>,
}

impl<T: Float> StepState<T> {
    /// h_0 = 0, p uniform.
    pub fn new(params: &Params<T>) -> Self {
        let (v, h) = (params.config.vocab, params.config.hidden);
        StepState {
            h: Matrix::zeros(1, h),
            a: Matrix::zeros(1, h),
            p: Matrix::filled(1, v, T::one() / T::from_usize(v)),
            q: Matrix::zeros(1, params.config.classes.count()),
        }
    }
}

/// Feed token x: advance h and set p to the next-token distribution.
///
/// # Panics
/// If `token >= V`.
pub fn step<T: Float>(params: &Params<T>, token: u32, s: &mut StepState<T>, gemm: &mut Gemm<T>) {
    // e = E[x]  (eq. 1)                                              [1, D]
    let e = params.e.rows_view(token as usize, 1);
    // a = W_x e + W_h h_{t−1} + b_h  (eq. 2)
    gemm.gemm(T::one(), e, params.w_x.view().t(), T::zero(), s.a.view_mut());
    gemm.gemm(T::one(), s.h.view(), params.w_h.view().t(), T::one(), s.a.view_mut());
    bias_forward(s.a.as_mut_slice(), params.b_h.as_slice());
    // h = tanh(a)  (eq. 3)
    tanh_forward(s.a.as_mut_slice());
    std::mem::swap(&mut s.h, &mut s.a);
    if !params.config.classes.is_none() {
        // p[w] = q[c(w)] · softmax within c(w)'s block  (eqs. 17–20)
        return classed_distribution(params, s.h.view(), &mut s.q, &mut s.p, gemm);
    }
    // z = W_y h + b_y;  p = softmax(z)  (eqs. 4, 5)
    gemm.gemm(T::one(), s.h.view(), params.w_y.view().t(), T::zero(), s.p.view_mut());
    bias_forward(s.p.as_mut_slice(), params.b_y.as_slice());
    softmax_returning_log_z(s.p.as_mut_slice());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{forward, Config, Workspace};
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
        let mut gemm = Gemm::new();
        for (t, &x) in tokens[..n].iter().enumerate() {
            step(&params, x, &mut s, &mut gemm);
            for (a, b) in s.p.as_slice().iter().zip(ws.probs().row(t)) {
                assert!((a - b).abs() < 1e-14, "step {t}: p differs: {a} vs {b}");
            }
        }
        for (a, b) in s.h.as_slice().iter().zip(ws.last_hidden().data()) {
            assert!((a - b).abs() < 1e-14);
        }
    }
}
