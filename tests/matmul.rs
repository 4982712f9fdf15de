//! Every kernel against the naive triple loop: all small shapes, the edges of
//! every block size, odd large shapes, all four transpose combinations,
//! several α/β, NaN in C with β = 0, f32 and f64, one and two threads.
//!
//! Inputs are small integers where the sums are exact in f32, so the packed
//! kernels must agree with the naive loop to the bit; random normal inputs
//! on the large shapes use a tolerance that grows with k.

use rnnlm::matmul::Blocks;
use rnnlm::matmul::{gemm_naive, Gemm, Kernel};
use rnnlm::matrix::{MatRef, Matrix};
use rnnlm::rng::Rng;
use rnnlm::Float;

/// The packed kernels this CPU runs for element type `T`, each once: the
/// SIMD kernels are f32 only, so for f64 this is the portable kernel alone
/// (asking for a SIMD kernel in f64 runs it too). Prints a note for each
/// kernel the CPU cannot run.
fn kernels<T: Float>() -> Vec<Kernel> {
    let mut out = Vec::new();
    for k in [Kernel::Portable, Kernel::Avx2, Kernel::Avx512] {
        if !k.is_available() {
            eprintln!("note: skipping the {k} kernel: this CPU does not support it");
        } else if rnnlm::matmul::kernel_for::<T>(k) == k {
            out.push(k);
        }
    }
    out
}

fn int_matrix<T: Float>(rows: usize, cols: usize, rng: &mut Rng) -> Matrix<T> {
    let data = (0..rows * cols)
        .map(|_| T::from_f64(rng.below(7) as f64 - 3.0))
        .collect();
    Matrix::from_vec(rows, cols, data)
}

/// Operand storage: `rows × cols` as seen by the product, stored transposed
/// when `trans` (so the view is `.t()` of the stored matrix).
struct Operand<T> {
    stored: Matrix<T>,
    trans: bool,
}

impl<T: Float> Operand<T> {
    fn ints(rows: usize, cols: usize, trans: bool, rng: &mut Rng) -> Self {
        let stored = if trans {
            int_matrix(cols, rows, rng)
        } else {
            int_matrix(rows, cols, rng)
        };
        Operand { stored, trans }
    }
    fn normal(rows: usize, cols: usize, trans: bool, rng: &mut Rng) -> Self {
        let (r, c) = if trans { (cols, rows) } else { (rows, cols) };
        Operand {
            stored: Matrix::normal(r, c, 1.0, rng),
            trans,
        }
    }
    fn view(&self) -> MatRef<'_, T> {
        if self.trans {
            self.stored.view().t()
        } else {
            self.stored.view()
        }
    }
}

struct Case {
    m: usize,
    n: usize,
    k: usize,
    ta: bool,
    tb: bool,
    alpha: f64,
    beta: f64,
}

/// Run one exact (integer-input) case on `kernel` with `threads` workers and
/// compare with naive bit for bit. With β = 0 the C given to the kernel is
/// all NaN.
fn exact_case<T: Float>(kernel: Kernel, threads: usize, case: &Case, rng: &mut Rng) {
    let Case {
        m,
        n,
        k,
        ta,
        tb,
        alpha,
        beta,
    } = *case;
    let a = Operand::<T>::ints(m, k, ta, rng);
    let b = Operand::<T>::ints(k, n, tb, rng);
    let c0: Matrix<T> = int_matrix(m, n, rng);
    let (alpha, beta) = (T::from_f64(alpha), T::from_f64(beta));
    let mut want = c0.clone();
    gemm_naive(alpha, a.view(), b.view(), beta, want.view_mut());
    let mut got = if beta == T::zero() {
        Matrix::filled(m, n, T::from_f64(f64::NAN))
    } else {
        c0.clone()
    };
    let mut g = Gemm::<T>::with_kernel(kernel).unwrap().with_threads(threads);
    g.gemm(alpha, a.view(), b.view(), beta, got.view_mut());
    assert!(
        got == want,
        "{kernel} {} threads={threads}: {m}×{k}·{k}×{n} ta={ta} tb={tb} α={alpha} β={beta}: max diff {}",
        T::NAME,
        got.max_abs_diff(&want)
    );
    // The same product with B packed ahead.
    let packed = g.pack_b(b.view());
    let mut got2 = if beta == T::zero() {
        Matrix::filled(m, n, T::from_f64(f64::NAN))
    } else {
        c0
    };
    g.gemm_packed(alpha, a.view(), &packed, beta, got2.view_mut());
    assert!(
        got2 == want,
        "{kernel} packed {}: {m}×{k}·{k}×{n} ta={ta} tb={tb}",
        T::NAME
    );
}

