//! The class-factored output layer: BPTT through it against finite
//! differences, its full distribution against its training loss, and a
//! hand-built model whose perplexity is worked out on paper.

mod common;
use common::*;

use rnnlm::data::{Level, Vocab};
use rnnlm::gradcheck::Case;
use rnnlm::matmul::Gemm;
use rnnlm::matrix::Matrix;
use rnnlm::model::{forward, step, Classes, Config, InputPath, Model, Params, StepState, Workspace};
use rnnlm::rng::Rng;
use rnnlm::train::checkpoint::{self, Checkpoint};

fn classed_case(sizes: &[usize], d: usize, h: usize, batch: usize, steps: usize) -> Case {
    let v = sizes.iter().sum();
    Case {
        config: Config {
            classes: Classes::from_sizes(sizes),
            ..Config::full(v, d, h)
        },
        batch,
        steps,
        seed: 12,
        h0_scale: 0.5,
        path: None,
        sample: None,
        dropout: 0.0,
    }
}

fn assert_passes(c: Case) {
    let report = assert_gradcheck_passes(c);
    // Every tensor of a classed model is checked, W_c and b_c included.
    let names: Vec<&str> = report.tensors.iter().map(|t| t.name).collect();
    assert_eq!(names, ["E", "W_x", "W_h", "b_h", "W_y", "b_y", "W_c", "b_c", "h_0"]);
}

/// A class of one word, classes of different sizes, carried h_0, both input
/// paths: every entry of every tensor.
#[test]
fn classed_gradients_match_finite_differences() {
    for path in [InputPath::Gather, InputPath::Table] {
        assert_passes(Case {
            path: Some(path),
            ..classed_case(&[1, 4, 2], 5, 6, 3, 7)
        });
    }
}

/// Dropout on a classed model, masks held fixed.
#[test]
fn classed_gradients_with_dropout() {
    assert_passes(Case {
        dropout: 0.3,
        ..classed_case(&[1, 4, 2], 5, 6, 3, 5)
    });
}

/// Very different class sizes, and targets that leave some classes unused
/// in the chunk (their W_y rows must get exactly zero gradient).
#[test]
fn classed_gradients_with_uneven_classes() {
    assert_passes(classed_case(&[1, 1, 2, 16], 4, 5, 2, 3));
    assert_passes(classed_case(&[3], 3, 4, 2, 4)); // one class: a plain softmax
}

/// Σ_w P(w | h) = 1 over the whole vocabulary, and the probability the full
/// distribution gives each target is the one the training loss scores:
/// −(1/n) Σ ln p_step[y] equals forward's loss.
#[test]
fn the_factorized_distribution_sums_to_one_and_matches_the_loss() {
    let config = Config {
        classes: Classes::from_sizes(&[1, 3, 5, 2]),
        ..Config::full(11, 4, 6)
    };
    let mut rng = Rng::new(3);
    let mut params = Params::<f64>::init(&config, &mut rng);
    for b in [&mut params.b_h, &mut params.b_y, &mut params.b_c] {
        for x in b.as_mut_slice() {
            *x = rng.uniform_range(-1.0, 1.0);
        }
    }
    let tokens: Vec<u32> = (0..40).map(|_| rng.below(11) as u32).collect();
    let n = tokens.len() - 1;
    let mut ws = Workspace::new(Gemm::new());
    let loss = forward(
        &params,
        &tokens[..n],
        &tokens[1..],
        1,
        Matrix::zeros(1, 6).view(),
        &mut ws,
    );
    let mut s = StepState::new(&params);
    let mut stepper = rnnlm::model::step::Stepper::new(&params, Gemm::new());
    let mut nats = 0.0;
    for t in 0..n {
        step(&params, &mut stepper, &tokens[t..=t], &mut s);
        let total: f64 = s.p.as_slice().iter().sum();
        assert!((total - 1.0).abs() < 1e-9, "step {t}: Σ_w P(w|h) = {total}");
        nats -= s.p.as_slice()[tokens[t + 1] as usize].ln();
    }
    assert!((nats / n as f64 - loss).abs() < 1e-12, "{} vs {loss}", nats / n as f64);
}

