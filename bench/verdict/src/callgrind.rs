//! Instruction counts from valgrind's callgrind: the number of instructions a process executed
//! (`Ir`), which does not depend on what else runs on the machine. It is the same from run to
//! run for deterministic single-threaded code, up to a few hundred instructions of start-up
//! (environment size, addresses); multi-threaded code varies with the interleaving (callgrind
//! runs one thread at a time), and a program under callgrind runs ~50–100× slower.

use crate::command::CommandLine;
use crate::process::{self, ProcessError, ProcessRun};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The figure the A/B runner records.
pub const FIGURE: &str = "callgrind.instructions";

#[derive(Debug, thiserror::Error)]
pub enum CallgrindError {
    #[error(
        "valgrind is not installed ({0}): instruction counts need it \
         (Debian/Ubuntu: `apt-get install -y valgrind`)"
    )]
    Missing(String),
    #[error("{0}")]
    Run(#[from] ProcessError),
    #[error("{command}: callgrind wrote no usable output in {dir}: {problem}")]
    Output {
        command: String,
        dir: String,
        problem: String,
    },
}

/// The installed valgrind's version, or [`CallgrindError::Missing`].
pub fn available() -> Result<String, CallgrindError> {
    match std::process::Command::new("valgrind")
        .arg("--version")
        .output()
    {
        Ok(o) if o.status.success() => Ok(String::from_utf8_lossy(&o.stdout).trim().to_owned()),
        Ok(o) => Err(CallgrindError::Missing(format!(
            "`valgrind --version` {}",
            o.status
        ))),
        Err(e) => Err(CallgrindError::Missing(format!(
            "cannot run `valgrind`: {e}"
        ))),
    }
}

/// Runs `cmd` under `valgrind --tool=callgrind` and returns the instructions it executed
/// (the main process only; children are not traced) with the process's own output.
pub fn instructions(
    cmd: &CommandLine,
    timeout: Duration,
) -> Result<(u64, ProcessRun), CallgrindError> {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir().join(format!(
        "strom-verdict-cg-{}-{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| CallgrindError::Output {
        command: cmd.text.clone(),
        dir: dir.display().to_string(),
        problem: format!("cannot create it: {e}"),
    })?;
    let result = run_in(cmd, timeout, &dir);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn run_in(
    cmd: &CommandLine,
    timeout: Duration,
    dir: &Path,
) -> Result<(u64, ProcessRun), CallgrindError> {
    let wrapper = [
        "valgrind".to_owned(),
        "--tool=callgrind".to_owned(),
        "--quiet".to_owned(),
        format!(
            "--callgrind-out-file={}",
            dir.join("callgrind.out.%p").display()
        ),
    ];
    let run = match process::run(cmd, &wrapper, timeout) {
        Err(ProcessError::Spawn { source, .. })
            if source.kind() == std::io::ErrorKind::NotFound =>
        {
            return Err(CallgrindError::Missing(format!(
                "cannot run `valgrind`: {source}"
            )))
        }
        r => r?,
    };
    let out_err = |problem: String| CallgrindError::Output {
        command: cmd.text.clone(),
        dir: dir.display().to_string(),
        problem,
    };
    let files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| out_err(format!("cannot list it: {e}")))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("callgrind.out"))
        })
        .collect();
    let [file] = files.as_slice() else {
        return Err(out_err(format!(
            "expected one callgrind.out file, found {}",
            files.len()
        )));
    };
    let text = std::fs::read_to_string(file)
        .map_err(|e| out_err(format!("cannot read {}: {e}", file.display())))?;
    let count = parse_instructions(&text).ok_or_else(|| {
        out_err(format!(
            "{} has no `summary:` or `totals:` line with an Ir count",
            file.display()
        ))
    })?;
    Ok((count, run))
}

/// The `Ir` count of a callgrind.out file: the `summary:` line (or `totals:`), in the column
/// that the `events:` line names `Ir` (the first if there is no `events:` line).
pub fn parse_instructions(text: &str) -> Option<u64> {
    let column = text
        .lines()
        .find_map(|l| l.strip_prefix("events:"))
        .map(|ev| ev.split_whitespace().position(|e| e == "Ir"))
        .unwrap_or(Some(0))?;
    let line = |prefix: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(prefix))
            .and_then(|rest| rest.split_whitespace().nth(column)?.parse::<u64>().ok())
    };
    line("summary:").or_else(|| line("totals:"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_summary_and_totals() {
        let out = "# callgrind format\nversion: 1\ncmd: ./x\nevents: Ir\n\
                   fn=main\n1 2\nsummary: 123456\n\n\ntotals: 123456\n";
        assert_eq!(parse_instructions(out), Some(123_456));
        let with_cache = "events: Dr Ir Dw\ntotals: 5 700 9\n";
        assert_eq!(parse_instructions(with_cache), Some(700));
        assert_eq!(parse_instructions("events: Ir\nfn=x\n"), None);
        assert_eq!(parse_instructions("events: Dr\nsummary: 5\n"), None);
    }
}
