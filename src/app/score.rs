//! `rnnlm eval`, `rnnlm predict` and `rnnlm generate`: a trained model put
//! to use.

use std::io::Write;
use std::path::Path;

use super::in_file;
use crate::cli::{EvalArgs, GenerateArgs, PredictArgs};
use crate::data::Vocab;
use crate::error::{Error, Result};
use crate::io::fs::{read_text, write_atomic};
use crate::io::json::Json;
use crate::matmul::Gemm;
use crate::model::{Model, Workspace};
use crate::sample::{self, top_k, Generator};
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

/// `eval`: tokens, nats/token, perplexity, bits/token; with `--per-token`,
/// each scored token's surprisal as TSV.
pub fn eval(args: &EvalArgs) -> Result<()> {
    let model = checkpoint::load(&args.model)?.model;
    let ids = tokens_to_score(&model.vocab, &args.corpus, "--corpus")?;
    if let Some(path) = &args.per_token {
        write_atomic(path, per_token_tsv(&model, &ids).as_bytes())?;
        eprintln!("wrote {}", path.display());
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

/// A token as one TSV field: tab, newline and backslash escaped as `\t`,
/// `\n`, `\\`.
fn tsv_field(token: &str) -> String {
    token.replace('\\', "\\\\").replace('\t', "\\t").replace('\n', "\\n")
}

/// Each scored token of `ids` (every one after the first): its 0-based
/// position in the token stream, the token, −ln p in nats and the 1-based
/// rank of the true token in the model's distribution at that point (1 +
/// the number of tokens more likely). One stream from h_0 = 0, one token at
/// a time, as `eval` scores it.
pub fn per_token_tsv(model: &Model, ids: &[u32]) -> String {
    let mut out = String::from("position\ttoken\tnats\trank\n");
    let mut g = Generator::new(&model.params);
    for (t, w) in ids.windows(2).enumerate() {
        g.feed(w[0]);
        let p = g.probs();
        let p_y = p[w[1] as usize];
        let rank = 1 + p.iter().filter(|&&x| x > p_y).count();
        let token = tsv_field(model.vocab.token(w[1]));
        out += &format!("{}\t{token}\t{}\t{rank}\n", t + 1, -(p_y as f64).ln());
    }
    out
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
