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

/// Round-robin best-of timing: `jobs` take turns in slices of at least two
/// runs each, turns go on until `budget` has passed (at least `min_rounds`
/// rounds), and each job's fastest run counts.
///
/// Jobs measured in the same rounds see the same machine: when a shared
/// machine slows down for a while, it slows all of them, so the ratios
/// between them (GEMM vs peak, 2 threads vs 1) hold better than those of
/// jobs timed one after the other. Runs within a slice are back to back, so
/// the fastest run of a slice finds the caches as the job itself left them,
/// not as the previous job did.
pub fn best_times_interleaved(budget: Duration, min_rounds: usize, jobs: &mut [Job<'_>]) -> Vec<Duration> {
    const ROUNDS: u32 = 5;
    let slice = budget / (ROUNDS * jobs.len().max(1) as u32);
    let start = Instant::now();
    let mut best = vec![Duration::MAX; jobs.len()];
    let mut rounds = 0;
    while rounds < min_rounds || start.elapsed() < budget {
        for (job, best) in jobs.iter_mut().zip(&mut best) {
            let turn = Instant::now();
            let mut runs = 0;
            while runs < 2 || turn.elapsed() < slice {
                let t = Instant::now();
                job();
                *best = (*best).min(t.elapsed());
                runs += 1;
            }
        }
        rounds += 1;
    }
    best
}

/// A measured piece of work.
pub type Job<'a> = Box<dyn FnMut() + 'a>;

/// Iterations of one FMA peak probe (a few milliseconds).
const PEAK_ITERS: usize = 1_000_000;

/// The FMA peak probe for a kernel's instruction set, and its flops per run:
/// AVX-512 and AVX2 chains of independent FMAs; for the naive and portable
/// kernels, the best peak this core has (what they could reach). A plain
/// function, so that several threads can run it at once.
pub fn peak_probe(kernel: Kernel) -> (fn(), f64) {
    #[cfg(target_arch = "x86_64")]
    {
        use crate::matmul::kernel::x86_64 as simd;
        let avx512 = simd::Avx512::detect().is_some();
        let avx2 = simd::Avx2Fma::detect().is_some();
        let use_512 = match kernel {
            Kernel::Avx512 => true,
            Kernel::Avx2 => false,
            Kernel::Naive | Kernel::Portable => avx512,
        };
        if use_512 && avx512 {
            fn run() {
                std::hint::black_box(simd::fma_peak_avx512(std::hint::black_box(PEAK_ITERS)));
            }
            return (run, simd::fma_peak_flops_avx512(PEAK_ITERS) as f64);
        }
        if avx2 && kernel != Kernel::Avx512 {
            fn run() {
                std::hint::black_box(simd::fma_peak_avx2(std::hint::black_box(PEAK_ITERS)));
            }
            return (run, simd::fma_peak_flops_avx2(PEAK_ITERS) as f64);
        }
    }
    (portable_peak_run, (PEAK_ITERS * 64 * 2) as f64)
}

/// The probe run `reps` times in a row on each of `threads` threads at once:
/// the peak of that many cores as they are right now (on a shared machine,
/// two cores do not always give twice one).
fn peak_job(probe: fn(), reps: u32, threads: usize) -> Job<'static> {
    let run = move || {
        for _ in 0..reps {
            probe();
        }
    };
    if threads == 1 {
        return Box::new(run);
    }
    Box::new(move || {
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(run);
            }
        })
    })
}

/// Plain Rust multiply–add on 8-wide arrays (the portable kernel's
/// instruction mix), for targets without a SIMD FMA probe.
fn portable_peak_run() {
    let mut acc = [[0.0f32; 8]; 8];
    let iters = std::hint::black_box(PEAK_ITERS);
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
}

/// GFLOP/s of the f32 micro-kernel alone, its operands resident in L1
/// (`kc = 256`, one tile over and over), and the FMA peak of its instruction
/// set timed in the same rounds: what the kernel can do before the loops,
/// packing and caches take their share. `None` for the naive loop (it has no
/// micro-kernel) and for kernels this CPU cannot run.
pub fn time_micro_kernel(kernel: Kernel, budget: Duration) -> Option<(f64, f64)> {
    use crate::matmul::kernel::portable::Portable;
    use crate::matmul::MicroKernel;
    fn job<K: MicroKernel<f32> + 'static>(k: K) -> (Job<'static>, f64) {
        const KC: usize = 256;
        const CALLS: usize = 2000;
        let a = vec![0.5f32; K::MR * KC];
        let b = vec![0.25f32; KC * K::NR];
        let mut c = vec![0.0f32; K::MR * K::NR];
        let run = move || {
            for _ in 0..CALLS {
                k.micro_kernel(KC, 1.0, std::hint::black_box(&a), &b, 1.0, &mut c, K::NR);
            }
            std::hint::black_box(&c);
        };
        (Box::new(run), (2 * K::MR * K::NR * KC * CALLS) as f64)
    }
    let (kernel_job, flops) = match kernel {
        Kernel::Naive => return None,
        Kernel::Portable => job(Portable),
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx2 => job(crate::matmul::kernel::x86_64::Avx2Fma::detect()?),
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx512 => job(crate::matmul::kernel::x86_64::Avx512::detect()?),
        #[cfg(not(target_arch = "x86_64"))]
        _ => return None,
    };
    let (probe, peak_flops) = peak_probe(kernel);
    let t = best_times_interleaved(budget, 3, &mut [peak_job(probe, 1, 1), kernel_job]);
    Some((flops / t[1].as_secs_f64() / 1e9, peak_flops / t[0].as_secs_f64() / 1e9))
}

