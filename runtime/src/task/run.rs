//! The task loops.

use super::build::{BuiltTask, Head};
use super::latency::{now_ns, LatencyMarker, MarkerClock};
use super::TaskMetrics;
use crate::error::{Retry, TaskError, TaskResult};
use crate::exchange::writer::{wait_available, WriterCore};
use crate::exchange::InputGate;
use crate::exchange::{ChannelMessage, Event};
use crate::operator::context::{now_millis, with_step_clock};
use crate::operator::MAX_WATERMARK;
use crate::sink::SinkCounter;
use crate::slot;
use crate::source::SourceStatus;
use crate::time::valve::WatermarkValve;
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Records a source emits between checks for timers, flushes and cancellation.
const SOURCE_BATCH: usize = 1024;
/// How often a waiting task looks at the cancellation flag.
const CANCEL_POLL: Duration = Duration::from_millis(50);

/// How a task ended, when it did not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskEnd {
    /// Its input ended and it finished its chain.
    Finished,
    /// The job was cancelled.
    Canceled,
}

/// What a task shares with its job (global handles).
pub struct TaskEnv {
    /// Set when the job is cancelled or failed.
    pub cancel: Arc<AtomicBool>,
    /// The task's counters.
    pub metrics: Arc<TaskMetrics>,
    /// Buffer timeout (0: writers flush every record).
    pub buffer_timeout: Duration,
    /// Flush partly filled buffers whenever the task runs out of input
    /// (`execution.flush-on-idle`): the buffer timeout then only bounds the wait of a task
    /// that stays busy.
    pub flush_on_idle: bool,
}

struct Loop {
    writers: Vec<Rc<RefCell<WriterCore>>>,
    env: TaskEnv,
    start: Instant,
    last_flush: Instant,
    idle: Duration,
    backpressured: Duration,
    records_in: u64,
    bytes_in: u64,
    last_publish: Instant,
    /// The chain ends in a sink: record latency markers.
    has_sink: bool,
    /// Records that reached the chain's sinks, counted by the sinks themselves.
    sink_records: SinkCounter,
    /// A source task's marker schedule.
    markers: Option<MarkerClock>,
}

/// Counters are published at least this often (and every [`PUBLISH_EVERY`] loop turns), so
/// that heartbeats and the REST API see fresh figures at any rate.
const PUBLISH_INTERVAL: Duration = Duration::from_millis(50);
/// Loop turns between publications at high rates.
const PUBLISH_EVERY: u32 = 64;

impl Loop {
    fn cancelled(&self) -> bool {
        self.env.cancel.load(Ordering::Relaxed)
    }

    fn available(&self) -> bool {
        self.writers.iter().all(|w| w.borrow().is_available())
    }

    /// Waits until every writer can take more; false if the job was cancelled meanwhile.
    async fn wait_outputs(&mut self) -> TaskResult<bool> {
        let t = Instant::now();
        for w in &self.writers {
            loop {
                if self.env.cancel.load(Ordering::Relaxed) {
                    self.backpressured += t.elapsed();
                    return Ok(false);
                }
                if slot::race_timeout(wait_available(w), CANCEL_POLL)
                    .await
                    .is_some()
                {
                    if let Some(e) = w.borrow().failure() {
                        let retry = if e.retry { Retry::May } else { Retry::Never };
                        return Err(TaskError::new(e.to_string(), retry));
                    }
                    break;
                }
            }
        }
        self.backpressured += t.elapsed();
        Ok(true)
    }

    fn maybe_flush(&mut self) {
        let timeout = self.env.buffer_timeout;
        if !timeout.is_zero() && self.last_flush.elapsed() >= timeout {
            self.flush_writers();
        }
    }

    /// Sends every partly filled output buffer now.
    fn flush_writers(&mut self) {
        for w in &self.writers {
            w.borrow_mut().flush_all();
        }
        self.last_flush = Instant::now();
    }

