//! Word classes by predictive exchange clustering (Kneser & Ney 1993;
//! Martin, Liermann & Ney 1998; the predictive objective of Uszkoreit &
//! Brants 2008): `--class-method exchange`.
//!
//! The √-frequency bins of [`super::classes::assign`] group words by count
//! alone, so one class holds words that follow unrelated contexts. This
//! assignment starts from those bins and moves words between classes to make
//! the class of the next word as predictable as possible from the previous
//! word, the same factorization the output layer makes from h:
//!
//! ```text
//!   P(w_i | w_{i-1}) = P(c(w_i) | w_{i-1}) · P(w_i | c(w_i))
//! ```
//!
//! With maximum-likelihood estimates N(v, c)/N(v) and N(w)/N(c), where
//! N(v, c) counts bigrams "v, then a word of class c" in the training tokens,
//! N(w) counts w as the second word of a bigram and N(c) = Σ_{w∈c} N(w), the
//! log-likelihood is, up to terms that do not depend on the classes,
//!
//! ```text
//!   F = Σ_{v,c} f(N(v,c)) − Σ_c f(N(c)),    f(x) = x ln x.
//! ```
//!
//! One round visits the words in the bins' order (count descending, ties by
//! id). Each word w is taken out of its class a, the gain of putting it into
//! each class b is
//!
//! ```text
//!   G(b) = Σ_{v before w} [f(N(v,b) + N(v,w)) − f(N(v,b))] − [f(N(b) + N(w)) − f(N(b))]
//! ```
//!
//! and it goes to the b of largest gain (back to a unless another class is
//! larger by more than a rounding margin; ties to the lower class). F never
//! decreases. A word that is alone in its class stays, so no class empties
//! and C does not change. Rounds stop when one moves no word or after
//! [`MAX_ROUNDS`]. Everything is in a fixed order: the result is a function
//! of the tokens and C alone.
//!
//! The classes are then numbered by their most frequent word (the class of
//! the most frequent word is class 0), and the words of a class keep the
//! bins' order, so each class is a contiguous block of ids as
//! [`super::Classes`] requires.

use super::classes::{assign, Classes};

/// At most this many rounds over the vocabulary.
pub const MAX_ROUNDS: usize = 20;

/// `N(v, c)` is a dense `[V, C]` table of counts; this many entries at most
/// (512 MiB), which is V = 50 000 with C = 2 684 classes.
pub const MAX_TABLE: usize = 1 << 27;

/// What a clustering did, for the run's header.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Report {
    /// Rounds run.
    pub rounds: usize,
    /// Words moved in each round, summed.
    pub moves: usize,
    /// F per bigram of the √-frequency bins and of the result (nats; the
    /// result's is never smaller).
    pub start_objective: f64,
    pub end_objective: f64,
}

/// `x ln x` of a count (0 at 0), from a table for small counts.
struct XLogX {
    table: Vec<f64>,
}

impl XLogX {
    const TABLE: usize = 1 << 16;

    fn new() -> Self {
        let table = (0..Self::TABLE).map(|x| Self::exact(x as u64)).collect();
        XLogX { table }
    }

    fn exact(x: u64) -> f64 {
        if x == 0 {
            0.0
        } else {
            let x = x as f64;
            x * x.ln()
        }
    }

    #[inline]
    fn at(&self, x: u64) -> f64 {
        match self.table.get(x as usize) {
            Some(&f) => f,
            None => Self::exact(x),
        }
    }
}

/// The bigram counts of the training tokens: for each word w, the words v
/// that precede it with N(v, w) (sorted by v), and N(w).
struct Bigrams {
    /// `before[start[w]..start[w + 1]]` are the (v, N(v, w)) of word w.
    start: Vec<usize>,
    before: Vec<(u32, u32)>,
    /// N(w): how often w is the second word of a bigram.
    count: Vec<u64>,
}

impl Bigrams {
    fn count(ids: &[u32], vocab: usize) -> Self {
        let mut pairs: Vec<u64> = ids.windows(2).map(|p| (p[1] as u64) << 32 | p[0] as u64).collect();
        pairs.sort_unstable();
        let mut start = vec![0usize; vocab + 1];
        let mut before: Vec<(u32, u32)> = Vec::new();
        let mut count = vec![0u64; vocab];
        for run in pairs.chunk_by(|a, b| a == b) {
            let (w, v) = ((run[0] >> 32) as usize, run[0] as u32);
            before.push((v, run.len() as u32));
            start[w + 1] += 1;
            count[w] += run.len() as u64;
        }
        for w in 0..vocab {
            start[w + 1] += start[w];
        }
        Bigrams { start, before, count }
    }

