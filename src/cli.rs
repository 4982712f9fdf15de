//! The command line: what was typed, parsed into a [`Command`].
//!
//! Parsing only checks flags and values; resolving them into a run (reading
//! files, building models) happens in `main.rs`. Every error names the flag.

use std::collections::HashMap;

use crate::error::{Error, Result};

pub const HELP: &str = "\
rnnlm — a recurrent neural network language model, from scratch

usage: rnnlm [COMMAND] [FLAGS]

With no command: train a char-level model on the bundled corpus for about a
minute, report validation perplexity against a unigram baseline, save it to
rnnlm-demo.ckpt and print samples.

commands:
  train       train a model on a text file
  eval        cross-entropy / perplexity of a model on a text file
  generate    sample text from a model
  gradcheck   check BPTT gradients against finite differences
  ngram       interpolated Kneser-Ney baseline on the same tokens as eval
  synth       generate text with an exactly known cross-entropy
  export      write a model as .npy tensors + vocab.json + config.json
  import      build a checkpoint from such a folder
  bench       measure the matmul (bench gemm) or a training step (bench train)

Run `rnnlm COMMAND --help` for the flags of each command.
";

/// Flags of each command: (name, takes a value, default, help).
type Spec = &'static [(&'static str, bool, &'static str, &'static str)];

const TRAIN: Spec = &[
    ("--corpus", true, "(required)", "UTF-8 training text"),
    ("--level", true, "char", "char | word"),
    ("--embed", true, "64", "embedding width D"),
    ("--hidden", true, "256", "hidden width H"),
    ("--seq-len", true, "64", "BPTT chunk length T"),
    ("--batch", true, "32", "parallel streams B"),
    ("--epochs", true, "10", "maximum epochs"),
    ("--steps", true, "(none)", "stop after N optimizer steps"),
    ("--time", true, "(none)", "stop after N seconds"),
    ("--optimizer", true, "adam", "sgd | adagrad | adam"),
    ("--lr", true, "sgd 1.0, adagrad 0.1, adam 0.002", "learning rate"),
    ("--clip", true, "5", "clip gradients to this global norm (0 = off)"),
    ("--seed", true, "1", "random seed (weights, sampling)"),
    ("--threads", true, "1", "matmul threads"),
    ("--valid", true, "(none)", "validation text file"),
    (
        "--valid-frac",
        true,
        "0.1",
        "fraction of the text end held out for validation (0 = none)",
    ),
    ("--min-count", true, "1", "word level: rarer words become <unk>"),
    (
        "--max-vocab",
        true,
        "50000",
        "word level: vocabulary cap (incl. <eos>, <unk>)",
    ),
    (
        "--min-improvement",
        true,
        "0.003",
        "relative validation gain below which lr is halved",
    ),
    ("--patience", true, "3", "stop after this many non-improving epochs"),
    ("--out", true, "model.ckpt", "checkpoint to write (atomically)"),
    ("--save-every", true, "(epoch ends)", "also save every N steps"),
    (
        "--best",
        true,
        "(none)",
        "also keep the best model by validation loss here",
    ),
    (
        "--init",
        true,
        "(none)",
        "start from a checkpoint's weights, fresh optimizer",
    ),
    ("--resume", true, "(none)", "continue a run from its checkpoint"),
    ("--log", true, "(none)", "write the learning curve as CSV"),
    ("--quiet", false, "", "no progress output"),
];

const EVAL: Spec = &[
    ("--model", true, "(required)", "checkpoint"),
    ("--corpus", true, "(required)", "UTF-8 text to score"),
    ("--json", false, "", "print one JSON object"),
];

const GENERATE: Spec = &[
    ("--model", true, "(required)", "checkpoint"),
    ("--prime", true, "(empty)", "text to warm the hidden state"),
    ("--len", true, "500", "tokens to generate"),
    ("--temperature", true, "1.0", "softmax temperature (0 = greedy)"),
    ("--top-k", true, "0", "sample among the k most likely (0 = all)"),
    ("--top-p", true, "1.0", "sample among the smallest set with this mass"),
    ("--seed", true, "1", "random seed"),
];

