//! `strom run`: a job on the embedded local cluster, with progress lines (every
//! `--progress-interval`) and a summary: records in (read by the sources), records out
//! (reached the sinks), records exchanged between tasks, the input rate and the wall time.

use crate::cli::{job_list, InfoArgs, RunArgs};
use std::time::Duration;
use strom_runtime::cluster::{JobCounters, JobStatus, LocalCluster};
use strom_runtime::registry::JobRegistry;

pub(crate) fn run(jobs: &JobRegistry, args: RunArgs) -> Result<(), String> {
    let Some(name) = args.job() else {
        return Err(format!(
            "no job given: strom run <job> [args]\n{}",
            job_list(jobs)
        ));
    };
    let job = jobs
        .get(name)
        .ok_or_else(|| format!("unknown job '{name}'\n{}", job_list(jobs)))?;
    let mut config = args.config_args().load()?;
    if let Some(p) = args.parallelism {
        config
            .set("parallelism.default", &p.to_string(), "-p")
            .map_err(|e| e.to_string())?;
    }
    if args.wants_job_help() {
        // The job's argument parser renders its usage as the "error" of a help request.
        match (job.make)(args.job_args()) {
            Err(help) => print!("{help}"),
            Ok(_) => println!("{}: {}", job.name, job.about),
        }
        return Ok(());
    }
    let builder = (job.make)(args.job_args())?;
    let cluster = LocalCluster::start(config).map_err(|e| e.to_string())?;
    if args.plan {
        let graph = cluster.plan(name, &builder).map_err(|e| e.to_string())?;
        println!(
            "{}",
            serde_json::to_string_pretty(&graph).map_err(|e| e.to_string())?
        );
        return Ok(());
    }
    let handle = cluster.submit(name, builder).map_err(|e| e.to_string())?;
    let start = std::time::Instant::now();
    let result = if args.progress_interval.is_zero() {
        handle.wait()
    } else {
        handle.wait_with_progress(args.progress_interval, |h| {
            eprintln!("{}", progress_line(start.elapsed(), h.counters()));
        })
    }
    .map_err(|e| e.to_string())?;
    let secs = result.duration.as_secs_f64();
    let rate = result.source_records as f64 / secs.max(1e-9);
    if args.json {
        let v = serde_json::json!({
            "job": name,
            "status": result.status,
            "records_in": result.source_records,
            "records_out": result.sink_records,
            "records_exchanged": result.exchanged_records,
            "seconds": secs,
            "records_per_second": rate,
            "latency": result.latency,
        });
        eprintln!("{v}");
    } else {
        eprintln!(
            "job {name} {}: {} records in, {} records out, {} records exchanged between tasks, {:.0} records/s, {:.3} s",
            match result.status {
                JobStatus::Finished => "finished",
                JobStatus::Canceled => "canceled",
                _ => "ended",
            },
            result.source_records,
            result.sink_records,
            result.exchanged_records,
            rate,
            secs
        );
        if let Some(l) = result.latency {
            eprintln!(
                "latency source → sink ({} markers): p50 {} µs, p99 {} µs, p99.9 {} µs, max {} µs",
                l.count, l.p50_us, l.p99_us, l.p999_us, l.max_us
            );
        }
    }
    Ok(())
}

/// A progress line: `[  12.0 s] 1200000 records in, 1199000 records out, 100000 records/s`,
/// the counts so far (as the tasks last published them) and the input rate since the start.
fn progress_line(elapsed: Duration, c: JobCounters) -> String {
    let secs = elapsed.as_secs_f64();
    format!(
        "[{secs:6.1} s] {} records in, {} records out, {:.0} records/s",
        c.source_records,
        c.sink_records,
        c.source_records as f64 / secs.max(1e-9)
    )
}

/// `strom info <job> [args]`: the job's plan as JSON, as it would run (no cluster needed).
pub(crate) fn info(jobs: &JobRegistry, args: &InfoArgs) -> Result<(), String> {
    let Some(name) = args.job_and_args.first() else {
        return Err(format!(
            "no job given: strom info <job> [args]\n{}",
            job_list(jobs)
        ));
    };
    let job = jobs
        .get(name)
        .ok_or_else(|| format!("unknown job '{name}'\n{}", job_list(jobs)))?;
    let config = args.cfg.load()?;
    let builder = (job.make)(&args.job_and_args[1..])?;
    let parallelism = match args.parallelism {
        Some(p) => p,
        None => config
            .default_parallelism()
            .map_err(|e| e.to_string())?
            .unwrap_or(1) as u32,
    };
    let max = config.max_parallelism().map_err(|e| e.to_string())? as u32;
    let mut env = strom_runtime::api::StreamEnv::new(name, parallelism, max);
    builder(&mut env).map_err(|e| e.to_string())?;
    let graph = env.into_graph().map_err(|e| e.to_string())?;
    println!(
        "{}",
        serde_json::to_string_pretty(&graph).map_err(|e| e.to_string())?
    );
    Ok(())
}
