//! Tokens per second of generation: the loop of `rnnlm generate` (draw a
//! token per stream from its distribution, feed it back) on a model of
//! random weights, one thread, for one sample and for a batch, with the
//! weights in f32 and in bf16 (and f16 for one sample: a batch reads f32
//! weights either way) — all timed in the same rounds, so their ratios
//! hold on a shared machine.
//!
//! A one-sample step reads every weight it uses once, so beside tokens/s
//! this reports the bytes of weights a token streams and the rate they
//! stream at: the figure to hold against the cache the weights live in.

use std::time::Duration;

use super::timing::{median, times_interleaved, Job};
use crate::matmul::{Gemm, Kernel};
use crate::model::classes::Classes;
use crate::model::step::TABLE_MAX_VOCAB;
use crate::model::{in_precision, Config, Params, Weights};
use crate::rng::Rng;
use crate::sample::{Generator, Sampling};

/// One generation-benchmark model: V, D = H, and classes (0: full softmax).
#[derive(Clone, Copy, Debug)]
pub struct GenerateConfig {
    pub level: &'static str,
    pub vocab: usize,
    pub dim: usize,
    pub classes: usize,
}

impl GenerateConfig {
    /// E.g. `"char V=65 D=H=512"`, `"word V=10000 D=H=200 C=100"`.
    pub fn name(&self) -> String {
        let mut name = format!("{} V={} D=H={}", self.level, self.vocab, self.dim);
        if self.classes > 0 {
            name += &format!(" C={}", self.classes);
        }
        name
    }

    /// Bytes of weights one token of one sample streams with `weights`
    /// (a full softmax's: W_h, W_y and the input's row of the table U, or
    /// W_x where there is no table); `None` for a classed model, whose
    /// block of W_y depends on the word drawn.
    pub fn weight_bytes_per_token(&self, weights: Weights) -> Option<usize> {
        if self.classes > 0 {
            return None;
        }
        let (v, h) = (self.vocab, self.dim);
        let per = if weights == Weights::F32 { 4 } else { 2 };
        let input = if v <= TABLE_MAX_VOCAB { 4 * h } else { 4 * h * h };
        Some(per * (h * h + v * h) + input)
    }
}

/// The models `bench generate` measures: the char model of `rnnlm`'s speed
/// goals (D = H = 512 over 65 characters), a smaller one, and a word model
/// with classes (drawn class by class).
pub const GENERATE_CONFIGS: [GenerateConfig; 3] = [
    GenerateConfig {
        level: "char",
        vocab: 65,
        dim: 512,
        classes: 0,
    },
    GenerateConfig {
        level: "char",
        vocab: 65,
        dim: 256,
        classes: 0,
    },
    GenerateConfig {
        level: "word",
        vocab: 10_000,
        dim: 200,
        classes: 100,
    },
];

/// One timed case: this many samples at once, the weights in this precision.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GenerateCase {
    pub samples: usize,
    pub weights: Weights,
}

/// The cases of every configuration: one sample and 32, f32 and bf16; one
/// sample in f16.
pub const GENERATE_CASES: [GenerateCase; 5] = [
    GenerateCase {
        samples: 1,
        weights: Weights::F32,
    },
    GenerateCase {
        samples: 1,
        weights: Weights::Bf16,
    },
    GenerateCase {
        samples: 1,
        weights: Weights::F16,
    },
    GenerateCase {
        samples: 32,
        weights: Weights::F32,
    },
    GenerateCase {
        samples: 32,
        weights: Weights::Bf16,
    },
];

/// Tokens generated per timed run (per sample).
pub const TOKENS_PER_RUN: usize = 64;

/// The speed of one case: tokens per second over all samples.
#[derive(Clone, Copy, Debug)]
pub struct GenerateSpeed {
    /// From the fastest run.
    pub best: f64,
    /// From the median run: what a long `generate` averages on this machine
    /// as it is now (on a shared machine the fastest of hundreds of short
    /// runs is well above the typical one).
    pub median: f64,
}

/// Time generation on `c` (random weights, seed 3) for each case with
/// `kernel`, on one thread, all in the same rounds: tokens per second over
/// all samples, from the fastest and the median run of [`TOKENS_PER_RUN`]
/// tokens per sample. `None` if this CPU cannot run the kernel.
pub fn time_generation(
    c: GenerateConfig,
    kernel: Kernel,
    cases: &[GenerateCase],
    budget: Duration,
) -> Option<Vec<GenerateSpeed>> {
    let classes = if c.classes == 0 {
        Classes::none()
    } else {
        let size = c.vocab.div_ceil(c.classes);
        let sizes: Vec<usize> = (0..c.vocab).step_by(size).map(|s| size.min(c.vocab - s)).collect();
        Classes::from_sizes(&sizes)
    };
    let cfg = Config {
        classes,
        ..Config::full(c.vocab, c.dim, c.dim)
    };
    let exact = Params::<f32>::init(&cfg, &mut Rng::new(3));
    let rounded: Vec<(Weights, Params<f32>)> = Weights::ALL
        .into_iter()
        .map(|w| {
            (
                w,
                in_precision(&exact, w).expect("initial weights are in every format's range"),
            )
        })
        .collect();
    let plain = Sampling {
        temperature: 1.0,
        top_k: 0,
        top_p: 1.0,
    };
    let mut gens = Vec::new();
    for case in cases {
        let params = &rounded
            .iter()
            .find(|(w, _)| *w == case.weights)
            .expect("every format")
            .1;
        let gemm = Gemm::with_kernel(kernel)?.with_threads(1);
        let mut g = Generator::with_weights(params, case.samples, gemm, case.weights);
        g.feed_all(&vec![0; case.samples]);
        let rngs: Vec<Rng> = (0..case.samples as u64).map(Rng::new).collect();
        gens.push((g, rngs, vec![0u32; case.samples]));
    }
    // One run: TOKENS_PER_RUN tokens per sample, as `generate` makes them.
    let mut jobs: Vec<Job> = gens
        .iter_mut()
        .map(|(g, rngs, next)| {
            Box::new(move || {
                for _ in 0..TOKENS_PER_RUN {
                    g.draw_and_feed(plain, rngs, next);
                }
            }) as Job
        })
        .collect();
    let times = times_interleaved(budget * cases.len() as u32, 3, &mut jobs);
    Some(
        cases
            .iter()
            .zip(times)
            .map(|(case, t)| {
                let tokens = (case.samples * TOKENS_PER_RUN) as f64;
                GenerateSpeed {
                    best: tokens / t.iter().min().expect("timed").as_secs_f64(),
                    median: tokens / median(&t).as_secs_f64(),
                }
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The weight bytes of a token: V = 65, H = 512 reads W_h (512²), W_y
    /// (65·512) and one table row, at 4 or 2 bytes a weight (the row stays
    /// f32); a classed model gives none.
    #[test]
    fn weight_bytes_count_what_a_step_reads() {
        let c = GENERATE_CONFIGS[0];
        let weights = 512 * 512 + 65 * 512;
        assert_eq!(c.weight_bytes_per_token(Weights::F32), Some(4 * weights + 4 * 512));
        assert_eq!(c.weight_bytes_per_token(Weights::Bf16), Some(2 * weights + 4 * 512));
        assert_eq!(c.weight_bytes_per_token(Weights::F16), Some(2 * weights + 4 * 512));
        assert_eq!(GENERATE_CONFIGS[2].weight_bytes_per_token(Weights::F32), None);
    }
}
