//! How much memory a command will need, and how much this machine has.
//!
//! Every command that allocates by the user's sizes (`train`, `generate`,
//! `gradcheck`, `synth`) first adds up what it will hold, in checked
//! arithmetic, and refuses a run that cannot fit with one line naming the
//! flag — before anything is allocated, so nothing aborts half-way.

use crate::error::{Error, Result};

/// One thing a command will hold: which flags size it, what it is, and its
/// bytes (`None`: more than 2⁶⁴ bytes).
#[derive(Clone, Debug, PartialEq)]
pub struct Part {
    /// The flags (with their values) that set its size, as the user typed
    /// them: `--hidden 100000`.
    pub flags: String,
    pub what: &'static str,
    pub bytes: Option<u64>,
}

/// The bytes of `count` f32 values, where `count` is a product of sizes:
/// `None` if the product or the bytes overflow 64 bits.
pub fn f32s(sizes: &[usize]) -> Option<u64> {
    sizes
        .iter()
        .try_fold(4u64, |acc, &n| acc.checked_mul(u64::try_from(n).ok()?))
}

/// `a + b`, `None` if either is or the sum overflows.
pub fn add(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    a?.checked_add(b?)
}

/// Σ of the parts' bytes, `None` on overflow.
pub fn total(parts: &[Part]) -> Option<u64> {
    parts.iter().try_fold(0u64, |acc, p| acc.checked_add(p.bytes?))
}

/// What this machine can give a new allocation, in bytes: `MemAvailable`
/// of `/proc/meminfo` (else `MemTotal`); `None` where it does not say.
pub fn available() -> Option<Available> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let field = |name: &str| -> Option<u64> {
        let line = info.lines().find(|l| l.starts_with(name))?;
        let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        kib.checked_mul(1024)
    };
    let total = field("MemTotal:")?;
    Some(Available {
        bytes: field("MemAvailable:").unwrap_or(total),
        total,
    })
}

/// This machine's memory, from `/proc/meminfo`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Available {
    /// What a new allocation can have (`MemAvailable`).
    pub bytes: u64,
    /// All of it (`MemTotal`).
    pub total: u64,
}

/// Bytes as a reader wants them: `512 B`, `3.2 MiB`, `41.0 GiB`.
pub fn human(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = bytes as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

/// Refuse a run whose parts cannot fit: more than 2⁶⁴ bytes, or more than
/// `machine` has (where it is known). The error names the largest part's
/// flags first: that is the one to lower. A usage error (exit 2).
pub fn check(parts: &[Part], machine: Option<Available>) -> Result<()> {
    // The largest part, the first of equals (`max_by_key` keeps the last).
    let largest = parts
        .iter()
        .rev()
        .max_by_key(|p| p.bytes.map_or(u128::MAX, u128::from))
        .expect("at least one part");
    let Some(need) = total(parts) else {
        return Err(Error::Usage(format!(
            "{}: {} would need more than 2^64 bytes; this cannot be allocated",
            largest.flags, largest.what
        )));
    };
    let Some(machine) = machine else {
        return Ok(());
    };
    if need <= machine.bytes {
        return Ok(());
    }
    let others: Vec<String> = parts
        .iter()
        .filter(|p| !std::ptr::eq(*p, largest) && p.bytes.unwrap_or(0) > 0)
        .map(|p| format!("{} {}", p.what, human(p.bytes.unwrap_or(0))))
        .collect();
    let rest = if others.is_empty() {
        String::new()
    } else {
        format!("; with {}", others.join(", "))
    };
    Err(Error::Usage(format!(
        "{}: {} need {} ({} in all{rest}), more than the {} this machine has available (of {}, /proc/meminfo)",
        largest.flags,
        largest.what,
        human(largest.bytes.unwrap_or(0)),
        human(need),
        human(machine.bytes),
        human(machine.total),
    )))
}

/// Peak resident memory of this process in KiB (`VmHWM` on Linux; `None`
/// where `/proc` does not say).
pub fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(flags: &str, bytes: Option<u64>) -> Part {
        Part {
            flags: flags.into(),
            what: "the thing",
            bytes,
        }
    }

    #[test]
    fn sizes_overflow_to_none() {
        assert_eq!(f32s(&[3, 5]), Some(60));
        assert_eq!(f32s(&[]), Some(4));
        assert_eq!(f32s(&[usize::MAX, 2]), None);
        assert_eq!(f32s(&[1 << 30, 1 << 31]), Some(1 << 63));
        assert_eq!(f32s(&[1 << 31, 1 << 31]), None, "4 · 2^62 bytes is 2^64");
        assert_eq!(add(Some(u64::MAX), Some(1)), None);
        assert_eq!(add(Some(2), None), None);
    }

    #[test]
    fn check_names_the_largest_part_and_the_machine() {
        let machine = Some(Available {
            bytes: 1 << 30,
            total: 2 << 30,
        });
        let fits = [part("--a 1", Some(1 << 20)), part("--b 2", Some(1 << 29))];
        assert!(check(&fits, machine).is_ok());
        let big = [part("--a 1", Some(1 << 20)), part("--hidden 9", Some(3 << 30))];
        let e = check(&big, machine).unwrap_err().to_string();
        assert!(e.starts_with("--hidden 9: the thing need 3.0 GiB"), "{e}");
        assert!(e.contains("1.0 GiB this machine has available (of 2.0 GiB"), "{e}");
        assert!(e.contains("with the thing 1.0 MiB"), "{e}");
        assert!(check(&big, None).is_ok(), "unknown memory: only overflow is refused");
        let e = check(&[part("--a 1", Some(1)), part("--len 7", None)], None)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("--len 7: the thing would need more than 2^64 bytes"),
            "{e}"
        );
        assert!(matches!(check(&big, machine), Err(Error::Usage(_))));
    }

    #[test]
    fn bytes_read_as_a_person_writes_them() {
        assert_eq!(human(512), "512 B");
        assert_eq!(human(3 << 20), "3.0 MiB");
        assert_eq!(human(41 << 30), "41.0 GiB");
    }
}
