//! Branch-free `exp` and `tanh` for f32 slices: the softmax and the hidden
//! layer apply them to every entry of `[N, V]` and `[N, H]`, and the libm
//! calls cannot be vectorized. These can: no calls, no branches, only
//! multiply, add, divide and bit moves (Cephes' `expf`/`tanhf` polynomials).
//!
//! Accuracy: within a few ulp of the correctly rounded result (tested below
//! against f64). f64 keeps libm: the gradient check needs every digit. A NaN
//! in gives a NaN out, as libm's does.
//!
//! The slice maps [`exp_in_place`] and [`tanh_in_place`] run the same plain
//! Rust compiled again for AVX2 and for AVX-512 where the CPU has them
//! ([`x86_64`]): eight or sixteen lanes instead of four, bit-identical
//! results.

#[cfg(target_arch = "x86_64")]
pub mod x86_64;

/// `v[i] = e^v[i]` with [`exp_f32`], eight lanes wide where the CPU has AVX2,
/// sixteen with AVX-512.
pub fn exp_in_place(v: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if let Some(k) = x86_64::VectorIsa::detect() {
        return k.exp_in_place(v);
    }
    v.iter_mut().for_each(|x| *x = exp_f32(*x));
}

/// `v[i] = tanh v[i]` with [`tanh_f32`], eight lanes wide where the CPU has
/// AVX2, sixteen with AVX-512.
pub fn tanh_in_place(v: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if let Some(k) = x86_64::VectorIsa::detect() {
        return k.tanh_in_place(v);
    }
    v.iter_mut().for_each(|x| *x = tanh_f32(*x));
}

/// e^x for f32: range reduction x = n·ln2 + r (|r| ≤ ln2/2), a degree-7
/// polynomial for e^r, and 2^n built in the exponent bits.
#[allow(clippy::excessive_precision)] // Cephes' constants, as published
#[inline(always)]
pub fn exp_f32(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    const ROUND: f32 = 12_582_912.0; // 1.5·2^23: adding it rounds to an integer
    let x = x.clamp(-87.0, 88.0);
    let t = x * LOG2E + ROUND;
    let n = t - ROUND; // round(x·log2 e)
    let r = x - n * LN2_HI - n * LN2_LO;
    let p = ((((1.987_569_2e-4 * r + 1.398_199_9e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2) * r + 1.666_666_5e-1)
        * r
        + 5.000_000_1e-1;
    let y = p * r * r + r + 1.0;
    // n is in the low bits of t's mantissa; shift it into the exponent.
    let bits = (t.to_bits() as i32).wrapping_sub(0x4B40_0000);
    y * f32::from_bits(((bits + 127) << 23) as u32)
}

/// tanh for f32: an odd polynomial for |x| < 0.625, `1 − 2/(e^{2|x|} + 1)`
/// beyond, both computed and one selected (no branch).
#[allow(clippy::excessive_precision)] // Cephes' constants, as published
#[inline(always)]
pub fn tanh_f32(x: f32) -> f32 {
    // tanh(10) rounds to 1 in f32. A comparison, not `f32::min`, which
    // would turn a NaN into 10 and so tanh(NaN) into ±1.
    let a = x.abs();
    let a = if a > 10.0 { 10.0 } else { a };
    let z = x * x;
    let small = ((((-5.704_988_7e-3 * z + 2.063_908_9e-2) * z - 5.373_971_6e-2) * z + 1.333_144_2e-1) * z
        - 3.333_328_2e-1)
        * z
        * x
        + x;
    let large = (1.0 - 2.0 / (exp_f32(2.0 * a) + 1.0)).copysign(x);
    if a < 0.625 {
        small
    } else {
        large
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Error in units of the last place of the f32 result.
    fn ulps(got: f32, want: f64) -> f64 {
        let w = want as f32;
        let ulp = (f32::from_bits(w.abs().to_bits() + 1) - w.abs()) as f64;
        (got as f64 - want).abs() / ulp
    }

    #[test]
    fn exp_is_within_a_few_ulp() {
        let mut worst: f64 = 0.0;
        let mut x = -80.0f32;
        while x < 80.0 {
            worst = worst.max(ulps(exp_f32(x), (x as f64).exp()));
            x += 0.0137;
        }
        assert!(worst <= 3.0, "exp worst error {worst} ulp");
        assert_eq!(exp_f32(0.0), 1.0);
        assert!(exp_f32(-200.0) >= 0.0 && exp_f32(-200.0) < 1e-37);
        assert!(exp_f32(200.0).is_finite());
    }

    #[test]
    fn tanh_is_close_and_odd() {
        let mut worst_abs: f64 = 0.0;
        let mut x = -12.0f32;
        while x < 12.0 {
            let got = tanh_f32(x);
            let want = (x as f64).tanh();
            worst_abs = worst_abs.max((got as f64 - want).abs());
            if (x as f64).abs() > 1e-3 {
                assert!(ulps(got, want) <= 4.0, "tanh({x}) = {got}, want {want}");
            }
            assert_eq!(tanh_f32(-x), -got);
            x += 0.00731;
        }
        assert!(worst_abs < 2e-7, "tanh worst absolute error {worst_abs}");
        assert_eq!(tanh_f32(0.0), 0.0);
        assert_eq!(tanh_f32(30.0), 1.0);
    }

    /// NaN propagates through both functions and both slice maps, as it does
    /// through libm's f64 `exp` and `tanh` (a NaN hidden as ±1 would let a
    /// diverged run look finite).
    #[test]
    fn nan_propagates_in_every_path() {
        for x in [f32::NAN, -f32::NAN] {
            assert!(exp_f32(x).is_nan(), "exp_f32(NaN) = {}", exp_f32(x));
            assert!(tanh_f32(x).is_nan(), "tanh_f32(NaN) = {}", tanh_f32(x));
        }
        let mut v = vec![0.5f32; 37];
        v[3] = f32::NAN;
        v[20] = f32::NAN;
        for map in [exp_in_place as fn(&mut [f32]), tanh_in_place] {
            let mut w = v.clone();
            map(&mut w);
            for (i, x) in w.iter().enumerate() {
                assert_eq!(x.is_nan(), i == 3 || i == 20, "entry {i}: {x}");
            }
        }
        assert!(f64::NAN.tanh().is_nan() && f64::NAN.exp().is_nan());
    }
}
