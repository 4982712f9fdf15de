//! The training loop: chunks of B streams × T steps, truncated BPTT with the
//! hidden state carried across chunks, an optimizer step per chunk, and at
//! each epoch end a validation pass that drives the learning-rate schedule.
//!
//! ```text
//!   for each epoch:
//!       for each chunk:  step()       take_step (forward, backward, clip, update), carry h
//!       end_of_epoch()                validate, schedule, reset h, save
//! ```

use std::path::PathBuf;
use std::time::Instant;

use super::checkpoint;
use super::evaluate::validate;
use super::report::{CsvLog, Progress};
use super::schedule::{self, Decision};
use super::state::TrainState;
use super::step::{take_step, Chunk, NonFinite, Regularization};
use crate::data::Batches;
use crate::error::{Error, Result};
use crate::matmul::Gemm;
use crate::model::{Model, Params, Shards};
use crate::rng::Rng;

/// A training job, resolved from the command line.
pub struct Job {
    pub model: Model,
    pub state: TrainState,
    pub train_ids: Vec<u32>,
    /// Validation tokens: empty for none, else at least two.
    pub valid_ids: Vec<u32>,
    pub threads: usize,
    /// Stop after this many optimizer steps in all (`--steps`).
    pub max_steps: Option<u64>,
    /// Stop after this many seconds (`--time`).
    pub max_seconds: Option<f64>,
    pub out: PathBuf,
    pub log: Option<PathBuf>,
    pub save_every: Option<u64>,
    /// Where to keep the best model by validation loss (`--best`).
    pub best: Option<PathBuf>,
    pub quiet: bool,
}

/// What a finished run reports.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub model: Model,
    pub steps: u64,
    pub epochs_done: usize,
    pub last_train_loss: f64,
    pub valid_nats: Option<f64>,
    pub tokens_per_s: f64,
    pub stopped_early: bool,
}

/// Steps an epoch needs before a training loss above ln V all through it
/// stops the run as diverged (the rule is `Trainer::diverged`'s).
pub const DIVERGED_MIN_STEPS: usize = 20;

/// In a shorter epoch, how far above ln V every loss must be.
pub const DIVERGED_MARGIN_NATS: f64 = 1.0;

/// A run in progress: the job and everything its steps reuse.
struct Trainer {
    job: Job,
    batches: Batches,
    ws: Shards<f32>,
    valid_ws: Shards<f32>,
    grads: Params<f32>,
    inputs: Vec<u32>,
    targets: Vec<u32>,
    log: Option<CsvLog>,
    progress: Progress,
    start: Instant,
    tokens_done: usize,
    total_steps: u64,
    last_loss: f64,
    /// The smallest training loss of the epoch so far, and how many steps
    /// it has had after the run's first (the divergence rule).
    epoch_min_loss: f64,
    epoch_steps: usize,
    save_failures: usize,
    /// Whether this run has written `job.out` yet.
    saved: bool,
}

/// Run the job to its end (epochs, steps, time or early stop); the final
/// checkpoint is written to `job.out`.
pub fn run(job: Job) -> Result<Outcome> {
    let s = &job.state.settings;
    if job.state.epoch >= s.epochs {
        return Err(Error::Data(format!(
            "the run has finished all its {} epochs; nothing to resume (to train on from its weights: --init)",
            s.epochs
        )));
    }
    let batches = Batches::new(job.train_ids.len(), s.batch, s.seq_len)?;
    let total_steps = job.max_steps.unwrap_or((s.epochs * batches.chunks()) as u64);
    let log = match &job.log {
        Some(p) => Some(CsvLog::open(p, job.state.step > 0)?),
        None => None,
    };
    let kernel = Gemm::<f32>::new().kernel();
    let mut t = Trainer {
        ws: Shards::new(kernel, job.threads),
        valid_ws: Shards::for_eval(kernel, job.threads),
        grads: Params::zeros(&job.model.params.config),
        inputs: Vec::new(),
        targets: Vec::new(),
        log,
        progress: Progress::new(job.quiet),
        start: Instant::now(),
        tokens_done: 0,
        total_steps,
        last_loss: f64::NAN,
        epoch_min_loss: f64::INFINITY,
        epoch_steps: 0,
        save_failures: 0,
        saved: false,
        batches,
        job,
    };
    let mut valid_nats = None;
    let mut stopped_early = false;
    let mut epochs_done = t.job.state.epoch;
    'epochs: while t.job.state.epoch < t.job.state.settings.epochs {
        while t.job.state.chunk < t.batches.chunks() {
            if t.out_of_budget() {
                break 'epochs;
            }
            t.step()?;
        }
        epochs_done = t.job.state.epoch + 1;
        if let Some((nats, decision)) = t.end_of_epoch()? {
            valid_nats = Some(nats);
            if decision == Decision::Stop {
                stopped_early = true;
                break;
            }
        }
    }
    t.finish(epochs_done, valid_nats, stopped_early)
}

