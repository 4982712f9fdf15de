//! x86-64 SIMD micro-kernels: AVX2 + FMA (6 × 16) and AVX-512F (12 × 32), f32,
//! and the FMA peak probes `rnnlm bench` measures them against.
//!
//! Both kernels are one body, `tile_kernel`, written against a small trait
//! for a SIMD register (`Lanes`: zero, splat, load, store, fused
//! multiply–add, multiply) and instantiated with `__m256` and `__m512`. The
//! tests instantiate it a third time with plain arrays, which checks the
//! 12 × 32 logic on CPUs that lack AVX-512.
//!
//! Each kernel entry is a `#[target_feature]` function, compiled for its
//! instruction set whatever the crate's target, and reachable only through a
//! token type whose sole constructor checks the CPU (`detect`). The `unsafe`
//! here is the register wrappers (intrinsics called from generic code) and
//! the unaligned loads and stores through pointers into bounds-checked slices.
//!
//! Register budget (16 ymm / 32 zmm registers):
//!
//! ```text
//!   AVX2 6 × 16:    12 accumulators (6 rows × 2 ymm) + 2 B̃ rows + 1 broadcast = 15
//!   AVX-512 12 × 32: 24 accumulators (12 rows × 2 zmm) + 2 B̃ rows + 1 broadcast = 27
//! ```
//!
//! Each step p loads one B̃ row (2 vectors), then for every row i broadcasts
//! Ã(i, p) and issues two FMAs: 12 (or 24) independent FMA chains, enough to
//! hide the 4-cycle FMA latency on two FMA ports.
#![allow(unsafe_code)]
#![deny(clippy::undocumented_unsafe_blocks)]

use std::arch::x86_64::*;

use super::MicroKernel;

/// Token for the AVX2 + FMA kernel: exists only on CPUs that have both.
#[derive(Clone, Copy, Debug)]
pub struct Avx2Fma {
    _detected: (),
}

impl Avx2Fma {
    /// `Some` if this CPU has AVX2 and FMA.
    pub fn detect() -> Option<Self> {
        (is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")).then_some(Avx2Fma { _detected: () })
    }
}

/// Token for the AVX-512F kernel: exists only on CPUs that have it.
#[derive(Clone, Copy, Debug)]
pub struct Avx512 {
    _detected: (),
}

impl Avx512 {
    /// `Some` if this CPU has AVX-512F.
    pub fn detect() -> Option<Self> {
        is_x86_feature_detected!("avx512f").then_some(Avx512 { _detected: () })
    }
}

impl MicroKernel<f32> for Avx2Fma {
    const MR: usize = 6;
    const NR: usize = 16;

    #[inline]
    fn micro_kernel(self, kc: usize, alpha: f32, a: &[f32], b: &[f32], beta: f32, c: &mut [f32], ldc: usize) {
        // SAFETY: a value of `Avx2Fma` exists only if `detect` found AVX2 and
        // FMA on this CPU, which is all `avx2_6x16` requires.
        unsafe { avx2_6x16(kc, alpha, a, b, beta, c, ldc) }
    }

    #[inline]
    fn edge_kernel(self, rows: usize, cols: usize, kc: usize, a: &[f32], b: &[f32], scratch: &mut [f32]) {
        // SAFETY: as for `micro_kernel`.
        unsafe { avx2_edge(rows, cols, kc, a, b, scratch) }
    }

    #[inline]
    fn shallow_row(self, a: &[f32], b: &[f32], ldb: usize, add: bool, c: &mut [f32]) {
        // SAFETY: as for `micro_kernel`.
        unsafe { avx2_shallow_row(a, b, ldb, add, c) }
    }
}

impl MicroKernel<f32> for Avx512 {
    const MR: usize = 12;
    const NR: usize = 32;

    #[inline]
    fn micro_kernel(self, kc: usize, alpha: f32, a: &[f32], b: &[f32], beta: f32, c: &mut [f32], ldc: usize) {
        // SAFETY: a value of `Avx512` exists only if `detect` found AVX-512F
        // on this CPU, which is all `avx512_12x32` requires.
        unsafe { avx512_12x32(kc, alpha, a, b, beta, c, ldc) }
    }

