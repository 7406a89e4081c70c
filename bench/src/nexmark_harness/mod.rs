//! `strom_bench nexmark`: Nexmark queries on the `strom` binary, one child process per run
//! (`strom run -p P --json nexmark-qN --events N`, the embedded cluster).
//!
//! Per run: the job's own time and input count (strom's `--json` summary), the process's
//! wall time, CPU time and peak RSS from `/proc` (see [`child`]). Throughput is events / job
//! seconds; per core it is events / CPU seconds of the whole process (the Nexmark suite's
//! "cores × time"). `--suite` runs q0–q5, q7–q9, q11 and q13–q22 in turn (not q10, which
//! writes files, nor q12, on processing time).
//!
//! With `--latency`, each query then runs again at a fraction of the rate it reached, paced,
//! with latency markers on, and the report gets its end-to-end latency (see [`latency`]);
//! `--rate R` runs only that, at R events/s. `keyed-count` (generator → key_by → count,
//! one keyed exchange, no windows) may stand beside the queries; its latency run is
//! followed by the [`floor`]s (the same shape on plain threads) at the same rate and at
//! equal load, the baselines from the same invocation that a latency figure on a shared
//! machine is read against; `--latency-repeats` repeats the whole (see [`latency_case`]).

pub mod child;
pub mod count;
pub mod floor;
pub mod hiccup;
pub mod latency;
pub mod latency_case;

/// Tests that pin busy threads to the CPUs take this, one at a time: run together on a
/// 2-core machine they would starve each other's paced threads of the CPU they measure.
#[cfg(test)]
pub(crate) static PINNED_THREADS: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Takes [`PINNED_THREADS`] (a test that panicked while holding it does not matter).
#[cfg(test)]
pub(crate) fn pinned_threads() -> std::sync::MutexGuard<'static, ()> {
    PINNED_THREADS.lock().unwrap_or_else(|e| e.into_inner())
}

use crate::compare::{git_revision, load_average};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The queries of `--suite`.
pub const SUITE: [&str; 20] = [
    "q0", "q1", "q2", "q3", "q4", "q5", "q7", "q8", "q9", "q11", "q13", "q14", "q15", "q16", "q17",
    "q18", "q19", "q20", "q21", "q22",
];

/// Flink's events/s per core, quoted from the issue (not measured here).
const FLINK_PER_CORE_QUOTED: [(&str, f64); 4] = [
    ("q0", 0.24e6),
    ("q1", 0.24e6),
    ("q2", 0.24e6),
    ("q5", 0.16e6),
];

/// How often throughput runs read the child's `/proc` (peak RSS, CPU, its end).
const THROUGHPUT_POLL: Duration = Duration::from_millis(10);
/// How often latency runs do: rarely, not to preempt the slots they measure.
pub(crate) const LATENCY_POLL: Duration = Duration::from_millis(100);

/// How latency is measured (stored in the report).
const LATENCY_METHOD: &str = "strom's latency markers (-D metrics.latency.interval): every \
interval each source subtask sends a marker stamped with the creation time of the oldest \
event of its last batch (a paced source: the event's point on the generator's timeline, \
first poll + trunc(n * delay_us), so time spent waiting to be emitted counts); markers go \
behind the records through the same buffers, channels and network, are forwarded past \
operators (and windows) at once, and the sinks record now - stamp (CLOCK_REALTIME) into an \
hdrhistogram in microseconds; the quantiles are those of all sinks merged, from strom's \
--json summary. The rate is the events/s asked of the paced source (--max-emit-speed false \
--first-event-rate R, or keyed-count --rate R). After keyed-count's run, its floors run at the same rate in this process (`floors`): the same keyed count on plain threads pinned as the slots are, 32 KiB batches over bounded flume queues, flushed every 100 us granule, markers measured the same way, threads that block between granules (a futex) and threads that spin; then the floor's maximum (300 M keys unpaced over spinning threads) and both floors again at --latency-at of that maximum (`floors_at_equal_load`): strom's run is at that fraction of strom's maximum, and the floor is faster, so at the same rate it runs at a lower load. With --latency-repeats N, N such runs; `latency` is the run of median p99, `latency_runs` every run, `latency_p99s_us` each series of p99s. Before each latency run, `hiccups_before`: a thread pinned to each slot CPU reads the monotonic clock in a loop for 5 s; steps over 20 us are time it did not run (kernel threads, interrupts, or the host not running the vCPU), and the time lost in steps of 0.5 ms or more is reported per CPU. With --latency-max-each-run, strom's maximum is measured again (one throughput run) right before each latency run and that run is paced at --latency-at of it (`max_before_run_events_per_second`), as the floors at equal load are paced at a maximum measured right before them.";

