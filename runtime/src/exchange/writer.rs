//! The producer side: serializes records into channel buffers and hands them over.
//!
//! Each channel has one buffer being filled. A full buffer goes to the channel whole; a flush
//! (a source waiting for its schedule, a barrier, a watermark, the end) sends what was written
//! as a slice of the buffer and keeps filling the rest, so frequent small flushes do not
//! spend the channel's few buffers on a few records each (Flink's `BufferBuilder` and
//! `BufferConsumer` do the same).

use super::partition::partition;
use super::route_key::SharedRouteKey;
use super::{ChannelMessage, Event, LocalChannel};
use crate::error::{Retry, TaskError, TaskResult};
use crate::graph::key_groups::{key_group, subtask_for_key_group};
use crate::operator::context::{guarded, guarded_unless};
use crate::operator::{Millis, Output};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::poll_fn;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll};
use strom_net::codec::{EncodeError, RecordEncoder, RunCursor, WireRecord};
use strom_net::{ChannelError, LatencyMarker, NetBuffer};

/// The inline bytes of one back-pressure step of a source (see [`WriterCore::step`]).
pub const STEP_BYTES: usize = 4096;
/// The shortest source step, in records.
pub const MIN_STEP: usize = 32;
/// The longest source step, in records.
pub const MAX_STEP: usize = 256;
/// A flush keeps filling its buffer behind the slice it sends while at least
/// `1 / MIN_ROOM_KEPT` of the buffer is left; with less, the buffer goes whole.
pub const MIN_ROOM_KEPT: usize = 8;

/// [`WriterCore::step`] for records of `T`: [`STEP_BYTES`] of them, within
/// [`MIN_STEP`]..=[`MAX_STEP`].
pub fn step_for<T>() -> usize {
    STEP_BYTES
        .checked_div(std::mem::size_of::<T>())
        .unwrap_or(MAX_STEP)
        .clamp(MIN_STEP, MAX_STEP)
}

/// Buffers and queues of one output edge of a task (per-slot).
///
/// Invariant: `blocked` is true while a message waits in `pending` or a channel has no free
/// pooled buffer; the task takes no new input while any of its writers is blocked.
pub struct WriterCore {
    channels: Vec<Arc<LocalChannel>>,
    current: Vec<Option<NetBuffer>>,
    pending: Vec<VecDeque<ChannelMessage>>,
    blocked: bool,
    /// Records written.
    pub records_out: u64,
    /// Bytes handed to channels.
    pub bytes_out: u64,
    /// Unpooled buffers allocated because a pool was empty mid-record or a record was larger
    /// than a pooled buffer.
    pub overflow_buffers: u64,
    encoder: RecordEncoder,
    /// The open record run of each channel's current buffer.
    runs: Vec<RunCursor>,
    /// The first channel failure seen (a remote consumer went away).
    failure: Option<ChannelError>,
    /// Latency markers waiting behind each channel's partly filled buffer.
    deferred_markers: Vec<Vec<LatencyMarker>>,
    /// The channel of the next latency marker (round-robin).
    next_marker_channel: usize,
    /// Source records between checks for back-pressure (see [`Self::step`]).
    step: usize,
}

impl WriterCore {
    /// A writer over `channels`, ordered by consumer subtask index (or pointwise target).
    pub fn new(channels: Vec<Arc<LocalChannel>>) -> Self {
        let n = channels.len();
        WriterCore {
            channels,
            current: (0..n).map(|_| None).collect(),
            pending: (0..n).map(|_| VecDeque::new()).collect(),
            blocked: false,
            records_out: 0,
            bytes_out: 0,
            overflow_buffers: 0,
            encoder: RecordEncoder::new(),
            runs: vec![RunCursor::default(); n],
            failure: None,
            deferred_markers: vec![Vec::new(); n],
            next_marker_channel: 0,
            step: MIN_STEP,
        }
    }

    /// Number of channels.
    pub fn len(&self) -> usize {
        self.channels.len()
    }

