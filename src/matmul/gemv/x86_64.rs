//! x86-64 SIMD dot products for the few-rows products ([`super`]): one
//! output per column of B, four columns at a time, AVX-512F or AVX2 + FMA;
//! and the same products over bf16 weights ([`super::bf16`]): in rows on
//! AVX2, in panels on AVX-512; and over f16 weights in rows ([`super::f16`],
//! AVX2 + F16C on every x86 CPU that has it).
//!
//! A one-token step multiplies h by W_h, W_y (and W_x) stored row-major, so
//! each output is a dot product of h with one contiguous weight row. These
//! loops stream the rows once, with four independent accumulators (one per
//! column) so that the loads, not the FMA latency, set the pace.
//!
//! As in the micro-kernels, each entry is a `#[target_feature]` function
//! reached only after the CPU has been checked; every load reads through a
//! bounds-checked slice (a full vector) or a masked load of its valid lanes.
//!
//! The bf16 rows loop widens each lane with a shift and an `and`, and keeps
//! the mask of the `and` opaque to the compiler: LLVM otherwise rewrites an
//! `and` with a constant as a blend, which runs on fewer of Zen 3's vector
//! pipes (the loop went from 37% to 51% of the FMA peak with L2-resident
//! weights once the blend, a spill and the per-vector bounds checks were
//! gone; `docs/matmul.md`).
#![allow(unsafe_code)]
#![deny(clippy::undocumented_unsafe_blocks)]

use std::arch::x86_64::*;

use crate::bf16::x_pair;
use crate::matmul::Kernel;

/// Whether [`dots`] runs for `kernel` on this CPU: AVX2 + FMA or AVX-512F.
pub fn has(kernel: Kernel) -> bool {
    match kernel {
        Kernel::Avx512 => is_x86_feature_detected!("avx512f"),
        Kernel::Avx2 => is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma"),
        _ => false,
    }
}

/// `out[j] = Σ_p x[p]·b[j·cs + p]` for `j < out.len()`, on `kernel`'s
/// instruction set.
///
/// # Panics
/// If `!has(kernel)`, or a column `b[j·cs .. j·cs + x.len()]` is out of
/// bounds.
pub fn dots(kernel: Kernel, x: &[f32], b: &[f32], cs: usize, out: &mut [f32]) {
    let k = x.len();
    if let Some(last) = out.len().checked_sub(1) {
        assert!(last * cs + k <= b.len(), "dots: B too short for {} columns", out.len());
    }
    assert!(has(kernel), "dots: no {kernel} on this CPU");
    if kernel == Kernel::Avx512 {
        // SAFETY: `has` checked AVX-512F.
        unsafe { dots_avx512(x, b, cs, out) }
    } else {
        // SAFETY: `has` checked AVX2 and FMA.
        unsafe { dots_avx2(x, b, cs, out) }
    }
}

/// Lanes `[p, p + 16)` of `s`, the lanes past its end zero (a masked load:
/// for the last, partial vector of a row).
///
/// # Safety
/// AVX-512F must be enabled in the caller.
#[inline(always)]
unsafe fn load16_tail(s: &[f32], p: usize) -> __m512 {
    let valid = (s.len() - p).min(16);
    let mask: __mmask16 = if valid == 16 { 0xFFFF } else { (1u16 << valid) - 1 };
    // SAFETY: AVX-512F is enabled (caller); the masked load touches only the
    // `valid` lanes from `p`, all inside `s`, and masked-off lanes do not
    // fault.
    unsafe { _mm512_maskz_loadu_ps(mask, s[p..].as_ptr()) }
}

/// Sixteen lanes of `s` from `p` (a full vector; the caller keeps
/// `p + 16 ≤ len`).
///
/// # Safety
/// AVX-512F must be enabled in the caller.
#[inline(always)]
unsafe fn load16(s: &[f32], p: usize) -> __m512 {
    let v = &s[p..p + 16];
    // SAFETY: AVX-512F is enabled (caller); `v` is exactly the 16 lanes read.
    unsafe { _mm512_loadu_ps(v.as_ptr()) }
}

