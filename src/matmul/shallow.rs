//! Shallow products: `C := A·B (+ C)` whose depth k is a handful, with many
//! rows of C — a classed model's `dW_y[K] += dUᵀ G_K`, where k is the number
//! of positions (of one shard) whose target falls in class K, often 1 to 3,
//! while the block of C has |K| × H entries.
//!
//! There the packed loops spend their time on C, not on arithmetic: each
//! `MR × NR` tile loads and stores its part of C for k multiply-adds, and
//! the tiles walk C in column panels, a few cache lines from each row at a
//! time. Here each row of C is finished in one sequential pass instead
//! ([`MicroKernel::shallow_row`]), B's k rows staying in L1:
//!
//! ```text
//!   for each row i of C:   c_i := Σ_p a(i, p)·B[p, :]  (+ c_i)
//! ```
//!
//! Every entry is the tile kernel's chain of operations, so a product gives
//! the same bits on either path (tested below for every kernel this CPU
//! runs); the path taken depends on the shapes alone, never on threads.

use super::kernel::{kernel_for, portable::Portable, Kernel, MicroKernel};
use crate::matrix::{MatMut, MatRef};
use crate::scalar::Float;

/// Products of at most this depth, with α = 1 and β = 0 or 1, take the
/// row path. Measured on a V = 50k classed step (AVX-512): the dW_y phase
/// took half the time of the packed loops.
pub const SHALLOW_K: usize = 4;

/// `C := A·B`, plus C when `add`, row by row on `kernel` (as
/// [`kernel_for`] resolves it for `T`). B must have unit column stride.
///
/// # Panics
/// If `a.cols() > SHALLOW_K`, B's columns are not contiguous, or the
/// shapes disagree.
pub(crate) fn shallow_rows<T: Float>(kernel: Kernel, a: MatRef<T>, b: MatRef<T>, add: bool, c: MatMut<T>) {
    assert!(
        a.cols() <= SHALLOW_K && b.col_stride() == 1,
        "shallow_rows: depth {} or B's column stride {}",
        a.cols(),
        b.col_stride()
    );
    super::check_shapes(&a, &b, &c);
    let kernel = kernel_for::<T>(kernel);
    #[cfg(target_arch = "x86_64")]
    if kernel != Kernel::Portable {
        use super::kernel::x86_64::{Avx2Fma, Avx512};
        let (Some(a), Some(b), Some(c)) = (a.as_f32(), b.as_f32(), c.into_f32()) else {
            unreachable!("kernel_for picks a SIMD kernel for f32 only");
        };
        return match kernel {
            Kernel::Avx2 => rows_on(
                Avx2Fma::detect().expect("AVX2 kernel chosen without AVX2+FMA"),
                a,
                b,
                add,
                c,
            ),
            _ => rows_on(
                Avx512::detect().expect("AVX-512 kernel chosen without AVX-512F"),
                a,
                b,
                add,
                c,
            ),
        };
    }
    rows_on(Portable, a, b, add, c)
}

/// [`shallow_rows`] on one kernel.
fn rows_on<T: Float, K: MicroKernel<T>>(kernel: K, a: MatRef<T>, b: MatRef<T>, add: bool, mut c: MatMut<T>) {
    let k = a.cols();
    let mut a_row = [T::zero(); SHALLOW_K];
    for i in 0..c.rows() {
        for (p, x) in a_row[..k].iter_mut().enumerate() {
            *x = a.at(i, p);
        }
        kernel.shallow_row(&a_row[..k], b.data(), b.row_stride(), add, c.row_mut(i));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matmul::Gemm;
    use crate::matrix::Matrix;
    use crate::rng::Rng;

    /// For every kernel this CPU runs (and the portable one in f64), every
    /// depth up to SHALLOW_K, β = 0 and 1, A plain or transposed, ragged
    /// sizes: the row path gives the packed loops' bits.
    #[test]
    fn shallow_rows_equal_the_packed_loops_to_the_bit() {
        fn check<T: Float>(kernel: Kernel, rng: &mut Rng) {
            for &(m, n) in &[(2, 1), (3, 17), (13, 33), (25, 200), (40, 70)] {
                for k in 1..=SHALLOW_K {
                    for add in [false, true] {
                        for transposed in [false, true] {
                            let a = if transposed {
                                Matrix::<T>::uniform(k, m, -1.0, 1.0, rng)
                            } else {
                                Matrix::<T>::uniform(m, k, -1.0, 1.0, rng)
                            };
                            let a_view = if transposed { a.view().t() } else { a.view() };
                            let b = Matrix::<T>::uniform(k, n, -1.0, 1.0, rng);
                            let c0 = Matrix::<T>::uniform(m, n, -1.0, 1.0, rng);
                            let beta = if add { T::one() } else { T::zero() };
                            let mut packed = c0.clone();
                            let mut gemm = Gemm::<T>::with_kernel(kernel).expect("available");
                            let b_packed = gemm.pack_b(b.view());
                            gemm.gemm_packed(T::one(), a_view, &b_packed, beta, packed.view_mut());
                            let mut rows = c0.clone();
                            shallow_rows(kernel, a_view, b.view(), add, rows.view_mut());
                            assert!(
                                rows.as_slice()
                                    .iter()
                                    .zip(packed.as_slice())
                                    .all(|(x, y)| x.to_f64().to_bits() == y.to_f64().to_bits()),
                                "{kernel}: m {m} k {k} n {n} add {add} transposed {transposed}"
                            );
                        }
                    }
                }
            }
        }
        let mut rng = Rng::new(17);
        for kernel in Kernel::available().into_iter().filter(|&k| k != Kernel::Naive) {
            check::<f32>(kernel, &mut rng);
        }
        check::<f64>(Kernel::Portable, &mut rng);
    }
}
