//! The learned tensors, their shapes, and their initialization — in one place.
//!
//! Gradients ([`Params`] again) and optimizer state reuse this layout, so
//! everything that walks "all parameters" walks [`Params::tensors`].

use std::ops::Range;

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
    /// the bit: their gradients are summed into both ([`tie_gradients`]) and
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

/// The rows of the two large tensors, E and W_y, that a step's gradient can
/// be non-zero in (`None`: every row). Every other tensor counts as dense.
/// [`crate::model::backward`] records what it wrote; sparse updates visit
/// only these rows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TouchedRows {
    /// Rows of E, as sorted disjoint ranges.
    pub e: Option<Vec<Range<usize>>>,
    /// Rows of W_y, as sorted disjoint ranges.
    pub w_y: Option<Vec<Range<usize>>>,
}

impl TouchedRows {
    /// Every row of every tensor.
    pub fn all() -> Self {
        TouchedRows { e: None, w_y: None }
    }

    /// The rows either of the two covers.
    pub fn union(&self, other: &TouchedRows) -> TouchedRows {
        let both = |a: &Option<Vec<Range<usize>>>, b: &Option<Vec<Range<usize>>>| match (a, b) {
            (Some(a), Some(b)) => Some(range_union(a.iter().chain(b).cloned())),
            _ => None,
        };
        TouchedRows {
            e: both(&self.e, &other.e),
            w_y: both(&self.w_y, &other.w_y),
        }
    }
}

/// Sorted disjoint ranges covering `rows` (any order, repeats allowed).
pub fn row_ranges(rows: impl IntoIterator<Item = usize>) -> Vec<Range<usize>> {
    let mut sorted: Vec<usize> = rows.into_iter().collect();
    sorted.sort_unstable();
    sorted.dedup();
    let mut out: Vec<Range<usize>> = Vec::new();
    for r in sorted {
        match out.last_mut() {
            Some(last) if last.end == r => last.end = r + 1,
            _ => out.push(r..r + 1),
        }
    }
    out
}

/// Sorted disjoint ranges covering the rows of `ranges` (any order,
/// overlaps allowed): [`row_ranges`] of their rows, without listing each row.
pub fn range_union(ranges: impl IntoIterator<Item = Range<usize>>) -> Vec<Range<usize>> {
    let mut sorted: Vec<Range<usize>> = ranges.into_iter().filter(|r| !r.is_empty()).collect();
    sorted.sort_unstable_by_key(|r| r.start);
    let mut out: Vec<Range<usize>> = Vec::new();
    for r in sorted {
        match out.last_mut() {
            Some(last) if last.end >= r.start => last.end = last.end.max(r.end),
            _ => out.push(r),
        }
    }
    out
}

/// A stretch of one tensor's entries: (tensor index in [`Params::tensors`]
/// order, flat entry range).
pub type Span = (usize, Range<usize>);

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

