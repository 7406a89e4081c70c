//! Helpers of the cluster tests: `strom` processes killed on drop, a JobManager with its
//! TaskManagers on free ports, REST calls, the CLI, and word count references; [`nexmark`],
//! those of the Nexmark query tests.
#![allow(dead_code)]

pub mod nexmark;

use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const STROM: &str = env!("CARGO_BIN_EXE_strom");

/// A process killed on drop.
pub struct Proc {
    pub child: Child,
    /// The line it printed when ready.
    pub ready: String,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `strom args` and waits (at most 20 s) for its "ready" line on stdout.
pub fn start(exe: &str, args: &[&str]) -> Proc {
    start_env(exe, args, &[])
}

/// [`start`] with extra environment variables.
pub fn start_env(exe: &str, args: &[&str], env: &[(&str, &std::ffi::OsStr)]) -> Proc {
    let mut child = Command::new(exe)
        .args(args)
        .env("STROM_LOG", "info")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("strom starts");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        if let Some(Ok(l)) = lines.next() {
            let _ = tx.send(l);
        }
        for _ in lines {} // keep draining
    });
    let ready = rx
        .recv_timeout(Duration::from_secs(20))
        .unwrap_or_else(|_| panic!("strom {args:?} printed no ready line within 20 s"));
    Proc { child, ready }
}

/// The value of `key=` in a ready line.
pub fn field(line: &str, key: &str) -> String {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("no {key}= in '{line}'"))
        .to_string()
}

/// A JobManager and its TaskManagers.
pub struct Cluster {
    pub jm: Proc,
    pub tms: Vec<Proc>,
    pub rest: String,
    pub rpc: String,
}

/// Heartbeats of the test clusters: frequent, with a timeout that tolerates a busy 2-core
/// machine running many processes (a test that measures detection sets its own).
pub const FAST_HEARTBEATS: [&str; 4] = [
    "-D",
    "heartbeat.interval=100ms",
    "-D",
    "heartbeat.timeout=2s",
];

impl Cluster {
    pub fn start(tm_slots: &[u32], extra: &[&str]) -> Cluster {
        let mut args = vec![
            "jobmanager",
            "-D",
            "rest.port=0",
            "-D",
            "jobmanager.rpc.port=0",
        ];
        args.extend(FAST_HEARTBEATS);
        args.extend(extra);
        let jm = start(STROM, &args);
        let rest = field(&jm.ready, "rest")
            .trim_start_matches("http://")
            .to_string();
        let rpc = field(&jm.ready, "rpc");
        let mut c = Cluster {
            jm,
            tms: Vec::new(),
            rest,
            rpc,
        };
        for s in tm_slots {
            c.add_taskmanager(STROM, *s);
        }
        c.wait_for(
            |o| o["taskmanagers"] == tm_slots.len(),
            "TaskManagers to register",
        );
        c
    }

    pub fn add_taskmanager(&mut self, exe: &str, slots: u32) {
        self.add_taskmanager_env(exe, slots, &[]);
    }

    /// [`Cluster::add_taskmanager`] with extra environment variables.
    pub fn add_taskmanager_env(&mut self, exe: &str, slots: u32, env: &[(&str, &std::ffi::OsStr)]) {
        let slots = slots.to_string();
        let mut args = vec!["taskmanager", "--jobmanager", &self.rpc, "--slots", &slots];
        args.extend(FAST_HEARTBEATS);
        args.extend(["-D", "taskmanager.memory.network.max=8mb"]);
        self.tms.push(start_env(exe, &args, env));
    }

    pub fn get(&self, path: &str) -> Value {
        let url = format!("http://{}{path}", self.rest);
        let mut resp = ureq::get(&url)
            .config()
            .http_status_as_error(false)
            .build()
            .call()
            .unwrap_or_else(|e| panic!("GET {url}: {e}"));
        resp.body_mut().read_json().expect("JSON answer")
    }

