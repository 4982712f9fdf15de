//! How a language model is used: per-token scores of a forward, sentences
//! scored one by one (`rnnlm score --sentences`), n-best lists rescored
//! (`--nbest`), and the RNN mixed with an ARPA n-gram (`eval --mix`,
//! `score --mix`).

mod common;
use common::*;

use std::path::{Path, PathBuf};

use rnnlm::matmul::Gemm;
use rnnlm::matrix::Matrix;
use rnnlm::model::{rnn::forward, Classes, Config, Params, Shards, Workspace};
use rnnlm::rng::Rng;
use rnnlm::sample::Generator;

/// A random model, full softmax or with classes.
fn model(v: usize, classes: usize, seed: u64) -> Params<f32> {
    let mut cfg = Config::full(v, 6, 9);
    if classes > 0 {
        cfg.classes = Classes::even(v, classes);
    }
    Params::init(&cfg, &mut Rng::new(seed))
}

/// The forward's per-token nats are its loss's terms, and each is −ln of
/// the probability the one-token generation path gives the target (a
/// separate code path: the step-by-step distribution over every word).
#[test]
fn token_nats_are_the_losses_terms() {
    for classes in [0, 4] {
        let params = model(23, classes, 3);
        let (b, t) = (3, 5);
        let mut rng = Rng::new(9);
        let ids: Vec<u32> = (0..b * (t + 1)).map(|_| rng.below(23) as u32).collect();
        // Stream s is ids[s·(T+1) ..][..T+1]; time-major rows t·B + s.
        let at = |s: usize, step: usize| ids[s * (t + 1) + step];
        let inputs: Vec<u32> = (0..t)
            .flat_map(|k| (0..b).map(move |s| (s, k)))
            .map(|(s, k)| at(s, k))
            .collect();
        let targets: Vec<u32> = (0..t)
            .flat_map(|k| (0..b).map(move |s| (s, k + 1)))
            .map(|(s, k)| at(s, k))
            .collect();
        let mut ws = Workspace::new(Gemm::new());
        let loss = forward(&params, &inputs, &targets, b, Matrix::zeros(b, 9).view(), &mut ws);
        let nats = ws.token_nats();
        assert_eq!(nats.len(), b * t);
        let mean = nats.iter().sum::<f64>() / nats.len() as f64;
        assert!(
            (mean - loss).abs() < 1e-12 * loss.abs().max(1.0),
            "classes {classes}: {mean} vs {loss}"
        );
        for s in 0..b {
            let mut g = Generator::new(&params);
            for k in 0..t {
                g.feed(at(s, k));
                let p = g.probs()[at(s, k + 1) as usize] as f64;
                let got = nats[k * b + s];
                assert!(
                    (got + p.ln()).abs() < 1e-5,
                    "classes {classes}, stream {s}, step {k}: {got} vs {}",
                    -p.ln()
                );
            }
        }
        // The sharded step (two shards, two threads) puts each back in place.
        let mut shards = Shards::for_eval(Gemm::<f32>::new().kernel(), 2);
        shards.forward(&params, &inputs, &targets, b, Matrix::zeros(b, 9).view());
        let sharded = shards.token_nats();
        for (i, (x, y)) in nats.iter().zip(&sharded).enumerate() {
            assert!((x - y).abs() < 1e-5, "classes {classes}, row {i}: {x} vs {y}");
        }
    }
}

/// A sentence scores the same alone, in any batch, at any position among
/// others: the streams side by side never mix.
#[test]
fn sentences_side_by_side_score_as_alone() {
    use rnnlm::train::evaluate::score_sentences;
    for classes in [0, 4] {
        let params = model(17, classes, 5);
        let mut rng = Rng::new(2);
        // Lengths 1 to 150: several pieces of SENTENCE_CHUNK steps.
        let sentences: Vec<Vec<u32>> = [3, 1, 150, 7, 7, 40, 2, 66]
            .iter()
            .map(|&n| (0..n).map(|_| 1 + rng.below(16) as u32).collect())
            .collect();
        let mut ws = Workspace::new(Gemm::new());
        let alone: Vec<Vec<f64>> = sentences
            .iter()
            .map(|s| score_sentences(&params, std::slice::from_ref(s), 0, 1, &mut ws).remove(0))
            .collect();
        for batch in [1, 3, 8, 32] {
            let together = score_sentences(&params, &sentences, 0, batch, &mut ws);
            for (i, (a, b)) in alone.iter().zip(&together).enumerate() {
                assert_eq!(a.len(), sentences[i].len());
                assert_eq!(a.len(), b.len());
                for (x, y) in a.iter().zip(b) {
                    assert!(
                        (x - y).abs() < 1e-5,
                        "classes {classes}, batch {batch}, sentence {i}: {x} vs {y}"
                    );
                }
            }
        }
    }
}

