//! Nothing lost, bad numbers stopped: failed saves, non-finite training and
//! exploding gradients, through the real binary.

mod common;
use common::*;

use std::path::{Path, PathBuf};
use std::process::Output;

/// The first 20 000 bytes of the bundled corpus (cut at a char boundary).
fn small_corpus(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/corpus/demo.txt")).unwrap();
    let mut end = 20_000;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let p = dir.join("small.txt");
    std::fs::write(&p, &text[..end]).unwrap();
    p
}

fn train(corpus: &Path, out: &Path, extra: &[&str]) -> Output {
    train_small(corpus, out, "16").args(extra).output().unwrap()
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .map(|s| {
            s.lines()
                .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

/// An output that cannot be written is refused before the first step
/// (exit 2, naming the flag and the path) — not found out at the end of a
/// long run — and a checkpoint already there is byte for byte intact.
#[test]
fn an_unwritable_output_is_refused_before_training() {
    let dir = tmpdir("save");
    let corpus = small_corpus(&dir);
    // A file name of 250 bytes is valid, but the temporary file beside it
    // (".NAME.tmp-PID") is longer than any file name may be: every save
    // would fail, whoever runs the test (root ignores read-only folders).
    let out = dir.join(format!("{}.ckpt", "m".repeat(245)));
    std::fs::write(&out, b"the previous checkpoint").unwrap();
    let o = train(&corpus, &out, &["--steps", "4", "--save-every", "2"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(e.contains("--out ") && e.contains("cannot be written"), "{e}");
    assert!(
        !e.contains("step") && !e.contains("panicked"),
        "refused before training: {e}"
    );
    assert_eq!(std::fs::read(&out).unwrap(), b"the previous checkpoint");
    let leftovers: Vec<_> = std::fs::read_dir(&dir).unwrap().filter_map(|e| e.ok()).collect();
    assert!(
        leftovers
            .iter()
            .all(|e| !e.file_name().to_string_lossy().contains(".tmp-")),
        "temp files left"
    );
    // A folder as --out, --best or --log, and a folder that does not exist.
    for flag in ["--out", "--best", "--log"] {
        let mut cmd = train_small(&corpus, &dir.join("ok.ckpt"), "16");
        if flag == "--out" {
            cmd = train_small(&corpus, &dir, "16");
        } else {
            cmd.arg(flag).arg(&dir);
        }
        let o = cmd.args(["--steps", "1"]).output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{flag}: {}", stderr(&o));
        assert!(
            stderr(&o).contains(&format!("{flag} ")) && stderr(&o).contains("is a folder"),
            "{}",
            stderr(&o)
        );
    }
    let o = train(&corpus, &dir.join("missing/m.ckpt"), &["--steps", "1"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("does not exist"), "{}", stderr(&o));

    // And a read-only folder, where permissions apply (not for root).
    if is_root() {
        eprintln!("note: running as root: the read-only-folder case is covered by the name case above");
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let ro = dir.join("ro");
    std::fs::create_dir(&ro).unwrap();
    let out = ro.join("m.ckpt");
    assert!(train(&corpus, &out, &["--steps", "1"]).status.success());
    let before = std::fs::read(&out).unwrap();
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
    let o = train(&corpus, &out, &["--steps", "2"]);
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o755)).unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("cannot be written"), "{}", stderr(&o));
    assert_eq!(std::fs::read(&out).unwrap(), before);
}

/// A learning rate that overflows the weights stops the run with a clear
/// error naming the step; the checkpoint on disk is the last one written
/// while everything was finite — the old one when no save came in between,
/// the step before the failure with `--save-every 1`.
#[test]
fn non_finite_training_stops_and_keeps_the_last_good_checkpoint() {
    let dir = tmpdir("nan");
    let corpus = small_corpus(&dir);
    let ck = dir.join("m.ckpt");
    assert!(train(&corpus, &ck, &["--steps", "3"]).status.success());
    let good = std::fs::read(&ck).unwrap();
    let blow_up = [
        "--init",
        ck.to_str().unwrap(),
        "--optimizer",
        "sgd",
        "--lr",
        "1e38",
        "--clip",
        "0",
    ];
    let failing_step = |e: &str| -> u64 {
        let at = e.find("at step ").expect("the error names the step") + 8;
        e[at..]
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };

    let o = train(&corpus, &ck, &blow_up);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(e.contains("lower --lr or set --clip") && !e.contains("panicked"), "{e}");
    failing_step(&e);
    assert!(
        std::fs::read(&ck).unwrap() == good,
        "no save happened: the old checkpoint must be untouched"
    );

    let mut with_saves = blow_up.to_vec();
    with_saves.extend(["--save-every", "1"]);
    let o = train(&corpus, &ck, &with_saves);
    assert!(!o.status.success());
    let e = stderr(&o);
    let step = failing_step(&e);
    let kept = rnnlm::train::checkpoint::load(&ck).expect("the kept checkpoint loads");
    assert!(
        kept.model.params.all_finite(),
        "a checkpoint with non-finite weights was written"
    );
    assert_eq!(
        kept.train.unwrap().step,
        step - 1,
        "the checkpoint is the last step before the failure"
    );
}

fn valid_nats(model: &Path, valid: &Path) -> f64 {
    let o = bin()
        .args(["eval", "--json", "--model"])
        .arg(model)
        .arg("--corpus")
        .arg(valid)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    json_number(&String::from_utf8(o.stdout).unwrap(), "nats_per_token")
}

/// Exploding gradients are what `--clip` is for: the same SGD run (lr 20,
/// 300 steps) ends worse than a unigram model unclipped (or is stopped as
/// diverged), and well below it with the gradient norm clipped to 0.25.
///
/// lr 20 diverges whatever the rounding: measured with seeds 1–4, unclipped
/// runs ended at 4.9, 13.9, 3.6 and 4.3 nats on the validation text
/// (unigram 3.2). Clipped to 1 they ended at 1.80–1.93, but only after
/// Mikolov's rejection and halving had rescued them: their first epochs
/// were above ln V, which now stops a run as diverged. Clipped to 0.25
/// every epoch of seeds 1–4 stays below the unigram's validation
/// perplexity and they end at 1.1–1.7 nats. At lr 5, the rate this test
/// used before, whether a run diverged depended on the order of the
/// gradient's float sums (seed 1 learned, seed 2 did not).
#[test]
fn clipping_turns_a_diverging_run_into_a_stable_one() {
    let dir = tmpdir("clip");
    let corpus = small_corpus(&dir);
    let (unclipped, clipped) = (dir.join("u.ckpt"), dir.join("c.ckpt"));
    let args = |clip: &'static str| {
        vec![
            "--hidden",
            "64",
            "--embed",
            "16",
            "--batch",
            "8",
            "--seq-len",
            "32",
            "--steps",
            "300",
        ]
        .into_iter()
        .chain([
            "--epochs",
            "100",
            "--optimizer",
            "sgd",
            "--lr",
            "20",
            "--valid-frac",
            "0.1",
            "--clip",
            clip,
        ])
        .collect::<Vec<_>>()
    };
    // The last 10% of the text is the validation split both runs held out.
    let text = std::fs::read_to_string(&corpus).unwrap();
    let cut = text[text.len() * 9 / 10..]
        .find('\n')
        .map(|i| text.len() * 9 / 10 + i + 1)
        .unwrap();
    let valid = dir.join("valid.txt");
    std::fs::write(&valid, &text[cut..]).unwrap();
    let unigram = {
        // Add-one unigram cross-entropy of the validation text under the training counts.
        let mut counts = std::collections::HashMap::new();
        for c in text[..cut].chars() {
            *counts.entry(c).or_insert(1.0f64) += 1.0;
        }
        let total: f64 = counts.values().sum();
        let v: Vec<char> = text[cut..].chars().collect();
        -v[1..]
            .iter()
            .map(|c| (counts.get(c).copied().unwrap_or(1.0) / total).ln())
            .sum::<f64>()
            / (v.len() - 1) as f64
    };

    let o = bin()
        .arg("train")
        .args(args("0"))
        .arg("--corpus")
        .arg(&corpus)
        .arg("--out")
        .arg(&unclipped)
        .arg("--quiet")
        .output()
        .unwrap();
    // Unclipped, the run either stops on its non-finite-loss error or ends
    // diverged; any other failure (a panic, a refused flag) fails the test.
    let u = if o.status.success() {
        valid_nats(&unclipped, &valid)
    } else {
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{e}");
        assert!(
            (e.contains("became") || e.contains("the run diverged"))
                && e.contains("lower --lr or set --clip")
                && !e.contains("panicked"),
            "the unclipped run failed, but not with the non-finite error: {e}"
        );
        f64::INFINITY
    };
    let o = bin()
        .arg("train")
        .args(args("0.25"))
        .arg("--corpus")
        .arg(&corpus)
        .arg("--out")
        .arg(&clipped)
        .arg("--quiet")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let c = valid_nats(&clipped, &valid);
    eprintln!("unigram {unigram:.3} nats, unclipped {u:.3}, clipped {c:.3}");
    assert!(
        u > unigram,
        "the unclipped run should diverge past the unigram baseline: {u} vs {unigram}"
    );
    assert!(
        c < 0.8 * unigram,
        "the clipped run should learn: {c} vs unigram {unigram}"
    );
}

fn peak_kib(o: &Output) -> u64 {
    let e = stderr(o);
    let at = e.find("peak memory ").expect("the report gives peak memory") + 12;
    e[at..].split_whitespace().next().unwrap().parse().unwrap()
}

/// Memory stays flat over epochs: no growth per step. Five epochs may not
/// peak higher than one by more than 1 MiB (allocator noise).
#[test]
fn memory_is_flat_over_epochs() {
    if rnnlm::memory::peak_rss_kib().is_none() {
        eprintln!("note: no /proc/self/status here; not measured");
        return;
    }
    let dir = tmpdir("rss");
    let corpus = small_corpus(&dir);
    let run = |epochs: &str| {
        let o = bin()
            .args([
                "train",
                "--embed",
                "16",
                "--hidden",
                "64",
                "--batch",
                "8",
                "--seq-len",
                "32",
            ])
            // plateau with a long patience: no early stop, every epoch runs
            .args([
                "--epochs",
                epochs,
                "--schedule",
                "plateau",
                "--patience",
                "100",
                "--log",
            ])
            .arg(dir.join(format!("log{epochs}.csv")))
            .arg("--corpus")
            .arg(&corpus)
            .arg("--out")
            .arg(dir.join("m.ckpt"))
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        peak_kib(&o)
    };
    let (one, five) = (run("1"), run("5"));
    // The five-epoch run did run five epochs: its CSV has five epoch ends.
    let log = std::fs::read_to_string(dir.join("log5.csv")).unwrap();
    let ends = log.lines().skip(1).filter(|l| !l.ends_with(',')).count();
    assert_eq!(ends, 5, "{log}");
    eprintln!("peak RSS: 1 epoch {one} KiB, 5 epochs {five} KiB");
    assert!(five <= one + 1024, "memory grew over epochs: {one} KiB → {five} KiB");
}
