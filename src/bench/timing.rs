//! Round-robin best-of timing: jobs measured in the same rounds see the
//! same machine, so the ratios between them hold on a shared machine whose
//! speed drifts.

use std::time::{Duration, Instant};

/// Round-robin best-of timing: `jobs` take turns in slices of at least two
/// runs each, turns go on until `budget` has passed (at least `min_rounds`
/// rounds), and each job's fastest run counts.
///
/// Jobs measured in the same rounds see the same machine: when a shared
/// machine slows down for a while, it slows all of them, so the ratios
/// between them (GEMM vs peak, 2 threads vs 1) hold better than those of
/// jobs timed one after the other. Runs within a slice are back to back, so
/// the fastest run of a slice finds the caches as the job itself left them,
/// not as the previous job did.
pub fn best_times_interleaved(budget: Duration, min_rounds: usize, jobs: &mut [Job<'_>]) -> Vec<Duration> {
    times_interleaved(budget, min_rounds, jobs)
        .into_iter()
        .map(|t| t.into_iter().min().unwrap_or(Duration::MAX))
        .collect()
}

/// Every run's time, per job, from the rounds of [`best_times_interleaved`].
pub fn times_interleaved(budget: Duration, min_rounds: usize, jobs: &mut [Job<'_>]) -> Vec<Vec<Duration>> {
    const ROUNDS: u32 = 5;
    let slice = budget / (ROUNDS * jobs.len().max(1) as u32);
    let start = Instant::now();
    let mut times = vec![Vec::new(); jobs.len()];
    let mut rounds = 0;
    while rounds < min_rounds || start.elapsed() < budget {
        for (job, times) in jobs.iter_mut().zip(&mut times) {
            let turn = Instant::now();
            let mut runs = 0;
            while runs < 2 || turn.elapsed() < slice {
                let t = Instant::now();
                job();
                times.push(t.elapsed());
                runs += 1;
            }
        }
        rounds += 1;
    }
    times
}

/// The median of `times` (the upper one of an even count).
///
/// # Panics
/// If `times` is empty.
pub fn median(times: &[Duration]) -> Duration {
    let mut sorted = times.to_vec();
    sorted.sort_unstable();
    sorted[sorted.len() / 2]
}

/// A measured piece of work.
pub type Job<'a> = Box<dyn FnMut() + 'a>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_is_the_middle_time() {
        let ms = Duration::from_millis;
        assert_eq!(median(&[ms(5), ms(1), ms(9)]), ms(5));
        assert_eq!(median(&[ms(4), ms(1), ms(9), ms(2)]), ms(4));
    }

    #[test]
    fn interleaved_timing_takes_turns_and_keeps_each_jobs_best() {
        // Job 0 sleeps 2 ms, job 1 sleeps 1 ms; both must run in every round
        // (at least two runs per turn) and keep their own best time.
        let order = std::cell::RefCell::new(Vec::new());
        let mut jobs: Vec<Job> = vec![
            Box::new(|| {
                order.borrow_mut().push(0);
                std::thread::sleep(Duration::from_millis(2));
            }),
            Box::new(|| {
                order.borrow_mut().push(1);
                std::thread::sleep(Duration::from_millis(1));
            }),
        ];
        let best = best_times_interleaved(Duration::from_millis(1), 3, &mut jobs);
        drop(jobs);
        let order = order.into_inner();
        assert_eq!(best.len(), 2);
        assert!(best[0] >= Duration::from_millis(2) && best[1] >= Duration::from_millis(1));
        assert!(best[1] < best[0], "each job keeps its own best: {best:?}");
        // Three rounds, each a turn of job 0 then a turn of job 1.
        let turns: Vec<usize> = order
            .iter()
            .enumerate()
            .filter(|&(i, &j)| i == 0 || order[i - 1] != j)
            .map(|(_, &j)| j)
            .collect();
        assert_eq!(turns, [0, 1, 0, 1, 0, 1], "runs: {order:?}");
        assert!(order.len() >= 12, "at least two runs per turn: {order:?}");
    }
}
