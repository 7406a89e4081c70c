//! The JobMaster: one per job, a state machine with one file per state.
//!
//! ```text
//!   WaitingForSlots ──slots──▶ Running ──all finished──▶ FINISHED
//!        │ timeout / cancel      │ task failed, TaskManager lost
//!        ▼                       ▼
//!     FAILED / CANCELED       Failing ──all ended──▶ FAILED
//!                                │ cancel requested (from Running)
//!                                ▼
//!                             Cancelling ──all ended──▶ CANCELED
//! ```
//!
//! - [`execution`]: the execution graph (one execution per subtask);
//! - `waiting`: waiting for slots, then deploying to the TaskManagers;
//! - `running`: tasks run; their ends and failures arrive;
//! - `failing` and `cancelling`: every task is asked to stop, until all have ended;
//! - `terminal`: entering FINISHED, FAILED or CANCELED gives the slots back and releases
//!   the job on its TaskManagers.
//!
//! Lives on the JobManager's main thread. Invariants: a job is in exactly one state; its
//! status and timestamps change only in [`JobMaster::enter`]; a terminal job holds no slots.

pub(crate) mod execution;
mod failing;
mod running;
mod terminal;
mod waiting;

use crate::resource_manager::{ConnId, ResourceManager};
use crate::view::{ExceptionView, ExecutionState, JobId, JobStatus, JobView};
use execution::{now_ms, ExecutionGraph};
use std::collections::BTreeMap;
use std::time::Duration;
use strom_runtime::config::Configuration;
use strom_runtime::graph::JobGraph;
use strom_runtime::taskmanager::protocol::TaskStateUpdate;

/// What a job was submitted as.
#[derive(Debug, Clone)]
pub(crate) struct JobSpec {
    pub(crate) name: String,
    pub(crate) builder: String,
    pub(crate) args: Vec<String>,
    pub(crate) config: Configuration,
    pub(crate) parallelism: u32,
    pub(crate) max_parallelism: u32,
}

/// The job's state machine.
pub(crate) enum JobState {
    WaitingForSlots(waiting::WaitingForSlots),
    Running(running::Running),
    Failing(failing::Stopping),
    Cancelling(failing::Stopping),
    Finished,
    Failed,
    Canceled,
}

impl JobState {
    fn status(&self) -> JobStatus {
        match self {
            JobState::WaitingForSlots(_) => JobStatus::Created,
            JobState::Running(_) => JobStatus::Running,
            JobState::Failing(_) => JobStatus::Failing,
            JobState::Cancelling(_) => JobStatus::Cancelling,
            JobState::Finished => JobStatus::Finished,
            JobState::Failed => JobStatus::Failed,
            JobState::Canceled => JobStatus::Canceled,
        }
    }
}

/// What happens to a job.
pub(crate) enum JobEvent<'a> {
    /// Time passes (timeouts); slots may have been freed.
    Tick,
    /// A TaskManager answered the deployment.
    DeployAnswer {
        task_manager: &'a str,
        result: Result<(), String>,
    },
    /// A task ended.
    TaskEnded {
        task_manager: &'a str,
        update: &'a TaskStateUpdate,
    },
    /// A TaskManager was lost.
    TaskManagerLost {
        task_manager: &'a str,
        reason: &'a str,
    },
    /// Cancellation was requested.
    Cancel,
}

/// One job.
pub(crate) struct JobMaster {
    pub(crate) id: JobId,
    pub(crate) spec: JobSpec,
    pub(crate) graph: JobGraph,
    pub(crate) executions: ExecutionGraph,
    state: JobState,
    timestamps: BTreeMap<JobStatus, i64>,
    start_ms: i64,
    end_ms: i64,
    last_modification: i64,
    exceptions: Vec<ExceptionView>,
    /// The TaskManagers the job was deployed to.
    pub(crate) task_managers: Vec<String>,
    /// Deployment requests awaiting an answer: (connection, request id, TaskManager).
    pub(crate) pending_requests: Vec<(ConnId, u64, String)>,
}

impl JobMaster {
    /// A new job, waiting for its slots.
    pub(crate) fn new(id: JobId, spec: JobSpec, graph: JobGraph, slot_timeout: Duration) -> Self {
        let now = now_ms();
        let executions = ExecutionGraph::new(&graph);
        let mut timestamps = BTreeMap::new();
        timestamps.insert(JobStatus::Initializing, now);
        timestamps.insert(JobStatus::Created, now);
        JobMaster {
            id,
            spec,
            executions,
            state: JobState::WaitingForSlots(waiting::WaitingForSlots::new(
                graph.slots_needed(),
                slot_timeout,
            )),
            graph,
            timestamps,
            start_ms: now,
            end_ms: -1,
            last_modification: now,
            exceptions: Vec::new(),
            task_managers: Vec::new(),
            pending_requests: Vec::new(),
        }
    }

