//! `GET /jobs/:jobid` (Flink's `JobDetailsInfo`) and `GET /jobs/:jobid/plan` (`JobPlanInfo`).
//!
//! Invariants: `timestamps` has every [`JobStatus`] (0 for states never entered), `tasks` and
//! `status-counts` every [`ExecutionState`]; a vertex's state is Flink's aggregate of its
//! subtasks' states; vertices are listed sources first, plan nodes sinks first (both as
//! Flink does); a plan node lists `inputs` only when it has some.

use super::common::{blocking, duration, find_job, now_ms, Params};
use super::error::HttpError;
use super::metrics::IoMetrics;
use super::Ctx;
use crate::view::{ExecutionState, JobStatus, JobView, SubtaskView, VertexView};
use axum::extract::State;
use axum::Json;
use serde::Serialize;
use std::collections::BTreeMap;

/// Flink's `JobDetailsInfo`.
#[derive(Serialize)]
pub(crate) struct JobDetails {
    jid: String,
    #[serde(rename = "application-id")]
    application_id: String,
    name: String,
    #[serde(rename = "isStoppable")]
    is_stoppable: bool,
    state: JobStatus,
    #[serde(rename = "job-type")]
    job_type: &'static str,
    #[serde(rename = "schedulerType")]
    scheduler_type: &'static str,
    #[serde(rename = "start-time")]
    start_time: i64,
    #[serde(rename = "end-time")]
    end_time: i64,
    duration: i64,
    #[serde(rename = "maxParallelism")]
    max_parallelism: i64,
    now: i64,
    timestamps: BTreeMap<&'static str, i64>,
    vertices: Vec<VertexSummary>,
    #[serde(rename = "status-counts")]
    status_counts: BTreeMap<&'static str, u32>,
    plan: Plan,
    #[serde(rename = "pending-operators")]
    pending_operators: u32,
    /// strom's addition: while the job waits for slots, what it waits for.
    #[serde(rename = "pending-reason", skip_serializing_if = "Option::is_none")]
    pending_reason: Option<String>,
}

/// One vertex in the job details (`JobVertexDetailsInfo`).
#[derive(Serialize)]
struct VertexSummary {
    id: String,
    #[serde(rename = "slotSharingGroupId")]
    slot_sharing_group_id: String,
    name: String,
    #[serde(rename = "maxParallelism")]
    max_parallelism: u32,
    parallelism: u32,
    status: ExecutionState,
    #[serde(rename = "start-time")]
    start_time: i64,
    #[serde(rename = "end-time")]
    end_time: i64,
    duration: i64,
    tasks: BTreeMap<&'static str, u32>,
    metrics: IoMetrics,
}

/// Flink's `JobPlanInfo` wrapper (`{"plan": {...}}`).
#[derive(Serialize)]
pub(crate) struct PlanInfo {
    plan: Plan,
}

/// The plan: the job graph as Flink's `JsonPlanGenerator` writes it.
#[derive(Serialize)]
struct Plan {
    jid: String,
    name: String,
    #[serde(rename = "type")]
    job_type: &'static str,
    nodes: Vec<PlanNode>,
}

#[derive(Serialize)]
struct PlanNode {
    id: String,
    operator: &'static str,
    parallelism: u32,
    operator_strategy: &'static str,
    description: String,
    optimizer_properties: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    inputs: Vec<PlanInput>,
}

#[derive(Serialize)]
struct PlanInput {
    id: String,
    num: usize,
    exchange: &'static str,
    ship_strategy: String,
}

/// `GET /jobs/:jobid`.
pub(crate) async fn details(
    State(ctx): State<Ctx>,
    params: Params,
) -> Result<Json<JobDetails>, HttpError> {
    let raw = params.get("jobid")?.to_string();
    blocking(&ctx, move |api| {
        Ok(job_details(&find_job(api, &raw)?, now_ms()))
    })
    .await
    .map(Json)
}

/// `GET /jobs/:jobid/plan`.
pub(crate) async fn plan(
    State(ctx): State<Ctx>,
    params: Params,
) -> Result<Json<PlanInfo>, HttpError> {
    let raw = params.get("jobid")?.to_string();
    blocking(&ctx, move |api| {
        Ok(PlanInfo {
            plan: plan_of(&find_job(api, &raw)?),
        })
    })
    .await
    .map(Json)
}

