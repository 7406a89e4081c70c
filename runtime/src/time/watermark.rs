//! Watermark strategies (Flink's `WatermarkStrategy`): where timestamps come from and how
//! watermarks follow them.

use crate::operator::Millis;
use std::rc::Rc;
use std::time::Duration;

/// Produces watermarks from the timestamps it sees.
pub trait WatermarkGenerator: 'static {
    /// Called for every record; may return a watermark to emit now (punctuated).
    fn on_event(&mut self, timestamp: Millis) -> Option<Millis>;
    /// Called every auto-watermark interval; may return a watermark to emit.
    fn on_periodic_emit(&mut self) -> Option<Millis>;
    /// Called for consecutive records in order, as `on_event` for each: returns the first
    /// record that raised a watermark (its index in `timestamps`) and that watermark; the
    /// records after it have not been seen yet. Generators that never raise one on an event
    /// override this to take the whole slice at once (one call per batch).
    fn on_events(&mut self, timestamps: &[Millis]) -> Option<(usize, Millis)> {
        timestamps
            .iter()
            .enumerate()
            .find_map(|(i, ts)| self.on_event(*ts).map(|w| (i, w)))
    }
    /// [`on_events`](Self::on_events) for `count` consecutive records that all have
    /// `timestamp` (a run, the common case: a batch of one step of an ingestion-time
    /// source, or the events of one millisecond). The default calls `on_event` for each;
    /// generators that only track the largest timestamp override it to take the run at once.
    fn on_equal_events(&mut self, timestamp: Millis, count: usize) -> Option<(usize, Millis)> {
        (0..count).find_map(|i| self.on_event(timestamp).map(|w| (i, w)))
    }
}

/// Watermarks that trail the largest timestamp seen by a fixed delay.
pub struct BoundedOutOfOrderness {
    max_timestamp: Millis,
    delay: Millis,
    punctuated: bool,
}

impl BoundedOutOfOrderness {
    /// Trails by `delay`; with `punctuated`, emits after every record instead of periodically.
    pub fn new(delay: Duration, punctuated: bool) -> Self {
        let delay = delay.as_millis().min(i64::MAX as u128 / 2) as Millis;
        BoundedOutOfOrderness {
            max_timestamp: Millis::MIN + delay + 1,
            delay,
            punctuated,
        }
    }

    fn current(&self) -> Millis {
        self.max_timestamp - self.delay - 1
    }
}

impl WatermarkGenerator for BoundedOutOfOrderness {
    fn on_event(&mut self, timestamp: Millis) -> Option<Millis> {
        self.max_timestamp = self.max_timestamp.max(timestamp);
        self.punctuated.then(|| self.current())
    }
    fn on_periodic_emit(&mut self) -> Option<Millis> {
        (!self.punctuated).then(|| self.current())
    }
    fn on_events(&mut self, timestamps: &[Millis]) -> Option<(usize, Millis)> {
        if self.punctuated {
            let ts = *timestamps.first()?;
            return self.on_event(ts).map(|w| (0, w));
        }
        let max = timestamps.iter().copied().max().unwrap_or(Millis::MIN);
        self.max_timestamp = self.max_timestamp.max(max);
        None
    }
    fn on_equal_events(&mut self, timestamp: Millis, count: usize) -> Option<(usize, Millis)> {
        if count == 0 {
            return None;
        }
        if self.punctuated {
            return self.on_event(timestamp).map(|w| (0, w));
        }
        self.max_timestamp = self.max_timestamp.max(timestamp);
        None
    }
}

/// Takes a record's event timestamp from the record and its previous timestamp: the user's
/// function for one record, and the same function over a batch in one call (the loop is
/// compiled with the function inlined, so a batch costs one dynamic call, not one per
/// record).
pub(crate) struct TimestampAssigner<T> {
    pub(crate) one: Rc<StampOne<T>>,
    /// Appends the timestamps of `records` (all with previous timestamp `ts`) to `out`.
    pub(crate) batch: Rc<StampBatch<T>>,
}

/// A record's timestamp from the record and its previous timestamp.
pub(crate) type StampOne<T> = dyn Fn(&T, Option<Millis>) -> Millis;
/// The timestamps of a batch (whose records share a previous timestamp), appended.
pub(crate) type StampBatch<T> = dyn Fn(&[T], Option<Millis>, &mut Vec<Millis>);

impl<T> Clone for TimestampAssigner<T> {
    fn clone(&self) -> Self {
        TimestampAssigner {
            one: self.one.clone(),
            batch: self.batch.clone(),
        }
    }
}

impl<T: 'static> TimestampAssigner<T> {
    fn new(f: impl Fn(&T, Option<Millis>) -> Millis + 'static) -> Self {
        let f = Rc::new(f);
        let g = f.clone();
        TimestampAssigner {
            one: f,
            batch: Rc::new(move |records, ts, out| out.extend(records.iter().map(|v| g(v, ts)))),
        }
    }
}

