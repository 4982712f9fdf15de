//! Resume is exact: N steps in one go equal k steps, a stop, and `--resume`
//! to N — same checkpoint bytes (weights, optimizer state, schedule with its
//! rollback point, dropout generator, data position, carried hidden state)
//! and the same learning-curve rows — for every optimizer, both schedules,
//! with and without dropout and weight decay, stopping mid-epoch and at an
//! epoch end.

mod common;
use common::*;

use std::path::Path;
use std::process::Command;

fn train(corpus: &Path, out: &Path, log: &Path, optimizer: &str, extra: &[&str], steps: u64, resume: Option<&Path>) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rnnlm"));
    cmd.args([
        "train",
        "--quiet",
        "--embed",
        "6",
        "--hidden",
        "12",
        "--batch",
        "2",
        "--seq-len",
        "8",
    ])
    .args(["--epochs", "5", "--optimizer", optimizer, "--steps", &steps.to_string()])
    .args(extra)
    .arg("--corpus")
    .arg(corpus)
    .arg("--valid")
    .arg(corpus.with_extension("valid"))
    .arg("--out")
    .arg(out)
    .arg("--log")
    .arg(log);
    if let Some(r) = resume {
        cmd.arg("--resume").arg(r);
    }
    let o = cmd.output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// The CSV rows without the tokens/s column (wall-clock, not state).
fn curve(log: &Path) -> Vec<String> {
    std::fs::read_to_string(log)
        .unwrap()
        .lines()
        .map(|l| {
            let mut fields: Vec<&str> = l.split(',').collect();
            assert_eq!(
                fields.len(),
                7,
                "step,epoch,lr,train_loss,valid_loss,tokens_per_s,decision: {l}"
            );
            fields.remove(5);
            fields.join(",")
        })
        .collect()
}

#[test]
fn resuming_gives_bit_identical_state_for_every_optimizer() {
    let dir = tmpdir("exact");
    let corpus = dir.join("c.txt");
    let text = "the cat sat on the mat.\n우리는 달린다, 천천히.\nabc abc abc.\n".repeat(2);
    std::fs::write(&corpus, &text).unwrap();
    std::fs::write(corpus.with_extension("valid"), "the mat sat on the cat.\n").unwrap();
    let batches = rnnlm::data::Batches::new(text.chars().count(), 2, 8).unwrap();
    let chunks_per_epoch = batches.chunks() as u64;
    assert!(
        chunks_per_epoch > 4,
        "the mid-epoch stop must fall inside the first epoch"
    );
    let total = 2 * chunks_per_epoch + 3;
    let variants: [&[&str]; 2] = [
        &["--schedule", "plateau"],
        &["--schedule", "mikolov", "--dropout", "0.3", "--weight-decay", "1e-4"],
    ];
    for (optimizer, extra) in ["sgd", "adagrad", "adam"]
        .into_iter()
        .flat_map(|o| variants.map(|v| (o, v)))
    {
        let tag = format!("{optimizer}-{}", extra[1]);
        let (whole, whole_log) = (
            dir.join(format!("{tag}-whole.ckpt")),
            dir.join(format!("{tag}-whole.csv")),
        );
        train(&corpus, &whole, &whole_log, optimizer, extra, total, None);
        for stop in [4, chunks_per_epoch] {
            let part = dir.join(format!("{tag}-{stop}.ckpt"));
            let part_log = dir.join(format!("{tag}-{stop}.csv"));
            train(&corpus, &part, &part_log, optimizer, extra, stop, None);
            let paused = rnnlm::train::checkpoint::load(&part).unwrap().train.unwrap();
            assert_eq!(paused.step, stop);
            if stop == chunks_per_epoch {
                assert_eq!(
                    (paused.epoch, paused.chunk),
                    (1, 0),
                    "{optimizer}: stop {stop} is an epoch end"
                );
            } else {
                assert_eq!(
                    (paused.epoch, paused.chunk),
                    (0, stop as usize),
                    "{optimizer}: stop {stop} is mid-epoch"
                );
            }
            train(&corpus, &part, &part_log, optimizer, extra, total, Some(&part.clone()));
            assert!(
                std::fs::read(&whole).unwrap() == std::fs::read(&part).unwrap(),
                "{tag}: stop at {stop} then resume differs from one run"
            );
            assert_eq!(
                curve(&whole_log),
                curve(&part_log),
                "{tag}: learning curves differ (stop {stop})"
            );
        }
    }
}

