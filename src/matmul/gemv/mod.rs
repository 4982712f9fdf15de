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

/// Checks shared by the half-precision products' tests ([`bf16`], [`f16`]):
/// each format's `times` against W·x of its rounded weights.
#[cfg(test)]
pub(crate) mod half_checks {
    use super::super::Kernel;
    use super::Order;
    use crate::matrix::Matrix;

    /// Row j of W·x in f64 over W's entries as `round` gives them, and the
    /// bound on its f32 rounding error (k · ε · Σ|terms|, generous).
    fn reference(round: fn(f32) -> f32, w: &Matrix<f32>, x: &[f32], j: usize) -> (f64, f64) {
        let terms = (0..x.len()).map(|p| round(w.get(j, p)) as f64 * x[p] as f64);
        let (sum, abs) = terms.fold((0.0, 0.0), |(s, a), t| (s + t, a + t.abs()));
        (sum, abs * x.len() as f64 * f32::EPSILON as f64 + 1e-30)
    }

    /// `times(kernel, x, β, y, order)` (`y := W·x + β·y` in the format
    /// `round` rounds to) gives W·x of the rounded weights for every kernel,
    /// β 0 and 1, and both orders, which give the same bits. `what` names
    /// the case in a failure.
    pub fn times_is_w_times_x_of_the_rounded_weights(
        what: &str,
        round: fn(f32) -> f32,
        w: &Matrix<f32>,
        x: &[f32],
        times: impl Fn(Kernel, &[f32], f32, &mut [f32], Order),
    ) {
        let (n, k) = (w.rows(), w.cols());
        for kernel in Kernel::ALL {
            for beta in [0.0, 1.0] {
                let y0: Vec<f32> = (0..n).map(|j| j as f32 * 0.25).collect();
                let mut ys = Vec::new();
                for order in [Order::Forward, Order::Backward] {
                    let mut y = y0.clone();
                    times(kernel, x, beta, &mut y, order);
                    for j in 0..n {
                        let (want, bound) = reference(round, w, x, j);
                        let got = y[j] as f64 - beta as f64 * y0[j] as f64;
                        assert!(
                            (got - want).abs() <= bound + y0[j].abs() as f64 * 1e-6,
                            "{what} {kernel} {order:?} n {n} k {k} β {beta} row {j}: {got} vs {want}"
                        );
                    }
                    ys.push(y);
                }
                assert_eq!(ys[0], ys[1], "{what} {kernel} n {n} k {k}: the orders differ");
            }
        }
    }

    /// The SIMD loops and the portable ones read the same lanes: with W
    /// `[70, 41]` held by `times(W, kernel, x, y, order)`, a change to one
    /// weight moves exactly its output, by its step in the format times x.
    /// The weights tried sit in both halves of a 16-input vector, in the
    /// last (partial) vector of a row, in the four-row groups and the rows
    /// after them, the last group of 64 rows and the last panel of 128.
    pub fn one_weight_moves_one_output(
        what: &str,
        round: fn(f32) -> f32,
        times: impl Fn(&Matrix<f32>, Kernel, &[f32], &mut [f32], Order),
    ) {
        let mut rng = crate::rng::Rng::new(4);
        let (n, k) = (70, 41);
        let mut w = Matrix::<f32>::normal(n, k, 1.0, &mut rng);
        let x: Vec<f32> = (0..k).map(|p| 1.0 + p as f32).collect();
        for kernel in Kernel::ALL {
            for (j, p) in [(69, 40), (67, 33), (3, 0), (3, 8), (64, 15), (1, 39)] {
                let mut before = vec![0.0; n];
                times(&w, kernel, &x, &mut before, Order::Forward);
                let old = w.get(j, p);
                w.set(j, p, old + 1.0);
                let mut after = vec![0.0; n];
                times(&w, kernel, &x, &mut after, Order::Backward);
                w.set(j, p, old);
                for jj in 0..n {
                    if jj == j {
                        let moved = (after[jj] - before[jj]) as f64;
                        let want = (round(old + 1.0) - round(old)) as f64 * x[p] as f64;
                        assert!(
                            (moved - want).abs() < 1e-3,
                            "{what} {kernel} W[{j}, {p}]: moved {moved}, want {want}"
                        );
                    } else {
                        assert_eq!(after[jj], before[jj], "{what} {kernel} W[{j}, {p}]: row {jj} moved");
                    }
                }
            }
        }
    }
}
