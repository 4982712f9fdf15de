//! GEMM throughput: the shapes an RNNLM multiplies, each case (kernel,
//! threads, B packed ahead or not) against the FMA peak in the same rounds,
//! and the micro-kernel alone.

use std::time::{Duration, Instant};

use super::peak::{peak_job, peak_probe};
use super::timing::{best_times_interleaved, Job};
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

/// The shapes an RNNLM multiplies: square products, the recurrence at two
/// widths, the char and word output projections, one generation step.
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

#[cfg(test)]
mod tests {
    use super::*;

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
