//! The five loops around the micro-kernel (Goto's algorithm, as in BLIS).
//!
//! ```text
//! LOOP 5  jc: for each NC-wide block of columns of B and C
//! LOOP 4  pc:   for each KC-deep block of the shared dimension
//!                 (B̃ = that KC × NC block of B, already packed: PackedB)
//! LOOP 3  ic:     for each MC-tall block of rows of A and C
//!                   pack A[ic.., pc..] → Ã (MR-tall panels)
//! LOOP 2  jr:       for each NR-wide panel of B̃
//! LOOP 1  ir:         for each MR-tall panel of Ã
//!                       micro_kernel: C[ir.., jr..] (MR × NR) += Ã panel · B̃ panel
//! ```
//!
//! β is applied by the first `pc` block only; later blocks accumulate (β = 1).
//! Edge tiles (fewer than MR rows or NR columns left) run the kernel's edge
//! variant ([`MicroKernel::edge_kernel`]: the same arithmetic on fewer
//! registers) into a scratch tile, and only the valid part is written to C.

use super::blocking::Blocks;
use super::kernel::{kernel_for, Kernel, MicroKernel};
use super::pack::{pack_a, PackedB};
use crate::matrix::{MatMut, MatRef};
use crate::scalar::Float;

/// Largest `MR · NR` of any kernel (AVX-512: 12 · 32).
const MAX_TILE: usize = 384;

/// `C := α·A·B + β·C` with B already packed for kernel `K`, in blocks of
/// `blocks.mc` rows and `blocks.nc` columns (the depth is the packing's:
/// B̃ was packed in blocks of [`PackedB::kc`]). `a_buf` is the worker's Ã
/// buffer, reused across calls. Needs k ≥ 1: for k = 0 the caller scales C
/// by β itself (no `pc` block runs here).
#[allow(clippy::too_many_arguments)]
pub(crate) fn gemm_loops<T: Float, K: MicroKernel<T>>(
    kernel: K,
    blocks: Blocks,
    alpha: T,
    a: MatRef<T>,
    b: &PackedB<T>,
    beta: T,
    mut c: MatMut<T>,
    a_buf: &mut Vec<T>,
) {
    let (m, k, n) = (a.rows(), a.cols(), b.cols());
    debug_assert_eq!(b.nr, K::NR, "B packed for another kernel");
    debug_assert!(K::MR * K::NR <= MAX_TILE);
    let (mc_max, kc_max, nc_max) = (blocks.mc, b.kc, blocks.nc);
    // LOOP 5: split n into NC-wide blocks.
    for jc in (0..n).step_by(nc_max) {
        let nc = nc_max.min(n - jc);
        // LOOP 4: split k into KC-deep blocks; B̃ is PackedB's block at pc.
        for pc in (0..k).step_by(kc_max) {
            let kc = kc_max.min(k - pc);
            let beta_pc = if pc == 0 { beta } else { T::one() };
            // LOOP 3: split m into MC-tall blocks; pack A → Ã.
            for ic in (0..m).step_by(mc_max) {
                let mc = mc_max.min(m - ic);
                pack_a(K::MR, a.block(ic, pc, mc, kc), a_buf);
                // LOOP 2: NR-wide panels of B̃.
                for jr in (0..nc).step_by(K::NR) {
                    let nr = K::NR.min(nc - jr);
                    let b_panel = b.panel(pc, kc, (jc + jr) / K::NR);
                    // LOOP 1: MR-tall panels of Ã.
                    for (pi, a_panel) in a_buf.chunks_exact(K::MR * kc).enumerate() {
                        let ir = pi * K::MR;
                        let mr = K::MR.min(mc - ir);
                        let tile = Tile {
                            i: ic + ir,
                            j: jc + jr,
                            mr,
                            nr,
                        };
                        run_tile(kernel, kc, alpha, a_panel, b_panel, beta_pc, &mut c, tile);
                    }
                }
            }
        }
    }
}

/// Where a micro-kernel's result goes in C, and how much of it is valid.
#[derive(Clone, Copy)]
struct Tile {
    i: usize,
    j: usize,
    mr: usize,
    nr: usize,
}

/// One micro-kernel call: straight into C for a full tile, through a scratch
/// tile for a ragged edge.
#[allow(clippy::too_many_arguments)]
#[inline]
fn run_tile<T: Float, K: MicroKernel<T>>(
    kernel: K,
    kc: usize,
    alpha: T,
    a: &[T],
    b: &[T],
    beta: T,
    c: &mut MatMut<T>,
    t: Tile,
) {
    if t.mr == K::MR && t.nr == K::NR {
        let ldc = c.ld();
        kernel.micro_kernel(kc, alpha, a, b, beta, c.tail_from(t.i, t.j), ldc);
        return;
    }
    let mut scratch = [T::zero(); MAX_TILE];
    kernel.edge_kernel(t.mr, t.nr, kc, a, b, &mut scratch);
    for r in 0..t.mr {
        let row = &mut c.row_mut(t.i + r)[t.j..t.j + t.nr];
        let src = &scratch[r * K::NR..r * K::NR + t.nr];
        if beta == T::zero() {
            for (x, &s) in row.iter_mut().zip(src) {
                *x = alpha * s;
            }
        } else {
            for (x, &s) in row.iter_mut().zip(src) {
                *x = alpha * s + beta * *x;
            }
        }
    }
}

/// Run the five loops on one worker's rows with the kernel that runs for
/// `T` ([`kernel_for`]). The SIMD kernels take the operands viewed as f32,
/// which they are whenever [`kernel_for`] picked one.
#[allow(clippy::too_many_arguments)]
pub(crate) fn run_loops<T: Float>(
    kernel: Kernel,
    blocks: Blocks,
    alpha: T,
    a: MatRef<T>,
    b: &PackedB<T>,
    beta: T,
    c: MatMut<T>,
    a_buf: &mut Vec<T>,
) {
    let kernel = kernel_for::<T>(kernel);
    #[cfg(target_arch = "x86_64")]
    if kernel != Kernel::Portable {
        use std::any::Any;
        let f32_operands = (
            a.as_f32(),
            (b as &dyn Any).downcast_ref::<PackedB<f32>>(),
            c.into_f32(),
            (a_buf as &mut dyn Any).downcast_mut::<Vec<f32>>(),
        );
        let (Some(a), Some(b), Some(c), Some(a_buf)) = f32_operands else {
            unreachable!("kernel_for picks a SIMD kernel for f32 only");
        };
        let (alpha, beta) = (alpha.to_f64() as f32, beta.to_f64() as f32); // exact: T is f32
        match kernel {
            Kernel::Avx2 => {
                let k = super::kernel::x86_64::Avx2Fma::detect().expect("AVX2 kernel chosen on a CPU without AVX2+FMA");
                return gemm_loops(k, blocks, alpha, a, b, beta, c, a_buf);
            }
            _ => {
                let k =
                    super::kernel::x86_64::Avx512::detect().expect("AVX-512 kernel chosen on a CPU without AVX-512F");
                return gemm_loops(k, blocks, alpha, a, b, beta, c, a_buf);
            }
        }
    }
    gemm_loops(super::kernel::portable::Portable, blocks, alpha, a, b, beta, c, a_buf)
}
