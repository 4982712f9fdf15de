//! Optimizers: SGD, Adagrad, Adam — and clipping by global norm.
//!
//! State tensors reuse the [`Params`] layout. Each update is written as the
//! textbook formula it implements.

use crate::model::Params;

/// Which update rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Sgd,
    Adagrad,
    Adam,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Sgd => "sgd",
            Kind::Adagrad => "adagrad",
            Kind::Adam => "adam",
        }
    }
    pub fn parse(s: &str) -> Option<Kind> {
        [Kind::Sgd, Kind::Adagrad, Kind::Adam]
            .into_iter()
            .find(|k| k.name() == s)
    }
    /// A sensible default learning rate for this rule.
    pub fn default_lr(self) -> f64 {
        match self {
            Kind::Sgd => 1.0,
            Kind::Adagrad => 0.1,
            Kind::Adam => 2e-3,
        }
    }
}

pub const ADAM_BETA1: f64 = 0.9;
pub const ADAM_BETA2: f64 = 0.999;
pub const EPS: f64 = 1e-8;

/// An optimizer with its state.
#[derive(Clone, Debug, PartialEq)]
pub struct Optimizer {
    pub kind: Kind,
    /// Adagrad: Σ g²; Adam: first moment m.
    pub s1: Option<Params<f32>>,
    /// Adam: second moment v.
    pub s2: Option<Params<f32>>,
    /// Updates taken (Adam's bias correction).
    pub t: u64,
}

impl Optimizer {
    pub fn new(kind: Kind, like: &Params<f32>) -> Self {
        let zeros = || Some(Params::zeros(like.config));
        let (s1, s2) = match kind {
            Kind::Sgd => (None, None),
            Kind::Adagrad => (zeros(), None),
            Kind::Adam => (zeros(), zeros()),
        };
        Optimizer { kind, s1, s2, t: 0 }
    }

    /// One update with learning rate `lr`.
    pub fn step(&mut self, params: &mut Params<f32>, grads: &Params<f32>, lr: f64) {
        self.t += 1;
        let lr = lr as f32;
        match self.kind {
            // W ← W − lr·g
            Kind::Sgd => {
                for (w, g) in params.tensors_mut().into_iter().zip(grads.tensors()) {
                    for (w, &g) in w.as_mut_slice().iter_mut().zip(g.as_slice()) {
                        *w -= lr * g;
                    }
                }
            }
            // G ← G + g²;  W ← W − lr·g / (√G + ε)
            Kind::Adagrad => {
                let s = self.s1.as_mut().expect("adagrad state");
                for ((w, g), acc) in params
                    .tensors_mut()
                    .into_iter()
                    .zip(grads.tensors())
                    .zip(s.tensors_mut())
                {
                    let it = w.as_mut_slice().iter_mut().zip(g.as_slice()).zip(acc.as_mut_slice());
                    for ((w, &g), a) in it {
                        *a += g * g;
                        *w -= lr * g / (a.sqrt() + EPS as f32);
                    }
                }
            }
            // m ← β₁m + (1−β₁)g;  v ← β₂v + (1−β₂)g²;
            // W ← W − lr·m̂ / (√v̂ + ε),  m̂ = m/(1−β₁ᵗ), v̂ = v/(1−β₂ᵗ)
            Kind::Adam => {
                let (b1, b2) = (ADAM_BETA1 as f32, ADAM_BETA2 as f32);
                let c1 = 1.0 / (1.0 - ADAM_BETA1.powi(self.t as i32)) as f32;
                let c2 = 1.0 / (1.0 - ADAM_BETA2.powi(self.t as i32)) as f32;
                let m = self.s1.as_mut().expect("adam m");
                let v = self.s2.as_mut().expect("adam v");
                let tensors = params
                    .tensors_mut()
                    .into_iter()
                    .zip(grads.tensors())
                    .zip(m.tensors_mut())
                    .zip(v.tensors_mut());
                for (((w, g), m), v) in tensors {
                    let it = w
                        .as_mut_slice()
                        .iter_mut()
                        .zip(g.as_slice())
                        .zip(m.as_mut_slice())
                        .zip(v.as_mut_slice());
                    for (((w, &g), m), v) in it {
                        *m = b1 * *m + (1.0 - b1) * g;
                        *v = b2 * *v + (1.0 - b2) * g * g;
                        *w -= lr * (*m * c1) / ((*v * c2).sqrt() + EPS as f32);
                    }
                }
            }
        }
    }
}

/// Scale `grads` so their global norm is at most `max_norm` (0 = off).
/// Returns the norm before clipping.
pub fn clip_global_norm(grads: &mut Params<f32>, max_norm: f64) -> f64 {
    let norm = grads.global_norm();
    if max_norm > 0.0 && norm > max_norm {
        let s = (max_norm / norm) as f32;
        for t in grads.tensors_mut() {
            t.as_mut_slice().iter_mut().for_each(|x| *x *= s);
        }
    }
    norm
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Config;

    fn one(v: f32) -> Params<f32> {
        let mut p = Params::zeros(Config {
            vocab: 1,
            embed: 1,
            hidden: 1,
        });
        for t in p.tensors_mut() {
            t.as_mut_slice()[0] = v;
        }
        p
    }

    #[test]
    fn sgd_is_exactly_w_minus_lr_g() {
        let mut w = one(1.0);
        let mut o = Optimizer::new(Kind::Sgd, &w);
        o.step(&mut w, &one(0.5), 0.1);
        assert!(w.tensors().iter().all(|t| t.as_slice()[0] == 1.0 - 0.1 * 0.5));
    }

    #[test]
    fn adam_first_step_moves_by_lr() {
        // m̂ = g, v̂ = g² on step 1, so the step is lr·g/|g| = lr·sign(g).
        let mut w = one(1.0);
        let mut o = Optimizer::new(Kind::Adam, &w);
        o.step(&mut w, &one(-3.0), 0.01);
        assert!(w.tensors().iter().all(|t| (t.as_slice()[0] - 1.01).abs() < 1e-6));
    }

    #[test]
    fn adagrad_first_step_moves_by_lr() {
        let mut w = one(1.0);
        let mut o = Optimizer::new(Kind::Adagrad, &w);
        o.step(&mut w, &one(2.0), 0.1);
        assert!(w.tensors().iter().all(|t| (t.as_slice()[0] - 0.9).abs() < 1e-6));
    }

    #[test]
    fn clipping_scales_to_the_max_norm() {
        let mut g = one(3.0); // six entries of 3: norm = 3·√6
        let before = clip_global_norm(&mut g, 1.0);
        assert!((before - 3.0 * 6f64.sqrt()).abs() < 1e-5);
        assert!((g.global_norm() - 1.0).abs() < 1e-5);
        let mut g = one(0.1);
        clip_global_norm(&mut g, 1.0);
        assert_eq!(g, one(0.1));
    }
}
