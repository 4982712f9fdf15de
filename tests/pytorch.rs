//! `docs/pytorch/rnnlm_torch.py`, the script `docs/pytorch.md` walks
//! through, run against real exports: PyTorch's nn.Embedding / nn.RNN /
//! nn.Linear loaded from an `rnnlm export` folder score text as `rnnlm eval`
//! does (1e-4 relative) — char level, word level, and a classed word model
//! through the factorized loss — and the way back (`rnnlm import` of what
//! the script writes, with nn.RNN's bias split in two) evaluates to the
//! same number to the bit.
//!
//! Runs where python3 has PyTorch (`pip install torch numpy`); elsewhere it
//! prints a note and checks nothing. CI does not install PyTorch.

mod common;
use common::*;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn ok(o: Output) -> String {
    assert!(o.status.success(), "{}", stderr(&o));
    String::from_utf8(o.stdout).unwrap()
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/pytorch/rnnlm_torch.py")
}

fn torch_available() -> bool {
    Command::new("python3")
        .args(["-c", "import torch, numpy"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Train a small model on `text` with `flags`, export it: (checkpoint, folder).
fn trained(dir: &Path, text: &str, flags: &[&str]) -> (PathBuf, PathBuf) {
    let corpus = dir.join("c.txt");
    std::fs::write(&corpus, text).unwrap();
    let ck = dir.join("m.ckpt");
    ok(bin()
        .args([
            "train",
            "--quiet",
            "--embed",
            "6",
            "--hidden",
            "10",
            "--batch",
            "4",
            "--seq-len",
            "8",
        ])
        .args(["--steps", "30"])
        .args(flags)
        .arg("--corpus")
        .arg(&corpus)
        .arg("--out")
        .arg(&ck)
        .output()
        .unwrap());
    let out = dir.join("exported");
    ok(bin()
        .arg("export")
        .arg("--model")
        .arg(&ck)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap());
    (ck, out)
}

fn eval_nats(model: &Path, text: &Path) -> (f64, f64) {
    let json = ok(bin()
        .args(["eval", "--json", "--model"])
        .arg(model)
        .arg("--corpus")
        .arg(text)
        .output()
        .unwrap());
    (json_number(&json, "tokens"), json_number(&json, "nats_per_token"))
}

#[test]
fn pytorch_modules_loaded_from_an_export_reproduce_eval_and_go_back() {
    if !torch_available() {
        eprintln!("note: python3 has no PyTorch here; skipping the PyTorch check (pip install torch numpy to run it)");
        return;
    }
    let words = "the cat sat on the mat .\nthe dog sat on the log .\na cat and a dog ran .\n".repeat(40);
    let chars = "the cat sat on the mat. 고양이가 앉았다.\n".repeat(40);
    let cases: [(&str, &str, &[&str], &str); 3] = [
        ("char", &chars, &[], "the dog sat. 고양이 zebra!\n"),
        (
            "word",
            &words,
            &["--level", "word", "--classes", "0"],
            "the cat ran on the log .\na dog and the zebra sat .\n",
        ),
        (
            "classed",
            &words,
            &["--level", "word", "--classes", "3"],
            "the cat ran on the log .\na dog and the zebra sat .\n",
        ),
    ];
    for (name, text, flags, held_out) in cases {
        let dir = tmpdir(&format!("pytorch-{name}"));
        let (ck, out) = trained(&dir, text, flags);
        let held = dir.join("held-out.txt");
        std::fs::write(&held, held_out).unwrap();
        let (tokens, ours) = eval_nats(&ck, &held);

        let o = ok(Command::new("python3")
            .arg(script())
            .arg("eval")
            .arg(&out)
            .arg(&held)
            .output()
            .unwrap());
        let mut it = o.split_whitespace();
        let theirs_tokens: f64 = it.next().unwrap().parse().unwrap();
        let theirs: f64 = it.next().unwrap().parse().unwrap();
        assert_eq!(theirs_tokens, tokens, "{name}: token counts differ");
        assert!(
            ((theirs - ours) / ours).abs() < 1e-4,
            "{name}: PyTorch {theirs} vs eval {ours}"
        );

        let back = dir.join("back");
        ok(Command::new("python3")
            .arg(script())
            .arg("back")
            .arg(&out)
            .arg(&back)
            .output()
            .unwrap());
        let imported = dir.join("back.ckpt");
        ok(bin()
            .arg("import")
            .arg("--dir")
            .arg(&back)
            .arg("--out")
            .arg(&imported)
            .output()
            .unwrap());
        let (_, again) = eval_nats(&imported, &held);
        assert_eq!(
            again.to_bits(),
            ours.to_bits(),
            "{name}: the way back changed the model"
        );
    }
}