    /// Whether there are no channels.
    pub fn is_empty(&self) -> bool {
        self.channels.is_empty()
    }

    /// How many records a source chained before this writer may emit between checks for
    /// back-pressure: once a channel has no free buffer, what the rest of the step writes
    /// goes into unpooled buffers. About [`STEP_BYTES`] of this edge's records (their inline
    /// part), between [`MIN_STEP`] and [`MAX_STEP`]: small records in long steps, so that
    /// the per-step costs (a dynamic call per chained operator, a key-hash call and a run
    /// append per channel) spread over many records; large ones in short steps, so that the
    /// overshoot stays small in bytes. Set by the typed [`RecordWriter`] of the edge.
    pub fn step(&self) -> usize {
        self.step
    }

    /// Whether the task may take more input.
    pub fn is_available(&self) -> bool {
        !self.blocked
    }

    #[inline(always)]
    fn write<T: WireRecord>(&mut self, ch: usize, value: &T, ts: Option<Millis>) -> TaskResult {
        if self.current[ch].is_none() {
            self.current[ch] = Some(self.fresh_buffer(ch, 0));
        }
        let buf = self.current[ch].as_mut().expect("set above");
        match self
            .encoder
            .encode_in_run(buf, &mut self.runs[ch], value, ts)
        {
            Ok(()) => {}
            Err(EncodeError::Full) => {
                // A full buffer goes whole; so does the rest left behind a slice (empty, but
                // short of a whole buffer's room for this record).
                if !buf.is_empty() || buf.is_slice() {
                    self.hand_over(ch, false);
                    self.current[ch] = Some(self.fresh_buffer(ch, 0));
                }
                let buf = self.current[ch].as_mut().expect("set above");
                match self
                    .encoder
                    .encode_in_run(buf, &mut self.runs[ch], value, ts)
                {
                    Ok(()) => {}
                    Err(EncodeError::Full) => self.write_oversized(ch, value, ts)?,
                    Err(e) => return Err(encode_failed(e)),
                }
            }
            Err(e) => return Err(encode_failed(e)),
        }
        self.records_out += 1;
        Ok(())
    }

    /// Writes `values` in order to channel `ch`: appended to the channel's open record run
    /// with one serializer where they can be, one by one where they cannot.
    fn write_batch<T: WireRecord>(
        &mut self,
        ch: usize,
        values: &[T],
        ts: Option<Millis>,
    ) -> TaskResult {
        let mut i = 0;
        while i < values.len() {
            if let Some(buf) = self.current[ch].as_mut() {
                let n = self
                    .encoder
                    .append_to_run(buf, &mut self.runs[ch], &values[i..], ts)
                    .map_err(encode_failed)?;
                self.records_out += n as u64;
                i += n;
                if i == values.len() {
                    break;
                }
            }
            self.write(ch, &values[i], ts)?;
            i += 1;
        }
        Ok(())
    }

    /// A record bigger than a pooled buffer travels alone in an unpooled one.
    fn write_oversized<T: WireRecord>(
        &mut self,
        ch: usize,
        value: &T,
        ts: Option<Millis>,
    ) -> TaskResult {
        let mut size = self.channels[ch].pool().buffer_size() * 2;
        loop {
            let mut big = NetBuffer::unpooled(size);
            match self.encoder.encode(&mut big, value, ts) {
                Ok(()) => {
                    self.overflow_buffers += 1;
                    // Keep the (empty) pooled buffer for the records that follow.
                    self.send(ch, ChannelMessage::Buffer(big));
                    return Ok(());
                }
                Err(EncodeError::Full) if size < (1 << 31) => size *= 2,
                Err(e) => return Err(encode_failed(e)),
            }
        }
    }

    fn fresh_buffer(&mut self, ch: usize, _hint: usize) -> NetBuffer {
        let pool = self.channels[ch].pool();
        match pool.try_acquire() {
            Some(b) => {
                if !pool.has_free() {
                    self.blocked = true;
                }
                b
            }
            None => {
                self.blocked = true;
                self.overflow_buffers += 1;
                NetBuffer::unpooled(pool.buffer_size())
            }
        }
    }