    /// The task is about to wait for input: with `flush_on_idle`, nothing it wrote waits
    /// for the buffer timeout meanwhile.
    fn flush_before_idle(&mut self) {
        if self.env.flush_on_idle {
            self.flush_writers();
        }
    }

    /// Timers are about to fire (event time advances, or a processing-time timer is due):
    /// what the task wrote before leaves first, so that a long firing (a window's results
    /// for many keys) holds back neither those records nor the latency markers behind them.
    /// Flink's output flusher thread sends partly filled buffers every buffer timeout even
    /// while the task is busy; a strom task flushes for itself, so it does so before the
    /// work that may take long. Once per watermark advance or timer firing, and a flush
    /// spends only what it sends (a slice of the buffer), so this is cheap.
    fn flush_before_timers(&mut self) {
        self.flush_writers();
    }

    /// How long the task may sleep before a timer or a flush is due.
    fn sleep_budget(&self, time: &crate::operator::TimeService) -> Duration {
        let mut d = CANCEL_POLL;
        let next = time.next_deadline();
        if next != i64::MAX {
            d = d.min(Duration::from_millis((next - now_millis()).max(0) as u64));
        }
        let t = self.env.buffer_timeout;
        if !t.is_zero() {
            d = d.min(t.saturating_sub(self.last_flush.elapsed()));
        }
        d
    }

    /// Publishes the counters every [`PUBLISH_EVERY`] turns or [`PUBLISH_INTERVAL`].
    fn maybe_publish(&mut self, turns: u32) {
        if turns.is_multiple_of(PUBLISH_EVERY) || self.last_publish.elapsed() >= PUBLISH_INTERVAL {
            self.publish();
        }
    }

    fn publish(&mut self) {
        self.last_publish = Instant::now();
        let m = &self.env.metrics;
        let (mut out, mut bytes, mut overflow) = (0, 0, 0);
        for w in &self.writers {
            let w = w.borrow();
            out += w.records_out;
            bytes += w.bytes_out;
            overflow += w.overflow_buffers;
        }
        m.overflow_buffers.store(overflow, Ordering::Relaxed);
        m.records_in.store(self.records_in, Ordering::Relaxed);
        m.bytes_in.store(self.bytes_in, Ordering::Relaxed);
        m.records_out.store(out, Ordering::Relaxed);
        m.sink_records
            .store(self.sink_records.get(), Ordering::Relaxed);
        m.bytes_out.store(bytes, Ordering::Relaxed);
        m.idle_ns
            .store(self.idle.as_nanos() as u64, Ordering::Relaxed);
        m.backpressured_ns
            .store(self.backpressured.as_nanos() as u64, Ordering::Relaxed);
        m.total_ns
            .store(self.start.elapsed().as_nanos() as u64, Ordering::Relaxed);
    }

    /// A latency marker reached this task (or its source made one): record it at the sink,
    /// and pass it on through every output.
    fn latency_marker(&self, m: LatencyMarker) {
        if self.has_sink {
            self.env.metrics.latency.record(&m, now_ns());
        }
        for w in &self.writers {
            w.borrow_mut().latency_marker(m);
        }
    }

    /// Sends a source's latency marker if one is due.
    fn maybe_mark(&mut self, src: &dyn crate::api::node::ErasedSource) {
        if let Some(m) = self
            .markers
            .as_mut()
            .and_then(|c| c.due(src.latency_stamp()))
        {
            self.latency_marker(m);
        }
    }

    /// Tells downstream tasks to stop.
    fn cancel_downstream(&self) {
        for w in &self.writers {
            w.borrow_mut().broadcast_event(Event::Cancel);
        }
    }

    /// Hands every pending message to its channel before the task ends.
    async fn drain(&mut self) -> bool {
        for w in &self.writers {
            w.borrow_mut().flush_all();
        }
        for w in self.writers.clone() {
            while !w.borrow().is_drained() {
                if self.cancelled() {
                    return false;
                }
                let _ = slot::race_timeout(wait_available(&w), CANCEL_POLL).await;
            }
        }
        true
    }
}

