//! End to end through the real binary: train a tiny model, generate and
//! evaluate from its checkpoint, and the errors bad input must give (one
//! line, the file or flag named, a non-zero exit, no file touched).

mod common;
use common::*;
use rnnlm::train::Optimizer;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("run rnnlm")
}

const TEXT: &str = "안녕하세요 세계. hello world.\n우리는 달린다. the cat sat on the mat.\n";

fn corpus(dir: &Path) -> PathBuf {
    let p = dir.join("c.txt");
    std::fs::write(&p, TEXT.repeat(20)).unwrap();
    p
}

fn train(dir: &Path, out: &Path, extra: &[&str]) -> Output {
    let c = corpus(dir);
    let mut cmd = bin();
    cmd.args(["train", "--corpus"]).arg(&c).args([
        "--embed",
        "8",
        "--hidden",
        "16",
        "--batch",
        "2",
        "--seq-len",
        "8",
        "--quiet",
        "--out",
    ]);
    cmd.arg(out).args(extra);
    // Six steps unless the case sets its own.
    if !extra.contains(&"--steps") {
        cmd.args(["--steps", "6"]);
    }
    run(&mut cmd)
}

#[test]
fn train_then_generate_and_eval_from_the_checkpoint() {
    let dir = tmpdir("e2e");
    let ck = dir.join("m.ckpt");
    let o = train(&dir, &ck, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(ck.exists());

    let o = run(bin()
        .args(["generate", "--model"])
        .arg(&ck)
        .args(["--prime", "안녕", "--len", "20", "--seed", "3"]));
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8(o.stdout.clone()).expect("generated text is UTF-8");
    assert!(text.starts_with("안녕"));
    assert!(text.trim_end().chars().count() >= 2 + 10, "too short: {text:?}");
    // Same seed, same text.
    let o2 = run(bin()
        .args(["generate", "--model"])
        .arg(&ck)
        .args(["--prime", "안녕", "--len", "20", "--seed", "3"]));
    assert_eq!(o.stdout, o2.stdout);

    let o = run(bin()
        .args(["eval", "--json", "--model"])
        .arg(&ck)
        .arg("--corpus")
        .arg(corpus(&dir)));
    assert!(o.status.success(), "{}", stderr(&o));
    let json = String::from_utf8(o.stdout).unwrap();
    let nats = json_number(&json, "nats_per_token");
    assert!(
        (json_number(&json, "perplexity") - nats.exp()).abs() < 1e-9 * nats.exp(),
        "{json}"
    );
    assert!(
        (json_number(&json, "bits_per_token") - nats / std::f64::consts::LN_2).abs() < 1e-9,
        "{json}"
    );
    let tokens = TEXT.repeat(20).chars().count() - 1;
    assert_eq!(json_number(&json, "tokens"), tokens as f64, "{json}");

    // One token is nothing to score: refused, naming the file and the flag.
    let one = dir.join("one.txt");
    std::fs::write(&one, "안").unwrap();
    let o = run(bin().args(["eval", "--model"]).arg(&ck).arg("--corpus").arg(&one));
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("one.txt: 1 token(s), too few to score"),
        "{}",
        stderr(&o)
    );
    assert!(stderr(&o).contains("give a longer --corpus"), "{}", stderr(&o));
}

#[test]
fn same_seed_gives_the_same_checkpoint_bytes() {
    let dir = tmpdir("seed");
    let (a, b) = (dir.join("a.ckpt"), dir.join("b.ckpt"));
    assert!(train(&dir, &a, &["--seed", "5"]).status.success());
    assert!(train(&dir, &b, &["--seed", "5"]).status.success());
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    let c = dir.join("c.ckpt");
    assert!(train(&dir, &c, &["--seed", "6"]).status.success());
    assert_ne!(std::fs::read(&a).unwrap(), std::fs::read(&c).unwrap());
}

fn fails_with(o: Output, needle: &str) {
    assert!(!o.status.success(), "should fail: {needle}");
    let e = stderr(&o);
    assert!(e.contains(needle), "stderr lacks {needle:?}: {e}");
    assert!(!e.contains("panicked"), "panicked: {e}");
    assert_eq!(e.trim_end().lines().count(), 1, "not one line: {e}");
}

