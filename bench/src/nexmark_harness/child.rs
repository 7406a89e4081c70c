//! One `strom run` child process, measured from `/proc` while it runs.
//!
//! CPU time is `utime + stime` of `/proc/PID/stat`. The child is not reaped until it is a
//! zombie: a zombie's `/proc/PID/stat` still holds the final CPU time of the whole thread
//! group (the kernel keeps it until the parent waits), so the CPU figure is exact, not the
//! last sample before exit. Peak RSS is `VmHWM` of `/proc/PID/status` (a high-water mark,
//! so only growth within the last poll period before exit can be missed; a zombie has no
//! memory map left to report).

use serde_json::Value;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What one child run measured.
pub struct ChildRun {
    /// Spawn until the child was seen as a zombie (late by at most one poll period).
    pub wall_seconds: f64,
    /// `utime + stime` of the whole process, seconds.
    pub cpu_seconds: f64,
    /// `VmHWM`, bytes (`None` if never read).
    pub peak_rss_bytes: Option<u64>,
    /// The `--json` summary line strom printed on stderr.
    pub summary: Value,
}

/// Runs `strom args…` to its end, reading `/proc` every `poll` and printing
/// `progress(elapsed, cpu, rss)` every `every`.
///
/// Each read of `/proc/PID/status` runs on a CPU the child's slots want: latency runs poll
/// every 100 ms rather than 10 ms, so that the harness does not preempt what it measures
/// (at 10 ms it took a slot's CPU ~950 times in 10 s, up to 1.4 ms each).
pub fn run(
    strom: &Path,
    args: &[String],
    poll: Duration,
    every: Duration,
    progress: &mut dyn FnMut(f64, f64, Option<u64>),
) -> Result<ChildRun, String> {
    let tick = clock_ticks();
    let t0 = Instant::now();
    let mut child = Command::new(strom)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", strom.display()))?;
    let pid = child.id();
    let mut err = child.stderr.take().expect("piped stderr");
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let mut hwm: Option<u64> = None;
    let mut cpu = 0.0;
    let mut next_progress = t0 + every;
    // `read_stat` fails only once the process is gone (it should not be before we wait).
    while let Some((state, ticks)) = read_stat(pid) {
        cpu = ticks as f64 / tick;
        if state == 'Z' {
            break;
        }
        if let Some(h) = read_hwm(pid) {
            hwm = Some(hwm.map_or(h, |x| x.max(h)));
        }
        if Instant::now() >= next_progress {
            progress(t0.elapsed().as_secs_f64(), cpu, hwm);
            next_progress += every;
        }
        std::thread::sleep(poll);
    }
    let wall_seconds = t0.elapsed().as_secs_f64();
    let status = child
        .wait()
        .map_err(|e| format!("cannot wait for strom: {e}"))?;
    let stderr = reader.join().unwrap_or_default();
    if !status.success() {
        return Err(format!(
            "strom {} failed ({status}): {}",
            args.join(" "),
            stderr.trim()
        ));
    }
    let summary = stderr
        .lines()
        .rev()
        .find_map(|l| {
            let v: Value = serde_json::from_str(l.trim()).ok()?;
            v.get("records_in").is_some().then_some(v)
        })
        .ok_or_else(|| format!("no JSON summary on strom's stderr: {}", stderr.trim()))?;
    Ok(ChildRun {
        wall_seconds,
        cpu_seconds: cpu,
        peak_rss_bytes: hwm,
        summary,
    })
}

/// `(state, utime + stime in clock ticks)` of `/proc/PID/stat`.
fn read_stat(pid: u32) -> Option<(char, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) S ppid …": comm may hold spaces and parentheses; the last ')' ends it.
    let rest = &text[text.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // rest[0] is field 3 (state); utime and stime are fields 14 and 15.
    let state = f.first()?.chars().next()?;
    let utime: u64 = f.get(11)?.parse().ok()?;
    let stime: u64 = f.get(12)?.parse().ok()?;
    Some((state, utime + stime))
}

/// `VmHWM` of `/proc/PID/status`, bytes.
fn read_hwm(pid: u32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = text.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Clock ticks per second (`getconf CLK_TCK`, 100 if unavailable).
fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .trim()
                .parse::<f64>()
                .ok()
        })
        .filter(|t| *t > 0.0)
        .unwrap_or(100.0)
}
