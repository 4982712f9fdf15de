//! `rnnlm eval`, `rnnlm predict` and `rnnlm generate`: a trained model put
//! to use.

use std::io::Write;
use std::path::Path;

use super::mix::{MixedScore, Mixture};
use super::surprisal;
use super::to_score::read_to_score;
use crate::baselines::mixture::mixed_nats;
use crate::cli::{EvalArgs, GenerateArgs, PredictArgs};
use crate::error::{Error, Result};
use crate::io::fs::{check_writable, write_atomic};
use crate::io::json::Json;
use crate::matmul::Gemm;
use crate::memory;
use crate::model::{in_precision, Model, Weights, Workspace};
use crate::sample::{self, top_k, Generator};
use crate::train::dynamic::{evaluate_dynamic, Dynamic, DynamicScore, DYNAMIC_CHUNK, DYNAMIC_CLIP};
use crate::train::evaluate::{evaluate, evaluate_tokens};
use crate::train::{checkpoint, Settings};

/// Seconds between progress lines of `eval --dynamic`.
const PROGRESS_SECONDS: f64 = 5.0;

/// The checkpoint at `path`, its weights in `weights`' precision (`--weights`).
pub(super) fn load_model(path: &Path, weights: Weights) -> Result<Model> {
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

/// `eval`: tokens, nats/token, perplexity, bits/token; with `--per-token`
/// and `--html`, each scored token's surprisal as TSV and as a page
/// (`--per-token -`: the TSV on stdout as each token is scored, and the
/// summary on stderr).
pub fn eval(args: &EvalArgs) -> Result<()> {
    if args.dynamic.is_none() && (args.seq_len.is_some() || args.clip.is_some()) {
        return Err(Error::Usage(
            "--seq-len and --clip set how --dynamic adapts; without --dynamic nothing adapts".into(),
        ));
    }
    if args.dynamic.is_some() && args.weights != Weights::F32 {
        return Err(Error::Usage(format!(
            "--dynamic adapts the f32 weights; it cannot be used with --weights {}",
            args.weights.name()
        )));
    }
    for (flag, path) in [("--per-token", &args.per_token), ("--html", &args.html)] {
        match path {
            Some(p) if p.as_os_str() != STDOUT => check_writable(p, flag)?,
            _ => {}
        }
    }
    let (model, settings) = load_with_settings(&args.model, args.weights)?;
    let text = read_to_score(&model.vocab, &args.corpus, "--corpus")?;
    let mixture = match &args.mix {
        None => None,
        Some(m) => Some(Mixture::load(m, &model.vocab, |ids| {
            Ok(rnn_token_nats(args, &model, settings.as_ref(), ids, None)?.1)
        })?),
    };
    // The n-gram's log10 p of each predicted token, and its weight λ.
    let ngram = mixture
        .as_ref()
        .map(|m| (m.on(&model.vocab).stream_log10(&text.ids), m.lambda));
    let mut rows = PerToken::new(&model, args);
    rows.mix = ngram.as_ref().map(|(ng, lambda)| (&ng[..], *lambda));
    let (tokens, nats, mixed) = match (&ngram, args.dynamic) {
        (None, None) => {
            // The model alone, as it is: the chunked forward's mean.
            static_rows(&model, &text.ids, &mut rows)?;
            let mut ws = Workspace::new(Gemm::new().with_threads(args.threads));
            let (tokens, nats) = evaluate(&model.params, &text.ids, &mut ws);
            (tokens, nats, None)
        }
        _ => {
            let (nats, token_nats) = rnn_token_nats(args, &model, settings.as_ref(), &text.ids, Some(&mut rows))?;
            match &ngram {
                None => (token_nats.len(), nats, None),
                Some((ng, lambda)) => {
                    // The mixture is what is reported, the RNN's own figure beside it.
                    let m = MixedScore::of(&token_nats, ng, *lambda);
                    (token_nats.len(), m.nats, Some(m))
                }
            }
        }
    };
    let on_stdout = rows.on_stdout();
    rows.finish(text.ids[0])?;
    let summary = eval_summary(args, tokens, nats, text.oov, text.chars, mixed);
    if on_stdout {
        eprint!("{summary}");
    } else {
        say!("{}", summary.trim_end());
    }
    Ok(())
}

/// The RNN's surprisal of each predicted token of `ids` (and their mean),
/// as `eval` scores them: the model as saved, or adapting as it goes with
/// `--dynamic`. Per-token rows go to `rows` as they are scored.
fn rnn_token_nats(
    args: &EvalArgs,
    model: &Model,
    settings: Option<&Settings>,
    ids: &[u32],
    rows: Option<&mut PerToken>,
) -> Result<(f64, Vec<f64>)> {
    match args.dynamic {
        None => {
            if let Some(rows) = rows {
                static_rows(model, ids, rows)?;
            }
            let mut ws = Workspace::new(Gemm::new().with_threads(args.threads));
            let token_nats = evaluate_tokens(&model.params, ids, &mut ws);
            Ok((token_nats.iter().sum::<f64>() / token_nats.len() as f64, token_nats))
        }
        Some(lr) => {
            let s = score_dynamic(args, lr, model, settings, ids, rows)?;
            Ok((s.nats, s.token_nats))
        }
    }
}

/// The per-token rows of the model as saved, if any are wanted.
fn static_rows(model: &Model, ids: &[u32], rows: &mut PerToken) -> Result<()> {
    if rows.wanted() {
        let h0 = vec![0.0; model.params.config.hidden];
        for scored in surprisal::scores(&model.params, &h0, ids, 0, rows.top) {
            rows.push(scored)?;
        }
    }
    Ok(())
}

/// `eval --dynamic LR`: score `ids` while adapting a copy of the model by
/// SGD (the run's T and clip, as its checkpoint saved them), each row to
/// `rows` as it is scored.
fn score_dynamic(
    args: &EvalArgs,
    lr: f64,
    model: &Model,
    settings: Option<&Settings>,
    ids: &[u32],
    mut rows: Option<&mut PerToken>,
) -> Result<DynamicScore> {
    let d = Dynamic {
        lr,
        clip: args.clip.or(settings.map(|s| s.clip)).unwrap_or(DYNAMIC_CLIP),
        chunk: args.seq_len.or(settings.map(|s| s.seq_len)).unwrap_or(DYNAMIC_CHUNK),
    };
    let mut adapted = model.params.clone();
    let kernel = Gemm::<f32>::new().kernel();
    // Progress on stderr every few seconds: a long text takes a while.
    let mut shown = std::time::Instant::now();
    evaluate_dynamic(&mut adapted, ids, d, kernel, args.threads, |p, h0, r| {
        if let Some(rows) = rows.as_deref_mut().filter(|r| r.wanted()) {
            for scored in surprisal::scores(p, h0, &ids[r.start..=r.end], r.start, rows.top) {
                rows.push(scored)?;
            }
        }
        if shown.elapsed().as_secs_f64() >= PROGRESS_SECONDS {
            eprintln!("dynamic evaluation: {} of {} tokens scored", r.start, ids.len() - 1);
            shown = std::time::Instant::now();
        }
        Ok(())
    })
    .map_err(|e| match e {
        Error::Data(m) => Error::Data(format!("{}: {m}", args.corpus.display())),
        e => e,
    })
}

/// `--per-token -`: the TSV goes to stdout.
const STDOUT: &str = "-";

/// Where `eval`'s per-token rows go as they are scored: stdout at once
/// (`--per-token -`), or kept for a file and the page written at the end.
struct PerToken<'m> {
    model: &'m Model,
    args: &'m EvalArgs,
    /// How many predictions each row keeps (the page shows them).
    top: usize,
    stdout: Option<std::io::BufWriter<std::io::StdoutLock<'static>>>,
    kept: Option<Vec<surprisal::Scored>>,
    /// With `--mix`: the n-gram's log10 p of each predicted token and λ;
    /// each row then shows the mixture's surprisal (its rank and top
    /// predictions stay the RNN's).
    mix: Option<(&'m [f64], f64)>,
}

impl<'m> PerToken<'m> {
    fn new(model: &'m Model, args: &'m EvalArgs) -> Self {
        let to_stdout = args.per_token.as_deref().is_some_and(|p| p.as_os_str() == STDOUT);
        let to_file = args.per_token.is_some() && !to_stdout;
        PerToken {
            model,
            args,
            top: if args.html.is_some() { surprisal::HTML_TOP } else { 0 },
            stdout: to_stdout.then(|| std::io::BufWriter::new(std::io::stdout().lock())),
            kept: (to_file || args.html.is_some()).then(Vec::new),
            mix: None,
        }
    }

    /// Whether any row is wanted at all.
    fn wanted(&self) -> bool {
        self.stdout.is_some() || self.kept.is_some()
    }

    fn on_stdout(&self) -> bool {
        self.stdout.is_some()
    }

    /// One scored token: written to stdout now (a closed stdout ends the
    /// command here), or kept.
    fn push(&mut self, mut s: surprisal::Scored) -> Result<()> {
        if let Some((ngram_log10, lambda)) = &self.mix {
            s.nats = mixed_nats(s.nats, ngram_log10[s.position - 1], *lambda);
        }
        let stdout_error = |e| Error::io(Path::new("stdout"), e);
        if let Some(out) = &mut self.stdout {
            if s.position == 1 {
                out.write_all(surprisal::TSV_HEADER.as_bytes()).map_err(stdout_error)?;
            }
            out.write_all(surprisal::tsv_row(self.model, &s).as_bytes())
                .map_err(stdout_error)?;
            if s.position.is_multiple_of(64) {
                out.flush().map_err(stdout_error)?;
            }
        }
        if let Some(kept) = &mut self.kept {
            kept.push(s);
        }
        Ok(())
    }

    /// Flush stdout, write the kept rows' file and page (`first`: the
    /// text's first token, context only).
    fn finish(mut self, first: u32) -> Result<()> {
        if let Some(out) = &mut self.stdout {
            out.flush().map_err(|e| Error::io(Path::new("stdout"), e))?;
        }
        let Some(kept) = self.kept else {
            return Ok(());
        };
        if let Some(path) = self.args.per_token.as_ref().filter(|_| self.stdout.is_none()) {
            write_atomic(path, surprisal::tsv(self.model, &kept).as_bytes())?;
            eprintln!("wrote {}", path.display());
        }
        if let Some(path) = &self.args.html {
            let (name, file) = (
                self.args.model.display().to_string(),
                self.args.corpus.display().to_string(),
            );
            write_atomic(path, surprisal::html(self.model, &name, &file, first, &kept).as_bytes())?;
            eprintln!("wrote {}", path.display());
        }
        Ok(())
    }
}

/// `eval`'s report: one JSON object, or aligned lines.
fn eval_summary(
    args: &EvalArgs,
    tokens: usize,
    nats: f64,
    oov: usize,
    chars: Option<usize>,
    mixed: Option<MixedScore>,
) -> String {
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
        if let Some(m) = mixed {
            fields.extend([
                ("lambda", Json::from(m.lambda)),
                ("rnn_perplexity", Json::from(m.rnn_nats.exp())),
                ("ngram_perplexity", Json::from(m.ngram_nats.exp())),
            ]);
        }
        if let Some((c, n)) = per_char {
            fields.extend([
                ("chars", Json::from(c)),
                ("nats_per_char", Json::from(n)),
                ("bits_per_char", Json::from(n / ln2)),
            ]);
        }
        return format!("{}\n", Json::object(fields));
    }
    let mut s = format!("tokens          {tokens}\noov             {oov} (skipped)\n");
    if args.weights != Weights::F32 {
        s += &format!("weights         {} (rounded)\n", args.weights.name());
    }
    if let Some(lr) = args.dynamic {
        s += &format!("dynamic         SGD lr {lr} (adapted while scoring)\n");
    }
    if let Some(m) = mixed {
        let arpa = args
            .mix
            .as_ref()
            .map(|m| m.arpa.display().to_string())
            .unwrap_or_default();
        s += &format!(
            "mixture         λ = {:.4} on the n-gram {arpa} (below: the mixture's)\nrnn perplexity  {:.4}\nngram perplexity {:.4}\n",
            m.lambda,
            m.rnn_nats.exp(),
            m.ngram_nats.exp()
        );
    }
    s += &format!(
        "nats/token      {nats:.6}\nperplexity      {:.4}\nbits/token      {bits:.6}\n",
        nats.exp()
    );
    if let Some((c, n)) = per_char {
        s += &format!("chars           {c}\nbits/char       {:.6}\n", n / ln2);
    }
    s
}

