//! The `core` comparison: each workload on strom and on the timely peer, in
//! the same process, alternately (strom, timely, strom, timely, …), with
//! medians, ratios against targets, and a JSON report of every sample.

use crate::peer_timely::{self, Outcome, Workload};
use crate::strom_jobs;
use serde_json::{json, Value};

/// One comparison: a workload at a worker count (timely workers = strom
/// parallelism = strom slots) over `records` input records.
#[derive(Clone, Debug)]
pub struct Case {
    /// The workload.
    pub workload: Workload,
    /// Timely workers and strom parallelism.
    pub workers: usize,
    /// Input records (words for `wordcount`).
    pub records: u64,
}

impl Case {
    /// `workload/W`, e.g. `keyed_count/2`.
    pub fn label(&self) -> String {
        format!("{}/{}", self.workload.name(), self.workers)
    }

    /// The minimum strom/timely throughput ratio this case should reach, if
    /// one is set: chained ≥ 1.0, keyed_count with 2 workers ≥ 0.7,
    /// wordcount ≥ 1.0.
    pub fn target(&self) -> Option<f64> {
        match (self.workload, self.workers) {
            (Workload::Chained, _) => Some(1.0),
            (Workload::KeyedCount, 2) => Some(0.7),
            (Workload::KeyedCount, _) => None,
            (Workload::WordCount, _) => Some(1.0),
        }
    }
}

/// Parses `workload:W` (e.g. `keyed_count:2`) into a workload and worker count.
pub fn parse_case(s: &str) -> Result<(Workload, usize), String> {
    let (w, n) = s
        .split_once(':')
        .ok_or_else(|| format!("bad case {s:?}: expected WORKLOAD:WORKERS, e.g. keyed_count:2"))?;
    let workload = Workload::parse(w).ok_or_else(|| {
        format!("bad case {s:?}: unknown workload {w:?} (chained, keyed_count, wordcount)")
    })?;
    let workers = n
        .parse::<usize>()
        .ok()
        .filter(|&n| n >= 1)
        .ok_or_else(|| format!("bad case {s:?}: workers must be a whole number >= 1"))?;
    Ok((workload, workers))
}

/// Every sample of one case.
#[derive(Clone, Debug)]
pub struct CaseResult {
    /// What ran.
    pub case: Case,
    /// strom runs, in order.
    pub strom: Vec<Outcome>,
    /// timely runs, in order.
    pub timely: Vec<Outcome>,
}

/// Median of `xs` (mean of the middle two for an even count); NaN if empty.
pub fn median(xs: &[f64]) -> f64 {
    let mut v: Vec<f64> = xs.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

fn rates(xs: &[Outcome]) -> Vec<f64> {
    xs.iter().map(Outcome::records_per_sec).collect()
}

impl CaseResult {
    /// Median strom records/s.
    pub fn strom_median(&self) -> f64 {
        median(&rates(&self.strom))
    }
    /// Median timely records/s.
    pub fn timely_median(&self) -> f64 {
        median(&rates(&self.timely))
    }
    /// Median strom / median timely.
    pub fn ratio(&self) -> f64 {
        self.strom_median() / self.timely_median()
    }
    /// strom / timely of each (strom, timely) pair, in run order.
    pub fn pair_ratios(&self) -> Vec<f64> {
        let (s, t) = (rates(&self.strom), rates(&self.timely));
        s.iter().zip(&t).map(|(s, t)| s / t).collect()
    }
    /// The median of [`CaseResult::pair_ratios`]: each pair ran back to back, so a slow
    /// spell of the machine shows in both of its runs; under drift this is steadier than
    /// the ratio of the medians.
    pub fn pair_ratio_median(&self) -> f64 {
        median(&self.pair_ratios())
    }

    /// Whether the ratio reaches the target (None: no target).
    pub fn met(&self) -> Option<bool> {
        self.case.target().map(|t| self.ratio() >= t)
    }

    /// One line for the terminal.
    pub fn line(&self) -> String {
        let target = match (self.case.target(), self.met()) {
            (Some(t), Some(true)) => format!("target >= {t:.2}x  met"),
            (Some(t), _) => format!("target >= {t:.2}x  MISSED"),
            (None, _) => "no target".to_string(),
        };
        let pairs = self.pair_ratios();
        let (lo, hi) = pairs
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &r| {
                (lo.min(r), hi.max(r))
            });
        format!(
            "{:<14} strom {:>8.2} M/s   timely {:>8.2} M/s   strom/timely {:>5.2}x   {target}   (pairs {lo:.2}-{hi:.2}, median pair {:.2}x)",
            self.case.label(),
            self.strom_median() / 1e6,
            self.timely_median() / 1e6,
            self.ratio(),
            self.pair_ratio_median(),
        )
    }

    /// The case as JSON: every sample, medians, ratios, target.
    pub fn to_json(&self) -> Value {
        let samples = |xs: &[Outcome]| -> Value {
            xs.iter()
                .map(|o| {
                    json!({
                        "seconds": o.seconds,
                        "records_per_sec": o.records_per_sec(),
                        "sink_records": o.sink_records,
                        "checksum": o.checksum,
                    })
                })
                .collect()
        };
        json!({
            "workload": self.case.workload.name(),
            "workers": self.case.workers,
            "records": self.strom.first().map_or(self.case.records, |o| o.records),
            "strom": {
                "median_records_per_sec": self.strom_median(),
                "samples": samples(&self.strom),
            },
            "timely": {
                "median_records_per_sec": self.timely_median(),
                "samples": samples(&self.timely),
            },
            "ratio_strom_over_timely": self.ratio(),
            "pair_ratios": self.pair_ratios(),
            "pair_ratio_median": self.pair_ratio_median(),
            "target_ratio": self.case.target(),
            "target_met": self.met(),
        })
    }
}

