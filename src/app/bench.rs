//! `rnnlm bench gemm`, `rnnlm bench train`, `rnnlm bench generate` and `rnnlm bench score`: run the measurements of
//! [`crate::bench`] and print them as a table or as JSON lines.

use std::time::Duration;

use super::sentences::{sentence, sentence_end};
use crate::bench::gemm::{time_gemm_cases, time_micro_kernel, GemmCase, Shape};
use crate::bench::generate::{time_generation, GENERATE_CASES, GENERATE_CONFIGS};
use crate::bench::score::time_scoring;
use crate::bench::train::{time_train_steps, TRAIN_CONFIGS};
use crate::cli::{BenchGemmArgs, BenchGenerateArgs, BenchScoreArgs, BenchTrainArgs};
use crate::error::Result;
use crate::io::json::Json;
use crate::matmul::{Gemm, Kernel};
use crate::model::Weights;

/// `bench gemm`: GFLOP/s and share of the measured peak per shape and kernel.
pub fn bench_gemm(args: &BenchGemmArgs) -> Result<()> {
    if !args.json {
        for &k in &args.kernels {
            if let Some(g) = Gemm::<f32>::with_kernel(k).filter(|_| k != Kernel::Naive) {
                let b = g.blocks();
                say!("{k} blocks: MC {} KC {} NC {}", b.mc, b.kc, b.nc);
            }
        }
        print_micro_kernels(args);
        say!("peak: the FMA peak for the kernel's instructions on as many cores, timed in the same rounds");
        say!(
            "{:>22} {:>9} {:>7} {:>9} {:>9} {:>7}",
            "m × k · k × n",
            "kernel",
            "threads",
            "GFLOP/s",
            "peak",
            "% peak"
        );
    }
    for &shape in &args.shapes {
        let cases = gemm_cases(args, shape);
        if cases.is_empty() {
            eprintln!(
                "rnnlm: note: {}x{}x{} skipped: the naive loop is not timed above 1 GFLOP",
                shape.m, shape.k, shape.n
            );
            continue;
        }
        let per_case = args.budget_ms.max(2 * (shape.flops() / 5e7) as u64);
        let budget = Duration::from_millis(per_case * cases.len() as u64);
        let results = time_gemm_cases(shape, &cases, budget).expect("kernels are available");
        for (case, &(gflops, peak)) in cases.iter().zip(&results) {
            print_gemm_case(args, shape, case, gflops, peak);
        }
        if !args.json {
            print_thread_scaling(shape, &cases, &results);
        }
    }
    Ok(())
}

/// The micro-kernel alone, operands in L1, against the peak.
fn print_micro_kernels(args: &BenchGemmArgs) {
    for &k in &args.kernels {
        let budget = Duration::from_millis(args.budget_ms.min(500));
        if let Some((g, peak)) = time_micro_kernel(k, budget) {
            say!(
                "{k} micro-kernel alone, operands in L1: {g:.1} GFLOP/s, {:.1}% of {peak:.1}",
                100.0 * g / peak
            );
        }
    }
}

/// Every kernel × thread count for one shape (the naive loop would take
/// minutes on the largest shapes: not above 1 GFLOP).
fn gemm_cases(args: &BenchGemmArgs, shape: Shape) -> Vec<GemmCase> {
    let kernels = args
        .kernels
        .iter()
        .filter(|&&k| k != Kernel::Naive || shape.flops() <= 1e9);
    kernels
        .flat_map(|&kernel| {
            args.threads.iter().map(move |&threads| GemmCase {
                kernel,
                threads,
                prepacked: args.prepacked,
            })
        })
        .collect()
}

