//! `strom run`: a job on the embedded local cluster, with progress and a summary.

use crate::cli::{job_list, RunArgs};
use std::time::Duration;
use strom_runtime::cluster::{JobStatus, LocalCluster};
use strom_runtime::config::Configuration;
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
    let mut config = Configuration::new();
    if let Some(path) = &args.config {
        config.load_yaml(path).map_err(|e| e.to_string())?;
    }
    for d in &args.dynamic {
        config.set_dynamic(d).map_err(|e| e.to_string())?;
    }
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
    let result = handle
        .wait_with_progress(Duration::from_secs(2), |h| {
            let (src, _) = h.progress();
            let secs = start.elapsed().as_secs_f64();
            eprintln!(
                "[{secs:6.1} s] {src} records read, {:.0} records/s",
                src as f64 / secs.max(1e-9)
            );
        })
        .map_err(|e| e.to_string())?;
    let secs = result.duration.as_secs_f64();
    let rate = result.source_records as f64 / secs.max(1e-9);
    if args.json {
        let v = serde_json::json!({
            "job": name,
            "status": result.status,
            "records_in": result.source_records,
            "records_exchanged": result.exchanged_records,
            "seconds": secs,
            "records_per_second": rate,
        });
        eprintln!("{v}");
    } else {
        eprintln!(
            "job {name} {}: {} records in, {} records exchanged between tasks, {:.0} records/s, {:.3} s",
            match result.status {
                JobStatus::Finished => "finished",
                JobStatus::Canceled => "canceled",
                _ => "ended",
            },
            result.source_records,
            result.exchanged_records,
            rate,
            secs
        );
    }
    Ok(())
}
