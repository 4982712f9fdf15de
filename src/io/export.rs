//! Interoperability with NumPy / PyTorch: `rnnlm export` and `rnnlm import`.
//!
//! A model folder holds one `.npy` file per tensor (NumPy format 1.0,
//! little-endian f32 `<f4`, C order, the shapes of the equations),
//! `vocab.json` (the token strings in id order) and `config.json`
//! (`{"level", "vocab_size", "embed_dim", "hidden_dim"}`).
//!
//! ```python
//! import numpy as np, json
//! E = np.load("out/E.npy")            # [V, D]
//! vocab = json.load(open("out/vocab.json"))
//! ```
//!
//! Reading refuses anything unexpected — a missing file, another dtype,
//! Fortran order, a shape that does not match the config, a length that does
//! not match the shape — with a message naming the file.

use std::path::Path;

use super::fs::write_atomic;
use super::json::{self, Json};
use super::npy::{npy_bytes, parse_npy};
use crate::data::{Level, Vocab};
use crate::error::{Error, Result};
use crate::matrix::Matrix;
use crate::model::{Config, Model, Params, TENSOR_NAMES};

/// The shape each tensor has in the equations (1-D biases).
fn eq_shape(t: &Matrix<f32>, name: &str) -> Vec<usize> {
    if name.starts_with("b_") {
        vec![t.cols()]
    } else {
        vec![t.rows(), t.cols()]
    }
}

/// `rnnlm export`: write a model folder from a checkpoint.
pub fn export(model: &Model, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    for (name, t) in TENSOR_NAMES.iter().zip(model.params.tensors()) {
        let path = dir.join(format!("{name}.npy"));
        write_atomic(&path, &npy_bytes(&eq_shape(t, name), t.as_slice()))?;
    }
    let tokens = Json::Array(model.vocab.tokens().iter().map(|t| Json::from(t.as_str())).collect());
    write_atomic(&dir.join("vocab.json"), format!("{tokens}\n").as_bytes())?;
    let c = model.params.config;
    let config = Json::object([
        ("level", Json::from(model.vocab.level.name())),
        ("vocab_size", Json::from(c.vocab)),
        ("embed_dim", Json::from(c.embed)),
        ("hidden_dim", Json::from(c.hidden)),
    ]);
    write_atomic(&dir.join("config.json"), format!("{config}\n").as_bytes())
}

/// `rnnlm import`: build a model from a folder written by [`export`] (or by
/// NumPy / PyTorch in the same layout).
pub fn import(dir: &Path) -> Result<Model> {
    import_with(dir, &mut |name| {
        let path = dir.join(name);
        std::fs::read(&path).map_err(|e| Error::io(&path, e))
    })
}

/// [`import`] with the files supplied by `read(name)` (tests feed it
/// corrupted bytes); `dir` only names the files in messages.
pub fn import_with(dir: &Path, read: &mut dyn FnMut(&str) -> Result<Vec<u8>>) -> Result<Model> {
    let mut read_json = |name: &str| -> Result<Json> {
        let path = dir.join(name);
        let text = String::from_utf8(read(name)?).map_err(|e| Error::Utf8 {
            path: path.clone(),
            offset: e.utf8_error().valid_up_to(),
        })?;
        json::parse(&text).map_err(|m| Error::format(&path, m))
    };
    let cpath = dir.join("config.json");
    let cfg = read_json("config.json")?;
    if !matches!(cfg, Json::Object(_)) {
        return Err(Error::format(&cpath, "expected a JSON object"));
    }
    let size = |key: &str| -> Result<usize> {
        match cfg.get(key) {
            Some(Json::Number(x)) if *x >= 1.0 && x.fract() == 0.0 && *x < 1e9 => Ok(*x as usize),
            Some(v) => Err(Error::format(
                &cpath,
                format!("{key} must be a positive whole number, not {v:?}"),
            )),
            None => Err(Error::format(&cpath, format!("missing key \"{key}\""))),
        }
    };
    let level = match cfg.get("level") {
        Some(Json::String(s)) => Level::parse(s)
            .ok_or_else(|| Error::format(&cpath, format!("level must be \"char\" or \"word\", not {s:?}")))?,
        _ => return Err(Error::format(&cpath, "missing key \"level\" (\"char\" or \"word\")")),
    };
    let config = Config {
        vocab: size("vocab_size")?,
        embed: size("embed_dim")?,
        hidden: size("hidden_dim")?,
    };

    let vpath = dir.join("vocab.json");
    let Json::Array(items) = read_json("vocab.json")? else {
        return Err(Error::format(&vpath, "expected a JSON array of strings"));
    };
    let tokens = items
        .into_iter()
        .map(|v| match v {
            Json::String(s) => Ok(s),
            other => Err(Error::format(&vpath, format!("expected strings only, found {other:?}"))),
        })
        .collect::<Result<Vec<_>>>()?;
    if tokens.len() != config.vocab {
        return Err(Error::format(
            &vpath,
            format!("{} tokens, config.json says vocab_size {}", tokens.len(), config.vocab),
        ));
    }
    let vocab = Vocab::from_tokens(level, tokens);
    if vocab.len() != config.vocab {
        return Err(Error::format(&vpath, "a token appears twice"));
    }

    // Each tensor is built from its file only after its shape matched the
    // config, so a huge size in config.json allocates nothing.
    let (v, d, h) = (config.vocab, config.embed, config.hidden);
    let shapes: [Vec<usize>; 6] = [vec![v, d], vec![h, d], vec![h, h], vec![h], vec![v, h], vec![v]];
    let mut tensors = Vec::with_capacity(6);
    for (name, want) in TENSOR_NAMES.iter().zip(shapes) {
        let file = format!("{name}.npy");
        let path = dir.join(&file);
        let (shape, data) = parse_npy(&read(&file)?).map_err(|m| Error::format(&path, m))?;
        if shape != want {
            return Err(Error::format(
                &path,
                format!("shape {shape:?}, the config needs {want:?}"),
            ));
        }
        if let Some(i) = data.iter().position(|x| !x.is_finite()) {
            return Err(Error::format(&path, format!("entry {i} is {}", data[i])));
        }
        let rows = if want.len() == 1 { 1 } else { want[0] };
        tensors.push(Matrix::from_vec(rows, *want.last().expect("shape"), data));
    }
    let mut it = tensors.into_iter();
    let mut next = || it.next().expect("six tensors");
    let params = Params {
        config,
        e: next(),
        w_x: next(),
        w_h: next(),
        b_h: next(),
        w_y: next(),
        b_y: next(),
    };
    Ok(Model { vocab, params })
}
