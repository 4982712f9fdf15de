//! The fast-math slice maps compiled for AVX2 and for AVX-512: the same
//! plain Rust as [`super::exp_f32`] and [`super::tanh_f32`], built with the
//! wider instruction set enabled so that each instruction works on eight (or
//! sixteen) lanes instead of the baseline's four.
//! Every lane does the same IEEE operations in the same order, so the results
//! are those of the baseline build, bit for bit (tested below).
//!
//! The `unsafe` here is the call into a `#[target_feature]` function, made
//! only through a token whose sole constructor checks the CPU.
#![allow(unsafe_code)]
#![deny(clippy::undocumented_unsafe_blocks)]

/// Token for the AVX2 maps: exists only on CPUs that have AVX2 and FMA.
#[derive(Clone, Copy, Debug)]
pub struct Avx2 {
    _detected: (),
}

impl Avx2 {
    /// `Some` if this CPU has AVX2 and FMA.
    pub fn detect() -> Option<Self> {
        (is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")).then_some(Avx2 { _detected: () })
    }

    /// `v[i] = e^v[i]`, eight lanes per instruction.
    pub fn exp_in_place(self, v: &mut [f32]) {
        // SAFETY: a value of `Avx2` exists only if `detect` found AVX2 and
        // FMA on this CPU, which is all `exp_avx2` requires.
        unsafe { exp_avx2(v) }
    }

    /// `v[i] = tanh v[i]`, eight lanes per instruction.
    pub fn tanh_in_place(self, v: &mut [f32]) {
        // SAFETY: as in `exp_in_place`.
        unsafe { tanh_avx2(v) }
    }
}

/// Token for the AVX-512 maps: exists only on CPUs that have AVX-512F,
/// AVX2 and FMA.
#[derive(Clone, Copy, Debug)]
pub struct Avx512 {
    _detected: (),
}

impl Avx512 {
    /// `Some` if this CPU has AVX-512F, AVX2 and FMA.
    pub fn detect() -> Option<Self> {
        (is_x86_feature_detected!("avx512f") && Avx2::detect().is_some()).then_some(Avx512 { _detected: () })
    }

    /// `v[i] = e^v[i]`, sixteen lanes per instruction.
    pub fn exp_in_place(self, v: &mut [f32]) {
        // SAFETY: a value of `Avx512` exists only if `detect` found
        // AVX-512F, AVX2 and FMA on this CPU, which is all `exp_avx512`
        // requires.
        unsafe { exp_avx512(v) }
    }

    /// `v[i] = tanh v[i]`, sixteen lanes per instruction.
    pub fn tanh_in_place(self, v: &mut [f32]) {
        // SAFETY: as in `exp_in_place`.
        unsafe { tanh_avx512(v) }
    }
}

#[target_feature(enable = "avx512f,avx2,fma")]
fn exp_avx512(v: &mut [f32]) {
    v.iter_mut().for_each(|x| *x = super::exp_f32(*x));
}

#[target_feature(enable = "avx512f,avx2,fma")]
fn tanh_avx512(v: &mut [f32]) {
    v.iter_mut().for_each(|x| *x = super::tanh_f32(*x));
}

#[target_feature(enable = "avx2,fma")]
fn exp_avx2(v: &mut [f32]) {
    v.iter_mut().for_each(|x| *x = super::exp_f32(*x));
}

#[target_feature(enable = "avx2,fma")]
fn tanh_avx2(v: &mut [f32]) {
    v.iter_mut().for_each(|x| *x = super::tanh_f32(*x));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    /// A slice map of one instruction set.
    type Map = Box<dyn Fn(&mut [f32])>;

    /// The maps of every instruction set this CPU has: (name, exp, tanh).
    fn wide_maps() -> Vec<(&'static str, Map, Map)> {
        let mut maps: Vec<(&'static str, Map, Map)> = Vec::new();
        match Avx2::detect() {
            Some(k) => maps.push((
                "avx2",
                Box::new(move |v| k.exp_in_place(v)),
                Box::new(move |v| k.tanh_in_place(v)),
            )),
            None => eprintln!("note: skipping the AVX2 maps: this CPU does not support AVX2 and FMA"),
        }
        match Avx512::detect() {
            Some(k) => maps.push((
                "avx512",
                Box::new(move |v| k.exp_in_place(v)),
                Box::new(move |v| k.tanh_in_place(v)),
            )),
            None => eprintln!("note: skipping the AVX-512 maps: this CPU does not support AVX-512F"),
        }
        maps
    }

    #[test]
    fn wide_maps_give_the_baseline_results_bit_for_bit() {
        for (isa, exp, tanh) in wide_maps() {
            check_map(isa, "exp", &*exp, super::super::exp_f32);
            check_map(isa, "tanh", &*tanh, super::super::tanh_f32);
        }
    }

    fn check_map(isa: &str, name: &str, map: &dyn Fn(&mut [f32]), f: fn(f32) -> f32) {
        let mut rng = Rng::new(9);
        let mut xs: Vec<f32> = (0..10_003).map(|_| (rng.uniform() as f32 - 0.5) * 60.0).collect();
        xs.extend([
            0.0,
            -0.0,
            1e-30,
            -1e-30,
            87.9,
            -87.9,
            200.0,
            -200.0,
            f32::INFINITY,
            f32::NEG_INFINITY,
        ]);
        let mut got = xs.clone();
        map(&mut got);
        for (&x, &g) in xs.iter().zip(&got) {
            assert_eq!(g.to_bits(), f(x).to_bits(), "{isa} {name}({x})");
        }
        // NaN in, NaN out, in the wide builds as in the baseline.
        let mut nan = [f32::NAN, 1.0, -f32::NAN];
        map(&mut nan);
        assert!(
            nan[0].is_nan() && nan[2].is_nan() && !nan[1].is_nan(),
            "{isa} {name}: {nan:?}"
        );
    }
}
