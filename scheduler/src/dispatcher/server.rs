//! [`RestServer`]: the REST API on its own small tokio runtime, on its own threads.
//!
//! Invariants: the listening socket is bound before [`RestServer::start`] returns (so a port
//! in use is an error there, and [`RestServer::local_addr`] is where clients can connect at
//! once); the runtime has at most two async workers and two blocking threads; stopping (or
//! dropping) closes the listener, lets requests in flight finish for up to
//! [`SHUTDOWN_GRACE`], then ends every thread of the server before returning.

use super::error::RestError;
use super::{router, RestLimits};
use crate::view::ClusterApi;
use std::future::IntoFuture;
use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;
use tokio::sync::watch;

/// How long in-flight requests may take to finish once the server is asked to stop.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// A running REST server (owns its tokio runtime on its own threads; dropping it or calling
/// [`RestServer::stop`] shuts it down).
#[derive(Debug)]
pub struct RestServer {
    local_addr: SocketAddr,
    stop: Option<watch::Sender<bool>>,
    thread: Option<JoinHandle<()>>,
}

impl RestServer {
    /// Binds `addr` (`rest.address` / `rest.port`; port 0 = any free port) and serves `api`
    /// on a small tokio runtime (2 worker threads at most) started here.
    pub fn start(
        addr: SocketAddr,
        api: Arc<dyn ClusterApi>,
        limits: RestLimits,
    ) -> Result<RestServer, RestError> {
        let std_listener =
            std::net::TcpListener::bind(addr).map_err(|source| RestError::Bind { addr, source })?;
        let local_addr = std_listener
            .local_addr()
            .map_err(|source| RestError::Bind { addr, source })?;
        std_listener
            .set_nonblocking(true)
            .map_err(RestError::Runtime)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .max_blocking_threads(2)
            .thread_name("strom-rest")
            .enable_io()
            .enable_time()
            .build()
            .map_err(RestError::Runtime)?;
        let listener = {
            let _context = runtime.enter();
            tokio::net::TcpListener::from_std(std_listener).map_err(RestError::Runtime)?
        };
        let app = router(api, limits);
        let (stop, stopped) = watch::channel(false);
        let thread = std::thread::Builder::new()
            .name("strom-rest-main".into())
            .spawn(move || {
                runtime.block_on(serve(listener, app, stopped));
                runtime.shutdown_timeout(Duration::from_millis(200));
            })
            .map_err(RestError::Runtime)?;
        Ok(RestServer {
            local_addr,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// The address the server listens on (with the actual port when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting, lets requests in flight finish (up to [`SHUTDOWN_GRACE`]) and waits
    /// for the server's threads to end.
    pub fn stop(self) {
        drop(self);
    }
}

impl Drop for RestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(true);
        }
        if let Some(thread) = self.thread.take() {
            if thread.thread().id() != std::thread::current().id() {
                let _ = thread.join();
            }
        }
    }
}

/// Serves until `stopped` turns true (or its sender is gone), then shuts down gracefully.
async fn serve(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    mut stopped: watch::Receiver<bool>,
) {
    let mut graceful = stopped.clone();
    let server = axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            let _ = graceful.wait_for(|s| *s).await;
        })
        .into_future();
    let mut task = tokio::spawn(server);
    tokio::select! {
        result = &mut task => match result {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!("REST API stopped: {e}"),
            Err(e) => tracing::error!("REST API stopped: {e}"),
        },
        _ = stopped.wait_for(|s| *s) => {
            if tokio::time::timeout(SHUTDOWN_GRACE, task).await.is_err() {
                tracing::warn!(
                    "REST API: requests still running {SHUTDOWN_GRACE:?} after stop; dropped"
                );
            }
        }
    }
}