    #[inline]
    fn edge_kernel(self, rows: usize, cols: usize, kc: usize, a: &[f32], b: &[f32], scratch: &mut [f32]) {
        // SAFETY: as for `micro_kernel`.
        unsafe { avx512_edge(rows, cols, kc, a, b, scratch) }
    }

    #[inline]
    fn shallow_row(self, a: &[f32], b: &[f32], ldb: usize, add: bool, c: &mut [f32]) {
        // SAFETY: as for `micro_kernel`.
        unsafe { avx512_shallow_row(a, b, ldb, add, c) }
    }
}

// ------------------------------------------------------------ C tile prefetch

/// Ask for the C tile's cache lines now, so the loads and stores at the end of
/// the kernel do not wait on memory: the `kc` loop hides the latency.
#[inline(always)]
fn prefetch_tile(c: &[f32], ldc: usize, rows: usize, cols: usize) {
    for i in 0..rows {
        let row = &c[i * ldc..i * ldc + cols];
        // SAFETY: `_mm_prefetch` is only a hint and never faults; both
        // addresses are inside `row` anyway.
        unsafe {
            _mm_prefetch::<_MM_HINT_T0>(row.as_ptr() as *const i8);
            _mm_prefetch::<_MM_HINT_T0>(row.as_ptr().add(cols - 1) as *const i8);
        }
    }
}

// ------------------------------------------------------------ the tile body

/// One SIMD register of `N` f32 lanes: the six operations the tile body
/// needs. Implemented by `__m256` (AVX2 + FMA), `__m512` (AVX-512F) and, in
/// the tests, by a plain array that stands in for a register the CPU may not
/// have.
///
/// # Safety
/// The register implementations execute their instruction set: call these
/// methods only from a function compiled with it (`#[target_feature]`), on a
/// CPU that has it.
pub(super) trait Lanes: Copy {
    /// Lanes per register.
    const N: usize;
    /// All lanes zero.
    unsafe fn zero() -> Self;
    /// Every lane `x` (a broadcast).
    unsafe fn splat(x: f32) -> Self;
    /// Lanes from `src[0..N]`.
    unsafe fn load(src: &[f32]) -> Self;
    /// Lanes into `dst[0..N]`.
    unsafe fn store(self, dst: &mut [f32]);
    /// `self · b + acc`, fused.
    unsafe fn mul_add(self, b: Self, acc: Self) -> Self;
    /// `self · b`.
    unsafe fn mul(self, b: Self) -> Self;
}

/// The micro-kernel for an `MR × (NV·N)` tile held in `MR·NV` registers of
/// type `V`; both SIMD kernels are this body with their register type.
/// The panels are `AS` rows tall (Ã) and `BS` columns wide (B̃): the full
/// tile has `AS = MR`, `BS = NV·N`; an edge tile computes only the first
/// `MR` rows and `NV·N` columns of wider panels (see [`edge_tile`]).
///
/// ```text
///   for p in 0..kc:                    (four p per loop trip)
///       b[v]      = B̃(p, v·N .. v·N+N)             v < NV   (NV loads)
///       for i in 0..MR:
///           a       = splat(Ã(i, p))                        (1 broadcast)
///           acc[i][v] = a · b[v] + acc[i][v]         v < NV   (NV FMAs)
///   C(i, ·) := α·acc[i] + β·C(i, ·)    (C not read when β = 0)
/// ```
///
/// # Safety
/// `V`'s instructions must be enabled in the caller (see [`Lanes`]). Every
/// memory access goes through a bounds-checked slice.
#[inline(always)]
unsafe fn tile_kernel<V: Lanes, const MR: usize, const NV: usize, const AS: usize, const BS: usize>(
    kc: usize,
    alpha: f32,
    a: &[f32],
    b: &[f32],
    beta: f32,
    c: &mut [f32],
    ldc: usize,
) {
    let nr = NV * V::N;
    assert!(
        MR <= AS && nr <= BS && a.len() >= AS * kc && b.len() >= BS * kc,
        "{MR}×{nr} kernel: short panels for kc = {kc}"
    );
    assert!(
        c.len() >= (MR - 1) * ldc + nr,
        "{MR}×{nr} kernel: C holds {} < {} elements",
        c.len(),
        (MR - 1) * ldc + nr
    );
    prefetch_tile(c, ldc, MR, nr);
    // SAFETY: the caller enabled V's instructions; the rest is safe code.
    unsafe {
        let mut acc = [[V::zero(); NV]; MR];
        let k_step = k_step::<V, MR, NV>;
        // Four steps of p per trip: fewer loop branches between the FMAs.
        let (a4, b4) = (a[..AS * kc].chunks_exact(4 * AS), b[..BS * kc].chunks_exact(4 * BS));
        let (a_rest, b_rest) = (a4.remainder(), b4.remainder());
        for (ap, bp) in a4.zip(b4) {
            k_step(&mut acc, &ap[..MR], &bp[..nr]);
            k_step(&mut acc, &ap[AS..AS + MR], &bp[BS..BS + nr]);
            k_step(&mut acc, &ap[2 * AS..2 * AS + MR], &bp[2 * BS..2 * BS + nr]);
            k_step(&mut acc, &ap[3 * AS..3 * AS + MR], &bp[3 * BS..3 * BS + nr]);
        }
        for (ap, bp) in a_rest.chunks_exact(AS).zip(b_rest.chunks_exact(BS)) {
            k_step(&mut acc, ap, bp);
        }
        let (av, bv) = (V::splat(alpha), V::splat(beta));
        for (i, row) in acc.iter().enumerate() {
            let c_row = &mut c[i * ldc..i * ldc + nr];
            for (v, &r) in row.iter().enumerate() {
                let out = &mut c_row[v * V::N..(v + 1) * V::N];
                let scaled = av.mul(r);
                let value = if beta == 0.0 {
                    scaled
                } else {
                    bv.mul_add(V::load(out), scaled)
                };
                value.store(out);
            }
        }
    }
}

/// One step p of [`tile_kernel`]: load the B̃ row (NV registers), then for
/// each of the MR rows broadcast Ã(i, p) and add it times the B̃ row into
/// the row's accumulators.
///
/// # Safety
/// As for [`tile_kernel`].
#[inline(always)]
unsafe fn k_step<V: Lanes, const MR: usize, const NV: usize>(acc: &mut [[V; NV]; MR], ap: &[f32], bp: &[f32]) {
    // SAFETY: the caller enabled V's instructions.
    unsafe {
        let mut bv = [V::zero(); NV];
        for (v, b) in bv.iter_mut().enumerate() {
            *b = V::load(&bp[v * V::N..]);
        }
        for (row, &x) in acc.iter_mut().zip(&ap[..MR]) {
            let x = V::splat(x);
            for (r, &b) in row.iter_mut().zip(&bv) {
                *r = x.mul_add(b, *r);
            }
        }
    }
}

/// A ragged edge tile (`rows` ≤ MR valid rows, `cols` ≤ NR = 2·N valid
/// columns) into `scratch` (row stride NR, α = 1, β = 0): exactly `rows`
/// rows of accumulators, one or two registers wide, instead of the whole
/// tile (a 10-row tile is 20 FMAs a step of p, not 24). Each computed entry
/// is the same chain of FMAs as in the full tile, so the numbers are the
/// same. Expands to a match over the row counts listed (1 to MR), each arm
/// a [`tile_kernel`] of that many rows: an unsafe expression with
/// [`tile_kernel`]'s safety contract.
macro_rules! edge_tile {
    ($v:ty, $mr:literal, $nr:literal, [$($r:literal)+], $rows:expr, $cols:expr, $kc:expr, $a:expr, $b:expr, $s:expr) => {{
        let (rows, cols) = ($rows, $cols);
        debug_assert!((1..=$mr).contains(&rows) && (1..=$nr).contains(&cols));
        match (rows, cols <= $nr / 2) {
            $(
                ($r, true) => tile_kernel::<$v, $r, 1, $mr, $nr>($kc, 1.0, $a, $b, 0.0, $s, $nr),
                ($r, false) => tile_kernel::<$v, $r, 2, $mr, $nr>($kc, 1.0, $a, $b, 0.0, $s, $nr),
            )+
            _ => unreachable!("an edge tile of {rows} rows"),
        }
    }};
}

/// [`MicroKernel::shallow_row`] on `V`'s lanes: each entry's sum is the
/// tile kernel's chain of FMAs from zero in p order ([`k_step`]), then C is
/// added as the tile's store adds it (`fma(1, c, 1·acc)` is `c + acc`); the
/// columns past the last whole register take the same chain one at a time.
///
/// # Safety
/// As for [`tile_kernel`].
#[inline(always)]
unsafe fn shallow_row_lanes<V: Lanes>(a: &[f32], b: &[f32], ldb: usize, add: bool, c: &mut [f32]) {
    let n = c.len();
    let body = n - n % V::N;
    if let Some(last) = a.len().checked_sub(1) {
        assert!(
            last * ldb + n <= b.len(),
            "shallow_row: B too short for {} rows",
            a.len()
        );
    }
    // SAFETY: the caller enabled V's instructions; the rest is safe code.
    unsafe {
        for j in (0..body).step_by(V::N) {
            let mut acc = V::zero();
            for (p, &ap) in a.iter().enumerate() {
                acc = V::splat(ap).mul_add(V::load(&b[p * ldb + j..]), acc);
            }
            let out = &mut c[j..j + V::N];
            let value = if add {
                V::splat(1.0).mul_add(V::load(out), acc)
            } else {
                acc
            };
            value.store(out);
        }
    }
    for (j, out) in c.iter_mut().enumerate().skip(body) {
        let mut acc = 0.0f32;
        for (p, &ap) in a.iter().enumerate() {
            acc = ap.mul_add(b[p * ldb + j], acc);
        }
        *out = if add { *out + acc } else { acc };
    }
}

// ---------------------------------------------------------------- AVX2 + FMA

impl Lanes for __m256 {
    const N: usize = 8;
    #[inline(always)]
    unsafe fn zero() -> Self {
        // SAFETY: the caller enabled AVX2 and FMA (trait contract).
        unsafe { _mm256_setzero_ps() }
    }
    #[inline(always)]
    unsafe fn splat(x: f32) -> Self {
        // SAFETY: the caller enabled AVX2 and FMA (trait contract).
        unsafe { _mm256_set1_ps(x) }
    }
    #[inline(always)]
    unsafe fn load(src: &[f32]) -> Self {
        let src = &src[..8];
        // SAFETY: the caller enabled AVX2 (trait contract); `src` was just
        // sliced to the 8 lanes the load reads.
        unsafe { _mm256_loadu_ps(src.as_ptr()) }
    }
    #[inline(always)]
    unsafe fn store(self, dst: &mut [f32]) {
        let dst = &mut dst[..8];
        // SAFETY: the caller enabled AVX2 (trait contract); `dst` was just
        // sliced to the 8 lanes the store writes.
        unsafe { _mm256_storeu_ps(dst.as_mut_ptr(), self) }
    }
    #[inline(always)]
    unsafe fn mul_add(self, b: Self, acc: Self) -> Self {
        // SAFETY: the caller enabled AVX2 and FMA (trait contract).
        unsafe { _mm256_fmadd_ps(self, b, acc) }
    }
    #[inline(always)]
    unsafe fn mul(self, b: Self) -> Self {
        // SAFETY: the caller enabled AVX2 and FMA (trait contract).
        unsafe { _mm256_mul_ps(self, b) }
    }
}

/// The AVX2 + FMA 6 × 16 f32 micro-kernel: 6 rows × 2 ymm accumulators.
#[target_feature(enable = "avx2,fma")]
fn avx2_6x16(kc: usize, alpha: f32, a: &[f32], b: &[f32], beta: f32, c: &mut [f32], ldc: usize) {
    // SAFETY: this function is compiled with AVX2 and FMA, all `__m256`'s
    // lanes use.
    unsafe { tile_kernel::<__m256, 6, 2, 6, 16>(kc, alpha, a, b, beta, c, ldc) }
}

// ------------------------------------------------------------------- AVX-512

impl Lanes for __m512 {
    const N: usize = 16;
    #[inline(always)]
    unsafe fn zero() -> Self {
        // SAFETY: the caller enabled AVX-512F (trait contract).
        unsafe { _mm512_setzero_ps() }
    }
    #[inline(always)]
    unsafe fn splat(x: f32) -> Self {
        // SAFETY: the caller enabled AVX-512F (trait contract).
        unsafe { _mm512_set1_ps(x) }
    }
    #[inline(always)]
    unsafe fn load(src: &[f32]) -> Self {
        let src = &src[..16];
        // SAFETY: the caller enabled AVX-512F (trait contract); `src` was
        // just sliced to the 16 lanes the load reads.
        unsafe { _mm512_loadu_ps(src.as_ptr()) }
    }
    #[inline(always)]
    unsafe fn store(self, dst: &mut [f32]) {
        let dst = &mut dst[..16];
        // SAFETY: the caller enabled AVX-512F (trait contract); `dst` was
        // just sliced to the 16 lanes the store writes.
        unsafe { _mm512_storeu_ps(dst.as_mut_ptr(), self) }
    }
    #[inline(always)]
    unsafe fn mul_add(self, b: Self, acc: Self) -> Self {
        // SAFETY: the caller enabled AVX-512F (trait contract).
        unsafe { _mm512_fmadd_ps(self, b, acc) }
    }
    #[inline(always)]
    unsafe fn mul(self, b: Self) -> Self {
        // SAFETY: the caller enabled AVX-512F (trait contract).
        unsafe { _mm512_mul_ps(self, b) }
    }
}

/// An AVX2 edge tile: 1 to 6 rows, 8 or 16 columns ([`edge_tile`]).
#[target_feature(enable = "avx2,fma")]
fn avx2_edge(rows: usize, cols: usize, kc: usize, a: &[f32], b: &[f32], scratch: &mut [f32]) {
    // SAFETY: this function is compiled with AVX2 and FMA.
    unsafe { edge_tile!(__m256, 6, 16, [1 2 3 4 5 6], rows, cols, kc, a, b, scratch) }
}

/// [`MicroKernel::shallow_row`] with AVX2 + FMA ([`shallow_row_lanes`]).
#[target_feature(enable = "avx2,fma")]
fn avx2_shallow_row(a: &[f32], b: &[f32], ldb: usize, add: bool, c: &mut [f32]) {
    // SAFETY: this function is compiled with AVX2 and FMA.
    unsafe { shallow_row_lanes::<__m256>(a, b, ldb, add, c) }
}

/// The AVX-512F 12 × 32 f32 micro-kernel: 12 rows × 2 zmm accumulators.
#[target_feature(enable = "avx512f")]
fn avx512_12x32(kc: usize, alpha: f32, a: &[f32], b: &[f32], beta: f32, c: &mut [f32], ldc: usize) {
    // SAFETY: this function is compiled with AVX-512F, all `__m512`'s lanes
    // use.
    unsafe { tile_kernel::<__m512, 12, 2, 12, 32>(kc, alpha, a, b, beta, c, ldc) }
}

/// An AVX-512 edge tile: 1 to 12 rows, 16 or 32 columns ([`edge_tile`]).
#[target_feature(enable = "avx512f")]
fn avx512_edge(rows: usize, cols: usize, kc: usize, a: &[f32], b: &[f32], scratch: &mut [f32]) {
    // SAFETY: this function is compiled with AVX-512F.
    unsafe { edge_tile!(__m512, 12, 32, [1 2 3 4 5 6 7 8 9 10 11 12], rows, cols, kc, a, b, scratch) }
}

/// [`MicroKernel::shallow_row`] with AVX-512F ([`shallow_row_lanes`]).
#[target_feature(enable = "avx512f")]
fn avx512_shallow_row(a: &[f32], b: &[f32], ldb: usize, add: bool, c: &mut [f32]) {
    // SAFETY: this function is compiled with AVX-512F.
    unsafe { shallow_row_lanes::<__m512>(a, b, ldb, add, c) }
}

// ------------------------------------------------------- peak FMA throughput

/// Flops per call of [`fma_peak_avx2`] with `iters` iterations.
pub fn fma_peak_flops_avx2(iters: usize) -> usize {
    iters * 10 * 8 * 2
}

/// Ten independent chains of 8-lane FMAs: the AVX2 FMA peak of one core.
/// Returns a value derived from the accumulators so the loop is not removed.
pub fn fma_peak_avx2(iters: usize) -> Option<f32> {
    Avx2Fma::detect()?;
    // SAFETY: AVX2 and FMA were just detected.
    Some(unsafe { fma_chains_avx2(iters) })
}

#[target_feature(enable = "avx2,fma")]
fn fma_chains_avx2(iters: usize) -> f32 {
    let mut acc = [_mm256_set1_ps(0.0); 10];
    let x = _mm256_set1_ps(0.999_999);
    let y = _mm256_set1_ps(1e-7);
    for _ in 0..iters {
        for a in acc.iter_mut() {
            *a = _mm256_fmadd_ps(*a, x, y);
        }
    }
    let mut s = _mm256_setzero_ps();
    for a in acc {
        s = _mm256_add_ps(s, a);
    }
    let mut out = [0.0f32; 8];
    // SAFETY: `out` holds 8 f32, the width of one ymm store.
    unsafe { _mm256_storeu_ps(out.as_mut_ptr(), s) };
    out.iter().sum()
}

/// Flops per call of [`fma_peak_avx512`] with `iters` iterations.
pub fn fma_peak_flops_avx512(iters: usize) -> usize {
    iters * 16 * 16 * 2
}

/// Sixteen independent chains of 16-lane FMAs: the AVX-512 FMA peak.
pub fn fma_peak_avx512(iters: usize) -> Option<f32> {
    Avx512::detect()?;
    // SAFETY: AVX-512F was just detected.
    Some(unsafe { fma_chains_avx512(iters) })
}

#[target_feature(enable = "avx512f")]
fn fma_chains_avx512(iters: usize) -> f32 {
    let mut acc = [_mm512_set1_ps(0.0); 16];
    let x = _mm512_set1_ps(0.999_999);
    let y = _mm512_set1_ps(1e-7);
    for _ in 0..iters {
        for a in acc.iter_mut() {
            *a = _mm512_fmadd_ps(*a, x, y);
        }
    }
    let mut s = _mm512_setzero_ps();
    for a in acc {
        s = _mm512_add_ps(s, a);
    }
    _mm512_reduce_add_ps(s)
}

#[cfg(test)]
mod tests {
    //! The tile body run on plain arrays standing in for the registers: this
    //! checks the AVX-512 kernel's 12 × 32 logic (indexing, unrolling, edge
    //! handling, α/β) on CPUs without AVX-512, through the real five loops.
    //! What it cannot check is the six one-line `__m512` wrappers above.
    use super::*;
    use crate::matmul::gemm_naive;
    use crate::matmul::kernel::Kernel;
    use crate::matmul::loops::gemm_loops;
    use crate::matmul::pack::PackedB;
    use crate::matrix::Matrix;
    use crate::rng::Rng;

