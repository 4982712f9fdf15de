//! The checkpoint file: a versioned, checksummed binary holding everything a
//! model or a paused training run needs.
//!
//! ```text
//!   offset  size  field
//!   0       8     magic "RNNLMCKP"
//!   8       4     format version (u32 LE) — this build reads VERSION only
//!   12      8     payload length n (u64 LE)
//!   20      n     payload
//!   20+n    8     FNV-1a 64 checksum of the payload (u64 LE)
//! ```
//!
//! Payload, all little-endian: level (u8), vocabulary (count u32, then each
//! token as length u32 + UTF-8), the six tensors (rows u64, cols u64, f32s),
//! then a flag (u8) and, when set, the training state: settings, optimizer
//! state, schedule, RNG state, data position and the carried hidden state.
//!
//! Reading never trusts a length: each is checked against the bytes that
//! remain before anything is allocated. Writing goes to a temporary file in
//! the same folder, synced, then renamed over the target, so a crash leaves
//! either the old file or the new one — never a torn one.

use std::io::Write;
use std::path::Path;

use crate::data::{Level, Vocab};
use crate::error::{Error, Result};
use crate::matrix::Matrix;
use crate::model::{Config, Params};
use crate::train::{Kind, Optimizer};

pub const MAGIC: &[u8; 8] = b"RNNLMCKP";
pub const VERSION: u32 = 1;

/// A trained model: vocabulary and weights.
#[derive(Clone, Debug, PartialEq)]
pub struct Model {
    pub vocab: Vocab,
    pub params: Params<f32>,
}

/// Settings of a training run, fixed for its lifetime (restored on resume).
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    pub batch: usize,
    pub seq_len: usize,
    pub optimizer: Kind,
    pub lr: f64,
    pub clip: f64,
    pub seed: u64,
    pub epochs: usize,
    /// Relative validation improvement below which the rate is halved.
    pub min_improvement: f64,
    /// Non-improving epochs before stopping early.
    pub patience: usize,
}

/// Where a paused run stands.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainState {
    pub settings: Settings,
    pub optimizer: Optimizer,
    /// Current learning rate (after halvings).
    pub lr: f64,
    /// Epoch in progress (0-based) and the next chunk in it.
    pub epoch: usize,
    pub chunk: usize,
    /// Optimizer steps taken.
    pub step: u64,
    pub best_valid: f64,
    pub bad_epochs: usize,
    pub rng: [u64; 4],
    /// The hidden state carried into the next chunk `[B, H]`.
    pub hidden: Matrix<f32>,
}

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
}

/// The bytes of a checkpoint file.
pub fn to_bytes(ck: &Checkpoint) -> Vec<u8> {
    encode(&ck.model, ck.train.as_ref())
}

/// The bytes of a checkpoint file for a model and optional training state
/// (borrowed: saving mid-run copies nothing but the bytes).
pub fn encode(model: &Model, train: Option<&TrainState>) -> Vec<u8> {
    let mut w = Writer(Vec::new());
    w.u8(match model.vocab.level {
        Level::Char => 0,
        Level::Word => 1,
    });
    w.u32(model.vocab.len() as u32);
    for t in model.vocab.tokens() {
        w.str(t);
    }
    w.params(&model.params);
    match train {
        None => w.u8(0),
        Some(s) => {
            w.u8(1);
            let st = &s.settings;
            w.u64(st.batch as u64);
            w.u64(st.seq_len as u64);
            w.u8(st.optimizer as u8);
            w.f64(st.lr);
            w.f64(st.clip);
            w.u64(st.seed);
            w.u64(st.epochs as u64);
            w.f64(st.min_improvement);
            w.u64(st.patience as u64);
            w.u8(s.optimizer.kind as u8);
            w.u64(s.optimizer.t);
            for state in [&s.optimizer.s1, &s.optimizer.s2] {
                match state {
                    None => w.u8(0),
                    Some(p) => {
                        w.u8(1);
                        w.params(p);
                    }
                }
            }
            w.f64(s.lr);
            w.u64(s.epoch as u64);
            w.u64(s.chunk as u64);
            w.u64(s.step);
            w.f64(s.best_valid);
            w.u64(s.bad_epochs as u64);
            for x in s.rng {
                w.u64(x);
            }
            w.matrix(&s.hidden);
        }
    }
    let payload = w.0;
    let mut out = Vec::with_capacity(payload.len() + 28);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(&payload);
    out.extend_from_slice(&fnv1a(&payload).to_le_bytes());
    out
}