/// The model of `predict` and `generate`, and `--prime` as its token ids
/// (a character it does not know is a usage error naming the flag).
fn load_and_prime(path: &Path, weights: Weights, prime: &str) -> Result<(Model, Vec<u32>)> {
    let model = load_model(path, weights)?;
    let ids = model
        .vocab
        .encode_prime(prime)
        .map_err(|e| Error::Usage(format!("--prime: {e}")))?;
    Ok((model, ids))
}

/// `predict`: warm the state on the prime, list the most likely next tokens.
pub fn predict(args: &PredictArgs) -> Result<()> {
    let (model, prime) = load_and_prime(&args.model, args.weights, &args.prime)?;
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
/// A reader that goes away (`rnnlm generate … | head`) ends it at once,
/// quietly, as Unix tools end.
pub fn generate(args: &GenerateArgs) -> Result<()> {
    let (model, prime) = load_and_prime(&args.model, args.weights, &args.prime)?;
    check_generate_memory(&model, args)?;
    write_samples(&model, &prime, args).map_err(|e| Error::io(Path::new("stdout"), e))
}

/// Refuse a `--samples` × `--len` that cannot fit: each sample's state and
/// output distribution, and with `--samples` each sample's whole text
/// (printed at the end), at most the longest token's bytes a token.
fn check_generate_memory(model: &Model, args: &GenerateArgs) -> Result<()> {
    let c = &model.params.config;
    let n = args.samples.unwrap_or(1);
    let longest = (0..model.vocab.len() as u32)
        .map(|id| model.vocab.render(id).len())
        .max()
        .unwrap_or(1);
    let mut parts = vec![memory::Part {
        flags: format!("--samples {n}"),
        what: "the samples' states and distributions",
        bytes: memory::f32s(&[n, c.hidden.saturating_add(c.embed).saturating_add(c.vocab), 4]),
    }];
    if args.samples.is_some() {
        let text = (n as u64)
            .checked_mul(args.len as u64)
            .and_then(|t| t.checked_mul(longest as u64));
        parts.push(memory::Part {
            flags: format!("--samples {n} --len {}", args.len),
            what: "the samples' texts (kept until all are done)",
            bytes: text,
        });
    }
    memory::check(&parts, memory::available())
}

/// The samples of `generate`, written to stdout: one streamed as it comes,
/// or N (one batch) each whole after its header.
fn write_samples(model: &Model, prime: &[u32], args: &GenerateArgs) -> std::io::Result<()> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let gemm = Gemm::new().with_threads(args.threads);
    let streamed = args.samples.is_none();
    let n = args.samples.unwrap_or(1);
    let seeds: Vec<u64> = (0..n as u64).map(|i| args.seed.wrapping_add(i)).collect();
    let mut texts = vec![args.prime.clone(); if streamed { 0 } else { n }];
    if streamed {
        out.write_all(args.prime.as_bytes())?;
    }
    // Flushed at line ends and every 50 ms: text appears as it comes
    // without a system call per token (and a closed pipe is seen at once).
    let mut flushed = std::time::Instant::now();
    sample::generate_samples(
        &model.params,
        &model.vocab,
        prime,
        args.len,
        args.sampling,
        &seeds,
        gemm,
        args.weights,
        |i, t| {
            if !streamed {
                texts[i].push_str(t);
                return Ok::<(), std::io::Error>(());
            }
            out.write_all(t.as_bytes())?;
            if t.contains('\n') || flushed.elapsed().as_millis() >= 50 {
                out.flush()?;
                flushed = std::time::Instant::now();
            }
            Ok(())
        },
    )?;
    if streamed {
        writeln!(out)?;
    }
    for (i, text) in texts.iter().enumerate() {
        writeln!(out, "--- sample {i} ---\n{text}")?;
    }
    out.flush()
}