/// How to run the cases.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Measured (strom, timely) pairs per case.
    pub repeats: usize,
    /// Size of the untimed warm-up run of each engine per case, as a
    /// fraction of the case's records (0: no warm-up).
    pub warmup_fraction: f64,
}

/// Runs one case: a strom cluster with `workers` slots, an optional warm-up
/// of each engine, then `repeats` × (strom, timely). Fails if the engines'
/// outputs (sink records, checksum) differ.
pub fn run_case(case: &Case, plan: &Plan, log: &mut dyn FnMut(&str)) -> Result<CaseResult, String> {
    let cluster = strom_jobs::cluster(case.workers)?;
    let (w, n) = (case.workload, case.workers);
    let warmup = (case.records as f64 * plan.warmup_fraction) as u64;
    if warmup > 0 {
        strom_jobs::run(&cluster, w, warmup, n)?;
        peer_timely::run(w, warmup, n)?;
    }
    let mut result = CaseResult {
        case: case.clone(),
        strom: Vec::new(),
        timely: Vec::new(),
    };
    for i in 0..plan.repeats {
        let s = strom_jobs::run(&cluster, w, case.records, n)?;
        let t = peer_timely::run(w, case.records, n)?;
        if (s.sink_records, s.checksum) != (t.sink_records, t.checksum) {
            return Err(format!(
                "{}: outputs differ: strom {} records, checksum {:#x}; timely {} records, checksum {:#x}",
                case.label(),
                s.sink_records,
                s.checksum,
                t.sink_records,
                t.checksum
            ));
        }
        log(&format!(
            "  {} run {}/{}: strom {:.2} M/s ({:.2} s), timely {:.2} M/s ({:.2} s)",
            case.label(),
            i + 1,
            plan.repeats,
            s.records_per_sec() / 1e6,
            s.seconds,
            t.records_per_sec() / 1e6,
            t.seconds
        ));
        result.strom.push(s);
        result.timely.push(t);
    }
    Ok(result)
}

/// The git state: at build time (embedded by `build.rs`: HEAD and the
/// uncommitted changes to `net/` and `runtime/`, i.e. exactly which engine was
/// compiled in) and at run time (HEAD, and whether anything is uncommitted).
/// Fields are `null` where git is unavailable.
pub fn git_revision() -> Value {
    let dir = env!("CARGO_MANIFEST_DIR");
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    let non_empty = |s: &'static str| (!s.is_empty()).then_some(s);
    let changes: Vec<&str> = env!("STROM_BENCH_ENGINE_CHANGES")
        .split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    json!({
        "build": {
            "rev": non_empty(env!("STROM_BENCH_GIT_REV")),
            "engine_dirty": !changes.is_empty(),
            "engine_changes": changes,
        },
        "run": {
            "rev": git(&["rev-parse", "HEAD"]),
            "dirty": git(&["status", "--porcelain"]).map(|s| !s.is_empty()),
        },
    })
}

/// The 1, 5 and 15 minute load averages (`null` if unreadable): other work
/// on a shared machine shows here.
pub fn load_average() -> Value {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let v: Vec<f64> = text
        .split_whitespace()
        .take(3)
        .filter_map(|x| x.parse().ok())
        .collect();
    if v.len() == 3 {
        json!(v)
    } else {
        Value::Null
    }
}

/// The whole report: command, date, git, machine, plan and every case;
/// `load_before` is [`load_average`] from before the first case.
pub fn report(command: &str, plan: &Plan, load_before: Value, results: &[CaseResult]) -> Value {
    json!({
        "benchmark": "core",
        "command": command,
        "date": crate::machine::utc_now(),
        "load_average_before": load_before,
        "load_average_after": load_average(),
        "git": git_revision(),
        "machine": crate::machine::describe(),
        "allocator": "mimalloc (both engines, one process)",
        "repeats": plan.repeats,
        "warmup_fraction": plan.warmup_fraction,
        "order": "per case: warm-up (strom, timely), then repeats x (strom, timely)",
        "cases": results.iter().map(CaseResult::to_json).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[]).is_nan());
    }

    fn outcome(seconds: f64) -> Outcome {
        Outcome {
            workload: Workload::KeyedCount,
            workers: 2,
            records: 1000,
            sink_records: 1000,
            checksum: 7,
            seconds,
        }
    }

    #[test]
    fn ratios_and_json() {
        let r = CaseResult {
            case: Case {
                workload: Workload::KeyedCount,
                workers: 2,
                records: 1000,
            },
            strom: vec![outcome(2.0), outcome(1.0), outcome(4.0)],
            timely: vec![outcome(1.0), outcome(1.0), outcome(1.0)],
        };
        assert_eq!(r.ratio(), 0.5);
        assert_eq!(r.pair_ratios(), vec![0.5, 1.0, 0.25]);
        assert_eq!(r.pair_ratio_median(), 0.5);
        assert_eq!(r.met(), Some(false));
        let line = r.line();
        assert!(
            line.contains("pairs 0.25-1.00, median pair 0.50x"),
            "{line}"
        );
        let v = r.to_json();
        assert_eq!(v["pair_ratio_median"], 0.5);
        assert_eq!(v["strom"]["samples"].as_array().map(Vec::len), Some(3));
        assert_eq!(v["target_ratio"], 0.7);
        assert_eq!(v["target_met"], false);
    }

    #[test]
    fn cases_parse() {
        assert_eq!(parse_case("keyed_count:2"), Ok((Workload::KeyedCount, 2)));
        assert!(parse_case("keyed_count").is_err());
        assert!(parse_case("nope:1").is_err());
        assert!(parse_case("chained:0").is_err());
        assert!(parse_case("chained:x").is_err());
    }
}
