//! The latency floor: `keyed-count` at a fixed rate on plain threads, no engine.
//!
//! A latency run on this shared 2-vCPU guest measures the machine as much as the engine:
//! kernel threads (here `kdamond`) take a vCPU for milliseconds at a time, and the host
//! takes it back unseen. So the harness runs, in the same invocation and at the same rate,
//! the simplest program with `keyed-count`'s shape and measures its latency the same way:
//! the floor a latency figure is read against (the brief's baseline in the same run).
//!
//! Shape, as strom runs `keyed-count -p P`: `P` threads, pinned to CPUs `0..P` as the slots
//! are; each generates its share of the rate in [`PACE_GRANULE`]s of its schedule
//! (`start + k / rate`, strom's generator), sends each record's `u64` key to the thread
//! owning the key in 32 KiB batches over bounded `flume` channels (full batches at once,
//! partly filled ones when the granule is out: strom's flush-on-idle), and counts the keys
//! it receives in a hash map. A thread generates what is due in chunks of `CHUNK` records
//! (strom's source batch) and after each chunk, once every `interval`, sends each consumer
//! a marker stamped with the due time of that chunk's oldest record; like strom's, the
//! marker waits behind the consumer's partly filled batch and leaves with it. The consumer
//! records `now − stamp` (µs) into an hdrhistogram. Between granules a thread blocks on its
//! input (`recv_deadline`, a futex), as a plain program would.
//!
//! Markers are sampled as strom samples them: a thread catching up after a stall sends one
//! every `interval` of its catch-up, each stamped with the records it has reached. (Until
//! the fourteenth session the floor looked at its marker clock once per release, so a
//! catch-up of many milliseconds, released at once, sent one marker: its episodes were
//! sampled a few times where strom's were sampled every millisecond, and its tail read
//! lower than the same stalls gave strom.)

use hdrhistogram::Histogram;
use rustc_hash::FxHashMap;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use strom_runtime::source::PACE_GRANULE;

/// Keys per 32 KiB batch (strom's network buffer of `u64` records).
const BATCH: usize = 32 * 1024 / 8;
/// Batches in flight per producer and consumer (bounded queues, as strom's credits).
const IN_FLIGHT: usize = 8;
/// Records generated between looks at the marker clock (strom's `SOURCE_BATCH`).
const CHUNK: u64 = 1024;

/// How a thread waits between granules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wait {
    /// Blocks on its input queue with a timeout (a futex): the CPU is free meanwhile.
    Block,
    /// Polls its input queue until the next granule: a whole CPU, no sleep or wake.
    Spin,
}

impl Wait {
    /// The name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Wait::Block => "block",
            Wait::Spin => "spin",
        }
    }
}

/// What one thread sends another.
enum Msg {
    /// Keys of records.
    Keys(Vec<u64>),
    /// A latency marker: the due time of a record, in ns since the run's start.
    Marker(u64),
    /// The sender has generated all of its records.
    End,
}

/// What a floor run measured.
pub struct FloorRun {
    /// How its threads waited.
    pub wait: Wait,
    /// Records per second asked for.
    pub rate: u64,
    /// Records generated over the run's seconds.
    pub achieved: f64,
    /// Marker latencies (µs) of all consumers.
    pub histogram: Histogram<u64>,
    /// CPU seconds of the run (this process).
    pub cpu_seconds: f64,
    /// Wall seconds of the run.
    pub wall_seconds: f64,
}

impl FloorRun {
    /// The JSON record (same quantile names as strom's).
    pub fn to_json(&self) -> Value {
        let h = &self.histogram;
        json!({
            "engine": "plain threads (see bench/src/nexmark_harness/floor.rs)",
            "wait": self.wait.name(),
            "rate_events_per_second": self.rate,
            "achieved_events_per_second": self.achieved,
            "markers": h.len(),
            "p50_us": h.value_at_quantile(0.5),
            "p99_us": h.value_at_quantile(0.99),
            "p999_us": h.value_at_quantile(0.999),
            "max_us": h.max(),
            "cpu_seconds": self.cpu_seconds,
            "wall_seconds": self.wall_seconds,
        })
    }

    /// One line for the console.
    pub fn line(&self) -> String {
        let h = &self.histogram;
        format!(
            "threads that {}: {:.3} M records/s (achieved {:.3} M): latency p50 {} µs, p99 {} µs, p99.9 {} µs, max {} µs ({} markers, {:.2} cores)",
            self.wait.name(),
            self.rate as f64 / 1e6,
            self.achieved / 1e6,
            h.value_at_quantile(0.5),
            h.value_at_quantile(0.99),
            h.value_at_quantile(0.999),
            h.max(),
            h.len(),
            self.cpu_seconds / self.wall_seconds.max(1e-9)
        )
    }
}

