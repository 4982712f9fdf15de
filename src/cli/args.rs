//! One struct per command: what was typed, checked and typed, with every
//! default taken from the flag tables ([`super::flags`]). Nothing here reads
//! a file; resolving these into a run is `app`'s work.

use std::path::PathBuf;

use super::defaults::LevelDefaults;
use super::flags::Flags;
use crate::bench::Shape;
use crate::data::Level;
use crate::error::{Error, Result};
use crate::matmul::Kernel;
use crate::model::{ClassMethod, InitScheme, Weights};
use crate::sample::Sampling;
use crate::train::schedule::Schedule;
use crate::train::OptimizerKind;

/// `--weights` (it has a default).
fn weights(f: &Flags) -> Result<Weights> {
    Ok(f.choice("--weights", Weights::parse, "f32, bf16 or f16")?
        .expect("a default"))
}

/// `--level` (it has a default).
fn level(f: &Flags) -> Result<Level> {
    Ok(f.choice("--level", Level::parse, "char, jamo or word")?
        .expect("a default"))
}

/// `rnnlm train`.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainArgs {
    pub corpus: PathBuf,
    pub level: Level,
    pub embed: usize,
    pub hidden: usize,
    /// `None`: the default rule ([`TrainArgs::class_count`]).
    pub classes: Option<usize>,
    pub class_method: ClassMethod,
    /// One matrix as E and W_y: `--tie`, or the level's default where
    /// D = H, unless `--untie`.
    pub tie: bool,
    /// `None`: the level's default ([`LevelDefaults`]).
    pub init_scheme: Option<InitScheme>,
    pub seq_len: usize,
    pub batch: usize,
    pub epochs: usize,
    pub steps: Option<u64>,
    pub time: Option<f64>,
    pub optimizer: OptimizerKind,
    /// `None`: the optimizer's default ([`TrainArgs::learning_rate`]).
    pub lr: Option<f64>,
    pub clip: f64,
    pub seed: u64,
    pub threads: usize,
    pub valid: Option<PathBuf>,
    pub valid_frac: f64,
    pub min_count: usize,
    pub max_vocab: usize,
    pub min_improvement: f64,
    pub patience: usize,
    /// `None`: the optimizer's default ([`TrainArgs::schedule`]).
    pub schedule: Option<Schedule>,
    pub dropout: f64,
    pub weight_decay: f64,
    pub out: PathBuf,
    pub save_every: Option<u64>,
    pub best: Option<PathBuf>,
    pub init: Option<PathBuf>,
    pub resume: Option<PathBuf>,
    pub log: Option<PathBuf>,
    pub quiet: bool,
    /// The flags that were typed (a checkpoint overrides some: `app` says so).
    pub given: Vec<&'static str>,
}

impl TrainArgs {
    fn from_flags(f: &Flags) -> Result<Self> {
        let optimizer = f
            .choice("--optimizer", OptimizerKind::parse, "sgd, adagrad or adam")?
            .expect("a default");
        let level = level(f)?;
        let by_level = LevelDefaults::of(level);
        let embed = f.opt_count("--embed", 1)?.unwrap_or(by_level.embed);
        let hidden = f.opt_count("--hidden", 1)?.unwrap_or(by_level.hidden);
        let args = TrainArgs {
            corpus: f.required_path("--corpus")?,
            level,
            embed,
            hidden,
            classes: f.opt_count("--classes", 0)?,
            class_method: f
                .choice("--class-method", ClassMethod::parse, "frequency or exchange")?
                .unwrap_or(by_level.class_method),
            tie: match (f.switch("--tie"), f.switch("--untie")) {
                (true, true) => return Err(Error::Usage("--tie and --untie cannot be used together".into())),
                (true, false) => true,
                (false, true) => false,
                // The level's default, where the shapes allow it.
                (false, false) => by_level.tie && embed == hidden,
            },
            init_scheme: f.choice("--init-scheme", InitScheme::parse, "unit or small")?,
            seq_len: f.opt_count("--seq-len", 1)?.unwrap_or(by_level.seq_len),
            batch: f.opt_count("--batch", 1)?.unwrap_or(by_level.batch),
            epochs: f.opt_count("--epochs", 1)?.unwrap_or(by_level.epochs),
            steps: f.opt_count("--steps", 1)?.map(|x| x as u64),
            time: f.opt_number("--time", 0.0, 1e9)?,
            optimizer,
            lr: f.opt_number("--lr", 0.0, f32::MAX as f64)?,
            clip: f.number("--clip", 0.0, 1e12)?,
            seed: f.u64("--seed")?,
            threads: threads(f)?,
            valid: f.path("--valid"),
            valid_frac: f.number("--valid-frac", 0.0, 0.9)?,
            min_count: f.count("--min-count", 1)?,
            max_vocab: f.count("--max-vocab", 3)?,
            min_improvement: f.number("--min-improvement", 0.0, 1.0)?,
            patience: f.count("--patience", 1)?,
            schedule: f.choice("--schedule", Schedule::parse, "mikolov, mikolov-strict or plateau")?,
            dropout: f.opt_number("--dropout", 0.0, 0.95)?.unwrap_or(by_level.dropout),
            weight_decay: f.number("--weight-decay", 0.0, 1.0)?,
            out: f.required_path("--out")?,
            save_every: f.opt_count("--save-every", 1)?.map(|x| x as u64),
            best: f.path("--best"),
            init: f.path("--init"),
            resume: f.path("--resume"),
            log: f.path("--log"),
            quiet: f.switch("--quiet"),
            given: f.all_given(),
        };
        if args.resume.is_some() && args.init.is_some() {
            return Err(Error::Usage("--resume and --init cannot be used together".into()));
        }
        if args.tie && args.embed != args.hidden && args.resume.is_none() && args.init.is_none() {
            // Only a typed --tie gets here: the default ties only where D = H.
            return Err(Error::Usage(format!(
                "--tie: one matrix serves as E [V, D] and W_y [V, H], so --embed ({}) must equal --hidden ({})",
                args.embed, args.hidden
            )));
        }
        Ok(args)
    }

