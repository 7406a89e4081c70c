//! The client side of `strom submit / list / cancel / wait`: a blocking client of a running
//! JobManager's Flink-compatible REST API, and Flink's CLI output layout.
//!
//! ```no_run
//! use strom_tools::client::{format_list, RestClient};
//!
//! let client = RestClient::new("127.0.0.1:8081")?;
//! print!("{}", format_list(&client.jobs_overview()?, true));
//! # Ok::<(), strom_tools::client::ClientError>(())
//! ```
//!
//! Endpoints and shapes are Flink's: `POST /jobs` (body: [`SubmitRequest`], answer 202
//! `{"jobid": ...}`), `GET /jobs/overview`, `GET /jobs/:id`, `GET /jobs/:id/status`,
//! `GET /jobs/:id/exceptions`, `PATCH /jobs/:id?mode=cancel`; failures are 4xx/5xx with
//! `{"errors": [...]}`.

mod format;
mod json;

pub use format::{
    format_cancelled, format_cancelling, format_job_line, format_job_line_in, format_list,
    format_list_in, format_submitted, format_time, format_time_in,
};

use serde::Serialize;
use serde_json::Value;
use std::fmt;
use std::time::{Duration, Instant};
use strom_scheduler::view::{JobId, JobStatus, SubmitRequest};

/// Connect and read timeouts unless [`RestClient::with_timeouts`] says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// Largest answer read (a job's details with many vertices stay far below).
const MAX_BODY: u64 = 64 << 20;

/// A job as `GET /jobs/overview` lists it (Flink's `JobDetails`); serializes with snake_case
/// field names, the id as 32 hex digits and the state as Flink's name (`RUNNING`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JobSummary {
    /// Its id.
    pub id: JobId,
    /// Its name.
    pub name: String,
    /// Its state.
    pub state: JobStatus,
    /// Submission time (epoch ms).
    pub start_time: i64,
    /// End time (epoch ms), or -1 while it runs.
    pub end_time: i64,
    /// How long it ran or has been running (ms).
    pub duration_ms: i64,
    /// Subtasks in all.
    pub tasks_total: u32,
    /// Subtasks running.
    pub tasks_running: u32,
    /// Subtasks finished.
    pub tasks_finished: u32,
}

/// Why a call to the JobManager failed. Each message names the JobManager's address or the
/// request, and what went wrong.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The address given is not `HOST:PORT` or `http://HOST:PORT`.
    #[error("'{address}' is not a JobManager address: {reason}; expected HOST:PORT or http://HOST:PORT, e.g. 127.0.0.1:8081")]
    BadAddress {
        /// The address as given.
        address: String,
        /// What is wrong with it.
        reason: String,
    },
    /// No connection could be made (refused, no such host, connect timeout, reset).
    #[error("cannot reach the JobManager at {address}: {reason}; is it running? (start one with `strom jobmanager` or `strom cluster start`)")]
    Unreachable {
        /// `HOST:PORT`.
        address: String,
        /// What the network said.
        reason: String,
    },
    /// The JobManager answered with an error status.
    #[error("{method} {path} on the JobManager at {address} failed with HTTP {status}{}", ErrorList(.errors))]
    Http {
        /// `HOST:PORT`.
        address: String,
        /// `GET`, `POST`, `PATCH`.
        method: &'static str,
        /// The request's path and query (`/jobs/<jid>?mode=cancel`).
        path: String,
        /// The HTTP status code.
        status: u16,
        /// The messages of its `{"errors": [...]}`, or the body as text if it was not that
        /// (empty if the body was).
        errors: Vec<String>,
    },
    /// The JobManager answered 2xx with something this client cannot read.
    #[error("{method} {path} on the JobManager at {address} gave an answer that cannot be read: {detail}")]
    BadResponse {
        /// `HOST:PORT`.
        address: String,
        /// `GET`, `POST`, `PATCH`.
        method: &'static str,
        /// The request's path.
        path: String,
        /// What is wrong (which field, what was expected).
        detail: String,
    },
    /// Something took longer than allowed: an answer (read timeout) or a job to end
    /// ([`RestClient::wait`]).
    #[error("timed out after {} waiting for {what}", Secs(*.after))]
    Timeout {
        /// What was waited for.
        what: String,
        /// How long.
        after: Duration,
        /// For [`RestClient::wait`]: the job's state when it gave up.
        last_status: Option<JobStatus>,
    },
}

impl ClientError {
    /// A hint for the caller: whether the same call may succeed if tried again later (the
    /// JobManager is not up yet, is busy, or was slow), as opposed to an error in the request
    /// or the answer that a retry repeats.
    pub fn retry(&self) -> bool {
        match self {
            ClientError::Unreachable { .. } | ClientError::Timeout { .. } => true,
            ClientError::Http { status, .. } => matches!(status, 429 | 502 | 503 | 504),
            ClientError::BadAddress { .. } | ClientError::BadResponse { .. } => false,
        }
    }

