//! Matrix multiplication: `C := α·op(A)·op(B) + β·C`, the performance core.
//!
//! Layered the BLIS way, one file a layer, each testable alone (the design
//! and the measurements behind it: `docs/matmul.md`):
//!
//! | file | layer |
//! |---|---|
//! | [`naive`] | the triple loop: reference and test oracle |
//! | [`blocking`] | `MC KC NC`: block sizes and the cache level each targets |
//! | [`pack`] | `pack_a` → Ã, [`PackedB`] → B̃ (zero-padded panels) |
//! | [`loops`] | LOOP 5 `jc` → LOOP 4 `pc` → LOOP 3 `ic` → LOOP 2 `jr` → LOOP 1 `ir` |
//! | [`kernel`] | the `MR × NR` micro-kernels and the run-time choice between them |
//! | [`gemv`] | the single-row fast path (generation: batch of one) |
//! | [`shallow`] | products of depth ≤ 4: C row by row, no packing (a class's dW_y) |
//!
//! `op(X)` is X or Xᵀ: pass `x.view()` or `x.view().t()` — a transposed view
//! only swaps strides, packing reads it either way.
//!
//! Entry points: [`gemm`] for a one-off product; a [`Gemm`] context for
//! repeated products (it keeps its packing buffers, a thread count, a kernel
//! choice) and for *pack once, multiply many*: [`Gemm::pack_b`] then
//! [`Gemm::gemm_packed`]. The RNN multiplies by the same `W_h` at each of the
//! T steps of a chunk and packs it once.

pub mod blocking;
pub mod gemv;
pub mod kernel;
pub mod loops;
pub mod naive;
pub mod pack;
pub mod shallow;

pub use blocking::Blocks;
pub use kernel::{kernel_for, tile, Kernel, MicroKernel};
pub use naive::gemm_naive;
pub use pack::PackedB;

use crate::matrix::{MatMut, MatRef};
use crate::scalar::Float;

/// Panic unless `A: m × k`, `B: k × n`, `C: m × n`.
pub(crate) fn check_shapes<T: Copy>(a: &MatRef<T>, b: &MatRef<T>, c: &MatMut<T>) {
    check_dims((a.rows(), a.cols()), (b.rows(), b.cols()), (c.rows(), c.cols()));
}

fn check_dims(a: (usize, usize), b: (usize, usize), c: (usize, usize)) {
    assert!(
        a.1 == b.0 && c.0 == a.0 && c.1 == b.1,
        "gemm: shapes do not agree: A is {} × {}, B is {} × {}, C is {} × {}",
        a.0,
        a.1,
        b.0,
        b.1,
        c.0,
        c.1
    );
}

/// `C := β·C` (β = 0 writes zeros without reading C): the whole product when
/// `k = 0` or `α = 0`.
fn scale<T: Float>(beta: T, c: &mut MatMut<T>) {
    for i in 0..c.rows() {
        let row = c.row_mut(i);
        if beta == T::zero() {
            row.fill(T::zero());
        } else {
            row.iter_mut().for_each(|x| *x *= beta);
        }
    }
}

/// `C := α·A·B + β·C` on one thread with the best kernel for this CPU.
///
/// # Panics
/// If `A: m × k`, `B: k × n`, `C: m × n` do not agree.
pub fn gemm<T: Float>(alpha: T, a: MatRef<T>, b: MatRef<T>, beta: T, c: MatMut<T>) {
    Gemm::new().gemm(alpha, a, b, beta, c)
}

/// A matmul context: kernel choice, thread count and reusable packing buffers.
#[derive(Debug)]
pub struct Gemm<T> {
    kernel: Kernel,
    /// The block sizes of the kernel that runs ([`Blocks::in_use`]).
    blocks: Blocks,
    threads: usize,
    /// One Ã buffer per worker.
    a_bufs: Vec<Vec<T>>,
    /// B̃ for products whose B is not packed ahead.
    b_pack: PackedB<T>,
    /// One B̃ per extra worker, for products that pack B inside the call.
    b_packs: Vec<PackedB<T>>,
    /// Time spent in this context's products and packings, when measured.
    timer: Option<std::time::Duration>,
}