#[test]
fn errors_are_one_line_and_touch_no_files() {
    let dir = tmpdir("errors");
    let ck = dir.join("keep.ckpt");
    std::fs::write(&ck, b"precious").unwrap();
    let c = corpus(&dir);
    fails_with(run(bin().args(["train", "--bogus"])), "unknown flag '--bogus'");
    fails_with(run(bin().args(["train", "--corpus"])), "--corpus needs a value");
    fails_with(
        run(bin().args(["train", "--corpus"]).arg(&c).args(["--batch", "x"])),
        "--batch: 'x' is not a whole number",
    );
    fails_with(
        run(bin().args(["train", "--corpus"]).arg(&c).args(["--hidden", "0"])),
        "--hidden: 0 is too small",
    );
    fails_with(
        run(bin().args(["train", "--corpus"]).arg(dir.join("missing.txt"))),
        "missing.txt",
    );
    let empty = dir.join("empty.txt");
    std::fs::write(&empty, "").unwrap();
    fails_with(
        run(bin().args(["train", "--corpus"]).arg(&empty).arg("--out").arg(&ck)),
        "empty",
    );
    let bad = dir.join("bad.txt");
    std::fs::write(&bad, b"abc\xffdef").unwrap();
    fails_with(
        run(bin().args(["train", "--corpus"]).arg(&bad).arg("--out").arg(&ck)),
        "offset 3",
    );
    let tiny = dir.join("tiny.txt");
    std::fs::write(&tiny, "abcdef").unwrap();
    fails_with(
        run(bin()
            .args(["train", "--corpus"])
            .arg(&tiny)
            .args(["--valid-frac", "0", "--out"])
            .arg(&ck)),
        "tiny.txt: 6 training tokens are too few for --batch 32",
    );
    // Validation text too short to score names its file and the flag.
    let one = dir.join("one.txt");
    std::fs::write(&one, "a").unwrap();
    fails_with(
        run(bin()
            .args(["train", "--corpus"])
            .arg(&c)
            .arg("--valid")
            .arg(&one)
            .arg("--out")
            .arg(&ck)),
        "one.txt: the validation text has 1 token(s), too few to score",
    );
    let lines = dir.join("lines.txt");
    std::fs::write(&lines, "abcdefgh ".repeat(40) + "\na").unwrap();
    fails_with(
        run(bin()
            .args(["train", "--batch", "2", "--corpus"])
            .arg(&lines)
            .args(["--valid-frac", "0.001", "--out"])
            .arg(&ck)),
        "held out by --valid-frac): the validation text has 1 token(s), too few to score (at least 2); raise --valid-frac",
    );
    fails_with(
        run(bin().args(["generate", "--model"]).arg(&ck)),
        "not an rnnlm checkpoint",
    );
    fails_with(
        run(bin().args(["eval", "--model"]).arg(&ck).arg("--corpus").arg(&c)),
        "not an rnnlm checkpoint",
    );
    fails_with(run(bin().args(["frobnicate"])), "unknown command");
    assert_eq!(std::fs::read(&ck).unwrap(), b"precious");
}

#[test]
fn help_describes_every_command() {
    let o = run(bin().arg("--help"));
    assert!(o.status.success());
    let h = String::from_utf8(o.stdout).unwrap();
    for c in ["train", "eval", "generate", "gradcheck", "bench"] {
        assert!(h.contains(c));
    }
    let o = run(bin().args(["train", "--help"]));
    let h = String::from_utf8(o.stdout).unwrap();
    assert!(
        h.contains("--seq-len") && h.contains("[default: char and jamo 64, word 35]"),
        "{h}"
    );
}

#[test]
fn gradcheck_command_passes_and_prints_every_tensor() {
    let o = run(bin().args(["gradcheck", "--vocab", "5", "--hidden", "4", "--embed", "3"]));
    assert!(o.status.success(), "{}", stderr(&o));
    let s = String::from_utf8(o.stdout).unwrap();
    for t in ["E ", "W_x", "W_h", "b_h", "W_y", "b_y", "h_0"] {
        assert!(s.contains(t), "{s}");
    }
}

