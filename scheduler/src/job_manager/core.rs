//! The JobManager's main thread: all state, all decisions.
//!
//! Invariants: only this thread touches the ResourceManager and the JobMasters; every
//! deployment request in flight is in `pending` until its answer or its TaskManager's loss;
//! terminal jobs are kept (newest [`MAX_ARCHIVED`]) for the REST API.

use super::JobManagerError;
use crate::job_master::{JobEvent, JobMaster, JobSpec};
use crate::resource_manager::{ConnId, ResourceManager};
use crate::view::{
    ApiError, ClusterOverview, JobId, JobStatus, JobView, SubmitRequest, TaskManagerView,
};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use strom_net::rpc::{Incoming, RpcEndpoint};
use strom_runtime::api::StreamEnv;
use strom_runtime::config::Configuration;
use strom_runtime::registry::{binary_fingerprint, JobRegistry};
use strom_runtime::taskmanager::protocol::{decode, encode, ToJobManager};

/// Terminal jobs kept for the REST API.
pub(crate) const MAX_ARCHIVED: usize = 1000;

/// A REST call, with its reply channel.
pub(crate) enum ApiCall {
    Overview(flume::Sender<ClusterOverview>),
    Jobs(flume::Sender<Vec<JobView>>),
    Job(JobId, flume::Sender<Option<JobView>>),
    TaskManagers(flume::Sender<Vec<TaskManagerView>>),
    Submit(SubmitRequest, flume::Sender<Result<JobId, ApiError>>),
    Cancel(JobId, flume::Sender<Result<(), ApiError>>),
    Config(flume::Sender<BTreeMap<String, String>>),
}

/// What reaches the main thread.
pub(crate) enum Event {
    Connected { conn: ConnId, endpoint: RpcEndpoint },
    Message { conn: ConnId, msg: Incoming },
    Closed { conn: ConnId, reason: String },
    Api(ApiCall),
    Tick,
}

/// The main thread's state.
pub(crate) struct Core {
    config: Configuration,
    registry: JobRegistry,
    rm: ResourceManager,
    /// Jobs in submission order.
    jobs: Vec<JobMaster>,
    /// Connections that have not registered yet.
    unregistered: HashMap<ConnId, RpcEndpoint>,
    /// Deployment requests in flight: (connection, request id) → job.
    pending: HashMap<(ConnId, u64), JobId>,
    slot_timeout: Duration,
    last_heartbeat: Instant,
}

impl Core {
    pub(crate) fn new(
        config: Configuration,
        registry: JobRegistry,
    ) -> Result<Self, JobManagerError> {
        let (interval, timeout) = config.heartbeat()?;
        let slot_timeout = config.slot_request_timeout()?;
        let rm = ResourceManager::new(
            format!("{:016x}", binary_fingerprint()),
            format!("strom {}", env!("CARGO_PKG_VERSION")),
            interval,
            timeout,
        );
        Ok(Core {
            config,
            registry,
            rm,
            jobs: Vec::new(),
            unregistered: HashMap::new(),
            pending: HashMap::new(),
            slot_timeout,
            last_heartbeat: Instant::now(),
        })
    }

    /// How often the ticker wakes the main thread.
    pub(crate) fn tick_interval(&self) -> Duration {
        (self.rm.heartbeat_interval / 2).max(Duration::from_millis(5))
    }

    /// Runs until `stop` is set or every sender is gone.
    pub(crate) fn run(mut self, events: flume::Receiver<Event>, stop: Arc<AtomicBool>) {
        while !stop.load(Ordering::SeqCst) {
            match events.recv_timeout(Duration::from_millis(100)) {
                Ok(ev) => self.handle(ev),
                Err(flume::RecvTimeoutError::Timeout) => {}
                Err(flume::RecvTimeoutError::Disconnected) => return,
            }
        }
        for tm in self.rm.task_managers.values() {
            tm.endpoint.close();
        }
    }

    fn handle(&mut self, ev: Event) {
        match ev {
            Event::Connected { conn, endpoint } => {
                self.unregistered.insert(conn, endpoint);
            }
            Event::Message { conn, msg } => {
                self.rm.heard_from(conn);
                self.on_message(conn, msg);
            }
            Event::Closed { conn, reason } => {
                self.unregistered.remove(&conn);
                if let Some(tm) = self.rm.disconnected(conn) {
                    self.task_manager_lost(&tm, &format!("its connection closed ({reason})"));
                }
            }
            Event::Api(call) => self.on_api(call),
            Event::Tick => self.on_tick(),
        }
    }

    fn on_tick(&mut self) {
        if self.last_heartbeat.elapsed() >= self.rm.heartbeat_interval {
            self.rm.send_heartbeats();
            self.last_heartbeat = Instant::now();
        }
        for (tm, silent) in self.rm.expire() {
            let reason = format!(
                "no heartbeat for {} ms (heartbeat.timeout = {} ms)",
                silent.as_millis(),
                self.rm.heartbeat_timeout.as_millis()
            );
            self.task_manager_lost(&tm, &reason);
        }
        self.each_live_job(|job, rm| job.handle(JobEvent::Tick, rm));
    }

