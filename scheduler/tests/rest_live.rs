//! The REST API of a real JobManager with a real TaskManager, both in this process (so their
//! binary fingerprints match), running real jobs: every GET endpoint the OpenAPI document lists
//! is called for the running job, its vertices and the TaskManager, and each answer's shape is
//! compared with Flink 2.3's recorded one (`tests/fixtures/flink-rest/` (a copy of `shared/flink-rest/`)), together with the values that
//! must hold for that job (states, task counts, slots, vertex ids, growing metrics). Then the
//! job is cancelled and a bounded job runs to its end. Every wait has a deadline.
//! The cluster, its jobs and its HTTP client: `rest_live_cluster/`.

// Only the Flink samples and the shape checks of the fixture are used here, not its
// in-memory JobManager.
#[allow(dead_code, unused_imports)]
mod rest_fixture;

mod rest_live_cluster;

use rest_fixture::{assert_error, assert_shape, expect_fields, flink_sample};
use rest_live_cluster::{Cluster, BOUNDED_RECORDS, P, SLOTS};
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// 200 and every key of Flink's `sample` in `ours` with the same JSON type; returns the paths
/// where our array was empty and Flink's was not.
fn shape(sample: &str, ours: &Value) -> Vec<String> {
    assert_shape(&flink_sample(sample), ours)
}

/// Flink's shape, with no array of ours left empty where Flink's has entries.
fn full_shape(sample: &str, ours: &Value) {
    let empty = shape(sample, ours);
    assert!(empty.is_empty(), "{sample}: our arrays empty at {empty:?}");
}

/// Flink's recorded answer for a GET path template of the OpenAPI document.
fn sample_of(template: &str) -> Option<&'static str> {
    Some(match template {
        "/config" => "GET_config.json",
        "/overview" => "GET_overview.json",
        "/jobmanager/config" => "GET_jobmanager_config.json",
        "/taskmanagers" => "GET_taskmanagers.json",
        "/taskmanagers/{taskmanagerid}" => "GET_taskmanagers_taskmanagerid.json",
        "/jobs" => "GET_jobs.json",
        "/jobs/overview" => "GET_jobs_overview.json",
        "/jobs/{jobid}" => "GET_jobs_jobid.json",
        "/jobs/{jobid}/status" => "GET_jobs_jobid_status.json",
        "/jobs/{jobid}/plan" => "GET_jobs_jobid_plan.json",
        "/jobs/{jobid}/exceptions" => "GET_jobs_jobid_exceptions.json",
        "/jobs/{jobid}/vertices/{vertexid}" => "GET_jobs_jobid_vertices_vertexid.json",
        "/jobs/{jobid}/vertices/{vertexid}/backpressure" => {
            "GET_jobs_jobid_vertices_vertexid_backpressure.json"
        }
        "/openapi.json" => return None,
        other => panic!("GET {other} is served but has no Flink sample here: add it"),
    })
}

/// Arrays a live answer may leave empty although Flink's sample has entries: a running job
/// has no exceptions, and a Rust process has no garbage collectors.
fn may_be_empty(template: &str) -> &'static [&'static str] {
    match template {
        "/taskmanagers/{taskmanagerid}" => &["$.metrics.garbageCollectors"],
        _ => &[],
    }
}

/// Every GET the OpenAPI document lists, for `job` (every vertex) and the TaskManager `tm`:
/// 200 under `/` and `/v1`, and Flink's shape. Returns the templates called.
fn every_get_has_flinks_shape(c: &Cluster, job: &str, vertices: &[String], tm: &str) -> usize {
    let doc = c.get_ok("/openapi.json");
    assert!(doc["openapi"].as_str().unwrap_or("").starts_with("3."));
    let paths = doc["paths"].as_object().expect("paths");
    let mut called = 0;
    for (template, ops) in paths {
        if ops.get("get").is_none() {
            continue;
        }
        let sample = sample_of(template);
        let concrete: Vec<String> = if template.contains("{vertexid}") {
            vertices
                .iter()
                .map(|v| template.replace("{vertexid}", v))
                .collect()
        } else {
            vec![template.clone()]
        };
        for path in concrete {
            let path = path.replace("{jobid}", job).replace("{taskmanagerid}", tm);
            for prefix in ["", "/v1"] {
                let ours = c.get_ok(&format!("{prefix}{path}"));
                if let Some(sample) = sample {
                    let empty = shape(sample, &ours);
                    assert_eq!(
                        empty,
                        may_be_empty(template),
                        "GET {prefix}{path} ({sample}): our arrays empty where Flink's are not"
                    );
                }
            }
        }
        called += 1;
    }
    called
}

