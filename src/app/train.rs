//! `rnnlm train` and the main job (`rnnlm` alone): read the texts, build or
//! restore the model, run the trainer, report.

use std::path::{Path, PathBuf};

use super::in_file;
use crate::baselines::ngram::KneserNey;
use crate::bench::peak_rss_kib;
use crate::cli::{Command, DemoArgs, TrainArgs};
use crate::data::{Batches, Vocab};
use crate::error::{Error, Result};
use crate::io::fs::read_text;
use crate::matmul::Gemm;
use crate::model::{ClassMethod, Config, Model, Params, Workspace};
use crate::rng::Rng;
use crate::sample::{self, Sampling};
use crate::train::checkpoint;
use crate::train::evaluate::{evaluate, unigram_nats, MIN_SCORED_TOKENS};
use crate::train::trainer::{self, Job};
use crate::train::{Settings, TrainState};

/// `rnnlm train`.
pub fn train(args: &TrainArgs) -> Result<()> {
    let report = train_job(args)?.report;
    eprintln!("{report}");
    eprintln!("saved {}", args.out.display());
    Ok(())
}

/// The training text and the validation text, each with the name its
/// messages use.
struct Texts {
    train: String,
    valid: String,
    /// Where the validation text comes from, for messages.
    valid_source: String,
    /// What to change when it is too short.
    valid_fix: &'static str,
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

fn read_texts(args: &TrainArgs) -> Result<Texts> {
    let text = read_text(&args.corpus)?;
    if text.trim().is_empty() {
        return Err(Error::Data(format!("{}: the corpus is empty", args.corpus.display())));
    }
    Ok(match &args.valid {
        Some(v) => Texts {
            valid: read_text(v)?,
            train: text,
            valid_source: v.display().to_string(),
            valid_fix: "give a longer --valid file",
        },
        None => {
            let (train, valid) = split_valid(&text, args.valid_frac);
            Texts {
                valid_source: format!(
                    "{} (its last {}, held out by --valid-frac)",
                    args.corpus.display(),
                    args.valid_frac
                ),
                valid_fix: "raise --valid-frac, give --valid FILE, or set --valid-frac 0 to train without validation",
                valid: valid.to_string(),
                train: train.to_string(),
            }
        }
    })
}

impl Texts {
    /// The validation tokens: none when there is no validation text at all
    /// (`--valid-frac 0`), else at least [`MIN_SCORED_TOKENS`]; characters
    /// outside the vocabulary are skipped and counted, as `eval` does.
    fn valid_ids(&self, vocab: &Vocab, args: &TrainArgs) -> Result<Vec<u32>> {
        let wanted = args.valid.is_some() || args.valid_frac > 0.0;
        // Scored as `eval` scores: characters the vocabulary lacks are skipped.
        let (ids, oov) = vocab.encode_for_scoring(&self.valid);
        if oov > 0 {
            eprintln!(
                "rnnlm: note: {}: {oov} validation character(s) outside the vocabulary skipped (neither predicted nor fed)",
                self.valid_source
            );
        }
        if wanted && ids.len() < MIN_SCORED_TOKENS {
            return Err(Error::Data(format!(
                "{}: the validation text has {} token(s), too few to score (at least {MIN_SCORED_TOKENS}); {}",
                self.valid_source,
                ids.len(),
                self.valid_fix
            )));
        }
        Ok(ids)
    }
}

/// Flags that a checkpoint overrides: say so rather than ignore them
/// silently.
fn note_overridden_flags(args: &TrainArgs) {
    const SHAPE: [&str; 8] = [
        "--level",
        "--embed",
        "--hidden",
        "--min-count",
        "--max-vocab",
        "--tie",
        "--untie",
        "--init-scheme",
    ];
    const RUN: [&str; 12] = [
        "--batch",
        "--seq-len",
        "--optimizer",
        "--lr",
        "--clip",
        "--seed",
        "--epochs",
        "--min-improvement",
        "--patience",
        "--schedule",
        "--dropout",
        "--weight-decay",
    ];
    let (source, overridden): (_, Vec<&str>) = if args.resume.is_some() {
        (
            "--resume",
            SHAPE.iter().chain(&RUN).chain(&["--classes"]).copied().collect(),
        )
    } else if args.init.is_some() {
        ("--init", SHAPE.to_vec())
    } else {
        return;
    };
    let ignored: Vec<&str> = overridden.into_iter().filter(|f| args.given.contains(f)).collect();
    if !ignored.is_empty() {
        eprintln!(
            "rnnlm: note: {} ignored: {source} takes these from the checkpoint",
            ignored.join(", ")
        );
    }
}

/// The model and training state to start from: a paused run (`--resume`),
/// a checkpoint's weights with a fresh run (`--init`), or new weights.
fn start(args: &TrainArgs, train_text: &str) -> Result<(Model, TrainState)> {
    note_overridden_flags(args);
    if let Some(path) = &args.resume {
        let ck = checkpoint::load(path)?;
        let state = ck.train.ok_or_else(|| {
            Error::format(
                path,
                "holds no training state (saved without it); use --init to fine-tune from it",
            )
        })?;
        return Ok((ck.model, state));
    }
    let settings = Settings {
        batch: args.batch,
        seq_len: args.seq_len,
        optimizer: args.optimizer,
        lr: args.learning_rate(),
        clip: args.clip,
        seed: args.seed,
        epochs: args.epochs,
        min_improvement: args.min_improvement,
        patience: args.patience,
        schedule: args.schedule(),
        dropout: args.dropout,
        weight_decay: args.weight_decay,
    };
    let mut rng = Rng::new(settings.seed);
    // The classes to set, if any: a classed checkpoint keeps its own unless
    // --classes 0 drops them, a full one gets them only when --classes asks;
    // new weights get --classes or its default rule.
    let (mut model, set_classes) = match &args.init {
        Some(path) => {
            let model = checkpoint::load(path)?.model;
            let had = model.params.config.classes.count();
            let change = args.classes.filter(|&c| (c == 0) != (had == 0));
            (model, change)
        }
        None => {
            let vocab = Vocab::build(train_text, args.level, args.min_count, args.max_vocab);
            let config = Config {
                tied: args.tie,
                ..Config::full(vocab.len(), args.embed, args.hidden)
            };
            let params = Params::init_with(&config, args.init_scheme(), &mut rng);
            let classes = args.class_count(vocab.len());
            (Model { vocab, params }, (classes > 0).then_some(classes))
        }
    };
    if let Some(classes) = set_classes {
        let ids = model.vocab.encode(train_text).map_err(|e| in_file(&args.corpus, e))?;
        if args.class_method == ClassMethod::Exchange && !args.quiet {
            eprintln!(
                "exchange clustering: {classes} classes over {} training tokens…",
                ids.len()
            );
        }
        let clock = std::time::Instant::now();
        let report = model
            .set_classes(classes, args.class_method, &ids, &mut rng)
            .map_err(|e| Error::Usage(format!("--class-method exchange: {e}")))?;
        if let (Some(r), false) = (report, args.quiet) {
            eprintln!(
                "exchange clustering: {} rounds, {} moves, {:.4} → {:.4} nats per bigram, {:.1} s",
                r.rounds,
                r.moves,
                r.start_objective,
                r.end_objective,
                clock.elapsed().as_secs_f64()
            );
        }
    }
    let state = TrainState::fresh(settings, &model.params);
    Ok((model, state))
}

/// What a training job leaves: the model, a summary to print, and the
/// numbers the demo compares.
struct Trained {
    model: Model,
    report: String,
    train_ids: Vec<u32>,
    valid_ids: Vec<u32>,
    /// (model, add-one unigram) nats per validation token, when there is
    /// validation text.
    valid_nats: Option<(f64, f64)>,
}

/// Shared by `train` and the demo.
fn train_job(args: &TrainArgs) -> Result<Trained> {
    let texts = read_texts(args)?;
    let (model, state) = start(args, &texts.train)?;
    let train_ids = model.vocab.encode(&texts.train).map_err(|e| in_file(&args.corpus, e))?;
    let s = &state.settings;
    Batches::new(train_ids.len(), s.batch, s.seq_len).map_err(|e| in_file(&args.corpus, e))?;
    let valid_ids = texts.valid_ids(&model.vocab, args)?;
    if !args.quiet {
        let c = &model.params.config;
        eprintln!(
            "{} level, V={} D={} H={}{} classes {} ({} parameters), {} train / {} valid tokens, B={} T={}, {} lr {}, schedule {}, dropout {}, weight decay {}",
            model.vocab.level.name(),
            c.vocab,
            c.embed,
            c.hidden,
            if c.tied { " tied" } else { "" },
            c.classes.count(),
            c.num_params(),
            train_ids.len(),
            valid_ids.len(),
            s.batch,
            s.seq_len,
            s.optimizer.name(),
            state.lr,
            s.schedule.name(),
            s.dropout,
            s.weight_decay
        );
    }
    let unigram = (!valid_ids.is_empty()).then(|| unigram_nats(&train_ids, &valid_ids, model.vocab.len()));
    let job = Job {
        model,
        state,
        train_ids,
        valid_ids,
        threads: args.threads,
        max_steps: args.steps,
        max_seconds: args.time,
        out: args.out.clone(),
        log: args.log.clone(),
        save_every: args.save_every,
        best: args.best.clone(),
        quiet: args.quiet,
    };
    let (train_ids, valid_ids) = (job.train_ids.clone(), job.valid_ids.clone());
    let outcome = trainer::run(job)?;
    let mut report = format!(
        "trained {} steps ({} epochs) at {:.0} tokens/s; last train loss {:.4}",
        outcome.steps, outcome.epochs_done, outcome.tokens_per_s, outcome.last_train_loss
    );
    let valid_nats = unigram.map(|unigram| {
        let mut ws = Workspace::new(Gemm::new().with_threads(args.threads));
        (evaluate(&outcome.model.params, &valid_ids, &mut ws).1, unigram)
    });
    if let Some((nats, unigram)) = valid_nats {
        let ln2 = std::f64::consts::LN_2;
        report += &format!(
            "\nvalidation: perplexity {:.3} ({:.4} bits/token); unigram baseline {:.3} ({:.4} bits/token)",
            nats.exp(),
            nats / ln2,
            unigram.exp(),
            unigram / ln2
        );
    }
    if let Some(kib) = peak_rss_kib() {
        report += &format!("\npeak memory {kib} KiB");
    }
    if outcome.stopped_early {
        report += "\nstopped early: validation stopped improving";
    }
    Ok(Trained {
        model: outcome.model,
        report,
        train_ids,
        valid_ids,
        valid_nats,
    })
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
/// compare with the unigram baseline, save, and print samples. It is this
/// `rnnlm train` command line, run for `--time` seconds.
pub fn demo(args: &DemoArgs) -> Result<()> {
    let corpus = bundled_corpus()?;
    eprintln!(
        "rnnlm demo: training a char-level model on {} for {:.0} s",
        corpus.display(),
        args.time
    );
    let line = [
        "train",
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
        // Train for the whole time budget: halve on plateaus, never stop early.
        "--schedule",
        "plateau",
        "--patience",
        "1000",
        "--lr",
        "0.003",
    ];
    let Command::Train(mut train_args) = crate::cli::parse(
        line.iter()
            .map(|s| s.to_string())
            .chain(["--corpus".into(), corpus.display().to_string()]),
    )?
    else {
        unreachable!("the demo's command line is a train command");
    };
    train_args.threads = args.threads;
    train_args.time = Some(args.time);
    train_args.out = args.out.clone();
    let (log, curve) = (args.out.with_extension("csv"), args.out.with_extension("svg"));
    train_args.log = Some(log.clone());
    let trained = train_job(&train_args)?;
    say!("{}", trained.report);
    say!("saved {}", args.out.display());
    super::plot::plot(&[log.display().to_string()], &curve)?;
    say!("learning curve: {} (its data: {})", curve.display(), log.display());
    if let Some((rnn, unigram)) = trained.valid_nats {
        let v = trained.model.vocab.len();
        let kn5 = KneserNey::train(&trained.train_ids, 5, v).cross_entropy(&trained.valid_ids);
        say!(
            "\non the same validation split ({} tokens):  perplexity  bits/token",
            trained.valid_ids.len() - 1
        );
        let ln2 = std::f64::consts::LN_2;
        for (name, nats) in [
            ("unigram (add-one)", unigram),
            ("Kneser-Ney 5-gram", kn5),
            ("this RNN", rnn),
        ] {
            say!("  {name:<38} {:>10.3} {:>11.4}", nats.exp(), nats / ln2);
        }
    }
    let model = trained.model;
    for (temp, prime) in [(0.5, "The "), (0.8, "The "), (0.8, "우리는 ")] {
        let prime_ids = model.vocab.encode_prime(prime).unwrap_or_default();
        say!("\n--- sample, temperature {temp}, prime {prime:?} ---");
        let mut text = prime.to_string();
        let s = Sampling {
            temperature: temp,
            top_k: 0,
            top_p: 1.0,
        };
        sample::generate(&model.params, &model.vocab, &prime_ids, 300, s, 7, |t| text.push_str(t));
        say!("{text}");
    }
    let prime = "The cat ";
    say!(
        "\n--- what comes after {prime:?}: rnnlm predict --model {} --prime {prime:?} --top 5 ---",
        args.out.display()
    );
    let mut g = sample::Generator::new(&model.params);
    g.warm_up(&model.vocab, &model.vocab.encode_prime(prime).unwrap_or_default());
    for (id, p) in sample::top_k(g.probs(), 5) {
        say!("{p:.4}  {:?}", model.vocab.token(id));
    }
    say!(
        "\nnext: rnnlm generate --model {} --prime \"The \" --temperature 0.7",
        args.out.display()
    );
    Ok(())
}
