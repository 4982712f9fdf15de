//! Helpers shared by the tests that run the `rnnlm` binary.
#![allow(dead_code)] // each test file uses its own subset

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
