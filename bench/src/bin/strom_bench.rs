//! `strom_bench core [--records N] [--wordcount-records M] [--repeats R] [--out FILE.json]`
//! `strom_bench net [--mib N] [--messages M] [--repeats R] [--out FILE.json]`
//! `strom_bench cluster [--strom PATH] [--runs N] [--skip-flink] [--out FILE.json]`
//! `strom_bench keyed-net [--strom PATH] [--records N] [--repeats R] [--out FILE.json]`
//! `strom_bench wake [--sleep-us D] [--threads 1,2] [--spin-us S] [--out FILE.json]`
//!
//! Runs each workload on strom and on the timely peer in this process,
//! alternately (strom, timely, strom, timely, …), prints the median
//! records/s of each, the ratio strom/timely and its target, and writes a JSON
//! report with every sample (see [`strom_bench::compare`]). Both engines run
//! under mimalloc (this binary requires the `mimalloc` feature).
//!
//! `net` measures the network stack between this process and a peer process (this binary
//! again, `net-peer`) against plain `std::net` TCP; see [`strom_bench::net`].
//!
//! `cluster` measures a session cluster of real strom processes (submission until running,
//! cancellation until the slots are free, the JobManager's memory and CPU) against Apache
//! Flink 2.3 on the same machine; see [`strom_bench::cluster`].

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use strom_bench::compare::{load_average, parse_case, report, run_case, Case, Plan};
use strom_bench::peer_timely::Workload;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "strom_bench", about = "strom vs. peer engines, same process")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// chained, keyed_count and wordcount on strom and timely, alternately.
    Core(CoreArgs),
    /// The network stack between two processes against std::net, alternately.
    Net(strom_bench::net::NetArgs),
    /// The second process of `net` (started by it).
    #[command(hide = true)]
    NetPeer(strom_bench::net::peer::PeerArgs),
    /// A session cluster of real processes: submit→running, cancel→slots free, the
    /// JobManager's RSS and CPU; strom against Apache Flink 2.3.
    Cluster(strom_bench::cluster::ClusterArgs),
    /// Judge NEW.json against BASELINE.json: faster, slower or no difference per figure
    /// (exit status 1 if any is slower).
    Compare(strom_bench::verdict_cli::CompareArgs),
    /// Run two builds interleaved (A B, B A, …) and judge B against A per figure.
    Ab(strom_bench::verdict_cli::AbArgs),
    /// The keyed count across two processes: strom (two TaskManagers) against strom in one
    /// process and timely-dataflow across two processes.
    KeyedNet(strom_bench::keyed_net::KeyedNetArgs),
    /// One process of a timely run across processes (started by `keyed-net`).
    #[command(hide = true)]
    TimelyProcess(strom_bench::keyed_net::TimelyProcessArgs),
    /// Nexmark queries on the strom binary: events/s, events/s per core, peak RSS.
    Nexmark(strom_bench::nexmark_harness::NexmarkArgs),
    /// One sleep/wake cycle of a slot against a plain thread's: CPU time and overshoot.
    Wake(strom_bench::wake::WakeArgs),
}

#[derive(clap::Args)]
struct CoreArgs {
    /// Input records of chained and keyed_count (underscores allowed).
    #[arg(long, default_value = "100_000_000", value_parser = parse_count)]
    records: u64,
    /// Input words of wordcount (default: --records / 5).
    #[arg(long, value_parser = parse_count)]
    wordcount_records: Option<u64>,
    /// Measured (strom, timely) pairs per case.
    #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u64).range(1..))]
    repeats: u64,
    /// Records of one untimed warm-up run per engine and case, as a fraction
    /// of the case's records (0 disables the warm-up).
    #[arg(long, default_value_t = 0.1)]
    warmup: f64,
    /// Comma-separated WORKLOAD:WORKERS cases.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "chained:1,keyed_count:1,keyed_count:2,wordcount:1,wordcount:2"
    )]
    cases: Vec<String>,
    /// Write the JSON report here (directories are created).
    #[arg(long)]
    out: Option<PathBuf>,
}

/// A record count: digits, optionally grouped with `_`.
fn parse_count(s: &str) -> Result<u64, String> {
    let n: u64 = s
        .replace('_', "")
        .parse()
        .map_err(|e| format!("{s:?} is not a whole number: {e}"))?;
    if n == 0 {
        return Err("must be at least 1".into());
    }
    Ok(n)
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Core(args) => core(&args),
        Command::Net(args) => strom_bench::net::run(&args),
        Command::NetPeer(args) => strom_bench::net::peer::run(&args),
        Command::Cluster(args) => strom_bench::cluster::run(&args),
        Command::Wake(args) => strom_bench::wake::run(&args),
        Command::Compare(args) => strom_bench::verdict_cli::compare(&args),
        Command::Ab(args) => strom_bench::verdict_cli::ab(&args),
        Command::KeyedNet(args) => strom_bench::keyed_net::run(&args),
        Command::TimelyProcess(args) => strom_bench::keyed_net::timely_process(&args),
        Command::Nexmark(args) => strom_bench::nexmark_harness::run(&args),
    };
    if let Err(e) = result {
        eprintln!("strom_bench: {e}");
        std::process::exit(1);
    }
}

fn core(args: &CoreArgs) -> Result<(), String> {
    if !(0.0..=1.0).contains(&args.warmup) {
        return Err(format!("--warmup {} must be within 0..=1", args.warmup));
    }
    let wordcount_records = args.wordcount_records.unwrap_or(args.records / 5).max(1);
    let cases = args
        .cases
        .iter()
        .map(|s| {
            let (workload, workers) = parse_case(s)?;
            let records = match workload {
                Workload::WordCount => wordcount_records,
                _ => args.records,
            };
            Ok(Case {
                workload,
                workers,
                records,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    strom_bench::report_file::prepare(args.out.as_deref())?;
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    let plan = Plan {
        repeats: args.repeats as usize,
        warmup_fraction: args.warmup,
    };
    let load_before = load_average();
    let mut results = Vec::new();
    for case in &cases {
        eprintln!("{} ({} records):", case.label(), case.records);
        let r = run_case(case, &plan, &mut |l| eprintln!("{l}"))?;
        eprintln!("{}", r.line());
        results.push(r);
    }
    println!(
        "\nmedians of {} runs each, records/s of input:",
        args.repeats
    );
    for r in &results {
        println!("{}", r.line());
    }
    let json = report(&command, &plan, load_before, &results);
    strom_bench::report_file::write(args.out.as_deref(), &json)?;
    Ok(())
}