impl Trainer {
    fn out_of_budget(&self) -> bool {
        self.job.max_steps.is_some_and(|m| self.job.state.step >= m)
            || self
                .job
                .max_seconds
                .is_some_and(|t| self.start.elapsed().as_secs_f64() >= t)
    }

    /// "WHAT; the last checkpoint PATH is kept — lower --lr or set --clip",
    /// naming a checkpoint only where one exists.
    fn numeric_error(&self, what: String) -> Error {
        let out = self.job.out.display();
        let kept = if self.saved {
            format!("the last checkpoint {out} is kept")
        } else if self.job.out.exists() {
            format!("{out} is as it was before this run")
        } else {
            "no checkpoint was saved".to_string()
        };
        Error::Numeric(format!("{what}; {kept} — lower --lr or set --clip"))
    }

    /// The divergence rule, at each step: a training loss above the
    /// uniform model's ln V at every step of a whole epoch (the run's very
    /// first step, taken before any update, does not count) means the
    /// model has learnt nothing or has been thrown away by its updates.
    /// An untrained model sits within about 0.2 nats of ln V (its logits
    /// start small), so a short epoch is judged only when its losses stay
    /// more than [`DIVERGED_MARGIN_NATS`] above; an epoch of at least
    /// [`DIVERGED_MIN_STEPS`] steps is judged against ln V itself.
    fn note_loss_for_divergence(&mut self, loss: f64) {
        if self.job.state.step > 1 {
            self.epoch_min_loss = self.epoch_min_loss.min(loss);
            self.epoch_steps += 1;
        }
    }

    /// At an epoch end: the error of a diverged run, if it is one — the
    /// training loss above ln V all epoch long, or a validation loss that
    /// is not finite.
    fn diverged(&self, valid_nats: Option<f64>) -> Option<Error> {
        let epoch = self.job.state.epoch;
        let ln_v = (self.job.model.params.config.vocab as f64).ln();
        if let Some(nats) = valid_nats.filter(|n| !n.is_finite()) {
            return Some(self.numeric_error(format!("the run diverged: validation loss {nats} after epoch {epoch}")));
        }
        let judged = (self.epoch_steps >= DIVERGED_MIN_STEPS && self.epoch_min_loss > ln_v)
            || (self.epoch_steps > 0 && self.epoch_min_loss > ln_v + DIVERGED_MARGIN_NATS);
        judged.then(|| {
            self.numeric_error(format!(
                "the run diverged: the training loss stayed above ln V = {ln_v:.4} (the uniform model's) \
                 all through epoch {epoch}, at {:.4} and more",
                self.epoch_min_loss
            ))
        })
    }

    /// One optimizer step on the next chunk ([`take_step`]), then carry h_T
    /// into the next chunk's h_0.
    fn step(&mut self) -> Result<()> {
        let state = &mut self.job.state;
        let s = &state.settings;
        let steps = self
            .batches
            .fill(&self.job.train_ids, state.chunk, &mut self.inputs, &mut self.targets);
        let chunk = Chunk {
            inputs: &self.inputs,
            targets: &self.targets,
            batch: s.batch,
            h0: state.hidden.view(),
        };
        let (step, epoch, lr) = (state.step + 1, state.epoch + 1, state.lr);
        let params = &mut self.job.model.params;
        let mut rng = Rng::from_state(state.rng);
        let mut reg = Regularization {
            dropout: s.dropout,
            weight_decay: s.weight_decay,
            rng: &mut rng,
        };
        let report = take_step(
            params,
            &mut self.grads,
            &mut state.optimizer,
            &mut self.ws,
            chunk,
            lr,
            s.clip,
            &mut reg,
        );
        state.rng = rng.state();
        let loss = match report {
            Ok(r) => r.loss,
            Err(NonFinite::Loss(loss)) => {
                return Err(self.numeric_error(format!("training loss became {loss} at step {step} (epoch {epoch})")))
            }
            Err(NonFinite::GradientNorm(norm)) => {
                return Err(self.numeric_error(format!("gradient norm became {norm} at step {step}")))
            }
            Err(NonFinite::Weights) => {
                return Err(self.numeric_error(format!(
                    "the weights became non-finite at step {step} (learning rate {lr:e})"
                )))
            }
        };
        let carried = state.hidden.as_mut_slice();
        carried.copy_from_slice(&self.ws.last_hidden().data()[..carried.len()]);
        state.chunk += 1;
        state.step += 1;
        self.tokens_done += steps * s.batch;
        self.last_loss = loss;
        self.note_loss_for_divergence(loss);
        self.report_step()
    }

