//! What a run tells its user as it goes: the progress line on stderr and the
//! learning curve as CSV (`--log`).
//!
//! CSV columns: `step,epoch,lr,train_loss,valid_loss,tokens_per_s,decision`.
//! A step row leaves `valid_loss` and `decision` empty; an epoch-end row
//! repeats the step and the last training loss, gives `valid_loss`, leaves
//! `tokens_per_s` empty and ends with the schedule's decision (`accept`,
//! `reject`, `halve`, `stop`); its `lr` is the rate the epoch trained
//! with. Losses are nats per token.

use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::schedule::Decision;
use crate::error::{Error, Result};

/// The CSV header line (without the newline).
pub const CSV_HEADER: &str = "step,epoch,lr,train_loss,valid_loss,tokens_per_s,decision";

/// The progress line: rewritten in place on a terminal, printed at most every
/// two seconds otherwise (a log file), silent with `--quiet`.
pub struct Progress {
    quiet: bool,
    tty: bool,
    last: Instant,
}

impl Progress {
    pub fn new(quiet: bool) -> Self {
        Progress {
            quiet,
            tty: std::io::stderr().is_terminal(),
            last: Instant::now(),
        }
    }

    /// Show `s`; `keep` leaves it on its own line (epoch ends).
    pub fn line(&mut self, s: &str, keep: bool) {
        if self.quiet {
            return;
        }
        if self.tty {
            eprint!("\r\x1b[2K{s}");
            if keep {
                eprintln!();
            }
        } else if keep {
            eprintln!("{s}");
        } else if self.last.elapsed().as_secs_f64() >= 2.0 {
            // Step lines at most every two seconds, however often epochs end.
            eprintln!("{s}");
            self.last = Instant::now();
        }
    }

    /// End the in-place line, if there is one.
    pub fn finish(&self) {
        if !self.quiet && self.tty {
            eprintln!();
        }
    }
}

/// The learning curve, appended to as the run goes.
pub struct CsvLog {
    path: PathBuf,
    out: BufWriter<File>,
}

impl CsvLog {
    /// Open `path`: appended to when a resumed run (`resuming`) finds it,
    /// otherwise created with the header line.
    pub fn open(path: &Path, resuming: bool) -> Result<Self> {
        let append = resuming && path.exists();
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(append)
            .write(true)
            .truncate(!append)
            .open(path)
            .map_err(|e| Error::io(path, e))?;
        let mut log = CsvLog {
            path: path.to_path_buf(),
            out: BufWriter::new(file),
        };
        if !append {
            log.write(format_args!("{CSV_HEADER}"))?;
        }
        Ok(log)
    }

    fn write(&mut self, row: std::fmt::Arguments) -> Result<()> {
        writeln!(self.out, "{row}").map_err(|e| Error::io(&self.path, e))
    }

    /// A training step's row.
    pub fn step(&mut self, step: u64, epoch: usize, lr: f64, loss: f64, tokens_per_s: f64) -> Result<()> {
        self.write(format_args!("{step},{epoch},{lr},{loss},,{tokens_per_s:.1},"))
    }

    /// An epoch end's row: `lr` is the rate the epoch trained with.
    pub fn epoch_end(
        &mut self,
        step: u64,
        epoch: usize,
        lr: f64,
        last_loss: f64,
        valid: f64,
        decision: Decision,
    ) -> Result<()> {
        let d = decision.name();
        self.write(format_args!("{step},{epoch},{lr},{last_loss},{valid},,{d}"))
    }

    pub fn flush(&mut self) -> Result<()> {
        self.out.flush().map_err(|e| Error::io(&self.path, e))
    }
}
