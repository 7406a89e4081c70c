//! Flow control bounds what an exchange holds: with small buffers
//! (`taskmanager.memory.segment-size: 4kb`, `buffers-per-channel: 2`) and a slow consumer,
//! the buffers in use stay within the channel's pool and nothing is lost.
//!
//! The runtime does not expose per-channel buffer use (or `WriterCore::overflow_buffers`) of
//! a running job, so the job-level tests bound what they can observe from outside: records
//! emitted by the source but not yet consumed by the sink must fit in the channel's pooled
//! buffers. The component-level test drives the public exchange types directly (writer,
//! channel, gate) and looks at the pool and the overflow counter.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Waker};
use std::time::{Duration, Instant};
use strom_runtime::error::TaskResult;
use strom_runtime::exchange::reader::{InputHandler, TypedInput};
use strom_runtime::exchange::writer::{RecordWriter, Selector, WriterCore};
use strom_runtime::exchange::{ChannelMessage, Event};
use strom_runtime::exchange::{GateShared, InputGate, LocalChannel};
use strom_runtime::operator::{Millis, Output};
use strom_runtime::source::{SourceReader, SourceStatus};
use strom_tests::cluster_with;

const SEGMENT: usize = 4096;
const BUFFERS_PER_CHANNEL: u64 = 2;
/// By the codec's documented layout, `u64` records without timestamps share one run frame:
/// an 8-byte header (count, flags), then the 8-byte archives back to back.
const RUN_HEADER: usize = 4 + 4;
/// A `u64` archive.
const RECORD: usize = 8;
/// Records a full 4 KiB buffer holds (the component test checks this on real buffers).
const RECORDS_PER_BUFFER: u64 = ((SEGMENT - RUN_HEADER) / RECORD) as u64;
/// The most records one channel's pooled buffers can hold.
const CHANNEL_BOUND: u64 = BUFFERS_PER_CHANNEL * RECORDS_PER_BUFFER;

fn small_buffer_cluster() -> strom_runtime::cluster::LocalCluster {
    cluster_with(
        2,
        &[
            ("taskmanager.memory.segment-size", "4kb"),
            ("taskmanager.network.memory.buffers-per-channel", "2"),
        ],
    )
}

/// Counts records as it emits them (before handing each to the chain).
struct CountingSource {
    next: u64,
    end: u64,
    per_poll: usize,
    emitted: Arc<AtomicU64>,
}

impl SourceReader<u64> for CountingSource {
    fn poll_batch(
        &mut self,
        out: &mut dyn Output<u64>,
        max: usize,
    ) -> TaskResult<(SourceStatus, usize)> {
        let mut n = 0;
        while n < max.min(self.per_poll) && self.next < self.end {
            self.emitted.fetch_add(1, Ordering::SeqCst);
            out.emit(self.next, None)?;
            self.next += 1;
            n += 1;
        }
        let status = if self.next >= self.end {
            SourceStatus::Finished
        } else {
            SourceStatus::More
        };
        Ok((status, n))
    }
}

/// A slow sink: sleeps 1 ms every `every` records; tracks the largest number of records
/// emitted by the source but not yet consumed here.
struct SlowSink {
    emitted: Arc<AtomicU64>,
    consumed: Arc<AtomicU64>,
    max_in_flight: Arc<AtomicU64>,
    every: u64,
    since_sleep: u64,
    got: Arc<Mutex<Vec<u64>>>,
    local: Vec<u64>,
}

impl Output<u64> for SlowSink {
    fn emit(&mut self, value: u64, _ts: Option<Millis>) -> TaskResult {
        let c = self.consumed.fetch_add(1, Ordering::SeqCst) + 1;
        let e = self.emitted.load(Ordering::SeqCst);
        self.max_in_flight
            .fetch_max(e.saturating_sub(c), Ordering::SeqCst);
        self.local.push(value);
        self.since_sleep += 1;
        if self.since_sleep == self.every {
            self.since_sleep = 0;
            std::thread::sleep(Duration::from_millis(1));
        }
        Ok(())
    }
    fn watermark(&mut self, _w: Millis) -> TaskResult {
        Ok(())
    }
    fn watermark_status(&mut self, _idle: bool) -> TaskResult {
        Ok(())
    }
    fn finish(&mut self) -> TaskResult {
        self.got.lock().unwrap().append(&mut self.local);
        Ok(())
    }
}

struct Run {
    max_in_flight: u64,
    got: Vec<u64>,
    source_backpressured_ns: u64,
}

