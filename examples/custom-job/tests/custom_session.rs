//! The user's binary as a session cluster: `my-strom jobmanager` and `my-strom taskmanager`
//! as real processes on loopback, its own job submitted with `my-strom run -m`, and the files
//! it wrote checked against a reference computed here. Every process is killed when the test
//! ends; every wait has a deadline.

use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const MY_STROM: &str = env!("CARGO_BIN_EXE_my-strom");

/// A process killed on drop.
struct Proc {
    child: Child,
    /// The line it printed when ready.
    ready: String,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `my-strom args` and waits (at most 20 s) for its ready line on stdout.
fn start(args: &[&str]) -> Proc {
    let mut child = Command::new(MY_STROM)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("my-strom starts");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        if let Some(Ok(l)) = lines.next() {
            let _ = tx.send(l);
        }
        for _ in lines {} // keep draining
    });
    let ready = rx.recv_timeout(Duration::from_secs(20));
    let ready = ready.unwrap_or_else(|_| panic!("my-strom {args:?}: no ready line within 20 s"));
    Proc { child, ready }
}

/// The value of `key=` in a ready line.
fn field(line: &str, key: &str) -> String {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("no {key}= in '{line}'"))
        .to_string()
}

/// Runs `my-strom args` to its end (killed after 60 s).
fn run(args: &[&str]) -> Output {
    let mut child = Command::new(MY_STROM)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("my-strom starts");
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("my-strom {args:?} did not end within 60 s");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.wait_with_output().expect("output")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `GET http://rest/overview`.
fn overview(rest: &str) -> Value {
    let url = format!("http://{rest}/overview");
    let mut resp = ureq::get(&url)
        .config()
        .timeout_global(Some(Duration::from_secs(5)))
        .build()
        .call()
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    resp.body_mut().read_json().expect("JSON answer")
}

/// What the job must end with for one sensor: (readings, max, sequence number of its first
/// occurrence). The generator's formula, written out again as the job's specification.
fn reference(records: u64, sensors: u32) -> BTreeMap<u32, (u64, i64, u64)> {
    let mut m: BTreeMap<u32, (u64, i64, u64)> = BTreeMap::new();
    for seq in 0..records {
        let mut x = seq.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        x ^= x >> 29;
        let value = (x % 2_000_001) as i64 - 1_000_000;
        let sensor = (seq % u64::from(sensors)) as u32;
        let e = m.entry(sensor).or_insert((0, i64::MIN, 0));
        e.0 += 1;
        if value > e.1 {
            (e.1, e.2) = (value, seq);
        }
    }
    m
}

/// Checks the `sensor<TAB>count<TAB>max<TAB>seq` lines of every part file in `dir`: each
/// sensor's updates are in one file, in order (count 1, 2, ..., n; the max never goes down),
/// and its last one is the reference's. Returns the number of lines.
fn check_output(dir: &Path, expected: &BTreeMap<u32, (u64, i64, u64)>) -> usize {
    let mut last: BTreeMap<u32, (u64, i64, u64)> = BTreeMap::new();
    let mut lines = 0;
    for f in std::fs::read_dir(dir).expect("output dir") {
        let path = f.expect("entry").path();
        let content = std::fs::read_to_string(&path).expect("a part file");
        // Per file: sensor → its last update so far.
        let mut seen: BTreeMap<u32, (u64, i64, u64)> = BTreeMap::new();
        for line in content.lines() {
            let v: Vec<&str> = line.split('\t').collect();
            assert_eq!(v.len(), 4, "{}: '{line}'", path.display());
            let sensor: u32 = v[0].parse().expect("sensor");
            let update = (
                v[1].parse::<u64>().expect("count"),
                v[2].parse::<i64>().expect("max"),
                v[3].parse::<u64>().expect("seq"),
            );
            let before = seen.insert(sensor, update);
            let (count, max) = before.map_or((0, i64::MIN), |b| (b.0, b.1));
            assert_eq!(
                update.0,
                count + 1,
                "sensor {sensor}: '{line}' after {before:?}"
            );
            assert!(update.1 >= max, "sensor {sensor}: max went down: '{line}'");
            lines += 1;
        }
        for (sensor, update) in seen {
            assert!(
                last.insert(sensor, update).is_none(),
                "sensor {sensor} is in two part files"
            );
        }
    }
    assert_eq!(&last, expected);
    lines
}

#[test]
fn own_job_on_a_session_cluster_of_the_users_binary() {
    // The binary knows its own job and the built-in ones.
    let jobs = run(&["jobs"]);
    assert!(jobs.status.success(), "{}", text(&jobs.stderr));
    let listed = text(&jobs.stdout);
    assert!(
        listed.contains("sensor-max") && listed.contains("wordcount"),
        "{listed}"
    );

    let heartbeats = [
        "-D",
        "heartbeat.interval=100ms",
        "-D",
        "heartbeat.timeout=5s",
    ];
    let mut jm_args = vec![
        "jobmanager",
        "-D",
        "rest.port=0",
        "-D",
        "jobmanager.rpc.port=0",
    ];
    jm_args.extend(heartbeats);
    let jm = start(&jm_args);
    let rest = field(&jm.ready, "rest")
        .trim_start_matches("http://")
        .to_string();
    let rpc = field(&jm.ready, "rpc");
    let mut tm_args = vec!["taskmanager", "--jobmanager", &rpc, "--slots", "2"];
    tm_args.extend(heartbeats);
    tm_args.extend(["-D", "taskmanager.memory.network.max=8mb"]);
    tm_args.extend(["-D", "taskmanager.slot.pin-cpus=false"]);
    let tm = start(&tm_args);
    assert!(tm.ready.starts_with("TaskManager ready"), "{}", tm.ready);
    let deadline = Instant::now() + Duration::from_secs(20);
    while overview(&rest)["taskmanagers"] != 1 {
        assert!(
            Instant::now() < deadline,
            "the TaskManager did not register within 20 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    // The user's job, submitted by the same binary as a client, followed to its end.
    let (records, sensors) = (50_000u64, 7u32);
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("maxima");
    let (records_arg, sensors_arg) = (records.to_string(), sensors.to_string());
    let submitted = run(&[
        "run",
        "-m",
        &rest,
        "-p",
        "2",
        "sensor-max",
        "--records",
        &records_arg,
        "--sensors",
        &sensors_arg,
        "--output",
        out.to_str().expect("utf-8 path"),
    ]);
    assert!(
        submitted.status.success(),
        "run -m: {}",
        text(&submitted.stderr)
    );
    assert!(
        text(&submitted.stdout).contains("FINISHED"),
        "{}",
        text(&submitted.stdout)
    );
    let lines = check_output(&out, &reference(records, sensors));
    assert_eq!(lines as u64, records, "one update per reading");
    let o = overview(&rest);
    assert_eq!(o["jobs-finished"], 1, "{o}");
    assert_eq!(o["slots-available"], 2, "{o}");

    // A job the client cannot build is refused before anything is sent.
    let bad = run(&["run", "-m", &rest, "sensor-max", "--sensors", "0"]);
    assert!(!bad.status.success());
    assert!(
        text(&bad.stderr).contains("--sensors"),
        "{}",
        text(&bad.stderr)
    );
    drop(tm);
    drop(jm);
}
