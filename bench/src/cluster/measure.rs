//! What is measured, the same way on both engines through their (Flink-compatible) REST
//! APIs: submission until every task runs, cancellation until the job is CANCELED and its
//! slots are free, and a JobManager's memory and CPU from `/proc`.
//!
//! Polling: one request at a time, the next one a poll period (5 ms, `--poll-ms`) after the
//! previous one was sent. A time is taken when the answer that first shows the condition
//! arrives, so every figure is an upper bound, late by at most one poll period plus one
//! request. Job states come from `GET /jobs/overview` (see [`overview`]), not from
//! `GET /jobs/:id`, whose answers Flink caches for 3 s.

use super::http::Rest;
use super::procs::{self, Proc};
use serde_json::{json, Value};
use std::collections::HashSet;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How a job is submitted.
pub enum Submit {
    /// A CLI command (`strom run -m … -d`, `flink run -d …`), started by [`submit`] with its
    /// output in `log`; the job is the one that appears in `GET /jobs/overview`.
    Cli {
        name: String,
        cmd: Command,
        log: PathBuf,
    },
    /// `POST path` with a JSON body whose answer carries `jobid`.
    Post { path: String, body: Value },
}

/// One submission, times in ms from the start (the CLI's spawn or the POST being sent).
#[derive(Clone, Debug)]
pub struct SubmitSample {
    pub job_id: String,
    /// Until the answer showing the job RUNNING and all its tasks RUNNING.
    pub to_running_ms: f64,
    /// Until the job's id was known (the POST's answer, or the id appearing in the overview).
    pub to_id_ms: f64,
    /// Until the CLI process exited (CLI only).
    pub cli_exit_ms: Option<f64>,
    /// The start, epoch ms.
    pub t0_epoch_ms: f64,
    /// From the JobManager's own timestamps (epoch ms): start → INITIALIZING, INITIALIZING →
    /// job RUNNING; and job RUNNING → every task seen RUNNING (poll time).
    pub to_initializing_ms: Option<f64>,
    pub initializing_to_job_running_ms: Option<f64>,
    pub job_running_to_tasks_running_ms: Option<f64>,
    /// Requests made while waiting.
    pub polls: u32,
}

impl SubmitSample {
    pub fn to_json(&self) -> Value {
        json!({
            "job_id": self.job_id,
            "to_running_ms": self.to_running_ms,
            "to_id_ms": self.to_id_ms,
            "cli_exit_ms": self.cli_exit_ms,
            "to_initializing_ms": self.to_initializing_ms,
            "initializing_to_job_running_ms": self.initializing_to_job_running_ms,
            "job_running_to_tasks_running_ms": self.job_running_to_tasks_running_ms,
            "polls": self.polls,
        })
    }
}

/// One cancellation, times in ms from sending the PATCH.
#[derive(Clone, Debug)]
pub struct CancelSample {
    pub job_id: String,
    /// Until the answer of the PATCH (202).
    pub accepted_ms: f64,
    /// Until the job was seen CANCELED.
    pub to_canceled_ms: f64,
    /// Until the job was seen CANCELED and `/overview` showed every slot available.
    pub to_slots_free_ms: f64,
    /// The JobManager's own CANCELLING → CANCELED (epoch ms timestamps).
    pub cancelling_to_canceled_ms: Option<f64>,
    pub polls: u32,
}

impl CancelSample {
    pub fn to_json(&self) -> Value {
        json!({
            "job_id": self.job_id,
            "accepted_ms": self.accepted_ms,
            "to_canceled_ms": self.to_canceled_ms,
            "to_slots_free_ms": self.to_slots_free_ms,
            "cancelling_to_canceled_ms": self.cancelling_to_canceled_ms,
            "polls": self.polls,
        })
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn epoch_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64() * 1e3)
        .unwrap_or(0.0)
}

/// Sleeps until `poll` after `last`, or until `deadline` (then an error naming `what`).
fn next_poll(
    last: Instant,
    poll: Duration,
    deadline: Instant,
    what: &dyn Fn() -> String,
) -> Result<(), String> {
    let now = Instant::now();
    if now >= deadline {
        return Err(format!("timed out waiting for {}", what()));
    }
    let next = (last + poll).min(deadline);
    if next > now {
        std::thread::sleep(next - now);
    }
    Ok(())
}

/// The jobs of `GET /jobs/overview` (Flink's `MultipleJobsDetails`): `jid`, `state` and
/// `tasks` (`total`, `running`, … counts) per job. Both engines answer it from the live job
/// state; Flink's `GET /jobs/:id` is served from a cache refreshed every `web.refresh-interval`
/// (3 s by default), so it cannot time anything shorter.
pub fn overview(rest: &Rest) -> Result<Vec<Value>, String> {
    let v = rest.get("/jobs/overview")?;
    v["jobs"]
        .as_array()
        .cloned()
        .ok_or_else(|| format!("/jobs/overview without jobs: {v}"))
}

