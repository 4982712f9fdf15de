//! Interpolated Kneser–Ney over sentences, counted as SRILM and KenLM count
//! — each line padded to `<s> w_1 … w_m </s>`, n-grams never crossing a
//! line — and written as an ARPA file (`rnnlm ngram --arpa`).
//!
//! With D_k = n1 / (n1 + 2 n2) per order (n1, n2: how many k-grams have
//! count 1 and 2), c the occurrence count at the top order and the
//! continuation count N1+(• g) below it (the raw count for a gram that
//! starts at `<s>`, which nothing precedes):
//!
//! ```text
//!   p_k(w | h) = (max(c(h w) − D_k, 0) + D_k · N1+(h •) · p_{k−1}(w | h′)) / Σ_w c(h w)
//!   p_0(w)     = 1 / V                      (h′: h without its oldest word)
//! ```
//!
//! and p_k(w | h) = p_{k−1}(w | h′) when h was never a context. In ARPA
//! terms every seen k-gram is listed with its interpolated log10 p_k, and
//! every context h with its interpolation weight as the backoff,
//! log10(D_k · N1+(h •) / Σ_w c(h w)): a reader that backs off
//! ([`super::arpa`]) gets the same probabilities.

use std::collections::HashMap;

/// How counts are discounted (`ngram --discount`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Discounting {
    /// One discount per order, D = n1 / (n1 + 2 n2) (Ney et al. 1994).
    Kn,
    /// Three per order, for counts 1, 2 and 3 or more (Chen & Goodman
    /// 1998; SRILM's `-kndiscount`, KenLM's `lmplz`):
    /// Y = n1 / (n1 + 2 n2), D_1 = 1 − 2Y n2/n1, D_2 = 2 − 3Y n3/n2,
    /// D_3+ = 3 − 4Y n4/n3.
    Modified,
}

impl Discounting {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "kn" => Some(Discounting::Kn),
            "modified" => Some(Discounting::Modified),
            _ => None,
        }
    }

    /// The discounts for counts 1, 2 and 3+ of grams whose counts are
    /// `counts`; where the modified estimate is undefined or leaves
    /// [0, c] (too few grams of some count), the single discount.
    fn of(self, counts: impl Iterator<Item = u64>) -> [f64; 3] {
        let mut n = [0u64; 5];
        for c in counts {
            if (1..=4).contains(&c) {
                n[c as usize] += 1;
            }
        }
        let single = if n[1] == 0 {
            0.5
        } else {
            n[1] as f64 / (n[1] + 2 * n[2]) as f64
        };
        if self == Discounting::Kn || n[1] == 0 || n[2] == 0 || n[3] == 0 {
            return [single; 3];
        }
        let y = single;
        let d = [
            1.0 - 2.0 * y * n[2] as f64 / n[1] as f64,
            2.0 - 3.0 * y * n[3] as f64 / n[2] as f64,
            3.0 - 4.0 * y * n[4] as f64 / n[3] as f64,
        ];
        let in_range = d.iter().enumerate().all(|(i, &x)| x > 0.0 && x <= (i + 1) as f64);
        if in_range {
            d
        } else {
            [single; 3]
        }
    }
}

/// Counts of one order k.
#[derive(Clone, Debug, Default)]
struct Order {
    /// c(g) for every seen k-gram g.
    grams: HashMap<Vec<u32>, u64>,
    /// For every context h: Σ_w c(h w), and how many w have c(h w) = 1, 2
    /// and 3 or more.
    contexts: HashMap<Vec<u32>, (u64, [u64; 3])>,
    /// The discounts of counts 1, 2 and 3+ (all equal under [`Discounting::Kn`]).
    discounts: [f64; 3],
}

/// A sentence Kneser–Ney model over word ids `0..vocab`, with `<s>` as id
/// `vocab` (never predicted) and `end` the id of `</s>`.
#[derive(Clone, Debug)]
pub struct SentenceKn {
    orders: Vec<Order>,
    vocab: usize,
    start: u32,
    end: u32,
}

