//! Running a parsed [`Command`]: resolve the flags into a job, run it, print.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::bench;
use crate::checkpoint::{self, Model, Settings};
use crate::cli::{Command, Flags};
use crate::data::{Level, Vocab};
use crate::error::{read_text, Error, Result};
use crate::gradcheck;
use crate::matmul::{Gemm, Kernel};
use crate::model::{Config, Params, Workspace};
use crate::rng::Rng;
use crate::sample::{self, Sampling};
use crate::train::trainer::{self, Job};
use crate::train::Kind;

/// Run a command to completion.
pub fn run(cmd: Command) -> Result<()> {
    warn_about_kernel_env();
    match cmd.name.as_str() {
        "help" => {
            print!("{}", cmd.help.unwrap_or_default());
            Ok(())
        }
        "train" => train(&cmd.flags),
        "eval" => eval(&cmd.flags),
        "generate" => generate(&cmd.flags),
        "gradcheck" => gradcheck_cmd(&cmd.flags),
        "export" => {
            let model = checkpoint::load(Path::new(cmd.flags.required("--model")?))?.model;
            let out = PathBuf::from(cmd.flags.required("--out")?);
            crate::interop::export(&model, &out)?;
            eprintln!("wrote {}", out.display());
            Ok(())
        }
        "import" => {
            let dir = PathBuf::from(cmd.flags.required("--dir")?);
            let out = PathBuf::from(cmd.flags.required("--out")?);
            crate::interop::import_to(&dir, &out)?;
            eprintln!("wrote {}", out.display());
            Ok(())
        }
        "bench gemm" => bench_gemm(&cmd.flags),
        "bench train" => bench_train(&cmd.flags),
        "demo" => demo(&cmd.flags),
        "ngram" => ngram_cmd(&cmd.flags),
        "synth" => synth_cmd(&cmd.flags),
        other => Err(Error::Usage(format!("unknown command '{other}'"))),
    }
}