    /// `N` f32 lanes in an array; `mul_add` is fused, as the hardware's is.
    #[derive(Clone, Copy)]
    struct Emulated<const N: usize>([f32; N]);

    impl<const N: usize> Lanes for Emulated<N> {
        const N: usize = N;
        unsafe fn zero() -> Self {
            Emulated([0.0; N])
        }
        unsafe fn splat(x: f32) -> Self {
            Emulated([x; N])
        }
        unsafe fn load(src: &[f32]) -> Self {
            Emulated(src[..N].try_into().expect("N lanes"))
        }
        unsafe fn store(self, dst: &mut [f32]) {
            dst[..N].copy_from_slice(&self.0);
        }
        unsafe fn mul_add(self, b: Self, acc: Self) -> Self {
            Emulated(std::array::from_fn(|i| self.0[i].mul_add(b.0[i], acc.0[i])))
        }
        unsafe fn mul(self, b: Self) -> Self {
            Emulated(std::array::from_fn(|i| self.0[i] * b.0[i]))
        }
    }

    /// The AVX-512 kernel's shape (12 rows × 2 registers of 16 lanes).
    #[derive(Clone, Copy)]
    struct Avx512Shape;

    impl MicroKernel<f32> for Avx512Shape {
        const MR: usize = 12;
        const NR: usize = 32;
        fn micro_kernel(self, kc: usize, alpha: f32, a: &[f32], b: &[f32], beta: f32, c: &mut [f32], ldc: usize) {
            // SAFETY: `Emulated` is plain Rust; it needs no CPU feature.
            unsafe { tile_kernel::<Emulated<16>, 12, 2, 12, 32>(kc, alpha, a, b, beta, c, ldc) }
        }
        fn edge_kernel(self, rows: usize, cols: usize, kc: usize, a: &[f32], b: &[f32], scratch: &mut [f32]) {
            // SAFETY: `Emulated` is plain Rust; it needs no CPU feature.
            unsafe { edge_tile!(Emulated<16>, 12, 32, [1 2 3 4 5 6 7 8 9 10 11 12], rows, cols, kc, a, b, scratch) }
        }
        fn shallow_row(self, a: &[f32], b: &[f32], ldb: usize, add: bool, c: &mut [f32]) {
            // SAFETY: `Emulated` is plain Rust; it needs no CPU feature.
            unsafe { shallow_row_lanes::<Emulated<16>>(a, b, ldb, add, c) }
        }
    }