/// A word model trained briefly on the bundled corpus's English lines,
/// ARPA files counted on the same lines (a 3-gram, far better than the
/// brief RNN on this templated text, and a 1-gram, a little better), and a
/// held-out file.
struct Fixture {
    dir: PathBuf,
    model: PathBuf,
    arpa: PathBuf,
    unigram: PathBuf,
    held_out: PathBuf,
}

fn fixture(name: &str) -> Fixture {
    let dir = tmpdir(name);
    let demo = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/demo.txt")).unwrap();
    let english: Vec<&str> = demo.lines().filter(|l| l.is_ascii() && !l.is_empty()).collect();
    let (train, held) = english.split_at(english.len() - 40);
    let corpus = dir.join("train.txt");
    std::fs::write(&corpus, train.join("\n") + "\n").unwrap();
    let held_out = dir.join("held.txt");
    std::fs::write(&held_out, held.join("\n") + "\n").unwrap();
    let model = dir.join("m.ckpt");
    let o = train_small(&corpus, &model, "12")
        .args(["--level", "word", "--steps", "80", "--classes", "0"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let count = |order: &str| {
        let arpa = dir.join(format!("kn{order}.arpa"));
        ok_stdout(
            bin()
                .args(["ngram", "--level", "word", "--order", order, "--corpus"])
                .arg(&corpus)
                .arg("--eval")
                .arg(&held_out)
                .arg("--arpa")
                .arg(&arpa)
                .output()
                .unwrap(),
        );
        arpa
    };
    Fixture {
        arpa: count("3"),
        unigram: count("1"),
        dir,
        model,
        held_out,
    }
}

fn score(model: &Path, flags: &[&std::ffi::OsStr]) -> String {
    ok_stdout(
        bin()
            .args(["score", "--model"])
            .arg(model)
            .args(flags)
            .output()
            .unwrap(),
    )
}

/// `score --sentences`: the TSV's log10_prob column, by line.
fn sentence_scores(model: &Path, file: &Path, extra: &[&std::ffi::OsStr]) -> Vec<f64> {
    let mut flags = vec![std::ffi::OsStr::new("--sentences"), file.as_os_str()];
    flags.extend(extra);
    let out = score(model, &flags);
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some("line\ttokens\toov\tlog10_prob\tppl\tppl1"));
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split('\t').collect()).collect();
    assert_eq!(rows.last().unwrap()[0], "total");
    let body = &rows[..rows.len() - 1];
    let total: f64 = body.iter().map(|r| r[3].parse::<f64>().unwrap()).sum();
    assert!((rows.last().unwrap()[3].parse::<f64>().unwrap() - total).abs() < 1e-4);
    body.iter().map(|r| r[3].parse().unwrap()).collect()
}

/// A sentence's score is the same alone and among others, and is the sum of
/// `eval --per-token`'s nats (in log10) over a text that starts with an
/// empty line: `<eos>` first, from h_0 = 0 — the sentence-start state.
#[test]
fn a_sentence_scores_the_same_alone_and_as_its_per_token_sum() {
    let f = fixture("score-sentences");
    let held = std::fs::read_to_string(&f.held_out).unwrap();
    let lines: Vec<&str> = held.lines().take(12).collect();
    let file = f.dir.join("s.txt");
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    let all = sentence_scores(&f.model, &file, &[]);
    assert_eq!(all.len(), 12);
    let batch1 = sentence_scores(&f.model, &file, &["--batch".as_ref(), "1".as_ref()]);
    for i in [0, 5, 11] {
        let one = f.dir.join("one.txt");
        std::fs::write(&one, format!("{}\n", lines[i])).unwrap();
        let alone = sentence_scores(&f.model, &one, &[])[0];
        assert!(
            (alone - all[i]).abs() < 1e-4,
            "line {i}: {alone} alone, {} in the file",
            all[i]
        );
        assert!(
            (batch1[i] - all[i]).abs() < 1e-4,
            "line {i}: batch 1 gives {}",
            batch1[i]
        );
        // The same sentence through eval's per-token rows.
        let text = f.dir.join("eval.txt");
        std::fs::write(&text, format!("\n{}\n", lines[i])).unwrap();
        let tsv = f.dir.join("t.tsv");
        eval_json_with(&f.model, &text, &["--per-token".as_ref(), tsv.as_os_str()]);
        let nats: f64 = std::fs::read_to_string(&tsv)
            .unwrap()
            .lines()
            .skip(1)
            .map(|l| l.split('\t').nth(2).unwrap().parse::<f64>().unwrap())
            .sum();
        let want = -nats / std::f64::consts::LN_10;
        assert!(
            (want - all[i]).abs() < 1e-4,
            "line {i}: per-token sum {want}, score {}",
            all[i]
        );
    }
}