fn print_gemm_case(args: &BenchGemmArgs, shape: Shape, case: &GemmCase, gflops: f64, peak: f64) {
    let (k, t) = (case.kernel, case.threads);
    let pct = 100.0 * gflops / peak;
    if args.json {
        let b = Gemm::<f32>::with_kernel(k).expect("an available kernel").blocks();
        let blocks = Json::Array(vec![Json::from(b.mc), Json::from(b.kc), Json::from(b.nc)]);
        let line = Json::object([
            ("m", Json::from(shape.m)),
            ("k", Json::from(shape.k)),
            ("n", Json::from(shape.n)),
            ("kernel", Json::from(k.name())),
            ("threads", Json::from(t)),
            ("gflops", Json::from(gflops)),
            ("peak_gflops", Json::from(peak)),
            ("percent_of_peak", Json::from(pct)),
            ("prepacked", Json::from(args.prepacked)),
            ("blocks", blocks),
        ]);
        say!("{line}");
    } else {
        let dims = format!("{}×{}·{}×{}", shape.m, shape.k, shape.k, shape.n);
        say!("{dims:>22} {k:>9} {t:>7} {gflops:>9.1} {peak:>9.1} {pct:>6.1}%");
    }
}

/// Thread scaling beside what the cores themselves gave in the same rounds:
/// a shared machine's second core is not always a whole core.
fn print_thread_scaling(shape: Shape, cases: &[GemmCase], results: &[(f64, f64)]) {
    let measured = || cases.iter().zip(results);
    for (case, &(g, peak)) in measured().filter(|(c, _)| c.threads > 1) {
        let Some((_, &(g1, peak1))) = measured().find(|(c, _)| c.kernel == case.kernel && c.threads == 1) else {
            continue;
        };
        let split = Gemm::<f32>::with_kernel(case.kernel)
            .map(|g| g.with_threads(case.threads).workers(shape.m, shape.k, shape.n) > 1);
        if split == Some(false) {
            say!(
                "{:>22} {:>9} {} threads: not split (too small to pay for starting threads)",
                "",
                case.kernel,
                case.threads
            );
            continue;
        }
        say!(
            "{:>22} {:>9} {} threads: {:.2}× one thread (FMA peak: {:.2}×)",
            "",
            case.kernel,
            case.threads,
            g / g1,
            peak / peak1
        );
    }
}

/// `bench train`: one training step (forward, backward, clipping, the
/// configuration's optimizer), tokens per second at the fastest and the
/// median step, and each thread count's speed-up over one thread.
pub fn bench_train(args: &BenchTrainArgs) -> Result<()> {
    let budget = Duration::from_millis(args.budget_ms);
    for c in TRAIN_CONFIGS {
        let results = time_train_steps(c, args.kernel, &args.threads, budget).expect("kernel is available");
        let one = args
            .threads
            .iter()
            .zip(&results)
            .find(|(&t, _)| t == 1)
            .map(|(_, r)| *r);
        for (&t, r) in args.threads.iter().zip(&results) {
            // Fastest step over fastest step, and median over median: on a
            // shared machine the fastest steps of two runs can be outliers
            // of different sizes, so both are given.
            let speedup = one.filter(|_| t > 1).map(|one| {
                (
                    r.tokens_per_s / one.tokens_per_s,
                    r.median_tokens_per_s / one.median_tokens_per_s,
                )
            });
            if args.json {
                let mut fields = vec![
                    ("config", Json::from(c.name())),
                    ("threads", Json::from(t)),
                    ("tokens_per_s", Json::from(r.tokens_per_s)),
                    ("median_tokens_per_s", Json::from(r.median_tokens_per_s)),
                    ("gemm_share", Json::from(r.gemm_share)),
                    ("gflops", Json::from(r.gflops)),
                    ("peak_share", Json::from(r.peak_share)),
                ];
                if let Some((fastest, median)) = speedup {
                    fields.push(("speedup", Json::from(fastest)));
                    fields.push(("median_speedup", Json::from(median)));
                }
                say!("{}", Json::object(fields));
            } else {
                let speedup = speedup
                    .map(|(fastest, median)| format!(", {fastest:.2}× one thread, median {median:.2}×"))
                    .unwrap_or_default();
                say!(
                    "{:<40} threads {t}: {:>9.0} tokens/s (median step {:>9.0}; {:.1} GFLOP/s, {:.0}% of peak; GEMM {:.0}% of the step{speedup})",
                    c.name(),
                    r.tokens_per_s,
                    r.median_tokens_per_s,
                    r.gflops,
                    100.0 * r.peak_share,
                    100.0 * r.gemm_share
                );
            }
        }
    }
    Ok(())
}

