//! Interoperability with NumPy / PyTorch: `rnnlm export` and `rnnlm import`.
//!
//! A model folder holds one `.npy` file per tensor (NumPy format 1.0,
//! little-endian f32 `<f4`, C order, the shapes of the equations),
//! `vocab.json` (the token strings in id order) and `config.json`
//! (`{"level", "vocab_size", "embed_dim", "hidden_dim", "classes"}`). A
//! classed model (`"classes": C > 0`) also has `W_c.npy` (`[C, H]`),
//! `b_c.npy` (`[C]`) and `class_of.npy` (`<i4`, `[V]`: the class of each
//! id). A tied model (`--tie`) writes `"tied": true` and `E.npy` and
//! `W_y.npy` equal; import refuses `"tied": true` when the two differ,
//! naming W_y.npy and the first entry that differs. Import takes any
//! `class_of` whose values are in `0..C` with every
//! class used; it renumbers the vocabulary so that each class is a
//! contiguous block of ids (the model computes the same probabilities),
//! and keeps the folder's numbering for `export`, which gives back the
//! same `vocab.json` and byte-identical `.npy` files.
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
use crate::model::{Classes, Config, Model, Params, TENSOR_NAMES};

/// The shape each tensor has in the equations (1-D biases).
fn eq_shape(t: &Matrix<f32>, name: &str) -> Vec<usize> {
    if name.starts_with("b_") {
        vec![t.cols()]
    } else {
        vec![t.rows(), t.cols()]
    }
}

/// The rows of a tensor with a vocabulary axis (E, W_y, b_y's entries) in
/// the user's id order: row i is the model's row `order[i]`.
fn in_user_order(t: &Matrix<f32>, name: &str, order: Option<&[u32]>) -> Vec<f32> {
    let by_id = match name {
        "E" | "W_y" => t.rows(),
        "b_y" => t.cols(),
        _ => 0,
    };
    match order {
        Some(order) if by_id > 0 => {
            let width = t.as_slice().len() / by_id;
            order
                .iter()
                .flat_map(|&id| &t.as_slice()[id as usize * width..(id as usize + 1) * width])
                .copied()
                .collect()
        }
        _ => t.as_slice().to_vec(),
    }
}

