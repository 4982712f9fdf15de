//! The checkpoint file: a versioned, checksummed binary holding everything a
//! model or a paused training run needs. It lives beside the training state
//! it stores ([`super::state`]); `eval` and `generate` read its model part.
//!
//! ```text
//!   offset  size  field
//!   0       8     magic "RNNLMCKP"
//!   8       4     format version (u32 LE): this build writes VERSION, reads 1 to 4
//!   12      8     payload length n (u64 LE)
//!   20      n     payload
//!   20+n    8     FNV-1a 64 checksum of the payload (u64 LE)
//! ```
//!
//! Payload, all little-endian:
//!
//! ```text
//!   model     level (u8: 0 char, 1 word, 2 jamo), vocabulary (count u32, then each
//!             token as length u32 + UTF-8); version 2: classes C (u64) and
//!             the C class sizes (u64 each, in id order); the tensors (each
//!             rows u64, cols u64, f32s): E W_x W_h b_h W_y b_y, and in
//!             version 2 W_c b_c ([0, H] and [1, 0] without classes);
//!             version 3: tied u8 (1: E and W_y are one matrix, stored
//!             twice and equal to the bit) after the class sizes;
//!             version 4: after the tensors, the user's id order u8 (0:
//!             none) and when 1, V ids u32 (`Model::export_order`)
//!   flag      u8: 1 if a training state follows
//!   settings  batch u64, seq_len u64, optimizer u8 (0 sgd, 1 adagrad,
//!             2 adam), lr f64, clip f64, seed u64, epochs u64,
//!             min_improvement f64, patience u64; version 2: schedule u8
//!             (0 plateau, 1 mikolov; in version 3, 1 is the mikolov rule
//!             that stops on a gain below min_improvement / 10 and 2 is
//!             mikolov-strict, which version 2's 1 reads as), dropout f64,
//!             weight_decay f64
//!   optimizer version 2: kind u8, then sgd: nothing; adagrad: Σg² (a set
//!             of tensors shaped as the model's); adam: t u64, m, v
//!             version 1: kind u8, t u64, then two (flag u8, six tensors)
//!   progress  lr f64, epoch u64, chunk u64, step u64, best_valid f64,
//!             bad_epochs u64; version 2: halving u8, the dropout RNG state
//!             (four u64), a rollback flag u8 and when set the accepted
//!             epoch's tensors and optimizer state; version 1 has four u64
//!             of an RNG state nothing used, which are skipped
//!   hidden    the carried state [B, H] (rows u64, cols u64, f32s)
//! ```
//!
//! Reading never trusts a length: each is checked against the bytes that
//! remain before anything is allocated, and weights that are not finite are
//! refused with the tensor's name. Writing is atomic ([`write_atomic`]):
//! a crash leaves either the old file or the new one, never a torn one.

use std::path::Path;

use super::optim::{Optimizer, OptimizerKind};
use super::schedule::Schedule;
use super::state::{dropout_rng, Rollback, Settings, TrainState};
use crate::data::{Level, Vocab};
use crate::error::{Error, Result};
use crate::io::fs::write_atomic;
use crate::matrix::Matrix;
use crate::model::{Classes, Config, Model, Params, TENSOR_NAMES};

pub const MAGIC: &[u8; 8] = b"RNNLMCKP";
/// The version this build writes.
pub const VERSION: u32 = 4;
/// The versions this build reads.
pub const READS: [u32; 4] = [1, 2, 3, 4];

/// A checkpoint: a model, and the training state when saved mid-run.
#[derive(Clone, Debug, PartialEq)]
pub struct Checkpoint {
    pub model: Model,
    pub train: Option<TrainState>,
}

/// FNV-1a, 64 bit.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

fn kind_tag(kind: OptimizerKind) -> u8 {
    match kind {
        OptimizerKind::Sgd => 0,
        OptimizerKind::Adagrad => 1,
        OptimizerKind::Adam => 2,
    }
}

// ------------------------------------------------------------------ writing

struct Writer(Vec<u8>);

