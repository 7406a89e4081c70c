//! The job endpoints other than the details: `GET /jobs`, `GET /jobs/overview`,
//! `GET /jobs/:jobid/status`, `GET /jobs/:jobid/exceptions`, cancel by `PATCH /jobs/:jobid`
//! and submission by `POST /jobs`.
//!
//! Invariants: jobs are listed as the JobManager orders them (newest first); exceptions newest
//! first, at most `maxExceptions` (default 20) with `truncated` telling whether some were left
//! out; cancel and submit answer 202 at once (the JobManager works in the background); a
//! submit body is exactly a [`SubmitRequest`] (unknown fields are refused).

use super::common::{blocking, duration, find_job, now_ms, parse_job_id, Params, QueryMap};
use super::error::HttpError;
use super::job_details::named_counts;
use super::Ctx;
use crate::view::{JobId, JobStatus, JobView, SubmitRequest};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Serialize;
use std::collections::BTreeMap;

/// Flink's default of `maxExceptions` (`web.exception-history-size`).
const DEFAULT_MAX_EXCEPTIONS: usize = 20;

/// `GET /jobs`: Flink's `JobIdsWithStatusOverview`.
#[derive(Serialize)]
pub(crate) struct JobIds {
    jobs: Vec<JobIdWithStatus>,
}

#[derive(Serialize)]
struct JobIdWithStatus {
    id: JobId,
    status: JobStatus,
}

/// `GET /jobs/overview`: Flink's `MultipleJobsDetails`.
#[derive(Serialize)]
pub(crate) struct JobsOverview {
    jobs: Vec<JobOverview>,
}

/// Flink's `JobDetails` (one line of the overview).
#[derive(Serialize)]
struct JobOverview {
    jid: JobId,
    name: String,
    #[serde(rename = "jobType")]
    job_type: &'static str,
    #[serde(rename = "schedulerType")]
    scheduler_type: &'static str,
    #[serde(rename = "start-time")]
    start_time: i64,
    #[serde(rename = "end-time")]
    end_time: i64,
    duration: i64,
    state: JobStatus,
    #[serde(rename = "last-modification")]
    last_modification: i64,
    tasks: BTreeMap<String, u32>,
    #[serde(rename = "pending-operators")]
    pending_operators: u32,
}

/// `GET /jobs/:jobid/status`: Flink's `JobStatusInfo`.
#[derive(Serialize)]
pub(crate) struct StatusInfo {
    status: JobStatus,
}

/// `GET /jobs/:jobid/exceptions`: Flink's `JobExceptionsInfoWithHistory`.
#[derive(Serialize)]
pub(crate) struct ExceptionsInfo {
    #[serde(rename = "exceptionHistory")]
    exception_history: ExceptionHistory,
}

#[derive(Serialize)]
struct ExceptionHistory {
    entries: Vec<RootException>,
    truncated: bool,
}

/// Flink's `RootExceptionInfo` (task name, endpoint and TaskManager are left out when
/// unknown, as Flink does for global failures).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RootException {
    exception_name: String,
    stacktrace: String,
    timestamp: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    task_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    endpoint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    task_manager_id: Option<String>,
    failure_labels: BTreeMap<String, String>,
    concurrent_exceptions: Vec<RootException>,
}

/// `POST /jobs`: the new job's id (as Flink's jar run) and its URL (as Flink's job submit).
#[derive(Serialize)]
pub(crate) struct Submitted {
    jobid: JobId,
    #[serde(rename = "jobUrl")]
    job_url: String,
}

/// An empty JSON object, Flink's `EmptyResponseBody`.
#[derive(Serialize)]
pub(crate) struct Empty {}

/// `GET /jobs`.
pub(crate) async fn list(State(ctx): State<Ctx>) -> Result<Json<JobIds>, HttpError> {
    blocking(&ctx, |api| {
        let jobs = api
            .jobs()
            .iter()
            .map(|j| JobIdWithStatus {
                id: j.id,
                status: j.status,
            })
            .collect();
        Ok(JobIds { jobs })
    })
    .await
    .map(Json)
}

/// `GET /jobs/overview`.
pub(crate) async fn overview(State(ctx): State<Ctx>) -> Result<Json<JobsOverview>, HttpError> {
    blocking(&ctx, |api| {
        let now = now_ms();
        let jobs = api.jobs().iter().map(|j| job_overview(j, now)).collect();
        Ok(JobsOverview { jobs })
    })
    .await
    .map(Json)
}