/// Runs the floor: `records` keys (`i % keys`) at `rate` records/s over `threads` threads
/// that `wait` between granules, a marker per thread and consumer every `interval`.
pub fn run(
    wait: Wait,
    rate: u64,
    records: u64,
    keys: u64,
    threads: usize,
    interval: Duration,
) -> Result<FloorRun, String> {
    if rate == 0 || keys == 0 || threads == 0 || interval.is_zero() {
        return Err(format!(
            "floor: rate ({rate}), keys ({keys}), threads ({threads}) and interval ({interval:?}) must be positive"
        ));
    }
    let (txs, rxs): (Vec<_>, Vec<_>) = (0..threads)
        .map(|_| flume::bounded::<Msg>(IN_FLIGHT * threads))
        .unzip();
    let cpu = crate::net::cpu::CpuClock::now();
    let start = Instant::now();
    let handles: Vec<_> = rxs
        .into_iter()
        .enumerate()
        .map(|(i, rx)| {
            let w = Worker {
                index: i,
                threads,
                next: records * i as u64 / threads as u64,
                end: records * (i as u64 + 1) / threads as u64,
                rate: rate as f64 / threads as f64,
                keys,
                interval,
                wait,
                start,
                txs: txs.clone(),
                rx,
            };
            std::thread::Builder::new()
                .name(format!("floor-{i}"))
                .spawn(move || w.run())
                .map_err(|e| format!("floor: cannot start a thread: {e}"))
        })
        .collect::<Result<_, _>>()?;
    drop(txs);
    let mut histogram = new_histogram();
    for h in handles {
        let part = h
            .join()
            .map_err(|_| "floor: a thread panicked".to_string())??;
        histogram
            .add(part)
            .map_err(|e| format!("floor: histograms: {e}"))?;
    }
    let wall_seconds = start.elapsed().as_secs_f64();
    Ok(FloorRun {
        wait,
        rate,
        achieved: records as f64 / wall_seconds,
        histogram,
        cpu_seconds: cpu.since(),
        wall_seconds,
    })
}

/// A rate no floor reaches: a run asked for it generates as fast as its threads go.
const UNPACED: u64 = 1 << 40;

/// The floor's maximum rate here and now: `records` keys over `threads` spinning threads
/// as fast as they go (records / wall seconds, thread start included). Half of it is the
/// rate at which the floor runs at strom's load of a run at half strom's maximum.
pub fn max_rate(
    records: u64,
    keys: u64,
    threads: usize,
    interval: Duration,
) -> Result<f64, String> {
    Ok(run(Wait::Spin, UNPACED, records, keys, threads, interval)?.achieved)
}

/// Latencies up to a minute at 3 significant digits. Fixed bounds: `saturating_record`
/// clamps to the highest trackable value rather than growing an auto-resizing histogram,
/// and `Histogram::new(3)` tracks only up to 2,047, which capped this floor's tail at
/// 2.05 ms until it was found.
fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("static bounds are valid")
}

/// One thread: a generator, a router and a consumer.
struct Worker {
    index: usize,
    threads: usize,
    /// The next record and the end of this thread's share.
    next: u64,
    end: u64,
    /// This thread's records per second.
    rate: f64,
    keys: u64,
    interval: Duration,
    wait: Wait,
    start: Instant,
    txs: Vec<flume::Sender<Msg>>,
    rx: flume::Receiver<Msg>,
}

/// What a worker's generator has not sent yet: a batch per consumer thread, and the
/// markers waiting behind each.
struct Outbox {
    batches: Vec<Vec<u64>>,
    markers: Vec<Vec<u64>>,
}

/// What a worker's consumer side has received.
struct Received {
    counts: FxHashMap<u64, u64>,
    histogram: Histogram<u64>,
    ends: usize,
}

impl Received {
    fn take(&mut self, msg: Msg, start: Instant) {
        match msg {
            Msg::Keys(keys) => {
                for k in keys {
                    *self.counts.entry(k).or_insert(0) += 1;
                }
            }
            Msg::Marker(stamp) => {
                let now = start.elapsed().as_nanos() as u64;
                self.histogram
                    .saturating_record(now.saturating_sub(stamp) / 1000);
            }
            Msg::End => self.ends += 1,
        }
    }
}

