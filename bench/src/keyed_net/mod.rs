//! `strom_bench keyed-net`: the keyed count of `strom_bench core` (sequence `0..N` → exchange
//! by `x % 10_000` → rolling count per key emitting `(key, count)`) across two processes,
//! against the same job in one process and against timely-dataflow across two processes, in
//! the same run.
//!
//! * strom, one process: `strom run -p 2 keyed-count --records N` on the embedded cluster
//!   (two slots; the exchange is the in-process path). Time: the run summary's `seconds`.
//! * strom, two processes: `strom run --target job-cluster --taskmanagers 2 -D
//!   taskmanager.numberOfTaskSlots=1 -p 2 keyed-count …`: a JobManager and two TaskManager
//!   processes; each TaskManager runs one source and one keyed subtask, so half of the
//!   records cross the network stack (`strom-net`) on 127.0.0.1 and half stay local. Time:
//!   the job's `duration` from the JobManager's REST API (deployment included, cluster
//!   start-up not).
//! * timely, one process: two workers (`Config::process(2)`), as in `strom_bench core`.
//! * timely, two processes: this binary again (`timely-process`, hidden), one worker each
//!   over timely's TCP transport (`Config::Cluster`); half of the records cross it. Time:
//!   from the earliest worker start (processes connected) to the latest worker end.
//!
//! strom's keyed-count job ends in a discarding sink, timely's in a counting sink that folds
//! a checksum (slightly more work for timely). Every run checks that all records arrived.
//! The four runs of a repeat are interleaved, so load from elsewhere hits them alike;
//! figures are medians, ratios are of medians, with the per-repeat ratios beside them.

mod engines;

use crate::compare::median;
use engines::{Layout, Runner, Sample};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::Duration;

/// Arguments of `strom_bench keyed-net`.
#[derive(clap::Args, Clone, Debug)]
pub struct KeyedNetArgs {
    /// The strom binary (`cargo build --release --bin strom`).
    #[arg(long, default_value = "/work/main/target/release/strom")]
    pub strom: PathBuf,
    /// Input records per run (underscores allowed).
    #[arg(long, default_value = "100_000_000", value_parser = parse_records)]
    pub records: u64,
    /// Measured repeats (each runs all four layouts).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..))]
    pub repeats: u64,
    /// Time limit of one run, seconds.
    #[arg(long, default_value_t = 120, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout_secs: u64,
    /// Write the JSON report here (directories are created).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Free text stored in the report as `note`.
    #[arg(long)]
    pub note: Option<String>,
}

/// Arguments of the hidden `timely-process` subcommand (one process of a timely run).
#[derive(clap::Args, Clone, Debug)]
pub struct TimelyProcessArgs {
    /// This process's index into `--addresses`.
    #[arg(long)]
    pub process: usize,
    /// Every process's `HOST:PORT`, comma-separated.
    #[arg(long, value_delimiter = ',', required = true)]
    pub addresses: Vec<String>,
    /// Input records of the whole run.
    #[arg(long, value_parser = parse_records)]
    pub records: u64,
}

fn parse_records(s: &str) -> Result<u64, String> {
    let n: u64 = s
        .replace('_', "")
        .parse()
        .map_err(|e| format!("{s:?} is not a whole number: {e}"))?;
    if n < 1000 {
        return Err("must be at least 1000".into());
    }
    Ok(n)
}

/// Runs one process of a timely run across processes and prints its `PART` line.
pub fn timely_process(args: &TimelyProcessArgs) -> Result<(), String> {
    if args.process >= args.addresses.len() {
        return Err(format!(
            "--process {} is not an index into {} addresses",
            args.process,
            args.addresses.len()
        ));
    }
    let part = crate::peer_timely::run_process(
        crate::peer_timely::Workload::KeyedCount,
        args.records,
        args.process,
        args.addresses.clone(),
    )?;
    println!("{}", engines::format_part(&part));
    Ok(())
}

