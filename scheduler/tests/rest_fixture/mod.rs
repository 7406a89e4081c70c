//! Test fixture for the REST API: an in-memory [`ClusterApi`] (one running job with two
//! vertices, one finished job with two, one TaskManager); `http` starts the real server over
//! it and calls it; `shape` compares answers with Flink's recorded ones in `tests/fixtures/flink-rest/` (a copy of `shared/flink-rest/`).

mod http;
mod shape;

pub use http::{Answer, Harness};
pub use shape::{assert_error, assert_shape, expect_fields, flink_sample};

use std::collections::BTreeMap;
use std::sync::Mutex;
use strom_scheduler::view::*;

pub const RUNNING: &str = "0123456789abcdef0123456789abcdef";
pub const FINISHED: &str = "fedcba9876543210fedcba9876543210";
pub const SUBMITTED: &str = "00000000000000000000000000c0ffee";
pub const SOURCE: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1";
pub const SINK: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb2";
pub const DONE_VERTEX: &str = "ccccccccccccccccccccccccccccccc3";
pub const DONE_SINK: &str = "ccccccccccccccccccccccccccccccc4";
pub const TM: &str = "127.0.0.1:40001-abc123";
pub const T0: i64 = 1_700_000_000_000;

pub fn id(s: &str) -> JobId {
    s.parse().unwrap()
}

fn subtask(
    i: u32,
    status: ExecutionState,
    m: TaskMetricsView,
    bp: f64,
    busy: Option<f64>,
) -> SubtaskView {
    let mut ts = BTreeMap::new();
    ts.insert(ExecutionState::Created, T0 + 10);
    ts.insert(ExecutionState::Scheduled, T0 + 20);
    ts.insert(ExecutionState::Deploying, T0 + 50);
    if status != ExecutionState::Deploying {
        ts.insert(ExecutionState::Initializing, T0 + 80);
        ts.insert(ExecutionState::Running, T0 + 100);
    }
    let ended = status.is_terminal();
    if ended {
        ts.insert(status, T0 + 5_000);
    }
    SubtaskView {
        subtask: i,
        status,
        attempt: 0,
        task_manager_id: Some(TM.into()),
        endpoint: Some("127.0.0.1:40002".into()),
        start_time: if status == ExecutionState::Deploying {
            -1
        } else {
            T0 + 100
        },
        end_time: if ended { T0 + 5_000 } else { -1 },
        state_timestamps: ts,
        metrics: m,
        backpressure_ratio: bp,
        idle_ratio: 0.25,
        busy_ratio: busy,
        sampled_at: T0 + 9_000 + i64::from(i),
    }
}

fn metrics(read: u64, write: u64, busy: Option<u64>) -> TaskMetricsView {
    TaskMetricsView {
        read_bytes: read * 10,
        write_bytes: write * 10,
        read_records: read,
        write_records: write,
        backpressured_ms: 7,
        idle_ms: 11,
        busy_ms: busy,
    }
}

fn vertex(
    id: &str,
    name: &str,
    ops: &[&str],
    inputs: Vec<VertexInput>,
    subtasks: Vec<SubtaskView>,
) -> VertexView {
    VertexView {
        id: id.into(),
        name: name.into(),
        parallelism: subtasks.len() as u32,
        max_parallelism: 128,
        operators: ops.iter().map(|s| s.to_string()).collect(),
        inputs,
        subtasks,
    }
}

fn running_job() -> JobView {
    use ExecutionState::*;
    let source = vertex(
        SOURCE,
        "Source: words -> Map",
        &["Source: words", "Map"],
        vec![],
        vec![
            subtask(0, Running, metrics(0, 100, None), 0.6, None),
            subtask(1, Running, metrics(0, 120, None), 0.2, None),
        ],
    );
    let sink = vertex(
        SINK,
        "Window -> Sink: print",
        &["Window", "Sink: print"],
        vec![VertexInput {
            vertex_id: SOURCE.into(),
            ship_strategy: "HASH".into(),
        }],
        vec![
            subtask(0, Running, metrics(220, 0, Some(40)), 0.0, Some(0.3)),
            subtask(1, Deploying, metrics(0, 0, Some(0)), 0.0, Some(0.0)),
        ],
    );
    let mut timestamps = BTreeMap::new();
    timestamps.insert(JobStatus::Initializing, T0);
    timestamps.insert(JobStatus::Created, T0 + 5);
    timestamps.insert(JobStatus::Running, T0 + 8);
    JobView {
        id: id(RUNNING),
        name: "wordcount-running".into(),
        job: "wordcount".into(),
        args: vec![],
        status: JobStatus::Running,
        start_time: T0,
        end_time: -1,
        last_modification: T0 + 8,
        timestamps,
        max_parallelism: 128,
        vertices: vec![source, sink],
        exceptions: vec![
            ExceptionView {
                exception_name: "TaskManagerLost".into(),
                stacktrace: "older failure".into(),
                timestamp: T0 + 1_000,
                task_name: None,
                endpoint: None,
                task_manager_id: None,
            },
            ExceptionView {
                exception_name: "TaskFailure".into(),
                stacktrace: "boom: division by zero".into(),
                timestamp: T0 + 2_000,
                task_name: Some("Window -> Sink: print (2/2)".into()),
                endpoint: Some("127.0.0.1:40002".into()),
                task_manager_id: Some(TM.into()),
            },
        ],
        pending_reason: None,
    }
}