    fn before(&self, w: usize) -> &[(u32, u32)] {
        &self.before[self.start[w]..self.start[w + 1]]
    }
}

/// The clustering's state: the class of each word and the counts F needs.
struct State<'a> {
    bigrams: &'a Bigrams,
    f: XLogX,
    classes: usize,
    class_of: Vec<usize>,
    size: Vec<usize>,
    /// N(v, c), row v.
    next_class: Vec<u64>,
    /// N(c).
    class_count: Vec<u64>,
}

impl<'a> State<'a> {
    fn new(bigrams: &'a Bigrams, class_of: Vec<usize>, classes: usize) -> Self {
        let vocab = class_of.len();
        let mut s = State {
            bigrams,
            f: XLogX::new(),
            classes,
            size: vec![0; classes],
            next_class: vec![0; vocab * classes],
            class_count: vec![0; classes],
            class_of: vec![usize::MAX; vocab],
        };
        for (w, &c) in class_of.iter().enumerate() {
            s.size[c] += 1;
            s.add(w, c);
        }
        s
    }

    /// Put word w (not in a class) into class c.
    fn add(&mut self, w: usize, c: usize) {
        self.class_of[w] = c;
        for &(v, n) in self.bigrams.before(w) {
            self.next_class[v as usize * self.classes + c] += n as u64;
        }
        self.class_count[c] += self.bigrams.count[w];
    }

    /// Take word w out of its class.
    fn remove(&mut self, w: usize) {
        let c = self.class_of[w];
        for &(v, n) in self.bigrams.before(w) {
            self.next_class[v as usize * self.classes + c] -= n as u64;
        }
        self.class_count[c] -= self.bigrams.count[w];
    }

    /// F divided by the number of bigrams.
    fn objective(&self) -> f64 {
        let f = &self.f;
        let pairs: f64 = self.class_count.iter().sum::<u64>().max(1) as f64;
        let joint: f64 = self.next_class.iter().map(|&n| f.at(n)).sum();
        let classes: f64 = self.class_count.iter().map(|&n| f.at(n)).sum();
        (joint - classes) / pairs
    }

    /// G(b) for every class b, for word w taken out of its class.
    fn gains(&self, w: usize, gain: &mut [f64]) {
        let f = &self.f;
        let n_w = self.bigrams.count[w];
        for (b, g) in gain.iter_mut().enumerate() {
            let n = self.class_count[b];
            *g = f.at(n) - f.at(n + n_w);
        }
        for &(v, n) in self.bigrams.before(w) {
            let row = &self.next_class[v as usize * self.classes..][..self.classes];
            let n = n as u64;
            for (g, &m) in gain.iter_mut().zip(row) {
                *g += f.at(m + n) - f.at(m);
            }
        }
    }

    /// One round over `order`; returns the number of words moved.
    fn round(&mut self, order: &[u32], gain: &mut [f64]) -> usize {
        let mut moved = 0;
        for &w in order {
            let w = w as usize;
            let a = self.class_of[w];
            if self.size[a] == 1 || self.bigrams.count[w] == 0 {
                continue;
            }
            self.remove(w);
            self.gains(w, gain);
            // A move must beat staying by more than the rounding of the sums.
            let margin = 1e-9 * (1.0 + gain[a].abs());
            let mut best = a;
            for (b, &g) in gain.iter().enumerate() {
                if g > gain[best] + if best == a { margin } else { 0.0 } {
                    best = b;
                }
            }
            if best != a {
                self.size[a] -= 1;
                self.size[best] += 1;
                moved += 1;
            }
            self.add(w, best);
        }
        moved
    }
}

