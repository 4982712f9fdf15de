//! IEEE half precision (binary16): sign, 5 exponent bits (bias 15), 10
//! mantissa bits, kept as `u16`.
//!
//! Generation can read its weights in this format (`generate --weights
//! f16`), like bf16 ([`crate::bf16`]) half the bytes of f32, but with 11
//! significant bits instead of 8 (relative rounding error at most 2⁻¹¹)
//! and a range that ends at 65504: fine for the weights of a trained RNN,
//! which are far smaller. Below 2⁻¹⁴ the format is subnormal (steps of
//! 2⁻²⁴), so a tiny weight keeps its absolute error, not its relative one.
//!
//! Rounding happens once, here, when the weights are prepared. Widening is
//! exact; x86's F16C does it eight at a time (`vcvtph2ps`), one instruction
//! where bf16 pairs need a shift and a mask ([`crate::matmul::gemv::f16`]).

/// Exponent bias of f16.
const BIAS: i32 = 15;

/// The f16 nearest to `x`, ties to even; NaN stays NaN (quiet), ±∞ stays
/// ±∞, and a finite `x` at or beyond 65520 (half a step past the largest
/// f16, 65504) rounds to ±∞, as the hardware conversions do.
pub fn from_f32(x: f32) -> u16 {
    let bits = x.to_bits();
    let sign = ((bits >> 16) & 0x8000) as u16;
    if x.is_nan() {
        // The sign and the top of the payload, with the quiet bit set.
        return sign | 0x7E00 | ((bits >> 13) & 0x01FF) as u16;
    }
    let a = x.abs();
    if a.is_infinite() {
        return sign | 0x7C00;
    }
    let exp = ((bits >> 23) & 0xFF) as i32 - 127; // unbiased, of a normal f32
                                                  // The value in units of the f16 step at this magnitude: 2^(e − 10) for
                                                  // a normal f16 (e ≥ −14), 2⁻²⁴ for a subnormal one.
    let step_exp = exp.max(1 - BIAS) - 10;
    // a / 2^step_exp is exact in f64 (a power-of-two scaling of an f32);
    // 2^−step_exp is built from its bits (−step_exp lies in −117..=24).
    let scaled = a as f64 * f64::from_bits(((1023 - step_exp) as u64) << 52);
    let units = round_half_even(scaled); // ≤ 2^11 (a carry into the next binade)
                                         // units·2^step_exp as f16 bits: for a normal f16 the leading 1 of
                                         // `units` (bit 10, or bit 11 after a carry) lands in the exponent field
                                         // by plain addition; a subnormal has exponent field 0 and units < 2^10,
                                         // and units = 2^10 is the smallest normal, again by addition.
    let field = (step_exp + 10 + BIAS - 1).max(0) as u32; // biased exponent − 1
    let h = (field << 10) + units as u32;
    if h >= 0x7C00 {
        return sign | 0x7C00; // beyond the largest finite f16
    }
    sign | h as u16
}

/// `v` rounded to the nearest integer, ties to even.
fn round_half_even(v: f64) -> u64 {
    let floor = v.floor();
    let frac = v - floor;
    let f = floor as u64;
    if frac > 0.5 || (frac == 0.5 && f % 2 == 1) {
        f + 1
    } else {
        f
    }
}

/// The f32 with the same value as f16 `h` (exact).
pub fn to_f32(h: u16) -> f32 {
    let sign = if h & 0x8000 != 0 { -1.0 } else { 1.0 };
    let field = ((h >> 10) & 0x1F) as i32;
    let mantissa = (h & 0x03FF) as f32;
    // 2^e as f32, from its bits (e ≥ −126).
    let pow2 = |e: i32| f32::from_bits(((e + 127) as u32) << 23);
    match field {
        0 => sign * mantissa * pow2(-24),
        0x1F if mantissa == 0.0 => sign * f32::INFINITY,
        0x1F => f32::from_bits(0x7FC0_0000 | (h as u32 & 0x8000) << 16 | (h as u32 & 0x01FF) << 13),
        _ => sign * (1024.0 + mantissa) * pow2(field - BIAS - 10),
    }
}

