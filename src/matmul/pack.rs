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
        pack_panel(mr, a.block(i0, 0, mr.min(mc - i0), kc), dst);
    }
}

/// Pack the `kc × (panels·NR)` slice of `b` starting at column `j0` into
/// `NR`-wide panels (row by row), zero-padding past column `n`.
fn pack_b_panels<T: Float>(nr: usize, b: MatRef<T>, j0: usize, dst: &mut [T]) {
    let (kc, n) = (b.rows(), b.cols());
    if b.col_stride() == 1 {
        return pack_b_rows(nr, b, j0, dst);
    }
    for (panel, out) in dst.chunks_exact_mut(kc * nr).enumerate() {
        let jp = j0 + panel * nr;
        let cols = nr.min(n.saturating_sub(jp));
        // A B̃ panel is the Ã layout of Bᵀ: row p of the panel is column p of
        // the transposed block.
        pack_panel(nr, b.block(0, jp, kc, cols).t(), out);
    }
}

/// Row-major B: rows of the block are read left to right, `ROW_GROUP` rows
/// at a time, and dealt out to the panels: for each group of rows, panel by
/// panel, the group's `NR`-wide pieces.
///
/// Why not panel by panel (64 bytes from each of `kc` rows, then the next
/// 64 bytes): when B is not in cache, that visits a new page at every row
/// and the hardware prefetchers, which stop at page edges, cannot keep up.
/// Reading a group of rows along their length gives them long runs; packing
/// a 1024² B from memory took 0.75 ms instead of 1.0 (one thread) and
/// 0.5 instead of 0.85 (two).
fn pack_b_rows<T: Float>(nr: usize, b: MatRef<T>, j0: usize, dst: &mut [T]) {
    let (kc, n, rs) = (b.rows(), b.cols(), b.row_stride());
    if kc == 0 {
        return;
    }
    // Full panels first; a ragged last panel is zeroed, then partly filled.
    let panels = dst.len() / (kc * nr);
    let full = panels.min(n.saturating_sub(j0) / nr);
    for out in dst.chunks_exact_mut(kc * nr).skip(full) {
        out.fill(T::zero());
    }
    for p0 in (0..kc).step_by(ROW_GROUP) {
        let group = p0..kc.min(p0 + ROW_GROUP);
        for j in 0..panels {
            let cols = if j < full {
                nr
            } else {
                n.saturating_sub(j0 + j * nr).min(nr)
            };
            for p in group.clone() {
                let src = &b.data()[p * rs + j0 + j * nr..];
                let at = j * kc * nr + p * nr;
                dst[at..at + cols].copy_from_slice(&src[..cols]);
            }
        }
    }
}

/// Rows of B packed together by `pack_b_rows`: as many as an 8-way L1 set
/// holds, should the rows be a multiple of 4 KiB apart.
const ROW_GROUP: usize = 8;

/// Rows read side by side by `interleave_rows` for panels wider than 6: half
/// the ways of an 8-way L1, leaving room for the panel being written.
const GROUP: usize = 4;

/// The one packing step both operands share: the `w × kc` view `v`
/// (w ≤ `width`) goes into `dst` column by column, `width` entries per column,
///
/// ```text
///   dst[p·width + i] = v(i, p)        i < w;  0 for w ≤ i < width
/// ```
///
/// The path is picked by the view's strides so that memory is read in long
/// runs: rows side by side when rows are contiguous (row-major A, Bᵀ), one
/// contiguous strip per column when columns are (Aᵀ). Row-major B, read
/// whole rows at a time, goes through [`pack_b_rows`] instead.
fn pack_panel<T: Float>(width: usize, v: MatRef<T>, dst: &mut [T]) {
    let (w, kc) = (v.rows(), v.cols());
    let dst = &mut dst[..width * kc];
    if w < width {
        dst.fill(T::zero()); // the padding of an edge panel
    }
    if w == width && v.col_stride() == 1 {
        let (src, rs) = (v.data(), v.row_stride());
        match width {
            4 => return interleave_rows::<T, 4, 4>(src, rs, kc, dst),
            6 => return interleave_rows::<T, 6, 6>(src, rs, kc, dst),
            8 => return interleave_rows::<T, 8, GROUP>(src, rs, kc, dst),
            12 => return interleave_rows::<T, 12, GROUP>(src, rs, kc, dst),
            16 => return interleave_rows::<T, 16, GROUP>(src, rs, kc, dst),
            32 => return interleave_rows::<T, 32, GROUP>(src, rs, kc, dst),
            _ => {}
        }
    }
    if v.row_stride() == 1 {
        // Column p of the view is w contiguous entries: copy it as a strip.
        let (src, cs) = (v.data(), v.col_stride());
        for (p, col) in dst.chunks_exact_mut(width).enumerate() {
            col[..w].copy_from_slice(&src[p * cs..p * cs + w]);
        }
        return;
    }
    for i in 0..w {
        for p in 0..kc {
            dst[p * width + i] = v.at(i, p);
        }
    }
}

