//! Heartbeats between real processes: a frozen TaskManager (SIGSTOP keeps its sockets
//! open, so only the missing heartbeats tell) is declared lost after `heartbeat.timeout` and
//! registers again when it thaws; TaskManagers whose JobManager died register with the
//! next one on the same address.

mod common;

use common::*;
use std::process::Command;
use std::time::{Duration, Instant};

fn signal(pid: u32, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .expect("kill runs")
        .success();
    assert!(ok, "kill {sig} {pid}");
}

#[test]
fn a_frozen_taskmanager_is_lost_after_the_heartbeat_timeout_and_comes_back() {
    // The default timeout (1 s): a dead peer is noticed in about a second.
    let cluster = Cluster::start(&[2], &["-D", "heartbeat.timeout=1s"]);
    let job = cluster.submit(
        "keyed-window",
        &["--records", "1000000000", "--rate", "10000"],
        2,
    );
    cluster.wait_state(&job, "RUNNING", 20);
    let pid = cluster.tms[0].child.id();
    signal(pid, "-STOP");
    let frozen = Instant::now();
    let failed = cluster.wait_state(&job, "FAILED", 10);
    let after = frozen.elapsed();
    signal(pid, "-CONT");
    // Declared lost after heartbeat.timeout (1 s here), not long after. The last heartbeat
    // before the freeze may be up to an interval old, and a loaded machine delays both the
    // signal and the check, hence the margins.
    assert!(
        after >= Duration::from_millis(500),
        "lost after only {after:?}"
    );
    assert!(after < Duration::from_secs(8), "lost only after {after:?}");
    assert_eq!(failed["state"], "FAILED");
    let ex = cluster.get(&format!("/jobs/{job}/exceptions"));
    let trace = ex["exceptionHistory"]["entries"][0]["stacktrace"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert!(trace.contains("no heartbeat for"), "{ex}");
    // Thawed, it notices that the JobManager dropped it and registers again, with its
    // slots free (its old tasks were cancelled).
    cluster.wait_for(
        |o| o["taskmanagers"] == 1 && o["slots-available"] == 2,
        "the TaskManager to register again",
    );
    let again = cluster.submit("keyed-count", &["--records", "1000"], 2);
    cluster.wait_state(&again, "FINISHED", 20);
}

#[test]
fn taskmanagers_register_with_a_restarted_jobmanager() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    let rpc_flag = format!("jobmanager.rpc.port={port}");
    let mut jm_args = vec!["jobmanager", "-D", "rest.port=0", "-D", &rpc_flag];
    jm_args.extend(FAST_HEARTBEATS);
    let jm = start(STROM, &jm_args);
    let rpc = format!("127.0.0.1:{port}");
    let mut args = vec!["taskmanager", "--jobmanager", &rpc, "--slots", "1"];
    args.extend(FAST_HEARTBEATS);
    let tm = start(STROM, &args);
    let rest = field(&jm.ready, "rest");
    let overview = |rest: &str| -> serde_json::Value {
        ureq::get(&format!("{rest}/overview"))
            .call()
            .ok()
            .and_then(|mut r| r.body_mut().read_json().ok())
            .unwrap_or_default()
    };
    poll(20, "the TaskManager to register", || {
        (overview(&rest)["taskmanagers"] == 1).then_some(())
    });
    drop(jm); // SIGKILL
    let jm2 = start(STROM, &jm_args);
    let rest2 = field(&jm2.ready, "rest");
    poll(
        20,
        "the TaskManager to register with the new JobManager",
        || (overview(&rest2)["taskmanagers"] == 1).then_some(()),
    );
    drop(tm);
}
