//! Finite-difference gradient checking, in f64.
//!
//! For each checked entry θ_i, the fourth-order central difference
//!
//! ```text
//!   n = [8·(L(θ + h·e_i) − L(θ − h·e_i)) − (L(θ + 2h·e_i) − L(θ − 2h·e_i))] / 12h
//! ```
//!
//! (truncation error O(h⁴)) against the analytic gradient a from
//! [`crate::model::backward`], compared by
//!
//! ```text
//!   rel(a, n) = |a − n| / max(|a|, |n|, ε)
//! ```
//!
//! Why fourth order: the plain two-point difference needs h ≈ 1e-5 to keep
//! its O(h²) truncation small, and then rounding in L (≈ ε_mach·|L|/h) leaves
//! an absolute noise near 1e-10 — as large as 1e-6 relative on the small
//! gradients of a 50-token model. With O(h⁴) truncation, h = 1e-3 keeps both
//! errors near 1e-12. The floor ε = 1e-4 keeps entries whose true gradient is
//! ~0 from dividing that noise by itself.
//!
//! Every entry of every tensor is checked for small models; for larger ones a
//! seeded random sample per tensor. h_0 is checked like a parameter.

use crate::matmul::Gemm;
use crate::matrix::Matrix;
use crate::model::tie::tie_gradients;
use crate::model::{
    backward, forward, tensor, Config, DropoutMasks, InputPath, Params, TouchedRows, Workspace, TENSOR_NAMES,
};
use crate::rng::Rng;

/// Step of the central difference.
pub const STEP: f64 = 1e-3;
/// Floor of the relative-error denominator (see the module docs).
pub const FLOOR: f64 = 1e-4;
/// The threshold `cargo test` and `rnnlm gradcheck` assert.
pub const THRESHOLD: f64 = 1e-6;

/// `|a − n| / max(|a|, |n|, floor)`; infinite when either gradient is not
/// finite, so a NaN can never look like agreement (`f64::max` and `>` both
/// pass over a NaN, which would let it vanish from the worst case).
pub fn rel_error(analytic: f64, numeric: f64, floor: f64) -> f64 {
    if !analytic.is_finite() || !numeric.is_finite() {
        return f64::INFINITY;
    }
    (analytic - numeric).abs() / analytic.abs().max(numeric.abs()).max(floor)
}

/// The worst entry of one tensor.
#[derive(Clone, Debug)]
pub struct TensorReport {
    pub name: &'static str,
    pub checked: usize,
    pub max_rel_error: f64,
    /// Flat index of the worst entry, and its two gradients.
    pub worst: usize,
    pub analytic: f64,
    pub numeric: f64,
    /// The largest |analytic gradient| checked: 0 means every checked
    /// entry's gradient is zero and the check proves nothing about it.
    pub max_abs: f64,
}

impl TensorReport {
    /// Nothing checked yet.
    pub fn empty(name: &'static str) -> Self {
        TensorReport {
            name,
            checked: 0,
            max_rel_error: 0.0,
            worst: 0,
            analytic: 0.0,
            numeric: 0.0,
            max_abs: 0.0,
        }
    }

    /// Whether every checked gradient entry was zero (a vacuous check).
    pub fn all_zero(&self) -> bool {
        self.checked > 0 && self.max_abs == 0.0
    }
}

/// Results for every parameter tensor and h_0.
#[derive(Clone, Debug)]
pub struct Report {
    pub tensors: Vec<TensorReport>,
}

impl Report {
    /// The largest relative error over every tensor (NaN, should one get
    /// here, counts as the largest).
    pub fn max_rel_error(&self) -> f64 {
        self.tensors
            .iter()
            .map(|t| t.max_rel_error)
            .fold(0.0, |worst, e| if e.is_nan() || e > worst { e } else { worst })
    }

    /// Whether every checked entry agrees to within `threshold`.
    pub fn passes(&self, threshold: f64) -> bool {
        self.max_rel_error() < threshold
    }

    /// The tensor with the largest error.
    pub fn worst(&self) -> &TensorReport {
        self.tensors
            .iter()
            .max_by(|a, b| worse_last(a.max_rel_error).total_cmp(&worse_last(b.max_rel_error)))
            .expect("a report has tensors")
    }
}

