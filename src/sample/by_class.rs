//! Draws from a classed model that read only some of its classes' blocks.
//!
//! p lists the words class by class, `p[w] = q[c(w)] · r[w]` with r the
//! softmax within w's class (eqs. 17–20), and no word of class c can be
//! likelier than q\[c\]. So:
//!
//! - a plain draw walks the classes by q, then one block
//!   ([`Generator::draw_by_class`]);
//! - greedy and top-k draws visit the classes by decreasing q and stop once
//!   q\[c\] falls below what the draw could still pick
//!   ([`Generator::draw_from_classes`]).
//!
//! Each block's entries are the whole distribution's, bit for bit
//! ([`step::block_probs`]), and the draws are [`super::draw`]'s over the
//! words they keep, with the same random numbers: the same token.

use super::{draw_weighted, tempered, tempered_weight, walk, Generator, Sampling};
use crate::model::step;
use crate::rng::Rng;

impl Generator<'_> {
    /// Whether [`Generator::draw_and_feed`] draws class by class under `s`:
    /// a classed model sampled plainly, greedily or with top-k. (Other
    /// cuts need every word's weight: temperature alone, or top-p alone,
    /// normalizes over all of them.)
    pub fn draws_by_class(&self, s: Sampling) -> bool {
        !self.params.config.classes.is_none() && (s.is_plain() || s.temperature <= 0.0 || s.top_k > 0)
    }

    /// [`super::draw`] for stream i of a classed model from its h, reading
    /// only the classes it needs (see [`Generator::draws_by_class`]).
    ///
    /// # Panics
    /// If the model has no classes.
    pub fn draw_from_classes(&mut self, i: usize, s: Sampling, rng: &mut Rng) -> u32 {
        if s.temperature <= 0.0 {
            return self.argmax_by_class(i);
        }
        if s.is_plain() {
            return self.draw_by_class(i, rng);
        }
        self.top_k_by_class(i, s, rng)
    }

    /// A plain draw (temperature 1, nothing cut) for stream i of a classed
    /// model, from its h, without the whole of p: u ~ U[0, Σq), the classes
    /// walked by q to the one u falls in, then that class's block of p
    /// (q\[c\] · its softmax) walked by what remains of u. p lists the words
    /// class by class, so this is the walk [`super::draw`] makes over the
    /// whole of p, and it picks the same token from the same u except
    /// within rounding of a class boundary (the block's entries sum to
    /// q\[c\] only to f32 rounding). It reads W_c and one block of W_y
    /// instead of all V rows: at V = 10k and C = 100, about a fiftieth.
    ///
    /// # Panics
    /// If the model has no classes.
    pub fn draw_by_class(&mut self, i: usize, rng: &mut Rng) -> u32 {
        let (params, stepper) = (self.params, &mut self.stepper);
        let q = step::class_probs(params, stepper, &mut self.state, i);
        let (c, u) = walk(q, rng.uniform() * q.iter().map(|&x| x as f64).sum::<f64>());
        let start = params.config.classes.range(c).start;
        let block = step::block_probs(params, stepper, &mut self.state, i, c);
        (start + walk(block, u).0) as u32
    }

    /// Stream i's q, and its classes by decreasing q (ties by class).
    fn classes_by_q(&mut self, i: usize) -> (Vec<f32>, Vec<usize>) {
        let q = step::class_probs(self.params, &mut self.stepper, &mut self.state, i).to_vec();
        let mut order: Vec<usize> = (0..q.len()).collect();
        order.sort_by(|&a, &b| q[b].total_cmp(&q[a]).then(a.cmp(&b)));
        (q, order)
    }

    /// Class c's words for stream i: (p, id) of each.
    fn words_of(&mut self, i: usize, c: usize) -> impl Iterator<Item = (f32, u32)> + '_ {
        let start = self.params.config.classes.range(c).start as u32;
        let block = step::block_probs(self.params, &mut self.stepper, &mut self.state, i, c);
        block.iter().zip(start..).map(|(&p, id)| (p, id))
    }

    /// The likeliest word, the lowest id among equals (as [`super::draw`]
    /// takes it): classes by decreasing q until q\[c\] is below the best p
    /// found, since no word of theirs can reach it.
    fn argmax_by_class(&mut self, i: usize) -> u32 {
        let (q, order) = self.classes_by_q(i);
        let mut best = (f32::NEG_INFINITY, u32::MAX);
        for c in order {
            if q[c] < best.0 {
                break;
            }
            for (p, id) in self.words_of(i, c) {
                if p > best.0 || (p == best.0 && id < best.1) {
                    best = (p, id);
                }
            }
        }
        best.1
    }

    /// A top-k draw (any temperature, with or without top-p) from the
    /// words that can make the top k, which [`draw_weighted`] then cuts and
    /// draws from exactly as it would from all of them:
    ///
    /// 1. classes by decreasing q until k words are in hand and q\[c\] is
    ///    below the k-th best p: every later word is less likely, and the
    ///    likeliest word of all is in hand (so is the max the weights are
    ///    taken against);
    /// 2. the weights of the words in hand; then every class not visited
    ///    whose q's weight reaches the k-th best weight (a word of it could
    ///    tie there) is added too.
    fn top_k_by_class(&mut self, i: usize, s: Sampling, rng: &mut Rng) -> u32 {
        let k = s.top_k.max(1);
        let (q, order) = self.classes_by_q(i);
        let mut words: Vec<(f32, u32)> = Vec::new();
        let mut visited = vec![false; q.len()];
        // The k best p in hand, as a min-heap of their bits (p ≥ 0 orders
        // as its bits do).
        let mut best = std::collections::BinaryHeap::new();
        for &c in &order {
            if best.len() == k && q[c] < f32::from_bits(best.peek().map_or(0, |r: &std::cmp::Reverse<u32>| r.0)) {
                break;
            }
            visited[c] = true;
            for (p, id) in self.words_of(i, c) {
                words.push((p, id));
                best.push(std::cmp::Reverse(p.to_bits()));
                if best.len() > k {
                    best.pop();
                }
            }
        }
        let (mut w, max) = tempered(words.iter().map(|(p, id)| (p, *id)), s.temperature);
        let kth = if k <= w.len() {
            w.select_nth_unstable_by(k - 1, |a, b| b.0.total_cmp(&a.0)).1 .0
        } else {
            f64::NEG_INFINITY
        };
        // The likeliest word is in hand, so later words' weights are taken
        // against the same max.
        let weight = |p: f32| tempered_weight(p, max, s.temperature);
        for c in 0..q.len() {
            if !visited[c] && weight(q[c]) >= kth {
                w.extend(self.words_of(i, c).map(|(p, id)| (weight(p), id)));
            }
        }
        draw_weighted(w, s, rng)
    }
}