    fn send(&mut self, ch: usize, msg: ChannelMessage) {
        if let ChannelMessage::Buffer(b) = &msg {
            self.bytes_out += b.len() as u64;
        }
        if !self.pending[ch].is_empty() {
            self.pending[ch].push_back(msg);
            return;
        }
        if let Err(m) = self.channels[ch].try_push(msg) {
            self.pending[ch].push_back(m);
            self.blocked = true;
        }
        self.note_failure(ch);
    }

    /// A failed channel drops what it is given; remember its error and block, so the task
    /// stops and reports it instead of producing into the void.
    fn note_failure(&mut self, ch: usize) {
        if let Some(e) = self.channels[ch].failure() {
            // Nothing will take these any more; their buffers go back to the pool.
            self.pending[ch].clear();
            if self.failure.is_none() {
                self.failure = Some(e.context(format_args!("output channel {ch}")));
            }
            self.blocked = true;
        }
    }

    /// The first failure of an output channel, if any.
    pub fn failure(&self) -> Option<&ChannelError> {
        self.failure.as_ref()
    }

    /// Sends what channel `ch`'s buffer holds, if anything, and the latency markers behind
    /// it. Where enough of a pooled buffer is left ([`MIN_ROOM_KEPT`]), what was written
    /// goes as a slice and the writer goes on filling the rest of the same buffer: a flush
    /// spends the bytes it sends, not a whole buffer of the channel's credit.
    pub fn flush(&mut self, ch: usize) {
        self.hand_over(ch, true);
    }

    /// Sends channel `ch`'s written bytes, as a slice if `keep_rest` and enough room is
    /// left, else the whole buffer; then the deferred latency markers.
    fn hand_over(&mut self, ch: usize, keep_rest: bool) {
        let min_room = self.channels[ch].pool().buffer_size() / MIN_ROOM_KEPT;
        let written = match self.current[ch].as_mut() {
            Some(b) if b.is_empty() => None,
            Some(b) if keep_rest && b.is_pooled() && b.room_after_split() >= min_room => {
                self.runs[ch] = RunCursor::default();
                b.split_written()
            }
            _ => self.current[ch].take().filter(|b| !b.is_empty()),
        };
        if let Some(b) = written {
            self.send(ch, ChannelMessage::Buffer(b));
        }
        if !self.deferred_markers[ch].is_empty() {
            for m in std::mem::take(&mut self.deferred_markers[ch]) {
                self.send(ch, ChannelMessage::Event(Event::LatencyMarker(m)));
            }
        }
    }

    /// Sends `marker` on the next channel in turn (Flink sends each marker on one channel),
    /// behind that channel's partly filled buffer: it leaves with that buffer, so it waits as
    /// long as the last record written before it.
    pub fn latency_marker(&mut self, marker: LatencyMarker) {
        if self.channels.is_empty() {
            return;
        }
        let ch = self.next_marker_channel % self.channels.len();
        self.next_marker_channel = ch + 1;
        if self.current[ch].as_ref().is_some_and(|b| !b.is_empty()) {
            self.deferred_markers[ch].push(marker);
        } else {
            self.send(ch, ChannelMessage::Event(Event::LatencyMarker(marker)));
        }
    }

    /// Sends every partly filled buffer.
    pub fn flush_all(&mut self) {
        for ch in 0..self.channels.len() {
            self.flush(ch);
        }
    }

    /// Flushes, then sends `event` on every channel.
    ///
    /// After the end of the partition or a cancel nothing more is written, so the rest of
    /// each channel's buffer goes back to the pool (once the consumer dropped its slices).
    pub fn broadcast_event(&mut self, event: Event) {
        let last = matches!(event, Event::EndOfPartition | Event::Cancel);
        for ch in 0..self.channels.len() {
            self.flush(ch);
            if last {
                self.current[ch] = None;
            }
            self.send(ch, ChannelMessage::Event(event));
        }
    }