#[test]
fn init_starts_from_a_checkpoints_weights_with_a_fresh_optimizer() {
    let dir = tmpdir("init");
    let (base, tuned) = (dir.join("base.ckpt"), dir.join("tuned.ckpt"));
    assert!(train(&dir, &base, &[]).status.success());
    let o = train(
        &dir,
        &tuned,
        &[
            "--init",
            base.to_str().unwrap(),
            "--steps",
            "1",
            "--init-scheme",
            "small",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("--init-scheme ignored"), "{}", stderr(&o));
    let b = rnnlm::train::checkpoint::load(&base).unwrap();
    let t = rnnlm::train::checkpoint::load(&tuned).unwrap();
    assert_eq!(t.model.vocab, b.model.vocab);
    assert_eq!(
        t.model.params.config, b.model.params.config,
        "--init keeps the checkpoint's shapes"
    );
    let (bs, ts) = (b.train.unwrap(), t.train.unwrap());
    assert_eq!((bs.step, ts.step), (6, 1));
    let Optimizer::Adam { t: steps_taken, .. } = ts.optimizer else {
        panic!("the default optimizer is Adam")
    };
    assert_eq!(steps_taken, 1, "the optimizer state starts fresh");
    assert!(t.model.params != b.model.params, "one step must move the weights");
}

#[test]
fn bench_gemm_json_reports_the_contract_keys_for_given_shapes() {
    use rnnlm::io::json::Json;
    let o = run(bin().args([
        "bench",
        "gemm",
        "--kernel",
        "portable",
        "--threads",
        "1",
        "--budget",
        "1",
        "--json",
        "--shape",
        "17x9x33,2x3x4",
    ]));
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8(o.stdout).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "one line per shape: {out}");
    for (line, (m, k, n)) in lines.iter().zip([(17.0, 9.0, 33.0), (2.0, 3.0, 4.0)]) {
        let o = rnnlm::io::json::parse(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        let num = |key: &str| match o.get(key) {
            Some(Json::Number(x)) => *x,
            other => panic!("{key}: {other:?} in {line}"),
        };
        assert_eq!((num("m"), num("k"), num("n")), (m, k, n));
        assert_eq!(num("threads"), 1.0);
        assert!(num("gflops") > 0.0 && num("peak_gflops") > 0.0, "{line}");
        assert_eq!(o.get("kernel"), Some(&Json::String("portable".into())));
        assert_eq!(o.get("prepacked"), Some(&Json::Bool(false)));
        let Some(Json::Array(blocks)) = o.get("blocks") else {
            panic!("no blocks: {line}")
        };
        assert_eq!(blocks.len(), 3, "{line}");
    }
    for bad in ["17x9", "0x1x1", "axbxc", "100000x100000x100000"] {
        let o = run(bin().args(["bench", "gemm", "--shape", bad]));
        assert_eq!(o.status.code(), Some(2), "--shape {bad}");
        assert!(stderr(&o).contains("--shape"), "{}", stderr(&o));
    }
}

/// `bench generate --json`: a line per model and case (one sample and 32,
/// f32 and bf16; one sample in f16) with the contract keys; one sample of a
/// full softmax also gives the weight bytes a token reads (half for bf16
/// and f16) and their rate, a half-precision case its speed against f32's.
#[test]
fn bench_generate_json_reports_every_model_and_case() {
    use rnnlm::io::json::Json;
    let o = run(bin().args(["bench", "generate", "--budget", "5", "--json"]));
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8(o.stdout).unwrap();
    let lines: Vec<Json> = out.lines().map(|l| rnnlm::io::json::parse(l).unwrap()).collect();
    assert_eq!(lines.len(), 3 * 5, "{out}");
    let mut bytes = std::collections::HashMap::new();
    for o in &lines {
        let num = |key: &str| match o.get(key) {
            Some(Json::Number(x)) => Some(*x),
            _ => None,
        };
        let text = |key: &str| match o.get(key) {
            Some(Json::String(s)) => s.clone(),
            other => panic!("{key}: {other:?}"),
        };
        let (config, weights, samples) = (text("config"), text("weights"), num("samples").unwrap());
        assert!(num("tokens_per_s").unwrap() > 0.0, "{o:?}");
        let median = num("median_tokens_per_s").unwrap();
        assert!(median > 0.0 && median <= num("tokens_per_s").unwrap(), "{o:?}");
        assert!([1.0, 32.0].contains(&samples) && ["f32", "bf16", "f16"].contains(&weights.as_str()));
        assert!(weights != "f16" || samples == 1.0, "{o:?}");
        assert_eq!(num("vs_f32").is_some(), weights != "f32", "{o:?}");
        let full = !config.contains("C=");
        assert_eq!(num("weight_bytes_per_token").is_some(), full && samples == 1.0, "{o:?}");
        if let Some(b) = num("weight_bytes_per_token") {
            assert!(num("weight_gb_per_s").unwrap() > 0.0);
            bytes.insert((config, weights), b);
        }
    }
    let h512 = |w: &str| bytes[&("char V=65 D=H=512".to_string(), w.to_string())];
    for half in ["bf16", "f16"] {
        assert!((h512("f32") - 2.0 * h512(half)).abs() <= 4.0 * 512.0, "{bytes:?}");
    }
}

#[test]
fn bench_commands_refuse_an_unknown_kernel_naming_the_flag() {
    for cmd in ["gemm", "train", "generate"] {
        let o = run(bin().args(["bench", cmd, "--kernel", "nope"]));
        assert_eq!(o.status.code(), Some(2), "bench {cmd}");
        assert!(stderr(&o).contains("--kernel"), "bench {cmd}: {}", stderr(&o));
    }
}

/// The main job, briefly: the comparison table on its validation split
/// (unigram, Kneser–Ney 5-gram and the RNN, perplexity and bits/token),
/// the learning curve beside the checkpoint, a predict example; and a run
/// bounded by time shows its budget in the progress line.
#[test]
fn the_main_job_compares_honestly_and_shows_its_time_budget() {
    let dir = tmpdir("demo");
    let out = dir.join("demo.ckpt");
    let o = run(bin().args(["--time", "3", "--out"]).arg(&out));
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8(o.stdout).unwrap();
    let table: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("on the same validation split"))
        .take(4)
        .collect();
    assert_eq!(table.len(), 4, "{text}");
    for (line, name) in table[1..]
        .iter()
        .zip(["unigram (add-one)", "Kneser-Ney 5-gram", "this RNN"])
    {
        let numbers: Vec<f64> = line.split_whitespace().filter_map(|w| w.parse().ok()).collect();
        assert!(line.trim_start().starts_with(name), "{line}");
        let (ppl, bits) = (numbers[numbers.len() - 2], numbers[numbers.len() - 1]);
        assert!(
            ppl > 1.0 && (bits - ppl.log2()).abs() < 1e-3,
            "{line}: bits must be log2 of the perplexity"
        );
    }
    assert!(text.contains("learning curve: ") && std::fs::metadata(out.with_extension("svg")).unwrap().len() > 1000);
    assert!(text.contains("rnnlm predict --model"), "{text}");

    let corpus = dir.join("c.txt");
    std::fs::write(&corpus, "the cat sat on the mat. 우리는 달린다.\n".repeat(200)).unwrap();
    let o = run(bin()
        .args([
            "train", "--hidden", "32", "--embed", "8", "--time", "3", "--epochs", "100000",
        ])
        // Never stopped by the schedule: the time budget ends it.
        .args(["--schedule", "plateau", "--patience", "1000000", "--corpus"])
        .arg(&corpus)
        .arg("--out")
        .arg(dir.join("t.ckpt")));
    assert!(o.status.success(), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("s of 3s, epoch "),
        "no time budget in the progress line: {e}"
    );
    assert!(
        !e.contains("/10 step"),
        "a time-bound run shows a made-up epoch count: {e}"
    );
}

