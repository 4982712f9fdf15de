//! The portable micro-kernel: plain Rust that every target compiles.
//!
//! 4 × 8, unrolled by hand over the four rows; the eight columns of a row are
//! a fixed-size array the compiler keeps in vector registers (two SSE
//! registers per row for f32 on baseline x86-64). Multiply and add are kept
//! separate: `mul_add` without hardware FMA is a slow library call.

use super::MicroKernel;
use crate::scalar::Float;

/// The portable 4 × 8 kernel, for f32 and f64.
#[derive(Clone, Copy, Debug, Default)]
pub struct Portable;

/// `acc += a · b` on one 8-wide row of the tile.
#[inline(always)]
fn row_update<T: Float>(acc: &mut [T; 8], a: T, b: &[T; 8]) {
    for j in 0..8 {
        acc[j] += a * b[j];
    }
}

/// `c := α·acc + β·c` on one row of C (never reads C when `β = 0`).
#[inline(always)]
fn row_store<T: Float>(c: &mut [T], acc: &[T; 8], alpha: T, beta: T) {
    let c = &mut c[..8];
    if beta == T::zero() {
        for j in 0..8 {
            c[j] = alpha * acc[j];
        }
    } else {
        for j in 0..8 {
            c[j] = alpha * acc[j] + beta * c[j];
        }
    }
}

impl<T: Float> MicroKernel<T> for Portable {
    const MR: usize = 4;
    const NR: usize = 8;

    #[inline]
    fn micro_kernel(self, kc: usize, alpha: T, a: &[T], b: &[T], beta: T, c: &mut [T], ldc: usize) {
        assert!(
            a.len() >= 4 * kc && b.len() >= 8 * kc,
            "portable kernel: short panels for kc = {kc}"
        );
        assert!(
            c.len() >= 3 * ldc + 8,
            "portable kernel: C holds {} < {} elements",
            c.len(),
            3 * ldc + 8
        );
        let z = T::zero();
        let (mut c0, mut c1, mut c2, mut c3) = ([z; 8], [z; 8], [z; 8], [z; 8]);
        for (ap, bp) in a.chunks_exact(4).zip(b.chunks_exact(8)).take(kc) {
            let bp: &[T; 8] = bp.try_into().expect("chunks_exact(8)");
            row_update(&mut c0, ap[0], bp);
            row_update(&mut c1, ap[1], bp);
            row_update(&mut c2, ap[2], bp);
            row_update(&mut c3, ap[3], bp);
        }
        row_store(&mut c[0..], &c0, alpha, beta);
        row_store(&mut c[ldc..], &c1, alpha, beta);
        row_store(&mut c[2 * ldc..], &c2, alpha, beta);
        row_store(&mut c[3 * ldc..], &c3, alpha, beta);
    }

    fn shallow_row(self, a: &[T], b: &[T], ldb: usize, add: bool, c: &mut [T]) {
        let n = c.len();
        // Eight columns at a time, as `row_update` and `row_store` do them.
        for (j0, out) in (0..n).step_by(8).zip(c.chunks_mut(8)) {
            let mut acc = [T::zero(); 8];
            for (p, &ap) in a.iter().enumerate() {
                let row = &b[p * ldb + j0..p * ldb + j0 + out.len()];
                for (x, &bv) in acc.iter_mut().zip(row) {
                    *x += ap * bv;
                }
            }
            for (o, &x) in out.iter_mut().zip(&acc) {
                *o = if add { x + *o } else { x }; // row_store with α = 1, β = 1 or 0
            }
        }
    }
}