impl Writer {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn f64(&mut self, v: f64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn str(&mut self, s: &str) {
        self.u32(s.len() as u32);
        self.0.extend_from_slice(s.as_bytes());
    }
    fn matrix(&mut self, m: &Matrix<f32>) {
        self.u64(m.rows() as u64);
        self.u64(m.cols() as u64);
        for x in m.as_slice() {
            self.0.extend_from_slice(&x.to_le_bytes());
        }
    }
    fn params(&mut self, p: &Params<f32>) {
        for t in p.tensors() {
            self.matrix(t);
        }
    }

    fn model(&mut self, model: &Model) {
        self.u8(match model.vocab.level {
            Level::Char => 0,
            Level::Word => 1,
            Level::Jamo => 2,
        });
        self.u32(model.vocab.len() as u32);
        for t in model.vocab.tokens() {
            self.str(t);
        }
        let classes = &model.params.config.classes;
        self.u64(classes.count() as u64);
        for c in 0..classes.count() {
            self.u64(classes.range(c).len() as u64);
        }
        self.u8(u8::from(model.params.config.tied));
        self.params(&model.params);
        match &model.export_order {
            None => self.u8(0),
            Some(order) => {
                self.u8(1);
                for &id in order {
                    self.u32(id);
                }
            }
        }
    }

    fn settings(&mut self, st: &Settings) {
        self.u64(st.batch as u64);
        self.u64(st.seq_len as u64);
        self.u8(kind_tag(st.optimizer));
        self.f64(st.lr);
        self.f64(st.clip);
        self.u64(st.seed);
        self.u64(st.epochs as u64);
        self.f64(st.min_improvement);
        self.u64(st.patience as u64);
        self.u8(match st.schedule {
            Schedule::Plateau => 0,
            Schedule::Mikolov => 1,
            Schedule::MikolovStrict => 2,
        });
        self.f64(st.dropout);
        self.f64(st.weight_decay);
    }

    fn optimizer(&mut self, o: &Optimizer) {
        self.u8(kind_tag(o.kind()));
        match o {
            Optimizer::Sgd => {}
            Optimizer::Adagrad { sum_sq } => self.params(sum_sq),
            Optimizer::Adam { m, v, t } => {
                self.u64(*t);
                self.params(m);
                self.params(v);
            }
        }
    }

    fn train_state(&mut self, s: &TrainState) {
        self.settings(&s.settings);
        self.optimizer(&s.optimizer);
        self.f64(s.lr);
        self.u64(s.epoch as u64);
        self.u64(s.chunk as u64);
        self.u64(s.step);
        self.f64(s.best_valid);
        self.u64(s.bad_epochs as u64);
        self.u8(u8::from(s.halving));
        for x in s.rng {
            self.u64(x);
        }
        match &s.rollback {
            None => self.u8(0),
            Some(back) => {
                self.u8(1);
                self.params(&back.params);
                self.optimizer(&back.optimizer);
            }
        }
        self.matrix(&s.hidden);
    }
}

/// The bytes of a checkpoint file.
pub fn to_bytes(ck: &Checkpoint) -> Vec<u8> {
    encode(&ck.model, ck.train.as_ref())
}

/// The bytes of a checkpoint file for a model and optional training state
/// (borrowed: saving mid-run copies nothing but the bytes).
pub fn encode(model: &Model, train: Option<&TrainState>) -> Vec<u8> {
    let mut w = Writer(Vec::new());
    w.model(model);
    match train {
        None => w.u8(0),
        Some(s) => {
            w.u8(1);
            w.train_state(s);
        }
    }
    seal(VERSION, &w.0)
}

/// A payload in its container: magic, version, length, payload, checksum.
fn seal(version: u32, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 28);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&version.to_le_bytes());
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(payload);
    out.extend_from_slice(&fnv1a(payload).to_le_bytes());
    out
}

/// Save a checkpoint atomically.
pub fn save(path: &Path, ck: &Checkpoint) -> Result<()> {
    write_atomic(path, &to_bytes(ck))
}

/// Save a model and optional training state atomically.
pub fn save_parts(path: &Path, model: &Model, train: Option<&TrainState>) -> Result<()> {
    write_atomic(path, &encode(model, train))
}

