//! Tokens per second of a training step (forward, backward, optimizer
//! update) at the sizes the project benchmarks.

use std::time::{Duration, Instant};

use super::peak::{peak_job, peak_probe};
use super::timing::{median, times_interleaved, Job};
use crate::matmul::{Gemm, Kernel};
use crate::matrix::Matrix;
use crate::model::classes::{self, Classes};
use crate::model::{Config, Params, Shards};
use crate::rng::Rng;
use crate::train::step::{take_step, Chunk, Regularization};
use crate::train::{Optimizer, OptimizerKind};

/// One training-benchmark configuration.
#[derive(Clone, Copy, Debug)]
pub struct TrainConfig {
    pub level: &'static str,
    pub vocab: usize,
    pub dim: usize,
    pub steps: usize,
    pub batch: usize,
    /// Output classes (0: the full softmax).
    pub classes: usize,
    pub optimizer: OptimizerKind,
}

impl TrainConfig {
    /// E.g. `"char V=65 D=H=256 T=64 B=32"`; a classed configuration adds
    /// `C=100` and a non-Adam one its optimizer: `"... C=100 sgd"`.
    pub fn name(&self) -> String {
        let mut name = format!(
            "{} V={} D=H={} T={} B={}",
            self.level, self.vocab, self.dim, self.steps, self.batch
        );
        if self.classes > 0 {
            name += &format!(" C={}", self.classes);
        }
        if self.optimizer != OptimizerKind::Adam {
            name += &format!(" {}", self.optimizer.name());
        }
        name
    }

    /// The token stream and classes of this configuration: uniform random
    /// characters at char level; at word level words drawn from Zipf's law
    /// (P(rank i) ∝ 1/i, as word frequencies roughly are), so that classes
    /// assigned by frequency have the sizes they have on real text.
    fn data(&self, n: usize, rng: &mut Rng) -> (Vec<u32>, Classes) {
        let v = self.vocab;
        if self.level == "char" {
            return ((0..n).map(|_| rng.below(v) as u32).collect(), Classes::none());
        }
        let weight = |i: usize| 1.0 / (i + 1) as f64;
        let mut cdf: Vec<f64> = (0..v).map(weight).collect();
        for i in 1..v {
            cdf[i] += cdf[i - 1];
        }
        let total = cdf[v - 1];
        // Inverse CDF: one uniform draw per token, then the first rank whose
        // cumulative weight reaches it.
        let stream = (0..n)
            .map(|_| {
                let u = rng.uniform() * total;
                cdf.partition_point(|&c| c < u).min(v - 1) as u32
            })
            .collect();
        let classes = if self.classes == 0 {
            Classes::none()
        } else {
            let counts: Vec<u64> = (0..v).map(|i| (1e12 * weight(i)) as u64).collect();
            classes::assign(&counts, self.classes).1
        };
        (stream, classes)
    }
}

const fn config(
    level: &'static str,
    vocab: usize,
    dim: usize,
    steps: usize,
    batch: usize,
    classes: usize,
    optimizer: OptimizerKind,
) -> TrainConfig {
    TrainConfig {
        level,
        vocab,
        dim,
        steps,
        batch,
        classes,
        optimizer,
    }
}

/// The configurations `bench train` measures: char level at two widths; word
/// level at the usual 10k-word size with the full softmax; and with classes
/// and plain SGD (the toolkit's optimizer) at 10k and 50k words.
pub const TRAIN_CONFIGS: [TrainConfig; 5] = [
    config("char", 65, 256, 64, 32, 0, OptimizerKind::Adam),
    config("char", 65, 512, 64, 64, 0, OptimizerKind::Adam),
    config("word", 10_000, 200, 35, 20, 0, OptimizerKind::Adam),
    config("word", 10_000, 200, 35, 20, 100, OptimizerKind::Sgd),
    config("word", 50_000, 200, 35, 20, 224, OptimizerKind::Sgd),
];

/// Different chunks the timed steps cycle through, as training walks
/// through its text: the rows of E and W_y a step touches then come from
/// wherever training would find them, not from the caches a repeated chunk
/// leaves warm.
pub const BENCH_CHUNKS: usize = 16;

/// Result of [`time_train_steps`], per thread count.
#[derive(Clone, Copy, Debug)]
pub struct TrainResult {
    /// From the fastest step.
    pub tokens_per_s: f64,
    /// From the median step: what a step typically takes on this machine
    /// now (a shared machine's steps spread well beyond the fastest), the
    /// figure to hold a real run's tokens/s against.
    pub median_tokens_per_s: f64,
    /// Fraction of the step's wall-clock time spent in GEMM and packing.
    pub gemm_share: f64,
    /// The step's matrix-product flops ([`product_flops`]) over its
    /// fastest time, in GFLOP/s.
    pub gflops: f64,
    /// `gflops` over the FMA peak of as many cores, measured in the same
    /// rounds ([`super::peak`]).
    pub peak_share: f64,
}

