//! export → import, NumPy reading the exported files, import refusing bad
//! folders, and eval on a model whose answer is known by hand.

mod common;
use common::*;

use std::path::Path;
use std::process::{Command, Output};

use rnnlm::io::npy::npy_bytes;

fn ok(o: Output) -> String {
    assert!(o.status.success(), "failed: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap()
}

fn err(o: Output) -> String {
    assert!(!o.status.success(), "should have failed");
    let e = String::from_utf8(o.stderr).unwrap();
    assert!(!e.contains("panicked"), "{e}");
    e
}

/// A V = 2 char model whose weights are all zero except b_y = [0, ln 3]:
/// p = (1/4, 3/4) at every position, whatever the input.
fn write_known_model(dir: &Path) {
    let (v, d, h) = (2, 3, 4);
    let z = |n: usize| vec![0.0f32; n];
    let files: [(&str, Vec<usize>, Vec<f32>); 6] = [
        ("E", vec![v, d], z(v * d)),
        ("W_x", vec![h, d], z(h * d)),
        ("W_h", vec![h, h], z(h * h)),
        ("b_h", vec![h], z(h)),
        ("W_y", vec![v, h], z(v * h)),
        ("b_y", vec![v], vec![0.0, 3f32.ln()]),
    ];
    for (name, shape, data) in files {
        std::fs::write(dir.join(format!("{name}.npy")), npy_bytes(&shape, &data)).unwrap();
    }
    std::fs::write(dir.join("vocab.json"), r#"["a", "b"]"#).unwrap();
    std::fs::write(
        dir.join("config.json"),
        r#"{"level": "char", "vocab_size": 2, "embed_dim": 3, "hidden_dim": 4}"#,
    )
    .unwrap();
}

fn eval_json(model: &Path, corpus: &Path) -> String {
    ok(bin()
        .args(["eval", "--json", "--model"])
        .arg(model)
        .arg("--corpus")
        .arg(corpus)
        .output()
        .unwrap())
}

fn number(json: &str, key: &str) -> f64 {
    let at = json.find(&format!("\"{key}\": ")).unwrap() + key.len() + 4;
    json[at..].split([',', '}']).next().unwrap().trim().parse().unwrap()
}

#[test]
fn eval_matches_a_hand_computed_cross_entropy() {
    let dir = tmpdir("known");
    write_known_model(&dir);
    let ck = dir.join("m.ckpt");
    ok(bin()
        .arg("import")
        .arg("--dir")
        .arg(&dir)
        .arg("--out")
        .arg(&ck)
        .output()
        .unwrap());
    let text = dir.join("t.txt");
    std::fs::write(&text, "abba").unwrap();
    let json = eval_json(&ck, &text);
    // Predicted: b, b, a  →  (2·ln(4/3) + ln 4) / 3 nats.
    let want = (2.0 * (4.0f64 / 3.0).ln() + 4f64.ln()) / 3.0;
    assert_eq!(number(&json, "tokens"), 3.0);
    assert!((number(&json, "nats_per_token") - want).abs() < 1e-6, "{json}");
    assert!((number(&json, "perplexity") - want.exp()).abs() < 1e-5, "{json}");
    assert!(
        (number(&json, "bits_per_token") - want / 2f64.ln()).abs() < 1e-6,
        "{json}"
    );
    // A character the model does not know is an error that lists it.
    std::fs::write(&text, "abc").unwrap();
    let e = err(bin()
        .args(["eval", "--model"])
        .arg(&ck)
        .arg("--corpus")
        .arg(&text)
        .output()
        .unwrap());
    assert!(e.contains("\"c\""), "{e}");
}

#[test]
fn export_import_round_trip_gives_identical_eval_and_numpy_reads_it() {
    let dir = tmpdir("roundtrip");
    let corpus = dir.join("c.txt");
    std::fs::write(&corpus, "한국어와 English, twice over.\n".repeat(30)).unwrap();
    let ck = dir.join("a.ckpt");
    ok(bin()
        .args([
            "train",
            "--quiet",
            "--embed",
            "6",
            "--hidden",
            "10",
            "--batch",
            "2",
            "--seq-len",
            "8",
            "--steps",
            "5",
        ])
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
    let ck2 = dir.join("b.ckpt");
    ok(bin()
        .arg("import")
        .arg("--dir")
        .arg(&out)
        .arg("--out")
        .arg(&ck2)
        .output()
        .unwrap());
    assert_eq!(eval_json(&ck, &corpus), eval_json(&ck2, &corpus));

    // numpy.load must read what we wrote (skipped where NumPy is absent).
    let script = "import numpy as np, json, sys\n\
         d = sys.argv[1]\n\
         c = json.load(open(d + '/config.json'))\n\
         V, D, H = c['vocab_size'], c['embed_dim'], c['hidden_dim']\n\
         want = {'E': (V, D), 'W_x': (H, D), 'W_h': (H, H), 'b_h': (H,), 'W_y': (V, H), 'b_y': (V,)}\n\
         for k, s in want.items():\n\
         \x20   a = np.load(d + '/' + k + '.npy')\n\
         \x20   assert a.dtype == np.dtype('<f4') and a.shape == s and a.flags['C_CONTIGUOUS'], (k, a.dtype, a.shape)\n\
         assert len(json.load(open(d + '/vocab.json'))) == V\n\
         print('ok', V, D, H)\n";
    match Command::new("python3").arg("-c").arg(script).arg(&out).output() {
        Ok(o) if String::from_utf8_lossy(&o.stderr).contains("No module named 'numpy'") => {
            eprintln!("note: NumPy is not installed; skipping the numpy.load check")
        }
        Ok(o) => assert_eq!(ok(o).split_whitespace().next(), Some("ok")),
        Err(_) => eprintln!("note: python3 is not available; skipping the numpy.load check"),
    }
}

#[test]
fn import_refuses_missing_files_wrong_dtype_and_shape() {
    let dir = tmpdir("bad");
    let out = dir.join("out.ckpt");
    let import = |d: &Path| {
        bin()
            .arg("import")
            .arg("--dir")
            .arg(d)
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap()
    };

    write_known_model(&dir);
    std::fs::remove_file(dir.join("W_h.npy")).unwrap();
    assert!(err(import(&dir)).contains("W_h.npy"));

    write_known_model(&dir);
    std::fs::write(dir.join("W_h.npy"), npy_bytes(&[4, 5], &[0.0; 20])).unwrap();
    let e = err(import(&dir));
    assert!(
        e.contains("W_h.npy") && e.contains("[4, 5]") && e.contains("[4, 4]"),
        "{e}"
    );

    write_known_model(&dir);
    let mut f8 = npy_bytes(&[4, 4], &[0.0; 16]);
    let at = f8.windows(3).position(|w| w == b"<f4").unwrap();
    f8[at + 2] = b'8';
    std::fs::write(dir.join("W_h.npy"), f8).unwrap();
    assert!(err(import(&dir)).contains("'<f8'"));

    write_known_model(&dir);
    std::fs::write(dir.join("vocab.json"), r#"["a", "b", "c"]"#).unwrap();
    assert!(err(import(&dir)).contains("vocab_size 2"));

    write_known_model(&dir);
    std::fs::write(dir.join("config.json"), r#"{"level": "char", "vocab_size": 2}"#).unwrap();
    assert!(err(import(&dir)).contains("embed_dim"));
    assert!(!out.exists(), "a failed import must not write the output");
}
