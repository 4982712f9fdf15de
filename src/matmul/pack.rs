//! Packing: copying operands into the panel order the micro-kernel streams.
//!
//! ```text
//!   Ã (one MC × KC block of A)            B̃ (one KC × NC block of B)
//!   cut into MR-tall panels,              cut into NR-wide panels,
//!   each stored column by column:         each stored row by row:
//!
//!   panel 0: a(0,0) a(1,0) .. a(MR-1,0)   panel 0: b(0,0) b(0,1) .. b(0,NR-1)
//!            a(0,1) a(1,1) .. a(MR-1,1)            b(1,0) b(1,1) .. b(1,NR-1)
//!            ...  (KC columns)                     ...  (KC rows)
//!   panel 1: rows MR .. 2·MR-1            panel 1: columns NR .. 2·NR-1
//! ```
//!
//! A panel that runs past the edge of the matrix is padded with zeros, so the
//! micro-kernel always sees a full `MR × NR` problem; the extra rows/columns
//! of its result are simply not stored.
//!
//! B is packed whole, once, into [`PackedB`]: for each `KC` block of rows
//! (`pc`), its panels one after another — exactly the B̃ blocks the `pc` loop
//! consumes, laid end to end. The model packs each weight matrix once per
//! training step and multiplies by it T times.

use super::blocking::KC;
use super::kernel::Kernel;
use crate::matrix::MatRef;
use crate::scalar::Float;

/// Pack the `mc × kc` block `a` into `MR`-tall panels (column by column),
/// zero-padding the last panel. `out` is resized to `ceil(mc/MR)·MR·kc`.
pub fn pack_a<T: Float>(mr: usize, a: MatRef<T>, out: &mut Vec<T>) {
    let (mc, kc) = (a.rows(), a.cols());
    let panels = mc.div_ceil(mr);
    // Every entry is overwritten below, so stale contents need no clearing.
    out.resize(panels * mr * kc, T::zero());
    for (panel, dst) in out.chunks_exact_mut(mr * kc).enumerate() {
        let i0 = panel * mr;
        let rows = mr.min(mc - i0);
        if rows < mr {
            dst.fill(T::zero()); // the padding rows of the last panel
        }
        if a.col_stride() == 1 {
            // Row-major A: read each row contiguously, scatter into the panel.
            for i in 0..rows {
                let src = &a.data()[(i0 + i) * a.row_stride()..];
                for p in 0..kc {
                    dst[p * mr + i] = src[p];
                }
            }
        } else {
            for p in 0..kc {
                for i in 0..rows {
                    dst[p * mr + i] = a.at(i0 + i, p);
                }
            }
        }
    }
}

/// Pack the `kc × (panels·NR)` slice of `b` starting at column `j0` into
/// `NR`-wide panels (row by row), zero-padding past column `n`.
fn pack_b_panels<T: Float>(nr: usize, b: MatRef<T>, j0: usize, dst: &mut [T]) {
    let (kc, n) = (b.rows(), b.cols());
    for (panel, out) in dst.chunks_exact_mut(kc * nr).enumerate() {
        let jp = j0 + panel * nr;
        let cols = nr.min(n.saturating_sub(jp));
        if cols < nr {
            out.fill(T::zero());
        }
        if b.col_stride() == 1 {
            for p in 0..kc {
                let src = &b.data()[p * b.row_stride() + jp..];
                out[p * nr..p * nr + cols].copy_from_slice(&src[..cols]);
            }
        } else {
            for j in 0..cols {
                for p in 0..kc {
                    out[p * nr + j] = b.at(p, jp + j);
                }
            }
        }
    }
}

/// The right-hand operand B (`k × n`) packed for one kernel's `NR`.
///
/// Pack once, multiply many times: see [`super::Gemm::gemm_packed`].
#[derive(Clone, Debug)]
pub struct PackedB<T> {
    pub(crate) kernel: Kernel,
    pub(crate) nr: usize,
    pub(crate) k: usize,
    pub(crate) n: usize,
    pub(crate) data: Vec<T>,
}

impl<T: Float> PackedB<T> {
    /// An empty packing; fill it with [`super::Gemm::pack_b_into`].
    pub fn empty() -> Self {
        PackedB {
            kernel: Kernel::Portable,
            nr: 1,
            k: 0,
            n: 0,
            data: Vec::new(),
        }
    }

