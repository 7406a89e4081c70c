//! Slots on glommio executors (`taskmanager.slot.executor: glommio`), the alternative to
//! strom's own: a keyed reduce across slots, event-time windows, the file and socket sources
//! (their reads go through glommio's io, `slot/io.rs`), cancellation of an unbounded job, and
//! a cluster that goes while a job still runs on it.
//!
//! Every job runs on 3 slots, more than this machine's 2 CPUs, so the slots run unpinned
//! (the pinning fallback). Each job asks glommio, from inside a task, which executor runs it
//! (`glommio::executor().id()` panics on a thread without one, failing the job), so a test
//! cannot pass on strom's executor by mistake.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::mem::ManuallyDrop;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use strom_runtime::api::{Collector, StreamEnv, UserError, WatermarkStrategy};
use strom_runtime::cluster::{JobStatus, LocalCluster};
use strom_runtime::graph::BuildError;
use strom_runtime::sink::CollectHandle;
use strom_runtime::window::{TumblingEventTimeWindows, WindowContext};
use strom_tests::reference::{jittered_records, replay_event_time, Firing, Rec};
use strom_tests::tagging::{sorted, tag_sink, tag_window};
use strom_tests::{assert_job_ends_when_its_cluster_goes, wait_until_reading};

/// Slots in every cluster here: more than the machine's CPUs.
const SLOTS: usize = 3;

/// A local cluster whose slots are glommio executors. glommio registers
/// `taskmanager.slot.io-memory` per slot as locked memory: with 256 KiB, even all five tests
/// of this file running at once (15 slots) stay inside an 8 MiB memlock limit.
fn glommio_cluster() -> LocalCluster {
    strom_tests::cluster_with(
        SLOTS,
        &[
            ("taskmanager.slot.executor", "glommio"),
            ("taskmanager.slot.io-memory", "256kb"),
        ],
    )
}

/// The id of the glommio executor running the calling task (panics, failing the job, on a
/// thread that runs none).
fn glommio_executor() -> usize {
    glommio::executor().id()
}

#[test]
fn keyed_reduce_across_glommio_slots_matches_a_sequential_count() {
    let c = glommio_cluster();
    let out = CollectHandle::<(u64, u64, usize)>::new();
    let o = out.clone();
    c.execute("glommio-keyed-count", move |env| {
        env.from_sequence(0, 300_000)
            .set_parallelism(SLOTS as u32)
            .map(|x| (x * 7919 % 1000, 1u64))
            .key_by(|p: &(u64, u64)| p.0)
            .reduce(|a, b| (a.0, a.1 + b.1))
            .set_parallelism(SLOTS as u32)
            // Chained to the reduce: which executor ran the subtask that counted.
            .map(|(k, n)| (k, n, glommio_executor()))
            .collect(&o);
        Ok(())
    })
    .unwrap()
    .wait()
    .unwrap();
    let items = out.items();
    assert_eq!(items.len(), 300_000, "one rolling result per record");
    // Rolling counts: the largest count seen per key is the final count.
    let mut got: BTreeMap<u64, u64> = BTreeMap::new();
    for &(k, n, _) in &items {
        let e = got.entry(k).or_default();
        *e = (*e).max(n);
    }
    let mut want: BTreeMap<u64, u64> = BTreeMap::new();
    for x in 0..300_000u64 {
        *want.entry(x * 7919 % 1000).or_default() += 1;
    }
    assert_eq!(got, want);
    // Subtask i runs in slot i: three reduce subtasks, three glommio executors.
    let executors: BTreeSet<usize> = items.iter().map(|r| r.2).collect();
    assert_eq!(executors.len(), SLOTS, "{executors:?}");
}

/// Tags a window's (key, count, sum) with the window, checking it runs on glommio.
fn tag_window_on_glommio(
    k: &u64,
    ctx: &WindowContext,
    e: &[(u64, u64, u64)],
    out: &mut Collector<'_, Firing>,
) -> Result<(), UserError> {
    glommio_executor();
    tag_window(k, ctx, e, out)
}

#[test]
fn event_time_windows_on_glommio_match_replay() {
    let input = jittered_records(20_000, 13, 40, 11);
    let (expected, late) = replay_event_time(&input, 100, 100, 50, 0);
    assert!(late.is_empty(), "the jitter stays within the bound");
    let out = CollectHandle::<Firing>::new();
    let o = out.clone();
    glommio_cluster()
        .execute("glommio-tumbling", move |env: &mut StreamEnv| {
            env.from_collection(input.clone())
                .assign_timestamps_and_watermarks(
                    WatermarkStrategy::for_bounded_out_of_orderness_per_record(
                        Duration::from_millis(50),
                    )
                    .with_timestamp_assigner(|r: &Rec, _| r.1),
                )
                .map(|(k, _, v)| (k, 1u64, v))
                .key_by(|r: &(u64, u64, u64)| r.0)
                .window(TumblingEventTimeWindows::of(Duration::from_millis(100)))
                .reduce_with(|a, b| (a.0, a.1 + b.1, a.2 + b.2), tag_window_on_glommio)
                .set_parallelism(SLOTS as u32)
                .collect(&o);
            Ok(())
        })
        .unwrap()
        .wait()
        .unwrap();
    assert_eq!(sorted(out.items()), sorted(expected));
}

