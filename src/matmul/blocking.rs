//! Cache block sizes for the five loops.
//!
//! The loops cut `C := α·A·B + β·C` into pieces that fit the cache levels
//! (Goto & van de Geijn, "Anatomy of high-performance matrix multiplication";
//! BLIS). Figures are for the machine rnnlm is tuned on — 32 KiB L1d and
//! 512 KiB L2 per core, 32 MiB shared L3 — and are sound on any recent x86-64
//! or ARM core. They are multiples of every kernel's `MR` (4, 6, 12) and `NR`
//! (8, 16, 32), so only the last block of a dimension is ragged.

/// LOOP 4 (`pc`): depth of one packed panel pair. An `MR × KC` sliver of Ã
/// (6·512·4 B = 12 KiB) stays in the 32 KiB L1d while the micro-kernel
/// streams through it. The `KC × NR` sliver of B̃ (512·16·4 B = 32 KiB) does
/// not fit beside it and is read from L2, which delivers 32 B/cycle — about
/// twice the 15 B/cycle the kernel needs (64 B of B̃ and 24 B of Ã per six
/// cycles of FMAs). Why not 256, which keeps the B̃ sliver in L1: every `pc`
/// block is one more pass over C (load and store of each tile); measured
/// here, halving the passes gained 2–3% at 1024³ and lost nothing elsewhere
/// (`rnnlm bench gemm`, `rnnlm bench train`).
pub const KC: usize = 512;

/// LOOP 3 (`ic`): rows of A packed at once. The `MC × KC` block Ã
/// (96·512·4 B = 192 KiB) stays resident in the 512 KiB L2 while every B̃
/// sliver of the current `jc` block is multiplied against it.
pub const MC: usize = 96;

/// LOOP 5 (`jc`): columns of B handled per outer step. The `KC × NC` block B̃
/// (512·2048·4 B = 4 MiB) stays in L3 while all of Ã's blocks visit it.
pub const NC: usize = 2048;

/// Products below this many flops (2·m·n·k) stay on one thread. Spawning and
/// joining scoped workers costs from tens to hundreds of microseconds (more
/// on a busy virtual machine): measured here, a 33 MFLOP product
/// (64×512·512×512, ~0.4 ms) got slower on two threads, a 134 MFLOP one
/// (64×1024·1024×1024) 1.8× faster.
pub const PAR_MIN_FLOPS: usize = 1 << 26;

/// Operands with fewer entries than this are packed on one thread: copying
/// 256 Ki floats (1 MiB) takes about as long as starting a worker.
pub const PAR_MIN_PACK: usize = 1 << 18;
