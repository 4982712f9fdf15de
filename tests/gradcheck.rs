//! BPTT against finite differences (f64), the f32 model against the f64
//! model, and the checker against a planted error.

mod common;
use common::*;

use rnnlm::gradcheck::{Case, THRESHOLD};
use rnnlm::matmul::Gemm;
use rnnlm::matrix::Matrix;
use rnnlm::model::{backward, forward, Config, InputPath, Params, Workspace};
use rnnlm::rng::Rng;

fn case(v: usize, d: usize, h: usize, batch: usize, steps: usize) -> Case {
    Case {
        config: Config::full(v, d, h),
        batch,
        steps,
        seed: 11,
        h0_scale: 0.0,
        path: None,
        sample: None,
        dropout: 0.0,
    }
}

fn assert_passes(c: Case) {
    assert_gradcheck_passes(c);
}

/// One step from a carried h_0: with h_0 = 0, W_h's gradient dA·h_0ᵀ
/// would be zero and its check would prove nothing.
#[test]
fn one_stream_one_step() {
    assert_passes(Case {
        h0_scale: 0.5,
        ..case(5, 4, 3, 1, 1)
    });
}

#[test]
fn three_streams_seven_steps_h_ne_d() {
    for path in [InputPath::Gather, InputPath::Table] {
        assert_passes(Case {
            path: Some(path),
            ..case(7, 5, 6, 3, 7)
        });
    }
}

#[test]
fn two_token_vocabulary() {
    assert_passes(case(2, 3, 4, 2, 5));
}

#[test]
fn carried_nonzero_h0() {
    for path in [InputPath::Gather, InputPath::Table] {
        assert_passes(Case {
            h0_scale: 0.8,
            path: Some(path),
            ..case(6, 4, 5, 2, 6)
        });
    }
}

#[test]
fn repeated_tokens_scatter_add_into_the_embedding() {
    // V = 3 over 4·8 = 32 positions: every token repeats many times.
    let c = case(3, 4, 4, 4, 8);
    let p = c.build();
    let mut counts = [0; 3];
    p.inputs.iter().for_each(|&x| counts[x as usize] += 1);
    assert!(
        counts.iter().all(|&k| k >= 3),
        "the case must repeat tokens: {counts:?}"
    );
    for path in [InputPath::Gather, InputPath::Table] {
        assert_passes(Case {
            path: Some(path),
            h0_scale: 0.3,
            ..c.clone()
        });
    }
}

#[test]
fn larger_model_on_sampled_entries() {
    for path in [InputPath::Gather, InputPath::Table] {
        assert_passes(Case {
            sample: Some(60),
            h0_scale: 0.5,
            path: Some(path),
            ..case(50, 16, 32, 4, 12)
        });
    }
}

#[test]
fn the_checker_reports_a_planted_wrong_gradient() {
    let p = case(5, 4, 3, 2, 3).build();
    let (mut grads, dh0) = p.analytic();
    assert!(p.check_against(&grads, &dh0).passes(THRESHOLD));
    // One entry of W_h off by 1%.
    let g = grads.w_h.get(1, 2);
    grads.w_h.set(1, 2, g * 1.01);
    let report = p.check_against(&grads, &dh0);
    let worst = report.worst();
    assert_eq!(worst.name, "W_h");
    assert_eq!(worst.worst, 3 + 2);
    assert!(worst.max_rel_error > 1e-3, "planted error not seen: {report}");
    // And a wrong ∂L/∂h_0.
    let (grads, mut dh0) = p.analytic();
    dh0.set(0, 0, dh0.get(0, 0) + 1e-3);
    let report = p.check_against(&grads, &dh0);
    assert_eq!(report.worst().name, "h_0");
    assert!(!report.passes(THRESHOLD));
}

/// A NaN in the analytic gradient (a backward that divides by zero, say)
/// fails the check and is named, even when every other entry agrees.
#[test]
fn the_checker_reports_a_planted_nan_gradient() {
    let p = case(5, 4, 3, 2, 3).build();
    let (mut grads, dh0) = p.analytic();
    grads.b_y.set(0, 4, f64::NAN);
    let report = p.check_against(&grads, &dh0);
    assert!(!report.passes(THRESHOLD), "NaN passed: {report}");
    let worst = report.worst();
    assert_eq!((worst.name, worst.worst), ("b_y", 4));
    assert!(worst.analytic.is_nan());
}

