//! `eval --dynamic LR`: the model adapts to the text while scoring it, and
//! every token is scored before any update that has seen it.

mod common;
use common::*;

use std::path::{Path, PathBuf};

/// A small char model trained briefly on the bundled corpus, and a text of
/// one English sentence repeated (every character in its vocabulary).
fn model_and_repeated_text(name: &str) -> (PathBuf, PathBuf, PathBuf) {
    let dir = tmpdir(name);
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/demo.txt");
    let ck = dir.join("m.ckpt");
    let o = train_small(&corpus, &ck, "16")
        .args(["--steps", "30"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let text = dir.join("repeated.txt");
    std::fs::write(&text, "The baker on the corner remembered a broken lamp. ".repeat(30)).unwrap();
    (dir, ck, text)
}

fn per_token(model: &Path, text: &Path, out: &Path, extra: &[&str]) -> Vec<String> {
    let o = bin()
        .args(["eval", "--model"])
        .arg(model)
        .arg("--corpus")
        .arg(text)
        .arg("--per-token")
        .arg(out)
        .args(extra)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    std::fs::read_to_string(out)
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
}

/// A repeated sentence: adapting to it lowers the perplexity, the first
/// chunk (T = 16, the run's) scores exactly as without, the JSON names the
/// rate, and the model file is left as it was.
#[test]
fn dynamic_evaluation_adapts_after_scoring_and_leaves_the_file() {
    let (dir, ck, text) = model_and_repeated_text("dynamic");
    let before = std::fs::read(&ck).unwrap();
    let plain = eval_json_with(&ck, &text, &[]);
    let dynamic = eval_json_with(&ck, &text, &["--dynamic".as_ref(), "0.5".as_ref()]);
    let (p0, p1) = (json_number(&plain, "perplexity"), json_number(&dynamic, "perplexity"));
    assert!(
        p1 < 0.8 * p0,
        "dynamic {p1} should be well below static {p0} on a repeated sentence"
    );
    assert_eq!(json_number(&dynamic, "dynamic"), 0.5);
    assert_eq!(json_number(&dynamic, "tokens"), json_number(&plain, "tokens"));
    assert!(!plain.contains("dynamic"), "{plain}");
    assert_eq!(std::fs::read(&ck).unwrap(), before, "the model file changed");

    // Per token: the first chunk's 16 predictions are the static model's
    // to the bit (header line + 16 rows); the next chunk's are not.
    let a = per_token(&ck, &text, &dir.join("static.tsv"), &[]);
    let b = per_token(&ck, &text, &dir.join("dynamic.tsv"), &["--dynamic", "0.5"]);
    assert_eq!(a.len(), b.len());
    assert_eq!(a[..17], b[..17], "the first chunk must score as the static model");
    assert_ne!(a[17..33], b[17..33], "the second chunk is scored after one update");
    // The TSV's mean is eval's nats/token, with --dynamic as without.
    let nats: Vec<f64> = b[1..]
        .iter()
        .map(|l| l.split('\t').nth(2).unwrap().parse().unwrap())
        .collect();
    let mean = nats.iter().sum::<f64>() / nats.len() as f64;
    let want = json_number(&dynamic, "nats_per_token");
    assert!((mean - want).abs() < 1e-4 * want, "TSV mean {mean} vs eval {want}");
}

/// An update that wrecks the model (a huge rate, clipping off) cannot reach
/// back: the first chunk still scores as the static model does, and
/// everything after it scores terribly.
#[test]
fn a_later_update_cannot_change_an_earlier_score() {
    let (dir, ck, text) = model_and_repeated_text("dynamic-order");
    let a = per_token(&ck, &text, &dir.join("static.tsv"), &[]);
    let o = bin()
        .args(["eval", "--model"])
        .arg(&ck)
        .arg("--corpus")
        .arg(&text)
        .args(["--dynamic", "1000", "--clip", "0", "--seq-len", "8", "--per-token"])
        .arg(dir.join("wrecked.tsv"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let b: Vec<String> = std::fs::read_to_string(dir.join("wrecked.tsv"))
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    assert_eq!(a[..9], b[..9], "the first chunk of 8 must score as the static model");
    let nats = |l: &String| l.split('\t').nth(2).unwrap().parse::<f64>().unwrap();
    let wrecked = b[9..].iter().map(nats).sum::<f64>() / (b.len() - 9) as f64;
    assert!(
        wrecked > 20.0,
        "the update at rate 1000 must wreck what follows: {wrecked} nats"
    );
    // --html works with --dynamic, and bf16 weights are refused.
    let page = dir.join("p.html");
    let o = bin()
        .args(["eval", "--model"])
        .arg(&ck)
        .arg("--corpus")
        .arg(&text)
        .args(["--dynamic", "0.1", "--html"])
        .arg(&page)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(std::fs::read_to_string(&page).unwrap().contains("<html"));
    let o = bin()
        .args(["eval", "--model"])
        .arg(&ck)
        .arg("--corpus")
        .arg(&text)
        .args(["--dynamic", "0.1", "--weights", "bf16"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    // --seq-len without --dynamic would be ignored: refused instead.
    let o = bin()
        .args(["eval", "--model"])
        .arg(&ck)
        .arg("--corpus")
        .arg(&text)
        .args(["--seq-len", "8"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--dynamic"), "{}", stderr(&o));
}
