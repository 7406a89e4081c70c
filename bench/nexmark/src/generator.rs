//! The sequential event generator (spec §4, §5, §10).
//!
//! Invariant: the `c`-th event (0-based) of a generator is a pure function of its
//! [`GeneratorConfig`] and `c`, but it can only be computed after events `0..c`, because all
//! random fields come from one RNG consumed in order. The whole evolving state is the count
//! and the RNG's seed word ([`GeneratorState`]), so a checkpoint can resume the exact stream.

use crate::error::{check_range, ConfigError};
use crate::events::{AvgSizes, EventSource};
use crate::generator_config::GeneratorConfig;
use crate::ids::{IdSpace, Slot};
use crate::model::{Event, EventKind};
use crate::numbering::{adjusted_event_number, watermark_event_number, Timeline};
use crate::random::SplittableRandom;
use crate::tables::StaticTables;

/// RNG instance index of the event stream of stream index 0 (§7.4).
pub const FIRST_STREAM_INSTANCE: u64 = 2;

/// One generated event with the bookkeeping the Java generator computes alongside it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GeneratedEvent {
    /// The internal event id `first_event_id + adj(n)`, which decides the kind and the ids.
    pub event_id: i64,
    /// Event time, epoch ms; equal to the event's `date_time`.
    pub timestamp: i64,
    /// The generator's watermark after this event, `ts((n / G) · G)` (§5). Informational: the
    /// Flink source ignores it.
    pub watermark: i64,
    /// Milliseconds after the first event at which a rate-following source emits this event
    /// (`ts(n) − base_time`, §5; used when `max_emit_speed` is false).
    pub wallclock_offset_ms: i64,
    /// The same point to the microsecond (`trunc(n · delay_us)`), for sources that pace
    /// events evenly instead of in whole-millisecond bursts.
    pub wallclock_offset_us: i64,
    /// The event.
    pub event: Event,
}

/// The complete evolving state of a generator, small enough for any checkpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct GeneratorState {
    /// Events produced so far.
    pub events_so_far: u64,
    /// The event-stream RNG's seed word (its gamma follows from the configuration).
    pub rng_seed: u64,
}

/// A Nexmark event generator: an iterator over the events of one [`GeneratorConfig`].
#[derive(Clone, Debug)]
pub struct Generator {
    config: GeneratorConfig,
    ids: IdSpace,
    avg_sizes: AvgSizes,
    timeline: Timeline,
    tables: &'static StaticTables,
    rng: SplittableRandom,
    group_size: i64,
    first_event_id: i64,
    first_event_number: i64,
    events_for_auctions: i64,
    limit: u64,
    count: u64,
    /// With in-order events (G = 1), the slot of the next event id, advanced without division.
    cursor: Slot,
}

/// Where the next event lies: its numbers, id, slot and times.
struct Position {
    adjusted: i64,
    event_id: i64,
    slot: Slot,
    timestamp: i64,
    watermark: i64,
    wallclock_offset_ms: i64,
    wallclock_offset_us: i64,
}

impl Generator {
    /// A generator at its first event. Fails if the configuration is invalid.
    pub fn new(config: GeneratorConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        let n = &config.nexmark;
        let tables = StaticTables::shared(config.seed);
        let rng = SplittableRandom::instance(
            config.seed,
            FIRST_STREAM_INSTANCE.wrapping_add(config.stream_index),
        );
        // Validation keeps every value below within i64 (or i32 for sizes).
        let ids = IdSpace::new(n);
        let first_event_id = config.first_event_id as i64;
        let first_event_number = config.first_event_number as i64;
        Ok(Self {
            cursor: ids.slot(first_event_id + first_event_number),
            ids,
            avg_sizes: AvgSizes::new(n),
            timeline: Timeline::new(config.base_time, n.inter_event_delay_us()),
            tables,
            rng,
            group_size: i64::from(n.out_of_order_group_size),
            first_event_id,
            first_event_number,
            events_for_auctions: config.events_for_auctions_unchecked() as i64,
            limit: config.event_limit(),
            count: 0,
            config,
        })
    }

