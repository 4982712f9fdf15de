//! An RNN and a back-off n-gram model mixed token by token (`eval --mix`,
//! `score --mix`; Mikolov's toolkit `-lm-prob` with `-lambda`):
//!
//! ```text
//!   p(w | history) = (1 − λ)·p_rnn(w | history) + λ·p_ngram(w | history)       (λ: the n-gram's weight)
//! ```
//!
//! Both models see the same tokens: the RNN's word stream, in which the
//! RNN's vocabulary decides what is `<unk>`. The n-gram reads each line as
//! a sentence, as it was counted: its context restarts at `<s>` after each
//! `<eos>` (which it predicts as `</s>`), while the RNN's state runs on.
//!
//! λ can be chosen by EM on held-out text (`--lambda auto`): with the two
//! models' probabilities of each held-out token fixed, the mixture's
//! log-likelihood is concave in λ and each step
//!
//! ```text
//!   λ ← (1/N) Σ_t  λ·p_ngram(t) / ((1 − λ)·p_rnn(t) + λ·p_ngram(t))
//! ```
//!
//! (the mean posterior that the n-gram produced each token) never lowers it.

use super::arpa::Arpa;
use crate::data::vocab::{EOS, UNK};
use crate::data::{Level, Vocab};

/// An ARPA model put on an RNN's vocabulary: each RNN id's n-gram id.
#[derive(Debug)]
pub struct NgramOnVocab<'a> {
    arpa: &'a Arpa,
    /// The n-gram's id of each RNN id: `<eos>` is `</s>`; a word the n-gram
    /// does not list (and the RNN's `<unk>`) is its `<unk>` — `None` when it
    /// has none, probability 0.
    ids: Vec<Option<u32>>,
    /// The RNN's `<eos>`.
    eos: u32,
}

impl<'a> NgramOnVocab<'a> {
    /// The n-gram `arpa` reading an RNN's tokens. Word level only: an ARPA
    /// file's entries are words.
    pub fn new(arpa: &'a Arpa, vocab: &Vocab) -> Result<Self, String> {
        if vocab.level != Level::Word {
            return Err(format!(
                "the model is {}-level; an ARPA n-gram is mixed only with a word-level model",
                vocab.level.name()
            ));
        }
        let eos = vocab.id(EOS).ok_or("the model's vocabulary has no <eos>")?;
        let ids = vocab
            .tokens()
            .iter()
            .map(|t| match t.as_str() {
                EOS => Some(arpa.sentence_end()),
                UNK => arpa.unk(),
                w => arpa.id(w),
            })
            .collect();
        Ok(NgramOnVocab { arpa, ids, eos })
    }

    /// log10 p_ngram of each predicted token of an RNN word stream (every
    /// token after the first, as `eval` predicts them): `[ids.len() − 1]`.
    /// The context starts at `<s>` before the first token and after each
    /// `<eos>`, and holds at most the last n − 1 tokens.
    pub fn stream_log10(&self, ids: &[u32]) -> Vec<f64> {
        let keep = self.arpa.order().saturating_sub(1);
        let start: Vec<u32> = self.arpa.sentence_start().into_iter().collect();
        let mut context = start.clone();
        let mut out = Vec::with_capacity(ids.len().saturating_sub(1));
        for (i, &tok) in ids.iter().enumerate() {
            let id = self.ids[tok as usize];
            if i > 0 {
                let from = context.len().saturating_sub(keep);
                out.push(id.map_or(f64::NEG_INFINITY, |w| self.arpa.log10_prob(&context[from..], w)));
            }
            if tok == self.eos {
                context.clone_from(&start);
            } else if let Some(w) = id {
                context.push(w);
                if context.len() > keep {
                    context.remove(0);
                }
            }
        }
        out
    }
}

/// The mixture's surprisal in nats of one token, from the RNN's surprisal
/// (nats) and the n-gram's log10 probability, with the n-gram's weight λ.
pub fn mixed_nats(rnn_nats: f64, ngram_log10: f64, lambda: f64) -> f64 {
    let p = (1.0 - lambda) * (-rnn_nats).exp() + lambda * 10f64.powf(ngram_log10);
    -p.ln()
}

/// Iterations EM may take; it stops earlier once λ moves less than
/// [`EM_TOLERANCE`].
pub const EM_MAX_ITERATIONS: usize = 1000;
/// EM stops when a step moves λ less than this.
pub const EM_TOLERANCE: f64 = 1e-7;

