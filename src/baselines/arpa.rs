//! Back-off n-gram models in the ARPA text format — what SRILM, KenLM and
//! IRSTLM write — read and used to score text (`rnnlm ngram --load`).
//!
//! ```text
//!   \data\
//!   ngram 1=5                       how many k-grams each section holds
//!   ngram 2=3
//!
//!   \1-grams:
//!   -0.70  the  -0.30               log10 p(w), w, log10 backoff weight of w as a context
//!   …
//!   \2-grams:
//!   -0.40  <s> the                  log10 p(the | <s>)
//!   …
//!   \end\
//! ```
//!
//! Fields are separated by tabs (as the format says) or spaces. Scoring a
//! word w after a context h (the last n − 1 words) backs off:
//!
//! ```text
//!   log10 p(w | h) = log10 p(h w)                    if h w is listed
//!                  = bow(h) + log10 p(w | h[1..])    otherwise (bow(h) = 0 if h is not listed)
//! ```
//!
//! down to the unigram. Each line of a text is a sentence: its context
//! starts at `<s>` (never predicted) and it ends with `</s>`, which is
//! predicted; a word the model does not list is scored as `<unk>` and
//! counted as out of vocabulary — KenLM's `query` convention.

use std::collections::HashMap;

/// A back-off model read from an ARPA file.
#[derive(Clone, Debug)]
pub struct Arpa {
    /// The words, by id.
    words: HashMap<String, u32>,
    /// `grams[k − 1]`: each listed k-gram's (log10 p, log10 backoff).
    grams: Vec<HashMap<Vec<u32>, (f64, f64)>>,
    unk: Option<u32>,
    start: Option<u32>,
    end: u32,
}

/// One sentence's score under [`Arpa::score_sentence`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SentenceScore {
    /// log10 of the probability of its words and `</s>`.
    pub log10_prob: f64,
    /// Predictions scored: its words and `</s>`.
    pub tokens: usize,
    /// Its words the model does not list (scored as `<unk>`).
    pub oov: usize,
}

/// An error in an ARPA file: the 1-based line and what is wrong there.
#[derive(Clone, Debug, PartialEq)]
pub struct ArpaError {
    pub line: usize,
    pub message: String,
}

impl std::fmt::Display for ArpaError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

fn fail<T>(line: usize, message: impl Into<String>) -> Result<T, ArpaError> {
    Err(ArpaError {
        line,
        message: message.into(),
    })
}

/// A log10 field: a finite number, or SRILM's `-inf` / `-99` for zero.
fn log10_field(s: &str, line: usize, what: &str) -> Result<f64, ArpaError> {
    match s.parse::<f64>() {
        Ok(x) if x.is_finite() || x == f64::NEG_INFINITY => Ok(x),
        _ => fail(line, format!("{what} '{s}' is not a number")),
    }
}

