//! `rnnlm train`: read the texts, build or restore the model, check that
//! the run fits and its outputs can be written, run the trainer, report.

use super::in_file;
use crate::cli::TrainArgs;
use crate::data::{Batches, Vocab};
use crate::error::{Error, Result};
use crate::io::fs::{check_writable, read_text};
use crate::matmul::Gemm;
use crate::memory::{self, peak_rss_kib};
use crate::model::{ClassMethod, Classes, Config, Model, Params, Workspace};
use crate::rng::Rng;
use crate::train::evaluate::{evaluate, unigram_nats, MIN_SCORED_TOKENS};
use crate::train::footprint::training_parts;
use crate::train::trainer::{self, Job};
use crate::train::{checkpoint, Settings, TrainState};

/// `rnnlm train`.
pub fn train(args: &TrainArgs) -> Result<()> {
    let report = train_job(args)?.report;
    eprintln!("{report}");
    eprintln!("saved {}", args.out.display());
    Ok(())
}

/// The texts of a run: the `--corpus` file (whose whole text makes the
/// vocabulary, as `ngram` makes its own from the same file) cut into the
/// training part and, with `--valid-frac`, the held-out end; or with
/// `--valid`, that file.
struct Texts {
    corpus: String,
    /// The training text is `corpus[..train_end]`.
    train_end: usize,
    valid: String,
    /// Where the validation text comes from, for messages.
    valid_source: String,
    /// What to change when it is too short.
    valid_fix: &'static str,
}

/// Where to cut `text` so that its last `frac` is held out: a char
/// boundary `frac` from the end, moved forward to the next line start so
/// that no line is cut.
fn valid_split_point(text: &str, frac: f64) -> usize {
    if frac <= 0.0 {
        return text.len();
    }
    let mut at = ((text.len() as f64) * (1.0 - frac)) as usize;
    while at < text.len() && !text.is_char_boundary(at) {
        at += 1;
    }
    if let Some(nl) = text[at..].find('\n') {
        at += nl + 1;
    }
    at
}

fn read_texts(args: &TrainArgs) -> Result<Texts> {
    let corpus = read_text(&args.corpus)?;
    if corpus.trim().is_empty() {
        return Err(Error::Data(format!("{}: the corpus is empty", args.corpus.display())));
    }
    Ok(match &args.valid {
        Some(v) => Texts {
            valid: read_text(v)?,
            train_end: corpus.len(),
            corpus,
            valid_source: v.display().to_string(),
            valid_fix: "give a longer --valid file",
        },
        None => {
            let train_end = valid_split_point(&corpus, args.valid_frac);
            Texts {
                valid_source: format!(
                    "{} (its last {}, held out by --valid-frac)",
                    args.corpus.display(),
                    args.valid_frac
                ),
                valid_fix: "raise --valid-frac, give --valid FILE, or set --valid-frac 0 to train without validation",
                valid: corpus[train_end..].to_string(),
                train_end,
                corpus,
            }
        }
    })
}