    /// Makes progress on pending messages and empty pools; ready when not blocked.
    pub fn poll_available(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let mut ready = true;
        for ch in 0..self.channels.len() {
            self.note_failure(ch);
            if self.failure.is_some() {
                return Poll::Ready(());
            }
            while let Some(msg) = self.pending[ch].pop_front() {
                if let Err(m) = self.channels[ch].push_or_register(cx, msg) {
                    self.pending[ch].push_front(m);
                    ready = false;
                    break;
                }
            }
            let pool = self.channels[ch].pool();
            if !pool.has_free() {
                // Wait for a buffer to come back (the channel's credit).
                if let Poll::Ready(b) = pool.poll_acquire(cx) {
                    drop(b); // returns to the pool; we only waited for one to exist
                    continue;
                }
                ready = false;
            }
        }
        if ready {
            self.blocked = false;
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }

    /// Whether every message was handed to its channel (used at the end of a task).
    pub fn is_drained(&self) -> bool {
        self.pending.iter().all(|p| p.is_empty())
    }
}

/// Waits until `core` is available.
pub async fn wait_available(core: &RefCell<WriterCore>) {
    poll_fn(|cx| core.borrow_mut().poll_available(cx)).await
}

fn encode_failed(e: EncodeError) -> TaskError {
    TaskError::new(format!("cannot serialize record: {e}"), Retry::Never)
}

/// How a [`RecordWriter`] picks a channel.
pub enum Selector<T> {
    /// One channel (forward).
    Single,
    /// Round-robin (rebalance, rescale).
    RoundRobin(usize),
    /// Every channel.
    Broadcast,
    /// By key group of the key hash; channels are the consumer's subtasks in order.
    Hash {
        /// Key hash of a record.
        key: SharedRouteKey<T>,
        /// Consumer max parallelism.
        max_parallelism: u32,
    },
}

/// The typed end of an output edge: an [`Output`] that serializes records into channels.
pub struct RecordWriter<T> {
    core: Rc<RefCell<WriterCore>>,
    selector: Selector<T>,
    flush_every_record: bool,
    name: Rc<str>,
    /// For hash routing: the channel of each key group (no division per record).
    channel_of_group: Box<[u32]>,
    /// A batch's records sorted by channel, in order (reused).
    staged: Vec<Vec<T>>,
    /// A batch's key hashes (reused).
    hashes: Vec<u64>,
    /// A batch's channel per record (reused).
    targets: Vec<u32>,
}

impl<T> RecordWriter<T> {
    /// A writer that routes with `selector`.
    pub fn new(
        core: Rc<RefCell<WriterCore>>,
        selector: Selector<T>,
        flush_every_record: bool,
        name: Rc<str>,
    ) -> Self {
        let channel_of_group = match &selector {
            Selector::Hash {
                max_parallelism, ..
            } => {
                let n = core.borrow().len() as u32;
                (0..*max_parallelism)
                    .map(|g| subtask_for_key_group(g, *max_parallelism, n))
                    .collect()
            }
            _ => Box::default(),
        };
        let staged = (0..core.borrow().len()).map(|_| Vec::new()).collect();
        core.borrow_mut().step = step_for::<T>();
        RecordWriter {
            core,
            selector,
            flush_every_record,
            name,
            channel_of_group,
            staged,
            hashes: Vec::new(),
            targets: Vec::new(),
        }
    }
}

impl<T: WireRecord + 'static> RecordWriter<T> {
    /// Routes one record into `core`'s channels. `guard_held`: the caller runs this under
    /// a panic guard of its own, so the key selector runs bare.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn route(
        guard_held: bool,
        selector: &mut Selector<T>,
        channel_of_group: &[u32],
        name: &str,
        flush_every_record: bool,
        core: &mut WriterCore,
        value: T,
        timestamp: Option<Millis>,
    ) -> TaskResult {
        let n = core.len();
        let ch = match selector {
            Selector::Single => 0,
            Selector::RoundRobin(next) => {
                let c = *next;
                *next = if c + 1 == n { 0 } else { c + 1 };
                c
            }
            Selector::Hash {
                key,
                max_parallelism,
            } => {
                let h = guarded_unless(guard_held, name, || key.hash(&value))?;
                let group = key_group(h, *max_parallelism) as usize;
                channel_of_group.get(group).copied().unwrap_or(0) as usize
            }
            Selector::Broadcast => {
                for ch in 0..n {
                    core.write(ch, &value, timestamp)?;
                    if flush_every_record {
                        core.flush(ch);
                    }
                }
                return Ok(());
            }
        };
        core.write(ch, &value, timestamp)?;
        if flush_every_record {
            core.flush(ch);
        }
        Ok(())
    }
}