// ------------------------------------------------------------------ reading

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    version: u32,
}

/// What reading a checkpoint gives: the value, or a message saying what
/// is wrong with the file (the caller adds its path).
type ReadResult<T> = std::result::Result<T, String>;

/// Largest count or size field accepted in the training state (batch,
/// T, epochs, …): a larger one is a corrupt file, not a run.
const MAX_FIELD: u64 = u32::MAX as u64;

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> ReadResult<&'a [u8]> {
        if n > self.left() {
            return Err(format!(
                "truncated: wanted {n} bytes at payload offset {}, {} left",
                self.pos,
                self.left()
            ));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    fn u8(&mut self) -> ReadResult<u8> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> ReadResult<u32> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().expect("4 bytes")))
    }
    fn u64(&mut self) -> ReadResult<u64> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().expect("8 bytes")))
    }
    fn usize(&mut self, what: &str) -> ReadResult<usize> {
        let v = self.u64()?;
        if v > MAX_FIELD {
            return Err(format!("{what} = {v} is out of range (at most {MAX_FIELD})"));
        }
        Ok(v as usize)
    }
    fn f64(&mut self) -> ReadResult<f64> {
        Ok(f64::from_le_bytes(self.take(8)?.try_into().expect("8 bytes")))
    }
    fn left(&self) -> usize {
        self.buf.len() - self.pos
    }
    fn str(&mut self) -> ReadResult<String> {
        let n = self.u32()? as usize;
        let bytes = self.take(n)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| format!("token at payload offset {} is not UTF-8", self.pos - n))
    }
    fn matrix(&mut self, what: &str, rows: usize, cols: usize) -> ReadResult<Matrix<f32>> {
        let (r, c) = (self.u64()?, self.u64()?);
        if (r, c) != (rows as u64, cols as u64) {
            return Err(format!("{what} is {r} × {c}, the model needs {rows} × {cols}"));
        }
        let bytes = self.take(rows * cols * 4)?;
        let data = bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().expect("4 bytes")))
            .collect();
        Ok(Matrix::from_vec(rows, cols, data))
    }
    fn params(&mut self, cfg: &Config) -> ReadResult<Params<f32>> {
        let mut p = Params::zeros(cfg);
        // Version 1 has the six tensors of the full softmax only.
        let stored = if self.version == 1 { 6 } else { TENSOR_NAMES.len() };
        for (name, t) in TENSOR_NAMES.iter().zip(p.tensors_mut()).take(stored) {
            *t = self.matrix(name, t.rows(), t.cols())?;
        }
        Ok(p)
    }

    /// The class sizes (version 2), checked against the vocabulary.
    fn classes(&mut self, vocab: usize) -> ReadResult<Classes> {
        if self.version == 1 {
            return Ok(Classes::none());
        }
        let c = self.u64()?;
        if c > vocab as u64 {
            return Err(format!("{c} classes for a vocabulary of {vocab}"));
        }
        let mut sizes = Vec::with_capacity(c as usize);
        for _ in 0..c {
            sizes.push(self.u64()?);
        }
        if sizes.contains(&0) || sizes.iter().sum::<u64>() != vocab as u64 * u64::from(c > 0) {
            return Err(format!("class sizes {sizes:?} do not cover the {vocab} tokens"));
        }
        let sizes: Vec<usize> = sizes.into_iter().map(|x| x as usize).collect();
        Ok(if sizes.is_empty() {
            Classes::none()
        } else {
            Classes::from_sizes(&sizes)
        })
    }
    fn kind(&mut self) -> ReadResult<OptimizerKind> {
        match self.u8()? {
            0 => Ok(OptimizerKind::Sgd),
            1 => Ok(OptimizerKind::Adagrad),
            2 => Ok(OptimizerKind::Adam),
            x => Err(format!("unknown optimizer tag {x}")),
        }
    }

    /// Read the config: dimensions from the first tensors' headers, each
    /// capped by the bytes left so no allocation can exceed the file.
    fn config(&mut self, vocab: usize, classes: Classes) -> ReadResult<Config> {
        let save = self.pos;
        let v = self.u64()?;
        let d = self.u64()?;
        self.pos = save;
        if v != vocab as u64 {
            return Err(format!("E has {v} rows but the vocabulary has {vocab} tokens"));
        }
        let left = self.left() as u64 / 4;
        if d == 0 || d > left {
            return Err(format!("embedding width {d} is impossible for a file of this size"));
        }
        // W_x follows E: its header gives H.
        let skip = 16 + (v as usize) * (d as usize) * 4;
        if skip + 16 > self.left() {
            return Err("truncated: the tensors are shorter than their shapes".into());
        }
        let at = self.pos + skip;
        let h = u64::from_le_bytes(self.buf[at..at + 8].try_into().expect("8 bytes"));
        if h == 0 || h > left {
            return Err(format!("hidden width {h} is impossible for a file of this size"));
        }
        let cfg = Config {
            classes,
            ..Config::full(vocab, d as usize, h as usize)
        };
        // All the tensors must fit in what is left, before any is allocated.
        let need = cfg.num_params() as u128 * 4;
        if need > self.left() as u128 {
            return Err(format!(
                "tensors of V={vocab} D={d} H={h} need {need} bytes, only {} are left (corrupt or truncated)",
                self.left()
            ));
        }
        Ok(cfg)
    }

    fn model(&mut self) -> ReadResult<Model> {
        let level = match self.u8()? {
            0 => Level::Char,
            1 => Level::Word,
            2 => Level::Jamo,
            x => return Err(format!("unknown level tag {x}")),
        };
        let count = self.u32()? as usize;
        if count == 0 || count > self.left() / 4 {
            return Err(format!("vocabulary size {count} is impossible for a file of this size"));
        }
        let mut tokens = Vec::with_capacity(count);
        for _ in 0..count {
            tokens.push(self.str()?);
        }
        let vocab = Vocab::from_tokens(level, tokens);
        if vocab.len() != count {
            return Err("the vocabulary repeats a token".into());
        }
        let classes = self.classes(count)?;
        let tied = match self.version {
            1 | 2 => false,
            _ => match self.u8()? {
                0 => false,
                1 => true,
                x => return Err(format!("bad tied flag {x}")),
            },
        };
        let cfg = Config {
            tied,
            ..self.config(count, classes)?
        };
        if tied && cfg.embed != cfg.hidden {
            return Err(format!(
                "a tied model needs D = H, this one has D={} H={}",
                cfg.embed, cfg.hidden
            ));
        }
        let params = self.params(&cfg)?;
        for (name, t) in TENSOR_NAMES.iter().zip(params.tensors()) {
            if let Some(i) = t.as_slice().iter().position(|x| !x.is_finite()) {
                return Err(format!("tensor {name} entry {i} is {}", t.as_slice()[i]));
            }
        }
        if !params.tie_holds() {
            return Err("the model is tied but E and W_y differ".into());
        }
        let export_order = match self.version {
            1..=3 => None,
            _ => self.export_order(count)?,
        };
        Ok(Model {
            export_order,
            ..Model::new(vocab, params)
        })
    }

    /// Version 4's user id order: a flag, then a permutation of `0..count`.
    fn export_order(&mut self, count: usize) -> ReadResult<Option<Vec<u32>>> {
        match self.u8()? {
            0 => return Ok(None),
            1 => {}
            x => return Err(format!("bad id-order flag {x}")),
        }
        if count > self.left() / 4 {
            return Err(format!("an id order of {count} ids needs more bytes than are left"));
        }
        let order = (0..count).map(|_| self.u32()).collect::<ReadResult<Vec<u32>>>()?;
        let mut seen = vec![false; count];
        for &id in &order {
            match seen.get_mut(id as usize) {
                Some(s) if !*s => *s = true,
                _ => return Err(format!("the id order is not a permutation of 0..{count} (id {id})")),
            }
        }
        Ok(Some(order))
    }

    fn settings(&mut self) -> ReadResult<Settings> {
        let mut s = Settings {
            batch: self.usize("batch")?,
            seq_len: self.usize("seq_len")?,
            optimizer: self.kind()?,
            lr: self.f64()?,
            clip: self.f64()?,
            seed: self.u64()?,
            epochs: self.usize("epochs")?,
            min_improvement: self.f64()?,
            patience: self.usize("patience")?,
            // What version 1 runs did.
            schedule: Schedule::Plateau,
            dropout: 0.0,
            weight_decay: 0.0,
        };
        if self.version >= 2 {
            s.schedule = match (self.u8()?, self.version) {
                (0, _) => Schedule::Plateau,
                // Version 2's mikolov stopped at the second small gain:
                // such a run resumes under the rule it started with.
                (1, 2) | (2, 3..) => Schedule::MikolovStrict,
                (1, _) => Schedule::Mikolov,
                (x, _) => return Err(format!("unknown schedule tag {x}")),
            };
            s.dropout = self.f64()?;
            s.weight_decay = self.f64()?;
            let in_range = (0.0..1.0).contains(&s.dropout) && (0.0..f64::INFINITY).contains(&s.weight_decay);
            if !in_range {
                return Err(format!(
                    "dropout {} or weight decay {} out of range",
                    s.dropout, s.weight_decay
                ));
            }
        }
        Ok(s)
    }

    fn optimizer(&mut self, cfg: &Config) -> ReadResult<Optimizer> {
        let kind = self.kind()?;
        if self.version == 1 {
            return self.optimizer_v1(kind, cfg);
        }
        Ok(match kind {
            OptimizerKind::Sgd => Optimizer::Sgd,
            OptimizerKind::Adagrad => Optimizer::Adagrad {
                sum_sq: self.params(cfg)?,
            },
            OptimizerKind::Adam => Optimizer::Adam {
                t: self.u64()?,
                m: self.params(cfg)?,
                v: self.params(cfg)?,
            },
        })
    }

    /// Version 1: a step count, then two optional state tensor sets whose
    /// presence must match the rule (Adagrad: Σg²; Adam: m and v).
    fn optimizer_v1(&mut self, kind: OptimizerKind, cfg: &Config) -> ReadResult<Optimizer> {
        let t = self.u64()?;
        let mut states = [None, None];
        for s in states.iter_mut() {
            *s = match self.u8()? {
                0 => None,
                1 => Some(self.params(cfg)?),
                x => return Err(format!("bad optimizer-state flag {x}")),
            };
        }
        match (kind, states) {
            (OptimizerKind::Sgd, [None, None]) => Ok(Optimizer::Sgd),
            (OptimizerKind::Adagrad, [Some(sum_sq), None]) => Ok(Optimizer::Adagrad { sum_sq }),
            (OptimizerKind::Adam, [Some(m), Some(v)]) => Ok(Optimizer::Adam { m, v, t }),
            (kind, _) => Err(format!("optimizer state does not match a {} optimizer", kind.name())),
        }
    }

    fn train_state(&mut self, cfg: &Config) -> ReadResult<TrainState> {
        let settings = self.settings()?;
        let optimizer = self.optimizer(cfg)?;
        let lr = self.f64()?;
        let epoch = self.usize("epoch")?;
        let chunk = self.usize("chunk")?;
        let step = self.u64()?;
        let best_valid = self.f64()?;
        let bad_epochs = self.usize("bad_epochs")?;
        let (mut halving, mut rng, mut rollback) = (false, [0u64; 4], None);
        if self.version == 1 {
            self.take(4 * 8)?; // an RNG state nothing used
            rng = dropout_rng(settings.seed);
        } else {
            halving = match self.u8()? {
                0 => false,
                1 => true,
                x => return Err(format!("bad halving flag {x}")),
            };
            for x in rng.iter_mut() {
                *x = self.u64()?;
            }
            rollback = match self.u8()? {
                0 => None,
                1 => Some(Rollback {
                    params: self.params(cfg)?,
                    optimizer: self.optimizer(cfg)?,
                }),
                x => return Err(format!("bad rollback flag {x}")),
            };
        }
        let batch = settings.batch;
        if batch == 0 || batch > self.left() {
            return Err(format!("batch {batch} is impossible for a file of this size"));
        }
        let hidden = self.matrix("hidden state", batch, cfg.hidden)?;
        Ok(TrainState {
            settings,
            optimizer,
            lr,
            epoch,
            chunk,
            step,
            best_valid,
            bad_epochs,
            halving,
            rollback,
            rng,
            hidden,
        })
    }
}