/// Held-out text with characters the training text never had (Korean
/// syllables, say) is scored, not refused: `train --valid`, `eval` and
/// `ngram` skip those characters and count them, so their numbers compare.
#[test]
fn unseen_characters_are_skipped_and_counted_everywhere() {
    let dir = tmpdir("oov");
    let (train_text, held_out) = (dir.join("train.txt"), dir.join("held.txt"));
    std::fs::write(&train_text, "가나다라 마바사.\n".repeat(50)).unwrap();
    std::fs::write(&held_out, "가나힣다라 마바사.\n가나다 퓛라.\n").unwrap();
    let ck = dir.join("m.ckpt");
    let o = run(bin()
        .args([
            "train", "--embed", "8", "--hidden", "16", "--batch", "4", "--steps", "3", "--corpus",
        ])
        .arg(&train_text)
        .arg("--valid")
        .arg(&held_out)
        .arg("--out")
        .arg(&ck));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("held.txt: 2 validation character(s) outside the vocabulary skipped"),
        "{}",
        stderr(&o)
    );
    let json = String::from_utf8(
        run(bin()
            .args(["eval", "--json", "--model"])
            .arg(&ck)
            .arg("--corpus")
            .arg(&held_out))
        .stdout,
    )
    .unwrap();
    assert_eq!(json_number(&json, "oov"), 2.0, "{json}");
    let chars = std::fs::read_to_string(&held_out).unwrap().chars().count();
    assert_eq!(json_number(&json, "tokens"), (chars - 2 - 1) as f64, "{json}");
    let o = run(bin()
        .args(["ngram", "--json", "--order", "3", "--corpus"])
        .arg(&train_text)
        .arg("--eval")
        .arg(&held_out));
    assert!(o.status.success(), "{}", stderr(&o));
    let ngram = String::from_utf8(o.stdout).unwrap();
    assert_eq!(json_number(&ngram, "oov"), 2.0, "{ngram}");
    assert_eq!(
        json_number(&ngram, "tokens"),
        json_number(&json, "tokens"),
        "the same tokens are scored"
    );
}

