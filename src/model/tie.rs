//! Tied input and output embeddings (`--tie`, `docs/bptt.md` eqs. 31–33):
//! one matrix serves as E and W_y, kept as two tensors equal to the bit,
//! and its gradient is the sum of the two paths'.

use std::ops::Range;

use super::norm::{BlockSquares, NormBlock};
use super::params::{tensor, Params};
use super::rows::{range_union, Span, TouchedRows};
use crate::scalar::Float;
use crate::workers::{run_each, split_pairs, Indexed, MIN_ELEMENTS_PER_WORKER};

/// Entries tied a stretch at a time, their squares taken while the stretch
/// is in L1 (4096 entries: 16 KiB of each gradient).
const STRETCH: usize = 4096;

/// The tied gradient (eq. 33): the shared matrix E ≡ W_y receives the sum
/// of its input-path gradient dE (eq. 15, or 30 with dropout) and
/// output-path gradient dW_y (eq. 8, or 25 with classes), written into
/// both tensors for every row either path touched, on up to `threads`
/// threads (each entry is one add, so the split changes no bit).
///
/// Returns the rows written (the same for E and W_y) and the sums of
/// squares of E's norm blocks taken as they were written
/// ([`BlockSquares`], for [`Params::norm_with`]: a tied model's ‖g‖ counts
/// the shared matrix once, as E), so the norm need not read the largest
/// tensor again.
pub fn tie_gradients<T: Float>(
    grads: &mut Params<T>,
    touched: &TouchedRows,
    threads: usize,
) -> (TouchedRows, Vec<NormBlock>) {
    let rows = touched
        .e
        .as_ref()
        .zip(touched.w_y.as_ref())
        .map(|(e, w)| range_union(e.iter().chain(w).cloned()));
    let h = grads.config.hidden;
    let every_row: Vec<Range<usize>> = std::iter::once(0..grads.config.vocab).collect();
    // The same entries of E, then of W_y (tensor order, as span_slices wants).
    let entries: Vec<Range<usize>> = rows
        .as_ref()
        .unwrap_or(&every_row)
        .iter()
        .map(|r| r.start * h..r.end * h)
        .collect();
    let spans: Vec<Span> = [tensor::E, tensor::W_Y]
        .into_iter()
        .flat_map(|t| {
            entries.iter().map(move |e| Span {
                tensor: t,
                entries: e.clone(),
            })
        })
        .collect();
    let mut slices = grads.span_slices(&spans);
    let w_y = slices.split_off(entries.len());
    let items: Vec<_> = entries
        .iter()
        .zip(slices.into_iter().zip(w_y))
        .map(|(e, pair)| Indexed::new(e.start, pair))
        .collect();
    let parts = split_pairs(items, threads, MIN_ELEMENTS_PER_WORKER);
    let blocks = run_each(parts, |part| {
        // Only blocks wholly inside this worker's entries are kept: one it
        // shares with another worker is summed again by the norm.
        let within = part.first().map_or(0, |p| p.start)..part.last().map_or(0, |p| p.start + p.inner.0.len());
        let mut squares = BlockSquares::new(tensor::E, within);
        for Indexed { start, inner: (e, w) } in part {
            for (i, (e, w)) in e.chunks_mut(STRETCH).zip(w.chunks_mut(STRETCH)).enumerate() {
                for (e, w) in e.iter_mut().zip(w.iter_mut()) {
                    *e += *w; // dE ← dE + dW_y                      (eq. 33)
                    *w = *e; //  dW_y ← the same sum
                }
                squares.add(start + i * STRETCH, e);
            }
        }
        squares.finish()
    });
    let rows_written = TouchedRows {
        e: rows.clone(),
        w_y: rows,
    };
    (rows_written, blocks.into_iter().flatten().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::norm::NORM_BLOCK;
    use crate::model::Config;
    use crate::rng::Rng;

    /// Random gradients in E and W_y of a tied model `[V, H]`.
    fn gradients(vocab: usize, hidden: usize, seed: u64) -> Params<f32> {
        let config = Config {
            tied: true,
            ..Config::full(vocab, hidden, hidden)
        };
        let mut g = Params::zeros(&config);
        let mut rng = Rng::new(seed);
        for t in g.tensors_mut() {
            t.as_mut_slice()
                .iter_mut()
                .for_each(|x| *x = rng.uniform_range(-1.0, 1.0) as f32);
        }
        g
    }

    #[test]
    fn tied_gradient_is_the_sum_in_both_and_its_squares_are_the_norms() {
        // Rows past three workers' minimum entries, so that two and three
        // threads split them (and blocks straddle the cuts).
        let (vocab, hidden) = (4000, 256);
        let original = gradients(vocab, hidden, 7);
        let touched = TouchedRows {
            e: Some(vec![3..40, 900..2700]),
            w_y: Some(vec![30..60, 1200..3990]),
        };
        let union = [3..60, 900..3990];
        let entries: usize = union.iter().map(|r| r.len() * hidden).sum();
        assert!(entries >= 3 * MIN_ELEMENTS_PER_WORKER);
        let mut first: Option<(Params<f32>, f64)> = None;
        for threads in [1, 2, 3] {
            let mut g = original.clone();
            let (rows, blocks) = tie_gradients(&mut g, &touched, threads);
            assert_eq!(rows.e.as_deref(), Some(&union[..]));
            assert_eq!(rows.w_y, rows.e);
            for r in 0..vocab {
                let inside = union.iter().any(|u| u.contains(&r));
                for j in 0..hidden {
                    let (e, w) = (original.e.get(r, j), original.w_y.get(r, j));
                    let want = if inside { (e + w, e + w) } else { (e, w) };
                    assert_eq!((g.e.get(r, j), g.w_y.get(r, j)), want, "row {r}, threads {threads}");
                }
            }
            // ‖g‖ over the spans without W_y, from the tie's squares and
            // from a fresh pass: the same bits; the squares cover blocks.
            let spans: Vec<Span> = g.spans(&rows).into_iter().filter(|s| s.tensor != tensor::W_Y).collect();
            assert!(!blocks.is_empty(), "threads {threads}: no block summed by the tie");
            // Each block once, and each as a fresh pass over its entries sums it.
            assert!(
                blocks.windows(2).all(|b| b[0].0 < b[1].0),
                "threads {threads}: blocks repeat"
            );
            for &((t, b), lanes) in &blocks {
                let block = b * NORM_BLOCK..(b + 1) * NORM_BLOCK;
                let inside: Vec<Span> = spans
                    .iter()
                    .filter(|s| s.tensor == t)
                    .map(|s| s.entries.start.max(block.start)..s.entries.end.min(block.end))
                    .filter(|r| r.start < r.end)
                    .map(|entries| Span { tensor: t, entries })
                    .collect();
                let fresh = g.norm_in(&inside, 1);
                assert_eq!(lanes.iter().sum::<f64>().sqrt().to_bits(), fresh.to_bits(), "block {b}");
            }
            let norm = g.norm_with(&spans, &blocks, threads);
            assert_eq!(norm.to_bits(), g.norm_in(&spans, 1).to_bits(), "threads {threads}");
            match &first {
                None => first = Some((g, norm)),
                Some((g1, n1)) => {
                    assert!(g.e.as_slice() == g1.e.as_slice() && g.w_y.as_slice() == g1.w_y.as_slice());
                    assert_eq!(norm.to_bits(), n1.to_bits());
                }
            }
        }
    }
}