    /// `--classes`, or by default 0 at char level and ⌈√V⌉ at word level
    /// for a vocabulary of `vocab` (capped at V).
    pub fn class_count(&self, vocab: usize) -> usize {
        match (self.classes, self.level) {
            (Some(c), _) => c.min(vocab),
            (None, Level::Char | Level::Jamo) => 0,
            (None, Level::Word) => ((vocab as f64).sqrt().ceil() as usize).min(vocab),
        }
    }

    /// `--init-scheme`, or the level's default.
    pub fn init_scheme(&self) -> InitScheme {
        self.init_scheme.unwrap_or(LevelDefaults::of(self.level).init_scheme)
    }

    /// `--schedule`, or the optimizer's default.
    pub fn schedule(&self) -> Schedule {
        self.schedule.unwrap_or(Schedule::default_for(self.optimizer))
    }

    /// `--lr`, or the optimizer's default rate at this level when it is
    /// not given.
    pub fn learning_rate(&self) -> f64 {
        self.lr.unwrap_or(LevelDefaults::of(self.level).lr(self.optimizer))
    }
}

/// `rnnlm eval`.
#[derive(Clone, Debug, PartialEq)]
pub struct EvalArgs {
    pub model: PathBuf,
    pub corpus: PathBuf,
    pub json: bool,
    /// Where to write each token's surprisal (TSV).
    pub per_token: Option<PathBuf>,
    /// Where to write the surprisal page (HTML).
    pub html: Option<PathBuf>,
    pub threads: usize,
    /// `--weights`: score the model with its weights in this precision.
    pub weights: Weights,
    /// `--dynamic LR`: adapt to the text by SGD at this rate while scoring.
    pub dynamic: Option<f64>,
    /// `--seq-len`: dynamic evaluation's chunk (`None`: the checkpoint's T).
    pub seq_len: Option<usize>,
    /// `--clip`: dynamic evaluation's clipping (`None`: the checkpoint's).
    pub clip: Option<f64>,
    /// `--mix`: mix an ARPA n-gram into each token's probability.
    pub mix: Option<MixArgs>,
}

/// `--mix FILE --lambda L|auto [--mix-valid FILE]` (`eval`, `score`).
#[derive(Clone, Debug, PartialEq)]
pub struct MixArgs {
    /// The ARPA file.
    pub arpa: PathBuf,
    pub lambda: Lambda,
}

/// The n-gram's weight λ in a mixture.
#[derive(Clone, Debug, PartialEq)]
pub enum Lambda {
    /// `--lambda L`.
    Fixed(f64),
    /// `--lambda auto --mix-valid FILE`: chosen by EM on this held-out text.
    Auto { valid: PathBuf },
}

