//! The learned tensors, their shapes, and their initialization — in one place.
//!
//! Gradients ([`Params`] again) and optimizer state reuse this layout, so
//! everything that walks "all parameters" walks [`Params::tensors`].

use super::classes::Classes;
use crate::data::Level;
use crate::matrix::Matrix;
use crate::rng::Rng;
use crate::scalar::Float;

/// Model sizes and structure: V vocabulary, D embedding, H hidden, and the
/// output layer's classes (none: the full softmax; C classes: eqs. 17–26).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// V: number of token ids.
    pub vocab: usize,
    /// D: embedding width.
    pub embed: usize,
    /// H: hidden-state width.
    pub hidden: usize,
    /// The word classes of the output layer; C = `classes.count()`.
    pub classes: Classes,
    /// Tied input and output embeddings (`--tie`, eqs. 31–33): one matrix
    /// serves as E and as W_y, so D = H. The two tensors are kept, equal to
    /// the bit: their gradients are summed into both ([`super::tie::tie_gradients`]) and
    /// every update treats them alike.
    pub tied: bool,
}

impl Config {
    /// A full-softmax model of these sizes.
    pub fn full(vocab: usize, embed: usize, hidden: usize) -> Self {
        Config {
            vocab,
            embed,
            hidden,
            classes: Classes::none(),
            tied: false,
        }
    }

    /// Number of scalars in all tensors.
    pub fn num_params(&self) -> usize {
        let (v, d, h, c) = (self.vocab, self.embed, self.hidden, self.classes.count());
        v * d + h * d + h * h + h + v * h + v + c * h + c
    }
}

/// How fresh weights are drawn (`--init-scheme`; the derivation is
/// `docs/bptt.md`, section 8). The recurrent weights are the same in both:
/// W_x, W_h, W_c ~ U(−1/√H, 1/√H) and every bias 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InitScheme {
    /// `E ~ N(0, 1)`, `W_y ~ U(−1/√H, 1/√H)`: PyTorch's module defaults
    /// (`nn.Embedding`, `nn.Linear`). Every token of a small vocabulary is
    /// seen thousands of times, so E's unit scale is soon learned, and it
    /// drives the recurrence from the first step. The char and jamo default.
    Unit,
    /// `E, W_y ~ U(−0.1, 0.1)`: PyTorch's word_language_model. With Adam a
    /// weight moves by about lr a step whatever its gradient, so a rare
    /// word's row must start near the scale a few hundred updates can
    /// reach. The word default.
    Small,
}

impl InitScheme {
    pub const ALL: [InitScheme; 2] = [InitScheme::Unit, InitScheme::Small];

    pub fn name(self) -> &'static str {
        match self {
            InitScheme::Unit => "unit",
            InitScheme::Small => "small",
        }
    }

    pub fn parse(s: &str) -> Option<InitScheme> {
        InitScheme::ALL.into_iter().find(|k| k.name() == s)
    }

    /// The default of a level: `Small` for words, `Unit` for characters and
    /// jamo (README, "Word level", has the measurements).
    pub fn default_for(level: Level) -> InitScheme {
        match level {
            Level::Word => InitScheme::Small,
            Level::Char | Level::Jamo => InitScheme::Unit,
        }
    }
}

/// Half-width of the uniform draw of E and W_y under [`InitScheme::Small`].
pub const SMALL_INIT: f64 = 0.1;

/// Names of the tensors, in [`Params::tensors`] order.
pub const TENSOR_NAMES: [&str; 8] = ["E", "W_x", "W_h", "b_h", "W_y", "b_y", "W_c", "b_c"];

/// Each tensor's index in [`TENSOR_NAMES`] and [`Params::tensors`] order.
pub mod tensor {
    pub const E: usize = 0;
    pub const W_X: usize = 1;
    pub const W_H: usize = 2;
    pub const B_H: usize = 3;
    pub const W_Y: usize = 4;
    pub const B_Y: usize = 5;
    pub const W_C: usize = 6;
    pub const B_C: usize = 7;
}

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
    /// Hidden-to-class, `[C, H]` (`[0, H]` without classes).      (eq. 17)
    pub w_c: Matrix<T>,
    /// Class bias, `[1, C]` (`[1, 0]` without classes).            (eq. 17)
    pub b_c: Matrix<T>,
}

impl<T: Float> Params<T> {
    /// All tensors zero (the starting point of a gradient).
    pub fn zeros(config: &Config) -> Self {
        let (v, d, h, c) = (config.vocab, config.embed, config.hidden, config.classes.count());
        Params {
            config: config.clone(),
            e: Matrix::zeros(v, d),
            w_x: Matrix::zeros(h, d),
            w_h: Matrix::zeros(h, h),
            b_h: Matrix::zeros(1, h),
            w_y: Matrix::zeros(v, h),
            b_y: Matrix::zeros(1, v),
            w_c: Matrix::zeros(c, h),
            b_c: Matrix::zeros(1, c),
        }
    }

    /// Seeded initialization, the scheme of PyTorch's `nn.Embedding`,
    /// `nn.RNN` and `nn.Linear` (so numbers are comparable with that reference):
    ///
    /// - `E ~ N(0, 1)`: embeddings of unit scale;
    /// - `W_x, W_h ~ U(−1/√H, 1/√H)`: each pre-activation a_t is a sum of D + H
    ///   terms, so its variance stays O(1) and tanh starts in its linear range;
    /// - `W_y, W_c ~ U(−1/√H, 1/√H)`: logits start small, so p_t is near
    ///   uniform and the first loss is ≈ ln V (the sanity check in the tests);
    /// - `b_h = 0, b_y = 0, b_c = 0`.
    ///
    /// W_c is drawn after the six tensors of the full model, so a classed
    /// model and a full one of the same sizes and seed share E … b_y.
    pub fn init(config: &Config, rng: &mut Rng) -> Self {
        Self::init_with(config, InitScheme::Unit, rng)
    }

