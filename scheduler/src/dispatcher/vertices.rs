//! `GET /jobs/:jobid/vertices/:vertexid` (Flink's `JobVertexDetailsInfo`, with its subtasks
//! and the `aggregated` block) and `.../backpressure` (`JobVertexBackPressureInfo`).
//!
//! Invariants: a vertex id the job does not have is a 404 naming it if it looks like an id
//! (32 hex digits), a 400 otherwise; back-pressure levels follow Flink: a ratio above 0.5 is
//! `high`, above 0.1 `low`, else `ok`, the vertex's level being its worst subtask's; a busy
//! ratio that was not measured is `"NaN"`; both of Flink's spellings (`backpressureLevel` and
//! `backpressure-level`) are written.

use super::common::{blocking, duration, find_job, is_hex_id, now_ms, Float, Params};
use super::error::HttpError;
use super::metrics::{status_durations, Aggregated, IoMetrics};
use super::Ctx;
use crate::view::{ExecutionState, JobView, VertexView};
use axum::extract::State;
use axum::Json;
use serde::Serialize;
use std::collections::BTreeMap;

/// What Flink writes where a subtask has no TaskManager yet.
const UNASSIGNED: &str = "(unassigned)";

/// Flink's `JobVertexDetailsInfo`.
#[derive(Serialize)]
pub(crate) struct VertexDetails {
    id: String,
    name: String,
    parallelism: u32,
    #[serde(rename = "maxParallelism")]
    max_parallelism: u32,
    now: i64,
    subtasks: Vec<SubtaskDetails>,
    aggregated: Aggregated,
}

/// Flink's `SubtaskExecutionAttemptDetailsInfo`.
#[derive(Serialize)]
struct SubtaskDetails {
    subtask: u32,
    status: ExecutionState,
    attempt: u32,
    endpoint: String,
    #[serde(rename = "start-time")]
    start_time: i64,
    #[serde(rename = "end-time")]
    end_time: i64,
    duration: i64,
    metrics: IoMetrics,
    #[serde(rename = "taskmanager-id")]
    taskmanager_id: String,
    #[serde(rename = "status-duration")]
    status_duration: BTreeMap<&'static str, i64>,
    /// Flink writes the start time twice (`start-time` and, deprecated, `start_time`).
    #[serde(rename = "start_time")]
    start_time_deprecated: i64,
}

/// Flink's `JobVertexBackPressureInfo`.
#[derive(Serialize)]
pub(crate) struct BackPressure {
    status: &'static str,
    #[serde(rename = "backpressureLevel")]
    level: &'static str,
    #[serde(rename = "end-timestamp")]
    end_timestamp: i64,
    subtasks: Vec<SubtaskBackPressure>,
    #[serde(rename = "backpressure-level")]
    level_dashed: &'static str,
}

#[derive(Serialize)]
struct SubtaskBackPressure {
    subtask: u32,
    #[serde(rename = "backpressureLevel")]
    level: &'static str,
    ratio: Float,
    #[serde(rename = "idleRatio")]
    idle_ratio: Float,
    #[serde(rename = "busyRatio")]
    busy_ratio: Float,
    #[serde(rename = "backpressure-level")]
    level_dashed: &'static str,
}

/// `GET /jobs/:jobid/vertices/:vertexid`.
pub(crate) async fn details(
    State(ctx): State<Ctx>,
    params: Params,
) -> Result<Json<VertexDetails>, HttpError> {
    let job_id = params.get("jobid")?.to_string();
    let vertex_id = params.get("vertexid")?.to_string();
    blocking(&ctx, move |api| {
        let job = find_job(api, &job_id)?;
        Ok(vertex_details(find_vertex(&job, &vertex_id)?, now_ms()))
    })
    .await
    .map(Json)
}

/// `GET /jobs/:jobid/vertices/:vertexid/backpressure`.
pub(crate) async fn backpressure(
    State(ctx): State<Ctx>,
    params: Params,
) -> Result<Json<BackPressure>, HttpError> {
    let job_id = params.get("jobid")?.to_string();
    let vertex_id = params.get("vertexid")?.to_string();
    blocking(&ctx, move |api| {
        let job = find_job(api, &job_id)?;
        Ok(back_pressure(find_vertex(&job, &vertex_id)?))
    })
    .await
    .map(Json)
}

/// The vertex of `job` named by `raw`: 404 naming it, or 400 if it is not an id at all.
fn find_vertex<'a>(job: &'a JobView, raw: &str) -> Result<&'a VertexView, HttpError> {
    if let Some(v) = job.vertices.iter().find(|v| v.id.eq_ignore_ascii_case(raw)) {
        return Ok(v);
    }
    if is_hex_id(raw) {
        Err(HttpError::not_found(format!(
            "Vertex {raw} not found in job {}",
            job.id
        )))
    } else {
        Err(HttpError::bad_request(format!(
            "Bad request, could not parse parameters: '{raw}' is not a vertex id (32 \
             hexadecimal digits)"
        )))
    }
}

fn vertex_details(v: &VertexView, now: i64) -> VertexDetails {
    let subtasks = v
        .subtasks
        .iter()
        .map(|s| SubtaskDetails {
            subtask: s.subtask,
            status: s.status,
            attempt: s.attempt,
            endpoint: s.endpoint.clone().unwrap_or_else(|| UNASSIGNED.into()),
            start_time: s.start_time,
            end_time: s.end_time,
            duration: duration(s.start_time, s.end_time, now),
            metrics: IoMetrics::of(&s.metrics),
            taskmanager_id: s
                .task_manager_id
                .clone()
                .unwrap_or_else(|| UNASSIGNED.into()),
            status_duration: status_durations(s, now),
            start_time_deprecated: s.start_time,
        })
        .collect();
    VertexDetails {
        id: v.id.clone(),
        name: v.name.clone(),
        parallelism: v.parallelism,
        max_parallelism: v.max_parallelism,
        now,
        subtasks,
        aggregated: Aggregated::of(&v.subtasks, now),
    }
}

/// Flink's `JobVertexBackPressureInfo.VertexBackPressureLevel` of a back-pressure ratio.
pub(crate) fn level(ratio: f64) -> &'static str {
    if ratio > 0.5 {
        "high"
    } else if ratio > 0.1 {
        "low"
    } else {
        "ok"
    }
}

fn back_pressure(v: &VertexView) -> BackPressure {
    let subtasks: Vec<SubtaskBackPressure> = v
        .subtasks
        .iter()
        .map(|s| {
            let ratio = if s.backpressure_ratio.is_finite() {
                s.backpressure_ratio
            } else {
                0.0
            };
            SubtaskBackPressure {
                subtask: s.subtask,
                level: level(ratio),
                ratio: Float(ratio),
                idle_ratio: Float(s.idle_ratio),
                busy_ratio: Float::or_nan(s.busy_ratio),
                level_dashed: level(ratio),
            }
        })
        .collect();
    let worst = subtasks.iter().map(|s| s.ratio.0).fold(0.0, f64::max);
    BackPressure {
        status: "ok",
        level: level(worst),
        end_timestamp: v.subtasks.iter().map(|s| s.sampled_at).max().unwrap_or(-1),
        subtasks,
        level_dashed: level(worst),
    }
}

#[cfg(test)]
mod tests {
    use super::level;

    #[test]
    fn levels_follow_flink() {
        assert_eq!(level(0.0), "ok");
        assert_eq!(level(0.1), "ok");
        assert_eq!(level(0.11), "low");
        assert_eq!(level(0.5), "low");
        assert_eq!(level(0.51), "high");
    }
}