/// How a stream gets event timestamps and watermarks.
pub struct WatermarkStrategy<T> {
    pub(crate) generator: Rc<dyn Fn() -> Box<dyn WatermarkGenerator>>,
    pub(crate) timestamps: Option<TimestampAssigner<T>>,
    pub(crate) idleness: Option<Duration>,
}

impl<T> Clone for WatermarkStrategy<T> {
    fn clone(&self) -> Self {
        WatermarkStrategy {
            generator: self.generator.clone(),
            timestamps: self.timestamps.clone(),
            idleness: self.idleness,
        }
    }
}

impl<T: 'static> WatermarkStrategy<T> {
    /// Watermarks trail the largest timestamp by `max_out_of_orderness`, emitted periodically.
    pub fn for_bounded_out_of_orderness(max_out_of_orderness: Duration) -> Self {
        Self::for_generator(move || BoundedOutOfOrderness::new(max_out_of_orderness, false))
    }

    /// Timestamps only ever increase: the watermark is the largest timestamp seen.
    pub fn for_monotonous_timestamps() -> Self {
        Self::for_bounded_out_of_orderness(Duration::ZERO)
    }

    /// Watermarks trail by `max_out_of_orderness` and are emitted after every record:
    /// deterministic (tests, replays) at the cost of more watermark traffic.
    pub fn for_bounded_out_of_orderness_per_record(max_out_of_orderness: Duration) -> Self {
        Self::for_generator(move || BoundedOutOfOrderness::new(max_out_of_orderness, true))
    }

    /// A custom generator, created once per subtask.
    pub fn for_generator<G: WatermarkGenerator>(make: impl Fn() -> G + 'static) -> Self {
        WatermarkStrategy {
            generator: Rc::new(move || Box::new(make())),
            timestamps: None,
            idleness: None,
        }
    }

    /// Takes each record's timestamp from the record (given its previous timestamp).
    pub fn with_timestamp_assigner(
        mut self,
        f: impl Fn(&T, Option<Millis>) -> Millis + 'static,
    ) -> Self {
        self.timestamps = Some(TimestampAssigner::new(f));
        self
    }

    /// Marks the stream idle when no record arrived for `timeout`, so that it does not hold
    /// back the watermark downstream; it becomes active again with the next record.
    pub fn with_idleness(mut self, timeout: Duration) -> Self {
        self.idleness = Some(timeout);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Raises the timestamp as a watermark on every record divisible by 10.
    struct EveryTenth;

    impl WatermarkGenerator for EveryTenth {
        fn on_event(&mut self, timestamp: Millis) -> Option<Millis> {
            (timestamp % 10 == 0).then_some(timestamp)
        }
        fn on_periodic_emit(&mut self) -> Option<Millis> {
            None
        }
    }

    #[test]
    fn on_events_stops_at_the_first_record_that_raises_a_watermark() {
        let mut g = EveryTenth;
        assert_eq!(g.on_events(&[1, 2, 20, 30]), Some((2, 20)));
        assert_eq!(g.on_events(&[31, 32]), None);
        assert_eq!(g.on_events(&[]), None);
    }

    #[test]
    fn a_run_of_equal_timestamps_is_seen_as_its_records() {
        let mut g = EveryTenth;
        assert_eq!(g.on_equal_events(20, 3), Some((0, 20)));
        assert_eq!(g.on_equal_events(21, 3), None);
        assert_eq!(g.on_equal_events(20, 0), None);
        for punctuated in [false, true] {
            let mut run = BoundedOutOfOrderness::new(Duration::from_millis(5), punctuated);
            let mut each = BoundedOutOfOrderness::new(Duration::from_millis(5), punctuated);
            assert_eq!(run.on_equal_events(100, 4), each.on_events(&[100; 4]));
            assert_eq!(run.on_equal_events(90, 2), each.on_events(&[90; 2]));
            assert_eq!(run.on_equal_events(7, 0), each.on_events(&[]));
            assert_eq!(run.on_periodic_emit(), each.on_periodic_emit());
            assert_eq!(run.current(), 94);
        }
    }

    #[test]
    fn bounded_out_of_orderness_takes_a_batch_as_its_records_one_by_one() {
        let mut periodic = BoundedOutOfOrderness::new(Duration::from_millis(5), false);
        assert_eq!(periodic.on_events(&[100, 300, 200]), None);
        assert_eq!(periodic.on_periodic_emit(), Some(300 - 5 - 1));
        let mut punctuated = BoundedOutOfOrderness::new(Duration::from_millis(5), true);
        assert_eq!(punctuated.on_events(&[100, 300]), Some((0, 100 - 5 - 1)));
        assert_eq!(punctuated.on_events(&[300]), Some((0, 300 - 5 - 1)));
    }
}
