//! The JobManager REST client (`strom_tools::client`) against a real HTTP server (tiny_http)
//! that serves canned answers: the real Flink 2.3 samples of `tests/fixtures/flink-rest/` (a copy of `shared/flink-rest/`), and broken
//! answers for the error paths. Every test is bounded (short timeouts, a few polls).
//! The server and the samples: `client_fixture/`.

mod client_fixture;

use std::time::{Duration, Instant};

use chrono::Utc;
use client_fixture::*;
use serde_json::{json, Value};
use strom_scheduler::view::{JobId, JobStatus, SubmitRequest};
use strom_tools::client::{
    format_cancelled, format_cancelling, format_list, format_list_in, format_time, ClientError,
    JobSummary, RestClient,
};

// --- (1) the real Flink samples ----------------------------------------------------------

#[test]
fn jobs_overview_reads_flink_sample() {
    let srv = TestServer::routes(&[("/jobs/overview", sample("GET_jobs_overview.json"))]);
    let jobs = srv.client().jobs_overview().unwrap();
    assert_eq!(jobs.len(), 13);
    assert_eq!(
        jobs[0],
        JobSummary {
            id: id(RUNNING_JOB),
            name: "rest-sample-W2-unbounded".into(),
            state: JobStatus::Running,
            start_time: 1795258318492,
            end_time: -1,
            duration_ms: 8801,
            tasks_total: 4,
            tasks_running: 4,
            tasks_finished: 0,
        }
    );
    assert_eq!(jobs[1].state, JobStatus::Canceled);
    assert_eq!(jobs[1].end_time, 1795258304561);
    assert_eq!(jobs[1].tasks_running, 0);
    let q5 = &jobs[2];
    assert_eq!(q5.id, id("2583ef91ea8b65e9c92e3dac34702439"));
    assert_eq!(q5.name, "q5-p2-n1000000");
    assert_eq!(q5.state, JobStatus::Finished);
    assert_eq!((q5.tasks_total, q5.tasks_finished), (6, 6));
    let finished = jobs
        .iter()
        .filter(|j| j.state == JobStatus::Finished)
        .count();
    assert_eq!(finished, 11);
    // --json: snake_case, id as hex, state as Flink's name.
    let v = serde_json::to_value(&jobs[0]).unwrap();
    assert_eq!(v["id"], RUNNING_JOB);
    assert_eq!(v["state"], "RUNNING");
    assert_eq!(v["tasks_total"], 4);
    assert_eq!(v["duration_ms"], 8801);
}

#[test]
fn format_list_reproduces_flink_cli_transcripts() {
    let srv = TestServer::routes(&[("/jobs/overview", sample("GET_jobs_overview.json"))]);
    let jobs = srv.client().jobs_overview().unwrap();
    // The transcripts were taken on a machine in UTC (GET_config.json: timezone-offset 0).
    assert_eq!(
        format_list_in(&jobs, true, &Utc),
        transcript("cli-flink-list-all.txt")
    );
    assert_eq!(
        format_list_in(&jobs, false, &Utc),
        transcript("cli-flink-list.txt")
    );
    // In the local zone (what `strom list` prints): the same lines but for the time, which is
    // the local time of each job's start.
    let local = format_list(&jobs, true);
    let utc = transcript("cli-flink-list-all.txt");
    assert_eq!(local.lines().count(), utc.lines().count());
    for (l, u) in local.lines().zip(utc.lines()) {
        if u.starts_with('-') || u.starts_with("No ") {
            assert_eq!(l, u);
            continue;
        }
        let (ltime, lrest) = l.split_at(19);
        let (_, urest) = u.split_at(19);
        assert_eq!(lrest, urest);
        let job = jobs
            .iter()
            .find(|j| lrest.contains(&j.id.to_string()))
            .unwrap();
        assert_eq!(ltime, format_time(job.start_time));
    }
}

