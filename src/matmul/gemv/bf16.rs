//! `y := W·x + β·y` with W held as bf16 ([`crate::bf16`]), for one-token
//! steps (`generate --weights bf16`).
//!
//! A step at B = 1 reads every weight once and does one multiply-add with
//! it, so it runs at the speed weights reach the core. bf16 halves the
//! bytes: an H = 512 model's W_h drops from 1 MiB to 512 KiB and, with W_y,
//! stays in a 1 MiB L2 from one token to the next.
//!
//! Layout ([`Bf16Panels`]): Wᵀ cut into panels of [`PANEL`] output columns;
//! in a panel, row q holds one `u32` lane per column j with W\[j, 2q\] in its
//! low half and W\[j, 2q + 1\] in its high half:
//!
//! ```text
//!   lane = bf16(W[j, 2q]) | bf16(W[j, 2q+1]) << 16
//!   lane << 16           = W[j, 2q]    as f32    (one shift)
//!   lane & 0xFFFF_0000   = W[j, 2q+1]  as f32    (one mask)
//!   acc[j] += x[2q] · (lane << 16) + x[2q+1] · (lane & 0xFFFF_0000)
//! ```
//!
//! So a panel streams from memory front to back, each 16 lanes widen into
//! two f32 vectors with no shuffle, and each output column keeps its own
//! accumulator: no horizontal sums (the axpy form, `x[p]` broadcast).

use super::super::Kernel;
use crate::bf16;
use crate::bf16::x_pair;
use crate::matrix::MatRef;

/// Output columns per panel: eight AVX-512 accumulators of 16 lanes (two
/// passes of eight 8-lane accumulators on AVX2).
pub const PANEL: usize = 128;

/// Panel widths round up to this many lanes (one AVX-512 vector); the
/// padding lanes hold zeros.
pub const LANES: usize = 16;

/// W `[n, k]` as bf16 pairs in panels (see the module docs).
#[derive(Clone, Debug)]
pub struct Bf16Panels {
    k: usize,
    n: usize,
    /// Panel after panel; panel `i` is `[⌈k/2⌉, width(i)]` lanes.
    lanes: Vec<u32>,
}

impl Bf16Panels {
    /// W rounded to bf16 (nearest, ties to even) and laid out in panels.
    pub fn new(w: MatRef<f32>) -> Self {
        let (n, k) = (w.rows(), w.cols());
        let pairs = k.div_ceil(2);
        let mut lanes = Vec::with_capacity(pairs * n.next_multiple_of(LANES));
        for j0 in (0..n).step_by(PANEL) {
            let cols = PANEL.min(n - j0);
            let width = cols.next_multiple_of(LANES);
            for q in 0..pairs {
                for j in j0..j0 + width {
                    let at = |p: usize| if j < n && p < k { bf16::from_f32(w.at(j, p)) } else { 0 };
                    lanes.push(at(2 * q) as u32 | (at(2 * q + 1) as u32) << 16);
                }
            }
        }
        Bf16Panels { k, n, lanes }
    }

    /// Inputs per output (W's columns).
    pub fn k(&self) -> usize {
        self.k
    }

    /// Outputs (W's rows).
    pub fn n(&self) -> usize {
        self.n
    }

    /// The panels in order: (first output column, valid columns, lanes per
    /// row, the panel's lanes).
    fn panels(&self) -> impl Iterator<Item = (usize, usize, usize, &[u32])> {
        let pairs = self.k.div_ceil(2);
        let mut rest = &self.lanes[..];
        (0..self.n).step_by(PANEL).map(move |j0| {
            let cols = PANEL.min(self.n - j0);
            let width = cols.next_multiple_of(LANES);
            let (panel, tail) = rest.split_at(pairs * width);
            rest = tail;
            (j0, cols, width, panel)
        })
    }

    /// `y := W·x + β·y`, with β 0 (y not read) or 1; on `kernel`'s
    /// instruction set where this CPU has it, else portable loops.
    ///
    /// # Panics
    /// If `x.len() ≠ k`, `y.len() ≠ n` or β is neither 0 nor 1.
    pub fn times(&self, kernel: Kernel, x: &[f32], beta: f32, y: &mut [f32]) {
        assert_eq!(
            x.len(),
            self.k,
            "bf16 panels: x has {} entries for k = {}",
            x.len(),
            self.k
        );
        assert_eq!(
            y.len(),
            self.n,
            "bf16 panels: y has {} entries for n = {}",
            y.len(),
            self.n
        );
        assert!(beta == 0.0 || beta == 1.0, "bf16 panels: β = {beta}");
        let mut out = [0.0f32; PANEL];
        for (j0, cols, width, panel) in self.panels() {
            let out = &mut out[..width];
            panel_times(kernel, x, panel, out);
            for (yj, &v) in y[j0..j0 + cols].iter_mut().zip(out.iter()) {
                *yj = if beta == 0.0 { v } else { v + *yj };
            }
        }
    }
}

