//! `rnnlm score`: each line of a file scored as a sentence (`--sentences`),
//! or a recognizer's n-best hypotheses rescored (`--nbest`).
//!
//! Every sentence starts from the model's sentence-start state: h_0 = 0
//! with the end-of-sentence token fed (`<eos>` at word level, the line
//! break at char level) — the state after an end of sentence, as Mikolov's
//! toolkit scores with `-independent` — so a sentence's score does not
//! depend on the lines before it. A sentence predicts its tokens and then
//! its end; log10_prob sums all of them.
//!
//! Unknown words are scored as `<unk>` (as KenLM's `query` and the RNN's
//! `eval` do: their probability is in the sum) and counted in `oov`; at
//! char level, characters outside the vocabulary are skipped and counted.
//! So the totals read as SRILM's `-ppl` with every token in its
//! denominators:
//!
//! ```text
//!   logprob = Σ log10 p                 over all sentences, ends included
//!   ppl     = 10^(−logprob / (tokens + sentences))
//!   ppl1    = 10^(−logprob / tokens)    (the ends left out)
//! ```

use std::io::Write;
use std::path::Path;

use super::mix::Mixture;
use super::score::load_model;
use crate::baselines::mixture::mixed_nats;
use crate::cli::{ScoreArgs, ScoreInput};
use crate::data::vocab::EOS;
use crate::data::{Level, Vocab};
use crate::error::{Error, Result};
use crate::io::fs::read_text;
use crate::io::json::Json;
use crate::matmul::Gemm;
use crate::model::{Model, Workspace};
use crate::train::evaluate::{evaluate_tokens, score_sentences};

/// One sentence made ready to score.
#[derive(Clone, Debug, PartialEq)]
pub struct Sentence {
    /// The tokens it predicts: its own, then the end.
    pub ids: Vec<u32>,
    /// Its tokens before the end (words, or kept characters).
    pub tokens: usize,
    /// Words scored as `<unk>` (word level) or characters skipped (char, jamo).
    pub oov: usize,
}

impl AsRef<[u32]> for Sentence {
    fn as_ref(&self) -> &[u32] {
        &self.ids
    }
}

/// A sentence's score.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SentenceScore {
    pub tokens: usize,
    pub oov: usize,
    /// log10 of the probability of its tokens and its end.
    pub log10_prob: f64,
}

impl SentenceScore {
    /// 10^(−log10_prob / (tokens + 1)): per prediction, the end included.
    pub fn ppl(&self) -> f64 {
        10f64.powf(-self.log10_prob / (self.tokens + 1) as f64)
    }
    /// 10^(−log10_prob / tokens): per token, the end left out (SRILM's ppl1).
    pub fn ppl1(&self) -> f64 {
        10f64.powf(-self.log10_prob / self.tokens as f64)
    }
}

/// The token that ends a sentence, and starts the next: `<eos>`, or the
/// line break at char level.
pub fn sentence_end(vocab: &Vocab) -> Result<u32> {
    let end = if vocab.level == Level::Word { EOS } else { "\n" };
    vocab.id(end).ok_or_else(|| {
        Error::Data(format!(
            "the model's vocabulary has no {end:?}: score needs it to end and start sentences"
        ))
    })
}

/// A line as a sentence of `vocab`'s tokens (`end`: [`sentence_end`]).
pub fn sentence(vocab: &Vocab, line: &str, end: u32) -> Sentence {
    let (mut ids, skipped) = vocab.encode_for_scoring(line);
    let oov = match vocab.level {
        Level::Word => line.split_whitespace().filter(|w| vocab.id(w).is_none()).count(),
        Level::Char | Level::Jamo => skipped,
    };
    if ids.last() == Some(&end) && vocab.level == Level::Word {
        ids.pop(); // a word line's <eos>, put back below
    }
    let tokens = ids.len();
    ids.push(end);
    Sentence { ids, tokens, oov }
}

