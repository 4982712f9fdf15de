//! The learning-rate schedule: what happens at the end of an epoch, given
//! its validation loss. Two rules (`--schedule`):
//!
//! - `plateau`: an epoch that improves the best validation loss by at least
//!   `min_improvement` (relative) keeps the rate; any other epoch halves it,
//!   and `patience` such epochs in a row stop the run.
//! - `mikolov` (Mikolov's RNNLM toolkit, with a later stop): an epoch whose
//!   validation loss is worse than the last accepted epoch's is rejected —
//!   the weights and optimizer state return to that epoch's end. Once an
//!   epoch improves by less than `min_improvement` (a rejected epoch counts
//!   as such), the rate is halved after it and after every later epoch;
//!   training stops at the first epoch, halving, that improves by less than
//!   [`STOP_FRACTION`] of `min_improvement` (a rejected epoch improves by
//!   nothing, so it stops too).
//! - `mikolov-strict`: the toolkit's own stop — the first epoch, halving,
//!   that improves by less than `min_improvement` itself.
//!
//! Why a tenth: once halving, each epoch runs at half the last one's rate,
//! and its gain was measured at about half the last one's or less (README,
//! "Word level": 0.89%, 0.46%, 0.33%, 0.21%, 0.07%, 0.05%, 0.02% of the
//! loss on gutenberg-words); so an epoch that gains g leaves about g on the
//! table in all the epochs after it. The toolkit's stop (g < 0.3% of the
//! loss, 1.5% perplexity at 5 nats/token) ended that run three epochs
//! early, at validation perplexity 87.09 where it went on to 86.52; a tenth
//! of it (0.03%, 0.15% perplexity at 5 nats) is a gain no larger than what
//! the seed of a run moves its result by.

pub use super::state::Schedule;
use super::state::{Rollback, TrainState};
use crate::model::Params;

/// What the end of an epoch decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Improved enough: keep the rate.
    Accept,
    /// Worse than the last accepted epoch: its weights are rolled back.
    Reject,
    /// The rate was halved.
    Halve,
    /// Training stops.
    Stop,
}

impl Decision {
    /// The word written to the log.
    pub fn name(self) -> &'static str {
        match self {
            Decision::Accept => "accept",
            Decision::Reject => "reject",
            Decision::Halve => "halve",
            Decision::Stop => "stop",
        }
    }
}

/// Of `min_improvement`, the gain below which `mikolov` stops once halving.
pub const STOP_FRACTION: f64 = 0.1;

/// Whether `valid` improves on `best` by at least `min` (relative).
fn improves_enough(valid: f64, best: f64, min: f64) -> bool {
    valid < best * (1.0 - min)
}

/// Apply the run's schedule to `state` for an epoch with validation loss
/// `valid_nats`, the epoch's weights being `params`: updates the rate, the
/// best loss and the schedule's own state; on a rejection, puts the
/// accepted weights back into `params` and the optimizer state into
/// `state`.
pub fn end_of_epoch(state: &mut TrainState, params: &mut Params<f32>, valid_nats: f64) -> Decision {
    match state.settings.schedule {
        Schedule::Plateau => plateau(state, valid_nats),
        Schedule::Mikolov => mikolov(state, params, valid_nats, STOP_FRACTION),
        Schedule::MikolovStrict => mikolov(state, params, valid_nats, 1.0),
    }
}

/// The `plateau` rule (module docs).
pub fn plateau(state: &mut TrainState, valid_nats: f64) -> Decision {
    let s = &state.settings;
    if improves_enough(valid_nats, state.best_valid, s.min_improvement) {
        state.best_valid = valid_nats;
        state.bad_epochs = 0;
        return Decision::Accept;
    }
    state.best_valid = state.best_valid.min(valid_nats);
    state.bad_epochs += 1;
    state.lr *= 0.5;
    if state.bad_epochs >= s.patience {
        Decision::Stop
    } else {
        Decision::Halve
    }
}

