//! Text to token ids and back: character level (one token per Unicode scalar
//! value — never bytes), jamo level (character level after decomposing each
//! Hangul syllable into its jamo, [`super::jamo`]) and word level
//! (whitespace-split words, `<eos>` at each line end, rare words as `<unk>`).

use std::collections::HashMap;

use crate::error::{Error, Result};

/// The end-of-line token at word level (Penn Treebank convention).
pub const EOS: &str = "<eos>";
/// The out-of-vocabulary token at word level.
pub const UNK: &str = "<unk>";

/// Tokenization level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Char,
    /// Characters, Hangul syllables decomposed into jamo.
    Jamo,
    Word,
}

impl Level {
    pub fn name(self) -> &'static str {
        match self {
            Level::Char => "char",
            Level::Jamo => "jamo",
            Level::Word => "word",
        }
    }
    pub fn parse(s: &str) -> Option<Level> {
        match s {
            "char" => Some(Level::Char),
            "jamo" => Some(Level::Jamo),
            "word" => Some(Level::Word),
            _ => None,
        }
    }
}

/// Split text into token strings at `level`.
pub fn split(text: &str, level: Level) -> Vec<String> {
    match level {
        Level::Char => text.chars().map(String::from).collect(),
        Level::Jamo => super::jamo::decompose(text).chars().map(String::from).collect(),
        Level::Word => {
            let mut out = Vec::new();
            // Every line end is <eos>; a final line without '\n' still ends.
            for line in text.lines() {
                out.extend(line.split_whitespace().map(String::from));
                out.push(EOS.to_string());
            }
            out
        }
    }
}

/// The vocabulary: id ↔ token string.
#[derive(Clone, Debug, PartialEq)]
pub struct Vocab {
    pub level: Level,
    tokens: Vec<String>,
    index: HashMap<String, u32>,
}

impl Vocab {
    /// Build from a training text, deterministically.
    ///
    /// - char (jamo): every distinct character (of the decomposed text),
    ///   ordered by code point;
    /// - word: `<eos>`, `<unk>`, then words with count ≥ `min_count` by
    ///   descending count, ties by string, cut at `max_vocab` entries in all.
    pub fn build(text: &str, level: Level, min_count: usize, max_vocab: usize) -> Vocab {
        match level {
            Level::Char | Level::Jamo => {
                let mut chars: Vec<char> = split(text, level).iter().flat_map(|t| t.chars()).collect();
                chars.sort_unstable();
                chars.dedup();
                Vocab::from_tokens(level, chars.into_iter().map(String::from).collect())
            }
            Level::Word => {
                let mut counts: HashMap<String, usize> = HashMap::new();
                for t in split(text, level) {
                    *counts.entry(t).or_default() += 1;
                }
                counts.remove(EOS);
                counts.remove(UNK);
                let mut words: Vec<(String, usize)> = counts.into_iter().filter(|(_, c)| *c >= min_count).collect();
                words.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
                let mut tokens = vec![EOS.to_string(), UNK.to_string()];
                tokens.extend(words.into_iter().map(|(w, _)| w).take(max_vocab.saturating_sub(2)));
                Vocab::from_tokens(level, tokens)
            }
        }
    }

    /// A vocabulary from token strings in id order (checkpoints, import).
    pub fn from_tokens(level: Level, tokens: Vec<String>) -> Vocab {
        let index = tokens.iter().enumerate().map(|(i, t)| (t.clone(), i as u32)).collect();
        Vocab { level, tokens, index }
    }

