//! Work side by side on scoped threads: the one place the crate starts
//! threads for elementwise and per-shard work (the GEMM and the time loops
//! split their own products).
//!
//! Nothing here decides *what* is summed in which order: callers cut their
//! work so that every result is computed the same way whatever the number
//! of workers.

/// The machine's available parallelism (1 if it cannot be told): the
/// default `--threads` of `train`, `eval`, `generate` and the demo.
pub fn available() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

/// `--threads` above this multiple of the available parallelism is
/// lowered to it: more threads than that only wait for cores, and each
/// holds its own workspace.
pub const MAX_THREADS_PER_CORE: usize = 4;

/// The most threads a command starts: [`MAX_THREADS_PER_CORE`] × the
/// available parallelism.
pub fn max_threads() -> usize {
    available().saturating_mul(MAX_THREADS_PER_CORE)
}

/// Below this many entries per worker an elementwise pass stays on one
/// thread: starting a worker (~30–50 µs) and moving the entries to the
/// other core's cache cost about as much as this many updates take.
/// Measured on the char H = 256 step (164k parameters): its clipping and
/// Adam update took 0.19 ms on one thread and 0.30 ms split over two.
pub const MIN_ELEMENTS_PER_WORKER: usize = 1 << 18;

/// Run `f` on each group, the first on the calling thread and the others on
/// scoped threads; the results in group order. A worker's panic goes on in
/// the caller ([`join`]). (Every group on a thread of its own, the caller
/// only waiting, was tried and not kept: docs/matmul.md section 6.)
pub fn run_each<G: Send, R: Send>(groups: Vec<G>, f: impl Fn(G) -> R + Sync) -> Vec<R> {
    let mut groups = groups.into_iter();
    let Some(first) = groups.next() else {
        return Vec::new();
    };
    let rest: Vec<G> = groups.collect();
    if rest.is_empty() {
        return vec![f(first)];
    }
    std::thread::scope(|s| {
        let f = &f;
        let handles: Vec<_> = rest.into_iter().map(|g| s.spawn(move || f(g))).collect();
        let mut out = vec![f(first)];
        out.extend(handles.into_iter().map(join));
        out
    })
}