/// A model worked out on paper. V = 3 ("a" | "b", "c": two classes),
/// D = H = 1, W_x = W_h = 0 and b_h = atanh(1/2), so h = 1/2 at every step.
/// W_c = (0, 2 ln 3), b_c = 0: s = (0, ln 3), q = (1/4, 3/4).
/// W_y = (·, 0, 2 ln 2), b_y = 0: within the second class u = (0, ln 2),
/// r = (1/3, 2/3). So P(a) = 1/4, P(b) = 3/4 · 1/3 = 1/4, P(c) = 3/4 · 2/3 = 1/2.
/// Scoring "abcc" predicts b, c, c: −(ln 1/4 + 2 ln 1/2)/3 = (4/3) ln 2 nats.
#[test]
fn eval_of_a_hand_built_two_class_model() {
    let config = Config {
        classes: Classes::from_sizes(&[1, 2]),
        ..Config::full(3, 1, 1)
    };
    let mut params = Params::<f32>::zeros(&config);
    params.b_h.set(0, 0, 0.5f64.atanh() as f32);
    params.w_c.set(1, 0, (2.0 * 3f64.ln()) as f32);
    params.w_y.set(2, 0, (2.0 * 2f64.ln()) as f32);
    params.e.as_mut_slice().fill(0.7); // any embedding: W_x = 0 ignores it
    let vocab = Vocab::from_tokens(Level::Char, ["a", "b", "c"].map(String::from).to_vec());
    let dir = tmpdir("two-class");
    let (ck, text) = (dir.join("m.ckpt"), dir.join("abcc.txt"));
    checkpoint::save(
        &ck,
        &Checkpoint {
            model: Model::new(vocab, params),
            train: None,
        },
    )
    .unwrap();
    std::fs::write(&text, "abcc").unwrap();
    let o = bin()
        .args(["eval", "--json", "--model"])
        .arg(&ck)
        .arg("--corpus")
        .arg(&text)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let nats = json_number(&String::from_utf8(o.stdout).unwrap(), "nats_per_token");
    let by_hand = 4.0 / 3.0 * 2f64.ln();
    // f32 weights: h, ln 3 and ln 2 are each rounded once.
    assert!((nats - by_hand).abs() < 1e-6, "{nats} vs {by_hand}");
}

/// SGD and Adagrad visit only the rows of E and W_y that backward wrote
/// into: the weights after a few steps are those of the dense update
/// (forward, backward, clip over everything, update everything), bit for bit.
#[test]
fn sparse_updates_equal_dense_updates() {
    use rnnlm::model::{Shards, TouchedRows};
    use rnnlm::train::step::{take_step, Chunk, Regularization};
    use rnnlm::train::{clip_global_norm, Optimizer, OptimizerKind};
    let config = Config {
        classes: Classes::from_sizes(&[2, 3, 5, 10, 20]),
        ..Config::full(40, 6, 8)
    };
    for kind in [OptimizerKind::Sgd, OptimizerKind::Adagrad] {
        let params = Params::<f32>::init(&config, &mut Rng::new(4));
        let (mut sparse, mut dense) = (params.clone(), params.clone());
        let (mut opt_s, mut opt_d) = (Optimizer::new(kind, &params), Optimizer::new(kind, &params));
        let mut grads = Params::zeros(&config);
        let kernel = Gemm::<f32>::new().kernel();
        let (mut ws_s, mut ws_d) = (Shards::new(kernel, 1), Shards::<f32>::new(kernel, 1));
        let mut rng = Rng::new(5);
        let (b, t) = (2, 3); // N = 6 < V: the gather path, few rows touched
        let h0 = Matrix::zeros(b, 8);
        for _ in 0..4 {
            let stream: Vec<u32> = (0..(t + 1) * b).map(|_| rng.below(12) as u32).collect();
            let (inputs, targets) = (&stream[..t * b], &stream[b..]);
            let chunk = Chunk {
                inputs,
                targets,
                batch: b,
                h0: h0.view(),
            };
            let mut reg = Regularization {
                dropout: 0.0,
                weight_decay: 0.0,
                rng: &mut Rng::new(1),
            };
            let report = take_step(
                &mut sparse,
                &mut grads,
                &mut opt_s,
                &mut ws_s,
                chunk,
                0.5,
                0.05,
                &mut reg,
            )
            .unwrap();
            assert!(report.grad_norm > 0.05, "clipping must be active: {report:?}");
            assert!(
                grads.all_finite() && grads.global_norm() == 0.0,
                "grads not zero after the step"
            );
            let touched = ws_s.touched().clone();
            assert!(touched.e.is_some() && touched.w_y.is_some(), "{touched:?}");

            ws_d.forward(&dense, inputs, targets, b, h0.view());
            let mut g = Params::zeros(&config);
            ws_d.backward(&dense, &mut g);
            let all = dense.spans(&TouchedRows::all());
            clip_global_norm(&mut g, &all, 0.05);
            assert!(opt_d.step(&mut dense, &mut g, 0.5, &all, 1.0, 1));
        }
        assert_eq!(sparse, dense, "{kind:?}: sparse and dense updates differ");
        assert_eq!(opt_s, opt_d, "{kind:?}: optimizer states differ");
    }
}

