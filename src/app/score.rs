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
use crate::model::Workspace;
use crate::sample::{self, top_k, Generator};
use crate::train::checkpoint;
use crate::train::evaluate::{evaluate, MIN_SCORED_TOKENS};

/// Read and encode a text to score ([`Vocab::encode_for_scoring`]: at char
/// level, characters outside the vocabulary are skipped and counted): the
/// ids and that count. At least [`MIN_SCORED_TOKENS`] tokens, or an error
/// naming the file and the flag.
pub fn tokens_to_score(vocab: &Vocab, path: &Path, flag: &str) -> Result<(Vec<u32>, usize)> {
    let (ids, oov) = vocab.encode_for_scoring(&read_text(path)?);
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
    Ok((ids, oov))
}

/// `eval`: tokens, nats/token, perplexity, bits/token; with `--per-token`
/// and `--html`, each scored token's surprisal as TSV and as a page.
pub fn eval(args: &EvalArgs) -> Result<()> {
    let model = checkpoint::load(&args.model)?.model;
    let (ids, oov) = tokens_to_score(&model.vocab, &args.corpus, "--corpus")?;
    if args.per_token.is_some() || args.html.is_some() {
        let top = if args.html.is_some() { surprisal::HTML_TOP } else { 0 };
        let scored = surprisal::score_tokens(&model, &ids, top);
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
    let mut ws = Workspace::new(Gemm::new());
    let (tokens, nats) = evaluate(&model.params, &ids, &mut ws);
    let bits = nats / std::f64::consts::LN_2;
    if args.json {
        let report = Json::object([
            ("tokens", Json::from(tokens)),
            ("nats_per_token", Json::from(nats)),
            ("perplexity", Json::from(nats.exp())),
            ("bits_per_token", Json::from(bits)),
            ("oov", Json::from(oov)),
        ]);
        println!("{report}");
    } else {
        println!("tokens          {tokens}");
        println!("oov             {oov} (skipped)");
        println!("nats/token      {nats:.6}");
        println!("perplexity      {:.4}", nats.exp());
        println!("bits/token      {bits:.6}");
    }
    Ok(())
}

/// `predict`: warm the state on the prime, list the most likely next tokens.
pub fn predict(args: &PredictArgs) -> Result<()> {
    let model = checkpoint::load(&args.model)?.model;
    let prime = model
        .vocab
        .encode_prime(&args.prime)
        .map_err(|e| Error::Usage(format!("--prime: {e}")))?;
    let mut g = Generator::new(&model.params);
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
        println!("{report}");
    } else {
        for (id, p) in next {
            println!("{p:.6}  {:?}", model.vocab.token(id));
        }
    }
    Ok(())
}

/// `generate`: prime, then sample token by token, printing as they come.
pub fn generate(args: &GenerateArgs) -> Result<()> {
    let model = checkpoint::load(&args.model)?.model;
    let prime = model
        .vocab
        .encode_prime(&args.prime)
        .map_err(|e| Error::Usage(format!("--prime: {e}")))?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    print!("{}", args.prime);
    sample::generate(
        &model.params,
        &model.vocab,
        &prime,
        args.len,
        args.sampling,
        args.seed,
        |t| {
            let _ = out.write_all(t.as_bytes());
            let _ = out.flush();
        },
    );
    println!();
    Ok(())
}
