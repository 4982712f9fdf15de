//! The layers of the RNNLM, each a forward/backward pair side by side.
//!
//! Conventions (as in llm.c): arguments go outputs, inputs, weights; shapes
//! are in the comments (`N` = T·B positions, rows time-major); backward *adds*
//! into gradient buffers, which the caller zeroes once per step. Equation
//! numbers refer to `docs/bptt.md`.

use crate::matrix::{MatRef, Matrix};
use crate::rng::Rng;
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

/// `out[r] += b` for every row r.                         (eqs. 2, 4, 17, 19)
///
/// out `[N, n]` given as a slice of whole rows, b `[n]`.
pub fn bias_forward<T: Float>(out: &mut [T], b: &[T]) {
    let n = b.len();
    for row in out.chunks_exact_mut(n) {
        for (o, &bias) in row.iter_mut().zip(b) {
            *o += bias;
        }
    }
}

/// `db += Σ_r dout[r]`                                  (eqs. 9, 14, 24, 25)
///
/// db `[n]`, dout `[N, n]`.
pub fn bias_backward<T: Float>(db: &mut [T], dout: MatRef<T>) {
    let n = db.len();
    assert_eq!(dout.cols(), n, "bias_backward: {} columns vs bias of {n}", dout.cols());
    for r in 0..dout.rows() {
        for (j, g) in db.iter_mut().enumerate() {
            *g += dout.at(r, j);
        }
    }
}

// ------------------------------------------------------------------ dropout

/// Draw an inverted-dropout mask: each entry 0 with probability `p`, else
/// `1/(1 − p)`, so that `E[mask ⊙ x] = x` and nothing changes at test time.
/// Entries are drawn in order from one generator.                    (eq. 27)
pub fn dropout_mask<T: Float>(mask: &mut [T], p: f64, rng: &mut Rng) {
    let keep = T::from_f64(1.0 / (1.0 - p));
    for m in mask {
        *m = if rng.uniform() < p { T::zero() } else { keep };
    }
}