/// `bench generate`: tokens/s of generation per model, one sample and 32,
/// f32 and bf16 weights (f16 for one sample), timed in the same rounds; for one sample of a
/// full softmax, the weight bytes a token reads and the rate they stream.
pub fn bench_generate(args: &BenchGenerateArgs) -> Result<()> {
    let budget = Duration::from_millis(args.budget_ms);
    for c in GENERATE_CONFIGS {
        let speeds = time_generation(c, args.kernel, &GENERATE_CASES, budget).expect("kernel is available");
        let f32_speed = |samples: usize| {
            GENERATE_CASES
                .iter()
                .zip(&speeds)
                .find(|(k, _)| k.samples == samples && k.weights == Weights::F32)
                .map(|(_, s)| s.best)
        };
        for (case, s) in GENERATE_CASES.iter().zip(&speeds) {
            let speed = s.best;
            let bytes = c.weight_bytes_per_token(case.weights).filter(|_| case.samples == 1);
            let gb_per_s = bytes.map(|b| b as f64 * speed / 1e9);
            let vs_f32 = f32_speed(case.samples)
                .filter(|_| case.weights != Weights::F32)
                .map(|f| speed / f);
            if args.json {
                let mut fields = vec![
                    ("config", Json::from(c.name())),
                    ("samples", Json::from(case.samples)),
                    ("weights", Json::from(case.weights.name())),
                    ("tokens_per_s", Json::from(speed)),
                    ("median_tokens_per_s", Json::from(s.median)),
                ];
                if let (Some(b), Some(g)) = (bytes, gb_per_s) {
                    fields.push(("weight_bytes_per_token", Json::from(b)));
                    fields.push(("weight_gb_per_s", Json::from(g)));
                }
                if let Some(x) = vs_f32 {
                    fields.push(("vs_f32", Json::from(x)));
                }
                say!("{}", Json::object(fields));
            } else {
                let stream = match (bytes, gb_per_s) {
                    (Some(b), Some(g)) => format!(", {:.0} KiB of weights a token at {g:.0} GB/s", b as f64 / 1024.0),
                    _ => String::new(),
                };
                let ratio = vs_f32.map(|x| format!(", {x:.2}× f32")).unwrap_or_default();
                say!(
                    "{:<28} samples {:>2} {:<4}: {:>9.0} tokens/s (median run {:>9.0}){stream}{ratio}",
                    c.name(),
                    case.samples,
                    case.weights.name(),
                    speed,
                    s.median
                );
            }
        }
    }
    Ok(())
}

/// `bench score`: `score --sentences`' batched scoring against `eval`'s
/// one stream on the same text, tokens per second and their ratio.
pub fn bench_score(args: &BenchScoreArgs) -> Result<()> {
    let model = crate::train::checkpoint::load(&args.model)?.model;
    let text = crate::io::fs::read_text(&args.sentences)?;
    let end = sentence_end(&model.vocab)?;
    let sentences: Vec<_> = text.lines().map(|l| sentence(&model.vocab, l, end)).collect();
    let (stream, _) = super::to_score::tokens_to_score(&model.vocab, &args.sentences, "--sentences")?;
    let budget = Duration::from_millis(args.budget_ms);
    let (eval_tps, score_tps) = time_scoring(
        &model.params,
        &stream,
        &sentences,
        end,
        args.batch,
        args.threads,
        budget,
    );
    if args.json {
        say!(
            "{}",
            Json::object([
                ("sentences", Json::from(sentences.len())),
                ("batch", Json::from(args.batch)),
                ("threads", Json::from(args.threads)),
                ("eval_tokens_per_s", Json::from(eval_tps)),
                ("score_tokens_per_s", Json::from(score_tps)),
                ("ratio", Json::from(score_tps / eval_tps)),
            ])
        );
    } else {
        say!(
            "{} sentences, {} thread(s): eval (one stream) {eval_tps:.0} tokens/s; score --sentences (batch {}) {score_tps:.0} tokens/s; ratio {:.2}",
            sentences.len(),
            args.threads,
            args.batch,
            score_tps / eval_tps
        );
    }
    Ok(())
}