fn small_shapes_all<T: Float>() {
    let mut rng = Rng::new(1);
    for kernel in kernels::<T>() {
        let (mr, nr) = rnnlm::matmul::tile::<T>(kernel);
        let top = 2 * mr.max(nr);
        // Every (m, n, k) up to 2·max(MR, NR), as-is × as-is.
        for m in 0..=top {
            for n in 0..=top {
                for k in 0..=top {
                    let case = Case {
                        m,
                        n,
                        k,
                        ta: false,
                        tb: false,
                        alpha: 1.0,
                        beta: 0.0,
                    };
                    exact_case::<T>(kernel, 1, &case, &mut rng);
                }
            }
        }
        // All four transpose combinations and several α, β on a sparser grid.
        for (ta, tb) in [(false, true), (true, false), (true, true), (false, false)] {
            for (alpha, beta) in [(1.0, 1.0), (-2.0, 0.0), (0.5, -0.5), (1.0, 2.0)] {
                for m in (0..=top).step_by(3) {
                    for n in (0..=top).step_by(5) {
                        for k in (0..=top).step_by(4) {
                            let case = Case {
                                m,
                                n,
                                k,
                                ta,
                                tb,
                                alpha,
                                beta,
                            };
                            exact_case::<T>(kernel, 1, &case, &mut rng);
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn every_small_shape_matches_naive_f32() {
    small_shapes_all::<f32>();
}

#[test]
fn every_small_shape_matches_naive_f64_portable() {
    small_shapes_all::<f64>();
}

/// ±1 around each of the kernel's block sizes, alone and together.
fn block_edges<T: Float>() {
    let mut rng = Rng::new(2);
    for kernel in kernels::<T>() {
        let blocks = Blocks::for_kernel(kernel);
        for d in [-1i64, 0, 1] {
            let mc = (blocks.mc as i64 + d) as usize;
            let kc = (blocks.kc as i64 + d) as usize;
            let nc = (blocks.nc as i64 + d) as usize;
            for (m, k, n) in [
                (mc, 9, 11),
                (7, kc, 13),
                (5, 3, nc),
                (mc, kc, 37),
                (2 * blocks.mc + 1, 2 * blocks.kc + 1, 3),
            ] {
                for (ta, tb) in [(false, false), (true, true)] {
                    let case = Case {
                        m,
                        n,
                        k,
                        ta,
                        tb,
                        alpha: 1.0,
                        beta: -1.0,
                    };
                    exact_case::<T>(kernel, 1, &case, &mut rng);
                }
            }
        }
    }
}

#[test]
fn block_size_edges_match_naive_f32() {
    block_edges::<f32>();
}

#[test]
fn block_size_edges_match_naive_f64_portable() {
    block_edges::<f64>();
}

/// Random normal inputs on odd large shapes, entry by entry within
/// `2·ε·k·Σ_p |a_ip·b_pj|`: each of the two sums (packed kernel, naive loop)
/// is within γ_k ≈ k·ε/2 of the exact one in relative terms of Σ|a·b|
/// (Higham's dot-product bound), so they differ by at most k·ε·Σ|a·b|;
/// the factor 2 covers γ_k's higher-order terms.
fn large_random<T: Float>(threads: usize) {
    let mut rng = Rng::new(3);
    for kernel in kernels::<T>() {
        let mut shapes = vec![(17, 257, 129), (266, 265, 263), (1, 300, 301), (301, 300, 1)];
        if threads > 1 {
            shapes.push((301, 400, 303)); // large enough to be split across threads
        }
        for (m, k, n) in shapes {
            for (ta, tb) in [(false, false), (false, true), (true, false), (true, true)] {
                let a = Operand::<T>::normal(m, k, ta, &mut rng);
                let b = Operand::<T>::normal(k, n, tb, &mut rng);
                let mut want = Matrix::<T>::zeros(m, n);
                gemm_naive(T::one(), a.view(), b.view(), T::zero(), want.view_mut());
                // Entry-wise bound: Σ_p |a_ip||b_pj|.
                let mut bound = Matrix::<T>::zeros(m, n);
                let abs_a = Matrix::from_vec(m, k, (0..m * k).map(|x| a.view().at(x / k, x % k).abs()).collect());
                let abs_b = Matrix::from_vec(k, n, (0..k * n).map(|x| b.view().at(x / n, x % n).abs()).collect());
                gemm_naive(T::one(), abs_a.view(), abs_b.view(), T::zero(), bound.view_mut());
                let mut got = Matrix::filled(m, n, T::from_f64(f64::NAN));
                let mut g = Gemm::<T>::with_kernel(kernel).unwrap().with_threads(threads);
                g.gemm(T::one(), a.view(), b.view(), T::zero(), got.view_mut());
                let eps = T::EPSILON.to_f64();
                for i in 0..m {
                    for j in 0..n {
                        let err = (got.get(i, j).to_f64() - want.get(i, j).to_f64()).abs();
                        let tol = 2.0 * eps * k as f64 * bound.get(i, j).to_f64();
                        assert!(
                            err <= tol,
                            "{kernel} {} threads={threads} {m}×{k}·{k}×{n} ({i},{j}): err {err:e} > tol {tol:e}",
                            T::NAME
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn odd_large_shapes_within_rounding_f32() {
    large_random::<f32>(1);
}

#[test]
fn odd_large_shapes_within_rounding_f64_portable() {
    large_random::<f64>(1);
}

#[test]
fn odd_large_shapes_within_rounding_two_threads() {
    large_random::<f32>(2);
}

/// Threads split the rows of C; integer inputs make both runs exact, so they
/// must agree with each other and with naive to the bit, including products
/// large enough to be split and shapes whose split is ragged.
#[test]
fn threaded_equals_single_threaded() {
    let mut rng = Rng::new(4);
    for kernel in kernels::<f32>() {
        for threads in [2, 3] {
            for (m, k, n) in [(300, 512, 300), (131, 600, 517), (64, 1024, 1024), (13, 2000, 1300)] {
                let g = Gemm::<f32>::with_kernel(kernel).unwrap().with_threads(threads);
                assert!(
                    g.workers(m, k, n) > 1,
                    "{m}×{k}·{k}×{n} must be split to test threading"
                );
                let case = Case {
                    m,
                    n,
                    k,
                    ta: false,
                    tb: true,
                    alpha: 1.0,
                    beta: 0.0,
                };
                exact_case::<f32>(kernel, threads, &case, &mut rng);
                let case = Case {
                    m,
                    n,
                    k,
                    ta: true,
                    tb: false,
                    alpha: 0.5,
                    beta: 1.0,
                };
                exact_case::<f32>(kernel, threads, &case, &mut rng);
            }
        }
    }
}

#[test]
fn naive_kernel_is_selectable_and_correct() {
    let a = Matrix::from_vec(2, 2, vec![1.0f32, 2.0, 3.0, 4.0]);
    let b = Matrix::from_vec(2, 2, vec![5.0f32, 6.0, 7.0, 8.0]);
    let mut c = Matrix::zeros(2, 2);
    Gemm::with_kernel(Kernel::Naive)
        .unwrap()
        .gemm(1.0, a.view(), b.view(), 0.0, c.view_mut());
    assert_eq!(c.as_slice(), &[19.0, 22.0, 43.0, 50.0]);
}

#[test]
fn packed_operand_from_another_kernel_is_refused() {
    let avail = kernels::<f32>();
    if avail.len() < 2 {
        eprintln!("note: only one packed kernel on this CPU; nothing to mix");
        return;
    }
    let b = Matrix::<f32>::zeros(4, 4);
    let p = Gemm::<f32>::with_kernel(avail[0]).unwrap().pack_b(b.view());
    let result = std::panic::catch_unwind(move || {
        let a = Matrix::<f32>::zeros(4, 4);
        let mut c = Matrix::<f32>::zeros(4, 4);
        Gemm::<f32>::with_kernel(avail[1])
            .unwrap()
            .gemm_packed(1.0, a.view(), &p, 0.0, c.view_mut());
    });
    let msg = result.expect_err("mixing packings must panic");
    let msg = msg.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(msg.contains("packed for the"), "unexpected panic message: {msg}");
}

/// Block sizes other than the tuned ones (as `RNNLM_BLOCKS` sets them):
/// every kernel, blocks small enough that every loop runs several times,
/// exact against the naive loop on integer inputs — and a B packed with one
/// depth multiplies exactly in a context whose own depth differs.
#[test]
fn other_block_sizes_give_the_same_products() {
    use rnnlm::matmul::Blocks;
    let mut rng = Rng::new(6);
    for kernel in kernels::<f32>() {
        let (mr, nr) = rnnlm::matmul::tile::<f32>(kernel);
        for blocks in [
            Blocks { mc: mr, kc: 1, nc: nr },
            Blocks {
                mc: 2 * mr,
                kc: 7,
                nc: 3 * nr,
            },
        ] {
            let g = || Gemm::<f32>::with_kernel(kernel).unwrap().with_blocks(blocks);
            assert_eq!(g().blocks(), blocks);
            for (m, k, n) in [(5 * mr + 1, 23, 4 * nr + 3), (1, 9, nr + 1), (mr, 7, nr)] {
                let a = int_matrix::<f32>(m, k, &mut rng);
                let b = int_matrix::<f32>(k, n, &mut rng);
                let mut want = Matrix::zeros(m, n);
                gemm_naive(1.0, a.view(), b.view(), 0.0, want.view_mut());
                let mut got = Matrix::filled(m, n, f32::NAN);
                g().gemm(1.0, a.view(), b.view(), 0.0, got.view_mut());
                assert_eq!(got, want, "{kernel} {blocks:?} {m}×{k}·{k}×{n}");
                // Packed in this context's blocks, multiplied in the default one.
                let packed = g().pack_b(b.view());
                let mut got = Matrix::filled(m, n, f32::NAN);
                Gemm::<f32>::with_kernel(kernel)
                    .unwrap()
                    .gemm_packed(1.0, a.view(), &packed, 0.0, got.view_mut());
                assert_eq!(got, want, "{kernel} packed with {blocks:?}");
            }
        }
    }
}