/// `rnnlm export`: write a model folder from a checkpoint, its ids in the
/// user's order when an import renumbered them (`Model::export_order`).
pub fn export(model: &Model, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let config = &model.params.config;
    let classes = &config.classes;
    let order = model.export_order.as_deref();
    let ids: Vec<u32> = match order {
        Some(o) => o.to_vec(),
        None => (0..config.vocab as u32).collect(),
    };
    // W_c and b_c only for a classed model.
    let stored = if classes.is_none() { 6 } else { TENSOR_NAMES.len() };
    for (name, t) in TENSOR_NAMES.iter().zip(model.params.tensors()).take(stored) {
        let path = dir.join(format!("{name}.npy"));
        write_atomic(&path, &npy_bytes(&eq_shape(t, name), &in_user_order(t, name, order)))?;
    }
    if !classes.is_none() {
        let class_of: Vec<i32> = ids.iter().map(|&id| classes.class_of(id as usize) as i32).collect();
        write_atomic(&dir.join("class_of.npy"), &npy_bytes(&[config.vocab], &class_of))?;
    }
    let tokens = Json::Array(ids.iter().map(|&id| Json::from(model.vocab.token(id))).collect());
    write_atomic(&dir.join("vocab.json"), format!("{tokens}\n").as_bytes())?;
    let config = Json::object([
        ("level", Json::from(model.vocab.level.name())),
        ("vocab_size", Json::from(config.vocab)),
        ("embed_dim", Json::from(config.embed)),
        ("hidden_dim", Json::from(config.hidden)),
        ("classes", Json::from(classes.count())),
        ("tied", Json::Bool(config.tied)),
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

/// What `config.json` says.
struct ImportConfig {
    level: Level,
    /// V, D, H, C.
    vocab: usize,
    embed: usize,
    hidden: usize,
    classes: usize,
    tied: bool,
}

/// Read `name` from `read` as JSON, naming the file on error.
fn read_json(dir: &Path, read: &mut dyn FnMut(&str) -> Result<Vec<u8>>, name: &str) -> Result<Json> {
    let path = dir.join(name);
    let text = String::from_utf8(read(name)?).map_err(|e| Error::Utf8 {
        path: path.clone(),
        offset: e.utf8_error().valid_up_to(),
    })?;
    json::parse(&text).map_err(|m| Error::format(&path, m))
}

/// `config.json`: level, sizes, classes (0 when absent: folders written
/// before classes existed) and the tie (false when absent).
fn read_config(dir: &Path, read: &mut dyn FnMut(&str) -> Result<Vec<u8>>) -> Result<ImportConfig> {
    let cpath = dir.join("config.json");
    let cfg = read_json(dir, read, "config.json")?;
    if !matches!(cfg, Json::Object(_)) {
        return Err(Error::format(&cpath, "expected a JSON object"));
    }
    let size = |key: &str, min: f64| -> Result<usize> {
        match cfg.get(key) {
            Some(Json::Number(x)) if *x >= min && x.fract() == 0.0 && *x < 1e9 => Ok(*x as usize),
            Some(v) => Err(Error::format(
                &cpath,
                format!("{key} must be a whole number of at least {min}, not {v}"),
            )),
            None => Err(Error::format(&cpath, format!("missing key \"{key}\""))),
        }
    };
    let level = match cfg.get("level") {
        Some(Json::String(s)) => Level::parse(s).ok_or_else(|| {
            Error::format(
                &cpath,
                format!("level must be \"char\", \"jamo\" or \"word\", not {s:?}"),
            )
        })?,
        _ => {
            return Err(Error::format(
                &cpath,
                "missing key \"level\" (\"char\", \"jamo\" or \"word\")",
            ))
        }
    };
    let (vocab, embed, hidden) = (
        size("vocab_size", 1.0)?,
        size("embed_dim", 1.0)?,
        size("hidden_dim", 1.0)?,
    );
    let classes = match cfg.get("classes") {
        None => 0,
        Some(_) => size("classes", 0.0)?,
    };
    if classes > vocab {
        return Err(Error::format(
            &cpath,
            format!("{classes} classes for vocab_size {vocab}"),
        ));
    }
    let tied = match cfg.get("tied") {
        None | Some(Json::Bool(false)) => false,
        Some(Json::Bool(true)) => true,
        Some(other) => {
            return Err(Error::format(
                &cpath,
                format!("tied must be true or false, not {other}"),
            ))
        }
    };
    if tied && embed != hidden {
        return Err(Error::format(
            &cpath,
            format!("\"tied\": true needs embed_dim = hidden_dim (E and W_y are one matrix), not {embed} and {hidden}"),
        ));
    }
    Ok(ImportConfig {
        level,
        vocab,
        embed,
        hidden,
        classes,
        tied,
    })
}

/// `vocab.json`: V distinct strings.
fn read_vocab(dir: &Path, read: &mut dyn FnMut(&str) -> Result<Vec<u8>>, cfg: &ImportConfig) -> Result<Vocab> {
    let vpath = dir.join("vocab.json");
    let Json::Array(items) = read_json(dir, read, "vocab.json")? else {
        return Err(Error::format(&vpath, "expected a JSON array of strings"));
    };
    let tokens = items
        .into_iter()
        .map(|v| match v {
            Json::String(s) => Ok(s),
            other => Err(Error::format(&vpath, format!("expected strings only, found {other}"))),
        })
        .collect::<Result<Vec<_>>>()?;
    if tokens.len() != cfg.vocab {
        return Err(Error::format(
            &vpath,
            format!("{} tokens, config.json says vocab_size {}", tokens.len(), cfg.vocab),
        ));
    }
    let vocab = Vocab::from_tokens(cfg.level, tokens);
    if vocab.len() != cfg.vocab {
        return Err(Error::format(&vpath, "a token appears twice"));
    }
    Ok(vocab)
}

/// `NAME.npy` as a matrix of shape `want` (a bias as one row), every
/// entry finite. The array is built only after its shape matched the
/// config, so a huge size in config.json allocates nothing.
fn read_array(
    dir: &Path,
    read: &mut dyn FnMut(&str) -> Result<Vec<u8>>,
    name: &str,
    want: Vec<usize>,
) -> Result<Matrix<f32>> {
    let file = format!("{name}.npy");
    let path = dir.join(&file);
    let (shape, data) = parse_npy::<f32>(&read(&file)?).map_err(|m| Error::format(&path, m))?;
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
    Ok(Matrix::from_vec(rows, *want.last().expect("shape"), data))
}

/// A tied folder's E and W_y must be equal: the first entry that is not
/// is named, in W_y.npy.
fn check_tie(dir: &Path, params: &Params<f32>) -> Result<()> {
    let h = params.config.hidden;
    let (e, w_y) = (params.e.as_slice(), params.w_y.as_slice());
    match e.iter().zip(w_y).position(|(a, b)| a != b) {
        None => Ok(()),
        Some(i) => Err(Error::format(
            &dir.join("W_y.npy"),
            format!(
                "config.json says \"tied\": true, but W_y[{}, {}] = {} differs from E[{0}, {1}] = {}",
                i / h,
                i % h,
                w_y[i],
                e[i]
            ),
        )),
    }
}

/// [`import`] with the files supplied by `read(name)` (tests feed it
/// corrupted bytes); `dir` only names the files in messages.
pub fn import_with(dir: &Path, read: &mut dyn FnMut(&str) -> Result<Vec<u8>>) -> Result<Model> {
    let cfg = read_config(dir, read)?;
    let vocab = read_vocab(dir, read, &cfg)?;
    let (v, d, h, c) = (cfg.vocab, cfg.embed, cfg.hidden, cfg.classes);
    let params = Params {
        config: Config {
            tied: cfg.tied,
            ..Config::full(v, d, h)
        },
        e: read_array(dir, read, "E", vec![v, d])?,
        w_x: read_array(dir, read, "W_x", vec![h, d])?,
        w_h: read_array(dir, read, "W_h", vec![h, h])?,
        b_h: read_array(dir, read, "b_h", vec![h])?,
        w_y: read_array(dir, read, "W_y", vec![v, h])?,
        b_y: read_array(dir, read, "b_y", vec![v])?,
        w_c: Matrix::zeros(0, h),
        b_c: Matrix::zeros(1, 0),
    };
    if cfg.tied {
        check_tie(dir, &params)?;
    }
    let mut model = Model::new(vocab, params);
    if c > 0 {
        let w_c = read_array(dir, read, "W_c", vec![c, h])?;
        let b_c = read_array(dir, read, "b_c", vec![c])?;
        let class_of = read_class_of(dir, read, v, c)?;
        // Make each class a contiguous block of ids: a stable sort by class
        // (the identity for a folder this build exported).
        let mut order: Vec<u32> = (0..v as u32).collect();
        order.sort_by_key(|&id| class_of[id as usize]);
        if order.iter().enumerate().any(|(i, &id)| id as usize != i) {
            // Remember the user's ids for `export`: they follow the tokens.
            model.export_order = Some((0..v as u32).collect());
        }
        model.reorder_vocab(&order);
        let sorted: Vec<usize> = order.iter().map(|&id| class_of[id as usize]).collect();
        let p = &mut model.params;
        p.config.classes = Classes::from_class_of(&sorted).expect("sorted, every class used");
        p.w_c = w_c;
        p.b_c = b_c;
    }
    Ok(model)
}

/// `class_of.npy`: `<i4`, `[V]`, values in `0..C`, every class used.
fn read_class_of(dir: &Path, read: &mut dyn FnMut(&str) -> Result<Vec<u8>>, v: usize, c: usize) -> Result<Vec<usize>> {
    let path = dir.join("class_of.npy");
    let (shape, data) = parse_npy::<i32>(&read("class_of.npy")?).map_err(|m| Error::format(&path, m))?;
    if shape != [v] {
        return Err(Error::format(&path, format!("shape {shape:?}, the config needs [{v}]")));
    }
    let mut used = vec![false; c];
    for (id, &k) in data.iter().enumerate() {
        if k < 0 || k as usize >= c {
            return Err(Error::format(&path, format!("id {id} has class {k}, not in 0..{c}")));
        }
        used[k as usize] = true;
    }
    if let Some(k) = used.iter().position(|&u| !u) {
        return Err(Error::format(
            &path,
            format!("class {k} has no words (config.json says {c} classes)"),
        ));
    }
    Ok(data.into_iter().map(|k| k as usize).collect())
}
