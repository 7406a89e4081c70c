//! A data generator with an optional rate limit (Flink's `DataGeneratorSource` with a
//! `RateLimiterStrategy.perSecond`).
//!
//! Record `i` is `f(i)` for `i` in `[0, count)`, split across subtasks in contiguous ranges
//! (like [`SequenceSource::split`](super::SequenceSource::split)). With a rate, each subtask
//! emits its share of the rate: it schedules record `k` of its range at `start + k / rate`
//! and, when ahead, returns [`SourceStatus::Pending`] and sleeps on the slot's timer rather
//! than blocking the core, so the task keeps flushing buffers and firing timers meanwhile.
//!
//! Records are released in granules of [`PACE_GRANULE`] of the schedule: checking the clock
//! for every record or two (what a fast rate gives otherwise) cost about as much as the rest
//! of the job, and left the source never idle, so partly filled buffers waited for the
//! buffer timeout. A record waits at most one granule past its due time, and its latency
//! stamp (its due time) counts that wait.
//!
//! Invariant: a release is whole. Once at least a granule is due, everything due then is
//! released before the source reports [`SourceStatus::Pending`], however small the steps
//! it is polled in (a task polls in steps of a few hundred records, to check back-pressure
//! between them). Until the fifteenth session the rest of a release counted as "less than
//! a granule due", so the source went idle after the first step: the task flushed every
//! ~256 records (about 7 small buffers per granule and channel instead of one), so the
//! 4 buffers of a channel covered ~30 µs of production, not 400 µs, and a consumer that
//! stalled for longer than that stopped every producer feeding it.

use super::{LocalFuture, SourceReader, SourceStatus};
use crate::error::TaskResult;
use crate::operator::Output;
use std::rc::Rc;
use std::time::{Duration, Instant};

/// The slice of its schedule a rate-limited generator releases at once.
pub const PACE_GRANULE: Duration = Duration::from_micros(100);

/// One subtask's generator.
pub struct GeneratorSource<T, F: Fn(u64) -> T + ?Sized = dyn Fn(u64) -> T> {
    f: Rc<F>,
    /// The records of one batch (reused): the chain gets them in one call.
    batch: Vec<T>,
    next: u64,
    end: u64,
    /// Records per second for this subtask (`None`: as fast as possible).
    rate: Option<f64>,
    /// The first poll, as an `Instant` and in wall-clock ns (latency stamps).
    started: Option<Instant>,
    started_ns: i64,
    emitted: u64,
    /// The end (schedule index) of the release in progress: records up to here go out
    /// before the source waits again.
    released: u64,
    /// `emitted` before the last batch: the schedule index of its oldest record.
    batch_first: u64,
}

impl<T, F: Fn(u64) -> T + ?Sized> GeneratorSource<T, F> {
    /// Subtask `subtask` of `parallelism`'s share of `count` records and of `rate` (records
    /// per second over all subtasks; `None` for no limit).
    pub fn split(f: Rc<F>, count: u64, rate: Option<f64>, subtask: u32, parallelism: u32) -> Self {
        let p = parallelism.max(1) as u128;
        let s = (count as u128 * subtask as u128 / p) as u64;
        let e = (count as u128 * (subtask as u128 + 1) / p) as u64;
        GeneratorSource {
            f,
            batch: Vec::new(),
            next: s,
            end: e,
            rate: rate
                .filter(|r| *r > 0.0 && r.is_finite())
                .map(|r| r / parallelism.max(1) as f64),
            started: None,
            started_ns: 0,
            emitted: 0,
            released: 0,
            batch_first: 0,
        }
    }

    /// Records in one [`PACE_GRANULE`] of the schedule at `rate` (at least one).
    fn granule(rate: f64) -> u64 {
        ((rate * PACE_GRANULE.as_secs_f64()) as u64).max(1)
    }

    /// How many records may go out now (all remaining if unlimited; with a rate, the rest of
    /// the release in progress, else everything due once a granule is, else none).
    fn allowed(&mut self) -> u64 {
        let remaining = self.end - self.next;
        let Some(rate) = self.rate else {
            return remaining;
        };
        if self.released > self.emitted {
            return (self.released - self.emitted).min(remaining);
        }
        let started = *self.started.get_or_insert_with(|| {
            self.started_ns = crate::task::latency::now_ns();
            Instant::now()
        });
        let due = (started.elapsed().as_secs_f64() * rate) as u64 + 1;
        let allowed = due.saturating_sub(self.emitted).min(remaining);
        if allowed < Self::granule(rate).min(remaining) {
            0
        } else {
            self.released = self.emitted + allowed;
            allowed
        }
    }
}

impl<T: 'static, F: Fn(u64) -> T + ?Sized + 'static> SourceReader<T> for GeneratorSource<T, F> {
    fn poll_batch(
        &mut self,
        out: &mut dyn Output<T>,
        max: usize,
    ) -> TaskResult<(SourceStatus, usize)> {
        let n = self.allowed().min(max as u64);
        if n > 0 {
            self.batch_first = self.emitted;
        }
        let f = &*self.f;
        self.batch.extend((self.next..self.next + n).map(f));
        let r = out.emit_batch(&mut self.batch, None);
        self.batch.clear();
        r?;
        self.next += n;
        self.emitted += n;
        let status = if self.next >= self.end {
            SourceStatus::Finished
        } else if self.rate.is_some() && self.allowed() == 0 {
            SourceStatus::Pending
        } else {
            SourceStatus::More
        };
        Ok((status, n as usize))
    }

