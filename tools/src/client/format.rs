//! Human output in the layout of Flink's `flink` CLI (`CliFrontend`): `list`, `cancel`, `run -d`.

use std::fmt::{Display, Write as _};

use chrono::{DateTime, Local, TimeZone};
use strom_scheduler::view::{JobId, JobStatus};

use super::JobSummary;

const RUNNING_HEADER: &str = "------------------ Running/Restarting Jobs -------------------";
const SCHEDULED_HEADER: &str = "----------------------- Scheduled Jobs -----------------------";
const TERMINATED_HEADER: &str = "---------------------- Terminated Jobs -----------------------";
const FOOTER: &str = "--------------------------------------------------------------";

/// `flink list` (`all == false`: running/restarting and scheduled jobs) or `flink list -a`
/// (`all`: also the terminated ones), times in the local time zone as Flink prints them:
///
/// ```text
/// ------------------ Running/Restarting Jobs -------------------
/// 21.11.2026 10:51:58 : 43ab04b4497bacfd64b455ca0d7f9d70 : rest-sample-W2-unbounded (RUNNING)
/// --------------------------------------------------------------
/// No scheduled jobs.
/// ```
///
/// As Flink: `CREATED` and `INITIALIZING` jobs are "scheduled", `FINISHED`, `CANCELED` and
/// `FAILED` "terminated", every other state "running/restarting"; an empty running or scheduled
/// block is the line `No running jobs.` / `No scheduled jobs.`, an empty terminated block is
/// left out; each block is ordered by start time (ties: by state name, then as given). Every
/// line ends with `\n`. Flink's `Waiting for response...` line, printed before the request, is
/// not part of it.
pub fn format_list(jobs: &[JobSummary], all: bool) -> String {
    format_list_in(jobs, all, &Local)
}

/// [`format_list`] with times in the zone `tz` (e.g. `&chrono::Utc`).
pub fn format_list_in<Tz: TimeZone>(jobs: &[JobSummary], all: bool, tz: &Tz) -> String
where
    Tz::Offset: Display,
{
    let mut running = Vec::new();
    let mut scheduled = Vec::new();
    let mut terminated = Vec::new();
    for job in jobs {
        match job.state {
            JobStatus::Created | JobStatus::Initializing => scheduled.push(job),
            s if s.is_terminal() => terminated.push(job),
            _ => running.push(job),
        }
    }
    let mut out = String::new();
    block(
        &mut out,
        RUNNING_HEADER,
        &mut running,
        Some("No running jobs."),
        tz,
    );
    block(
        &mut out,
        SCHEDULED_HEADER,
        &mut scheduled,
        Some("No scheduled jobs."),
        tz,
    );
    if all {
        block(&mut out, TERMINATED_HEADER, &mut terminated, None, tz);
    }
    out
}

fn block<Tz: TimeZone>(
    out: &mut String,
    header: &str,
    jobs: &mut [&JobSummary],
    if_empty: Option<&str>,
    tz: &Tz,
) where
    Tz::Offset: Display,
{
    if jobs.is_empty() {
        if let Some(line) = if_empty {
            out.push_str(line);
            out.push('\n');
        }
        return;
    }
    // Flink groups by state, sorts the groups by state name, then sorts (stably) by start time.
    jobs.sort_by(|a, b| {
        a.start_time
            .cmp(&b.start_time)
            .then_with(|| a.state.name().cmp(b.state.name()))
    });
    out.push_str(header);
    out.push('\n');
    for job in jobs.iter() {
        out.push_str(&format_job_line_in(job, tz));
        out.push('\n');
    }
    out.push_str(FOOTER);
    out.push('\n');
}

/// One line of `flink list`: `dd.MM.yyyy HH:mm:ss : <jid> : <name> (<STATE>)` (local time,
/// no newline).
pub fn format_job_line(job: &JobSummary) -> String {
    format_job_line_in(job, &Local)
}

/// [`format_job_line`] with the time in the zone `tz`.
pub fn format_job_line_in<Tz: TimeZone>(job: &JobSummary, tz: &Tz) -> String
where
    Tz::Offset: Display,
{
    let mut s = format_time_in(job.start_time, tz);
    let _ = write!(s, " : {} : {} ({})", job.id, job.name, job.state.name());
    s
}

/// Epoch milliseconds as `dd.MM.yyyy HH:mm:ss` in the local time zone (Flink's
/// `SimpleDateFormat("dd.MM.yyyy HH:mm:ss")`). Out-of-range values are written as the number.
pub fn format_time(epoch_ms: i64) -> String {
    format_time_in(epoch_ms, &Local)
}

/// [`format_time`] in the zone `tz`.
pub fn format_time_in<Tz: TimeZone>(epoch_ms: i64, tz: &Tz) -> String
where
    Tz::Offset: Display,
{
    match DateTime::from_timestamp_millis(epoch_ms) {
        Some(t) => t.with_timezone(tz).format("%d.%m.%Y %H:%M:%S").to_string(),
        None => epoch_ms.to_string(),
    }
}

/// `flink cancel` before the request: `Cancelling job <jid>.`
pub fn format_cancelling(id: JobId) -> String {
    format!("Cancelling job {id}.")
}

/// `flink cancel` once the JobManager accepted it: `Cancelled job <jid>.`
pub fn format_cancelled(id: JobId) -> String {
    format!("Cancelled job {id}.")
}

/// `flink run -d` once the JobManager accepted the job: `Job has been submitted with JobID <jid>`
pub fn format_submitted(id: JobId) -> String {
    format!("Job has been submitted with JobID {id}")
}
