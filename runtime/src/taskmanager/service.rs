//! A TaskManager process's control loop: register with the JobManager, heartbeat, deploy
//! and cancel what it is told, and re-register when the JobManager is lost.
//!
//! One thread runs this loop and owns the jobs table; task reports go out from one thread
//! per job (see `jobs.rs`). A JobManager that is silent for `heartbeat.timeout` is
//! lost: every job here is cancelled and released (the JobManager has failed them), and the
//! TaskManager registers again until `taskmanager.registration.timeout` passes.

use super::jobs::{deploy, LocalJob};
use super::protocol::{
    decode, encode, Registered, Registration, TaskManagerHeartbeat, ToJobManager, ToTaskManager,
};
use super::TaskManagerError;
use crate::config::Configuration;
use crate::registry::{binary_fingerprint, JobRegistry};
use crate::slot::executor::{SlotPool, SlotSettings};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use strom_net::rpc::{Incoming, RpcEndpoint, RpcLimits, RpcReceiver};
use strom_net::NetworkEnvironment;

/// What a TaskManager process is started with.
pub struct TaskManagerOptions {
    /// The JobManager's RPC address.
    pub jobmanager: SocketAddr,
    /// Its configuration (`taskmanager.numberOfTaskSlots`, network keys, ...).
    pub config: Configuration,
    /// The jobs its binary can run.
    pub registry: JobRegistry,
    /// Set to stop the TaskManager (it then returns from [`TaskManager::run`]).
    pub stop: Arc<AtomicBool>,
}

/// A TaskManager: slots, a network stack, and a connection to its JobManager.
pub struct TaskManager {
    options: TaskManagerOptions,
    slots: SlotPool,
    net: NetworkEnvironment,
    jobs: HashMap<String, LocalJob>,
    interval: Duration,
    timeout: Duration,
}

/// How a registered session ended.
enum SessionEnd {
    Stopped,
    JobManagerLost(String),
}

impl TaskManager {
    /// Starts the slots and the network stack.
    pub fn start(options: TaskManagerOptions) -> Result<Self, TaskManagerError> {
        let config = &options.config;
        let settings = SlotSettings::from_config(config)?;
        let net =
            NetworkEnvironment::start(config.taskmanager_data_address()?, config.net_config()?)
                .map_err(|e| TaskManagerError::Network(e.to_string()))?;
        let slots = SlotPool::start(&settings)?;
        let (interval, timeout) = config.heartbeat()?;
        Ok(TaskManager {
            options,
            slots,
            net,
            jobs: HashMap::new(),
            interval,
            timeout,
        })
    }

    /// The network stack's address.
    pub fn data_address(&self) -> SocketAddr {
        self.net.local_addr()
    }

    /// Registers and serves until stopped, or until no JobManager takes the registration
    /// within `taskmanager.registration.timeout`, or the JobManager refuses it.
    pub fn run(mut self) -> Result<(), TaskManagerError> {
        let give_up = self.options.config.registration_timeout()?;
        loop {
            let (jm, rx, registered) = self.register(give_up)?;
            tracing::info!(
                "registered with the JobManager at {} as {}",
                self.options.jobmanager,
                registered.task_manager_id
            );
            self.interval = Duration::from_millis(registered.heartbeat_interval_ms.max(1));
            self.timeout = Duration::from_millis(registered.heartbeat_timeout_ms.max(2));
            let end = self.serve(&jm, rx);
            jm.close();
            for (_, job) in self.jobs.drain() {
                job.release(&self.net);
            }
            match end {
                SessionEnd::Stopped => return Ok(()),
                SessionEnd::JobManagerLost(why) => {
                    tracing::warn!("lost the JobManager: {why}; its jobs here are cancelled; registering again")
                }
            }
        }
    }

    fn stopped(&self) -> bool {
        self.options.stop.load(Ordering::SeqCst)
    }

    /// Connects and registers, retrying until `give_up` has passed.
    fn register(
        &self,
        give_up: Duration,
    ) -> Result<(RpcEndpoint, RpcReceiver, Registered), TaskManagerError> {
        let start = Instant::now();
        let mut last = String::new();
        while start.elapsed() < give_up && !self.stopped() {
            match self.try_register() {
                Ok(r) => return Ok(r),
                Err(TaskManagerError::Refused(why)) => return Err(TaskManagerError::Refused(why)),
                Err(e) => {
                    let e = e.to_string();
                    if e != last {
                        tracing::info!(
                            "cannot register with the JobManager at {} yet: {e}",
                            self.options.jobmanager
                        );
                        last = e;
                    }
                    std::thread::sleep(Duration::from_millis(200));
                }
            }
        }
        Err(TaskManagerError::RegistrationTimeout {
            jobmanager: self.options.jobmanager,
            waited: give_up,
            last,
        })
    }

