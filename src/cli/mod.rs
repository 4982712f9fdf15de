//! The command line: what was typed, parsed into a [`Command`].
//!
//! Parsing checks flags and values only; resolving them into a run (reading
//! files, building models) is `app`'s work. Every error names the flag.
//!
//! | file | holds |
//! |---|---|
//! | [`flags`] | each command's flag table (name, default, help) and typed getters |
//! | [`args`] | one struct per command, filled from its flags |
//! | [`defaults`] | `train`'s defaults that depend on the level |

pub mod args;
pub mod defaults;
pub mod flags;

pub use args::*;
pub use flags::command_help;

use std::ffi::OsString;

use crate::error::{Error, Result};
use flags::{spec_for, Flags};

pub const HELP: &str = "\
rnnlm — a recurrent neural network language model, from scratch

usage: rnnlm [COMMAND] [FLAGS]

With no command: train a char-level model on the bundled corpus for about a
minute, report validation perplexity against the unigram and Kneser-Ney
5-gram baselines on the same split, save it to rnnlm-demo.ckpt and print
samples.

commands:
  train       train a model on a text file
  eval        cross-entropy / perplexity of a model on a text file (--per-token: each token's; --mix: with an ARPA n-gram)
  score       each line's log10 probability as a sentence (--sentences), or n-best lists rescored (--nbest)
  generate    sample text from a model
  predict     the most likely next tokens after a prime, with probabilities
  gradcheck   check BPTT gradients against finite differences
  ngram       interpolated Kneser-Ney baseline on the same tokens as eval
  synth       generate text with an exactly known cross-entropy
  plot        learning curves of train --log CSV files as an SVG
  export      write a model as .npy tensors + vocab.json + config.json
  import      build a checkpoint from such a folder
  bench       measure the matmul (bench gemm), a training step (bench train) or generation (bench generate), or sentence scoring against eval (bench score)

Run `rnnlm COMMAND --help` for the flags of each command.
";

/// What the first arguments name: a command and where its flags start, or
/// a help text to print.
enum Named {
    Command(String, usize),
    Help(String),
}

/// Read the command name (`bench` takes a second word): no command or a
/// flag first is the demo.
fn command_name(args: &[OsString]) -> Result<Named> {
    let word = |i: usize| args.get(i).map(|a| a.to_str().unwrap_or("\u{fffd}"));
    Ok(match word(0) {
        None => Named::Command("demo".into(), 0),
        Some("-h" | "--help" | "help") => Named::Help(HELP.into()),
        Some(s) if s.starts_with("--") => Named::Command("demo".into(), 0),
        Some("bench") => match word(1) {
            Some(sub @ ("gemm" | "train" | "generate" | "score")) => Named::Command(format!("bench {sub}"), 2),
            Some("-h" | "--help") | None => Named::Help(format!(
                "usage: rnnlm bench gemm|train|generate|score [FLAGS]\n\n{}\n{}\n{}\n{}",
                command_help("bench gemm"),
                command_help("bench train"),
                command_help("bench generate"),
                command_help("bench score")
            )),
            Some(_) => {
                return Err(Error::Usage(format!(
                    "unknown bench '{}': use `rnnlm bench gemm`, `rnnlm bench train`, `rnnlm bench generate` or `rnnlm bench score`",
                    args[1].to_string_lossy()
                )))
            }
        },
        Some(cmd) if spec_for(cmd).is_some() => Named::Command(cmd.to_string(), 1),
        Some(_) => {
            return Err(Error::Usage(format!(
                "unknown command '{}' (see `rnnlm --help`)",
                args[0].to_string_lossy()
            )))
        }
    })
}

/// Parse the arguments after the program name. They are read as the system
/// gives them: a path may be any bytes, every other value must be UTF-8.
pub fn parse<I>(args: I) -> Result<Command>
where
    I: IntoIterator,
    I::Item: Into<OsString>,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let (name, rest) = match command_name(&args)? {
        Named::Help(text) => return Ok(Command::Help(text)),
        Named::Command(name, at) => (name, &args[at..]),
    };
    let mut flags = Flags::new(spec_for(&name).expect("known command"));
    let mut i = 0;
    while i < rest.len() {
        let (key, inline) = split_flag(&rest[i]);
        if key == "-h" || key == "--help" {
            return Ok(Command::Help(command_help(&name)));
        }
        let Some(flag) = flags.lookup(&key) else {
            let what = if key.starts_with('-') {
                "unknown flag"
            } else {
                "unexpected argument"
            };
            return Err(Error::Usage(format!(
                "{what} '{key}' for `rnnlm {name}` (see `rnnlm {name} --help`)"
            )));
        };
        let value = if flag.takes_value() {
            Some(match inline {
                Some(v) => v,
                None => {
                    i += 1;
                    rest.get(i)
                        .cloned()
                        .ok_or_else(|| Error::Usage(format!("{key} needs a value")))?
                }
            })
        } else if inline.is_some() {
            return Err(Error::Usage(format!("{key} takes no value")));
        } else {
            None
        };
        flags.set(flag, value)?;
        i += 1;
    }
    Command::from_flags(&name, &flags)
}

