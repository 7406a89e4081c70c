//! Fixture for `rest_live.rs` only: a [`Cluster`] of a real JobManager and one TaskManager
//! in this process, the two jobs it can run, and a blocking HTTP client for its REST API.

use super::rest_fixture::{assert_shape, flink_sample, Answer};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use strom_runtime::api::StreamEnv;
use strom_runtime::cluster::JobBuilder;
use strom_runtime::config::Configuration;
use strom_runtime::registry::JobRegistry;
use strom_runtime::taskmanager::{TaskManager, TaskManagerError, TaskManagerOptions};
use strom_scheduler::{JobManager, JobManagerOptions};

/// Slots of the TaskManager.
pub const SLOTS: u32 = 2;
/// Parallelism of both jobs: two vertices of two subtasks each.
pub const P: u32 = 2;
/// Records of the bounded job.
pub const BOUNDED_RECORDS: u64 = 10_000;

/// A rate-limited generator (it would take years to end) → key_by → running sum → discard.
fn endless(_args: &[String]) -> Result<JobBuilder, String> {
    Ok(Arc::new(|env: &mut StreamEnv| {
        env.from_generator(1 << 40, Some(20_000.0), |i| (i % 64, 1u64))
            .key_by(|r: &(u64, u64)| r.0)
            .reduce(|(k, a), (_, b)| (k, a + b))
            .discard();
        Ok(())
    }))
}

/// `0..BOUNDED_RECORDS` → key_by → running sum → discard.
fn bounded(_args: &[String]) -> Result<JobBuilder, String> {
    Ok(Arc::new(|env: &mut StreamEnv| {
        env.from_sequence(0, BOUNDED_RECORDS)
            .map(|x| (x % 16, x))
            .key_by(|r: &(u64, u64)| r.0)
            .reduce(|(k, a), (_, b)| (k, a + b))
            .discard();
        Ok(())
    }))
}

fn registry() -> JobRegistry {
    let mut r = JobRegistry::new();
    r.register(
        "live-endless",
        "generator → key_by → reduce → discard",
        endless,
    );
    r.register(
        "live-bounded",
        "sequence → key_by → reduce → discard",
        bounded,
    );
    r
}

fn config(entries: &[(&str, &str)]) -> Configuration {
    let mut c = Configuration::new();
    for (k, v) in entries {
        c.set(k, v, "rest_live").expect("valid configuration");
    }
    c
}

/// A JobManager and one TaskManager (on its own thread), stopped on drop.
pub struct Cluster {
    jm: Option<JobManager>,
    tm_stop: Arc<AtomicBool>,
    tm: Option<JoinHandle<Result<(), TaskManagerError>>>,
    /// The TaskManager's data (network stack) address.
    pub tm_data: SocketAddr,
    agent: ureq::Agent,
}

impl Cluster {
    pub fn start() -> Cluster {
        // A generous timeout: a busy 2-core machine can starve a heartbeat thread.
        let heartbeats = [("heartbeat.interval", "100ms"), ("heartbeat.timeout", "5s")];
        let mut jm_config = vec![("rest.port", "0"), ("jobmanager.rpc.port", "0")];
        jm_config.extend(heartbeats);
        let jm = JobManager::start(JobManagerOptions {
            config: config(&jm_config),
            registry: registry(),
        })
        .expect("the JobManager starts");
        let slots = SLOTS.to_string();
        let mut tm_config = vec![
            ("taskmanager.numberOfTaskSlots", slots.as_str()),
            ("taskmanager.slot.pin-cpus", "false"),
            ("taskmanager.memory.network.max", "8mb"),
        ];
        tm_config.extend(heartbeats);
        let options = TaskManagerOptions {
            jobmanager: jm.rpc_address(),
            config: config(&tm_config),
            registry: registry(),
            stop: Arc::new(AtomicBool::new(false)),
        };
        let tm_stop = options.stop.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        let tm = std::thread::Builder::new()
            .name("rest-live-tm".into())
            .spawn(move || {
                let tm = TaskManager::start(options);
                let _ = tx.send(
                    tm.as_ref()
                        .map(|t| t.data_address())
                        .map_err(|e| e.to_string()),
                );
                tm?.run()
            })
            .expect("TaskManager thread");
        let tm_data = rx
            .recv_timeout(Duration::from_secs(5))
            .expect("the TaskManager reports within 5 s")
            .expect("the TaskManager starts");
        let agent = ureq::Agent::new_with_config(
            ureq::config::Config::builder()
                .http_status_as_error(false)
                .timeout_global(Some(Duration::from_secs(5)))
                .build(),
        );
        Cluster {
            jm: Some(jm),
            tm_stop,
            tm: Some(tm),
            tm_data,
            agent,
        }
    }

    fn url(&self, path: &str) -> String {
        let rest = self.jm.as_ref().expect("running").rest_address();
        format!("http://{rest}{path}")
    }

    pub fn get(&self, path: &str) -> Answer {
        Answer::read(
            &format!("GET {path}"),
            self.agent.get(self.url(path)).call(),
        )
    }

    /// GET `path`, which must answer 200; its JSON.
    pub fn get_ok(&self, path: &str) -> Value {
        let a = self.get(path);
        assert_eq!(a.status, 200, "GET {path}: {}", a.json);
        a.json
    }

    pub fn patch(&self, path: &str) -> Answer {
        Answer::read(
            &format!("PATCH {path}"),
            self.agent.patch(self.url(path)).send_empty(),
        )
    }

    pub fn submit(&self, job: &str) -> String {
        let body = json!({"job": job, "parallelism": P});
        let a = Answer::read(
            "POST /jobs",
            self.agent.post(self.url("/jobs")).send_json(&body),
        );
        assert_eq!(a.status, 202, "POST /jobs: {}", a.json);
        let flink = flink_sample("POST_jars_jarid_run.json");
        assert_shape(&json!({"jobid": flink["jobid"]}), &a.json);
        let id = a.json["jobid"].as_str().expect("jobid").to_string();
        assert_eq!(a.json["jobUrl"], format!("/jobs/{id}"));
        id
    }

    /// Polls `path` until `ok` holds for its JSON (at most `secs`).
    pub fn wait_for(
        &self,
        path: &str,
        secs: u64,
        what: &str,
        ok: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let a = self.get(path);
            if a.status == 200 && ok(&a.json) {
                return a.json;
            }
            assert!(
                Instant::now() < deadline,
                "timed out after {secs} s waiting for {what}; last GET {path}: {}",
                a.json
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    pub fn wait_state(&self, job: &str, state: &str, secs: u64) -> Value {
        self.wait_for(
            &format!("/jobs/{job}"),
            secs,
            &format!("job {job} to be {state}"),
            |j| j["state"] == state,
        )
    }

    /// Sets the TaskManager's stop flag and waits (at most 5 s) for its thread.
    pub fn stop_taskmanager(&mut self) {
        self.tm_stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.tm.take() {
            let deadline = Instant::now() + Duration::from_secs(5);
            while !t.is_finished() {
                if Instant::now() > deadline {
                    // Left behind rather than hanging the test; the process ends anyway.
                    if !std::thread::panicking() {
                        panic!("the TaskManager did not stop within 5 s of its stop flag");
                    }
                    return;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            let ended = t.join().expect("the TaskManager thread did not panic");
            if !std::thread::panicking() {
                ended.expect("the TaskManager ends without an error when stopped");
            }
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop_taskmanager();
        if let Some(jm) = self.jm.take() {
            jm.stop();
        }
    }
}