fn run(records: u64, per_poll: usize, keyed: bool) -> Run {
    let c = small_buffer_cluster();
    let emitted = Arc::new(AtomicU64::new(0));
    let consumed = Arc::new(AtomicU64::new(0));
    let max_in_flight = Arc::new(AtomicU64::new(0));
    let got = Arc::new(Mutex::new(Vec::new()));
    let (e, co, m, g) = (
        emitted.clone(),
        consumed.clone(),
        max_in_flight.clone(),
        got.clone(),
    );
    let job = c
        .execute("slow-consumer", move |env| {
            let e2 = e.clone();
            // Subtask 1 (slot 1) produces everything; the consumer runs on slot 0, so producer
            // and consumer run at the same time on different threads.
            let src = env
                .add_source("Counting Source", move |ctx| {
                    Box::new(CountingSource {
                        next: 0,
                        end: if ctx.subtask == 1 { records } else { 0 },
                        per_poll,
                        emitted: e2.clone(),
                    })
                })
                .set_parallelism(2);
            let routed = if keyed {
                src.key_by(|x: &u64| x % 3).stream().clone()
            } else {
                src.rebalance()
            };
            let (e, co, m, g) = (e.clone(), co.clone(), m.clone(), g.clone());
            routed
                .sink_to("Slow Sink", move |_| {
                    Box::new(SlowSink {
                        emitted: e.clone(),
                        consumed: co.clone(),
                        max_in_flight: m.clone(),
                        every: 64,
                        since_sleep: 0,
                        got: g.clone(),
                        local: Vec::new(),
                    })
                })
                .set_parallelism(1);
            Ok(())
        })
        .unwrap();
    let r = job.wait().unwrap();
    let src = r
        .tasks
        .iter()
        .filter(|(name, _, _)| name.starts_with("Counting"))
        .map(|(_, _, m)| m.backpressured_ns)
        .sum();
    let got = std::mem::take(&mut *got.lock().unwrap());
    Run {
        max_in_flight: max_in_flight.load(Ordering::SeqCst),
        got,
        source_backpressured_ns: src,
    }
}

fn check_run(r: &Run, records: u64, what: &str) {
    assert_eq!(
        r.got,
        (0..records).collect::<Vec<_>>(),
        "{what}: every record once, in order (one producer subtask, one channel)"
    );
    assert!(
        r.source_backpressured_ns > 0,
        "{what}: the consumer was not slow enough to back-pressure the source"
    );
    assert!(
        r.max_in_flight <= CHANNEL_BOUND,
        "{what}: {} records were between source and sink at once; the channel's {} buffers of \
         {} records hold {}",
        r.max_in_flight,
        BUFFERS_PER_CHANNEL,
        RECORDS_PER_BUFFER,
        CHANNEL_BOUND
    );
    // The bound is not vacuous: the producer did run ahead of the consumer.
    assert!(
        r.max_in_flight >= RECORDS_PER_BUFFER / 2,
        "{what}: {}",
        r.max_in_flight
    );
}

#[test]
fn slow_consumer_behind_rebalance_holds_at_most_the_channel_buffers() {
    // One record per poll, and polls of just under one buffer's worth.
    for per_poll in [1, RECORDS_PER_BUFFER as usize - 56] {
        let r = run(10_000, per_poll, false);
        check_run(
            &r,
            10_000,
            &format!("rebalance, {per_poll} records per poll"),
        );
    }
}

#[test]
fn slow_consumer_behind_key_by_holds_at_most_the_channel_buffers() {
    for per_poll in [1, RECORDS_PER_BUFFER as usize - 56] {
        let r = run(10_000, per_poll, true);
        check_run(&r, 10_000, &format!("key_by, {per_poll} records per poll"));
    }
}

