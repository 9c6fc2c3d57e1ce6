//! Machine-wide CPU time from /proc/stat, for "CPU per packet" figures that
//! include softirq work no single process is charged for.

use std::io;

/// Nanoseconds all CPUs spent busy (user, nice, system, irq, softirq, steal)
/// since boot.
///
/// # Errors
/// /proc/stat unreadable or in an unexpected shape.
pub fn busy_ns() -> io::Result<u64> {
    let stat = std::fs::read_to_string("/proc/stat")?;
    let line = stat
        .lines()
        .find(|line| line.starts_with("cpu "))
        .ok_or_else(|| io::Error::other("no cpu line in /proc/stat"))?;
    let fields: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|field| field.parse().unwrap_or(0))
        .collect();
    // user nice system idle iowait irq softirq steal ...
    let busy: u64 = [0usize, 1, 2, 5, 6, 7]
        .iter()
        .map(|&i| fields.get(i).copied().unwrap_or(0))
        .sum();
    // Safety: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Ok(busy * (1_000_000_000 / ticks))
}