fn row<'a>(jobs: &'a [Value], id: &str) -> Option<&'a Value> {
    jobs.iter().find(|j| j["jid"] == id)
}

/// Whether an overview row shows the job RUNNING with every one of its tasks RUNNING.
pub fn all_running(row: &Value) -> bool {
    let total = row["tasks"]["total"].as_u64().unwrap_or(0);
    row["state"] == "RUNNING" && total > 0 && row["tasks"]["running"].as_u64() == Some(total)
}

fn terminal(state: &Value) -> bool {
    matches!(state.as_str(), Some("FAILED" | "CANCELED" | "FINISHED"))
}

/// A JobManager timestamp of `details` (epoch ms), if the state was entered.
fn stamp(details: &Value, state: &str) -> Option<f64> {
    details["timestamps"][state].as_f64().filter(|&t| t > 0.0)
}

/// The state of job `id` (`GET /jobs/overview`).
pub fn state(rest: &Rest, id: &str) -> Result<String, String> {
    let jobs = overview(rest)?;
    Ok(row(&jobs, id)
        .and_then(|r| r["state"].as_str())
        .unwrap_or("UNKNOWN")
        .to_string())
}

/// Submits a job and waits until all its tasks run (within `timeout`), polling
/// `GET /jobs/overview` every `poll`.
pub fn submit(
    rest: &Rest,
    how: Submit,
    poll: Duration,
    timeout: Duration,
) -> Result<SubmitSample, String> {
    let before: HashSet<String> = overview(rest)?
        .iter()
        .filter_map(|j| j["jid"].as_str().map(str::to_string))
        .collect();
    let t0_epoch = epoch_ms();
    let t0 = Instant::now();
    let deadline = t0 + timeout;
    let mut polls = 0u32;
    let mut cli_exit_ms = None;
    let (mut job_id, mut to_id, mut cli) = match how {
        Submit::Post { path, body } => {
            let v = rest.send_json("POST", &path, &body)?;
            let id = v["jobid"]
                .as_str()
                .ok_or_else(|| format!("POST {path}: no jobid in {v}"))?
                .to_string();
            (Some(id), Some(t0.elapsed()), None)
        }
        Submit::Cli { name, cmd, log } => (None, None, Some(Proc::spawn(&name, cmd, &log)?)),
    };
    loop {
        let last = Instant::now();
        if let (Some(p), None) = (cli.as_mut(), cli_exit_ms) {
            if let Some(st) = p.try_wait() {
                cli_exit_ms = Some(ms(t0.elapsed()));
                if !st.success() {
                    return Err(format!("the CLI failed ({st}); see {}", p.log().display()));
                }
            }
        }
        polls += 1;
        let jobs = overview(rest)?;
        if job_id.is_none() {
            job_id = jobs
                .iter()
                .filter_map(|j| j["jid"].as_str())
                .find(|id| !before.contains(*id))
                .map(str::to_string);
            if job_id.is_some() {
                to_id = Some(t0.elapsed());
            }
        }
        if let Some(r) = job_id.as_deref().and_then(|id| row(&jobs, id)) {
            if all_running(r) {
                break;
            }
            if terminal(&r["state"]) {
                return Err(format!(
                    "job {} ended as {} before running",
                    r["jid"], r["state"]
                ));
            }
        }
        next_poll(last, poll, deadline, &|| match (&job_id, &cli) {
            (Some(id), _) => format!("job {id} to run"),
            (None, Some(p)) => format!("the CLI's job to appear (log {})", p.log().display()),
            (None, None) => "the job".to_string(),
        })?;
    }
    let to_running = t0.elapsed();
    if let Some(mut p) = cli.take() {
        // The CLI returns right after submitting; give it the rest of the time.
        if cli_exit_ms.is_none() {
            if p.wait_until(deadline).is_some() {
                cli_exit_ms = Some(ms(t0.elapsed()));
            } else {
                return Err(format!("the CLI did not exit; see {}", p.log().display()));
            }
        }
    }
    Ok(SubmitSample {
        job_id: job_id.expect("set when running"),
        to_running_ms: ms(to_running),
        to_id_ms: ms(to_id.expect("set with the id")),
        cli_exit_ms,
        t0_epoch_ms: t0_epoch,
        to_initializing_ms: None,
        initializing_to_job_running_ms: None,
        job_running_to_tasks_running_ms: None,
        polls,
    })
}