/// The tied gradient (eq. 33): the shared matrix E ≡ W_y receives the sum
/// of its input-path gradient dE (eq. 15, or 30 with dropout) and
/// output-path gradient dW_y (eq. 8, or 25 with classes), written into both tensors, for every row either path
/// touched. The rows written are returned, the same for E and W_y.
pub fn tie_gradients<T: Float>(grads: &mut Params<T>, touched: &TouchedRows) -> TouchedRows {
    let rows = touched
        .e
        .as_ref()
        .zip(touched.w_y.as_ref())
        .map(|(e, w)| range_union(e.iter().chain(w).cloned()));
    let h = grads.config.hidden;
    let every_row: Vec<Range<usize>> = std::iter::once(0..grads.config.vocab).collect();
    for r in rows.as_ref().unwrap_or(&every_row) {
        let span = r.start * h..r.end * h;
        let (de, dwy) = (
            &mut grads.e.as_mut_slice()[span.clone()],
            &mut grads.w_y.as_mut_slice()[span],
        );
        for (e, w) in de.iter_mut().zip(dwy.iter_mut()) {
            *e += *w; // dE ← dE + dW_y                      (eq. 33)
            *w = *e; //  dW_y ← the same sum
        }
    }
    TouchedRows {
        e: rows.clone(),
        w_y: rows,
    }
}

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

    /// The entries `rows` covers, as spans: whole tensors, and the given
    /// row ranges of E and W_y.
    pub fn spans(&self, rows: &TouchedRows) -> Vec<Span> {
        let mut out = Vec::new();
        for (ti, t) in self.tensors().iter().enumerate() {
            let subset = match ti {
                tensor::E => rows.e.as_ref(),
                tensor::W_Y => rows.w_y.as_ref(),
                _ => None,
            };
            match subset {
                None if t.as_slice().is_empty() => {}
                None => out.push((ti, 0..t.as_slice().len())),
                Some(ranges) => out.extend(ranges.iter().map(|r| (ti, r.start * t.cols()..r.end * t.cols()))),
            }
        }
        out
    }

    /// The entries of one span.
    pub fn span(&self, (ti, range): &Span) -> &[T] {
        &self.tensors()[*ti].as_slice()[range.clone()]
    }

    /// The entries of one span, writable.
    pub fn span_mut(&mut self, (ti, range): &Span) -> &mut [T] {
        &mut self.tensors_mut()[*ti].as_mut_slice()[range.clone()]
    }

    /// The entries of `spans`, writable, as one slice per span in span
    /// order. The spans must be in [`Params::spans`] order (tensors in
    /// order, disjoint ranges ascending within each).
    ///
    /// # Panics
    /// If they are not.
    pub fn span_slices(&mut self, spans: &[Span]) -> Vec<&mut [T]> {
        let mut tensors: Vec<(usize, &mut [T])> =
            self.tensors_mut().into_iter().map(|t| (0, t.as_mut_slice())).collect();
        let mut out = Vec::with_capacity(spans.len());
        for (ti, range) in spans {
            let (offset, rest) = &mut tensors[*ti];
            assert!(range.start >= *offset, "span_slices: spans out of order");
            let (_, from_start) = std::mem::take(rest).split_at_mut(range.start - *offset);
            let (mine, after) = from_start.split_at_mut(range.len());
            *rest = after;
            *offset = range.end;
            out.push(mine);
        }
        out
    }

    /// Euclidean norm over the spans (all of it when they cover every
    /// entry that is not zero), on up to `threads` threads.
    ///
    /// Squares are summed in f64 in eight lanes — one running sum would make
    /// every add wait on the one before — with entry j of a tensor always in
    /// lane j mod 8, separately per block of [`NORM_BLOCK`] entries; then
    /// the blocks' lanes in order, then the lanes. Workers take whole
    /// blocks, so the thread count cannot change a bit; and the spans of a
    /// sparse step give the whole tensors' sum to the bit (zeros add
    /// nothing, and an all-zero block adds +0).
    pub fn norm_in(&self, spans: &[Span], threads: usize) -> f64 {
        self.norm_with(spans, &[], threads)
    }

    /// [`Params::norm_in`], with the blocks in `done` (ascending keys)
    /// already summed elsewhere, by [`BlockSquares`] over the same entries
    /// while they were in cache: their entries are not read again, and
    /// the result is the same to the bit.
    pub fn norm_with(&self, spans: &[Span], done: &[NormBlock], threads: usize) -> f64 {
        let is_done = |key: &(usize, usize)| done.binary_search_by_key(key, |b| b.0).is_ok();
        // Cut the spans at block boundaries: (block key, first index, entries).
        let mut pieces: Vec<NormPiece<T>> = Vec::new();
        for span in spans {
            let (ti, range) = span;
            let x = self.span(span);
            let mut at = range.start;
            while at < range.end {
                let end = ((at / NORM_BLOCK + 1) * NORM_BLOCK).min(range.end);
                let key = (*ti, at / NORM_BLOCK);
                if !is_done(&key) {
                    pieces.push((key, at, &x[at - range.start..end - range.start]));
                }
                at = end;
            }
        }
        // Deal runs of whole blocks to the workers, by entries.
        let total: usize = pieces.iter().map(|p| p.2.len()).sum();
        let workers = threads.min(total / crate::workers::MIN_ELEMENTS_PER_WORKER).max(1);
        let per = total.div_ceil(workers).max(1);
        let mut runs: Vec<&[NormPiece<T>]> = Vec::new();
        let (mut from, mut filled) = (0, 0);
        for i in 0..pieces.len() {
            filled += pieces[i].2.len();
            let block_ends = pieces.get(i + 1).is_none_or(|next| next.0 != pieces[i].0);
            if block_ends && (filled >= per || i + 1 == pieces.len()) {
                runs.push(&pieces[from..=i]);
                (from, filled) = (i + 1, 0);
            }
        }
        let blocks = crate::workers::run_each(runs, |run| {
            let mut out: Vec<NormBlock> = Vec::new();
            for (i, (key, start, x)) in run.iter().enumerate() {
                if i == 0 || run[i - 1].0 != *key {
                    out.push((*key, [0.0; 8]));
                }
                add_squares(&mut out.last_mut().expect("a block").1, *start, x);
            }
            out
        });
        // The blocks in key order (both lists are ascending), then the lanes.
        let mut all: Vec<&NormBlock> = blocks.iter().flatten().chain(done).collect();
        all.sort_by_key(|b| b.0);
        let mut lanes = [0.0f64; 8];
        for (_, block) in all {
            for (l, b) in lanes.iter_mut().zip(block) {
                *l += b;
            }
        }
        lanes.iter().sum::<f64>().sqrt()
    }

    /// Multiply the spans' entries by `s`.
    pub fn scale_in(&mut self, spans: &[Span], s: T) {
        for span in spans {
            self.span_mut(span).iter_mut().for_each(|x| *x *= s);
        }
    }

    /// Set the spans' entries to zero.
    pub fn fill_zero_in(&mut self, spans: &[Span]) {
        for span in spans {
            self.span_mut(span).fill(T::zero());
        }
    }
}

