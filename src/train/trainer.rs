//! The training loop: chunks of B streams × T steps, truncated BPTT with the
//! hidden state carried across chunks, an optimizer step per chunk, and at
//! each epoch end a validation pass that drives the learning-rate schedule
//! (halve when validation stops improving — Mikolov's rule — and stop after
//! `patience` such epochs).

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use super::optim::{clip_global_norm, Optimizer};
use crate::checkpoint::{self, Model, Settings, TrainState};
use crate::data::Batches;
use crate::error::{Error, Result};
use crate::matmul::Gemm;
use crate::matrix::Matrix;
use crate::model::{backward, forward, Params, Workspace};
use crate::rng::Rng;

/// Chunk length used by evaluation (one stream, h carried across chunks).
pub const EVAL_CHUNK: usize = 256;

/// Cross-entropy of a model on a token stream: the whole stream is one
/// stream, h_0 = 0, every token after the first predicted once.
/// Returns (predicted tokens, mean nats per token).
pub fn evaluate(params: &Params<f32>, ids: &[u32], ws: &mut Workspace<f32>) -> (usize, f64) {
    let h = params.config.hidden;
    if ids.len() < 2 {
        return (0, f64::NAN);
    }
    let mut state = Matrix::<f32>::zeros(1, h);
    let mut total = 0.0;
    let n = ids.len() - 1;
    for start in (0..n).step_by(EVAL_CHUNK) {
        let end = (start + EVAL_CHUNK).min(n);
        let loss = forward(params, &ids[start..end], &ids[start + 1..end + 1], 1, state.view(), ws);
        total += loss * (end - start) as f64;
        state
            .as_mut_slice()
            .copy_from_slice(ws.last_hidden().data()[..h].as_ref());
    }
    (n, total / n as f64)
}

/// Unigram cross-entropy of `eval` under add-one-smoothed counts of `train`.
pub fn unigram_nats(train: &[u32], eval: &[u32], vocab: usize) -> f64 {
    let mut counts = vec![1.0f64; vocab];
    for &t in train {
        counts[t as usize] += 1.0;
    }
    let total: f64 = counts.iter().sum();
    let preds = &eval[1.min(eval.len())..];
    -preds.iter().map(|&t| (counts[t as usize] / total).ln()).sum::<f64>() / preds.len().max(1) as f64
}

/// Where progress goes.
pub struct Progress {
    pub quiet: bool,
    pub tty: bool,
    pub last: Instant,
}

impl Progress {
    pub fn new(quiet: bool) -> Self {
        use std::io::IsTerminal;
        Progress {
            quiet,
            tty: std::io::stderr().is_terminal(),
            last: Instant::now(),
        }
    }
    fn line(&mut self, s: &str, force: bool) {
        if self.quiet {
            return;
        }
        if self.tty {
            eprint!("\r\x1b[2K{s}");
            if force {
                eprintln!();
            }
        } else if force || self.last.elapsed().as_secs_f64() >= 2.0 {
            eprintln!("{s}");
            self.last = Instant::now();
        }
    }
}

/// A training job, resolved from the command line.
pub struct Job {
    pub model: Model,
    pub state: TrainState,
    pub train_ids: Vec<u32>,
    pub valid_ids: Vec<u32>,
    pub threads: usize,
    /// Stop after this many optimizer steps in all (`--steps`).
    pub max_steps: Option<u64>,
    /// Stop after this many seconds (`--time`).
    pub max_seconds: Option<f64>,
    pub out: Option<PathBuf>,
    pub log: Option<PathBuf>,
    pub save_every: Option<u64>,
    /// Where to keep the best model by validation loss (`--best`).
    pub best: Option<PathBuf>,
    pub quiet: bool,
}

/// What a finished run reports.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub steps: u64,
    pub epochs_done: usize,
    pub last_train_loss: f64,
    pub valid_nats: Option<f64>,
    pub tokens_per_s: f64,
    pub stopped_early: bool,
}

/// Fresh training state for new weights.
pub fn fresh_state(settings: Settings, params: &Params<f32>) -> TrainState {
    TrainState {
        optimizer: Optimizer::new(settings.optimizer, params),
        lr: settings.lr,
        epoch: 0,
        chunk: 0,
        step: 0,
        best_valid: f64::INFINITY,
        bad_epochs: 0,
        rng: Rng::new(settings.seed ^ 0xDA7A).state(),
        hidden: Matrix::zeros(settings.batch, params.config.hidden),
        settings,
    }
}