impl SubmitSample {
    /// Fills the breakdown from the job's details (its JobManager timestamps).
    pub fn fill(&mut self, details: &Value) {
        let init = stamp(details, "INITIALIZING");
        let running = stamp(details, "RUNNING");
        let seen = self.t0_epoch_ms + self.to_running_ms;
        self.to_initializing_ms = init.map(|i| i - self.t0_epoch_ms);
        self.initializing_to_job_running_ms = init.zip(running).map(|(i, r)| r - i);
        self.job_running_to_tasks_running_ms = running.map(|r| seen - r);
    }
}

/// `(slots-available, slots-total)` from `GET /overview`.
pub fn slots(rest: &Rest) -> Result<(u64, u64), String> {
    let o = rest.get("/overview")?;
    match (o["slots-available"].as_u64(), o["slots-total"].as_u64()) {
        (Some(a), Some(t)) => Ok((a, t)),
        _ => Err(format!("/overview without slot counts: {o}")),
    }
}

/// `GET /jobs/:id` once it shows `state` (Flink's may lag up to its cache's refresh
/// interval); untimed, for the JobManager's own timestamps.
pub fn details_when(
    rest: &Rest,
    id: &str,
    state: &str,
    timeout: Duration,
) -> Result<Value, String> {
    let deadline = Instant::now() + timeout;
    loop {
        let last = Instant::now();
        let d = rest.get(&format!("/jobs/{id}"))?;
        if d["state"] == state {
            return Ok(d);
        }
        next_poll(last, Duration::from_millis(50), deadline, &|| {
            format!("GET /jobs/{id} to show {state}")
        })?;
    }
}

/// Cancels a running job (`PATCH /jobs/:id?mode=cancel`) and waits until it is CANCELED
/// (`GET /jobs/overview`) and every slot of the cluster is available again (`GET
/// /overview`; it must be the only job), polling every `poll`. Then reads the job's details
/// (untimed) and returns them too.
pub fn cancel(
    rest: &Rest,
    job_id: &str,
    poll: Duration,
    timeout: Duration,
) -> Result<(CancelSample, Value), String> {
    let path = format!("/jobs/{job_id}");
    let t0 = Instant::now();
    let deadline = t0 + timeout;
    let r = rest.request("PATCH", &format!("{path}?mode=cancel"), None, &[])?;
    if !(200..300).contains(&r.status) {
        return Err(format!(
            "PATCH {path}?mode=cancel: HTTP {}: {}",
            r.status,
            String::from_utf8_lossy(&r.body)
        ));
    }
    let accepted = t0.elapsed();
    let mut polls = 0;
    let mut canceled: Option<Duration> = None;
    loop {
        let last = Instant::now();
        if canceled.is_none() {
            polls += 1;
            match state(rest, job_id)?.as_str() {
                "CANCELED" => canceled = Some(t0.elapsed()),
                s @ ("FAILED" | "FINISHED") => {
                    return Err(format!("job {job_id} ended as {s} when cancelled"))
                }
                _ => {}
            }
        }
        if let Some(c) = canceled {
            polls += 1;
            let (avail, total) = slots(rest)?;
            if avail == total {
                let free = t0.elapsed();
                let d = details_when(rest, job_id, "CANCELED", timeout)?;
                let sample = CancelSample {
                    job_id: job_id.to_string(),
                    accepted_ms: ms(accepted),
                    to_canceled_ms: ms(c),
                    to_slots_free_ms: ms(free),
                    cancelling_to_canceled_ms: stamp(&d, "CANCELLING")
                        .zip(stamp(&d, "CANCELED"))
                        .map(|(a, b)| b - a),
                    polls,
                };
                return Ok((sample, d));
            }
        }
        next_poll(last, poll, deadline, &|| {
            format!("job {job_id} to be cancelled and its slots freed")
        })?;
    }
}

/// The jobs of `ids` that are not running with all their tasks.
pub fn not_running(rest: &Rest, ids: &[String]) -> Result<Vec<String>, String> {
    let jobs = overview(rest)?;
    Ok(ids
        .iter()
        .filter(|id| !row(&jobs, id).is_some_and(all_running))
        .cloned()
        .collect())
}