impl<T: Float> Default for Gemm<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Float> Gemm<T> {
    /// The best kernel for this CPU ([`Kernel::best`]), one thread.
    pub fn new() -> Self {
        Gemm::on(Kernel::best())
    }

    /// A context on `kernel` (assumed available), one thread.
    fn on(kernel: Kernel) -> Self {
        let runs = kernel_for::<T>(kernel);
        let (mr, nr) = tile::<T>(kernel);
        Gemm {
            kernel,
            blocks: Blocks::in_use(runs, mr, nr),
            threads: 1,
            a_bufs: vec![Vec::new()],
            b_pack: PackedB::empty(),
            b_packs: Vec::new(),
            timer: None,
        }
    }

    /// Start adding up the time spent in [`Gemm::gemm`], [`Gemm::gemm_packed`]
    /// and [`Gemm::pack_b_into`] (for "what share of a step is GEMM").
    pub fn start_timing(&mut self) {
        self.timer = Some(std::time::Duration::ZERO);
    }

    /// Time accumulated since [`Gemm::start_timing`].
    pub fn timed(&self) -> Option<std::time::Duration> {
        self.timer
    }

    fn timed_call<R>(&mut self, f: impl FnOnce(&mut Self) -> R) -> R {
        match self.timer {
            None => f(self),
            Some(_) => {
                let t = std::time::Instant::now();
                let r = f(self);
                let e = t.elapsed();
                if let Some(acc) = self.timer.as_mut() {
                    *acc += e;
                }
                r
            }
        }
    }

    /// Force a kernel; `None` if this CPU cannot run it.
    pub fn with_kernel(kernel: Kernel) -> Option<Self> {
        kernel.is_available().then(|| Gemm::on(kernel))
    }

    /// Use up to `threads` workers (at least 1) on large products.
    pub fn with_threads(mut self, threads: usize) -> Self {
        self.set_threads(threads);
        self
    }

    /// Change the number of workers (at least 1).
    pub fn set_threads(&mut self, threads: usize) {
        self.threads = threads.max(1);
        self.a_bufs.resize_with(self.threads, Vec::new);
    }

    /// The kernel asked for.
    pub fn kernel(&self) -> Kernel {
        self.kernel
    }

    /// Run with these block sizes instead (experiments, tests).
    ///
    /// # Panics
    /// If `MC` is not a multiple of the kernel's `MR` or `NC` of its `NR`.
    pub fn with_blocks(mut self, blocks: Blocks) -> Self {
        let (mr, nr) = tile::<T>(self.kernel);
        let text = format!("{},{},{}", blocks.mc, blocks.kc, blocks.nc);
        self.blocks = Blocks::parse(&text, mr, nr).unwrap_or_else(|e| panic!("with_blocks: {e}"));
        self
    }

    /// The block sizes this context's kernel runs with.
    pub fn blocks(&self) -> Blocks {
        self.blocks
    }

    /// The configured thread count.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// How many workers an `m × k · k × n` product gets: one for small
    /// products, never more than there are MR-tall row panels.
    pub fn workers(&self, m: usize, k: usize, n: usize) -> usize {
        if self.threads == 1 || 2 * m * n * k < blocking::PAR_MIN_FLOPS {
            return 1;
        }
        let (mr, _) = tile::<T>(self.kernel);
        self.threads.min(m.div_ceil(mr)).max(1)
    }

    /// `C := α·A·B + β·C`. With `β = 0`, C is not read.
    ///
    /// # Panics
    /// If `A: m × k`, `B: k × n`, `C: m × n` do not agree.
    pub fn gemm(&mut self, alpha: T, a: MatRef<T>, b: MatRef<T>, beta: T, c: MatMut<T>) {
        self.timed_call(|g| g.gemm_untimed(alpha, a, b, beta, c))
    }