impl MixArgs {
    /// The mixture flags, checked together (`None` without `--mix`).
    fn from_flags(f: &Flags) -> Result<Option<Self>> {
        let Some(arpa) = f.path("--mix") else {
            for other in ["--lambda", "--mix-valid"] {
                if f.given(other) {
                    return Err(Error::Usage(format!(
                        "{other} sets how --mix mixes an n-gram in; add --mix FILE.arpa"
                    )));
                }
            }
            return Ok(None);
        };
        let lambda = match f.text("--lambda") {
            None => {
                return Err(Error::Usage(
                    "--mix needs --lambda: the n-gram's weight in [0, 1], or auto (with --mix-valid)".into(),
                ))
            }
            Some("auto") => Lambda::Auto {
                valid: f.path("--mix-valid").ok_or_else(|| {
                    Error::Usage("--lambda auto picks λ on held-out text: add --mix-valid FILE".into())
                })?,
            },
            Some(_) => {
                if f.given("--mix-valid") {
                    return Err(Error::Usage(
                        "--mix-valid is the text --lambda auto picks λ on; with a fixed --lambda it is unused".into(),
                    ));
                }
                Lambda::Fixed(f.number("--lambda", 0.0, 1.0)?)
            }
        };
        Ok(Some(MixArgs { arpa, lambda }))
    }
}

/// `rnnlm score`: sentences scored one by one, or n-best lists rescored.
#[derive(Clone, Debug, PartialEq)]
pub struct ScoreArgs {
    pub model: PathBuf,
    pub input: ScoreInput,
    pub mix: Option<MixArgs>,
    pub json: bool,
    /// Sentences scored side by side.
    pub batch: usize,
    pub threads: usize,
    pub weights: Weights,
}

/// What `score` reads.
#[derive(Clone, Debug, PartialEq)]
pub enum ScoreInput {
    /// `--sentences FILE`: one sentence a line.
    Sentences(PathBuf),
    /// `--nbest FILE --lm-weight W [--all]`: `id<TAB>score<TAB>hypothesis` lines.
    Nbest { path: PathBuf, lm_weight: f64, all: bool },
}

impl ScoreArgs {
    fn from_flags(f: &Flags) -> Result<Self> {
        let input = match (f.path("--sentences"), f.path("--nbest")) {
            (Some(path), None) => {
                for other in ["--lm-weight", "--all"] {
                    if f.given(other) {
                        return Err(Error::Usage(format!("{other} goes with --nbest, not --sentences")));
                    }
                }
                ScoreInput::Sentences(path)
            }
            (None, Some(path)) => ScoreInput::Nbest {
                path,
                lm_weight: match f.text("--lm-weight") {
                    Some(_) => f.number("--lm-weight", -1e6, 1e6)?,
                    None => {
                        return Err(Error::Usage(
                            "--nbest needs --lm-weight W: each total is score + W · log10 p".into(),
                        ))
                    }
                },
                all: f.switch("--all"),
            },
            (None, None) => {
                return Err(Error::Usage(
                    "--sentences FILE (score each line) or --nbest FILE (rescore hypotheses) is required".into(),
                ))
            }
            (Some(_), Some(_)) => return Err(Error::Usage("--sentences and --nbest cannot be used together".into())),
        };
        Ok(ScoreArgs {
            model: f.required_path("--model")?,
            input,
            mix: MixArgs::from_flags(f)?,
            json: f.switch("--json"),
            batch: f.count("--batch", 1)?,
            threads: threads(f)?,
            weights: weights(f)?,
        })
    }
}

/// `rnnlm predict`.
#[derive(Clone, Debug, PartialEq)]
pub struct PredictArgs {
    pub model: PathBuf,
    pub prime: String,
    pub top: usize,
    pub json: bool,
    pub weights: Weights,
}

/// `rnnlm generate`.
#[derive(Clone, Debug, PartialEq)]
pub struct GenerateArgs {
    pub model: PathBuf,
    pub prime: String,
    pub len: usize,
    pub sampling: Sampling,
    pub seed: u64,
    /// `--samples N`: N samples, each after a header; `None`: one, no header.
    pub samples: Option<usize>,
    pub threads: usize,
    pub weights: Weights,
}

/// `rnnlm gradcheck`.
#[derive(Clone, Debug, PartialEq)]
pub struct GradcheckArgs {
    pub vocab: usize,
    /// Classes of the output layer (0: the full softmax), of equal size.
    pub classes: usize,
    pub embed: usize,
    pub hidden: usize,
    pub batch: usize,
    pub seq_len: usize,
    pub seed: u64,
    pub sample: Option<usize>,
}

