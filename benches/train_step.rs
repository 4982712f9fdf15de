//! One forward + backward of a chunk, throughput in tokens (B·T), on the
//! configurations `rnnlm bench train` measures.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use rnnlm::bench::TRAIN_CONFIGS;
use rnnlm::matmul::Gemm;
use rnnlm::matrix::Matrix;
use rnnlm::model::{backward, forward, Config, Params, Workspace};
use rnnlm::rng::Rng;

fn train_step(c: &mut Criterion) {
    let mut group = c.benchmark_group("train step (forward + backward)");
    group.sample_size(10);
    for cfg in TRAIN_CONFIGS {
        let (b, t) = (cfg.batch, cfg.steps);
        group.throughput(Throughput::Elements((b * t) as u64));
        let config = Config::full(cfg.vocab, cfg.dim, cfg.dim);
        let mut rng = Rng::new(1);
        let params = Params::<f32>::init(&config, &mut rng);
        let mut grads = Params::zeros(&config);
        let stream: Vec<u32> = (0..(t + 1) * b).map(|_| rng.below(cfg.vocab) as u32).collect();
        let h0 = Matrix::<f32>::zeros(b, cfg.dim);
        for threads in [1, 2] {
            let mut ws = Workspace::new(Gemm::new().with_threads(threads));
            group.bench_function(BenchmarkId::new(cfg.name(), format!("{threads} thread(s)")), |bench| {
                bench.iter(|| {
                    grads.fill_zero();
                    forward(&params, &stream[..t * b], &stream[b..], b, h0.view(), &mut ws);
                    backward(&params, &mut grads, &mut ws);
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, train_step);
criterion_main!(benches);