    fn gemm_untimed(&mut self, alpha: T, a: MatRef<T>, b: MatRef<T>, beta: T, mut c: MatMut<T>) {
        check_shapes(&a, &b, &c);
        let (m, k, n) = (a.rows(), a.cols(), b.cols());
        if m == 0 || n == 0 {
            return;
        }
        if k == 0 || alpha == T::zero() {
            return scale(beta, &mut c);
        }
        if self.kernel == Kernel::Naive {
            return gemm_naive(alpha, a, b, beta, c);
        }
        if m <= gemv::FEW_ROWS && a.col_stride() == 1 {
            if b.col_stride() == 1 {
                return gemv::rows_times_rows(alpha, a, b.data(), b.row_stride(), beta, &mut c);
            }
            if b.row_stride() == 1 {
                return gemv::rows_times_cols(
                    kernel_for::<T>(self.kernel),
                    alpha,
                    a,
                    b.data(),
                    b.col_stride(),
                    beta,
                    &mut c,
                );
            }
        }
        let (alpha_one, beta_01) = (alpha == T::one(), beta == T::zero() || beta == T::one());
        if k <= shallow::SHALLOW_K && alpha_one && beta_01 && b.col_stride() == 1 {
            return shallow::shallow_rows(self.kernel, a, b, beta == T::one(), c);
        }
        let workers = self.workers(m, k, n);
        let kernel = kernel_for::<T>(self.kernel);
        let (nr, kc) = (tile::<T>(kernel).1, self.blocks.kc);
        if workers > 1 && k * n <= blocking::PACK_EACH_MAX {
            return self.run_packing_each(alpha, a, b, beta, c, workers);
        }
        let mut packed = std::mem::replace(&mut self.b_pack, PackedB::empty());
        packed.pack(kernel, nr, kc, b, workers);
        self.run_packed(alpha, a, &packed, beta, c, workers);
        self.b_pack = packed;
    }

    /// Pack `b` for this context's kernel, to multiply by it many times.
    pub fn pack_b(&mut self, b: MatRef<T>) -> PackedB<T> {
        let mut p = PackedB::empty();
        self.pack_b_into(b, &mut p);
        p
    }

    /// Pack `b` into `out`, reusing its allocation.
    pub fn pack_b_into(&mut self, b: MatRef<T>, out: &mut PackedB<T>) {
        self.timed_call(|g| g.pack_untimed(b, out))
    }

    fn pack_untimed(&self, b: MatRef<T>, out: &mut PackedB<T>) {
        let kernel = kernel_for::<T>(self.kernel);
        let workers = if b.rows() * b.cols() >= blocking::PAR_MIN_PACK {
            self.threads
        } else {
            1
        };
        out.pack(kernel, tile::<T>(kernel).1, self.blocks.kc, b, workers);
    }

    /// `C := α·A·B + β·C` with B packed by [`Gemm::pack_b`]. With `β = 0`,
    /// C is not read.
    ///
    /// # Panics
    /// If the shapes do not agree, or `b` was packed for another kernel.
    pub fn gemm_packed(&mut self, alpha: T, a: MatRef<T>, b: &PackedB<T>, beta: T, c: MatMut<T>) {
        self.timed_call(|g| g.gemm_packed_untimed(alpha, a, b, beta, c))
    }

    fn gemm_packed_untimed(&mut self, alpha: T, a: MatRef<T>, b: &PackedB<T>, beta: T, mut c: MatMut<T>) {
        check_dims((a.rows(), a.cols()), (b.rows(), b.cols()), (c.rows(), c.cols()));
        assert_eq!(
            b.kernel,
            kernel_for::<T>(self.kernel),
            "gemm_packed: B was packed for the {} kernel, this context runs {}",
            b.kernel,
            self.kernel
        );
        let (m, k, n) = (a.rows(), a.cols(), b.cols());
        if m == 0 || n == 0 {
            return;
        }
        if k == 0 || alpha == T::zero() {
            return scale(beta, &mut c);
        }
        if m == 1 && a.col_stride() == 1 {
            return gemv::row_times_packed(alpha, &a.data()[..k], b, beta, c.row_mut(0));
        }
        let workers = self.workers(m, k, n);
        self.run_packed(alpha, a, b, beta, c, workers);
    }

