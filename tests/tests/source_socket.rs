//! `socket_text_stream`: lines from a TCP peer arrive exactly, in order, however the bytes
//! are cut into reads; the job finishes when the peer closes; a refused connection fails the
//! job naming the address and leaves the cluster able to run other jobs.

use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use strom_runtime::cluster::{JobError, JobHandle, JobResult, JobStatus, LocalCluster};
use strom_runtime::sink::CollectHandle;
use strom_tests::cluster;

/// Serves one connection on 127.0.0.1 (any free port): writes `chunks`, pausing 2 ms after
/// every chunk in `pause_after`, then closes. Gives up if nobody connects within 10 s.
fn serve(chunks: Vec<Vec<u8>>, pause_after: Vec<usize>) -> (u16, JoinHandle<Result<(), String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    let t = std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(10);
        let (mut conn, _) = loop {
            match listener.accept() {
                Ok(c) => break c,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    if Instant::now() > deadline {
                        return Err("nobody connected within 10 s".to_string());
                    }
                    std::thread::sleep(Duration::from_millis(2));
                }
                Err(e) => return Err(format!("accept: {e}")),
            }
        };
        conn.set_nonblocking(false).map_err(|e| e.to_string())?;
        conn.set_nodelay(true).map_err(|e| e.to_string())?;
        conn.set_write_timeout(Some(Duration::from_secs(10)))
            .map_err(|e| e.to_string())?;
        for (i, c) in chunks.iter().enumerate() {
            conn.write_all(c).map_err(|e| format!("write: {e}"))?;
            if pause_after.contains(&i) {
                conn.flush().map_err(|e| e.to_string())?;
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        conn.shutdown(std::net::Shutdown::Both)
            .map_err(|e| e.to_string())?;
        Ok(())
    });
    (port, t)
}

/// Waits for `job`, cancelling it if it runs longer than `limit`.
fn wait_bounded(job: JobHandle, limit: Duration) -> Result<JobResult, JobError> {
    let start = Instant::now();
    job.wait_with_progress(Duration::from_millis(50), move |h| {
        if start.elapsed() > limit {
            h.cancel();
        }
    })
}

fn socket_job(c: &LocalCluster, port: u16) -> (JobHandle, CollectHandle<String>) {
    let out = CollectHandle::<String>::new();
    let o = out.clone();
    let job = c
        .execute("socket-lines", move |env| {
            // Cross an exchange (rebalance to one subtask keeps the order of one channel).
            env.socket_text_stream("127.0.0.1", port)
                .rebalance()
                .map(|l: String| l)
                .set_parallelism(1)
                .collect(&o)
                .set_parallelism(1);
            Ok(())
        })
        .unwrap();
    (job, out)
}

#[test]
fn lines_arrive_exactly_and_in_order() {
    let c = cluster(2);
    // The lines, as the peer means them.
    let mut lines: Vec<String> = (0..5_000)
        .map(|i| format!("line {i} {}", "x".repeat(i % 97)))
        .collect();
    lines.insert(10, String::new());
    lines.insert(20, String::new());
    lines.push("grüße, naïve café ✓".to_string());
    lines.push("tab\tseparated\tfields".to_string());
    lines.push("x".repeat(200_000)); // longer than one socket read (64 KiB)
    lines.push("the last line has no newline".to_string());
    // The bytes: `\n` endings, some `\r\n`, no final newline.
    let mut bytes = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        bytes.extend_from_slice(l.as_bytes());
        if i + 1 < lines.len() {
            bytes.extend_from_slice(if i % 7 == 0 { b"\r\n" } else { b"\n" });
        }
    }
    // Cut into chunks of awkward sizes, pausing now and then so reads end mid-line (and
    // mid-character, and between `\r` and `\n`).
    let sizes = [1usize, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 4093, 65_537];
    let mut chunks = Vec::new();
    let mut at = 0;
    let mut k = 0;
    while at < bytes.len() {
        let n = sizes[k % sizes.len()].min(bytes.len() - at);
        chunks.push(bytes[at..at + n].to_vec());
        at += n;
        k += 1;
    }
    let pauses: Vec<usize> = (0..chunks.len()).filter(|i| i % 13 < 4).take(60).collect();
    let (port, server) = serve(chunks, pauses);
    let (job, out) = socket_job(&c, port);
    let r = wait_bounded(job, Duration::from_secs(20)).unwrap();
    server.join().unwrap().unwrap();
    assert_eq!(
        r.status,
        JobStatus::Finished,
        "the job ends when the peer closes"
    );
    let got = out.items();
    assert_eq!(got.len(), lines.len(), "line count");
    for (i, (g, w)) in got.iter().zip(&lines).enumerate() {
        assert_eq!(g, w, "line {i}");
    }
    assert_eq!(r.source_records, lines.len() as u64);
}

#[test]
fn empty_stream_finishes_with_no_lines() {
    let c = cluster(1);
    let (port, server) = serve(Vec::new(), Vec::new());
    let (job, out) = socket_job(&c, port);
    let r = wait_bounded(job, Duration::from_secs(20)).unwrap();
    server.join().unwrap().unwrap();
    assert_eq!(r.status, JobStatus::Finished);
    assert!(out.items().is_empty(), "{:?}", out.items());
}

/// A port on 127.0.0.1 that nothing listens on (bound, then freed).
fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    // Make sure it is really refused now (no other process grabbed it meanwhile).
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    assert!(
        TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err(),
        "port {port} was taken again"
    );
    port
}

#[test]
fn refused_connection_fails_the_job_naming_the_address() {
    let c = cluster(2);
    let port = free_port();
    let (job, _out) = socket_job(&c, port);
    let err = wait_bounded(job, Duration::from_secs(20)).unwrap_err();
    let addr = format!("127.0.0.1:{port}");
    match &err {
        JobError::Failed { error, .. } => {
            assert!(error.message().contains(&addr), "{err}");
            assert_eq!(error.retry(), strom_runtime::error::Retry::May, "{err}");
        }
        other => panic!("expected a task failure, got {other}"),
    }
    assert!(err.to_string().contains(&addr), "{err}");

    // The cluster still runs another job, a socket job included.
    let (port, server) = serve(vec![b"a\nb\n".to_vec()], Vec::new());
    let (job, out) = socket_job(&c, port);
    let r = wait_bounded(job, Duration::from_secs(20)).unwrap();
    server.join().unwrap().unwrap();
    assert_eq!(r.status, JobStatus::Finished);
    assert_eq!(out.items(), vec!["a".to_string(), "b".to_string()]);
}