/// Wait for a scoped worker and take its result; a panic in the worker
/// goes on in the caller with the worker's own message.
pub fn join<T>(handle: std::thread::ScopedJoinHandle<'_, T>) -> T {
    handle.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// `total` cut into `parts` nearly equal counts, the larger ones first
/// (7 into 3: 3, 2, 2): how streams and rows are shared out.
pub fn even_counts(total: usize, parts: usize) -> Vec<usize> {
    (0..parts)
        .map(|w| total / parts + usize::from(w < total % parts))
        .collect()
}

/// Something that can be cut at an index into two of itself: a slice, or a
/// pair of equally long ones cut at the same place.
pub trait Split: Sized {
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    fn split_at(self, mid: usize) -> (Self, Self);
}

impl<T> Split for &mut [T] {
    fn len(&self) -> usize {
        <[T]>::len(self)
    }
    fn split_at(self, mid: usize) -> (Self, Self) {
        self.split_at_mut(mid)
    }
}

impl<T> Split for &[T] {
    fn len(&self) -> usize {
        <[T]>::len(self)
    }
    fn split_at(self, mid: usize) -> (Self, Self) {
        <[T]>::split_at(self, mid)
    }
}

impl<A: Split, B: Split> Split for (A, B) {
    fn len(&self) -> usize {
        debug_assert_eq!(self.0.len(), self.1.len(), "paired slices differ in length");
        self.0.len()
    }
    fn split_at(self, mid: usize) -> (Self, Self) {
        let (a0, a1) = self.0.split_at(mid);
        let (b0, b1) = self.1.split_at(mid);
        ((a0, b0), (a1, b1))
    }
}

/// A piece of something [`Split`] that knows where it starts: `start` is
/// the index of its first entry in the whole it was cut from.
#[derive(Debug)]
pub struct Indexed<S> {
    pub start: usize,
    pub inner: S,
}

impl<S> Indexed<S> {
    pub fn new(start: usize, inner: S) -> Self {
        Indexed { start, inner }
    }
}

impl<S: Split> Split for Indexed<S> {
    fn len(&self) -> usize {
        self.inner.len()
    }
    fn split_at(self, mid: usize) -> (Self, Self) {
        let (a, b) = self.inner.split_at(mid);
        (Indexed::new(self.start, a), Indexed::new(self.start + mid, b))
    }
}

/// Deal `items` (in order) to at most `workers` groups of nearly equal total
/// length, cutting an item where a group fills up; fewer groups when each
/// would get less than `min_per_worker` entries.
pub fn split_pairs<S: Split>(items: Vec<S>, workers: usize, min_per_worker: usize) -> Vec<Vec<S>> {
    let total: usize = items.iter().map(Split::len).sum();
    let workers = workers.min(total / min_per_worker.max(1)).max(1);
    if workers == 1 {
        return vec![items];
    }
    let per = total.div_ceil(workers);
    let mut groups: Vec<Vec<S>> = vec![Vec::new()];
    let mut room = per;
    for mut item in items {
        while item.len() > room {
            let (head, tail) = item.split_at(room);
            if !head.is_empty() {
                groups.last_mut().expect("a group").push(head);
            }
            groups.push(Vec::new());
            room = per;
            item = tail;
        }
        room -= item.len();
        groups.last_mut().expect("a group").push(item);
    }
    groups.retain(|g| !g.is_empty());
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn even_counts_differ_by_at_most_one_and_sum_to_the_total() {
        assert_eq!(even_counts(7, 3), [3, 2, 2]);
        assert_eq!(even_counts(512, 2), [256, 256]);
        assert_eq!(even_counts(1, 2), [1, 0]);
    }

    #[test]
    fn groups_come_back_in_order_and_cover_everything() {
        let mut a: Vec<u32> = (0..10).collect();
        let mut b: Vec<u32> = (0..7).collect();
        let items: Vec<&mut [u32]> = vec![&mut a, &mut b];
        let groups = split_pairs(items, 3, 1);
        assert_eq!(groups.len(), 3);
        let lens: Vec<usize> = groups.iter().map(|g| g.iter().map(|s| s.len()).sum()).collect();
        assert_eq!(lens, [6, 6, 5]);
        let out = run_each(groups, |g| g.into_iter().flat_map(|s| s.to_vec()).collect::<Vec<u32>>());
        let flat: Vec<u32> = out.into_iter().flatten().collect();
        let want: Vec<u32> = (0..10).chain(0..7).collect();
        assert_eq!(flat, want);
    }

    #[test]
    fn a_workers_panic_reaches_the_caller_with_its_message() {
        let caught = std::panic::catch_unwind(|| {
            run_each(vec![1, 2, 3], |g| {
                assert!(g != 2, "group {g} failed");
                g
            })
        });
        let payload = caught.expect_err("the panic is passed on");
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied());
        assert_eq!(message, Some("group 2 failed"));
        assert_eq!(run_each(vec![5], |g| g * 2), [10], "one group runs on the caller");
        assert!(run_each(Vec::<u8>::new(), |g| g).is_empty());
    }

    #[test]
    fn pairs_are_cut_at_the_same_place_and_small_work_stays_whole() {
        let (mut a, mut b) = (vec![1.0f32; 9], vec![2.0f32; 9]);
        let groups = split_pairs(vec![(&mut a[..], &mut b[..])], 2, 1);
        assert_eq!(groups.len(), 2);
        for g in &groups {
            assert!(g.iter().all(|(x, y)| x.len() == y.len()));
        }
        let (mut a, mut b) = (vec![1.0f32; 9], vec![2.0f32; 9]);
        assert_eq!(split_pairs(vec![(&mut a[..], &mut b[..])], 2, 100).len(), 1);
    }
}