#[test]
fn fresh_model_loss_is_about_ln_v() {
    use rnnlm::model::InitScheme;
    let schemes = [
        (InitScheme::Unit, false),
        (InitScheme::Small, false),
        (InitScheme::Small, true),
    ];
    for (v, (scheme, tied)) in [10, 65, 1000].into_iter().flat_map(|v| schemes.map(|s| (v, s))) {
        let cfg = Config {
            tied,
            ..Config::full(v, 64, 64)
        };
        let params = Params::<f32>::init_with(&cfg, scheme, &mut Rng::new(5));
        let mut rng = Rng::new(6);
        let (b, t) = (8, 16);
        let stream: Vec<u32> = (0..(t + 1) * b).map(|_| rng.below(v) as u32).collect();
        let mut ws = Workspace::new(Gemm::new());
        let loss = forward(
            &params,
            &stream[..t * b],
            &stream[b..],
            b,
            Matrix::zeros(b, 64).view(),
            &mut ws,
        );
        let ln_v = (v as f64).ln();
        // Initial logits have std ≈ 0.3, which raises the expected loss above
        // ln V by about var/2 ≈ 0.05 nats; allow 0.15.
        assert!(
            (loss - ln_v).abs() < 0.15,
            "V = {v} {scheme:?} tied {tied}: loss {loss} vs ln V = {ln_v}"
        );
    }
}

#[test]
fn f32_model_agrees_with_f64_model() {
    for path in [InputPath::Gather, InputPath::Table] {
        let cfg = Config::full(40, 24, 48);
        let p64 = Params::<f64>::init(&cfg, &mut Rng::new(21));
        let p32: Params<f32> = p64.cast();
        let mut rng = Rng::new(22);
        let (b, t) = (5, 9);
        let stream: Vec<u32> = (0..(t + 1) * b).map(|_| rng.below(40) as u32).collect();
        let h0 = Matrix::<f64>::uniform(b, 48, -0.5, 0.5, &mut rng);
        let h0_32 = Matrix::<f32>::from_vec(b, 48, h0.as_slice().iter().map(|&x| x as f32).collect());

        let mut ws64 = Workspace::new(Gemm::new());
        ws64.force_path = Some(path);
        let mut g64 = Params::zeros(&cfg);
        let l64 = forward(&p64, &stream[..t * b], &stream[b..], b, h0.view(), &mut ws64);
        backward(&p64, &mut g64, &mut ws64);

        let mut ws32 = Workspace::new(Gemm::new());
        ws32.force_path = Some(path);
        let mut g32 = Params::zeros(&cfg);
        let l32 = forward(&p32, &stream[..t * b], &stream[b..], b, h0_32.view(), &mut ws32);
        backward(&p32, &mut g32, &mut ws32);

        // f32 rounding: unit roundoff 6e-8 grown by sums of ~H terms.
        assert!((l32 - l64).abs() < 1e-5 * l64.abs(), "loss f32 {l32} vs f64 {l64}");
        let g32_64: Params<f64> = g32.cast();
        for (name, (a, b)) in rnnlm::model::TENSOR_NAMES
            .iter()
            .zip(g32_64.tensors().iter().zip(g64.tensors()))
        {
            let scale = b.as_slice().iter().fold(0.0f64, |m, x| m.max(x.abs()));
            let diff = a.max_abs_diff(b);
            assert!(
                diff <= 1e-4 * scale,
                "{name}: max |g32 − g64| = {diff:e} vs max |g| = {scale:e}"
            );
        }
    }
}