    /// The HTTP status, for [`ClientError::Http`].
    pub fn http_status(&self) -> Option<u16> {
        match self {
            ClientError::Http { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// `: a; b` after an HTTP error status, or nothing.
struct ErrorList<'a>(&'a [String]);

impl fmt::Display for ErrorList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for e in self.0.iter().filter(|e| !e.trim().is_empty()) {
            f.write_str(if first { ": " } else { "; " })?;
            f.write_str(e.trim())?;
            first = false;
        }
        Ok(())
    }
}

/// A duration as `5 s`, `1.5 s` or `200 ms`.
struct Secs(Duration);

impl fmt::Display for Secs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0.as_millis();
        if ms < 1000 {
            write!(f, "{ms} ms")
        } else if self.0.subsec_millis() == 0 {
            write!(f, "{} s", ms / 1000)
        } else {
            write!(f, "{:.1} s", self.0.as_secs_f64())
        }
    }
}

/// A blocking client of one JobManager's REST API. Cheap to clone (connections are pooled).
#[derive(Debug, Clone)]
pub struct RestClient {
    /// `HOST:PORT`.
    address: String,
    /// `http://HOST:PORT`.
    base: String,
    connect_timeout: Duration,
    read_timeout: Duration,
    agent: ureq::Agent,
}

#[derive(Clone, Copy)]
enum Method {
    Get,
    Post,
    Patch,
}

impl Method {
    fn name(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Patch => "PATCH",
        }
    }
}

impl RestClient {
    /// A client of the JobManager at `address`: `HOST:PORT` or `http://HOST:PORT` (a trailing
    /// `/` is allowed; IPv6 hosts in brackets, `[::1]:8081`). Nothing is sent yet.
    pub fn new(address: &str) -> Result<RestClient, ClientError> {
        let hostport = parse_address(address).map_err(|reason| ClientError::BadAddress {
            address: address.to_string(),
            reason,
        })?;
        Ok(RestClient {
            base: format!("http://{hostport}"),
            agent: agent(DEFAULT_TIMEOUT, DEFAULT_TIMEOUT),
            address: hostport,
            connect_timeout: DEFAULT_TIMEOUT,
            read_timeout: DEFAULT_TIMEOUT,
        })
    }

    /// The same client with other timeouts: `connect` for making a connection, `read` for each
    /// step of sending the request and receiving the answer.
    pub fn with_timeouts(mut self, connect: Duration, read: Duration) -> RestClient {
        self.connect_timeout = connect;
        self.read_timeout = read;
        self.agent = agent(connect, read);
        self
    }

    /// `HOST:PORT` of the JobManager.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// `http://HOST:PORT`.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// `POST /jobs`: submits a job; returns its id once the JobManager accepted it (it runs in
    /// the background).
    pub fn submit(&self, req: &SubmitRequest) -> Result<JobId, ClientError> {
        let body = serde_json::to_value(req).expect("a SubmitRequest always serializes");
        let path = "/jobs";
        let v = self.call_json(Method::Post, path, Some(&body))?;
        json::submit_answer(&v).map_err(|d| self.bad(Method::Post, path, d))
    }

    /// `GET /jobs/overview`: every job the JobManager knows, in its order (Flink: newest first).
    pub fn jobs_overview(&self) -> Result<Vec<JobSummary>, ClientError> {
        let path = "/jobs/overview";
        let v = self.call_json(Method::Get, path, None)?;
        let read = || -> Result<Vec<JobSummary>, json::Wrong> {
            let obj = json::object(&v, "")?;
            let jobs = json::field(obj, "jobs", "")?;
            let jobs = jobs
                .as_array()
                .ok_or_else(|| "field `jobs`: expected an array".to_string())?;
            jobs.iter()
                .enumerate()
                .map(|(i, j)| json::job_details(j, &format!("jobs[{i}]")))
                .collect()
        };
        read().map_err(|d| self.bad(Method::Get, path, d))
    }

    /// `GET /jobs/:id`: the job's details as the JobManager sent them (for `--json` and
    /// detailed views).
    pub fn job(&self, id: JobId) -> Result<Value, ClientError> {
        self.call_json(Method::Get, &format!("/jobs/{id}"), None)
    }

    /// `GET <path>` (e.g. `/overview`, `/taskmanagers`): any JSON answer, as sent. `path`
    /// starts with `/`.
    pub fn get(&self, path: &str) -> Result<Value, ClientError> {
        self.call_json(Method::Get, path, None)
    }