/// The `mikolov` rules (module docs): halving starts at a gain below
/// `min_improvement`, and a halving run stops at a gain below
/// `stop_fraction`·`min_improvement` (1 for `mikolov-strict`).
pub fn mikolov(state: &mut TrainState, params: &mut Params<f32>, valid_nats: f64, stop_fraction: f64) -> Decision {
    let rejected = valid_nats > state.best_valid;
    let min = state.settings.min_improvement;
    let small = !improves_enough(valid_nats, state.best_valid, min);
    let tiny = rejected || !improves_enough(valid_nats, state.best_valid, stop_fraction * min);
    if rejected {
        if let Some(back) = &state.rollback {
            *params = back.params.clone();
            state.optimizer = back.optimizer.clone();
        }
    } else {
        state.best_valid = valid_nats;
        state.rollback = Some(Rollback {
            params: params.clone(),
            optimizer: state.optimizer.clone(),
        });
    }
    if tiny && state.halving {
        return Decision::Stop;
    }
    state.halving |= small;
    if state.halving {
        state.lr *= 0.5;
    }
    match (rejected, state.halving) {
        (true, _) => Decision::Reject,
        (false, true) => Decision::Halve,
        (false, false) => Decision::Accept,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Config, Params};
    use crate::train::{OptimizerKind, Settings};

    fn state(schedule: Schedule, patience: usize) -> (TrainState, Params<f32>) {
        let settings = Settings {
            batch: 1,
            seq_len: 1,
            optimizer: OptimizerKind::Sgd,
            lr: 1.0,
            clip: 0.0,
            seed: 1,
            epochs: 10,
            min_improvement: 0.01,
            patience,
            schedule,
            dropout: 0.0,
            weight_decay: 0.0,
        };
        let params = Params::zeros(&Config::full(2, 1, 1));
        (TrainState::fresh(settings, &params), params)
    }

    /// Run `schedule` over the epoch losses, each epoch "training" by
    /// setting a weight to its loss: (decision, rate after it, the weight
    /// after it — a rejected epoch's is rolled back) per epoch, and the state.
    fn run(schedule: Schedule, losses: &[f64]) -> (Vec<(Decision, f64, f32)>, TrainState) {
        let (mut s, mut p) = state(schedule, 1);
        let mut got = Vec::new();
        for &v in losses {
            p.w_h.set(0, 0, v as f32);
            let d = end_of_epoch(&mut s, &mut p, v);
            got.push((d, s.lr, p.w_h.get(0, 0)));
        }
        (got, s)
    }

    /// 2.0 (first: accept), 1.99 (gain 0.5% < 1%: halve), 1.5 (accept),
    /// 1.6, 1.5 (two bad in a row with patience 2: stop).
    #[test]
    fn plateau_accepts_halves_and_stops_by_the_rule() {
        let (mut s, mut p) = state(Schedule::Plateau, 2);
        let got: Vec<(Decision, f64)> = [2.0, 1.99, 1.5, 1.6, 1.5]
            .into_iter()
            .map(|v| (end_of_epoch(&mut s, &mut p, v), s.lr))
            .collect();
        use Decision::*;
        assert_eq!(
            got,
            [(Accept, 1.0), (Halve, 0.5), (Accept, 0.5), (Halve, 0.25), (Stop, 0.125)]
        );
        assert_eq!(s.best_valid, 1.5);
    }

    /// Epoch losses 2.0 (accept), 1.5 (accept), 1.6 (worse than 1.5: reject,
    /// weights back to epoch 2's, and as a small improvement it starts the
    /// halving), 1.4 (gain 6.7%: still halving), 1.395 (gain 0.4%: stop).
    /// Each epoch "trains" by setting the weight to its loss.
    #[test]
    fn mikolov_strict_rejects_rolls_back_halves_and_stops() {
        let (got, s) = run(Schedule::MikolovStrict, &[2.0, 1.5, 1.6, 1.4, 1.395]);
        use Decision::*;
        assert_eq!(
            got,
            [
                (Accept, 1.0, 2.0),
                (Accept, 1.0, 1.5),
                (Reject, 0.5, 1.5),
                (Halve, 0.25, 1.4),
                (Stop, 0.25, 1.395)
            ]
        );
        assert_eq!(s.best_valid, 1.395);
        assert!(s.halving);
    }

    /// A small gain first starts the halving (and keeps the weights); a
    /// rejected epoch once halving stops the run, the weights rolled back.
    #[test]
    fn mikolov_strict_small_gain_halves_and_a_later_rejection_stops() {
        let (got, _) = run(Schedule::MikolovStrict, &[2.0, 1.99, 2.5]);
        use Decision::*;
        assert_eq!(got, [(Accept, 1.0, 2.0), (Halve, 0.5, 1.99), (Stop, 0.5, 1.99)]);
    }

    /// The same losses as the strict test: where the toolkit stopped (1.395,
    /// a gain of 0.36% < 1%) `mikolov` halves again, since 0.36% is above a
    /// tenth of 1%; it stops at 1.3945 (a gain of 0.036%).
    #[test]
    fn mikolov_goes_on_while_an_epoch_gains_a_tenth_of_min_improvement() {
        let (got, s) = run(Schedule::Mikolov, &[2.0, 1.5, 1.6, 1.4, 1.395, 1.3945]);
        use Decision::*;
        assert_eq!(
            got,
            [
                (Accept, 1.0, 2.0),
                (Accept, 1.0, 1.5),
                (Reject, 0.5, 1.5),
                (Halve, 0.25, 1.4),
                (Halve, 0.125, 1.395),
                (Stop, 0.125, 1.3945)
            ]
        );
        assert_eq!(s.best_valid, 1.3945);
    }

    /// Halving, a rejected epoch stops `mikolov` too, weights rolled back.
    #[test]
    fn mikolov_halving_stops_at_a_rejection() {
        let (got, _) = run(Schedule::Mikolov, &[2.0, 1.99, 1.9, 1.95]);
        use Decision::*;
        assert_eq!(
            got,
            [
                (Accept, 1.0, 2.0),
                (Halve, 0.5, 1.99),
                (Halve, 0.25, 1.9),
                (Stop, 0.25, 1.9)
            ]
        );
    }
}
