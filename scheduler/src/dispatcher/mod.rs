//! The Dispatcher's REST API: Flink's paths and JSON shapes, served by axum.
//!
//! Operators, scripts and dashboards written for Flink's REST API keep working: the paths
//! (`/overview`, `/jobs/overview`, `/jobs/:jobid`, `/taskmanagers`, cancel by
//! `PATCH /jobs/:jobid`, ...), field names, enums and nesting follow Flink 2.3 (samples in
//! `shared/flink-rest/`). Every path is also served under the `/v1` prefix, as Flink does.
//! `GET /openapi.json` describes what is served.
//!
//! Invariants:
//! - the REST layer only reads [`ClusterApi`] snapshots and forwards submit/cancel requests; it
//!   holds no JobManager lock and keeps no state of its own besides the limits;
//! - every answer is JSON; every error is Flink's `{"errors": ["message"]}` with a message
//!   naming what was wrong (the id, the path, the field), and the status code says which
//!   kind: 400 bad input, 404 unknown job / vertex / TaskManager / path, 405 wrong method,
//!   409 conflict, 413 body over [`RestLimits::max_body_bytes`], 500 JobManager failure;
//! - no input panics the server; a panic in a handler (a bug) becomes a 500 for that request
//!   and the server keeps serving;
//! - calls into [`ClusterApi`] run on tokio's blocking pool, so a slow JobManager answer never
//!   stalls the (at most two) async worker threads.
//!
//! Files: `server` (the runtime and [`RestServer`]), `error` (error bodies, 404/405, panics),
//! `common` (extractors, id parsing), `metrics` (per-subtask metrics and their aggregation),
//! `jobs`, `job_details`, `vertices`, `cluster` (the handlers), `openapi`.

mod cluster;
mod common;
mod error;
mod job_details;
mod jobs;
mod metrics;
mod openapi;
mod server;
mod vertices;

pub use error::RestError;
pub use server::{RestServer, SHUTDOWN_GRACE};

use crate::view::ClusterApi;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, MethodRouter};
use axum::Router;
use std::sync::Arc;

/// Limits of the REST server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RestLimits {
    /// Largest request body accepted (bytes); larger bodies get 413. Default 1 MiB.
    pub max_body_bytes: usize,
}

impl Default for RestLimits {
    fn default() -> Self {
        RestLimits {
            max_body_bytes: 1 << 20,
        }
    }
}

/// What every handler gets: the JobManager seam and the limits.
#[derive(Clone)]
pub(crate) struct Ctx {
    /// The JobManager.
    pub(crate) api: Arc<dyn ClusterApi>,
    /// The limits the server was started with.
    pub(crate) limits: RestLimits,
}

/// The whole API: every route under `/` and `/v1`, the 404 fallback, the body limit and the
/// guard that turns panics and bare 405s into `{"errors": [...]}` answers.
pub(crate) fn router(api: Arc<dyn ClusterApi>, limits: RestLimits) -> Router {
    let routes: Vec<(&str, MethodRouter<Ctx>)> = vec![
        ("/config", get(cluster::dashboard_config)),
        ("/overview", get(cluster::overview)),
        ("/jobmanager/config", get(cluster::jobmanager_config)),
        ("/taskmanagers", get(cluster::task_managers)),
        ("/taskmanagers/{taskmanagerid}", get(cluster::task_manager)),
        ("/jobs", get(jobs::list).post(jobs::submit)),
        ("/jobs/overview", get(jobs::overview)),
        (
            "/jobs/{jobid}",
            get(job_details::details).patch(jobs::cancel),
        ),
        ("/jobs/{jobid}/status", get(jobs::status)),
        ("/jobs/{jobid}/plan", get(job_details::plan)),
        ("/jobs/{jobid}/exceptions", get(jobs::exceptions)),
        ("/jobs/{jobid}/vertices/{vertexid}", get(vertices::details)),
        (
            "/jobs/{jobid}/vertices/{vertexid}/backpressure",
            get(vertices::backpressure),
        ),
        ("/openapi.json", get(openapi::serve)),
    ];
    let mut router = Router::new();
    for (path, method_router) in routes {
        router = router
            .route(&format!("/v1{path}"), method_router.clone())
            .route(path, method_router);
    }
    let routes = router
        .fallback(error::not_found)
        .layer(DefaultBodyLimit::max(limits.max_body_bytes))
        .with_state(Ctx { api, limits });
    // The guard wraps the whole inner router (not each route, as `Router::layer` would) so
    // that it sees the `Allow` header axum adds to 405 answers at the router's top level.
    Router::new()
        .fallback_service(routes)
        .layer(axum::middleware::from_fn(error::guard))
}
