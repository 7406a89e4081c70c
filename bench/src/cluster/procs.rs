//! Child processes that never outlive the benchmark, and what `/proc` says about a process.
//!
//! A [`Proc`] owns a started child: dropping it (normal end, error, panic unwinding) kills
//! the child by its pid and reaps it. Output lines of interest are read by a thread per
//! stream, so that a chatty child never blocks on a full pipe; everything it writes also goes
//! to a log file.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

/// A started child process, killed and reaped on drop.
pub struct Proc {
    name: String,
    child: Option<Child>,
    lines: Receiver<String>,
    log: PathBuf,
}

impl Proc {
    /// Starts `cmd` with stdin closed; stdout and stderr lines go to `log` and (stdout only)
    /// to [`Proc::wait_line`].
    pub fn spawn(name: &str, mut cmd: Command, log: &Path) -> Result<Proc, String> {
        let file = std::fs::File::create(log)
            .map_err(|e| format!("cannot create {}: {e}", log.display()))?;
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {name} ({cmd:?}): {e}"))?;
        let (tx, lines) = mpsc::channel();
        let out = child.stdout.take().expect("piped stdout");
        let err = child.stderr.take().expect("piped stderr");
        let f1 = file.try_clone().map_err(|e| e.to_string())?;
        std::thread::Builder::new()
            .name(format!("{name}-stdout"))
            .spawn(move || pump(out, f1, Some(tx)))
            .map_err(|e| e.to_string())?;
        std::thread::Builder::new()
            .name(format!("{name}-stderr"))
            .spawn(move || pump(err, file, None))
            .map_err(|e| e.to_string())?;
        Ok(Proc {
            name: name.to_string(),
            child: Some(child),
            lines,
            log: log.to_path_buf(),
        })
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).unwrap_or(0)
    }

    /// The log file.
    pub fn log(&self) -> &Path {
        &self.log
    }

    /// Waits for a stdout line starting with `prefix`; fails when the process exits or the
    /// deadline passes.
    pub fn wait_line(&mut self, prefix: &str, deadline: Instant) -> Result<String, String> {
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self
                .lines
                .recv_timeout(left.min(Duration::from_millis(100)))
            {
                Ok(l) if l.starts_with(prefix) => return Ok(l),
                Ok(_) => {}
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if let Some(st) = self.try_wait() {
                        return Err(format!(
                            "{} exited ({st}) before printing {prefix:?}; see {}",
                            self.name,
                            self.log.display()
                        ));
                    }
                    if Instant::now() >= deadline {
                        return Err(format!(
                            "{} did not print {prefix:?} in time; see {}",
                            self.name,
                            self.log.display()
                        ));
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let st = self.wait_until(deadline);
                    return Err(format!(
                        "{} closed its stdout ({st:?}) before printing {prefix:?}; see {}",
                        self.name,
                        self.log.display()
                    ));
                }
            }
        }
    }

    /// Every stdout line received so far (not yet taken by [`Proc::wait_line`]).
    pub fn drain_lines(&mut self) -> Vec<String> {
        self.lines.try_iter().collect()
    }

    /// The exit status, if the process has ended.
    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        self.child.as_mut()?.try_wait().ok().flatten()
    }

    /// Waits for the process to end until `deadline`; `None` if it is still running.
    pub fn wait_until(&mut self, deadline: Instant) -> Option<ExitStatus> {
        loop {
            if let Some(st) = self.try_wait() {
                return Some(st);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// Asks the process to stop (SIGTERM), waits up to `grace`, then kills it (SIGKILL).
    pub fn stop(&mut self, grace: Duration) {
        if self.try_wait().is_none() {
            signal(self.pid(), "TERM");
            if self.wait_until(Instant::now() + grace).is_none() {
                self.kill();
            }
        }
        self.child = None;
    }

    /// Kills the process and any descendants it left (a shell script's JVM), by pid.
    fn kill(&mut self) {
        if let Some(c) = self.child.as_mut() {
            if c.try_wait().ok().flatten().is_none() {
                let descendants = descendants(c.id());
                let _ = c.kill();
                for pid in descendants {
                    signal(pid, "KILL");
                }
            }
            let _ = c.wait();
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Copies a child's stream to its log, sending each line to `tx` as well.
fn pump(stream: impl Read, mut log: std::fs::File, tx: Option<mpsc::Sender<String>>) {
    let mut r = BufReader::new(stream);
    let mut line = String::new();
    loop {
        line.clear();
        match r.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                let _ = log.write_all(line.as_bytes());
                if let Some(tx) = &tx {
                    let _ = tx.send(line.trim_end().to_string());
                }
            }
        }
    }
}

/// Sends a signal by pid with `kill(1)` (the crate has no libc binding).
pub fn signal(pid: u32, sig: &str) {
    if pid == 0 {
        return;
    }
    let _ = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// The pids of `pid`'s children, grandchildren, … (from the parent pids in `/proc/*/stat`).
pub fn descendants(pid: u32) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let parents: Vec<(u32, u32)> = dir
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|p| {
            let s = std::fs::read_to_string(format!("/proc/{p}/stat")).ok()?;
            let ppid = s
                .rsplit_once(')')?
                .1
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()?;
            Some((p, ppid))
        })
        .collect();
    let mut out = Vec::new();
    let mut frontier = vec![pid];
    while let Some(q) = frontier.pop() {
        for &(p, pp) in &parents {
            if pp == q && !out.contains(&p) {
                out.push(p);
                frontier.push(p);
            }
        }
    }
    out
}

/// Whether a process with this pid exists and is not a zombie.
pub fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => !matches!(
            s.rsplit(')').next().map(|r| r.trim_start().chars().next()),
            Some(Some('Z' | 'X'))
        ),
        Err(_) => false,
    }
}

