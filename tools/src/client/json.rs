//! Reading the JobManager's JSON answers field by field, so that a missing or mistyped field
//! is reported with where it is (`jobs[3].state`), not only what serde expected.

use serde_json::{Map, Value};
use strom_scheduler::view::{JobId, JobStatus};

use super::JobSummary;

/// Why an answer could not be read: the field's JSON path and what was wrong with it.
pub(super) type Wrong = String;

/// `value` as an object, or why not (`at` names it).
pub(super) fn object<'a>(value: &'a Value, at: &str) -> Result<&'a Map<String, Value>, Wrong> {
    value
        .as_object()
        .ok_or_else(|| format!("{}: expected an object, got {}", name(at), kind(value)))
}

/// The field `key` of `obj` (at `at`), which must be present.
pub(super) fn field<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
    at: &str,
) -> Result<&'a Value, Wrong> {
    obj.get(key)
        .ok_or_else(|| format!("missing field `{key}` in {}", name(at)))
}

/// A string field.
pub(super) fn str_field<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
    at: &str,
) -> Result<&'a str, Wrong> {
    let v = field(obj, key, at)?;
    v.as_str().ok_or_else(|| wrong_type(at, key, "a string", v))
}

/// An integer field (Flink writes times as epoch milliseconds and `-1` for "not yet").
pub(super) fn i64_field(obj: &Map<String, Value>, key: &str, at: &str) -> Result<i64, Wrong> {
    let v = field(obj, key, at)?;
    v.as_i64()
        .ok_or_else(|| wrong_type(at, key, "an integer", v))
}

/// A count (non-negative integer that fits 32 bits).
pub(super) fn u32_field(obj: &Map<String, Value>, key: &str, at: &str) -> Result<u32, Wrong> {
    let v = field(obj, key, at)?;
    v.as_u64()
        .and_then(|n| u32::try_from(n).ok())
        .ok_or_else(|| wrong_type(at, key, "a count", v))
}

/// A job id field (32 hex digits).
pub(super) fn job_id_field(obj: &Map<String, Value>, key: &str, at: &str) -> Result<JobId, Wrong> {
    let s = str_field(obj, key, at)?;
    s.parse()
        .map_err(|_| format!("{}: '{s}' is not a job id (32 hex digits)", join(at, key)))
}

/// A job status field (`RUNNING`, `CANCELED`, ...).
pub(super) fn status_field(
    obj: &Map<String, Value>,
    key: &str,
    at: &str,
) -> Result<JobStatus, Wrong> {
    let s = str_field(obj, key, at)?;
    parse_status(s).ok_or_else(|| {
        format!(
            "{}: '{s}' is not a job status (one of {})",
            join(at, key),
            JobStatus::ALL.map(JobStatus::name).join(", ")
        )
    })
}

/// A job status by the name Flink writes.
pub(super) fn parse_status(s: &str) -> Option<JobStatus> {
    JobStatus::ALL.into_iter().find(|st| st.name() == s)
}

/// One entry of `/jobs/overview`'s `jobs` (Flink's `JobDetails`).
pub(super) fn job_details(value: &Value, at: &str) -> Result<JobSummary, Wrong> {
    let obj = object(value, at)?;
    let tasks_at = join(at, "tasks");
    let tasks = object(field(obj, "tasks", at)?, &tasks_at)?;
    Ok(JobSummary {
        id: job_id_field(obj, "jid", at)?,
        name: str_field(obj, "name", at)?.to_string(),
        state: status_field(obj, "state", at)?,
        start_time: i64_field(obj, "start-time", at)?,
        end_time: i64_field(obj, "end-time", at)?,
        duration_ms: i64_field(obj, "duration", at)?,
        tasks_total: u32_field(tasks, "total", &tasks_at)?,
        tasks_running: u32_field(tasks, "running", &tasks_at)?,
        tasks_finished: u32_field(tasks, "finished", &tasks_at)?,
    })
}

