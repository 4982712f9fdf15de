//! The `Float` trait: everything numerical in rnnlm is generic over it.
//!
//! The model trains in `f32` (the speed path) and is gradient-checked in `f64`
//! (finite differences need the extra precision), so the matrix types, the
//! matmul and the model are written once over `T: Float`.
//!
//! The SIMD micro-kernels and fast-math maps are f32 code. Generic code
//! reaches them through [`Float::as_f32`] / [`Float::as_f32_mut`], which view
//! a slice as `&[f32]` when `Self` is `f32` and give `None` otherwise: a safe
//! downcast, so this trait needs to know nothing of the matmul.

use std::fmt::{Debug, Display};
use std::ops::{Add, AddAssign, Div, Mul, MulAssign, Neg, Sub, SubAssign};

/// A real floating-point number: `f32` or `f64`.
///
/// Only what the crate needs is here. There is deliberately no `mul_add`: on a
/// target without FMA it becomes a slow library call, and the SIMD kernels use
/// their own fused instructions anyway.
pub trait Float:
    Copy
    + Send
    + Sync
    + Default
    + PartialOrd
    + Debug
    + Display
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + AddAssign
    + SubAssign
    + MulAssign
    + 'static
{
    /// Type name for messages (`"f32"` or `"f64"`).
    const NAME: &'static str;
    /// Machine epsilon.
    const EPSILON: Self;

    fn zero() -> Self;
    fn one() -> Self;
    /// Round an `f64` to this type.
    fn from_f64(x: f64) -> Self;
    /// Widen to `f64` (exact for both types).
    fn to_f64(self) -> f64;
    fn from_usize(n: usize) -> Self {
        Self::from_f64(n as f64)
    }
    fn exp(self) -> Self;
    fn ln(self) -> Self;
    fn tanh(self) -> Self;
    fn sqrt(self) -> Self;
    fn abs(self) -> Self;
    fn max(self, other: Self) -> Self;
    fn min(self, other: Self) -> Self;
    fn is_finite(self) -> bool;
    fn neg_infinity() -> Self;

    /// `Some(s)` viewed as f32 when `Self` is `f32` (the SIMD paths), else
    /// `None`.
    fn as_f32(s: &[Self]) -> Option<&[f32]>;
    /// Writable [`Float::as_f32`].
    fn as_f32_mut(s: &mut [Self]) -> Option<&mut [f32]>;

    /// `v[i] = tanh(v[i])` over a slice (the hidden layer's hot loop).
    fn tanh_in_place(v: &mut [Self]) {
        for x in v {
            *x = x.tanh();
        }
    }

    /// `v[i] = exp(v[i])` over a slice (the softmax's hot loop).
    fn exp_in_place(v: &mut [Self]) {
        for x in v {
            *x = x.exp();
        }
    }
}

macro_rules! impl_float {
    ($t:ident $(, $extra:item)*) => {
        impl Float for $t {
            const NAME: &'static str = stringify!($t);
            const EPSILON: Self = $t::EPSILON;
            #[inline(always)]
            fn zero() -> Self {
                0.0
            }
            #[inline(always)]
            fn one() -> Self {
                1.0
            }
            #[inline(always)]
            fn from_f64(x: f64) -> Self {
                x as $t
            }
            #[inline(always)]
            fn to_f64(self) -> f64 {
                self as f64
            }
            #[inline(always)]
            fn exp(self) -> Self {
                $t::exp(self)
            }
            #[inline(always)]
            fn ln(self) -> Self {
                $t::ln(self)
            }
            #[inline(always)]
            fn tanh(self) -> Self {
                $t::tanh(self)
            }
            #[inline(always)]
            fn sqrt(self) -> Self {
                $t::sqrt(self)
            }
            #[inline(always)]
            fn abs(self) -> Self {
                $t::abs(self)
            }
            #[inline(always)]
            fn max(self, other: Self) -> Self {
                $t::max(self, other)
            }
            #[inline(always)]
            fn min(self, other: Self) -> Self {
                $t::min(self, other)
            }
            #[inline(always)]
            fn is_finite(self) -> bool {
                $t::is_finite(self)
            }
            #[inline(always)]
            fn neg_infinity() -> Self {
                $t::NEG_INFINITY
            }

            $($extra)*
        }
    };
}

impl_float!(
    f32,
    /// Vectorizable Cephes-style tanh ([`crate::fastmath::tanh_f32`]),
    /// eight lanes wide where the CPU has AVX2 (same results).
    fn tanh_in_place(v: &mut [f32]) {
        crate::fastmath::tanh_in_place(v)
    },
    /// Vectorizable Cephes-style exp ([`crate::fastmath::exp_f32`]),
    /// eight lanes wide where the CPU has AVX2 (same results).
    fn exp_in_place(v: &mut [f32]) {
        crate::fastmath::exp_in_place(v)
    },
    #[inline(always)]
    fn as_f32(s: &[f32]) -> Option<&[f32]> {
        Some(s)
    },
    #[inline(always)]
    fn as_f32_mut(s: &mut [f32]) -> Option<&mut [f32]> {
        Some(s)
    }
);
impl_float!(
    f64,
    #[inline(always)]
    fn as_f32(_: &[f64]) -> Option<&[f32]> {
        None
    },
    #[inline(always)]
    fn as_f32_mut(_: &mut [f64]) -> Option<&mut [f32]> {
        None
    }
);