/// `--nbest`: each id's best by score + W·log10 p, computed here by hand
/// from the sentences' own scores; ties keep the first; `--all` lists every
/// hypothesis with its three scores.
#[test]
fn nbest_picks_by_the_hand_computed_totals() {
    let f = fixture("score-nbest");
    let held = std::fs::read_to_string(&f.held_out).unwrap();
    let hyps: Vec<&str> = held.lines().take(6).collect();
    let file = f.dir.join("h.txt");
    std::fs::write(&file, hyps.join("\n") + "\n").unwrap();
    let lm = sentence_scores(&f.model, &file, &[]);
    // Utterance u1: hypotheses 0, 1, 2; u2: 3, 4 and 5, where 5 repeats 4's
    // words with 4's recognizer score (a tie: 4 must win).
    let acoustic = [-20.0, -22.5, -19.0, -30.0, -28.0, -28.0];
    let words = [hyps[0], hyps[1], hyps[2], hyps[3], hyps[4], hyps[4]];
    let ids = ["u1", "u1", "u1", "u2", "u2", "u2"];
    let lm = [lm[0], lm[1], lm[2], lm[3], lm[4], lm[4]];
    let nbest = f.dir.join("n.txt");
    let lines: Vec<String> = (0..6)
        .map(|i| format!("{}\t{}\t{}", ids[i], acoustic[i], words[i]))
        .collect();
    std::fs::write(&nbest, lines.join("\n") + "\n").unwrap();
    for w in [0.0, 0.5, 3.0] {
        let total = |i: usize| acoustic[i] + w * lm[i];
        let best = |range: std::ops::Range<usize>| {
            range
                .clone()
                .fold(range.start, |b, i| if total(i) > total(b) { i } else { b })
        };
        let want = [best(0..3), best(3..6)];
        let out = score(
            &f.model,
            &[
                "--nbest".as_ref(),
                nbest.as_os_str(),
                "--lm-weight".as_ref(),
                w.to_string().as_ref(),
            ],
        );
        let got: Vec<Vec<&str>> = out.lines().map(|l| l.split('\t').collect()).collect();
        assert_eq!(got.len(), 2, "{out}");
        for (row, &i) in got.iter().zip(&want) {
            assert_eq!((row[0], row[2]), (ids[i], words[i]), "weight {w}: {out}");
            assert!(
                (row[1].parse::<f64>().unwrap() - total(i)).abs() < 1e-3,
                "weight {w}: {out}"
            );
        }
        assert_ne!(want[1], 5, "the tie goes to the first listed");
    }
    let all = score(
        &f.model,
        &[
            "--nbest".as_ref(),
            nbest.as_os_str(),
            "--lm-weight".as_ref(),
            "1".as_ref(),
            "--all".as_ref(),
        ],
    );
    assert_eq!(all.lines().count(), 6);
    for (line, i) in all.lines().zip(0..) {
        let cols: Vec<&str> = line.split('\t').collect();
        let (s, l, t): (f64, f64, f64) = (
            cols[1].parse().unwrap(),
            cols[2].parse().unwrap(),
            cols[3].parse().unwrap(),
        );
        assert_eq!((cols[0], s, cols[4]), (ids[i], acoustic[i], words[i]));
        assert!((l - lm[i]).abs() < 1e-4 && (t - (s + l)).abs() < 1e-5, "{line}");
    }
}

