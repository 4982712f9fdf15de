//! `rnnlm ngram --load FILE.arpa`: any ARPA back-off model scores a text
//! as the format defines — checked against probabilities worked out by
//! hand, and against KenLM's own reader where the Python `kenlm` module is
//! installed (`pip install kenlm`; `.ci/run` installs it).

mod common;
use common::*;

use std::path::{Path, PathBuf};

/// A trigram model written by hand (tabs and spaces both, as files in the
/// wild have). What the test sentences score, worked out:
///
/// ```text
///   "a b":  p(a | <s>)                = 10^-0.3              trigram context <s> only: the bigram
///           p(b | <s> a)              = 10^-0.1              listed trigram
///           p(</s> | a b)             = bow(a b) · p(</s> | b) = 10^(-0.2 - 0.9)   backs off one order
///           total                     = -0.3 - 0.1 - 1.1 = -1.5
///   "b a":  p(b | <s>)                = bow(<s>) · p(b) = 10^(-0.4 - 0.8)
///           p(a | <s> b)              = (no <s> b bigram: bow 0) p(a | b) = bow(b) · p(a) = 10^(-0.5 - 0.7)
///                                                                            backs off two orders
///           p(</s> | b a)             = p(</s> | a) = bow(a) · p(</s>) = 10^(-0.1 - 0.6)
///           total                     = -1.2 - 1.2 - 0.7 = -3.1
///   "a zebra": p(a | <s>) = 10^-0.3; zebra is <unk>: p(<unk> | <s> a) = bow(a) · p(<unk>) = 10^(-0.1 - 2.0)
///           p(</s> | a <unk>) = p(</s> | <unk>) = p(</s>) = 10^-0.6   (no bow listed for <unk>)
///           total                     = -0.3 - 2.1 - 0.6 = -3.0
/// ```
const HAND: &str = "\\data\\\nngram 1=5\nngram 2=3\nngram 3=1\n\n\\1-grams:\n\
    -99\t<s>\t-0.4\n-0.6\t</s>\n-0.7\ta\t-0.1\n-0.8 b -0.5\n-2.0\t<unk>\n\n\
    \\2-grams:\n-0.3\t<s> a\t0.0\n-0.25\ta b\t-0.2\n-0.9\tb </s>\n\n\
    \\3-grams:\n-0.1\t<s> a b\n\n\\end\\\n";

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn load_json(arpa: &Path, text: &Path) -> String {
    ok_stdout(
        bin()
            .args(["ngram", "--json", "--load"])
            .arg(arpa)
            .arg("--eval")
            .arg(text)
            .output()
            .unwrap(),
    )
}

#[test]
fn a_hand_made_model_scores_as_worked_out() {
    let dir = tmpdir("arpa-hand");
    let arpa = write(&dir, "m.arpa", HAND);
    for (sentence, want) in [("a b", -1.5), ("b a", -3.1), ("a zebra", -3.0)] {
        let json = load_json(&arpa, &write(&dir, "s.txt", &format!("{sentence}\n")));
        let got = json_number(&json, "log10_prob");
        assert!((got - want).abs() < 1e-9, "{sentence:?}: {got} vs {want}");
        assert_eq!(json_number(&json, "tokens"), 3.0, "two words and </s>");
        assert_eq!(json_number(&json, "order"), 3.0);
    }
    // The whole file: the sentences' sums, perplexity over every token.
    let json = load_json(&arpa, &write(&dir, "all.txt", "a b\nb a\na zebra\n"));
    let total = -1.5 - 3.1 - 3.0;
    assert!((json_number(&json, "log10_prob") - total).abs() < 1e-9, "{json}");
    assert_eq!((json_number(&json, "tokens"), json_number(&json, "oov")), (9.0, 1.0));
    let ppl = 10f64.powf(-total / 9.0);
    assert!((json_number(&json, "perplexity") / ppl - 1.0).abs() < 1e-9, "{json}");
}