/// Cancels every job of `ids` at once and waits until all are CANCELED and every slot is
/// free; the time that took (ms from the first PATCH).
pub fn cancel_all(
    rest: &Rest,
    ids: &[String],
    poll: Duration,
    timeout: Duration,
) -> Result<f64, String> {
    let t0 = Instant::now();
    let deadline = t0 + timeout;
    for id in ids {
        let r = rest.request("PATCH", &format!("/jobs/{id}?mode=cancel"), None, &[])?;
        if !(200..300).contains(&r.status) {
            return Err(format!("PATCH /jobs/{id}?mode=cancel: HTTP {}", r.status));
        }
    }
    loop {
        let last = Instant::now();
        let jobs = overview(rest)?;
        let done = ids
            .iter()
            .all(|id| row(&jobs, id).is_some_and(|r| r["state"] == "CANCELED"));
        if done {
            let (a, t) = slots(rest)?;
            if a == t {
                return Ok(ms(t0.elapsed()));
            }
        }
        next_poll(last, poll, deadline, &|| {
            format!("{} jobs to be cancelled and their slots freed", ids.len())
        })?;
    }
}

/// Waits until `/overview` shows `want` slots in total, all of them available.
pub fn wait_slots(rest: &Rest, want: u64, timeout: Duration) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    loop {
        let last = Instant::now();
        if let Ok((a, t)) = slots(rest) {
            if t == want && a == want {
                return Ok(());
            }
        }
        next_poll(last, Duration::from_millis(20), deadline, &|| {
            format!("{want} free slots")
        })?;
    }
}

/// A process's resources at one moment: RSS (and its anonymous, file-backed and
/// transparent-huge-page parts) and threads.
pub fn resources(pid: u32) -> Value {
    let status = |k: &str| procs::status_kib(pid, k);
    json!({
        "rss_kib": procs::rss_kib(pid),
        "rss_anon_kib": status("RssAnon"),
        "rss_file_kib": status("RssFile"),
        "anon_huge_pages_kib": procs::anon_huge_pages_kib(pid),
        "threads": procs::threads(pid),
    })
}

/// CPU time of one process over an interval.
#[derive(Clone, Copy, Debug)]
pub struct Cpu {
    /// utime + stime of `/proc/PID/stat` (clock ticks, 10 ms here), in ms.
    pub ms: f64,
    /// The same from the threads' `schedstat` (ns resolution; threads that exited in between
    /// are missing), in ms.
    pub sched_ms: f64,
}

/// CPU time `pids` use over `interval` (nothing else done meanwhile), each; scaled to
/// exactly `interval` if the sleep overshot.
pub fn cpu_over(pids: &[u32], interval: Duration) -> Result<Vec<Cpu>, String> {
    let tick_ms = 1e3 / procs::clock_ticks() as f64;
    let read = |pid: u32| {
        procs::cpu_ticks(pid)
            .zip(procs::sched_ns(pid))
            .ok_or_else(|| format!("no /proc/{pid}/stat"))
    };
    let before = pids
        .iter()
        .map(|&p| read(p))
        .collect::<Result<Vec<_>, _>>()?;
    let t0 = Instant::now();
    std::thread::sleep(interval);
    let wall = t0.elapsed();
    let after = pids
        .iter()
        .map(|&p| read(p))
        .collect::<Result<Vec<_>, _>>()?;
    let scale = interval.as_secs_f64() / wall.as_secs_f64();
    Ok(before
        .iter()
        .zip(&after)
        .map(|((bt, bn), (at, an))| Cpu {
            ms: at.saturating_sub(*bt) as f64 * tick_ms * scale,
            sched_ms: an.saturating_sub(*bn) as f64 / 1e6 * scale,
        })
        .collect())
}

/// Median and nearest-rank p90 (and min, max) of `xs`.
pub fn summary(xs: &[f64]) -> Value {
    if xs.is_empty() {
        return Value::Null;
    }
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    json!({
        "n": v.len(),
        "median": median(&v),
        "p90": quantile(&v, 0.9),
        "min": v[0],
        "max": v[v.len() - 1],
    })
}

/// Median of sorted `v` (the mean of the middle two for an even count).
pub fn median(v: &[f64]) -> f64 {
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Nearest-rank quantile of sorted `v`.
pub fn quantile(v: &[f64], q: f64) -> f64 {
    let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
    v[rank - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles() {
        let v: Vec<f64> = (1..=20).map(f64::from).collect();
        assert_eq!(median(&v), 10.5);
        assert_eq!(quantile(&v, 0.9), 18.0);
        assert_eq!(quantile(&[3.0], 0.9), 3.0);
        assert_eq!(summary(&[2.0, 1.0, 3.0])["median"], 2.0);
    }

    #[test]
    fn running_means_every_task() {
        let r = json!({"state": "RUNNING", "tasks": {"total": 4, "running": 3, "deploying": 1}});
        assert!(!all_running(&r));
        let r = json!({"state": "RUNNING", "tasks": {"total": 4, "running": 4}});
        assert!(all_running(&r));
        assert!(!all_running(
            &json!({"state": "CREATED", "tasks": {"total": 0, "running": 0}})
        ));
    }
}