/// `eval --mix`: λ = 0 is the RNN alone and λ = 1 the n-gram alone (on the
/// same tokens); `--lambda auto` fitted on the scored text itself is at
/// least as good as both ends and every λ tried; the per-token rows show
/// the mixture; with `--dynamic` the RNN part adapts.
#[test]
fn the_mixture_interpolates_and_em_fits_its_weight() {
    let f = fixture("score-mix");
    // The 1-gram: close enough to the brief RNN that both get weight.
    let (held, arpa) = (f.held_out.as_os_str(), f.unigram.as_os_str());
    let alone = eval_json_with(&f.model, &f.held_out, &[]);
    let ppl = |json: &str| json_number(json, "perplexity");
    let mix = |lambda: &str| {
        eval_json_with(
            &f.model,
            &f.held_out,
            &["--mix".as_ref(), arpa, "--lambda".as_ref(), lambda.as_ref()],
        )
    };
    let rnn_only = mix("0");
    assert!(
        (ppl(&rnn_only) / ppl(&alone) - 1.0).abs() < 1e-5,
        "{rnn_only} vs {alone}"
    );
    assert!((json_number(&rnn_only, "rnn_perplexity") / ppl(&alone) - 1.0).abs() < 1e-5);
    let ngram_only = mix("1");
    assert!((ppl(&ngram_only) / json_number(&ngram_only, "ngram_perplexity") - 1.0).abs() < 1e-9);
    assert_eq!(json_number(&ngram_only, "lambda"), 1.0);
    let auto = eval_json_with(
        &f.model,
        &f.held_out,
        &[
            "--mix".as_ref(),
            arpa,
            "--lambda".as_ref(),
            "auto".as_ref(),
            "--mix-valid".as_ref(),
            held,
        ],
    );
    let lambda = json_number(&auto, "lambda");
    assert!(lambda > 0.01 && lambda < 0.999, "{auto}");
    for other in ["0", "0.1", "0.3", "0.5", "0.7", "0.9", "1"] {
        assert!(
            ppl(&auto) <= ppl(&mix(other)) * (1.0 + 1e-9),
            "λ {other} beats EM's {lambda}: {auto}"
        );
    }
    // The per-token rows carry the mixture's surprisal: their mean is it.
    let tsv = f.dir.join("mix.tsv");
    let with_rows = eval_json_with(
        &f.model,
        &f.held_out,
        &[
            "--mix".as_ref(),
            arpa,
            "--lambda".as_ref(),
            "0.4".as_ref(),
            "--per-token".as_ref(),
            tsv.as_os_str(),
        ],
    );
    let nats: Vec<f64> = std::fs::read_to_string(&tsv)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split('\t').nth(2).unwrap().parse().unwrap())
        .collect();
    let mean = nats.iter().sum::<f64>() / nats.len() as f64;
    assert!(
        (mean - json_number(&with_rows, "nats_per_token")).abs() < 1e-4,
        "{mean}: {with_rows}"
    );
    // With --dynamic, λ = 0 is dynamic evaluation alone.
    let dynamic = eval_json_with(&f.model, &f.held_out, &["--dynamic".as_ref(), "0.05".as_ref()]);
    let dynamic_mix = eval_json_with(
        &f.model,
        &f.held_out,
        &[
            "--dynamic".as_ref(),
            "0.05".as_ref(),
            "--mix".as_ref(),
            arpa,
            "--lambda".as_ref(),
            "0".as_ref(),
        ],
    );
    assert!(
        (ppl(&dynamic) / ppl(&dynamic_mix) - 1.0).abs() < 1e-6,
        "{dynamic} vs {dynamic_mix}"
    );
    assert!(ppl(&dynamic) != ppl(&alone));
}

/// `score --mix`: λ = 1 gives the ARPA model's own sentence scores (as
/// `ngram --load` scores them, from `<s>`), and λ = 0 the RNN's.
#[test]
fn score_mixes_sentence_by_sentence() {
    let f = fixture("score-mix-sentences");
    let held = std::fs::read_to_string(&f.held_out).unwrap();
    let lines: Vec<&str> = held.lines().take(8).collect();
    let file = f.dir.join("s.txt");
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    let rnn = sentence_scores(&f.model, &file, &[]);
    let mix = |l: &str| {
        sentence_scores(
            &f.model,
            &file,
            &["--mix".as_ref(), f.arpa.as_os_str(), "--lambda".as_ref(), l.as_ref()],
        )
    };
    for (a, b) in rnn.iter().zip(mix("0")) {
        assert!((a - b).abs() < 1e-6);
    }
    let ngram = mix("1");
    let total: f64 = ngram.iter().sum();
    let load = ok_stdout(
        bin()
            .args(["ngram", "--json", "--load"])
            .arg(&f.arpa)
            .arg("--eval")
            .arg(&file)
            .output()
            .unwrap(),
    );
    // The model's <unk> is the n-gram's here (both counted on the same text
    // with the same cut), so the two read the same tokens.
    assert!(
        (json_number(&load, "log10_prob") - total).abs() < 1e-3,
        "{load}: {total}"
    );
}

