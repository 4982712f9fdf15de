//! Interpolated Kneser–Ney n-gram models: the baseline RNNLM papers compare
//! against (KN5 on the Penn Treebank), on the same tokens and with the same
//! perplexity definition as `rnnlm eval`.
//!
//! For an n-gram model and a history h of n−1 tokens (h′ = h without its
//! oldest token):
//!
//! ```text
//!   P_n(w | h) = max(c(h w) − D_n, 0) / c(h·)  +  D_n · N1+(h •) / c(h·) · P_{n−1}(w | h′)
//!   P_n(w | h) = P_{n−1}(w | h′)                                   if c(h·) = 0
//! ```
//!
//! The top order counts occurrences c; every lower order k counts
//! *continuations* c_k(g) = N1+(• g), the number of distinct tokens seen
//! before g — a word that only follows one context ("Francisco") gets little
//! unigram mass. The recursion ends in the uniform distribution 1/V. Each
//! order's discount is `D = n1 / (n1 + 2·n2)` from its counts of counts
//! (Ney, Essen & Kneser 1994; Chen & Goodman 1998).
//!
//! Histories shorter than n−1 tokens (the start of the stream) use the
//! longest available order.

use std::collections::HashMap;

/// Largest supported order (n-grams are packed 16 bits a token into a u128).
pub const MAX_ORDER: usize = 5;

/// Counts of one order.
#[derive(Clone, Debug, Default)]
struct Order {
    /// c(g) for every seen k-gram g (occurrence counts at the top order,
    /// continuation counts below).
    grams: HashMap<u128, u64>,
    /// For every history h: (Σ_w c(h w), N1+(h •)).
    contexts: HashMap<u128, (u64, u64)>,
    discount: f64,
}

/// An interpolated Kneser–Ney model of order `n` over `vocab` token ids.
#[derive(Clone, Debug)]
pub struct KneserNey {
    n: usize,
    vocab: usize,
    /// orders[k−1] holds the k-grams.
    orders: Vec<Order>,
}

/// Pack up to 8 tokens (each < 2^16) with their count into one key.
fn pack(tokens: &[u32]) -> u128 {
    tokens.iter().fold(tokens.len() as u128, |k, &t| (k << 16) | t as u128)
}

impl KneserNey {
    /// Count a model of order `n` (1..=5) from a token stream.
    ///
    /// # Panics
    /// If `n` is out of range or a token is ≥ 2^16 (the CLI checks both).
    pub fn train(tokens: &[u32], n: usize, vocab: usize) -> KneserNey {
        assert!((1..=MAX_ORDER).contains(&n), "order {n} outside 1..={MAX_ORDER}");
        assert!(vocab <= 1 << 16, "vocabulary of {vocab} is larger than 2^16");
        let mut orders: Vec<Order> = (0..n).map(|_| Order::default()).collect();
        // Top order: occurrence counts.
        for g in tokens.windows(n) {
            *orders[n - 1].grams.entry(pack(g)).or_default() += 1;
        }
        // Lower orders: continuation counts from the distinct (k+1)-grams;
        // also occurrence counts of the stream's first k-grams, which have
        // no left neighbour, so that every seen k-gram is counted.
        let mut distinct: Vec<Vec<u32>> = tokens.windows(n).map(|g| g.to_vec()).collect();
        distinct.sort_unstable();
        distinct.dedup();
        for k in (1..n).rev() {
            let mut next: Vec<Vec<u32>> = Vec::with_capacity(distinct.len());
            for g in &distinct {
                // g is a distinct (k+1)-gram: its suffix gains one left extension.
                *orders[k - 1].grams.entry(pack(&g[1..])).or_default() += 1;
                next.push(g[1..].to_vec());
            }
            // The stream's first k-gram has no left extension: count it once.
            if tokens.len() >= k {
                let first = &tokens[..k];
                let e = orders[k - 1].grams.entry(pack(first)).or_default();
                if *e == 0 {
                    *e = 1;
                }
                next.push(first.to_vec());
            }
            next.sort_unstable();
            next.dedup();
            distinct = next;
        }
        // Context totals and discounts. To recover each gram's history the
        // packed key is unpacked: drop the last token.
        for order in orders.iter_mut() {
            for (&key, &c) in &order.grams {
                let e = order.contexts.entry(history_of(key)).or_default();
                e.0 += c;
                e.1 += 1;
            }
            order.discount = discount(order.grams.values().copied());
        }
        KneserNey { n, vocab, orders }
    }

    /// The discount of order k (1-based).
    pub fn discount(&self, k: usize) -> f64 {
        self.orders[k - 1].discount
    }

    /// P(w | history), using the last n−1 tokens of `history` (or fewer).
    pub fn prob(&self, history: &[u32], w: u32) -> f64 {
        let start = history.len().saturating_sub(self.n - 1);
        self.prob_order(&history[start..], w)
    }