/// Multiply-adds of the matrix products of one training step, × 2: every
/// product of the forward (docs/bptt.md B1, B2; C1, C2 with classes) and
/// the two of backward for each (the input's gradient and the weight's).
/// With classes, each position's word block is its target's class, so the
/// count is taken over `targets`. Softmax, tanh, the optimizer and packing
/// are not counted: this is the work a GEMM library would be asked for.
pub fn product_flops(c: &TrainConfig, classes: &Classes, targets: &[u32]) -> f64 {
    let (n, v, d, h) = (targets.len() as f64, c.vocab as f64, c.dim as f64, c.dim as f64);
    // The input projection: the table U = E·W_xᵀ when V < N (char level),
    // else the gathered rows X_e·W_xᵀ.
    let input = if c.vocab < targets.len() { v * d * h } else { n * d * h };
    let recurrence = n * h * h;
    let output = if classes.is_none() {
        n * h * v
    } else {
        let words: usize = targets
            .iter()
            .map(|&y| classes.range(classes.class_of(y as usize)).len())
            .sum();
        n * h * classes.count() as f64 + words as f64 * h
    };
    2.0 * 3.0 * (input + recurrence + output)
}

/// Time the trainer's step ([`take_step`]: forward, backward, clipping to
/// norm 5 — the trainer's default — and the configuration's optimizer
/// update) on the configuration's tokens with `kernel`,
/// once per thread count in `threads` (`None` if this CPU cannot run the
/// kernel), all in the same rounds (see
/// [`super::best_times_interleaved`]): best and median step per thread count; the GEMM share
/// is over all of that thread count's steps.
pub fn time_train_steps(
    c: TrainConfig,
    kernel: Kernel,
    threads: &[usize],
    budget: Duration,
) -> Option<Vec<TrainResult>> {
    let mut rng = Rng::new(3);
    let n = c.steps * c.batch;
    let (stream, classes) = c.data(BENCH_CHUNKS * n + c.batch, &mut rng);
    let cfg = Config {
        classes,
        ..Config::full(c.vocab, c.dim, c.dim)
    };
    let h0 = Matrix::<f32>::zeros(c.batch, c.dim);
    // The mean flops of a step over the chunks the steps cycle through.
    let flops = (0..BENCH_CHUNKS)
        .map(|k| product_flops(&c, &cfg.classes, &stream[k * n + c.batch..(k + 1) * n + c.batch]))
        .sum::<f64>()
        / BENCH_CHUNKS as f64;
    let mut runs = Vec::new();
    for &t in threads {
        let mut run = StepRun::new(&cfg, &c, kernel, t)?;
        run.step(&stream, &h0, &c); // warm-up: sizes the workspaces
        runs.push(run);
    }
    // Each thread count's FMA peak, run about as long as one of its steps.
    let (probe, probe_flops) = peak_probe(kernel);
    let probe_time = {
        let t = Instant::now();
        probe();
        t.elapsed().as_secs_f64()
    };
    let mut peak_flops = Vec::new();
    let mut jobs: Vec<Job> = Vec::new();
    for (run, &t) in runs.iter_mut().zip(threads) {
        let step_time = {
            let start = Instant::now();
            run.step(&stream, &h0, &c);
            start.elapsed().as_secs_f64()
        };
        run.ws.start_timing();
        let reps = (step_time / probe_time).round().clamp(1.0, 1000.0) as u32;
        peak_flops.push(probe_flops * reps as f64 * t as f64);
        jobs.push(peak_job(probe, reps, t));
        let (stream, h0, c) = (&stream, &h0, &c);
        jobs.push(Box::new(move || {
            let t = Instant::now();
            run.step(stream, h0, c);
            run.total += t.elapsed();
        }));
    }
    let times = times_interleaved(budget * threads.len() as u32, 3, &mut jobs);
    drop(jobs);
    Some(
        runs.iter()
            .zip(times.chunks_exact(2))
            .zip(peak_flops)
            .map(|((run, times), peak_flops)| {
                let best = times[1].iter().min().expect("timed").as_secs_f64();
                let peak = peak_flops / times[0].iter().min().expect("timed").as_secs_f64();
                TrainResult {
                    tokens_per_s: n as f64 / best,
                    median_tokens_per_s: n as f64 / median(&times[1]).as_secs_f64(),
                    gemm_share: run.ws.gemm_time().as_secs_f64() / run.total.as_secs_f64(),
                    gflops: flops / best / 1e9,
                    peak_share: flops / best / peak,
                }
            })
            .collect(),
    )
}