/// The n-gram's weight λ in [0, 1] that maximizes the mixture's likelihood
/// of held-out tokens, by EM (module docs) from λ = 0.5. `rnn_nats[t]` and
/// `ngram_log10[t]` are the two models' scores of token t. Tokens neither
/// model gives any probability are left out (no λ helps them).
///
/// # Panics
/// If the two slices differ in length.
pub fn em_lambda(rnn_nats: &[f64], ngram_log10: &[f64]) -> f64 {
    assert_eq!(
        rnn_nats.len(),
        ngram_log10.len(),
        "em_lambda: scores of different texts"
    );
    let probs: Vec<(f64, f64)> = rnn_nats
        .iter()
        .zip(ngram_log10)
        .map(|(&n, &l)| ((-n).exp(), 10f64.powf(l)))
        .filter(|&(r, g)| r > 0.0 || g > 0.0)
        .collect();
    if probs.is_empty() {
        return 0.5;
    }
    let mut lambda = 0.5;
    for _ in 0..EM_MAX_ITERATIONS {
        let posterior: f64 = probs
            .iter()
            .map(|&(r, g)| lambda * g / ((1.0 - lambda) * r + lambda * g))
            .sum();
        let next = posterior / probs.len() as f64;
        let moved = (next - lambda).abs();
        lambda = next;
        if moved < EM_TOLERANCE {
            break;
        }
    }
    lambda
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log_likelihood(r: &[f64], g: &[f64], lambda: f64) -> f64 {
        r.iter().zip(g).map(|(&n, &l)| -mixed_nats(n, l, lambda)).sum()
    }

    /// EM lands on the maximum of the (concave) log-likelihood: no λ on a
    /// fine grid does better, and the ends of [0, 1] are reached when one
    /// model is better at every token.
    #[test]
    fn em_finds_the_best_weight() {
        let rnn = [0.5, 3.0, 1.0, 6.0, 0.2, 2.5];
        let ngram = [-1.0, -0.4, -0.9, -1.2, -2.0, -0.6];
        let lambda = em_lambda(&rnn, &ngram);
        assert!(lambda > 0.0 && lambda < 1.0, "{lambda}");
        let best = log_likelihood(&rnn, &ngram, lambda);
        for i in 0..=1000 {
            let other = i as f64 / 1000.0;
            assert!(
                log_likelihood(&rnn, &ngram, other) <= best + 1e-9,
                "λ {other} beats EM's {lambda}"
            );
        }
        // The n-gram better everywhere: all weight to it, and the reverse.
        assert!(em_lambda(&[5.0, 6.0], &[-0.1, -0.2]) > 0.999);
        assert!(em_lambda(&[0.1, 0.2], &[-3.0, -4.0]) < 0.001);
    }

    /// λ = 0 is the RNN alone, λ = 1 the n-gram alone, and in between the
    /// probabilities add as weighted.
    #[test]
    fn the_mixture_interpolates_probabilities() {
        let (n, l) = (2.0f64, -1.5f64);
        assert!((mixed_nats(n, l, 0.0) - n).abs() < 1e-12);
        assert!((mixed_nats(n, l, 1.0) - l * -std::f64::consts::LN_10).abs() < 1e-12);
        let want = -(0.75 * (-n).exp() + 0.25 * 10f64.powf(l)).ln();
        assert!((mixed_nats(n, l, 0.25) - want).abs() < 1e-12);
    }

    /// A stream scored by the n-gram token by token is each line scored as a
    /// sentence: the same log10 per line (the file's first word excepted,
    /// which is only context), with the RNN's `<unk>` read as the n-gram's.
    #[test]
    fn a_stream_is_scored_line_by_line() {
        let text = "\\data\\\nngram 1=6\nngram 2=3\n\n\\1-grams:\n\
            -99\t<s>\t-0.4\n-0.6\t</s>\n-0.7\ta\t-0.1\n-0.8\tb\t-0.5\n-1.1\tc\n-2.0\t<unk>\n\n\
            \\2-grams:\n-0.3\t<s> a\n-0.2\ta b\n-0.25\tb </s>\n\n\\end\\\n";
        let arpa = Arpa::parse(text).unwrap();
        // The RNN knows a, b and d (d is not in the n-gram), not c.
        let vocab = Vocab::from_tokens(
            Level::Word,
            ["<eos>", "<unk>", "a", "b", "d"].map(String::from).to_vec(),
        );
        let mixed = NgramOnVocab::new(&arpa, &vocab).unwrap();
        let stream = "a b\nb a c\nd a\n";
        let ids = vocab.encode(stream).unwrap();
        let got = mixed.stream_log10(&ids);
        assert_eq!(got.len(), ids.len() - 1);
        // Line 1 without its first word: p(b | <s> a) · p(</s> | a b).
        let first_word = arpa.log10_prob(&[arpa.sentence_start().unwrap()], arpa.id("a").unwrap());
        let lines: Vec<f64> = stream
            .lines()
            .map(|l| arpa.score_sentence(&l.replace('c', "<unk>")).log10_prob)
            .collect();
        let per_line = [&got[..2], &got[2..6], &got[6..]].map(|s| s.iter().sum::<f64>());
        assert!(
            (per_line[0] - (lines[0] - first_word)).abs() < 1e-12,
            "{per_line:?} {lines:?}"
        );
        assert!((per_line[1] - lines[1]).abs() < 1e-12);
        // d is <unk> to the n-gram though the RNN knows it.
        assert!((per_line[2] - arpa.score_sentence("zzz a").log10_prob).abs() < 1e-12);
        let char_vocab = Vocab::from_tokens(Level::Char, vec!["a".into()]);
        assert!(NgramOnVocab::new(&arpa, &char_vocab)
            .unwrap_err()
            .contains("word-level"));
    }
}
