//! `rnnlm eval` and `rnnlm generate`: a trained model put to use.

use std::io::Write;
use std::path::Path;

use super::in_file;
use crate::cli::{EvalArgs, GenerateArgs};
use crate::data::{Level, Vocab};
use crate::error::{Error, Result};
use crate::io::fs::read_text;
use crate::io::json::Json;
use crate::matmul::Gemm;
use crate::model::Workspace;
use crate::sample;
use crate::train::checkpoint;
use crate::train::evaluate::{evaluate, MIN_SCORED_TOKENS};

/// Read and encode a text to score: at least [`MIN_SCORED_TOKENS`] tokens,
/// or an error naming the file and the flag.
pub fn tokens_to_score(vocab: &Vocab, path: &Path, flag: &str) -> Result<Vec<u32>> {
    let ids = vocab.encode(&read_text(path)?).map_err(|e| in_file(path, e))?;
    if ids.len() < MIN_SCORED_TOKENS {
        return Err(Error::Data(format!(
            "{}: {} token(s), too few to score (at least {MIN_SCORED_TOKENS}: the first is only context); \
             give a longer {flag}",
            path.display(),
            ids.len()
        )));
    }
    Ok(ids)
}

/// `eval`: tokens, nats/token, perplexity, bits/token.
pub fn eval(args: &EvalArgs) -> Result<()> {
    let model = checkpoint::load(&args.model)?.model;
    let ids = tokens_to_score(&model.vocab, &args.corpus, "--corpus")?;
    let mut ws = Workspace::new(Gemm::new());
    let (tokens, nats) = evaluate(&model.params, &ids, &mut ws);
    let bits = nats / std::f64::consts::LN_2;
    if args.json {
        let report = Json::object([
            ("tokens", Json::from(tokens)),
            ("nats_per_token", Json::from(nats)),
            ("perplexity", Json::from(nats.exp())),
            ("bits_per_token", Json::from(bits)),
        ]);
        println!("{report}");
    } else {
        println!("tokens          {tokens}");
        println!("nats/token      {nats:.6}");
        println!("perplexity      {:.4}", nats.exp());
        println!("bits/token      {bits:.6}");
    }
    Ok(())
}

/// `generate`: prime, then sample token by token, printing as they come.
pub fn generate(args: &GenerateArgs) -> Result<()> {
    let model = checkpoint::load(&args.model)?.model;
    let prime = model
        .vocab
        .encode(&args.prime)
        .map_err(|e| Error::Usage(format!("--prime: {e}")))?;
    // Word level adds <eos> after the last line; drop it so the prime continues.
    let prime = match model.vocab.level {
        Level::Word if !args.prime.ends_with('\n') => prime[..prime.len().saturating_sub(1)].to_vec(),
        _ => prime,
    };
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
