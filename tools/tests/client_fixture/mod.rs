//! Fixture for `cli_client.rs` only: a tiny_http [`TestServer`] answering with canned
//! [`Answer`]s and recording every request it [`Seen`], and the Flink 2.3 samples of
//! `tests/fixtures/flink-rest/` it serves.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::{json, Value};
use strom_scheduler::view::JobId;
use strom_tools::client::RestClient;

pub const RUNNING_JOB: &str = "43ab04b4497bacfd64b455ca0d7f9d70";

fn samples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/flink-rest")
}

pub fn sample(name: &str) -> String {
    let p = samples().join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// A canned answer: status, body, content type.
#[derive(Clone)]
pub struct Answer(pub u16, pub String, pub &'static str);

pub fn ok_json(body: impl Into<String>) -> Answer {
    Answer(200, body.into(), "application/json")
}

/// One request as the server saw it: method, URL (path and query), body.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub url: String,
    pub body: String,
}

type Handler = dyn Fn(&Seen) -> Answer + Send + Sync;

/// A tiny_http server on 127.0.0.1 answering with `handler`, until dropped.
pub struct TestServer {
    server: Arc<tiny_http::Server>,
    port: u16,
    seen: Arc<Mutex<Vec<Seen>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl TestServer {
    pub fn start(handler: impl Fn(&Seen) -> Answer + Send + Sync + 'static) -> TestServer {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("bind"));
        let port = server.server_addr().to_ip().expect("ip").port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let handler: Arc<Handler> = Arc::new(handler);
        let thread = {
            let (server, seen, stop) = (server.clone(), seen.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let mut req = match server.recv_timeout(Duration::from_millis(50)) {
                        Ok(Some(r)) => r,
                        Ok(None) => continue,
                        Err(_) => break,
                    };
                    let mut body = String::new();
                    let _ = req.as_reader().read_to_string(&mut body);
                    let s = Seen {
                        method: req.method().as_str().to_string(),
                        url: req.url().to_string(),
                        body,
                    };
                    seen.lock().unwrap().push(s.clone());
                    // One thread per request, so a slow answer does not hold up the others.
                    let handler = handler.clone();
                    std::thread::spawn(move || {
                        let Answer(status, body, ctype) = handler(&s);
                        let resp = tiny_http::Response::from_string(body)
                            .with_status_code(status)
                            .with_header(
                                tiny_http::Header::from_bytes("Content-Type", ctype).unwrap(),
                            );
                        let _ = req.respond(resp);
                    });
                }
            })
        };
        TestServer {
            server,
            port,
            seen,
            stop,
            thread: Some(thread),
        }
    }

    /// Serves `routes` (exact path, query ignored) for GET; 404 with Flink's error otherwise.
    pub fn routes(routes: &[(&str, String)]) -> TestServer {
        let routes: Vec<(String, String)> = routes
            .iter()
            .map(|(p, b)| (p.to_string(), b.clone()))
            .collect();
        TestServer::start(move |s| {
            let path = s.url.split('?').next().unwrap_or("");
            match routes.iter().find(|(p, _)| p == path) {
                Some((_, body)) if s.method == "GET" => ok_json(body.clone()),
                _ => not_found(path),
            }
        })
    }

    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn client(&self) -> RestClient {
        RestClient::new(&self.address())
            .unwrap()
            .with_timeouts(Duration::from_secs(2), Duration::from_secs(2))
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

pub fn not_found(path: &str) -> Answer {
    Answer(
        404,
        json!({ "errors": [format!("Not found: {path}")] }).to_string(),
        "application/json",
    )
}

pub fn id(s: &str) -> JobId {
    s.parse().unwrap()
}

/// The lines of a `flink` CLI transcript after its `# exit code` and `Waiting for response...`.
pub fn transcript(name: &str) -> String {
    sample(name)
        .lines()
        .filter(|l| !l.starts_with('$') && !l.starts_with('#') && *l != "Waiting for response...")
        .map(|l| format!("{l}\n"))
        .collect()
}

/// `GET /jobs/:id` answers with the sample's details in the given states, one per call (the
/// last one repeated).
pub fn job_in_states(states: &[&'static str]) -> TestServer {
    let detail: Value = serde_json::from_str(&sample("GET_jobs_jobid.json")).unwrap();
    let states = Mutex::new(states.iter().copied().collect::<VecDeque<_>>());
    TestServer::start(move |s| {
        if s.url != format!("/jobs/{RUNNING_JOB}") {
            return not_found(&s.url);
        }
        let mut q = states.lock().unwrap();
        let state = if q.len() > 1 {
            q.pop_front().unwrap()
        } else {
            q[0]
        };
        let mut d = detail.clone();
        d["state"] = json!(state);
        ok_json(d.to_string())
    })
}