#[test]
fn format_list_empty_and_scheduled_blocks() {
    assert_eq!(
        format_list(&[], false),
        "No running jobs.\nNo scheduled jobs.\n"
    );
    assert_eq!(
        format_list(&[], true),
        "No running jobs.\nNo scheduled jobs.\n"
    );
    let job = |n: u128, state, start| JobSummary {
        id: JobId(n),
        name: format!("job-{n}"),
        state,
        start_time: start,
        end_time: -1,
        duration_ms: 0,
        tasks_total: 1,
        tasks_running: 0,
        tasks_finished: 0,
    };
    let jobs = [
        job(1, JobStatus::Initializing, 2_000),
        job(2, JobStatus::Created, 1_000),
        job(3, JobStatus::Restarting, 5_000),
        job(4, JobStatus::Failed, 0),
    ];
    let out = format_list_in(&jobs, false, &Utc);
    assert_eq!(
        out,
        "------------------ Running/Restarting Jobs -------------------\n\
         01.01.1970 00:00:05 : 00000000000000000000000000000003 : job-3 (RESTARTING)\n\
         --------------------------------------------------------------\n\
         ----------------------- Scheduled Jobs -----------------------\n\
         01.01.1970 00:00:01 : 00000000000000000000000000000002 : job-2 (CREATED)\n\
         01.01.1970 00:00:02 : 00000000000000000000000000000001 : job-1 (INITIALIZING)\n\
         --------------------------------------------------------------\n"
    );
    let all = format_list_in(&jobs, true, &Utc);
    assert!(all.starts_with(&out));
    assert_eq!(
        &all[out.len()..],
        "---------------------- Terminated Jobs -----------------------\n\
         01.01.1970 00:00:00 : 00000000000000000000000000000004 : job-4 (FAILED)\n\
         --------------------------------------------------------------\n"
    );
}

#[test]
fn cancel_messages_match_flink() {
    let lines: Vec<String> = sample("cli-flink-cancel.txt")
        .lines()
        .filter(|l| !l.starts_with('$') && !l.starts_with('#'))
        .map(String::from)
        .collect();
    assert_eq!(
        lines,
        [
            format_cancelling(id(RUNNING_JOB)),
            format_cancelled(id(RUNNING_JOB))
        ]
    );
}

#[test]
fn status_job_summary_and_exceptions_read_flink_samples() {
    let base = format!("/jobs/{RUNNING_JOB}");
    let srv = TestServer::routes(&[
        (
            &format!("{base}/status"),
            sample("GET_jobs_jobid_status.json"),
        ),
        (&base, sample("GET_jobs_jobid.json")),
        (
            &format!("{base}/exceptions"),
            sample("GET_jobs_jobid_exceptions.json"),
        ),
        ("/overview", sample("GET_overview.json")),
    ]);
    let c = srv.client();
    let jid = id(RUNNING_JOB);
    assert_eq!(c.status(jid).unwrap(), JobStatus::Running);
    assert_eq!(c.exceptions(jid).unwrap(), Vec::<String>::new());
    let raw = c.job(jid).unwrap();
    assert_eq!(raw["jid"], RUNNING_JOB);
    assert_eq!(raw["vertices"].as_array().unwrap().len(), 2);
    let s = c.summary(jid).unwrap();
    assert_eq!(s.id, jid);
    assert_eq!(s.name, "rest-sample-W2-unbounded");
    assert_eq!(s.state, JobStatus::Running);
    assert_eq!((s.start_time, s.end_time), (1795258318492, -1));
    // Two vertices of parallelism 2, all running (`status-counts` counts vertices: 2).
    assert_eq!(
        (s.tasks_total, s.tasks_running, s.tasks_finished),
        (4, 4, 0)
    );
    assert_eq!(c.get("/overview").unwrap()["taskmanagers"], 1);
}