/// A tied model (one matrix as E and W_y): SGD's and Adagrad's sparse
/// updates of the shared rows — those either path wrote into — are the
/// dense update with g = dE + dW_y (eq. 33) in both tensors and the shared
/// matrix counted once in the clipping norm, bit for bit, and E stays W_y.
#[test]
fn tied_sparse_updates_equal_dense_updates() {
    use rnnlm::model::tie::tie_gradients;
    use rnnlm::model::{tensor, Shards, TouchedRows};
    use rnnlm::train::optim::clip_factor;
    use rnnlm::train::step::{take_step, Chunk, Regularization};
    use rnnlm::train::{Optimizer, OptimizerKind};
    let config = Config {
        classes: Classes::from_sizes(&[2, 3, 5, 10, 20]),
        tied: true,
        ..Config::full(40, 8, 8)
    };
    for kind in [OptimizerKind::Sgd, OptimizerKind::Adagrad, OptimizerKind::Adam] {
        let params = Params::<f32>::init(&config, &mut Rng::new(4));
        let (mut sparse, mut dense) = (params.clone(), params.clone());
        let (mut opt_s, mut opt_d) = (Optimizer::new(kind, &params), Optimizer::new(kind, &params));
        let mut grads = Params::zeros(&config);
        let kernel = Gemm::<f32>::new().kernel();
        let (mut ws_s, mut ws_d) = (Shards::new(kernel, 1), Shards::<f32>::new(kernel, 1));
        let mut rng = Rng::new(5);
        let (b, t) = (2, 3);
        let h0 = Matrix::zeros(b, 8);
        for _ in 0..4 {
            let stream: Vec<u32> = (0..(t + 1) * b).map(|_| rng.below(40) as u32).collect();
            let (inputs, targets) = (&stream[..t * b], &stream[b..]);
            let chunk = Chunk {
                inputs,
                targets,
                batch: b,
                h0: h0.view(),
            };
            let mut reg = Regularization {
                dropout: 0.0,
                weight_decay: 0.0,
                rng: &mut Rng::new(1),
            };
            let report = take_step(
                &mut sparse,
                &mut grads,
                &mut opt_s,
                &mut ws_s,
                chunk,
                0.1,
                0.05,
                &mut reg,
            )
            .unwrap();
            assert!(report.grad_norm > 0.05, "clipping must be active: {report:?}");
            assert!(grads.global_norm() == 0.0, "grads not zero after the step");

            ws_d.forward(&dense, inputs, targets, b, h0.view());
            let mut g = Params::zeros(&config);
            ws_d.backward(&dense, &mut g);
            tie_gradients(&mut g, &TouchedRows::all(), 1);
            let all = dense.spans(&TouchedRows::all());
            let once: Vec<_> = all.iter().filter(|s| s.tensor != tensor::W_Y).cloned().collect();
            let norm = g.norm_with(&once, &[], 1);
            assert_eq!(norm, report.grad_norm, "{kind:?}: the shared matrix counts once");
            assert!(opt_d.step(&mut dense, &mut g, 0.1, &all, clip_factor(norm, 0.05), 1));
        }
        assert_eq!(sparse, dense, "{kind:?}: sparse and dense updates differ");
        assert_eq!(sparse.e, sparse.w_y, "{kind:?}: E and W_y came apart");
        assert_ne!(sparse.e, params.e, "{kind:?}: the steps must move the shared matrix");
    }
}