const NGRAM: Spec = &[
    ("--corpus", true, "(required)", "training text"),
    ("--eval", true, "(required)", "text to score"),
    ("--order", true, "5", "n (1 to 5)"),
    ("--level", true, "char", "char | word"),
    ("--min-count", true, "1", "word level: rarer words become <unk>"),
    ("--max-vocab", true, "50000", "word level: vocabulary cap"),
    ("--json", false, "", "print one JSON object"),
];

const SYNTH: Spec = &[
    ("--kind", true, "(required)", "hmm | copy"),
    (
        "--out",
        true,
        "(required)",
        "folder for train.txt, test.txt, truth.json",
    ),
    ("--seed", true, "1", "random seed"),
    ("--train", true, "100000", "training tokens (about)"),
    ("--test", true, "20000", "test tokens (about)"),
];

const EXPORT: Spec = &[
    ("--model", true, "(required)", "checkpoint to export"),
    ("--out", true, "(required)", "folder to write (created if missing)"),
];

const IMPORT: Spec = &[
    (
        "--dir",
        true,
        "(required)",
        "folder with E.npy W_x.npy W_h.npy b_h.npy W_y.npy b_y.npy vocab.json config.json",
    ),
    ("--out", true, "(required)", "checkpoint to write"),
];

const GRADCHECK: Spec = &[
    ("--vocab", true, "7", "V"),
    ("--embed", true, "5", "D"),
    ("--hidden", true, "6", "H"),
    ("--batch", true, "3", "B"),
    ("--seq-len", true, "7", "T"),
    ("--seed", true, "1", "random seed"),
    ("--sample", true, "(all)", "entries checked per tensor"),
];

const BENCH_TRAIN: Spec = &[
    ("--threads", true, "1 and 2", "thread count to measure"),
    ("--json", false, "", "one JSON object per line"),
    ("--kernel", true, "(the fastest)", "naive | portable | avx2 | avx512"),
    (
        "--budget",
        true,
        "1500",
        "milliseconds per measurement (best run counts); raise it on a noisy machine",
    ),
];

const BENCH_GEMM: Spec = &[
    ("--threads", true, "1 and 2", "thread count to measure"),
    ("--json", false, "", "one JSON object per line"),
    ("--kernel", true, "(all available)", "naive | portable | avx2 | avx512"),
    (
        "--budget",
        true,
        "200",
        "milliseconds per measurement (best run counts); raise it on a noisy machine",
    ),
    (
        "--shape",
        true,
        "(the RNNLM shapes)",
        "measure these shapes instead, MxKxN for [M,K]·[K,N], comma-separated",
    ),
    (
        "--prepacked",
        false,
        "",
        "pack B once outside the timing, as the model does for weights",
    ),
];

const DEMO: Spec = &[
    ("--time", true, "60", "training seconds"),
    ("--threads", true, "1", "matmul threads"),
    ("--out", true, "rnnlm-demo.ckpt", "checkpoint to write"),
];

/// A parsed command: its name and its flags.
#[derive(Clone, Debug, PartialEq)]
pub struct Command {
    /// `"demo"`, `"train"`, `"eval"`, `"generate"`, `"gradcheck"`,
    /// `"bench gemm"`, `"bench train"`, or `"help"`.
    pub name: String,
    pub flags: Flags,
    /// For `help`: the text to print.
    pub help: Option<String>,
}

/// Flag values as typed, with typed getters whose errors name the flag.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Flags {
    values: HashMap<String, String>,
    switches: Vec<String>,
}

