//! Cutting a token stream into B parallel streams and T-step chunks.
//!
//! ```text
//!   ids:      x0 x1 x2 ... x_{len-1}
//!   stream b: ids[b·L ..= b·L + L]    (L = (len − 1) / B steps each)
//!   chunk c:  steps c·T .. c·T + T of every stream (the last chunk may be shorter)
//!   inputs[t·B + b]  = stream b at step c·T + t
//!   targets[t·B + b] = stream b at step c·T + t + 1
//! ```
//!
//! Chunks walk down the streams in order, so the hidden state after chunk c
//! is the right h_0 for chunk c + 1.

use crate::error::{Error, Result};

/// The chunks of one epoch.
#[derive(Clone, Debug)]
pub struct Batches {
    pub batch: usize,
    pub seq_len: usize,
    /// Steps per stream (L).
    pub steps: usize,
}

impl Batches {
    /// The chunks of a `len`-token stream. The one "too short" rule of
    /// training: every stream needs at least one step (an input and its
    /// target), so `len ≥ batch + 1`; the error names the flag to lower.
    ///
    /// # Panics
    /// If `batch` or `seq_len` is 0 (the command line refuses both).
    pub fn new(len: usize, batch: usize, seq_len: usize) -> Result<Batches> {
        assert!(batch >= 1 && seq_len >= 1, "Batches: batch {batch}, seq_len {seq_len}");
        let steps = len.saturating_sub(1) / batch;
        if steps == 0 && batch == 1 {
            return Err(Error::Data(format!(
                "{len} training token(s) are too few to train on: a step needs an input and its target \
                 (two tokens at least); give a longer text"
            )));
        }
        if steps == 0 {
            return Err(Error::Data(format!(
                "{len} training tokens are too few for --batch {batch}: each of the {batch} streams needs \
                 two tokens at least ({} in all); lower --batch",
                batch.saturating_add(1)
            )));
        }
        Ok(Batches { batch, seq_len, steps })
    }

    /// Chunks per epoch.
    pub fn chunks(&self) -> usize {
        self.steps.div_ceil(self.seq_len)
    }

    /// Fill `inputs` and `targets` (time-major) for chunk `c`; returns its T.
    pub fn fill(&self, ids: &[u32], c: usize, inputs: &mut Vec<u32>, targets: &mut Vec<u32>) -> usize {
        let t0 = c * self.seq_len;
        let t_len = self.seq_len.min(self.steps - t0);
        inputs.clear();
        targets.clear();
        for t in 0..t_len {
            for b in 0..self.batch {
                let i = b * self.steps + t0 + t;
                inputs.push(ids[i]);
                targets.push(ids[i + 1]);
            }
        }
        t_len
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_contiguous_and_targets_shift_by_one() {
        let ids: Vec<u32> = (0..11).collect();
        let b = Batches::new(ids.len(), 2, 3).unwrap();
        assert_eq!((b.steps, b.chunks()), (5, 2));
        let (mut x, mut y) = (vec![], vec![]);
        assert_eq!(b.fill(&ids, 0, &mut x, &mut y), 3);
        assert_eq!(x, [0, 5, 1, 6, 2, 7]);
        assert_eq!(y, [1, 6, 2, 7, 3, 8]);
        assert_eq!(b.fill(&ids, 1, &mut x, &mut y), 2);
        assert_eq!(x, [3, 8, 4, 9]);
        assert_eq!(y, [4, 9, 5, 10]);
    }

    #[test]
    fn too_short_is_refused_naming_the_flag() {
        assert!(Batches::new(1, 1, 4).is_err());
        let e = Batches::new(4, 4, 4).unwrap_err().to_string();
        assert!(e.contains("4 training tokens") && e.contains("lower --batch"), "{e}");
        assert_eq!(Batches::new(5, 4, 4).unwrap().steps, 1);
        // At --batch 1 there is nothing to lower: the text is too short.
        let e = Batches::new(1, 1, 4).unwrap_err().to_string();
        assert!(e.contains("give a longer text") && !e.contains("--batch"), "{e}");
        let e = Batches::new(3, usize::MAX, 4).unwrap_err().to_string();
        assert!(e.contains("18446744073709551615 in all"), "{e}");
    }
}
