//! Failing and Cancelling (job status FAILING / CANCELLING): every TaskManager of the job
//! is told to cancel its tasks; the job waits until each task has ended (or its
//! TaskManager is lost), then becomes FAILED or CANCELED. Tasks that do not end within
//! [`STOP_TIMEOUT`] are given up on.

use super::execution::now_ms;
use super::terminal::{ended_state, TASK_MANAGER_LOST};
use super::{JobEvent, JobMaster, JobState};
use crate::resource_manager::ResourceManager;
use crate::view::ExecutionState;
use std::time::{Duration, Instant};
use strom_runtime::taskmanager::protocol::{ReportedState, ToTaskManager};

/// How long the job waits for its tasks to stop before it gives up on them.
pub(crate) const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// Stopping every task.
pub(crate) struct Stopping {
    since: Instant,
    /// What the job ends as: FAILED (failing) or CANCELED (cancelling).
    end: ExecutionState,
}

impl Stopping {
    /// Asks every TaskManager of the job to cancel, and marks running tasks CANCELING.
    pub(crate) fn start(
        job: &mut JobMaster,
        rm: &mut ResourceManager,
        end: ExecutionState,
    ) -> JobState {
        let msg = ToTaskManager::Cancel {
            job: job.id.to_string(),
        };
        for tm in &job.task_managers {
            if let Err(e) = rm.send(tm, &msg) {
                tracing::debug!("job {}: cancel to {tm}: {e}", job.id);
            }
        }
        let now = now_ms();
        for (_, _, e) in job.executions.all_mut() {
            if e.task_manager.is_none() {
                e.transition(ExecutionState::Canceled, now);
            } else {
                e.transition(ExecutionState::Canceling, now);
            }
        }
        let s = Stopping {
            since: Instant::now(),
            end,
        };
        s.check(job, end == ExecutionState::Failed)
    }

    pub(crate) fn on_event(
        self,
        job: &mut JobMaster,
        ev: JobEvent<'_>,
        rm: &mut ResourceManager,
        failing: bool,
    ) -> JobState {
        match ev {
            JobEvent::TaskEnded {
                task_manager,
                update,
            } => {
                let now = now_ms();
                if let Some(e) = job.executions.get_mut(update.vertex, update.subtask) {
                    // A task that starts while the job stops stays CANCELING until it ends.
                    if update.state != ReportedState::Running {
                        e.sample(update.metrics, now);
                        e.transition(ended_state(update.state), now);
                    }
                }
                if update.state == ReportedState::Failed && failing {
                    // Later failures are recorded too (they may be consequences).
                    job.record_task_failure(update, task_manager, rm);
                }
            }
            JobEvent::TaskManagerLost {
                task_manager,
                reason,
            } if job.task_managers.iter().any(|t| t == task_manager) => {
                job.end_tasks_on(task_manager, self.end);
                if failing {
                    let msg = format!("TaskManager {task_manager} was lost: {reason}");
                    job.record_exception(TASK_MANAGER_LOST, msg, None, Some(task_manager), rm);
                }
            }
            JobEvent::Tick if self.since.elapsed() > STOP_TIMEOUT => {
                let now = now_ms();
                for (_, _, e) in job.executions.all_mut() {
                    e.transition(self.end, now);
                }
            }
            _ => {}
        }
        self.check(job, failing)
    }

    fn check(self, job: &JobMaster, failing: bool) -> JobState {
        match (job.executions.all_terminal(), failing) {
            (true, true) => JobState::Failed,
            (true, false) => JobState::Canceled,
            (false, true) => JobState::Failing(self),
            (false, false) => JobState::Cancelling(self),
        }
    }
}