    pub fn len(&self) -> usize {
        self.tokens.len()
    }
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }
    pub fn tokens(&self) -> &[String] {
        &self.tokens
    }
    pub fn id(&self, token: &str) -> Option<u32> {
        self.index.get(token).copied()
    }
    pub fn token(&self, id: u32) -> &str {
        &self.tokens[id as usize]
    }

    /// Encode text. Word level maps unknown words to `<unk>`; char level
    /// refuses unknown characters and lists them.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        let pieces = split(text, self.level);
        match self.level {
            Level::Word => {
                let unk = self.id(UNK).unwrap_or(0);
                Ok(pieces.iter().map(|p| self.id(p).unwrap_or(unk)).collect())
            }
            Level::Char | Level::Jamo => {
                let mut ids = Vec::with_capacity(pieces.len());
                let mut unknown: Vec<&str> = Vec::new();
                for p in &pieces {
                    match self.id(p) {
                        Some(i) => ids.push(i),
                        None => {
                            if !unknown.contains(&p.as_str()) {
                                unknown.push(p);
                            }
                        }
                    }
                }
                if unknown.is_empty() {
                    Ok(ids)
                } else {
                    let shown: Vec<String> = unknown.iter().take(20).map(|c| format!("{c:?}")).collect();
                    Err(Error::Data(format!(
                        "{} character(s) not in the model's vocabulary: {}{}",
                        unknown.len(),
                        shown.join(" "),
                        if unknown.len() > 20 { " ..." } else { "" }
                    )))
                }
            }
        }
    }

    /// Encode a text to score: at char level, characters outside the
    /// vocabulary are skipped — neither predicted nor fed, so the state
    /// carries on across them, as n-gram toolkits such as SRILM do — and
    /// counted; at word level unknown words are `<unk>` as always (none
    /// skipped). Returns the ids and the count skipped.
    pub fn encode_for_scoring(&self, text: &str) -> (Vec<u32>, usize) {
        match self.level {
            Level::Word => (self.encode(text).expect("word level maps every word"), 0),
            Level::Char | Level::Jamo => {
                let mut oov = 0;
                let text = match self.level {
                    Level::Jamo => std::borrow::Cow::Owned(super::jamo::decompose(text)),
                    _ => std::borrow::Cow::Borrowed(text),
                };
                let ids = text
                    .chars()
                    .filter_map(|c| {
                        let id = self.id(c.encode_utf8(&mut [0; 4]));
                        oov += usize::from(id.is_none());
                        id
                    })
                    .collect();
                (ids, oov)
            }
        }
    }

    /// The number of the text's original characters that scoring keeps (all
    /// of whose tokens the vocabulary has), at char and jamo level — what
    /// per-character figures divide by, so the two levels compare on the
    /// same text. `None` at word level.
    pub fn kept_chars(&self, text: &str) -> Option<usize> {
        let mut buf = String::new();
        let known = |c: char, buf: &mut String| {
            buf.clear();
            super::jamo::decompose_into(c, buf);
            buf.chars().all(|j| self.id(j.encode_utf8(&mut [0; 4])).is_some())
        };
        match self.level {
            Level::Word => None,
            Level::Char => Some(
                text.chars()
                    .filter(|&c| self.id(c.encode_utf8(&mut [0; 4])).is_some())
                    .count(),
            ),
            Level::Jamo => Some(text.chars().filter(|&c| known(c, &mut buf)).count()),
        }
    }

    /// Encode a prime: the start of a text to continue. At word level a
    /// prime is the start of a line, so the `<eos>` [`Vocab::encode`] puts
    /// after a last line without a newline is dropped (a prime that ends
    /// with a newline keeps it: the next word starts a new line).
    pub fn encode_prime(&self, text: &str) -> Result<Vec<u32>> {
        let mut ids = self.encode(text)?;
        if self.level == Level::Word && !text.ends_with('\n') {
            ids.pop();
        }
        Ok(ids)
    }

    /// Text of one token as it is printed: characters as themselves; words
    /// followed by a space, `<eos>` as a line break.
    pub fn render(&self, id: u32) -> String {
        let t = self.token(id);
        match self.level {
            Level::Char | Level::Jamo => t.to_string(),
            Level::Word if t == EOS => "\n".to_string(),
            Level::Word => format!("{t} "),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scoring_skips_and_counts_characters_outside_the_vocabulary() {
        let v = Vocab::build("가나다 abc", Level::Char, 1, 100);
        let (ids, oov) = v.encode_for_scoring("가힣나 xbz");
        let back: String = ids.iter().map(|&i| v.token(i)).collect();
        assert_eq!((back.as_str(), oov), ("가나 b", 3));
        let w = Vocab::build("the cat\n", Level::Word, 1, 100);
        let (ids, oov) = w.encode_for_scoring("the dog\n");
        assert_eq!((ids.len(), oov), (3, 0));
        assert_eq!(w.token(ids[1]), UNK);
    }

    #[test]
    fn a_word_prime_is_the_start_of_a_line() {
        let v = Vocab::build("what will the fat cat\n", Level::Word, 1, 100);
        let ids = |t: &str| {
            v.encode_prime(t)
                .unwrap()
                .iter()
                .map(|&i| v.token(i).to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(ids("what will the fat"), ["what", "will", "the", "fat"]);
        assert_eq!(ids("the fat\n"), ["the", "fat", EOS]);
        assert_eq!(ids(""), Vec::<String>::new());
        let c = Vocab::build("ab\n", Level::Char, 1, 100);
        assert_eq!(c.encode_prime("ab").unwrap().len(), 2);
    }

    #[test]
    fn char_level_round_trips_korean_and_emoji() {
        let text = "안녕하세요, 세계! café 🙂\n";
        let v = Vocab::build(text, Level::Char, 1, usize::MAX);
        let ids = v.encode(text).unwrap();
        assert_eq!(ids.len(), text.chars().count());
        let back: String = ids.iter().map(|&i| v.render(i)).collect();
        assert_eq!(back, text);
        assert!(v.id("녕").is_some());
    }

    #[test]
    fn word_level_emits_eos_and_unk() {
        let text = "the cat sat\n\nthe dog\n";
        let v = Vocab::build(text, Level::Word, 2, 100);
        assert_eq!(v.tokens(), &[EOS, UNK, "the"]);
        let ids = v.encode(text).unwrap();
        let words: Vec<&str> = ids.iter().map(|&i| v.token(i)).collect();
        assert_eq!(
            words,
            [
                "the", UNK, UNK, EOS, // line 1
                EOS, // empty line
                "the", UNK, EOS
            ]
        );
    }

    #[test]
    fn max_vocab_cuts_by_count_deterministically() {
        let text = "b b b a a c";
        let v = Vocab::build(text, Level::Word, 1, 4);
        assert_eq!(v.tokens(), &[EOS, UNK, "b", "a"]);
    }

    #[test]
    fn unknown_characters_are_listed() {
        let v = Vocab::build("abc", Level::Char, 1, 100);
        let err = v.encode("abxyx").unwrap_err().to_string();
        assert!(
            err.contains("2 character(s)") && err.contains("\"x\"") && err.contains("\"y\""),
            "{err}"
        );
    }
}