#[target_feature(enable = "avx512f")]
fn dots_avx512(x: &[f32], b: &[f32], cs: usize, out: &mut [f32]) {
    let k = x.len();
    let body = k - k % 16;
    let col = |j: usize| &b[j * cs..j * cs + k];
    let mut j = 0;
    while j + 4 <= out.len() {
        let (c0, c1, c2, c3) = (col(j), col(j + 1), col(j + 2), col(j + 3));
        // SAFETY: AVX-512F is enabled in this function; full loads stay
        // below `body ≤ k`, the tail goes through the masked `load16_tail`.
        unsafe {
            let (mut a0, mut a1, mut a2, mut a3) = (
                _mm512_setzero_ps(),
                _mm512_setzero_ps(),
                _mm512_setzero_ps(),
                _mm512_setzero_ps(),
            );
            for p in (0..body).step_by(16) {
                let xv = load16(x, p);
                a0 = _mm512_fmadd_ps(xv, load16(c0, p), a0);
                a1 = _mm512_fmadd_ps(xv, load16(c1, p), a1);
                a2 = _mm512_fmadd_ps(xv, load16(c2, p), a2);
                a3 = _mm512_fmadd_ps(xv, load16(c3, p), a3);
            }
            if body < k {
                let xv = load16_tail(x, body);
                a0 = _mm512_fmadd_ps(xv, load16_tail(c0, body), a0);
                a1 = _mm512_fmadd_ps(xv, load16_tail(c1, body), a1);
                a2 = _mm512_fmadd_ps(xv, load16_tail(c2, body), a2);
                a3 = _mm512_fmadd_ps(xv, load16_tail(c3, body), a3);
            }
            out[j] = _mm512_reduce_add_ps(a0);
            out[j + 1] = _mm512_reduce_add_ps(a1);
            out[j + 2] = _mm512_reduce_add_ps(a2);
            out[j + 3] = _mm512_reduce_add_ps(a3);
        }
        j += 4;
    }
    for (jj, o) in out.iter_mut().enumerate().skip(j) {
        let c = col(jj);
        // SAFETY: as above.
        unsafe {
            let mut a = _mm512_setzero_ps();
            for p in (0..body).step_by(16) {
                a = _mm512_fmadd_ps(load16(x, p), load16(c, p), a);
            }
            if body < k {
                a = _mm512_fmadd_ps(load16_tail(x, body), load16_tail(c, body), a);
            }
            *o = _mm512_reduce_add_ps(a);
        }
    }
}

/// Eight lanes of `s` from `p` (a full vector; the caller keeps `p + 8 ≤ len`).
///
/// # Safety
/// AVX must be enabled in the caller.
#[inline(always)]
unsafe fn load8(s: &[f32], p: usize) -> __m256 {
    let v = &s[p..p + 8];
    // SAFETY: AVX is enabled (caller); `v` is exactly the 8 lanes read.
    unsafe { _mm256_loadu_ps(v.as_ptr()) }
}

/// Sum of the eight lanes.
///
/// # Safety
/// AVX must be enabled in the caller.
#[inline(always)]
unsafe fn sum8(v: __m256) -> f32 {
    // SAFETY: AVX is enabled (caller); register operations only.
    unsafe {
        let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_add_ss(s, _mm_shuffle_ps::<1>(s, s));
        _mm_cvtss_f32(s)
    }
}

#[target_feature(enable = "avx2,fma")]
fn dots_avx2(x: &[f32], b: &[f32], cs: usize, out: &mut [f32]) {
    let k = x.len();
    let body = k - k % 8;
    let col = |j: usize| &b[j * cs..j * cs + k];
    let tail = |c: &[f32]| x[body..].iter().zip(&c[body..]).map(|(a, b)| a * b).sum::<f32>();
    let mut j = 0;
    while j + 4 <= out.len() {
        let (c0, c1, c2, c3) = (col(j), col(j + 1), col(j + 2), col(j + 3));
        // SAFETY: AVX2 and FMA are enabled in this function; loads go through
        // `load8` within `body ≤ k`.
        unsafe {
            let (mut a0, mut a1, mut a2, mut a3) = (
                _mm256_setzero_ps(),
                _mm256_setzero_ps(),
                _mm256_setzero_ps(),
                _mm256_setzero_ps(),
            );
            for p in (0..body).step_by(8) {
                let xv = load8(x, p);
                a0 = _mm256_fmadd_ps(xv, load8(c0, p), a0);
                a1 = _mm256_fmadd_ps(xv, load8(c1, p), a1);
                a2 = _mm256_fmadd_ps(xv, load8(c2, p), a2);
                a3 = _mm256_fmadd_ps(xv, load8(c3, p), a3);
            }
            out[j] = sum8(a0) + tail(c0);
            out[j + 1] = sum8(a1) + tail(c1);
            out[j + 2] = sum8(a2) + tail(c2);
            out[j + 3] = sum8(a3) + tail(c3);
        }
        j += 4;
    }
    for (jj, o) in out.iter_mut().enumerate().skip(j) {
        let c = col(jj);
        // SAFETY: as above.
        unsafe {
            let mut a = _mm256_setzero_ps();
            for p in (0..body).step_by(8) {
                a = _mm256_fmadd_ps(load8(x, p), load8(c, p), a);
            }
            *o = sum8(a) + tail(c);
        }
    }
}

