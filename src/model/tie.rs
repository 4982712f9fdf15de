//! Tied input and output embeddings (`--tie`, `docs/bptt.md` eqs. 31–33):
//! one matrix serves as E and W_y, kept as two tensors equal to the bit,
//! and its gradient is the sum of the two paths'.

use std::ops::Range;

use super::params::Params;
use super::rows::{range_union, TouchedRows};
use crate::scalar::Float;

/// The tied gradient (eq. 33): the shared matrix E ≡ W_y receives the sum
/// of its input-path gradient dE (eq. 15, or 30 with dropout) and
/// output-path gradient dW_y (eq. 8, or 25 with classes), written into
/// both tensors for every row either path touched. The rows written are returned, the same for E and W_y.
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
