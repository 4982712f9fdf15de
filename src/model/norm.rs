//! The global norm of a gradient for clipping, summed so that neither the
//! thread count nor a sparse step's cover can change a bit: squares in
//! eight lanes, per fixed block of [`NORM_BLOCK`] entries, blocks then
//! lanes in order ([`Params::norm_in`]). A block summed while its entries
//! were in cache ([`BlockSquares`]) is not read again ([`Params::norm_with`]).

use std::ops::Range;

use super::params::Params;
use super::rows::Span;
use crate::scalar::Float;

impl<T: Float> Params<T> {
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
            let (ti, range) = (&span.tensor, &span.entries);
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