#[test]
fn a_malformed_file_is_refused_naming_the_line() {
    let dir = tmpdir("arpa-bad");
    let text = write(&dir, "t.txt", "a b\n");
    for (broken, line) in [
        (
            HAND.replace("ngram 3=1", "ngram 3=2"),
            "line 21: the \\3-grams: section has 1 lines",
        ),
        (
            HAND.replace("-0.25\ta b", "minus\ta b"),
            "line 15: log10 probability 'minus'",
        ),
        (
            HAND.replace("<s> a b", "b a b"),
            "line 19: its context 'b a' is not among the 2-grams",
        ),
        (HAND.replace("\\end\\\n", ""), "missing \\end\\"),
    ] {
        let arpa = write(&dir, "bad.arpa", &broken);
        let o = bin()
            .args(["ngram", "--load"])
            .arg(&arpa)
            .arg("--eval")
            .arg(&text)
            .output()
            .unwrap();
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{e}");
        assert!(e.contains("bad.arpa") && e.contains(line), "want {line:?}: {e}");
        assert_eq!(e.lines().count(), 1, "{e}");
    }
    let o = bin().args(["ngram", "--eval"]).arg(&text).output().unwrap();
    assert!(
        stderr(&o).contains("--corpus (a text to count) or --load"),
        "{}",
        stderr(&o)
    );
}

/// KenLM reads the same file and scores every sentence as rnnlm does, to
/// 1e-4 in log10 (its own floats are f32).
#[test]
fn kenlm_scores_each_sentence_as_rnnlm_does() {
    let dir = tmpdir("arpa-kenlm");
    // KenLM wants tabs between fields, as the format says.
    let arpa = write(&dir, "m.arpa", &HAND.replace("-0.8 b -0.5", "-0.8\tb\t-0.5"));
    let text = write(&dir, "s.txt", "a b\nb a\na zebra\nb b a a b\n\n");
    assert_kenlm_agrees(&dir, &arpa, &text);
}

/// KenLM's log10 score of every line of `text` under `arpa` (from `<s>`,
/// with `</s>`) equals rnnlm's to 1e-4; skipped with a note where the
/// Python kenlm module is missing.
fn assert_kenlm_agrees(dir: &Path, arpa: &Path, text: &Path) {
    let probe = std::process::Command::new("python3")
        .args(["-c", "import kenlm"])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        eprintln!("note: the Python kenlm module is not installed (pip install kenlm); KenLM's scores not compared");
        return;
    }
    let script = "import kenlm, sys\nm = kenlm.Model(sys.argv[1])\n\
        for line in open(sys.argv[2]).read().split('\\n')[:-1]:\n    print(m.score(line, bos=True, eos=True))\n";
    let o = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(arpa)
        .arg(text)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let kenlm: Vec<f64> = String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .map(|l| l.parse().unwrap())
        .collect();
    let text = std::fs::read_to_string(text).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(kenlm.len(), lines.len());
    for (line, k) in lines.iter().zip(kenlm) {
        let one = write(dir, "one.txt", &format!("{line}\n"));
        let ours = json_number(&load_json(arpa, &one), "log10_prob");
        assert!((ours - k).abs() < 1e-4, "{line:?}: rnnlm {ours}, KenLM {k}");
    }
}

/// `ngram --arpa` writes the sentence model it scores with, under either
/// discounting: `--load` of the file gives the same figures to 1e-6, and
/// KenLM reads the file and scores every sentence as rnnlm does.
#[test]
fn written_models_round_trip_and_kenlm_reads_them() {
    let dir = tmpdir("arpa-write");
    let train = write(
        &dir,
        "train.txt",
        &"the cat sat on the mat\nthe dog sat on the log\na cat and a dog ran\n\nthe end\n".repeat(7),
    );
    let test = write(&dir, "test.txt", "the cat ran\na dog sat on the cat\nthe zebra sat\n\n");
    for (order, discount) in [("1", "kn"), ("3", "modified"), ("5", "kn"), ("5", "modified")] {
        let arpa = dir.join(format!("m{order}-{discount}.arpa"));
        let o = bin()
            .args([
                "ngram",
                "--json",
                "--level",
                "word",
                "--order",
                order,
                "--discount",
                discount,
            ])
            .arg("--corpus")
            .arg(&train)
            .arg("--eval")
            .arg(&test)
            .arg("--arpa")
            .arg(&arpa)
            .output()
            .unwrap();
        let written = ok_stdout(o);
        let loaded = load_json(&arpa, &test);
        for key in ["tokens", "oov", "order"] {
            assert_eq!(
                json_number(&written, key),
                json_number(&loaded, key),
                "{key}: {written} {loaded}"
            );
        }
        let (a, b) = (json_number(&written, "perplexity"), json_number(&loaded, "perplexity"));
        assert!((a / b - 1.0).abs() < 1e-6, "order {order}: {a} vs {b}");
        assert_eq!(json_number(&written, "oov"), 1.0, "zebra");
    }
    assert_kenlm_agrees(&dir, &dir.join("m5-kn.arpa"), &test);
    assert_kenlm_agrees(&dir, &dir.join("m5-modified.arpa"), &test);
}