/// What one training step is, end to end: an N-token corpus with
/// `--batch 1 --seq-len N-1 --valid-frac 0 --steps 1 --optimizer sgd` is one
/// step on one chunk from h_0 = 0, and SGD is exactly W ← W − lr·∇W.
#[test]
fn one_sgd_step_is_exactly_w_minus_lr_grad() {
    use rnnlm::data::{Level, Vocab};
    use rnnlm::matmul::Gemm;
    use rnnlm::matrix::Matrix;
    use rnnlm::model::{backward, forward, Config, Params, Workspace};
    use rnnlm::rng::Rng;

    let dir = tmpdir("sgd");
    let corpus = dir.join("c.txt");
    let text = "hello, 세계! hello.";
    std::fs::write(&corpus, text).unwrap();
    let n = text.chars().count();
    let (seed, lr) = (9u64, 0.5f64);
    let out = dir.join("m.ckpt");
    let o = Command::new(env!("CARGO_BIN_EXE_rnnlm"))
        .args([
            "train",
            "--quiet",
            "--embed",
            "4",
            "--hidden",
            "5",
            "--batch",
            "1",
            "--valid-frac",
            "0",
        ])
        .args([
            "--seq-len",
            &(n - 1).to_string(),
            "--steps",
            "1",
            "--optimizer",
            "sgd",
            "--clip",
            "0",
        ])
        .args(["--lr", &lr.to_string(), "--seed", &seed.to_string()])
        .arg("--corpus")
        .arg(&corpus)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    // The same step by hand through the library.
    let vocab = Vocab::build(text, Level::Char, 1, usize::MAX);
    let ids = vocab.encode(text).unwrap();
    let cfg = Config::full(vocab.len(), 4, 5);
    let mut params = Params::<f32>::init(&cfg, &mut Rng::new(seed));
    let mut grads = Params::zeros(&cfg);
    let mut ws = Workspace::new(Gemm::new());
    forward(
        &params,
        &ids[..n - 1],
        &ids[1..],
        1,
        Matrix::zeros(1, 5).view(),
        &mut ws,
    );
    backward(&params, &mut grads, &mut ws);
    for (w, g) in params.tensors_mut().into_iter().zip(grads.tensors()) {
        for (w, &g) in w.as_mut_slice().iter_mut().zip(g.as_slice()) {
            *w -= lr as f32 * g;
        }
    }
    let saved = rnnlm::train::checkpoint::load(&out).unwrap();
    assert_eq!(saved.model.vocab, vocab);
    assert!(saved.model.params == params, "the binary's step differs from W − lr·∇W");
}

/// Dropout masks come from the run's generator in a fixed order, not from
/// the workers, and each step's streams are cut into shards by B alone
/// (`model::shards`): with dropout, two threads give the checkpoint one
/// thread gives, byte for byte.
#[test]
fn dropout_results_do_not_depend_on_the_thread_count() {
    let dir = tmpdir("threads");
    let corpus = dir.join("c.txt");
    std::fs::write(&corpus, "the cat sat on the mat. 우리는 달린다.\n".repeat(60)).unwrap();
    assert!(rnnlm::model::recurrence::workers(2, 8, 128, 32) == 2, "must split");
    let run = |threads: &str| {
        let out = dir.join(format!("t{threads}.ckpt"));
        let o = Command::new(env!("CARGO_BIN_EXE_rnnlm"))
            .args(["train", "--quiet", "--embed", "32", "--hidden", "128", "--batch", "8"])
            .args([
                "--seq-len",
                "32",
                "--steps",
                "3",
                "--dropout",
                "0.4",
                "--threads",
                threads,
            ])
            .arg("--corpus")
            .arg(&corpus)
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        std::fs::read(out).unwrap()
    };
    assert!(run("1") == run("2"), "--threads 2 changed the result");
}

/// A run paused with one thread count resumes exactly with another: three
/// steps on one thread then three more on two (and the other way round)
/// write the checkpoint six steps on one thread write, byte for byte.
#[test]
fn a_run_paused_with_one_thread_count_resumes_exactly_with_another() {
    let dir = tmpdir("threads-resume");
    let corpus = dir.join("c.txt");
    std::fs::write(&corpus, "the cat sat on the mat. 우리는 달린다.\n".repeat(60)).unwrap();
    let train = |out: &std::path::Path, steps: &str, threads: &str, resume: bool| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_rnnlm"));
        c.args(["train", "--quiet", "--embed", "16", "--hidden", "64", "--batch", "6"])
            .args([
                "--seq-len",
                "16",
                "--steps",
                steps,
                "--dropout",
                "0.2",
                "--threads",
                threads,
            ])
            .arg("--corpus")
            .arg(&corpus)
            .arg("--out")
            .arg(out);
        if resume {
            c.arg("--resume").arg(out);
        }
        let o = c.output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    let straight = dir.join("straight.ckpt");
    train(&straight, "6", "1", false);
    for (first, then) in [("1", "2"), ("2", "1")] {
        let paused = dir.join(format!("paused-{first}-{then}.ckpt"));
        train(&paused, "3", first, false);
        train(&paused, "6", then, true);
        assert!(
            std::fs::read(&paused).unwrap() == std::fs::read(&straight).unwrap(),
            "paused on {first} thread(s), resumed on {then}: the result differs"
        );
    }
}
