//! Entering FINISHED, FAILED or CANCELED: the job's slots go back to the ResourceManager
//! and each of its TaskManagers releases what the job still holds there.

use super::JobMaster;
use crate::resource_manager::ResourceManager;
use crate::view::ExecutionState;
use strom_runtime::taskmanager::protocol::{ReportedState, ToTaskManager};

/// The exception name of a lost TaskManager.
pub(crate) const TASK_MANAGER_LOST: &str = "TaskManagerLost";

/// The execution state a task's report puts it in.
pub(crate) fn ended_state(s: ReportedState) -> ExecutionState {
    match s {
        ReportedState::Running => ExecutionState::Running,
        ReportedState::Finished => ExecutionState::Finished,
        ReportedState::Canceled => ExecutionState::Canceled,
        ReportedState::Failed => ExecutionState::Failed,
    }
}

/// Gives the job's resources back.
pub(crate) fn finish(job: &mut JobMaster, rm: &mut ResourceManager) {
    rm.release(job.id);
    let msg = ToTaskManager::Release {
        job: job.id.to_string(),
    };
    for tm in &job.task_managers {
        if let Err(e) = rm.send(tm, &msg) {
            tracing::debug!("job {}: release at {tm}: {e}", job.id);
        }
    }
    job.pending_requests.clear();
    tracing::info!(
        "job {} ({}) is {}",
        job.spec.name,
        job.id,
        job.status().name()
    );
}