    /// A generator resumed from a [`GeneratorState`] taken from a generator of the same
    /// configuration; it continues with exactly the events the original would have produced.
    pub fn restore(config: GeneratorConfig, state: GeneratorState) -> Result<Self, ConfigError> {
        let mut generator = Self::new(config)?;
        check_range("events_so_far", state.events_so_far, 0, generator.limit)?;
        generator.count = state.events_so_far;
        generator.cursor = generator.ids.slot(
            generator.first_event_id + generator.first_event_number + state.events_so_far as i64,
        );
        generator.rng = SplittableRandom::from_parts(state.rng_seed, generator.rng.gamma());
        Ok(generator)
    }

    /// The state to checkpoint: resume with [`Generator::restore`].
    pub fn state(&self) -> GeneratorState {
        GeneratorState {
            events_so_far: self.count,
            rng_seed: self.rng.seed(),
        }
    }

    /// The configuration this generator runs.
    pub fn config(&self) -> &GeneratorConfig {
        &self.config
    }

    /// The static tables (pool, channels) this generator draws from.
    pub fn tables(&self) -> &'static StaticTables {
        self.tables
    }

    /// The event-time line of this generator.
    pub fn timeline(&self) -> Timeline {
        self.timeline
    }

    /// Events produced so far (the Java `eventsCountSoFar`).
    pub fn events_so_far(&self) -> u64 {
        self.count
    }

    /// How many events this generator produces in total.
    pub fn event_limit(&self) -> u64 {
        self.limit
    }

    /// Whether another event follows.
    pub fn has_next(&self) -> bool {
        self.count < self.limit
    }

    /// The numbers, id and times of the event at the current count (§4, §5).
    #[inline]
    fn position(&mut self) -> Position {
        let n = self.first_event_number + self.count as i64;
        if self.group_size == 1 {
            let slot = self.cursor;
            self.cursor = self.ids.next_slot(slot);
            let us = self.timeline.offset_us(n);
            let timestamp = self.timeline.base_time().wrapping_add(us / 1000);
            debug_assert_eq!(timestamp, self.timeline.timestamp(n));
            return Position {
                adjusted: n,
                event_id: self.first_event_id + n,
                slot,
                timestamp,
                watermark: timestamp,
                wallclock_offset_ms: us / 1000,
                wallclock_offset_us: us,
            };
        }
        let adjusted = adjusted_event_number(n, self.group_size);
        let event_id = self.first_event_id + adjusted;
        Position {
            adjusted,
            event_id,
            slot: self.ids.slot(event_id),
            timestamp: self.timeline.timestamp(adjusted),
            watermark: self
                .timeline
                .timestamp(watermark_event_number(n, self.group_size)),
            wallclock_offset_ms: self.timeline.offset_ms(n),
            wallclock_offset_us: self.timeline.offset_us(n),
        }
    }

    /// The next event, or `None` once the limit is reached.
    pub fn next_event(&mut self) -> Option<GeneratedEvent> {
        if self.count >= self.limit {
            return None;
        }
        let at = self.position();
        debug_assert_eq!(at.slot, self.ids.slot(at.event_id));
        let mut source = EventSource {
            rng: &mut self.rng,
            ids: &self.ids,
            tables: self.tables,
            avg_sizes: &self.avg_sizes,
        };
        let event = match self.ids.kind(at.slot) {
            EventKind::Person => Event::Person(source.person(at.slot, at.timestamp)),
            EventKind::Auction => {
                let future = self
                    .timeline
                    .timestamp(at.adjusted + self.events_for_auctions);
                Event::Auction(source.auction(at.slot, at.timestamp, future - at.timestamp))
            }
            EventKind::Bid => Event::Bid(source.bid(at.slot, at.timestamp)),
        };
        self.count += 1;
        Some(GeneratedEvent {
            event_id: at.event_id,
            timestamp: at.timestamp,
            watermark: at.watermark,
            wallclock_offset_ms: at.wallclock_offset_ms,
            wallclock_offset_us: at.wallclock_offset_us,
            event,
        })
    }
}

impl Iterator for Generator {
    type Item = GeneratedEvent;

    #[inline]
    fn next(&mut self) -> Option<GeneratedEvent> {
        self.next_event()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.limit - self.count;
        match usize::try_from(left) {
            Ok(left) => (left, Some(left)),
            Err(_) => (usize::MAX, None),
        }
    }
}

impl std::iter::FusedIterator for Generator {}
