use rnnlm::bench::*;
use rnnlm::matmul::Kernel;
use std::time::Duration;
fn main() {
    let p = peak_gflops(Kernel::Avx2);
    println!("peak {p:.1}");
    for s in [
        GEMM_SHAPES[1],
        GEMM_SHAPES[2],
        GEMM_SHAPES[3],
        GEMM_SHAPES[5],
        GEMM_SHAPES[6],
    ] {
        let g = time_gemm(s, Kernel::Avx2, 1, false, Duration::from_millis(600)).unwrap();
        let g2 = time_gemm(s, Kernel::Avx2, 1, true, Duration::from_millis(600)).unwrap();
        println!(
            "{}x{}x{}: {:.1} ({:.0}%)  prepacked {:.1} ({:.0}%)",
            s.m,
            s.k,
            s.n,
            g,
            100.0 * g / p,
            g2,
            100.0 * g2 / p
        );
    }
}