#[test]
fn file_source_on_glommio_reads_every_line_once_in_split_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lines.txt");
    // ~1.5 MB with one line longer than a read (256 KiB), so each split takes several reads.
    let mut lines: Vec<String> = (0..20_000)
        .map(|i| format!("{i:06} {}", "y".repeat(i % 131)))
        .collect();
    lines.insert(7_000, "L".repeat(300_000));
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let seen: Arc<Mutex<Vec<(u32, String)>>> = Arc::default();
    let s = seen.clone();
    glommio_cluster()
        .execute("glommio-file", move |env| {
            let read = env
                .read_text_file(path.clone())
                .set_parallelism(SLOTS as u32)
                .map(|l: String| {
                    glommio_executor();
                    l
                });
            tag_sink(&read, SLOTS as u32, &s);
            Ok(())
        })
        .unwrap()
        .wait()
        .unwrap();
    let mut got = std::mem::take(&mut *seen.lock().unwrap());
    // Stable: each subtask's lines keep their arrival order. Subtask i reads the i-th byte
    // range, so subtask 0's lines, then 1's, then 2's are the file's lines in order.
    got.sort_by_key(|(s, _)| *s);
    let subtasks: BTreeSet<u32> = got.iter().map(|(s, _)| *s).collect();
    assert_eq!(subtasks.len(), SLOTS, "every split read something");
    let got: Vec<String> = got.into_iter().map(|(_, l)| l).collect();
    assert_eq!(got.len(), lines.len(), "line count");
    assert!(got == lines, "lines differ from the file's");
}

#[test]
fn socket_source_on_glommio_delivers_lines_in_order() {
    let lines: Vec<String> = (0..5_000)
        .map(|i| format!("line {i} {}", "z".repeat(i % 89)))
        .chain(std::iter::once("w".repeat(150_000))) // longer than one socket read
        .collect();
    let mut bytes = lines.join("\n").into_bytes();
    bytes.push(b'\n');
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // One connection: the bytes in uneven pieces, with pauses so reads end mid-line.
    listener.set_nonblocking(true).unwrap();
    let server = std::thread::spawn(move || -> std::io::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut conn = loop {
            match listener.accept() {
                Ok((c, _)) => break c,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    if Instant::now() > deadline {
                        return Err(std::io::Error::other("nobody connected within 20 s"));
                    }
                    std::thread::sleep(Duration::from_millis(2));
                }
                Err(e) => return Err(e),
            }
        };
        conn.set_nonblocking(false)?;
        conn.set_nodelay(true)?;
        for (i, piece) in bytes.chunks(7_777).enumerate() {
            conn.write_all(piece)?;
            if i % 5 == 0 {
                conn.flush()?;
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        conn.shutdown(std::net::Shutdown::Both)
    });
    let out = CollectHandle::<String>::new();
    let o = out.clone();
    let c = glommio_cluster();
    let job = c
        .execute("glommio-socket", move |env| {
            env.socket_text_stream("127.0.0.1", port)
                .map(|l: String| {
                    glommio_executor();
                    l
                })
                .set_parallelism(1)
                // In a chain of its own, so the lines cross an exchange (one channel, which
                // keeps their order).
                .map(|l: String| l)
                .set_parallelism(1)
                .disable_chaining()
                .collect(&o)
                .set_parallelism(1);
            Ok(())
        })
        .unwrap();
    let start = Instant::now();
    let r = job
        .wait_with_progress(Duration::from_millis(50), |h| {
            if start.elapsed() > Duration::from_secs(30) {
                h.cancel();
            }
        })
        .unwrap();
    server.join().unwrap().unwrap();
    assert_eq!(r.status, JobStatus::Finished, "ends when the peer closes");
    let got = out.items();
    assert_eq!(got.len(), lines.len(), "line count");
    assert!(got == lines, "lines differ from what the peer sent");
}

/// A job that never ends: an unbounded sequence on every slot, a keyed max per key.
fn unbounded_keyed_max(env: &mut StreamEnv) -> Result<(), BuildError> {
    env.sequence_unbounded(0)
        .set_parallelism(SLOTS as u32)
        .map(|x| {
            glommio_executor();
            x
        })
        .key_by(|x: &u64| x % 10)
        .reduce(|a, b| a.max(b))
        .set_parallelism(SLOTS as u32)
        .discard();
    Ok(())
}

#[test]
fn unbounded_job_on_glommio_stops_when_cancelled() {
    // Left undropped if the test fails: a job that ignores its cancellation would keep the
    // slots' threads, and dropping the cluster joins them.
    let c = ManuallyDrop::new(glommio_cluster());
    let job = c.execute("glommio-forever", unbounded_keyed_max).unwrap();
    let read = wait_until_reading(&job);
    job.cancel();
    let cancelled = Instant::now();
    let r = job
        .wait_with_progress(Duration::from_millis(50), |_| {
            assert!(
                cancelled.elapsed() < Duration::from_secs(30),
                "the job still runs 30 s after it was cancelled"
            );
        })
        .unwrap();
    assert_eq!(r.status, JobStatus::Canceled);
    assert!(r.source_records >= read, "{} < {read}", r.source_records);
    drop(ManuallyDrop::into_inner(c));
}

#[test]
fn a_job_still_running_when_its_glommio_cluster_goes_ends_with_an_error() {
    let c = glommio_cluster();
    let job = c.execute("glommio-orphan", unbounded_keyed_max).unwrap();
    wait_until_reading(&job);
    // The slots end with the cluster, the job's tasks still running on them: each is
    // dropped on its slot's thread, so the job's wait ends (glommio used to leak them, and
    // the wait blocked for ever).
    assert_job_ends_when_its_cluster_goes(c, job);
}
