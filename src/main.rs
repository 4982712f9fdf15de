use rnnlm::bench::*;
use rnnlm::matmul::Kernel;
use std::time::Duration;
fn main() {
    for k in Kernel::available() {
        println!("peak {k}: {:.1}", peak_gflops(k));
    }
    for s in GEMM_SHAPES {
        for k in Kernel::available() {
            if k == Kernel::Naive && s.flops() > 3e8 {
                continue;
            }
            for th in [1, 2] {
                let g = time_gemm(s, k, th, false, Duration::from_millis(300)).unwrap();
                println!("{}x{}x{} {k} t{th}: {:.1}", s.m, s.k, s.n, g);
            }
        }
    }
}