/// `out[j] = Σ_p W[j, p]·x[p]` over one panel of bf16 pairs
/// ([`super::bf16`]: row q of the panel holds one lane per output column,
/// W[j, 2q] in its low half and W[j, 2q + 1] in its high half), on
/// `kernel`'s instruction set.
///
/// # Panics
/// If `!has(kernel)`, `out.len()` is not a multiple of 16 up to 128, or the
/// panel is not `⌈x.len() / 2⌉` rows of `out.len()` lanes.
pub fn bf16_panel(kernel: Kernel, x: &[f32], panel: &[u32], out: &mut [f32]) {
    let width = out.len();
    assert!(
        width.is_multiple_of(16) && (16..=128).contains(&width),
        "bf16 panel: width {width}"
    );
    assert_eq!(panel.len(), x.len().div_ceil(2) * width, "bf16 panel: lanes");
    assert!(has(kernel), "bf16 panel: no {kernel} on this CPU");
    if kernel == Kernel::Avx512 {
        macro_rules! vectors {
            ($($nv:literal)*) => {
                match width / 16 {
                    // SAFETY: `has` checked AVX-512F; the widths match.
                    $($nv => unsafe { bf16_panel_avx512::<$nv>(x, panel, out) },)*
                    _ => unreachable!(),
                }
            };
        }
        vectors!(1 2 3 4 5 6 7 8)
    } else {
        // Two passes of at most eight 8-lane accumulators (AVX2 has 16
        // registers), each over its half of every panel row.
        for j0 in (0..width).step_by(64) {
            let cols = 64.min(width - j0);
            macro_rules! vectors {
                ($($nv:literal)*) => {
                    match cols / 8 {
                        // SAFETY: `has` checked AVX2 and FMA; the widths match.
                        $($nv => unsafe { bf16_panel_avx2::<$nv>(x, panel, width, j0, &mut out[j0..j0 + cols]) },)*
                        _ => unreachable!(),
                    }
                };
            }
            vectors!(2 4 6 8)
        }
    }
}

/// NV 16-lane accumulators across a panel of 16·NV lanes a row.
///
/// # Safety
/// AVX-512F must be available; `out.len() == 16 * NV` and the panel's rows
/// have that many lanes (checked by slicing).
#[target_feature(enable = "avx512f")]
unsafe fn bf16_panel_avx512<const NV: usize>(x: &[f32], panel: &[u32], out: &mut [f32]) {
    let width = 16 * NV;
    // SAFETY: AVX-512F is enabled in this function; every load and store
    // goes through a slice of exactly the 16 lanes it touches.
    unsafe {
        let high = _mm512_set1_epi32(0xFFFF_0000u32 as i32);
        let mut acc = [_mm512_setzero_ps(); NV];
        for (q, row) in panel.chunks_exact(width).enumerate() {
            let (x0, x1) = x_pair(x, q);
            let (x0, x1) = (_mm512_set1_ps(x0), _mm512_set1_ps(x1));
            for (v, a) in acc.iter_mut().enumerate() {
                let lanes = &row[16 * v..16 * v + 16];
                let w = _mm512_loadu_si512(lanes.as_ptr().cast());
                let lo = _mm512_castsi512_ps(_mm512_slli_epi32::<16>(w));
                let hi = _mm512_castsi512_ps(_mm512_and_si512(w, high));
                *a = _mm512_fmadd_ps(x0, lo, *a);
                *a = _mm512_fmadd_ps(x1, hi, *a);
            }
        }
        for (v, a) in acc.iter().enumerate() {
            let o = &mut out[16 * v..16 * v + 16];
            _mm512_storeu_ps(o.as_mut_ptr(), *a);
        }
    }
}

