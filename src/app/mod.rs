//! Running a parsed [`Command`]: resolve its arguments into a job, run it,
//! print. One file per command family.
//!
//! | file | commands |
//! |---|---|
//! | [`train`](mod@train) | `train` |
//! | [`demo`] | the main job (`rnnlm` alone): train on the bundled corpus, compare, sample |
//! | [`score`] | `eval`, `predict`, `generate` |
//! | [`sentences`] | `score`: sentences scored one by one, n-best lists rescored |
//! | [`mix`] | `--mix`: the n-gram of a mixture, λ by EM |
//! | [`to_score`] | a text read to be scored: its tokens, what was skipped |
//! | [`surprisal`] | `eval --per-token` and `--html`: each token's surprisal |
//! | [`tools`] | `gradcheck`, `export`, `import`, `ngram`, `synth` |
//! | [`plot`] | `plot`: learning curves as SVG |
//! | [`bench`](mod@bench) | `bench gemm`, `bench train`, `bench generate`, `bench score` |

/// `println!` to stdout that never panics: when the reader has gone away
/// (`rnnlm … | head`) the line is dropped and the command carries on, so
/// a run still finishes and saves what it was asked to; any other write
/// error is reported on stderr.
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::app::write_stdout(format_args!("{}\n", format_args!($($arg)*)))
    };
}

pub mod bench;
pub mod demo;
pub mod mix;
pub mod plot;
pub mod score;
pub mod sentences;
pub mod surprisal;
pub mod to_score;
pub mod tools;
pub mod train;

use std::path::Path;

use crate::cli::Command;
use crate::error::{Error, Result};
use crate::matmul::Kernel;

/// Write to stdout for [`say!`] (and `print!`-like uses): a closed pipe is
/// ignored, other errors are reported on stderr.
pub(crate) fn write_stdout(args: std::fmt::Arguments) {
    use std::io::Write;
    if let Err(e) = std::io::stdout().lock().write_fmt(args) {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            eprintln!("rnnlm: warning: stdout: {e}");
        }
    }
}

/// Run a command to completion.
pub fn run(cmd: Command) -> Result<()> {
    warn_about_kernel_env();
    match cmd {
        Command::Help(text) => {
            write_stdout(format_args!("{text}"));
            Ok(())
        }
        Command::Demo(args) => demo::demo(&args),
        Command::Train(args) => train::train(&args),
        Command::Eval(args) => score::eval(&args),
        Command::Score(args) => sentences::score(&args),
        Command::Predict(args) => score::predict(&args),
        Command::Generate(args) => score::generate(&args),
        Command::Gradcheck(args) => tools::gradcheck(&args),
        Command::Ngram(args) => tools::ngram(&args),
        Command::Synth(args) => tools::synth(&args),
        Command::Export { model, out } => tools::export(&model, &out),
        Command::Import { dir, out } => tools::import(&dir, &out),
        Command::Plot { logs, out } => plot::plot(&logs, &out),
        Command::BenchGemm(args) => bench::bench_gemm(&args),
        Command::BenchTrain(args) => bench::bench_train(&args),
        Command::BenchGenerate(args) => bench::bench_generate(&args),
        Command::BenchScore(args) => bench::bench_score(&args),
    }
}

/// `RNNLM_KERNEL` names a kernel to force, `RNNLM_BLOCKS` its block sizes;
/// say so when they cannot be used (the matmul then picks the best
/// available kernel, and its own block sizes).
fn warn_about_kernel_env() {
    if let Ok(text) = std::env::var("RNNLM_BLOCKS") {
        let kernel = crate::matmul::Gemm::<f32>::new().kernel();
        let (mr, nr) = crate::matmul::tile::<f32>(kernel);
        if let Err(e) = crate::matmul::Blocks::parse(&text, mr, nr) {
            eprintln!("rnnlm: note: RNNLM_BLOCKS {e} (the {kernel} kernel's tile is {mr} × {nr}); ignored");
        }
    }
    if let Ok(name) = std::env::var("RNNLM_KERNEL") {
        match Kernel::parse(&name) {
            None => eprintln!("rnnlm: note: RNNLM_KERNEL={name:?} is not naive, portable, avx2 or avx512; ignored"),
            Some(k) if !k.is_available() => {
                eprintln!(
                    "rnnlm: note: RNNLM_KERNEL={name}: this CPU cannot run it; using {}",
                    Kernel::detect()
                )
            }
            Some(_) => {}
        }
    }
}

/// Prefix a data error with the file it is about.
fn in_file(path: &Path, e: Error) -> Error {
    match e {
        Error::Data(m) => Error::Data(format!("{}: {m}", path.display())),
        e => e,
    }
}