/// `RNNLM_BLOCKS=MC,KC,NC` sets the block sizes of the kernel in use, shown
/// by `bench gemm` (header and the JSON key `blocks`); sizes that do not fit
/// the kernel's tile are refused with a note and the defaults run.
#[test]
fn rnnlm_blocks_overrides_and_bench_gemm_reports_them() {
    use rnnlm::io::json::Json;
    let bench = |env: &str| {
        run(bin()
            .env("RNNLM_KERNEL", "portable")
            .env("RNNLM_BLOCKS", env)
            .args([
                "bench",
                "gemm",
                "--kernel",
                "portable",
                "--threads",
                "1",
                "--budget",
                "1",
                "--json",
            ])
            .args(["--shape", "9x10x11"]))
    };
    let o = bench("8,7,16");
    assert!(o.status.success(), "{}", stderr(&o));
    let line = String::from_utf8(o.stdout).unwrap();
    let v = rnnlm::io::json::parse(line.trim()).unwrap();
    assert_eq!(
        v.get("blocks"),
        Some(&Json::Array(vec![
            Json::from(8usize),
            Json::from(7usize),
            Json::from(16usize)
        ]))
    );
    let o = bench("6,7,16"); // MC not a multiple of the portable kernel's MR = 4
    assert!(o.status.success());
    assert!(
        stderr(&o).contains("RNNLM_BLOCKS '6,7,16': MC must be a multiple of MR = 4"),
        "{}",
        stderr(&o)
    );
    let line = String::from_utf8(o.stdout).unwrap();
    let v = rnnlm::io::json::parse(line.trim()).unwrap();
    let d = rnnlm::matmul::Blocks::for_kernel(rnnlm::matmul::Kernel::Portable);
    assert_eq!(
        v.get("blocks"),
        Some(&Json::Array(vec![Json::from(d.mc), Json::from(d.kc), Json::from(d.nc)]))
    );
}