    fn task_manager_lost(&mut self, tm: &str, reason: &str) {
        tracing::warn!("TaskManager {tm} lost: {reason}");
        // Answers can no longer come from a connection that is gone.
        let rm = &self.rm;
        self.pending.retain(|(conn, _), _| rm.is_registered(*conn));
        self.each_live_job(|job, rm| {
            job.handle(
                JobEvent::TaskManagerLost {
                    task_manager: tm,
                    reason,
                },
                rm,
            )
        });
    }

    /// Runs `f` on every job that has not ended, then collects their new requests.
    fn each_live_job(&mut self, mut f: impl FnMut(&mut JobMaster, &mut ResourceManager)) {
        for job in self.jobs.iter_mut().filter(|j| !j.status().is_terminal()) {
            f(job, &mut self.rm);
            for (conn, rid, _) in job.pending_requests.drain(..) {
                self.pending.insert((conn, rid), job.id);
            }
        }
    }

    fn job_mut(&mut self, id: JobId) -> Option<&mut JobMaster> {
        self.jobs.iter_mut().find(|j| j.id == id)
    }

    fn on_message(&mut self, conn: ConnId, msg: Incoming) {
        match msg {
            Incoming::Request { id, body } => self.on_request(conn, id, &body),
            Incoming::Notify { body } => {
                let Some(tm) = self.rm.on_conn(conn).map(|t| t.id.clone()) else {
                    return; // not registered: nothing it says counts
                };
                match decode::<ToJobManager>(&body, "TaskManager message", &tm) {
                    Ok(ToJobManager::Heartbeat(hb)) => {
                        if let Some(t) = self.rm.on_conn(conn) {
                            t.free_memory = hb.free_memory;
                        }
                        let now = crate::job_master::execution::now_ms();
                        for c in hb.tasks {
                            let Ok(id) = c.job.parse::<JobId>() else {
                                continue;
                            };
                            if let Some(e) = self
                                .job_mut(id)
                                .and_then(|j| j.executions.get_mut(c.vertex, c.subtask))
                            {
                                e.sample(c.metrics, now);
                            }
                        }
                    }
                    Ok(ToJobManager::TaskState(update)) => {
                        let Ok(id) = update.job.parse::<JobId>() else {
                            tracing::warn!(
                                "TaskManager {tm}: task state for a malformed job id '{}'",
                                update.job
                            );
                            return;
                        };
                        if let Some(job) = self.jobs.iter_mut().find(|j| j.id == id) {
                            let rm = &mut self.rm;
                            job.handle(
                                JobEvent::TaskEnded {
                                    task_manager: &tm,
                                    update: &update,
                                },
                                rm,
                            );
                        }
                    }
                    Ok(ToJobManager::Register(_)) => {
                        tracing::warn!("TaskManager {tm}: a registration must be a request");
                    }
                    Err(e) => tracing::warn!("{e}"),
                }
            }
            Incoming::Response { id, result } => {
                let Some(job_id) = self.pending.remove(&(conn, id)) else {
                    return;
                };
                let tm = self
                    .rm
                    .on_conn(conn)
                    .map(|t| t.id.clone())
                    .unwrap_or_default();
                if let Some(job) = self.jobs.iter_mut().find(|j| j.id == job_id) {
                    let rm = &mut self.rm;
                    job.handle(
                        JobEvent::DeployAnswer {
                            task_manager: &tm,
                            result: result.map(|_| ()),
                        },
                        rm,
                    );
                }
            }
        }
    }

    fn on_request(&mut self, conn: ConnId, id: u64, body: &[u8]) {
        let Some(endpoint) = self.unregistered.get(&conn).cloned() else {
            if let Some(tm) = self.rm.on_conn(conn) {
                let _ = tm.endpoint.respond_error(id, "unexpected request");
            }
            return;
        };
        let peer = endpoint.peer();
        let answer = match decode::<ToJobManager>(body, "registration", peer) {
            Ok(ToJobManager::Register(r)) => self.rm.register(conn, endpoint.clone(), r),
            Ok(_) => Err("the first message on a connection must be a registration".into()),
            Err(e) => Err(e.to_string()),
        };
        match answer {
            Ok(registered) => {
                self.unregistered.remove(&conn);
                tracing::info!(
                    "TaskManager {} registered ({} slots)",
                    registered.task_manager_id,
                    self.rm.on_conn(conn).map(|t| t.slots.len()).unwrap_or(0)
                );
                let _ = endpoint.respond(id, &encode(&registered));
                // Jobs waiting for slots may fit now.
                self.each_live_job(|job, rm| job.handle(JobEvent::Tick, rm));
            }
            Err(why) => {
                tracing::warn!("refused a TaskManager from {peer}: {why}");
                let _ = endpoint.respond_error(id, &why);
            }
        }
    }