/// A built-in source behind a slow consumer keeps its records in flight within the channel's
/// pooled buffers: the source task checks back-pressure every 32 records, not only between
/// 1024-record batches (which once put ~1,800 records in flight on a 512-record channel).
#[test]
fn builtin_source_batch_stays_within_the_channel_buffers() {
    let c = small_buffer_cluster();
    let emitted = Arc::new(AtomicU64::new(0));
    let consumed = Arc::new(AtomicU64::new(0));
    let max_in_flight = Arc::new(AtomicU64::new(0));
    let got = Arc::new(Mutex::new(Vec::new()));
    let (e, co, m, g) = (
        emitted.clone(),
        consumed.clone(),
        max_in_flight.clone(),
        got.clone(),
    );
    let result = c
        .execute("sequence-slow-consumer", move |env| {
            let e2 = e.clone();
            let (e, co, m, g) = (e.clone(), co.clone(), m.clone(), g.clone());
            env.from_sequence(0, 20_000)
                .set_parallelism(1)
                // Chained to the source: counts each record as the source emits it.
                .map(move |x| {
                    e2.fetch_add(1, Ordering::SeqCst);
                    x
                })
                .set_parallelism(1)
                .rebalance()
                .sink_to("Slow Sink", move |_| {
                    Box::new(SlowSink {
                        emitted: e.clone(),
                        consumed: co.clone(),
                        max_in_flight: m.clone(),
                        every: 64,
                        since_sleep: 0,
                        got: g.clone(),
                        local: Vec::new(),
                    })
                })
                .set_parallelism(1)
                // An exchange between parallelism 1 and 1 would be chained otherwise.
                .disable_chaining();
            Ok(())
        })
        .unwrap()
        .wait()
        .unwrap();
    assert_eq!(*got.lock().unwrap(), (0..20_000).collect::<Vec<u64>>());
    let max = max_in_flight.load(Ordering::SeqCst);
    assert!(
        max <= CHANNEL_BOUND,
        "{max} records in flight on one channel; its pooled buffers hold {CHANNEL_BOUND}"
    );
    // A source step (32 u64 records) fits in the rest of a 4 KiB buffer, so no unpooled
    // buffer was ever needed: the task metrics say so.
    let overflow: u64 = result.tasks.iter().map(|t| t.2.overflow_buffers).sum();
    assert_eq!(overflow, 0, "unpooled buffers: {:?}", result.tasks);
}

// ---------------------------------------------------------------------------------------
// Component level: writer → channel → gate, with the pool and overflow counter in view.
// ---------------------------------------------------------------------------------------

/// Collects decoded records.
struct VecOut(Rc<RefCell<Vec<u64>>>);

impl Output<u64> for VecOut {
    fn emit(&mut self, value: u64, _ts: Option<Millis>) -> TaskResult {
        self.0.borrow_mut().push(value);
        Ok(())
    }
    fn watermark(&mut self, _w: Millis) -> TaskResult {
        Ok(())
    }
    fn watermark_status(&mut self, _idle: bool) -> TaskResult {
        Ok(())
    }
    fn finish(&mut self) -> TaskResult {
        Ok(())
    }
}

struct ConsumerReport {
    values: Vec<u64>,
    buffers: u64,
    unpooled: u64,
    max_records_in_a_buffer: u64,
}

struct ProducerReport {
    max_pooled_in_use: usize,
    overflow_buffers: u64,
    max_overflow_per_input: u64,
    pool_after: (usize, usize),
}