/// A stretch of one norm block: ((tensor, block), first index, entries).
type NormPiece<'a, T> = ((usize, usize), usize, &'a [T]);

/// One block's partial sums of squares: ((tensor, block), its eight lanes).
pub type NormBlock = ((usize, usize), [f64; 8]);

/// The sums of squares of one tensor's blocks of [`NORM_BLOCK`] entries,
/// taken stretch by stretch as the entries are written, in ascending
/// order — for [`Params::norm_with`]. A block is finished once a stretch
/// at or past its end arrives (or at [`BlockSquares::finish`]); only the
/// blocks inside `within` (entries) are kept, since a block part of which
/// lies outside also has entries summed by someone else.
#[derive(Debug)]
pub struct BlockSquares {
    tensor: usize,
    within: Range<usize>,
    open: Option<NormBlock>,
    /// The finished blocks, ascending.
    blocks: Vec<NormBlock>,
}

impl BlockSquares {
    /// For tensor `tensor`, keeping the blocks inside entries `within`.
    pub fn new(tensor: usize, within: Range<usize>) -> Self {
        BlockSquares {
            tensor,
            within,
            open: None,
            blocks: Vec::new(),
        }
    }

    /// Add the squares of `x`, entries `start..start + x.len()` of the
    /// tensor, at or after every stretch added before.
    pub fn add<T: Float>(&mut self, start: usize, x: &[T]) {
        let mut at = start;
        while at < start + x.len() {
            let block = at / NORM_BLOCK;
            let end = ((block + 1) * NORM_BLOCK).min(start + x.len());
            if self.open.as_ref().is_some_and(|b| b.0 .1 != block) {
                self.close();
            }
            let open = self.open.get_or_insert(((self.tensor, block), [0.0; 8]));
            add_squares(&mut open.1, at, &x[at - start..end - start]);
            at = end;
        }
    }

    /// Finish the last block; returns the kept blocks.
    pub fn finish(mut self) -> Vec<NormBlock> {
        self.close();
        self.blocks
    }

    fn close(&mut self) {
        if let Some(b) = self.open.take() {
            let entries = b.0 .1 * NORM_BLOCK..(b.0 .1 + 1) * NORM_BLOCK;
            if entries.start >= self.within.start && entries.end <= self.within.end {
                self.blocks.push(b);
            }
        }
    }
}

/// Entries per block of [`Params::norm_in`]'s partial sums (a multiple of 8,
/// so blocks start in lane 0).
pub const NORM_BLOCK: usize = 1 << 14;

/// Add the squares of `x`, whose first entry is entry `start` of its tensor,
/// into the lanes: entry j into lane j mod 8. Up to the next multiple of 8,
/// then whole groups of 8, then the rest.
fn add_squares<T: Float>(lanes: &mut [f64; 8], start: usize, x: &[T]) {
    let one_by_one = |lanes: &mut [f64; 8], lane0: usize, xs: &[T]| {
        for (i, &v) in xs.iter().enumerate() {
            lanes[(lane0 + i) % 8] += v.to_f64() * v.to_f64();
        }
    };
    let head = (8 - start % 8) % 8;
    let (first, rest) = x.split_at(head.min(x.len()));
    one_by_one(lanes, start, first);
    let groups = rest.chunks_exact(8);
    let tail = groups.remainder();
    for c in groups {
        for (l, &v) in lanes.iter_mut().zip(c) {
            *l += v.to_f64() * v.to_f64();
        }
    }
    one_by_one(lanes, 0, tail);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The union of ranges is the row cover of their rows, for ranges in
    /// any order, overlapping, touching, nested and empty.
    #[test]
    fn range_union_covers_the_rows_of_its_ranges() {
        let mut rng = Rng::new(3);
        for _ in 0..200 {
            let ranges: Vec<Range<usize>> = (0..rng.below(12))
                .map(|_| {
                    let start = rng.below(60);
                    start..start + rng.below(9)
                })
                .collect();
            let want = row_ranges(ranges.iter().flat_map(Clone::clone));
            assert_eq!(range_union(ranges.iter().cloned()), want, "{ranges:?}");
        }
        assert_eq!(range_union([4..6, 0..2, 2..3, 5..9, 7..7]), vec![0..3, 4..9]);
    }
}