/// Each sentence's score: the RNN's log10 probabilities, mixed with the
/// n-gram's when `mixture` is given, summed.
pub fn score_all(
    model: &Model,
    sentences: &[Sentence],
    mixture: Option<&Mixture>,
    batch: usize,
    ws: &mut Workspace<f32>,
) -> Result<Vec<SentenceScore>> {
    let end = sentence_end(&model.vocab)?;
    let nats = score_sentences(&model.params, sentences, end, batch, ws);
    let ngram = mixture.map(|m| (m.on(&model.vocab), m.lambda));
    let mut scores = Vec::with_capacity(sentences.len());
    let mut with_start = Vec::new();
    for (s, nats) in sentences.iter().zip(nats) {
        let total_nats: f64 = match &ngram {
            None => nats.iter().sum(),
            Some((ngram, lambda)) => {
                // The n-gram reads the sentence after an end: from <s>.
                with_start.clear();
                with_start.push(end);
                with_start.extend(&s.ids);
                let ng = ngram.stream_log10(&with_start);
                nats.iter().zip(&ng).map(|(&r, &g)| mixed_nats(r, g, *lambda)).sum()
            }
        };
        scores.push(SentenceScore {
            tokens: s.tokens,
            oov: s.oov,
            log10_prob: -total_nats / std::f64::consts::LN_10,
        });
    }
    Ok(scores)
}

/// `score`.
pub fn score(args: &ScoreArgs) -> Result<()> {
    let model = load_model(&args.model, args.weights)?;
    let mut ws = Workspace::new(Gemm::new().with_threads(args.threads));
    let mixture = match &args.mix {
        None => None,
        Some(m) => Some(Mixture::load(m, &model.vocab, |ids| {
            Ok(evaluate_tokens(&model.params, ids, &mut ws))
        })?),
    };
    let end = sentence_end(&model.vocab)?;
    let out = std::io::stdout();
    let mut out = std::io::BufWriter::new(out.lock());
    let written = match &args.input {
        ScoreInput::Sentences(path) => {
            let text = read_text(path)?;
            if text.lines().next().is_none() {
                return Err(Error::Data(format!("{}: no lines to score", path.display())));
            }
            let sentences: Vec<Sentence> = text.lines().map(|l| sentence(&model.vocab, l, end)).collect();
            let scores = score_all(&model, &sentences, mixture.as_ref(), args.batch, &mut ws)?;
            write_sentences(&mut out, &scores, args.json)
        }
        ScoreInput::Nbest { path, lm_weight, all } => {
            let list = read_nbest(path)?;
            if list.is_empty() {
                return Err(Error::Data(format!("{}: no hypotheses to rescore", path.display())));
            }
            let sentences: Vec<Sentence> = list
                .iter()
                .map(|h| sentence(&model.vocab, &h.hypothesis, end))
                .collect();
            let scores = score_all(&model, &sentences, mixture.as_ref(), args.batch, &mut ws)?;
            let lm: Vec<f64> = scores.iter().map(|s| s.log10_prob).collect();
            write_nbest(&mut out, &list, &lm, *lm_weight, *all, args.json)
        }
    };
    written
        .and_then(|()| out.flush())
        .map_err(|e| Error::io(Path::new("stdout"), e))
}

