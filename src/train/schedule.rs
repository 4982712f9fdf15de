//! The learning-rate schedule: what happens at the end of an epoch, given
//! its validation loss.
//!
//! `plateau` (Mikolov's halving rule with patience): an epoch that improves
//! the best validation loss by at least `min_improvement` (relative) keeps
//! the rate; any other epoch halves it, and `patience` such epochs in a row
//! stop the run.

use super::state::TrainState;

/// What the end of an epoch decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Improved enough: keep the rate.
    Accept,
    /// Did not: the rate was halved.
    Halve,
    /// Did not, `patience` times in a row: training stops.
    Stop,
}

impl Decision {
    /// The word written to the log.
    pub fn name(self) -> &'static str {
        match self {
            Decision::Accept => "accept",
            Decision::Halve => "halve",
            Decision::Stop => "stop",
        }
    }
}

/// Apply the plateau rule to `state` for an epoch with validation loss
/// `valid_nats`: updates the best loss, the count of bad epochs and the rate.
pub fn plateau(state: &mut TrainState, valid_nats: f64) -> Decision {
    let s = &state.settings;
    if valid_nats < state.best_valid * (1.0 - s.min_improvement) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Config, Params};
    use crate::train::{OptimizerKind, Settings};

    fn state(patience: usize) -> TrainState {
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
        };
        let params = Params::zeros(&Config::full(2, 1, 1));
        TrainState::fresh(settings, &params)
    }

    /// 2.0 (first: accept), 1.99 (gain 0.5% < 1%: halve), 1.5 (accept),
    /// 1.6, 1.5 (two bad in a row with patience 2: stop).
    #[test]
    fn plateau_accepts_halves_and_stops_by_the_rule() {
        let mut s = state(2);
        let got: Vec<(Decision, f64)> = [2.0, 1.99, 1.5, 1.6, 1.5]
            .into_iter()
            .map(|v| (plateau(&mut s, v), s.lr))
            .collect();
        use Decision::*;
        assert_eq!(
            got,
            [(Accept, 1.0), (Halve, 0.5), (Accept, 0.5), (Halve, 0.25), (Stop, 0.125)]
        );
        assert_eq!(s.best_valid, 1.5);
    }
}