/// `RNNLM_KERNEL` names a kernel to force; say so when it cannot be used
/// (the matmul then picks the best available one).
fn warn_about_kernel_env() {
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

/// Split text into (train, valid) at a char boundary `frac` from the end,
/// moved forward to the next line start so no line is cut.
fn split_valid(text: &str, frac: f64) -> (&str, &str) {
    if frac <= 0.0 {
        return (text, "");
    }
    let mut at = ((text.len() as f64) * (1.0 - frac)) as usize;
    while at < text.len() && !text.is_char_boundary(at) {
        at += 1;
    }
    if let Some(nl) = text[at..].find('\n') {
        at += nl + 1;
    }
    text.split_at(at)
}

/// `train`: resolve flags, build or restore the model, run.
fn train(f: &Flags) -> Result<()> {
    let corpus = PathBuf::from(f.required("--corpus")?);
    let out = PathBuf::from(f.str("--out").unwrap_or("model.ckpt"));
    let (_, report) = train_job(f, &corpus, out.clone(), None)?;
    eprintln!("{report}");
    eprintln!("saved {}", out.display());
    Ok(())
}

/// Shared by `train` and the demo: returns the trained model and a summary.
fn train_job(f: &Flags, corpus: &Path, out: PathBuf, time: Option<f64>) -> Result<(Model, String)> {
    let text = read_text(corpus)?;
    if text.trim().is_empty() {
        return Err(Error::Data(format!("{}: the corpus is empty", corpus.display())));
    }
    let valid_frac = f.number("--valid-frac", 0.1, 0.0, 0.9)?;
    let (train_text, valid_text) = match f.str("--valid") {
        Some(v) => {
            let vt = read_text(Path::new(v))?;
            (text.as_str(), vt)
        }
        None => {
            let (a, b) = split_valid(&text, valid_frac);
            (a, b.to_string())
        }
    };
    let threads = f.count("--threads", 1, 1)?;
    let resume = f.str("--resume").map(PathBuf::from);
    let init = f.str("--init").map(PathBuf::from);
    if resume.is_some() && init.is_some() {
        return Err(Error::Usage("--resume and --init cannot be used together".into()));
    }
    // Flags that a checkpoint overrides: say so rather than ignore them silently.
    let shape_flags = ["--level", "--embed", "--hidden", "--min-count", "--max-vocab"];
    let run_flags = [
        "--batch",
        "--seq-len",
        "--optimizer",
        "--lr",
        "--clip",
        "--seed",
        "--epochs",
        "--min-improvement",
        "--patience",
    ];
    let overridden: Vec<&str> = match (&resume, &init) {
        (Some(_), _) => shape_flags
            .iter()
            .chain(&run_flags)
            .copied()
            .filter(|x| f.has(x))
            .collect(),
        (None, Some(_)) => shape_flags.iter().copied().filter(|x| f.has(x)).collect(),
        (None, None) => Vec::new(),
    };
    if !overridden.is_empty() {
        let source = if resume.is_some() { "--resume" } else { "--init" };
        eprintln!(
            "rnnlm: note: {} ignored: {source} takes these from the checkpoint",
            overridden.join(", ")
        );
    }
    let (model, state) = if let Some(path) = &resume {
        let ck = checkpoint::load(path)?;
        let state = ck.train.ok_or_else(|| {
            Error::format(
                path,
                "holds no training state (saved without it); use --init to fine-tune from it",
            )
        })?;
        (ck.model, state)
    } else {
        let level = level_flag(f)?;
        let kind_name = f.str("--optimizer").unwrap_or("adam");
        let kind = Kind::parse(kind_name)
            .ok_or_else(|| Error::Usage(format!("--optimizer: '{kind_name}' is not sgd, adagrad or adam")))?;
        let settings = Settings {
            batch: f.count("--batch", 32, 1)?,
            seq_len: f.count("--seq-len", 64, 1)?,
            optimizer: kind,
            lr: f.number("--lr", kind.default_lr(), 0.0, f32::MAX as f64)?,
            clip: f.number("--clip", 5.0, 0.0, 1e12)?,
            seed: f.u64("--seed", 1)?,
            epochs: f.count("--epochs", 10, 1)?,
            min_improvement: f.number("--min-improvement", 0.003, 0.0, 1.0)?,
            patience: f.count("--patience", 3, 1)?,
        };
        let model = match &init {
            Some(path) => checkpoint::load(path)?.model,
            None => {
                let vocab = Vocab::build(
                    train_text,
                    level,
                    f.count("--min-count", 1, 1)?,
                    f.count("--max-vocab", 50_000, 3)?,
                );
                let config = Config {
                    vocab: vocab.len(),
                    embed: f.count("--embed", 64, 1)?,
                    hidden: f.count("--hidden", 256, 1)?,
                };
                let params = Params::init(config, &mut Rng::new(settings.seed));
                Model { vocab, params }
            }
        };
        let state = trainer::fresh_state(settings, &model.params);
        (model, state)
    };
    let train_ids = model.vocab.encode(train_text).map_err(|e| in_file(corpus, e))?;
    let valid_ids = model.vocab.encode(&valid_text).map_err(|e| in_file(corpus, e))?;
    let s = &state.settings;
    if train_ids.len() < s.batch * s.seq_len.min(2) + 1 {
        return Err(Error::Data(format!(
            "{}: {} training tokens is shorter than one chunk of --batch {} × --seq-len {}; lower --batch or --seq-len",
            corpus.display(),
            train_ids.len(),
            s.batch,
            s.seq_len
        )));
    }
    let unigram = trainer::unigram_nats(&train_ids, &valid_ids, model.vocab.len());
    let quiet = f.has("--quiet");
    if !quiet {
        let c = model.params.config;
        eprintln!(
            "{} level, V={} D={} H={} ({} parameters), {} train / {} valid tokens, B={} T={}, {} lr {}",
            model.vocab.level.name(),
            c.vocab,
            c.embed,
            c.hidden,
            c.num_params(),
            train_ids.len(),
            valid_ids.len(),
            s.batch,
            s.seq_len,
            s.optimizer.name(),
            state.lr
        );
    }
    let job = Job {
        model,
        state,
        train_ids,
        valid_ids: valid_ids.clone(),
        threads,
        max_steps: f.opt_count("--steps", 1)?.map(|x| x as u64),
        max_seconds: time.or(f.opt_number("--time", 0.0, 1e9)?),
        out: Some(out),
        log: f.str("--log").map(PathBuf::from),
        save_every: f.opt_count("--save-every", 1)?.map(|x| x as u64),
        best: f.str("--best").map(PathBuf::from),
        quiet,
    };
    let out_path = job.out.clone().expect("training always has an output file");
    let outcome = trainer::run(job)?;
    let outcome_model = checkpoint::load(&out_path)?.model;
    let mut report = format!(
        "trained {} steps ({} epochs) at {:.0} tokens/s; last train loss {:.4}",
        outcome.steps, outcome.epochs_done, outcome.tokens_per_s, outcome.last_train_loss
    );
    if !valid_ids.is_empty() {
        let mut ws = Workspace::new(Gemm::new().with_threads(threads));
        let (_, nats) = trainer::evaluate(&outcome_model.params, &valid_ids, &mut ws);
        report += &format!(
            "\nvalidation: perplexity {:.3} ({:.4} bits/token); unigram baseline {:.3} ({:.4} bits/token)",
            nats.exp(),
            nats / std::f64::consts::LN_2,
            unigram.exp(),
            unigram / std::f64::consts::LN_2
        );
    }
    if let Some(kib) = bench::peak_rss_kib() {
        report += &format!("\npeak memory {kib} KiB");
    }
    if outcome.stopped_early {
        report += "\nstopped early: validation stopped improving";
    }
    Ok((outcome_model, report))
}

/// `--level` as typed (default char).
fn level_flag(f: &Flags) -> Result<Level> {
    let name = f.str("--level").unwrap_or("char");
    Level::parse(name).ok_or_else(|| Error::Usage(format!("--level: '{name}' is not char or word")))
}

/// Read and encode a text to score: at least two tokens, or an error.
fn tokens_to_score(vocab: &Vocab, path: &Path) -> Result<Vec<u32>> {
    let ids = vocab.encode(&read_text(path)?).map_err(|e| in_file(path, e))?;
    if ids.len() < 2 {
        return Err(Error::Data(format!(
            "{}: fewer than two tokens; nothing to predict",
            path.display()
        )));
    }
    Ok(ids)
}

fn in_file(path: &Path, e: Error) -> Error {
    match e {
        Error::Data(m) => Error::Data(format!("{}: {m}", path.display())),
        e => e,
    }
}

/// `eval`: tokens, nats/token, perplexity, bits/token.
fn eval(f: &Flags) -> Result<()> {
    let model = checkpoint::load(Path::new(f.required("--model")?))?.model;
    let corpus = PathBuf::from(f.required("--corpus")?);
    let ids = tokens_to_score(&model.vocab, &corpus)?;
    let mut ws = Workspace::new(Gemm::new());
    let (tokens, nats) = trainer::evaluate(&model.params, &ids, &mut ws);
    let bits = nats / std::f64::consts::LN_2;
    if f.has("--json") {
        println!(
            "{{\"tokens\": {tokens}, \"nats_per_token\": {nats}, \"perplexity\": {}, \"bits_per_token\": {bits}}}",
            nats.exp()
        );
    } else {
        println!("tokens          {tokens}");
        println!("nats/token      {nats:.6}");
        println!("perplexity      {:.4}", nats.exp());
        println!("bits/token      {bits:.6}");
    }
    Ok(())
}

fn sampling(f: &Flags) -> Result<Sampling> {
    Ok(Sampling {
        temperature: f.number("--temperature", 1.0, 0.0, 1e3)?,
        top_k: f.count("--top-k", 0, 0)?,
        top_p: f.number("--top-p", 1.0, 1e-9, 1.0)?,
    })
}

/// `generate`: prime, then sample token by token, printing as they come.
fn generate(f: &Flags) -> Result<()> {
    let model = checkpoint::load(Path::new(f.required("--model")?))?.model;
    let prime_text = f.str("--prime").unwrap_or("");
    let prime = model
        .vocab
        .encode(prime_text)
        .map_err(|e| Error::Usage(format!("--prime: {e}")))?;
    // Word level adds <eos> after the last line; drop it so the prime continues.
    let prime = match model.vocab.level {
        Level::Word if !prime_text.ends_with('\n') => prime[..prime.len().saturating_sub(1)].to_vec(),
        _ => prime,
    };
    let len = f.count("--len", 500, 0)?;
    let s = sampling(f)?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    print!("{prime_text}");
    sample::generate(&model.params, &model.vocab, &prime, len, s, f.u64("--seed", 1)?, |t| {
        let _ = out.write_all(t.as_bytes());
        let _ = out.flush();
    });
    println!();
    Ok(())
}

/// `gradcheck`: max relative error per tensor on a small random model.
fn gradcheck_cmd(f: &Flags) -> Result<()> {
    let case = gradcheck::Case {
        config: Config {
            vocab: f.count("--vocab", 7, 2)?,
            embed: f.count("--embed", 5, 1)?,
            hidden: f.count("--hidden", 6, 1)?,
        },
        batch: f.count("--batch", 3, 1)?,
        steps: f.count("--seq-len", 7, 1)?,
        seed: f.u64("--seed", 1)?,
        h0_scale: 0.5,
        path: None,
        sample: f.opt_count("--sample", 1)?,
    };
    let report = case.build().check();
    print!("{report}");
    let worst = report.max_rel_error();
    println!(
        "max relative error {worst:.3e} (threshold {:.0e})",
        gradcheck::THRESHOLD
    );
    if !report.passes(gradcheck::THRESHOLD) {
        return Err(Error::Numeric(format!(
            "gradient check failed: {} has relative error {worst:.3e}",
            report.worst().name
        )));
    }
    Ok(())
}

fn thread_list(f: &Flags) -> Result<Vec<usize>> {
    Ok(match f.opt_count("--threads", 1)? {
        Some(t) => vec![t],
        None => vec![1, 2],
    })
}

const GIB: f64 = (1u64 << 30) as f64;
/// Largest operand memory `bench gemm --shape` accepts (per case).
const MAX_BENCH_BYTES: f64 = 4.0 * GIB;

/// `--kernel`, if given: a kernel this CPU can run.
fn kernel_flag(f: &Flags) -> Result<Option<Kernel>> {
    let Some(name) = f.str("--kernel") else {
        return Ok(None);
    };
    let k = Kernel::parse(name).ok_or_else(|| Error::Usage(format!("--kernel: '{name}' is not a kernel name")))?;
    if !k.is_available() {
        return Err(Error::Usage(format!("--kernel: this CPU cannot run the {k} kernel")));
    }
    Ok(Some(k))
}

/// `bench gemm`: GFLOP/s and share of the measured peak per shape and kernel.
fn bench_gemm(f: &Flags) -> Result<()> {
    let kernels = match kernel_flag(f)? {
        Some(k) => vec![k],
        None => Kernel::available(),
    };
    let json = f.has("--json");
    let threads = thread_list(f)?;
    let budget_ms = f.u64("--budget", 200)?;
    let prepacked = f.has("--prepacked");
    let shapes = match f.str("--shape") {
        None => bench::GEMM_SHAPES.to_vec(),
        Some(list) => list
            .split(',')
            .map(|s| {
                bench::Shape::parse(s)
                    .ok_or_else(|| Error::Usage(format!("--shape: '{s}' is not MxKxN with sizes of at least 1")))
            })
            .collect::<Result<Vec<_>>>()?,
    };
    for s in &shapes {
        // A, B, C, packed B and a copy of C per measured case.
        let bytes = 4.0 * (s.m as f64 * s.k as f64 + 2.0 * s.k as f64 * s.n as f64 + 2.0 * s.m as f64 * s.n as f64);
        if bytes > MAX_BENCH_BYTES {
            return Err(Error::Usage(format!(
                "--shape: {}x{}x{} needs about {:.1} GiB of operands; at most {:.0} GiB",
                s.m,
                s.k,
                s.n,
                bytes / GIB,
                MAX_BENCH_BYTES / GIB
            )));
        }
    }
    if !json {
        for &k in &kernels {
            if let Some((g, peak)) = bench::time_micro_kernel(k, Duration::from_millis(budget_ms.min(500))) {
                println!(
                    "{k} micro-kernel alone, operands in L1: {g:.1} GFLOP/s, {:.1}% of {peak:.1}",
                    100.0 * g / peak
                );
            }
        }
    }
    if !json {
        println!("peak: the FMA peak for the kernel's instructions on as many cores, timed in the same rounds");
        println!(
            "{:>22} {:>9} {:>7} {:>9} {:>9} {:>7}",
            "m × k · k × n", "kernel", "threads", "GFLOP/s", "peak", "% peak"
        );
    }
    for shape in shapes {
        let mut cases = Vec::new();
        for &kernel in &kernels {
            // The naive loop would take minutes on the largest shapes.
            if kernel == Kernel::Naive && shape.flops() > 1e9 {
                continue;
            }
            for &threads in &threads {
                cases.push(bench::GemmCase {
                    kernel,
                    threads,
                    prepacked,
                });
            }
        }
        if cases.is_empty() {
            eprintln!(
                "rnnlm: note: {}x{}x{} skipped: the naive loop is not timed above 1 GFLOP",
                shape.m, shape.k, shape.n
            );
            continue;
        }
        let per_case = budget_ms.max(2 * (shape.flops() / 5e7) as u64);
        let budget = Duration::from_millis(per_case * cases.len() as u64);
        let results = bench::time_gemm_cases(shape, &cases, budget).expect("kernels are available");
        for (case, &(g, peak)) in cases.iter().zip(&results) {
            let (k, t) = (case.kernel, case.threads);
            let pct = 100.0 * g / peak;
            if json {
                println!(
                    "{{\"m\": {}, \"k\": {}, \"n\": {}, \"kernel\": \"{k}\", \"threads\": {t}, \"gflops\": {g:.3}, \"peak_gflops\": {peak:.3}, \"percent_of_peak\": {pct:.1}, \"prepacked\": {prepacked}}}",
                    shape.m, shape.k, shape.n
                );
            } else {
                let dims = format!("{}×{}·{}×{}", shape.m, shape.k, shape.k, shape.n);
                println!("{dims:>22} {k:>9} {t:>7} {g:>9.1} {peak:>9.1} {pct:>6.1}%");
            }
        }
        if !json {
            // Thread scaling beside what the cores themselves gave in the
            // same rounds: a shared machine's second core is not always a
            // whole core.
            for (case, &(g, peak)) in cases.iter().zip(&results) {
                let one = cases
                    .iter()
                    .zip(&results)
                    .find(|(c, _)| c.kernel == case.kernel && c.threads == 1);
                if let (true, Some((_, &(g1, peak1)))) = (case.threads > 1, one) {
                    let split = Gemm::<f32>::with_kernel(case.kernel)
                        .map(|g| g.with_threads(case.threads).workers(shape.m, shape.k, shape.n) > 1);
                    if split == Some(false) {
                        println!(
                            "{:>22} {:>9} {} threads: not split (too small to pay for starting threads)",
                            "", case.kernel, case.threads
                        );
                        continue;
                    }
                    println!(
                        "{:>22} {:>9} {} threads: {:.2}× one thread (FMA peak: {:.2}×)",
                        "",
                        case.kernel,
                        case.threads,
                        g / g1,
                        peak / peak1
                    );
                }
            }
        }
    }
    Ok(())
}

/// `bench train`: forward + backward + Adam step, tokens per second.
fn bench_train(f: &Flags) -> Result<()> {
    let json = f.has("--json");
    let threads = thread_list(f)?;
    let budget = Duration::from_millis(f.u64("--budget", 1500)?);
    let kernel = kernel_flag(f)?.unwrap_or_else(Kernel::best);
    for c in bench::TRAIN_CONFIGS {
        let results = bench::time_train_steps(c, kernel, &threads, budget).expect("kernel is available");
        for (&t, r) in threads.iter().zip(results) {
            if json {
                println!(
                    "{{\"config\": \"{}\", \"threads\": {t}, \"tokens_per_s\": {:.1}, \"gemm_share\": {:.3}}}",
                    c.name(),
                    r.tokens_per_s,
                    r.gemm_share
                );
            } else {
                println!(
                    "{:<34} threads {t}: {:>9.0} tokens/s (GEMM {:.0}% of the step)",
                    c.name(),
                    r.tokens_per_s,
                    100.0 * r.gemm_share
                );
            }
        }
    }
    Ok(())
}

/// Find the bundled corpus: next to the sources, or in the working folder.
fn bundled_corpus() -> Result<PathBuf> {
    let name = "corpus/demo.txt";
    let candidates = [Path::new(env!("CARGO_MANIFEST_DIR")).join(name), PathBuf::from(name)];
    candidates.iter().find(|p| p.exists()).cloned().ok_or_else(|| {
        Error::Data(format!(
            "the bundled corpus {name} is missing; run from the repository folder"
        ))
    })
}

/// The main job: train char-level on the bundled corpus for about a minute,
/// compare with the unigram baseline, save, and print samples.
fn demo(f: &Flags) -> Result<()> {
    let corpus = bundled_corpus()?;
    let seconds = f.number("--time", 60.0, 1.0, 1e6)?;
    let out = PathBuf::from(f.str("--out").unwrap_or("rnnlm-demo.ckpt"));
    eprintln!(
        "rnnlm demo: training a char-level model on {} for {seconds:.0} s",
        corpus.display()
    );
    let demo_flags = crate::cli::parse(
        [
            "train",
            "--corpus",
            "x",
            "--level",
            "char",
            "--embed",
            "64",
            "--hidden",
            "256",
            "--seq-len",
            "64",
            "--batch",
            "32",
            "--epochs",
            "1000",
            "--patience",
            "1000",
            "--lr",
            "0.003",
        ]
        .iter()
        .map(|s| s.to_string())
        .chain(
            f.str("--threads")
                .map(|t| vec!["--threads".to_string(), t.to_string()])
                .unwrap_or_default(),
        ),
    )?
    .flags;
    let (model, report) = train_job(&demo_flags, &corpus, out.clone(), Some(seconds))?;
    println!("{report}");
    println!("saved {}", out.display());
    for (temp, prime) in [(0.5, "The "), (0.8, "The "), (0.8, "우리는 ")] {
        let prime_ids = model.vocab.encode(prime).unwrap_or_default();
        println!("\n--- sample, temperature {temp}, prime {prime:?} ---");
        let mut text = prime.to_string();
        let s = Sampling {
            temperature: temp,
            top_k: 0,
            top_p: 1.0,
        };
        sample::generate(&model.params, &model.vocab, &prime_ids, 300, s, 7, |t| text.push_str(t));
        println!("{text}");
    }
    println!(
        "\nnext: rnnlm generate --model {} --prime \"The \" --temperature 0.7",
        out.display()
    );
    Ok(())
}

/// `ngram`: Kneser–Ney and unigram cross-entropy of `--eval` after training
/// on `--corpus`, with `eval`'s tokenization and definition.
fn ngram_cmd(f: &Flags) -> Result<()> {
    let corpus = PathBuf::from(f.required("--corpus")?);
    let eval_path = PathBuf::from(f.required("--eval")?);
    let order = f.count("--order", 5, 1)?;
    if order > crate::ngram::MAX_ORDER {
        return Err(Error::Usage(format!(
            "--order: {order} is too large (at most {})",
            crate::ngram::MAX_ORDER
        )));
    }
    let level = level_flag(f)?;
    let train_text = read_text(&corpus)?;
    let vocab = Vocab::build(
        &train_text,
        level,
        f.count("--min-count", 1, 1)?,
        f.count("--max-vocab", 50_000, 3)?,
    );
    if vocab.len() > 1 << 16 {
        return Err(Error::Usage(format!(
            "the vocabulary has {} tokens; n-grams support 65536",
            vocab.len()
        )));
    }
    let train = vocab.encode(&train_text).map_err(|e| in_file(&corpus, e))?;
    let test = tokens_to_score(&vocab, &eval_path)?;
    let model = crate::ngram::KneserNey::train(&train, order, vocab.len());
    let nats = model.cross_entropy(&test);
    let unigram = trainer::unigram_nats(&train, &test, vocab.len());
    let ln2 = std::f64::consts::LN_2;
    if f.has("--json") {
        println!(
            "{{\"order\": {order}, \"tokens\": {}, \"nats_per_token\": {nats}, \"perplexity\": {}, \"bits_per_token\": {}, \"unigram_perplexity\": {}, \"unigram_bits_per_token\": {}}}",
            test.len() - 1,
            nats.exp(),
            nats / ln2,
            unigram.exp(),
            unigram / ln2
        );
    } else {
        println!("tokens              {}", test.len() - 1);
        println!("KN{order} nats/token      {nats:.6}");
        println!("KN{order} perplexity      {:.4}", nats.exp());
        println!("KN{order} bits/token      {:.6}", nats / ln2);
        println!(
            "unigram perplexity  {:.4} ({:.4} bits/token)",
            unigram.exp(),
            unigram / ln2
        );
    }
    Ok(())
}

/// `synth`: write train.txt, test.txt and truth.json.
fn synth_cmd(f: &Flags) -> Result<()> {
    let kind = f.required("--kind")?;
    let out = PathBuf::from(f.required("--out")?);
    let seed = f.u64("--seed", 1)?;
    let (train, test) = (f.count("--train", 100_000, 10)?, f.count("--test", 20_000, 10)?);
    let sample = match kind {
        "hmm" => crate::synth::hmm(seed, train, test),
        "copy" => crate::synth::copy(seed, train, test),
        other => return Err(Error::Usage(format!("--kind: '{other}' is not hmm or copy"))),
    };
    std::fs::create_dir_all(&out).map_err(|e| Error::io(&out, e))?;
    checkpoint::write_atomic(&out.join("train.txt"), sample.train.as_bytes())?;
    checkpoint::write_atomic(&out.join("test.txt"), sample.test.as_bytes())?;
    checkpoint::write_atomic(
        &out.join("truth.json"),
        crate::synth::truth_json(kind, seed, &sample).as_bytes(),
    )?;
    eprintln!(
        "wrote {}: true cross-entropy of test.txt {:.4} nats/token (perplexity {:.3})",
        out.display(),
        sample.test_nats,
        sample.test_nats.exp()
    );
    Ok(())
}
