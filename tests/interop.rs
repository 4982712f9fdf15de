//! export → import, NumPy reading the exported files, import refusing bad
//! folders, and eval on a model whose answer is known by hand.

mod common;
use common::*;

use std::path::{Path, PathBuf};
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
    eval_json_with(model, corpus, &[])
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
    assert_eq!(number(&json, "oov"), 0.0);
    // Characters the model does not know are skipped — neither predicted
    // nor fed — and counted: "abxbyza" scores as "abba" with three skipped.
    std::fs::write(&text, "abxbyza").unwrap();
    let skipped = eval_json(&ck, &text);
    assert_eq!(number(&skipped, "oov"), 3.0, "{skipped}");
    assert_eq!(number(&skipped, "tokens"), 3.0, "{skipped}");
    assert!((number(&skipped, "nats_per_token") - want).abs() < 1e-6, "{skipped}");
}

#[test]
fn export_import_round_trip_gives_identical_eval_and_numpy_reads_it() {
    let dir = tmpdir("roundtrip");
    let text = "한국어와 English, twice over.\n".repeat(30);
    let flags = [
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
    ];
    let (ck, out, corpus) = train_and_export(&dir, &text, &flags);
    let ck2 = dir.join("b.ckpt");
    import_ok(&out, &ck2);
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
    if let Some(o) = with_numpy(script, &[&out]) {
        assert_eq!(o.split_whitespace().next(), Some("ok"));
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

/// A weight bf16 cannot hold (it would round to ∞) makes `--weights bf16`
/// refuse the model with one line naming the checkpoint and the entry (and
/// one beyond f16's 65504, which bf16 holds, `--weights f16`),
/// while the model as trained still scores exactly; and where every weight
/// is a bf16 value already (the known model: zeros and b_y = ln 3 rounds
/// close by), the rounded model scores as expected.
#[test]
fn weights_bf16_refuses_a_weight_beyond_its_range() {
    let dir = tmpdir("bf16-range");
    write_known_model(&dir);
    let ck = dir.join("m.ckpt");
    import_ok(&dir, &ck);
    let text = dir.join("t.txt");
    std::fs::write(&text, "abba").unwrap();
    let want = (2.0 * (4.0f64 / 3.0).ln() + 4f64.ln()) / 3.0;
    let rounded = eval_json_with(&ck, &text, &["--weights".as_ref(), "bf16".as_ref()]);
    assert!((number(&rounded, "nats_per_token") - want).abs() < 2e-3, "{rounded}");

    let mut w_h = vec![0.0f32; 16];
    w_h[4 + 2] = f32::MAX; // W_h[1, 2]; h_0 = 0 keeps it out of every sum
    std::fs::write(dir.join("W_h.npy"), npy_bytes(&[4, 4], &w_h)).unwrap();
    let big = dir.join("big.ckpt");
    import_ok(&dir, &big);
    let exact = eval_json(&big, &text);
    assert!((number(&exact, "nats_per_token") - want).abs() < 1e-6, "{exact}");
    for cmd in ["eval", "generate"] {
        let mut c = bin();
        c.arg(cmd).arg("--model").arg(&big).args(["--weights", "bf16"]);
        if cmd == "eval" {
            c.arg("--corpus").arg(&text);
        }
        let e = err(c.output().unwrap());
        assert!(
            e.contains("big.ckpt") && e.contains("W_h[1, 2]") && e.trim_end().lines().count() == 1,
            "{cmd}: {e}"
        );
    }
    // f16 ends at 65504: 1e5 is beyond it, not beyond bf16.
    w_h[4 + 2] = 1e5;
    std::fs::write(dir.join("W_h.npy"), npy_bytes(&[4, 4], &w_h)).unwrap();
    let beyond_f16 = dir.join("beyond-f16.ckpt");
    import_ok(&dir, &beyond_f16);
    let in_bf16 = eval_json_with(&beyond_f16, &text, &["--weights".as_ref(), "bf16".as_ref()]);
    assert!((number(&in_bf16, "nats_per_token") - want).abs() < 2e-3, "{in_bf16}");
    let mut c = bin();
    c.arg("eval")
        .arg("--model")
        .arg(&beyond_f16)
        .args(["--weights", "f16", "--corpus"])
        .arg(&text);
    let e = err(c.output().unwrap());
    assert!(
        e.contains("beyond-f16.ckpt")
            && e.contains("W_h[1, 2]")
            && e.contains("f16")
            && e.trim_end().lines().count() == 1,
        "{e}"
    );
}

/// `rnnlm import --dir DIR --out OUT`, which must succeed.
fn import_ok(dir: &Path, out: &Path) {
    ok(bin()
        .arg("import")
        .arg("--dir")
        .arg(dir)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap());
}

/// A small word-level model with `classes` output classes, exported.
fn trained_word_model(dir: &Path, classes: &str) -> (PathBuf, PathBuf, PathBuf) {
    let text = "the cat sat on the mat .\nthe dog sat on the log .\na cat and a dog ran .\n".repeat(40);
    let flags = ["--level", "word", "--embed", "6", "--hidden", "10", "--batch", "4"];
    train_and_export(
        dir,
        &text,
        &[&flags[..], &["--seq-len", "8", "--steps", "30", "--classes", classes]].concat(),
    )
}

/// Run a Python script with NumPy: its output, or `None` (with a note)
/// where python3 or NumPy is missing.
fn with_numpy(script: &str, args: &[&Path]) -> Option<String> {
    match Command::new("python3").arg("-c").arg(script).args(args).output() {
        Ok(o) if String::from_utf8_lossy(&o.stderr).contains("No module named 'numpy'") => {
            eprintln!("note: NumPy is not installed; skipping the NumPy check");
            None
        }
        Ok(o) => Some(ok(o)),
        Err(_) => {
            eprintln!("note: python3 is not available; skipping the NumPy check");
            None
        }
    }
}

/// The perplexity NumPy computes from the exported files and vocab.json
/// alone — word level: whitespace-split words, `<eos>` at each line end,
/// unknown words as `<unk>`; one stream from h_0 = 0; a classed model's
/// P(w|h) = softmax(W_c h + b_c)[c(w)] · softmax over c(w)'s words of
/// (W_y h + b_y) — matches `eval` to 1e-4 relative, for a full and a
/// classed model. Skipped (with a note) where NumPy is not installed.
#[test]
fn numpy_reproduces_eval_from_the_exported_files() {
    let script = r#"
import numpy as np, json, sys
d, text = sys.argv[1], open(sys.argv[2], encoding='utf-8').read()
c = json.load(open(d + '/config.json'))
vocab = json.load(open(d + '/vocab.json'))
ids = {w: i for i, w in enumerate(vocab)}
toks = [ids.get(w, ids['<unk>']) for line in text.split('\n')[:-1] for w in line.split() + ['<eos>']]
L = lambda n: np.load(d + '/' + n + '.npy').astype(np.float64)
E, Wx, Wh, bh, Wy, by = (L(n) for n in ['E', 'W_x', 'W_h', 'b_h', 'W_y', 'b_y'])
C = c['classes']
if C:
    Wc, bc, cls = L('W_c'), L('b_c'), np.load(d + '/class_of.npy')
    assert cls.dtype == np.dtype('<i4') and cls.shape == (len(vocab),)
lse = lambda z: z.max() + np.log(np.exp(z - z.max()).sum())
h, nats = np.zeros(c['hidden_dim']), 0.0
for x, y in zip(toks[:-1], toks[1:]):
    h = np.tanh(Wx @ E[x] + Wh @ h + bh)
    if C == 0:
        z = Wy @ h + by
        nats -= z[y] - lse(z)
    else:
        s = Wc @ h + bc
        k = cls[y]
        members = np.flatnonzero(cls == k)
        u = Wy[members] @ h + by[members]
        nats -= (s[k] - lse(s)) + (u[np.flatnonzero(members == y)[0]] - lse(u))
print(len(toks) - 1, nats / (len(toks) - 1))
"#;
    for classes in ["0", "3"] {
        let dir = tmpdir(&format!("numpy-eval-{classes}"));
        let (ck, out, _) = trained_word_model(&dir, classes);
        let text = dir.join("held-out.txt");
        std::fs::write(&text, "the cat ran on the log .\na dog and the zebra sat .\n").unwrap();
        let json = eval_json(&ck, &text);
        let Some(o) = with_numpy(script, &[&out, &text]) else {
            return;
        };
        let mut it = o.split_whitespace();
        let tokens: f64 = it.next().unwrap().parse().unwrap();
        let nats: f64 = it.next().unwrap().parse().unwrap();
        assert_eq!(tokens, number(&json, "tokens"), "classes {classes}: {json}");
        let ours = number(&json, "nats_per_token");
        assert!(
            ((nats - ours) / ours).abs() < 1e-4,
            "classes {classes}: NumPy {nats} vs eval {ours}"
        );
        let config = std::fs::read_to_string(out.join("config.json")).unwrap();
        assert_eq!(json_number(&config, "classes"), classes.parse::<f64>().unwrap());
    }
}

/// A classed export imports back to the same evaluation; so does one whose
/// class_of is not contiguous in id order (NumPy or PyTorch may write
/// that): import renumbers the vocabulary, the probabilities stay.
#[test]
fn classed_import_accepts_any_class_order() {
    use rnnlm::io::npy::parse_npy;
    let dir = tmpdir("classed-order");
    let (ck, out, corpus) = trained_word_model(&dir, "3");
    let load_f = |name: &str| parse_npy::<f32>(&std::fs::read(out.join(format!("{name}.npy"))).unwrap()).unwrap();
    // Reverse the ids: row i of E, W_y, b_y and entry i of class_of and
    // vocab.json move to V − 1 − i.
    let (shape, class_of) = parse_npy::<i32>(&std::fs::read(out.join("class_of.npy")).unwrap()).unwrap();
    let v = shape[0];
    assert!(class_of.windows(2).any(|w| w[0] != w[1]), "needs several classes");
    let rev_rows = |data: Vec<f32>, cols: usize| -> Vec<f32> {
        (0..v)
            .rev()
            .flat_map(|i| data[i * cols..(i + 1) * cols].to_vec())
            .collect()
    };
    for name in ["E", "W_y", "b_y"] {
        let (s, data) = load_f(name);
        let cols = if s.len() == 2 { s[1] } else { 1 };
        std::fs::write(out.join(format!("{name}.npy")), npy_bytes(&s, &rev_rows(data, cols))).unwrap();
    }
    let reversed: Vec<i32> = class_of.iter().rev().copied().collect();
    std::fs::write(out.join("class_of.npy"), npy_bytes(&[v], &reversed)).unwrap();
    let vocab: Vec<String> =
        match rnnlm::io::json::parse(&std::fs::read_to_string(out.join("vocab.json")).unwrap()).unwrap() {
            rnnlm::io::json::Json::Array(a) => a.iter().rev().map(|t| t.to_string()).collect(),
            other => panic!("{other:?}"),
        };
    std::fs::write(out.join("vocab.json"), format!("[{}]", vocab.join(", "))).unwrap();
    let ck2 = dir.join("again.ckpt");
    import_ok(&out, &ck2);
    let (a, b) = (eval_json(&ck, &corpus), eval_json(&ck2, &corpus));
    let (na, nb) = (number(&a, "nats_per_token"), number(&b, "nats_per_token"));
    assert!(((na - nb) / na).abs() < 1e-6, "{na} vs {nb}");

    // Exported again, the renumbered model gives back the folder's ids:
    // the same tokens in vocab.json, every .npy byte for byte.
    let back = dir.join("back");
    export_ok(&ck2, &back);
    for name in ["E", "W_x", "W_h", "b_h", "W_y", "b_y", "W_c", "b_c", "class_of"] {
        let file = format!("{name}.npy");
        assert!(
            std::fs::read(out.join(&file)).unwrap() == std::fs::read(back.join(&file)).unwrap(),
            "{file} differs after import and export"
        );
    }
    let tokens =
        |dir: &Path| rnnlm::io::json::parse(&std::fs::read_to_string(dir.join("vocab.json")).unwrap()).unwrap();
    assert_eq!(tokens(&out), tokens(&back));
}

/// `rnnlm export --model M --out DIR`, which must succeed.
fn export_ok(model: &Path, out: &Path) {
    ok(bin()
        .arg("export")
        .arg("--model")
        .arg(model)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap());
}

/// Export, import, export: every file of the second folder is the first's,
/// byte for byte, for a full, a classed and a tied model (and so through
/// the checkpoint in between).
#[test]
fn import_then_export_gives_back_the_same_files() {
    for (name, classes, tie) in [("full", "0", false), ("classed", "3", false), ("tied", "3", true)] {
        let dir = tmpdir(&format!("roundtrip-{name}"));
        let text = "the cat sat on the mat .\nthe dog sat on the log .\na cat and a dog ran .\n".repeat(40);
        let mut flags = vec!["--level", "word", "--embed", "8", "--hidden", "8", "--batch", "4"];
        flags.extend(["--seq-len", "8", "--steps", "10", "--classes", classes]);
        flags.push(if tie { "--tie" } else { "--untie" });
        let (_, first, _) = train_and_export(&dir, &text, &flags);
        let ck = dir.join("imported.ckpt");
        import_ok(&first, &ck);
        let second = dir.join("second");
        export_ok(&ck, &second);
        let mut files: Vec<_> = std::fs::read_dir(&first)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        files.sort();
        let mut again: Vec<_> = std::fs::read_dir(&second)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        again.sort();
        assert_eq!(files, again, "{name}");
        for f in &files {
            assert!(
                std::fs::read(first.join(f)).unwrap() == std::fs::read(second.join(f)).unwrap(),
                "{name}: {f:?} differs"
            );
        }
    }
}

#[test]
fn import_refuses_bad_class_files() {
    let dir = tmpdir("bad-classes");
    let (_, out, _) = trained_word_model(&dir, "3");
    let import = || {
        bin()
            .arg("import")
            .arg("--dir")
            .arg(&out)
            .arg("--out")
            .arg(dir.join("x.ckpt"))
            .output()
            .unwrap()
    };
    let class_of = std::fs::read(out.join("class_of.npy")).unwrap();
    let v = rnnlm::io::npy::parse_npy::<i32>(&class_of).unwrap().0[0];
    // Floats instead of int32.
    std::fs::write(out.join("class_of.npy"), npy_bytes(&[v], &vec![0.0f32; v])).unwrap();
    assert!(err(import()).contains("expected '<i4'"));
    // A class out of range, and a class with no words.
    let mut bad = vec![0i32; v];
    bad[1] = 3;
    std::fs::write(out.join("class_of.npy"), npy_bytes(&[v], &bad)).unwrap();
    let e = err(import());
    assert!(e.contains("class_of.npy") && e.contains("not in 0..3"), "{e}");
    bad[1] = 1;
    std::fs::write(out.join("class_of.npy"), npy_bytes(&[v], &bad)).unwrap();
    let e = err(import());
    assert!(e.contains("class 2 has no words"), "{e}");
    // W_c of the wrong shape.
    std::fs::write(out.join("class_of.npy"), &class_of).unwrap();
    std::fs::write(out.join("W_c.npy"), npy_bytes(&[2, 10], &[0.0f32; 20])).unwrap();
    let e = err(import());
    assert!(e.contains("W_c.npy") && e.contains("[3, 10]"), "{e}");
    assert!(!dir.join("x.ckpt").exists());
}

/// A tied model (`--tie`, full and classed): the checkpoint keeps it,
/// `export` writes `"tied": true` with E.npy and W_y.npy equal, `import`
/// round-trips it to the same eval, and refuses a folder whose W_y differs
/// from E, naming the file and the entry.
#[test]
fn tied_export_import_contract() {
    for classes in ["0", "3"] {
        let dir = tmpdir(&format!("tied-{classes}"));
        let text = "the cat sat on the mat .\nthe dog sat on the log .\na cat and a dog ran .\n".repeat(40);
        let flags = [
            "--level", "word", "--embed", "8", "--hidden", "8", "--batch", "4", "--tie",
        ];
        let (ck, out, corpus) = train_and_export(
            &dir,
            &text,
            &[&flags[..], &["--seq-len", "8", "--steps", "30", "--classes", classes]].concat(),
        );
        let model = rnnlm::train::checkpoint::load(&ck).unwrap().model;
        assert!(model.params.config.tied);
        assert_eq!(model.params.e, model.params.w_y, "trained E and W_y came apart");
        let config = std::fs::read_to_string(out.join("config.json")).unwrap();
        assert!(config.contains("\"tied\": true"), "{config}");
        assert_eq!(
            std::fs::read(out.join("E.npy")).unwrap(),
            std::fs::read(out.join("W_y.npy")).unwrap()
        );
        let again = dir.join("again.ckpt");
        import_ok(&out, &again);
        assert!(rnnlm::train::checkpoint::load(&again).unwrap().model.params.config.tied);
        assert_eq!(eval_json(&ck, &corpus), eval_json(&again, &corpus));
        // --init keeps the tie (and --tie is noted as taken from the checkpoint).
        let fine = dir.join("fine.ckpt");
        ok(bin()
            .args(["train", "--quiet", "--level", "word", "--steps", "3", "--init"])
            .arg(&ck)
            .arg("--corpus")
            .arg(&corpus)
            .arg("--out")
            .arg(&fine)
            .output()
            .unwrap());
        let p = rnnlm::train::checkpoint::load(&fine).unwrap().model.params;
        assert!(p.config.tied && p.e == p.w_y);
        // So does --resume.
        ok(bin()
            .args(["train", "--quiet", "--level", "word", "--steps", "6", "--resume"])
            .arg(&fine)
            .arg("--corpus")
            .arg(&corpus)
            .arg("--out")
            .arg(&fine)
            .output()
            .unwrap());
        let q = rnnlm::train::checkpoint::load(&fine).unwrap();
        assert_eq!(q.train.unwrap().step, 6);
        assert!(q.model.params.config.tied && q.model.params.e == q.model.params.w_y);
        assert_ne!(q.model.params, p, "the resumed steps must move the weights");

        // W_y no longer E: refused, naming W_y.npy and the entry.
        let (v, h) = (model.params.config.vocab, model.params.config.hidden);
        let mut w_y = model.params.w_y.as_slice().to_vec();
        w_y[h + 2] += 0.5;
        std::fs::write(out.join("W_y.npy"), npy_bytes(&[v, h], &w_y)).unwrap();
        let e = err(bin()
            .arg("import")
            .arg("--dir")
            .arg(&out)
            .arg("--out")
            .arg(dir.join("bad.ckpt"))
            .output()
            .unwrap());
        assert!(
            e.contains("W_y.npy") && e.contains("W_y[1, 2]") && e.contains("tied"),
            "{e}"
        );
        assert!(!dir.join("bad.ckpt").exists());
    }
    // --tie with D ≠ H: a usage error naming both flags.
    let dir = tmpdir("tied-shape");
    std::fs::write(dir.join("c.txt"), "a b c\n".repeat(50)).unwrap();
    let o = bin()
        .args([
            "train", "--level", "word", "--embed", "4", "--hidden", "6", "--tie", "--corpus",
        ])
        .arg(dir.join("c.txt"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.contains("--tie") && e.contains("--embed (4)") && e.contains("--hidden (6)"),
        "{e}"
    );
}
