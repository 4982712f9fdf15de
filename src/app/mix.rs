//! `--mix FILE.arpa --lambda L|auto`: the n-gram of an RNN + n-gram
//! mixture ([`crate::baselines::mixture`]), read and weighted, for `eval`
//! and `score`.

use std::path::Path;

use super::to_score::tokens_to_score;
use crate::baselines::arpa::Arpa;
use crate::baselines::mixture::{em_lambda, mixed_nats, NgramOnVocab};
use crate::cli::{Lambda, MixArgs};
use crate::data::Vocab;
use crate::error::{Error, Result};
use crate::io::fs::read_text;

/// An ARPA file, or an error naming the file and line.
pub fn load_arpa(path: &Path) -> Result<Arpa> {
    Arpa::parse(&read_text(path)?).map_err(|e| Error::format(path, e.to_string()))
}

/// The n-gram of a mixture and its weight λ.
#[derive(Debug)]
pub struct Mixture {
    pub arpa: Arpa,
    pub lambda: f64,
    /// Where λ came from, for the report: `None` if given.
    pub fitted_on: Option<String>,
}

impl Mixture {
    /// Read `--mix`'s file and settle λ: `--lambda L` as given, or with
    /// `auto` by EM on `--mix-valid`'s tokens, whose RNN surprisals (nats,
    /// one per predicted token) `rnn_nats` computes as the scored text's
    /// will be (static or dynamic). The choice is printed on stderr.
    pub fn load(args: &MixArgs, vocab: &Vocab, rnn_nats: impl FnOnce(&[u32]) -> Result<Vec<f64>>) -> Result<Mixture> {
        let arpa = load_arpa(&args.arpa)?;
        let ngram = NgramOnVocab::new(&arpa, vocab).map_err(|e| Error::Usage(format!("--mix: {e}")))?;
        let (lambda, fitted_on) = match &args.lambda {
            Lambda::Fixed(l) => (*l, None),
            Lambda::Auto { valid } => {
                let (ids, _) = tokens_to_score(vocab, valid, "--mix-valid")?;
                let rnn = rnn_nats(&ids)?;
                let ng = ngram.stream_log10(&ids);
                let lambda = em_lambda(&rnn, &ng);
                let mean = |f: &dyn Fn(usize) -> f64| (0..rnn.len()).map(f).sum::<f64>() / rnn.len() as f64;
                eprintln!(
                    "mixture: λ = {lambda:.4} by EM on the {} tokens of {} (perplexity there: RNN {:.2}, n-gram {:.2}, mixed {:.2})",
                    rnn.len(),
                    valid.display(),
                    mean(&|t| rnn[t]).exp(),
                    mean(&|t| -ng[t] * std::f64::consts::LN_10).exp(),
                    mean(&|t| mixed_nats(rnn[t], ng[t], lambda)).exp(),
                );
                (lambda, Some(valid.display().to_string()))
            }
        };
        Ok(Mixture {
            arpa,
            lambda,
            fitted_on,
        })
    }

    /// The n-gram reading `vocab`'s tokens (checked in [`Mixture::load`]).
    pub fn on(&self, vocab: &Vocab) -> NgramOnVocab<'_> {
        NgramOnVocab::new(&self.arpa, vocab).expect("checked when loaded")
    }
}

/// A text scored by the mixture: means over its predicted tokens.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MixedScore {
    pub lambda: f64,
    /// The mixture's nats per token.
    pub nats: f64,
    pub rnn_nats: f64,
    pub ngram_nats: f64,
}

impl MixedScore {
    /// Mean the per-token scores of the two models and of their mixture.
    pub fn of(rnn_nats: &[f64], ngram_log10: &[f64], lambda: f64) -> MixedScore {
        let n = rnn_nats.len() as f64;
        let mixed: f64 = rnn_nats
            .iter()
            .zip(ngram_log10)
            .map(|(&r, &g)| mixed_nats(r, g, lambda))
            .sum();
        MixedScore {
            lambda,
            nats: mixed / n,
            rnn_nats: rnn_nats.iter().sum::<f64>() / n,
            ngram_nats: -ngram_log10.iter().sum::<f64>() * std::f64::consts::LN_10 / n,
        }
    }
}
