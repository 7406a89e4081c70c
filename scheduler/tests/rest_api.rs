//! The Dispatcher's REST API against Flink 2.3's recorded answers: every endpoint's shape
//! (every key of Flink's sample, same JSON type), our values from the fixture, and every kind
//! of bad input answered with Flink's `{"errors": [...]}` and the right status code.
//!
//! This file: the GET endpoints. `rest_api/requests.rs`: cancel, submit and every bad input;
//! `rest_api/server.rs`: the OpenAPI document against what is served, bind errors and stop.

#[path = "rest_api/requests.rs"]
mod requests;
mod rest_fixture;
#[path = "rest_api/server.rs"]
mod server;

use rest_fixture::*;
use serde_json::json;

/// 200, and every key of Flink's `sample` in ours with the same type (no array left empty).
fn shape_ok(sample: &str, ours: &Answer) {
    assert_eq!(ours.status, 200, "{}", ours.json);
    let empty = assert_shape(&flink_sample(sample), &ours.json);
    assert!(empty.is_empty(), "{sample}: our arrays empty at {empty:?}");
}

#[test]
fn config_and_overview() {
    let h = Harness::start();
    let c = h.get("/config");
    shape_ok("GET_config.json", &c);
    expect_fields(
        &c.json,
        &[
            ("/refresh-interval", json!(5000)),
            ("/flink-version", json!("strom 0.1.0")),
            ("/flink-revision", json!("fp-1234")),
            ("/features/web-submit", json!(true)),
            ("/features/web-cancel", json!(true)),
        ],
    );
    let o = h.get("/overview");
    shape_ok("GET_overview.json", &o);
    let expect = json!({"taskmanagers": 1, "slots-total": 2, "slots-available": 0,
        "jobs-running": 1, "jobs-finished": 1, "jobs-cancelled": 0, "jobs-failed": 0,
        "flink-version": "strom 0.1.0", "flink-commit": "fp-1234"});
    assert_eq!(o.json, expect);
    let jm = h.get("/jobmanager/config");
    shape_ok("GET_jobmanager_config.json", &jm);
    assert_eq!(
        jm.json[0],
        json!({"key": "parallelism.default", "value": "2"})
    );
    assert_eq!(jm.json.as_array().unwrap().len(), 3);
}

#[test]
fn jobs_and_overview() {
    let h = Harness::start();
    let l = h.get("/jobs");
    shape_ok("GET_jobs.json", &l);
    let expect = json!({"jobs": [{"id": RUNNING, "status": "RUNNING"},
                                 {"id": FINISHED, "status": "FINISHED"}]});
    assert_eq!(l.json, expect);
    let o = h.get("/jobs/overview");
    shape_ok("GET_jobs_overview.json", &o);
    expect_fields(
        &o.json,
        &[
            ("/jobs/0/jid", json!(RUNNING)),
            ("/jobs/0/name", json!("wordcount-running")),
            ("/jobs/0/jobType", json!("STREAMING")),
            ("/jobs/0/state", json!("RUNNING")),
            ("/jobs/0/start-time", json!(T0)),
            ("/jobs/0/end-time", json!(-1)),
            ("/jobs/0/last-modification", json!(T0 + 8)),
            ("/jobs/0/tasks/running", json!(3)),
            ("/jobs/0/tasks/deploying", json!(1)),
            ("/jobs/0/tasks/total", json!(4)),
            ("/jobs/1/jid", json!(FINISHED)),
            ("/jobs/1/state", json!("FINISHED")),
            ("/jobs/1/duration", json!(10_000)),
            ("/jobs/1/tasks/finished", json!(2)),
        ],
    );
    assert!(o.json["jobs"][0]["duration"].as_i64().unwrap() > 0);
    assert_eq!(o.json["jobs"][0]["tasks"].as_object().unwrap().len(), 11);
    let s = h.get(&format!("/jobs/{RUNNING}/status"));
    assert_eq!(s.json, json!({"status": "RUNNING"}));
    shape_ok(
        "GET_jobs_jobid_status.json",
        &h.get(&format!("/v1/jobs/{FINISHED}/status")),
    );
}