    /// [`Gemm::run_packed`] for a B not packed yet: each worker packs the
    /// whole of B̃ for itself, then runs the loops on its rows. Packing
    /// twice costs less than sharing one B̃: the workers start at once (one
    /// spawn, no wait for a shared packing), and each reads B̃ from its own
    /// core's cache rather than half of it from the other core's.
    fn run_packing_each(&mut self, alpha: T, a: MatRef<T>, b: MatRef<T>, beta: T, c: MatMut<T>, workers: usize) {
        let (kernel, blocks) = (self.kernel, self.blocks);
        let pack_kernel = kernel_for::<T>(kernel);
        let nr = tile::<T>(pack_kernel).1;
        self.b_packs.resize_with(workers, PackedB::empty);
        let parts: Vec<_> = row_parts(a, c, workers)
            .into_iter()
            .zip(self.a_bufs.iter_mut().zip(self.b_packs.iter_mut()))
            .map(|((a_part, c_part), (buf, packed))| (a_part, c_part, buf, packed))
            .collect();
        crate::workers::run_each(parts, |(a_part, c_part, buf, packed)| {
            packed.pack(pack_kernel, nr, blocks.kc, b, 1);
            loops::run_loops(kernel, blocks, alpha, a_part, packed, beta, c_part, buf)
        });
    }

    /// Split C (and A) by rows into `workers` nearly equal parts — the `ic`
    /// loop shared out — and run the loops on each with the shared B̃, the
    /// first part on the calling thread. The parts need not be MR-aligned:
    /// a part's last tile is an edge tile, which computes every entry with
    /// the full tile's arithmetic, so the split changes no bit.
    fn run_packed(&mut self, alpha: T, a: MatRef<T>, b: &PackedB<T>, beta: T, c: MatMut<T>, workers: usize) {
        let (kernel, blocks) = (self.kernel, self.blocks);
        if workers == 1 {
            return loops::run_loops(kernel, blocks, alpha, a, b, beta, c, &mut self.a_bufs[0]);
        }
        let parts: Vec<_> = row_parts(a, c, workers)
            .into_iter()
            .zip(self.a_bufs.iter_mut())
            .map(|((a_part, c_part), buf)| (a_part, c_part, buf))
            .collect();
        crate::workers::run_each(parts, |(a_part, c_part, buf)| {
            loops::run_loops(kernel, blocks, alpha, a_part, b, beta, c_part, buf)
        });
    }
}

/// A and C cut by rows into `workers` nearly equal parts, paired.
fn row_parts<'a, T: Float>(a: MatRef<'a, T>, c: MatMut<'a, T>, workers: usize) -> Vec<(MatRef<'a, T>, MatMut<'a, T>)> {
    let mut parts = Vec::with_capacity(workers);
    let (mut rest, mut i0) = (c, 0);
    for rows in crate::workers::even_counts(a.rows(), workers) {
        let (mine, later) = rest.split_rows(rows);
        parts.push((a.block(i0, 0, rows, a.cols()), mine));
        (rest, i0) = (later, i0 + rows);
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matrix::Matrix;

    #[test]
    #[should_panic(expected = "A is 2 × 3, B is 2 × 2")]
    fn mismatched_shapes_panic_with_both_shapes() {
        let a = Matrix::<f32>::zeros(2, 3);
        let b = Matrix::<f32>::zeros(2, 2);
        let mut c = Matrix::<f32>::zeros(2, 2);
        gemm(1.0, a.view(), b.view(), 0.0, c.view_mut());
    }

    #[test]
    fn k_zero_scales_c_by_beta() {
        let a = Matrix::<f64>::zeros(2, 0);
        let b = Matrix::<f64>::zeros(0, 3);
        let mut c = Matrix::filled(2, 3, 2.0);
        gemm(1.0, a.view(), b.view(), 0.5, c.view_mut());
        assert!(c.as_slice().iter().all(|&x| x == 1.0));
        let mut c = Matrix::filled(2, 3, f64::NAN);
        gemm(1.0, a.view(), b.view(), 0.0, c.view_mut());
        assert!(c.as_slice().iter().all(|&x| x == 0.0));
    }
}