/// Write `bytes` to `path` atomically: a temporary file in the same folder,
/// flushed and synced, then renamed over `path`. On failure the temporary
/// file is removed and `path` is untouched.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path.file_name().ok_or_else(|| Error::format(path, "not a file name"))?;
    let tmp = dir.join(format!(".{}.tmp-{}", name.to_string_lossy(), std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(path, e));
    }
    Ok(())
}

/// Save a checkpoint atomically.
pub fn save(path: &Path, ck: &Checkpoint) -> Result<()> {
    write_atomic(path, &to_bytes(ck))
}

// ------------------------------------------------------------------ reading

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

type R<T> = std::result::Result<T, String>;

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> R<&'a [u8]> {
        if n > self.buf.len() - self.pos {
            return Err(format!(
                "truncated: wanted {n} bytes at payload offset {}, {} left",
                self.pos,
                self.buf.len() - self.pos
            ));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    fn u8(&mut self) -> R<u8> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> R<u32> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().unwrap()))
    }
    fn u64(&mut self) -> R<u64> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().unwrap()))
    }
    fn usize(&mut self, what: &str, max: u64) -> R<usize> {
        let v = self.u64()?;
        if v > max {
            return Err(format!("{what} = {v} is out of range (at most {max})"));
        }
        Ok(v as usize)
    }
    fn f64(&mut self) -> R<f64> {
        Ok(f64::from_le_bytes(self.take(8)?.try_into().unwrap()))
    }
    fn left(&self) -> usize {
        self.buf.len() - self.pos
    }
    fn str(&mut self) -> R<String> {
        let n = self.u32()? as usize;
        let bytes = self.take(n)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| format!("token at payload offset {} is not UTF-8", self.pos - n))
    }
    fn matrix(&mut self, what: &str, rows: usize, cols: usize) -> R<Matrix<f32>> {
        let (r, c) = (self.u64()?, self.u64()?);
        if (r, c) != (rows as u64, cols as u64) {
            return Err(format!("{what} is {r} × {c}, the model needs {rows} × {cols}"));
        }
        let bytes = self.take(rows * cols * 4)?;
        let data = bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
            .collect();
        Ok(Matrix::from_vec(rows, cols, data))
    }
    fn params(&mut self, cfg: Config) -> R<Params<f32>> {
        let mut p = Params::zeros(cfg);
        let names = crate::model::TENSOR_NAMES;
        for (name, t) in names.iter().zip(p.tensors_mut()) {
            *t = self.matrix(name, t.rows(), t.cols())?;
        }
        Ok(p)
    }
    /// Read the config: dimensions from the first tensors' headers, each
    /// capped by the bytes left so no allocation can exceed the file.
    fn config(&mut self, vocab: usize) -> R<Config> {
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
        let h = u64::from_le_bytes(self.buf[self.pos + skip..self.pos + skip + 8].try_into().unwrap());
        if h == 0 || h > left {
            return Err(format!("hidden width {h} is impossible for a file of this size"));
        }
        let cfg = Config {
            vocab,
            embed: d as usize,
            hidden: h as usize,
        };
        // All six tensors must fit in what is left, before any is allocated.
        let (v, d, h) = (vocab as u128, d as u128, h as u128);
        let need = (v * d + h * d + h * h + h + v * h + v) * 4;
        if need > self.left() as u128 {
            return Err(format!(
                "tensors of V={vocab} D={d} H={h} need {need} bytes, only {} are left (corrupt or truncated)",
                self.left()
            ));
        }
        Ok(cfg)
    }
}

