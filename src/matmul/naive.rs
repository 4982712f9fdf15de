//! The textbook triple loop: the algorithmic reference and the test oracle.
//!
//! `C := α·A·B + β·C`, one dot product per entry of C, accumulated in the
//! element type. Slow on purpose: nothing here is blocked, packed or unrolled,
//! so every faster path is checked against it.

use crate::matrix::{MatMut, MatRef};
use crate::scalar::Float;

/// `C := α·A·B + β·C` for `A: m × k`, `B: k × n`, `C: m × n`.
/// With `β = 0`, C is written without being read (it may hold NaN).
///
/// # Panics
/// If the shapes do not agree.
pub fn gemm_naive<T: Float>(alpha: T, a: MatRef<T>, b: MatRef<T>, beta: T, mut c: MatMut<T>) {
    super::check_shapes(&a, &b, &c);
    let (m, k, n) = (a.rows(), a.cols(), b.cols());
    for i in 0..m {
        for j in 0..n {
            let mut dot = T::zero();
            for p in 0..k {
                dot += a.at(i, p) * b.at(p, j);
            }
            let out = c.at_mut(i, j);
            *out = if beta == T::zero() {
                alpha * dot
            } else {
                alpha * dot + beta * *out
            };
        }
    }
}
