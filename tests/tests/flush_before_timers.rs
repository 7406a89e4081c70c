//! What a task wrote before its timers fire leaves before the firing, not after it.
//!
//! A strom task flushes its own output buffers (there is no flusher thread as in Flink), so a
//! long firing (a window's results for many keys, here a timer that sleeps) would hold back
//! the records written before it until the watermark is forwarded after the firing. The task
//! flushes before it hands an advancing watermark or a due processing-time timer to its
//! operators. The run here turns off every other flush (a 60 s buffer timeout, no flush when
//! idle), so only that one can send the records in time.
//!
//! The downstream map runs on both slots: the subtask that shares its slot with the firing
//! waits for it whatever is flushed (the firing holds the slot's thread), the one on the
//! other slot shows whether the records were sent.

use std::sync::{Arc, Mutex};
use std::thread::ThreadId;
use std::time::{Duration, Instant};
use strom_runtime::api::{
    KeyedContext, KeyedProcessFunction, StreamEnv, UserError, WatermarkStrategy,
};
use strom_runtime::operator::Millis;
use strom_tests::cluster_with;

/// Records, all written before the first timer fires.
const RECORDS: u64 = 4;

/// How long the timer's firing takes.
const FIRING: Duration = Duration::from_millis(600);

#[derive(Default)]
struct Times {
    /// When each timer firing began, and on which thread.
    firings: Vec<(Instant, ThreadId)>,
    /// When each record reached the downstream task, and on which thread.
    arrivals: Vec<(u64, Instant, ThreadId)>,
}

/// Passes every record on at once and sets an event-time timer at its timestamp, whose
/// firing sleeps for [`FIRING`].
#[derive(Clone)]
struct ForwardThenSlowTimer(Arc<Mutex<Times>>);

impl KeyedProcessFunction<u64, u64, u64> for ForwardThenSlowTimer {
    fn process_element(
        &mut self,
        value: u64,
        ctx: &mut KeyedContext<'_, u64, u64>,
    ) -> Result<(), UserError> {
        ctx.collect(value);
        ctx.register_event_time_timer(value as Millis);
        Ok(())
    }

    fn on_timer(
        &mut self,
        _timestamp: Millis,
        _ctx: &mut KeyedContext<'_, u64, u64>,
    ) -> Result<(), UserError> {
        let now = (Instant::now(), std::thread::current().id());
        self.0.lock().expect("times").firings.push(now);
        std::thread::sleep(FIRING);
        Ok(())
    }
}

/// The timers fire at the end of input: in the source's task when the keyed process is
/// chained to the source (a keyed edge between single subtasks is chained), in the process's
/// own task (its input's watermark) when chaining is off.
fn records_written_before_a_long_firing_leave_before_it_ends(chained: bool) {
    let c = cluster_with(
        2,
        &[
            ("execution.buffer-timeout", "60 s"),
            ("execution.flush-on-idle", "false"),
            ("pipeline.auto-watermark-interval", "10 ms"),
        ],
    );
    let times = Arc::new(Mutex::new(Times::default()));
    let (f, sink) = (ForwardThenSlowTimer(times.clone()), times.clone());
    c.execute("flush-before-timers", move |env: &mut StreamEnv| {
        let sink = sink.clone();
        let processed = env
            .from_generator(RECORDS, None, |i| i)
            .set_parallelism(1)
            .assign_timestamps_and_watermarks(
                WatermarkStrategy::for_monotonous_timestamps()
                    .with_timestamp_assigner(|v: &u64, _| *v as Millis),
            )
            .set_parallelism(1)
            .key_by(|_: &u64| 0u64)
            .process(f.clone())
            .set_parallelism(1);
        let processed = if chained {
            processed
        } else {
            processed.disable_chaining()
        };
        processed
            .rebalance()
            .map(move |v: u64| {
                let now = (v, Instant::now(), std::thread::current().id());
                sink.lock().expect("times").arrivals.push(now);
                v
            })
            .set_parallelism(2)
            .discard()
            .set_parallelism(2);
        Ok(())
    })
    .expect("job starts")
    .wait()
    .expect("job finishes");

    let t = times.lock().expect("times");
    let (first_firing, firing_thread) = *t.firings.first().expect("the timers fired");
    assert_eq!(
        t.arrivals.len(),
        RECORDS as usize,
        "every record arrives: {:?}",
        t.arrivals
    );
    let elsewhere: Vec<_> = t
        .arrivals
        .iter()
        .filter(|(_, _, thread)| *thread != firing_thread)
        .collect();
    assert!(!elsewhere.is_empty(), "round-robin reaches the other slot");
    for (v, at, _) in elsewhere {
        // Written before the first firing began (their timers are what fires), so they must
        // not wait for it to end.
        let after = at.saturating_duration_since(first_firing);
        assert!(
            after < FIRING / 2,
            "record {v} arrived {after:?} after the firing began (it takes {FIRING:?})"
        );
    }
}

#[test]
fn a_firing_in_the_source_task_does_not_hold_back_what_was_written_before() {
    records_written_before_a_long_firing_leave_before_it_ends(true);
}

#[test]
fn a_firing_in_an_input_task_does_not_hold_back_what_was_written_before() {
    records_written_before_a_long_firing_leave_before_it_ends(false);
}
