//! How much memory the process has used.

/// Peak resident memory of this process in KiB (`VmHWM` on Linux; `None`
/// where `/proc` does not say).
pub fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
