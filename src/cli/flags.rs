//! Each command's flags, declared once: name, default, help. The `--help`
//! text is written from these tables and the typed getters of [`Flags`]
//! fall back to the same defaults, so the two cannot drift apart.

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::path::PathBuf;

use super::defaults::LevelDefaults;
use crate::data::Level;
use crate::error::{Error, Result};
use crate::train::schedule::Schedule;
use crate::train::OptimizerKind;

/// A flag's default: the one place it is declared.
#[derive(Clone, Copy, Debug)]
pub enum FlagDefault {
    /// This value, parsed exactly as a typed one would be.
    Value(&'static str),
    /// The flag must be given.
    Required,
    /// Unset unless given; the text says what unset means.
    Unset(&'static str),
    /// Computed from other flags by a rule; the function states the rule
    /// for the help from the code that applies it.
    Rule(fn() -> String),
    /// A switch: takes no value, off unless given.
    Off,
    /// A value that may be given several times (all are kept, in order);
    /// the text says what none means.
    Repeated(&'static str),
}

/// One flag of a command.
#[derive(Clone, Copy, Debug)]
pub struct Flag {
    pub name: &'static str,
    pub default: FlagDefault,
    pub help: &'static str,
    /// The value names a file or folder: any bytes the system allows in a
    /// path are accepted, UTF-8 or not. Every other value must be UTF-8.
    pub path: bool,
}

impl Flag {
    /// Whether the flag takes a value (everything but a switch).
    pub fn takes_value(&self) -> bool {
        !matches!(self.default, FlagDefault::Off)
    }

    /// The default as the help shows it (empty for a switch).
    pub fn default_text(&self) -> String {
        match self.default {
            FlagDefault::Value(v) => v.to_string(),
            FlagDefault::Required => "(required)".into(),
            FlagDefault::Unset(what) => format!("({what})"),
            FlagDefault::Rule(rule) => rule(),
            FlagDefault::Off => String::new(),
            FlagDefault::Repeated(what) => format!("({what}; may be given more than once)"),
        }
    }
}

/// A command's flag table.
pub type Spec = &'static [Flag];

const fn flag(name: &'static str, default: FlagDefault, help: &'static str) -> Flag {
    Flag {
        name,
        default,
        help,
        path: false,
    }
}

/// A flag whose value is a path (see [`Flag::path`]).
const fn file(name: &'static str, default: FlagDefault, help: &'static str) -> Flag {
    Flag {
        name,
        default,
        help,
        path: true,
    }
}

/// `--weights`, shared by the commands that run a model.
const WEIGHTS: Flag = flag(
    "--weights",
    Value("f32"),
    "precision of the weights: f32 (as trained) | bf16 (each rounded to 8 significant bits; half the bytes per step) | f16 (IEEE half: 11 significant bits, largest 65504; half the bytes, widened by F16C where the CPU has it)",
);

/// `--mix`, `--lambda`, `--mix-valid`: an ARPA n-gram mixed in (`eval`, `score`).
const MIX: Flag = file(
    "--mix",
    Unset("none: the RNN alone"),
    "mix this ARPA n-gram (word level) into each token's probability: p = (1 − λ)·p_rnn + λ·p_ngram; each line is a sentence to it",
);
const LAMBDA: Flag = flag(
    "--lambda",
    Unset("required with --mix"),
    "--mix: the n-gram's weight λ in [0, 1], or auto (EM on --mix-valid's per-token probabilities)",
);
const MIX_VALID: Flag = file(
    "--mix-valid",
    Unset("required with --lambda auto"),
    "--lambda auto: held-out text (not the text scored) on which λ is chosen",
);

use FlagDefault::{Off, Repeated, Required, Rule, Unset, Value};

/// `--classes`' default, as `app::train` applies it.
fn classes_rule() -> String {
    "char and jamo 0, word ⌈√V⌉; with --init or --resume, the checkpoint's".into()
}

/// `--schedule`'s default per optimizer, written from [`Schedule::default_for`].
fn schedule_rule() -> String {
    OptimizerKind::ALL
        .map(|k| format!("{} {}", k.name(), Schedule::default_for(k).name()))
        .join(", ")
}

/// `--threads`' default: every core this process may use.
fn threads_rule() -> String {
    format!(
        "this machine's available parallelism, here {}",
        crate::workers::available()
    )
}

/// `--lr`'s default per optimizer, written from [`OptimizerKind::default_lr`].
fn lr_rule() -> String {
    let word = LevelDefaults::of(Level::Word);
    let rules = OptimizerKind::ALL
        .map(|k| format!("{} {}", k.name(), k.default_lr()))
        .join(", ");
    format!("{rules}; adam at word level {}", word.lr(OptimizerKind::Adam))
}

pub const TRAIN: Spec = &[
    file("--corpus", Required, "UTF-8 training text"),
    flag(
        "--level",
        Value("char"),
        "char | jamo (Hangul syllables as jamo) | word",
    ),
    flag("--embed", Rule(|| LevelDefaults::help(|d| d.embed.to_string())), "embedding width D"),
    flag("--hidden", Rule(|| LevelDefaults::help(|d| d.hidden.to_string())), "hidden width H"),
    flag(
        "--classes",
        Rule(classes_rule),
        "output classes C, by √-frequency (0 = the full softmax)",
    ),
    flag(
        "--tie",
        Off,
        "tie the input and output embeddings: one matrix is E and W_y (needs --embed = --hidden); \
         word level ties by default whenever --embed = --hidden",
    ),
    flag("--untie", Off, "separate E and W_y (the default at char and jamo level)"),
    flag(
        "--init-scheme",
        Rule(|| LevelDefaults::help(|d| d.init_scheme.name().to_string())),
        "unit (E ~ N(0, 1), W_y ~ U(±1/√H)) | small (E, W_y ~ U(±0.1)); W_x, W_h, W_c ~ U(±1/√H) in both",
    ),
    flag(
        "--class-method",
        Rule(|| LevelDefaults::help(|d| d.class_method.name().to_string())),
        "frequency (√-frequency bins) | exchange (the bins improved by exchange clustering on bigrams)",
    ),
    flag("--seq-len", Rule(|| LevelDefaults::help(|d| d.seq_len.to_string())), "BPTT chunk length T"),
    flag("--batch", Rule(|| LevelDefaults::help(|d| d.batch.to_string())), "parallel streams B"),
    flag(
        "--epochs",
        Rule(|| LevelDefaults::help(|d| d.epochs.to_string())),
        "maximum epochs (the schedule usually stops a run before)",
    ),
    flag("--steps", Unset("none"), "stop after N optimizer steps"),
    flag("--time", Unset("none"), "stop after N seconds"),
    flag("--optimizer", Value("adam"), "sgd | adagrad | adam"),
    flag("--lr", Rule(lr_rule), "learning rate"),
    flag("--clip", Value("5"), "clip gradients to this global norm (0 = off)"),
    flag("--seed", Value("1"), "random seed (weights, sampling)"),
    flag(
        "--threads",
        Rule(threads_rule),
        "threads (results do not depend on it: a run resumes exactly with another count)",
    ),
    file("--valid", Unset("none"), "validation text file"),
    flag(
        "--valid-frac",
        Value("0.1"),
        "fraction of the text end held out for validation when --valid is not given (0 = none)",
    ),
    flag("--min-count", Value("1"), "word level: rarer words become <unk>"),
    flag(
        "--max-vocab",
        Value("50000"),
        "word level: vocabulary cap (incl. <eos>, <unk>)",
    ),
    flag(
        "--schedule",
        Rule(schedule_rule),
        "mikolov (reject worse epochs, then halve lr every epoch; stop at a gain under a tenth of --min-improvement) | mikolov-strict (stop at a gain under --min-improvement) | plateau (halve on a plateau)",
    ),
    flag(
        "--min-improvement",
        Value("0.003"),
        "relative validation gain below which lr is halved",
    ),
    flag(
        "--patience",
        Value("3"),
        "plateau: stop after this many non-improving epochs",
    ),
    flag(
        "--dropout",
        Rule(|| LevelDefaults::help(|d| d.dropout.to_string())),
        "dropout on the embedding and on h_t into the output layer (training only)",
    ),
    flag(
        "--weight-decay",
        Value("0"),
        "L2 added to the gradient of every weight matrix (not the biases)",
    ),
    file("--out", Value("model.ckpt"), "checkpoint to write (atomically)"),
    flag("--save-every", Unset("epoch ends"), "also save every N steps"),
    file(
        "--best",
        Unset("none"),
        "also keep the best model by validation loss here",
    ),
    file(
        "--init",
        Unset("none"),
        "start from a checkpoint's weights, fresh optimizer",
    ),
    file("--resume", Unset("none"), "continue a run from its checkpoint"),
    file("--log", Unset("none"), "write the learning curve as CSV"),
    flag("--quiet", Off, "no progress output"),
];

pub const EVAL: Spec = &[
    file("--model", Required, "checkpoint"),
    file("--corpus", Required, "UTF-8 text to score"),
    flag("--json", Off, "print one JSON object"),
    file(
        "--per-token",
        Unset("none"),
        "write each scored token's surprisal here: TSV position, token, nats, rank (- : stdout, as scored; the summary then goes to stderr)",
    ),
    file(
        "--html",
        Unset("none"),
        "write the text as a page, each token coloured by its surprisal, top predictions on hover",
    ),
    WEIGHTS,
    flag(
        "--dynamic",
        Unset("off: the model as saved"),
        "dynamic evaluation: after each chunk is scored, one SGD step at this rate on it (the file is not changed)",
    ),
    flag(
        "--seq-len",
        Unset("the checkpoint's training T, else 35"),
        "--dynamic: tokens per chunk (one update each)",
    ),
    flag(
        "--clip",
        Unset("the checkpoint's training clip, else 5"),
        "--dynamic: clip each update's gradient to this global norm (0 = off)",
    ),
    MIX,
    LAMBDA,
    MIX_VALID,
    flag("--threads", Rule(threads_rule), "threads for the products"),
];

pub const SCORE: Spec = &[
    file("--model", Required, "checkpoint"),
    file(
        "--sentences",
        Unset("this or --nbest"),
        "score each line as a sentence from the model's sentence-start state: TSV line, tokens, oov, log10_prob, ppl, ppl1, then the totals",
    ),
    file(
        "--nbest",
        Unset("this or --sentences"),
        "rescore id<TAB>score<TAB>hypothesis lines: print each id's best by score + --lm-weight · log10 p",
    ),
    flag("--lm-weight", Unset("required with --nbest"), "--nbest: the weight W of the model's log10 p"),
    flag("--all", Off, "--nbest: print every hypothesis with its three scores"),
    MIX,
    LAMBDA,
    MIX_VALID,
    flag("--json", Off, "one JSON object a line"),
    flag("--batch", Value("32"), "sentences scored side by side (results do not depend on it)"),
    WEIGHTS,
    flag("--threads", Rule(threads_rule), "threads for the products"),
];

pub const PREDICT: Spec = &[
    file("--model", Required, "checkpoint"),
    flag("--prime", Value(""), "the context (word level: the start of a line)"),
    flag("--top", Value("10"), "how many next tokens to list"),
    flag("--json", Off, "print one JSON object"),
    WEIGHTS,
];

pub const GENERATE: Spec = &[
    file("--model", Required, "checkpoint"),
    flag("--prime", Value(""), "text to warm the hidden state"),
    flag("--len", Value("500"), "tokens to generate"),
    flag("--temperature", Value("1.0"), "softmax temperature (0 = greedy)"),
    flag("--top-k", Value("0"), "sample among the k most likely (0 = all)"),
    flag("--top-p", Value("1.0"), "sample among the smallest set with this mass"),
    flag("--seed", Value("1"), "random seed (sample i uses seed + i)"),
    flag(
        "--samples",
        Unset("1, printed without a header"),
        "draw N independent samples at once, each printed after a line --- sample i ---",
    ),
    WEIGHTS,
    flag("--threads", Rule(threads_rule), "threads for the products"),
];

pub const NGRAM: Spec = &[
    file("--corpus", Unset("required unless --load"), "training text"),
    file(
        "--load",
        Unset("none"),
        "score with this ARPA file (SRILM, KenLM, IRSTLM or rnnlm) instead: each line a sentence from <s>, ending in </s>, unknown words as <unk>",
    ),
    file(
        "--arpa",
        Unset("none"),
        "word level: count the model over sentences (each line from <s> to </s>, as SRILM and KenLM do), write it here in the ARPA format, and score --eval with it",
    ),
    flag(
        "--discount",
        Value("modified"),
        "--arpa: kn (one discount per order) | modified (three per order: counts 1, 2, 3+; what SRILM's -kndiscount and KenLM's lmplz use)",
    ),
    file("--eval", Required, "text to score"),
    flag("--order", Value("5"), "n (1 to 5)"),
    flag(
        "--level",
        Value("char"),
        "char | jamo (Hangul syllables as jamo) | word",
    ),
    flag("--min-count", Value("1"), "word level: rarer words become <unk>"),
    flag("--max-vocab", Value("50000"), "word level: vocabulary cap"),
    flag("--json", Off, "print one JSON object"),
];

pub const SYNTH: Spec = &[
    flag("--kind", Required, "hmm | copy"),
    file("--out", Required, "folder for train.txt, test.txt, truth.json"),
    flag("--seed", Value("1"), "random seed"),
    flag("--train", Value("100000"), "training tokens (about)"),
    flag("--test", Value("20000"), "test tokens (about)"),
];

pub const EXPORT: Spec = &[
    file("--model", Required, "checkpoint to export"),
    file("--out", Required, "folder to write (created if missing)"),
];

pub const IMPORT: Spec = &[
    file(
        "--dir",
        Required,
        "folder with E.npy W_x.npy W_h.npy b_h.npy W_y.npy b_y.npy vocab.json config.json",
    ),
    file("--out", Required, "checkpoint to write"),
];

pub const GRADCHECK: Spec = &[
    flag("--vocab", Value("7"), "V"),
    flag(
        "--classes",
        Value("0"),
        "C: output classes of equal size (0 = full softmax)",
    ),
    flag("--embed", Value("5"), "D"),
    flag("--hidden", Value("6"), "H"),
    flag("--batch", Value("3"), "B"),
    flag("--seq-len", Value("7"), "T"),
    flag("--seed", Value("1"), "random seed"),
    flag("--sample", Unset("all"), "entries checked per tensor"),
];

pub const BENCH_TRAIN: Spec = &[
    flag("--threads", Unset("1 and 2"), "thread count to measure"),
    flag("--json", Off, "one JSON object per line"),
    flag("--kernel", Unset("the fastest"), "naive | portable | avx2 | avx512"),
    flag(
        "--budget",
        Value("1500"),
        "milliseconds per measurement (best run counts); raise it on a noisy machine",
    ),
];

pub const BENCH_GENERATE: Spec = &[
    flag("--json", Off, "one JSON object per line"),
    flag("--kernel", Unset("the fastest"), "naive | portable | avx2 | avx512"),
    flag(
        "--budget",
        Value("600"),
        "milliseconds per measurement (best run counts); raise it on a noisy machine",
    ),
];

pub const BENCH_SCORE: Spec = &[
    file("--model", Required, "checkpoint"),
    file(
        "--sentences",
        Required,
        "one sentence a line (the same text is scored as one stream, as eval does)",
    ),
    flag("--batch", Value("32"), "sentences scored side by side"),
    flag("--threads", Value("1"), "threads for the products"),
    flag("--json", Off, "one JSON object"),
    flag(
        "--budget",
        Value("3000"),
        "milliseconds per measurement (best run counts); raise it on a noisy machine",
    ),
];

pub const BENCH_GEMM: Spec = &[
    flag("--threads", Unset("1 and 2"), "thread count to measure"),
    flag("--json", Off, "one JSON object per line"),
    flag("--kernel", Unset("all available"), "naive | portable | avx2 | avx512"),
    flag(
        "--budget",
        Value("200"),
        "milliseconds per measurement (best run counts); raise it on a noisy machine",
    ),
    flag(
        "--shape",
        Unset("the RNNLM shapes"),
        "measure these shapes instead, MxKxN for [M,K]·[K,N], comma-separated",
    ),
    flag(
        "--prepacked",
        Off,
        "pack B once outside the timing, as the model does for weights",
    ),
];

pub const PLOT: Spec = &[
    file(
        "--log",
        Repeated("required"),
        "a training CSV (--log of train); several overlay",
    ),
    file("--out", Required, "the SVG to write"),
];

pub const DEMO: Spec = &[
    flag("--time", Value("60"), "training seconds"),
    flag("--threads", Rule(threads_rule), "threads"),
    file("--out", Value("rnnlm-demo.ckpt"), "checkpoint to write"),
];

/// The flag table of a command name (`"bench gemm"` for a subcommand).
pub fn spec_for(name: &str) -> Option<Spec> {
    Some(match name {
        "train" => TRAIN,
        "eval" => EVAL,
        "score" => SCORE,
        "generate" => GENERATE,
        "predict" => PREDICT,
        "gradcheck" => GRADCHECK,
        "export" => EXPORT,
        "ngram" => NGRAM,
        "synth" => SYNTH,
        "import" => IMPORT,
        "bench gemm" => BENCH_GEMM,
        "bench train" => BENCH_TRAIN,
        "bench generate" => BENCH_GENERATE,
        "bench score" => BENCH_SCORE,
        "plot" => PLOT,
        "demo" => DEMO,
        _ => return None,
    })
}

/// The `--help` text of a command.
pub fn command_help(name: &str) -> String {
    let spec = spec_for(name).unwrap_or(&[]);
    let mut s = format!("usage: rnnlm {name} [FLAGS]\n\nflags:\n");
    for f in spec {
        let v = if f.takes_value() { " X" } else { "" };
        let d = match f.default_text() {
            d if d.is_empty() => d,
            d => format!(" [default: {d}]"),
        };
        s += &format!("  {:<22} {}{d}\n", format!("{}{v}", f.name), f.help);
    }
    s
}

/// The flags typed for one command, read through typed getters that fall
/// back to the table's defaults; every error names the flag.
#[derive(Clone, Debug)]
pub struct Flags {
    spec: Spec,
    /// Every value typed for each flag, in order (one unless it repeats).
    /// A path may hold any bytes; any other value was checked to be UTF-8.
    values: HashMap<&'static str, Vec<OsString>>,
    switches: Vec<&'static str>,
}

impl Flags {
    pub(crate) fn new(spec: Spec) -> Self {
        Flags {
            spec,
            values: HashMap::new(),
            switches: Vec::new(),
        }
    }

    /// The table entry of `name`.
    pub fn lookup(&self, name: &str) -> Option<&'static Flag> {
        self.spec.iter().find(|f| f.name == name)
    }

    /// Record one typed flag. A flag typed twice is refused (unless it
    /// repeats), and so is a value that is not UTF-8 where text is needed.
    pub(crate) fn set(&mut self, flag: &'static Flag, value: Option<OsString>) -> Result<()> {
        let repeats = matches!(flag.default, FlagDefault::Repeated(_));
        if self.given(flag.name) && !repeats {
            return Err(Error::Usage(format!("{} is given twice: give it once", flag.name)));
        }
        match value {
            Some(v) if v.to_str().is_none() && !flag.path => Err(Error::Usage(format!(
                "{}: '{}' is not valid UTF-8",
                flag.name,
                v.to_string_lossy()
            ))),
            Some(v) => {
                self.values.entry(flag.name).or_default().push(v);
                Ok(())
            }
            None => {
                self.switches.push(flag.name);
                Ok(())
            }
        }
    }

    fn entry(&self, name: &str) -> &'static Flag {
        self.lookup(name)
            .unwrap_or_else(|| panic!("{name} is not in this command's flag table"))
    }

    /// Whether the flag was typed.
    pub fn given(&self, name: &str) -> bool {
        self.values.contains_key(name) || self.switches.contains(&name)
    }

    /// Every flag that was typed, in table order.
    pub fn all_given(&self) -> Vec<&'static str> {
        self.spec.iter().map(|f| f.name).filter(|n| self.given(n)).collect()
    }

