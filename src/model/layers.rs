//! The layers of the RNNLM, each a forward/backward pair side by side.
//!
//! Conventions (as in llm.c): arguments go outputs, inputs, weights; shapes
//! are in the comments (`N` = T·B positions, rows time-major); backward *adds*
//! into gradient buffers, which the caller zeroes once per step. Equation
//! numbers refer to `docs/bptt.md`.

use crate::matrix::{MatRef, Matrix};
use crate::scalar::Float;

// ---------------------------------------------------------------- embedding

/// `out[r] = E[tokens[r]]`                                          (eq. 1)
///
/// out `[N, D]`, tokens `[N]`, e `[V, D]`.
pub fn embedding_forward<T: Float>(out: &mut Matrix<T>, tokens: &[u32], e: &Matrix<T>) {
    assert_eq!(
        out.rows(),
        tokens.len(),
        "embedding_forward: {} rows for {} tokens",
        out.rows(),
        tokens.len()
    );
    for (r, &tok) in tokens.iter().enumerate() {
        out.row_mut(r).copy_from_slice(e.row(tok as usize));
    }
}

/// `dE[tokens[r]] += dout[r]` — a scatter-add: a token seen twice in the
/// chunk collects both gradients.                                   (eq. 15)
///
/// de `[V, D]`, dout `[N, D]`, tokens `[N]`.
pub fn embedding_backward<T: Float>(de: &mut Matrix<T>, dout: &Matrix<T>, tokens: &[u32]) {
    for (r, &tok) in tokens.iter().enumerate() {
        let src = dout.row(r);
        for (d, &g) in de.row_mut(tok as usize).iter_mut().zip(src) {
            *d += g;
        }
    }
}

// --------------------------------------------------------------------- bias

/// `out[r] += b` for every row r.                                (eqs. 2, 4)
///
/// out `[N, n]` given as a slice of whole rows, b `[1, n]`.
pub fn bias_forward<T: Float>(out: &mut [T], b: &Matrix<T>) {
    let n = b.cols();
    for row in out.chunks_exact_mut(n) {
        for (o, &bias) in row.iter_mut().zip(b.as_slice()) {
            *o += bias;
        }
    }
}

/// `db += Σ_r dout[r]`                                          (eqs. 9, 14)
///
/// db `[1, n]`, dout `[N, n]`.
pub fn bias_backward<T: Float>(db: &mut Matrix<T>, dout: MatRef<T>) {
    let n = db.cols();
    assert_eq!(dout.cols(), n, "bias_backward: {} columns vs bias of {n}", dout.cols());
    let db = db.as_mut_slice();
    for r in 0..dout.rows() {
        for (j, g) in db.iter_mut().enumerate() {
            *g += dout.at(r, j);
        }
    }
}

// --------------------------------------------------------------------- tanh

/// `h = tanh(a)`, in place.                                          (eq. 3)
pub fn tanh_forward<T: Float>(a_to_h: &mut [T]) {
    T::tanh_in_place(a_to_h);
}

/// `da = dh ⊙ (1 − h²)`, in place: the slice holds dh on entry, da on exit.
///                                                                    (eq. 11)
pub fn tanh_backward<T: Float>(dh_to_da: &mut [T], h: &[T]) {
    assert_eq!(dh_to_da.len(), h.len(), "tanh_backward: length mismatch");
    for (g, &y) in dh_to_da.iter_mut().zip(h) {
        *g *= T::one() - y * y;
    }
}

// ---------------------------------------------------- softmax cross-entropy

/// `p = softmax(z)` on one row, in place; returns `ln Σ_j exp(z_j)`
/// (the log-partition), computed stably around the row maximum.    (eq. 5)
pub fn softmax_in_place<T: Float>(z_to_p: &mut [T]) -> f64 {
    let max = z_to_p.iter().fold(T::neg_infinity(), |m, &v| m.max(v));
    for v in z_to_p.iter_mut() {
        *v -= max;
    }
    T::exp_in_place(z_to_p);
    let sum = z_to_p.iter().fold(T::zero(), |s, &v| s + v);
    let inv = T::one() / sum;
    for v in z_to_p.iter_mut() {
        *v *= inv;
    }
    sum.to_f64().ln() + max.to_f64()
}

/// Softmax of each row of z, in place (z `[N, V]` becomes p), and the summed
/// cross-entropy `Σ_r −ln p[r, targets[r]]` in f64.                (eqs. 5, 6)
///
/// Stable: `−ln p_y = ln Σ_j exp(z_j − max) + max − z_y`, so no exp
/// overflows and the loss never takes the log of an underflowed 0.
pub fn softmax_xent_forward<T: Float>(z_to_p: &mut Matrix<T>, targets: &[u32]) -> f64 {
    assert_eq!(
        z_to_p.rows(),
        targets.len(),
        "softmax_xent_forward: {} rows, {} targets",
        z_to_p.rows(),
        targets.len()
    );
    let mut loss = 0.0f64;
    for (r, &y) in targets.iter().enumerate() {
        let row = z_to_p.row_mut(r);
        let z_y = row[y as usize].to_f64();
        loss += softmax_in_place(row) - z_y;
    }
    loss
}

/// `dz = (p − onehot(y)) · scale`, in place: the matrix holds p on entry and
/// dz on exit. With `scale = 1/(B·T)` this is the gradient of the mean loss.
///                                                                     (eq. 7)
pub fn softmax_xent_backward<T: Float>(p_to_dz: &mut Matrix<T>, targets: &[u32], scale: T) {
    for (r, &y) in targets.iter().enumerate() {
        let row = p_to_dz.row_mut(r);
        row[y as usize] -= T::one();
        for v in row.iter_mut() {
            *v *= scale;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_is_stable_for_huge_logits_and_sums_to_one() {
        let mut z = Matrix::from_vec(2, 3, vec![1000.0f64, 1001.0, 999.0, -1e4, 0.0, 3.0]);
        let loss = softmax_xent_forward(&mut z, &[1, 0]);
        assert!(loss.is_finite());
        for r in 0..2 {
            let s: f64 = z.row(r).iter().sum();
            assert!((s - 1.0).abs() < 1e-12);
        }
        // Row 0: −ln softmax([1000, 1001, 999])[1] = ln(1 + e^-1 + e^-2).
        let row0 = (1.0 + (-1.0f64).exp() + (-2.0f64).exp()).ln();
        // Row 1: −ln softmax([-1e4, 0, 3])[0] ≈ 1e4 + 3 + ln(1 + e^-3).
        let row1 = 1e4 + 3.0 + (1.0 + (-3.0f64).exp()).ln();
        assert!((loss - (row0 + row1)).abs() < 1e-9, "loss {loss}");
    }

    #[test]
    fn embedding_scatter_add_accumulates_repeats() {
        let mut de = Matrix::<f64>::zeros(3, 2);
        let dout = Matrix::from_vec(3, 2, vec![1.0, 2.0, 10.0, 20.0, 100.0, 200.0]);
        embedding_backward(&mut de, &dout, &[2, 0, 2]);
        assert_eq!(de.as_slice(), &[10.0, 20.0, 0.0, 0.0, 101.0, 202.0]);
    }
}
