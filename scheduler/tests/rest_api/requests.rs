//! Cancel, submit, and every kind of bad input: unknown or malformed ids, unknown paths,
//! wrong methods, bad bodies, oversize bodies, a panicking JobManager.

use super::rest_fixture::*;
use serde_json::json;
use strom_scheduler::dispatcher::RestLimits;

#[test]
fn cancel() {
    let h = Harness::start();
    let a = h.patch(&format!("/jobs/{RUNNING}"));
    assert_eq!((a.status, &a.json), (202, &json!({})));
    assert_eq!(
        h.patch(&format!("/v1/jobs/{RUNNING}?mode=cancel")).status,
        202
    );
    assert_eq!(
        *h.fixture.cancelled.lock().unwrap(),
        [id(RUNNING), id(RUNNING)]
    );
    assert_error(
        &h.patch(&format!("/jobs/{RUNNING}?mode=stop")),
        400,
        "\"stop\"",
    );
    assert_error(&h.patch(&format!("/jobs/{RUNNING}?mode=foo")), 400, "'foo'");
    assert_error(&h.patch(&format!("/jobs/{FINISHED}")), 409, FINISHED);
    let unknown = "0000000000000000000000000000beef";
    assert_error(&h.patch(&format!("/jobs/{unknown}")), 404, unknown);
    assert_error(&h.patch("/jobs/not-a-job"), 400, "'not-a-job'");
    assert_eq!(h.fixture.cancelled.lock().unwrap().len(), 2);
}

#[test]
fn submit_and_bad_bodies() {
    let h = Harness::start();
    let a = h.post(
        "/jobs",
        r#"{"job": "wordcount", "args": ["a"], "parallelism": 2}"#,
    );
    assert_eq!(a.status, 202, "{}", a.json);
    assert_eq!(a.json["jobid"], SUBMITTED);
    let flink = flink_sample("POST_jars_jarid_run.json");
    assert_shape(&json!({"jobid": flink["jobid"]}), &a.json);
    let seen = h.fixture.submitted.lock().unwrap().clone();
    assert_eq!(
        (seen[0].job.as_str(), seen[0].parallelism),
        ("wordcount", Some(2))
    );
    assert_eq!(seen[0].args, ["a"]);
    assert_error(&h.post("/jobs", "{"), 400, "EOF");
    let colour = h.post("/jobs", r#"{"job": "wordcount", "colour": 1}"#);
    assert_error(&colour, 400, "unknown field `colour`");
    assert_error(&h.post("/jobs", "{}"), 400, "missing field `job`");
    assert_error(&h.post("/jobs", r#"{"job": 7}"#), 400, "invalid type");
    let nope = h.post("/jobs", r#"{"job": "nope"}"#);
    assert_error(&nope, 400, "no registered job named 'nope'");
    assert_eq!(h.fixture.submitted.lock().unwrap().len(), 1);
    // A panicking JobManager call is a 500 for that request; the server keeps serving.
    let panic = h.post("/jobs", r#"{"job": "panic"}"#);
    assert_error(&panic, 500, "fixture asked to panic");
    assert_eq!(h.get("/overview").status, 200);
}

#[test]
fn oversize_body_is_413() {
    let h = Harness::with_limits(RestLimits {
        max_body_bytes: 256,
    });
    let body = format!(
        r#"{{"job": "wordcount", "args": ["{}"]}}"#,
        "x".repeat(4096)
    );
    assert_error(&h.post("/jobs", &body), 413, "256 bytes");
    assert_eq!(h.post("/jobs", r#"{"job": "wordcount"}"#).status, 202);
    assert_eq!(RestLimits::default().max_body_bytes, 1 << 20);
}

#[test]
fn unknown_and_malformed_ids() {
    let h = Harness::start();
    let unknown = "0000000000000000000000000000beef";
    let vertex = format!("/vertices/{SOURCE}");
    let backpressure = format!("/vertices/{SOURCE}/backpressure");
    for suffix in [
        "",
        "/status",
        "/plan",
        "/exceptions",
        &vertex,
        &backpressure,
    ] {
        let a = h.get(&format!("/jobs/{unknown}{suffix}"));
        assert_error(&a, 404, &format!("Job {unknown} not found"));
        assert_error(&h.get(&format!("/jobs/xyz{suffix}")), 400, "'xyz'");
    }
    let v = "dddddddddddddddddddddddddddddddd";
    assert_error(&h.get(&format!("/jobs/{RUNNING}/vertices/{v}")), 404, v);
    let a = h.get(&format!("/jobs/{RUNNING}/vertices/{v}/backpressure"));
    assert_error(&a, 404, v);
    assert_error(&h.get(&format!("/jobs/{RUNNING}/vertices/v1")), 400, "'v1'");
    assert_error(&h.get("/taskmanagers/127.0.0.1:1-x"), 404, "127.0.0.1:1-x");
    assert_error(&h.get("/jobs/%ff%fe"), 400, "jobid");
}

#[test]
fn unknown_paths_and_methods() {
    let h = Harness::start();
    assert_error(&h.get("/nope"), 404, "Not found: /nope");
    assert_error(&h.get("/v1/nope"), 404, "Not found: /v1/nope");
    let vertices = format!("/jobs/{RUNNING}/vertices");
    assert_error(&h.get(&vertices), 404, &format!("Not found: {vertices}"));
    let put = h.put("/jobs");
    assert_error(
        &put,
        405,
        "Method PUT is not allowed on /jobs (allowed: GET, HEAD, POST)",
    );
    assert_eq!(put.allow.as_deref(), Some("GET,HEAD,POST"));
    assert_error(&h.delete("/overview"), 405, "DELETE");
    let post = h.post(&format!("/jobs/{RUNNING}/status"), "{}");
    assert_error(&post, 405, "POST");
    assert_eq!(h.get("/v1/overview").json, h.get("/overview").json);
}
