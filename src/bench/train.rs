//! Tokens per second of a training step (forward, backward, optimizer
//! update) at the sizes the project benchmarks.

use std::time::{Duration, Instant};

use super::timing::{best_times_interleaved, Job};
use crate::matmul::{Gemm, Kernel};
use crate::matrix::Matrix;
use crate::rng::Rng;

/// One training-benchmark configuration.
#[derive(Clone, Copy, Debug)]
pub struct TrainConfig {
    pub level: &'static str,
    pub vocab: usize,
    pub dim: usize,
    pub steps: usize,
    pub batch: usize,
}

impl TrainConfig {
    /// E.g. `"char V=65 D=H=256 T=64 B=32"`.
    pub fn name(&self) -> String {
        format!(
            "{} V={} D=H={} T={} B={}",
            self.level, self.vocab, self.dim, self.steps, self.batch
        )
    }
}

/// The configurations `bench train` measures: char level at two widths, word
/// level at the usual 10k-word size.
pub const TRAIN_CONFIGS: [TrainConfig; 3] = [
    TrainConfig {
        level: "char",
        vocab: 65,
        dim: 256,
        steps: 64,
        batch: 32,
    },
    TrainConfig {
        level: "char",
        vocab: 65,
        dim: 512,
        steps: 64,
        batch: 64,
    },
    TrainConfig {
        level: "word",
        vocab: 10000,
        dim: 200,
        steps: 35,
        batch: 20,
    },
];

/// Result of [`time_train_steps`], per thread count.
#[derive(Clone, Copy, Debug)]
pub struct TrainResult {
    pub tokens_per_s: f64,
    /// Fraction of the step's wall-clock time spent in GEMM and packing.
    pub gemm_share: f64,
}

/// Time forward + backward + an Adam update on random tokens with `kernel`,
/// once per thread count in `threads` (`None` if this CPU cannot run the
/// kernel), all in the same rounds (see
/// [`best_times_interleaved`]): best step per thread count; the GEMM share
/// is over all of that thread count's steps.
pub fn time_train_steps(
    c: TrainConfig,
    kernel: Kernel,
    threads: &[usize],
    budget: Duration,
) -> Option<Vec<TrainResult>> {
    use crate::model::{backward, forward, Config, Params, Workspace};
    use crate::train::{Optimizer, OptimizerKind};
    struct Run {
        params: Params<f32>,
        grads: Params<f32>,
        opt: Optimizer,
        ws: Workspace<f32>,
        total: Duration,
    }
    let cfg = Config {
        vocab: c.vocab,
        embed: c.dim,
        hidden: c.dim,
    };
    let mut rng = Rng::new(3);
    let n = c.steps * c.batch;
    let stream: Vec<u32> = (0..n + c.batch).map(|_| rng.below(c.vocab) as u32).collect();
    let h0 = Matrix::<f32>::zeros(c.batch, c.dim);
    let step = |r: &mut Run| {
        r.grads.fill_zero();
        forward(
            &r.params,
            &stream[..n],
            &stream[c.batch..],
            c.batch,
            h0.view(),
            &mut r.ws,
        );
        backward(&r.params, &mut r.grads, &mut r.ws);
        r.opt.step(&mut r.params, &r.grads, 1e-4);
    };
    let mut runs = Vec::new();
    for &t in threads {
        let params = Params::<f32>::init(cfg, &mut Rng::new(3));
        let mut run = Run {
            grads: Params::zeros(cfg),
            opt: Optimizer::new(OptimizerKind::Adam, &params),
            params,
            ws: Workspace::new(Gemm::with_kernel(kernel)?.with_threads(t)),
            total: Duration::ZERO,
        };
        step(&mut run); // warm-up: sizes the workspaces
        run.ws.start_timing();
        runs.push(run);
    }
    let mut jobs: Vec<Job> = runs
        .iter_mut()
        .map(|run| {
            Box::new(move || {
                let t = Instant::now();
                step(run);
                run.total += t.elapsed();
            }) as Job
        })
        .collect();
    let best = best_times_interleaved(budget * threads.len() as u32, 3, &mut jobs);
    drop(jobs);
    Some(
        runs.iter()
            .zip(best)
            .map(|(run, best)| TrainResult {
                tokens_per_s: n as f64 / best.as_secs_f64(),
                gemm_share: run.ws.gemm_time().as_secs_f64() / run.total.as_secs_f64(),
            })
            .collect(),
    )
}