/// `x` rounded to the nearest f16, as an f32 (ties to even).
pub fn round(x: f32) -> f32 {
    to_f32(from_f32(x))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    /// Every f16 widens and narrows back to itself (NaNs to a NaN), and
    /// widens to the value its fields define.
    #[test]
    fn every_f16_survives_the_round_trip_and_means_its_fields() {
        for h in 0..=u16::MAX {
            let x = to_f32(h);
            if x.is_nan() {
                assert_eq!(h & 0x7C00, 0x7C00, "{h:#06x}");
                assert!(to_f32(from_f32(x)).is_nan(), "{h:#06x}");
                continue;
            }
            assert_eq!(from_f32(x), h, "{h:#06x} = {x:e}");
            let (field, m) = (((h >> 10) & 0x1F) as i32, (h & 0x03FF) as f64);
            let magnitude = match field {
                0 => m * 2f64.powi(-24),
                0x1F => f64::INFINITY,
                _ => (1.0 + m / 1024.0) * 2f64.powi(field - 15),
            };
            let want = if h & 0x8000 != 0 { -magnitude } else { magnitude };
            assert_eq!(x as f64, want, "{h:#06x}");
        }
        assert_eq!(to_f32(0x7BFF), 65504.0);
        assert_eq!(to_f32(0x0001), 2f32.powi(-24));
        assert_eq!(to_f32(0x0400), 2f32.powi(-14));
    }

    /// Against the definition: the result is one of the two f16 around x,
    /// the nearer one, and the even one on a tie; beyond the range, ∞.
    #[test]
    fn rounding_picks_the_nearest_f16_and_the_even_one_on_ties() {
        let mut rng = Rng::new(5);
        let mut ties = 0;
        for i in 0..300_000u32 {
            // Magnitudes from 2⁻²⁸ to 2¹⁷: subnormal, normal and too large.
            let mut x = (2f64.powf(rng.uniform() * 45.0 - 28.0)) as f32;
            if i % 8 == 0 {
                // An exact tie: the midpoint of two neighbouring f16 (exact
                // in f32: 12 significant bits).
                let h = (from_f32(x) & 0x7FFF).min(0x7BFE);
                x = ((to_f32(h) as f64 + to_f32(h + 1) as f64) / 2.0) as f32;
            }
            if i % 2 == 1 {
                x = -x;
            }
            let got = from_f32(x);
            let sign = if x < 0.0 { 0x8000 } else { 0 };
            let a = x.abs();
            // The two f16 around |x|: `below` ≤ |x| < `below + 1`, found from
            // the result and then checked against the values.
            let h = (got & 0x7FFF).min(0x7BFF);
            let below = if to_f32(h) <= a { h } else { h - 1 };
            assert!(to_f32(below) <= a, "{x:e}");
            if below == 0x7BFF {
                // Past the largest f16, the next step up would be 65536: ∞
                // from half a step on.
                let want = if a >= 65520.0 { 0x7C00 } else { 0x7BFF };
                assert_eq!(got, sign | want, "{x:e}");
                continue;
            }
            let up = below + 1;
            assert!(a < to_f32(up), "{x:e}: {up:#06x} not above it");
            let (dd, du) = (a as f64 - to_f32(below) as f64, to_f32(up) as f64 - a as f64);
            if dd < du {
                assert_eq!(got, sign | below, "{x:e}");
            } else if du < dd {
                assert_eq!(got, sign | up, "{x:e}");
            } else {
                ties += 1;
                assert_eq!(got & 1, 0, "{x:e}: tie not to even");
                assert!(got == sign | below || got == sign | up, "{x:e}");
            }
        }
        assert!(ties > 10_000, "only {ties} ties exercised");
        assert_eq!(to_f32(from_f32(65519.0)), 65504.0);
        assert_eq!(to_f32(from_f32(65520.0)), f32::INFINITY);
        assert_eq!(to_f32(from_f32(-1e9)), f32::NEG_INFINITY);
        assert_eq!(from_f32(-0.0), 0x8000);
        assert_eq!(from_f32(f32::INFINITY), 0x7C00);
        assert_eq!(round(2f32.powi(-26)), 0.0); // a tie at the bottom: to even (0)
        assert_eq!(round(3.0 * 2f32.powi(-25)), 2f32.powi(-23)); // a tie: up to even
        assert_eq!(round(1.0 + 1.0 / 2048.0), 1.0); // a tie: down to even
        assert_eq!(round(1.0 + 3.0 / 2048.0), 1.0 + 4.0 / 2048.0); // a tie: up to even
    }

    #[test]
    fn rounding_error_is_at_most_half_a_step() {
        let mut rng = Rng::new(9);
        for _ in 0..100_000 {
            let x = (rng.normal() * 3.0) as f32;
            let r = round(x);
            if x.abs() >= 2f32.powi(-14) {
                assert!(((r - x) / x).abs() <= 1.0 / 2048.0, "{x} -> {r}");
            } else {
                assert!((r - x).abs() <= 2f32.powi(-25), "{x} -> {r}");
            }
        }
    }
}