#[test]
fn job_details_running_and_finished() {
    let h = Harness::start();
    let d = h.get(&format!("/jobs/{RUNNING}"));
    shape_ok("GET_jobs_jobid.json", &d);
    let hash = json!({"id": SOURCE, "num": 0, "exchange": "pipelined_bounded",
                      "ship_strategy": "HASH"});
    expect_fields(
        &d.json,
        &[
            ("/jid", json!(RUNNING)),
            ("/name", json!("wordcount-running")),
            ("/state", json!("RUNNING")),
            ("/job-type", json!("STREAMING")),
            ("/start-time", json!(T0)),
            ("/end-time", json!(-1)),
            ("/maxParallelism", json!(128)),
            ("/timestamps/RUNNING", json!(T0 + 8)),
            ("/timestamps/FAILED", json!(0)),
            ("/status-counts/RUNNING", json!(3)),
            ("/status-counts/DEPLOYING", json!(1)),
            ("/vertices/0/id", json!(SOURCE)),
            ("/vertices/0/status", json!("RUNNING")),
            ("/vertices/0/parallelism", json!(2)),
            ("/vertices/0/tasks/RUNNING", json!(2)),
            ("/vertices/0/metrics/write-records", json!(220)),
            ("/vertices/0/metrics/accumulated-busy-time", json!("NaN")),
            ("/vertices/0/start-time", json!(T0 + 100)),
            ("/vertices/1/id", json!(SINK)),
            ("/vertices/1/tasks/RUNNING", json!(1)),
            ("/vertices/1/tasks/DEPLOYING", json!(1)),
            ("/vertices/1/metrics/accumulated-busy-time", json!(40.0)),
            ("/vertices/1/metrics/read-records", json!(220)),
            ("/plan/nodes/0/id", json!(SINK)),
            ("/plan/nodes/0/inputs/0", hash),
            (
                "/plan/nodes/0/description",
                json!("Window<br/>+- Sink: print<br/>"),
            ),
            ("/plan/nodes/1/id", json!(SOURCE)),
        ],
    );
    assert_eq!(d.json["timestamps"].as_object().unwrap().len(), 11);
    assert_eq!(d.json["status-counts"].as_object().unwrap().len(), 10);
    assert!(d.json["plan"]["nodes"][1].get("inputs").is_none());
    let group = &d.json["vertices"][0]["slotSharingGroupId"];
    assert_eq!(group, &d.json["vertices"][1]["slotSharingGroupId"]);

    let f = h.get(&format!("/jobs/{FINISHED}"));
    shape_ok("GET_jobs_jobid_after_cancel.json", &f);
    expect_fields(
        &f.json,
        &[
            ("/state", json!("FINISHED")),
            ("/duration", json!(10_000)),
            ("/timestamps/FINISHED", json!(T0 - 50_000)),
            ("/vertices/0/status", json!("FINISHED")),
            ("/vertices/0/end-time", json!(T0 + 5_000)),
            ("/plan/nodes/0/inputs/0/ship_strategy", json!("REBALANCE")),
        ],
    );
    let p = h.get(&format!("/jobs/{RUNNING}/plan"));
    shape_ok("GET_jobs_jobid_plan.json", &p);
    assert_eq!(p.json["plan"], d.json["plan"]);
}

#[test]
fn exceptions_newest_first() {
    let h = Harness::start();
    let e = h.get(&format!("/jobs/{RUNNING}/exceptions"));
    shape_ok("GET_jobs_jobid_exceptions.json", &e);
    let newest = json!({"exceptionName": "TaskFailure", "stacktrace": "boom: division by zero",
        "timestamp": T0 + 2_000, "taskName": "Window -> Sink: print (2/2)",
        "endpoint": "127.0.0.1:40002", "taskManagerId": TM, "failureLabels": {},
        "concurrentExceptions": []});
    let oldest = json!({"exceptionName": "TaskManagerLost", "stacktrace": "older failure",
        "timestamp": T0 + 1_000, "failureLabels": {}, "concurrentExceptions": []});
    let expect = json!({"exceptionHistory": {"entries": [newest, oldest], "truncated": false}});
    assert_eq!(e.json, expect);
    let one = h.get(&format!("/jobs/{RUNNING}/exceptions?maxExceptions=1"));
    let entries = &one.json["exceptionHistory"]["entries"];
    assert_eq!(entries.as_array().unwrap().len(), 1);
    assert_eq!(one.json["exceptionHistory"]["truncated"], true);
    let none = h.get(&format!("/jobs/{FINISHED}/exceptions"));
    let empty = json!({"exceptionHistory": {"entries": [], "truncated": false}});
    assert_eq!(none.json, empty);
    let bad = h.get(&format!("/jobs/{RUNNING}/exceptions?maxExceptions=x"));
    assert_error(&bad, 400, "maxExceptions");
}

