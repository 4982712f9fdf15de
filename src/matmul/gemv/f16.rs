//! `y := W·x + β·y` with W held as IEEE half precision ([`crate::f16`]),
//! for one-token steps (`generate --weights f16`).
//!
//! The same bytes as bf16 ([`super::bf16`]), a simpler layout: W row by row,
//! each row padded with zeros to a multiple of 16 halves. x86's F16C widens
//! 8 halves to 8 f32 in one instruction (`vcvtph2ps`, which takes its
//! halves straight from memory), where a lane of two bf16 needs a shift and
//! a mask; on the AVX2 machine of `docs/matmul.md` that made the loop
//! 11–15% faster than bf16's at every matrix size. The loops keep the
//! bf16 rows' sums: four rows at a time, per output eight partial sums over
//! the first 8 inputs of each 16 and eight over the second 8.
//!
//! Output groups can be visited back to front ([`Order`]), as for bf16: a
//! step that alternates the order starts with the weights the step before
//! read last, still in L2.

use super::super::Kernel;
use super::Order;
use crate::f16;
use crate::matrix::MatRef;

/// Inputs per vector pair: each row is padded to a multiple of this.
pub const ROW_VECTOR: usize = 16;

/// Outputs per group (one call of the kernel).
const GROUP: usize = 64;

/// W `[n, k]` as f16, row by row.
#[derive(Clone, Debug)]
pub struct F16Matrix {
    k: usize,
    n: usize,
    /// Row j is `halves[j·len .. (j + 1)·len]`, `len = 16·⌈k/16⌉`: W[j, p]
    /// at p, zeros past k.
    halves: Vec<u16>,
}

impl F16Matrix {
    /// W rounded to f16 (nearest, ties to even).
    pub fn new(w: MatRef<f32>) -> Self {
        let (n, k) = (w.rows(), w.cols());
        let len = k.next_multiple_of(ROW_VECTOR);
        let mut halves = vec![0u16; n * len];
        for (j, row) in halves.chunks_exact_mut(len.max(1)).enumerate() {
            for (p, h) in row[..k].iter_mut().enumerate() {
                *h = f16::from_f32(w.at(j, p));
            }
        }
        F16Matrix { k, n, halves }
    }

    /// Inputs per output (W's columns).
    pub fn k(&self) -> usize {
        self.k
    }

    /// Outputs (W's rows).
    pub fn n(&self) -> usize {
        self.n
    }

    /// `y := W·x + β·y`, with β 0 (y not read) or 1, the output groups
    /// visited in `order`; with AVX2 + F16C where `kernel` is a SIMD one and
    /// this CPU has them, else portable loops.
    ///
    /// # Panics
    /// If `x.len() ≠ k`, `y.len() ≠ n` or β is neither 0 nor 1.
    pub fn times(&self, kernel: Kernel, x: &[f32], beta: f32, y: &mut [f32], order: Order) {
        assert_eq!(
            x.len(),
            self.k,
            "f16 matrix: x has {} entries for k = {}",
            x.len(),
            self.k
        );
        assert_eq!(
            y.len(),
            self.n,
            "f16 matrix: y has {} entries for n = {}",
            y.len(),
            self.n
        );
        assert!(beta == 0.0 || beta == 1.0, "f16 matrix: β = {beta}");
        let len = self.k.next_multiple_of(ROW_VECTOR);
        let groups = self.n.div_ceil(GROUP);
        let mut out = [0.0f32; GROUP];
        for g in order.groups(groups) {
            let j0 = g * GROUP;
            let cols = GROUP.min(self.n - j0);
            let rows = &self.halves[j0 * len..(j0 + cols) * len];
            rows_times(kernel, x, rows, &mut out[..cols]);
            for (yj, &v) in y[j0..j0 + cols].iter_mut().zip(out.iter()) {
                *yj = if beta == 0.0 { v } else { v + *yj };
            }
        }
    }
}

/// `out[j] = Σ_p W[j, p]·x[p]` over one group of rows (`out.len()` rows).
fn rows_times(kernel: Kernel, x: &[f32], rows: &[u16], out: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if matches!(kernel, Kernel::Avx2 | Kernel::Avx512) && super::x86_64::has_f16c() {
        return super::x86_64::f16_rows(x, rows, out);
    }
    let _ = kernel;
    rows_portable(x, rows, out);
}

/// The portable loops: per output, eight partial sums over the first 8
/// inputs of each 16 and eight over the second 8, as the SIMD lanes keep
/// them, without fused multiply-adds.
fn rows_portable(x: &[f32], rows: &[u16], out: &mut [f32]) {
    let len = x.len().next_multiple_of(ROW_VECTOR);
    let input = |p: usize| x.get(p).copied().unwrap_or(0.0);
    for (o, row) in out.iter_mut().zip(rows.chunks_exact(len)) {
        let (mut lo, mut hi) = ([0.0f32; 8], [0.0f32; 8]);
        for (v, halves) in row.chunks_exact(16).enumerate() {
            for i in 0..8 {
                lo[i] += input(16 * v + i) * f16::to_f32(halves[i]);
                hi[i] += input(16 * v + 8 + i) * f16::to_f32(halves[8 + i]);
            }
        }
        *o = lo.iter().zip(&hi).map(|(a, b)| a + b).sum();
    }
}

#[cfg(test)]
mod tests {
    use super::super::half_checks;
    use super::*;
    use crate::matrix::Matrix;
    use crate::rng::Rng;

    /// Every kernel (the SIMD loops where this CPU has AVX2 + F16C, else
    /// the portable ones), in both orders, gives W·x of the rounded weights
    /// for shapes around the vector, four-row and group boundaries; the two
    /// orders give the same bits.
    #[test]
    fn times_gives_w_times_x_of_the_rounded_weights() {
        #[cfg(target_arch = "x86_64")]
        if !super::super::x86_64::has_f16c() {
            eprintln!("note: this CPU lacks AVX2 + F16C: only the portable f16 loops are checked");
        }
        let mut rng = Rng::new(11);
        for (n, k) in [
            (1, 1),
            (3, 2),
            (16, 5),
            (17, 31),
            (65, 64),
            (128, 128),
            (129, 7),
            (70, 16),
            (5, 47),
        ] {
            let w = Matrix::<f32>::normal(n, k, 1.0, &mut rng);
            let x: Vec<f32> = (0..k).map(|_| rng.uniform() as f32 * 2.0 - 1.0).collect();
            let m = F16Matrix::new(w.view());
            assert_eq!((m.n(), m.k()), (n, k));
            half_checks::times_is_w_times_x_of_the_rounded_weights(
                "f16",
                f16::round,
                &w,
                &x,
                |kernel, x, beta, y, order| m.times(kernel, x, beta, y, order),
            );
        }
    }

    /// The SIMD loops and the portable ones read the same halves: one
    /// weight moves one output.
    #[test]
    fn one_weight_moves_one_output() {
        half_checks::one_weight_moves_one_output("f16", f16::round, |w, kernel, x, y, order| {
            F16Matrix::new(w.view()).times(kernel, x, 0.0, y, order)
        });
    }
}
