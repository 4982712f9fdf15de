//! What a training run will hold in memory, part by part and by the flags
//! that size each part, in checked arithmetic — so that `train` can refuse
//! a run that cannot fit before it allocates anything ([`crate::memory`]).
//!
//! An upper estimate, not an exact count: each part is what the largest
//! buffers of that kind hold (`model::rnn::Workspace`, `ForwardCache`,
//! `ClassedCache`, the optimizer and the rollback copy).

use super::optim::OptimizerKind;
use super::state::{Schedule, Settings};
use crate::memory::{add, f32s, Part};
use crate::model::Config;

/// The parts of a run of `config` under `settings` on `threads` threads.
pub fn training_parts(config: &Config, settings: &Settings, threads: usize) -> Vec<Part> {
    let (v, d, h, c) = (config.vocab, config.embed, config.hidden, config.classes.count());
    // One copy of every tensor (E, W_x, W_h, W_y, W_c and the biases).
    let one_copy = [
        f32s(&[v, d]),
        f32s(&[h, d]),
        f32s(&[h, h]),
        f32s(&[v, h]),
        c.checked_add(2)
            .zip(h.checked_add(1))
            .and_then(|(rows, cols)| f32s(&[rows, cols])),
    ]
    .into_iter()
    .fold(Some(0), add);
    // Weights, gradients, the optimizer's state, a checkpoint's bytes, and
    // under Mikolov's rejection the rollback copy of weights and state.
    let slots = match settings.optimizer {
        OptimizerKind::Sgd => 0,
        OptimizerKind::Adagrad => 1,
        OptimizerKind::Adam => 2,
    };
    let rollback = match settings.schedule {
        Schedule::Mikolov | Schedule::MikolovStrict => 1 + slots,
        Schedule::Plateau => 0,
    };
    let copies = 3 + slots + rollback;
    let params = one_copy.and_then(|b| b.checked_mul(copies as u64));

    // Per position of a chunk: the embedding, its gradient and mask (3D);
    // the hidden state, its output copy, mask and gradients (5H); the
    // output layer's probabilities (V, or C plus the largest class, with
    // the grouped hidden rows and their gradient).
    let out_width = if config.classes.is_none() {
        Some(v)
    } else {
        let largest = (0..c).map(|k| config.classes.range(k).len()).max().unwrap_or(0);
        c.checked_add(largest).and_then(|w| w.checked_add(h.checked_mul(2)?))
    };
    let positions = settings.batch.checked_mul(settings.seq_len);
    let per_position = out_width.and_then(|w| w.checked_add(d.checked_mul(3)?)?.checked_add(h.checked_mul(5)?));
    let activations = match (positions, per_position) {
        (Some(n), Some(w)) => f32s(&[n, w]),
        _ => None,
    };
    // The input table U = E·W_xᵀ and its gradient, one per thread.
    let tables = f32s(&[threads, v, h, 2]);

    vec![
        Part {
            flags: format!("--embed {d} --hidden {h} (V = {v})"),
            what: "the weights, gradients, optimizer state and their copies",
            bytes: params,
        },
        Part {
            flags: format!(
                "--batch {} --seq-len {} at --embed {d} --hidden {h}",
                settings.batch, settings.seq_len
            ),
            what: "a chunk's activations",
            bytes: activations,
        },
        Part {
            flags: format!("--threads {threads} at --hidden {h} (V = {v})"),
            what: "the per-thread input tables",
            bytes: tables,
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::total;
    use crate::model::Params;
    use crate::train::Optimizer;

    fn settings(batch: usize) -> Settings {
        Settings {
            batch,
            seq_len: 8,
            optimizer: OptimizerKind::Adam,
            lr: 0.001,
            clip: 5.0,
            seed: 1,
            epochs: 1,
            min_improvement: 0.003,
            patience: 3,
            schedule: Schedule::Mikolov,
            dropout: 0.0,
            weight_decay: 0.0,
        }
    }

    /// The estimate covers what is really allocated: the weights and
    /// Adam's two moments, counted here from the real structures, are less
    /// than the parameter part.
    #[test]
    fn the_parameter_part_covers_the_real_tensors() {
        let config = Config::full(50, 6, 9);
        let params: Params<f32> = Params::zeros(&config);
        let adam = Optimizer::new(OptimizerKind::Adam, &params);
        let Optimizer::Adam { m, v, .. } = &adam else {
            panic!("adam")
        };
        let scalars = |p: &Params<f32>| p.tensors().iter().map(|t| t.as_slice().len()).sum::<usize>();
        let real = 4 * (scalars(&params) + scalars(m) + scalars(v)) as u64;
        let parts = training_parts(&config, &settings(4), 1);
        assert!(parts[0].bytes.unwrap() >= real, "{parts:?} < {real}");
        assert!(total(&parts).is_some());
    }

    #[test]
    fn sizes_that_overflow_are_none_not_a_wrapped_number() {
        let config = Config::full(50, 6, usize::MAX / 2);
        assert_eq!(training_parts(&config, &settings(4), 1)[0].bytes, None);
        let parts = training_parts(&Config::full(50, 6, 9), &settings(usize::MAX), 1);
        assert_eq!(parts[1].bytes, None);
        assert!(parts[1].flags.starts_with("--batch 18446744073709551615"));
    }
}