/// Assign at most `classes` classes to the `vocab` words by exchange
/// clustering on the training tokens `ids`, as the module docs describe.
/// Returns the id order and classes as [`assign`] does, and a report.
///
/// # Errors
/// When the `[V, C]` count table would exceed [`MAX_TABLE`] entries.
///
/// # Panics
/// If `classes` or `vocab` is 0, or an id is not below `vocab`.
pub fn exchange(ids: &[u32], vocab: usize, classes: usize) -> Result<(Vec<u32>, Classes, Report), String> {
    let mut counts = vec![0u64; vocab];
    for &t in ids {
        counts[t as usize] += 1;
    }
    let (order, bins) = assign(&counts, classes);
    let c = bins.count();
    if vocab.saturating_mul(c) > MAX_TABLE {
        return Err(format!(
            "exchange clustering counts a [V, C] = [{vocab}, {c}] table, more than {MAX_TABLE} entries; use fewer classes or --class-method frequency"
        ));
    }
    let mut class_of = vec![0usize; vocab];
    for (i, &w) in order.iter().enumerate() {
        class_of[w as usize] = bins.class_of(i);
    }
    let bigrams = Bigrams::count(ids, vocab);
    let mut state = State::new(&bigrams, class_of, c);
    let start_objective = state.objective();
    let mut gain = vec![0.0; c];
    let (mut rounds, mut moves) = (0, 0);
    while rounds < MAX_ROUNDS {
        rounds += 1;
        let moved = state.round(&order, &mut gain);
        moves += moved;
        if moved == 0 {
            break;
        }
    }
    let report = Report {
        rounds,
        moves,
        start_objective,
        end_objective: state.objective(),
    };
    // Number the classes by their most frequent word; words keep the bins'
    // order (count descending, ties by id) within a class.
    let mut rank = vec![usize::MAX; c];
    let mut next = 0;
    for &w in &order {
        let r = &mut rank[state.class_of[w as usize]];
        if *r == usize::MAX {
            *r = next;
            next += 1;
        }
    }
    let mut new_order = order.clone();
    new_order.sort_by_key(|&w| rank[state.class_of[w as usize]]); // stable: keeps the bins' order
    let mut sizes = vec![0usize; c];
    for (class, &r) in rank.iter().enumerate() {
        sizes[r] = state.size[class];
    }
    Ok((new_order, Classes::from_sizes(&sizes), report))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    /// F of a given assignment, counted from scratch.
    fn objective_of(ids: &[u32], class_of: &[usize], classes: usize) -> f64 {
        let bigrams = Bigrams::count(ids, class_of.len());
        State::new(&bigrams, class_of.to_vec(), classes).objective()
    }

    /// A language of two word kinds, each followed by the other: "nouns"
    /// 0..4 and "verbs" 4..8 alternate, uniformly within a kind. Counts
    /// alone cannot tell the kinds apart (every word is equally frequent,
    /// up to sampling), but the next word's kind is certain from the
    /// previous word: two classes must come out as exactly the two kinds.
    #[test]
    fn recovers_the_two_kinds_of_an_alternating_language() {
        let mut rng = Rng::new(7);
        let ids: Vec<u32> = (0..4000)
            .map(|i| (i % 2) * 4 + (rng.uniform() * 4.0) as u32 % 4)
            .collect();
        let (order, classes, report) = exchange(&ids, 8, 2).unwrap();
        assert_eq!(classes.count(), 2);
        let mut sorted = order.clone();
        sorted.sort();
        assert_eq!(sorted, (0..8).collect::<Vec<u32>>(), "order is a permutation");
        for c in 0..2 {
            let kind = order[classes.range(c).start] / 4;
            for i in classes.range(c) {
                assert_eq!(order[i] / 4, kind, "word {} in class {c}", order[i]);
            }
        }
        assert!(report.end_objective > report.start_objective);
        // The counts kept up to date through the moves give the F counted
        // from scratch for the final classes.
        let mut class_of = vec![0; 8];
        for c in 0..2 {
            for i in classes.range(c) {
                class_of[order[i] as usize] = c;
            }
        }
        let direct = objective_of(&ids, &class_of, 2);
        assert!(
            (direct - report.end_objective).abs() < 1e-9,
            "{direct} vs {}",
            report.end_objective
        );
    }

    /// On random text the result never scores below the √-frequency bins it
    /// starts from, no class is empty, and the same input gives the same
    /// classes.
    #[test]
    fn never_worse_than_the_bins_and_deterministic() {
        let mut rng = Rng::new(3);
        // Zipf-like ids with some bigram structure: a word is often followed
        // by (its id · 7) mod V.
        let vocab = 60;
        let mut ids = vec![0u32];
        for _ in 0..5000 {
            let prev = *ids.last().unwrap();
            let next = if rng.uniform() < 0.5 {
                (prev * 7 + 3) % vocab
            } else {
                ((rng.uniform() * rng.uniform() * vocab as f64) as u32).min(vocab - 1)
            };
            ids.push(next);
        }
        let (order, classes, report) = exchange(&ids, vocab as usize, 8).unwrap();
        assert!(report.end_objective >= report.start_objective);
        assert!(report.moves > 0);
        assert_eq!(classes.vocab(), vocab as usize);
        assert!((0..classes.count()).all(|c| !classes.range(c).is_empty()));
        assert_eq!(exchange(&ids, vocab as usize, 8).unwrap(), (order, classes, report));
    }

    #[test]
    fn refuses_a_table_too_large() {
        let ids: Vec<u32> = (0..200).collect();
        let err = exchange(&ids, 1 << 20, 200).unwrap_err();
        assert!(err.contains("[1048576, 200]"), "{err}");
    }
}
