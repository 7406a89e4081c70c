//! What every handler shares: path and query extractors whose rejections are
//! `{"errors"}` answers, job id parsing and lookup, running JobManager calls off the async
//! workers, the clock, and Flink's way of writing doubles.
//!
//! Invariant: a path parameter or query string that cannot be read is a 400 naming it, never
//! axum's plain-text rejection.

use super::error::HttpError;
use super::Ctx;
use crate::view::{ClusterApi, JobId, JobView};
use axum::extract::{FromRequestParts, Path, Query};
use axum::http::request::Parts;
use serde::{Serialize, Serializer};
use std::collections::HashMap;

/// The path parameters of the matched route (`jobid`, `vertexid`, `taskmanagerid`).
pub(crate) struct Params(HashMap<String, String>);

impl Params {
    /// One parameter by name; routes declare the ones their handlers ask for.
    pub(crate) fn get(&self, name: &str) -> Result<&str, HttpError> {
        self.0
            .get(name)
            .map(String::as_str)
            .ok_or_else(|| HttpError::bad_request(format!("missing path parameter {name}")))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, HttpError> {
        match Path::<HashMap<String, String>>::from_request_parts(parts, state).await {
            Ok(Path(map)) => Ok(Params(map)),
            Err(e) => Err(HttpError::bad_request(format!(
                "Bad request, could not parse parameters: {}",
                e.body_text()
            ))),
        }
    }
}

/// The query string as name → value (the last one wins when a name repeats).
pub(crate) struct QueryMap(pub(crate) HashMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for QueryMap {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, HttpError> {
        match Query::<HashMap<String, String>>::from_request_parts(parts, state).await {
            Ok(Query(map)) => Ok(QueryMap(map)),
            Err(e) => Err(HttpError::bad_request(format!(
                "Bad request, could not parse query parameters: {}",
                e.body_text()
            ))),
        }
    }
}

/// Runs `f` against the JobManager on tokio's blocking pool: a slow or blocking
/// [`ClusterApi`] cannot stall the async workers, and a panic in `f` becomes a 500.
pub(crate) async fn blocking<T, F>(ctx: &Ctx, f: F) -> Result<T, HttpError>
where
    T: Send + 'static,
    F: FnOnce(&dyn ClusterApi) -> Result<T, HttpError> + Send + 'static,
{
    let api = ctx.api.clone();
    match tokio::task::spawn_blocking(move || f(api.as_ref())).await {
        Ok(result) => result,
        Err(e) => Err(HttpError::from_join(e)),
    }
}

/// Parses a job id from a path: 400 naming it unless it is 32 hex digits.
pub(crate) fn parse_job_id(raw: &str) -> Result<JobId, HttpError> {
    raw.parse::<JobId>().map_err(|e| {
        HttpError::bad_request(format!("Bad request, could not parse parameters: {e}"))
    })
}

/// The job named by a path parameter: 400 if malformed, 404 naming it if unknown.
pub(crate) fn find_job(api: &dyn ClusterApi, raw: &str) -> Result<JobView, HttpError> {
    let id = parse_job_id(raw)?;
    api.job(id)
        .ok_or_else(|| HttpError::not_found(format!("Job {id} not found")))
}

/// Whether `s` looks like one of Flink's 16-byte ids (32 hex digits).
pub(crate) fn is_hex_id(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Now, in epoch milliseconds.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Flink's duration of something that started at `start` and ended at `end` (-1 = not yet):
/// -1 if it has not started, up to `now` while it runs.
pub(crate) fn duration(start: i64, end: i64, now: i64) -> i64 {
    if start < 0 {
        -1
    } else if end < 0 {
        (now - start).max(0)
    } else {
        (end - start).max(0)
    }
}

/// A double as Flink's Jackson writes it: a number, or the string `"NaN"` / `"Infinity"` /
/// `"-Infinity"` (serde_json would write `null`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Float(pub(crate) f64);

impl Float {
    /// `NaN` for an unknown value.
    pub(crate) fn or_nan(v: Option<f64>) -> Float {
        Float(v.unwrap_or(f64::NAN))
    }
}

impl Serialize for Float {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let v = self.0;
        if v.is_nan() {
            s.serialize_str("NaN")
        } else if v.is_infinite() {
            s.serialize_str(if v > 0.0 { "Infinity" } else { "-Infinity" })
        } else {
            s.serialize_f64(v)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_writes_nan_as_flink_does() {
        let v = serde_json::to_string(&[Float(f64::NAN), Float(0.0), Float(2.5)]).unwrap();
        assert_eq!(v, r#"["NaN",0.0,2.5]"#);
    }

    #[test]
    fn durations() {
        assert_eq!(duration(-1, -1, 10), -1);
        assert_eq!(duration(4, -1, 10), 6);
        assert_eq!(duration(4, 7, 10), 3);
    }
}
