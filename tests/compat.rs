//! Checkpoints written by the previous build (format version 1, made as
//! `tests/data/README.md` says) load, evaluate and resume in this build,
//! which writes version 2.

mod common;
use common::*;

use std::path::{Path, PathBuf};

use rnnlm::train::checkpoint;
use rnnlm::train::{Optimizer, OptimizerKind};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name)
}

#[test]
fn version_1_checkpoints_load_with_their_training_state() {
    for (file, kind) in [
        ("v1-adam.ckpt", OptimizerKind::Adam),
        ("v1-sgd.ckpt", OptimizerKind::Sgd),
    ] {
        let bytes = std::fs::read(data(file)).unwrap();
        assert_eq!(&bytes[8..12], &1u32.to_le_bytes(), "{file} is a version-1 file");
        let ck = checkpoint::load(&data(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        let c = ck.model.params.config;
        assert_eq!((c.embed, c.hidden), (4, 6), "{file}");
        let state = ck.train.expect("saved mid-run");
        assert_eq!((state.step, state.settings.batch, state.settings.seq_len), (3, 2, 8));
        assert_eq!(state.optimizer.kind(), kind);
        if let Optimizer::Adam { t, .. } = state.optimizer {
            assert_eq!(t, 3, "Adam's step count carries over");
        }
        assert_eq!(state.hidden.shape(), (2, 6));
    }
}

/// The version-1 build's own `eval` on the same file, with the portable
/// kernel (whose results do not depend on the CPU): the same number to the
/// bit.
#[test]
fn a_version_1_model_evaluates_to_what_the_version_1_build_said() {
    let o = bin()
        .env("RNNLM_KERNEL", "portable")
        .args(["eval", "--json", "--model"])
        .arg(data("v1-adam.ckpt"))
        .arg("--corpus")
        .arg(data("v1-corpus.txt"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let nats = json_number(&String::from_utf8(o.stdout).unwrap(), "nats_per_token");
    assert_eq!(nats, 2.8202594373024668);
}

/// Resuming a version-1 run continues the version-1 build's run (portable
/// kernel, steps 3 → 5) and saves version 2.
///
/// Not to the bit: this build sums a step's gradient over two fixed shards
/// of the streams (`model::shards`), the version-1 build over all streams at
/// once, so the float sums round differently: the weights come out ~1e-9
/// apart. The bound, 1e-6, is over 1000× under what the two steps move the
/// weights (4e-3: Adam moves an entry by up to lr = 2e-3 per step), so a
/// state resumed wrongly — moments, step count, carried hidden state,
/// position in the data — cannot pass. (v, Adam's second moment, is ~1e-4
/// at most, hence its own bound.)
#[test]
fn a_version_1_run_resumes_where_the_version_1_build_went() {
    let dir = tmpdir("compat");
    let out = dir.join("run.ckpt");
    std::fs::copy(data("v1-adam.ckpt"), &out).unwrap();
    let o = bin()
        .env("RNNLM_KERNEL", "portable")
        .args(["train", "--quiet", "--steps", "5", "--resume"])
        .arg(&out)
        .arg("--corpus")
        .arg(data("v1-corpus.txt"))
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(&std::fs::read(&out).unwrap()[8..12], &checkpoint::VERSION.to_le_bytes());
    let start = checkpoint::load(&data("v1-adam.ckpt")).unwrap();
    let ours = checkpoint::load(&out).unwrap();
    let theirs = checkpoint::load(&data("v1-adam-resumed-to-step-5-portable.ckpt")).unwrap();
    let max_diff = |a: &rnnlm::model::Params<f32>, b: &rnnlm::model::Params<f32>| {
        a.tensors()
            .iter()
            .zip(b.tensors())
            .map(|(x, y)| x.max_abs_diff(y))
            .fold(0.0, f64::max)
    };
    let moved = max_diff(&start.model.params, &theirs.model.params);
    let apart = max_diff(&ours.model.params, &theirs.model.params);
    assert!(moved > 1e-3, "the two steps must move the weights: {moved}");
    assert!(
        apart < 1e-6,
        "weights after resuming differ by {apart} (the steps moved them by {moved})"
    );
    assert_eq!(ours.model.vocab, theirs.model.vocab);
    let (a, b) = (ours.train.unwrap(), theirs.train.unwrap());
    assert_eq!((a.step, a.epoch, a.chunk, a.rng), (b.step, b.epoch, b.chunk, b.rng));
    assert_eq!((a.lr, a.settings), (b.lr, b.settings));
    assert!(a.hidden.max_abs_diff(&b.hidden) < 1e-6, "carried hidden state differs");
    match (&a.optimizer, &b.optimizer) {
        (Optimizer::Adam { m, v, t }, Optimizer::Adam { m: m2, v: v2, t: t2 }) => {
            assert_eq!(t, t2);
            assert!(
                max_diff(m, m2) < 1e-6 && max_diff(v, v2) < 1e-9,
                "Adam's moments differ"
            );
        }
        other => panic!("optimizer changed kind: {other:?}"),
    }
}
