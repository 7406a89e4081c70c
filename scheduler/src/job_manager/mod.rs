//! The JobManager process: the ResourceManager, one JobMaster per job, and the Dispatcher's
//! REST API, around one main thread.
//!
//! - `core`: the main thread's state and event handling (every mutation happens there);
//! - `rpc_server`: accepts TaskManager connections, one reader thread each, turning what
//!   arrives into events;
//! - [`api`]: the [`ClusterApi`](crate::view::ClusterApi) the REST layer calls: each call is
//!   an event with a reply channel.
//!
//! Threads: main (owns all state), RPC accept, one reader per TaskManager connection, a
//! ticker, and the REST server's own. Queues between them are bounded.

pub mod api;
pub(crate) mod core;
pub(crate) mod rpc_server;

use crate::dispatcher::{RestLimits, RestServer};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use strom_runtime::config::Configuration;
use strom_runtime::registry::JobRegistry;

/// What a JobManager is started with.
pub struct JobManagerOptions {
    /// Its configuration (`jobmanager.rpc.*`, `rest.*`, `heartbeat.*`, job defaults).
    pub config: Configuration,
    /// The jobs this binary can run.
    pub registry: JobRegistry,
}

/// Why a JobManager could not start.
#[derive(Debug, thiserror::Error)]
pub enum JobManagerError {
    /// Bad configuration.
    #[error(transparent)]
    Config(#[from] strom_runtime::config::ConfigError),
    /// The RPC port could not be bound.
    #[error("cannot listen for TaskManagers on {address} (jobmanager.rpc.address/port): {reason}")]
    Rpc {
        /// Where.
        address: SocketAddr,
        /// Why.
        reason: String,
    },
    /// The REST server did not start.
    #[error("cannot start the REST API (rest.address/rest.port): {0}")]
    Rest(String),
    /// A thread did not start.
    #[error("cannot start a thread: {0}")]
    Thread(String),
}

/// A running JobManager.
pub struct JobManager {
    rpc_address: SocketAddr,
    api: Arc<api::JobManagerApi>,
    rest: Option<RestServer>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl JobManager {
    /// Starts the main thread, the RPC endpoint for TaskManagers and the REST API.
    pub fn start(options: JobManagerOptions) -> Result<JobManager, JobManagerError> {
        let config = options.config;
        let rpc_bind = config.jobmanager_rpc()?;
        let rest_bind = config.rest_address()?;
        let limits = RestLimits {
            max_body_bytes: config.rest_max_content()?,
        };
        let stop = Arc::new(AtomicBool::new(false));
        let (events, rx) = flume::bounded(4096);
        let core = core::Core::new(config, options.registry)?;
        let interval = core.tick_interval();
        let listener = std::net::TcpListener::bind(rpc_bind).map_err(|e| JobManagerError::Rpc {
            address: rpc_bind,
            reason: e.to_string(),
        })?;
        let rpc_address = listener.local_addr().map_err(|e| JobManagerError::Rpc {
            address: rpc_bind,
            reason: e.to_string(),
        })?;
        let spawn = |name: &str, f: Box<dyn FnOnce() + Send>| {
            std::thread::Builder::new()
                .name(name.into())
                .spawn(f)
                .map_err(|e| JobManagerError::Thread(e.to_string()))
        };
        let mut threads = Vec::new();
        {
            let stop = stop.clone();
            threads.push(spawn("jm-main", Box::new(move || core.run(rx, stop)))?);
        }
        {
            let (stop, events) = (stop.clone(), events.clone());
            threads.push(spawn(
                "jm-rpc-accept",
                Box::new(move || rpc_server::accept(listener, events, stop)),
            )?);
        }
        {
            let (stop, events) = (stop.clone(), events.clone());
            threads.push(spawn(
                "jm-ticker",
                Box::new(move || {
                    while !stop.load(Ordering::SeqCst) {
                        std::thread::sleep(interval);
                        if events.send(core::Event::Tick).is_err() {
                            return;
                        }
                    }
                }),
            )?);
        }
        let api = Arc::new(api::JobManagerApi::new(events));
        let rest = RestServer::start(rest_bind, api.clone(), limits).map_err(|e| {
            stop.store(true, Ordering::SeqCst);
            JobManagerError::Rest(e.to_string())
        })?;
        tracing::info!(
            "JobManager: RPC for TaskManagers on {rpc_address}, REST API on http://{}",
            rest.local_addr()
        );
        Ok(JobManager {
            rpc_address,
            api,
            rest: Some(rest),
            stop,
            threads,
        })
    }

    /// Where TaskManagers connect.
    pub fn rpc_address(&self) -> SocketAddr {
        self.rpc_address
    }

    /// The JobManager as the REST API sees it: for code that runs inside the JobManager
    /// process (an application's main, in application mode).
    pub fn api(&self) -> Arc<dyn crate::view::ClusterApi> {
        self.api.clone()
    }

    /// Where the REST API listens.
    pub fn rest_address(&self) -> SocketAddr {
        self.rest
            .as_ref()
            .map(|r| r.local_addr())
            .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)))
    }

    /// Blocks until the JobManager stops (it runs until its process ends).
    pub fn wait(mut self) {
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }

    /// Stops everything and waits for the threads.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(r) = self.rest.take() {
            r.stop();
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl Drop for JobManager {
    fn drop(&mut self) {
        self.shutdown();
    }
}
