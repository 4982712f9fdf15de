//! Autoregressive generation: warm the state on a prime text, then sample a
//! token, feed it back, repeat.
//!
//! A classed model draws class by class where that gives the draw over the
//! whole distribution exactly ([`by_class`]).

pub mod by_class;

use crate::data::jamo::Composer;
use crate::data::{Level, Vocab};
use crate::matmul::Gemm;
use crate::model::step::Stepper;
use crate::model::{step, Params, StepState, Weights};
use crate::rng::Rng;

/// How the next token is drawn from p_t.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sampling {
    /// Divide logits by this; 0 = greedy (argmax).
    pub temperature: f64,
    /// Keep the k most likely tokens (0 = all).
    pub top_k: usize,
    /// Keep the smallest set whose mass reaches p (1 = all).
    pub top_p: f64,
}

impl Sampling {
    /// Temperature 1 and nothing cut: a draw straight from p.
    pub fn is_plain(&self) -> bool {
        self.temperature == 1.0 && self.top_k == 0 && self.top_p >= 1.0
    }
}

/// Draw one token id from probabilities `p`.
pub fn draw(p: &[f32], s: Sampling, rng: &mut Rng) -> u32 {
    if s.temperature <= 0.0 {
        let mut best = 0;
        for (i, &x) in p.iter().enumerate() {
            if x > p[best] {
                best = i;
            }
        }
        return best as u32;
    }
    if s.is_plain() {
        // Plain sampling from p: one pass, nothing to allocate.
        let total: f64 = p.iter().map(|&x| x as f64).sum();
        return walk(p, rng.uniform() * total).0 as u32;
    }
    let (w, _) = tempered(p.iter().zip(0..), s.temperature);
    draw_weighted(w, s, rng)
}

/// Where `u` falls when `p`'s entries are laid end to end: the index and
/// what is left of `u` inside that entry. Past the end (rounding), the last
/// positive entry, with all of it left.
fn walk(p: &[f32], mut u: f64) -> (usize, f64) {
    for (i, &x) in p.iter().enumerate() {
        if u < x as f64 {
            return (i, u);
        }
        u -= x as f64;
    }
    let last = p.iter().rposition(|&x| x > 0.0).unwrap_or(0);
    (last, p[last] as f64)
}

/// softmax(z / τ) = p^(1/τ) renormalized, of `(p, id)` pairs: the weights
/// [`tempered_weight`] against the max of ln p / τ over these pairs, and
/// that max. Worked out in logs for stability.
fn tempered<'p>(p: impl Iterator<Item = (&'p f32, u32)>, temperature: f64) -> (Vec<(f64, u32)>, f64) {
    let mut w: Vec<(f64, u32)> = p.map(|(&x, i)| ((x as f64).ln() / temperature, i)).collect();
    let max = w.iter().map(|x| x.0).fold(f64::NEG_INFINITY, f64::max);
    for x in w.iter_mut() {
        x.0 = (x.0 - max).exp();
    }
    (w, max)
}

/// p's weight `exp(ln p / τ − max)`, as [`tempered`] gives it.
fn tempered_weight(p: f32, max: f64, temperature: f64) -> f64 {
    ((p as f64).ln() / temperature - max).exp()
}

/// Draw from weights `w` `(weight, id)` as `s` cuts them: with top-k or
/// top-p, sorted by weight (ties by id), the first k kept, then the
/// smallest head with the top-p share of what is left; one uniform draw
/// over what remains.
fn draw_weighted(mut w: Vec<(f64, u32)>, s: Sampling, rng: &mut Rng) -> u32 {
    if s.top_k > 0 || s.top_p < 1.0 {
        // By weight, ties by id: a total order, so taking the first k
        // before sorting them keeps the same k in the same order.
        let by_weight = |a: &(f64, u32), b: &(f64, u32)| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1));
        if s.top_k > 0 && s.top_k < w.len() {
            w.select_nth_unstable_by(s.top_k - 1, by_weight);
            w.truncate(s.top_k);
        }
        w.sort_by(by_weight);
        if s.top_p < 1.0 {
            let total: f64 = w.iter().map(|x| x.0).sum();
            let mut acc = 0.0;
            let mut keep = 0;
            for x in &w {
                acc += x.0;
                keep += 1;
                if acc >= s.top_p * total {
                    break;
                }
            }
            w.truncate(keep.max(1));
        }
    }
    let total: f64 = w.iter().map(|x| x.0).sum();
    let mut u = rng.uniform() * total;
    for &(x, id) in &w {
        if u < x {
            return id;
        }
        u -= x;
    }
    w.last().map(|x| x.1).unwrap_or(0)
}

