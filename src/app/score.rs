//! `rnnlm eval`, `rnnlm predict` and `rnnlm generate`: a trained model put
//! to use.

use std::io::Write;
use std::path::Path;

use super::surprisal;
use crate::cli::{EvalArgs, GenerateArgs, PredictArgs};
use crate::data::Vocab;
use crate::error::{Error, Result};
use crate::io::fs::{read_text, write_atomic};
use crate::io::json::Json;
use crate::matmul::Gemm;
use crate::model::{in_precision, Model, Weights, Workspace};
use crate::sample::{self, top_k, Generator};
use crate::train::dynamic::{evaluate_dynamic, Dynamic, DYNAMIC_CHUNK, DYNAMIC_CLIP};
use crate::train::evaluate::{evaluate, MIN_SCORED_TOKENS};
use crate::train::{checkpoint, Settings};

/// Seconds between progress lines of `eval --dynamic`.
const PROGRESS_SECONDS: f64 = 5.0;

/// The checkpoint at `path`, its weights in `weights`' precision (`--weights`).
fn load_model(path: &Path, weights: Weights) -> Result<Model> {
    Ok(load_with_settings(path, weights)?.0)
}

/// [`load_model`], and the settings of the run that saved it, if it was
/// saved with its training state.
fn load_with_settings(path: &Path, weights: Weights) -> Result<(Model, Option<Settings>)> {
    let ck = checkpoint::load(path)?;
    let mut model = ck.model;
    model.params = in_precision(&model.params, weights)
        .map_err(|e| Error::format(path, format!("--weights {}: {e}", weights.name())))?;
    Ok((model, ck.train.map(|t| t.settings)))
}

/// Read and encode a text to score ([`Vocab::encode_for_scoring`]: at char
/// level, characters outside the vocabulary are skipped and counted): the
/// ids and that count. At least [`MIN_SCORED_TOKENS`] tokens, or an error
/// naming the file and the flag.
pub fn tokens_to_score(vocab: &Vocab, path: &Path, flag: &str) -> Result<(Vec<u32>, usize)> {
    let t = read_to_score(vocab, path, flag)?;
    Ok((t.ids, t.oov))
}

/// A text read for scoring.
struct ToScore {
    ids: Vec<u32>,
    /// Characters skipped as outside the vocabulary.
    oov: usize,
    /// The original characters the scored tokens stand for (char and jamo
    /// level: every kept character but the first, which is only context).
    chars: Option<usize>,
}

/// [`tokens_to_score`], and the characters the scored tokens stand for.
fn read_to_score(vocab: &Vocab, path: &Path, flag: &str) -> Result<ToScore> {
    let text = read_text(path)?;
    let (ids, oov) = vocab.encode_for_scoring(&text);
    if oov > 0 {
        eprintln!(
            "rnnlm: note: {}: {oov} character(s) outside the vocabulary skipped (neither predicted nor fed)",
            path.display()
        );
    }
    if ids.len() < MIN_SCORED_TOKENS {
        return Err(Error::Data(format!(
            "{}: {} token(s), too few to score (at least {MIN_SCORED_TOKENS}: the first is only context); \
             give a longer {flag}",
            path.display(),
            ids.len()
        )));
    }
    let chars = vocab.kept_chars(&text).map(|c| c.saturating_sub(1).max(1));
    Ok(ToScore { ids, oov, chars })
}