/// Write the checkpoint (if the job has `--out`).
fn save(job: &Job) -> Result<()> {
    match &job.out {
        Some(out) => checkpoint::write_atomic(out, &checkpoint::encode(&job.model, Some(&job.state))),
        None => Ok(()),
    }
}

/// A periodic save (`--save-every`, epoch ends): a failure is reported and
/// counted, and training goes on — the previous checkpoint is untouched
/// (atomic write) and the next save tries again. Only the final save is fatal.
fn save_periodic(job: &Job, failures: &mut usize) {
    if let Err(e) = save(job) {
        *failures += 1;
        eprintln!(
            "rnnlm: warning: could not save the checkpoint at step {} ({} failed so far): {e}; \
             training goes on and the previous checkpoint is kept",
            job.state.step, failures
        );
    }
}

/// Run the job to its end (epochs, steps, time or early stop).
pub fn run(mut job: Job) -> Result<Outcome> {
    let s = job.state.settings.clone();
    let batches = Batches::new(job.train_ids.len(), s.batch, s.seq_len).ok_or_else(|| {
        Error::Data(format!(
            "the training text has {} tokens, too few for --batch {} (need more than {} tokens); lower --batch",
            job.train_ids.len(),
            s.batch,
            s.batch
        ))
    })?;
    let cfg = job.model.params.config;
    let mut ws = Workspace::new(Gemm::new().with_threads(job.threads));
    let mut eval_ws = Workspace::new(Gemm::new().with_threads(job.threads));
    let mut grads = Params::<f32>::zeros(cfg);
    let mut log = match &job.log {
        Some(p) => {
            let exists = job.state.step > 0 && p.exists();
            let f = std::fs::OpenOptions::new()
                .create(true)
                .append(exists)
                .write(true)
                .truncate(!exists)
                .open(p)
                .map_err(|e| Error::io(p, e))?;
            let mut f = std::io::BufWriter::new(f);
            if !exists {
                writeln!(f, "step,epoch,lr,train_loss,valid_loss,tokens_per_s").map_err(|e| Error::io(p, e))?;
            }
            Some((p.clone(), f))
        }
        None => None,
    };
    let mut progress = Progress::new(job.quiet);
    let (mut inputs, mut targets) = (Vec::new(), Vec::new());
    let start = Instant::now();
    let mut tokens_done = 0usize;
    let chunks = batches.chunks();
    let total_steps = job.max_steps.unwrap_or((s.epochs * chunks) as u64);
    let mut last_loss = f64::NAN;
    let mut valid_nats = None;
    let mut stopped_early = false;
    let mut out_of_budget = false;
    let mut epochs_done = job.state.epoch;
    let mut save_failures = 0usize;

    while job.state.epoch < s.epochs && !out_of_budget {
        while job.state.chunk < chunks {
            if job.max_steps.is_some_and(|m| job.state.step >= m)
                || job.max_seconds.is_some_and(|t| start.elapsed().as_secs_f64() >= t)
            {
                out_of_budget = true;
                break;
            }
            let steps = batches.fill(&job.train_ids, job.state.chunk, &mut inputs, &mut targets);
            grads.fill_zero();
            let params = &mut job.model.params;
            let loss = forward(params, &inputs, &targets, s.batch, job.state.hidden.view(), &mut ws);
            if !loss.is_finite() {
                return Err(Error::Numeric(format!(
                    "training loss became {loss} at step {} (epoch {}); the last checkpoint{} is kept — \
                     lower --lr or set --clip",
                    job.state.step + 1,
                    job.state.epoch + 1,
                    job.out
                        .as_ref()
                        .map(|p| format!(" {}", p.display()))
                        .unwrap_or_default()
                )));
            }
            backward(params, &mut grads, &mut ws);
            let norm = clip_global_norm(&mut grads, s.clip);
            if !norm.is_finite() {
                return Err(Error::Numeric(format!(
                    "gradient norm became {norm} at step {}; the last checkpoint is kept — lower --lr or set --clip",
                    job.state.step + 1
                )));
            }
            job.state.optimizer.step(params, &grads, job.state.lr);
            if !params.all_finite() {
                return Err(Error::Numeric(format!(
                    "the weights became non-finite at step {} (learning rate {:e}); the last checkpoint{} is kept — \
                     lower --lr or set --clip",
                    job.state.step + 1,
                    job.state.lr,
                    job.out
                        .as_ref()
                        .map(|p| format!(" {}", p.display()))
                        .unwrap_or_default()
                )));
            }
            job.state
                .hidden
                .as_mut_slice()
                .copy_from_slice(ws.last_hidden().data()[..s.batch * cfg.hidden].as_ref());
            job.state.chunk += 1;
            job.state.step += 1;
            tokens_done += steps * s.batch;
            last_loss = loss;
            let secs = start.elapsed().as_secs_f64();
            let tps = tokens_done as f64 / secs.max(1e-9);
            let done = job.state.step as f64 / total_steps.max(1) as f64;
            let eta = if let Some(t) = job.max_seconds {
                (t - secs).max(0.0)
            } else {
                secs / done.max(1e-9) * (1.0 - done)
            };
            progress.line(
                &format!(
                    "epoch {}/{} step {}/{} loss {:.4} ppl {:.2} {:.0} tok/s elapsed {:.0}s eta {:.0}s",
                    job.state.epoch + 1,
                    s.epochs,
                    job.state.step,
                    total_steps,
                    loss,
                    loss.exp(),
                    tps,
                    secs,
                    eta.max(0.0)
                ),
                false,
            );
            if let Some((p, f)) = log.as_mut() {
                writeln!(
                    f,
                    "{},{},{},{},,{:.1}",
                    job.state.step,
                    job.state.epoch + 1,
                    job.state.lr,
                    loss,
                    tps
                )
                .map_err(|e| Error::io(p, e))?;
            }
            if job.save_every.is_some_and(|k| job.state.step.is_multiple_of(k)) {
                save_periodic(&job, &mut save_failures);
            }
        }
        if out_of_budget {
            break;
        }
        // Epoch end: validate, schedule, reset the state, save.
        epochs_done = job.state.epoch + 1;
        job.state.epoch += 1;
        job.state.chunk = 0;
        job.state.hidden.fill_zero();
        if !job.valid_ids.is_empty() {
            let (_, nats) = evaluate(&job.model.params, &job.valid_ids, &mut eval_ws);
            valid_nats = Some(nats);
            progress.line(
                &format!(
                    "epoch {} valid: ppl {:.3} bits/token {:.4} lr {:.3e}",
                    epochs_done,
                    nats.exp(),
                    nats / std::f64::consts::LN_2,
                    job.state.lr
                ),
                true,
            );
            if let Some((p, f)) = log.as_mut() {
                writeln!(
                    f,
                    "{},{},{},{},{},",
                    job.state.step, epochs_done, job.state.lr, last_loss, nats
                )
                .map_err(|e| Error::io(p, e))?;
            }
            if nats < job.state.best_valid {
                if let Some(best) = &job.best {
                    if let Err(e) = checkpoint::write_atomic(best, &checkpoint::encode(&job.model, None)) {
                        save_failures += 1;
                        eprintln!("rnnlm: warning: could not save the best model: {e}; the previous one is kept");
                    }
                }
            }
            if nats < job.state.best_valid * (1.0 - s.min_improvement) {
                job.state.best_valid = nats;
                job.state.bad_epochs = 0;
            } else {
                job.state.best_valid = job.state.best_valid.min(nats);
                job.state.bad_epochs += 1;
                job.state.lr *= 0.5;
                if job.state.bad_epochs >= s.patience {
                    stopped_early = true;
                    break;
                }
            }
        }
        save_periodic(&job, &mut save_failures);
    }
    if let Some((p, f)) = log.as_mut() {
        f.flush().map_err(|e| Error::io(p, e))?;
    }
    save(&job).map_err(|e| {
        Error::Data(format!(
            "training finished but the final checkpoint could not be saved: {e}"
        ))
    })?;
    if !job.quiet && progress.tty {
        eprintln!();
    }
    let secs = start.elapsed().as_secs_f64();
    Ok(Outcome {
        steps: job.state.step,
        epochs_done,
        last_train_loss: last_loss,
        valid_nats,
        tokens_per_s: tokens_done as f64 / secs.max(1e-9),
        stopped_early,
    })
}