#[derive(clap::Args)]
pub struct NexmarkArgs {
    /// The strom binary (`cargo build --release -p strom-tools`).
    #[arg(long, default_value = "/work/main/target/release/strom")]
    pub strom: PathBuf,
    /// Query: q0 … q12 (as `nexmark-qN` of `strom run`), or `keyed-count`; comma-separated
    /// for several.
    #[arg(long, value_delimiter = ',', required_unless_present = "suite")]
    pub query: Vec<String>,
    /// Run the suite (q0–q5, q7–q9, q11, q13–q22) in turn.
    #[arg(long, conflicts_with = "query")]
    pub suite: bool,
    /// Events per run, all source subtasks together (100M, 10k, 1_000_000).
    #[arg(long, default_value = "100M", value_parser = count::parse_events)]
    pub events: u64,
    /// Parallelism; comma-separated for several (`1,2`).
    #[arg(short, long, value_delimiter = ',', default_value = "1")]
    pub parallelism: Vec<u32>,
    /// Measured runs per query and parallelism (the summary takes the median).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    pub repeats: u64,
    /// Passed to the job (`--first-event-rate`, events per second of event time).
    #[arg(long)]
    pub first_event_rate: Option<u64>,
    /// Passed to the job (`--max-emit-speed`; `false` paces events on the wall clock).
    #[arg(long)]
    pub max_emit_speed: Option<bool>,
    /// Seconds between progress lines during a run.
    #[arg(long, default_value_t = 5.0)]
    pub progress_secs: f64,
    /// Write the JSON report here (directories are created).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Free text stored in the report as `note`.
    #[arg(long)]
    pub note: Option<String>,
    /// After the throughput runs, run each query paced at `--latency-at` × the rate it
    /// reached, with latency markers, and report p50/p99/p99.9/max.
    #[arg(long)]
    pub latency: bool,
    /// The fraction of the measured maximum rate for `--latency`.
    #[arg(long, default_value_t = 0.5)]
    pub latency_at: f64,
    /// Only latency runs, at this many events/s (no throughput runs).
    #[arg(long, conflicts_with = "latency")]
    pub rate: Option<u64>,
    /// Seconds of each latency run (events = rate × seconds).
    #[arg(long, default_value_t = 10.0)]
    pub latency_seconds: f64,
    /// Before each latency run, measure strom's maximum again with one throughput run and
    /// pace that run at `--latency-at` of it (the floors' maximum is measured before each of
    /// their runs): this guest's capacity moves within minutes, so a maximum from the start
    /// can put a later run well above the fraction asked for.
    #[arg(long, requires = "latency")]
    pub latency_max_each_run: bool,
    /// Latency runs per query and parallelism (each followed by its floors); the report
    /// keeps every run and shows the one of median p99.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub latency_repeats: u32,
    /// `metrics.latency.interval` of latency runs.
    #[arg(long, default_value = "1 ms")]
    pub latency_interval: String,
    /// Configuration for every run, as strom's `-D KEY=VALUE` (repeatable).
    #[arg(short = 'D', value_name = "KEY=VALUE")]
    pub conf: Vec<String>,
}

