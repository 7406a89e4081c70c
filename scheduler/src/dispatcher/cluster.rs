//! The cluster endpoints: `GET /config` (the web UI's `DashboardConfiguration`),
//! `GET /overview` (`ClusterOverviewWithVersion`), `GET /jobmanager/config`
//! (`[{key, value}]`), `GET /taskmanagers` and `GET /taskmanagers/:taskmanagerid`.
//!
//! Invariants: Flink's `flink-version` / `flink-commit` / `flink-revision` carry strom's own
//! version and binary fingerprint; a TaskManager's resources are one CPU core per slot (slots
//! are pinned to cores) and its network memory, the only memory pool strom has; JVM-only
//! figures (heap, metaspace, garbage collectors) are 0 or empty, never invented.

use super::common::{blocking, Params};
use super::error::HttpError;
use super::Ctx;
use crate::view::{ClusterApi, TaskManagerView};
use axum::extract::State;
use axum::Json;
use serde::Serialize;
use std::collections::BTreeMap;

const MIB: u64 = 1 << 20;

/// Flink's `DashboardConfiguration`.
#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct DashboardConfig {
    refresh_interval: u64,
    timezone_name: &'static str,
    timezone_offset: i64,
    flink_version: String,
    flink_revision: String,
    features: Features,
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct Features {
    web_submit: bool,
    web_cancel: bool,
    web_rescale: bool,
    web_history: bool,
}

/// Flink's `ClusterOverviewWithVersion`.
#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct Overview {
    taskmanagers: u32,
    slots_total: u32,
    slots_available: u32,
    jobs_running: u32,
    jobs_finished: u32,
    jobs_cancelled: u32,
    jobs_failed: u32,
    flink_version: String,
    flink_commit: String,
}

/// One entry of `GET /jobmanager/config`.
#[derive(Serialize)]
pub(crate) struct ConfigEntry {
    key: String,
    value: String,
}

/// `GET /taskmanagers`: Flink's `TaskManagersInfo`.
#[derive(Serialize)]
pub(crate) struct TaskManagers {
    taskmanagers: Vec<TaskManagerInfo>,
}

/// Flink's `TaskManagerInfo`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TaskManagerInfo {
    id: String,
    path: String,
    data_port: u16,
    jmx_port: i32,
    /// Flink's name; its value is the time of the last heartbeat (epoch ms).
    time_since_last_heartbeat: i64,
    slots_number: u32,
    free_slots: u32,
    assigned_tasks: u32,
    total_resource: Resource,
    free_resource: Resource,
    hardware: Hardware,
    memory_configuration: MemoryConfiguration,
}

/// Flink's `TaskManagerDetailsInfo`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TaskManagerDetails {
    #[serde(flatten)]
    info: TaskManagerInfo,
    allocated_slots: Vec<SlotInfo>,
    metrics: TaskManagerMetrics,
}

/// Flink's `ResourceProfileInfo` (memory in MiB).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Resource {
    cpu_cores: f64,
    task_heap_memory: u64,
    task_off_heap_memory: u64,
    managed_memory: u64,
    network_memory: u64,
    extended_resources: BTreeMap<String, f64>,
}

impl Resource {
    fn slots(n: u32, tm: &TaskManagerView) -> Resource {
        let per_slot = tm.network_memory / u64::from(tm.slots_number.max(1));
        Resource {
            cpu_cores: f64::from(n),
            task_heap_memory: 0,
            task_off_heap_memory: 0,
            managed_memory: 0,
            network_memory: per_slot * u64::from(n) / MIB,
            extended_resources: BTreeMap::new(),
        }
    }
}

/// Flink's `HardwareDescription`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Hardware {
    cpu_cores: u32,
    physical_memory: u64,
    free_memory: u64,
    managed_memory: u64,
}

/// Flink's `TaskExecutorMemoryConfiguration` (bytes).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MemoryConfiguration {
    framework_heap: u64,
    task_heap: u64,
    framework_off_heap: u64,
    task_off_heap: u64,
    network_memory: u64,
    managed_memory: u64,
    jvm_metaspace: u64,
    jvm_overhead: u64,
    total_flink_memory: u64,
    total_process_memory: u64,
}

/// Flink's `SlotInfo`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SlotInfo {
    job_id: String,
    resource: Resource,
    assigned_tasks: u32,
}

/// Flink's `TaskManagerMetricsInfo`: JVM figures, which a Rust process does not have.
#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
struct TaskManagerMetrics {
    heap_used: u64,
    heap_committed: u64,
    heap_max: u64,
    non_heap_used: u64,
    non_heap_committed: u64,
    non_heap_max: u64,
    direct_count: u64,
    direct_used: u64,
    direct_max: u64,
    mapped_count: u64,
    mapped_used: u64,
    mapped_max: u64,
    netty_shuffle_memory_segments_available: u64,
    netty_shuffle_memory_segments_used: u64,
    netty_shuffle_memory_segments_total: u64,
    netty_shuffle_memory_available: u64,
    netty_shuffle_memory_used: u64,
    netty_shuffle_memory_total: u64,
    garbage_collectors: Vec<GarbageCollector>,
}

#[derive(Serialize)]
struct GarbageCollector {
    name: String,
    count: u64,
    time: u64,
}

