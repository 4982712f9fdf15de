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
use std::process::Command;

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/pytorch/rnnlm_torch.py")
}

fn torch_available() -> bool {
    Command::new("python3")
        .args(["-c", "import torch, numpy"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A small model trained on `text` with `flags`, exported: (checkpoint, folder).
fn trained(dir: &Path, text: &str, flags: &[&str]) -> (PathBuf, PathBuf) {
    let small = [
        "--embed",
        "6",
        "--hidden",
        "10",
        "--batch",
        "4",
        "--seq-len",
        "8",
        "--steps",
        "30",
    ];
    let (ck, out, _) = train_and_export(dir, text, &[&small[..], flags].concat());
    (ck, out)
}

fn eval_nats(model: &Path, text: &Path) -> (f64, f64) {
    let json = ok_stdout(
        bin()
            .args(["eval", "--json", "--model"])
            .arg(model)
            .arg("--corpus")
            .arg(text)
            .output()
            .unwrap(),
    );
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

        let o = ok_stdout(
            Command::new("python3")
                .arg(script())
                .arg("eval")
                .arg(&out)
                .arg(&held)
                .output()
                .unwrap(),
        );
        let mut it = o.split_whitespace();
        let theirs_tokens: f64 = it.next().unwrap().parse().unwrap();
        let theirs: f64 = it.next().unwrap().parse().unwrap();
        assert_eq!(theirs_tokens, tokens, "{name}: token counts differ");
        assert!(
            ((theirs - ours) / ours).abs() < 1e-4,
            "{name}: PyTorch {theirs} vs eval {ours}"
        );

        let back = dir.join("back");
        ok_stdout(
            Command::new("python3")
                .arg(script())
                .arg("back")
                .arg(&out)
                .arg(&back)
                .output()
                .unwrap(),
        );
        let imported = dir.join("back.ckpt");
        ok_stdout(
            bin()
                .arg("import")
                .arg("--dir")
                .arg(&back)
                .arg("--out")
                .arg(&imported)
                .output()
                .unwrap(),
        );
        let (_, again) = eval_nats(&imported, &held);
        assert_eq!(
            again.to_bits(),
            ours.to_bits(),
            "{name}: the way back changed the model"
        );
    }
}
