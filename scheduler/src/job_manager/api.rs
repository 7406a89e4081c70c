//! The [`ClusterApi`] the REST layer calls: each call becomes an event for the main thread
//! with a reply channel, answered from the main thread's state.

use super::core::{ApiCall, Event};
use crate::view::{
    ApiError, ClusterApi, ClusterOverview, JobId, JobView, SubmitRequest, TaskManagerView,
};
use std::collections::BTreeMap;
use std::time::Duration;

/// How long a REST call waits for the main thread.
const REPLY_TIMEOUT: Duration = Duration::from_secs(10);

/// The JobManager as the REST layer sees it (global handle).
pub struct JobManagerApi {
    events: flume::Sender<Event>,
}

impl JobManagerApi {
    pub(crate) fn new(events: flume::Sender<Event>) -> Self {
        JobManagerApi { events }
    }

    fn call<T: Send + 'static>(
        &self,
        make: impl FnOnce(flume::Sender<T>) -> ApiCall,
    ) -> Result<T, ApiError> {
        let (tx, rx) = flume::bounded(1);
        self.events
            .send(Event::Api(make(tx)))
            .map_err(|_| ApiError::Internal("the JobManager is shutting down".into()))?;
        rx.recv_timeout(REPLY_TIMEOUT).map_err(|_| {
            ApiError::Internal(format!(
                "the JobManager did not answer within {REPLY_TIMEOUT:?}"
            ))
        })
    }
}

impl ClusterApi for JobManagerApi {
    fn overview(&self) -> ClusterOverview {
        self.call(ApiCall::Overview).unwrap_or(ClusterOverview {
            task_managers: 0,
            slots_total: 0,
            slots_available: 0,
            jobs_running: 0,
            jobs_finished: 0,
            jobs_cancelled: 0,
            jobs_failed: 0,
        })
    }

    fn jobs(&self) -> Vec<JobView> {
        self.call(ApiCall::Jobs).unwrap_or_default()
    }

    fn job(&self, id: JobId) -> Option<JobView> {
        self.call(|tx| ApiCall::Job(id, tx)).ok().flatten()
    }

    fn task_managers(&self) -> Vec<TaskManagerView> {
        self.call(ApiCall::TaskManagers).unwrap_or_default()
    }

    fn submit(&self, request: SubmitRequest) -> Result<JobId, ApiError> {
        self.call(|tx| ApiCall::Submit(request, tx))?
    }

    fn cancel(&self, id: JobId) -> Result<(), ApiError> {
        self.call(|tx| ApiCall::Cancel(id, tx))?
    }

    fn config(&self) -> BTreeMap<String, String> {
        self.call(ApiCall::Config).unwrap_or_default()
    }

    fn version(&self) -> (String, String) {
        (
            format!("strom {}", env!("CARGO_PKG_VERSION")),
            format!("{:016x}", strom_runtime::registry::binary_fingerprint()),
        )
    }
}