    fn report_step(&mut self) -> Result<()> {
        let state = &self.job.state;
        let secs = self.start.elapsed().as_secs_f64();
        let tps = self.tokens_done as f64 / secs.max(1e-9);
        let loss = self.last_loss;
        let progress = match self.job.max_seconds {
            // A run bounded by time: its budget, not a made-up epoch count.
            Some(budget) => format!("{secs:.0}s of {budget}s, epoch {} step {}", state.epoch + 1, state.step),
            None => {
                let done = state.step as f64 / self.total_steps.max(1) as f64;
                let eta = secs / done.max(1e-9) * (1.0 - done);
                format!(
                    "epoch {}/{} step {}/{} elapsed {secs:.0}s eta {eta:.0}s",
                    state.epoch + 1,
                    state.settings.epochs,
                    state.step,
                    self.total_steps
                )
            }
        };
        self.progress.line(
            &format!("{progress} loss {loss:.4} ppl {:.2} {tps:.0} tok/s", loss.exp()),
            false,
        );
        if let Some(log) = self.log.as_mut() {
            log.step(state.step, state.epoch + 1, state.lr, loss, tps)?;
        }
        if self.job.save_every.is_some_and(|k| state.step.is_multiple_of(k)) {
            self.save_periodic();
        }
        Ok(())
    }

    /// Epoch end: reset the carried state, validate and apply the schedule
    /// (when there is validation text), keep the best model, save. Returns
    /// the validation loss and the schedule's decision.
    fn end_of_epoch(&mut self) -> Result<Option<(f64, Decision)>> {
        let state = &mut self.job.state;
        state.epoch += 1;
        state.chunk = 0;
        state.hidden.fill_zero();
        let mut outcome = None;
        let valid_nats = (!self.job.valid_ids.is_empty())
            .then(|| validate(&self.job.model.params, &self.job.valid_ids, &mut self.valid_ws).1);
        if let Some(e) = self.diverged(valid_nats) {
            return Err(e);
        }
        (self.epoch_min_loss, self.epoch_steps) = (f64::INFINITY, 0);
        let state = &mut self.job.state;
        if let Some(nats) = valid_nats {
            self.progress.line(
                &format!(
                    "epoch {} valid: ppl {:.3} bits/token {:.4} lr {:.3e}",
                    state.epoch,
                    nats.exp(),
                    nats / std::f64::consts::LN_2,
                    state.lr
                ),
                true,
            );
            if nats < state.best_valid {
                self.save_best();
            }
            let state = &mut self.job.state;
            let trained_lr = state.lr;
            let decision = schedule::end_of_epoch(state, &mut self.job.model.params, nats);
            self.progress.line(
                &format!("epoch {}: {}, lr now {:.3e}", state.epoch, decision.name(), state.lr),
                true,
            );
            if let Some(log) = self.log.as_mut() {
                log.epoch_end(state.step, state.epoch, trained_lr, self.last_loss, nats, decision)?;
            }
            outcome = Some((nats, decision));
        }
        if outcome.is_none_or(|(_, d)| d != Decision::Stop) {
            self.save_periodic();
        }
        Ok(outcome)
    }

    fn save(&mut self) -> Result<()> {
        checkpoint::save_parts(&self.job.out, &self.job.model, Some(&self.job.state))?;
        self.saved = true;
        Ok(())
    }

    /// A periodic save (`--save-every`, epoch ends): a failure is reported and
    /// counted, and training goes on — the previous checkpoint is untouched
    /// (atomic write) and the next save tries again. Only the final save is
    /// fatal.
    fn save_periodic(&mut self) {
        if let Err(e) = self.save() {
            self.save_failures += 1;
            eprintln!(
                "rnnlm: warning: could not save the checkpoint at step {} ({} failed so far): {e}; \
                 training goes on and the previous checkpoint is kept",
                self.job.state.step, self.save_failures
            );
        }
    }

    /// `--best`: the model alone, whenever validation reaches a new best.
    fn save_best(&mut self) {
        if let Some(best) = &self.job.best {
            if let Err(e) = checkpoint::save_parts(best, &self.job.model, None) {
                self.save_failures += 1;
                eprintln!("rnnlm: warning: could not save the best model: {e}; the previous one is kept");
            }
        }
    }

    fn finish(mut self, epochs_done: usize, valid_nats: Option<f64>, stopped_early: bool) -> Result<Outcome> {
        if let Some(log) = self.log.as_mut() {
            log.flush()?;
        }
        self.save().map_err(|e| {
            Error::Data(format!(
                "training finished but the final checkpoint could not be saved: {e}"
            ))
        })?;
        self.progress.finish();
        let secs = self.start.elapsed().as_secs_f64();
        Ok(Outcome {
            steps: self.job.state.step,
            epochs_done,
            last_train_loss: self.last_loss,
            valid_nats,
            tokens_per_s: self.tokens_done as f64 / secs.max(1e-9),
            stopped_early,
            model: self.job.model,
        })
    }
}
