//! Synthetic text whose true cross-entropy is known exactly — so a trained
//! model can be judged against the limit, not just against "lower than before".
//!
//! Two sources, both word level (tokens separated by spaces, `\n` as the
//! line end that the word tokenizer turns into `<eos>`):
//!
//! - **`hmm`**: a sticky hidden Markov model. K hidden states; each step the
//!   state stays with probability `STAY`, else moves to another uniformly;
//!   the state emits a word from its own distribution over a shared
//!   vocabulary (or a line end). The true per-token cross-entropy of a text
//!   is computed by the forward algorithm. The state persists for ~1/(1−STAY)
//!   tokens, evidence that an n-gram of small order sees only a sliver of,
//!   while a recurrent state can accumulate it.
//! - **`copy`**: each line is a key word, `FILLERS` filler words, the same key
//!   again, and a line end. Only the key is long-range: an n-gram with a
//!   context shorter than the line cannot see which key opened it.
//!
//! Truth is measured the way `rnnlm eval` measures: the file is one stream,
//! every token after the first is predicted once, nats per prediction.

use crate::io::json::Json;
use crate::rng::Rng;

/// Hidden states of the HMM.
pub const HMM_STATES: usize = 4;
/// Probability that the HMM state stays put at each token.
pub const STAY: f64 = 0.98;
/// Words in the HMM's shared vocabulary.
pub const HMM_WORDS: usize = 24;
/// Probability that a step emits a line end instead of a word.
pub const LINE_END: f64 = 0.06;

/// Keys and filler words of the copy source, and fillers per line.
pub const COPY_KEYS: usize = 8;
pub const COPY_FILLER_WORDS: usize = 8;
pub const FILLERS: usize = 6;

/// A generated split with its exact cross-entropy.
#[derive(Clone, Debug)]
pub struct Sample {
    pub train: String,
    pub test: String,
    /// True cross-entropy of `test`, nats per predicted token.
    pub test_nats: f64,
    /// Tokens in `test` (predictions = tokens − 1).
    pub test_tokens: usize,
}

/// The emission model of the HMM: per state, a distribution over
/// `HMM_WORDS` words plus the line end (last entry). Drawn from the seed:
/// each state favours its own quarter of the words (weight 10 against 1),
/// with mass on all of them.
#[derive(Clone, Debug)]
pub struct Hmm {
    pub emit: Vec<Vec<f64>>,
}

fn hmm_word(i: usize) -> String {
    format!("w{i:02}")
}

impl Hmm {
    pub fn new(rng: &mut Rng) -> Hmm {
        let emit = (0..HMM_STATES)
            .map(|s| {
                let mut p: Vec<f64> = (0..HMM_WORDS)
                    .map(|w| {
                        let favoured = (w * HMM_STATES / HMM_WORDS + s).is_multiple_of(HMM_STATES);
                        (if favoured { 10.0 } else { 1.0 }) * (0.5 + rng.uniform())
                    })
                    .collect();
                let z: f64 = p.iter().sum();
                p.iter_mut().for_each(|x| *x *= (1.0 - LINE_END) / z);
                p.push(LINE_END);
                p
            })
            .collect();
        Hmm { emit }
    }

    fn trans(from: usize, to: usize) -> f64 {
        if from == to {
            STAY
        } else {
            (1.0 - STAY) / (HMM_STATES - 1) as f64
        }
    }