    /// P_{k}(w | h) with k = |h| + 1.
    fn prob_order(&self, h: &[u32], w: u32) -> f64 {
        let lower = || {
            if h.is_empty() {
                1.0 / self.vocab as f64
            } else {
                self.prob_order(&h[1..], w)
            }
        };
        let order = &self.orders[h.len()];
        let Some(&(total, distinct)) = order.contexts.get(&pack(h)) else {
            return lower();
        };
        let mut gram = h.to_vec();
        gram.push(w);
        let c = order.grams.get(&pack(&gram)).copied().unwrap_or(0) as f64;
        let (total, d) = (total as f64, order.discount);
        (c - d).max(0.0) / total + d * distinct as f64 / total * lower()
    }

    /// Mean −ln P over every token of `tokens` after the first (each
    /// predicted from the tokens before it): `rnnlm eval`'s definition.
    pub fn cross_entropy(&self, tokens: &[u32]) -> f64 {
        let mut total = 0.0;
        for t in 1..tokens.len() {
            total -= self.prob(&tokens[..t], tokens[t]).ln();
        }
        total / (tokens.len() - 1).max(1) as f64
    }
}

/// Kneser–Ney's discount of one order from its counts: D = n1 / (n1 + 2 n2),
/// with n1, n2 the number of grams counted once and twice (Ney, Essen &
/// Kneser 1994); 0.5 when no gram is counted once.
pub fn discount(counts: impl Iterator<Item = u64>) -> f64 {
    let (mut n1, mut n2) = (0u64, 0u64);
    for c in counts {
        match c {
            1 => n1 += 1,
            2 => n2 += 1,
            _ => {}
        }
    }
    if n1 == 0 {
        0.5
    } else {
        n1 as f64 / (n1 + 2 * n2) as f64
    }
}

/// The history part of a packed gram key (all but the last token).
fn history_of(key: u128) -> u128 {
    // Unpack: the length sits above the tokens.
    let mut len = 0;
    while (key >> (16 * (len + 1))) > 8 {
        len += 1;
    }
    let len = len + 1; // number of tokens
    let tokens_only = key & ((1u128 << (16 * len)) - 1);
    let hist_tokens = tokens_only >> 16;
    ((len as u128 - 1) << (16 * (len - 1))) | hist_tokens
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_of_drops_the_last_token() {
        assert_eq!(history_of(pack(&[7, 8, 9])), pack(&[7, 8]));
        assert_eq!(history_of(pack(&[0, 0])), pack(&[0]));
        assert_eq!(history_of(pack(&[5])), pack(&[]));
        assert_eq!(history_of(pack(&[65535, 1, 2, 3, 4])), pack(&[65535, 1, 2, 3]));
    }

    #[test]
    fn probabilities_sum_to_one_for_every_context() {
        let tokens: Vec<u32> = "abracadabra abracadabra cab dab"
            .bytes()
            .map(|b| (b - b' ') as u32)
            .collect();
        let v = 100; // every byte − b' ' of the text is below 100
        assert!(tokens.iter().all(|&t| t < v as u32));
        for n in 1..=4 {
            let m = KneserNey::train(&tokens, n, v);
            for h in [
                &tokens[..0],
                &tokens[..1],
                &tokens[..3],
                &tokens[5..8],
                &[60, 61, 62][..],
            ] {
                let s: f64 = (0..v as u32).map(|w| m.prob(h, w)).sum();
                assert!((s - 1.0).abs() < 1e-12, "order {n}, history {h:?}: Σ = {s}");
            }
        }
    }

    #[test]
    fn bigram_values_match_a_hand_computation() {
        // Stream a b a b c, ids a=0 b=1 c=2, V = 3.
        // Bigrams: ab ×2, ba ×1, bc ×1 → n1 = 2 (ba, bc), n2 = 1 (ab)
        //   D2 = 2 / (2 + 2) = 0.5.
        // Unigram continuation counts (distinct left neighbours), plus the
        // stream's first token counted once: a: {b}=1 (+ first "a": already 1)
        //   b: {a}=1, c: {b}=1 → all 1; N1+ = 3, Σ = 3; n1 = 3, n2 = 0 → D1 = 1.
        //   P1(w) = max(1 − 1, 0)/3 + 1·3/3·(1/3) = 1/3 for each w.
        // P2(b | a) = (2 − 0.5)/2 + 0.5·1/2·(1/3) = 0.75 + 1/12 = 5/6
        // P2(c | b) = (1 − 0.5)/2 + 0.5·2/2·(1/3) = 0.25 + 1/6 = 5/12
        // P2(c | a) = 0 + 0.5·1/2·(1/3) = 1/12
        let m = KneserNey::train(&[0, 1, 0, 1, 2], 2, 3);
        assert_eq!(m.discount(2), 0.5);
        assert_eq!(m.discount(1), 1.0);
        let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
        assert!(close(m.prob(&[0], 1), 5.0 / 6.0));
        assert!(close(m.prob(&[1], 2), 5.0 / 12.0));
        assert!(close(m.prob(&[0], 2), 1.0 / 12.0));
        assert!(close(m.prob(&[], 2), 1.0 / 3.0));
        // An unseen history backs off to the unigram entirely.
        assert!(close(m.prob(&[2], 0), 1.0 / 3.0));
    }
}
