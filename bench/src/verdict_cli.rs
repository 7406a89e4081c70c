//! `strom_bench compare BASELINE.json NEW.json` and `strom_bench ab --a CMD --b CMD`: the
//! regression verdict of [`strom_verdict`] on the command line.
//!
//! * `compare` judges every figure the two results files share and prints a table (figure,
//!   baseline median, new median, change, confidence interval, verdict, confidence level);
//!   `--json` prints the comparison as JSON instead. Exit status 1 if any figure is slower,
//!   2 if a file cannot be read, 0 otherwise.
//! * `ab` runs two builds interleaved (A B, B A, A B, …), writes both sides' samples
//!   (`a.json`, `b.json`) and the verdict (`verdict.json`) to `--out`, and prints the
//!   verdict of B against A, with the same exit status.
//!
//! Besides results files (`strom-figures/1`, see [`strom_verdict::results`]), both accept
//! the reports of `strom_bench core` (each case's strom and timely records/s become figures
//! `WORKLOAD/W.strom.records_per_sec`, `WORKLOAD/W.timely.records_per_sec`), so `ab` can run
//! two builds of `strom_bench core` directly.

use clap::Args;
use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};
use std::time::Duration;
use strom_verdict::ab::{last_json_object, AbConfig, Measure};
use strom_verdict::{
    compare as judge_files, run_ab, CommandLine, Comparison, JudgeConfig, Results,
};