/// `rnnlm ngram`.
#[derive(Clone, Debug, PartialEq)]
pub struct NgramArgs {
    /// The training text (`None` with `--load`).
    pub corpus: Option<PathBuf>,
    /// `--load`: an ARPA file to score with instead of training one.
    pub load: Option<PathBuf>,
    /// `--arpa`: train the sentence model and write it here.
    pub arpa: Option<PathBuf>,
    /// `--discount`: the sentence model's discounting.
    pub discount: crate::baselines::sentences::Discounting,
    pub eval: PathBuf,
    pub order: usize,
    pub level: Level,
    pub min_count: usize,
    pub max_vocab: usize,
    pub json: bool,
}

/// Which synthetic source `rnnlm synth` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SynthKind {
    Hmm,
    Copy,
}

impl SynthKind {
    pub fn name(self) -> &'static str {
        match self {
            SynthKind::Hmm => "hmm",
            SynthKind::Copy => "copy",
        }
    }
}

/// `rnnlm synth`.
#[derive(Clone, Debug, PartialEq)]
pub struct SynthArgs {
    pub kind: SynthKind,
    pub out: PathBuf,
    pub seed: u64,
    pub train: usize,
    pub test: usize,
}

/// `rnnlm bench gemm`.
#[derive(Clone, Debug, PartialEq)]
pub struct BenchGemmArgs {
    /// Thread counts to measure.
    pub threads: Vec<usize>,
    pub json: bool,
    /// Kernels to measure.
    pub kernels: Vec<Kernel>,
    pub budget_ms: u64,
    pub shapes: Vec<Shape>,
    pub prepacked: bool,
}

/// `rnnlm bench train`.
#[derive(Clone, Debug, PartialEq)]
pub struct BenchTrainArgs {
    pub threads: Vec<usize>,
    pub json: bool,
    pub kernel: Kernel,
    pub budget_ms: u64,
}

/// `rnnlm bench generate`.
#[derive(Clone, Debug, PartialEq)]
pub struct BenchGenerateArgs {
    pub json: bool,
    pub kernel: Kernel,
    pub budget_ms: u64,
}

/// `rnnlm bench score`.
#[derive(Clone, Debug, PartialEq)]
pub struct BenchScoreArgs {
    pub model: PathBuf,
    pub sentences: PathBuf,
    pub batch: usize,
    pub threads: usize,
    pub json: bool,
    pub budget_ms: u64,
}

/// `rnnlm` with no command: the demo.
#[derive(Clone, Debug, PartialEq)]
pub struct DemoArgs {
    pub time: f64,
    pub threads: usize,
    pub out: PathBuf,
}

/// `--threads` of the working commands: as given, or every core.
fn threads(f: &Flags) -> Result<usize> {
    Ok(match f.opt_count("--threads", 1)? {
        Some(t) => capped_threads(t),
        None => crate::workers::available(),
    })
}

/// A typed thread count, lowered with a note to [`crate::workers::max_threads`].
fn capped_threads(t: usize) -> usize {
    let max = crate::workers::max_threads();
    if t > max {
        eprintln!(
            "rnnlm: note: --threads {t}: this machine runs {} threads at once; using {max} ({}× that)",
            crate::workers::available(),
            crate::workers::MAX_THREADS_PER_CORE
        );
        return max;
    }
    t
}

/// `--threads` of the bench commands: one count, or 1 and 2.
fn thread_list(f: &Flags) -> Result<Vec<usize>> {
    Ok(match f.opt_count("--threads", 1)? {
        Some(t) => vec![capped_threads(t)],
        None => vec![1, 2],
    })
}

/// `--kernel`, if given: a kernel this CPU can run.
fn kernel_flag(f: &Flags) -> Result<Option<Kernel>> {
    let Some(name) = f.text("--kernel") else {
        return Ok(None);
    };
    let k = Kernel::parse(name).ok_or_else(|| Error::Usage(format!("--kernel: '{name}' is not a kernel name")))?;
    if !k.is_available() {
        return Err(Error::Usage(format!("--kernel: this CPU cannot run the {k} kernel")));
    }
    Ok(Some(k))
}

/// Largest operand memory `bench gemm --shape` accepts (per case).
const MAX_BENCH_BYTES: f64 = 4.0 * (1u64 << 30) as f64;