    /// Rows of the packed operand (the product's depth k).
    pub fn rows(&self) -> usize {
        self.k
    }
    /// Columns of the packed operand (the product's n).
    pub fn cols(&self) -> usize {
        self.n
    }
    /// The kernel whose `NR` this packing is laid out for.
    pub fn kernel(&self) -> Kernel {
        self.kernel
    }

    fn padded_cols(&self) -> usize {
        self.n.div_ceil(self.nr) * self.nr
    }

    /// The `kc × NR` panel `j` of the `KC` block that starts at row `pc`.
    #[inline]
    pub(crate) fn panel(&self, pc: usize, kc: usize, j: usize) -> &[T] {
        let start = pc * self.padded_cols() + j * kc * self.nr;
        &self.data[start..start + kc * self.nr]
    }

    /// Pack `b` for `kernel` (whose panel width is `nr`), splitting the work
    /// over `threads` workers by panel ranges. Reuses the allocation.
    pub(crate) fn pack(&mut self, kernel: Kernel, nr: usize, b: MatRef<T>, threads: usize) {
        let (k, n) = (b.rows(), b.cols());
        self.kernel = kernel;
        self.nr = nr;
        self.k = k;
        self.n = n;
        let panels = n.div_ceil(nr);
        let len = k * panels * nr;
        // Every entry is overwritten below (padding included): no clearing.
        self.data.resize(len, T::zero());
        if len == 0 {
            return;
        }
        // Each KC block of rows is a contiguous run of `panels` panels; give
        // each worker a contiguous range of panels in every block.
        let threads = threads.clamp(1, panels);
        let per = panels.div_ceil(threads);
        let mut work: Vec<Vec<(usize, usize, &mut [T])>> = (0..threads).map(|_| Vec::new()).collect();
        let mut rest: &mut [T] = &mut self.data;
        for pc in (0..k).step_by(KC) {
            let kc = KC.min(k - pc);
            let (mut block, tail) = rest.split_at_mut(kc * panels * nr);
            rest = tail;
            for (t, list) in work.iter_mut().enumerate() {
                let p0 = t * per;
                let count = per.min(panels.saturating_sub(p0));
                let (mine, later) = block.split_at_mut(count * kc * nr);
                block = later;
                if count > 0 {
                    list.push((pc, p0, mine));
                }
            }
        }
        let job = |list: Vec<(usize, usize, &mut [T])>| {
            for (pc, p0, dst) in list {
                let kc = KC.min(k - pc);
                pack_b_panels(nr, b.block(pc, 0, kc, n), p0 * nr, dst);
            }
        };
        if threads == 1 {
            work.into_iter().for_each(job);
        } else {
            std::thread::scope(|s| {
                for list in work {
                    s.spawn(move || job(list));
                }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matrix::Matrix;

    #[test]
    fn pack_a_lays_panels_column_by_column_with_zero_padding() {
        // 5 × 2 with MR = 4: panel 0 = rows 0..4, panel 1 = row 4 + 3 zero rows.
        let a = Matrix::from_vec(5, 2, (0..10).map(|x| x as f32).collect());
        let mut out = Vec::new();
        pack_a(4, a.view(), &mut out);
        assert_eq!(out.len(), 2 * 4 * 2);
        assert_eq!(&out[..8], &[0., 2., 4., 6., 1., 3., 5., 7.]);
        assert_eq!(&out[8..], &[8., 0., 0., 0., 9., 0., 0., 0.]);
        // The transposed (column-stride) path packs the same thing.
        let at = a.transposed();
        let mut out2 = Vec::new();
        pack_a(4, at.view().t(), &mut out2);
        assert_eq!(out, out2);
    }

    #[test]
    fn packed_b_panels_match_the_matrix_for_every_block_and_thread_count() {
        let (k, n, nr) = (KC + 3, 21, 8);
        let b = Matrix::from_vec(k, n, (0..k * n).map(|x| x as f64).collect());
        for threads in 1..=3 {
            let mut p = PackedB::empty();
            p.pack(Kernel::Portable, nr, b.view(), threads);
            for pc in (0..k).step_by(KC) {
                let kc = KC.min(k - pc);
                for j in 0..n.div_ceil(nr) {
                    let panel = p.panel(pc, kc, j);
                    for r in 0..kc {
                        for c in 0..nr {
                            let want = if j * nr + c < n { b.get(pc + r, j * nr + c) } else { 0.0 };
                            assert_eq!(panel[r * nr + c], want, "threads {threads} pc {pc} panel {j}");
                        }
                    }
                }
            }
        }
    }
}
