//! The learned tensors, their shapes, and their initialization — in one place.
//!
//! Gradients ([`Params`] again) and optimizer state reuse this layout, so
//! everything that walks "all parameters" walks [`Params::tensors`].

use crate::matrix::Matrix;
use crate::rng::Rng;
use crate::scalar::Float;

/// Model sizes: V vocabulary, D embedding, H hidden.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// V: number of token ids.
    pub vocab: usize,
    /// D: embedding width.
    pub embed: usize,
    /// H: hidden-state width.
    pub hidden: usize,
}

impl Config {
    /// Number of scalars in all six tensors.
    pub fn num_params(&self) -> usize {
        let (v, d, h) = (self.vocab, self.embed, self.hidden);
        v * d + h * d + h * h + h + v * h + v
    }
}

/// Names of the six tensors, in [`Params::tensors`] order.
pub const TENSOR_NAMES: [&str; 6] = ["E", "W_x", "W_h", "b_h", "W_y", "b_y"];

/// The learned weights (or, with the same layout, their gradients).
#[derive(Clone, Debug, PartialEq)]
pub struct Params<T> {
    pub config: Config,
    /// Embedding table, `[V, D]`: row v is e for token v.          (eq. 1)
    pub e: Matrix<T>,
    /// Input-to-hidden, `[H, D]`.                                  (eq. 2)
    pub w_x: Matrix<T>,
    /// Hidden-to-hidden, `[H, H]`.                                 (eq. 2)
    pub w_h: Matrix<T>,
    /// Hidden bias, `[1, H]`.                                      (eq. 2)
    pub b_h: Matrix<T>,
    /// Hidden-to-output, `[V, H]`.                                 (eq. 4)
    pub w_y: Matrix<T>,
    /// Output bias, `[1, V]`.                                      (eq. 4)
    pub b_y: Matrix<T>,
}

impl<T: Float> Params<T> {
    /// All six tensors zero (the starting point of a gradient).
    pub fn zeros(config: Config) -> Self {
        let Config {
            vocab: v,
            embed: d,
            hidden: h,
        } = config;
        Params {
            config,
            e: Matrix::zeros(v, d),
            w_x: Matrix::zeros(h, d),
            w_h: Matrix::zeros(h, h),
            b_h: Matrix::zeros(1, h),
            w_y: Matrix::zeros(v, h),
            b_y: Matrix::zeros(1, v),
        }
    }

    /// Seeded initialization, the scheme of PyTorch's `nn.Embedding`,
    /// `nn.RNN` and `nn.Linear` (so numbers are comparable with that reference):
    ///
    /// - `E ~ N(0, 1)`: embeddings of unit scale;
    /// - `W_x, W_h ~ U(−1/√H, 1/√H)`: each pre-activation a_t is a sum of D + H
    ///   terms, so its variance stays O(1) and tanh starts in its linear range;
    /// - `W_y ~ U(−1/√H, 1/√H)`: logits start small, so p_t is near uniform and
    ///   the first loss is ≈ ln V (the sanity check in the tests);
    /// - `b_h = 0, b_y = 0`.
    pub fn init(config: Config, rng: &mut Rng) -> Self {
        let Config {
            vocab: v,
            embed: d,
            hidden: h,
        } = config;
        let s = 1.0 / (h as f64).sqrt();
        Params {
            config,
            e: Matrix::normal(v, d, 1.0, rng),
            w_x: Matrix::uniform(h, d, -s, s, rng),
            w_h: Matrix::uniform(h, h, -s, s, rng),
            b_h: Matrix::zeros(1, h),
            w_y: Matrix::uniform(v, h, -s, s, rng),
            b_y: Matrix::zeros(1, v),
        }
    }

    /// The six tensors in [`TENSOR_NAMES`] order.
    pub fn tensors(&self) -> [&Matrix<T>; 6] {
        [&self.e, &self.w_x, &self.w_h, &self.b_h, &self.w_y, &self.b_y]
    }

    /// The six tensors, writable, in [`TENSOR_NAMES`] order.
    pub fn tensors_mut(&mut self) -> [&mut Matrix<T>; 6] {
        [
            &mut self.e,
            &mut self.w_x,
            &mut self.w_h,
            &mut self.b_h,
            &mut self.w_y,
            &mut self.b_y,
        ]
    }

    /// Set every entry to zero (the caller zeroes gradients once per step;
    /// backward adds into them).
    pub fn fill_zero(&mut self) {
        for t in self.tensors_mut() {
            t.fill_zero();
        }
    }

    /// Convert to another precision (f32 ⇄ f64).
    pub fn cast<U: Float>(&self) -> Params<U> {
        let conv = |m: &Matrix<T>| {
            Matrix::from_vec(
                m.rows(),
                m.cols(),
                m.as_slice().iter().map(|x| U::from_f64(x.to_f64())).collect(),
            )
        };
        Params {
            config: self.config,
            e: conv(&self.e),
            w_x: conv(&self.w_x),
            w_h: conv(&self.w_h),
            b_h: conv(&self.b_h),
            w_y: conv(&self.w_y),
            b_y: conv(&self.b_y),
        }
    }

    /// Euclidean norm over all six tensors (for gradient clipping).
    pub fn global_norm(&self) -> f64 {
        self.tensors()
            .iter()
            .flat_map(|t| t.as_slice())
            .map(|x| x.to_f64() * x.to_f64())
            .sum::<f64>()
            .sqrt()
    }

    /// Whether every entry is finite.
    pub fn all_finite(&self) -> bool {
        self.tensors()
            .iter()
            .all(|t| t.as_slice().iter().all(|x| x.is_finite()))
    }
}