fn shapes(f: &Flags) -> Result<Vec<Shape>> {
    let Some(list) = f.text("--shape") else {
        return Ok(crate::bench::GEMM_SHAPES.to_vec());
    };
    let shapes = list
        .split(',')
        .map(|s| {
            Shape::parse(s).ok_or_else(|| Error::Usage(format!("--shape: '{s}' is not MxKxN with sizes of at least 1")))
        })
        .collect::<Result<Vec<_>>>()?;
    for s in &shapes {
        // A, B, C, packed B and a copy of C per measured case.
        let (m, k, n) = (s.m as f64, s.k as f64, s.n as f64);
        let bytes = 4.0 * (m * k + 2.0 * k * n + 2.0 * m * n);
        if bytes > MAX_BENCH_BYTES {
            let gib = (1u64 << 30) as f64;
            return Err(Error::Usage(format!(
                "--shape: {}x{}x{} needs about {:.1} GiB of operands; at most {:.0} GiB",
                s.m,
                s.k,
                s.n,
                bytes / gib,
                MAX_BENCH_BYTES / gib
            )));
        }
    }
    Ok(shapes)
}

/// A parsed command line.
#[derive(Clone, Debug, PartialEq)]
#[allow(clippy::large_enum_variant)] // one per process: boxing would buy nothing
pub enum Command {
    /// `--help` of the program or of a command: the text to print.
    Help(String),
    Demo(DemoArgs),
    Train(TrainArgs),
    Eval(EvalArgs),
    Score(ScoreArgs),
    Predict(PredictArgs),
    Generate(GenerateArgs),
    Gradcheck(GradcheckArgs),
    Ngram(NgramArgs),
    Synth(SynthArgs),
    Export {
        model: PathBuf,
        out: PathBuf,
    },
    Import {
        dir: PathBuf,
        out: PathBuf,
    },
    /// Learning curves: the `--log` files, in order, and the SVG to write.
    Plot {
        logs: Vec<PathBuf>,
        out: PathBuf,
    },
    BenchGemm(BenchGemmArgs),
    BenchTrain(BenchTrainArgs),
    BenchGenerate(BenchGenerateArgs),
    BenchScore(BenchScoreArgs),
}

impl EvalArgs {
    fn from_flags(f: &Flags) -> Result<Self> {
        Ok(EvalArgs {
            model: f.required_path("--model")?,
            corpus: f.required_path("--corpus")?,
            json: f.switch("--json"),
            per_token: f.path("--per-token"),
            html: f.path("--html"),
            threads: threads(f)?,
            weights: weights(f)?,
            dynamic: f.opt_number("--dynamic", 0.0, 1e6)?,
            seq_len: f.opt_count("--seq-len", 1)?,
            clip: f.opt_number("--clip", 0.0, 1e12)?,
            mix: MixArgs::from_flags(f)?,
        })
    }
}

impl GenerateArgs {
    fn from_flags(f: &Flags) -> Result<Self> {
        Ok(GenerateArgs {
            model: f.required_path("--model")?,
            prime: f.required("--prime")?.to_string(),
            len: f.count("--len", 0)?,
            sampling: Sampling {
                temperature: f.number("--temperature", 0.0, 1e3)?,
                top_k: f.count("--top-k", 0)?,
                top_p: f.number("--top-p", 1e-9, 1.0)?,
            },
            seed: f.u64("--seed")?,
            samples: f.opt_count("--samples", 1)?,
            threads: threads(f)?,
            weights: weights(f)?,
        })
    }
}

impl NgramArgs {
    fn from_flags(f: &Flags) -> Result<Self> {
        let order = f.count("--order", 1)?;
        let max = crate::baselines::ngram::MAX_ORDER;
        if order > max {
            return Err(Error::Usage(format!("--order: {order} is too large (at most {max})")));
        }
        let (corpus, load) = (f.path("--corpus"), f.path("--load"));
        match (&corpus, &load) {
            (None, None) => {
                return Err(Error::Usage(
                    "--corpus (a text to count) or --load (an ARPA file) is required".into(),
                ))
            }
            (Some(_), Some(_)) => {
                return Err(Error::Usage(
                    "--corpus and --load cannot be used together: --load scores with the file's model".into(),
                ))
            }
            _ => {}
        }
        let arpa = f.path("--arpa");
        if load.is_some() && f.given("--level") && level(f)? != Level::Word {
            return Err(Error::Usage(
                "--load reads an ARPA file, whose words are white-space separated: --level word".into(),
            ));
        }
        if arpa.is_some() && level(f)? != Level::Word {
            return Err(Error::Usage(
                "--arpa writes a word model (each line a sentence of white-space separated words): add --level word"
                    .into(),
            ));
        }
        if arpa.is_some() && load.is_some() {
            return Err(Error::Usage(
                "--arpa writes a model trained on --corpus; --load reads one".into(),
            ));
        }
        if f.given("--discount") && arpa.is_none() {
            return Err(Error::Usage(
                "--discount sets the discounting of --arpa's sentence model; add --arpa FILE".into(),
            ));
        }
        Ok(NgramArgs {
            discount: f
                .choice(
                    "--discount",
                    crate::baselines::sentences::Discounting::parse,
                    "kn or modified",
                )?
                .expect("a default"),
            corpus,
            load,
            arpa,
            eval: f.required_path("--eval")?,
            order,
            level: level(f)?,
            min_count: f.count("--min-count", 1)?,
            max_vocab: f.count("--max-vocab", 3)?,
            json: f.switch("--json"),
        })
    }
}

