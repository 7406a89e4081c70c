//! `GET /openapi.json`: an OpenAPI 3 description of exactly what the Dispatcher serves.
//!
//! Invariant: [`OPERATIONS`] lists every (path, method) the router in `mod.rs` serves, with
//! every status code its handler can answer (besides 405 for a wrong method, which any path
//! may answer); the integration tests call each and check the status is listed. Every path
//! is also served under `/v1` (the second server entry).

use serde_json::{json, Map, Value};

/// One operation: path (OpenAPI syntax), method, summary, status codes.
struct Operation {
    path: &'static str,
    method: &'static str,
    summary: &'static str,
    statuses: &'static [u16],
}

const fn op(
    path: &'static str,
    method: &'static str,
    summary: &'static str,
    statuses: &'static [u16],
) -> Operation {
    Operation {
        path,
        method,
        summary,
        statuses,
    }
}

const CLUSTER: &[u16] = &[200, 500];
const JOB: &[u16] = &[200, 400, 404, 500];

/// Everything served.
const OPERATIONS: &[Operation] = &[
    op("/config", "get", "Configuration of the web UI.", CLUSTER),
    op("/overview", "get", "Overview of the cluster.", CLUSTER),
    op(
        "/jobmanager/config",
        "get",
        "The JobManager's configuration.",
        CLUSTER,
    ),
    op(
        "/taskmanagers",
        "get",
        "Every registered TaskManager.",
        CLUSTER,
    ),
    op(
        "/taskmanagers/{taskmanagerid}",
        "get",
        "One TaskManager.",
        &[200, 404, 500],
    ),
    op("/jobs", "get", "Every job with its status.", CLUSTER),
    op(
        "/jobs",
        "post",
        "Submits a registered job.",
        &[202, 400, 409, 413, 500],
    ),
    op("/jobs/overview", "get", "Overview of every job.", CLUSTER),
    op("/jobs/{jobid}", "get", "Details of a job.", JOB),
    op(
        "/jobs/{jobid}",
        "patch",
        "Cancels a job.",
        &[202, 400, 404, 409, 500],
    ),
    op("/jobs/{jobid}/status", "get", "Status of a job.", JOB),
    op("/jobs/{jobid}/plan", "get", "Dataflow plan of a job.", JOB),
    op(
        "/jobs/{jobid}/exceptions",
        "get",
        "Failure history of a job.",
        JOB,
    ),
    op(
        "/jobs/{jobid}/vertices/{vertexid}",
        "get",
        "A vertex and its subtasks.",
        JOB,
    ),
    op(
        "/jobs/{jobid}/vertices/{vertexid}/backpressure",
        "get",
        "Back-pressure of a vertex's subtasks.",
        JOB,
    ),
    op("/openapi.json", "get", "This document.", &[200]),
];

fn status_text(code: u16) -> &'static str {
    match code {
        200 => "OK",
        202 => "Accepted",
        400 => "Bad request: malformed id, query parameter or body",
        404 => "Not found: no such job, vertex or TaskManager",
        409 => "Conflict with the job's current state",
        413 => "Request body too large",
        _ => "Internal error of the JobManager",
    }
}

fn path_parameter(name: &str) -> Value {
    json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}})
}

fn query_parameter(name: &str, schema: Value, description: &str) -> Value {
    json!({"name": name, "in": "query", "required": false, "schema": schema,
           "description": description})
}

fn operation(o: &Operation) -> Value {
    let mut parameters: Vec<Value> = ["jobid", "vertexid", "taskmanagerid"]
        .iter()
        .filter(|p| o.path.contains(&format!("{{{p}}}")))
        .map(|p| path_parameter(p))
        .collect();
    if o.method == "patch" {
        parameters.push(query_parameter(
            "mode",
            json!({"type": "string", "enum": ["cancel"], "default": "cancel"}),
            "Termination mode; only cancel is supported.",
        ));
    }
    if o.path.ends_with("/exceptions") {
        parameters.push(query_parameter(
            "maxExceptions",
            json!({"type": "integer", "minimum": 0, "default": 20}),
            "At most this many entries, newest first.",
        ));
    }
    let responses: Map<String, Value> = o
        .statuses
        .iter()
        .map(|code| {
            let schema = if *code >= 400 {
                json!({"$ref": "#/components/schemas/ErrorResponse"})
            } else if o.path == "/jobmanager/config" {
                json!({"type": "array", "items": {"type": "object"}})
            } else {
                json!({"type": "object"})
            };
            let body = json!({"description": status_text(*code),
                              "content": {"application/json": {"schema": schema}}});
            (code.to_string(), body)
        })
        .collect();
    let mut value = json!({"summary": o.summary, "responses": responses});
    if !parameters.is_empty() {
        value["parameters"] = Value::Array(parameters);
    }
    if o.method == "post" {
        value["requestBody"] = json!({"required": true, "content": {"application/json":
            {"schema": {"$ref": "#/components/schemas/SubmitRequest"}}}});
    }
    value
}

/// The document.
pub(crate) fn document() -> Value {
    let mut paths = Map::new();
    for o in OPERATIONS {
        let entry = paths
            .entry(o.path.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        entry[o.method] = operation(o);
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "strom Dispatcher REST API",
            "description": "Flink-compatible REST API of the strom JobManager. Errors are \
                            {\"errors\": [\"message\"]}; a wrong method answers 405.",
            "version": env!("CARGO_PKG_VERSION"),
        },
        "servers": [{"url": "/"}, {"url": "/v1"}],
        "paths": paths,
        "components": {"schemas": {
            "ErrorResponse": {
                "type": "object",
                "required": ["errors"],
                "properties": {"errors": {"type": "array", "items": {"type": "string"}}},
            },
            "SubmitRequest": {
                "type": "object",
                "required": ["job"],
                "additionalProperties": false,
                "properties": {
                    "job": {"type": "string", "description": "A registered job's name."},
                    "args": {"type": "array", "items": {"type": "string"}},
                    "name": {"type": "string", "nullable": true},
                    "parallelism": {"type": "integer", "minimum": 0, "nullable": true},
                    "config": {"type": "object", "additionalProperties": {"type": "string"}},
                },
            },
        }},
    })
}

/// `GET /openapi.json`.
pub(crate) async fn serve() -> axum::Json<Value> {
    axum::Json(document())
}
