//! `rnnlm predict` and `rnnlm eval --per-token`: the model's next-token
//! distribution and each token's surprisal, for char, word and classed
//! models, agreeing with each other and with `eval`.

mod common;
use common::*;

use std::path::{Path, PathBuf};

use rnnlm::io::json::{parse, Json};

fn run_ok(cmd: &mut std::process::Command) -> String {
    let o = cmd.output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    String::from_utf8(o.stdout).unwrap()
}

fn train(dir: &Path, name: &str, text: &str, flags: &[&str]) -> PathBuf {
    let corpus = dir.join(format!("{name}.txt"));
    std::fs::write(&corpus, text).unwrap();
    let ck = dir.join(format!("{name}.ckpt"));
    run_ok(
        train_small(&corpus, &ck, "8")
            .args(["--valid-frac", "0"])
            // Forty steps unless the case sets its own.
            .args(if flags.contains(&"--steps") {
                &[][..]
            } else {
                &["--steps", "40"][..]
            })
            .args(flags),
    );
    ck
}

/// (position, token, nats, rank) rows of a per-token file, header checked.
fn rows(tsv: &str) -> Vec<(usize, String, f64, usize)> {
    let mut lines = tsv.lines();
    assert_eq!(lines.next(), Some("position\ttoken\tnats\trank"));
    lines
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert_eq!(f.len(), 4, "{l:?}");
            (
                f[0].parse().unwrap(),
                f[1].to_string(),
                f[2].parse().unwrap(),
                f[3].parse().unwrap(),
            )
        })
        .collect()
}

/// predict --json's list: (token, p).
fn predict(ck: &Path, prime: &str, top: usize) -> Vec<(String, f64)> {
    let out = run_ok(
        bin()
            .args([
                "predict",
                "--json",
                "--top",
                &top.to_string(),
                "--prime",
                prime,
                "--model",
            ])
            .arg(ck),
    );
    let v = parse(out.trim()).unwrap();
    assert_eq!(v.get("prime"), Some(&Json::from(prime)));
    let Some(Json::Array(next)) = v.get("next") else {
        panic!("{out}")
    };
    next.iter()
        .map(|n| match (n.get("token"), n.get("p")) {
            (Some(Json::String(t)), Some(Json::Number(p))) => (t.clone(), *p),
            _ => panic!("{out}"),
        })
        .collect()
}

/// For each kind of model: the per-token nats average to eval's figure;
/// predict's list is sorted, sums to at most 1, and gives the last token the
/// probability eval's per-token file gives it (same context), to 1e-5.
#[test]
fn predict_and_per_token_agree_with_eval() {
    let dir = tmpdir("predict");
    let words = "the cat sat on the mat .\nthe dog sat on the log .\na cat saw a dog .\n".repeat(30);
    let cases: [(&str, &str, &[&str], &str, &str); 3] = [
        (
            "char",
            "안녕하세요, 세계. hello world.\n",
            &["--level", "char"],
            "안녕하세요, 세",
            "계",
        ),
        (
            "word",
            &words,
            &["--level", "word", "--classes", "0"],
            "the cat sat on the mat .\nthe",
            "dog",
        ),
        (
            "classed",
            &words,
            &["--level", "word", "--classes", "3"],
            "a cat saw a",
            "dog",
        ),
    ];
    for (name, text, flags, prime, next) in cases {
        let text = if name == "char" {
            text.repeat(30)
        } else {
            text.to_string()
        };
        let ck = train(&dir, name, &text, flags);
        // The text to score: the prime, then the token it predicts.
        let scored = dir.join(format!("{name}-scored.txt"));
        let sep = if name == "char" { "" } else { " " };
        std::fs::write(&scored, format!("{prime}{sep}{next}")).unwrap();
        let tsv = dir.join(format!("{name}.tsv"));
        let json = eval_json_with(&ck, &scored, &["--per-token".as_ref(), tsv.as_os_str()]);
        let rows = rows(&std::fs::read_to_string(&tsv).unwrap());
        assert_eq!(rows.len() as f64, json_number(&json, "tokens"), "{name}");
        assert!(rows.iter().enumerate().all(|(i, r)| r.0 == i + 1), "{name}: positions");
        let mean = rows.iter().map(|r| r.2).sum::<f64>() / rows.len() as f64;
        let reported = json_number(&json, "nats_per_token");
        assert!(
            ((mean - reported) / reported).abs() < 1e-6,
            "{name}: {mean} vs {reported}"
        );

        // The row of the predicted token (at word level, eval then scores
        // the <eos> that ends the text's last line).
        let (_, last_token, last_nats, last_rank) = rows.iter().rev().find(|r| r.1 == next).unwrap().clone();
        assert_eq!(last_token, next, "{name}");
        let list = predict(&ck, prime, 1000);
        assert!(list.windows(2).all(|w| w[0].1 >= w[1].1), "{name}: not sorted");
        let total: f64 = list.iter().map(|x| x.1).sum();
        assert!(total <= 1.0 + 1e-5 && total > 0.999, "{name}: Σp = {total}");
        let at = list.iter().position(|x| x.0 == next).unwrap();
        let p = list[at].1;
        assert!(
            ((p - (-last_nats).exp()) / p).abs() < 1e-5,
            "{name}: predict {p} vs eval {}",
            (-last_nats).exp()
        );
        assert_eq!(at + 1, last_rank, "{name}: rank");
        assert_eq!(predict(&ck, prime, 3).len(), 3);
    }
}