/// One unpaced run of `q` at parallelism `p` over `--events` events: the rate it reached,
/// its CPU and memory (progress lines and its result on stderr, under `label`).
fn throughput_run(
    args: &NexmarkArgs,
    q: &str,
    p: u32,
    label: &str,
    every: Duration,
) -> Result<Run, String> {
    let mut cmd = strom_run(args, p, &[]);
    cmd.extend(latency::job_args(q, args.events, None));
    if let Some(rate) = args.first_event_rate {
        cmd.extend(["--first-event-rate".into(), rate.to_string()]);
    }
    if let Some(m) = args.max_emit_speed {
        cmd.extend(["--max-emit-speed".into(), m.to_string()]);
    }
    let m = child::run(
        &args.strom,
        &cmd,
        THROUGHPUT_POLL,
        every,
        &mut |t, cpu, rss| {
            eprintln!(
                "  … {label}: {t:.0} s, CPU {cpu:.1} s ({:.2} cores), peak RSS {}",
                cpu / t.max(1e-9),
                mib(rss)
            )
        },
    )?;
    let events = m.summary["records_in"].as_u64().unwrap_or(args.events);
    let job_seconds = m.summary["seconds"].as_f64().unwrap_or(m.wall_seconds);
    let run = Run {
        query: q.to_string(),
        parallelism: p,
        events,
        job_seconds,
        m,
    };
    eprintln!(
        "{label}: {:.3} M events/s, {:.3} M events/s per core ({:.2} cores, CPU {:.2} s), peak RSS {}",
        run.events_per_sec() / 1e6,
        run.events_per_cpu_sec() / 1e6,
        run.cores(),
        run.m.cpu_seconds,
        mib(run.m.peak_rss_bytes)
    );
    Ok(run)
}

/// One measured run.
struct Run {
    query: String,
    parallelism: u32,
    events: u64,
    job_seconds: f64,
    m: child::ChildRun,
}

impl Run {
    fn events_per_sec(&self) -> f64 {
        self.events as f64 / self.job_seconds
    }
    fn events_per_cpu_sec(&self) -> f64 {
        self.events as f64 / self.m.cpu_seconds
    }
    fn cores(&self) -> f64 {
        self.m.cpu_seconds / self.m.wall_seconds
    }
    fn to_json(&self) -> Value {
        json!({
            "events": self.events,
            "job_seconds": self.job_seconds,
            "wall_seconds": self.m.wall_seconds,
            "cpu_seconds": self.m.cpu_seconds,
            "cores_used": self.cores(),
            "events_per_second": self.events_per_sec(),
            "events_per_second_per_core": self.events_per_cpu_sec(),
            "peak_rss_bytes": self.m.peak_rss_bytes,
            "strom_summary": self.m.summary,
        })
    }
}

