//! The defaults of `train` that depend on the level: the one place they are
//! declared (the flag table's help is written from here, and
//! [`super::TrainArgs`] falls back to them). The README's "Defaults and the
//! recipe" (under "Word level") has the measurements behind each.

use crate::data::Level;
use crate::model::{ClassMethod, InitScheme};
use crate::train::OptimizerKind;

/// What `train` uses at one level for a flag that was not typed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LevelDefaults {
    pub embed: usize,
    pub hidden: usize,
    pub batch: usize,
    pub seq_len: usize,
    /// The cap on epochs: the schedule usually stops a run before it.
    pub epochs: usize,
    pub dropout: f64,
    pub class_method: ClassMethod,
    /// Adam's rate (SGD and Adagrad keep theirs at every level).
    pub adam_lr: f64,
    pub init_scheme: InitScheme,
    /// Whether E and W_y are tied unless `--untie` (or D ≠ H) says otherwise.
    pub tie: bool,
}

impl LevelDefaults {
    /// The defaults of `level`.
    pub fn of(level: Level) -> Self {
        match level {
            Level::Char | Level::Jamo => LevelDefaults {
                embed: 64,
                hidden: 256,
                batch: 32,
                seq_len: 64,
                epochs: 10,
                dropout: 0.0,
                class_method: ClassMethod::Frequency,
                adam_lr: OptimizerKind::Adam.default_lr(),
                init_scheme: InitScheme::default_for(level),
                tie: false,
            },
            Level::Word => LevelDefaults {
                embed: 400,
                hidden: 400,
                batch: 20,
                seq_len: 35,
                epochs: 20,
                dropout: 0.3,
                class_method: ClassMethod::Exchange,
                adam_lr: 1e-3,
                init_scheme: InitScheme::default_for(level),
                tie: true,
            },
        }
    }

    /// The rate of `optimizer` at this level.
    pub fn lr(&self, optimizer: OptimizerKind) -> f64 {
        match optimizer {
            OptimizerKind::Adam => self.adam_lr,
            other => other.default_lr(),
        }
    }

    /// One flag's defaults at every level, for the help: "char X, jamo X, word Y"
    /// written as "char and jamo X, word Y" where the two agree.
    pub fn help(value: impl Fn(&LevelDefaults) -> String) -> String {
        let [c, j, w] = [Level::Char, Level::Jamo, Level::Word].map(|l| value(&LevelDefaults::of(l)));
        if c == j {
            format!("char and jamo {c}, word {w}")
        } else {
            format!("char {c}, jamo {j}, word {w}")
        }
    }
}