    /// A switch: on if typed.
    pub fn switch(&self, name: &str) -> bool {
        debug_assert!(!self.entry(name).takes_value(), "{name} takes a value");
        self.switches.contains(&name)
    }

    /// The typed value, else the table's default value; `None` when unset.
    fn raw(&self, name: &str) -> Option<&OsStr> {
        match (self.values.get(name).and_then(|v| v.last()), self.entry(name).default) {
            (Some(v), _) => Some(v),
            (None, FlagDefault::Value(v)) => Some(OsStr::new(v)),
            _ => None,
        }
    }

    /// The typed text, else the table's default value; `None` when unset.
    pub fn text(&self, name: &str) -> Option<&str> {
        debug_assert!(!self.entry(name).path, "{name} is a path: read it with `path`");
        self.raw(name).and_then(OsStr::to_str)
    }

    /// A path flag's value (any bytes), else its default; `None` when unset.
    pub fn path(&self, name: &str) -> Option<PathBuf> {
        debug_assert!(self.entry(name).path, "{name} is not a path");
        self.raw(name).map(PathBuf::from)
    }

    /// Every value typed for a repeatable path flag, in order.
    pub fn all_paths(&self, name: &str) -> Vec<PathBuf> {
        debug_assert!(
            matches!(self.entry(name).default, FlagDefault::Repeated(_)),
            "{name} does not repeat"
        );
        self.values
            .get(name)
            .map_or(Vec::new(), |v| v.iter().map(PathBuf::from).collect())
    }

