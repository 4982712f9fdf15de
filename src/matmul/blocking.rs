//! Cache block sizes for the five loops.
//!
//! The loops cut `C := α·A·B + β·C` into pieces that fit the cache levels
//! (Goto & van de Geijn, "Anatomy of high-performance matrix multiplication";
//! BLIS). The constants below are the portable and AVX2 kernels' sizes, for
//! the machine rnnlm was first tuned on — 32 KiB L1d and 512 KiB L2 per core,
//! 32 MiB shared L3 — and sound on any recent x86-64 or ARM core. Each kernel
//! has its own [`Blocks`] ([`Blocks::for_kernel`]), which `RNNLM_BLOCKS=MC,KC,NC`
//! overrides for experiments ([`Blocks::in_use`]): `rnnlm bench gemm` prints
//! the sizes in use, so whoever has a given CPU can sweep them.

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

/// AVX-512's LOOP 4 depth: twice [`KC`], so that a product of depth up to
/// 1024 passes over C once. The `12 × 1024` Ã sliver (48 KiB) no longer
/// fits L1d and streams from L2 with the `1024 × 32` B̃ sliver (128 KiB);
/// a 12 × 32 tile does 384 FMAs per 176 bytes it reads, which L2 feeds.
///
/// Measured with `RNNLM_BLOCKS` on an AMD EPYC (Zen 4: 32 KiB L1d, 1 MiB
/// L2), one thread, % of the FMA probe in the same rounds: 1024³ 86.6–89.3
/// with `KC` 512 and 90.0–92.2 with 1024 (MC 96), 2048³ 85.8–89.7 against
/// 87.5–89.9; 512³ (depth 512) is the same product either way. `bench
/// train` did not move (its deep products are the weight gradients, depth
/// T·B). An earlier sweep on an Intel Xeon (2 MiB L2) found no `KC` from
/// 256 to 512 better than 512; 1024 was not tried there.
pub const AVX512_KC: usize = 1024;

/// AVX-512's LOOP 3 height: the `72 × 1024` Ã block (288 KiB) with the
/// B̃ sliver stays in a 1–2 MiB L2. At 1024³, one thread, the same rounds:
/// `MC` 72 read 90.7–93.5%, 96 90.0–92.2%, 48 92.5–93.4%; 48 lost at 512³
/// on two threads (each worker streams its B̃, which L2 cannot hold, once
/// per `MC` rows: 79–82% of the two-core peak against 86–90%).
pub const AVX512_MC: usize = 72;

use std::sync::OnceLock;

use super::kernel::Kernel;

/// The block sizes of one kernel: `MC` rows of A (LOOP 3), `KC` of depth
/// (LOOP 4), `NC` columns of B (LOOP 5). `MC` is a multiple of the kernel's
/// `MR` and `NC` of its `NR`, so only the last block of a dimension is
/// ragged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Blocks {
    pub mc: usize,
    pub kc: usize,
    pub nc: usize,
}

impl Blocks {
    /// Each kernel's tuned sizes.
    ///
    /// - portable (4 × 8) and AVX2 (6 × 16): [`MC`], [`KC`], [`NC`] above.
    /// - AVX-512 (12 × 32): [`AVX512_MC`], [`AVX512_KC`], [`NC`].
    pub fn for_kernel(kernel: Kernel) -> Blocks {
        match kernel {
            Kernel::Naive | Kernel::Portable | Kernel::Avx2 => Blocks { mc: MC, kc: KC, nc: NC },
            Kernel::Avx512 => Blocks {
                mc: AVX512_MC,
                kc: AVX512_KC,
                nc: NC,
            },
        }
    }

    /// `MC,KC,NC` (the `RNNLM_BLOCKS` syntax), checked against a kernel's
    /// tile: every size at least 1, `MC` a multiple of `mr`, `NC` of `nr`.
    pub fn parse(text: &str, mr: usize, nr: usize) -> Result<Blocks, String> {
        let sizes: Vec<usize> = text
            .split(',')
            .map(|x| x.trim().parse().map_err(|_| format!("'{text}' is not MC,KC,NC")))
            .collect::<Result<_, _>>()?;
        let [mc, kc, nc] = sizes[..] else {
            return Err(format!("'{text}' is not MC,KC,NC (three sizes)"));
        };
        if mc == 0 || kc == 0 || nc == 0 || !mc.is_multiple_of(mr) || !nc.is_multiple_of(nr) {
            return Err(format!(
                "'{text}': MC must be a multiple of MR = {mr}, NC of NR = {nr}, all at least 1"
            ));
        }
        Ok(Blocks { mc, kc, nc })
    }

    /// The sizes a kernel (tile `mr × nr`) runs with: `RNNLM_BLOCKS` when it
    /// is set and valid for the tile, else [`Blocks::for_kernel`]. The
    /// environment is read once.
    pub fn in_use(kernel: Kernel, mr: usize, nr: usize) -> Blocks {
        static ENV: OnceLock<Option<String>> = OnceLock::new();
        let env = ENV.get_or_init(|| std::env::var("RNNLM_BLOCKS").ok());
        env.as_deref()
            .and_then(|text| Blocks::parse(text, mr, nr).ok())
            .unwrap_or_else(|| Blocks::for_kernel(kernel))
    }
}

/// Products below this many flops (2·m·n·k) stay on one thread. Spawning and
/// joining scoped workers costs from tens to hundreds of microseconds (more
/// on a busy virtual machine): measured here, a 33 MFLOP product
/// (64×512·512×512, ~0.4 ms) got slower on two threads, a 134 MFLOP one
/// (64×1024·1024×1024) 1.8× faster.
pub const PAR_MIN_FLOPS: usize = 1 << 26;

/// Operands with fewer entries than this are packed on one thread: copying
/// 256 Ki floats (1 MiB) takes about as long as starting a worker.
pub const PAR_MIN_PACK: usize = 1 << 18;

/// A split product whose B has at most this many entries (1 MiB of f32,
/// what one core's L2 holds beside its working set) has every worker pack
/// all of B̃ for itself rather than share one packing: one spawn instead of
/// two, and each worker reads B̃ from its own core's cache. Larger B is
/// packed once, shared, each worker packing a part. (Measured with `bench
/// gemm`, AVX-512 on 2 cores: 512³ 1.66× → 1.91× over one thread; 1024³ and
/// `2048×512·512×10000` are better shared.)
pub const PACK_EACH_MAX: usize = 1 << 18;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_are_checked_against_the_tile() {
        assert_eq!(
            Blocks::parse("192, 384,4096", 12, 32),
            Ok(Blocks {
                mc: 192,
                kc: 384,
                nc: 4096
            })
        );
        for bad in [
            "96,512",
            "96,512,2048,1",
            "a,b,c",
            "0,512,2048",
            "100,512,2048",
            "96,512,2050",
        ] {
            assert!(Blocks::parse(bad, 12, 32).is_err(), "{bad} accepted");
        }
        let d = Blocks::for_kernel(Kernel::Avx512);
        assert!(d.mc.is_multiple_of(12) && d.nc.is_multiple_of(32) && d.kc > 0);
    }
}
