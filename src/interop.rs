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

use crate::checkpoint::{self, Checkpoint, Model};
use crate::data::{Level, Vocab};
use crate::error::{Error, Result};
use crate::json::{self, Json};
use crate::matrix::Matrix;
use crate::model::{Config, Params, TENSOR_NAMES};

const NPY_MAGIC: &[u8; 6] = b"\x93NUMPY";

/// The bytes of a `.npy` file (format 1.0) holding `data` with `shape`.
pub fn npy_bytes(shape: &[usize], data: &[f32]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let shape_text = if shape.len() == 1 {
        format!("({},)", dims[0])
    } else {
        format!("({})", dims.join(", "))
    };
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape_text}, }}");
    // Pad with spaces so magic + version + length + header is a multiple of
    // 64 bytes, ending in '\n' (what NumPy itself writes).
    let total = 10 + header.len() + 1;
    header.push_str(&" ".repeat(total.next_multiple_of(64) - total));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + data.len() * 4);
    out.extend_from_slice(NPY_MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for x in data {
        out.extend_from_slice(&x.to_le_bytes());
    }
    out
}

/// The text of header field `key` (`'key': value`), up to the next comma
/// outside parentheses.
fn header_field<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    let at = header.find(&format!("'{key}'"))? + key.len() + 2;
    let rest = header[at..].trim_start().strip_prefix(':')?.trim_start();
    let mut depth = 0i32;
    for (i, c) in rest.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' | '}' if depth == 0 => return Some(rest[..i].trim()),
            _ => {}
        }
    }
    None
}

/// Parse a `.npy` file of little-endian f32 in C order: (shape, data).
pub fn parse_npy(bytes: &[u8]) -> std::result::Result<(Vec<usize>, Vec<f32>), String> {
    if bytes.len() < 10 || &bytes[..6] != NPY_MAGIC {
        return Err("not a .npy file (bad magic)".into());
    }
    let (header_len, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10usize),
        2 | 3 if bytes.len() >= 12 => (u32::from_le_bytes(bytes[8..12].try_into().unwrap()) as usize, 12),
        v => return Err(format!("unsupported .npy version {v}")),
    };
    let header = bytes
        .get(start..start.saturating_add(header_len))
        .ok_or_else(|| format!("truncated header ({header_len} bytes announced)"))?;
    let header = std::str::from_utf8(header).map_err(|_| "header is not text".to_string())?;
    let descr = header_field(header, "descr").ok_or("header has no 'descr'")?;
    if descr != "'<f4'" {
        return Err(format!("dtype is {descr}, expected '<f4' (little-endian float32)"));
    }
    if header_field(header, "fortran_order") != Some("False") {
        return Err("array is in Fortran order; expected C order".into());
    }
    let shape_text = header_field(header, "shape").ok_or("header has no 'shape'")?;
    let inner = shape_text
        .strip_prefix('(')
        .and_then(|s| s.strip_suffix(')'))
        .ok_or_else(|| format!("bad shape {shape_text}"))?;
    let shape = inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<usize>().map_err(|_| format!("bad shape {shape_text}")))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let count = shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or("shape overflows")?;
    let data = &bytes[start + header_len..];
    if Some(data.len()) != count.checked_mul(4) {
        return Err(format!(
            "shape {shape_text} needs {} bytes of data, the file has {}",
            count.saturating_mul(4),
            data.len()
        ));
    }
    let values = data
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect();
    Ok((shape, values))
}

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
        checkpoint::write_atomic(&path, &npy_bytes(&eq_shape(t, name), t.as_slice()))?;
    }
    let tokens: Vec<String> = model.vocab.tokens().iter().map(|t| json::escape(t)).collect();
    checkpoint::write_atomic(&dir.join("vocab.json"), format!("[{}]\n", tokens.join(", ")).as_bytes())?;
    let c = model.params.config;
    let config = format!(
        "{{\"level\": \"{}\", \"vocab_size\": {}, \"embed_dim\": {}, \"hidden_dim\": {}}}\n",
        model.vocab.level.name(),
        c.vocab,
        c.embed,
        c.hidden
    );
    checkpoint::write_atomic(&dir.join("config.json"), config.as_bytes())
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
    let Json::Object(cfg) = read_json("config.json")? else {
        return Err(Error::format(&cpath, "expected a JSON object"));
    };
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

/// Import a folder and save it as a checkpoint (no training state).
pub fn import_to(dir: &Path, out: &Path) -> Result<()> {
    let model = import(dir)?;
    checkpoint::save(out, &Checkpoint { model, train: None })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npy_round_trips_and_is_64_byte_aligned() {
        let data: Vec<f32> = (0..6).map(|x| x as f32 * 0.5).collect();
        for shape in [vec![2, 3], vec![6]] {
            let b = npy_bytes(&shape, &data);
            assert_eq!((b.len() - 24) % 64, 0);
            assert_eq!(parse_npy(&b).unwrap(), (shape, data.clone()));
        }
    }

    #[test]
    fn npy_refuses_wrong_dtype_order_and_length() {
        let b = npy_bytes(&[2, 2], &[1.0; 4]);
        let patch = |from: &[u8], to: &[u8]| {
            let mut c = b.clone();
            let at = c.windows(from.len()).position(|w| w == from).unwrap();
            c[at..at + to.len()].copy_from_slice(to);
            c
        };
        assert!(parse_npy(&patch(b"<f4", b"<f8")).unwrap_err().contains("'<f8'"));
        assert!(parse_npy(&patch(b"False", b"True ")).unwrap_err().contains("Fortran"));
        assert!(parse_npy(&b[..b.len() - 1]).unwrap_err().contains("needs 16 bytes"));
        for len in 0..b.len() {
            assert!(parse_npy(&b[..len]).is_err(), "truncation to {len} accepted");
        }
    }
}