/// The TSV (or JSON lines) of `score --sentences`: a row a sentence, then
/// the totals.
fn write_sentences(out: &mut impl Write, scores: &[SentenceScore], json: bool) -> std::io::Result<()> {
    if !json {
        writeln!(out, "line\ttokens\toov\tlog10_prob\tppl\tppl1")?;
    }
    let mut total = SentenceScore {
        tokens: 0,
        oov: 0,
        log10_prob: 0.0,
    };
    for (i, s) in scores.iter().enumerate() {
        total.tokens += s.tokens;
        total.oov += s.oov;
        total.log10_prob += s.log10_prob;
        if json {
            let row = Json::object([
                ("line", Json::from(i + 1)),
                ("tokens", Json::from(s.tokens)),
                ("oov", Json::from(s.oov)),
                ("log10_prob", Json::from(s.log10_prob)),
                ("ppl", Json::from(s.ppl())),
                ("ppl1", Json::from(s.ppl1())),
            ]);
            writeln!(out, "{row}")?;
        } else {
            writeln!(
                out,
                "{}\t{}\t{}\t{:.6}\t{:.4}\t{:.4}",
                i + 1,
                s.tokens,
                s.oov,
                s.log10_prob,
                s.ppl(),
                s.ppl1()
            )?;
        }
    }
    let n = scores.len();
    let ppl = 10f64.powf(-total.log10_prob / (total.tokens + n) as f64);
    let ppl1 = 10f64.powf(-total.log10_prob / total.tokens as f64);
    if json {
        let row = Json::object([
            ("sentences", Json::from(n)),
            ("tokens", Json::from(total.tokens)),
            ("oov", Json::from(total.oov)),
            ("logprob", Json::from(total.log10_prob)),
            ("ppl", Json::from(ppl)),
            ("ppl1", Json::from(ppl1)),
        ]);
        writeln!(out, "{row}")
    } else {
        writeln!(
            out,
            "total\t{}\t{}\t{:.6}\t{ppl:.4}\t{ppl1:.4}",
            total.tokens, total.oov, total.log10_prob
        )
    }
}

/// One line of an n-best list.
#[derive(Clone, Debug, PartialEq)]
pub struct Hypothesis {
    pub id: String,
    /// The recognizer's own log score.
    pub score: f64,
    pub hypothesis: String,
}

/// Read `id<TAB>score<TAB>hypothesis` lines (an empty hypothesis is
/// allowed; blank lines are skipped). Errors name the file and line.
pub fn read_nbest(path: &Path) -> Result<Vec<Hypothesis>> {
    let text = read_text(path)?;
    parse_nbest(&text).map_err(|(line, what)| Error::Data(format!("{}:{line}: {what}", path.display())))
}

/// [`read_nbest`] on text: an error is its 1-based line and what is wrong.
pub fn parse_nbest(text: &str) -> std::result::Result<Vec<Hypothesis>, (usize, String)> {
    let mut list = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let mut fields = line.splitn(3, '\t');
        let (Some(id), Some(score)) = (fields.next(), fields.next()) else {
            return Err((i + 1, "expected id<TAB>score<TAB>hypothesis".into()));
        };
        let score: f64 = match score.trim().parse() {
            Ok(x) if f64::is_finite(x) => x,
            _ => return Err((i + 1, format!("the score '{score}' is not a finite number"))),
        };
        list.push(Hypothesis {
            id: id.to_string(),
            score,
            hypothesis: fields.next().unwrap_or("").to_string(),
        });
    }
    Ok(list)
}

/// The best hypothesis of each id, in the order ids first appear: the
/// highest `score + lm_weight · lm[i]`, the first listed on a tie.
/// Returns indices into `list`.
pub fn best_per_id(list: &[Hypothesis], lm: &[f64], lm_weight: f64) -> Vec<usize> {
    let mut best: Vec<usize> = Vec::new();
    let mut slot: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    let total = |i: usize| list[i].score + lm_weight * lm[i];
    for (i, h) in list.iter().enumerate() {
        match slot.get(h.id.as_str()) {
            None => {
                slot.insert(&h.id, best.len());
                best.push(i);
            }
            Some(&k) => {
                if total(i) > total(best[k]) {
                    best[k] = i;
                }
            }
        }
    }
    best
}