/// One gradient-check problem: a model, a chunk and a starting state.
#[derive(Clone, Debug)]
pub struct Case {
    pub config: Config,
    pub batch: usize,
    pub steps: usize,
    pub seed: u64,
    /// h_0 entries drawn from U(−s, s); 0 starts from rest.
    pub h0_scale: f64,
    /// Force an input path; `None` chooses by size.
    pub path: Option<InputPath>,
    /// Check at most this many entries per tensor (`None`: all).
    pub sample: Option<usize>,
    /// Dropout probability (0 = none): masks are drawn once from the seed
    /// and held fixed, so the loss is a function of the parameters alone.
    pub dropout: f64,
}

/// A built problem: parameters, tokens and h_0, all f64.
pub struct Problem {
    pub params: Params<f64>,
    pub inputs: Vec<u32>,
    pub targets: Vec<u32>,
    pub h0: Matrix<f64>,
    /// The fixed dropout masks, if the case has dropout.
    pub masks: Option<DropoutMasks<f64>>,
    pub case: Case,
}

impl Case {
    /// Draw the parameters, a random token stream and h_0 from the seed.
    /// Biases get small random values too, so their gradients are generic.
    pub fn build(&self) -> Problem {
        let mut rng = Rng::new(self.seed);
        let mut params = Params::<f64>::init(&self.config, &mut rng);
        for b in [&mut params.b_h, &mut params.b_y, &mut params.b_c] {
            for x in b.as_mut_slice() {
                *x = rng.uniform_range(-0.1, 0.1);
            }
        }
        let n = self.batch * self.steps;
        // A stream of n + 1 tokens per position: targets are inputs shifted.
        let stream: Vec<u32> = (0..n + self.batch)
            .map(|_| rng.below(self.config.vocab) as u32)
            .collect();
        let inputs = stream[..n].to_vec();
        let targets = stream[self.batch..].to_vec();
        let h0 = Matrix::uniform(self.batch, self.config.hidden, -self.h0_scale, self.h0_scale, &mut rng);
        let (d, h) = (self.config.embed, self.config.hidden);
        let masks = (self.dropout > 0.0).then(|| DropoutMasks::draw(n, d, h, self.dropout, &mut rng));
        Problem {
            params,
            inputs,
            targets,
            h0,
            masks,
            case: self.clone(),
        }
    }
}

impl Problem {
    fn workspace(&self) -> Workspace<f64> {
        let mut ws = Workspace::new(Gemm::new());
        ws.force_path = self.case.path;
        ws.dropout = self.masks.clone();
        ws
    }

    /// L(θ, h_0) for the problem's chunk.
    pub fn loss(&self, params: &Params<f64>, h0: &Matrix<f64>, ws: &mut Workspace<f64>) -> f64 {
        forward(params, &self.inputs, &self.targets, self.case.batch, h0.view(), ws)
    }

    /// Analytic gradients: (∂L/∂θ, ∂L/∂h_0).
    pub fn analytic(&self) -> (Params<f64>, Matrix<f64>) {
        let mut ws = self.workspace();
        let mut grads = Params::zeros(&self.params.config);
        self.loss(&self.params, &self.h0, &mut ws);
        backward(&self.params, &mut grads, &mut ws);
        if self.params.config.tied {
            // One matrix as E and W_y: its gradient is the sum (eq. 33).
            tie_gradients(&mut grads, &TouchedRows::all(), 1);
        }
        (grads, ws.dh0().clone())
    }

    /// Check the analytic gradients of the model against central differences.
    pub fn check(&self) -> Report {
        let (grads, dh0) = self.analytic();
        self.check_against(&grads, &dh0)
    }

    /// Check the given gradients (e.g. a deliberately wrong one) against
    /// central differences.
    pub fn check_against(&self, grads: &Params<f64>, dh0: &Matrix<f64>) -> Report {
        let mut ws = self.workspace();
        let mut rng = Rng::new(self.case.seed ^ 0x5EED);
        let mut params = self.params.clone();
        let mut h0 = self.h0.clone();
        let mut tensors = Vec::new();
        for (ti, name) in TENSOR_NAMES.iter().enumerate() {
            let analytic = grads.tensors()[ti].as_slice().to_vec();
            if analytic.is_empty() {
                continue; // W_c, b_c of a full-softmax model
            }
            let indices = self.indices(analytic.len(), &mut rng);
            let mut report = TensorReport::empty(name);
            // A tied model's E and W_y are one parameter: moving an entry
            // moves it in both, and the difference sees both paths.
            let tied = self.params.config.tied && (ti == tensor::E || ti == tensor::W_Y);
            let set = |params: &mut Params<f64>, i: usize, x: f64| {
                let ts = params.tensors_mut();
                ts[ti].as_mut_slice()[i] = x;
                if tied {
                    ts[tensor::E].as_mut_slice()[i] = x;
                    ts[tensor::W_Y].as_mut_slice()[i] = x;
                }
            };
            for i in indices {
                let orig = params.tensors()[ti].as_slice()[i];
                let numeric = central_difference(|x| {
                    set(&mut params, i, orig + x);
                    self.loss(&params, &h0, &mut ws)
                });
                set(&mut params, i, orig);
                record(&mut report, i, analytic[i], numeric);
            }
            tensors.push(report);
        }
        // h_0, like a parameter.
        let analytic = dh0.as_slice().to_vec();
        let mut report = TensorReport::empty("h_0");
        for i in self.indices(analytic.len(), &mut rng) {
            let orig = h0.as_slice()[i];
            let numeric = central_difference(|x| {
                h0.as_mut_slice()[i] = orig + x;
                self.loss(&params, &h0, &mut ws)
            });
            h0.as_mut_slice()[i] = orig;
            record(&mut report, i, analytic[i], numeric);
        }
        tensors.push(report);
        Report { tensors }
    }