#[test]
fn exceptions_come_oldest_first() {
    let path = format!("/jobs/{RUNNING_JOB}/exceptions");
    // Flink lists the history newest first.
    let body = json!({"exceptionHistory": {"entries": [
        {"exceptionName": "E", "stacktrace": "second failure", "timestamp": 2000,
         "taskName": "map (1/2)", "endpoint": "127.0.0.1:1", "taskManagerId": "tm",
         "failureLabels": {}, "concurrentExceptions": []},
        {"exceptionName": "E", "stacktrace": "first failure", "timestamp": 1000,
         "taskName": null, "endpoint": null, "taskManagerId": null,
         "failureLabels": {}, "concurrentExceptions": []}
    ], "truncated": false}});
    let srv = TestServer::routes(&[(&path, body.to_string())]);
    assert_eq!(
        srv.client().exceptions(id(RUNNING_JOB)).unwrap(),
        ["first failure", "second failure"]
    );
}

#[test]
fn submit_posts_the_request_and_cancel_patches() {
    let new_id = "0123456789abcdef0123456789abcdef";
    let srv = TestServer::start(move |s| match (s.method.as_str(), s.url.as_str()) {
        ("POST", "/jobs") => Answer(
            202,
            json!({ "jobid": new_id }).to_string(),
            "application/json",
        ),
        ("PATCH", _) => Answer(202, "{}".into(), "application/json"),
        _ => not_found(&s.url),
    });
    let c = srv.client();
    let req = SubmitRequest {
        job: "wordcount".into(),
        args: vec!["--rate".into(), "10".into()],
        name: Some("wc".into()),
        parallelism: Some(2),
        config: [(
            "execution.checkpointing.interval".to_string(),
            "1s".to_string(),
        )]
        .into(),
    };
    assert_eq!(c.submit(&req).unwrap(), id(new_id));
    c.cancel(id(new_id)).unwrap();
    let seen = srv.seen();
    assert_eq!(seen.len(), 2);
    assert_eq!(
        (seen[0].method.as_str(), seen[0].url.as_str()),
        ("POST", "/jobs")
    );
    let body: Value = serde_json::from_str(&seen[0].body).unwrap();
    assert_eq!(body, serde_json::to_value(&req).unwrap());
    // The JobManager's own type reads it back.
    let back: SubmitRequest = serde_json::from_value(body).unwrap();
    assert_eq!(back.job, "wordcount");
    assert_eq!(seen[1].method, "PATCH");
    assert_eq!(seen[1].url, format!("/jobs/{new_id}?mode=cancel"));
}

// --- (2) errors --------------------------------------------------------------------------

#[test]
fn http_404_with_flink_errors() {
    let srv = TestServer::routes(&[]);
    let jid = id(RUNNING_JOB);
    let err = srv.client().status(jid).unwrap_err();
    match &err {
        ClientError::Http {
            status,
            errors,
            path,
            method,
            ..
        } => {
            assert_eq!(*status, 404);
            assert_eq!(*method, "GET");
            assert_eq!(path, &format!("/jobs/{jid}/status"));
            assert_eq!(errors, &[format!("Not found: /jobs/{jid}/status")]);
        }
        other => panic!("{other:?}"),
    }
    let msg = err.to_string();
    assert!(msg.contains("HTTP 404"), "{msg}");
    assert!(
        msg.contains(&format!("Not found: /jobs/{jid}/status")),
        "{msg}"
    );
    assert!(msg.contains(&srv.address()), "{msg}");
    assert_eq!(err.http_status(), Some(404));
    assert!(!err.retry());
}

