//! `y := W·x + β·y` with W held as bf16 ([`crate::bf16`]), for one-token
//! steps (`generate --weights bf16`).
//!
//! A step at B = 1 reads every weight once and does one multiply-add with
//! it, so it runs at the speed weights reach the core. bf16 halves the
//! bytes: an H = 512 model's W_h drops from 1 MiB to 512 KiB.
//!
//! Two layouts ([`Layout`]), each a `u32` lane holding two bf16 — one in its
//! low half, one in its high half — because that pair widens to two f32
//! vectors with no shuffle:
//!
//! ```text
//!   lane << 16           = the low bf16 as f32    (one shift)
//!   lane & 0xFFFF_0000   = the high bf16 as f32   (one mask)
//! ```
//!
//! - **Rows** (AVX2 and the portable loops): W row by row, in vectors of 8
//!   lanes; lane i of vector v of row j holds W\[j, 16v + i\] low and
//!   W\[j, 16v + 8 + i\] high, so the low halves meet x\[16v .. 16v + 8\]
//!   and the high halves the next 8 inputs, both plain loads of x. Four
//!   rows are streamed at once, each with two accumulators (low, high): the
//!   dot form, eight independent sums, one horizontal sum per output.
//! - **Panels** (AVX-512): Wᵀ cut into panels of [`PANEL`] output columns;
//!   in a panel, row q holds one lane per column j with W\[j, 2q\] low and
//!   W\[j, 2q + 1\] high, and each column keeps its own accumulator: the
//!   axpy form, x\[2q\] and x\[2q + 1\] broadcast, no horizontal sums. With
//!   32 vector registers this feeds 16-lane FMAs from one stream; with
//!   AVX2's 16 registers it spills, which is why AVX2 reads rows.
//!
//! Either way the outputs are computed in groups, and the groups can be
//! visited back to front ([`Order`]): a step that alternates the order
//! starts each product with the weights the step before read last, which
//! are the ones still in L2 when the matrix is larger than L2 (bf16 W_h and
//! W_y of an H = 512 model are 579 KiB against 512 KiB of L2 on the AVX2
//! machine). Every output is the same sum in either order.

use super::super::Kernel;
use super::Order;
use crate::bf16;
use crate::bf16::x_pair;
use crate::matrix::MatRef;

/// Output columns per panel: eight AVX-512 accumulators of 16 lanes (two
/// passes of eight 8-lane accumulators on AVX2).
pub const PANEL: usize = 128;

/// Panel widths round up to this many lanes (one AVX-512 vector); the
/// padding lanes hold zeros.
pub const LANES: usize = 16;

/// Inputs per vector of 8 lanes in the rows layout.
pub const ROW_VECTOR: usize = 16;

/// Outputs per group of the rows layout (one call of the kernel).
const ROW_GROUP: usize = 64;

// [`Bf16Matrix::times`] gathers a group's outputs in a buffer of PANEL.
const _: () = assert!(ROW_GROUP <= PANEL);

/// How the lanes of a [`Bf16Matrix`] are laid out (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// Row by row, for dot products (AVX2, portable).
    Rows,
    /// Panels of Wᵀ, for broadcasts into per-column accumulators (AVX-512).
    Panels,
}

impl Layout {
    /// The layout `kernel`'s loops read fastest.
    pub fn for_kernel(kernel: Kernel) -> Layout {
        if kernel == Kernel::Avx512 {
            Layout::Panels
        } else {
            Layout::Rows
        }
    }
}

/// W `[n, k]` as bf16 pairs in one of the [`Layout`]s.
#[derive(Clone, Debug)]
pub struct Bf16Matrix {
    k: usize,
    n: usize,
    layout: Layout,
    /// Rows: row after row, `8·⌈k/16⌉` lanes each. Panels: panel after
    /// panel; panel `i` is `[⌈k/2⌉, width(i)]` lanes.
    lanes: Vec<u32>,
}

/// Two bf16 in a lane: `lo` in the low half, `hi` in the high half.
fn lane(lo: u16, hi: u16) -> u32 {
    lo as u32 | (hi as u32) << 16
}