impl Worker {
    fn run(mut self) -> Result<Histogram<u64>, String> {
        pin(self.index);
        let granule = ((self.rate * PACE_GRANULE.as_secs_f64()) as u64).max(1);
        let mut got = Received {
            counts: FxHashMap::default(),
            histogram: new_histogram(),
            ends: 0,
        };
        let mut out = Outbox {
            batches: (0..self.threads)
                .map(|_| Vec::with_capacity(BATCH))
                .collect(),
            markers: vec![Vec::new(); self.threads],
        };
        let first = self.next;
        let mut next_marker = self.interval;
        let mut ended = false;
        while !ended || got.ends < self.threads {
            if !ended {
                // What is due by now, released in whole granules (strom's generator).
                let elapsed = self.start.elapsed();
                let due = ((elapsed.as_secs_f64() * self.rate) as u64 + 1).min(self.end - first);
                let n = due.saturating_sub(self.next - first);
                if n >= granule.min(self.end - self.next) && n > 0 {
                    let release_end = self.next + n;
                    while self.next < release_end {
                        let oldest = self.next - first;
                        self.generate(CHUNK.min(release_end - self.next), &mut out, &mut got);
                        let now = self.start.elapsed();
                        if now >= next_marker {
                            next_marker = now + self.interval;
                            let stamp = (oldest as f64 / self.rate * 1e9) as u64;
                            self.mark(stamp, &mut out, &mut got);
                        }
                    }
                    self.flush(&mut out, &mut got);
                }
                if self.next == self.end {
                    self.send_all(|| Msg::End, &mut got);
                    ended = true;
                }
            }
            // Take what has arrived; wait for more until the next granule is due.
            while let Ok(msg) = self.rx.try_recv() {
                got.take(msg, self.start);
            }
            let wake = if ended {
                self.start.elapsed() + Duration::from_millis(50)
            } else {
                let last = self.next - first + granule - 1;
                Duration::from_secs_f64(last as f64 / self.rate)
            };
            self.wait_until(wake, &mut got)?;
        }
        let counted: u64 = got.counts.values().sum();
        std::hint::black_box(counted);
        Ok(got.histogram)
    }

    /// Generates the next `n` records into the batches of their key's thread, sending full
    /// batches (and the markers waiting behind them).
    fn generate(&mut self, n: u64, out: &mut Outbox, got: &mut Received) {
        for i in self.next..self.next + n {
            let key = i % self.keys;
            let to = (key.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 32) as usize % self.threads;
            out.batches[to].push(key);
            if out.batches[to].len() == BATCH {
                self.send_batch(to, out, got);
            }
        }
        self.next += n;
    }

    /// A marker for every consumer: at once where no batch is partly filled, else behind
    /// that batch (strom's writer holds a marker behind its channel's partly filled buffer).
    fn mark(&self, stamp: u64, out: &mut Outbox, got: &mut Received) {
        for to in 0..self.threads {
            if out.batches[to].is_empty() {
                self.send(to, Msg::Marker(stamp), got);
            } else {
                out.markers[to].push(stamp);
            }
        }
    }

    /// Sends the partly filled batches: the granule is out (strom's flush-on-idle).
    fn flush(&self, out: &mut Outbox, got: &mut Received) {
        for to in 0..self.threads {
            if !out.batches[to].is_empty() {
                self.send_batch(to, out, got);
            }
        }
    }

    /// Sends thread `to`'s batch and the markers that waited behind it.
    fn send_batch(&self, to: usize, out: &mut Outbox, got: &mut Received) {
        let batch = std::mem::replace(&mut out.batches[to], Vec::with_capacity(BATCH));
        self.send(to, Msg::Keys(batch), got);
        for stamp in std::mem::take(&mut out.markers[to]) {
            self.send(to, Msg::Marker(stamp), got);
        }
    }

    /// Sends a message made by `msg` to every thread.
    fn send_all(&self, msg: impl Fn() -> Msg, got: &mut Received) {
        for to in 0..self.threads {
            self.send(to, msg(), got);
        }
    }

