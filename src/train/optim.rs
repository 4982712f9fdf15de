//! Optimizers: SGD, Adagrad, Adam — and clipping by global norm.
//!
//! State tensors reuse the [`Params`] layout. Each update is written as the
//! textbook formula it implements.

use crate::model::{Params, Span, TouchedRows};

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
    /// [`Optimizer::spans_to_update`]). The update consumes the gradient: each
    /// entry of `grads` it reads is set to zero, so a gradient buffer that
    /// only ever has these spans written is all zero again afterwards.
    /// Returns whether every updated weight is finite (checked in the same
    /// pass).
    pub fn step(&mut self, params: &mut Params<f32>, grads: &mut Params<f32>, lr: f64, spans: &[Span]) -> bool {
        let lr = lr as f32;
        let mut finite = true;
        match self {
            // W ← W − lr·g
            Optimizer::Sgd => {
                for span in spans {
                    for (w, g) in params.span_mut(span).iter_mut().zip(grads.span_mut(span)) {
                        *w -= lr * std::mem::take(g);
                        finite &= w.is_finite();
                    }
                }
            }
            // G ← G + g²;  W ← W − lr·g / (√G + ε)
            Optimizer::Adagrad { sum_sq } => {
                for span in spans {
                    let it = params
                        .span_mut(span)
                        .iter_mut()
                        .zip(grads.span_mut(span))
                        .zip(sum_sq.span_mut(span));
                    for ((w, g), a) in it {
                        let g = std::mem::take(g);
                        *a += g * g;
                        *w -= lr * g / (a.sqrt() + EPS as f32);
                        finite &= w.is_finite();
                    }
                }
            }
            // m ← β₁m + (1−β₁)g;  v ← β₂v + (1−β₂)g²;
            // W ← W − lr·m̂ / (√v̂ + ε),  m̂ = m/(1−β₁ᵗ), v̂ = v/(1−β₂ᵗ)
            Optimizer::Adam { m, v, t } => {
                *t += 1;
                let (b1, b2) = (ADAM_BETA1 as f32, ADAM_BETA2 as f32);
                let c1 = 1.0 / (1.0 - ADAM_BETA1.powi(*t as i32)) as f32;
                let c2 = 1.0 / (1.0 - ADAM_BETA2.powi(*t as i32)) as f32;
                for span in spans {
                    let it = params
                        .span_mut(span)
                        .iter_mut()
                        .zip(grads.span_mut(span))
                        .zip(m.span_mut(span))
                        .zip(v.span_mut(span));
                    for (((w, g), m), v) in it {
                        let g = std::mem::take(g);
                        *m = b1 * *m + (1.0 - b1) * g;
                        *v = b2 * *v + (1.0 - b2) * g * g;
                        *w -= lr * (*m * c1) / ((*v * c2).sqrt() + EPS as f32);
                        finite &= w.is_finite();
                    }
                }
            }
        }
        finite
    }
}

/// Scale the gradient in `spans` so its global norm is at most `max_norm`
/// (0 = off); the spans must cover every entry that is not zero. Returns
/// the norm before clipping.
pub fn clip_global_norm(grads: &mut Params<f32>, spans: &[Span], max_norm: f64) -> f64 {
    let norm = grads.norm_in(spans);
    if max_norm > 0.0 && norm > max_norm {
        grads.scale_in(spans, (max_norm / norm) as f32);
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
        o.step(&mut w, &mut one(0.5), 0.1, &all);
        assert!(w.tensors().iter().all(|t| t.as_slice()[0] == 1.0 - 0.1 * 0.5));
    }

    #[test]
    fn adam_first_step_moves_by_lr() {
        // m̂ = g, v̂ = g² on step 1, so the step is lr·g/|g| = lr·sign(g).
        let mut w = one(1.0);
        let mut o = Optimizer::new(OptimizerKind::Adam, &w);
        let all = w.spans(&TouchedRows::all());
        o.step(&mut w, &mut one(-3.0), 0.01, &all);
        assert!(w.tensors().iter().all(|t| (t.as_slice()[0] - 1.01).abs() < 1e-6));
    }

    #[test]
    fn adagrad_first_step_moves_by_lr() {
        let mut w = one(1.0);
        let mut o = Optimizer::new(OptimizerKind::Adagrad, &w);
        let all = w.spans(&TouchedRows::all());
        o.step(&mut w, &mut one(2.0), 0.1, &all);
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