impl Bf16Matrix {
    /// W rounded to bf16 (nearest, ties to even) and laid out as `layout`.
    pub fn new(w: MatRef<f32>, layout: Layout) -> Self {
        let (n, k) = (w.rows(), w.cols());
        // W[j, p] as bf16, zero past the last input or output.
        let at = |j: usize, p: usize| if j < n && p < k { bf16::from_f32(w.at(j, p)) } else { 0 };
        let lanes = match layout {
            Layout::Rows => {
                let vectors = k.div_ceil(ROW_VECTOR);
                let mut lanes = Vec::with_capacity(n * 8 * vectors);
                for j in 0..n {
                    for v in 0..vectors {
                        for i in 0..8 {
                            lanes.push(lane(at(j, 16 * v + i), at(j, 16 * v + 8 + i)));
                        }
                    }
                }
                lanes
            }
            Layout::Panels => {
                let pairs = k.div_ceil(2);
                let mut lanes = Vec::with_capacity(pairs * n.next_multiple_of(LANES));
                for j0 in (0..n).step_by(PANEL) {
                    let width = PANEL.min(n - j0).next_multiple_of(LANES);
                    for q in 0..pairs {
                        for j in j0..j0 + width {
                            lanes.push(lane(at(j, 2 * q), at(j, 2 * q + 1)));
                        }
                    }
                }
                lanes
            }
        };
        Bf16Matrix { k, n, layout, lanes }
    }

    /// Inputs per output (W's columns).
    pub fn k(&self) -> usize {
        self.k
    }

    /// Outputs (W's rows).
    pub fn n(&self) -> usize {
        self.n
    }

    /// The layout of the lanes.
    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// Outputs per group: a rows group is [`ROW_GROUP`] rows, a panels
    /// group one panel.
    fn group_size(&self) -> usize {
        match self.layout {
            Layout::Rows => ROW_GROUP,
            Layout::Panels => PANEL,
        }
    }

    /// Output group g: (first output, outputs, the group's lanes). Every
    /// group but the last is full, so its lanes start at `j0` outputs' worth.
    fn group(&self, g: usize) -> (usize, usize, &[u32]) {
        let per_output = match self.layout {
            Layout::Rows => 8 * self.k.div_ceil(ROW_VECTOR),
            Layout::Panels => self.k.div_ceil(2),
        };
        let j0 = g * self.group_size();
        let cols = self.group_size().min(self.n - j0);
        let width = match self.layout {
            Layout::Rows => cols,
            Layout::Panels => cols.next_multiple_of(LANES),
        };
        (j0, cols, &self.lanes[j0 * per_output..(j0 + width) * per_output])
    }

    /// `y := W·x + β·y`, with β 0 (y not read) or 1, the output groups
    /// visited in `order`; on `kernel`'s instruction set where this CPU has
    /// it, else portable loops.
    ///
    /// # Panics
    /// If `x.len() ≠ k`, `y.len() ≠ n` or β is neither 0 nor 1.
    pub fn times(&self, kernel: Kernel, x: &[f32], beta: f32, y: &mut [f32], order: Order) {
        assert_eq!(
            x.len(),
            self.k,
            "bf16 matrix: x has {} entries for k = {}",
            x.len(),
            self.k
        );
        assert_eq!(
            y.len(),
            self.n,
            "bf16 matrix: y has {} entries for n = {}",
            y.len(),
            self.n
        );
        assert!(beta == 0.0 || beta == 1.0, "bf16 matrix: β = {beta}");
        let groups = self.n.div_ceil(self.group_size());
        let mut out = [0.0f32; PANEL]; // one group's outputs: ROW_GROUP or PANEL
        for g in order.groups(groups) {
            let (j0, cols, lanes) = self.group(g);
            match self.layout {
                Layout::Rows => rows_times(kernel, x, lanes, &mut out[..cols]),
                Layout::Panels => panel_times(kernel, x, lanes, &mut out[..cols.next_multiple_of(LANES)]),
            }
            for (yj, &v) in y[j0..j0 + cols].iter_mut().zip(out.iter()) {
                *yj = if beta == 0.0 { v } else { v + *yj };
            }
        }
    }
}

