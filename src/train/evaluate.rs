//! Scoring held-out text: the model's cross-entropy, and the unigram
//! baseline it is reported against.

use crate::matrix::Matrix;
use crate::model::{forward, Params, Workspace};

/// Chunk length used by evaluation (one stream, h carried across chunks).
pub const EVAL_CHUNK: usize = 256;

/// Tokens a text needs before anything in it can be scored: the first token
/// is only context. Every command that scores text (`eval`, `ngram`,
/// validation in `train`) refuses shorter text, naming the flag to change.
pub const MIN_SCORED_TOKENS: usize = 2;

/// Cross-entropy of a model on a token stream: the whole stream is one
/// stream, h_0 = 0, every token after the first predicted once.
/// Returns (predicted tokens, mean nats per token).
///
/// # Panics
/// If `ids` has fewer than [`MIN_SCORED_TOKENS`] tokens.
pub fn evaluate(params: &Params<f32>, ids: &[u32], ws: &mut Workspace<f32>) -> (usize, f64) {
    assert!(
        ids.len() >= MIN_SCORED_TOKENS,
        "evaluate: {} tokens, nothing to predict",
        ids.len()
    );
    let h = params.config.hidden;
    let mut state = Matrix::<f32>::zeros(1, h);
    let mut total = 0.0;
    let n = ids.len() - 1;
    for start in (0..n).step_by(EVAL_CHUNK) {
        let end = (start + EVAL_CHUNK).min(n);
        let loss = forward(params, &ids[start..end], &ids[start + 1..end + 1], 1, state.view(), ws);
        total += loss * (end - start) as f64;
        state.as_mut_slice().copy_from_slice(&ws.last_hidden().data()[..h]);
    }
    (n, total / n as f64)
}

/// Unigram cross-entropy of `eval` (every token after the first) under
/// add-one-smoothed counts of `train`.
///
/// # Panics
/// If `eval` has fewer than [`MIN_SCORED_TOKENS`] tokens.
pub fn unigram_nats(train: &[u32], eval: &[u32], vocab: usize) -> f64 {
    assert!(
        eval.len() >= MIN_SCORED_TOKENS,
        "unigram_nats: {} tokens, nothing to predict",
        eval.len()
    );
    let mut counts = vec![1.0f64; vocab];
    for &t in train {
        counts[t as usize] += 1.0;
    }
    let total: f64 = counts.iter().sum();
    let preds = &eval[1..];
    -preds.iter().map(|&t| (counts[t as usize] / total).ln()).sum::<f64>() / preds.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// By hand: V = 3, train [0, 0, 1] gives add-one counts (3, 2, 1) of 6;
    /// eval [2, 0, 1] predicts 0 and 1: −(ln 3/6 + ln 2/6)/2.
    #[test]
    fn unigram_is_the_add_one_cross_entropy() {
        let want = -((3.0f64 / 6.0).ln() + (2.0f64 / 6.0).ln()) / 2.0;
        assert!((unigram_nats(&[0, 0, 1], &[2, 0, 1], 3) - want).abs() < 1e-15);
    }

    #[test]
    #[should_panic(expected = "nothing to predict")]
    fn one_token_is_refused() {
        unigram_nats(&[0, 1], &[1], 2);
    }
}
