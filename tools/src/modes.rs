//! Flink's deployment modes beyond the session cluster: a job cluster (`strom run --target
//! job-cluster`: a cluster of processes for one job, torn down after it) and an application
//! cluster (`strom application`: the application runs inside its JobManager, and the
//! cluster lives as long as the application).

use crate::cli::{ConfigArgs, RunArgs};
use crate::private_cluster::PrivateCluster;
use std::path::Path;
use std::time::{Duration, Instant};
use strom_runtime::registry::JobRegistry;
use strom_scheduler::view::{ClusterApi, SubmitRequest};

/// Slots per TaskManager so that `parallelism` fits on `taskmanagers`.
fn slots_for(parallelism: u32, taskmanagers: u32) -> u32 {
    parallelism.div_ceil(taskmanagers.max(1)).max(1)
}

/// `strom run --target job-cluster <job> [args]`.
pub(crate) fn job_cluster(jobs: &JobRegistry, args: &RunArgs) -> Result<(), String> {
    let Some(name) = args.job() else {
        return Err("no job given: strom run --target job-cluster <job> [args]".into());
    };
    let job = jobs
        .get(name)
        .ok_or_else(|| format!("unknown job '{name}'\n{}", crate::cli::job_list(jobs)))?;
    (job.make)(args.job_args())?;
    if args.taskmanagers == 0 {
        return Err("--taskmanagers must be at least 1".into());
    }
    let config = args.config_args().load()?;
    let parallelism = match args.parallelism {
        Some(p) => p,
        None => config
            .default_parallelism()
            .map_err(|e| e.to_string())?
            .unwrap_or(1) as u32,
    };
    let slots = match config.task_slots().map_err(|e| e.to_string())? {
        Some(s) => s as u32,
        None => slots_for(parallelism, args.taskmanagers),
    };
    let cluster = PrivateCluster::start(&args.config_args(), args.taskmanagers, slots, &[])?;
    eprintln!(
        "job cluster up: REST http://{}, RPC {}, {} TaskManagers with {slots} slots each (logs in {})",
        cluster.rest,
        cluster.rpc,
        args.taskmanagers,
        cluster.logs.display()
    );
    let result = crate::remote::run(jobs, args, &cluster.rest);
    drop(cluster);
    eprintln!("job cluster stopped");
    result
}

/// `strom application [options] <job|binary> [args]`.
pub(crate) fn application(
    jobs: &JobRegistry,
    cfg: &ConfigArgs,
    parallelism: Option<u32>,
    taskmanagers: u32,
    slots: Option<u32>,
    application: &[String],
) -> Result<(), String> {
    let Some((first, rest)) = application.split_first() else {
        return Err("no application given: strom application <job|binary> [args]".into());
    };
    if taskmanagers == 0 {
        return Err("--taskmanagers must be at least 1".into());
    }
    if first.contains('/') {
        return delegate(first, cfg, parallelism, taskmanagers, slots, rest);
    }
    let job = jobs
        .get(first)
        .ok_or_else(|| format!("unknown job '{first}'\n{}", crate::cli::job_list(jobs)))?;
    (job.make)(rest)?;
    let mut cfg = cfg.clone();
    if let Some(p) = parallelism {
        cfg.dynamic.push(format!("parallelism.default={p}"));
    }
    let p = parallelism.unwrap_or_else(|| {
        cfg.load()
            .ok()
            .and_then(|c| c.default_parallelism().ok().flatten())
            .unwrap_or(1) as u32
    });
    let slots = slots.unwrap_or_else(|| slots_for(p, taskmanagers));
    let mut cluster = PrivateCluster::start(&cfg, taskmanagers, slots, application)?;
    eprintln!(
        "application cluster up: REST http://{}, RPC {}, {taskmanagers} TaskManagers with {slots} slots each (logs in {})",
        cluster.rest,
        cluster.rpc,
        cluster.logs.display()
    );
    let status = cluster.wait_jobmanager()?;
    let out = std::fs::read_to_string(cluster.logs.join("jobmanager.out")).unwrap_or_default();
    print!("{out}");
    let log = std::fs::read_to_string(cluster.logs.join("jobmanager.log")).unwrap_or_default();
    drop(cluster);
    if status.success() {
        return Ok(());
    }
    let cause = log
        .lines()
        .rev()
        .find(|l| l.starts_with("error: "))
        .map(|l| l.trim_start_matches("error: ").to_string())
        .unwrap_or_else(|| format!("the application's JobManager exited with {status}"));
    Err(cause)
}

/// Runs `application` with another strom binary (a user's own), which brings its own jobs.
fn delegate(
    binary: &str,
    cfg: &ConfigArgs,
    parallelism: Option<u32>,
    taskmanagers: u32,
    slots: Option<u32>,
    rest: &[String],
) -> Result<(), String> {
    if !Path::new(binary).is_file() {
        return Err(format!("{binary}: no such application binary"));
    }
    let mut cmd = std::process::Command::new(binary);
    cmd.arg("application");
    if let Some(c) = &cfg.config {
        cmd.arg("--config").arg(c);
    }
    for d in &cfg.dynamic {
        cmd.args(["-D", d]);
    }
    if let Some(p) = parallelism {
        cmd.args(["-p", &p.to_string()]);
    }
    cmd.args(["--taskmanagers", &taskmanagers.to_string()]);
    if let Some(s) = slots {
        cmd.args(["--slots", &s.to_string()]);
    }
    let status = cmd
        .args(rest)
        .status()
        .map_err(|e| format!("cannot run {binary}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{binary} application ended with {status}"))
    }
}

/// The application's main, inside the JobManager: submits its job, waits for the end, and
/// reports it (an error with the root cause if the job did not finish).
pub(crate) fn run_application(
    api: &dyn ClusterApi,
    job: &str,
    args: &[String],
) -> Result<(), String> {
    let id = api
        .submit(SubmitRequest {
            job: job.to_string(),
            args: args.to_vec(),
            ..SubmitRequest::default()
        })
        .map_err(|e| format!("application job '{job}': {e}"))?;
    let start = Instant::now();
    loop {
        let Some(view) = api.job(id) else {
            return Err(format!("application job {id} disappeared"));
        };
        if view.status.is_terminal() {
            println!(
                "application job {} ({id}) {} after {} ms",
                view.name,
                view.status.name(),
                start.elapsed().as_millis()
            );
            return match view.status {
                strom_scheduler::view::JobStatus::Finished => Ok(()),
                s => Err(format!(
                    "application job {id} {}: {}",
                    s.name(),
                    view.exceptions
                        .first()
                        .map(|e| e.stacktrace.as_str())
                        .unwrap_or("no cause recorded")
                )),
            };
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
