//! Running (job status RUNNING): deployments are answered, tasks run and end. A failed
//! task, a failed deployment or a lost TaskManager moves the job to Failing; a cancel
//! request to Cancelling; the end of every task to FINISHED.

use super::execution::now_ms;
use super::failing::Stopping;
use super::terminal::{ended_state, TASK_MANAGER_LOST};
use super::{JobEvent, JobMaster, JobState};
use crate::resource_manager::ResourceManager;
use crate::view::ExecutionState;
use strom_runtime::taskmanager::protocol::ReportedState;

/// Running.
#[derive(Default)]
pub(crate) struct Running;

impl Running {
    pub(crate) fn on_event(
        self,
        job: &mut JobMaster,
        ev: JobEvent<'_>,
        rm: &mut ResourceManager,
    ) -> JobState {
        match ev {
            JobEvent::Tick => {}
            JobEvent::DeployAnswer {
                task_manager,
                result,
            } => {
                match result {
                    Ok(()) => {
                        // Accepted: the tasks are being built; each reports RUNNING itself.
                        let now = now_ms();
                        for (_, _, e) in job.executions.all_mut() {
                            if e.task_manager.as_deref() == Some(task_manager)
                                && e.state == ExecutionState::Deploying
                            {
                                e.transition(ExecutionState::Initializing, now);
                            }
                        }
                    }
                    Err(e) => {
                        let msg =
                            format!("TaskManager {task_manager} could not deploy the job: {e}");
                        job.end_tasks_on(task_manager, ExecutionState::Failed);
                        job.record_exception(
                            "DeploymentFailure",
                            msg,
                            None,
                            Some(task_manager),
                            rm,
                        );
                        return self.fail(job, rm);
                    }
                }
            }
            JobEvent::TaskEnded {
                task_manager,
                update,
            } => {
                let now = now_ms();
                if let Some(e) = job.executions.get_mut(update.vertex, update.subtask) {
                    if update.state == ReportedState::Running {
                        // A report can overtake the deployment's answer.
                        e.transition(ExecutionState::Initializing, now);
                    } else {
                        e.sample(update.metrics, now);
                    }
                    e.transition(ended_state(update.state), now);
                }
                if update.state == ReportedState::Failed {
                    job.record_task_failure(update, task_manager, rm);
                    return self.fail(job, rm);
                }
            }
            JobEvent::TaskManagerLost {
                task_manager,
                reason,
            } => {
                if !job.task_managers.iter().any(|t| t == task_manager) {
                    return JobState::Running(self);
                }
                job.end_tasks_on(task_manager, ExecutionState::Failed);
                let msg = format!("TaskManager {task_manager} was lost: {reason}");
                job.record_exception(TASK_MANAGER_LOST, msg, None, Some(task_manager), rm);
                return self.fail(job, rm);
            }
            JobEvent::Cancel => {
                return Stopping::start(job, rm, ExecutionState::Canceled);
            }
        }
        if job.executions.all_terminal() {
            // Tasks that ended cancelled without a request (a task on the same TaskManager
            // failed and its report is late) or failed: the job did not finish.
            return if job.executions.all_finished() {
                JobState::Finished
            } else {
                self.fail(job, rm)
            };
        }
        JobState::Running(self)
    }

    /// Moves to Failing: every task still running is cancelled.
    pub(crate) fn fail(self, job: &mut JobMaster, rm: &mut ResourceManager) -> JobState {
        Stopping::start(job, rm, ExecutionState::Failed)
    }
}