impl Texts {
    fn train(&self) -> &str {
        &self.corpus[..self.train_end]
    }

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

/// Before any work: every file the run will write can be written
/// (`--out`, `--best`, `--log`), so that a run is never lost at its end.
fn check_outputs(args: &TrainArgs) -> Result<()> {
    check_writable(&args.out, "--out")?;
    for (flag, path) in [("--best", &args.best), ("--log", &args.log)] {
        if let Some(p) = path {
            check_writable(p, flag)?;
        }
    }
    Ok(())
}

/// Before allocating a model or its run: the training text has enough
/// tokens for the run's B streams, and the run fits in this machine's
/// memory (each part named by its flags; [`training_parts`]).
fn check_run_fits(config: &Config, settings: &Settings, train_tokens: usize, args: &TrainArgs) -> Result<()> {
    Batches::new(train_tokens, settings.batch, settings.seq_len).map_err(|e| in_file(&args.corpus, e))?;
    memory::check(&training_parts(config, settings, args.threads), memory::available())
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

/// The model, the training state and the training tokens to start from:
/// a paused run (`--resume`), a checkpoint's weights with a fresh run
/// (`--init`), or new weights. Nothing large is allocated before
/// [`check_run_fits`] has passed.
fn start(args: &TrainArgs, texts: &Texts) -> Result<(Model, TrainState, Vec<u32>)> {
    note_overridden_flags(args);
    let encode = |vocab: &Vocab| vocab.encode(texts.train()).map_err(|e| in_file(&args.corpus, e));
    if let Some(path) = &args.resume {
        let ck = checkpoint::load(path)?;
        let state = ck.train.ok_or_else(|| {
            Error::format(
                path,
                "holds no training state (saved without it); use --init to fine-tune from it",
            )
        })?;
        let ids = encode(&ck.model.vocab)?;
        check_run_fits(&ck.model.params.config, &state.settings, ids.len(), args)?;
        return Ok((ck.model, state, ids));
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
    let (mut model, set_classes, mut ids) = match &args.init {
        Some(path) => {
            let model = checkpoint::load(path)?.model;
            let had = model.params.config.classes.count();
            let change = args.classes.filter(|&c| (c == 0) != (had == 0));
            let ids = encode(&model.vocab)?;
            (model, change, ids)
        }
        None => {
            let vocab = Vocab::build(&texts.corpus, args.level, args.min_count, args.max_vocab);
            let ids = encode(&vocab)?;
            let config = Config {
                tied: args.tie,
                ..Config::full(vocab.len(), args.embed, args.hidden)
            };
            let classes = args.class_count(vocab.len());
            // Checked with classes of equal sizes here, with the real ones
            // once they are made (below).
            let estimate = Config {
                classes: Classes::even(vocab.len(), classes),
                ..config.clone()
            };
            check_run_fits(&estimate, &settings, ids.len(), args)?;
            let params = Params::init_with(&config, args.init_scheme(), &mut rng);
            (Model::new(vocab, params), (classes > 0).then_some(classes), ids)
        }
    };
    if let Some(classes) = set_classes {
        let before = model.vocab.clone();
        set_model_classes(&mut model, classes, &ids, args, &mut rng)?;
        // The classes renumber the vocabulary: each id follows its token.
        let new_id: Vec<u32> = before
            .tokens()
            .iter()
            .map(|t| model.vocab.id(t).expect("renumbering keeps every token"))
            .collect();
        ids.iter_mut().for_each(|id| *id = new_id[*id as usize]);
    }
    check_run_fits(&model.params.config, &settings, ids.len(), args)?;
    let state = TrainState::fresh(settings, &model.params);
    Ok((model, state, ids))
}

/// Give the model `classes` output classes by `--class-method`, saying
/// what exchange clustering did, and saying so when fewer classes than
/// asked were possible.
fn set_model_classes(model: &mut Model, classes: usize, ids: &[u32], args: &TrainArgs, rng: &mut Rng) -> Result<()> {
    if args.class_method == ClassMethod::Exchange && !args.quiet {
        eprintln!(
            "exchange clustering: {classes} classes over {} training tokens…",
            ids.len()
        );
    }
    let clock = std::time::Instant::now();
    let report = model
        .set_classes(classes, args.class_method, ids, rng)
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
    let (asked, made) = (args.classes.unwrap_or(classes), model.params.config.classes.count());
    if made != asked {
        eprintln!(
            "rnnlm: note: --classes {asked}: a vocabulary of {} gives {made} non-empty classes; using {made}",
            model.vocab.len()
        );
    }
    Ok(())
}

/// What a training job leaves: the model, a summary to print, and the
/// numbers the demo compares.
pub(super) struct Trained {
    pub(super) model: Model,
    pub(super) report: String,
    pub(super) train_ids: Vec<u32>,
    pub(super) valid_ids: Vec<u32>,
    /// (model, add-one unigram) nats per validation token, when there is
    /// validation text.
    pub(super) valid_nats: Option<(f64, f64)>,
}

/// Shared by `train` and the demo.
pub(super) fn train_job(args: &TrainArgs) -> Result<Trained> {
    check_outputs(args)?;
    let texts = read_texts(args)?;
    let (model, state, train_ids) = start(args, &texts)?;
    let s = &state.settings;
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
