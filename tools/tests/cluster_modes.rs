//! Flink's deployment modes with real processes: a local session cluster started and
//! stopped in the background (`strom cluster start|stop`), a job cluster for one job
//! (`strom run --target job-cluster`), and an application cluster (`strom application`),
//! each checked for its job's results and for leaving no process behind.

mod common;

use common::*;

/// Whether the process with this pid is alive (and not a zombie).
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            !s.rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z')
        })
        .unwrap_or(false)
}

/// Pids of processes whose command line contains `needle`.
fn pids_with(needle: &str) -> Vec<u32> {
    let mut pids = Vec::new();
    for e in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
        if cmd.contains(needle) && alive(pid) {
            pids.push(pid);
        }
    }
    pids
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

#[test]
fn session_cluster_starts_in_the_background_and_stops() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("cluster");
    let (rest, rpc) = (free_port(), free_port());
    let rest_flag = format!("rest.port={rest}");
    let rpc_flag = format!("jobmanager.rpc.port={rpc}");
    let dir_s = dir.to_str().unwrap();
    let common = ["-D", &rest_flag, "-D", &rpc_flag, "--dir", dir_s];
    let mut start = vec!["cluster", "start", "--taskmanagers", "2", "--slots", "1"];
    start.extend(common);
    let out = run_cli(&start);
    assert!(out.status.success(), "cluster start: {}", text(&out.stderr));
    assert!(text(&out.stdout).contains("Started a session cluster"));
    let pids: Vec<u32> = ["jobmanager", "taskmanager-0", "taskmanager-1"]
        .iter()
        .map(|n| {
            let p = std::fs::read_to_string(dir.join(format!("{n}.pid"))).expect("pid file");
            p.trim().parse().expect("a pid")
        })
        .collect();
    assert!(pids.iter().all(|p| alive(*p)), "all three processes run");
    assert!(dir.join("jobmanager.log").exists());
    // A second start refuses, naming the running cluster.
    let again = run_cli(&start);
    assert!(!again.status.success());
    assert!(text(&again.stderr).contains("stop it with `strom cluster stop`"));
    // A job runs on it, through the CLI.
    let m = format!("127.0.0.1:{rest}");
    let (input, content) = input_file(tmp.path());
    let out_dir = tmp.path().join("out");
    let run = run_cli(&[
        "run",
        "-m",
        &m,
        "-p",
        "2",
        "wordcount",
        "--input",
        input.to_str().unwrap(),
        "--output",
        out_dir.to_str().unwrap(),
    ]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    assert_eq!(read_counts(&out_dir), expected_counts(&content));
    let stop = run_cli(&["cluster", "stop", "--dir", dir_s]);
    assert!(stop.status.success(), "{}", text(&stop.stderr));
    assert!(
        text(&stop.stdout).contains("Stopped 3 processes"),
        "{}",
        text(&stop.stdout)
    );
    poll(10, "the cluster's processes to end", || {
        pids.iter().all(|p| !alive(*p)).then_some(())
    });
    assert!(!dir.join("jobmanager.pid").exists());
}

#[test]
fn job_cluster_runs_one_job_and_goes_away() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (input, content) = input_file(tmp.path());
    let out_dir = tmp.path().join("out");
    let out = run_cli(&[
        "run",
        "--target",
        "job-cluster",
        "--taskmanagers",
        "2",
        "-p",
        "2",
        "wordcount",
        "--input",
        input.to_str().unwrap(),
        "--output",
        out_dir.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("FINISHED"),
        "{}",
        text(&out.stdout)
    );
    assert!(text(&out.stderr).contains("job cluster stopped"));
    assert_eq!(read_counts(&out_dir), expected_counts(&content));
    // Its processes are gone: the REST port refuses, no TaskManager of it is left.
    assert_cluster_gone(&text(&out.stderr));
    // A failing job fails the command with the cause.
    let out = run_cli(&[
        "run",
        "--target",
        "job-cluster",
        "wordcount",
        "--input",
        "/no/such/file",
    ]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("/no/such/file"),
        "{}",
        text(&out.stderr)
    );
}

/// From "... up: REST http://A, RPC B, ..." on stderr: nothing listens on A any more and no
/// TaskManager of B runs.
fn assert_cluster_gone(stderr: &str) {
    let line = stderr
        .lines()
        .find(|l| l.contains("cluster up: REST http://"))
        .unwrap_or_else(|| panic!("no 'cluster up' line in: {stderr}"));
    let rest = line
        .split("REST http://")
        .nth(1)
        .and_then(|r| r.split(',').next())
        .expect("rest");
    let rpc = line
        .split("RPC ")
        .nth(1)
        .and_then(|r| r.split(',').next())
        .expect("rpc");
    assert!(
        std::net::TcpStream::connect(rest).is_err(),
        "the JobManager's REST port {rest} still answers"
    );
    let tms = pids_with(&format!("--jobmanager {rpc}"));
    assert!(tms.is_empty(), "TaskManagers of {rpc} still run: {tms:?}");
}

#[test]
fn application_cluster_lives_as_long_as_its_application() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (input, content) = input_file(tmp.path());
    let out_dir = tmp.path().join("app-out");
    let out_s = out_dir.to_str().unwrap().to_string();
    let out = run_cli(&[
        "application",
        "-p",
        "2",
        "wordcount",
        "--input",
        input.to_str().unwrap(),
        "--output",
        &out_s,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("application job wordcount") && stdout.contains("FINISHED"),
        "{stdout}"
    );
    assert_eq!(read_counts(&out_dir), expected_counts(&content));
    assert!(
        pids_with(&out_s).is_empty(),
        "the application's JobManager is gone"
    );
    assert_cluster_gone(&text(&out.stderr));
    // Through a binary path: the application runs with that binary's jobs.
    let out_dir2 = tmp.path().join("app-out2");
    let out = run_cli(&[
        "application",
        STROM,
        "wordcount",
        "--input",
        input.to_str().unwrap(),
        "--output",
        out_dir2.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(read_counts(&out_dir2), expected_counts(&content));
    // Bad input: an unknown job, a binary that does not exist.
    let out = run_cli(&["application", "no-such-job"]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("unknown job 'no-such-job'"));
    let out = run_cli(&["application", "/no/such/binary", "x"]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("no such application binary"));
}
