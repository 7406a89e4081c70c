//! A job's part on this TaskManager: rebuilt from its builder, planned for the slots placed
//! here, spawned on the slots, and its task reports forwarded to the JobManager.
//!
//! Global handles only (`Send`): the per-slot work happens in [`SlotDeploy`] on each slot.

use super::protocol::{
    encode, DeployJob, ReportedState, TaskCounters, TaskStateUpdate, ToJobManager,
};
use crate::api::StreamEnv;
use crate::cluster::job::TaskReport;
use crate::cluster::plan::{plan, Placement};
use crate::cluster::slot_deploy::{JobSettings, SlotDeploy};
use crate::registry::JobRegistry;
use crate::slot::executor::SlotPool;
use crate::task::run::TaskEnd;
use crate::task::TaskMetrics;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use strom_net::rpc::RpcEndpoint;
use strom_net::{NetworkEnvironment, PartitionId};

/// A job deployed here.
pub(crate) struct LocalJob {
    cancel: Arc<AtomicBool>,
    metrics: Vec<(u32, u32, Arc<TaskMetrics>)>,
    partitions: Vec<PartitionId>,
}

impl LocalJob {
    /// Asks the job's tasks here to stop.
    pub(crate) fn cancel(&self) {
        self.cancel.store(true, Ordering::SeqCst);
    }

    /// The tasks' counters.
    pub(crate) fn counters(&self, job: &str) -> impl Iterator<Item = TaskCounters> + '_ {
        let job = job.to_string();
        self.metrics.iter().map(move |(v, s, m)| TaskCounters {
            job: job.clone(),
            vertex: *v,
            subtask: *s,
            metrics: m.snapshot(),
        })
    }

    /// Cancels and gives back what the job's partitions hold.
    pub(crate) fn release(self, net: &NetworkEnvironment) {
        self.cancel();
        for id in self.partitions {
            if let Err(e) = net.release_partition(id) {
                tracing::warn!("releasing partition {:032x}: {e}", id.0);
            }
        }
    }
}

/// Checks a deployment's placement against this TaskManager.
fn check(d: &DeployJob, slots: usize) -> Result<(), String> {
    if d.me >= d.data_addresses.len() {
        return Err(format!(
            "deployment names TaskManager {} of {}",
            d.me,
            d.data_addresses.len()
        ));
    }
    if d.local_slots.len() != d.slot_task_managers.len() {
        return Err("deployment: local_slots and slot_task_managers differ in length".into());
    }
    for (s, tm) in d.slot_task_managers.iter().enumerate() {
        if *tm >= d.data_addresses.len() {
            return Err(format!(
                "deployment: logical slot {s} on unknown TaskManager {tm}"
            ));
        }
        if *tm == d.me && d.local_slots[s] as usize >= slots {
            return Err(format!(
                "deployment: logical slot {s} on local slot {}, but this TaskManager has {slots}",
                d.local_slots[s]
            ));
        }
    }
    Ok(())
}

