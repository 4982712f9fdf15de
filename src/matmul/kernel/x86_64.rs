//! x86-64 SIMD micro-kernels: AVX2 + FMA (6 × 16) and AVX-512F (12 × 32), f32.
//!
//! Each kernel is a `#[target_feature]` function, compiled for its
//! instruction set whatever the crate's target, and reachable only through a
//! token type whose sole constructor checks the CPU (`detect`). Intrinsics on
//! values are safe inside such functions; the only `unsafe` left is the call
//! into them and the unaligned loads and stores through raw pointers.
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
}

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

// ---------------------------------------------------------------- AVX2 + FMA

/// One row of the tile: `acc += Ã(i,p) · B̃(p, 0..16)`.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn fma_row_avx2(acc: &mut [__m256; 2], a: f32, b0: __m256, b1: __m256) {
    let a = _mm256_set1_ps(a);
    acc[0] = _mm256_fmadd_ps(a, b0, acc[0]);
    acc[1] = _mm256_fmadd_ps(a, b1, acc[1]);
}

/// `c[0..16] := α·acc + β·c[0..16]`, not reading c when `β = 0`.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn store_row_avx2(c: &mut [f32], acc: [__m256; 2], alpha: f32, beta: f32) {
    let c = &mut c[..16];
    let p = c.as_mut_ptr();
    let av = _mm256_set1_ps(alpha);
    // SAFETY: `c` was just sliced to 16 elements: the two 8-lane unaligned
    // loads and stores cover p[0..8] and p[8..16] exactly.
    unsafe {
        if beta == 0.0 {
            _mm256_storeu_ps(p, _mm256_mul_ps(av, acc[0]));
            _mm256_storeu_ps(p.add(8), _mm256_mul_ps(av, acc[1]));
        } else {
            let bv = _mm256_set1_ps(beta);
            _mm256_storeu_ps(p, _mm256_fmadd_ps(bv, _mm256_loadu_ps(p), _mm256_mul_ps(av, acc[0])));
            _mm256_storeu_ps(
                p.add(8),
                _mm256_fmadd_ps(bv, _mm256_loadu_ps(p.add(8)), _mm256_mul_ps(av, acc[1])),
            );
        }
    }
}

/// The AVX2 + FMA 6 × 16 f32 micro-kernel (see the module docs).
#[target_feature(enable = "avx2,fma")]
fn avx2_6x16(kc: usize, alpha: f32, a: &[f32], b: &[f32], beta: f32, c: &mut [f32], ldc: usize) {
    assert!(
        a.len() >= 6 * kc && b.len() >= 16 * kc,
        "avx2 kernel: short panels for kc = {kc}"
    );
    assert!(
        c.len() >= 5 * ldc + 16,
        "avx2 kernel: C holds {} < {} elements",
        c.len(),
        5 * ldc + 16
    );
    prefetch_tile(c, ldc, 6, 16);
    let mut acc = [[_mm256_setzero_ps(); 2]; 6];
    // Four steps of p per trip: fewer loop branches between the FMAs.
    let (a4, b4) = (a[..6 * kc].chunks_exact(24), b[..16 * kc].chunks_exact(64));
    let (a_rest, b_rest) = (a4.remainder(), b4.remainder());
    for (ap, bp) in a4.zip(b4) {
        k_step_avx2(&mut acc, &ap[0..6], &bp[0..16]);
        k_step_avx2(&mut acc, &ap[6..12], &bp[16..32]);
        k_step_avx2(&mut acc, &ap[12..18], &bp[32..48]);
        k_step_avx2(&mut acc, &ap[18..24], &bp[48..64]);
    }
    for (ap, bp) in a_rest.chunks_exact(6).zip(b_rest.chunks_exact(16)) {
        k_step_avx2(&mut acc, ap, bp);
    }
    for (i, row) in acc.into_iter().enumerate() {
        store_row_avx2(&mut c[i * ldc..], row, alpha, beta);
    }
}

/// One step p: load the B̃ row (16 lanes), then for each of the 6 rows
/// broadcast Ã(i, p) and add it times the B̃ row into the accumulators.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn k_step_avx2(acc: &mut [[__m256; 2]; 6], ap: &[f32], bp: &[f32]) {
    let (ap, bp) = (&ap[..6], &bp[..16]);
    // SAFETY: `bp` was just sliced to 16 f32: the loads read bp[0..8] and
    // bp[8..16].
    let (b0, b1) = unsafe { (_mm256_loadu_ps(bp.as_ptr()), _mm256_loadu_ps(bp.as_ptr().add(8))) };
    fma_row_avx2(&mut acc[0], ap[0], b0, b1);
    fma_row_avx2(&mut acc[1], ap[1], b0, b1);
    fma_row_avx2(&mut acc[2], ap[2], b0, b1);
    fma_row_avx2(&mut acc[3], ap[3], b0, b1);
    fma_row_avx2(&mut acc[4], ap[4], b0, b1);
    fma_row_avx2(&mut acc[5], ap[5], b0, b1);
}