    fn wait(&mut self) -> LocalFuture<'_, TaskResult> {
        let wait = match (self.rate, self.started) {
            (Some(rate), Some(started)) => {
                // The last record of the next granule. A tiny rate can put it beyond what a
                // Duration holds.
                let last = self.emitted + Self::granule(rate) - 1;
                let due = Duration::try_from_secs_f64(last as f64 / rate).unwrap_or(Duration::MAX);
                due.saturating_sub(started.elapsed())
            }
            _ => Duration::ZERO,
        };
        Box::pin(async move {
            crate::slot::sleep(wait).await;
            Ok(())
        })
    }

    /// With a rate, record `k` is created when it falls due: `start + k / rate`.
    fn latency_stamp(&self) -> Option<i64> {
        let (rate, _) = (self.rate?, self.started?);
        let k = self.batch_first as f64;
        Some(self.started_ns.saturating_add((k / rate * 1e9) as i64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_cover_every_index_once() {
        let f: Rc<dyn Fn(u64) -> u64> = Rc::new(|i| i * 2);
        let mut all = Vec::new();
        for s in 0..3 {
            let g = GeneratorSource::split(f.clone(), 100, None, s, 3);
            all.extend((g.next..g.end).map(|i| (g.f)(i)));
        }
        assert_eq!(all, (0..100).map(|i| i * 2).collect::<Vec<_>>());
    }

    #[test]
    fn a_fast_rate_releases_whole_granules() {
        let f: Rc<dyn Fn(u64) -> u64> = Rc::new(|i| i);
        // 10 M/s: a granule is PACE_GRANULE's worth of records.
        let granule = (10_000_000.0 * PACE_GRANULE.as_secs_f64()) as u64;
        assert_eq!(GeneratorSource::<u64>::granule(10_000_000.0), granule);
        let mut g = GeneratorSource::split(f, 1_000_000, Some(10_000_000.0), 0, 1);
        let before = Instant::now();
        let first = g.allowed();
        assert!(first == 0 || first >= granule, "{first}");
        std::thread::sleep(Duration::from_millis(1) + PACE_GRANULE);
        let n = g.allowed();
        // Due by now, at most: the elapsed time's share of the rate, plus the first record.
        let most = (before.elapsed().as_secs_f64() * 10_000_000.0) as u64 + 1;
        assert!(
            n >= granule && n <= most,
            "{n} due, granule {granule}, at most {most}"
        );
        // Near the end of the range, what is left goes out even if less than a granule.
        let mut h = GeneratorSource::split(
            Rc::new(|i| i) as Rc<dyn Fn(u64) -> u64>,
            50,
            Some(10_000_000.0),
            0,
            1,
        );
        let _ = h.allowed(); // starts the schedule
        std::thread::sleep(Duration::from_millis(1));
        assert_eq!(h.allowed(), 50);
        assert_eq!(
            GeneratorSource::<u64>::granule(1.0),
            1,
            "slow rates release one by one"
        );
    }

    /// Polls `g` in steps of `step` records until it reports something other than `More`.
    fn poll_until_not_more(g: &mut GeneratorSource<u64>, step: usize) -> (SourceStatus, usize) {
        let mut out = crate::sink::DiscardSink::default();
        let mut total = 0;
        loop {
            let (status, n) = g
                .poll_batch(&mut out, step)
                .expect("a generator cannot fail");
            total += n;
            if status != SourceStatus::More {
                return (status, total);
            }
        }
    }

    #[test]
    fn a_release_polled_in_small_steps_goes_out_whole_before_the_source_waits() {
        let f: Rc<dyn Fn(u64) -> u64> = Rc::new(|i| i);
        // 1 M/s: a granule is 100 records, and a task polls in steps of 10.
        let mut g = GeneratorSource::split(f, 100_000_000, Some(1_000_000.0), 0, 1);
        assert_eq!(GeneratorSource::<u64>::granule(1_000_000.0), 100);
        // The schedule started 250 us ago: 251 records are due, two and a half granules.
        g.started = Some(Instant::now() - Duration::from_micros(250));
        let (status, n) = poll_until_not_more(&mut g, 10);
        assert_eq!(status, SourceStatus::Pending);
        // All of it goes out before the source waits. (Until the fifteenth session the
        // source waited as soon as less than a granule was left: after about 160.)
        assert!(n >= 251, "{n} records released before the source waited");
    }

    #[test]
    fn a_rate_limits_what_is_allowed_at_first() {
        let f: Rc<dyn Fn(u64) -> u64> = Rc::new(|i| i);
        let mut g = GeneratorSource::split(f, 1_000_000, Some(1000.0), 0, 1);
        // At the start only the first record is due.
        assert!(g.allowed() <= 2);
    }
}
