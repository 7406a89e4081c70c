//! Bad input to a running JobManager from outside: garbage on its RPC port, malformed or
//! premature TaskManager messages, a registration with impossible values, bad TaskManager
//! flags. Each is refused with a clear message, and the JobManager keeps serving: a real
//! TaskManager registers afterwards and a job runs.

mod common;

use common::*;
use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;
use strom_net::rpc::{RpcEndpoint, RpcLimits};

fn connect(rpc: &str) -> (RpcEndpoint, strom_net::rpc::RpcReceiver) {
    let addr: SocketAddr = rpc.parse().expect("rpc address");
    RpcEndpoint::connect(addr, Duration::from_secs(5), RpcLimits::default()).expect("connect")
}

/// Sends `body` as a request and returns the JobManager's error answer.
fn refused(rpc: &str, body: &str) -> String {
    let (ep, mut rx) = connect(rpc);
    let reader = std::thread::spawn(move || {
        // Route the answer: someone must read.
        for _ in 0..100 {
            if rx.recv(Duration::from_millis(50)).is_err() {
                return;
            }
        }
    });
    let answer = ep.request(body.as_bytes(), Duration::from_secs(5));
    ep.close();
    let _ = reader.join();
    match answer {
        Ok(a) => panic!("accepted: {}", String::from_utf8_lossy(&a)),
        Err(e) => e.to_string(),
    }
}

#[test]
fn the_jobmanager_refuses_bad_taskmanager_input_and_keeps_serving() {
    let mut cluster = Cluster::start(&[], &[]);
    // Not our protocol at all (an HTTP request on the RPC port).
    let mut s = TcpStream::connect(&cluster.rpc).expect("connect");
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("write");
    drop(s);
    // Our framing, but a body that is not a message.
    let e = refused(&cluster.rpc, "{not json");
    assert!(e.contains("malformed registration"), "{e}");
    // A message that is not a registration, first on a connection.
    let e = refused(
        &cluster.rpc,
        r#"{"type":"Heartbeat","free_memory":1,"tasks":[]}"#,
    );
    assert!(e.contains("must be a registration"), "{e}");
    // A registration from another build.
    let reg = |fingerprint: &str, slots: u32| {
        format!(
            r#"{{"type":"Register","fingerprint":"{fingerprint}","version":"x","slots":{slots},"data_address":"127.0.0.1:1","cpu_cores":1,"physical_memory":1,"network_memory":1}}"#
        )
    };
    let e = refused(&cluster.rpc, &reg("0123456789abcdef", 1));
    assert!(e.contains("fingerprint mismatch"), "{e}");
    // Notifications on a connection that never registered count for nothing.
    let (ep, _rx) = connect(&cluster.rpc);
    ep.notify(br#"{"type":"TaskState","job":"00","vertex":0,"subtask":0,"state":"FAILED","error":"x","metrics":{"records_in":0,"records_out":0,"bytes_out":0,"overflow_buffers":0,"idle_ns":0,"backpressured_ns":0,"total_ns":0}}"#)
        .expect("notify");
    ep.close();
    assert_eq!(cluster.get("/overview")["taskmanagers"], 0);
    // Bad TaskManager flags.
    let out = run_cli(&["taskmanager", "--jobmanager", "no-port", "--slots", "1"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("--jobmanager no-port"),
        "{}",
        text(&out.stderr)
    );
    let out = run_cli(&["taskmanager", "--jobmanager", &cluster.rpc, "--slots", "0"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("taskmanager.numberOfTaskSlots"),
        "{}",
        text(&out.stderr)
    );
    let out = run_cli(&[
        "jobmanager",
        "-D",
        "heartbeat.timeout=10ms",
        "-D",
        "heartbeat.interval=100ms",
    ]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("heartbeat.timeout"),
        "{}",
        text(&out.stderr)
    );
    // Still serving: a real TaskManager registers and a job runs.
    cluster.add_taskmanager(STROM, 1);
    cluster.wait_for(|o| o["taskmanagers"] == 1, "the TaskManager to register");
    let id = cluster.submit("keyed-count", &["--records", "10000"], 1);
    cluster.wait_state(&id, "FINISHED", 20);
}