    /// Emit `n` symbols (ids; `HMM_WORDS` is the line end), continuing from
    /// `state`.
    fn emit_symbols(&self, n: usize, state: &mut usize, rng: &mut Rng) -> Vec<usize> {
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            if rng.uniform() >= STAY {
                let step = 1 + rng.below(HMM_STATES - 1);
                *state = (*state + step) % HMM_STATES;
            }
            let u = rng.uniform();
            let mut acc = 0.0;
            let mut sym = HMM_WORDS;
            for (k, &p) in self.emit[*state].iter().enumerate() {
                acc += p;
                if u < acc {
                    sym = k;
                    break;
                }
            }
            out.push(sym);
        }
        out
    }

    /// Exact `−(1/(n−1)) Σ_{t≥2} ln P(x_t | x_1..x_{t−1})` by the forward
    /// algorithm, starting from the stationary (uniform) state distribution.
    pub fn cross_entropy(&self, symbols: &[usize]) -> f64 {
        let k = HMM_STATES;
        let mut belief = vec![1.0 / k as f64; k]; // P(s_t | x_<t), before transition
        let mut total = 0.0;
        for (t, &x) in symbols.iter().enumerate() {
            // Predict the state, then the symbol.
            let prior: Vec<f64> = (0..k)
                .map(|j| (0..k).map(|i| belief[i] * Hmm::trans(i, j)).sum())
                .collect();
            let joint: Vec<f64> = (0..k).map(|j| prior[j] * self.emit[j][x]).collect();
            let px: f64 = joint.iter().sum();
            if t > 0 {
                total -= px.ln();
            }
            belief = joint.iter().map(|v| v / px).collect();
        }
        total / (symbols.len() - 1) as f64
    }
}

/// Symbols to text: words joined by spaces, the line-end symbol as `\n`.
fn render(symbols: &[usize], line_end: usize, word: impl Fn(usize) -> String) -> String {
    let mut s = String::new();
    let mut at_line_start = true;
    for &x in symbols {
        if x == line_end {
            s.push('\n');
            at_line_start = true;
        } else {
            if !at_line_start {
                s.push(' ');
            }
            s += &word(x);
            at_line_start = false;
        }
    }
    s
}

/// Cut a symbol stream after its last line end, so the text ends with `\n`
/// and the word tokenizer sees exactly these symbols.
fn to_last_line_end(mut symbols: Vec<usize>, line_end: usize) -> Vec<usize> {
    let keep = symbols.iter().rposition(|&x| x == line_end).map_or(0, |i| i + 1);
    symbols.truncate(keep);
    symbols
}

/// A sticky-HMM sample: about `train` and `test` tokens.
pub fn hmm(seed: u64, train: usize, test: usize) -> Sample {
    let mut rng = Rng::new(seed);
    let model = Hmm::new(&mut rng);
    let mut state = rng.below(HMM_STATES);
    let tr = to_last_line_end(model.emit_symbols(train, &mut state, &mut rng), HMM_WORDS);
    // The test split is an independent run from the stationary distribution.
    let mut state = rng.below(HMM_STATES);
    let te = to_last_line_end(model.emit_symbols(test, &mut state, &mut rng), HMM_WORDS);
    Sample {
        train: render(&tr, HMM_WORDS, hmm_word),
        test: render(&te, HMM_WORDS, hmm_word),
        test_nats: model.cross_entropy(&te),
        test_tokens: te.len(),
    }
}

/// Copy-source symbols: keys are 0..K, fillers K..K+F, the line end K+F.
fn copy_lines(lines: usize, rng: &mut Rng) -> Vec<usize> {
    let eol = COPY_KEYS + COPY_FILLER_WORDS;
    let mut out = Vec::with_capacity(lines * (FILLERS + 3));
    for _ in 0..lines {
        let key = rng.below(COPY_KEYS);
        out.push(key);
        for _ in 0..FILLERS {
            out.push(COPY_KEYS + rng.below(COPY_FILLER_WORDS));
        }
        out.push(key);
        out.push(eol);
    }
    out
}

fn copy_word(x: usize) -> String {
    if x < COPY_KEYS {
        format!("K{x}")
    } else {
        format!("f{}", x - COPY_KEYS)
    }
}

/// Exact cross-entropy of whole copy lines: per line, the key costs ln K,
/// each filler ln F, the repeated key and the line end nothing; the first
/// token of the text is not predicted.
pub fn copy_cross_entropy(lines: usize) -> f64 {
    let per_line = (COPY_KEYS as f64).ln() + FILLERS as f64 * (COPY_FILLER_WORDS as f64).ln();
    let tokens = lines * (FILLERS + 3);
    (lines as f64 * per_line - (COPY_KEYS as f64).ln()) / (tokens - 1) as f64
}

