fn main() {
    use rnnlm::matmul::kernel::x86_64 as simd;
    for iters in [1000usize, 100000, 2000000] {
        let t = std::time::Instant::now();
        let r = simd::fma_peak_avx2(iters);
        let e = t.elapsed();
        println!(
            "{iters} {r:?} {:?} {:.1}",
            e,
            simd::fma_peak_flops_avx2(iters) as f64 / e.as_secs_f64() / 1e9
        );
    }
}
