//! Word classes for the class-factored output layer (Mikolov et al. 2011):
//! which words share a class, and how they are assigned.
//!
//! A classed model keeps each class's words contiguous in id space: class c
//! holds the ids `start[c] .. start[c+1]`, so its rows of W_y and entries of
//! b_y are one block and its within-class scores are one GEMM against that
//! block. When classes are assigned, the vocabulary is reordered to make
//! this true ([`assign`] returns the order); exported tensors and
//! `vocab.json` follow the model's own ids.
//!
//! Assignment, deterministic: order the words by their count in the
//! training tokens, descending, ties by id; give word i the √-count mass
//! `m_i = √n_i / Σ_j √n_j`; word i goes to bin `⌊C · M_i⌋` (capped at C − 1),
//! where `M_i = Σ_{j before i} m_j` is the mass of the words before it. The
//! bins are contiguous runs of roughly equal √-frequency mass, as in
//! Mikolov's toolkit; bins that come out empty are dropped, so the model's C
//! is the number of non-empty ones. Words that never occur have no mass and
//! fall into the last bin.

use std::ops::Range;

/// How `--class-method` assigns words to classes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ClassMethod {
    /// √-frequency bins ([`assign`]): Mikolov's toolkit's default.
    #[default]
    Frequency,
    /// The bins, improved by exchange clustering on the training bigrams
    /// ([`super::exchange`]).
    Exchange,
}

impl ClassMethod {
    pub fn name(self) -> &'static str {
        match self {
            ClassMethod::Frequency => "frequency",
            ClassMethod::Exchange => "exchange",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [ClassMethod::Frequency, ClassMethod::Exchange]
            .into_iter()
            .find(|m| m.name() == s)
    }
}

/// The class structure of the output layer: none (the full softmax), or C
/// classes as contiguous id ranges.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Classes {
    /// Empty for the full softmax; else `C + 1` boundaries,
    /// `0 = start[0] < start[1] < … < start[C] = V`.
    start: Vec<usize>,
}

impl Classes {
    /// No classes: the full softmax.
    pub fn none() -> Self {
        Classes { start: Vec::new() }
    }

    /// Classes from their sizes (each at least 1), in id order.
    ///
    /// # Panics
    /// If a size is 0.
    pub fn from_sizes(sizes: &[usize]) -> Self {
        assert!(sizes.iter().all(|&s| s > 0), "Classes: empty class in {sizes:?}");
        let mut start = vec![0];
        for &s in sizes {
            start.push(start.last().expect("non-empty") + s);
        }
        Classes { start }
    }

    /// Classes from the class of each id, which must be non-decreasing from
    /// 0 and use every class: `Err` says what is wrong.
    pub fn from_class_of(class_of: &[usize]) -> Result<Self, String> {
        let mut sizes: Vec<usize> = Vec::new();
        for (v, &c) in class_of.iter().enumerate() {
            match c.checked_sub(sizes.len()) {
                None if c + 1 == sizes.len() => *sizes.last_mut().expect("c < len") += 1,
                Some(0) => sizes.push(1),
                _ => {
                    return Err(format!(
                        "id {v} is in class {c} after class {}: classes must be contiguous and in order",
                        sizes.len().saturating_sub(1)
                    ))
                }
            }
        }
        Ok(Classes::from_sizes(&sizes))
    }

    /// `count` classes over `vocab` ids, sizes as equal as they can be
    /// (none for 0; at most `vocab` classes).
    pub fn even(vocab: usize, count: usize) -> Self {
        if count == 0 || vocab == 0 {
            return Classes::none();
        }
        let c = count.min(vocab);
        let sizes: Vec<usize> = (0..c).map(|i| vocab / c + usize::from(i < vocab % c)).collect();
        Classes::from_sizes(&sizes)
    }

    /// C: the number of classes (0 for the full softmax).
    pub fn count(&self) -> usize {
        self.start.len().saturating_sub(1)
    }

    /// Whether this is the full softmax.
    pub fn is_none(&self) -> bool {
        self.start.is_empty()
    }

    /// The ids of class `c`.
    pub fn range(&self, c: usize) -> Range<usize> {
        self.start[c]..self.start[c + 1]
    }