/// The source vertex's `write-records` in the job details.
fn source_writes(details: &Value, source: &str) -> u64 {
    details["vertices"]
        .as_array()
        .expect("vertices")
        .iter()
        .find(|v| v["id"] == source)
        .expect("the source vertex")["metrics"]["write-records"]
        .as_u64()
        .expect("write-records")
}

#[test]
fn a_live_job_through_every_endpoint_then_cancelled_and_a_bounded_job_finished() {
    let mut c = Cluster::start();
    let before = c.wait_for("/overview", 5, "the TaskManager to register", |o| {
        o["taskmanagers"] == 1
    });
    expect_fields(
        &before,
        &[
            ("/slots-total", json!(SLOTS)),
            ("/slots-available", json!(SLOTS)),
            ("/jobs-running", json!(0)),
        ],
    );

    // The endless job, until all its tasks run.
    let job = c.submit("live-endless");
    let tasks = u64::from(2 * P);
    let running = c.wait_for(&format!("/jobs/{job}"), 10, "every task to run", |j| {
        j["state"] == "RUNNING" && j["status-counts"]["RUNNING"] == tasks
    });

    // Vertex ids of the details are those of the plan; the source is the node without inputs.
    let vertices: Vec<String> = running["vertices"]
        .as_array()
        .expect("vertices")
        .iter()
        .map(|v| v["id"].as_str().expect("vertex id").to_string())
        .collect();
    assert_eq!(vertices.len(), 2, "source chain and reducer: {running}");
    let plan = c.get_ok(&format!("/jobs/{job}/plan"));
    assert_eq!(plan["plan"], running["plan"]);
    let nodes = plan["plan"]["nodes"].as_array().expect("plan nodes");
    let node_ids: BTreeSet<&str> = nodes.iter().filter_map(|n| n["id"].as_str()).collect();
    let vertex_ids: BTreeSet<&str> = vertices.iter().map(String::as_str).collect();
    assert_eq!(node_ids, vertex_ids);
    let source = nodes
        .iter()
        .find(|n| n.get("inputs").is_none())
        .and_then(|n| n["id"].as_str())
        .expect("a plan node without inputs")
        .to_string();
    let reducer = nodes
        .iter()
        .find(|n| n["id"] != source.as_str())
        .expect("the reducer node");
    expect_fields(
        reducer,
        &[
            ("/inputs/0/id", json!(source)),
            ("/inputs/0/ship_strategy", json!("HASH")),
            ("/parallelism", json!(P)),
        ],
    );
    assert_eq!(vertices[0], source, "vertices are listed sources first");

    // The TaskManager: one, with its slots all taken by the job.
    let tms = c.get_ok("/taskmanagers");
    let list = tms["taskmanagers"].as_array().expect("taskmanagers");
    assert_eq!(list.len(), 1, "{tms}");
    let tm = list[0]["id"].as_str().expect("TaskManager id").to_string();
    expect_fields(
        &list[0],
        &[
            ("/slotsNumber", json!(SLOTS)),
            ("/freeSlots", json!(SLOTS - P)),
            ("/dataPort", json!(c.tm_data.port())),
            ("/assignedTasks", json!(tasks)),
        ],
    );

    // Every GET endpoint, with Flink's shape.
    let called = every_get_has_flinks_shape(&c, &job, &vertices, &tm);
    assert!(called >= 14, "only {called} GET endpoints in /openapi.json");

    // Values of the running job in each answer.
    let o = c.get_ok("/overview");
    expect_fields(
        &o,
        &[
            ("/taskmanagers", json!(1)),
            ("/slots-total", json!(SLOTS)),
            ("/slots-available", json!(SLOTS - P)),
            ("/jobs-running", json!(1)),
        ],
    );
    assert_eq!(
        c.get_ok("/jobs")["jobs"],
        json!([{"id": job, "status": "RUNNING"}])
    );
    let overview = c.get_ok("/jobs/overview");
    expect_fields(
        &overview,
        &[
            ("/jobs/0/jid", json!(job)),
            ("/jobs/0/name", json!("live-endless")),
            ("/jobs/0/state", json!("RUNNING")),
            ("/jobs/0/end-time", json!(-1)),
            ("/jobs/0/tasks/running", json!(tasks)),
            ("/jobs/0/tasks/total", json!(tasks)),
        ],
    );
    assert_eq!(
        c.get_ok(&format!("/jobs/{job}/status")),
        json!({"status": "RUNNING"})
    );
    assert_eq!(
        c.get_ok(&format!("/jobs/{job}/exceptions")),
        json!({"exceptionHistory": {"entries": [], "truncated": false}})
    );
    let details = c.get_ok(&format!("/jobs/{job}"));
    expect_fields(
        &details,
        &[
            ("/jid", json!(job)),
            ("/state", json!("RUNNING")),
            ("/end-time", json!(-1)),
            ("/timestamps/CANCELED", json!(0)),
        ],
    );
    assert!(details["timestamps"]["RUNNING"].as_i64().unwrap_or(0) > 0);
    for v in details["vertices"].as_array().expect("vertices") {
        expect_fields(
            v,
            &[
                ("/parallelism", json!(P)),
                ("/status", json!("RUNNING")),
                ("/tasks/RUNNING", json!(P)),
            ],
        );
    }
    let endpoint = c.tm_data.to_string();
    for v in &vertices {
        let d = c.get_ok(&format!("/jobs/{job}/vertices/{v}"));
        expect_fields(&d, &[("/id", json!(v)), ("/parallelism", json!(P))]);
        let subtasks = d["subtasks"].as_array().expect("subtasks");
        assert_eq!(subtasks.len(), P as usize, "{d}");
        for (i, s) in subtasks.iter().enumerate() {
            expect_fields(
                s,
                &[
                    ("/subtask", json!(i)),
                    ("/status", json!("RUNNING")),
                    ("/taskmanager-id", json!(tm)),
                    ("/endpoint", json!(endpoint)),
                ],
            );
            assert!(s["start-time"].as_i64().unwrap_or(-1) > 0, "{s}");
        }
        let bp = c.get_ok(&format!("/jobs/{job}/vertices/{v}/backpressure"));
        assert_eq!(bp["subtasks"].as_array().map(Vec::len), Some(P as usize));
        for s in bp["subtasks"].as_array().expect("subtasks") {
            let level = s["backpressureLevel"].as_str().unwrap_or("");
            assert!(["ok", "low", "high"].contains(&level), "{bp}");
        }
    }
    let unknown = "0000000000000000000000000000beef";
    let missing = c.get(&format!("/jobs/{job}/vertices/{unknown}"));
    assert_error(&missing, 404, unknown);
    let tm_details = c.get_ok(&format!("/taskmanagers/{tm}"));
    let slots = tm_details["allocatedSlots"].as_array().expect("slots");
    assert_eq!(slots.len(), P as usize, "{tm_details}");
    assert!(slots.iter().all(|s| s["jobId"] == job.as_str()));
    let assigned: u64 = slots
        .iter()
        .map(|s| s["assignedTasks"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(assigned, tasks);
    let jm_config = c.get_ok("/jobmanager/config");
    assert!(
        jm_config
            .as_array()
            .expect("entries")
            .contains(&json!({"key": "heartbeat.interval", "value": "100ms"})),
        "{jm_config}"
    );
    let flink_version = c.get_ok("/config")["flink-version"].clone();
    assert!(flink_version.as_str().unwrap_or("").starts_with("strom "));

    // Metrics move: the source's written records grow between two reads.
    let details = c.wait_for(
        &format!("/jobs/{job}"),
        5,
        "the source's first write-records",
        |d| source_writes(d, &source) > 0,
    );
    let first = source_writes(&details, &source);
    c.wait_for(
        &format!("/jobs/{job}"),
        5,
        "the source's write-records to grow",
        |d| source_writes(d, &source) > first,
    );

    // The consumer's read counters move too, and a source reads nothing (as in Flink).
    c.wait_for(
        &format!("/jobs/{job}"),
        5,
        "the consumer's read-bytes and read-records",
        |d| {
            d["vertices"].as_array().is_some_and(|vs| {
                vs.iter().any(|v| {
                    v["id"] != source
                        && v["metrics"]["read-bytes"].as_u64() > Some(0)
                        && v["metrics"]["read-records"].as_u64() > Some(0)
                })
            })
        },
    );
    let details = c.get_ok(&format!("/jobs/{job}"));
    let src = details["vertices"]
        .as_array()
        .and_then(|vs| vs.iter().find(|v| v["id"] == source))
        .expect("the source vertex");
    assert_eq!(src["metrics"]["read-records"], 0, "{src}");

    // Cancel: 202, then CANCELED with every task cancelled and the slots free.
    let a = c.patch(&format!("/jobs/{job}"));
    assert_eq!((a.status, &a.json), (202, &json!({})));
    let cancelled = c.wait_state(&job, "CANCELED", 10);
    full_shape("GET_jobs_jobid_after_cancel.json", &cancelled);
    expect_fields(&cancelled, &[("/status-counts/CANCELED", json!(tasks))]);
    assert!(cancelled["end-time"].as_i64().unwrap_or(-1) > 0);
    assert!(cancelled["timestamps"]["CANCELED"].as_i64().unwrap_or(0) > 0);
    for v in cancelled["vertices"].as_array().expect("vertices") {
        assert_eq!(v["status"], "CANCELED", "{v}");
    }
    let overview = c.get_ok("/jobs/overview");
    full_shape("GET_jobs_overview_after_cancel.json", &overview);
    expect_fields(
        &overview,
        &[
            ("/jobs/0/state", json!("CANCELED")),
            ("/jobs/0/tasks/canceled", json!(tasks)),
        ],
    );
    let o = c.wait_for("/overview", 5, "the slots to be free", |o| {
        o["slots-available"] == SLOTS
    });
    expect_fields(
        &o,
        &[("/jobs-running", json!(0)), ("/jobs-cancelled", json!(1))],
    );
    let tms = c.get_ok("/taskmanagers");
    expect_fields(
        &tms,
        &[
            ("/taskmanagers/0/freeSlots", json!(SLOTS)),
            ("/taskmanagers/0/assignedTasks", json!(0)),
        ],
    );
    let tm_details = c.get_ok(&format!("/taskmanagers/{tm}"));
    assert_eq!(tm_details["allocatedSlots"], json!([]));
    assert_error(&c.patch(&format!("/jobs/{job}")), 409, &job);

    // A bounded job runs to its end; its final counters are the job's records.
    let done = c.submit("live-bounded");
    let finished = c.wait_state(&done, "FINISHED", 10);
    full_shape("GET_jobs_jobid_after_cancel.json", &finished);
    expect_fields(&finished, &[("/status-counts/FINISHED", json!(tasks))]);
    let vs = finished["vertices"].as_array().expect("vertices");
    assert_eq!(vs.len(), 2);
    expect_fields(
        &vs[0],
        &[
            ("/status", json!("FINISHED")),
            ("/metrics/write-records", json!(BOUNDED_RECORDS)),
        ],
    );
    expect_fields(
        &vs[1],
        &[
            ("/status", json!("FINISHED")),
            ("/metrics/read-records", json!(BOUNDED_RECORDS)),
        ],
    );
    let o = c.wait_for("/overview", 5, "the slots to be free", |o| {
        o["slots-available"] == SLOTS
    });
    expect_fields(
        &o,
        &[
            ("/jobs-running", json!(0)),
            ("/jobs-finished", json!(1)),
            ("/jobs-cancelled", json!(1)),
        ],
    );
    assert_eq!(
        c.get_ok("/jobs")["jobs"],
        json!([{"id": done, "status": "FINISHED"}, {"id": job, "status": "CANCELED"}])
    );

    // The TaskManager stops on its flag; the JobManager then loses it.
    c.stop_taskmanager();
    c.wait_for("/overview", 5, "the stopped TaskManager to be gone", |o| {
        o["taskmanagers"] == 0
    });
    drop(c);
}
