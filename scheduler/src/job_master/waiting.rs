//! WaitingForSlots (job status CREATED): the job waits until the ResourceManager has as
//! many free slots as its largest parallelism, then deploys to the TaskManagers holding
//! them. It fails when `slot.request.timeout` passes first.

use super::execution::now_ms;
use super::{running::Running, JobEvent, JobMaster, JobState};
use crate::resource_manager::slots::SlotAssignment;
use crate::resource_manager::ResourceManager;
use crate::view::ExecutionState;
use std::time::{Duration, Instant};
use strom_runtime::taskmanager::protocol::{DeployJob, ToTaskManager};

/// Waiting for slots.
pub(crate) struct WaitingForSlots {
    needed: usize,
    timeout: Duration,
    since: Instant,
    /// Slots (total, free) when last checked.
    seen: (u32, u32),
}

impl WaitingForSlots {
    pub(crate) fn new(needed: usize, timeout: Duration) -> Self {
        WaitingForSlots {
            needed,
            timeout,
            since: Instant::now(),
            seen: (0, 0),
        }
    }

    /// What the job waits for, in words.
    pub(crate) fn reason(&self) -> String {
        format!(
            "waiting for {} slots (the job's largest parallelism); the cluster has {} free of {}; gives up after slot.request.timeout = {:?}",
            self.needed, self.seen.1, self.seen.0, self.timeout
        )
    }

    pub(crate) fn on_event(
        mut self,
        job: &mut JobMaster,
        ev: JobEvent<'_>,
        rm: &mut ResourceManager,
    ) -> JobState {
        match ev {
            JobEvent::Cancel => {
                job.executions.all_mut().for_each(|(_, _, e)| {
                    e.transition(ExecutionState::Canceled, now_ms());
                });
                return JobState::Canceled;
            }
            JobEvent::Tick => {}
            // Nothing is deployed yet: nothing else concerns this job.
            _ => return JobState::WaitingForSlots(self),
        }
        self.seen = rm.slot_counts();
        if let Some(slots) = rm.allocate(job.id, self.needed) {
            return deploy(job, slots, rm);
        }
        if self.since.elapsed() >= self.timeout {
            let msg = format!(
                "could not get {} slots within slot.request.timeout = {:?}: the cluster has {} free of {} ({} TaskManagers)",
                self.needed,
                self.timeout,
                self.seen.1,
                self.seen.0,
                rm.task_managers.len()
            );
            job.record_exception("NoResourceAvailableException", msg, None, None, rm);
            job.executions.all_mut().for_each(|(_, _, e)| {
                e.transition(ExecutionState::Failed, now_ms());
            });
            return JobState::Failed;
        }
        JobState::WaitingForSlots(self)
    }
}

/// Sends each TaskManager its part of the job; the job is RUNNING with its tasks DEPLOYING.
fn deploy(job: &mut JobMaster, slots: Vec<SlotAssignment>, rm: &mut ResourceManager) -> JobState {
    let mut tms: Vec<String> = Vec::new();
    for s in &slots {
        if !tms.contains(&s.task_manager) {
            tms.push(s.task_manager.clone());
        }
    }
    let slot_task_managers: Vec<usize> = slots
        .iter()
        .map(|s| tms.iter().position(|t| *t == s.task_manager).unwrap_or(0))
        .collect();
    let local_slots: Vec<u32> = slots.iter().map(|s| s.slot).collect();
    let data_addresses: Vec<_> = tms
        .iter()
        .filter_map(|t| rm.task_managers.get(t).map(|tm| tm.data_address))
        .collect();
    let now = now_ms();
    for (_, subtask, e) in job.executions.all_mut() {
        let tm = &tms[slot_task_managers[subtask as usize]];
        e.task_manager = Some(tm.clone());
        e.endpoint = rm.task_managers.get(tm).map(|t| t.data_address.to_string());
        e.transition(ExecutionState::Scheduled, now);
        e.transition(ExecutionState::Deploying, now);
    }
    job.task_managers = tms.clone();
    let running = Running;
    for (me, tm) in tms.iter().enumerate() {
        let msg = ToTaskManager::Deploy(Box::new(DeployJob {
            job: job.id.to_string(),
            job_key: job.id.0 as u64 ^ (job.id.0 >> 64) as u64,
            name: job.spec.name.clone(),
            builder: job.spec.builder.clone(),
            args: job.spec.args.clone(),
            config: job.spec.config.clone(),
            parallelism: job.spec.parallelism,
            max_parallelism: job.spec.max_parallelism,
            graph_fingerprint: job.graph.fingerprint(),
            slot_task_managers: slot_task_managers.clone(),
            local_slots: local_slots.clone(),
            data_addresses: data_addresses.clone(),
            me,
        }));
        match rm.request(tm, &msg) {
            Ok((conn, rid)) => {
                job.pending_requests.push((conn, rid, tm.clone()));
            }
            Err(e) => {
                let msg = format!("cannot deploy to TaskManager {tm}: {e}");
                job.record_exception("DeploymentFailure", msg, None, Some(tm), rm);
                return running.fail(job, rm);
            }
        }
    }
    JobState::Running(running)
}
