//! `rnnlm bench score`: sentences scored side by side (`score --sentences`)
//! against the same text scored as one stream (`eval`), in the same rounds.

use std::time::Duration;

use super::timing::{best_times_interleaved, Job};
use crate::matmul::Gemm;
use crate::model::{Params, Workspace};
use crate::train::evaluate::{evaluate, score_sentences};

/// Tokens per second of `eval`'s one stream over `stream` and of
/// [`score_sentences`] over `sentences` (`batch` side by side, from
/// `start`), from each one's fastest run within `budget`, on `threads`.
pub fn time_scoring<S: AsRef<[u32]>>(
    params: &Params<f32>,
    stream: &[u32],
    sentences: &[S],
    start: u32,
    batch: usize,
    threads: usize,
    budget: Duration,
) -> (f64, f64) {
    let mut eval_ws = Workspace::new(Gemm::new().with_threads(threads));
    let mut score_ws = Workspace::new(Gemm::new().with_threads(threads));
    let mut jobs: Vec<Job> = vec![
        Box::new(|| {
            std::hint::black_box(evaluate(params, stream, &mut eval_ws));
        }),
        Box::new(|| {
            std::hint::black_box(score_sentences(params, sentences, start, batch, &mut score_ws));
        }),
    ];
    let best = best_times_interleaved(budget * 2, 2, &mut jobs);
    let predicted: usize = sentences.iter().map(|s| s.as_ref().len()).sum();
    (
        (stream.len() - 1) as f64 / best[0].as_secs_f64(),
        predicted as f64 / best[1].as_secs_f64(),
    )
}
