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

/// Token for the wide maps: exists only for an instruction set this CPU
/// has (AVX2 + FMA, or AVX-512F with them); its field is private, so
/// [`VectorIsa::available`] is its sole constructor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VectorIsa(Isa);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Isa {
    /// Eight lanes.
    Avx2,
    /// Sixteen lanes.
    Avx512,
}

impl VectorIsa {
    /// The widest instruction set this CPU has for the maps, if any.
    pub fn detect() -> Option<Self> {
        Self::available().last().copied()
    }

    /// Every instruction set this CPU has for the maps, narrowest first.
    pub fn available() -> &'static [VectorIsa] {
        let avx2 = is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma");
        match (avx2, is_x86_feature_detected!("avx512f")) {
            (true, true) => &[VectorIsa(Isa::Avx2), VectorIsa(Isa::Avx512)],
            (true, false) => &[VectorIsa(Isa::Avx2)],
            (false, _) => &[],
        }
    }

    /// `v[i] = e^v[i]`, eight or sixteen lanes per instruction.
    pub fn exp_in_place(self, v: &mut [f32]) {
        match self.0 {
            // SAFETY: a `VectorIsa` comes only from `available`, which found
            // the instruction set on this CPU: all the function requires.
            Isa::Avx2 => unsafe { exp_avx2(v) },
            // SAFETY: as above.
            Isa::Avx512 => unsafe { exp_avx512(v) },
        }
    }

    /// `v[i] = tanh v[i]`, eight or sixteen lanes per instruction.
    pub fn tanh_in_place(self, v: &mut [f32]) {
        match self.0 {
            // SAFETY: as in `exp_in_place`.
            Isa::Avx2 => unsafe { tanh_avx2(v) },
            // SAFETY: as in `exp_in_place`.
            Isa::Avx512 => unsafe { tanh_avx512(v) },
        }
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

    /// Every instruction set this CPU has gives the baseline's bits.
    #[test]
    fn wide_maps_give_the_baseline_results_bit_for_bit() {
        if VectorIsa::available().len() < 2 {
            eprintln!("note: this CPU lacks AVX2+FMA or AVX-512F: those maps are not checked here");
        }
        for &k in VectorIsa::available() {
            let isa = format!("{:?}", k.0);
            check_map(&isa, "exp", &|v| k.exp_in_place(v), super::super::exp_f32);
            check_map(&isa, "tanh", &|v| k.tanh_in_place(v), super::super::tanh_f32);
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