/// NV 8-lane accumulators across columns `[j0, j0 + 8·NV)` of a panel of
/// `width` lanes a row.
///
/// # Safety
/// AVX2 and FMA must be available; `out.len() == 8 * NV` and
/// `j0 + 8·NV ≤ width` (checked by slicing).
#[target_feature(enable = "avx2,fma")]
unsafe fn bf16_panel_avx2<const NV: usize>(x: &[f32], panel: &[u32], width: usize, j0: usize, out: &mut [f32]) {
    // SAFETY: AVX2 and FMA are enabled in this function; every load and
    // store goes through a slice of exactly the 8 lanes it touches.
    unsafe {
        let high = _mm256_set1_epi32(0xFFFF_0000u32 as i32);
        let mut acc = [_mm256_setzero_ps(); NV];
        for (q, row) in panel.chunks_exact(width).enumerate() {
            let (x0, x1) = x_pair(x, q);
            let (x0, x1) = (_mm256_set1_ps(x0), _mm256_set1_ps(x1));
            for (v, a) in acc.iter_mut().enumerate() {
                let lanes = &row[j0 + 8 * v..j0 + 8 * v + 8];
                let w = _mm256_loadu_si256(lanes.as_ptr().cast());
                let lo = _mm256_castsi256_ps(_mm256_slli_epi32::<16>(w));
                let hi = _mm256_castsi256_ps(_mm256_and_si256(w, high));
                *a = _mm256_fmadd_ps(x0, lo, *a);
                *a = _mm256_fmadd_ps(x1, hi, *a);
            }
        }
        for (v, a) in acc.iter().enumerate() {
            let o = &mut out[8 * v..8 * v + 8];
            _mm256_storeu_ps(o.as_mut_ptr(), *a);
        }
    }
}

/// `out[j] = Σ_p W[j, p]·x[p]` for `j < out.len()`, W in bf16 rows
/// ([`super::bf16`]: row j is vectors of 8 lanes, lane i of vector v
/// holding W[j, 16v + i] in its low half and W[j, 16v + 8 + i] in its high
/// half), on AVX2 + FMA.
///
/// # Panics
/// If `!has(Kernel::Avx2)`, or `rows` is not `out.len()` rows of
/// `8·⌈x.len() / 16⌉` lanes.
pub fn bf16_rows(x: &[f32], rows: &[u32], out: &mut [f32]) {
    let vectors = x.len().div_ceil(16);
    assert_eq!(rows.len(), out.len() * 8 * vectors, "bf16 rows: lanes");
    assert!(has(Kernel::Avx2), "bf16 rows: no AVX2 on this CPU");
    // SAFETY: `has` checked AVX2 and FMA.
    unsafe { bf16_rows_avx2(x, rows, out) }
}

#[target_feature(enable = "avx2,fma")]
fn bf16_rows_avx2(x: &[f32], rows: &[u32], out: &mut [f32]) {
    // Kept opaque to the compiler, so that the mask stays an `and` (LLVM
    // turns an `and` with a constant into a blend, which has fewer pipes).
    let high = std::hint::black_box(_mm256_castsi256_ps(_mm256_set1_epi32(0xFFFF_0000u32 as i32)));
    // SAFETY: AVX2 and FMA are enabled in this function (and in the
    // closure, which inherits them), all `rows_by_four` and `vector4` use.
    unsafe { rows_by_four(x, rows, 8, out, |xs, w, acc| vector4(xs, w, high, acc)) }
}

