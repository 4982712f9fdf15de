//! Measurements behind `rnnlm bench`: the FMA peak of this core, GEMM
//! throughput per shape and kernel, and (in `train_step`) tokens per second.
//!
//! Timings are the best of several runs inside a small time budget: on a
//! shared, noisy machine the minimum is the most repeatable statistic, and
//! every figure is reported next to a ratio measured in the same run.

use std::time::{Duration, Instant};

use crate::matmul::{Gemm, Kernel};
use crate::matrix::Matrix;
use crate::rng::Rng;

/// One product shape: `[m, k] · [k, n]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    pub m: usize,
    pub k: usize,
    pub n: usize,
    /// What the shape is in an RNNLM.
    pub what: &'static str,
}

impl Shape {
    /// Floating-point operations of the product: `2·m·n·k`.
    pub fn flops(&self) -> f64 {
        2.0 * self.m as f64 * self.n as f64 * self.k as f64
    }

    /// Parses `MxKxN` (for `[M,K]·[K,N]`); every size at least 1.
    pub fn parse(text: &str) -> Option<Shape> {
        let dims: Vec<usize> = text
            .split(['x', 'X', '×'])
            .map(|d| d.trim().parse().ok())
            .collect::<Option<_>>()?;
        match dims[..] {
            [m, k, n] if m > 0 && k > 0 && n > 0 => Some(Shape {
                m,
                k,
                n,
                what: "given with --shape",
            }),
            _ => None,
        }
    }
}

/// The shapes an RNNLM multiplies (see the matmul issue's benchmark list).
pub const GEMM_SHAPES: [Shape; 8] = [
    Shape {
        m: 256,
        k: 256,
        n: 256,
        what: "square",
    },
    Shape {
        m: 512,
        k: 512,
        n: 512,
        what: "square",
    },
    Shape {
        m: 1024,
        k: 1024,
        n: 1024,
        what: "square",
    },
    Shape {
        m: 64,
        k: 512,
        n: 512,
        what: "recurrence [B,H]·[H,H], H=512",
    },
    Shape {
        m: 64,
        k: 1024,
        n: 1024,
        what: "recurrence [B,H]·[H,H], H=1024",
    },
    Shape {
        m: 4096,
        k: 256,
        n: 65,
        what: "char output projection of a chunk",
    },
    Shape {
        m: 2048,
        k: 512,
        n: 10000,
        what: "word output projection, V=10k",
    },
    Shape {
        m: 1,
        k: 512,
        n: 512,
        what: "generation step, B=1",
    },
];

/// Best-of timing: run `f` until `budget` has passed (at least `min_runs`
/// times) and return the fastest run.
pub fn best_time(budget: Duration, min_runs: usize, mut f: impl FnMut()) -> Duration {
    let start = Instant::now();
    let mut best = Duration::MAX;
    let mut runs = 0;
    while runs < min_runs || start.elapsed() < budget {
        let t = Instant::now();
        f();
        best = best.min(t.elapsed());
        runs += 1;
    }
    best
}

/// The measured single-core FMA peak for a kernel's instruction set, in
/// GFLOP/s: AVX-512 and AVX2 chains of independent FMAs; for the naive and
/// portable kernels, the best peak this core has (what they could reach).
pub fn peak_gflops(kernel: Kernel) -> f64 {
    #[cfg(target_arch = "x86_64")]
    {
        use crate::matmul::kernel::x86_64 as simd;
        let iters = 2_000_000;
        let measure = |run: &dyn Fn() -> Option<f32>, flops: usize| -> Option<f64> {
            run()?;
            let t = best_time(Duration::from_millis(60), 3, || {
                std::hint::black_box(run());
            });
            Some(flops as f64 / t.as_secs_f64() / 1e9)
        };
        let avx512 = || {
            measure(
                &|| simd::fma_peak_avx512(std::hint::black_box(iters)),
                simd::fma_peak_flops_avx512(iters),
            )
        };
        let avx2 = || {
            measure(
                &|| simd::fma_peak_avx2(std::hint::black_box(iters)),
                simd::fma_peak_flops_avx2(iters),
            )
        };
        let found = match kernel {
            Kernel::Avx512 => avx512(),
            Kernel::Avx2 => avx2(),
            Kernel::Naive | Kernel::Portable => avx512().or_else(avx2),
        };
        if let Some(p) = found {
            return p;
        }
    }
    portable_peak_gflops()
}