/// `--init` from a full-softmax checkpoint with `--classes C` keeps every
/// tensor (each word's rows move with it when the vocabulary is reordered
/// into class blocks) and counts classes on the training text; `--init`
/// from a classed checkpoint keeps its assignment unless `--classes 0`
/// drops W_c and b_c; `--resume` keeps it.
#[test]
fn init_adds_keeps_and_drops_classes() {
    let dir = tmpdir("init-classes");
    let corpus = dir.join("c.txt");
    std::fs::write(&corpus, "a a a a b b c the the the the the dog\n".repeat(30)).unwrap();
    let train = |out: &str, extra: &[&str]| {
        let o = bin()
            .args([
                "train", "--quiet", "--level", "word", "--embed", "4", "--hidden", "6", "--batch", "2",
            ])
            .args(["--seq-len", "5", "--class-method", "frequency"])
            // Two steps unless the case sets its own.
            .args(if extra.contains(&"--steps") {
                &[][..]
            } else {
                &["--steps", "2"][..]
            })
            .args(extra)
            .arg("--corpus")
            .arg(&corpus)
            .arg("--out")
            .arg(dir.join(out))
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        checkpoint::load(&dir.join(out)).unwrap().model
    };
    let full = train("full.ckpt", &["--classes", "0"]);
    assert_eq!(full.params.config.classes.count(), 0);
    let base = dir.join("full.ckpt");
    // One SGD step with lr 0: the weights stay those of the checkpoint.
    let no_move = ["--optimizer", "sgd", "--lr", "0", "--steps", "1"];
    let added = train(
        "added.ckpt",
        &[&["--init", base.to_str().unwrap(), "--classes", "3"][..], &no_move].concat(),
    );
    let classes = &added.params.config.classes;
    assert_eq!(classes.count(), 3);
    // Every word keeps its own embedding row and output row.
    for (new_id, token) in added.vocab.tokens().iter().enumerate() {
        let old_id = full.vocab.id(token).unwrap() as usize;
        assert_eq!(added.params.e.row(new_id), full.params.e.row(old_id), "{token}");
        assert_eq!(added.params.w_y.row(new_id), full.params.w_y.row(old_id), "{token}");
    }
    // Counted on the text: "the" (150) and "a" (120) lead the first class.
    assert_eq!(&added.vocab.tokens()[..2], ["the", "a"]);
    let classed = dir.join("added.ckpt");
    let kept = train("kept.ckpt", &["--init", classed.to_str().unwrap(), "--classes", "2"]);
    assert_eq!(kept.params.config.classes, added.params.config.classes);
    assert_eq!(kept.vocab, added.vocab);
    // A classed model generates from its factorized distribution.
    let o = bin()
        .args(["generate", "--len", "12", "--prime", "the dog", "--model"])
        .arg(&classed)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(
        text.starts_with("the dog") && text.split_whitespace().count() >= 2 + 6,
        "{text:?}"
    );
    let dropped = train("dropped.ckpt", &["--init", classed.to_str().unwrap(), "--classes", "0"]);
    assert_eq!(
        (dropped.params.config.classes.count(), dropped.params.w_c.rows()),
        (0, 0)
    );
}