/// The time loops split the streams across workers: 1, 2 and 3 threads must
/// give the same loss, gradients and dh_0 (up to the rounding of a
/// differently tiled GEMM). The sizes are large enough for the split to run.
#[test]
fn splitting_streams_across_threads_changes_nothing() {
    let cfg = Config::full(30, 16, 128);
    let (b, t) = (7, 40);
    assert!(
        rnnlm::model::recurrence::workers(2, b, 128, t) == 2,
        "the case must be split"
    );
    let params = Params::<f64>::init(&cfg, &mut Rng::new(31));
    let mut rng = Rng::new(32);
    let stream: Vec<u32> = (0..(t + 1) * b).map(|_| rng.below(30) as u32).collect();
    let h0 = Matrix::<f64>::uniform(b, 128, -0.5, 0.5, &mut rng);
    let run = |threads: usize| {
        let mut ws = Workspace::new(Gemm::new().with_threads(threads));
        let mut g = Params::zeros(&cfg);
        let loss = forward(&params, &stream[..t * b], &stream[b..], b, h0.view(), &mut ws);
        let h_last = Matrix::from_vec(b, 128, ws.last_hidden().data()[..b * 128].to_vec());
        backward(&params, &mut g, &mut ws);
        (loss, g, ws.dh0().clone(), h_last)
    };
    let (l1, g1, d1, h1) = run(1);
    for threads in [2, 3] {
        let (l, g, d, hl) = run(threads);
        assert!((l - l1).abs() < 1e-12, "loss {l} vs {l1}");
        assert!(hl.max_abs_diff(&h1) < 1e-12);
        assert!(d.max_abs_diff(&d1) < 1e-12);
        for (a, b) in g.tensors().iter().zip(g1.tensors()) {
            assert!(a.max_abs_diff(b) < 1e-12, "threads {threads}: gradients differ");
        }
    }
}

/// Dropout on e_t and on h_t into the output layer, masks held fixed (eqs.
/// 27–30): every gradient still matches finite differences, and the masks
/// really drop (some entries zero) and scale the rest by 1/(1 − p).
#[test]
fn dropout_with_fixed_masks() {
    let c = Case {
        dropout: 0.4,
        h0_scale: 0.5,
        ..case(7, 5, 6, 3, 7)
    };
    let p = c.build();
    let m = p.masks.as_ref().expect("masks");
    for mask in [&m.e, &m.h] {
        let zeros = mask.as_slice().iter().filter(|&&x| x == 0.0).count();
        assert!(zeros > 0 && zeros < mask.as_slice().len(), "{zeros} dropped");
        assert!(mask
            .as_slice()
            .iter()
            .all(|&x| x == 0.0 || (x - 1.0 / 0.6).abs() < 1e-15));
    }
    assert_passes(c);
}

/// A chunk cut into shards of streams (`model::shards`) gives the chunk's
/// loss, h_T and gradient (f64, up to the rounding of the sums' new order),
/// with the full softmax and with classes, with and without dropout masks;
/// and the thread count changes no bit (f32, where rounding would show).
#[test]
fn shards_give_the_chunk_gradient_and_threads_change_no_bit() {
    use rnnlm::model::{Classes, DropoutMasks, Shards};
    let kernel = Gemm::<f64>::new().kernel();
    for classes in [Classes::none(), Classes::from_sizes(&[3, 7, 20])] {
        for dropout in [0.0, 0.3] {
            let cfg = Config {
                classes: classes.clone(),
                ..Config::full(30, 16, 128)
            };
            let (b, t) = (7, 40);
            let params = Params::<f64>::init(&cfg, &mut Rng::new(41));
            let mut rng = Rng::new(42);
            let stream: Vec<u32> = (0..(t + 1) * b).map(|_| rng.below(30) as u32).collect();
            let (inputs, targets) = (&stream[..t * b], &stream[b..]);
            let h0 = Matrix::<f64>::uniform(b, 128, -0.5, 0.5, &mut rng);
            let masks = (dropout > 0.0).then(|| DropoutMasks::draw(t * b, 16, 128, dropout, &mut rng));

            let mut ws = Workspace::new(Gemm::new());
            ws.dropout = masks.clone();
            let mut g_whole = Params::zeros(&cfg);
            let loss = forward(&params, inputs, targets, b, h0.view(), &mut ws);
            let h_last = Matrix::from_vec(b, 128, ws.last_hidden().data()[..b * 128].to_vec());
            backward(&params, &mut g_whole, &mut ws);

            let mut shards = Shards::new(kernel, 1);
            shards.dropout = masks.clone();
            let mut g = Params::zeros(&cfg);
            let l = shards.forward(&params, inputs, targets, b, h0.view());
            shards.backward(&params, &mut g);
            assert!((l - loss).abs() < 1e-12, "loss {l} vs {loss}");
            // Shards for eval skip backward's share of the word part: same loss.
            let mut eval = Shards::for_eval(kernel, 1);
            eval.dropout = masks.clone();
            let le = eval.forward(&params, inputs, targets, b, h0.view());
            assert_eq!(le.to_bits(), l.to_bits(), "eval shards' loss");
            let hl = Matrix::from_vec(b, 128, shards.last_hidden().data().to_vec());
            assert!(hl.max_abs_diff(&h_last) < 1e-12);
            for (name, (a, w)) in rnnlm::model::TENSOR_NAMES
                .iter()
                .zip(g.tensors().iter().zip(g_whole.tensors()))
            {
                assert!(a.max_abs_diff(w) < 1e-12, "{name}: sharded gradient differs");
            }
            // Both shards really ran: each half of the streams moved its rows of h_T.
            assert_eq!(rnnlm::model::shards::shard_streams(b).len(), 2);

            // f32, one thread against two and three: the same bits.
            let p32 = params.cast::<f32>();
            let to32 = |m: &Matrix<f64>| {
                Matrix::from_vec(m.rows(), m.cols(), m.as_slice().iter().map(|&x| x as f32).collect())
            };
            let h32 = to32(&h0);
            let run = |threads: usize| {
                let mut s = Shards::new(Gemm::<f32>::new().kernel(), threads);
                s.dropout = masks.as_ref().map(|m| DropoutMasks {
                    e: to32(&m.e),
                    h: to32(&m.h),
                });
                let mut g = Params::zeros(&cfg);
                let l = s.forward(&p32, inputs, targets, b, h32.view());
                s.backward(&p32, &mut g);
                (l.to_bits(), g, s.last_hidden().data().to_vec())
            };
            let one = run(1);
            for threads in [2, 3] {
                assert!(run(threads) == one, "threads {threads} changed the result");
            }
        }
    }
}