    /// Seeded initialization by `scheme` ([`InitScheme`]; `Unit` is
    /// [`Params::init`]). The tensors are drawn in the same order under
    /// both schemes. A tied model (`config.tied`, D = H) draws W_y as the
    /// scheme says and copies it into E: the shared matrix is an output
    /// layer first, whose logits must start small.
    ///
    /// # Panics
    /// If the model is tied and D ≠ H.
    pub fn init_with(config: &Config, scheme: InitScheme, rng: &mut Rng) -> Self {
        let (v, d, h, c) = (config.vocab, config.embed, config.hidden, config.classes.count());
        assert!(!config.tied || d == h, "a tied model needs D = H (D={d}, H={h})");
        let s = 1.0 / (h as f64).sqrt();
        let e = match scheme {
            InitScheme::Unit => Matrix::normal(v, d, 1.0, rng),
            InitScheme::Small => Matrix::uniform(v, d, -SMALL_INIT, SMALL_INIT, rng),
        };
        let w_x = Matrix::uniform(h, d, -s, s, rng);
        let w_h = Matrix::uniform(h, h, -s, s, rng);
        let w_y = match scheme {
            InitScheme::Unit => Matrix::uniform(v, h, -s, s, rng),
            InitScheme::Small => Matrix::uniform(v, h, -SMALL_INIT, SMALL_INIT, rng),
        };
        Params {
            config: config.clone(),
            e: if config.tied { w_y.clone() } else { e },
            w_x,
            w_h,
            b_h: Matrix::zeros(1, h),
            w_y,
            b_y: Matrix::zeros(1, v),
            w_c: Matrix::uniform(c, h, -s, s, rng),
            b_c: Matrix::zeros(1, c),
        }
    }

    /// Whether a tied model's E and W_y are equal (always true
    /// of an untied one).
    pub fn tie_holds(&self) -> bool {
        !self.config.tied || self.e == self.w_y
    }

    /// The tensors in [`TENSOR_NAMES`] order.
    pub fn tensors(&self) -> [&Matrix<T>; 8] {
        [
            &self.e, &self.w_x, &self.w_h, &self.b_h, &self.w_y, &self.b_y, &self.w_c, &self.b_c,
        ]
    }

    /// The tensors, writable, in [`TENSOR_NAMES`] order.
    pub fn tensors_mut(&mut self) -> [&mut Matrix<T>; 8] {
        [
            &mut self.e,
            &mut self.w_x,
            &mut self.w_h,
            &mut self.b_h,
            &mut self.w_y,
            &mut self.b_y,
            &mut self.w_c,
            &mut self.b_c,
        ]
    }

    /// Set the output layer's classes to `classes`, keeping every other weight:
    /// fresh W_c ~ U(−1/√H, 1/√H) and b_c = 0 from `rng` when there are any,
    /// none when `classes` is [`Classes::none`] (W_c, b_c dropped).
    ///
    /// # Panics
    /// If the classes do not cover exactly V ids.
    pub fn set_classes(&mut self, classes: Classes, rng: &mut Rng) {
        assert!(
            classes.is_none() || classes.vocab() == self.config.vocab,
            "set_classes: classes cover {} ids, the model has {}",
            classes.vocab(),
            self.config.vocab
        );
        let (c, h) = (classes.count(), self.config.hidden);
        let s = 1.0 / (h as f64).sqrt();
        self.w_c = Matrix::uniform(c, h, -s, s, rng);
        self.b_c = Matrix::zeros(1, c);
        self.config.classes = classes;
    }

    /// Renumber the vocabulary: new id i is old id `order[i]` (rows of E and
    /// W_y and entries of b_y move with their word). The model computes the
    /// same function of the words.
    ///
    /// # Panics
    /// If `order` is not a permutation of `0..V`, or the model has classes
    /// (they are defined on the ids).
    pub fn reorder_vocab(&mut self, order: &[u32]) {
        let v = self.config.vocab;
        let mut seen = vec![false; v];
        for &o in order {
            assert!(
                (o as usize) < v && !std::mem::replace(&mut seen[o as usize], true),
                "reorder_vocab: not a permutation"
            );
        }
        assert_eq!(order.len(), v, "reorder_vocab: not a permutation");
        assert!(
            self.config.classes.is_none(),
            "reorder_vocab: the classes are defined on the old ids"
        );
        let rows = |m: &Matrix<T>| {
            let mut out = Matrix::zeros(m.rows(), m.cols());
            for (i, &o) in order.iter().enumerate() {
                out.row_mut(i).copy_from_slice(m.row(o as usize));
            }
            out
        };
        self.e = rows(&self.e);
        self.w_y = rows(&self.w_y);
        let b = self.b_y.as_slice().to_vec();
        for (i, &o) in order.iter().enumerate() {
            self.b_y.as_mut_slice()[i] = b[o as usize];
        }
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
            config: self.config.clone(),
            e: conv(&self.e),
            w_x: conv(&self.w_x),
            w_h: conv(&self.w_h),
            b_h: conv(&self.b_h),
            w_y: conv(&self.w_y),
            b_y: conv(&self.b_y),
            w_c: conv(&self.w_c),
            b_c: conv(&self.b_c),
        }
    }

    /// Euclidean norm over all tensors (for gradient clipping).
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