/// Tabs, newlines and backslashes in tokens are escaped in the TSV.
#[test]
fn per_token_escapes_tab_newline_and_backslash() {
    let dir = tmpdir("escape");
    let text = "a\tb\\c\nabc\t\\\n".repeat(20);
    let ck = train(&dir, "esc", &text, &["--level", "char"]);
    let scored = dir.join("s.txt");
    std::fs::write(&scored, "a\tb\\c\n").unwrap();
    let tsv = dir.join("s.tsv");
    run_ok(
        bin()
            .args(["eval", "--model"])
            .arg(&ck)
            .arg("--corpus")
            .arg(&scored)
            .arg("--per-token")
            .arg(&tsv),
    );
    let tokens: Vec<String> = rows(&std::fs::read_to_string(&tsv).unwrap())
        .into_iter()
        .map(|r| r.1)
        .collect();
    assert_eq!(tokens, ["\\t", "b", "\\\\", "c", "\\n"]);
}

/// At word level a prime is the start of a line: no <eos> after it unless
/// it ends with a newline, so "the" and "the\n" predict differently.
#[test]
fn a_word_prime_without_newline_continues_the_line() {
    let dir = tmpdir("prime");
    let words = "the cat sat .\nthe dog ran .\n".repeat(40);
    let ck = train(
        &dir,
        "w",
        &words,
        &["--level", "word", "--classes", "0", "--steps", "300", "--lr", "0.01"],
    );
    let within = predict(&ck, "the", 1);
    let after_line = predict(&ck, "the cat sat .\n", 1);
    assert!(within[0].0 == "cat" || within[0].0 == "dog", "{within:?}");
    assert_eq!(after_line[0].0, "the", "{after_line:?}");
}

/// The page: a header with model, file, token count and perplexity; one
/// coloured span per scored token with its nats, rank and five predictions
/// in the title; nothing loaded from elsewhere, no scripts. Where a
/// headless Chromium is installed, it loads the page and its DOM has every
/// span (skipped with a note elsewhere).
#[test]
fn the_surprisal_page_is_self_contained_and_complete() {
    let dir = tmpdir("html");
    let words = "the cat sat on the mat .\nthe dog sat on the log .\n".repeat(30);
    let ck = train(&dir, "w", &words, &["--level", "word", "--classes", "2"]);
    let scored = dir.join("s.txt");
    std::fs::write(&scored, "the cat sat on the <b>log</b> .\n").unwrap();
    let page = dir.join("s.html");
    let json = eval_json_with(&ck, &scored, &["--html".as_ref(), page.as_os_str()]);
    let html = std::fs::read_to_string(&page).unwrap();
    let tokens = json_number(&json, "tokens") as usize;
    let ppl = json_number(&json, "perplexity");
    assert!(html.starts_with("<!DOCTYPE html>") && html.trim_end().ends_with("</html>"));
    assert!(
        html.contains(&format!("{tokens} tokens scored")),
        "header lacks the token count"
    );
    assert!(
        html.contains(&format!("perplexity {ppl:.3}")),
        "header lacks eval's perplexity {ppl:.3}"
    );
    assert!(html.contains(&ck.display().to_string()) && html.contains("s.txt"));
    let spans = html.matches("\" title=\"").count();
    assert_eq!(spans, tokens, "one span with a title per scored token");
    assert_eq!(html.matches("nats, rank ").count(), tokens);
    let first_title = &html[html.find("\" title=\"").unwrap()..];
    let top = &first_title[first_title.find("top: ").unwrap()..first_title.find("\">").unwrap()];
    assert_eq!(top.matches(", ").count(), 4, "five predictions: {top}");
    // The unknown word "<b>log</b>" is <unk>, escaped; nothing is fetched or run.
    assert!(html.contains("&lt;unk&gt;") && !html.contains("<b>"));
    for banned in ["<script", "src=", "href=", "@import", "url("] {
        assert!(!html.contains(banned), "{banned}");
    }
    let chromium = ["chromium", "chromium-browser", "google-chrome"].into_iter().find(|c| {
        std::process::Command::new(c)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    });
    let Some(chromium) = chromium else {
        eprintln!("note: no headless Chromium here; the page was checked as text only");
        return;
    };
    let o = std::process::Command::new(chromium)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--dump-dom"])
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let dom = String::from_utf8_lossy(&o.stdout);
    assert_eq!(dom.matches("title=\"").count(), tokens, "the browser's DOM lost spans");
    assert!(dom.contains("class=\"text\""));
}