/// Parse checkpoint bytes; the error says what is wrong and where.
pub fn from_bytes(bytes: &[u8]) -> R<Checkpoint> {
    if bytes.len() < 8 || &bytes[..8] != MAGIC {
        return Err("not an rnnlm checkpoint (bad magic number)".into());
    }
    if bytes.len() < 20 {
        return Err(format!("truncated header: {} bytes", bytes.len()));
    }
    let version = u32::from_le_bytes(bytes[8..12].try_into().unwrap());
    if version != VERSION {
        return Err(format!(
            "checkpoint format version {version}; this build reads version {VERSION} only"
        ));
    }
    let n = u64::from_le_bytes(bytes[12..20].try_into().unwrap());
    if n != bytes.len().saturating_sub(28) as u64 || bytes.len() < 28 {
        return Err(format!(
            "payload length {n} does not match the file size of {} bytes (truncated?)",
            bytes.len()
        ));
    }
    let payload = &bytes[20..20 + n as usize];
    let sum = u64::from_le_bytes(bytes[20 + n as usize..].try_into().unwrap());
    if fnv1a(payload) != sum {
        return Err("checksum mismatch: the file is corrupt".into());
    }
    let mut r = Reader { buf: payload, pos: 0 };
    let level = match r.u8()? {
        0 => Level::Char,
        1 => Level::Word,
        x => return Err(format!("unknown level tag {x}")),
    };
    let count = r.u32()? as usize;
    if count == 0 || count > r.left() / 4 {
        return Err(format!("vocabulary size {count} is impossible for a file of this size"));
    }
    let mut tokens = Vec::with_capacity(count);
    for _ in 0..count {
        tokens.push(r.str()?);
    }
    let vocab = Vocab::from_tokens(level, tokens);
    if vocab.len() != count {
        return Err("the vocabulary repeats a token".into());
    }
    let cfg = r.config(count)?;
    let params = r.params(cfg)?;
    let train = match r.u8()? {
        0 => None,
        1 => {
            let big = u32::MAX as u64;
            let batch = r.usize("batch", big)?;
            let seq_len = r.usize("seq_len", big)?;
            let kind = |x: u8| match x {
                0 => Ok(Kind::Sgd),
                1 => Ok(Kind::Adagrad),
                2 => Ok(Kind::Adam),
                x => Err(format!("unknown optimizer tag {x}")),
            };
            let settings = Settings {
                batch,
                seq_len,
                optimizer: kind(r.u8()?)?,
                lr: r.f64()?,
                clip: r.f64()?,
                seed: r.u64()?,
                epochs: r.usize("epochs", big)?,
                min_improvement: r.f64()?,
                patience: r.usize("patience", big)?,
            };
            let okind = kind(r.u8()?)?;
            let t = r.u64()?;
            let mut states = [None, None];
            for s in states.iter_mut() {
                *s = match r.u8()? {
                    0 => None,
                    1 => Some(r.params(cfg)?),
                    x => return Err(format!("bad optimizer-state flag {x}")),
                };
            }
            let [s1, s2] = states;
            let optimizer = Optimizer { kind: okind, s1, s2, t };
            let want = Optimizer::new(okind, &params);
            if optimizer.s1.is_some() != want.s1.is_some() || optimizer.s2.is_some() != want.s2.is_some() {
                return Err(format!("optimizer state does not match a {} optimizer", okind.name()));
            }
            let lr = r.f64()?;
            let epoch = r.usize("epoch", big)?;
            let chunk = r.usize("chunk", big)?;
            let step = r.u64()?;
            let best_valid = r.f64()?;
            let bad_epochs = r.usize("bad_epochs", big)?;
            let rng = [r.u64()?, r.u64()?, r.u64()?, r.u64()?];
            if batch == 0 || batch > r.left() {
                return Err(format!("batch {batch} is impossible for a file of this size"));
            }
            let hidden = r.matrix("hidden state", batch, cfg.hidden)?;
            Some(TrainState {
                settings,
                optimizer,
                lr,
                epoch,
                chunk,
                step,
                best_valid,
                bad_epochs,
                rng,
                hidden,
            })
        }
        x => return Err(format!("bad training-state flag {x}")),
    };
    if r.left() != 0 {
        return Err(format!("{} unexpected bytes after the data", r.left()));
    }
    Ok(Checkpoint {
        model: Model { vocab, params },
        train,
    })
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

    fn sample(train: bool) -> Checkpoint {
        let vocab = Vocab::build("hello 세계", Level::Char, 1, 100);
        let cfg = Config {
            vocab: vocab.len(),
            embed: 3,
            hidden: 4,
        };
        let params = Params::init(cfg, &mut Rng::new(1));
        let train = train.then(|| TrainState {
            settings: Settings {
                batch: 2,
                seq_len: 5,
                optimizer: Kind::Adam,
                lr: 0.01,
                clip: 5.0,
                seed: 3,
                epochs: 4,
                min_improvement: 0.003,
                patience: 2,
            },
            optimizer: Optimizer::new(Kind::Adam, &params),
            lr: 0.005,
            epoch: 1,
            chunk: 7,
            step: 99,
            best_valid: 1.5,
            bad_epochs: 1,
            rng: [1, 2, 3, 4],
            hidden: Matrix::filled(2, 4, 0.25),
        });
        Checkpoint {
            model: Model { vocab, params },
            train,
        }
    }

    #[test]
    fn round_trips_with_and_without_training_state() {
        for t in [false, true] {
            let ck = sample(t);
            assert_eq!(from_bytes(&to_bytes(&ck)).unwrap(), ck);
        }
    }

    #[test]
    fn every_truncation_and_a_flipped_byte_are_refused() {
        let bytes = to_bytes(&sample(true));
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
    fn another_version_names_the_readable_one() {
        let mut bytes = to_bytes(&sample(false));
        bytes[8] = 9;
        let e = from_bytes(&bytes).unwrap_err();
        assert!(e.contains("version 9") && e.contains("version 1"), "{e}");
    }
}