/// Arguments of `strom_bench compare`.
#[derive(Args)]
pub struct CompareArgs {
    /// The baseline results file (e.g. one of bench/baselines/).
    pub baseline: PathBuf,
    /// The results file to judge against it.
    pub new: PathBuf,
    #[command(flatten)]
    pub judge: JudgeArgs,
    /// Print the comparison as JSON (for scripts) instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// How figures are judged.
#[derive(Args)]
pub struct JudgeArgs {
    /// Confidence level of the intervals, in %.
    #[arg(long, default_value_t = 95.0)]
    pub confidence: f64,
    /// Smallest change that counts as faster or slower, in %.
    #[arg(long, default_value_t = 1.5)]
    pub threshold_pct: f64,
}

/// Arguments of `strom_bench ab`.
#[derive(Args)]
pub struct AbArgs {
    /// Build A, the baseline: `[NAME=VALUE ...] PROGRAM [ARG ...]` (quoted as in a shell); it
    /// prints one results file (or a `strom_bench core` report) on stdout.
    #[arg(long)]
    pub a: String,
    /// Build B, judged against A; same form.
    #[arg(long)]
    pub b: String,
    /// Measured rounds (each runs A and B once; A first in odd rounds, B first in even).
    /// At least 6 for a 95% interval; 20 or more for wall or CPU time on a busy machine.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    pub rounds: u64,
    /// Untimed rounds before (they load both builds and check their output).
    #[arg(long, default_value_t = 1)]
    pub warmup: usize,
    /// Also run each side under `valgrind --tool=callgrind` every round and judge its
    /// instruction count (`callgrind.instructions`).
    #[arg(long)]
    pub callgrind: bool,
    /// Only the callgrind instruction count (no native runs; the output is not used).
    #[arg(long, conflicts_with = "callgrind")]
    pub callgrind_only: bool,
    /// Time limit of one run in seconds, a callgrind run included (~50 times slower).
    #[arg(long, default_value_t = 600)]
    pub timeout_secs: u64,
    /// Directory for a.json, b.json and verdict.json (default: ab-DATE in the current one).
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub judge: JudgeArgs,
    /// Print the comparison as JSON (for scripts) instead of a table.
    #[arg(long)]
    pub json: bool,
}

impl JudgeArgs {
    fn config(&self) -> Result<JudgeConfig, String> {
        if !(self.confidence > 0.0 && self.confidence < 100.0) {
            return Err(format!(
                "--confidence {} must be within 0..100 (exclusive)",
                self.confidence
            ));
        }
        if !(self.threshold_pct >= 0.0 && self.threshold_pct.is_finite()) {
            return Err(format!(
                "--threshold-pct {} must be >= 0",
                self.threshold_pct
            ));
        }
        Ok(JudgeConfig {
            level: self.confidence / 100.0,
            threshold_pct: self.threshold_pct,
        })
    }
}

/// `strom_bench compare`: exits 1 if a figure is slower, 2 on an error.
pub fn compare(args: &CompareArgs) -> Result<(), String> {
    let run = || -> Result<Comparison, String> {
        let cfg = args.judge.config()?;
        let base = read(&args.baseline)?;
        let new = read(&args.new)?;
        let c = judge_files(&base, &new, &cfg);
        if c.figures.is_empty() {
            return Err(format!(
                "{} and {} have no figure in common",
                args.baseline.display(),
                args.new.display()
            ));
        }
        if args.json {
            print!("{}", c.to_json_pretty());
        } else {
            println!(
                "baseline: {}\nnew:      {}",
                describe(&args.baseline, &base),
                describe(&args.new, &new)
            );
            print!("{}", c.table());
        }
        Ok(c)
    };
    exit_with(run())
}

/// `strom_bench ab`: exits 1 if B is slower in a figure, 2 on an error.
pub fn ab(args: &AbArgs) -> Result<(), String> {
    exit_with(run_ab_cli(args))
}

fn run_ab_cli(args: &AbArgs) -> Result<Comparison, String> {
    let judge = args.judge.config()?;
    let a = CommandLine::parse(&args.a).map_err(|e| format!("--a: {e}"))?;
    let b = CommandLine::parse(&args.b).map_err(|e| format!("--b: {e}"))?;
    let measure = if args.callgrind_only {
        Measure::Callgrind
    } else if args.callgrind {
        Measure::Both
    } else {
        Measure::Native
    };
    let cfg = AbConfig {
        rounds: args.rounds as usize,
        warmup: args.warmup,
        measure,
        timeout: Duration::from_secs(args.timeout_secs),
    };
    let out = match &args.out {
        Some(p) => p.clone(),
        None => PathBuf::from(format!(
            "ab-{}",
            crate::machine::utc_now().replace([':', '-'], "")
        )),
    };
    std::fs::create_dir_all(&out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    let load_before = crate::compare::load_average();
    let parser = |stdout: &str, origin: &str| -> Result<Results, String> {
        let v = last_json_object(stdout).map_err(|e| format!("{origin}: not valid JSON: {e}"))?;
        to_results(v, origin)
    };
    eprintln!(
        "A: {}\nB: {}\n{} rounds ({}), warm-up {}",
        a.text,
        b.text,
        cfg.rounds,
        measure.name(),
        if measure == Measure::Callgrind {
            0
        } else {
            cfg.warmup
        }
    );
    let outcome =
        run_ab(&a, &b, &cfg, &parser, &mut |l| eprintln!("{l}")).map_err(|e| e.to_string())?;
    let load_after = crate::compare::load_average();
    let machine = crate::machine::describe();
    let mut files = Vec::new();
    for (mut r, name) in [(outcome.a, "a.json"), (outcome.b, "b.json")] {
        if r.machine.is_none() {
            r.machine = Some(machine.clone());
        }
        r.extra
            .insert("load_average_before".into(), load_before.clone());
        r.extra
            .insert("load_average_after".into(), load_after.clone());
        let path = out.join(name);
        r.write(&path)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        files.push((path, r));
    }
    let c = judge_files(&files[0].1, &files[1].1, &judge);
    let verdict_path = out.join("verdict.json");
    std::fs::write(&verdict_path, c.to_json_pretty())
        .map_err(|e| format!("cannot write {}: {e}", verdict_path.display()))?;
    if args.json {
        print!("{}", c.to_json_pretty());
    } else {
        println!(
            "A (baseline): {}\nB (new):      {}\nload average {} before, {} after",
            files[0].0.display(),
            files[1].0.display(),
            load_before,
            load_after
        );
        print!("{}", c.table());
    }
    Ok(c)
}

fn exit_with(r: Result<Comparison, String>) -> Result<(), String> {
    match r {
        Ok(c) if c.any_slower() => std::process::exit(1),
        Ok(_) => Ok(()),
        Err(e) => {
            eprintln!("strom_bench: {e}");
            std::process::exit(2);
        }
    }
}

/// Reads a results file or a `strom_bench core` report.
fn read(path: &Path) -> Result<Results, String> {
    let origin = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| format!("{origin}: cannot read: {e}"))?;
    let v: Value =
        serde_json::from_str(&text).map_err(|e| format!("{origin}: not valid JSON: {e}"))?;
    to_results(v, &origin)
}

/// A results value as it is, or a `strom_bench core` report turned into one.
fn to_results(v: Value, origin: &str) -> Result<Results, String> {
    let is_core =
        v.get("figures").is_none() && v.get("benchmark").and_then(Value::as_str) == Some("core");
    let v = if is_core {
        core_figures(&v, origin)?
    } else {
        v
    };
    Results::from_value(v, origin).map_err(|e| e.to_string())
}

/// `strom_bench core`'s report as figures: per case, strom's and timely's records/s.
fn core_figures(v: &Value, origin: &str) -> Result<Value, String> {
    let cases = v
        .get("cases")
        .and_then(Value::as_array)
        .ok_or_else(|| format!("{origin}: cases: missing in a `core` report"))?;
    let mut figures = Map::new();
    for (i, case) in cases.iter().enumerate() {
        let field = |k: &str| format!("{origin}: cases[{i}].{k}");
        let workload = case
            .get("workload")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("{}: missing", field("workload")))?;
        let workers = case
            .get("workers")
            .and_then(Value::as_u64)
            .ok_or_else(|| format!("{}: missing", field("workers")))?;
        for engine in ["strom", "timely"] {
            let samples: Vec<Value> = case
                .get(engine)
                .and_then(|e| e.get("samples"))
                .and_then(Value::as_array)
                .ok_or_else(|| format!("{}: missing", field(&format!("{engine}.samples"))))?
                .iter()
                .map(|s| s.get("records_per_sec").cloned().unwrap_or(Value::Null))
                .collect();
            figures.insert(
                format!("{workload}/{workers}.{engine}.records_per_sec"),
                json!({"unit": "records/s", "higher_is_better": true, "samples": samples}),
            );
        }
    }
    let mut out = json!({ "benchmark": "core", "figures": figures });
    for k in ["command", "date", "git", "machine"] {
        if let Some(x) = v.get(k) {
            out[k] = x.clone();
        }
    }
    Ok(out)
}

/// `path (benchmark, rev 1234abc, date)`.
fn describe(path: &Path, r: &Results) -> String {
    let mut parts = Vec::new();
    if !r.benchmark.is_empty() {
        parts.push(r.benchmark.clone());
    }
    if let Some(rev) = r.git_rev() {
        parts.push(format!("rev {}", &rev[..rev.len().min(10)]));
    }
    if let Some(d) = &r.date {
        parts.push(d.clone());
    }
    if parts.is_empty() {
        path.display().to_string()
    } else {
        format!("{} ({})", path.display(), parts.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_reports_become_figures() {
        let text = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("results/core-2026-11-21.json"),
        )
        .unwrap();
        let r = to_results(serde_json::from_str(&text).unwrap(), "core.json").unwrap();
        let f = &r.figures["chained/1.strom.records_per_sec"];
        assert_eq!(f.samples.len(), 5);
        assert!(f.higher_is_better);
        assert!(r.figures.contains_key("wordcount/2.timely.records_per_sec"));
        assert_eq!(r.git_rev().map(|s| &s[..7]), Some("cee084a"));
        let e = to_results(json!({"benchmark": "core"}), "x.json").unwrap_err();
        assert_eq!(e, "x.json: cases: missing in a `core` report");
    }
}
