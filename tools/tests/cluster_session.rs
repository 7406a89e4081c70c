//! A session cluster of real processes on loopback: a JobManager and TaskManagers started
//! from the `strom` binary, jobs submitted through the CLI and the REST API, a TaskManager
//! killed with SIGKILL, a TaskManager from a different build refused, a job that cannot get
//! its slots failing when its wait times out. Every process is killed when its test ends.

mod common;

use common::*;
use serde_json::Value;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

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
    let waiting = cluster.get(&format!("/jobs/{id}"));
    assert_eq!(waiting["state"], "CREATED");
    let reason = waiting["pending-reason"].as_str().unwrap_or("");
    assert!(
        reason.contains("waiting for 3 slots") && reason.contains("1 free of 1"),
        "{waiting}"
    );
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