impl Command {
    /// Check and type the flags of command `name` (a name with a table).
    pub(crate) fn from_flags(name: &str, f: &Flags) -> Result<Command> {
        Ok(match name {
            "demo" => Command::Demo(DemoArgs {
                time: f.number("--time", 1.0, 1e6)?,
                threads: threads(f)?,
                out: f.required_path("--out")?,
            }),
            "train" => Command::Train(TrainArgs::from_flags(f)?),
            "eval" => Command::Eval(EvalArgs::from_flags(f)?),
            "score" => Command::Score(ScoreArgs::from_flags(f)?),
            "predict" => Command::Predict(PredictArgs {
                model: f.required_path("--model")?,
                prime: f.required("--prime")?.to_string(),
                top: f.count("--top", 1)?,
                json: f.switch("--json"),
                weights: weights(f)?,
            }),
            "generate" => Command::Generate(GenerateArgs::from_flags(f)?),
            "gradcheck" => Command::Gradcheck(GradcheckArgs {
                vocab: f.count("--vocab", 2)?,
                classes: f.count("--classes", 0)?,
                embed: f.count("--embed", 1)?,
                hidden: f.count("--hidden", 1)?,
                batch: f.count("--batch", 1)?,
                seq_len: f.count("--seq-len", 1)?,
                seed: f.u64("--seed")?,
                sample: f.opt_count("--sample", 1)?,
            }),
            "ngram" => Command::Ngram(NgramArgs::from_flags(f)?),
            "synth" => Command::Synth(SynthArgs {
                kind: match f.required("--kind")? {
                    "hmm" => SynthKind::Hmm,
                    "copy" => SynthKind::Copy,
                    other => return Err(Error::Usage(format!("--kind: '{other}' is not hmm or copy"))),
                },
                out: f.required_path("--out")?,
                seed: f.u64("--seed")?,
                train: f.count("--train", 10)?,
                test: f.count("--test", 10)?,
            }),
            "export" => Command::Export {
                model: f.required_path("--model")?,
                out: f.required_path("--out")?,
            },
            "import" => Command::Import {
                dir: f.required_path("--dir")?,
                out: f.required_path("--out")?,
            },
            "plot" => Command::Plot {
                logs: f.all_paths("--log"),
                out: f.required_path("--out")?,
            },
            "bench gemm" => Command::BenchGemm(BenchGemmArgs {
                threads: thread_list(f)?,
                json: f.switch("--json"),
                kernels: match kernel_flag(f)? {
                    Some(k) => vec![k],
                    None => Kernel::available(),
                },
                budget_ms: f.u64("--budget")?,
                shapes: shapes(f)?,
                prepacked: f.switch("--prepacked"),
            }),
            "bench train" => Command::BenchTrain(BenchTrainArgs {
                threads: thread_list(f)?,
                json: f.switch("--json"),
                kernel: kernel_flag(f)?.unwrap_or_else(Kernel::best),
                budget_ms: f.u64("--budget")?,
            }),
            "bench generate" => Command::BenchGenerate(BenchGenerateArgs {
                json: f.switch("--json"),
                kernel: kernel_flag(f)?.unwrap_or_else(Kernel::best),
                budget_ms: f.u64("--budget")?,
            }),
            "bench score" => Command::BenchScore(BenchScoreArgs {
                model: f.required_path("--model")?,
                sentences: f.required_path("--sentences")?,
                batch: f.count("--batch", 1)?,
                threads: capped_threads(f.count("--threads", 1)?),
                json: f.switch("--json"),
                budget_ms: f.u64("--budget")?,
            }),
            other => unreachable!("no flag table for '{other}'"),
        })
    }
}
