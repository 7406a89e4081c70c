//! Where a benchmark's JSON report goes: a file given with `--out` (its directory created
//! before the run, so a bad path fails before minutes of measuring), or stdout.

use crate::compare::{git_revision, load_average};
use serde_json::{Map, Value};
use std::path::Path;
use std::time::Instant;

/// What every report says about its run, taken when the benchmark starts: the command line,
/// the load average before, and the start time (for `seconds`).
pub struct RunInfo {
    command: String,
    load_before: Value,
    started: Instant,
}

impl RunInfo {
    /// Notes the command line and the load now.
    pub fn start() -> RunInfo {
        RunInfo {
            command: std::env::args().collect::<Vec<_>>().join(" "),
            load_before: load_average(),
            started: Instant::now(),
        }
    }

    /// The report: the common header (benchmark, command, note, date, seconds, load
    /// averages, git revision, machine), then the fields of `rest` (a JSON object).
    pub fn report(&self, benchmark: &str, note: Option<&str>, rest: Value) -> Value {
        let mut m = Map::new();
        m.insert("benchmark".into(), benchmark.into());
        m.insert("command".into(), self.command.clone().into());
        m.insert("note".into(), note.into());
        m.insert("date".into(), crate::machine::utc_now().into());
        m.insert(
            "seconds".into(),
            self.started.elapsed().as_secs_f64().into(),
        );
        m.insert("load_average_before".into(), self.load_before.clone());
        m.insert("load_average_after".into(), load_average());
        m.insert("git".into(), git_revision());
        m.insert("machine".into(), crate::machine::describe());
        if let Value::Object(rest) = rest {
            m.extend(rest);
        }
        Value::Object(m)
    }
}

/// Creates the directory of `out`, if any; call it before measuring.
pub fn prepare(out: Option<&Path>) -> Result<(), String> {
    if let Some(dir) = out.and_then(Path::parent) {
        if !dir.as_os_str().is_empty() {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
    }
    Ok(())
}

/// Writes `report` (pretty JSON) to `out` and says so, or prints it.
pub fn write(out: Option<&Path>, report: &Value) -> Result<(), String> {
    let text = serde_json::to_string_pretty(report).map_err(|e| e.to_string())? + "\n";
    match out {
        Some(path) => {
            std::fs::write(path, text)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            println!("wrote {}", path.display());
        }
        None => print!("{text}"),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_land_in_a_created_directory() {
        let dir = tempfile_dir();
        let out = dir.join("a/b/report.json");
        prepare(Some(&out)).unwrap();
        write(Some(&out), &serde_json::json!({"x": 1})).unwrap();
        let back: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
        assert_eq!(back["x"], 1);
        let blocked = out.join("c.json"); // a directory under a file
        assert!(prepare(Some(&blocked))
            .unwrap_err()
            .contains("cannot create"));
        let _ = std::fs::remove_dir_all(dir);
    }

    fn tempfile_dir() -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("strom-bench-report-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }
}