/// Deploys a job's subtasks placed here; their reports go to the JobManager over `jm`.
pub(crate) fn deploy(
    d: &DeployJob,
    registry: &JobRegistry,
    slots: &SlotPool,
    net: &NetworkEnvironment,
    jm: RpcEndpoint,
) -> Result<LocalJob, String> {
    check(d, slots.len())?;
    let registered = registry.get(&d.builder).ok_or_else(|| {
        format!(
            "job '{}' is not registered in this TaskManager's binary",
            d.builder
        )
    })?;
    let builder = (registered.make)(&d.args)?;
    let mut env = StreamEnv::new(&d.name, d.parallelism, d.max_parallelism);
    builder(&mut env).map_err(|e| format!("rebuilding the job: {e}"))?;
    let (graph, _) = env
        .build()
        .map_err(|e| format!("rebuilding the job: {e}"))?;
    if graph.fingerprint() != d.graph_fingerprint {
        return Err("this TaskManager rebuilt a different job graph than the JobManager (the job's builder is not deterministic)".into());
    }
    let js = JobSettings::from_config(&d.config).map_err(|e| e.to_string())?;
    let placement = Placement {
        slot_task_managers: &d.slot_task_managers,
        me: d.me,
        data_addresses: &d.data_addresses,
        net: Some(net),
        job_key: d.job_key,
    };
    let local = plan(&graph, js.exchange, &placement)?;
    let cancel = Arc::new(AtomicBool::new(false));
    let metrics = local
        .tasks
        .iter()
        .map(|t| (t.vertex, t.subtask, t.metrics.clone()))
        .collect::<Vec<_>>();
    let job = LocalJob {
        cancel: cancel.clone(),
        metrics: metrics.clone(),
        partitions: local.partitions,
    };
    // Each task reports exactly once: a queue of that size never blocks.
    let (tx, rx) = flume::bounded(local.tasks.len().max(1));
    let mut per_slot: Vec<Vec<_>> = (0..slots.len()).map(|_| Vec::new()).collect();
    for t in local.tasks {
        per_slot[d.local_slots[t.subtask as usize] as usize].push(t);
    }
    let graph = Arc::new(graph);
    let started: Arc<dyn Fn(u32, u32) + Send + Sync> = {
        let (jm, job) = (jm.clone(), d.job.clone());
        Arc::new(move |vertex, subtask| {
            let msg = ToJobManager::TaskState(TaskStateUpdate {
                job: job.clone(),
                vertex,
                subtask,
                state: ReportedState::Running,
                error: None,
                metrics: Default::default(),
            });
            if let Err(e) = jm.notify(&encode(&msg)) {
                tracing::debug!("job {job}: cannot report a task running: {e}");
            }
        })
    };
    for (slot, deployments) in per_slot.into_iter().enumerate() {
        if deployments.is_empty() {
            continue;
        }
        let ctx = SlotDeploy {
            name: d.name.clone(),
            builder: builder.clone(),
            graph: graph.clone(),
            parallelism: d.parallelism,
            max_parallelism: d.max_parallelism,
            deployments,
            reports: tx.clone(),
            on_started: Some(started.clone()),
            cancel: cancel.clone(),
            settings: js.task,
            buffer_timeout: js.buffer_timeout,
        };
        if slots.run_on(slot, Box::new(move || ctx.run())).is_err() {
            job.release(net);
            return Err(format!("slot {slot} of this TaskManager is not running"));
        }
    }
    drop(tx);
    let id = d.job.clone();
    let forward = move || forward_reports(&id, rx, &metrics, &jm);
    std::thread::Builder::new()
        .name(format!("reports-{}", &d.job[..8.min(d.job.len())]))
        .spawn(forward)
        .map_err(|e| format!("cannot start a thread: {e}"))?;
    Ok(job)
}

/// Sends each task's end to the JobManager, until every task here has reported.
fn forward_reports(
    job: &str,
    reports: flume::Receiver<TaskReport>,
    metrics: &[(u32, u32, Arc<TaskMetrics>)],
    jm: &RpcEndpoint,
) {
    for r in reports.iter() {
        let (state, error) = match r.outcome {
            Ok(TaskEnd::Finished) => (ReportedState::Finished, None),
            Ok(TaskEnd::Canceled) => (ReportedState::Canceled, None),
            Err(e) => (ReportedState::Failed, Some(e.to_string())),
        };
        let snapshot = metrics
            .iter()
            .find(|(v, s, _)| *v == r.vertex && *s == r.subtask)
            .map(|(_, _, m)| m.snapshot())
            .unwrap_or_default();
        let msg = ToJobManager::TaskState(TaskStateUpdate {
            job: job.to_string(),
            vertex: r.vertex,
            subtask: r.subtask,
            state,
            error,
            metrics: snapshot,
        });
        if let Err(e) = jm.notify(&encode(&msg)) {
            // The JobManager is gone; it will see the tasks as lost with this TaskManager.
            tracing::warn!("job {job}: cannot report a task's end to the JobManager: {e}");
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployment() -> DeployJob {
        DeployJob {
            job: "00000000000000000000000000000001".into(),
            job_key: 1,
            name: "j".into(),
            builder: "j".into(),
            args: vec![],
            config: Default::default(),
            parallelism: 2,
            max_parallelism: 128,
            graph_fingerprint: 0,
            slot_task_managers: vec![0, 1],
            local_slots: vec![0, 0],
            data_addresses: vec![
                "127.0.0.1:1".parse().expect("addr"),
                "127.0.0.1:2".parse().expect("addr"),
            ],
            me: 0,
        }
    }

    #[test]
    fn a_deployment_that_does_not_fit_this_taskmanager_is_refused() {
        assert!(check(&deployment(), 1).is_ok());
        let mut d = deployment();
        d.me = 2;
        assert!(check(&d, 1).unwrap_err().contains("TaskManager 2 of 2"));
        let mut d = deployment();
        d.local_slots = vec![0];
        assert!(check(&d, 1).unwrap_err().contains("differ in length"));
        let mut d = deployment();
        d.slot_task_managers = vec![0, 5];
        assert!(check(&d, 1).unwrap_err().contains("unknown TaskManager 5"));
        let mut d = deployment();
        d.local_slots = vec![3, 0];
        assert!(check(&d, 2).unwrap_err().contains("this TaskManager has 2"));
    }
}