/// `eval`: tokens, nats/token, perplexity, bits/token; with `--per-token`
/// and `--html`, each scored token's surprisal as TSV and as a page.
pub fn eval(args: &EvalArgs) -> Result<()> {
    if args.dynamic.is_none() && (args.seq_len.is_some() || args.clip.is_some()) {
        return Err(Error::Usage(
            "--seq-len and --clip set how --dynamic adapts; without --dynamic nothing adapts".into(),
        ));
    }
    if args.dynamic.is_some() && args.weights != Weights::F32 {
        return Err(Error::Usage(
            "--dynamic adapts the f32 weights; it cannot be used with --weights bf16".into(),
        ));
    }
    let (model, settings) = load_with_settings(&args.model, args.weights)?;
    let ToScore { ids, oov, chars } = read_to_score(&model.vocab, &args.corpus, "--corpus")?;
    let per_token = args.per_token.is_some() || args.html.is_some();
    let top = if args.html.is_some() { surprisal::HTML_TOP } else { 0 };
    let gemm = Gemm::new().with_threads(args.threads);
    let (tokens, nats, scored) = match args.dynamic {
        None => {
            let scored = per_token.then(|| surprisal::score_tokens(&model, &ids, top));
            let mut ws = Workspace::new(gemm);
            let (tokens, nats) = evaluate(&model.params, &ids, &mut ws);
            (tokens, nats, scored)
        }
        Some(lr) => {
            // The run's T and clip, as saved with its training state.
            let d = Dynamic {
                lr,
                clip: args.clip.or(settings.as_ref().map(|s| s.clip)).unwrap_or(DYNAMIC_CLIP),
                chunk: args
                    .seq_len
                    .or(settings.as_ref().map(|s| s.seq_len))
                    .unwrap_or(DYNAMIC_CHUNK),
            };
            let mut adapted = model.params.clone();
            let mut scored = Vec::new();
            // Progress on stderr every few seconds: a long text takes a while.
            let mut shown = std::time::Instant::now();
            let (tokens, nats) = evaluate_dynamic(&mut adapted, &ids, d, gemm.kernel(), args.threads, |p, h0, r| {
                if per_token {
                    scored.extend(surprisal::score_from(p, h0, &ids[r.start..=r.end], r.start, top));
                }
                if shown.elapsed().as_secs_f64() >= PROGRESS_SECONDS {
                    eprintln!("dynamic evaluation: {} of {} tokens scored", r.start, ids.len() - 1);
                    shown = std::time::Instant::now();
                }
            })
            .map_err(|e| Error::Data(format!("{}: {e}", args.corpus.display())))?;
            (tokens, nats, per_token.then_some(scored))
        }
    };
    if let Some(scored) = scored {
        if let Some(path) = &args.per_token {
            write_atomic(path, surprisal::tsv(&model, &scored).as_bytes())?;
            eprintln!("wrote {}", path.display());
        }
        if let Some(path) = &args.html {
            let (name, file) = (args.model.display().to_string(), args.corpus.display().to_string());
            write_atomic(path, surprisal::html(&model, &name, &file, ids[0], &scored).as_bytes())?;
            eprintln!("wrote {}", path.display());
        }
    }
    let ln2 = std::f64::consts::LN_2;
    let bits = nats / ln2;
    // Per original character (char and jamo level): the same denominator
    // for both, so they compare on the same text.
    let per_char = chars.map(|c| (c, nats * tokens as f64 / c as f64));
    if args.json {
        let mut fields = vec![
            ("tokens", Json::from(tokens)),
            ("nats_per_token", Json::from(nats)),
            ("perplexity", Json::from(nats.exp())),
            ("bits_per_token", Json::from(bits)),
            ("oov", Json::from(oov)),
            ("weights", Json::from(args.weights.name())),
        ];
        if let Some(lr) = args.dynamic {
            fields.push(("dynamic", Json::from(lr)));
        }
        if let Some((c, n)) = per_char {
            fields.extend([
                ("chars", Json::from(c)),
                ("nats_per_char", Json::from(n)),
                ("bits_per_char", Json::from(n / ln2)),
            ]);
        }
        say!("{}", Json::object(fields));
    } else {
        say!("tokens          {tokens}");
        say!("oov             {oov} (skipped)");
        if args.weights != Weights::F32 {
            say!("weights         {} (rounded)", args.weights.name());
        }
        if let Some(lr) = args.dynamic {
            say!("dynamic         SGD lr {lr} (adapted while scoring)");
        }
        say!("nats/token      {nats:.6}");
        say!("perplexity      {:.4}", nats.exp());
        say!("bits/token      {bits:.6}");
        if let Some((c, n)) = per_char {
            say!("chars           {c}");
            say!("bits/char       {:.6}", n / ln2);
        }
    }
    Ok(())
}

/// `predict`: warm the state on the prime, list the most likely next tokens.
pub fn predict(args: &PredictArgs) -> Result<()> {
    let model = load_model(&args.model, args.weights)?;
    let prime = model
        .vocab
        .encode_prime(&args.prime)
        .map_err(|e| Error::Usage(format!("--prime: {e}")))?;
    let mut g = Generator::with_weights(&model.params, 1, Gemm::new(), args.weights);
    g.warm_up(&model.vocab, &prime);
    let next = top_k(g.probs(), args.top);
    if args.json {
        let next = next
            .iter()
            .map(|&(id, p)| {
                Json::object([
                    ("token", Json::from(model.vocab.token(id))),
                    ("p", Json::from(p as f64)),
                ])
            })
            .collect();
        let report = Json::object([("prime", Json::from(args.prime.as_str())), ("next", Json::Array(next))]);
        say!("{report}");
    } else {
        for (id, p) in next {
            say!("{p:.6}  {:?}", model.vocab.token(id));
        }
    }
    Ok(())
}

/// `generate`: prime, then sample token by token, printing as they come.
pub fn generate(args: &GenerateArgs) -> Result<()> {
    let model = load_model(&args.model, args.weights)?;
    let prime = model
        .vocab
        .encode_prime(&args.prime)
        .map_err(|e| Error::Usage(format!("--prime: {e}")))?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let gemm = Gemm::new().with_threads(args.threads);
    // One sample is streamed as it comes; N samples (one batch) are printed
    // whole, each after its header.
    let streamed = args.samples.is_none();
    let n = args.samples.unwrap_or(1);
    let seeds: Vec<u64> = (0..n as u64).map(|i| args.seed.wrapping_add(i)).collect();
    let mut texts = vec![args.prime.clone(); n];
    if streamed {
        let _ = out.write_all(args.prime.as_bytes());
    }
    // Flushed at line ends and every 50 ms: text appears as it comes
    // without a system call per token.
    let mut flushed = std::time::Instant::now();
    sample::generate_samples(
        &model.params,
        &model.vocab,
        &prime,
        args.len,
        args.sampling,
        &seeds,
        gemm,
        args.weights,
        |i, t| {
            if !streamed {
                return texts[i].push_str(t);
            }
            let _ = out.write_all(t.as_bytes());
            if t.contains('\n') || flushed.elapsed().as_millis() >= 50 {
                let _ = out.flush();
                flushed = std::time::Instant::now();
            }
        },
    );
    if streamed {
        let _ = writeln!(out);
        return Ok(());
    }
    for (i, text) in texts.iter().enumerate() {
        let _ = writeln!(out, "--- sample {i} ---\n{text}");
    }
    Ok(())
}