impl<T: WireRecord + 'static> Output<T> for RecordWriter<T> {
    #[inline]
    fn emit(&mut self, value: T, timestamp: Option<Millis>) -> TaskResult {
        let core = &mut *self.core.borrow_mut();
        Self::route(
            false,
            &mut self.selector,
            &self.channel_of_group,
            &self.name,
            self.flush_every_record,
            core,
            value,
            timestamp,
        )
    }

    /// The batch's records sorted by channel (the key selector under one panic guard), then
    /// each channel's records written in one go. Order is kept per channel, which is all a
    /// consumer can see. With a flush after every record, one by one instead.
    fn emit_batch(&mut self, batch: &mut Vec<T>, timestamp: Option<Millis>) -> TaskResult {
        let core = &mut *self.core.borrow_mut();
        if self.flush_every_record {
            let (selector, groups, name) = (&mut self.selector, &self.channel_of_group, &self.name);
            return guarded(name, || -> TaskResult {
                for value in batch.drain(..) {
                    Self::route(true, selector, groups, name, true, core, value, timestamp)?;
                }
                Ok(())
            })?;
        }
        let staged = &mut self.staged;
        match &mut self.selector {
            Selector::Single => core.write_batch(0, batch, timestamp)?,
            Selector::Broadcast => {
                for ch in 0..core.len() {
                    core.write_batch(ch, batch, timestamp)?;
                }
            }
            Selector::RoundRobin(next) => {
                let n = staged.len();
                let targets = &mut self.targets;
                targets.clear();
                targets.extend((0..batch.len()).map(|_| {
                    let c = *next;
                    *next = if c + 1 == n { 0 } else { c + 1 };
                    c as u32
                }));
                partition(batch, targets, staged)?;
            }
            Selector::Hash {
                key,
                max_parallelism,
            } => {
                let groups = &self.channel_of_group;
                let maxp = *max_parallelism;
                let hashes = &mut self.hashes;
                hashes.clear();
                guarded(&self.name, || key.hash_all(batch, hashes))?;
                if hashes.len() != batch.len() {
                    return Err(TaskError::new(
                        format!(
                            "internal: the key hash of '{}' gave {} hashes for {} records",
                            self.name,
                            hashes.len(),
                            batch.len()
                        ),
                        Retry::Never,
                    ));
                }
                let targets = &mut self.targets;
                targets.clear();
                targets.extend(hashes.iter().map(|&h| {
                    let group = key_group(h, maxp) as usize;
                    groups.get(group).copied().unwrap_or(0)
                }));
                partition(batch, targets, staged)?;
            }
        }
        batch.clear();
        let mut result = Ok(());
        for (ch, values) in staged.iter_mut().enumerate() {
            if !values.is_empty() && result.is_ok() {
                result = core.write_batch(ch, values, timestamp);
            }
            values.clear();
        }
        result
    }

    fn watermark(&mut self, watermark: Millis) -> TaskResult {
        self.core
            .borrow_mut()
            .broadcast_event(Event::Watermark(watermark));
        Ok(())
    }

    fn watermark_status(&mut self, idle: bool) -> TaskResult {
        self.core.borrow_mut().broadcast_event(Event::Idle(idle));
        Ok(())
    }

    fn finish(&mut self) -> TaskResult {
        self.core
            .borrow_mut()
            .broadcast_event(Event::EndOfPartition);
        Ok(())
    }
}

#[cfg(test)]
mod tests;