fn spec_for(name: &str) -> Option<Spec> {
    Some(match name {
        "train" => TRAIN,
        "eval" => EVAL,
        "generate" => GENERATE,
        "gradcheck" => GRADCHECK,
        "export" => EXPORT,
        "ngram" => NGRAM,
        "synth" => SYNTH,
        "import" => IMPORT,
        "bench gemm" => BENCH_GEMM,
        "bench train" => BENCH_TRAIN,
        "demo" => DEMO,
        _ => return None,
    })
}

/// The `--help` text of a command.
pub fn command_help(name: &str) -> String {
    let spec = spec_for(name).unwrap_or(&[]);
    let mut s = format!("usage: rnnlm {name} [FLAGS]\n\nflags:\n");
    for (flag, val, default, help) in spec {
        let v = if *val { " X" } else { "" };
        let d = if default.is_empty() {
            String::new()
        } else {
            format!(" [default: {default}]")
        };
        s += &format!("  {:<22} {help}{d}\n", format!("{flag}{v}"));
    }
    s
}

/// Parse the arguments after the program name.
pub fn parse<I: IntoIterator<Item = String>>(args: I) -> Result<Command> {
    let args: Vec<String> = args.into_iter().collect();
    let mut rest = &args[..];
    let name = match rest.first().map(String::as_str) {
        None => "demo".to_string(),
        Some("-h" | "--help" | "help") => {
            return Ok(Command {
                name: "help".into(),
                flags: Flags::default(),
                help: Some(HELP.into()),
            })
        }
        Some(s) if s.starts_with("--") => "demo".to_string(),
        Some("bench") => {
            let sub = rest.get(1).map(String::as_str);
            match sub {
                Some("gemm") | Some("train") => {
                    rest = &rest[2..];
                    format!("bench {}", sub.unwrap())
                }
                Some("-h" | "--help") | None => {
                    let help = format!(
                        "usage: rnnlm bench gemm|train [FLAGS]\n\n{}",
                        command_help("bench gemm")
                    );
                    return Ok(Command {
                        name: "help".into(),
                        flags: Flags::default(),
                        help: Some(help),
                    });
                }
                Some(other) => {
                    return Err(Error::Usage(format!(
                        "unknown bench '{other}': use `rnnlm bench gemm` or `rnnlm bench train`"
                    )))
                }
            }
        }
        Some(cmd) => {
            if spec_for(cmd).is_none() {
                return Err(Error::Usage(format!("unknown command '{cmd}' (see `rnnlm --help`)")));
            }
            rest = &rest[1..];
            cmd.to_string()
        }
    };
    let spec = spec_for(&name).expect("known command");
    let mut flags = Flags::default();
    let mut i = 0;
    while i < rest.len() {
        let arg = &rest[i];
        if arg == "-h" || arg == "--help" {
            return Ok(Command {
                name: "help".into(),
                flags,
                help: Some(command_help(&name)),
            });
        }
        let (key, inline) = match arg.split_once('=') {
            Some((k, v)) if k.starts_with("--") => (k.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let Some(&(_, takes, _, _)) = spec.iter().find(|s| s.0 == key) else {
            let what = if key.starts_with('-') {
                "unknown flag"
            } else {
                "unexpected argument"
            };
            return Err(Error::Usage(format!(
                "{what} '{key}' for `rnnlm {name}` (see `rnnlm {name} --help`)"
            )));
        };
        if takes {
            let value = match inline {
                Some(v) => v,
                None => {
                    i += 1;
                    rest.get(i)
                        .cloned()
                        .ok_or_else(|| Error::Usage(format!("{key} needs a value")))?
                }
            };
            flags.values.insert(key, value);
        } else {
            if inline.is_some() {
                return Err(Error::Usage(format!("{key} takes no value")));
            }
            flags.switches.push(key);
        }
        i += 1;
    }
    Ok(Command {
        name,
        flags,
        help: None,
    })
}

impl Flags {
    pub fn has(&self, flag: &str) -> bool {
        self.values.contains_key(flag) || self.switches.iter().any(|s| s == flag)
    }

    pub fn str(&self, flag: &str) -> Option<&str> {
        self.values.get(flag).map(String::as_str)
    }

    pub fn required(&self, flag: &str) -> Result<&str> {
        self.str(flag)
            .ok_or_else(|| Error::Usage(format!("{flag} is required")))
    }

    fn parsed<T: std::str::FromStr>(&self, flag: &str, what: &str) -> Result<Option<T>> {
        match self.str(flag) {
            None => Ok(None),
            Some(v) => v
                .parse()
                .map(Some)
                .map_err(|_| Error::Usage(format!("{flag}: '{v}' is not {what}"))),
        }
    }

    /// A whole number ≥ `min`.
    pub fn count(&self, flag: &str, default: usize, min: usize) -> Result<usize> {
        let v = self.parsed::<usize>(flag, "a whole number")?.unwrap_or(default);
        if v < min {
            return Err(Error::Usage(format!("{flag}: {v} is too small (at least {min})")));
        }
        Ok(v)
    }

    pub fn opt_count(&self, flag: &str, min: usize) -> Result<Option<usize>> {
        match self.parsed::<usize>(flag, "a whole number")? {
            Some(v) if v < min => Err(Error::Usage(format!("{flag}: {v} is too small (at least {min})"))),
            v => Ok(v),
        }
    }

    pub fn u64(&self, flag: &str, default: u64) -> Result<u64> {
        Ok(self.parsed::<u64>(flag, "a whole number")?.unwrap_or(default))
    }

    /// A finite number in `[lo, hi]`.
    pub fn number(&self, flag: &str, default: f64, lo: f64, hi: f64) -> Result<f64> {
        let v = self.opt_number(flag, lo, hi)?;
        Ok(v.unwrap_or(default))
    }

    pub fn opt_number(&self, flag: &str, lo: f64, hi: f64) -> Result<Option<f64>> {
        match self.parsed::<f64>(flag, "a number")? {
            Some(v) if !v.is_finite() || v < lo || v > hi => {
                Err(Error::Usage(format!("{flag}: {v} is out of range ({lo} to {hi})")))
            }
            v => Ok(v),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Command> {
        parse(s.split_whitespace().map(String::from))
    }

    #[test]
    fn parses_flags_and_values() {
        let c = p("train --corpus a.txt --batch=4 --quiet").unwrap();
        assert_eq!(c.name, "train");
        assert_eq!(c.flags.required("--corpus").unwrap(), "a.txt");
        assert_eq!(c.flags.count("--batch", 32, 1).unwrap(), 4);
        assert!(c.flags.has("--quiet"));
        assert_eq!(p("").unwrap().name, "demo");
        assert_eq!(p("bench gemm --json").unwrap().name, "bench gemm");
    }

    #[test]
    fn errors_name_the_flag() {
        let e = p("train --bogus 1").unwrap_err().to_string();
        assert!(e.contains("unknown flag '--bogus'"), "{e}");
        let e = p("train --corpus").unwrap_err().to_string();
        assert!(e.contains("--corpus needs a value"), "{e}");
        let c = p("train --batch x").unwrap();
        let e = c.flags.count("--batch", 1, 1).unwrap_err().to_string();
        assert!(e.contains("--batch: 'x' is not a whole number"), "{e}");
        let c = p("train --batch 0").unwrap();
        assert!(c.flags.count("--batch", 1, 1).is_err());
        let c = p("generate --temperature -1").unwrap();
        assert!(c.flags.number("--temperature", 1.0, 0.0, 100.0).is_err());
        assert!(p("frobnicate").unwrap_err().to_string().contains("unknown command"));
    }

    #[test]
    fn help_lists_every_flag_with_its_default() {
        let h = command_help("train");
        for (flag, _, default, _) in TRAIN {
            assert!(h.contains(flag));
            assert!(default.is_empty() || h.contains(default), "{flag} default missing");
        }
    }
}
