//! The real REST server over a fresh [`Fixture`], and a blocking HTTP client for it.

use super::Fixture;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use strom_scheduler::dispatcher::{RestLimits, RestServer};

/// A server on 127.0.0.1:0 over a fresh fixture, and a client for it.
pub struct Harness {
    pub fixture: Arc<Fixture>,
    pub server: RestServer,
    agent: ureq::Agent,
}

/// One answer: status, headers we look at, parsed JSON body.
pub struct Answer {
    pub status: u16,
    pub allow: Option<String>,
    pub content_type: Option<String>,
    pub json: Value,
}

impl Answer {
    /// Reads a response: status, the headers we look at, the JSON body. Panics, naming
    /// `what`, if the request failed or the body is not JSON.
    pub fn read(what: &str, r: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Answer {
        let mut r = r.unwrap_or_else(|e| panic!("{what}: {e}"));
        let header = |name: &str| {
            r.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let (allow, content_type) = (header("allow"), header("content-type"));
        let text = r.body_mut().read_to_string().expect("a body");
        let json = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {text}"));
        Answer {
            status: r.status().as_u16(),
            allow,
            content_type,
            json,
        }
    }
}

impl Harness {
    pub fn start() -> Harness {
        Harness::with_limits(RestLimits::default())
    }

    pub fn with_limits(limits: RestLimits) -> Harness {
        let fixture = Arc::new(Fixture::default());
        let server =
            RestServer::start("127.0.0.1:0".parse().unwrap(), fixture.clone(), limits).unwrap();
        let config = ureq::config::Config::builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(5)))
            .build();
        Harness {
            fixture,
            server,
            agent: ureq::Agent::new_with_config(config),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.server.local_addr())
    }

    pub fn get(&self, path: &str) -> Answer {
        Answer::read("request", self.agent.get(self.url(path)).call())
    }

    pub fn patch(&self, path: &str) -> Answer {
        Answer::read("request", self.agent.patch(self.url(path)).send_empty())
    }

    pub fn post(&self, path: &str, body: &str) -> Answer {
        Answer::read(
            "request",
            self.agent
                .post(self.url(path))
                .header("content-type", "application/json")
                .send(body),
        )
    }

    pub fn put(&self, path: &str) -> Answer {
        Answer::read("request", self.agent.put(self.url(path)).send_empty())
    }

    pub fn delete(&self, path: &str) -> Answer {
        Answer::read("request", self.agent.delete(self.url(path)).call())
    }
}
