//! Running one measured process: its stdout, the tail of its stderr, its wall time and the CPU
//! time it used (from `wait4`'s resource usage), with a time limit.

use crate::command::CommandLine;
use std::io::Read;
use std::process::Stdio;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// What a finished process left.
#[derive(Clone, Debug)]
pub struct ProcessRun {
    pub stdout: String,
    /// The last 4 KiB of its stderr.
    pub stderr_tail: String,
    /// Spawn to exit.
    pub wall_seconds: f64,
    /// User + system time of the process and of its waited-for children.
    pub cpu_seconds: f64,
}

/// Why a process did not give a result.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    #[error("{command}: cannot start {program:?}: {source}")]
    Spawn {
        command: String,
        program: String,
        source: std::io::Error,
    },
    #[error("{command}: {status}{}", stderr_note(.stderr_tail))]
    Failed {
        command: String,
        status: String,
        stderr_tail: String,
    },
    #[error("{command}: killed after the time limit of {seconds} s")]
    Timeout { command: String, seconds: f64 },
    #[error("{command}: waiting for it failed: {source}")]
    Wait {
        command: String,
        source: std::io::Error,
    },
}

fn stderr_note(tail: &str) -> String {
    let t = tail.trim();
    if t.is_empty() {
        String::new()
    } else {
        format!("; its stderr ends with:\n{t}")
    }
}

const STDERR_TAIL: usize = 4096;

/// Runs `cmd` (behind `wrapper`, e.g. valgrind, if not empty) with stdin closed, and waits at
/// most `timeout` for it (then kills it). A non-zero exit is an error.
pub fn run(
    cmd: &CommandLine,
    wrapper: &[String],
    timeout: Duration,
) -> Result<ProcessRun, ProcessError> {
    let mut command = cmd.command(wrapper);
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let shown = if wrapper.is_empty() {
        cmd.text.clone()
    } else {
        format!("{} {}", wrapper.join(" "), cmd.text)
    };
    let start = Instant::now();
    let mut child = command.spawn().map_err(|source| ProcessError::Spawn {
        command: shown.clone(),
        program: wrapper.first().unwrap_or(&cmd.program).clone(),
        source,
    })?;
    let pid = child.id() as libc::pid_t;
    let mut out = child.stdout.take().expect("piped stdout");
    let mut err = child.stderr.take().expect("piped stderr");
    let out_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = out.read_to_end(&mut buf);
        buf
    });
    let err_reader = std::thread::spawn(move || {
        let mut tail = Vec::new();
        let mut chunk = [0u8; 8192];
        while let Ok(n) = err.read(&mut chunk) {
            if n == 0 {
                break;
            }
            tail.extend_from_slice(&chunk[..n]);
            if tail.len() > 2 * STDERR_TAIL {
                tail.drain(..tail.len() - STDERR_TAIL);
            }
        }
        if tail.len() > STDERR_TAIL {
            tail.drain(..tail.len() - STDERR_TAIL);
        }
        tail
    });
    // The watchdog kills the child if it outlives `timeout`. The child is not reaped until
    // the watchdog has been told it exited, so its pid cannot be reused under the watchdog.
    let exited = Arc::new((Mutex::new(false), Condvar::new()));
    let watchdog = {
        let exited = Arc::clone(&exited);
        std::thread::spawn(move || {
            let (lock, cv) = &*exited;
            let guard = lock.lock().unwrap_or_else(|e| e.into_inner());
            let (guard, _) = cv
                .wait_timeout_while(guard, timeout, |done| !*done)
                .unwrap_or_else(|e| e.into_inner());
            if !*guard {
                // SAFETY: plain syscall; `pid` is our unreaped child (see above).
                unsafe { libc::kill(pid, libc::SIGKILL) };
                return true;
            }
            false
        })
    };
    let waited = wait_exit_unreaped(pid);
    let wall_seconds = start.elapsed().as_secs_f64();
    {
        let (lock, cv) = &*exited;
        *lock.lock().unwrap_or_else(|e| e.into_inner()) = true;
        cv.notify_all();
    }
    let killed = watchdog.join().unwrap_or(false);
    let mut status: libc::c_int = 0;
    // SAFETY: all-zero is a valid `rusage`.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our child; the pointers are valid for the call.
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let reap_error = (reaped != pid).then(std::io::Error::last_os_error);
    drop(child); // already reaped: dropping a `Child` neither waits nor kills
    let stdout = out_reader.join().unwrap_or_default();
    let stderr = err_reader.join().unwrap_or_default();
    let stderr_tail = String::from_utf8_lossy(&stderr).into_owned();
    if let Err(source) = waited {
        return Err(ProcessError::Wait {
            command: shown,
            source,
        });
    }
    if let Some(source) = reap_error {
        return Err(ProcessError::Wait {
            command: shown,
            source,
        });
    }
    if killed {
        return Err(ProcessError::Timeout {
            command: shown,
            seconds: timeout.as_secs_f64(),
        });
    }
    if !(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0) {
        let status = if libc::WIFEXITED(status) {
            format!("exited with status {}", libc::WEXITSTATUS(status))
        } else if libc::WIFSIGNALED(status) {
            format!("killed by signal {}", libc::WTERMSIG(status))
        } else {
            format!("ended with wait status {status}")
        };
        return Err(ProcessError::Failed {
            command: shown,
            status,
            stderr_tail,
        });
    }
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 * 1e-6;
    Ok(ProcessRun {
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr_tail,
        wall_seconds,
        cpu_seconds: tv(usage.ru_utime) + tv(usage.ru_stime),
    })
}

/// Blocks until `pid` has exited, leaving it a zombie (`WNOWAIT`).
fn wait_exit_unreaped(pid: libc::pid_t) -> Result<(), std::io::Error> {
    loop {
        // SAFETY: all-zero is a valid `siginfo_t`.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: `info` is valid for writing; `pid` is our child.
        let rc = unsafe {
            libc::waitid(
                libc::P_PID,
                pid as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOWAIT,
            )
        };
        if rc == 0 {
            return Ok(());
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> CommandLine {
        CommandLine {
            env: vec![("V".into(), "42".into())],
            program: "sh".into(),
            args: vec!["-c".into(), script.into()],
            text: format!("sh -c {script:?}"),
        }
    }

    #[test]
    fn output_status_and_time_limit() {
        let r = run(
            &sh("echo out $V; echo err >&2"),
            &[],
            Duration::from_secs(30),
        )
        .unwrap();
        assert_eq!(r.stdout, "out 42\n");
        assert_eq!(r.stderr_tail, "err\n");
        assert!(r.wall_seconds > 0.0 && r.cpu_seconds >= 0.0);
        let e = run(&sh("echo boom >&2; exit 3"), &[], Duration::from_secs(30)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "sh -c \"echo boom >&2; exit 3\": exited with status 3; its stderr ends with:\nboom"
        );
        let t0 = Instant::now();
        let e = run(&sh("exec sleep 30"), &[], Duration::from_millis(200)).unwrap_err();
        assert!(matches!(e, ProcessError::Timeout { .. }), "{e}");
        assert!(t0.elapsed() < Duration::from_secs(10));
        let missing = CommandLine::parse("/nonexistent/prog").unwrap();
        let e = run(&missing, &[], Duration::from_secs(1)).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("/nonexistent/prog: cannot start \"/nonexistent/prog\": "),
            "{e}"
        );
    }
}
