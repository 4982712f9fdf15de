//! The FMA peak of this core (or of several cores at once) for each kernel's
//! instruction set: the ceiling every GEMM figure is compared with.

use super::timing::Job;
use crate::matmul::Kernel;

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
///
/// The calling thread runs one of the shares, as it does in every parallel
/// phase of a step ([`crate::workers::run_each`]). With all `threads` on
/// spawned threads and the caller asleep in `join`, the steps timed right
/// after the probe found their workers queued behind the caller on its core
/// (on a 2-core AVX2 machine, `bench train`'s classed step ran 1.25× on two
/// threads at the median against 1.79× with the caller taking a share, and
/// 1.77× in a real `train`): the probe must leave the scheduler as the
/// steps' own phases do.
pub fn peak_job(probe: fn(), reps: u32, threads: usize) -> Job<'static> {
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
            for _ in 1..threads {
                s.spawn(run);
            }
            run();
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use std::thread::ThreadId;

    /// The threads the recording probe ran on.
    static RAN_ON: Mutex<Vec<ThreadId>> = Mutex::new(Vec::new());

    fn recording_probe() {
        RAN_ON.lock().expect("not poisoned").push(std::thread::current().id());
    }

    /// A probe on t threads runs `reps` times on each of t different
    /// threads, one of them the caller's (as a step's phases run).
    #[test]
    fn the_probe_runs_on_the_calling_thread_and_the_others() {
        let caller = std::thread::current().id();
        for threads in [1, 2, 3] {
            RAN_ON.lock().expect("not poisoned").clear();
            peak_job(recording_probe, 2, threads)();
            let ran = RAN_ON.lock().expect("not poisoned").clone();
            assert_eq!(ran.len(), 2 * threads, "{threads} threads: {ran:?}");
            assert_eq!(
                ran.iter().filter(|&&id| id == caller).count(),
                2,
                "{threads} threads: {ran:?}"
            );
            let mut distinct = ran.clone();
            distinct.sort_by_key(|id| format!("{id:?}"));
            distinct.dedup();
            assert_eq!(distinct.len(), threads, "{threads} threads: {ran:?}");
        }
    }
}