    /// Waits for a message until `wake` (since the start), blocking or spinning.
    fn wait_until(&self, wake: Duration, got: &mut Received) -> Result<(), String> {
        match self.wait {
            Wait::Block => {
                let Some(left) = wake.checked_sub(self.start.elapsed()) else {
                    return Ok(());
                };
                match self.rx.recv_timeout(left) {
                    Ok(msg) => got.take(msg, self.start),
                    Err(flume::RecvTimeoutError::Timeout) => {}
                    Err(flume::RecvTimeoutError::Disconnected) => {
                        return Err("floor: the other threads ended early".into())
                    }
                }
            }
            Wait::Spin => {
                while self.start.elapsed() < wake {
                    match self.rx.try_recv() {
                        Ok(msg) => {
                            got.take(msg, self.start);
                            break;
                        }
                        Err(flume::TryRecvError::Empty) => std::hint::spin_loop(),
                        Err(flume::TryRecvError::Disconnected) => {
                            return Err("floor: the other threads ended early".into())
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Sends `msg` to thread `to`, taking in what arrives while its queue is full (two
    /// threads sending to each other's full queues would otherwise wait for ever).
    fn send(&self, to: usize, mut msg: Msg, got: &mut Received) {
        loop {
            match self.txs[to].try_send(msg) {
                Ok(()) => return,
                Err(flume::TrySendError::Full(m)) => {
                    msg = m;
                    if let Ok(m) = self.rx.recv_timeout(Duration::from_micros(50)) {
                        got.take(m, self.start);
                    }
                }
                // The receiver ended: nothing left to deliver to.
                Err(flume::TrySendError::Disconnected(_)) => return,
            }
        }
    }
}

/// Pins the calling thread to CPU `index` modulo the CPUs there are (as slots pin), if it
/// can, and ends its timed waits on time.
pub(crate) fn pin(index: usize) {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    // SAFETY: a zeroed `cpu_set_t` is an empty set; CPU_SET writes inside it.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: the CPU index is below the number of CPUs, inside the set's bits.
    unsafe { libc::CPU_SET(index % cpus, &mut set) };
    // SAFETY: `set` is a valid cpu_set_t of the size given; 0 is the calling thread.
    let _ = unsafe { libc::sched_setaffinity(0, std::mem::size_of_val(&set), &set) };
    // Timed waits end on time, not up to the default 50 µs of timer slack later.
    // SAFETY: PR_SET_TIMERSLACK takes one integer argument (ns) and touches no memory.
    let _ = unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_marker_arrives_and_the_rate_is_kept() {
        let _cpus = crate::nexmark_harness::pinned_threads();
        // 2 M records/s for 0.2 s over two threads: markers every ms from each thread to
        // each consumer (about 4 × 200; fewer if this machine is busy with other tests),
        // and the run lasts at least as long as the schedule.
        for wait in [Wait::Block, Wait::Spin] {
            let r = run(wait, 2_000_000, 400_000, 100, 2, Duration::from_millis(1)).unwrap();
            assert!(
                r.histogram.len() >= 4 * 150,
                "{wait:?}: {} markers",
                r.histogram.len()
            );
            assert!(r.wall_seconds >= 0.19, "{wait:?}: {} s", r.wall_seconds);
            assert!(r.achieved <= 2_100_000.0, "{wait:?}: {}", r.achieved);
            assert_eq!(r.to_json()["wait"], wait.name());
        }
    }

    #[test]
    fn the_maximum_is_well_above_a_paced_rate() {
        let _cpus = crate::nexmark_harness::pinned_threads();
        // 4 M keys unpaced over two threads: faster than a 2 M/s schedule (2 s for as
        // many; about 30 ms here when the machine is quiet), whatever else it runs.
        let max = max_rate(4_000_000, 100, 2, Duration::from_millis(1)).unwrap();
        assert!(max > 2_000_000.0, "{max} records/s");
    }

    #[test]
    fn a_catch_up_is_sampled_every_interval() {
        let _cpus = crate::nexmark_harness::pinned_threads();
        // 8 M keys unpaced: every record is due at once, so the whole run is one catch-up
        // (about 60 ms here). It sends a marker to each consumer every ms of it, stamped
        // with the records reached (due at the start): latencies that grow with the run.
        // Sampled once per release, as until the fourteenth session, it sent none.
        let r = run(
            Wait::Spin,
            UNPACED,
            8_000_000,
            100,
            2,
            Duration::from_millis(1),
        )
        .unwrap();
        let h = &r.histogram;
        assert!(
            h.len() >= 4 * 10,
            "{} markers in {} s",
            h.len(),
            r.wall_seconds
        );
        assert!(h.max() >= 5_000, "max {} µs", h.max());
        assert!(h.max() as f64 <= r.wall_seconds * 1e6, "max {} µs", h.max());
    }

    #[test]
    fn long_latencies_are_not_clamped() {
        let mut got = Received {
            counts: FxHashMap::default(),
            histogram: new_histogram(),
            ends: 0,
        };
        // A marker due 50 ms before "now" (the run's start is 60 ms ago).
        let start = Instant::now() - Duration::from_millis(60);
        got.take(Msg::Marker(10_000_000), start);
        assert!(got.histogram.max() >= 50_000, "{} µs", got.histogram.max());
    }

    #[test]
    fn bad_settings_are_refused() {
        let b = Wait::Block;
        assert!(run(b, 0, 10, 1, 1, Duration::from_millis(1)).is_err());
        assert!(run(b, 10, 10, 0, 1, Duration::from_millis(1)).is_err());
        assert!(run(b, 10, 10, 1, 0, Duration::from_millis(1)).is_err());
        assert!(run(b, 10, 10, 1, 1, Duration::ZERO).is_err());
    }
}
