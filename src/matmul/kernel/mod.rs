//! Micro-kernels: the innermost `MR × NR` block of `C := α·A·B + β·C`, and the
//! run-time choice between them.
//!
//! Contract of every kernel (BLIS's): given an `MR × kc` sliver of Ã packed
//! column by column and a `kc × NR` sliver of B̃ packed row by row,
//!
//! ```text
//!   C[0..MR, 0..NR] := α · Σ_p  Ã[:, p] ⊗ B̃[p, :]  +  β · C       (rows ldc apart)
//!
//!          B̃ sliver  p →  [ b b b ... b ]  NR wide
//!   Ã      ┌───┐
//!   sliver │ a │ ─ broadcast a(i,p), multiply by the B̃ row, add into row i
//!   MR     │ a │   of the MR × NR accumulator tile held in registers
//!   tall   │ a │
//!          └───┘
//! ```
//!
//! The accumulators live in registers for the whole `kc` loop; C is touched
//! once at the end, and never read when `β = 0` (it may hold NaN).
//!
//! Kernels: [`portable::Portable`] (4 × 8, plain Rust, any target, f32 and
//! f64), and on x86-64 `Avx2Fma` (6 × 16, f32) and `Avx512` (12 × 32, f32).
//! f64 always runs the portable kernel: it is only used for gradient checks.

pub mod portable;
#[cfg(target_arch = "x86_64")]
pub mod x86_64;

use std::sync::OnceLock;

use crate::scalar::Float;

/// An `MR × NR` register micro-kernel for element type `T`.
///
/// A value of the implementing type is a token that the kernel may run on
/// this CPU: the SIMD kernels can only be constructed after feature detection.
pub trait MicroKernel<T: Float>: Copy + Send + Sync {
    /// Rows of the C tile (height of an Ã panel).
    const MR: usize;
    /// Columns of the C tile (width of a B̃ panel).
    const NR: usize;

    /// `C[0..MR, 0..NR] := α·Ã·B̃ + β·C` over `kc` steps; row `i` of C starts
    /// at `c[i·ldc]`.
    ///
    /// # Panics
    /// If `a` holds fewer than `MR·kc`, `b` fewer than `kc·NR`, or `c` fewer
    /// than `(MR−1)·ldc + NR` elements.
    #[allow(clippy::too_many_arguments)]
    fn micro_kernel(self, kc: usize, alpha: T, a: &[T], b: &[T], beta: T, c: &mut [T], ldc: usize);

    /// A ragged edge: `Ã·B̃` (α = 1, β = 0) into `scratch` (row stride NR)
    /// for at least the first `rows` rows and `cols` columns of the tile, the
    /// rest of `scratch` unspecified. Every computed entry must equal the
    /// full kernel's to the bit; a kernel may compute fewer rows or columns
    /// than the whole tile to save time. By default, the whole tile.
    fn edge_kernel(self, rows: usize, cols: usize, kc: usize, a: &[T], b: &[T], scratch: &mut [T]) {
        debug_assert!(rows <= Self::MR && cols <= Self::NR);
        self.micro_kernel(kc, T::one(), a, b, T::zero(), scratch, Self::NR);
    }

    /// One row of C of a product too shallow to pay for packing
    /// ([`crate::matmul::shallow`]), with α = 1:
    ///
    /// ```text
    ///   c[j] := Σ_p a[p]·b[p·ldb + j]   (+ c[j] when `add`, β = 1)     p = 0 .. a.len()
    /// ```
    ///
    /// Each entry must be the same chain of operations as in the tile
    /// kernel — the sum from zero in p order, then the add of C — so that a
    /// product gives the same bits on either path.
    ///
    /// # Panics
    /// If a row `b[p·ldb .. p·ldb + c.len()]` is out of bounds.
    fn shallow_row(self, a: &[T], b: &[T], ldb: usize, add: bool, c: &mut [T]);
}

/// Which multiplication code runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kernel {
    /// The triple loop ([`super::gemm_naive`]); the reference.
    Naive,
    /// Packed loops around the portable 4 × 8 kernel.
    Portable,
    /// Packed loops around the AVX2 + FMA 6 × 16 kernel (x86-64).
    Avx2,
    /// Packed loops around the AVX-512F 12 × 32 kernel (x86-64).
    Avx512,
}

impl Kernel {
    /// Every kernel, slowest first.
    pub const ALL: [Kernel; 4] = [Kernel::Naive, Kernel::Portable, Kernel::Avx2, Kernel::Avx512];

    /// The name used by `RNNLM_KERNEL`, the CLI and the benches.
    pub fn name(self) -> &'static str {
        match self {
            Kernel::Naive => "naive",
            Kernel::Portable => "portable",
            Kernel::Avx2 => "avx2",
            Kernel::Avx512 => "avx512",
        }
    }

    /// Parse a name given by [`Kernel::name`].
    pub fn parse(name: &str) -> Option<Kernel> {
        Kernel::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Whether this CPU can run the kernel.
    pub fn is_available(self) -> bool {
        match self {
            Kernel::Naive | Kernel::Portable => true,
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 => x86_64::Avx2Fma::detect().is_some(),
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512 => x86_64::Avx512::detect().is_some(),
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    /// The fastest kernel this CPU runs — or the one named by the environment
    /// variable `RNNLM_KERNEL` if it is set and available. Detected once.
    pub fn best() -> Kernel {
        static BEST: OnceLock<Kernel> = OnceLock::new();
        *BEST.get_or_init(|| {
            if let Some(k) = std::env::var("RNNLM_KERNEL").ok().and_then(|s| Kernel::parse(&s)) {
                if k.is_available() {
                    return k;
                }
            }
            Kernel::detect()
        })
    }

    /// The fastest available kernel, ignoring the environment.
    pub fn detect() -> Kernel {
        [Kernel::Avx512, Kernel::Avx2]
            .into_iter()
            .find(|k| k.is_available())
            .unwrap_or(Kernel::Portable)
    }

    /// Every kernel this CPU can run.
    pub fn available() -> Vec<Kernel> {
        Kernel::ALL.into_iter().filter(|k| k.is_available()).collect()
    }
}

impl std::fmt::Display for Kernel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The kernel that really runs for element type `T` when `kernel` is asked
/// for: the SIMD kernels are f32 only, so f64 (gradient checks) always runs
/// the portable one; the packed path of `Naive` is the portable one too.
pub fn kernel_for<T: Float>(kernel: Kernel) -> Kernel {
    match kernel {
        Kernel::Avx2 | Kernel::Avx512 if cfg!(target_arch = "x86_64") && T::as_f32(&[]).is_some() => kernel,
        _ => Kernel::Portable,
    }
}

/// `(MR, NR)` of the kernel that runs for `T` ([`kernel_for`]).
pub fn tile<T: Float>(kernel: Kernel) -> (usize, usize) {
    match kernel_for::<T>(kernel) {
        Kernel::Avx2 => (6, 16),
        Kernel::Avx512 => (12, 32),
        _ => (
            <portable::Portable as MicroKernel<T>>::MR,
            <portable::Portable as MicroKernel<T>>::NR,
        ),
    }
}