    pub fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let url = format!("http://{}{path}", self.rest);
        let mut resp = ureq::post(&url)
            .config()
            .http_status_as_error(false)
            .build()
            .send_json(body)
            .unwrap_or_else(|e| panic!("POST {url}: {e}"));
        (
            resp.status().as_u16(),
            resp.body_mut().read_json().expect("JSON answer"),
        )
    }

    /// Polls /overview until `ok` holds (at most 20 s).
    pub fn wait_for(&self, ok: impl Fn(&Value) -> bool, what: &str) -> Value {
        poll(20, what, || {
            let o = self.get("/overview");
            ok(&o).then_some(o)
        })
    }

    /// Polls a job until its state is `state` (at most `secs`).
    pub fn wait_state(&self, job: &str, state: &str, secs: u64) -> Value {
        poll(secs, &format!("job {job} to be {state}"), || {
            let j = self.get(&format!("/jobs/{job}"));
            (j["state"] == state).then_some(j)
        })
    }

    pub fn submit(&self, job: &str, args: &[&str], parallelism: u32) -> String {
        let (status, v) = self.post(
            "/jobs",
            &serde_json::json!({"job": job, "args": args, "parallelism": parallelism}),
        );
        assert_eq!(status, 202, "submission answered {v}");
        v["jobid"].as_str().expect("jobid").to_string()
    }

    /// `strom VERB -m REST ARGS...`.
    pub fn cli(&self, args: &[&str]) -> Output {
        let mut all: Vec<&str> = vec![args[0], "-m", &self.rest];
        all.extend(&args[1..]);
        run_cli(&all)
    }
}

pub fn poll<T>(secs: u64, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {secs} s waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub fn run_cli(args: &[&str]) -> Output {
    run_strom(args, None)
}

/// Runs `strom ARGS` to its end (at most 60 s; on timeout it is killed and the panic shows
/// its stderr), with `STROM_LOG` set to `log` if given.
pub fn run_strom<S: AsRef<std::ffi::OsStr> + std::fmt::Debug>(
    args: &[S],
    log: Option<&str>,
) -> Output {
    let mut cmd = Command::new(STROM);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(level) = log {
        cmd.env("STROM_LOG", level);
    }
    let mut child = cmd.spawn().expect("strom starts");
    // Drain both pipes while waiting: a job that prints more than a pipe holds would
    // otherwise block on its write and never end.
    let drain = |pipe: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut buf);
            }
            buf
        })
    };
    let out = drain(child.stdout.take().map(|p| Box::new(p) as _));
    let err = drain(child.stderr.take().map(|p| Box::new(p) as _));
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            let stderr = err.join().unwrap_or_default();
            panic!(
                "strom {args:?} did not end within 60 s; stderr:\n{}",
                String::from_utf8_lossy(&stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Output {
        status,
        stdout: out.join().expect("stdout reader"),
        stderr: err.join().expect("stderr reader"),
    }
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Word counts of `text`, as the wordcount job computes them.
pub fn expected_counts(text: &str) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    for w in text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        *m.entry(w.to_lowercase()).or_insert(0) += 1;
    }
    m
}

/// Every `word<TAB>count` line of the files in `dir`.
pub fn read_counts(dir: &Path) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    for f in std::fs::read_dir(dir).expect("output dir") {
        let text = std::fs::read_to_string(f.expect("entry").path()).expect("output file");
        for line in text.lines() {
            let (w, n) = line.split_once('\t').expect("word<TAB>count");
            assert!(
                m.insert(w.to_string(), n.parse().expect("count")).is_none(),
                "{w} twice"
            );
        }
    }
    m
}

pub fn input_file(dir: &Path) -> (std::path::PathBuf, String) {
    let mut s = String::new();
    for i in 0..20_000u32 {
        s.push_str(&format!("alpha beta{} gamma{} Delta\n", i % 97, i % 1013));
    }
    let p = dir.join("input.txt");
    std::fs::write(&p, &s).expect("write input");
    (p, s)
}