    /// The job's status.
    pub(crate) fn status(&self) -> JobStatus {
        self.state.status()
    }

    /// Handles one event.
    pub(crate) fn handle(&mut self, ev: JobEvent<'_>, rm: &mut ResourceManager) {
        let before = self.state.status();
        let state = std::mem::replace(&mut self.state, JobState::Finished);
        let next = match state {
            JobState::WaitingForSlots(s) => s.on_event(self, ev, rm),
            JobState::Running(s) => s.on_event(self, ev, rm),
            JobState::Failing(s) => s.on_event(self, ev, rm, true),
            JobState::Cancelling(s) => s.on_event(self, ev, rm, false),
            terminal => terminal,
        };
        self.enter(before, next, rm);
    }

    /// Moves from `before` to `next`, stamping the status change and finishing a terminal
    /// job.
    fn enter(&mut self, before: JobStatus, next: JobState, rm: &mut ResourceManager) {
        let after = next.status();
        self.state = next;
        if before == after {
            return;
        }
        let now = now_ms();
        self.timestamps.entry(after).or_insert(now);
        self.last_modification = now;
        if after.is_terminal() {
            self.end_ms = now;
            terminal::finish(self, rm);
        }
    }

    /// Records a failure.
    pub(crate) fn record_exception(
        &mut self,
        name: &str,
        message: String,
        task: Option<(u32, u32)>,
        task_manager: Option<&str>,
        rm: &ResourceManager,
    ) {
        let task_name = task.and_then(|(v, s)| {
            let ev = self.executions.vertices.get(v as usize)?;
            Some(format!("{} ({}/{})", ev.name, s + 1, ev.parallelism))
        });
        let endpoint = task_manager
            .and_then(|tm| rm.task_managers.get(tm))
            .map(|tm| tm.data_address.to_string());
        tracing::warn!("job {} ({}): {name}: {message}", self.spec.name, self.id);
        self.exceptions.push(ExceptionView {
            exception_name: name.to_string(),
            stacktrace: message,
            timestamp: now_ms(),
            task_name,
            endpoint,
            task_manager_id: task_manager.map(str::to_string),
        });
    }

    /// Records a task's failure as its TaskManager reported it.
    pub(crate) fn record_task_failure(
        &mut self,
        update: &TaskStateUpdate,
        task_manager: &str,
        rm: &ResourceManager,
    ) {
        let msg = update.error.clone().unwrap_or_else(|| "task failed".into());
        let task = Some((update.vertex, update.subtask));
        self.record_exception("TaskFailure", msg, task, Some(task_manager), rm);
    }

    /// The failure that explains the job's end: a lost TaskManager explains the network
    /// failures of the tasks that read from it, so it is preferred; otherwise the first.
    pub(crate) fn root_cause(&self) -> Option<&ExceptionView> {
        self.exceptions
            .iter()
            .find(|e| e.exception_name == terminal::TASK_MANAGER_LOST)
            .or_else(|| self.exceptions.first())
    }

    /// Number of subtasks deployed on `tm` and not ended.
    pub(crate) fn tasks_on(&self, tm: &str) -> u32 {
        self.executions
            .vertices
            .iter()
            .flat_map(|v| v.subtasks.iter())
            .filter(|e| !e.state.is_terminal() && e.task_manager.as_deref() == Some(tm))
            .count() as u32
    }

    /// Snapshot for the REST API.
    pub(crate) fn view(&self) -> JobView {
        let mut exceptions = self.exceptions.clone();
        if let Some(root) = self.root_cause() {
            // The root cause first, then the rest in order.
            let root = root.clone();
            exceptions.retain(|e| e.timestamp != root.timestamp || e.stacktrace != root.stacktrace);
            exceptions.insert(0, root);
        }
        JobView {
            id: self.id,
            name: self.spec.name.clone(),
            job: self.spec.builder.clone(),
            args: self.spec.args.clone(),
            status: self.status(),
            start_time: self.start_ms,
            end_time: self.end_ms,
            last_modification: self.last_modification,
            timestamps: self.timestamps.clone(),
            max_parallelism: self.spec.max_parallelism,
            vertices: self.executions.view(),
            exceptions,
            pending_reason: match &self.state {
                JobState::WaitingForSlots(w) => Some(w.reason()),
                _ => None,
            },
        }
    }

    /// Marks every execution on `tm` that has not ended as `state`.
    pub(crate) fn end_tasks_on(&mut self, tm: &str, state: ExecutionState) {
        let now = now_ms();
        for (_, _, e) in self.executions.all_mut() {
            if e.task_manager.as_deref() == Some(tm) {
                e.transition(state, now);
            }
        }
    }
}