/// Resident set size in KiB (`VmRSS` of `/proc/PID/status`).
pub fn rss_kib(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// A `kB` field of `/proc/PID/status` (`RssAnon`, `RssFile`, …).
pub fn status_kib(pid: u32, key: &str) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find(|l| l.split(':').next() == Some(key))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// `AnonHugePages` of `/proc/PID/smaps_rollup` in KiB: transparent huge pages in the RSS.
pub fn anon_huge_pages_kib(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok()?;
    s.lines()
        .find(|l| l.starts_with("AnonHugePages:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// CPU time used so far (utime + stime of `/proc/PID/stat`), in clock ticks.
pub fn cpu_ticks(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may contain spaces) start with the state (3).
    let rest = s.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = f.get(11)?.parse().ok()?; // field 14
    let stime: u64 = f.get(12)?.parse().ok()?; // field 15
    Some(utime + stime)
}

/// CPU time of the process's current threads in ns (sum of the first field of
/// `/proc/PID/task/*/schedstat`): finer than [`cpu_ticks`], but threads that exit in between
/// are lost.
pub fn sched_ns(pid: u32) -> Option<u64> {
    let dir = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    let mut sum = 0u64;
    for e in dir.flatten() {
        let s = std::fs::read_to_string(e.path().join("schedstat")).unwrap_or_default();
        sum += s
            .split_whitespace()
            .next()
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
    }
    Some(sum)
}

/// Number of threads (`Threads` of `/proc/PID/status`).
pub fn threads(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find(|l| l.starts_with("Threads:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Clock ticks per second (`getconf CLK_TCK`, 100 if that fails).
pub fn clock_ticks() -> u64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .filter(|&t| t > 0)
        .unwrap_or(100)
}

/// Pids of processes whose command line contains every one of `markers`.
pub fn find_pids(markers: &[&str]) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut pids: Vec<u32> = dir
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .filter(|pid: &u32| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .map(|c| {
                    let c = String::from_utf8_lossy(&c);
                    markers.iter().all(|m| c.contains(m))
                })
                .unwrap_or(false)
        })
        .collect();
    pids.sort_unstable();
    pids
}

/// A free TCP port on 127.0.0.1 (bound and released at once).
pub fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))
}

/// Whether nothing listens on 127.0.0.1:`port` and it can be bound.
pub fn port_free(port: u16) -> bool {
    std::net::TcpListener::bind(("127.0.0.1", port)).is_ok()
}

/// Runs `cmd` to its end within `timeout` (killed after), output to `log`; its exit status.
pub fn run_bounded(
    name: &str,
    cmd: Command,
    log: &Path,
    timeout: Duration,
) -> Result<ExitStatus, String> {
    let mut p = Proc::spawn(name, cmd, log)?;
    match p.wait_until(Instant::now() + timeout) {
        Some(st) => {
            // Let the pump threads flush the last lines.
            std::thread::sleep(Duration::from_millis(50));
            Ok(st)
        }
        None => Err(format!(
            "{name} did not finish within {timeout:?} (killed); see {}",
            log.display()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_process() {
        let me = std::process::id();
        assert!(alive(me));
        assert!(rss_kib(me).unwrap() > 0);
        assert!(status_kib(me, "RssAnon").is_some());
        assert!(cpu_ticks(me).is_some());
        assert!(sched_ns(me).is_some());
        assert!(threads(me).unwrap() >= 1);
    }

    #[test]
    fn child_killed_on_drop() {
        let dir = std::env::temp_dir();
        let log = dir.join(format!("strom-bench-procs-test-{}.log", std::process::id()));
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo hello; echo READY 1; sleep 30; true"]);
        let mut p = Proc::spawn("sh", cmd, &log).unwrap();
        let l = p
            .wait_line("READY", Instant::now() + Duration::from_secs(10))
            .unwrap();
        assert_eq!(l, "READY 1");
        let pid = p.pid();
        // The shell prints READY before it forks the sleep: wait for the child to appear.
        let until = Instant::now() + Duration::from_secs(10);
        let mut kids = descendants(pid);
        while kids.is_empty() && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(5));
            kids = descendants(pid);
        }
        assert_eq!(kids.len(), 1, "the shell's sleep");
        drop(p);
        assert!(!alive(pid));
        // The killed sleep dies once it is scheduled: wait for that (bounded).
        let until = Instant::now() + Duration::from_secs(10);
        while alive(kids[0]) && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(!alive(kids[0]), "the sleep is killed too");
        let _ = std::fs::remove_file(log);
    }
}