/// The smallest cross-entropy any model that sees only the last two tokens
/// (a trigram, however smoothed) can reach on whole copy lines, per token.
///
/// Per line the trigram is exact everywhere except where its context is two
/// fillers — fillers 3..=F and the closing key, F−1 positions. There the
/// context does not say where in the line it is, nor which key opened it: the
/// next token is a filler with probability (F−2)/(F−1), each costing
/// ln F + ln((F−1)/(F−2)), or the closing key, costing ln K + ln(F−1) —
/// where the truth pays ln F per filler and nothing for the key.
pub fn copy_trigram_bound() -> f64 {
    let (k, f, n) = (COPY_KEYS as f64, COPY_FILLER_WORDS as f64, FILLERS as f64);
    let per_line = k.ln() // opening key
        + 2.0 * f.ln() // fillers 1 and 2: their contexts give the position away
        + (n - 2.0) * (f.ln() + ((n - 1.0) / (n - 2.0)).ln()) // fillers 3..=F
        + k.ln() + (n - 1.0).ln(); // the closing key; the line end is then certain
    per_line / (n + 3.0)
}

/// A copy-source sample: about `train` and `test` tokens, whole lines.
pub fn copy(seed: u64, train: usize, test: usize) -> Sample {
    let mut rng = Rng::new(seed);
    let per = FILLERS + 3;
    let eol = COPY_KEYS + COPY_FILLER_WORDS;
    let tr = copy_lines((train / per).max(1), &mut rng);
    let test_lines = (test / per).max(2);
    let te = copy_lines(test_lines, &mut rng);
    Sample {
        train: render(&tr, eol, copy_word),
        test: render(&te, eol, copy_word),
        test_nats: copy_cross_entropy(test_lines),
        test_tokens: te.len(),
    }
}

