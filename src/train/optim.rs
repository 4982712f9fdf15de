//! Optimizers: SGD, Adagrad, Adam — and clipping by global norm.
//!
//! State tensors reuse the [`Params`] layout. Each update is written as the
//! textbook formula it implements.

use crate::model::{Params, Span, TouchedRows};
use crate::workers::{run_each, split_pairs, MIN_ELEMENTS_PER_WORKER};

/// Which update rule (the `--optimizer` flag).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OptimizerKind {
    Sgd,
    Adagrad,
    Adam,
}

impl OptimizerKind {
    /// Every rule, in the order the help lists them.
    pub const ALL: [OptimizerKind; 3] = [OptimizerKind::Sgd, OptimizerKind::Adagrad, OptimizerKind::Adam];

    pub fn name(self) -> &'static str {
        match self {
            OptimizerKind::Sgd => "sgd",
            OptimizerKind::Adagrad => "adagrad",
            OptimizerKind::Adam => "adam",
        }
    }
    pub fn parse(s: &str) -> Option<OptimizerKind> {
        OptimizerKind::ALL.into_iter().find(|k| k.name() == s)
    }
    /// The default learning rate of this rule: the one place it is declared
    /// (`--lr`'s help is written from it).
    pub fn default_lr(self) -> f64 {
        match self {
            OptimizerKind::Sgd => 1.0,
            OptimizerKind::Adagrad => 0.1,
            OptimizerKind::Adam => 2e-3,
        }
    }
}

pub const ADAM_BETA1: f64 = 0.9;
pub const ADAM_BETA2: f64 = 0.999;
pub const EPS: f64 = 1e-8;

/// An optimizer with its state: each rule holds exactly what it needs.
#[derive(Clone, Debug, PartialEq)]
#[allow(clippy::large_enum_variant)] // one per run; the tensors are on the heap anyway
pub enum Optimizer {
    /// W ← W − lr·g: no state.
    Sgd,
    /// Σ g² per entry.
    Adagrad { sum_sq: Params<f32> },
    /// First and second moments, and the updates taken (bias correction).
    Adam { m: Params<f32>, v: Params<f32>, t: u64 },
}

impl Optimizer {
    /// A rule with zero state for parameters shaped like `like`.
    pub fn new(kind: OptimizerKind, like: &Params<f32>) -> Self {
        let zeros = || Params::zeros(&like.config);
        match kind {
            OptimizerKind::Sgd => Optimizer::Sgd,
            OptimizerKind::Adagrad => Optimizer::Adagrad { sum_sq: zeros() },
            OptimizerKind::Adam => Optimizer::Adam {
                m: zeros(),
                v: zeros(),
                t: 0,
            },
        }
    }

    pub fn kind(&self) -> OptimizerKind {
        match self {
            Optimizer::Sgd => OptimizerKind::Sgd,
            Optimizer::Adagrad { .. } => OptimizerKind::Adagrad,
            Optimizer::Adam { .. } => OptimizerKind::Adam,
        }
    }

    /// The entries an update must visit, given the rows the gradient can be
    /// non-zero in: for SGD and Adagrad only those (where g = 0 they leave
    /// the weight, and Adagrad its Σg², exactly as it is); for Adam every
    /// entry (its moments decay even where g = 0).
    pub fn spans_to_update(&self, params: &Params<f32>, touched: &TouchedRows) -> Vec<Span> {
        match self {
            Optimizer::Sgd | Optimizer::Adagrad { .. } => params.spans(touched),
            Optimizer::Adam { .. } => params.spans(&TouchedRows::all()),
        }
    }

