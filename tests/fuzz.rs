//! A fuzz harness on the project's own PRNG: random and mutated inputs for
//! the argument parser, the text decoder and tokenizers, the checkpoint
//! reader and the importer. Every case must end in a value or a clean error
//! — never a panic — and the whole run must stay within a memory bound, so
//! no corrupt length field can make a reader allocate what the input cannot
//! hold.
//!
//! `RNNLM_FUZZ_CASES=N` sets the cases per target (default 2000).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use rnnlm::data::{Level, Vocab};
use rnnlm::model::Model;
use rnnlm::model::{Config, Params};
use rnnlm::rng::Rng;
use rnnlm::train::checkpoint::{self, Checkpoint};

fn cases() -> usize {
    std::env::var("RNNLM_FUZZ_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2000)
}

/// Run `f` on `cases()` seeded inputs; fail naming the seed of any panic.
fn fuzz(target: &str, mut f: impl FnMut(&mut Rng)) {
    let n = cases();
    for case in 0..n {
        let seed = 0xF022 ^ (case as u64) << 8;
        let mut rng = Rng::new(seed);
        if catch_unwind(AssertUnwindSafe(|| f(&mut rng))).is_err() {
            panic!("{target}: case {case} (seed {seed:#x}) panicked");
        }
    }
    eprintln!("{target}: {n} cases, no panic");
}

/// Flip, overwrite, insert, delete or truncate a few bytes.
fn mutate(bytes: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut b = bytes.to_vec();
    for _ in 0..1 + rng.below(4) {
        if b.is_empty() {
            b.push(rng.next_u64() as u8);
            continue;
        }
        let i = rng.below(b.len());
        match rng.below(6) {
            0 => b[i] ^= 1 << rng.below(8),
            1 => b[i] = rng.next_u64() as u8,
            2 => b.insert(i, rng.next_u64() as u8),
            3 => {
                b.remove(i);
            }
            4 => b.truncate(i),
            _ => {
                // A plausible-looking huge little-endian length.
                let v = [u64::MAX, u32::MAX as u64, 1 << 40, 1 << 31][rng.below(4)].to_le_bytes();
                for (k, x) in v.iter().enumerate().take(b.len() - i) {
                    b[i + k] = *x;
                }
            }
        }
    }
    b
}

fn random_unicode(rng: &mut Rng, len: usize) -> String {
    (0..len)
        .map(|_| match rng.below(4) {
            0 => char::from(b' ' + rng.below(95) as u8),
            1 => '\n',
            2 => char::from_u32(0xAC00 + rng.below(11172) as u32).unwrap(),
            _ => char::from_u32(rng.below(0x11_0000) as u32).unwrap_or('\u{FFFD}'),
        })
        .collect()
}

/// Any bytes as an argument (Unix: an OsString is bytes; elsewhere the
/// bytes are read lossily).
#[cfg(unix)]
fn not_utf8_arg(bytes: Vec<u8>) -> std::ffi::OsString {
    use std::os::unix::ffi::OsStringExt;
    std::ffi::OsString::from_vec(bytes)
}

#[cfg(not(unix))]
fn not_utf8_arg(bytes: Vec<u8>) -> std::ffi::OsString {
    String::from_utf8_lossy(&bytes).into_owned().into()
}

#[test]
fn fuzz_the_argument_parser() {
    const WORDS: [&str; 16] = [
        "train", "eval", "generate", "bench", "gemm", "--corpus", "--batch", "--lr", "--help", "--json", "-1", "0",
        "1e309", "nan", "--steps=", "=",
    ];
    fuzz("cli::parse", |rng| {
        let n = rng.below(8);
        let args: Vec<std::ffi::OsString> = (0..n)
            .map(|_| match rng.below(4) {
                0 => {
                    let len = rng.below(6);
                    random_unicode(rng, len).into()
                }
                // Bytes that need not be UTF-8, as a file name may be.
                1 => {
                    let bytes: Vec<u8> = (0..rng.below(6)).map(|_| rng.next_u64() as u8).collect();
                    not_utf8_arg(bytes)
                }
                _ => WORDS[rng.below(WORDS.len())].into(),
            })
            .collect();
        // Parsing checks every value it reads: it never panics, and what it
        // refuses is always a usage error (exit code 2).
        match rnnlm::cli::parse(args.clone()) {
            Ok(_) | Err(rnnlm::error::Error::Usage(_)) => {}
            Err(e) => panic!("{args:?}: not a usage error: {e}"),
        }
    });
}

#[test]
fn fuzz_text_decoding_and_tokenizers() {
    fuzz("decode + tokenize", |rng| {
        let bytes: Vec<u8> = (0..rng.below(200)).map(|_| rng.next_u64() as u8).collect();
        match rnnlm::io::fs::decode_text(bytes.clone(), Path::new("fuzz.txt")) {
            Ok(text) => assert_eq!(text.as_bytes(), &bytes[..]),
            Err(e) => {
                let offset = String::from_utf8(bytes).unwrap_err().utf8_error().valid_up_to();
                assert!(e.to_string().contains(&format!("offset {offset}")));
            }
        }
        let len = rng.below(300);
        let text = random_unicode(rng, len);
        for level in [Level::Char, Level::Word] {
            let v = Vocab::build(&text, level, 1 + rng.below(2), 2 + rng.below(50));
            let ids = v.encode(&text);
            if level == Level::Char {
                assert_eq!(ids.unwrap().len(), text.chars().count());
            }
            let other = random_unicode(rng, 20);
            let _ = v.encode(&other);
        }
    });
    // One huge line with no line break, at both levels.
    let mut rng = Rng::new(1);
    let huge: String = (0..2_000_000).map(|_| char::from(b'a' + rng.below(26) as u8)).collect();
    let v = Vocab::build(&huge, Level::Char, 1, usize::MAX);
    assert_eq!(v.encode(&huge).unwrap().len(), huge.len());
    let w = Vocab::build(&huge, Level::Word, 1, 100);
    assert_eq!(w.encode(&huge).unwrap().len(), 2, "one word and <eos>");
}

fn small_checkpoint() -> Vec<u8> {
    let vocab = Vocab::build("ab 가나", Level::Char, 1, 100);
    let cfg = Config::full(vocab.len(), 3, 4);
    let params = Params::init(&cfg, &mut Rng::new(2));
    checkpoint::to_bytes(&Checkpoint {
        model: Model::new(vocab, params),
        train: None,
    })
}

#[test]
fn fuzz_the_checkpoint_reader() {
    let good = small_checkpoint();
    assert!(checkpoint::from_bytes(&good).is_ok());
    // Every truncation is refused.
    for len in 0..good.len() {
        assert!(
            checkpoint::from_bytes(&good[..len]).is_err(),
            "truncation to {len} accepted"
        );
    }
    fuzz("checkpoint::from_bytes", |rng| {
        let bad = mutate(&good, rng);
        if bad != good {
            assert!(
                checkpoint::from_bytes(&bad).is_err(),
                "a corrupted checkpoint was accepted"
            );
        }
        // And corruption behind a recomputed checksum: the structure checks
        // alone must hold (no panic, no huge allocation).
        let mut forged = bad.clone();
        if forged.len() >= 28 {
            let n = forged.len() - 28;
            forged[12..20].copy_from_slice(&(n as u64).to_le_bytes());
            let sum = checkpoint::fnv1a(&forged[20..20 + n]);
            let at = forged.len() - 8;
            forged[at..].copy_from_slice(&sum.to_le_bytes());
            let _ = checkpoint::from_bytes(&forged);
        }
    });
}

#[test]
fn fuzz_the_importer() {
    let dir = Path::new("fuzz-import");
    let vocab = Vocab::build("ab", Level::Char, 1, 10);
    let params = Params::<f32>::init(&Config::full(2, 3, 4), &mut Rng::new(3));
    // The exported files, in memory.
    let tmp = std::env::temp_dir().join(format!("rnnlm-fuzz-export-{}", std::process::id()));
    rnnlm::io::export::export(&Model::new(vocab, params), &tmp).unwrap();
    let names = [
        "config.json",
        "vocab.json",
        "E.npy",
        "W_x.npy",
        "W_h.npy",
        "b_h.npy",
        "W_y.npy",
        "b_y.npy",
    ];
    let files: Vec<(String, Vec<u8>)> = names
        .iter()
        .map(|n| (n.to_string(), std::fs::read(tmp.join(n)).unwrap()))
        .collect();
    let import = |files: &[(String, Vec<u8>)]| {
        rnnlm::io::export::import_with(dir, &mut |name| {
            Ok(files
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, b)| b.clone())
                .unwrap_or_default())
        })
    };
    assert!(import(&files).is_ok());
    // Every truncation of every file is refused, except ones that only drop
    // trailing white space from a JSON file (the same document).
    for (k, (name, bytes)) in files.iter().enumerate() {
        for len in 0..bytes.len() {
            let mut f = files.clone();
            f[k].1.truncate(len);
            let only_ws = name.ends_with(".json") && bytes[len..].iter().all(|b| b.is_ascii_whitespace());
            assert!(only_ws || import(&f).is_err(), "{name} truncated to {len} accepted");
        }
    }
    fuzz("interop::import_with", |rng| {
        let mut f = files.clone();
        let k = rng.below(f.len());
        f[k].1 = mutate(&f[k].1, rng);
        // A flipped float inside an .npy data block is another valid array
        // (the format has no checksum); anything else must be refused or
        // give a model of the declared shapes.
        if let Ok(m) = import(&f) {
            assert_eq!(m.params.config.vocab, m.vocab.len());
        }
    });
}

/// The checkpoint reader's and the importer's fuzz runs, again, then the
/// process's high-water mark: it covers these runs whatever else the
/// process ran beside them (the file's tests share it). The bound is far
/// above what the inputs need and far below what a trusted corrupt length
/// would allocate.
#[test]
fn memory_stays_bounded() {
    fuzz_the_checkpoint_reader();
    fuzz_the_importer();
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    if let Some(line) = status.lines().find(|l| l.starts_with("VmHWM:")) {
        let kb: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
        eprintln!("peak resident memory of the fuzz run: {} MiB", kb / 1024);
        assert!(kb < 512 * 1024, "peak RSS {kb} kB");
    } else {
        eprintln!("note: /proc/self/status has no VmHWM here; memory bound not measured");
    }
}