#[test]
fn bad_mixture_and_score_flags_are_usage_errors() {
    let f = fixture("score-flags");
    let m = f.model.as_os_str();
    for (args, want) in [
        (
            vec!["eval", "--corpus", "x", "--lambda", "0.5"],
            "--lambda sets how --mix",
        ),
        (vec!["eval", "--corpus", "x", "--mix", "a.arpa"], "--mix needs --lambda"),
        (
            vec!["eval", "--corpus", "x", "--mix", "a", "--lambda", "auto"],
            "add --mix-valid",
        ),
        (
            vec!["eval", "--corpus", "x", "--mix", "a", "--lambda", "1.5"],
            "--lambda",
        ),
        (vec!["score"], "--sentences FILE (score each line) or --nbest FILE"),
        (vec!["score", "--nbest", "n.txt"], "--nbest needs --lm-weight"),
        (vec!["score", "--sentences", "s", "--all"], "--all goes with --nbest"),
    ] {
        let o = bin().args(&args).arg("--model").arg(m).output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(want), "{args:?}: {}", stderr(&o));
    }
    // A malformed n-best line is named.
    let nbest = f.dir.join("bad.txt");
    std::fs::write(&nbest, "u1\t-3\tthe\nu1 -4 the\n").unwrap();
    let o = bin()
        .args(["score", "--lm-weight", "1", "--model"])
        .arg(m)
        .arg("--nbest")
        .arg(&nbest)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("bad.txt:2: expected id<TAB>score<TAB>hypothesis"),
        "{}",
        stderr(&o)
    );
    // An empty file is named, not scored into NaNs.
    let empty = f.dir.join("empty.txt");
    std::fs::write(&empty, "").unwrap();
    for (flags, want) in [
        (vec!["--sentences"], "empty.txt: no lines to score"),
        (vec!["--lm-weight", "1", "--nbest"], "empty.txt: no hypotheses"),
    ] {
        let o = bin()
            .args(["score", "--model"])
            .arg(m)
            .args(&flags)
            .arg(&empty)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(1), "{flags:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(want), "{flags:?}: {}", stderr(&o));
    }
    // A char model cannot be mixed with a word n-gram.
    let chars = f.dir.join("c.ckpt");
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/demo.txt");
    assert!(train_small(&corpus, &chars, "8")
        .args(["--steps", "2"])
        .output()
        .unwrap()
        .status
        .success());
    let o = bin()
        .args(["eval", "--lambda", "0.5", "--model"])
        .arg(&chars)
        .arg("--corpus")
        .arg(&f.held_out)
        .arg("--mix")
        .arg(&f.arpa)
        .output()
        .unwrap();
    assert!(
        stderr(&o).contains("mixed only with a word-level model"),
        "{}",
        stderr(&o)
    );
}

/// `bench score` times both ways of scoring the same file and says so.
#[test]
fn bench_score_reports_both_rates() {
    let f = fixture("score-bench");
    let out = ok_stdout(
        bin()
            .args(["bench", "score", "--json", "--budget", "50", "--batch", "8", "--model"])
            .arg(&f.model)
            .arg("--sentences")
            .arg(&f.held_out)
            .output()
            .unwrap(),
    );
    let (eval, score) = (
        json_number(&out, "eval_tokens_per_s"),
        json_number(&out, "score_tokens_per_s"),
    );
    assert!(eval > 0.0 && score > 0.0, "{out}");
    assert!(
        (json_number(&out, "ratio") - score / eval).abs() < 1e-9 * score / eval,
        "{out}"
    );
    assert_eq!(
        (json_number(&out, "sentences"), json_number(&out, "batch")),
        (40.0, 8.0)
    );
}
