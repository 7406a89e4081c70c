//! Where a benchmark's JSON report goes: a file given with `--out` (its directory created
//! before the run, so a bad path fails before minutes of measuring), or stdout.

use serde_json::Value;
use std::path::Path;

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