    fn ints(rows: usize, cols: usize, rng: &mut Rng) -> Matrix<f32> {
        Matrix::from_vec(
            rows,
            cols,
            (0..rows * cols).map(|_| rng.below(7) as f32 - 3.0).collect(),
        )
    }

    #[test]
    fn the_12x32_tile_body_matches_the_naive_loop() {
        use crate::matmul::blocking::{AVX512_KC as KC, AVX512_MC as MC};
        let mut rng = Rng::new(12);
        let mut a_buf = Vec::new();
        let mut checked = 0;
        for m in [0, 1, 11, 12, 13, 17, 20, 25, MC + 1] {
            for n in [0, 1, 31, 32, 33, 65] {
                for k in [1, 2, 3, 4, 5, KC - 1, KC + 1] {
                    for (trans_a, trans_b) in [(false, false), (true, false), (false, true), (true, true)] {
                        let a = ints(m, k, &mut rng);
                        let b = ints(k, n, &mut rng);
                        let (at, bt) = (a.transposed(), b.transposed());
                        let av = if trans_a { at.view().t() } else { a.view() };
                        let bv = if trans_b { bt.view().t() } else { b.view() };
                        let blocks = crate::matmul::Blocks::for_kernel(Kernel::Avx512);
                        let mut packed = PackedB::empty();
                        packed.pack(Kernel::Avx512, 32, blocks.kc, bv, 1);
                        for (alpha, beta) in [(1.0, 0.0), (2.0, -1.0), (0.5, 1.0)] {
                            let start = ints(m, n, &mut rng);
                            let mut want = start.clone();
                            gemm_naive(alpha, av, bv, beta, want.view_mut());
                            let mut got = if beta == 0.0 {
                                Matrix::filled(m, n, f32::NAN)
                            } else {
                                start
                            };
                            gemm_loops(
                                Avx512Shape,
                                blocks,
                                alpha,
                                av,
                                &packed,
                                beta,
                                got.view_mut(),
                                &mut a_buf,
                            );
                            assert_eq!(
                                got.as_slice(),
                                want.as_slice(),
                                "{m}×{k}·{k}×{n} trans ({trans_a}, {trans_b}) α {alpha} β {beta}"
                            );
                            checked += 1;
                        }
                    }
                }
            }
        }
        assert_eq!(checked, 9 * 6 * 7 * 4 * 3);
    }