    fn try_register(&self) -> Result<(RpcEndpoint, RpcReceiver, Registered), TaskManagerError> {
        let jm_addr = self.options.jobmanager;
        let (jm, mut rx) = RpcEndpoint::connect(jm_addr, self.timeout, RpcLimits::default())
            .map_err(|e| TaskManagerError::Rpc(e.to_string()))?;
        let (cpu_cores, physical_memory, _) = host_info();
        let registration = ToJobManager::Register(Registration {
            fingerprint: format!("{:016x}", binary_fingerprint()),
            version: format!("strom {}", env!("CARGO_PKG_VERSION")),
            slots: self.slots.len() as u32,
            data_address: self.net.local_addr(),
            cpu_cores,
            physical_memory,
            network_memory: self.options.config.net_config()?.network_buffers as u64
                * self.options.config.segment_size()? as u64,
        });
        let id = jm
            .send_request(&encode(&registration))
            .map_err(|e| TaskManagerError::Rpc(e.to_string()))?;
        let deadline = Instant::now() + self.timeout.max(Duration::from_secs(5));
        while Instant::now() < deadline {
            match rx.recv(Duration::from_millis(100)) {
                Ok(Some(Incoming::Response { id: rid, result })) if rid == id => {
                    return match result {
                        Ok(body) => {
                            let r = decode::<Registered>(&body, "registration answer", jm_addr)
                                .map_err(|e| TaskManagerError::Rpc(e.to_string()))?;
                            Ok((jm, rx, r))
                        }
                        Err(why) => Err(TaskManagerError::Refused(why)),
                    };
                }
                Ok(_) => {}
                Err(e) => return Err(TaskManagerError::Rpc(e.to_string())),
            }
        }
        Err(TaskManagerError::Rpc(
            "the JobManager did not answer the registration".into(),
        ))
    }

    /// Serves one registered session.
    fn serve(&mut self, jm: &RpcEndpoint, mut rx: RpcReceiver) -> SessionEnd {
        let mut last_heard = Instant::now();
        let mut last_sent = Instant::now() - self.interval;
        loop {
            if self.stopped() {
                return SessionEnd::Stopped;
            }
            if last_sent.elapsed() >= self.interval {
                if let Err(e) = jm.notify(&encode(&self.heartbeat())) {
                    return SessionEnd::JobManagerLost(format!("sending a heartbeat failed: {e}"));
                }
                last_sent = Instant::now();
            }
            if last_heard.elapsed() > self.timeout {
                return SessionEnd::JobManagerLost(format!(
                    "no heartbeat for {:?} (heartbeat.timeout)",
                    self.timeout
                ));
            }
            let wait = self
                .interval
                .saturating_sub(last_sent.elapsed())
                .max(Duration::from_millis(1));
            match rx.recv(wait) {
                Ok(None) => {}
                Ok(Some(msg)) => {
                    last_heard = Instant::now();
                    self.handle(jm, msg);
                }
                Err(e) => return SessionEnd::JobManagerLost(e.to_string()),
            }
        }
    }

    fn heartbeat(&self) -> ToJobManager {
        ToJobManager::Heartbeat(TaskManagerHeartbeat {
            free_memory: host_info().2,
            tasks: self
                .jobs
                .iter()
                .flat_map(|(id, j)| j.counters(id))
                .collect(),
        })
    }

    fn handle(&mut self, jm: &RpcEndpoint, msg: Incoming) {
        let (request, body) = match msg {
            Incoming::Request { id, body } => (Some(id), body),
            Incoming::Notify { body } => (None, body),
            Incoming::Response { .. } => return,
        };
        let msg = match decode::<ToTaskManager>(&body, "JobManager message", jm.peer()) {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!("{e}");
                if let Some(id) = request {
                    let _ = jm.respond_error(id, &e.to_string());
                }
                return;
            }
        };
        match msg {
            ToTaskManager::Heartbeat => {}
            ToTaskManager::Deploy(d) => {
                let result = if self.jobs.contains_key(&d.job) {
                    Err(format!("job {} is already deployed here", d.job))
                } else {
                    deploy(
                        &d,
                        &self.options.registry,
                        &self.slots,
                        &self.net,
                        jm.clone(),
                    )
                };
                let answer = match result {
                    Ok(job) => {
                        self.jobs.insert(d.job.clone(), job);
                        Ok(())
                    }
                    Err(e) => {
                        tracing::warn!("job {} ({}): deployment failed: {e}", d.name, d.job);
                        Err(e)
                    }
                };
                if let Some(id) = request {
                    let sent = match answer {
                        Ok(()) => jm.respond(id, b"{}"),
                        Err(e) => jm.respond_error(id, &e),
                    };
                    if let Err(e) = sent {
                        tracing::warn!("cannot answer a deployment: {e}");
                    }
                }
            }
            ToTaskManager::Cancel { job } => {
                if let Some(j) = self.jobs.get(&job) {
                    j.cancel();
                }
            }
            ToTaskManager::Release { job } => {
                if let Some(j) = self.jobs.remove(&job) {
                    j.release(&self.net);
                }
            }
        }
    }
}

/// CPUs, physical memory and available memory of this machine (from /proc/meminfo).
fn host_info() -> (u32, u64, u64) {
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get() as u32)
        .unwrap_or(1);
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let field = |name: &str| {
        meminfo
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .map(|kb| kb * 1024)
            .unwrap_or(0)
    };
    (cpus, field("MemTotal:"), field("MemAvailable:"))
}