/// `score --nbest`'s output: each id's best (`id<TAB>total<TAB>hypothesis`),
/// or with `all` every hypothesis (`id<TAB>score<TAB>log10_prob<TAB>total<TAB>hypothesis`).
fn write_nbest(
    out: &mut impl Write,
    list: &[Hypothesis],
    lm: &[f64],
    lm_weight: f64,
    all: bool,
    json: bool,
) -> std::io::Result<()> {
    let best = best_per_id(list, lm, lm_weight);
    let shown: Vec<usize> = if all { (0..list.len()).collect() } else { best.clone() };
    for i in shown {
        let h = &list[i];
        let total = h.score + lm_weight * lm[i];
        if json {
            let mut fields = vec![
                ("id", Json::from(h.id.as_str())),
                ("score", Json::from(h.score)),
                ("log10_prob", Json::from(lm[i])),
                ("total", Json::from(total)),
                ("hypothesis", Json::from(h.hypothesis.as_str())),
            ];
            if all {
                fields.push(("best", Json::Bool(best.contains(&i))));
            }
            writeln!(out, "{}", Json::object(fields))?;
        } else if all {
            writeln!(
                out,
                "{}\t{}\t{:.6}\t{:.6}\t{}",
                h.id, h.score, lm[i], total, h.hypothesis
            )?;
        } else {
            writeln!(out, "{}\t{total:.6}\t{}", h.id, h.hypothesis)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hyp(id: &str, score: f64, text: &str) -> Hypothesis {
        Hypothesis {
            id: id.into(),
            score,
            hypothesis: text.into(),
        }
    }

    /// Totals by hand: id a: −10 + 2·(−3) = −16 against −12 + 2·(−1) = −14,
    /// so the second; id b: two equal totals (−5 + 2·(−2) = −9 = −7 + 2·(−1)),
    /// so the first listed; id c alone.
    #[test]
    fn the_best_hypothesis_by_hand() {
        let list = [
            hyp("a", -10.0, "x"),
            hyp("b", -5.0, "y"),
            hyp("a", -12.0, "z"),
            hyp("c", 0.0, ""),
            hyp("b", -7.0, "w"),
        ];
        let lm = [-3.0, -2.0, -1.0, -4.0, -1.0];
        assert_eq!(best_per_id(&list, &lm, 2.0), vec![2, 1, 3]);
        // With no weight on the model, the recognizer's own best.
        assert_eq!(best_per_id(&list, &lm, 0.0), vec![0, 1, 3]);
    }

    #[test]
    fn nbest_lines_parse_and_errors_name_the_line() {
        let list = parse_nbest("1\t-3.5\tthe cat\n\n1\t-4\t\n2\t7\ta\tb\n").unwrap();
        assert_eq!(
            list,
            vec![hyp("1", -3.5, "the cat"), hyp("1", -4.0, ""), hyp("2", 7.0, "a\tb")]
        );
        assert_eq!(parse_nbest("1\t-3\tx\nno tabs here\n").unwrap_err().0, 2);
        let e = parse_nbest("1\tabc\tx\n").unwrap_err();
        assert!(e.1.contains("'abc' is not a finite number"), "{e:?}");
        assert_eq!(parse_nbest("1\tNaN\tx\n").unwrap_err().0, 1);
    }

    #[test]
    fn sentences_end_with_the_end_token_and_count_unknowns() {
        let check = |vocab: &Vocab, line: &str, ids: &[u32], tokens: usize, oov: usize| {
            let end = sentence_end(vocab).unwrap();
            let want = Sentence {
                ids: ids.to_vec(),
                tokens,
                oov,
            };
            assert_eq!(sentence(vocab, line, end), want, "{line:?}");
        };
        let words = Vocab::from_tokens(Level::Word, ["<eos>", "<unk>", "a", "b"].map(String::from).to_vec());
        check(&words, "a zz b", &[2, 1, 3, 0], 3, 1);
        check(&words, "", &[0], 0, 0);
        let chars = Vocab::from_tokens(Level::Char, ["\n", "a", "b"].map(String::from).to_vec());
        check(&chars, "abxa", &[1, 2, 1, 0], 3, 1);
        let no_newline = Vocab::from_tokens(Level::Char, vec!["a".into()]);
        assert!(sentence_end(&no_newline).is_err());
    }
}