    /// A shallow row is the tile kernel's row to the bit, for every depth
    /// up to `SHALLOW_K`, β = 0 and 1 — on the emulated 12×32 lanes (so the
    /// AVX-512 logic is checked where the CPU lacks it), and on the CPU's
    /// own kernels where it has them.
    #[test]
    fn shallow_rows_equal_the_tile_kernels_rows_to_the_bit() {
        fn check<K: MicroKernel<f32>>(k: K, name: &str) {
            let mut rng = Rng::new(11);
            for kc in 1..=crate::matmul::shallow::SHALLOW_K {
                for add in [false, true] {
                    let a: Vec<f32> = (0..K::MR * kc).map(|_| rng.uniform() as f32 - 0.5).collect();
                    let b: Vec<f32> = (0..K::NR * kc).map(|_| rng.uniform() as f32 - 0.5).collect();
                    let c0: Vec<f32> = (0..K::MR * K::NR).map(|_| rng.uniform() as f32 - 0.5).collect();
                    let mut tile = c0.clone();
                    k.micro_kernel(kc, 1.0, &a, &b, if add { 1.0 } else { 0.0 }, &mut tile, K::NR);
                    for i in 0..K::MR {
                        // Row i of the packed Ã sliver: a(i, p) = a[p·MR + i].
                        let a_row: Vec<f32> = (0..kc).map(|p| a[p * K::MR + i]).collect();
                        let mut row = c0[i * K::NR..(i + 1) * K::NR].to_vec();
                        k.shallow_row(&a_row, &b, K::NR, add, &mut row);
                        let want = &tile[i * K::NR..(i + 1) * K::NR];
                        assert!(
                            row.iter().zip(want).all(|(x, y)| x.to_bits() == y.to_bits()),
                            "{name}: k {kc}, add {add}, row {i} differs"
                        );
                    }
                }
            }
        }
        check(Avx512Shape, "emulated 12×32");
        if let Some(k) = Avx512::detect() {
            check(k, "avx512");
        }
        if let Some(k) = Avx2Fma::detect() {
            check(k, "avx2");
        }
    }