/// The loops around a four-row kernel, shared by the bf16 and f16 rows:
/// `vector(xs, [w_0..w_3], acc)` adds 16 inputs `xs` times one piece of
/// each of four rows (`per16` lanes of W per 16 inputs) into `acc[0][i]`
/// (the first 8 inputs) and `acc[1][i]` (the second 8). Rows are taken four
/// at a time, the last vector of inputs zero-padded (the rows hold zeros
/// there), and the rows left over one at a time in all four slots; each
/// output is the sum of its two accumulators' lanes.
///
/// # Safety
/// AVX must be enabled in the caller, and whatever `vector` uses.
///
/// # Panics
/// If `rows` is not `out.len()` rows of `per16·⌈x.len() / 16⌉` lanes.
#[inline(always)]
unsafe fn rows_by_four<W>(
    x: &[f32],
    rows: &[W],
    per16: usize,
    out: &mut [f32],
    vector: impl Fn(&[f32], [&[W]; 4], &mut [[__m256; 4]; 2]),
) {
    let len = per16 * x.len().div_ceil(16);
    // The last vector's 16 inputs, zeros past k.
    let mut last = [0.0f32; 16];
    let body = x.len() - x.len() % 16;
    last[..x.len() - body].copy_from_slice(&x[body..]);
    // SAFETY: AVX is enabled (caller): register operations only.
    let zero = || unsafe { [[_mm256_setzero_ps(); 4]; 2] };
    let mut groups = rows.chunks_exact(4 * len);
    for (g, r) in groups.by_ref().enumerate() {
        let (r0, r) = r.split_at(len);
        let (r1, r) = r.split_at(len);
        let (r2, r3) = r.split_at(len);
        let mut acc = zero();
        let lanes = r0
            .chunks_exact(per16)
            .zip(r1.chunks_exact(per16))
            .zip(r2.chunks_exact(per16))
            .zip(r3.chunks_exact(per16));
        for (xs, (((w0, w1), w2), w3)) in x.chunks_exact(16).zip(lanes) {
            vector(xs, [w0, w1, w2, w3], &mut acc);
        }
        if body < x.len() {
            let at = len - per16..len;
            vector(
                &last,
                [&r0[at.clone()], &r1[at.clone()], &r2[at.clone()], &r3[at]],
                &mut acc,
            );
        }
        for i in 0..4 {
            // SAFETY: AVX is enabled (caller).
            out[4 * g + i] = unsafe { sum8(_mm256_add_ps(acc[0][i], acc[1][i])) };
        }
    }
    // The last rows, fewer than four: one at a time (in all four slots).
    let done = out.len() - groups.remainder().len() / len;
    for (r, o) in groups.remainder().chunks_exact(len).zip(&mut out[done..]) {
        let mut acc = zero();
        // x's full vectors, then the partial one (the zip ends with the
        // row's vectors, so `last` is read only when k is not a multiple of 16).
        for (xs, w) in x.chunks_exact(16).chain([&last[..]]).zip(r.chunks_exact(per16)) {
            vector(xs, [w; 4], &mut acc);
        }
        // SAFETY: AVX is enabled (caller).
        *o = unsafe { sum8(_mm256_add_ps(acc[0][0], acc[1][0])) };
    }
}

/// Whether [`f16_rows`] runs on this CPU: AVX2 + FMA and F16C.
pub fn has_f16c() -> bool {
    has(Kernel::Avx2) && is_x86_feature_detected!("f16c")
}

/// `out[j] = Σ_p W[j, p]·x[p]` for `j < out.len()`, W in f16 rows
/// ([`super::f16`]: row j is W[j, 0..k] padded with zeros to a multiple of
/// 16), on AVX2 + FMA with F16C's `vcvtph2ps` widening 8 halves a load.
/// The sums are those of [`bf16_rows`]: per output, eight partial sums over
/// the first 8 inputs of each 16 and eight over the second 8.
///
/// # Panics
/// If `!has_f16c()`, or `rows` is not `out.len()` rows of
/// `16·⌈x.len() / 16⌉` halves.
pub fn f16_rows(x: &[f32], rows: &[u16], out: &mut [f32]) {
    let len = 16 * x.len().div_ceil(16);
    assert_eq!(rows.len(), out.len() * len, "f16 rows: halves");
    assert!(has_f16c(), "f16 rows: no AVX2 + F16C on this CPU");
    // SAFETY: `has_f16c` checked AVX2, FMA and F16C.
    unsafe { f16_rows_avx2(x, rows, out) }
}

#[target_feature(enable = "avx2,fma,f16c")]
fn f16_rows_avx2(x: &[f32], rows: &[u16], out: &mut [f32]) {
    // SAFETY: AVX2, FMA and F16C are enabled in this function (and in the
    // closure, which inherits them), all `rows_by_four` and `f16_vector4` use.
    unsafe { rows_by_four(x, rows, 16, out, |xs, w, acc| f16_vector4(xs, w, acc)) }
}