fn job_overview(job: &JobView, now: i64) -> JobOverview {
    let counts = named_counts(&job.task_counts());
    let total = counts.values().sum();
    let mut tasks: BTreeMap<String, u32> = counts
        .into_iter()
        .map(|(name, n)| (name.to_ascii_lowercase(), n))
        .collect();
    tasks.insert("total".to_string(), total);
    JobOverview {
        jid: job.id,
        name: job.name.clone(),
        job_type: "STREAMING",
        scheduler_type: "Default",
        start_time: job.start_time,
        end_time: job.end_time,
        duration: duration(job.start_time, job.end_time, now),
        state: job.status,
        last_modification: job.last_modification,
        tasks,
        pending_operators: 0,
    }
}

/// `GET /jobs/:jobid/status`.
pub(crate) async fn status(
    State(ctx): State<Ctx>,
    params: Params,
) -> Result<Json<StatusInfo>, HttpError> {
    let raw = params.get("jobid")?.to_string();
    blocking(&ctx, move |api| {
        Ok(StatusInfo {
            status: find_job(api, &raw)?.status,
        })
    })
    .await
    .map(Json)
}

/// `GET /jobs/:jobid/exceptions[?maxExceptions=n]`.
pub(crate) async fn exceptions(
    State(ctx): State<Ctx>,
    params: Params,
    QueryMap(query): QueryMap,
) -> Result<Json<ExceptionsInfo>, HttpError> {
    let raw = params.get("jobid")?.to_string();
    let max = match query.get("maxExceptions") {
        None => DEFAULT_MAX_EXCEPTIONS,
        Some(v) => v.parse::<usize>().map_err(|_| {
            HttpError::bad_request(format!(
                "Bad request, could not parse query parameter maxExceptions: '{v}' is not a \
                 non-negative integer"
            ))
        })?,
    };
    blocking(&ctx, move |api| {
        let job = find_job(api, &raw)?;
        let entries: Vec<RootException> = job
            .exceptions
            .iter()
            .rev()
            .take(max)
            .map(|e| RootException {
                exception_name: e.exception_name.clone(),
                stacktrace: e.stacktrace.clone(),
                timestamp: e.timestamp,
                task_name: e.task_name.clone(),
                endpoint: e.endpoint.clone(),
                task_manager_id: e.task_manager_id.clone(),
                failure_labels: BTreeMap::new(),
                concurrent_exceptions: Vec::new(),
            })
            .collect();
        Ok(ExceptionsInfo {
            exception_history: ExceptionHistory {
                truncated: entries.len() < job.exceptions.len(),
                entries,
            },
        })
    })
    .await
    .map(Json)
}

/// `PATCH /jobs/:jobid[?mode=cancel]`: 202 `{}`; `mode=stop` is refused as Flink 2 does.
pub(crate) async fn cancel(
    State(ctx): State<Ctx>,
    params: Params,
    QueryMap(query): QueryMap,
) -> Result<(StatusCode, Json<Empty>), HttpError> {
    let id = parse_job_id(params.get("jobid")?)?;
    match query.get("mode").map(|m| m.to_ascii_lowercase()).as_deref() {
        None | Some("cancel") => {}
        Some("stop") => {
            return Err(HttpError::bad_request(
                "The termination mode \"stop\" is not supported; use mode=cancel \
                 (or no mode) to cancel the job",
            ))
        }
        Some(_) => {
            return Err(HttpError::bad_request(format!(
                "Bad request, could not parse query parameter mode: '{}' is not a termination \
                 mode (cancel)",
                query["mode"]
            )))
        }
    }
    blocking(&ctx, move |api| Ok(api.cancel(id)?)).await?;
    Ok((StatusCode::ACCEPTED, Json(Empty {})))
}

/// `POST /jobs` with a JSON [`SubmitRequest`]: 202 `{"jobid": ...}`.
pub(crate) async fn submit(
    State(ctx): State<Ctx>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Submitted>), HttpError> {
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            HttpError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "Request body is larger than the limit of {} bytes",
                    ctx.limits.max_body_bytes
                ),
            )
        } else {
            HttpError::new(
                e.status(),
                format!("Could not read the request body: {}", e.body_text()),
            )
        }
    })?;
    let request: SubmitRequest = serde_json::from_slice(&body).map_err(|e| {
        HttpError::bad_request(format!(
            "Request did not match expected format SubmitRequest: {e}"
        ))
    })?;
    let id = blocking(&ctx, move |api| Ok(api.submit(request)?)).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(Submitted {
            jobid: id,
            job_url: format!("/jobs/{id}"),
        }),
    ))
}
