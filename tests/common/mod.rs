//! Helpers shared by the tests that run the `rnnlm` binary.
#![allow(dead_code)] // each test file uses its own subset

use std::path::Path;
use std::path::PathBuf;
use std::process::{Command, Output};

/// The `rnnlm` binary built for these tests.
pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_rnnlm"))
}

/// A fresh, empty folder for one test (per test name and process).
pub fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("rnnlm-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A finished command's stderr as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The number under `key` in a JSON object, read with the crate's own parser.
pub fn json_number(json: &str, key: &str) -> f64 {
    let value = rnnlm::io::json::parse(json.trim()).unwrap_or_else(|e| panic!("not JSON ({e}): {json}"));
    match value.get(key) {
        Some(rnnlm::io::json::Json::Number(x)) => *x,
        other => panic!("{key} is {other:?} in {json}"),
    }
}

/// Run a gradient check and assert that it passes, naming the worst entry
/// when it does not; returns the report.
pub fn assert_gradcheck_passes(c: rnnlm::gradcheck::Case) -> rnnlm::gradcheck::Report {
    let report = c.build().check();
    eprintln!("{c:?}\n{report}");
    let worst = report.worst();
    assert!(
        report.passes(rnnlm::gradcheck::THRESHOLD),
        "{}: max relative error {:.3e} at entry {} (analytic {:e}, numeric {:e})",
        worst.name,
        worst.max_rel_error,
        worst.worst,
        worst.analytic,
        worst.numeric
    );
    // The recurrent weights and the embedding always learn something: a
    // zero gradient there would make the check vacuous.
    for t in report.tensors.iter().filter(|t| ["E", "W_x", "W_h"].contains(&t.name)) {
        assert!(
            !t.all_zero(),
            "{}: every gradient entry is zero, nothing was checked",
            t.name
        );
    }
    report
}

/// `rnnlm train --quiet` of a small model (D = 8, H = 16, B = 4) on
/// `corpus` into `out`, with `--seq-len` and anything else the caller adds.
pub fn train_small(corpus: &Path, out: &Path, seq_len: &str) -> Command {
    let mut cmd = bin();
    cmd.args([
        "train",
        "--quiet",
        "--embed",
        "8",
        "--hidden",
        "16",
        "--batch",
        "4",
        "--seq-len",
        seq_len,
    ])
    .arg("--corpus")
    .arg(corpus)
    .arg("--out")
    .arg(out);
    cmd
}

/// `rnnlm eval --json --model MODEL --corpus CORPUS` plus `extra`: its
/// stdout, the run asserted successful.
pub fn eval_json_with(model: &Path, corpus: &Path, extra: &[&std::ffi::OsStr]) -> String {
    let o = bin()
        .args(["eval", "--json", "--model"])
        .arg(model)
        .arg("--corpus")
        .arg(corpus)
        .args(extra)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    String::from_utf8(o.stdout).unwrap()
}

/// The stdout of a command that must succeed (its stderr in the failure).
pub fn ok_stdout(o: Output) -> String {
    assert!(o.status.success(), "{}", stderr(&o));
    String::from_utf8(o.stdout).unwrap()
}

/// Train a small model on `text` with `flags` and export it: (checkpoint,
/// exported folder, corpus).
pub fn train_and_export(dir: &Path, text: &str, flags: &[&str]) -> (PathBuf, PathBuf, PathBuf) {
    let corpus = dir.join("c.txt");
    std::fs::write(&corpus, text).unwrap();
    let ck = dir.join("m.ckpt");
    ok_stdout(
        bin()
            .args(["train", "--quiet"])
            .args(flags)
            .arg("--corpus")
            .arg(&corpus)
            .arg("--out")
            .arg(&ck)
            .output()
            .unwrap(),
    );
    let out = dir.join("exported");
    ok_stdout(
        bin()
            .arg("export")
            .arg("--model")
            .arg(&ck)
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap(),
    );
    (ck, out, corpus)
}