/// 16 inputs of four rows: `acc[0][i] += w_i[0..8]·xs[0..8]`,
/// `acc[1][i] += w_i[8..16]·xs[8..16]`, the halves widened by `vcvtph2ps`.
///
/// # Safety
/// AVX2, FMA and F16C must be enabled in the caller.
///
/// # Panics
/// If `xs` or a `w` has fewer than 16 entries.
#[inline(always)]
unsafe fn f16_vector4(xs: &[f32], w: [&[u16]; 4], acc: &mut [[__m256; 4]; 2]) {
    let xs = &xs[..16];
    // SAFETY: AVX2, FMA and F16C are enabled (caller); the loads read
    // `xs[0..16]` and `w[i][0..16]`, bounds-checked above and below.
    unsafe {
        let xl = _mm256_loadu_ps(xs.as_ptr());
        let xh = _mm256_loadu_ps(xs[8..].as_ptr());
        for i in 0..4 {
            let w = &w[i][..16];
            let lo = _mm256_cvtph_ps(_mm_loadu_si128(w.as_ptr().cast()));
            let hi = _mm256_cvtph_ps(_mm_loadu_si128(w[8..].as_ptr().cast()));
            acc[0][i] = _mm256_fmadd_ps(xl, lo, acc[0][i]);
            acc[1][i] = _mm256_fmadd_ps(xh, hi, acc[1][i]);
        }
    }
}

/// One vector of four rows: `acc[0][i] += lo(w_i)·xs[0..8]`,
/// `acc[1][i] += hi(w_i)·xs[8..16]`, lo and hi the bf16 halves of the
/// lanes widened to f32 (a shift and a mask).
///
/// # Safety
/// AVX2 and FMA must be enabled in the caller.
///
/// # Panics
/// If `xs` has fewer than 16 entries or a `w` fewer than 8.
#[inline(always)]
unsafe fn vector4(xs: &[f32], w: [&[u32]; 4], high: __m256, acc: &mut [[__m256; 4]; 2]) {
    let xs = &xs[..16];
    // SAFETY: AVX2 and FMA are enabled (caller); the loads read `xs[0..16]`
    // and `w[i][0..8]`, bounds-checked above and below.
    unsafe {
        let xl = _mm256_loadu_ps(xs.as_ptr());
        let xh = _mm256_loadu_ps(xs[8..].as_ptr());
        for i in 0..4 {
            let lanes = _mm256_loadu_si256(w[i][..8].as_ptr().cast());
            let lo = _mm256_castsi256_ps(_mm256_slli_epi32::<16>(lanes));
            let hi = _mm256_and_ps(_mm256_castsi256_ps(lanes), high);
            acc[0][i] = _mm256_fmadd_ps(xl, lo, acc[0][i]);
            acc[1][i] = _mm256_fmadd_ps(xh, hi, acc[1][i]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    /// Every SIMD kernel this CPU has gives the f64 dot products to f32
    /// rounding, for lengths around the vector widths and column counts
    /// around the four-column step.
    #[test]
    fn simd_dots_match_f64_dot_products() {
        let mut rng = Rng::new(3);
        for kernel in [Kernel::Avx2, Kernel::Avx512] {
            for k in [1, 7, 8, 9, 15, 16, 17, 33, 512] {
                for n in [1, 3, 4, 5, 9] {
                    let cs = k + 3;
                    let x: Vec<f32> = (0..k).map(|_| rng.uniform() as f32 - 0.5).collect();
                    let b: Vec<f32> = (0..(n - 1) * cs + k).map(|_| rng.uniform() as f32 - 0.5).collect();
                    let mut out = vec![f32::NAN; n];
                    if !has(kernel) {
                        continue; // this CPU lacks the kernel
                    }
                    dots(kernel, &x, &b, cs, &mut out);
                    for (j, &o) in out.iter().enumerate() {
                        let want: f64 = (0..k).map(|p| x[p] as f64 * b[j * cs + p] as f64).sum();
                        let bound: f64 = (0..k).map(|p| (x[p] as f64 * b[j * cs + p] as f64).abs()).sum::<f64>() * 1e-6;
                        assert!(
                            (o as f64 - want).abs() <= bound + 1e-12,
                            "{kernel}: k {k} col {j}: {o} vs {want}"
                        );
                    }
                }
            }
        }
        assert!(!has(Kernel::Portable));
    }
}