fn finished_job() -> JobView {
    let source = vertex(
        DONE_VERTEX,
        "Source: seq",
        &["Source: seq"],
        vec![],
        vec![subtask(
            0,
            ExecutionState::Finished,
            metrics(0, 5, Some(3)),
            0.0,
            Some(0.1),
        )],
    );
    let input = VertexInput {
        vertex_id: DONE_VERTEX.into(),
        ship_strategy: "REBALANCE".into(),
    };
    let sink = vertex(
        DONE_SINK,
        "Sink: print",
        &["Sink: print"],
        vec![input],
        vec![subtask(
            0,
            ExecutionState::Finished,
            metrics(5, 0, Some(2)),
            0.0,
            Some(0.1),
        )],
    );
    let mut timestamps = BTreeMap::new();
    timestamps.insert(JobStatus::Initializing, T0 - 60_000);
    timestamps.insert(JobStatus::Created, T0 - 59_990);
    timestamps.insert(JobStatus::Running, T0 - 59_980);
    timestamps.insert(JobStatus::Finished, T0 - 50_000);
    JobView {
        id: id(FINISHED),
        name: "seq-done".into(),
        job: "seq".into(),
        args: vec!["5".into()],
        status: JobStatus::Finished,
        start_time: T0 - 60_000,
        end_time: T0 - 50_000,
        last_modification: T0 - 50_000,
        timestamps,
        max_parallelism: 128,
        vertices: vec![source, sink],
        exceptions: vec![],
        pending_reason: None,
    }
}

/// The in-memory JobManager.
#[derive(Default)]
pub struct Fixture {
    pub cancelled: Mutex<Vec<JobId>>,
    pub submitted: Mutex<Vec<SubmitRequest>>,
}

impl ClusterApi for Fixture {
    fn overview(&self) -> ClusterOverview {
        ClusterOverview {
            task_managers: 1,
            slots_total: 2,
            slots_available: 0,
            jobs_running: 1,
            jobs_finished: 1,
            jobs_cancelled: 0,
            jobs_failed: 0,
        }
    }
    fn jobs(&self) -> Vec<JobView> {
        vec![running_job(), finished_job()]
    }
    fn job(&self, id: JobId) -> Option<JobView> {
        self.jobs().into_iter().find(|j| j.id == id)
    }
    fn task_managers(&self) -> Vec<TaskManagerView> {
        vec![TaskManagerView {
            id: TM.into(),
            address: "127.0.0.1:40001".into(),
            data_port: 40002,
            slots_number: 2,
            free_slots: 0,
            assigned_tasks: 4,
            last_heartbeat: T0 + 9_500,
            cpu_cores: 8,
            physical_memory: 16 << 30,
            free_memory: 4 << 30,
            network_memory: 64 << 20,
        }]
    }
    fn submit(&self, request: SubmitRequest) -> Result<JobId, ApiError> {
        match request.job.as_str() {
            "wordcount" => {
                self.submitted.lock().unwrap().push(request);
                Ok(id(SUBMITTED))
            }
            "panic" => panic!("fixture asked to panic"),
            other => Err(ApiError::BadRequest(format!(
                "no registered job named '{other}'"
            ))),
        }
    }
    fn cancel(&self, job: JobId) -> Result<(), ApiError> {
        match self.job(job) {
            None => Err(ApiError::NotFound(format!("Job {job} not found"))),
            Some(j) if j.status.is_terminal() => Err(ApiError::Conflict(format!(
                "Job {job} has already ended ({})",
                j.status.name()
            ))),
            Some(_) => {
                self.cancelled.lock().unwrap().push(job);
                Ok(())
            }
        }
    }
    fn config(&self) -> BTreeMap<String, String> {
        [
            ("parallelism.default", "2"),
            ("rest.port", "8081"),
            ("web.refresh-interval", "5000"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }
    fn version(&self) -> (String, String) {
        ("strom 0.1.0".into(), "fp-1234".into())
    }
}
