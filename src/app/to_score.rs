//! A text read to be scored (`eval --corpus`, `ngram --eval`, `--mix-valid`,
//! `bench score`): its tokens, what was skipped, and the characters they
//! stand for.

use std::path::Path;

use crate::data::Vocab;
use crate::error::{Error, Result};
use crate::io::fs::read_text;
use crate::train::evaluate::MIN_SCORED_TOKENS;

/// Read and encode a text to score ([`Vocab::encode_for_scoring`]: at char
/// level, characters outside the vocabulary are skipped and counted): the
/// ids and that count. At least [`MIN_SCORED_TOKENS`] tokens, or an error
/// naming the file and the flag.
pub fn tokens_to_score(vocab: &Vocab, path: &Path, flag: &str) -> Result<(Vec<u32>, usize)> {
    let t = read_to_score(vocab, path, flag)?;
    Ok((t.ids, t.oov))
}

/// A text read for scoring.
pub struct ToScore {
    pub ids: Vec<u32>,
    /// Characters skipped as outside the vocabulary.
    pub oov: usize,
    /// The original characters the scored tokens stand for (char and jamo
    /// level: every kept character but the first, which is only context).
    pub chars: Option<usize>,
}

/// [`tokens_to_score`], and the characters the scored tokens stand for.
pub fn read_to_score(vocab: &Vocab, path: &Path, flag: &str) -> Result<ToScore> {
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
