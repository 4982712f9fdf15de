//! The sequential part of the RNN: the loops over time, forward (eqs. 2–3)
//! and backward (eqs. 10, 11, 16).
//!
//! Streams are independent of each other in these loops — h_t of stream b
//! depends only on h_{t−1} of stream b — so the B streams are split into
//! row ranges, one per worker, and each worker runs the whole time loop on
//! its rows against the shared packed W_h. One spawn per call, not per step.
//!
//! Storage is time-major (`[(T+1)·B, H]`, block t = step t), so a worker's
//! rows are one slice in every time block; `split_streams` hands out those
//! slices.

use crate::matmul::{Gemm, PackedB};
use crate::matrix::{MatMut, MatRef};
use crate::scalar::Float;
use crate::workers::even_counts;

use super::layers::{tanh_backward, tanh_forward};

/// A time loop below this many flops runs on one thread. The workers are
/// spawned once for the whole loop, so the bar is lower than the per-product
/// `matmul::blocking::PAR_MIN_FLOPS`.
pub const PAR_MIN_LOOP_FLOPS: usize = 1 << 23;

/// Workers for a recurrence over `steps` steps of `[B, H]·[H, H]`: one
/// unless there are threads to use and enough work to pay for them.
pub fn workers(threads: usize, batch: usize, hidden: usize, steps: usize) -> usize {
    if threads <= 1 || 2 * batch * hidden * hidden * steps < PAR_MIN_LOOP_FLOPS {
        1
    } else {
        threads.min(batch)
    }
}

/// Cut every `[B, H]` block of `data` into the workers' row ranges:
/// result[w][t] is worker w's rows of block t.
fn split_streams<'a, T>(data: &'a mut [T], batch: usize, hidden: usize, rows: &[usize]) -> Vec<Vec<&'a mut [T]>> {
    let mut out: Vec<Vec<&'a mut [T]>> = rows.iter().map(|_| Vec::new()).collect();
    for block in data.chunks_mut(batch * hidden) {
        let mut rest = block;
        for (w, &r) in rows.iter().enumerate() {
            let (mine, later) = std::mem::take(&mut rest).split_at_mut(r * hidden);
            out[w].push(mine);
            rest = later;
        }
    }
    out
}

/// Run `job(worker, gemm)` for each worker: inline for one, scoped threads
/// for more.
fn run_workers<T: Float, J: FnOnce(&mut Gemm<T>) + Send>(gemms: &mut [Gemm<T>], jobs: Vec<J>) {
    if jobs.len() == 1 {
        let job = jobs.into_iter().next().expect("one job");
        return job(&mut gemms[0]);
    }
    std::thread::scope(|s| {
        let handles: Vec<_> = jobs
            .into_iter()
            .zip(gemms.iter_mut())
            .map(|(job, gemm)| s.spawn(move || job(gemm)))
            .collect();
        handles.into_iter().for_each(crate::workers::join);
    });
}

/// Forward over time. `hs` `[(T+1)·B, H]` holds h_0 in block 0 and, in
/// blocks 1..=T, the input part `W_x e_t + b_h` of a_t; on return block t is
/// h_t. `w_h_t` is W_hᵀ packed; one single-threaded `Gemm` per worker.
pub fn forward_steps<T: Float>(hs: &mut [T], batch: usize, hidden: usize, w_h_t: &PackedB<T>, gemms: &mut [Gemm<T>]) {
    let rows = even_counts(batch, gemms.len());
    let jobs: Vec<_> = split_streams(hs, batch, hidden, &rows)
        .into_iter()
        .zip(rows)
        .map(|(mut blocks, r)| {
            move |gemm: &mut Gemm<T>| {
                for t in 1..blocks.len() {
                    let (done, rest) = blocks.split_at_mut(t);
                    // [r, H] each
                    let h_prev = MatRef::from_slice(&*done[t - 1], r, hidden);
                    let a_t = &mut *rest[0];
                    // a_t += h_{t−1}·W_hᵀ  (eq. 2)
                    gemm.gemm_packed(T::one(), h_prev, w_h_t, T::one(), MatMut::from_slice(a_t, r, hidden));
                    // h_t = tanh(a_t)  (B1, per step; eq. 3)
                    tanh_forward(a_t);
                }
            }
        })
        .collect();
    run_workers(gemms, jobs);
}

/// Backward over time. `dh` `[T·B, H]` holds, in block t−1, the output part
/// `W_yᵀ dz_t` of dh_t; on return block t−1 is da_t. `hs` is the forward's
/// `[(T+1)·B, H]`; `dh0` `[B, H]` receives ∂L/∂h_0. `w_h` is W_h packed.
pub fn backward_steps<T: Float>(
    dh: &mut [T],
    hs: &[T],
    dh0: &mut [T],
    batch: usize,
    hidden: usize,
    w_h: &PackedB<T>,
    gemms: &mut [Gemm<T>],
) {
    let rows = even_counts(batch, gemms.len());
    let mut h_parts: Vec<Vec<&[T]>> = rows.iter().map(|_| Vec::new()).collect();
    for block in hs.chunks(batch * hidden) {
        let mut r0 = 0;
        for (w, &r) in rows.iter().enumerate() {
            h_parts[w].push(&block[r0 * hidden..(r0 + r) * hidden]);
            r0 += r;
        }
    }
    let dh0_parts = split_streams(dh0, batch, hidden, &rows);
    let jobs: Vec<_> = split_streams(dh, batch, hidden, &rows)
        .into_iter()
        .zip(h_parts)
        .zip(dh0_parts)
        .zip(rows)
        .map(|(((mut dh_blocks, h_blocks), mut dh0_block), r)| {
            move |gemm: &mut Gemm<T>| {
                let dh0 = &mut *dh0_block[0];
                for t in (1..=dh_blocks.len()).rev() {
                    let (before, from_t) = dh_blocks.split_at_mut(t - 1);
                    // [r, H]
                    let da_t = &mut *from_t[0];
                    // da_t = dh_t ⊙ (1 − h_t²)  (B5, per step; eq. 11)
                    tanh_backward(da_t, h_blocks[t]);
                    let da_t = MatRef::from_slice(da_t, r, hidden);
                    if t > 1 {
                        // dh_{t−1} += W_hᵀ da_t  (row form: += da_t·W_h)  (eq. 10)
                        let dh_prev = MatMut::from_slice(&mut *before[t - 2], r, hidden);
                        gemm.gemm_packed(T::one(), da_t, w_h, T::one(), dh_prev);
                    } else {
                        // dh_0 = W_hᵀ da_1: where truncated BPTT stops  (eq. 16)
                        gemm.gemm_packed(T::one(), da_t, w_h, T::zero(), MatMut::from_slice(&mut *dh0, r, hidden));
                    }
                }
            }
        })
        .collect();
    run_workers(gemms, jobs);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_split_evenly_and_blocks_are_cut_per_worker() {
        let mut data: Vec<u32> = (0..2 * 5 * 2).collect(); // 2 blocks of [5, 2]
        let parts = split_streams(&mut data, 5, 2, &[3, 2]);
        assert_eq!(&*parts[0][1], &[10, 11, 12, 13, 14, 15]);
        assert_eq!(&*parts[1][0], &[6, 7, 8, 9]);
    }
}