/// Check magic, version, length and checksum; return the version and the
/// payload.
fn open_container(bytes: &[u8]) -> ReadResult<(u32, &[u8])> {
    if bytes.len() < 8 || &bytes[..8] != MAGIC {
        return Err("not an rnnlm checkpoint (bad magic number)".into());
    }
    if bytes.len() < 20 {
        return Err(format!("truncated header: {} bytes", bytes.len()));
    }
    let version = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes"));
    if !READS.contains(&version) {
        return Err(format!(
            "checkpoint format version {version}; this build reads versions {}, {} and {}",
            READS[0], READS[1], READS[2]
        ));
    }
    let n = u64::from_le_bytes(bytes[12..20].try_into().expect("8 bytes"));
    if bytes.len() < 28 || n != (bytes.len() - 28) as u64 {
        return Err(format!(
            "payload length {n} does not match the file size of {} bytes (truncated?)",
            bytes.len()
        ));
    }
    let (payload, sum) = bytes[20..].split_at(n as usize);
    if fnv1a(payload) != u64::from_le_bytes(sum.try_into().expect("8 bytes")) {
        return Err("checksum mismatch: the file is corrupt".into());
    }
    Ok((version, payload))
}

/// Parse checkpoint bytes; the error says what is wrong and where.
pub fn from_bytes(bytes: &[u8]) -> ReadResult<Checkpoint> {
    let (version, payload) = open_container(bytes)?;
    let mut r = Reader {
        buf: payload,
        pos: 0,
        version,
    };
    let model = r.model()?;
    let train = match r.u8()? {
        0 => None,
        1 => Some(r.train_state(&model.params.config)?),
        x => return Err(format!("bad training-state flag {x}")),
    };
    if r.left() != 0 {
        return Err(format!("{} unexpected bytes after the data", r.left()));
    }
    Ok(Checkpoint { model, train })
}