/// Feeds tokens one at a time through the model, keeping h: B streams side
/// by side (one, unless made with [`Generator::streams`]).
pub struct Generator<'a> {
    params: &'a Params<f32>,
    stepper: Stepper<f32>,
    state: StepState<f32>,
}

impl<'a> Generator<'a> {
    /// One stream.
    pub fn new(params: &'a Params<f32>) -> Self {
        Self::streams(params, 1, Gemm::new())
    }

    /// `b` streams computed on `gemm`.
    pub fn streams(params: &'a Params<f32>, b: usize, gemm: Gemm<f32>) -> Self {
        Self::with_weights(params, b, gemm, Weights::F32)
    }

    /// `b` streams computed on `gemm`, reading the weights in `weights`'
    /// precision (for bf16, `params` must already be rounded:
    /// [`crate::model::in_precision`]).
    pub fn with_weights(params: &'a Params<f32>, b: usize, gemm: Gemm<f32>, weights: Weights) -> Self {
        Generator {
            params,
            stepper: Stepper::with_weights(params, gemm, weights),
            state: StepState::streams(params, b),
        }
    }

    /// Start the (first) stream from hidden state `h` `[H]` instead of 0.
    ///
    /// # Panics
    /// If `h` is not H long.
    pub fn set_hidden(&mut self, h: &[f32]) {
        self.state.h.row_mut(0).copy_from_slice(h);
    }

    /// Feed one token to the (first) stream: h ← tanh(W_x E\[x\] + W_h h + b_h); p ← softmax(W_y h + b_y).
    pub fn feed(&mut self, token: u32) {
        self.feed_all(&[token]);
    }

    /// Feed `tokens[i]` to stream i.
    pub fn feed_all(&mut self, tokens: &[u32]) {
        step(self.params, &mut self.stepper, tokens, &mut self.state);
    }

    /// Feed `tokens[i]` to stream i, advancing h only: the probabilities
    /// ([`Generator::probs`]) are left stale. For [`Generator::draw_by_class`].
    pub fn advance_all(&mut self, tokens: &[u32]) {
        step::advance(self.params, &mut self.stepper, tokens, &mut self.state);
    }

    /// One token for every stream, as generation makes them: stream i draws
    /// from its distribution with `rngs[i]` (a classed model draws class by
    /// class where `s` allows, [`Generator::draws_by_class`], and its steps
    /// then skip the rest of p), and every drawn token is fed back. The
    /// tokens are left in `next`.
    pub fn draw_and_feed(&mut self, s: Sampling, rngs: &mut [Rng], next: &mut [u32]) {
        let by_class = self.draws_by_class(s);
        for (i, rng) in rngs.iter_mut().enumerate() {
            next[i] = if by_class {
                self.draw_from_classes(i, s, rng)
            } else {
                draw(self.probs_of(i), s, rng)
            };
        }
        if by_class {
            self.advance_all(next);
        } else {
            self.feed_all(next);
        }
    }

    /// p_t of the (first) stream after the last token fed.
    pub fn probs(&self) -> &[f32] {
        self.state.p.row(0)
    }

    /// p_t of stream `i`.
    pub fn probs_of(&self, i: usize) -> &[f32] {
        self.state.p.row(i)
    }

    /// Feed a prime; an empty one starts from a line break (`\n` at char
    /// level, `<eos>` at word level) if the vocabulary has one, so that the
    /// next token is what starts a line. With several streams, the first is
    /// warmed and the others start from its state.
    pub fn warm_up(&mut self, vocab: &Vocab, prime: &[u32]) {
        let mut one = Generator {
            params: self.params,
            stepper: Stepper::with_weights(
                self.params,
                Gemm::with_kernel(self.stepper.kernel()).expect("kernel in use"),
                self.stepper.weights(),
            ),
            state: StepState::new(self.params),
        };
        let solo = self.state.h.rows() == 1;
        let g = if solo { &mut *self } else { &mut one };
        for &t in prime {
            g.feed(t);
        }
        if prime.is_empty() {
            let start = vocab
                .id("\n")
                .or_else(|| vocab.id(crate::data::vocab::EOS))
                .unwrap_or(0);
            g.feed(start);
        }
        if !solo {
            for r in 0..self.state.h.rows() {
                self.state.h.row_mut(r).copy_from_slice(one.state.h.row(0));
                self.state.p.row_mut(r).copy_from_slice(one.state.p.row(0));
            }
        }
    }
}

/// The `k` most likely next tokens of a distribution `p`, most likely first
/// (ties by id): (token id, probability).
pub fn top_k(p: &[f32], k: usize) -> Vec<(u32, f32)> {
    let mut ids: Vec<u32> = (0..p.len() as u32).collect();
    ids.sort_by(|&a, &b| p[b as usize].total_cmp(&p[a as usize]).then(a.cmp(&b)));
    ids.into_iter().take(k).map(|i| (i, p[i as usize])).collect()
}