    /// The text of a flag that must have one (typed, or a default value).
    pub fn required(&self, name: &str) -> Result<&str> {
        self.text(name)
            .ok_or_else(|| Error::Usage(format!("{name} is required")))
    }

    /// The path of a flag that must have one (typed, or a default value).
    pub fn required_path(&self, name: &str) -> Result<PathBuf> {
        self.path(name)
            .ok_or_else(|| Error::Usage(format!("{name} is required")))
    }

    fn parsed<T: std::str::FromStr>(&self, name: &str, what: &str) -> Result<Option<T>> {
        match self.text(name) {
            None => Ok(None),
            Some(v) => v
                .parse()
                .map(Some)
                .map_err(|_| Error::Usage(format!("{name}: '{v}' is not {what}"))),
        }
    }

    /// One of a set of names, read by `parse`; `None` when unset. The
    /// error names the flag and lists `names` ("sgd, adagrad or adam").
    pub fn choice<T>(&self, name: &str, parse: impl Fn(&str) -> Option<T>, names: &str) -> Result<Option<T>> {
        match self.text(name) {
            None => Ok(None),
            Some(v) => parse(v)
                .map(Some)
                .ok_or_else(|| Error::Usage(format!("{name}: '{v}' is not {names}"))),
        }
    }

    /// A whole number ≥ `min`, or `None` when unset.
    pub fn opt_count(&self, name: &str, min: usize) -> Result<Option<usize>> {
        match self.parsed::<usize>(name, "a whole number")? {
            Some(v) if v < min => Err(Error::Usage(format!("{name}: {v} is too small (at least {min})"))),
            v => Ok(v),
        }
    }

    /// A whole number ≥ `min` (the flag has a default value).
    pub fn count(&self, name: &str, min: usize) -> Result<usize> {
        Ok(self.opt_count(name, min)?.expect("a flag with a default value"))
    }

    /// A 64-bit whole number (the flag has a default value).
    pub fn u64(&self, name: &str) -> Result<u64> {
        Ok(self
            .parsed::<u64>(name, "a whole number")?
            .expect("a flag with a default value"))
    }

    /// A finite number in `[lo, hi]`, or `None` when unset.
    pub fn opt_number(&self, name: &str, lo: f64, hi: f64) -> Result<Option<f64>> {
        match self.parsed::<f64>(name, "a number")? {
            Some(v) if !v.is_finite() || v < lo || v > hi => {
                Err(Error::Usage(format!("{name}: {v} is out of range ({lo} to {hi})")))
            }
            v => Ok(v),
        }
    }

    /// A finite number in `[lo, hi]` (the flag has a default value).
    pub fn number(&self, name: &str, lo: f64, hi: f64) -> Result<f64> {
        Ok(self.opt_number(name, lo, hi)?.expect("a flag with a default value"))
    }
}
