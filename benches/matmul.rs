//! GEMM throughput on the shapes an RNNLM multiplies: naive, portable, AVX2,
//! AVX-512 side by side, 1 and 2 threads, each packed kernel also with B
//! packed ahead (as the model does with its weights). Throughput is 2·m·n·k
//! elements, so criterion reports FLOP/s.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use rnnlm::bench::GEMM_SHAPES;
use rnnlm::matmul::{Gemm, Kernel};
use rnnlm::matrix::Matrix;
use rnnlm::rng::Rng;

fn gemm(c: &mut Criterion) {
    for shape in GEMM_SHAPES {
        let mut group = c.benchmark_group(format!("gemm {}x{}x{}", shape.m, shape.k, shape.n));
        group.throughput(Throughput::Elements(shape.flops() as u64));
        group.sample_size(10);
        let mut rng = Rng::new(1);
        let a = Matrix::<f32>::uniform(shape.m, shape.k, -1.0, 1.0, &mut rng);
        let b = Matrix::<f32>::uniform(shape.k, shape.n, -1.0, 1.0, &mut rng);
        let mut out = Matrix::<f32>::zeros(shape.m, shape.n);
        for kernel in Kernel::available() {
            if kernel == Kernel::Naive && shape.flops() > 1e9 {
                continue; // minutes per sample
            }
            for threads in [1, 2] {
                let mut g = Gemm::<f32>::with_kernel(kernel)
                    .expect("available")
                    .with_threads(threads);
                let id = BenchmarkId::new(kernel.name(), format!("{threads} thread(s)"));
                group.bench_function(id, |bench| {
                    bench.iter(|| g.gemm(1.0, a.view(), b.view(), 0.0, out.view_mut()))
                });
                // As the model multiplies by its weights: B packed once, ahead.
                if kernel != Kernel::Naive {
                    let packed = g.pack_b(b.view());
                    let id = BenchmarkId::new(
                        format!("{} B packed ahead", kernel.name()),
                        format!("{threads} thread(s)"),
                    );
                    group.bench_function(id, |bench| {
                        bench.iter(|| g.gemm_packed(1.0, a.view(), &packed, 0.0, out.view_mut()))
                    });
                }
            }
        }
        group.finish();
    }
}

criterion_group!(benches, gemm);
criterion_main!(benches);