/// One GEMM configuration to measure on a shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GemmCase {
    pub kernel: Kernel,
    pub threads: usize,
    /// B packed once outside the timing (as the model does for weights).
    pub prepacked: bool,
}

/// GFLOP/s of `C = A·B` (f32, β = 0) for each case on one shape, and beside
/// it the FMA peak of that case's kernel on as many threads as the case uses,
/// timed over runs as long as the case's, all in the same rounds (see
/// [`best_times_interleaved`]). `None` if a kernel cannot run.
pub fn time_gemm_cases(shape: Shape, cases: &[GemmCase], budget: Duration) -> Option<Vec<(f64, f64)>> {
    let mut rng = Rng::new(7);
    let a = Matrix::<f32>::uniform(shape.m, shape.k, -1.0, 1.0, &mut rng);
    let b = Matrix::<f32>::uniform(shape.k, shape.n, -1.0, 1.0, &mut rng);
    let (a, b) = (&a, &b);
    // Jobs in pairs: the peak probe beside each case, then the case.
    let mut jobs: Vec<Job> = Vec::new();
    let mut peak_flops = Vec::new();
    for case in cases {
        let mut gemm = Gemm::<f32>::with_kernel(case.kernel)?.with_threads(case.threads);
        let packed = case.prepacked.then(|| gemm.pack_b(b.view()));
        let mut c = Matrix::<f32>::zeros(shape.m, shape.n);
        let mut product: Job = Box::new(move || {
            match &packed {
                Some(p) => gemm.gemm_packed(1.0, a.view(), p, 0.0, c.view_mut()),
                None => gemm.gemm(1.0, a.view(), b.view(), 0.0, c.view_mut()),
            }
            std::hint::black_box(&c);
        });
        // The probe is repeated to last about as long as one run of the
        // product (timed once here, which also warms it up): on a shared
        // machine a long run is more likely to be interrupted than a short
        // one, so a short probe would set the bar by a quiet moment the
        // product itself could never have.
        let t = Instant::now();
        product();
        let product_time = t.elapsed();
        let (probe, flops) = peak_probe(case.kernel);
        let t = Instant::now();
        probe();
        let reps = (product_time.as_secs_f64() / t.elapsed().as_secs_f64())
            .round()
            .clamp(1.0, 1000.0) as u32;
        jobs.push(peak_job(probe, reps, case.threads));
        peak_flops.push(flops * reps as f64 * case.threads as f64);
        jobs.push(product);
    }
    let times = best_times_interleaved(budget, 2, &mut jobs);
    Some(
        times
            .chunks_exact(2)
            .zip(peak_flops)
            .map(|(t, peak_flops)| {
                let peak = peak_flops / t[0].as_secs_f64() / 1e9;
                (shape.flops() / t[1].as_secs_f64() / 1e9, peak)
            })
            .collect(),
    )
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
    use crate::train::{Kind, Optimizer};
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
            opt: Optimizer::new(Kind::Adam, &params),
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

/// Peak resident memory of this process in KiB (`VmHWM` on Linux; `None`
/// where `/proc` does not say).
pub fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interleaved_timing_takes_turns_and_keeps_each_jobs_best() {
        // Job 0 sleeps 2 ms, job 1 sleeps 1 ms; both must run in every round
        // (at least two runs per turn) and keep their own best time.
        let order = std::cell::RefCell::new(Vec::new());
        let mut jobs: Vec<Job> = vec![
            Box::new(|| {
                order.borrow_mut().push(0);
                std::thread::sleep(Duration::from_millis(2));
            }),
            Box::new(|| {
                order.borrow_mut().push(1);
                std::thread::sleep(Duration::from_millis(1));
            }),
        ];
        let best = best_times_interleaved(Duration::from_millis(1), 3, &mut jobs);
        drop(jobs);
        let order = order.into_inner();
        assert_eq!(best.len(), 2);
        assert!(best[0] >= Duration::from_millis(2) && best[1] >= Duration::from_millis(1));
        assert!(best[1] < best[0], "each job keeps its own best: {best:?}");
        // Three rounds, each a turn of job 0 then a turn of job 1.
        let turns: Vec<usize> = order
            .iter()
            .enumerate()
            .filter(|&(i, &j)| i == 0 || order[i - 1] != j)
            .map(|(_, &j)| j)
            .collect();
        assert_eq!(turns, [0, 1, 0, 1, 0, 1], "runs: {order:?}");
        assert!(order.len() >= 12, "at least two runs per turn: {order:?}");
    }

    #[test]
    fn the_micro_kernel_alone_is_timed_for_packed_kernels_only() {
        assert!(time_micro_kernel(Kernel::Naive, Duration::from_millis(1)).is_none());
        for k in Kernel::available().into_iter().filter(|&k| k != Kernel::Naive) {
            let (g, peak) = time_micro_kernel(k, Duration::from_millis(1)).expect("available kernel");
            assert!(
                g > 0.0 && g.is_finite() && peak > 0.0 && peak.is_finite(),
                "{k}: {g} of {peak}"
            );
        }
    }

    #[test]
    fn shapes_parse_and_count_their_flops() {
        let s = Shape::parse("2x3X4").expect("valid");
        assert_eq!((s.m, s.k, s.n), (2, 3, 4));
        assert_eq!(s.flops(), 48.0);
        assert_eq!(Shape::parse("5×6×7").map(|s| (s.m, s.k, s.n)), Some((5, 6, 7)));
        for bad in ["", "2x3", "2x3x4x5", "0x1x1", "ax1x1", "-1x2x3"] {
            assert!(Shape::parse(bad).is_none(), "{bad:?}");
        }
    }
}