/// The details of `job` at time `now`.
pub(crate) fn job_details(job: &JobView, now: i64) -> JobDetails {
    let id = job.id.to_string();
    let slot_sharing_group_id = format!(
        "{:032x}",
        xxhash_rust::xxh3::xxh3_128(format!("slot-sharing-group default {id}").as_bytes())
    );
    let vertices = job
        .vertices
        .iter()
        .map(|v| vertex_summary(v, &slot_sharing_group_id, now))
        .collect();
    JobDetails {
        jid: id.clone(),
        application_id: id,
        name: job.name.clone(),
        is_stoppable: false,
        state: job.status,
        job_type: "STREAMING",
        scheduler_type: "Default",
        start_time: job.start_time,
        end_time: job.end_time,
        duration: duration(job.start_time, job.end_time, now),
        max_parallelism: i64::from(job.max_parallelism),
        now,
        timestamps: JobStatus::ALL
            .iter()
            .map(|s| (s.name(), job.timestamps.get(s).copied().unwrap_or(0)))
            .collect(),
        vertices,
        status_counts: named_counts(&job.task_counts()),
        plan: plan_of(job),
        pending_operators: 0,
        pending_reason: job.pending_reason.clone(),
    }
}

/// Counts by [`ExecutionState`] name, every state present.
pub(crate) fn named_counts(counts: &BTreeMap<ExecutionState, u32>) -> BTreeMap<&'static str, u32> {
    ExecutionState::ALL
        .iter()
        .map(|s| (s.name(), counts.get(s).copied().unwrap_or(0)))
        .collect()
}

/// Subtasks per state of one vertex, every state present.
fn vertex_counts(subtasks: &[SubtaskView]) -> BTreeMap<ExecutionState, u32> {
    let mut counts: BTreeMap<ExecutionState, u32> =
        ExecutionState::ALL.iter().map(|s| (*s, 0)).collect();
    for s in subtasks {
        *counts.entry(s.status).or_default() += 1;
    }
    counts
}

/// Flink's `ExecutionJobVertex.getAggregateJobVertexState`.
pub(crate) fn aggregate_state(
    counts: &BTreeMap<ExecutionState, u32>,
    parallelism: usize,
) -> ExecutionState {
    use ExecutionState::*;
    let n = |s: ExecutionState| counts.get(&s).copied().unwrap_or(0);
    if n(Failed) > 0 {
        Failed
    } else if n(Canceling) > 0 {
        Canceling
    } else if n(Canceled) > 0 {
        Canceled
    } else if n(Initializing) > 0 {
        Initializing
    } else if n(Running) > 0 {
        Running
    } else if n(Finished) > 0 {
        if n(Finished) as usize == parallelism {
            Finished
        } else {
            Running
        }
    } else if n(Reconciling) > 0 {
        Reconciling
    } else {
        Created
    }
}

fn vertex_summary(v: &VertexView, slot_sharing_group_id: &str, now: i64) -> VertexSummary {
    let counts = vertex_counts(&v.subtasks);
    let starts = v.subtasks.iter().map(|s| s.start_time).filter(|t| *t >= 0);
    let start_time = starts.min().unwrap_or(-1);
    let all_ended = !v.subtasks.is_empty() && v.subtasks.iter().all(|s| s.status.is_terminal());
    let end_time = if all_ended {
        v.subtasks.iter().map(|s| s.end_time).max().unwrap_or(-1)
    } else {
        -1
    };
    VertexSummary {
        id: v.id.clone(),
        slot_sharing_group_id: slot_sharing_group_id.to_string(),
        name: v.name.clone(),
        max_parallelism: v.max_parallelism,
        parallelism: v.parallelism,
        status: aggregate_state(&counts, v.subtasks.len()),
        start_time,
        end_time,
        duration: duration(start_time, end_time, now),
        tasks: named_counts(&counts),
        metrics: IoMetrics::sum(&v.subtasks),
    }
}

/// The chain's operators in Flink's tree description mode:
/// `a<br/>+- b<br/>   +- c<br/>`.
fn description(v: &VertexView) -> String {
    if v.operators.is_empty() {
        return v.name.clone();
    }
    let mut out = String::new();
    for (i, op) in v.operators.iter().enumerate() {
        if i > 0 {
            out.push_str(&"   ".repeat(i - 1));
            out.push_str("+- ");
        }
        out.push_str(op);
        out.push_str("<br/>");
    }
    out
}

/// The plan; nodes sinks first, as Flink lists them.
fn plan_of(job: &JobView) -> Plan {
    let nodes = job
        .vertices
        .iter()
        .rev()
        .map(|v| PlanNode {
            id: v.id.clone(),
            operator: "",
            parallelism: v.parallelism,
            operator_strategy: "",
            description: description(v),
            optimizer_properties: BTreeMap::new(),
            inputs: v
                .inputs
                .iter()
                .enumerate()
                .map(|(num, input)| PlanInput {
                    id: input.vertex_id.clone(),
                    num,
                    exchange: "pipelined_bounded",
                    ship_strategy: input.ship_strategy.clone(),
                })
                .collect(),
        })
        .collect();
    Plan {
        jid: job.id.to_string(),
        name: job.name.clone(),
        job_type: "STREAMING",
        nodes,
    }
}