/// Runs `strom_bench keyed-net`: prints the table and writes (or prints) the JSON report.
pub fn run(args: &KeyedNetArgs) -> Result<(), String> {
    if !args.strom.is_file() {
        return Err(format!(
            "no strom binary at {} (cargo build --release --bin strom, or --strom PATH)",
            args.strom.display()
        ));
    }
    crate::report_file::prepare(args.out.as_deref())?;
    let this_exe = std::env::current_exe().map_err(|e| format!("cannot find this binary: {e}"))?;
    let logs = std::env::temp_dir().join(format!("strom-bench-keyed-net-{}", std::process::id()));
    std::fs::create_dir_all(&logs).map_err(|e| format!("cannot create {}: {e}", logs.display()))?;
    let run = crate::report_file::RunInfo::start();
    let mut runner = Runner {
        strom: &args.strom,
        this_exe: &this_exe,
        logs: &logs,
        records: args.records,
        timeout: Duration::from_secs(args.timeout_secs),
        timely_checksum: None,
    };
    let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); Layout::ALL.len()];
    for repeat in 1..=args.repeats {
        for (i, layout) in Layout::ALL.into_iter().enumerate() {
            let s = runner.run(layout)?;
            eprintln!(
                "repeat {repeat}/{}: {:<20} {:>8.2} M records/s ({:.3} s)",
                args.repeats,
                layout.name(),
                s.rate / 1e6,
                s.seconds
            );
            samples[i].push(s);
        }
    }
    let report = Report { samples };
    println!("\n{}", report.table());
    let json = run.report(
        "keyed-net",
        args.note.as_deref(),
        json!({
        "allocator": "mimalloc (strom binary and this one)",
            "records": args.records,
            "keys": crate::peer_timely::KEYS,
            "repeats": args.repeats,
            "strom_binary": args.strom.display().to_string(),
            "results": report.to_json(),
        }),
    );
    crate::report_file::write(args.out.as_deref(), &json)?;
    let _ = std::fs::remove_dir_all(&logs);
    Ok(())
}

/// Every sample, by layout in [`Layout::ALL`] order.
struct Report {
    samples: Vec<Vec<Sample>>,
}

impl Report {
    fn rates(&self, l: Layout) -> Vec<f64> {
        let i = Layout::ALL.iter().position(|x| *x == l).unwrap_or(0);
        self.samples[i].iter().map(|s| s.rate).collect()
    }

    fn median(&self, l: Layout) -> f64 {
        median(&self.rates(l))
    }

    /// `(median ratio, per-repeat ratios)` of `a` against `b`.
    fn ratio(&self, a: Layout, b: Layout) -> (f64, Vec<f64>) {
        let pairs = self
            .rates(a)
            .iter()
            .zip(self.rates(b))
            .map(|(x, y)| x / y)
            .collect();
        (self.median(a) / self.median(b), pairs)
    }

    const RATIOS: [(&'static str, Layout, Layout); 3] = [
        (
            "strom 2 processes / strom 1 process",
            Layout::StromTwoProcesses,
            Layout::StromOneProcess,
        ),
        (
            "strom 2 processes / timely 2 processes",
            Layout::StromTwoProcesses,
            Layout::TimelyTwoProcesses,
        ),
        (
            "timely 2 processes / timely 1 process",
            Layout::TimelyTwoProcesses,
            Layout::TimelyOneProcess,
        ),
    ];

    fn table(&self) -> String {
        let mut t = String::from("| layout | M records/s (median) |\n| --- | --- |\n");
        for l in Layout::ALL {
            t += &format!("| {} | {:.2} |\n", l.name(), self.median(l) / 1e6);
        }
        t += "\n| ratio | of medians | per repeat |\n| --- | --- | --- |\n";
        for (name, a, b) in Self::RATIOS {
            let (r, pairs) = self.ratio(a, b);
            let (lo, hi) = pairs
                .iter()
                .fold((f64::MAX, f64::MIN), |(lo, hi), &x| (lo.min(x), hi.max(x)));
            t += &format!("| {name} | {r:.2}× | {lo:.2}–{hi:.2} |\n");
        }
        t
    }

    fn to_json(&self) -> Value {
        let layouts: Value = Layout::ALL
            .iter()
            .zip(&self.samples)
            .map(|(l, ss)| {
                let samples: Vec<Value> = ss
                    .iter()
                    .map(|s| json!({"seconds": s.seconds, "records_per_second": s.rate}))
                    .collect();
                (
                    l.name().to_string(),
                    json!({"median_records_per_second": self.median(*l), "samples": samples}),
                )
            })
            .collect::<serde_json::Map<_, _>>()
            .into();
        let ratios: Vec<Value> = Self::RATIOS
            .iter()
            .map(|(name, a, b)| {
                let (r, pairs) = self.ratio(*a, *b);
                json!({"ratio": name, "of_medians": r, "per_repeat": pairs})
            })
            .collect();
        json!({"layouts": layouts, "ratios": ratios})
    }
}