#[test]
#[should_panic(expected = "Shards::for_eval")]
fn shards_for_eval_refuse_a_backward() {
    use rnnlm::model::{Classes, Shards};
    let cfg = Config {
        classes: Classes::from_sizes(&[3, 7]),
        ..Config::full(10, 4, 8)
    };
    let params = Params::<f64>::init(&cfg, &mut Rng::new(1));
    let mut s = Shards::for_eval(Gemm::<f64>::new().kernel(), 1);
    let ids: Vec<u32> = (0..9).map(|i| i % 10).collect();
    s.forward(&params, &ids[..8], &ids[1..], 2, Matrix::<f64>::zeros(2, 8).view());
    s.backward(&params, &mut Params::zeros(&cfg));
}

/// A tied model (`--tie`, eqs. 31–33): the shared matrix's gradient is the
/// sum of the input path's dE and the output path's dW_y. Full softmax and
/// classes, with and without dropout masks, from a carried h_0.
#[test]
fn tied_embeddings_full_and_classed() {
    use rnnlm::model::Classes;
    for classes in [Classes::none(), Classes::from_sizes(&[2, 4, 3])] {
        for dropout in [0.0, 0.3] {
            let c = Case {
                config: Config {
                    classes: classes.clone(),
                    tied: true,
                    ..Config::full(9, 5, 5)
                },
                dropout,
                h0_scale: 0.5,
                ..case(9, 5, 5, 3, 6)
            };
            let p = c.build();
            assert_eq!(p.params.e, p.params.w_y, "a tied model starts with E = W_y");
            assert_passes(c);
        }
    }
}

/// The check sees both paths: a tied model's gradient without the sum
/// (dE alone, as an untied backward leaves it) fails.
#[test]
fn a_tied_gradient_missing_a_path_fails_the_check() {
    let c = Case {
        config: Config {
            tied: true,
            ..Config::full(6, 4, 4)
        },
        ..case(6, 4, 4, 2, 5)
    };
    let p = c.build();
    let mut ws = Workspace::new(Gemm::new());
    let mut grads = Params::zeros(&p.params.config);
    p.loss(&p.params, &p.h0, &mut ws);
    backward(&p.params, &mut grads, &mut ws);
    let report = p.check_against(&grads, ws.dh0());
    assert!(!report.passes(THRESHOLD), "{report}");
    let (tied, _) = p.analytic();
    assert!(p.check_against(&tied, ws.dh0()).passes(THRESHOLD));
}
