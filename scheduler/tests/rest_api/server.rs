//! The OpenAPI document lists exactly what is served; bind errors; stop.

use super::rest_fixture::*;
use serde_json::Value;
use std::collections::BTreeSet;
use strom_scheduler::dispatcher::{RestError, RestLimits, RestServer};

fn expected_operations() -> BTreeSet<(String, String)> {
    let gets = [
        "/config",
        "/overview",
        "/jobmanager/config",
        "/taskmanagers",
        "/taskmanagers/{taskmanagerid}",
        "/jobs",
        "/jobs/overview",
        "/jobs/{jobid}",
        "/jobs/{jobid}/status",
        "/jobs/{jobid}/plan",
        "/jobs/{jobid}/exceptions",
        "/jobs/{jobid}/vertices/{vertexid}",
        "/jobs/{jobid}/vertices/{vertexid}/backpressure",
        "/openapi.json",
    ];
    let others = [("/jobs", "post"), ("/jobs/{jobid}", "patch")];
    let gets = gets.iter().map(|p| (p.to_string(), "get".to_string()));
    let others = others.iter().map(|(p, m)| (p.to_string(), m.to_string()));
    gets.chain(others).collect()
}

#[test]
fn openapi_lists_exactly_what_is_served() {
    let h = Harness::start();
    let doc = h.get("/openapi.json");
    assert_eq!(doc.status, 200);
    assert!(doc.json["openapi"].as_str().unwrap().starts_with("3."));
    assert_eq!(doc.json["servers"][1]["url"], Value::from("/v1"));
    let paths = doc.json["paths"].as_object().unwrap();
    let listed: BTreeSet<(String, String)> = paths
        .iter()
        .flat_map(|(p, ops)| {
            let methods = ops.as_object().unwrap().keys();
            methods.map(move |m| (p.clone(), m.clone()))
        })
        .collect();
    assert_eq!(listed, expected_operations());
    for (path, method) in &listed {
        let concrete = path
            .replace("{jobid}", RUNNING)
            .replace("{vertexid}", SOURCE)
            .replace("{taskmanagerid}", TM);
        let statuses = paths[path][method]["responses"].as_object().unwrap();
        if path.contains("{jobid}") {
            assert!(
                statuses.contains_key("400") && statuses.contains_key("404"),
                "{path}"
            );
        }
        for prefix in ["", "/v1"] {
            let url = format!("{prefix}{concrete}");
            let a = match method.as_str() {
                "get" => h.get(&url),
                "patch" => h.patch(&url),
                "post" => h.post(&url, r#"{"job": "wordcount"}"#),
                m => panic!("unexpected method {m}"),
            };
            assert!(a.status < 300, "{method} {url}: {}", a.json);
            let status = a.status.to_string();
            assert!(
                statuses.contains_key(&status),
                "{method} {url}: {status} not listed"
            );
        }
    }
}

#[test]
fn bind_errors_and_stop() {
    let h = Harness::start();
    let addr = h.server.local_addr();
    match RestServer::start(addr, h.fixture.clone(), RestLimits::default()) {
        Err(e @ RestError::Bind { .. }) => assert!(e.to_string().contains(&addr.to_string())),
        other => panic!("expected a bind error, got {other:?}"),
    }
    assert_eq!(h.get("/overview").status, 200);
    h.server.stop();
    assert!(
        std::net::TcpStream::connect(addr).is_err(),
        "still listening after stop"
    );
}
