//! Row vector × matrix (`m = 1`), and a few rows at once: generation runs
//! one stream, so every recurrence step is `[1, H] · [H, H]`; the classed
//! output layer multiplies a class's slice of W_y by the handful of
//! positions whose target is in that class.
//!
//! The packed path would spend most of an `MR`-tall tile on zero padding,
//! and packing B costs more than reading it a few times, so up to
//! [`FEW_ROWS`] rows get their own loops. They are memory-bound: each reads
//! B once, for all the rows.

#[cfg(target_arch = "x86_64")]
pub mod x86_64;

pub mod bf16;
pub mod f16;

use super::kernel::Kernel;
use super::pack::PackedB;
use crate::matrix::{MatMut, MatRef};
use crate::scalar::Float;

/// Eight-lane dot product: independent partial sums let the compiler use
/// vector registers without reassociating a single accumulator.
#[inline]
pub(crate) fn dot<T: Float>(x: &[T], y: &[T]) -> T {
    let mut acc = [T::zero(); 8];
    let xc = x.chunks_exact(8);
    let yc = y.chunks_exact(8);
    let (xr, yr) = (xc.remainder(), yc.remainder());
    for (a, b) in xc.zip(yc) {
        for l in 0..8 {
            acc[l] += a[l] * b[l];
        }
    }
    let mut s = T::zero();
    for (a, b) in xr.iter().zip(yr) {
        s += *a * *b;
    }
    acc.iter().fold(T::zero(), |t, &v| t + v) + s
}

/// Write `y[j] := α·v + β·y[j]`, not reading `y` when `β = 0`.
#[inline(always)]
fn put<T: Float>(y: &mut T, v: T, alpha: T, beta: T) {
    *y = if beta == T::zero() {
        alpha * v
    } else {
        alpha * v + beta * *y
    };
}

/// The order the output groups of a half-precision product ([`bf16`](mod@bf16),
/// [`f16`](mod@f16)) are computed in: a step that alternates them starts with the
/// weights the step before read last, still in L2.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    Forward,
    Backward,
}

impl Order {
    /// The other order.
    pub fn flipped(self) -> Order {
        match self {
            Order::Forward => Order::Backward,
            Order::Backward => Order::Forward,
        }
    }

    /// Group indices `0..count` in this order.
    pub fn groups(self, count: usize) -> impl Iterator<Item = usize> {
        (0..count).map(move |i| match self {
            Order::Forward => i,
            Order::Backward => count - 1 - i,
        })
    }
}

/// Products with at most this many rows of A skip packing.
pub const FEW_ROWS: usize = 4;

/// `C := α·A·B + β·C` for a few rows of A (each contiguous) with B (`k × n`)
/// stored with unit column stride: `row(p)` is `b[p·rs .. p·rs + n]`. Axpy
/// form: one pass over B's rows, each added into every row of C.
pub(crate) fn rows_times_rows<T: Float>(alpha: T, a: MatRef<T>, b: &[T], rs: usize, beta: T, c: &mut MatMut<T>) {
    let (m, k, n) = (a.rows(), a.cols(), c.cols());
    for i in 0..m {
        let y = c.row_mut(i);
        if beta == T::zero() {
            y.fill(T::zero());
        } else if beta != T::one() {
            y.iter_mut().for_each(|v| *v *= beta);
        }
    }
    for p in 0..k {
        let row = &b[p * rs..p * rs + n];
        for i in 0..m {
            let ax = alpha * a.at(i, p);
            for (v, &w) in c.row_mut(i).iter_mut().zip(row) {
                *v += ax * w;
            }
        }
    }
}

/// `C := α·A·B + β·C` for a few rows of A (each contiguous) with B (`k × n`)
/// stored with unit row stride: column `j` is `b[j·cs .. j·cs + k]`. Dot
/// form: each column of B is read once and dotted with every row of A.
/// With `kernel` AVX2 or AVX-512 and f32 operands, the dot products run on
/// that instruction set ([`x86_64::dots`]).
pub(crate) fn rows_times_cols<T: Float>(
    kernel: Kernel,
    alpha: T,
    a: MatRef<T>,
    b: &[T],
    cs: usize,
    beta: T,
    c: &mut MatMut<T>,
) {
    let (m, k, n) = (a.rows(), a.cols(), c.cols());
    #[cfg(target_arch = "x86_64")]
    if let Some(b32) = T::as_f32(b).filter(|_| x86_64::has(kernel)) {
        let mut row = [0.0f32; 256];
        for i in 0..m {
            let x = &a.data()[i * a.row_stride()..i * a.row_stride() + k];
            let x = T::as_f32(x).expect("T is f32");
            for j0 in (0..n).step_by(row.len()) {
                let cols = row.len().min(n - j0);
                x86_64::dots(kernel, x, &b32[j0 * cs..], cs, &mut row[..cols]);
                for (j, &v) in row[..cols].iter().enumerate() {
                    put(&mut c.row_mut(i)[j0 + j], T::from_f64(v as f64), alpha, beta);
                }
            }
        }
        return;
    }
    for j in 0..n {
        let col = &b[j * cs..j * cs + k];
        for i in 0..m {
            let x = &a.data()[i * a.row_stride()..i * a.row_stride() + k];
            put(&mut c.row_mut(i)[j], dot(x, col), alpha, beta);
        }
    }
}

/// `y := α·x·B + β·y` with B packed: each NR-wide panel is streamed once,
/// accumulating NR outputs across all its blocks.
pub(crate) fn row_times_packed<T: Float>(alpha: T, x: &[T], b: &PackedB<T>, beta: T, y: &mut [T]) {
    match b.nr {
        8 => packed_panels::<T, 8>(alpha, x, b, beta, y),
        16 => packed_panels::<T, 16>(alpha, x, b, beta, y),
        32 => packed_panels::<T, 32>(alpha, x, b, beta, y),
        nr => unreachable!("no kernel has NR = {nr}"),
    }
}

fn packed_panels<T: Float, const NR: usize>(alpha: T, x: &[T], b: &PackedB<T>, beta: T, y: &mut [T]) {
    let (k, n) = (b.k, b.n);
    for (j, out) in y.chunks_mut(NR).enumerate() {
        let mut acc = [T::zero(); NR];
        for pc in (0..k).step_by(b.kc) {
            let kc = b.kc.min(k - pc);
            let panel = b.panel(pc, kc, j);
            for (&xp, row) in x[pc..pc + kc].iter().zip(panel.chunks_exact(NR)) {
                for l in 0..NR {
                    acc[l] += xp * row[l];
                }
            }
        }
        let valid = NR.min(n - j * NR);
        for (o, &v) in out[..valid].iter_mut().zip(&acc) {
            put(o, v, alpha, beta);
        }
    }
}