#[cfg(test)]
mod tests {
    use super::super::draw;
    use super::*;
    use crate::model::{Classes, Config, Params};

    /// A classed model (classes of unequal sizes, some of one word) whose
    /// distribution is peaky or flat.
    fn model(sharpness: f32) -> Params<f32> {
        let cfg = Config {
            classes: Classes::from_sizes(&[1, 9, 3, 1, 26, 7, 13]),
            ..Config::full(60, 8, 16)
        };
        let mut params = Params::<f32>::init(&cfg, &mut Rng::new(3));
        params.w_y.as_mut_slice().iter_mut().for_each(|w| *w *= sharpness);
        params.w_c.as_mut_slice().iter_mut().for_each(|w| *w *= sharpness);
        params
    }

    /// Drawing class by class picks what a plain draw over the whole of p
    /// picks from the same random numbers, over many states.
    #[test]
    fn drawing_by_class_picks_what_the_whole_distribution_picks() {
        let params = model(6.0);
        let mut g = Generator::new(&params);
        let (mut same, draws) = (0, 2000);
        let mut seen = std::collections::HashSet::new();
        let plain = Sampling {
            temperature: 1.0,
            top_k: 0,
            top_p: 1.0,
        };
        for t in 0..draws {
            g.feed((t * 7 % 60) as u32);
            let mut r1 = Rng::new(t as u64);
            let mut r2 = r1.clone();
            let whole = draw(g.probs(), plain, &mut r1);
            let by_class = g.draw_by_class(0, &mut r2);
            same += (whole == by_class) as usize;
            seen.insert(by_class);
        }
        assert!(same >= draws - draws / 200, "{same} of {draws} draws agree");
        assert!(seen.len() > 20, "only {} distinct tokens drawn", seen.len());
    }

    /// Greedy and top-k draws (with temperatures, with and without top-p)
    /// that visit only some classes pick exactly what the draw over the
    /// whole of p picks from the same random numbers — on peaky and flat
    /// distributions, k from 1 to past V.
    #[test]
    fn greedy_and_top_k_by_class_are_the_whole_distributions_draws() {
        for sharpness in [0.5, 6.0] {
            let params = model(sharpness);
            let mut g = Generator::new(&params);
            let mut checked = 0;
            for t in 0..150 {
                g.feed((t * 11 % 60) as u32);
                for temperature in [0.0, 0.5, 1.0, 1.7] {
                    for top_k in [1, 2, 5, 17, 70] {
                        for top_p in [1.0, 0.8] {
                            let s = Sampling {
                                temperature,
                                top_k,
                                top_p,
                            };
                            assert!(g.draws_by_class(s));
                            let mut r1 = Rng::new(t as u64 * 31 + top_k as u64);
                            let mut r2 = r1.clone();
                            let whole = draw(g.probs(), s, &mut r1);
                            let by_class = g.draw_from_classes(0, s, &mut r2);
                            assert_eq!(by_class, whole, "{s:?} at step {t}, sharpness {sharpness}");
                            assert_eq!(r1, r2, "{s:?}: random numbers used differently");
                            checked += 1;
                        }
                    }
                }
            }
            assert_eq!(checked, 150 * 40);
        }
        let s = |temperature, top_k, top_p| Sampling {
            temperature,
            top_k,
            top_p,
        };
        let params = model(1.0);
        let g = Generator::new(&params);
        assert!(!g.draws_by_class(s(0.8, 0, 1.0)) && !g.draws_by_class(s(1.0, 0, 0.9)));
    }
}