#[test]
fn vertex_details_and_aggregates() {
    let h = Harness::start();
    let v = h.get(&format!("/jobs/{RUNNING}/vertices/{SOURCE}"));
    shape_ok("GET_jobs_jobid_vertices_vertexid.json", &v);
    let write_records = json!({"min": 100, "max": 120, "avg": 110, "sum": 220, "median": 110,
                               "p25": 100, "p75": 120, "p95": 120});
    expect_fields(
        &v.json,
        &[
            ("/id", json!(SOURCE)),
            ("/name", json!("Source: words -> Map")),
            ("/parallelism", json!(2)),
            ("/maxParallelism", json!(128)),
            ("/subtasks/0/subtask", json!(0)),
            ("/subtasks/0/status", json!("RUNNING")),
            ("/subtasks/0/attempt", json!(0)),
            ("/subtasks/0/endpoint", json!("127.0.0.1:40002")),
            ("/subtasks/0/taskmanager-id", json!(TM)),
            ("/subtasks/0/start-time", json!(T0 + 100)),
            ("/subtasks/0/start_time", json!(T0 + 100)),
            ("/subtasks/0/metrics/write-records", json!(100)),
            ("/subtasks/0/metrics/accumulated-busy-time", json!("NaN")),
            ("/subtasks/0/status-duration/CREATED", json!(10)),
            ("/subtasks/0/status-duration/SCHEDULED", json!(30)),
            ("/subtasks/0/status-duration/DEPLOYING", json!(30)),
            ("/subtasks/0/status-duration/INITIALIZING", json!(20)),
            ("/subtasks/1/metrics/write-records", json!(120)),
            ("/aggregated/metrics/write-records", write_records),
            ("/aggregated/metrics/accumulated-busy-time/sum", json!(-2)),
            ("/aggregated/status-duration/CREATED/sum", json!(20)),
        ],
    );
    assert!(
        v.json["subtasks"][0]["status-duration"]["RUNNING"]
            .as_i64()
            .unwrap()
            > 0
    );
    let sink = h.get(&format!("/jobs/{RUNNING}/vertices/{SINK}"));
    expect_fields(
        &sink.json,
        &[
            ("/subtasks/0/metrics/accumulated-busy-time", json!(40.0)),
            ("/subtasks/1/status", json!("DEPLOYING")),
            ("/subtasks/1/start-time", json!(-1)),
            ("/subtasks/1/duration", json!(-1)),
            ("/subtasks/1/status-duration/RUNNING", json!(0)),
        ],
    );
}

#[test]
fn backpressure_levels() {
    let h = Harness::start();
    let b = h.get(&format!("/jobs/{RUNNING}/vertices/{SOURCE}/backpressure"));
    shape_ok("GET_jobs_jobid_vertices_vertexid_backpressure.json", &b);
    let low = json!({"subtask": 1, "backpressureLevel": "low", "ratio": 0.2, "idleRatio": 0.25,
        "busyRatio": "NaN", "backpressure-level": "low"});
    expect_fields(
        &b.json,
        &[
            ("/status", json!("ok")),
            ("/backpressureLevel", json!("high")),
            ("/backpressure-level", json!("high")),
            ("/end-timestamp", json!(T0 + 9_001)),
            ("/subtasks/0/backpressureLevel", json!("high")),
            ("/subtasks/0/ratio", json!(0.6)),
            ("/subtasks/1", low),
        ],
    );
    let s = h.get(&format!("/jobs/{RUNNING}/vertices/{SINK}/backpressure"));
    expect_fields(
        &s.json,
        &[
            ("/backpressureLevel", json!("ok")),
            ("/subtasks/0/busyRatio", json!(0.3)),
        ],
    );
}

#[test]
fn task_managers() {
    let h = Harness::start();
    let l = h.get("/taskmanagers");
    shape_ok("GET_taskmanagers.json", &l);
    expect_fields(
        &l.json["taskmanagers"][0],
        &[
            ("/id", json!(TM)),
            ("/dataPort", json!(40002)),
            ("/slotsNumber", json!(2)),
            ("/freeSlots", json!(0)),
            ("/assignedTasks", json!(4)),
            ("/timeSinceLastHeartbeat", json!(T0 + 9_500)),
            ("/hardware/cpuCores", json!(8)),
            ("/hardware/physicalMemory", json!(16u64 << 30)),
            ("/totalResource/cpuCores", json!(2.0)),
            ("/totalResource/networkMemory", json!(64)),
        ],
    );
    let d = h.get(&format!("/taskmanagers/{TM}"));
    assert_eq!(d.status, 200);
    let empty = assert_shape(
        &flink_sample("GET_taskmanagers_taskmanagerid.json"),
        &d.json,
    );
    assert_eq!(
        empty,
        ["$.metrics.garbageCollectors"],
        "no GC in Rust, nothing else empty"
    );
    expect_fields(
        &d.json,
        &[
            ("/allocatedSlots/0/jobId", json!(RUNNING)),
            ("/allocatedSlots/0/assignedTasks", json!(2)),
            ("/allocatedSlots/1/assignedTasks", json!(2)),
            ("/metrics/nettyShuffleMemoryTotal", json!(64u64 << 20)),
        ],
    );
    assert_eq!(d.json["allocatedSlots"].as_array().unwrap().len(), 2);
}