/// Runs a built task to its end.
pub(crate) async fn run_task(
    task: BuiltTask,
    gate: Option<InputGate>,
    inputs: Vec<u8>,
    env: TaskEnv,
) -> TaskResult<TaskEnd> {
    let now = Instant::now();
    let mut l = Loop {
        writers: task.writers,
        env,
        start: now,
        last_flush: now,
        idle: Duration::ZERO,
        backpressured: Duration::ZERO,
        records_in: 0,
        bytes_in: 0,
        last_publish: Instant::now(),
        has_sink: task.has_sink,
        sink_records: task.sink_records,
        markers: task.markers,
    };
    let time = task.time;
    let result = match task.head {
        Head::Source(src) => run_source(&mut l, src, &time).await,
        Head::Inputs(handlers) => match gate {
            Some(gate) => run_inputs(&mut l, handlers, gate, inputs, &time).await,
            None => Err(crate::error::TaskError::new(
                "internal: input task without gate",
                crate::error::Retry::Never,
            )),
        },
    };
    let result = match result {
        Ok(TaskEnd::Finished) => {
            if l.drain().await {
                Ok(TaskEnd::Finished)
            } else {
                Ok(TaskEnd::Canceled)
            }
        }
        other => {
            l.cancel_downstream();
            other
        }
    };
    l.publish();
    result
}

async fn run_source(
    l: &mut Loop,
    mut src: Box<dyn crate::api::node::ErasedSource>,
    time: &crate::operator::TimeService,
) -> TaskResult<TaskEnd> {
    let mut batches = 0u32;
    loop {
        if l.cancelled() {
            return Ok(TaskEnd::Canceled);
        }
        if !l.available() && !l.wait_outputs().await? {
            return Ok(TaskEnd::Canceled);
        }
        let (status, n) = poll_source(l, &mut *src)?;
        l.records_in += n as u64;
        if n > 0 {
            l.maybe_mark(&*src);
        }
        match status {
            SourceStatus::More => {}
            SourceStatus::Finished => break,
            SourceStatus::Pending => {
                l.flush_before_idle();
                let t = Instant::now();
                let budget = l.sleep_budget(time);
                let r = slot::race_timeout(src.wait(), budget).await;
                l.idle += t.elapsed();
                if let Some(r) = r {
                    r?;
                }
            }
        }
        fire_timers(l, time, src.head())?;
        l.maybe_flush();
        batches += 1;
        l.maybe_publish(batches);
        slot::yield_if_needed().await;
    }
    // The end of input fires every event-time timer left in the chain.
    l.flush_before_timers();
    let head = src.head();
    head.watermark(MAX_WATERMARK)?;
    head.finish()?;
    Ok(TaskEnd::Finished)
}

/// Polls a source for up to [`SOURCE_BATCH`] records in steps of its writers' shortest
/// [`step`](WriterCore::step), stopping early when an output becomes back-pressured.
fn poll_source(
    l: &Loop,
    src: &mut dyn crate::api::node::ErasedSource,
) -> TaskResult<(SourceStatus, usize)> {
    // A chain without outputs cannot be back-pressured: no reason to check after a step.
    let step = l
        .writers
        .iter()
        .map(|w| w.borrow().step())
        .min()
        .unwrap_or(SOURCE_BATCH);
    let mut total = 0;
    loop {
        let (status, n) = with_step_clock(|| src.poll_batch(step))?;
        total += n;
        if status != SourceStatus::More || total >= SOURCE_BATCH || !l.available() {
            return Ok((status, total));
        }
    }
}

fn fire_timers(
    l: &mut Loop,
    time: &crate::operator::TimeService,
    head: &mut dyn crate::exchange::reader::Lifecycle,
) -> TaskResult {
    let next = time.next_deadline();
    if next != i64::MAX {
        let now = now_millis();
        if now >= next {
            l.flush_before_timers();
            time.reset();
            head.processing_time(now)?;
        }
    }
    Ok(())
}