/// `generate --samples N` draws N samples in one batch: each after its
/// header `--- sample i ---`, each starting from the prime; sample i is the
/// one `--seed seed+i` draws alone (for N up to the few-rows path, where
/// the batch computes each stream exactly as one stream is computed), and a
/// larger batch (packed products) gives N different samples of the length
/// asked for.
#[test]
fn generate_samples_prints_each_after_its_header() {
    let dir = tmpdir("samples");
    let ck = dir.join("m.ckpt");
    let o = train(&dir, &ck, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let generate = |extra: &[&str]| {
        let o = run(bin()
            .args(["generate", "--model"])
            .arg(&ck)
            .args(["--prime", "안녕", "--len", "30", "--threads", "1"])
            .args(extra));
        assert!(o.status.success(), "{}", stderr(&o));
        String::from_utf8(o.stdout).unwrap()
    };
    let batch = generate(&["--samples", "3", "--seed", "5"]);
    let parts: Vec<&str> = batch.split_inclusive('\n').collect();
    let mut samples: Vec<String> = Vec::new();
    for line in parts {
        match line.strip_prefix("--- sample ") {
            Some(rest) => {
                assert_eq!(rest.trim_end(), format!("{} ---", samples.len()), "header {line:?}");
                samples.push(String::new());
            }
            None => samples.last_mut().expect("text after a header").push_str(line),
        }
    }
    assert_eq!(samples.len(), 3, "{batch}");
    for (i, s) in samples.iter().enumerate() {
        let alone = generate(&["--seed", &(5 + i).to_string()]);
        assert_eq!(s, &alone, "sample {i} differs from --seed {}", 5 + i);
    }
    let wide = generate(&["--samples", "6"]);
    let texts: Vec<&str> = wide
        .split("--- sample ")
        .skip(1)
        .map(|s| s.split_once("---\n").unwrap().1)
        .collect();
    assert_eq!(texts.len(), 6, "{wide}");
    for t in &texts {
        assert!(t.starts_with("안녕") && t.trim_end().chars().count() >= 2 + 15, "{t:?}");
    }
    let distinct: std::collections::HashSet<&&str> = texts.iter().collect();
    assert!(distinct.len() >= 5, "six seeds, hardly any different samples: {wide}");
}

/// `--weights bf16` and `--weights f16` run the model with every weight
/// rounded to that format: generation is reproducible and a few-rows batch
/// still draws what each seed draws alone; `eval` scores the rounded model,
/// close to the exact one and not equal to it, and says so in its JSON;
/// `predict` lists the same tokens with nearly the same probabilities; an
/// unknown precision is a usage error naming the flag.
#[test]
fn weights_bf16_and_f16_run_the_rounded_model_everywhere() {
    let dir = tmpdir("bf16");
    let ck = dir.join("m.ckpt");
    let o = train(&dir, &ck, &["--steps", "30"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let cmd = |name: &str, extra: &[&str]| {
        let mut c = bin();
        c.arg(name).arg("--model").arg(&ck).args(extra);
        c
    };
    for half in ["bf16", "f16"] {
        let generate = |extra: &[&str]| {
            let mut c = cmd("generate", &["--prime", "the", "--len", "40", "--weights", half]);
            ok_stdout(run(c.args(extra)))
        };
        let once = generate(&["--seed", "4"]);
        assert_eq!(once, generate(&["--seed", "4"]), "same seed, different text");
        assert!(once.starts_with("the") && once.chars().count() >= 40, "{once:?}");
        let pair = generate(&["--seed", "4", "--samples", "2"]);
        let first = pair.split("--- sample 1 ---").next().unwrap();
        assert_eq!(first.strip_prefix("--- sample 0 ---\n").unwrap(), once, "{pair}");

        let c = corpus(&dir);
        let score = |w: &str| eval_json_with(&ck, &c, &["--weights".as_ref(), w.as_ref()]);
        let (exact, rounded) = (score("f32"), score(half));
        assert!(
            rounded.contains(&format!("\"{half}\"")) && exact.contains("\"f32\""),
            "{rounded} {exact}"
        );
        // The README's claim: rounding moves the perplexity by less than 1e-4
        // of it (2e-5 and 7e-5 for bf16, 2e-6 and 2e-7 for f16 on the README's
        // models), and does move it.
        let (pe, pr) = (json_number(&exact, "perplexity"), json_number(&rounded, "perplexity"));
        assert!(
            pe != pr && ((pr - pe) / pe).abs() < 1e-4,
            "perplexity {pe} exact, {pr} {half}"
        );

        let predict = |w: &str| {
            ok_stdout(run(&mut cmd(
                "predict",
                &["--prime", "the c", "--top", "3", "--weights", w],
            )))
        };
        let (pe, pr) = (predict("f32"), predict(half));
        for (a, b) in pe.lines().zip(pr.lines()) {
            let (pa, ta) = a.split_once("  ").unwrap();
            let (pb, tb) = b.split_once("  ").unwrap();
            let (pa, pb): (f64, f64) = (pa.parse().unwrap(), pb.parse().unwrap());
            assert!(ta == tb && (pa - pb).abs() < 0.01, "f32 {a:?}, {half} {b:?}");
        }
    }
    fails_with(run(&mut cmd("generate", &["--weights", "fp16"])), "--weights");
}

/// A reader that goes away (`rnnlm … | head`) is not an error: the lines
/// meant for it are dropped and the command finishes and exits 0, without a
/// panic. (The pipe's read end is closed before each command starts, so
/// every write to stdout fails with a broken pipe.)
#[test]
fn a_closed_stdout_drops_the_output_and_nothing_else() {
    let dir = tmpdir("closed-stdout");
    let model = dir.join("m.ckpt");
    let o = train(&dir, &model, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    let (model, corpus) = (model.to_str().unwrap(), dir.join("c.txt"));
    let corpus = corpus.to_str().unwrap();
    let commands: [&[&str]; 3] = [
        &["--help"],
        &["eval", "--json", "--model", model, "--corpus", corpus],
        &["predict", "--model", model, "--prime", "the"],
    ];
    for args in commands {
        let o = run(bin().args(args).stdout(writer.try_clone().unwrap()));
        assert!(o.status.success(), "{args:?}: {:?}\n{}", o.status, stderr(&o));
        assert!(!stderr(&o).contains("panicked"), "{args:?}: {}", stderr(&o));
    }
}