    /// The ids of a run of classes, `class_range` (contiguous, since each
    /// class's ids are).
    pub fn ids_of(&self, class_range: Range<usize>) -> Range<usize> {
        self.start[class_range.start]..self.start[class_range.end]
    }

    /// The class of id `v`.
    pub fn class_of(&self, v: usize) -> usize {
        self.start.partition_point(|&s| s <= v) - 1
    }

    /// The class of every id, in id order.
    pub fn class_of_all(&self) -> Vec<usize> {
        (0..self.count()).flat_map(|c| self.range(c).map(move |_| c)).collect()
    }

    /// The vocabulary size the classes cover (0 for none).
    pub fn vocab(&self) -> usize {
        self.start.last().copied().unwrap_or(0)
    }
}

/// Assign words to at most `classes` classes by their training counts
/// (`counts[v]` for id v), as the module docs describe. Returns the new id
/// order (`order[i]` is the old id of new id i) and the classes in the new
/// ids.
///
/// # Panics
/// If `classes` is 0 or `counts` is empty.
pub fn assign(counts: &[u64], classes: usize) -> (Vec<u32>, Classes) {
    assert!(
        classes > 0 && !counts.is_empty(),
        "assign: {classes} classes of {} words",
        counts.len()
    );
    let mut order: Vec<u32> = (0..counts.len() as u32).collect();
    order.sort_by(|&a, &b| counts[b as usize].cmp(&counts[a as usize]).then(a.cmp(&b)));
    let mass: Vec<f64> = order.iter().map(|&v| (counts[v as usize] as f64).sqrt()).collect();
    let total: f64 = mass.iter().sum();
    let c = classes.min(counts.len());
    let mut sizes = vec![0usize; c];
    let mut before = 0.0;
    for m in mass {
        let bin = if total > 0.0 {
            ((c as f64 * before / total) as usize).min(c - 1)
        } else {
            0
        };
        sizes[bin] += 1;
        before += m;
    }
    sizes.retain(|&s| s > 0);
    (order, Classes::from_sizes(&sizes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_and_class_of_agree() {
        let c = Classes::from_sizes(&[1, 3, 2]);
        assert_eq!((c.count(), c.vocab()), (3, 6));
        assert_eq!(c.range(1), 1..4);
        assert_eq!(c.class_of_all(), [0, 1, 1, 1, 2, 2]);
        for v in 0..6 {
            assert!(c.range(c.class_of(v)).contains(&v));
        }
        assert_eq!(Classes::from_class_of(&[0, 1, 1, 1, 2, 2]), Ok(c));
        assert!(Classes::from_class_of(&[0, 2]).is_err());
        assert!(Classes::from_class_of(&[0, 1, 0]).is_err());
        assert!(Classes::from_class_of(&[1]).is_err());
        assert!(Classes::none().is_none() && Classes::none().count() == 0);
    }

    /// By hand: counts (id: n) 0: 1, 1: 100, 2: 25, 3: 0, 4: 4 → order by
    /// count 1, 2, 4, 0, 3 with √n = 10, 5, 2, 1, 0 (total 18). Masses before
    /// each: 0, 10, 15, 17, 18; with C = 3, bins ⌊3·M/18⌋ = 0, 1, 2, 2, 2
    /// (the last capped). With C = 6: 0, 3, 5, 5, 5 → bins 1, 2 and 4 come
    /// out empty and are dropped: sizes 1, 1, 3.
    #[test]
    fn assignment_follows_the_sqrt_frequency_rule() {
        let counts = [1, 100, 25, 0, 4];
        let (order, c) = assign(&counts, 3);
        assert_eq!(order, [1, 2, 4, 0, 3]);
        assert_eq!(c, Classes::from_sizes(&[1, 1, 3]));
        let (_, c) = assign(&counts, 6);
        assert_eq!(c, Classes::from_sizes(&[1, 1, 3]));
        // C is capped at V; ties go by id.
        let (order, c) = assign(&[2, 2], 5);
        assert_eq!((order, c.count()), (vec![0, 1], 2));
    }
}
