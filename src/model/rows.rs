//! Which entries a sparse step touches: the rows of E and W_y a backward
//! wrote ([`TouchedRows`]), as sorted disjoint row ranges, and the stretches
//! of the tensors' entries they cover ([`Span`]), which the clipping norm,
//! the optimizers and the shard sums visit instead of every entry.

use std::ops::Range;

use super::params::{tensor, Params};
use crate::scalar::Float;

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

/// A stretch of one tensor's entries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Span {
    /// The tensor's index in [`Params::tensors`] order ([`tensor`]).
    pub tensor: usize,
    /// The stretch, as indices into the tensor's row-major entries.
    pub entries: Range<usize>,
}

impl<T: Float> Params<T> {
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
                None => out.push(Span {
                    tensor: ti,
                    entries: 0..t.as_slice().len(),
                }),
                Some(ranges) => out.extend(ranges.iter().map(|r| Span {
                    tensor: ti,
                    entries: r.start * t.cols()..r.end * t.cols(),
                })),
            }
        }
        out
    }

    /// The entries of one span.
    pub fn span(&self, span: &Span) -> &[T] {
        &self.tensors()[span.tensor].as_slice()[span.entries.clone()]
    }

    /// The entries of one span, writable.
    pub fn span_mut(&mut self, span: &Span) -> &mut [T] {
        &mut self.tensors_mut()[span.tensor].as_mut_slice()[span.entries.clone()]
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
        for Span { tensor, entries: range } in spans {
            let (offset, rest) = &mut tensors[*tensor];
            assert!(range.start >= *offset, "span_slices: spans out of order");
            let (_, from_start) = std::mem::take(rest).split_at_mut(range.start - *offset);
            let (mine, after) = from_start.split_at_mut(range.len());
            *rest = after;
            *offset = range.end;
            out.push(mine);
        }
        out
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

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