/// `x ⊙= mask` (forward), and by the same line `dx ⊙= mask` (backward: the
/// mask is a constant of the step).                          (eqs. 27, 28–30)
pub fn apply_mask<T: Float>(x: &mut [T], mask: &[T]) {
    assert_eq!(
        x.len(),
        mask.len(),
        "apply_mask: {} entries, mask of {}",
        x.len(),
        mask.len()
    );
    for (v, &m) in x.iter_mut().zip(mask) {
        *v *= m;
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

/// `p = softmax(z)` on one row, in place, returning `ln Z = ln Σ_j exp(z_j)`
/// (the log-partition), computed stably around the row maximum.    (eq. 5)
pub fn softmax_returning_log_z<T: Float>(z_to_p: &mut [T]) -> f64 {
    let max = lanes_fold(z_to_p, T::neg_infinity(), T::max);
    for v in z_to_p.iter_mut() {
        *v -= max;
    }
    T::exp_in_place(z_to_p);
    let sum = lanes_fold(z_to_p, T::zero(), |s, v| s + v);
    let inv = T::one() / sum;
    for v in z_to_p.iter_mut() {
        *v *= inv;
    }
    sum.to_f64().ln() + max.to_f64()
}

/// Fold a row with `op` (max or +) in eight interleaved lanes, then fold the
/// lanes: a single running total would make every step wait on the one
/// before (a chain of V dependent adds); eight independent ones vectorize.
#[inline]
fn lanes_fold<T: Float>(v: &[T], init: T, op: impl Fn(T, T) -> T) -> T {
    let mut lanes = [init; 8];
    let chunks = v.chunks_exact(8);
    let rest = chunks.remainder();
    for c in chunks {
        for (l, &x) in lanes.iter_mut().zip(c) {
            *l = op(*l, x);
        }
    }
    let folded = lanes.into_iter().fold(init, &op);
    rest.iter().fold(folded, |a, &x| op(a, x))
}

/// Softmax of each row of z, in place (z `[N, V]` becomes p), and the summed
/// cross-entropy `Σ_r −ln p[r, targets[r]]` in f64.                (eqs. 5, 6)
///
/// Stable: `−ln p_y = ln Σ_j exp(z_j − max) + max − z_y`, so no exp
/// overflows and the loss never takes the log of an underflowed 0.
/// Rows are independent: large matrices are shared out over `workers`.
pub fn softmax_xent_forward<T: Float>(z_to_p: &mut Matrix<T>, targets: &[u32], workers: usize) -> f64 {
    let mut nats = vec![0.0; targets.len()];
    softmax_xent_rows(z_to_p, targets, workers, &mut nats)
}

/// [`softmax_xent_forward`], also writing each row's `−ln p[r, targets[r]]`
/// into `nats` `[N]`; the loss returned is their sum, in row order.
pub fn softmax_xent_rows<T: Float>(z_to_p: &mut Matrix<T>, targets: &[u32], workers: usize, nats: &mut [f64]) -> f64 {
    assert_eq!(
        (z_to_p.rows(), nats.len()),
        (targets.len(), targets.len()),
        "softmax_xent_forward: rows, nats and targets differ in number"
    );
    let v = z_to_p.cols();
    assert!(v > 0, "softmax_xent_forward: no classes");
    let chunk_loss = |rows: &mut [T], ys: &[u32], nats: &mut [f64]| -> f64 {
        for ((row, &y), out) in rows.chunks_exact_mut(v).zip(ys).zip(nats.iter_mut()) {
            let z_y = row[y as usize].to_f64();
            *out = softmax_returning_log_z(row) - z_y;
        }
        nats.iter().sum()
    };
    by_row_chunks(z_to_p, targets, nats, workers, chunk_loss)
        .into_iter()
        .sum()
}

/// `dz = (p − onehot(y)) · scale`, in place: the matrix holds p on entry and
/// dz on exit. With `scale = 1/(B·T)` this is the gradient of the mean loss.
///                                                                     (eq. 7)
pub fn softmax_xent_backward<T: Float>(p_to_dz: &mut Matrix<T>, targets: &[u32], scale: T, workers: usize) {
    let v = p_to_dz.cols();
    assert!(v > 0, "softmax_xent_backward: no classes");
    let chunk = |rows: &mut [T], ys: &[u32], _: &mut [f64]| {
        for (row, &y) in rows.chunks_exact_mut(v).zip(ys) {
            row[y as usize] -= T::one();
            for x in row.iter_mut() {
                *x *= scale;
            }
        }
    };
    by_row_chunks(p_to_dz, targets, &mut [], workers, chunk);
}

/// Matrices with fewer entries than this stay on one thread: a softmax over
/// 256 Ki entries takes about as long as starting a worker (~40 µs).
pub const PAR_MIN_ENTRIES: usize = 1 << 18;

/// Run `f` on consecutive row ranges of `m` (with their targets and their
/// entries of `out`, which holds one per row or none), one range per
/// worker — or on all rows at once when `m` is small — and return the
/// results in row order.
fn by_row_chunks<T: Float, R: Send>(
    m: &mut Matrix<T>,
    targets: &[u32],
    out: &mut [f64],
    workers: usize,
    f: impl Fn(&mut [T], &[u32], &mut [f64]) -> R + Sync,
) -> Vec<R> {
    let (rows, cols) = m.shape();
    debug_assert!(out.is_empty() || out.len() == rows);
    let workers = if rows * cols < PAR_MIN_ENTRIES {
        1
    } else {
        workers.clamp(1, rows.max(1))
    };
    if workers == 1 {
        return vec![f(m.as_mut_slice(), targets, out)];
    }
    let per = rows.div_ceil(workers);
    let per_out = if out.is_empty() { 0 } else { per };
    std::thread::scope(|s| {
        let f = &f;
        let (mut data, mut ys, mut outs) = (m.as_mut_slice(), targets, out);
        let mut handles = Vec::new();
        while !ys.is_empty() {
            let k = per.min(ys.len());
            let (part, data_rest) = std::mem::take(&mut data).split_at_mut(k * cols);
            let (y, ys_rest) = ys.split_at(k);
            let (o, outs_rest) = std::mem::take(&mut outs).split_at_mut(per_out.min(k));
            (data, ys, outs) = (data_rest, ys_rest, outs_rest);
            handles.push(s.spawn(move || f(part, y, o)));
        }
        handles.into_iter().map(crate::workers::join).collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_is_stable_for_huge_logits_and_sums_to_one() {
        let mut z = Matrix::from_vec(2, 3, vec![1000.0f64, 1001.0, 999.0, -1e4, 0.0, 3.0]);
        let loss = softmax_xent_forward(&mut z, &[1, 0], 1);
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
    fn softmax_split_over_workers_gives_the_same_probabilities_and_loss() {
        let (n, v) = (301, 1031); // above PAR_MIN_ENTRIES, rows not divisible by 2 or 3
        assert!(n * v >= PAR_MIN_ENTRIES, "the case must be split");
        let mut rng = crate::rng::Rng::new(5);
        let z = Matrix::<f32>::uniform(n, v, -8.0, 8.0, &mut rng);
        let targets: Vec<u32> = (0..n).map(|_| rng.below(v) as u32).collect();
        let mut p1 = z.clone();
        let l1 = softmax_xent_forward(&mut p1, &targets, 1);
        softmax_xent_backward(&mut p1, &targets, 0.5, 1);
        for workers in [2, 3] {
            let mut p = z.clone();
            let l = softmax_xent_forward(&mut p, &targets, workers);
            assert!(
                (l - l1).abs() <= 1e-12 * l1.abs(),
                "workers {workers}: loss {l} vs {l1}"
            );
            softmax_xent_backward(&mut p, &targets, 0.5, workers);
            assert_eq!(p.as_slice(), p1.as_slice(), "workers {workers}: rows are independent");
        }
    }

    #[test]
    fn embedding_scatter_add_accumulates_repeats() {
        let mut de = Matrix::<f64>::zeros(3, 2);
        let dout = Matrix::from_vec(3, 2, vec![1.0, 2.0, 10.0, 20.0, 100.0, 200.0]);
        embedding_backward(&mut de, &dout, &[2, 0, 2]);
        assert_eq!(de.as_slice(), &[10.0, 20.0, 0.0, 0.0, 101.0, 202.0]);
    }
}
