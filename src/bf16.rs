//! bfloat16: the top 16 bits of an f32 (sign, the same 8 exponent bits, 7 of
//! the 23 mantissa bits), kept as `u16`.
//!
//! Generation can read its weights in this format (`generate --weights
//! bf16`): a one-token step is bound by the stream of weights into the core,
//! and half the bytes let W_h of an H = 512 model sit in a 1 MiB L2. The
//! range is f32's, so no weight overflows; each keeps 8 significant bits
//! (relative rounding error at most 2⁻⁸).
//!
//! Widening is exact and free: `f32::from_bits(b << 16)`, which is why the
//! SIMD loops can turn a lane of two bf16 into two f32 with one shift and
//! one mask ([`crate::matmul::gemv`]).

/// The pair of x that row q of a panel of bf16 pairs multiplies (each u32
/// lane holds rows 2q and 2q + 1 of one column): `(x[2q], x[2q + 1])`,
/// the second 0 past the end (odd k).
#[inline(always)]
pub fn x_pair(x: &[f32], q: usize) -> (f32, f32) {
    (x[2 * q], x.get(2 * q + 1).copied().unwrap_or(0.0))
}

/// The bf16 nearest to `x`, ties to even; NaN stays NaN (quiet), ±∞ stays
/// ±∞, and a finite `x` within half a bf16 step of f32's largest value
/// rounds to ±∞ (as the f32 → bf16 conversions of hardware do).
pub fn from_f32(x: f32) -> u16 {
    let bits = x.to_bits();
    if x.is_nan() {
        // Keep the sign and the top of the payload; force the quiet bit so
        // that truncation cannot turn a NaN into ∞.
        return ((bits >> 16) as u16) | 0x0040;
    }
    // Round to nearest, ties to even: add 0x7FFF plus the lowest kept bit,
    // then truncate. A carry out of the mantissa bumps the exponent, which
    // is the right answer (up to ∞).
    let lsb = (bits >> 16) & 1;
    ((bits + 0x7FFF + lsb) >> 16) as u16
}

/// The f32 with the same value as bf16 `b` (exact).
#[inline]
pub fn to_f32(b: u16) -> f32 {
    f32::from_bits((b as u32) << 16)
}

/// `x` rounded to the nearest bf16, as an f32 (ties to even).
pub fn round(x: f32) -> f32 {
    to_f32(from_f32(x))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    /// Every bf16 widens and narrows back to itself (NaNs to a NaN).
    #[test]
    fn every_bf16_survives_the_round_trip() {
        for b in 0..=u16::MAX {
            let x = to_f32(b);
            if x.is_nan() {
                assert!(to_f32(from_f32(x)).is_nan(), "{b:#06x}");
            } else {
                assert_eq!(from_f32(x), b, "{b:#06x} = {x}");
            }
        }
    }

    /// Against the definition: the result is one of the two bf16 around x,
    /// the nearer one, and the even one on a tie.
    #[test]
    fn rounding_picks_the_nearest_bf16_and_the_even_one_on_ties() {
        let mut rng = Rng::new(5);
        let mut ties = 0;
        for i in 0..200_000u32 {
            // Random bit patterns cover every exponent; every 8th has its low
            // 16 bits set to an exact tie.
            let mut bits = (rng.uniform() * u32::MAX as f64) as u32;
            if i % 8 == 0 {
                bits = (bits & 0xFFFF_0000) | 0x8000;
            }
            let x = f32::from_bits(bits);
            if !x.is_finite() {
                continue;
            }
            let down = (bits >> 16) as u16; // toward zero
            let up = down.wrapping_add(1); // away from zero
            let got = from_f32(x);
            assert!(got == down || got == up, "{x:e}: {got:#06x} not beside it");
            let (dd, du) = (
                (x as f64 - to_f32(down) as f64).abs(),
                (to_f32(up) as f64 - x as f64).abs(),
            );
            if to_f32(up).is_infinite() {
                continue; // past the largest bf16: ∞ (checked below)
            }
            if dd < du {
                assert_eq!(got, down, "{x:e}");
            } else if du < dd {
                assert_eq!(got, up, "{x:e}");
            } else {
                ties += 1;
                assert_eq!(got & 1, 0, "{x:e}: tie not to even");
            }
        }
        assert!(ties > 1000, "only {ties} ties exercised");
        assert_eq!(to_f32(from_f32(f32::MAX)), f32::INFINITY);
        assert_eq!(to_f32(from_f32(-f32::MAX)), f32::NEG_INFINITY);
        assert_eq!(from_f32(-0.0), 0x8000);
        assert_eq!(round(1.0 + 1.0 / 512.0), 1.0); // a tie: down to even
        assert_eq!(round(1.0 + 3.0 / 512.0), 1.0 + 4.0 / 512.0); // a tie: up to even
    }

    #[test]
    fn rounding_error_is_at_most_half_a_step() {
        let mut rng = Rng::new(9);
        for _ in 0..100_000 {
            let x = (rng.normal() * 3.0) as f32;
            let r = round(x);
            assert!(((r - x) / x).abs() <= 1.0 / 256.0, "{x} -> {r}");
        }
    }
}