// ------------------------------------------------------------------- AVX-512

/// One row of the tile: `acc += Ã(i,p) · B̃(p, 0..32)`.
#[target_feature(enable = "avx512f")]
#[inline]
fn fma_row_avx512(acc: &mut [__m512; 2], a: f32, b0: __m512, b1: __m512) {
    let a = _mm512_set1_ps(a);
    acc[0] = _mm512_fmadd_ps(a, b0, acc[0]);
    acc[1] = _mm512_fmadd_ps(a, b1, acc[1]);
}

/// `c[0..32] := α·acc + β·c[0..32]`, not reading c when `β = 0`.
#[target_feature(enable = "avx512f")]
#[inline]
fn store_row_avx512(c: &mut [f32], acc: [__m512; 2], alpha: f32, beta: f32) {
    let c = &mut c[..32];
    let p = c.as_mut_ptr();
    let av = _mm512_set1_ps(alpha);
    // SAFETY: `c` was just sliced to 32 elements: the two 16-lane unaligned
    // loads and stores cover p[0..16] and p[16..32] exactly.
    unsafe {
        if beta == 0.0 {
            _mm512_storeu_ps(p, _mm512_mul_ps(av, acc[0]));
            _mm512_storeu_ps(p.add(16), _mm512_mul_ps(av, acc[1]));
        } else {
            let bv = _mm512_set1_ps(beta);
            _mm512_storeu_ps(p, _mm512_fmadd_ps(bv, _mm512_loadu_ps(p), _mm512_mul_ps(av, acc[0])));
            _mm512_storeu_ps(
                p.add(16),
                _mm512_fmadd_ps(bv, _mm512_loadu_ps(p.add(16)), _mm512_mul_ps(av, acc[1])),
            );
        }
    }
}

/// The AVX-512F 12 × 32 f32 micro-kernel (see the module docs).
#[target_feature(enable = "avx512f")]
fn avx512_12x32(kc: usize, alpha: f32, a: &[f32], b: &[f32], beta: f32, c: &mut [f32], ldc: usize) {
    assert!(
        a.len() >= 12 * kc && b.len() >= 32 * kc,
        "avx512 kernel: short panels for kc = {kc}"
    );
    assert!(
        c.len() >= 11 * ldc + 32,
        "avx512 kernel: C holds {} < {} elements",
        c.len(),
        11 * ldc + 32
    );
    prefetch_tile(c, ldc, 12, 32);
    let mut acc = [[_mm512_setzero_ps(); 2]; 12];
    // Four steps of p per trip, as in the AVX2 kernel.
    let (a4, b4) = (a[..12 * kc].chunks_exact(48), b[..32 * kc].chunks_exact(128));
    let (a_rest, b_rest) = (a4.remainder(), b4.remainder());
    for (ap, bp) in a4.zip(b4) {
        k_step_avx512(&mut acc, &ap[0..12], &bp[0..32]);
        k_step_avx512(&mut acc, &ap[12..24], &bp[32..64]);
        k_step_avx512(&mut acc, &ap[24..36], &bp[64..96]);
        k_step_avx512(&mut acc, &ap[36..48], &bp[96..128]);
    }
    for (ap, bp) in a_rest.chunks_exact(12).zip(b_rest.chunks_exact(32)) {
        k_step_avx512(&mut acc, ap, bp);
    }
    for (i, row) in acc.into_iter().enumerate() {
        store_row_avx512(&mut c[i * ldc..], row, alpha, beta);
    }
}

/// One step p: load the B̃ row (32 lanes), then for each of the 12 rows
/// broadcast Ã(i, p) and add it times the B̃ row into the accumulators.
#[target_feature(enable = "avx512f")]
#[inline]
fn k_step_avx512(acc: &mut [[__m512; 2]; 12], ap: &[f32], bp: &[f32]) {
    let (ap, bp) = (&ap[..12], &bp[..32]);
    // SAFETY: `bp` was just sliced to 32 f32: the loads read bp[0..16] and
    // bp[16..32].
    let (b0, b1) = unsafe { (_mm512_loadu_ps(bp.as_ptr()), _mm512_loadu_ps(bp.as_ptr().add(16))) };
    for (row, &a) in acc.iter_mut().zip(ap) {
        fma_row_avx512(row, a, b0, b1);
    }
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