impl SentenceKn {
    /// Count a model of order `n` from sentences of word ids (each without
    /// its `<s>` and `</s>`, which are added).
    ///
    /// # Panics
    /// If `n` is 0 or an id is ≥ `vocab`.
    pub fn train(sentences: &[Vec<u32>], n: usize, vocab: usize, end: u32, discounting: Discounting) -> SentenceKn {
        assert!(n >= 1, "order 0");
        let start = vocab as u32;
        let padded: Vec<Vec<u32>> = sentences
            .iter()
            .map(|s| {
                assert!(
                    s.iter().all(|&w| (w as usize) < vocab),
                    "a word id outside the vocabulary"
                );
                std::iter::once(start).chain(s.iter().copied()).chain([end]).collect()
            })
            .collect();
        let mut orders: Vec<Order> = vec![Order::default(); n];
        // The top order: occurrence counts of every window of n words
        // (and of the shorter whole sentence, which is all it has).
        // Below: continuation counts, except for grams that start at <s>.
        for k in (1..=n).rev() {
            let mut left: HashMap<Vec<u32>, Vec<u32>> = HashMap::new();
            for s in &padded {
                for at in 0..s.len().saturating_sub(k - 1) {
                    let g = &s[at..at + k];
                    if k == n || g[0] == start {
                        *orders[k - 1].grams.entry(g.to_vec()).or_default() += 1;
                    } else {
                        left.entry(g.to_vec()).or_default().push(s[at - 1]);
                    }
                }
            }
            for (g, mut before) in left {
                before.sort_unstable();
                before.dedup();
                orders[k - 1].grams.insert(g, before.len() as u64);
            }
        }
        // <s> is never predicted: it is a context only.
        orders[0].grams.remove(&vec![start]);
        for order in orders.iter_mut() {
            for (g, &c) in &order.grams {
                let e = order.contexts.entry(g[..g.len() - 1].to_vec()).or_default();
                e.0 += c;
                e.1[(c.min(3) - 1) as usize] += 1;
            }
            order.discounts = discounting.of(order.grams.values().copied());
        }
        SentenceKn {
            orders,
            vocab,
            start,
            end,
        }
    }

    pub fn order(&self) -> usize {
        self.orders.len()
    }

    /// The discounts of counts 1, 2 and 3+ at order k (1-based).
    pub fn discounts(&self, k: usize) -> [f64; 3] {
        self.orders[k - 1].discounts
    }

    /// The mass the discounts free in context h, which the lower order
    /// gets: (D_1 N1(h •) + D_2 N2(h •) + D_3+ N3+(h •)) / Σ_w c(h w)
    /// (D · N1+(h •) / Σ_w c(h w) with one discount); `None` if h was
    /// never a context.
    fn weight(&self, h: &[u32]) -> Option<f64> {
        let order = &self.orders[h.len()];
        let &(total, by_count) = order.contexts.get(h)?;
        let freed: f64 = by_count.iter().zip(order.discounts).map(|(&n, d)| n as f64 * d).sum();
        Some(freed / total as f64)
    }

    /// p(w | h), `h` at most n − 1 ids, oldest first.
    pub fn prob(&self, h: &[u32], w: u32) -> f64 {
        let lower = if h.is_empty() {
            1.0 / self.vocab as f64
        } else {
            self.prob(&h[1..], w)
        };
        let order = &self.orders[h.len()];
        let Some(&(total, _)) = order.contexts.get(h) else {
            return lower;
        };
        let mut g = h.to_vec();
        g.push(w);
        let c = order.grams.get(&g).copied().unwrap_or(0);
        let d = if c == 0 {
            0.0
        } else {
            order.discounts[(c.min(3) - 1) as usize]
        };
        (c as f64 - d).max(0.0) / total as f64 + self.weight(h).expect("a context") * lower
    }

    /// log10 of a sentence's words and `</s>`, from `<s>`.
    pub fn log10_sentence(&self, words: &[u32]) -> f64 {
        let keep = self.order() - 1;
        let mut context = vec![self.start];
        let mut total = 0.0;
        for &w in words.iter().chain([&self.end]) {
            let from = context.len().saturating_sub(keep);
            total += self.prob(&context[from..], w).log10();
            context.push(w);
        }
        total
    }