/// `truth.json` for a sample.
pub fn truth_json(kind: &str, seed: u64, s: &Sample) -> String {
    let truth = Json::object([
        ("kind", Json::from(kind)),
        ("seed", Json::from(seed)),
        ("level", Json::from("word")),
        ("test_tokens", Json::from(s.test_tokens)),
        ("nats_per_token", Json::from(s.test_nats)),
        ("perplexity", Json::from(s.test_nats.exp())),
        ("bits_per_token", Json::from(s.test_nats / std::f64::consts::LN_2)),
    ]);
    format!("{truth}\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{Level, Vocab};

    #[test]
    fn hmm_text_tokenizes_to_exactly_its_symbols() {
        let s = hmm(3, 2000, 1000);
        let v = Vocab::build(&s.train, Level::Word, 1, 1000);
        let ids = v.encode(&s.test).unwrap();
        assert_eq!(ids.len(), s.test_tokens);
        assert!(s.test.ends_with('\n'));
    }

    #[test]
    fn hmm_truth_is_a_consistent_estimate_of_the_entropy_rate() {
        // Two independent long runs of the same HMM: their forward-algorithm
        // cross-entropies estimate the same entropy rate, which lies between
        // the bound with the state known and the bound of an i.i.d. mixture.
        let model = Hmm::new(&mut Rng::new(5));
        let rate = |seed| {
            let mut rng = Rng::new(seed);
            let mut state = rng.below(HMM_STATES);
            model.cross_entropy(&model.emit_symbols(150_000, &mut state, &mut rng))
        };
        let (a, b) = (rate(11), rate(12));
        assert!((a - b).abs() < 0.05, "{a} vs {b}");
        let h_state: f64 = (0..HMM_STATES)
            .map(|s| -model.emit[s].iter().map(|p| p * p.ln()).sum::<f64>())
            .sum::<f64>()
            / HMM_STATES as f64;
        let mix: Vec<f64> = (0..=HMM_WORDS)
            .map(|w| (0..HMM_STATES).map(|s| model.emit[s][w]).sum::<f64>() / HMM_STATES as f64)
            .collect();
        let h_mix = -mix.iter().map(|p| p * p.ln()).sum::<f64>();
        assert!(a > h_state && a < h_mix, "{h_state} < {a} < {h_mix}");
    }

    /// ln P(x_1..x_n) by brute force: the sum over every state path
    /// s_0 s_1 .. s_n (s_0 uniform, then per token a transition and an
    /// emission) of Π trans(s_{t−1}, s_t)·emit(s_t, x_t), straight from the
    /// HMM's definition, without the forward recursion.
    fn log_prob_by_enumeration(model: &Hmm, xs: &[usize]) -> f64 {
        let k = HMM_STATES;
        let paths = k.pow(xs.len() as u32 + 1);
        let mut total = 0.0;
        for code in 0..paths {
            let mut c = code;
            let mut prev = c % k;
            c /= k;
            let mut p = 1.0 / k as f64;
            for &x in xs {
                let s = c % k;
                c /= k;
                p *= Hmm::trans(prev, s) * model.emit[s][x];
                prev = s;
            }
            total += p;
        }
        total.ln()
    }

    /// The forward algorithm's cross-entropy equals the definition,
    /// −(1/(n−1)) Σ_{t≥2} ln P(x_t | x_<t) = −(ln P(x_1..n) − ln P(x_1))/(n−1),
    /// with both probabilities summed over every state path.
    #[test]
    fn hmm_truth_equals_enumeration_of_every_state_path() {
        let model = Hmm::new(&mut Rng::new(5));
        let mut rng = Rng::new(8);
        for n in 2..=7 {
            let mut state = rng.below(HMM_STATES);
            let xs = model.emit_symbols(n, &mut state, &mut rng);
            let brute =
                -(log_prob_by_enumeration(&model, &xs) - log_prob_by_enumeration(&model, &xs[..1])) / (n - 1) as f64;
            let forward = model.cross_entropy(&xs);
            assert!(
                (forward - brute).abs() <= 1e-12 * brute.abs(),
                "n = {n}: forward {forward} vs enumeration {brute}"
            );
        }
    }

    #[test]
    fn the_trigram_bound_is_the_hand_computed_one() {
        // K = F = 8, six fillers: 8·ln 8 + 4·ln(5/4) + ln 5 nats per 9-token line.
        let by_hand = (8.0 * 8f64.ln() + 4.0 * 1.25f64.ln() + 5f64.ln()) / 9.0;
        assert!((copy_trigram_bound() - by_hand).abs() < 1e-12);
        assert!(copy_trigram_bound() - copy_cross_entropy(1_000_000) > 0.5);
    }

    /// The truth, token by token from the generator's definition: the text
    /// starts at a line start, so each token's place in its 9-token line is
    /// known; an opening key costs ln K, a filler ln F, the closing key and
    /// the line end nothing (both are certain given the line so far).
    #[test]
    fn copy_truth_is_the_sum_of_per_token_costs() {
        let s = copy(1, 900, 900);
        let v = Vocab::build(&s.train, Level::Word, 1, 1000);
        let ids = v.encode(&s.test).unwrap();
        assert_eq!(ids.len(), s.test_tokens);
        let per = FILLERS + 3;
        let cost = |place: usize| match place {
            0 => (COPY_KEYS as f64).ln(),
            p if p <= FILLERS => (COPY_FILLER_WORDS as f64).ln(),
            _ => 0.0,
        };
        let total: f64 = (1..ids.len()).map(|i| cost(i % per)).sum();
        let by_token = total / (ids.len() - 1) as f64;
        assert!((s.test_nats - by_token).abs() < 1e-12, "{} vs {by_token}", s.test_nats);
        // Each line repeats its key.
        for line in s.test.lines() {
            let w: Vec<&str> = line.split(' ').collect();
            assert_eq!(w.len(), FILLERS + 2);
            assert_eq!(w[0], w[FILLERS + 1]);
        }
    }
}