/// Load a checkpoint; errors name the file.
pub fn load(path: &Path) -> Result<Checkpoint> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    from_bytes(&bytes).map_err(|m| Error::format(path, m))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    /// A checkpoint with every field set; `v1` keeps to what version 1
    /// could hold (no classes, plateau, no dropout or decay, no rollback).
    fn sample_of(train: Option<OptimizerKind>, v1: bool) -> Checkpoint {
        let vocab = Vocab::build("hello 세계", Level::Char, 1, 100);
        let mut cfg = Config::full(vocab.len(), 3, 4);
        if !v1 {
            cfg.classes = Classes::from_sizes(&[1, 2, vocab.len() - 3]);
        }
        let params = Params::init(&cfg, &mut Rng::new(1));
        let train = train.map(|kind| {
            let settings = Settings {
                batch: 2,
                seq_len: 5,
                optimizer: kind,
                lr: 0.01,
                clip: 5.0,
                seed: 3,
                epochs: 4,
                min_improvement: 0.003,
                patience: 2,
                schedule: if v1 { Schedule::Plateau } else { Schedule::Mikolov },
                dropout: if v1 { 0.0 } else { 0.25 },
                weight_decay: if v1 { 0.0 } else { 1e-5 },
            };
            let mut optimizer = Optimizer::new(kind, &params);
            let mut w = params.clone();
            let all = w.spans(&crate::model::TouchedRows::all());
            optimizer.step(&mut w, &mut params.clone(), 0.1, &all, 1.0, 1); // non-zero state
            TrainState {
                optimizer: optimizer.clone(),
                lr: 0.005,
                epoch: 1,
                chunk: 7,
                step: 99,
                best_valid: 1.5,
                bad_epochs: 1,
                halving: !v1,
                rollback: (!v1).then(|| Rollback {
                    params: params.cast::<f64>().cast(),
                    optimizer: optimizer.clone(),
                }),
                rng: if v1 { dropout_rng(3) } else { [9, 8, 7, 6] },
                hidden: Matrix::filled(2, 4, 0.25),
                ..TrainState::fresh(settings, &params)
            }
        });
        Checkpoint {
            model: Model::new(vocab, params),
            train,
        }
    }

    fn sample(train: Option<OptimizerKind>) -> Checkpoint {
        sample_of(train, false)
    }

    #[test]
    fn round_trips_with_and_without_training_state() {
        let kinds = OptimizerKind::ALL.map(Some);
        for t in [None].into_iter().chain(kinds) {
            let ck = sample(t);
            assert_eq!(from_bytes(&to_bytes(&ck)).unwrap(), ck);
        }
    }

    #[test]
    fn every_truncation_and_a_flipped_byte_are_refused() {
        let bytes = to_bytes(&sample(Some(OptimizerKind::Adam)));
        for len in 0..bytes.len() {
            assert!(from_bytes(&bytes[..len]).is_err(), "truncation to {len} accepted");
        }
        let mut rng = Rng::new(5);
        for _ in 0..500 {
            let mut b = bytes.clone();
            let i = rng.below(b.len());
            b[i] ^= 1 << rng.below(8);
            assert!(from_bytes(&b).is_err(), "flip at {i} accepted");
        }
    }

    #[test]
    fn another_version_names_the_readable_ones() {
        let mut bytes = to_bytes(&sample(None));
        bytes[8] = 9;
        let e = from_bytes(&bytes).unwrap_err();
        assert!(e.contains("version 9") && e.contains("versions 1, 2 and 3"), "{e}");
    }

    /// A weight that is not finite is refused with the tensor's name (as
    /// `import` refuses it), even in a file whose checksum is right.
    #[test]
    fn non_finite_weights_are_refused_naming_the_tensor() {
        let mut ck = sample(None);
        ck.model.params.w_h.set(1, 2, f32::NAN);
        let e = from_bytes(&to_bytes(&ck)).unwrap_err();
        assert!(e.contains("tensor W_h entry 6 is NaN"), "{e}");
        let mut ck = sample(None);
        ck.model.params.b_y.set(0, 0, f32::INFINITY);
        let e = from_bytes(&to_bytes(&ck)).unwrap_err();
        assert!(e.contains("tensor b_y entry 0 is inf"), "{e}");
    }

    /// Version 1 files, written the way the previous build wrote them
    /// (optimizer as a step count plus two optional state sets, then an RNG
    /// state), load into the same checkpoint.
    #[test]
    fn version_1_files_keep_loading() {
        for kind in OptimizerKind::ALL {
            let ck = sample_of(Some(kind), true);
            let s = ck.train.as_ref().unwrap();
            let mut w = Writer(Vec::new());
            // Version 1's model: no classes, the six tensors of the full softmax.
            w.u8(0);
            w.u32(ck.model.vocab.len() as u32);
            for t in ck.model.vocab.tokens() {
                w.str(t);
            }
            let six = |p: &Params<f32>, w: &mut Writer| p.tensors()[..6].iter().for_each(|t| w.matrix(t));
            six(&ck.model.params, &mut w);
            w.u8(1);
            let st = &s.settings;
            for x in [st.batch as u64, st.seq_len as u64] {
                w.u64(x);
            }
            w.u8(kind_tag(st.optimizer));
            w.f64(st.lr);
            w.f64(st.clip);
            w.u64(st.seed);
            w.u64(st.epochs as u64);
            w.f64(st.min_improvement);
            w.u64(st.patience as u64);
            w.u8(kind_tag(kind));
            let (t, s1, s2) = match &s.optimizer {
                Optimizer::Sgd => (1, None, None),
                Optimizer::Adagrad { sum_sq } => (1, Some(sum_sq), None),
                Optimizer::Adam { m, v, t } => (*t, Some(m), Some(v)),
            };
            w.u64(t);
            for state in [s1, s2] {
                match state {
                    None => w.u8(0),
                    Some(p) => {
                        w.u8(1);
                        six(p, &mut w);
                    }
                }
            }
            w.f64(s.lr);
            w.u64(s.epoch as u64);
            w.u64(s.chunk as u64);
            w.u64(s.step);
            w.f64(s.best_valid);
            w.u64(s.bad_epochs as u64);
            for x in [1u64, 2, 3, 4] {
                w.u64(x);
            }
            w.matrix(&s.hidden);
            assert_eq!(from_bytes(&seal(1, &w.0)).unwrap(), ck, "{}", kind.name());
        }
    }

    /// The model section of a char-level model as version 2 (no tied flag)
    /// or version 3 (a tied flag, nothing after the tensors) wrote it.
    fn older_model(w: &mut Writer, model: &Model, version: u32) {
        w.u8(0);
        w.u32(model.vocab.len() as u32);
        for t in model.vocab.tokens() {
            w.str(t);
        }
        let classes = &model.params.config.classes;
        w.u64(classes.count() as u64);
        for c in 0..classes.count() {
            w.u64(classes.range(c).len() as u64);
        }
        if version == 3 {
            w.u8(u8::from(model.params.config.tied));
        }
        w.params(&model.params);
    }

    /// Version 2 files (no tied flag; schedule tag 1 was the toolkit's
    /// mikolov) load, and their runs resume under `mikolov-strict`, the rule
    /// they started with.
    #[test]
    fn version_2_files_load_and_keep_their_stopping_rule() {
        for kind in OptimizerKind::ALL {
            let mut ck = sample_of(Some(kind), false);
            let s = ck.train.as_ref().unwrap();
            assert_eq!(s.settings.schedule, Schedule::Mikolov, "writes tag 1, as version 2 did");
            let mut w = Writer(Vec::new());
            older_model(&mut w, &ck.model, 2);
            w.u8(1);
            w.train_state(s);
            let got = from_bytes(&seal(2, &w.0)).unwrap();
            ck.train.as_mut().unwrap().settings.schedule = Schedule::MikolovStrict;
            assert_eq!(got, ck, "{}", kind.name());
            assert!(!got.model.params.config.tied);
        }
    }

    /// Version 3 keeps the tie and both mikolov rules; a tied file whose
    /// E and W_y differ is refused.
    #[test]
    fn version_3_keeps_the_tie_and_the_rule() {
        let vocab = Vocab::build("hello", Level::Char, 1, 100);
        let cfg = Config {
            tied: true,
            ..Config::full(vocab.len(), 4, 4)
        };
        let params = Params::init(&cfg, &mut Rng::new(1));
        assert_eq!(params.e, params.w_y);
        let mut ck = sample(Some(OptimizerKind::Sgd));
        ck.model = Model::new(vocab, params);
        let st = ck.train.as_mut().unwrap();
        st.rollback = None;
        st.hidden = Matrix::zeros(st.settings.batch, 4);
        st.optimizer = Optimizer::Sgd;
        for schedule in Schedule::ALL {
            ck.train.as_mut().unwrap().settings.schedule = schedule;
            assert_eq!(from_bytes(&to_bytes(&ck)).unwrap(), ck, "{}", schedule.name());
        }
        ck.model.params.w_y.set(1, 2, 0.5);
        let e = from_bytes(&to_bytes(&ck)).unwrap_err();
        assert!(e.contains("tied") && e.contains("differ"), "{e}");
    }

    /// Version 3 files (no id order after the tensors) load as the model's
    /// own order; version 4 round-trips an id order and refuses one that
    /// is not a permutation.
    #[test]
    fn version_4_keeps_the_users_id_order() {
        let mut ck = sample(None);
        let mut w = Writer(Vec::new());
        older_model(&mut w, &ck.model, 3);
        w.u8(0);
        assert_eq!(from_bytes(&seal(3, &w.0)).unwrap(), ck);

        let v = ck.model.vocab.len() as u32;
        ck.model.export_order = Some((0..v).rev().collect());
        assert_eq!(from_bytes(&to_bytes(&ck)).unwrap(), ck);
        ck.model.export_order = Some(vec![0; v as usize]);
        let e = from_bytes(&to_bytes(&ck)).unwrap_err();
        assert!(e.contains("not a permutation"), "{e}");
    }
}