/// `out[j] = Σ_p W[j, p]·x[p]` over one panel (`out.len()` lanes a row).
fn panel_times(kernel: Kernel, x: &[f32], panel: &[u32], out: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if super::x86_64::has(kernel) {
        return super::x86_64::bf16_panel(kernel, x, panel, out);
    }
    let _ = kernel;
    panel_portable(x, panel, out);
}

/// The portable loops: the same sums in the same order as the SIMD ones,
/// without fused multiply-adds.
fn panel_portable(x: &[f32], panel: &[u32], out: &mut [f32]) {
    let width = out.len();
    out.fill(0.0);
    for (q, row) in panel.chunks_exact(width).enumerate() {
        let (x0, x1) = x_pair(x, q);
        for (o, &lane) in out.iter_mut().zip(row) {
            let lo = f32::from_bits(lane << 16);
            let hi = f32::from_bits(lane & 0xFFFF_0000);
            *o = *o + x0 * lo + x1 * hi;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matrix::Matrix;
    use crate::rng::Rng;

    /// W·x in f64 over the bf16-rounded weights, and the bound on its f32
    /// rounding error (k · ε · Σ|terms|, generous).
    fn reference(w: &Matrix<f32>, x: &[f32], j: usize) -> (f64, f64) {
        let terms = (0..x.len()).map(|p| bf16::round(w.get(j, p)) as f64 * x[p] as f64);
        let (sum, abs) = terms.fold((0.0, 0.0), |(s, a), t| (s + t, a + t.abs()));
        (sum, abs * x.len() as f64 * f32::EPSILON as f64 + 1e-30)
    }

    /// Every kernel this CPU has, and the portable loops, give W·x of the
    /// rounded weights for shapes around the panel and pair boundaries.
    #[test]
    fn panels_give_w_times_x_of_the_rounded_weights() {
        let mut rng = Rng::new(11);
        for (n, k) in [
            (1, 1),
            (3, 2),
            (16, 5),
            (17, 31),
            (65, 64),
            (128, 128),
            (129, 7),
            (300, 33),
        ] {
            let w = Matrix::<f32>::normal(n, k, 1.0, &mut rng);
            let x: Vec<f32> = (0..k).map(|_| rng.uniform() as f32 * 2.0 - 1.0).collect();
            let panels = Bf16Panels::new(w.view());
            assert_eq!((panels.n(), panels.k()), (n, k));
            for kernel in Kernel::ALL {
                for beta in [0.0, 1.0] {
                    let y0: Vec<f32> = (0..n).map(|j| j as f32 * 0.25).collect();
                    let mut y = y0.clone();
                    panels.times(kernel, &x, beta, &mut y);
                    for j in 0..n {
                        let (want, bound) = reference(&w, &x, j);
                        let got = y[j] as f64 - beta as f64 * y0[j] as f64;
                        assert!(
                            (got - want).abs() <= bound + y0[j].abs() as f64 * 1e-6,
                            "{kernel} n {n} k {k} β {beta} col {j}: {got} vs {want}"
                        );
                    }
                }
            }
        }
    }

    /// The SIMD loops and the portable ones read the same lanes: a change to
    /// one weight moves exactly its output, by its bf16 step times x.
    #[test]
    fn one_weight_moves_one_output() {
        let mut rng = Rng::new(4);
        let (n, k) = (40, 9);
        let mut w = Matrix::<f32>::normal(n, k, 1.0, &mut rng);
        let x: Vec<f32> = (0..k).map(|p| 1.0 + p as f32).collect();
        for kernel in Kernel::ALL {
            let mut before = vec![0.0; n];
            Bf16Panels::new(w.view()).times(kernel, &x, 0.0, &mut before);
            let (j, p) = (37, 8); // the last panel's tail, the odd last input
            let old = w.get(j, p);
            w.set(j, p, old + 1.0);
            let mut after = vec![0.0; n];
            Bf16Panels::new(w.view()).times(kernel, &x, 0.0, &mut after);
            w.set(j, p, old);
            for jj in 0..n {
                if jj == j {
                    let moved = (after[jj] - before[jj]) as f64;
                    let want = (bf16::round(old + 1.0) - bf16::round(old)) as f64 * x[p] as f64;
                    assert!((moved - want).abs() < 1e-3, "{kernel}: moved {moved}, want {want}");
                } else {
                    assert_eq!(after[jj], before[jj], "{kernel}: column {jj} moved");
                }
            }
        }
    }
}