async fn run_inputs(
    l: &mut Loop,
    mut handlers: Vec<Box<dyn crate::exchange::reader::InputHandler>>,
    mut gate: InputGate,
    inputs: Vec<u8>,
    time: &crate::operator::TimeService,
) -> TaskResult<TaskEnd> {
    // Channel → (logical input, index within that input).
    let mut local = vec![0usize; inputs.len()];
    let mut counts = vec![0usize; handlers.len()];
    for (ch, input) in inputs.iter().enumerate() {
        local[ch] = counts[*input as usize];
        counts[*input as usize] += 1;
    }
    let mut valves: Vec<WatermarkValve> = counts.iter().map(|n| WatermarkValve::new(*n)).collect();
    let mut ended = vec![0usize; handlers.len()];
    let mut idle = vec![false; handlers.len()];
    let mut open_inputs = handlers.len();
    let mut processed = 0u32;
    while open_inputs > 0 {
        if l.cancelled() {
            return Ok(TaskEnd::Canceled);
        }
        if !l.available() && !l.wait_outputs().await? {
            return Ok(TaskEnd::Canceled);
        }
        let next = match gate.try_next() {
            Some(m) => Some(m),
            None => {
                l.flush_before_idle();
                let t = Instant::now();
                let budget = l.sleep_budget(time);
                let m = slot::race_timeout(gate.next(), budget).await;
                l.idle += t.elapsed();
                m
            }
        };
        if let Some((ch, msg)) = next {
            let input = inputs[ch] as usize;
            let h = &mut handlers[input];
            match msg {
                ChannelMessage::Buffer(buf) => {
                    l.bytes_in += buf.len() as u64;
                    l.records_in += with_step_clock(|| h.on_buffer(&buf, true))?;
                }
                ChannelMessage::Received(buf) => {
                    l.bytes_in += buf.len() as u64;
                    l.records_in += with_step_clock(|| h.on_buffer(&buf, false))?;
                }
                ChannelMessage::Failed(e) => {
                    let retry = if e.retry { Retry::May } else { Retry::Never };
                    return Err(TaskError::new(
                        format!("input channel {ch} failed: {e}"),
                        retry,
                    ));
                }
                ChannelMessage::Event(Event::Barrier(b)) => {
                    return Err(TaskError::new(
                        format!("checkpoint barrier {} received, but this build does not take checkpoints yet", b.id),
                        Retry::Never,
                    ));
                }
                ChannelMessage::Event(Event::Watermark(w)) => {
                    if let Some(w) = valves[input].watermark(local[ch], w) {
                        l.flush_before_timers();
                        h.watermark(w)?;
                    }
                    if idle[input] && !valves[input].all_idle() {
                        idle[input] = false;
                        h.watermark_status(false)?;
                    }
                }
                ChannelMessage::Event(Event::Idle(is_idle)) => {
                    if let Some(w) = valves[input].status(local[ch], is_idle) {
                        l.flush_before_timers();
                        h.watermark(w)?;
                    }
                    let all = valves[input].all_idle();
                    if all != idle[input] {
                        idle[input] = all;
                        h.watermark_status(all)?;
                    }
                }
                ChannelMessage::Event(Event::EndOfPartition) => {
                    if let Some(w) = valves[input].end(local[ch]) {
                        l.flush_before_timers();
                        h.watermark(w)?;
                    }
                    ended[input] += 1;
                    if ended[input] == counts[input] {
                        h.finish()?;
                        open_inputs -= 1;
                    }
                }
                ChannelMessage::Event(Event::LatencyMarker(m)) => l.latency_marker(m),
                ChannelMessage::Event(Event::Cancel) => return Ok(TaskEnd::Canceled),
            }
        }
        if let Some(h) = handlers.first_mut() {
            fire_timers(l, time, h.as_mut())?;
        }
        l.maybe_flush();
        processed += 1;
        l.maybe_publish(processed);
        slot::yield_if_needed().await;
    }
    Ok(TaskEnd::Finished)
}