    /// The model as an ARPA file: `word(id)` names each id (`<s>` is
    /// named here). Every word of the vocabulary is a 1-gram, `<s>` with
    /// log10 p = −99 (never predicted); every seen k-gram with its
    /// interpolated probability; every context with its backoff.
    pub fn arpa(&self, word: impl Fn(u32) -> String) -> String {
        let name = |id: u32| if id == self.start { "<s>".to_string() } else { word(id) };
        let mut sections: Vec<Vec<String>> = Vec::new();
        for k in 1..=self.order() {
            let mut grams: Vec<Vec<u32>> = if k == 1 {
                (0..=self.vocab as u32).map(|w| vec![w]).collect()
            } else {
                self.orders[k - 1].grams.keys().cloned().collect()
            };
            grams.sort_unstable();
            let lines = grams
                .iter()
                .map(|g| {
                    let (h, w) = g.split_at(k - 1);
                    let logp = if w[0] == self.start {
                        -99.0
                    } else {
                        self.prob(h, w[0]).log10()
                    };
                    let words: Vec<String> = g.iter().map(|&id| name(id)).collect();
                    let mut line = format!("{logp}\t{}", words.join(" "));
                    if k < self.order() {
                        if let Some(b) = self.weight(g) {
                            line += &format!("\t{}", b.log10());
                        }
                    }
                    line
                })
                .collect();
            sections.push(lines);
        }
        let mut out = String::from("\\data\\\n");
        for (k, lines) in sections.iter().enumerate() {
            out += &format!("ngram {}={}\n", k + 1, lines.len());
        }
        for (k, lines) in sections.iter().enumerate() {
            out += &format!("\n\\{}-grams:\n", k + 1);
            for l in lines {
                out += l;
                out.push('\n');
            }
        }
        out += "\n\\end\\\n";
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baselines::arpa::Arpa;

    fn sample() -> (Vec<Vec<u32>>, usize, u32) {
        // Words 0..4, </s> = 4.
        let s = vec![
            vec![0, 1, 2],
            vec![0, 1],
            vec![2, 2, 1, 0],
            vec![3],
            vec![],
            vec![1, 2, 3, 0, 1],
        ];
        (s, 5, 4)
    }

    /// Modified discounts on a text with enough grams of each count:
    /// three different discounts, each in (0, c], and every distribution
    /// still sums to 1.
    #[test]
    fn modified_discounts_differ_and_still_normalize() {
        let mut rng = crate::rng::Rng::new(5);
        let s: Vec<Vec<u32>> = (0..300)
            .map(|_| (0..rng.below(6)).map(|_| rng.below(7) as u32).collect())
            .collect();
        let m = SentenceKn::train(&s, 3, 8, 7, Discounting::Modified);
        let d = m.discounts(3);
        assert!(d[0] != d[1] && d[1] != d[2], "{d:?}");
        assert!(
            d.iter().enumerate().all(|(i, &x)| x > 0.0 && x <= (i + 1) as f64),
            "{d:?}"
        );
        for h in [vec![], vec![8], vec![8, 0], vec![3, 4], vec![6, 6]] {
            let sum: f64 = (0..8u32).map(|w| m.prob(&h, w)).sum();
            assert!((sum - 1.0).abs() < 1e-12, "{h:?}: {sum}");
        }
        let kn = SentenceKn::train(&s, 3, 8, 7, Discounting::Kn).discounts(3);
        assert!(kn[0] == kn[1] && kn[1] == kn[2], "{kn:?}");
    }

    /// Every distribution sums to 1 over what can follow (the words and
    /// </s>), for contexts seen and unseen.
    #[test]
    fn each_distribution_sums_to_one() {
        let (s, v, end) = sample();
        for discounting in [Discounting::Kn, Discounting::Modified] {
            let m = SentenceKn::train(&s, 3, v, end, discounting);
            for h in [vec![], vec![5], vec![5, 0], vec![0, 1], vec![3, 3], vec![2]] {
                let sum: f64 = (0..v as u32).map(|w| m.prob(&h, w)).sum();
                assert!((sum - 1.0).abs() < 1e-12, "{h:?}: {sum}");
            }
        }
    }

    /// Written as ARPA and read back by the back-off reader, every
    /// sentence scores as the model itself scores it.
    #[test]
    fn the_arpa_file_scores_as_the_model() {
        let (s, v, end) = sample();
        let names = ["a", "b", "c", "d", "</s>"];
        for n in 1..=4 {
            let m = SentenceKn::train(&s, n, v, end, Discounting::Modified);
            let text = m.arpa(|id| names[id as usize].to_string());
            let read = Arpa::parse(&text).unwrap_or_else(|e| panic!("order {n}: {e}\n{text}"));
            for sentence in [vec![0, 1, 2], vec![3, 3, 3], vec![], vec![2, 0, 1, 3]] {
                let line: Vec<&str> = sentence.iter().map(|&id| names[id as usize]).collect();
                let got = read.score_sentence(&line.join(" ")).log10_prob;
                let want = m.log10_sentence(&sentence);
                assert!((got - want).abs() < 1e-9, "order {n}, {line:?}: {got} vs {want}");
            }
        }
    }
}