/// `--class-method exchange` on a text of two word kinds that alternate
/// ("the dog a cat …", each word about equally frequent): the next word's
/// kind is certain from the previous word, so two classes come out as the
/// two kinds. `--resume` keeps them, and an unknown method is a usage error
/// that names the flag.
#[test]
fn exchange_classes_find_the_kinds_of_words() {
    let dir = tmpdir("exchange-classes");
    let corpus = dir.join("c.txt");
    let (det, noun) = (["the", "a", "one", "this"], ["dog", "cat", "man", "house"]);
    let mut state = 12345u32;
    let mut next = || {
        state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        (state >> 16) as usize % 4
    };
    let mut words = Vec::new();
    for _ in 0..600 {
        words.push(det[next()]);
        words.push(noun[next()]);
    }
    std::fs::write(&corpus, words.join(" ") + "\n").unwrap();
    let run = |extra: &[&str]| {
        bin()
            .args(["train", "--quiet", "--level", "word", "--embed", "4", "--hidden", "6"])
            .args([
                "--batch",
                "2",
                "--seq-len",
                "5",
                "--steps",
                "2",
                "--classes",
                "2",
                "--valid-frac",
                "0",
            ])
            .args(extra)
            .arg("--corpus")
            .arg(&corpus)
            .output()
            .unwrap()
    };
    let out = dir.join("x.ckpt");
    let o = run(&["--class-method", "exchange", "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let model = checkpoint::load(&out).unwrap().model;
    let classes = &model.params.config.classes;
    assert_eq!(classes.count(), 2);
    let class = |w: &str| classes.class_of(model.vocab.id(w).unwrap() as usize);
    assert!(
        det.iter().all(|w| class(w) == class(det[0])),
        "{:?}",
        model.vocab.tokens()
    );
    assert!(
        noun.iter().all(|w| class(w) == class(noun[0])),
        "{:?}",
        model.vocab.tokens()
    );
    assert_ne!(class(det[0]), class(noun[0]));

    let resumed = dir.join("r.ckpt");
    let o = bin()
        .args(["train", "--quiet", "--valid-frac", "0", "--steps", "3", "--resume"])
        .arg(&out)
        .arg("--corpus")
        .arg(&corpus)
        .arg("--out")
        .arg(&resumed)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let again = checkpoint::load(&resumed).unwrap().model;
    assert_eq!((&again.vocab, &again.params.config.classes), (&model.vocab, classes));

    let o = run(&[
        "--class-method",
        "brown",
        "--out",
        dir.join("no.ckpt").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--class-method: 'brown'"), "{}", stderr(&o));
    assert!(!dir.join("no.ckpt").exists());
}

/// The blocks of ∂L/∂W_y whose squares the class phase summed while it
/// wrote them stand in for reading those entries again: with them, the
/// gradient norm over the touched rows equals the norm over every entry of
/// the gradient to the bit, on one thread and on two (whose workers split
/// the classes, so some blocks straddle two workers and are left out).
#[test]
fn norm_blocks_taken_in_the_class_phase_give_the_whole_norm() {
    use rnnlm::model::{Shards, TouchedRows};
    // V = 846, H = 64: W_y has 54144 entries, three whole norm blocks and a part.
    let config = Config {
        classes: Classes::from_sizes(&[1, 5, 40, 200, 600]),
        ..Config::full(846, 16, 64)
    };
    let params = Params::<f32>::init(&config, &mut Rng::new(6));
    let mut rng = Rng::new(7);
    let (b, t) = (8, 30);
    let stream: Vec<u32> = (0..(t + 1) * b).map(|_| rng.below(846) as u32).collect();
    let (inputs, targets) = (&stream[..t * b], &stream[b..]);
    let h0 = Matrix::zeros(b, 64);
    let mut kept = Vec::new();
    for threads in [1, 2] {
        let mut ws = Shards::new(Gemm::<f32>::new().kernel(), threads);
        let mut g = Params::zeros(&config);
        ws.forward(&params, inputs, targets, b, h0.view());
        ws.backward(&params, &mut g);
        let blocks = ws.norm_blocks();
        assert!(blocks.iter().all(|(key, _)| key.0 == rnnlm::model::tensor::W_Y));
        kept.push(blocks.len());
        let touched = g.spans(ws.touched());
        let fused = g.norm_with(&touched, blocks, threads);
        let whole = g.norm_in(&g.spans(&TouchedRows::all()), 1);
        assert_eq!(
            fused.to_bits(),
            whole.to_bits(),
            "{threads} threads: {fused} vs {whole}"
        );
        // A block's sums stand in for its entries: change one and the norm moves.
        let mut moved = blocks.to_vec();
        moved[0].1[3] += 1.0;
        assert!(g.norm_with(&touched, &moved, threads) > whole);
    }
    assert_eq!(kept[0], 3, "one worker keeps the three whole blocks");
    assert!(kept[1] < kept[0], "two workers leave the straddled block out");
}