    fn on_api(&mut self, call: ApiCall) {
        match call {
            ApiCall::Overview(tx) => {
                let _ = tx.send(self.overview());
            }
            ApiCall::Jobs(tx) => {
                let _ = tx.send(self.jobs.iter().rev().map(|j| j.view()).collect());
            }
            ApiCall::Job(id, tx) => {
                let _ = tx.send(self.jobs.iter().find(|j| j.id == id).map(|j| j.view()));
            }
            ApiCall::TaskManagers(tx) => {
                let jobs = &self.jobs;
                let _ = tx.send(self.rm.view(|tm| jobs.iter().map(|j| j.tasks_on(tm)).sum()));
            }
            ApiCall::Submit(req, tx) => {
                let r = self.submit(req);
                let _ = tx.send(r);
            }
            ApiCall::Cancel(id, tx) => {
                let r = match self.jobs.iter_mut().find(|j| j.id == id) {
                    None => Err(ApiError::NotFound(format!("Job {id} not found"))),
                    Some(j) if j.status().is_terminal() => Err(ApiError::Conflict(format!(
                        "Job {id} has already ended ({})",
                        j.status().name()
                    ))),
                    Some(j) => {
                        let rm = &mut self.rm;
                        j.handle(JobEvent::Cancel, rm);
                        Ok(())
                    }
                };
                let _ = tx.send(r);
            }
            ApiCall::Config(tx) => {
                let _ = tx.send(
                    self.config
                        .entries()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect(),
                );
            }
        }
    }

    fn overview(&self) -> ClusterOverview {
        let (slots_total, slots_available) = self.rm.slot_counts();
        let count = |s: JobStatus| self.jobs.iter().filter(|j| j.status() == s).count() as u32;
        ClusterOverview {
            task_managers: self.rm.task_managers.len() as u32,
            slots_total,
            slots_available,
            jobs_running: self
                .jobs
                .iter()
                .filter(|j| !j.status().is_terminal())
                .count() as u32,
            jobs_finished: count(JobStatus::Finished),
            jobs_cancelled: count(JobStatus::Canceled),
            jobs_failed: count(JobStatus::Failed),
        }
    }

    /// Builds the job's graph here (validation), then lets its JobMaster wait for slots.
    fn submit(&mut self, req: SubmitRequest) -> Result<JobId, ApiError> {
        let registered = self.registry.get(&req.job).ok_or_else(|| {
            let known: Vec<&str> = self.registry.iter().map(|j| j.name).collect();
            ApiError::BadRequest(format!(
                "unknown job '{}'; this cluster's binary has: {}",
                req.job,
                known.join(", ")
            ))
        })?;
        let mut config = self.config.clone();
        for (k, v) in &req.config {
            config
                .set(k, v, "the submitted job's config")
                .map_err(|e| ApiError::BadRequest(e.to_string()))?;
        }
        let bad = |e: strom_runtime::config::ConfigError| ApiError::BadRequest(e.to_string());
        let parallelism = match req.parallelism {
            Some(0) => {
                return Err(ApiError::BadRequest(
                    "parallelism must be at least 1".into(),
                ))
            }
            Some(p) => p,
            None => config.default_parallelism().map_err(bad)?.unwrap_or(1) as u32,
        };
        let max_parallelism = config.max_parallelism().map_err(bad)? as u32;
        let name = req.name.clone().unwrap_or_else(|| req.job.clone());
        // User code (argument parsing, the builder) must not take the JobManager down.
        let built = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let builder = (registered.make)(&req.args)
                .map_err(|e| ApiError::BadRequest(format!("job '{}': {e}", req.job)))?;
            let mut env = StreamEnv::new(&name, parallelism, max_parallelism);
            builder(&mut env)
                .and_then(|_| env.into_graph())
                .map_err(|e| ApiError::BadRequest(format!("invalid job: {e}")))
        }))
        .map_err(|_| ApiError::BadRequest(format!("job '{}': its builder panicked", req.job)))?;
        let graph = built?;
        let id = JobId::generate();
        let spec = JobSpec {
            name,
            builder: req.job,
            args: req.args,
            config,
            parallelism,
            max_parallelism,
        };
        tracing::info!(
            "job {} ({id}) submitted: {} slots needed",
            spec.name,
            graph.slots_needed()
        );
        let mut job = JobMaster::new(id, spec, graph, self.slot_timeout);
        job.handle(JobEvent::Tick, &mut self.rm);
        for (conn, rid, _) in job.pending_requests.drain(..) {
            self.pending.insert((conn, rid), id);
        }
        self.jobs.push(job);
        self.archive();
        Ok(id)
    }

    /// Drops the oldest terminal jobs beyond [`MAX_ARCHIVED`].
    fn archive(&mut self) {
        let terminal = self
            .jobs
            .iter()
            .filter(|j| j.status().is_terminal())
            .count();
        let mut extra = terminal.saturating_sub(MAX_ARCHIVED);
        self.jobs.retain(|j| {
            if extra > 0 && j.status().is_terminal() {
                extra -= 1;
                false
            } else {
                true
            }
        });
    }
}