/// `dst[p·W + i] = src[i·rs + p]` for the W rows of a full panel, read side
/// by side in groups of `G` rows. The sizes are constants so the inner loop
/// unrolls and each row is bounds-checked once, not per entry.
///
/// Why groups: rows `rs` apart fall into the same L1 cache set when `rs` is a
/// multiple of 4 KiB; reading more rows at once than the cache has ways
/// (8 here) would evict each row's line before its next entry is used.
#[inline]
fn interleave_rows<T: Float, const W: usize, const G: usize>(src: &[T], rs: usize, kc: usize, dst: &mut [T]) {
    let dst = &mut dst[..W * kc];
    for g in (0..W).step_by(G) {
        let rows: [&[T]; G] = std::array::from_fn(|i| &src[(g + i) * rs..(g + i) * rs + kc]);
        for (p, col) in dst.chunks_exact_mut(W).enumerate() {
            for (x, row) in col[g..g + G].iter_mut().zip(&rows) {
                *x = row[p];
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
    /// The depth of its blocks (the `KC` it was packed with; the loops
    /// follow it).
    pub(crate) kc: usize,
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
            kc: 1,
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

    /// The `kc × NR` panel `j` of the block (of depth [`PackedB::kc`]) that
    /// starts at row `pc`.
    #[inline]
    pub(crate) fn panel(&self, pc: usize, kc: usize, j: usize) -> &[T] {
        let start = pc * self.padded_cols() + j * kc * self.nr;
        &self.data[start..start + kc * self.nr]
    }

    /// Pack `b` for `kernel` (whose panel width is `nr`) in blocks of depth
    /// `block_kc`, splitting the work over `threads` workers by panel ranges.
    /// Reuses the allocation.
    pub(crate) fn pack(&mut self, kernel: Kernel, nr: usize, block_kc: usize, b: MatRef<T>, threads: usize) {
        let (k, n) = (b.rows(), b.cols());
        self.kernel = kernel;
        self.nr = nr;
        self.kc = block_kc;
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
        for pc in (0..k).step_by(block_kc) {
            let kc = block_kc.min(k - pc);
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
                let kc = block_kc.min(k - pc);
                pack_b_panels(nr, b.block(pc, 0, kc, n), p0 * nr, dst);
            }
        };
        // The calling thread packs the first range itself.
        crate::workers::run_each(work, job);
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
    fn every_packing_path_matches_the_definition() {
        // dst[p·width + i] = v(i, p), zero for i ≥ w — for row-contiguous,
        // column-contiguous and doubly strided views, full and edge panels.
        let kc = 37;
        for width in [4, 6, 8, 12, 16, 32, 5] {
            for w in [width, width - 1, 1] {
                let ld = 1031; // rows of the backing buffer are 1031 apart
                let buf: Vec<f32> = (0..(kc + w) * ld * 3).map(|x| x as f32).collect();
                let views = [
                    ("row-major", MatRef::new(&buf, w, kc, ld, 1)),
                    ("column-major", MatRef::new(&buf, kc, w, ld, 1).t()),
                    ("strided", MatRef::new(&buf, w, kc, ld, 3)),
                    ("4 KiB rows", MatRef::new(&buf, w, kc, 1024, 1)),
                ];
                for (what, v) in views {
                    let mut dst = vec![f32::NAN; width * kc];
                    pack_panel(width, v, &mut dst);
                    for p in 0..kc {
                        for i in 0..width {
                            let want = if i < w { v.at(i, p) } else { 0.0 };
                            assert_eq!(dst[p * width + i], want, "{what} width {width} w {w} at ({i}, {p})");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn packed_b_panels_match_the_matrix_for_every_block_and_thread_count() {
        // Two block depths: the default, and an odd one.
        for block_kc in [crate::matmul::blocking::KC, 7] {
            let (k, n, nr) = (block_kc + 3, 21, 8);
            let b = Matrix::from_vec(k, n, (0..k * n).map(|x| x as f64).collect());
            for threads in 1..=3 {
                let mut p = PackedB::empty();
                p.pack(Kernel::Portable, nr, block_kc, b.view(), threads);
                for pc in (0..k).step_by(block_kc) {
                    let kc = block_kc.min(k - pc);
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
}
