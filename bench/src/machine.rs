//! A small description of the machine a benchmark ran on, as JSON, for
//! embedding in committed result files. Linux-only sources (`/proc`); any
//! field that cannot be read is `null` rather than an error.

use serde_json::{json, Value};
use std::time::{SystemTime, UNIX_EPOCH};

/// `{"cpu_model", "cores", "mem_total_bytes", "kernel", "rustc", "date"}`.
pub fn describe() -> Value {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu_model = proc_field(&cpuinfo, "model name");
    let cores = std::thread::available_parallelism().map(|n| n.get()).ok();
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    // "MemTotal:       24576000 kB"
    let mem_total_bytes = proc_field(&meminfo, "MemTotal")
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .map(|kb| kb * 1024);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .ok()
        .map(|s| s.trim().to_owned());
    let rustc = std::process::Command::new("rustc")
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    json!({
        "cpu_model": cpu_model,
        "cores": cores,
        "mem_total_bytes": mem_total_bytes,
        "kernel": kernel,
        "rustc": rustc,
        "date": utc_now(),
    })
}

/// Value of the first `key : value` line in a /proc-style text.
fn proc_field(text: &str, key: &str) -> Option<String> {
    text.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        (k.trim() == key).then(|| v.trim().to_owned())
    })
}

/// Current UTC time as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn utc_now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to (year, month, day); Howard Hinnant's algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
        assert_eq!(civil_from_days(20_454), (2026, 1, 1));
    }

    #[test]
    fn describe_has_fields() {
        let v = describe();
        for k in [
            "cpu_model",
            "cores",
            "mem_total_bytes",
            "kernel",
            "rustc",
            "date",
        ] {
            assert!(v.get(k).is_some(), "missing {k}");
        }
    }
}