fn mib(b: Option<u64>) -> String {
    b.map_or("?".into(), |b| format!("{:.0} MiB", b as f64 / 1048576.0))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// The `q5` / `nexmark-q5` / `5` spellings as `q5`.
fn normalize(q: &str) -> String {
    if q.trim() == "keyed-count" {
        return q.trim().to_string();
    }
    let q = q.trim().trim_start_matches("nexmark-");
    format!("q{}", q.trim_start_matches(['q', 'Q']))
}

pub fn run(args: &NexmarkArgs) -> Result<(), String> {
    if !args.strom.exists() {
        return Err(format!(
            "{} not found (cargo build --release -p strom-tools)",
            args.strom.display()
        ));
    }
    let queries: Vec<String> = if args.suite {
        SUITE.iter().map(|q| q.to_string()).collect()
    } else {
        args.query.iter().map(|q| normalize(q)).collect()
    };
    crate::report_file::prepare(args.out.as_deref())?;
    let started = Instant::now();
    let date = crate::machine::utc_now();
    let load_before = load_average();
    let every = Duration::from_secs_f64(args.progress_secs.max(0.5));
    let mut cases = Vec::new();
    for &p in &args.parallelism {
        for q in &queries {
            let mut runs = Vec::new();
            let throughput_runs = if args.rate.is_some() { 0 } else { args.repeats };
            for r in 0..throughput_runs {
                let label = format!("{q} -p {p} run {}/{}", r + 1, args.repeats);
                runs.push(throughput_run(args, q, p, &label, every)?);
            }
            let max_rate =
                (!runs.is_empty()).then(|| median(runs.iter().map(Run::events_per_sec).collect()));
            let mut case = match runs.is_empty() {
                true => json!({"query": q, "parallelism": p}),
                false => case_json(&runs),
            };
            if args.latency || args.rate.is_some() {
                let rate = args
                    .rate
                    .or(max_rate.map(|m| (m * args.latency_at) as u64))
                    .filter(|r| *r > 0)
                    .ok_or("no rate for the latency run")?;
                for (k, v) in latency_case::run(args, q, p, rate, every, max_rate)? {
                    case[k] = v;
                }
            }
            cases.push(case);
        }
    }
    print_table(&cases);
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    let strom_meta = std::fs::metadata(&args.strom).ok();
    // `git` above is this harness's own build; the queries ran in the strom binary, which
    // names its revision in `--version`.
    let report = json!({
        "benchmark": "nexmark",
        "command": command,
        "note": args.note,
        "date": date,
        "seconds": started.elapsed().as_secs_f64(),
        "load_average_before": load_before,
        "load_average_after": load_average(),
        "git": git_revision(),
        "machine": crate::machine::describe(),
        "strom": {
            "path": args.strom.display().to_string(),
            "version": strom_version(&args.strom),
            "size_bytes": strom_meta.as_ref().map(|m| m.len()),
            "modified_epoch_s": strom_meta
                .and_then(|m| m.modified().ok())
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map(|d| d.as_secs()),
        },
        "method": {
            "process": "one `strom run -p P --json nexmark-qN --events N` child per run (embedded cluster), stdout discarded (no --output: rows go to a discarding sink)",
            "events_per_second": "events (records_in of strom's --json summary) / the job's seconds from the same summary",
            "events_per_second_per_core": "events / CPU seconds (utime+stime of /proc/PID/stat, read from the zombie before reaping: the whole process, start-up included)",
            "cores_used": "CPU seconds / wall seconds of the process",
            "peak_rss_bytes": "max VmHWM of /proc/PID/status, sampled every 10 ms",
            "events": args.events,
            "repeats": args.repeats,
            "first_event_rate": args.first_event_rate,
            "max_emit_speed": args.max_emit_speed,
        },
        "latency_method": LATENCY_METHOD,
        "latency_at": (args.latency && args.rate.is_none()).then_some(args.latency_at),
        "latency_seconds": args.latency_seconds,
        "latency_interval": args.latency_interval,
        "configuration": args.conf,
        "flink_per_core_quoted_from_issue": FLINK_PER_CORE_QUOTED
            .iter()
            .map(|(q, v)| (q.to_string(), json!(v)))
            .collect::<serde_json::Map<_, _>>(),
        "cases": cases,
    });
    crate::report_file::write(args.out.as_deref(), &report)?;
    Ok(())
}

/// `strom run -p P --json -D …` with `extra` settings.
pub(crate) fn strom_run(args: &NexmarkArgs, p: u32, extra: &[String]) -> Vec<String> {
    let mut cmd = vec![
        "run".to_string(),
        "-p".into(),
        p.to_string(),
        "--json".into(),
    ];
    for kv in args.conf.iter().chain(extra) {
        cmd.extend(["-D".into(), kv.clone()]);
    }
    cmd
}

/// A query at one parallelism: medians and every run.
fn case_json(runs: &[Run]) -> Value {
    let first = &runs[0];
    let per_core = median(runs.iter().map(Run::events_per_cpu_sec).collect());
    let flink = FLINK_PER_CORE_QUOTED
        .iter()
        .find(|(q, _)| *q == first.query)
        .map(|(_, v)| *v);
    json!({
        "query": first.query,
        "parallelism": first.parallelism,
        "events": first.events,
        "median": {
            "events_per_second": median(runs.iter().map(Run::events_per_sec).collect()),
            "events_per_second_per_core": per_core,
            "cores_used": median(runs.iter().map(Run::cores).collect()),
            "cpu_seconds": median(runs.iter().map(|r| r.m.cpu_seconds).collect()),
            "job_seconds": median(runs.iter().map(|r| r.job_seconds).collect()),
            "peak_rss_bytes": runs.iter().filter_map(|r| r.m.peak_rss_bytes).max(),
        },
        "per_core_vs_flink_quoted": flink.map(|f| json!({
            "flink_events_per_second_per_core_quoted_from_issue": f,
            "ratio": per_core / f,
        })),
        "runs": runs.iter().map(Run::to_json).collect::<Vec<_>>(),
    })
}

fn print_table(cases: &[Value]) {
    println!(
        "\n{:<5} {:>2} {:>9} {:>12} {:>14} {:>6} {:>9} {:>10}",
        "query", "p", "events", "M events/s", "M ev/s/core", "cores", "peak RSS", "vs Flink*"
    );
    for c in cases.iter().filter(|c| c.get("median").is_some()) {
        let m = &c["median"];
        let f = |k: &str| m[k].as_f64().unwrap_or(f64::NAN);
        let ratio = c["per_core_vs_flink_quoted"]["ratio"]
            .as_f64()
            .map_or(String::new(), |r| format!("{r:.1}×"));
        println!(
            "{:<5} {:>2} {:>9} {:>12.3} {:>14.3} {:>6.2} {:>9} {:>10}",
            c["query"].as_str().unwrap_or("?"),
            c["parallelism"].to_string(),
            count::human(c["events"].as_u64().unwrap_or(0)),
            f("events_per_second") / 1e6,
            f("events_per_second_per_core") / 1e6,
            f("cores_used"),
            mib(m["peak_rss_bytes"].as_u64()),
            ratio
        );
    }
    println!("* per-core ratio against Flink's figures quoted in the issue (q0–q2 0.24 M, q5 0.16 M events/s per core), not measured in this run");
    let latencies: Vec<&Value> = cases.iter().filter(|c| c["latency"].is_object()).collect();
    if latencies.is_empty() {
        return;
    }
    println!(
        "\n{:<12} {:>2} {:>12} {:>8} {:>9} {:>9} {:>9} {:>9} {:>14} {:>16}",
        "query",
        "p",
        "M events/s",
        "of max",
        "p50 µs",
        "p99 µs",
        "p99.9 µs",
        "max µs",
        "floor p99 µs*",
        "equal load µs**"
    );
    for c in latencies {
        let l = &c["latency"];
        println!(
            "{:<12} {:>2} {:>12.3} {:>8} {:>9} {:>9} {:>9} {:>9} {:>14} {:>16}",
            c["query"].as_str().unwrap_or("?"),
            c["parallelism"].to_string(),
            l["rate_events_per_second"].as_f64().unwrap_or(0.0) / 1e6,
            l["fraction_of_max"]
                .as_f64()
                .map_or("given".into(), |f| format!("{:.0}%", f * 100.0)),
            // As strings: a JSON value's Display ignores the column width.
            l["p50_us"].to_string(),
            l["p99_us"].to_string(),
            l["p999_us"].to_string(),
            l["max_us"].to_string(),
            floor_p99s(&l["floors"]),
            floor_p99s(&l["floors_at_equal_load"])
        );
    }
    println!("* the same keyed count on plain threads at the same rate, threads that block / spin between granules (bench/src/nexmark_harness/floor.rs)");
    println!("** the floors at the same fraction of their own maximum (measured in this run) as strom's run of its own");
    println!("with --latency-repeats, the run of median p99 (every run is in the report)");
}

/// The p99s of a latency record's `floors`, `block/spin` in µs (empty without floors).
fn floor_p99s(floors: &Value) -> String {
    let Some(floors) = floors.as_array() else {
        return String::new();
    };
    floors
        .iter()
        .map(|f| f["p99_us"].to_string())
        .collect::<Vec<_>>()
        .join("/")
}

/// `strom --version` of the binary that ran the queries (its git revision, and whether its
/// sources were modified), or `None` if it does not answer.
fn strom_version(strom: &std::path::Path) -> Option<String> {
    let out = std::process::Command::new(strom)
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    Some(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}