    /// One update with learning rate `lr` of the entries in `spans` (see
    /// [`Optimizer::spans_to_update`]), reading the gradient as `grad_scale`·g
    /// (clipping's factor; 1 leaves it exact), on up to `threads` threads
    /// (each entry's update is independent, so the split changes no bit).
    /// The update consumes the gradient: each entry of `grads` it reads is
    /// set to zero, so a gradient buffer that only ever has these spans
    /// written is all zero again afterwards. Returns whether every updated
    /// weight is finite (checked in the same pass).
    pub fn step(
        &mut self,
        params: &mut Params<f32>,
        grads: &mut Params<f32>,
        lr: f64,
        spans: &[Span],
        grad_scale: f32,
        threads: usize,
    ) -> bool {
        let lr = lr as f32;
        let s = grad_scale;
        let wg: Vec<(&mut [f32], &mut [f32])> = params
            .span_slices(spans)
            .into_iter()
            .zip(grads.span_slices(spans))
            .collect();
        let split = |items| split_pairs(items, threads, MIN_ELEMENTS_PER_WORKER);
        let all = |results: Vec<bool>| results.into_iter().all(|f| f);
        match self {
            // W ← W − lr·g
            Optimizer::Sgd => all(run_each(split(wg), |part| {
                let mut finite = true;
                for (w, g) in part {
                    for (w, g) in w.iter_mut().zip(g) {
                        *w -= lr * (s * std::mem::take(g));
                        finite &= w.is_finite();
                    }
                }
                finite
            })),
            // G ← G + g²;  W ← W − lr·g / (√G + ε)
            Optimizer::Adagrad { sum_sq } => {
                let items = wg.into_iter().zip(sum_sq.span_slices(spans)).collect();
                all(run_each(split_pairs(items, threads, MIN_ELEMENTS_PER_WORKER), |part| {
                    let mut finite = true;
                    for ((w, g), a) in part {
                        for ((w, g), a) in w.iter_mut().zip(g).zip(a) {
                            let g = s * std::mem::take(g);
                            *a += g * g;
                            *w -= lr * g / (a.sqrt() + EPS as f32);
                            finite &= w.is_finite();
                        }
                    }
                    finite
                }))
            }
            // m ← β₁m + (1−β₁)g;  v ← β₂v + (1−β₂)g²;
            // W ← W − lr·m̂ / (√v̂ + ε),  m̂ = m/(1−β₁ᵗ), v̂ = v/(1−β₂ᵗ)
            Optimizer::Adam { m, v, t } => {
                *t += 1;
                let (b1, b2) = (ADAM_BETA1 as f32, ADAM_BETA2 as f32);
                let c1 = 1.0 / (1.0 - ADAM_BETA1.powi(*t as i32)) as f32;
                let c2 = 1.0 / (1.0 - ADAM_BETA2.powi(*t as i32)) as f32;
                let mv = m.span_slices(spans).into_iter().zip(v.span_slices(spans));
                let items = wg.into_iter().zip(mv).collect();
                all(run_each(split_pairs(items, threads, MIN_ELEMENTS_PER_WORKER), |part| {
                    let mut finite = true;
                    for ((w, g), (m, v)) in part {
                        for (((w, g), m), v) in w.iter_mut().zip(g).zip(m).zip(v) {
                            let g = s * std::mem::take(g);
                            *m = b1 * *m + (1.0 - b1) * g;
                            *v = b2 * *v + (1.0 - b2) * g * g;
                            *w -= lr * (*m * c1) / ((*v * c2).sqrt() + EPS as f32);
                            finite &= w.is_finite();
                        }
                    }
                    finite
                }))
            }
        }
    }
}

/// The factor clipping to `max_norm` (0 = off) applies to a gradient of
/// norm `norm`: 1 unless the norm is larger.
pub fn clip_factor(norm: f64, max_norm: f64) -> f32 {
    if max_norm > 0.0 && norm > max_norm {
        (max_norm / norm) as f32
    } else {
        1.0
    }
}

/// Scale the gradient in `spans` so its global norm is at most `max_norm`
/// (0 = off); the spans must cover every entry that is not zero. Returns
/// the norm before clipping.
pub fn clip_global_norm(grads: &mut Params<f32>, spans: &[Span], max_norm: f64) -> f64 {
    let norm = grads.norm_in(spans, 1);
    let factor = clip_factor(norm, max_norm);
    if factor != 1.0 {
        grads.scale_in(spans, factor);
    }
    norm
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Classes, Config};

    /// Every tensor 1 × 1 (V = D = H = 1, one class), entry `v`.
    fn one(v: f32) -> Params<f32> {
        let config = Config {
            classes: Classes::from_sizes(&[1]),
            ..Config::full(1, 1, 1)
        };
        let mut p = Params::zeros(&config);
        for t in p.tensors_mut() {
            t.as_mut_slice()[0] = v;
        }
        p
    }

    #[test]
    fn sgd_is_exactly_w_minus_lr_g() {
        let mut w = one(1.0);
        let mut o = Optimizer::new(OptimizerKind::Sgd, &w);
        let all = w.spans(&TouchedRows::all());
        o.step(&mut w, &mut one(0.5), 0.1, &all, 1.0, 1);
        assert!(w.tensors().iter().all(|t| t.as_slice()[0] == 1.0 - 0.1 * 0.5));
    }

    #[test]
    fn adam_first_step_moves_by_lr() {
        // m̂ = g, v̂ = g² on step 1, so the step is lr·g/|g| = lr·sign(g).
        let mut w = one(1.0);
        let mut o = Optimizer::new(OptimizerKind::Adam, &w);
        let all = w.spans(&TouchedRows::all());
        o.step(&mut w, &mut one(-3.0), 0.01, &all, 1.0, 1);
        assert!(w.tensors().iter().all(|t| (t.as_slice()[0] - 1.01).abs() < 1e-6));
    }

    #[test]
    fn adagrad_first_step_moves_by_lr() {
        let mut w = one(1.0);
        let mut o = Optimizer::new(OptimizerKind::Adagrad, &w);
        let all = w.spans(&TouchedRows::all());
        o.step(&mut w, &mut one(2.0), 0.1, &all, 1.0, 1);
        assert!(w.tensors().iter().all(|t| (t.as_slice()[0] - 0.9).abs() < 1e-6));
    }

    #[test]
    fn clipping_scales_to_the_max_norm() {
        let mut g = one(3.0); // eight entries of 3: norm = 3·√8
        let all = g.spans(&TouchedRows::all());
        let before = clip_global_norm(&mut g, &all, 1.0);
        assert!((before - 3.0 * 8f64.sqrt()).abs() < 1e-5);
        assert!((g.global_norm() - 1.0).abs() < 1e-5);
        let mut g = one(0.1);
        clip_global_norm(&mut g, &all, 1.0);
        assert_eq!(g, one(0.1));
    }
}
