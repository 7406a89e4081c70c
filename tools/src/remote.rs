//! The verbs that talk to a running JobManager (`-m HOST:PORT`): `run`, `list`, `cancel`;
//! and `info`, which shows a job's plan without running it.

use crate::cli::{job_list, RunArgs};
use crate::client::{
    format_cancelled, format_cancelling, format_list, format_submitted, RestClient,
};
use std::time::Duration;
use strom_runtime::registry::JobRegistry;
use strom_scheduler::view::{JobId, JobStatus, SubmitRequest};

/// `strom run -m HOST:PORT <job> [args]`: submits, then (unless detached) follows the job to
/// its end. A failed job is an error carrying its root cause.
pub(crate) fn run(jobs: &JobRegistry, args: &RunArgs, address: &str) -> Result<(), String> {
    let Some(name) = args.job() else {
        return Err(format!(
            "no job given: strom run -m {address} <job> [args]\n{}",
            job_list(jobs)
        ));
    };
    // Check what we can here, for a clear error before anything is sent.
    let job = jobs
        .get(name)
        .ok_or_else(|| format!("unknown job '{name}'\n{}", job_list(jobs)))?;
    (job.make)(args.job_args())?;
    let config = args.config_args().load()?;
    let request = SubmitRequest {
        job: name.to_string(),
        args: args.job_args().to_vec(),
        name: None,
        parallelism: args.parallelism,
        config: config
            .entries()
            .map(|(k, v)| (k.into(), v.into()))
            .collect(),
    };
    let client = RestClient::new(address).map_err(|e| e.to_string())?;
    let id = client.submit(&request).map_err(|e| e.to_string())?;
    if args.json && args.detached {
        println!("{}", serde_json::json!({ "jobid": id.to_string() }));
        return Ok(());
    }
    eprintln!("{}", format_submitted(id));
    if args.detached {
        println!("{id}");
        return Ok(());
    }
    let mut last = None;
    let status = client
        .wait(id, Duration::from_millis(200), None, |s| {
            if last != Some(s.state) {
                eprintln!("job {} ({id}) is {}", s.name, s.state.name());
                last = Some(s.state);
            }
        })
        .map_err(|e| e.to_string())?;
    finish(&client, id, status, args.json)
}

fn finish(client: &RestClient, id: JobId, status: JobStatus, json: bool) -> Result<(), String> {
    let details = client.job(id).map_err(|e| e.to_string())?;
    if json {
        println!("{details}");
    } else {
        println!(
            "job {} ({id}) {} after {} ms",
            details["name"].as_str().unwrap_or("?"),
            status.name(),
            details["duration"].as_i64().unwrap_or(0)
        );
    }
    match status {
        JobStatus::Finished | JobStatus::Canceled => Ok(()),
        _ => {
            let causes = client.exceptions(id).unwrap_or_default();
            Err(format!(
                "job {id} {}: {}",
                status.name(),
                causes
                    .first()
                    .map(String::as_str)
                    .unwrap_or("no cause recorded")
            ))
        }
    }
}

/// `strom list -m HOST:PORT [-a] [--json]`.
pub(crate) fn list(address: &str, all: bool, json: bool) -> Result<(), String> {
    let client = RestClient::new(address).map_err(|e| e.to_string())?;
    let jobs = client.jobs_overview().map_err(|e| e.to_string())?;
    if json {
        let shown: Vec<_> = jobs
            .iter()
            .filter(|j| all || !j.state.is_terminal())
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&shown).map_err(|e| e.to_string())?
        );
    } else {
        print!("{}", format_list(&jobs, all));
    }
    Ok(())
}

/// `strom cancel -m HOST:PORT JOBID`: asks for the cancellation and waits until it is done.
pub(crate) fn cancel(address: &str, job: &str, json: bool) -> Result<(), String> {
    let id: JobId = job.parse().map_err(|e| format!("{e}"))?;
    let client = RestClient::new(address).map_err(|e| e.to_string())?;
    if !json {
        println!("{}", format_cancelling(id));
    }
    client.cancel(id).map_err(|e| e.to_string())?;
    let status = client
        .wait(
            id,
            Duration::from_millis(100),
            Some(Duration::from_secs(60)),
            |_| {},
        )
        .map_err(|e| e.to_string())?;
    if json {
        println!(
            "{}",
            serde_json::json!({ "jobid": id.to_string(), "state": status.name() })
        );
    } else if status == JobStatus::Canceled {
        println!("{}", format_cancelled(id));
    } else {
        println!(
            "Job {id} ended as {} before it was cancelled.",
            status.name()
        );
    }
    Ok(())
}
