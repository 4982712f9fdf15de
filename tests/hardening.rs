//! Bad input tried as a new user would: each case is refused with one
//! clear line and the right exit code (2 for usage, 1 for the rest), or
//! ends quietly where a Unix tool would — never a panic, an abort or a
//! run lost at its end.

mod common;
use common::*;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

/// A short English text, a few hundred lines.
fn corpus(dir: &Path) -> PathBuf {
    let p = dir.join("c.txt");
    std::fs::write(&p, "the cat sat on the mat. the dog ran to the log.\n".repeat(200)).unwrap();
    p
}

/// A small trained char model.
fn model(dir: &Path) -> PathBuf {
    let ck = dir.join("m.ckpt");
    let o = train_small(&corpus(dir), &ck, "16")
        .args(["--steps", "5"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    ck
}

/// The command failed with `code`, one line on stderr, no panic.
fn refused(o: &Output, code: i32) -> String {
    let e = stderr(o);
    assert_eq!(o.status.code(), Some(code), "{e}");
    assert!(!e.contains("panicked") && !e.contains("memory allocation"), "{e}");
    let errors: Vec<&str> = e.lines().filter(|l| l.starts_with("rnnlm: error:")).collect();
    assert_eq!(errors.len(), 1, "one error line: {e}");
    e
}

/// Run with stdout read for at most `bytes` bytes, then closed: the
/// process must end by itself within `limit`. Returns its output.
fn run_and_close_stdout(cmd: &mut std::process::Command, bytes: usize, limit: Duration) -> Output {
    use std::io::Read;
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut got = vec![0u8; bytes];
    let mut read = 0;
    while read < bytes {
        match out.read(&mut got[read..]).unwrap() {
            0 => break,
            n => read += n,
        }
    }
    drop(out); // the reader goes away, as `| head -c N` does
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("still running {limit:?} after its reader went away");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

#[cfg(unix)]
fn not_utf8(prefix: &str) -> OsString {
    use std::os::unix::ffi::OsStringExt;
    let mut bytes = prefix.as_bytes().to_vec();
    bytes.extend([0xff, b'.', b't', b'x', b't']);
    OsString::from_vec(bytes)
}

/// A file name that is not UTF-8 is used as a path (here: one that does
/// not exist, so the error names it); a value that must be text is refused
/// naming its flag — both forms, `--flag VALUE` and `--flag=VALUE`.
#[cfg(unix)]
#[test]
fn arguments_that_are_not_utf8() {
    let dir = tmpdir("not-utf8");
    let ck = model(&dir);
    let o = bin()
        .args(["eval", "--model"])
        .arg(&ck)
        .arg("--corpus")
        .arg(not_utf8("x"))
        .output()
        .unwrap();
    let e = refused(&o, 1);
    assert!(e.contains("x\u{fffd}.txt"), "{e}");
    let mut inline = OsString::from("--corpus=");
    inline.push(not_utf8("y"));
    let o = bin().args(["eval", "--model"]).arg(&ck).arg(inline).output().unwrap();
    assert!(refused(&o, 1).contains("y\u{fffd}.txt"));
    // A real file whose name is not UTF-8 is read.
    let odd = dir.join(not_utf8("odd"));
    std::fs::copy(corpus(&dir), &odd).unwrap();
    let o = bin()
        .args(["eval", "--json", "--model"])
        .arg(&ck)
        .arg("--corpus")
        .arg(&odd)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let o = bin()
        .args(["generate", "--model"])
        .arg(&ck)
        .arg("--prime")
        .arg(not_utf8("a"))
        .output()
        .unwrap();
    assert!(refused(&o, 2).contains("--prime: 'a\u{fffd}.txt' is not valid UTF-8"));
    let o = bin().arg(not_utf8("train")).output().unwrap();
    assert!(refused(&o, 2).contains("unknown command"));
}

/// A flag typed twice is a usage error naming it (a repeatable one, as
/// `plot --log`, is not).
#[test]
fn a_flag_given_twice() {
    let o = bin()
        .args(["train", "--corpus", "a", "--hidden", "8", "--hidden", "16"])
        .output()
        .unwrap();
    assert!(refused(&o, 2).contains("--hidden is given twice"));
    let o = bin()
        .args(["eval", "--json", "--json", "--model", "m", "--corpus", "c"])
        .output()
        .unwrap();
    assert!(refused(&o, 2).contains("--json is given twice"));
    let o = bin()
        .args(["plot", "--log", "a.csv", "--log", "b.csv", "--out", "p.svg"])
        .output()
        .unwrap();
    assert!(!stderr(&o).contains("twice"), "{}", stderr(&o));
}

/// Sizes that cannot be allocated are refused before anything is: the
/// error names the flag, the bytes and this machine's memory (exit 2); a
/// size past 2⁶⁴ bytes says so wherever memory is not known.
#[test]
fn sizes_too_big_to_allocate() {
    let dir = tmpdir("too-big");
    let c = corpus(&dir);
    let train = |extra: &[&str]| {
        bin()
            .arg("train")
            .arg("--corpus")
            .arg(&c)
            .arg("--out")
            .arg(dir.join("x.ckpt"))
            .args(extra)
            .output()
            .unwrap()
    };
    let e = refused(&train(&["--hidden", "18446744073709551615"]), 2);
    assert!(
        e.contains("--hidden 18446744073709551615") && e.contains("2^64 bytes"),
        "{e}"
    );
    let e = refused(&train(&["--batch", "18446744073709551615"]), 1);
    assert!(e.contains("too few for --batch 18446744073709551615"), "{e}");
    // The text is checked before the run's buffers are sized.
    let e = refused(&train(&["--batch", "1000000000"]), 1);
    assert!(e.contains("too few for --batch 1000000000"), "{e}");
    let e = refused(&train(&["--embed", "1000000000000", "--hidden", "8"]), 2);
    assert!(e.contains("--embed 1000000000000 --hidden 8"), "{e}");
    assert!(e.contains("this machine has available") || e.contains("2^64"), "{e}");
    let e = refused(
        &bin()
            .args(["gradcheck", "--vocab", "18446744073709551615"])
            .output()
            .unwrap(),
        2,
    );
    assert!(e.contains("--vocab 18446744073709551615"), "{e}");
    let e = refused(
        &bin()
            .args(["synth", "--kind", "hmm", "--out"])
            .arg(dir.join("s"))
            .args(["--train", "18446744073709551615"])
            .output()
            .unwrap(),
        2,
    );
    assert!(e.contains("--train 18446744073709551615"), "{e}");
    assert!(!dir.join("s").exists(), "nothing written");

    if !Path::new("/proc/meminfo").exists() {
        eprintln!("note: no /proc/meminfo: the cases that compare with this machine's memory are skipped");
        return;
    }
    // 10^16 weights of W_h alone: more than any machine this runs on.
    let e = refused(&train(&["--hidden", "100000000"]), 2);
    assert!(
        e.contains("--embed 64 --hidden 100000000") && e.contains("this machine has available"),
        "{e}"
    );
    let ck = model(&dir);
    let e = refused(
        &bin()
            .args(["generate", "--model"])
            .arg(&ck)
            .args(["--samples", "100000000000", "--len", "5"])
            .output()
            .unwrap(),
        2,
    );
    assert!(
        e.contains("--samples 100000000000") && e.contains("this machine has available"),
        "{e}"
    );
    assert!(!dir.join("x.ckpt").exists(), "no run started");
}

/// `--threads` far above the machine's cores is lowered with a note.
#[test]
fn too_many_threads_are_capped_with_a_note() {
    let dir = tmpdir("threads");
    let ck = model(&dir);
    let o = bin()
        .args(["eval", "--threads", "99999999999999", "--model"])
        .arg(&ck)
        .arg("--corpus")
        .arg(corpus(&dir))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("note: --threads 99999999999999") && stderr(&o).contains("using"),
        "{}",
        stderr(&o)
    );
}

/// A reader that goes away ends `generate` (one sample or several),
/// `eval --per-token -` and `predict` at once, exit 0, nothing on stderr.
/// `--len` as large as a u64 is a length, not an overflow.
#[test]
fn a_closed_stdout_ends_the_command_quietly() {
    let dir = tmpdir("closed-stdout");
    let ck = model(&dir);
    let limit = Duration::from_secs(60);
    for len in ["100000000", "18446744073709551615"] {
        let o = run_and_close_stdout(bin().args(["generate", "--len", len, "--model"]).arg(&ck), 10, limit);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        assert_eq!(stderr(&o), "", "--len {len}");
    }
    // A long text to score token by token.
    let long = dir.join("long.txt");
    std::fs::write(&long, "the cat sat on the mat. ".repeat(40_000)).unwrap();
    let o = run_and_close_stdout(
        bin()
            .args(["eval", "--per-token", "-", "--model"])
            .arg(&ck)
            .arg("--corpus")
            .arg(&long),
        100,
        limit,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stderr(&o), "");
    let o = run_and_close_stdout(bin().args(["predict", "--model"]).arg(&ck), 0, limit);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
}

/// `eval --per-token -` writes the TSV on stdout as it scores (the same
/// rows as a file), and the summary on stderr.
#[test]
fn per_token_to_stdout_matches_the_file() {
    let dir = tmpdir("per-token-stdout");
    let ck = model(&dir);
    let c = corpus(&dir);
    let tsv = dir.join("t.tsv");
    let o = bin()
        .args(["eval", "--json", "--model"])
        .arg(&ck)
        .arg("--corpus")
        .arg(&c)
        .arg("--per-token")
        .arg(&tsv)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let summary = String::from_utf8(o.stdout).unwrap();
    let o = bin()
        .args(["eval", "--json", "--per-token", "-", "--model"])
        .arg(&ck)
        .arg("--corpus")
        .arg(&c)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        String::from_utf8(o.stdout.clone()).unwrap(),
        std::fs::read_to_string(&tsv).unwrap()
    );
    let e = stderr(&o);
    assert!(e.contains(summary.trim()), "the summary goes to stderr: {e}");
}

/// Values that must be clamped say what was used.
#[test]
fn clamped_values_print_a_note() {
    let dir = tmpdir("clamped");
    let c = corpus(&dir);
    let o = bin()
        .args([
            "train",
            "--level",
            "word",
            "--classes",
            "1000",
            "--steps",
            "1",
            "--embed",
            "4",
            "--hidden",
            "4",
        ])
        .arg("--corpus")
        .arg(&c)
        .arg("--out")
        .arg(dir.join("w.ckpt"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let v = rnnlm::train::checkpoint::load(&dir.join("w.ckpt"))
        .unwrap()
        .model
        .vocab
        .len();
    let note = format!("note: --classes 1000: a vocabulary of {v} gives");
    assert!(stderr(&o).contains(&note), "{}", stderr(&o));
    let o = bin()
        .args(["gradcheck", "--classes", "10", "--vocab", "3"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("note: --classes 10: a vocabulary of 3 has at most 3 classes; using 3"),
        "{}",
        stderr(&o)
    );
    // One word per class: W_y and b_y get no gradient, and the check says
    // it proves nothing there.
    assert!(
        stderr(&o).contains("gradients of W_y, b_y are all zero"),
        "{}",
        stderr(&o)
    );
}

/// A run whose loss stays finite but whose validation perplexity does not
/// stops as diverged (exit 1), and an error before the first save does not
/// claim a checkpoint was kept.
#[test]
fn a_diverged_run_stops_and_names_only_a_real_checkpoint() {
    let dir = tmpdir("diverged");
    let c = corpus(&dir);
    let out = dir.join("d.ckpt");
    let o = train_small(&c, &out, "16")
        .args(["--lr", "1e30", "--clip", "0", "--optimizer", "sgd"])
        .output()
        .unwrap();
    let e = refused(&o, 1);
    assert!(e.contains("diverged") || e.contains("became"), "{e}");
    assert!(e.contains("no checkpoint was saved") && !out.exists(), "{e}");
}

/// `--resume` of a run that has finished all its epochs says so (exit 1)
/// instead of reporting a NaN loss.
#[test]
fn resuming_a_finished_run_says_it_is_finished() {
    let dir = tmpdir("finished");
    let c = corpus(&dir);
    let out = dir.join("f.ckpt");
    let o = train_small(&c, &out, "16")
        .args(["--epochs", "1", "--valid-frac", "0"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let o = train_small(&c, &dir.join("g.ckpt"), "16")
        .arg("--resume")
        .arg(&out)
        .output()
        .unwrap();
    let e = refused(&o, 1);
    assert!(e.contains("finished all its 1 epochs") && !e.contains("NaN"), "{e}");
}

/// A text too short for even one stream does not tell the user to lower a
/// `--batch` that is already 1.
#[test]
fn a_text_too_short_at_batch_1() {
    let dir = tmpdir("short");
    let c = dir.join("one.txt");
    std::fs::write(&c, "a").unwrap();
    let o = train_small(&c, &dir.join("s.ckpt"), "4")
        .args(["--batch", "1", "--valid-frac", "0"])
        .output();
    // train_small sets --batch 4 itself: this is the one flag typed twice.
    assert!(refused(&o.unwrap(), 2).contains("--batch is given twice"));
    let o = bin()
        .args(["train", "--batch", "1", "--valid-frac", "0", "--corpus"])
        .arg(&c)
        .arg("--out")
        .arg(dir.join("s.ckpt"))
        .output()
        .unwrap();
    let e = refused(&o, 1);
    assert!(e.contains("give a longer text") && !e.contains("lower --batch"), "{e}");
}

/// `eval` and `ngram` on the same text report the same tokens and
/// unknown characters when the model and the n-gram came from the same
/// training file — also when `train` held out its end by `--valid-frac`
/// (the vocabulary is the whole file's in both).
#[test]
fn eval_and_ngram_count_the_same_tokens() {
    let dir = tmpdir("same-tokens");
    let c = dir.join("ko.txt");
    // Rare syllables only in the last lines: the part --valid-frac holds out.
    let text = format!(
        "{}{}",
        "그는 집에 갔다. 그녀는 학교에 갔다.\n".repeat(80),
        "뷁 똠양꿍 먹었다.\n".repeat(5)
    );
    std::fs::write(&c, text).unwrap();
    let held = dir.join("held.txt");
    std::fs::write(&held, "그는 뷁 똠양꿍 학교에 갔다. 쀍 햏\n".repeat(3)).unwrap();
    let ck = dir.join("k.ckpt");
    let o = train_small(&c, &ck, "16").args(["--steps", "2"]).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let eval = eval_json_with(&ck, &held, &[]);
    let o = bin()
        .args(["ngram", "--json", "--corpus"])
        .arg(&c)
        .arg("--eval")
        .arg(&held)
        .output()
        .unwrap();
    let ngram = ok_stdout(o);
    for key in ["tokens", "oov"] {
        assert_eq!(
            json_number(&eval, key),
            json_number(&ngram, key),
            "{key}: {eval} vs {ngram}"
        );
    }
    assert_eq!(json_number(&eval, "oov"), 6.0, "쀍 and 햏, three times: {eval}");
}