    /// `GET /jobs/:id` read as a [`JobSummary`] (subtask counts summed over its vertices).
    pub fn summary(&self, id: JobId) -> Result<JobSummary, ClientError> {
        let path = format!("/jobs/{id}");
        let v = self.call_json(Method::Get, &path, None)?;
        json::job_detail_summary(&v).map_err(|d| self.bad(Method::Get, &path, d))
    }

    /// `GET /jobs/:id/status`: the job's state.
    pub fn status(&self, id: JobId) -> Result<JobStatus, ClientError> {
        let path = format!("/jobs/{id}/status");
        let v = self.call_json(Method::Get, &path, None)?;
        json::job_status(&v).map_err(|d| self.bad(Method::Get, &path, d))
    }

    /// `GET /jobs/:id/exceptions`: the stack traces of the job's failures, oldest first.
    pub fn exceptions(&self, id: JobId) -> Result<Vec<String>, ClientError> {
        let path = format!("/jobs/{id}/exceptions");
        let v = self.call_json(Method::Get, &path, None)?;
        json::exception_history(&v).map_err(|d| self.bad(Method::Get, &path, d))
    }

    /// `PATCH /jobs/:id?mode=cancel`: asks the job to cancel; returns once the JobManager
    /// accepted (the job may still be `CANCELLING`; [`RestClient::wait`] waits for the end).
    pub fn cancel(&self, id: JobId) -> Result<(), ClientError> {
        self.call(Method::Patch, &format!("/jobs/{id}?mode=cancel"), None)
            .map(drop)
    }

    /// Polls the job (`GET /jobs/:id`) every `poll` until it is terminal (`FINISHED`,
    /// `CANCELED`, `FAILED`) and returns that state; `on_tick` sees every poll's summary,
    /// the last one included. With a `timeout`, gives up with [`ClientError::Timeout`] (with
    /// the last state seen) once it has passed; without one, waits as long as it takes. An
    /// error of any poll (JobManager gone, job unknown) ends the wait with that error.
    pub fn wait(
        &self,
        id: JobId,
        poll: Duration,
        timeout: Option<Duration>,
        mut on_tick: impl FnMut(&JobSummary),
    ) -> Result<JobStatus, ClientError> {
        let poll = poll.max(Duration::from_millis(10));
        let start = Instant::now();
        loop {
            let summary = self.summary(id)?;
            on_tick(&summary);
            if summary.state.is_terminal() {
                return Ok(summary.state);
            }
            let mut sleep = poll;
            if let Some(limit) = timeout {
                let elapsed = start.elapsed();
                if elapsed >= limit {
                    return Err(ClientError::Timeout {
                        what: format!(
                            "job {id} to end (still {} on the JobManager at {})",
                            summary.state.name(),
                            self.address
                        ),
                        after: limit,
                        last_status: Some(summary.state),
                    });
                }
                sleep = sleep.min(limit - elapsed);
            }
            std::thread::sleep(sleep);
        }
    }

    fn bad(&self, method: Method, path: &str, detail: String) -> ClientError {
        ClientError::BadResponse {
            address: self.address.clone(),
            method: method.name(),
            path: path.to_string(),
            detail,
        }
    }