#[test]
fn http_500_with_a_body_that_is_not_json() {
    let srv = TestServer::start(|_| {
        Answer(
            500,
            "<html>Internal Server Error</html>".into(),
            "text/html",
        )
    });
    let err = srv.client().jobs_overview().unwrap_err();
    match &err {
        ClientError::Http { status, errors, .. } => {
            assert_eq!(*status, 500);
            assert_eq!(errors, &["<html>Internal Server Error</html>"]);
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("GET /jobs/overview"), "{err}");
    // 503 is worth a retry; 500 is not.
    let busy = TestServer::start(|_| Answer(503, String::new(), "text/plain"));
    let err = busy.client().jobs_overview().unwrap_err();
    assert!(matches!(&err, ClientError::Http { status: 503, errors, .. } if errors.is_empty()));
    assert!(err.retry());
}

#[test]
fn missing_field_is_a_bad_response_naming_path_and_field() {
    let mut overview: Value = serde_json::from_str(&sample("GET_jobs_overview.json")).unwrap();
    overview["jobs"][1].as_object_mut().unwrap().remove("state");
    let srv = TestServer::routes(&[("/jobs/overview", overview.to_string())]);
    let err = srv.client().jobs_overview().unwrap_err();
    match &err {
        ClientError::BadResponse { path, detail, .. } => {
            assert_eq!(path, "/jobs/overview");
            assert!(detail.contains("`state`"), "{detail}");
            assert!(detail.contains("jobs[1]"), "{detail}");
        }
        other => panic!("{other:?}"),
    }
    let msg = err.to_string();
    assert!(
        msg.contains("/jobs/overview") && msg.contains("state"),
        "{msg}"
    );
    assert!(!err.retry());

    // A wrong type and an unknown state name say so too.
    overview["jobs"][1]["state"] = json!("SLEEPING");
    overview["jobs"][2]["tasks"]["total"] = json!("six");
    let srv = TestServer::routes(&[("/jobs/overview", overview.to_string())]);
    let err = srv.client().jobs_overview().unwrap_err().to_string();
    assert!(
        err.contains("jobs[1].state") && err.contains("SLEEPING"),
        "{err}"
    );
    overview["jobs"][1]["state"] = json!("RUNNING");
    let srv = TestServer::routes(&[("/jobs/overview", overview.to_string())]);
    let err = srv.client().jobs_overview().unwrap_err().to_string();
    assert!(err.contains("jobs[2].tasks.total"), "{err}");

    // 2xx but not JSON.
    let srv = TestServer::start(|_| Answer(200, "hello".into(), "text/plain"));
    let err = srv.client().status(id(RUNNING_JOB)).unwrap_err();
    assert!(
        matches!(&err, ClientError::BadResponse { detail, .. } if detail.contains("not JSON")),
        "{err:?}"
    );
}

#[test]
fn nothing_listening_is_unreachable_with_the_address() {
    // A port that was just free: bind, note it, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let address = format!("127.0.0.1:{port}");
    let c = RestClient::new(&format!("http://{address}/")).unwrap();
    assert_eq!(c.address(), address);
    let t = Instant::now();
    let err = c.jobs_overview().unwrap_err();
    assert!(t.elapsed() < Duration::from_secs(3));
    match &err {
        ClientError::Unreachable {
            address: a, reason, ..
        } => {
            assert_eq!(a, &address);
            assert!(reason.contains("refused"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    let msg = err.to_string();
    assert!(
        msg.contains(&format!("cannot reach the JobManager at {address}")),
        "{msg}"
    );
    assert!(msg.contains("strom jobmanager"), "{msg}");
    assert!(err.retry());
}

#[test]
fn bad_addresses_are_refused_before_any_request() {
    for bad in [
        "",
        "localhost",
        "localhost:",
        "localhost:http",
        "localhost:0",
        "localhost:65536",
        ":8081",
        "::1:8081",
        "[::1]",
        "[nope]:8081",
        "https://localhost:8081",
        "ftp://localhost:8081",
        "http://localhost:8081/jobs",
        "user@localhost:8081",
        "local host:8081",
    ] {
        match RestClient::new(bad) {
            Err(e @ ClientError::BadAddress { .. }) => {
                let msg = e.to_string();
                assert!(msg.contains(&format!("'{bad}'")), "{msg}");
                assert!(msg.contains("HOST:PORT"), "{msg}");
                assert!(!e.retry());
            }
            Err(other) => panic!("{bad}: {other:?}"),
            Ok(c) => panic!("{bad} accepted as {}", c.base_url()),
        }
    }
    for (good, base) in [
        ("localhost:8081", "http://localhost:8081"),
        (" http://127.0.0.1:8081/ ", "http://127.0.0.1:8081"),
        ("HTTP://jm-0.example:80", "http://jm-0.example:80"),
        ("[::1]:8081", "http://[::1]:8081"),
    ] {
        assert_eq!(RestClient::new(good).unwrap().base_url(), base, "{good}");
    }
}

#[test]
fn wait_polls_until_terminal() {
    let srv = job_in_states(&["CREATED", "RUNNING", "RUNNING", "FINISHED"]);
    let mut ticks = Vec::new();
    let status = srv
        .client()
        .wait(
            id(RUNNING_JOB),
            Duration::from_millis(10),
            Some(Duration::from_secs(3)),
            |s| ticks.push(s.state),
        )
        .unwrap();
    assert_eq!(status, JobStatus::Finished);
    assert_eq!(
        ticks,
        [
            JobStatus::Created,
            JobStatus::Running,
            JobStatus::Running,
            JobStatus::Finished
        ]
    );
}

#[test]
fn wait_gives_up_after_its_timeout() {
    let srv = job_in_states(&["RUNNING"]);
    let t = Instant::now();
    let mut ticks = 0;
    let err = srv
        .client()
        .wait(
            id(RUNNING_JOB),
            Duration::from_millis(30),
            Some(Duration::from_millis(600)),
            |_| ticks += 1,
        )
        .unwrap_err();
    let took = t.elapsed();
    assert!(took >= Duration::from_millis(600), "{took:?}");
    assert!(took < Duration::from_secs(5), "{took:?}");
    // About 20 polls 30 ms apart; fewer when requests are slow on a loaded machine.
    assert!((2..=30).contains(&ticks), "{ticks} polls");
    match &err {
        ClientError::Timeout {
            after, last_status, ..
        } => {
            assert_eq!(*after, Duration::from_millis(600));
            assert_eq!(*last_status, Some(JobStatus::Running));
        }
        other => panic!("{other:?}"),
    }
    let msg = err.to_string();
    assert!(
        msg.contains("600 ms") && msg.contains(RUNNING_JOB) && msg.contains("RUNNING"),
        "{msg}"
    );
    // A job the JobManager does not know ends the wait at once.
    let err = srv
        .client()
        .wait(
            id("ffffffffffffffffffffffffffffffff"),
            Duration::from_millis(10),
            None,
            |_| {},
        )
        .unwrap_err();
    assert_eq!(err.http_status(), Some(404));
}

#[test]
fn slow_answer_is_a_timeout() {
    let srv = TestServer::start(|_| {
        std::thread::sleep(Duration::from_millis(2500));
        ok_json(r#"{"status":"RUNNING"}"#)
    });
    let c = RestClient::new(&srv.address())
        .unwrap()
        .with_timeouts(Duration::from_secs(1), Duration::from_millis(150));
    let t = Instant::now();
    let err = c.status(id(RUNNING_JOB)).unwrap_err();
    // Well before the answer (2.5 s), with room for a loaded machine.
    assert!(
        t.elapsed() < Duration::from_millis(2000),
        "{:?}",
        t.elapsed()
    );
    match &err {
        ClientError::Timeout {
            what, last_status, ..
        } => {
            assert!(
                what.contains(&format!("GET /jobs/{RUNNING_JOB}/status")),
                "{what}"
            );
            assert!(what.contains(&srv.address()), "{what}");
            assert_eq!(*last_status, None);
        }
        other => panic!("{other:?}"),
    }
    assert!(err.retry());
}