    /// Every edge variant computes its rows and columns with the full
    /// tile's arithmetic: the same bits on random (not integer) values, for
    /// every valid size of the edge — on the emulated lanes, and on the
    /// CPU's own kernels where it has them.
    #[test]
    fn edge_tiles_equal_the_full_tile_to_the_bit() {
        fn check<K: MicroKernel<f32>>(k: K, name: &str) {
            let mut rng = Rng::new(9);
            let kc = 37;
            let a: Vec<f32> = (0..K::MR * kc).map(|_| rng.uniform() as f32 - 0.5).collect();
            let b: Vec<f32> = (0..K::NR * kc).map(|_| rng.uniform() as f32 - 0.5).collect();
            let mut full = vec![0.0f32; K::MR * K::NR];
            k.micro_kernel(kc, 1.0, &a, &b, 0.0, &mut full, K::NR);
            for rows in 1..=K::MR {
                for cols in 1..=K::NR {
                    let mut edge = vec![f32::NAN; K::MR * K::NR];
                    k.edge_kernel(rows, cols, kc, &a, &b, &mut edge);
                    for i in 0..rows {
                        let (e, f) = (&edge[i * K::NR..i * K::NR + cols], &full[i * K::NR..i * K::NR + cols]);
                        assert!(
                            e.iter().zip(f).all(|(x, y)| x.to_bits() == y.to_bits()),
                            "{name}: edge {rows}×{cols}, row {i} differs"
                        );
                    }
                }
            }
        }
        check(Avx512Shape, "emulated 12×32");
        if let Some(k) = Avx512::detect() {
            check(k, "avx512");
        }
        if let Some(k) = Avx2Fma::detect() {
            check(k, "avx2");
        }
    }
}