/// Generate after `prime` (token ids), calling `emit` with each piece of
/// output text: `len` tokens — or, at jamo level, `len` output characters,
/// the jamo composed back into syllables as they come ([`Composer`]; jamo
/// that do not compose are emitted as they are).
pub fn generate(
    params: &Params<f32>,
    vocab: &Vocab,
    prime: &[u32],
    len: usize,
    s: Sampling,
    seed: u64,
    mut emit: impl FnMut(&str),
) {
    let (gemm, weights) = (Gemm::new(), Weights::F32);
    let done: Result<(), std::convert::Infallible> =
        generate_samples(params, vocab, prime, len, s, &[seed], gemm, weights, |_, piece| {
            emit(piece);
            Ok(())
        });
    let Ok(()) = done;
}

/// [`generate`] for `seeds.len()` independent samples at once, one stream
/// each in one batch (so each step is a small GEMM, not N products of a
/// vector): sample i draws with `Rng::new(seeds[i])`, all start from the
/// prime, and `emit(i, piece)` receives sample i's text as it comes. The
/// steps run on `gemm`, reading the weights in `weights`' precision
/// ([`Generator::with_weights`]). The first error `emit` returns ends the
/// generation at once and is returned (a reader that has gone away).
#[allow(clippy::too_many_arguments)]
pub fn generate_samples<E>(
    params: &Params<f32>,
    vocab: &Vocab,
    prime: &[u32],
    len: usize,
    s: Sampling,
    seeds: &[u64],
    gemm: Gemm<f32>,
    weights: Weights,
    mut emit: impl FnMut(usize, &str) -> Result<(), E>,
) -> Result<(), E> {
    let n = seeds.len();
    let mut g = Generator::with_weights(params, n, gemm, weights);
    let mut rngs: Vec<Rng> = seeds.iter().map(|&seed| Rng::new(seed)).collect();
    g.warm_up(vocab, prime);
    let mut composers: Vec<Option<Composer>> = (0..n)
        .map(|_| (vocab.level == Level::Jamo).then(Composer::default))
        .collect();
    let mut produced = vec![0; n];
    // A jamo that waits for its syllable produces no character at once;
    // three tokens always produce one, so this bound is never what stops
    // (saturating: `--len` may be as large as a u64).
    let mut tokens_left = len.saturating_mul(4).saturating_add(16);
    let mut next = vec![0u32; n];
    while produced.iter().any(|&p| p < len) && tokens_left > 0 {
        tokens_left -= 1;
        g.draw_and_feed(s, &mut rngs, &mut next);
        for i in 0..n {
            if produced[i] >= len {
                continue; // done: its stream runs on with the others, unread
            }
            let piece = vocab.render(next[i]);
            match composers[i].as_mut() {
                None => {
                    produced[i] += 1;
                    emit(i, &piece)?;
                }
                Some(c) => {
                    for ch in piece.chars() {
                        let out = c.push(ch);
                        produced[i] += out.chars().count();
                        emit(i, &out)?;
                    }
                }
            }
        }
    }
    for (i, c) in composers.iter_mut().enumerate() {
        if let Some(c) = c {
            emit(i, &c.flush())?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greedy_takes_the_argmax_and_top_k_one_is_greedy() {
        let p = [0.1f32, 0.6, 0.3];
        let mut rng = Rng::new(1);
        assert_eq!(
            draw(
                &p,
                Sampling {
                    temperature: 0.0,
                    top_k: 0,
                    top_p: 1.0
                },
                &mut rng
            ),
            1
        );
        for _ in 0..20 {
            assert_eq!(
                draw(
                    &p,
                    Sampling {
                        temperature: 1.0,
                        top_k: 1,
                        top_p: 1.0
                    },
                    &mut rng
                ),
                1
            );
        }
    }

    #[test]
    fn sampling_follows_the_distribution() {
        let p = [0.2f32, 0.8];
        let mut rng = Rng::new(2);
        let n = 20_000;
        let ones = (0..n)
            .filter(|_| {
                draw(
                    &p,
                    Sampling {
                        temperature: 1.0,
                        top_k: 0,
                        top_p: 1.0,
                    },
                    &mut rng,
                ) == 1
            })
            .count();
        assert!((ones as f64 / n as f64 - 0.8).abs() < 0.02);
        // top-p 0.5 keeps only the 0.8 token.
        assert!((0..100).all(|_| draw(
            &p,
            Sampling {
                temperature: 1.0,
                top_k: 0,
                top_p: 0.5
            },
            &mut rng
        ) == 1));
    }
}
