//! A session cluster of real processes on loopback: a JobManager and TaskManagers started
//! from the `strom` binary, jobs submitted through the CLI and the REST API, a TaskManager
//! killed with SIGKILL, a TaskManager from a different build refused, a job that cannot get
//! its slots failing when its wait times out. Every process is killed when its test ends.

use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const STROM: &str = env!("CARGO_BIN_EXE_strom");

/// A process killed on drop.
struct Proc {
    child: Child,
    /// The line it printed when ready.
    ready: String,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `strom args` and waits (at most 20 s) for its "ready" line on stdout.
fn start(exe: &str, args: &[&str]) -> Proc {
    let mut child = Command::new(exe)
        .args(args)
        .env("STROM_LOG", "info")
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
fn field(line: &str, key: &str) -> String {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("no {key}= in '{line}'"))
        .to_string()
}

/// A JobManager and its TaskManagers.
struct Cluster {
    jm: Proc,
    tms: Vec<Proc>,
    rest: String,
    rpc: String,
}

const FAST_HEARTBEATS: [&str; 4] = [
    "-D",
    "heartbeat.interval=100ms",
    "-D",
    "heartbeat.timeout=1s",
];

impl Cluster {
    fn start(tm_slots: &[u32], extra: &[&str]) -> Cluster {
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

    fn add_taskmanager(&mut self, exe: &str, slots: u32) {
        let slots = slots.to_string();
        let mut args = vec!["taskmanager", "--jobmanager", &self.rpc, "--slots", &slots];
        args.extend(FAST_HEARTBEATS);
        args.extend(["-D", "taskmanager.memory.network.max=8mb"]);
        self.tms.push(start(exe, &args));
    }

    fn get(&self, path: &str) -> Value {
        let url = format!("http://{}{path}", self.rest);
        let mut resp = ureq::get(&url)
            .config()
            .http_status_as_error(false)
            .build()
            .call()
            .unwrap_or_else(|e| panic!("GET {url}: {e}"));
        resp.body_mut().read_json().expect("JSON answer")
    }

    fn post(&self, path: &str, body: &Value) -> (u16, Value) {
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
    fn wait_for(&self, ok: impl Fn(&Value) -> bool, what: &str) -> Value {
        poll(20, what, || {
            let o = self.get("/overview");
            ok(&o).then_some(o)
        })
    }

    /// Polls a job until its state is `state` (at most `secs`).
    fn wait_state(&self, job: &str, state: &str, secs: u64) -> Value {
        poll(secs, &format!("job {job} to be {state}"), || {
            let j = self.get(&format!("/jobs/{job}"));
            (j["state"] == state).then_some(j)
        })
    }

    fn submit(&self, job: &str, args: &[&str], parallelism: u32) -> String {
        let (status, v) = self.post(
            "/jobs",
            &serde_json::json!({"job": job, "args": args, "parallelism": parallelism}),
        );
        assert_eq!(status, 202, "submission answered {v}");
        v["jobid"].as_str().expect("jobid").to_string()
    }

    /// `strom VERB -m REST ARGS...`.
    fn cli(&self, args: &[&str]) -> Output {
        let mut all: Vec<&str> = vec![args[0], "-m", &self.rest];
        all.extend(&args[1..]);
        run_cli(&all)
    }
}

fn poll<T>(secs: u64, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
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

fn run_cli(args: &[&str]) -> Output {
    let mut child = Command::new(STROM)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("strom starts");
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("strom {args:?} did not end within 60 s");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.wait_with_output().expect("output")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Word counts of `text`, as the wordcount job computes them.
fn expected_counts(text: &str) -> BTreeMap<String, u64> {
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
fn read_counts(dir: &Path) -> BTreeMap<String, u64> {
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

fn input_file(dir: &Path) -> (std::path::PathBuf, String) {
    let mut s = String::new();
    for i in 0..20_000u32 {
        s.push_str(&format!("alpha beta{} gamma{} Delta\n", i % 97, i % 1013));
    }
    let p = dir.join("input.txt");
    std::fs::write(&p, &s).expect("write input");
    (p, s)
}

#[test]
fn two_jobs_at_once_with_results_and_slots_freed() {
    let cluster = Cluster::start(&[2, 2], &[]);
    let tmp = tempfile::tempdir().expect("tempdir");
    let (input, content) = input_file(tmp.path());
    let out_a = tmp.path().join("a");
    let out_b = tmp.path().join("b");
    let input = input.to_str().expect("utf-8 path");
    // Two jobs of parallelism 2 at once: one per TaskManager, all four slots taken.
    let a = cluster.submit(
        "wordcount",
        &["--input", input, "--output", out_a.to_str().unwrap()],
        2,
    );
    let b = cluster.submit(
        "wordcount",
        &["--input", input, "--output", out_b.to_str().unwrap()],
        2,
    );
    cluster.wait_state(&a, "FINISHED", 60);
    cluster.wait_state(&b, "FINISHED", 60);
    let expected = expected_counts(&content);
    assert_eq!(read_counts(&out_a), expected);
    assert_eq!(read_counts(&out_b), expected);
    // A job across both TaskManagers: its exchange goes over the network stack.
    let out_c = tmp.path().join("c");
    let c = cluster.submit(
        "wordcount",
        &["--input", input, "--output", out_c.to_str().unwrap()],
        4,
    );
    let done = cluster.wait_state(&c, "FINISHED", 60);
    assert_eq!(read_counts(&out_c), expected);
    let endpoints: std::collections::BTreeSet<String> = done["vertices"]
        .as_array()
        .expect("vertices")
        .iter()
        .map(|v| cluster.get(&format!("/jobs/{c}/vertices/{}", v["id"].as_str().unwrap())))
        .flat_map(|v| {
            v["subtasks"]
                .as_array()
                .expect("subtasks")
                .iter()
                .map(|s| s["taskmanager-id"].as_str().unwrap_or("").to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(
        endpoints.len(),
        2,
        "the p=4 job ran on both TaskManagers: {endpoints:?}"
    );
    let o = cluster.wait_for(|o| o["slots-available"] == 4, "slots to be free");
    assert_eq!(o["jobs-finished"], 3);
    assert_eq!(o["jobs-running"], 0);
}

#[test]
fn killed_taskmanager_fails_its_job_and_spares_the_other() {
    let mut cluster = Cluster::start(&[2, 2], &[]);
    let endless = ["--records", "1000000000", "--rate", "20000"];
    let a = cluster.submit("keyed-window", &endless, 2);
    cluster.wait_state(&a, "RUNNING", 20);
    let b = cluster.submit("keyed-window", &endless, 2);
    cluster.wait_state(&b, "RUNNING", 20);
    // Which TaskManager runs job a: its subtasks' endpoint is that TaskManager's data port.
    let job_a = cluster.get(&format!("/jobs/{a}"));
    let vertex = job_a["vertices"][0]["id"]
        .as_str()
        .expect("vertex id")
        .to_string();
    let endpoint = poll(20, "job a's tasks to run", || {
        let v = cluster.get(&format!("/jobs/{a}/vertices/{vertex}"));
        let s = &v["subtasks"][0];
        (s["status"] == "RUNNING").then(|| s["endpoint"].as_str().unwrap_or("").to_string())
    });
    let victim = cluster
        .tms
        .iter()
        .position(|t| field(&t.ready, "data") == endpoint)
        .expect("a TaskManager with job a's data endpoint");
    let killed_at = Instant::now();
    let mut tm = cluster.tms.remove(victim);
    Command::new("kill")
        .args(["-9", &tm.child.id().to_string()])
        .status()
        .expect("kill -9");
    let _ = tm.child.wait();
    let failed = cluster.wait_state(&a, "FAILED", 10);
    let detected = killed_at.elapsed();
    assert!(
        detected < Duration::from_secs(5),
        "failure noticed after {detected:?}"
    );
    let ex = cluster.get(&format!("/jobs/{a}/exceptions"));
    let root = &ex["exceptionHistory"]["entries"][0];
    let trace = root["stacktrace"].as_str().unwrap_or("");
    assert!(
        trace.contains("TaskManager") && trace.contains("lost"),
        "root cause names the lost TaskManager: {ex}"
    );
    assert_eq!(failed["state"], "FAILED");
    // Job b, on the other TaskManager, runs on.
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        cluster.get(&format!("/jobs/{b}/status"))["status"],
        "RUNNING"
    );
    let o = cluster.get("/overview");
    assert_eq!(o["taskmanagers"], 1);
    // The CLI cancels it.
    let out = cluster.cli(&["cancel", &b]);
    assert!(out.status.success(), "cancel: {}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains(&format!("Cancelled job {b}.")),
        "{}",
        text(&out.stdout)
    );
    cluster.wait_for(|o| o["slots-available"] == 2, "job b's slots to be free");
    let list = cluster.cli(&["list", "-a"]);
    let listed = text(&list.stdout);
    assert!(
        listed.contains(&format!("{a} : keyed-window (FAILED)")),
        "{listed}"
    );
    assert!(
        listed.contains(&format!("{b} : keyed-window (CANCELED)")),
        "{listed}"
    );
}

#[test]
fn taskmanager_of_another_build_is_refused() {
    let cluster = Cluster::start(&[], &[]);
    // A copy of the binary with one byte appended: same code, another fingerprint.
    let tmp = tempfile::tempdir().expect("tempdir");
    let other = tmp.path().join("strom-other");
    let mut bytes = std::fs::read(STROM).expect("read strom");
    bytes.push(0);
    std::fs::write(&other, bytes).expect("write copy");
    std::fs::set_permissions(&other, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    let out = run_cli_exe(
        other.to_str().unwrap(),
        &["taskmanager", "--jobmanager", &cluster.rpc, "--slots", "1"],
    );
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("fingerprint mismatch"), "{err}");
    assert_eq!(cluster.get("/overview")["taskmanagers"], 0);
    drop(cluster.jm);
}

fn run_cli_exe(exe: &str, args: &[&str]) -> Output {
    let child = Command::new(exe)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    let pid = child.id();
    let guard = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(30));
        let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
    });
    let out = child.wait_with_output().expect("output");
    drop(guard);
    out
}

#[test]
fn a_job_without_slots_waits_then_fails_with_a_clear_error() {
    let cluster = Cluster::start(&[1], &["-D", "slot.request.timeout=2s"]);
    let id = cluster.submit("keyed-count", &["--records", "1000"], 3);
    let waiting = cluster.get(&format!("/jobs/{id}/status"));
    assert_eq!(waiting["status"], "CREATED");
    let failed = cluster.wait_state(&id, "FAILED", 10);
    assert_eq!(failed["state"], "FAILED");
    let ex = cluster.get(&format!("/jobs/{id}/exceptions"));
    let trace = ex["exceptionHistory"]["entries"][0]["stacktrace"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert!(trace.contains("could not get 3 slots"), "{trace}");
    assert!(trace.contains("1 free of 1"), "{trace}");
    assert_eq!(cluster.get("/overview")["slots-available"], 1);
}

#[test]
fn cli_run_list_cancel_and_bad_input_against_a_real_jobmanager() {
    let cluster = Cluster::start(&[2], &[]);
    let tmp = tempfile::tempdir().expect("tempdir");
    let (input, content) = input_file(tmp.path());
    let out_dir = tmp.path().join("out");
    // Attached run: follows the job to its end.
    let out = cluster.cli(&[
        "run",
        "-p",
        "2",
        "wordcount",
        "--input",
        input.to_str().unwrap(),
        "--output",
        out_dir.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "run -m: {}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("FINISHED"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(read_counts(&out_dir), expected_counts(&content));
    // Detached run, then list --json and cancel.
    let out = cluster.cli(&[
        "run",
        "-d",
        "keyed-window",
        "--records",
        "1000000000",
        "--rate",
        "10000",
    ]);
    assert!(out.status.success(), "run -d: {}", text(&out.stderr));
    let id = text(&out.stdout).trim().to_string();
    assert_eq!(id.len(), 32, "job id printed: {id}");
    cluster.wait_state(&id, "RUNNING", 20);
    let list = cluster.cli(&["list", "--json"]);
    let listed: Value = serde_json::from_slice(&list.stdout).expect("list --json is JSON");
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
    assert_eq!(listed[0]["id"], id.as_str());
    let out = cluster.cli(&["cancel", &id]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    cluster.wait_state(&id, "CANCELED", 20);
    // Bad input: unknown job (checked by the client), unknown id, malformed id, a job the
    // JobManager rejects, and a JobManager that is not there.
    let out = cluster.cli(&["run", "no-such-job"]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("unknown job 'no-such-job'"));
    let out = cluster.cli(&["cancel", "0123456789abcdef0123456789abcdef"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("not found"),
        "{}",
        text(&out.stderr)
    );
    let out = cluster.cli(&["cancel", "xyz"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("not a job id"),
        "{}",
        text(&out.stderr)
    );
    let (status, v) = cluster.post(
        "/jobs",
        &serde_json::json!({"job": "wordcount", "args": ["--input", "/no/such/file"]}),
    );
    assert_eq!(status, 400);
    assert!(
        v["errors"][0]
            .as_str()
            .unwrap_or("")
            .contains("/no/such/file"),
        "{v}"
    );
    let (status, v) = cluster.post(
        "/jobs",
        &serde_json::json!({"job": "keyed-count", "config": {"no.such.key": "1"}}),
    );
    assert_eq!(status, 400);
    assert!(
        v["errors"][0]
            .as_str()
            .unwrap_or("")
            .contains("no.such.key"),
        "{v}"
    );
    let out = run_cli(&["list", "-m", "127.0.0.1:1"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("cannot reach the JobManager"),
        "{}",
        text(&out.stderr)
    );
}