/// Writes `records` u64s in inputs of `per_input` records through one channel with
/// `BUFFERS_PER_CHANNEL` buffers of `SEGMENT` bytes, following the task loop's protocol (no
/// new input while the writer is unavailable), to a consumer thread that sleeps 1 ms per
/// buffer.
fn pump(records: u64, per_input: u64) -> (ProducerReport, ConsumerReport) {
    let shared = GateShared::new(1);
    let ch = LocalChannel::new(shared.clone(), 0, BUFFERS_PER_CHANNEL as usize, SEGMENT);
    let mut gate = InputGate::new(shared, vec![ch.clone()]);
    let consumer = std::thread::spawn(move || {
        let values = Rc::new(RefCell::new(Vec::new()));
        let mut input = TypedInput::new(Box::new(VecOut(values.clone())) as Box<dyn Output<u64>>);
        let mut r = ConsumerReport {
            values: Vec::new(),
            buffers: 0,
            unpooled: 0,
            max_records_in_a_buffer: 0,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            match gate.try_next() {
                Some((_, ChannelMessage::Buffer(b))) => {
                    r.buffers += 1;
                    if !b.is_pooled() {
                        r.unpooled += 1;
                    }
                    let n = input.on_buffer(&b, true).expect("decodes");
                    r.max_records_in_a_buffer = r.max_records_in_a_buffer.max(n);
                    std::thread::sleep(Duration::from_millis(1));
                    drop(b); // back to the pool
                }
                Some((_, ChannelMessage::Event(Event::EndOfPartition))) => break,
                Some((_, ChannelMessage::Event(e))) => panic!("unexpected event {e:?}"),
                Some((_, other)) => panic!("unexpected message {other:?}"),
                None => {
                    assert!(Instant::now() < deadline, "consumer timed out");
                    std::thread::sleep(Duration::from_micros(20));
                }
            }
        }
        r.values = values.take();
        r
    });

    let core = Rc::new(RefCell::new(WriterCore::new(vec![ch.clone()])));
    let mut writer = RecordWriter::<u64>::new(core.clone(), Selector::Single, false, "w".into());
    let waker = Waker::noop();
    let mut cx = Context::from_waker(waker);
    let deadline = Instant::now() + Duration::from_secs(20);
    let wait = |core: &RefCell<WriterCore>, cx: &mut Context<'_>, until_drained: bool| loop {
        let ready = core.borrow_mut().poll_available(cx).is_ready();
        let c = core.borrow();
        if (ready && !until_drained) || (until_drained && c.is_drained()) {
            return;
        }
        assert!(Instant::now() < deadline, "producer timed out");
        std::thread::sleep(Duration::from_micros(20));
    };
    let mut r = ProducerReport {
        max_pooled_in_use: 0,
        overflow_buffers: 0,
        max_overflow_per_input: 0,
        pool_after: (0, 0),
    };
    let mut next = 0;
    while next < records {
        if !core.borrow().is_available() {
            wait(&core, &mut cx, false);
        }
        let before = core.borrow().overflow_buffers;
        for _ in 0..per_input.min(records - next) {
            writer.emit(next, None).unwrap();
            next += 1;
            let s = ch.pool().stats();
            assert_eq!(
                s.capacity, BUFFERS_PER_CHANNEL as usize,
                "the pool never grows"
            );
            r.max_pooled_in_use = r.max_pooled_in_use.max(s.capacity - s.available);
        }
        let overflowed = core.borrow().overflow_buffers - before;
        r.max_overflow_per_input = r.max_overflow_per_input.max(overflowed);
        if overflowed > 0 {
            assert!(
                !core.borrow().is_available(),
                "after an overflow the next input waits"
            );
        }
    }
    writer.finish().unwrap(); // flushes, then end of partition
    wait(&core, &mut cx, true);
    let c = consumer.join().expect("consumer");
    r.overflow_buffers = core.borrow().overflow_buffers;
    let s = ch.pool().stats();
    r.pool_after = (s.capacity, s.available);
    (r, c)
}

#[test]
fn writer_never_uses_more_than_the_channel_pool_when_inputs_fit_a_buffer() {
    for per_input in [1, 100, RECORDS_PER_BUFFER] {
        let (p, c) = pump(6_000, per_input);
        let what = format!("{per_input} records per input");
        assert_eq!(c.values, (0..6_000).collect::<Vec<_>>(), "{what}");
        assert_eq!(
            c.max_records_in_a_buffer, RECORDS_PER_BUFFER,
            "{what}: a full 4 KiB buffer holds {RECORDS_PER_BUFFER} u64 records"
        );
        assert_eq!(p.overflow_buffers, 0, "{what}: no unpooled buffer");
        assert_eq!(c.unpooled, 0, "{what}");
        assert!(
            c.buffers >= 6_000 / RECORDS_PER_BUFFER,
            "{what}: {}",
            c.buffers
        );
        assert!(
            p.max_pooled_in_use <= BUFFERS_PER_CHANNEL as usize,
            "{what}: {}",
            p.max_pooled_in_use
        );
        assert_eq!(
            p.pool_after,
            (BUFFERS_PER_CHANNEL as usize, BUFFERS_PER_CHANNEL as usize),
            "{what}: every buffer back in its pool"
        );
    }
}

#[test]
fn an_input_larger_than_a_buffer_overflows_at_most_its_own_size() {
    // 1024 records per input (the source task's batch) = 4 buffers' worth: the writer may
    // overflow into unpooled buffers for that input (documented), but never more than the
    // input's own size, the next input waits, and nothing is lost.
    let per_input = 1024;
    let (p, c) = pump(6_000, per_input);
    assert_eq!(c.values, (0..6_000).collect::<Vec<_>>());
    assert_eq!(
        p.overflow_buffers, c.unpooled,
        "every unpooled buffer arrived"
    );
    let input_buffers = per_input.div_ceil(RECORDS_PER_BUFFER);
    assert!(
        p.max_overflow_per_input <= input_buffers,
        "{} unpooled buffers for one input of {input_buffers} buffers' worth",
        p.max_overflow_per_input
    );
    assert_eq!(
        p.pool_after,
        (BUFFERS_PER_CHANNEL as usize, BUFFERS_PER_CHANNEL as usize)
    );
}