/// `GET /config`.
pub(crate) async fn dashboard_config(
    State(ctx): State<Ctx>,
) -> Result<Json<DashboardConfig>, HttpError> {
    blocking(&ctx, |api| {
        let config = api.config();
        let (version, fingerprint) = api.version();
        let enabled = |key: &str| config.get(key).is_none_or(|v| v.trim() != "false");
        Ok(DashboardConfig {
            refresh_interval: config
                .get("web.refresh-interval")
                .and_then(|v| millis(v))
                .unwrap_or(3000),
            timezone_name: "Coordinated Universal Time",
            timezone_offset: 0,
            flink_version: version,
            flink_revision: fingerprint,
            features: Features {
                web_submit: enabled("web.submit.enable"),
                web_cancel: enabled("web.cancel.enable"),
                web_rescale: false,
                web_history: false,
            },
        })
    })
    .await
    .map(Json)
}

/// A duration in milliseconds: `3000`, `3000ms`, `3s`, `3 s`.
fn millis(v: &str) -> Option<u64> {
    let v = v.trim();
    if let Some(ms) = v.strip_suffix("ms") {
        return ms.trim().parse().ok();
    }
    if let Some(s) = v.strip_suffix('s') {
        return s.trim().parse::<u64>().ok().map(|s| s.saturating_mul(1000));
    }
    v.parse().ok()
}

/// `GET /overview`.
pub(crate) async fn overview(State(ctx): State<Ctx>) -> Result<Json<Overview>, HttpError> {
    blocking(&ctx, |api| {
        let o = api.overview();
        let (version, fingerprint) = api.version();
        Ok(Overview {
            taskmanagers: o.task_managers,
            slots_total: o.slots_total,
            slots_available: o.slots_available,
            jobs_running: o.jobs_running,
            jobs_finished: o.jobs_finished,
            jobs_cancelled: o.jobs_cancelled,
            jobs_failed: o.jobs_failed,
            flink_version: version,
            flink_commit: fingerprint,
        })
    })
    .await
    .map(Json)
}

/// `GET /jobmanager/config`.
pub(crate) async fn jobmanager_config(
    State(ctx): State<Ctx>,
) -> Result<Json<Vec<ConfigEntry>>, HttpError> {
    blocking(&ctx, |api| {
        Ok(api
            .config()
            .into_iter()
            .map(|(key, value)| ConfigEntry { key, value })
            .collect())
    })
    .await
    .map(Json)
}

/// `GET /taskmanagers`.
pub(crate) async fn task_managers(State(ctx): State<Ctx>) -> Result<Json<TaskManagers>, HttpError> {
    blocking(&ctx, |api| {
        let taskmanagers = api.task_managers().iter().map(info).collect();
        Ok(TaskManagers { taskmanagers })
    })
    .await
    .map(Json)
}

/// `GET /taskmanagers/:taskmanagerid`.
pub(crate) async fn task_manager(
    State(ctx): State<Ctx>,
    params: Params,
) -> Result<Json<TaskManagerDetails>, HttpError> {
    let id = params.get("taskmanagerid")?.to_string();
    blocking(&ctx, move |api| {
        let tm = api
            .task_managers()
            .into_iter()
            .find(|tm| tm.id == id)
            .ok_or_else(|| HttpError::not_found(format!("TaskManager {id} not found")))?;
        Ok(TaskManagerDetails {
            info: info(&tm),
            allocated_slots: allocated_slots(api, &tm),
            metrics: TaskManagerMetrics {
                netty_shuffle_memory_total: tm.network_memory,
                ..TaskManagerMetrics::default()
            },
        })
    })
    .await
    .map(Json)
}

fn info(tm: &TaskManagerView) -> TaskManagerInfo {
    TaskManagerInfo {
        id: tm.id.clone(),
        path: tm.address.clone(),
        data_port: tm.data_port,
        jmx_port: -1,
        time_since_last_heartbeat: tm.last_heartbeat,
        slots_number: tm.slots_number,
        free_slots: tm.free_slots,
        assigned_tasks: tm.assigned_tasks,
        total_resource: Resource::slots(tm.slots_number, tm),
        free_resource: Resource::slots(tm.free_slots.min(tm.slots_number), tm),
        hardware: Hardware {
            cpu_cores: tm.cpu_cores,
            physical_memory: tm.physical_memory,
            free_memory: tm.free_memory,
            managed_memory: 0,
        },
        memory_configuration: MemoryConfiguration {
            framework_heap: 0,
            task_heap: 0,
            framework_off_heap: 0,
            task_off_heap: 0,
            network_memory: tm.network_memory,
            managed_memory: 0,
            jvm_metaspace: 0,
            jvm_overhead: 0,
            total_flink_memory: tm.network_memory,
            total_process_memory: 0,
        },
    }
}

/// The slots running jobs hold on `tm`, rebuilt from where their subtasks run: with slot
/// sharing a job needs as many slots there as its busiest vertex has live subtasks there, and
/// slot k holds the k-th such subtask of every vertex.
fn allocated_slots(api: &dyn ClusterApi, tm: &TaskManagerView) -> Vec<SlotInfo> {
    let mut slots = Vec::new();
    for job in api.jobs().iter().filter(|j| !j.status.is_terminal()) {
        let per_vertex: Vec<u32> = job
            .vertices
            .iter()
            .map(|v| {
                v.subtasks
                    .iter()
                    .filter(|s| !s.status.is_terminal())
                    .filter(|s| s.task_manager_id.as_deref() == Some(tm.id.as_str()))
                    .count() as u32
            })
            .collect();
        let needed = per_vertex.iter().copied().max().unwrap_or(0);
        for k in 0..needed {
            slots.push(SlotInfo {
                job_id: job.id.to_string(),
                resource: Resource::slots(1, tm),
                assigned_tasks: per_vertex.iter().filter(|n| **n > k).count() as u32,
            });
        }
    }
    slots
}
