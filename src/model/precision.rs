//! The precision generation reads the weights in (`--weights`): f32 as
//! trained, or every weight rounded to bf16 ([`crate::bf16`]) or to f16
//! ([`crate::f16`]), either of which halves the bytes a one-token step
//! streams ([`super::step`](mod@super::step)).

use super::params::Params;

/// The precision a one-token step reads its weights in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Weights {
    /// As trained: the exact model.
    #[default]
    F32,
    /// Every weight rounded to bf16 (8 significant bits), W_h and W_y read
    /// as bf16 when a step has few rows.
    Bf16,
    /// Every weight rounded to IEEE half precision (11 significant bits,
    /// largest 65504), W_h and W_y read as f16 when a step has few rows.
    F16,
}

impl Weights {
    /// Every format, as named on the command line.
    pub const ALL: [Weights; 3] = [Weights::F32, Weights::Bf16, Weights::F16];

    /// The name on the command line (`--weights`).
    pub fn name(self) -> &'static str {
        match self {
            Weights::F32 => "f32",
            Weights::Bf16 => "bf16",
            Weights::F16 => "f16",
        }
    }

    /// Each weight as this format rounds it (nearest, ties to even).
    pub fn round(self, x: f32) -> f32 {
        match self {
            Weights::F32 => x,
            Weights::Bf16 => crate::bf16::round(x),
            Weights::F16 => crate::f16::round(x),
        }
    }

    /// The format named `s`, if any.
    pub fn parse(s: &str) -> Option<Weights> {
        Weights::ALL.into_iter().find(|w| w.name() == s)
    }
}

/// `params` in `weights`' precision: unchanged for f32; for bf16 and f16
/// every entry of every tensor rounded to the nearest value of the format
/// (ties to even).
///
/// # Errors
/// If a finite weight lies beyond the format's largest value (it would
/// round to ±∞; for f16 that is from 65520 on): the message names the
/// tensor and the entry.
pub fn in_precision(params: &Params<f32>, weights: Weights) -> Result<Params<f32>, String> {
    let mut out = params.clone();
    if weights == Weights::F32 {
        return Ok(out);
    }
    for (name, t) in super::TENSOR_NAMES.iter().zip(out.tensors_mut()) {
        let cols = t.cols().max(1);
        for (i, x) in t.as_mut_slice().iter_mut().enumerate() {
            let r = weights.round(*x);
            if x.is_finite() && !r.is_finite() {
                return Err(format!(
                    "{name}[{}, {}] = {x:e} is beyond {}'s range",
                    i / cols,
                    i % cols,
                    weights.name()
                ));
            }
            *x = r;
        }
    }
    Ok(out)
}