impl Arpa {
    /// Read an ARPA file's text. Every error names its line: counts that
    /// disagree with the sections, a missing `\end\`, a field that is not a
    /// number, an n-gram whose context is not listed one order below.
    pub fn parse(text: &str) -> Result<Arpa, ArpaError> {
        let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l.trim()));
        // The header: \data\, then "ngram k=count" lines.
        let mut counts: Vec<usize> = Vec::new();
        let mut last_line = 0;
        for (n, l) in lines.by_ref() {
            last_line = n;
            if l == "\\data\\" {
                break;
            }
            if !l.is_empty() {
                return fail(n, format!("expected \\data\\, found '{l}'"));
            }
        }
        let mut section = None;
        for (n, l) in lines.by_ref() {
            last_line = n;
            if l.is_empty() {
                continue;
            }
            if let Some(rest) = l.strip_prefix("ngram ") {
                let Some((k, c)) = rest.split_once('=') else {
                    return fail(n, format!("expected 'ngram k=count', found '{l}'"));
                };
                let (Ok(k), Ok(c)) = (k.trim().parse::<usize>(), c.trim().parse::<usize>()) else {
                    return fail(n, format!("expected 'ngram k=count' with whole numbers, found '{l}'"));
                };
                if k != counts.len() + 1 {
                    return fail(
                        n,
                        format!("expected the count of order {}, found order {k}", counts.len() + 1),
                    );
                }
                counts.push(c);
                continue;
            }
            section = Some((n, l.to_string()));
            break;
        }
        if counts.is_empty() {
            return fail(last_line, "no 'ngram k=count' lines after \\data\\");
        }
        let mut model = Arpa {
            words: HashMap::new(),
            grams: vec![HashMap::new(); counts.len()],
            unk: None,
            start: None,
            end: 0,
        };
        // The sections, in order, each exactly as long as its count says.
        for k in 1..=counts.len() {
            let Some((n, header)) = section.take() else {
                return fail(last_line, format!("missing the \\{k}-grams: section"));
            };
            if header != format!("\\{k}-grams:") {
                return fail(n, format!("expected \\{k}-grams:, found '{header}'"));
            }
            let mut seen = 0;
            for (n, l) in lines.by_ref() {
                last_line = n;
                if l.is_empty() {
                    continue;
                }
                if l.starts_with('\\') {
                    section = Some((n, l.to_string()));
                    break;
                }
                model.add_gram(k, l, n)?;
                seen += 1;
            }
            if seen != counts[k - 1] {
                return fail(
                    section.as_ref().map_or(last_line, |s| s.0),
                    format!(
                        "the \\{k}-grams: section has {seen} lines, \\data\\ says ngram {k}={}",
                        counts[k - 1]
                    ),
                );
            }
        }
        match section {
            Some((_, l)) if l == "\\end\\" => {}
            Some((n, l)) => return fail(n, format!("expected \\end\\, found '{l}'")),
            None => return fail(last_line, "missing \\end\\"),
        }
        model.unk = model.words.get("<unk>").copied();
        model.start = model.words.get("<s>").copied();
        model.end = match model.words.get("</s>") {
            Some(&id) => id,
            None => return fail(last_line, "the model has no </s>: it cannot end a sentence"),
        };
        Ok(model)
    }

    /// One k-gram line: `log10p w1 … wk [backoff]`.
    fn add_gram(&mut self, k: usize, l: &str, n: usize) -> Result<(), ArpaError> {
        let fields: Vec<&str> = l.split_whitespace().collect();
        if fields.len() != k + 1 && fields.len() != k + 2 {
            return fail(
                n,
                format!("a {k}-gram line needs a log10 probability, {k} word(s) and an optional backoff: '{l}'"),
            );
        }
        let logp = log10_field(fields[0], n, "log10 probability")?;
        let backoff = match fields.get(k + 1) {
            Some(b) => log10_field(b, n, "log10 backoff")?,
            None => 0.0,
        };
        let mut ids = Vec::with_capacity(k);
        for w in &fields[1..=k] {
            let next = self.words.len() as u32;
            let id = if k == 1 {
                *self.words.entry(w.to_string()).or_insert(next)
            } else {
                match self.words.get(*w) {
                    Some(&id) => id,
                    None => return fail(n, format!("'{w}' is not among the 1-grams")),
                }
            };
            ids.push(id);
        }
        if k > 1 && !self.grams[k - 2].contains_key(&ids[..k - 1]) {
            return fail(
                n,
                format!(
                    "its context '{}' is not among the {}-grams",
                    fields[1..k].join(" "),
                    k - 1
                ),
            );
        }
        if self.grams[k - 1].insert(ids, (logp, backoff)).is_some() {
            return fail(n, format!("the {k}-gram '{}' is listed twice", fields[1..=k].join(" ")));
        }
        Ok(())
    }

    /// The highest order n.
    pub fn order(&self) -> usize {
        self.grams.len()
    }

    /// The id of a word, `<unk>`'s for one the model does not list (`None`
    /// if it has no `<unk>` either).
    pub fn id(&self, w: &str) -> Option<u32> {
        self.words.get(w).copied().or(self.unk)
    }

    /// Whether the model lists the word (not counting `<unk>` for it).
    pub fn lists(&self, w: &str) -> bool {
        self.words.contains_key(w)
    }

    /// `<unk>`'s id, if the model lists it.
    pub fn unk(&self) -> Option<u32> {
        self.unk
    }

    /// `<s>`'s id, if the model lists it: every sentence's context starts there.
    pub fn sentence_start(&self) -> Option<u32> {
        self.start
    }

    /// `</s>`'s id: what ends each sentence.
    pub fn sentence_end(&self) -> u32 {
        self.end
    }

    /// log10 p(w | context), backing off (module docs); `context` holds at
    /// most n − 1 ids, oldest first.
    pub fn log10_prob(&self, context: &[u32], w: u32) -> f64 {
        let mut penalty = 0.0;
        let mut h = context;
        loop {
            let mut gram = h.to_vec();
            gram.push(w);
            if let Some(&(logp, _)) = self.grams[h.len()].get(&gram) {
                return penalty + logp;
            }
            if h.is_empty() {
                return f64::NEG_INFINITY; // not even a unigram: probability 0
            }
            penalty += self.grams[h.len() - 1].get(h).map_or(0.0, |g| g.1);
            h = &h[1..];
        }
    }

    /// A sentence's words (one line, split at white space): each word and
    /// then `</s>` predicted from `<s>` and the words before.
    pub fn score_sentence(&self, line: &str) -> SentenceScore {
        let keep = self.order() - 1;
        let mut context: Vec<u32> = self.start.into_iter().collect();
        let mut score = SentenceScore {
            log10_prob: 0.0,
            tokens: 0,
            oov: 0,
        };
        let words = line.split_whitespace().map(Some).chain([None]);
        for w in words {
            let id = match w {
                None => Some(self.end),
                Some(w) => {
                    if !self.lists(w) {
                        score.oov += 1;
                    }
                    self.id(w)
                }
            };
            let from = context.len().saturating_sub(keep);
            score.log10_prob += match id {
                Some(id) => self.log10_prob(&context[from..], id),
                None => f64::NEG_INFINITY,
            };
            score.tokens += 1;
            if let Some(id) = id {
                context.push(id);
            }
        }
        score
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A bigram model written by hand. Its probabilities, worked out:
    ///
    /// ```text
    ///   p(a | <s>)   = 10^-0.3                         listed
    ///   p(b | a)     = 10^-0.2                         listed
    ///   p(</s> | b)  = bow(b) · p(</s>) = 10^(-0.5 - 0.6)   backs off from b
    ///   p(<unk> | a) = bow(a) · p(<unk>) = 10^(-0.1 - 2.0)
    /// ```
    const HAND: &str = "\\data\\\nngram 1=5\nngram 2=2\n\n\\1-grams:\n\
        -99\t<s>\t-0.4\n-0.6\t</s>\n-0.7\ta\t-0.1\n-0.8\tb\t-0.5\n-2.0 <unk>\n\n\
        \\2-grams:\n-0.3\t<s> a\n-0.2\ta b\n\n\\end\\\n";

    #[test]
    fn a_hand_made_model_scores_as_worked_out() {
        let m = Arpa::parse(HAND).unwrap();
        assert_eq!(m.order(), 2);
        let s = m.score_sentence("a b");
        assert!((s.log10_prob - (-0.3 - 0.2 - 0.5 - 0.6)).abs() < 1e-12, "{s:?}");
        assert_eq!((s.tokens, s.oov), (3, 0));
        // An unknown word is <unk>, counted; its context backs off from a.
        let s = m.score_sentence("a zebra");
        let want = -0.3 + (-0.1 - 2.0) + (-0.6); // </s> after <unk>: no bow listed for <unk>
        assert!((s.log10_prob - want).abs() < 1e-12, "{s:?}");
        assert_eq!((s.tokens, s.oov), (3, 1));
        // An empty line is </s> after <s>: bow(<s>) · p(</s>).
        assert!((m.score_sentence("").log10_prob - (-0.4 - 0.6)).abs() < 1e-12);
    }

    #[test]
    fn malformed_files_name_the_line() {
        let err = |text: &str| Arpa::parse(text).unwrap_err();
        let e = err(&HAND.replace("ngram 2=2", "ngram 2=3"));
        assert!(e.message.contains("has 2 lines, \\data\\ says ngram 2=3"), "{e}");
        let e = err(&HAND.replace("\\end\\\n", ""));
        assert!(e.message.contains("missing \\end\\"), "{e}");
        let e = err(&HAND.replace("-0.2\ta b", "x\ta b"));
        assert_eq!(e.line, 14, "{e}");
        assert!(e.message.contains("'x' is not a number"), "{e}");
        let trigram = HAND
            .replace("ngram 2=2\n", "ngram 2=2\nngram 3=1\n")
            .replace("\n\\end\\", "\n\\3-grams:\n-0.1\tb a b\n\n\\end\\");
        let e = err(&trigram);
        assert!(e.message.contains("its context 'b a' is not among the 2-grams"), "{e}");
        assert!(Arpa::parse(&trigram.replace("b a b", "a b a")).is_ok());
        let e = err(&HAND.replace("-0.2\ta b", "-0.2\ta q"));
        assert!(e.message.contains("'q' is not among the 1-grams"), "{e}");
        let e = err("hello\n");
        assert_eq!((e.line, e.message.contains("\\data\\")), (1, true), "{e}");
    }
}