    /// A request whose 2xx answer must be JSON.
    fn call_json(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, ClientError> {
        let text = self.call(method, path, body)?;
        serde_json::from_str(&text).map_err(|e| {
            let detail = if text.trim().is_empty() {
                "the body is empty, expected JSON".to_string()
            } else {
                format!("not JSON ({e}): {}", snippet(&text))
            };
            self.bad(method, path, detail)
        })
    }

    /// A request; the body of its 2xx answer, or the error.
    fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<String, ClientError> {
        let url = format!("{}{}", self.base, path);
        let result = match (method, body) {
            (Method::Get, _) => self.agent.get(&url).call(),
            (Method::Post, Some(b)) => self.agent.post(&url).send_json(b),
            (Method::Post, None) => self.agent.post(&url).send_empty(),
            (Method::Patch, Some(b)) => self.agent.patch(&url).send_json(b),
            (Method::Patch, None) => self.agent.patch(&url).send_empty(),
        };
        let mut resp = result.map_err(|e| self.transport_error(method, path, e))?;
        let status = resp.status().as_u16();
        let text = resp
            .body_mut()
            .with_config()
            .limit(MAX_BODY)
            .read_to_string()
            .map_err(|e| self.transport_error(method, path, e))?;
        if (200..300).contains(&status) {
            return Ok(text);
        }
        let errors = json::errors(&text).unwrap_or_else(|| {
            let t = text.trim();
            if t.is_empty() {
                Vec::new()
            } else {
                vec![snippet(t)]
            }
        });
        Err(ClientError::Http {
            address: self.address.clone(),
            method: method.name(),
            path: path.to_string(),
            status,
            errors,
        })
    }

    fn transport_error(&self, method: Method, path: &str, e: ureq::Error) -> ClientError {
        use ureq::Timeout as T;
        let unreachable = |reason: String| ClientError::Unreachable {
            address: self.address.clone(),
            reason,
        };
        match e {
            ureq::Error::Io(io) => unreachable(io_reason(&io)),
            ureq::Error::HostNotFound => unreachable("no such host".to_string()),
            ureq::Error::ConnectionFailed => unreachable("connection failed".to_string()),
            ureq::Error::Timeout(T::Resolve) => unreachable(format!(
                "resolving the host took over {}",
                Secs(self.connect_timeout)
            )),
            ureq::Error::Timeout(T::Connect) => unreachable(format!(
                "no connection within {}",
                Secs(self.connect_timeout)
            )),
            ureq::Error::Timeout(_) => ClientError::Timeout {
                what: format!(
                    "the answer to {} {path} from the JobManager at {}",
                    method.name(),
                    self.address
                ),
                after: self.read_timeout,
                last_status: None,
            },
            other => self.bad(method, path, other.to_string()),
        }
    }
}

/// An I/O error in words, without the `(os error N)` noise where the kind says it all.
fn io_reason(e: &std::io::Error) -> String {
    use std::io::ErrorKind as K;
    match e.kind() {
        K::ConnectionRefused => "connection refused".to_string(),
        K::ConnectionReset => "connection reset".to_string(),
        K::ConnectionAborted => "connection aborted".to_string(),
        K::UnexpectedEof => "the connection closed before an answer".to_string(),
        _ => e.to_string(),
    }
}

/// At most ~300 characters of `s`, on one line.
fn snippet(s: &str) -> String {
    let one_line: String = s
        .trim()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    match one_line.char_indices().nth(300) {
        Some((i, _)) => format!("{}...", &one_line[..i]),
        None => one_line,
    }
}

fn agent(connect: Duration, read: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        // A JobManager is reached directly, as Flink's RestClient does: no HTTP_PROXY.
        .proxy(None)
        .max_redirects(0)
        .timeout_resolve(Some(connect))
        .timeout_connect(Some(connect))
        .timeout_send_request(Some(read))
        .timeout_send_body(Some(read))
        .timeout_recv_response(Some(read))
        .timeout_recv_body(Some(read))
        .user_agent(concat!("strom/", env!("CARGO_PKG_VERSION")))
        .build()
        .new_agent()
}

/// `HOST:PORT` from `HOST:PORT` or `http://HOST:PORT[/]`, or what is wrong with it.
fn parse_address(address: &str) -> Result<String, String> {
    let a = address.trim();
    if a.is_empty() {
        return Err("it is empty".to_string());
    }
    let rest = match a.find("://") {
        Some(i) => {
            let scheme = &a[..i];
            if scheme.eq_ignore_ascii_case("http") {
                &a[i + 3..]
            } else if scheme.eq_ignore_ascii_case("https") {
                return Err(
                    "https is not supported (the JobManager's REST API is plain http)".to_string(),
                );
            } else {
                return Err(format!("unknown scheme '{scheme}'"));
            }
        }
        None => a,
    };
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if let Some(c) = rest.chars().find(|c| matches!(c, '/' | '?' | '#' | '@')) {
        return Err(format!(
            "unexpected '{c}' (give only the host and port, no path)"
        ));
    }
    let (host, port) = if let Some(inner) = rest.strip_prefix('[') {
        let (v6, after) = inner
            .split_once(']')
            .ok_or_else(|| "missing ']' after the IPv6 address".to_string())?;
        v6.parse::<std::net::Ipv6Addr>()
            .map_err(|_| format!("'{v6}' is not an IPv6 address"))?;
        let port = after
            .strip_prefix(':')
            .ok_or_else(|| "missing the port (':PORT' after the host)".to_string())?;
        (&rest[..v6.len() + 2], port)
    } else {
        let (host, port) = rest
            .rsplit_once(':')
            .ok_or_else(|| "missing the port (':PORT' after the host)".to_string())?;
        if host.contains(':') {
            return Err("write an IPv6 host in brackets, e.g. [::1]:8081".to_string());
        }
        if host.is_empty() {
            return Err("missing the host".to_string());
        }
        if let Some(c) = host
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_')))
        {
            return Err(format!("'{c}' is not allowed in a host name"));
        }
        (host, port)
    };
    match port.parse::<u16>() {
        Ok(p) if p > 0 => Ok(format!("{host}:{p}")),
        _ => Err(format!("'{port}' is not a port (1-65535)")),
    }
}