    /// All indices, or a seeded sample without repeats.
    fn indices(&self, len: usize, rng: &mut Rng) -> Vec<usize> {
        match self.case.sample {
            Some(k) if k < len => {
                // Partial Fisher–Yates: the first k of a random permutation.
                let mut all: Vec<usize> = (0..len).collect();
                for i in 0..k {
                    let j = i + rng.below(len - i);
                    all.swap(i, j);
                }
                all.truncate(k);
                all
            }
            _ => (0..len).collect(),
        }
    }
}

/// Fourth-order central difference of `f` at 0:
/// `[8(f(h) − f(−h)) − (f(2h) − f(−2h))] / 12h`, truncation error O(h⁴).
pub fn central_difference(mut f: impl FnMut(f64) -> f64) -> f64 {
    let h = STEP;
    let (p1, m1) = (f(h), f(-h));
    let (p2, m2) = (f(2.0 * h), f(-2.0 * h));
    (8.0 * (p1 - m1) - (p2 - m2)) / (12.0 * h)
}

/// Orders errors with NaN above +∞ (the worst an error can be).
fn worse_last(e: f64) -> f64 {
    if e.is_nan() {
        f64::INFINITY
    } else {
        e
    }
}

fn record(report: &mut TensorReport, i: usize, analytic: f64, numeric: f64) {
    let err = rel_error(analytic, numeric, FLOOR);
    report.checked += 1;
    report.max_abs = report.max_abs.max(analytic.abs());
    // `rel_error` maps non-finite gradients to +∞; a NaN is still kept here
    // should one ever reach this point (`>` alone would pass over it).
    if err.is_nan() || err > report.max_rel_error || report.checked == 1 {
        report.max_rel_error = err;
        report.worst = i;
        report.analytic = analytic;
        report.numeric = numeric;
    }
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{:<6} {:>8} {:>14} {:>16} {:>16}",
            "tensor", "checked", "max rel err", "analytic", "numeric"
        )?;
        for t in &self.tensors {
            writeln!(
                f,
                "{:<6} {:>8} {:>14.3e} {:>16.9e} {:>16.9e}{}",
                t.name,
                t.checked,
                t.max_rel_error,
                t.analytic,
                t.numeric,
                if t.all_zero() {
                    "  (all zero: nothing checked)"
                } else {
                    ""
                }
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A NaN after an agreeing entry, on either side, must become the worst
    /// entry and fail the report: `>` and `f64::max` would both drop it.
    #[test]
    fn a_nan_gradient_on_either_side_fails_the_check() {
        for (analytic, numeric) in [(f64::NAN, 0.5), (0.5, f64::NAN), (f64::INFINITY, 0.5)] {
            let mut t = TensorReport::empty("W_h");
            record(&mut t, 0, 0.5, 0.5);
            record(&mut t, 1, analytic, numeric);
            assert_eq!(t.worst, 1, "non-finite entry not kept as the worst");
            let report = Report {
                tensors: vec![TensorReport::empty("E"), t],
            };
            assert!(!report.passes(THRESHOLD), "{report}");
            assert_eq!(report.worst().name, "W_h");
        }
        // A NaN that reached a tensor's maximum directly still counts.
        let mut t = TensorReport::empty("b_y");
        t.max_rel_error = f64::NAN;
        let report = Report {
            tensors: vec![t, TensorReport::empty("E")],
        };
        assert!(!report.passes(THRESHOLD));
        assert_eq!(report.worst().name, "b_y");
    }
}