/// One argument as a flag name and, for `--name=value`, its value. The
/// name is text (shown lossily if it is not UTF-8: no flag matches it); the
/// value keeps its bytes, so a path after `=` may be any path.
fn split_flag(arg: &OsString) -> (String, Option<OsString>) {
    let lossy = arg.to_string_lossy();
    match lossy.split_once('=') {
        Some((key, _)) if key.starts_with("--") => {
            let value = after_first_equals(arg);
            (key.to_string(), Some(value))
        }
        _ => (lossy.into_owned(), None),
    }
}

/// The bytes of `arg` after its first `=` (no byte of an invalid sequence
/// is an `=`, so this is the `=` the lossy text split at).
#[cfg(unix)]
fn after_first_equals(arg: &OsString) -> OsString {
    use std::os::unix::ffi::OsStrExt;
    let bytes = arg.as_bytes();
    let at = bytes.iter().position(|&b| b == b'=').expect("split at an '='");
    std::ffi::OsStr::from_bytes(&bytes[at + 1..]).to_os_string()
}

/// The text after the first `=` (elsewhere a value after `=` must be
/// UTF-8 to be split; `--flag VALUE` takes any path).
#[cfg(not(unix))]
fn after_first_equals(arg: &OsString) -> OsString {
    let lossy = arg.to_string_lossy();
    OsString::from(lossy.split_once('=').expect("split at an '='").1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Level;
    use crate::model::{ClassMethod, InitScheme};
    use crate::train::OptimizerKind;
    use std::path::PathBuf;

    fn p(s: &str) -> Result<Command> {
        parse(s.split_whitespace().map(String::from))
    }

    fn train(s: &str) -> TrainArgs {
        match p(s) {
            Ok(Command::Train(t)) => t,
            other => panic!("not a train command: {other:?}"),
        }
    }

    #[test]
    fn parses_flags_and_values() {
        let t = train("train --corpus a.txt --batch=4 --quiet");
        assert_eq!(t.corpus, PathBuf::from("a.txt"));
        assert_eq!(t.batch, 4);
        assert!(t.quiet);
        assert_eq!(t.given, ["--corpus", "--batch", "--quiet"]);
        assert!(matches!(p("").unwrap(), Command::Demo(_)));
        assert!(matches!(p("bench gemm --json").unwrap(), Command::BenchGemm(b) if b.json));
    }

    #[test]
    fn errors_name_the_flag() {
        let e = p("train --bogus 1").unwrap_err().to_string();
        assert!(e.contains("unknown flag '--bogus'"), "{e}");
        let e = p("train --corpus").unwrap_err().to_string();
        assert!(e.contains("--corpus needs a value"), "{e}");
        let e = p("train --corpus a --batch x").unwrap_err().to_string();
        assert!(e.contains("--batch: 'x' is not a whole number"), "{e}");
        assert!(p("train --corpus a --batch 0").is_err());
        assert!(p("generate --model m --temperature -1").is_err());
        assert!(p("frobnicate").unwrap_err().to_string().contains("unknown command"));
        let e = p("train --batch 4").unwrap_err().to_string();
        assert_eq!(e, "--corpus is required");
    }

    /// The documented defaults — the values README and `--help` promise,
    /// typed here by hand — are what an empty command line resolves to.
    #[test]
    fn an_empty_command_line_resolves_to_the_documented_defaults() {
        let t = train("train --corpus c.txt");
        assert_eq!(
            (t.level, t.embed, t.hidden, t.seq_len, t.batch, t.epochs),
            (Level::Char, 64, 256, 64, 32, 10)
        );
        assert_eq!((t.steps, t.time, t.optimizer), (None, None, OptimizerKind::Adam));
        // Threads: every core the process may use.
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        assert_eq!((t.clip, t.seed, t.threads), (5.0, 1, cores));
        assert_eq!((t.valid.clone(), t.valid_frac), (None, 0.1));
        assert_eq!((t.min_count, t.max_vocab), (1, 50_000));
        assert_eq!((t.min_improvement, t.patience), (0.003, 3));
        assert_eq!(t.out, PathBuf::from("model.ckpt"));
        assert_eq!((t.save_every, t.best.clone(), t.init.clone()), (None, None, None));
        assert_eq!((t.resume.clone(), t.log.clone(), t.quiet), (None, None, false));
        // The learning rate is a rule over the optimizer.
        assert_eq!(t.learning_rate(), 0.002);
        // So is the number of classes, over the level and V.
        assert_eq!((t.classes, t.class_count(10_000)), (None, 0));
        let w = train("train --corpus c --level word");
        assert_eq!(
            (w.class_count(10_000), w.class_count(10_001), w.class_count(2)),
            (100, 101, 2)
        );
        assert_eq!(train("train --corpus c --level word --classes 0").class_count(9), 0);
        // Word level has its own defaults (cli/defaults.rs), each overridable.
        assert_eq!(
            (
                w.embed,
                w.hidden,
                w.seq_len,
                w.batch,
                w.dropout,
                w.learning_rate(),
                w.epochs
            ),
            (400, 400, 35, 20, 0.3, 0.001, 20)
        );
        assert_eq!(
            (w.class_method, w.init_scheme()),
            (ClassMethod::Exchange, InitScheme::Small)
        );
        assert_eq!(
            (t.class_method, t.init_scheme(), t.dropout),
            (ClassMethod::Frequency, InitScheme::Unit, 0.0)
        );
        assert!(w.tie && !t.tie, "word level ties by default, char level does not");
        assert!(
            !train("train --corpus c --level word --hidden 512").tie,
            "D ≠ H: untied"
        );
        assert!(train("train --corpus c --level word --hidden 512 --embed 512").tie);
        assert!(!train("train --corpus c --level word --untie").tie);
        assert!(train("train --corpus c --tie --hidden 64").tie);
        assert!(p("train --corpus c --tie --untie").is_err());
        assert!(p("train --corpus c --tie --hidden 65").is_err());
        let typed = train("train --corpus c --level word --embed 8 --batch 3 --dropout 0 --class-method frequency");
        assert_eq!((typed.embed, typed.batch, typed.dropout), (8, 3, 0.0));
        assert_eq!(typed.class_method, ClassMethod::Frequency);
        assert_eq!(
            train("train --corpus c --level word --optimizer sgd").learning_rate(),
            1.0
        );
        assert_eq!(train("train --corpus c --optimizer sgd").learning_rate(), 1.0);
        assert_eq!(train("train --corpus c --optimizer adagrad").learning_rate(), 0.1);
        assert_eq!(train("train --corpus c --optimizer sgd --lr 0.5").learning_rate(), 0.5);

        let Command::Generate(g) = p("generate --model m").unwrap() else {
            panic!()
        };
        assert_eq!((g.prime.as_str(), g.len, g.seed), ("", 500, 1));
        assert_eq!((g.samples, g.threads), (None, cores));
        assert_eq!(
            (g.sampling.temperature, g.sampling.top_k, g.sampling.top_p),
            (1.0, 0, 1.0)
        );
        let Command::Eval(e) = p("eval --model m --corpus c").unwrap() else {
            panic!()
        };
        assert_eq!((e.json, e.threads), (false, cores));
        let Command::Ngram(n) = p("ngram --corpus a --eval b").unwrap() else {
            panic!()
        };
        assert_eq!(
            (n.order, n.level, n.min_count, n.max_vocab),
            (5, Level::Char, 1, 50_000)
        );
        let Command::Synth(s) = p("synth --kind hmm --out d").unwrap() else {
            panic!()
        };
        assert_eq!((s.seed, s.train, s.test), (1, 100_000, 20_000));
        let Command::Gradcheck(g) = p("gradcheck").unwrap() else {
            panic!()
        };
        assert_eq!(
            (g.vocab, g.embed, g.hidden, g.batch, g.seq_len, g.seed, g.sample),
            (7, 5, 6, 3, 7, 1, None)
        );
        let Command::BenchGemm(b) = p("bench gemm").unwrap() else {
            panic!()
        };
        assert_eq!((b.threads.clone(), b.budget_ms, b.prepacked), (vec![1, 2], 200, false));
        assert_eq!(b.shapes, crate::bench::GEMM_SHAPES);
        let Command::BenchTrain(b) = p("bench train").unwrap() else {
            panic!()
        };
        assert_eq!((b.threads.clone(), b.budget_ms), (vec![1, 2], 1500));
        let Command::Demo(d) = p("").unwrap() else { panic!() };
        assert_eq!(
            (d.time, d.threads, d.out),
            (60.0, cores, PathBuf::from("rnnlm-demo.ckpt"))
        );
    }

    /// The help shows each default as the table declares it, and the rule
    /// for `--lr` as the code applies it.
    #[test]
    fn help_shows_the_defaults_and_the_lr_rule() {
        let h = command_help("train");
        assert!(
            h.contains("--batch X") && h.contains("[default: char and jamo 32, word 20]"),
            "{h}"
        );
        assert!(
            h.contains("[default: sgd 1, adagrad 0.1, adam 0.002; adam at word level 0.001]"),
            "{h}"
        );
        assert!(h.contains("[default: char and jamo 0, word ⌈√V⌉;"), "{h}");
        assert!(h.contains("--corpus X") && h.contains("[default: (required)]"), "{h}");
        assert!(h.contains("--quiet ") && !h.contains("--quiet X"), "{h}");
    }
}