/// `out[j] = Σ_p W[j, p]·x[p]` over one group of rows (`out.len()` rows).
fn rows_times(kernel: Kernel, x: &[f32], rows: &[u32], out: &mut [f32]) {
    // The rows' loops are AVX2 ones (which every AVX-512 CPU also has).
    #[cfg(target_arch = "x86_64")]
    if matches!(kernel, Kernel::Avx2 | Kernel::Avx512) && super::x86_64::has(Kernel::Avx2) {
        return super::x86_64::bf16_rows(x, rows, out);
    }
    let _ = kernel;
    rows_portable(x, rows, out);
}

/// The portable rows loops: per output, eight low and eight high partial
/// sums as the SIMD lanes keep them, without fused multiply-adds.
fn rows_portable(x: &[f32], rows: &[u32], out: &mut [f32]) {
    let vectors = x.len().div_ceil(ROW_VECTOR);
    let input = |p: usize| x.get(p).copied().unwrap_or(0.0);
    for (o, row) in out.iter_mut().zip(rows.chunks_exact(8 * vectors)) {
        let (mut lo, mut hi) = ([0.0f32; 8], [0.0f32; 8]);
        for (v, lanes) in row.chunks_exact(8).enumerate() {
            for (i, &w) in lanes.iter().enumerate() {
                lo[i] += input(16 * v + i) * f32::from_bits(w << 16);
                hi[i] += input(16 * v + 8 + i) * f32::from_bits(w & 0xFFFF_0000);
            }
        }
        *o = lo.iter().zip(&hi).map(|(a, b)| a + b).sum();
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

/// The portable panel loops: the same sums in the same order as the SIMD
/// ones, without fused multiply-adds.
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
    use super::super::half_checks;
    use super::*;
    use crate::matrix::Matrix;
    use crate::rng::Rng;

    const LAYOUTS: [Layout; 2] = [Layout::Rows, Layout::Panels];

    /// Every kernel this CPU has, and the portable loops, in both layouts
    /// and both orders, give W·x of the rounded weights for shapes around
    /// the vector, group, panel and pair boundaries; the two orders give
    /// the same bits.
    #[test]
    fn both_layouts_give_w_times_x_of_the_rounded_weights() {
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
            (70, 16),
            (5, 47),
        ] {
            let w = Matrix::<f32>::normal(n, k, 1.0, &mut rng);
            let x: Vec<f32> = (0..k).map(|_| rng.uniform() as f32 * 2.0 - 1.0).collect();
            for layout in LAYOUTS {
                let m = Bf16Matrix::new(w.view(), layout);
                assert_eq!((m.n(), m.k(), m.layout()), (n, k, layout));
                half_checks::times_is_w_times_x_of_the_rounded_weights(
                    &format!("{layout:?}"),
                    bf16::round,
                    &w,
                    &x,
                    |kernel, x, beta, y, order| m.times(kernel, x, beta, y, order),
                );
            }
        }
    }

    /// The SIMD loops and the portable ones read the same lanes, in both
    /// layouts: one weight moves one output (in both halves of a lane).
    #[test]
    fn one_weight_moves_one_output() {
        for layout in LAYOUTS {
            half_checks::one_weight_moves_one_output(&format!("{layout:?}"), bf16::round, |w, kernel, x, y, order| {
                Bf16Matrix::new(w.view(), layout).times(kernel, x, 0.0, y, order)
            });
        }
    }

    /// AVX-512 reads panels, everything else rows.
    #[test]
    fn each_kernel_gets_the_layout_its_loops_read() {
        assert_eq!(Layout::for_kernel(Kernel::Avx512), Layout::Panels);
        for kernel in [Kernel::Naive, Kernel::Portable, Kernel::Avx2] {
            assert_eq!(Layout::for_kernel(kernel), Layout::Rows);
        }
        assert_eq!(Order::Forward.flipped(), Order::Backward);
        assert_eq!(Order::Backward.flipped(), Order::Forward);
        assert_eq!(Order::Forward.groups(3).collect::<Vec<_>>(), [0, 1, 2]);
        assert_eq!(Order::Backward.groups(3).collect::<Vec<_>>(), [2, 1, 0]);
    }
}