/// `GET /jobs/:id` (Flink's `JobDetailsInfo`) as a summary: subtask counts are the sums of the
/// vertices' `tasks` (per-state subtask counts); the top-level `status-counts` counts vertices.
pub(super) fn job_detail_summary(value: &Value) -> Result<JobSummary, Wrong> {
    let obj = object(value, "")?;
    let vertices = field(obj, "vertices", "")?
        .as_array()
        .ok_or_else(|| wrong_type("", "vertices", "an array", &obj["vertices"]))?;
    let (mut total, mut running, mut finished) = (0u32, 0u32, 0u32);
    for (i, v) in vertices.iter().enumerate() {
        let at = format!("vertices[{i}]");
        let vobj = object(v, &at)?;
        let tasks_at = join(&at, "tasks");
        let tasks = object(field(vobj, "tasks", &at)?, &tasks_at)?;
        for (state, n) in tasks {
            let n = n
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| wrong_type(&tasks_at, state, "a count", n))?;
            total = total.saturating_add(n);
            match state.as_str() {
                "RUNNING" => running = running.saturating_add(n),
                "FINISHED" => finished = finished.saturating_add(n),
                _ => {}
            }
        }
    }
    Ok(JobSummary {
        id: job_id_field(obj, "jid", "")?,
        name: str_field(obj, "name", "")?.to_string(),
        state: status_field(obj, "state", "")?,
        start_time: i64_field(obj, "start-time", "")?,
        end_time: i64_field(obj, "end-time", "")?,
        duration_ms: i64_field(obj, "duration", "")?,
        tasks_total: total,
        tasks_running: running,
        tasks_finished: finished,
    })
}

/// `GET /jobs/:id/exceptions` (Flink 2's `exceptionHistory`): the stack traces, oldest first.
/// Flink lists the history newest first; the list is reversed, then ordered by `timestamp`
/// when every entry has one. Each entry's `concurrentExceptions` are not included.
pub(super) fn exception_history(value: &Value) -> Result<Vec<String>, Wrong> {
    let obj = object(value, "")?;
    let hist = object(field(obj, "exceptionHistory", "")?, "exceptionHistory")?;
    let entries = field(hist, "entries", "exceptionHistory")?;
    let entries = entries
        .as_array()
        .ok_or_else(|| wrong_type("exceptionHistory", "entries", "an array", entries))?;
    let mut out = Vec::with_capacity(entries.len());
    for (i, e) in entries.iter().enumerate().rev() {
        let at = format!("exceptionHistory.entries[{i}]");
        let eobj = object(e, &at)?;
        let trace = str_field(eobj, "stacktrace", &at)?.to_string();
        let ts = match eobj.get("timestamp") {
            None | Some(Value::Null) => None,
            Some(v) => Some(
                v.as_i64()
                    .ok_or_else(|| wrong_type(&at, "timestamp", "an integer", v))?,
            ),
        };
        out.push((ts, trace));
    }
    // Reversed, Flink's newest-first list is oldest first; where every entry has a timestamp,
    // order by it (stable, so equal times keep that order) in case a server lists otherwise.
    if out.iter().all(|(ts, _)| ts.is_some()) {
        out.sort_by_key(|(ts, _)| *ts);
    }
    Ok(out.into_iter().map(|(_, t)| t).collect())
}

/// `{"status": "RUNNING"}`.
pub(super) fn job_status(value: &Value) -> Result<JobStatus, Wrong> {
    status_field(object(value, "")?, "status", "")
}

/// `{"jobid": "<32 hex>"}`.
pub(super) fn submit_answer(value: &Value) -> Result<JobId, Wrong> {
    job_id_field(object(value, "")?, "jobid", "")
}

/// `{"errors": ["...", ...]}`, if that is what `body` is.
pub(super) fn errors(body: &str) -> Option<Vec<String>> {
    let v: Value = serde_json::from_str(body).ok()?;
    let errs = v.get("errors")?.as_array()?;
    Some(
        errs.iter()
            .map(|e| match e {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect(),
    )
}

fn wrong_type(at: &str, key: &str, expected: &str, got: &Value) -> Wrong {
    format!(
        "field `{}`: expected {expected}, got {}",
        join(at, key),
        kind(got)
    )
}

fn join(at: &str, key: &str) -> String {
    if at.is_empty() {
        key.to_string()
    } else {
        format!("{at}.{key}")
    }
}

fn name(at: &str) -> String {
    if at.is_empty() {
        "the answer".to_string()
    } else {
        format!("`{at}`")
    }
}

fn kind(v: &Value) -> String {
    match v {
        Value::Null => "null".to_string(),
        Value::Bool(b) => format!("{b}"),
        Value::Number(n) => format!("{n}"),
        Value::String(s) if s.len() <= 40 => format!("\"{s}\""),
        Value::String(_) => "a long string".to_string(),
        Value::Array(_) => "an array".to_string(),
        Value::Object(_) => "an object".to_string(),
    }
}