/// Peak of plain Rust multiply–add on 8-wide arrays (the portable kernel's
/// instruction mix), for targets without a SIMD FMA probe.
fn portable_peak_gflops() -> f64 {
    let iters = 2_000_000usize;
    let run = || {
        let mut acc = [[0.0f32; 8]; 8];
        let iters = std::hint::black_box(iters);
        let x = std::hint::black_box(0.999_999f32);
        let y = std::hint::black_box(1e-7f32);
        for _ in 0..iters {
            for row in acc.iter_mut() {
                for v in row.iter_mut() {
                    *v = *v * x + y;
                }
            }
        }
        std::hint::black_box(acc);
    };
    let t = best_time(Duration::from_millis(60), 3, run);
    (iters * 64 * 2) as f64 / t.as_secs_f64() / 1e9
}

/// One GEMM measurement.
#[derive(Clone, Debug)]
pub struct GemmResult {
    pub shape: Shape,
    pub kernel: Kernel,
    pub threads: usize,
    pub gflops: f64,
    pub peak_gflops: f64,
    /// Whether B was packed once ahead (as the model does for weights).
    pub prepacked: bool,
}

/// GFLOP/s of `C = A·B` (f32, β = 0) for one shape, kernel
/// and thread count. With `prepacked`, B is packed once outside the timing.
pub fn time_gemm(shape: Shape, kernel: Kernel, threads: usize, prepacked: bool, budget: Duration) -> Option<f64> {
    let mut g = Gemm::<f32>::with_kernel(kernel)?.with_threads(threads);
    let mut rng = Rng::new(7);
    let a = Matrix::<f32>::uniform(shape.m, shape.k, -1.0, 1.0, &mut rng);
    let b = Matrix::<f32>::uniform(shape.k, shape.n, -1.0, 1.0, &mut rng);
    let mut c = Matrix::<f32>::zeros(shape.m, shape.n);
    let t = if prepacked {
        let p = g.pack_b(b.view());
        best_time(budget, 2, || g.gemm_packed(1.0, a.view(), &p, 0.0, c.view_mut()))
    } else {
        best_time(budget, 2, || g.gemm(1.0, a.view(), b.view(), 0.0, c.view_mut()))
    };
    std::hint::black_box(&c);
    Some(shape.flops() / t.as_secs_f64() / 1e9)
}

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

/// The configurations of the model issue's benchmark.
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

/// Result of [`time_train_step`].
#[derive(Clone, Copy, Debug)]
pub struct TrainResult {
    pub tokens_per_s: f64,
    /// Fraction of the step's wall-clock time spent in GEMM and packing.
    pub gemm_share: f64,
}

/// Time forward + backward + an Adam update on random tokens: best of the
/// runs that fit in `budget`; the GEMM share is over all runs.
pub fn time_train_step(c: TrainConfig, threads: usize, budget: Duration) -> TrainResult {
    use crate::model::{backward, forward, Config, Params, Workspace};
    use crate::train::{Kind, Optimizer};
    let cfg = Config {
        vocab: c.vocab,
        embed: c.dim,
        hidden: c.dim,
    };
    let mut rng = Rng::new(3);
    let mut params = Params::<f32>::init(cfg, &mut rng);
    let mut grads = Params::zeros(cfg);
    let mut opt = Optimizer::new(Kind::Adam, &params);
    let mut ws = Workspace::new(Gemm::new().with_threads(threads));
    let n = c.steps * c.batch;
    let stream: Vec<u32> = (0..n + c.batch).map(|_| rng.below(c.vocab) as u32).collect();
    let h0 = Matrix::<f32>::zeros(c.batch, c.dim);
    let mut step = |ws: &mut Workspace<f32>| {
        grads.fill_zero();
        forward(&params, &stream[..n], &stream[c.batch..], c.batch, h0.view(), ws);
        backward(&params, &mut grads, ws);
        opt.step(&mut params, &grads, 1e-4);
    };
    step(&mut ws); // warm-up: sizes the workspaces
    ws.start_timing();
    let start = Instant::now();
    let mut runs = 0u32;
    let best = best_time(budget, 3, || {
        step(&mut ws);
        runs += 1;
    });
    let total = start.elapsed();
    let gemm = ws.gemm_time();
    TrainResult {
        tokens_per_s: n as f64 / best.as_secs_f64(),
        gemm_share: gemm.as_secs_f64() / total.as_secs_f64(),
    }
}

/// Peak resident memory of this process in KiB (`VmHWM` on Linux; `None`
/// where `/proc` does not say).
pub fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