/// One thread count's steps: its own weights, optimizer and workspaces.
struct StepRun {
    params: Params<f32>,
    grads: Params<f32>,
    opt: Optimizer,
    ws: Shards<f32>,
    rng: Rng,
    /// Time spent in timed steps (the GEMM share's denominator).
    total: Duration,
    /// Steps taken: the next chunk is `steps % BENCH_CHUNKS`.
    steps: usize,
}

impl StepRun {
    /// `None` if this CPU cannot run `kernel`.
    fn new(cfg: &Config, c: &TrainConfig, kernel: Kernel, threads: usize) -> Option<Self> {
        let params = Params::<f32>::init(cfg, &mut Rng::new(3));
        Some(StepRun {
            grads: Params::zeros(cfg),
            opt: Optimizer::new(c.optimizer, &params),
            params,
            ws: Shards::new(Gemm::<f32>::with_kernel(kernel)?.kernel(), threads),
            rng: Rng::new(4),
            total: Duration::ZERO,
            steps: 0,
        })
    }

    /// One optimizer step on the next of the [`BENCH_CHUNKS`] chunks of
    /// `stream`, from h_0 = `h0`.
    fn step(&mut self, stream: &[u32], h0: &Matrix<f32>, c: &TrainConfig) {
        let n = c.steps * c.batch;
        let at = (self.steps % BENCH_CHUNKS) * n;
        self.steps += 1;
        let chunk = Chunk {
            inputs: &stream[at..at + n],
            targets: &stream[at + c.batch..at + c.batch + n],
            batch: c.batch,
            h0: h0.view(),
        };
        let mut reg = Regularization {
            dropout: 0.0,
            weight_decay: 0.0,
            rng: &mut self.rng,
        };
        take_step(
            &mut self.params,
            &mut self.grads,
            &mut self.opt,
            &mut self.ws,
            chunk,
            1e-4,
            5.0,
            &mut reg,
        )
        .expect("a finite step");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// By hand, N = 6 positions, D = H = 4: the gathered input 6·4·4 = 96
    /// multiply-adds, the recurrence 6·4·4 = 96, the full output 6·4·10 =
    /// 240, each product three times (forward, two of backward), two flops
    /// each; with classes of 3 and 7 words, the output is 6·4·2 class scores
    /// plus 4 per word of each target's class (3 + 7 + 7 + 3 + 3 + 7 = 30).
    #[test]
    fn product_flops_count_every_product_three_times() {
        let c = config("word", 10, 4, 3, 2, 0, OptimizerKind::Adam);
        let targets = [0, 5, 9, 1, 2, 4];
        assert_eq!(
            product_flops(&c, &Classes::none(), &targets),
            6.0 * (96.0 + 96.0 + 240.0)
        );
        let classes = Classes::from_sizes(&[3, 7]);
        assert_eq!(
            product_flops(&c, &classes, &targets),
            6.0 * (96.0 + 96.0 + 48.0 + 30.0 * 4.0)
        );
        // V < N at char level: the table U = E·W_xᵀ (V·D·H) instead.
        let chars = config("char", 3, 4, 3, 2, 0, OptimizerKind::Adam);
        assert_eq!(
            product_flops(&chars, &Classes::none(), &targets),
            6.0 * (48.0 + 96.0 + 72.0)
        );
    }

    /// The word stream follows Zipf's law, P(rank i) = (1/(i+1)) / H_V: the
    /// two most frequent ranks and a mid rank come out at their
    /// probabilities (within 5 standard deviations), and rank 0 is twice as
    /// frequent as rank 1.
    #[test]
    fn word_streams_follow_zipfs_law() {
        let c = config("word", 1000, 8, 4, 2, 10, OptimizerKind::Sgd);
        let n = 200_000;
        let (stream, classes) = c.data(n, &mut Rng::new(9));
        assert_eq!(classes.vocab(), 1000);
        let mut counts = vec![0usize; 1000];
        for &t in &stream {
            counts[t as usize] += 1;
        }
        let harmonic: f64 = (1..=1000).map(|i| 1.0 / i as f64).sum();
        for rank in [0usize, 1, 49] {
            let p = 1.0 / ((rank + 1) as f64 * harmonic);
            let sd = (n as f64 * p * (1.0 - p)).sqrt();
            let got = counts[rank] as f64;
            assert!(
                (got - n as f64 * p).abs() < 5.0 * sd,
                "rank {rank}: {got} drawn, {:.0} expected",
                n as f64 * p
            );
        }
        let ratio = counts[0] as f64 / counts[1] as f64;
        assert!((ratio - 2.0).abs() < 0.1, "rank 0 / rank 1 = {ratio}");
    }
}
