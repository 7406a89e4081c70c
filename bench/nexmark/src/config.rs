//! `NexmarkConfiguration` (spec §3): every parameter of the Java configuration with its default.
//!
//! Fields the Java generator stores but never reads are kept (marked *inert*) so a
//! configuration can be carried over from Flink unchanged; they are not validated and change
//! nothing. Integer fields that are Java `int`s are `u32` here and validated to stay within the
//! Java `int` range, so arithmetic never diverges from Java's.

use crate::error::{check_range, ConfigError};
use crate::strings::MAX_EXTRA_LEN;

/// The largest accepted average event size (`avg_*_byte_size`): any larger and the padding of
/// §8.4 could reach half the extra-string pool, where Java switches to a different method
/// that the vectors do not cover.
pub const MAX_AVG_BYTE_SIZE: u32 = max_avg_byte_size();

/// `i32::MAX` as `u32`, the upper bound of every Java `int` parameter.
const JAVA_INT_MAX: u32 = i32::MAX as u32;

/// Largest `d` with `d + round(0.2·d) − 1 < MAX_EXTRA_LEN + 1` (the longest padding for a
/// size gap `d`, §8.4, must stay below half the pool).
const fn max_avg_byte_size() -> u32 {
    // d + round(0.2 d) - 1 <= MAX_EXTRA_LEN  <=>  d + round(d / 5) <= MAX_EXTRA_LEN + 1.
    // round(d/5) = (d + 2) / 5 for d >= 0 (ties cannot occur: d/5 has no .5 fraction).
    let mut d = (MAX_EXTRA_LEN as u32 + 1) * 5 / 6 + 2;
    while d + (d + 2) / 5 > MAX_EXTRA_LEN as u32 + 1 {
        d -= 1;
    }
    d
}

/// The rate shape (inert: the event rate is constant at `first_event_rate`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RateShape {
    /// Alternate between the first and next rate (default).
    Square,
    /// Sine wave between the two rates.
    Sine,
}

/// The unit of the event rates (inert).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RateUnit {
    /// Events per second (default).
    PerSecond,
    /// Events per minute.
    PerMinute,
}

/// The Java `NexmarkConfiguration`, with the connector's defaults (`Default`).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct NexmarkConfig {
    /// Events in total over all generators (`events.num`); 0 = practically unbounded (§11).
    pub num_events: u64,
    /// Generators running side by side; scales the inter-event delay (§5). The connector sets
    /// it to `parallelism.default`.
    pub num_event_generators: u32,
    /// Overall events per second of event time (`first-event.rate`).
    pub first_event_rate: u32,
    /// Inert (`next-event.rate`).
    pub next_event_rate: u32,
    /// Inert (`rate.shape`).
    pub rate_shape: RateShape,
    /// Inert (`rate.period`, seconds).
    pub rate_period_sec: u32,
    /// Inert.
    pub rate_unit: RateUnit,
    /// Inert (`rate.limited`).
    pub is_rate_limited: bool,
    /// Emit as fast as possible (`max-emit-speed`); when false the source follows event time in
    /// wall-clock time. Read by the source, not by the generator.
    pub max_emit_speed: bool,
    /// Inert.
    pub use_wallclock_event_time: bool,
    /// Inert.
    pub preload_seconds: u32,
    /// Inert.
    pub stream_timeout: u32,
    /// Weight of people among events (`person.proportion`).
    pub person_proportion: u32,
    /// Weight of auctions among events (`auction.proportion`).
    pub auction_proportion: u32,
    /// Weight of bids among events (`bid.proportion`).
    pub bid_proportion: u32,
    /// Target person size in bytes, reached with padding (`person.avg-size`).
    pub avg_person_byte_size: u32,
    /// Target auction size in bytes (`auction.avg-size`).
    pub avg_auction_byte_size: u32,
    /// Target bid size in bytes (`bid.avg-size`).
    pub avg_bid_byte_size: u32,
    /// A bid targets a hot auction with probability `1 − 1/ratio` (`bid.hot-ratio.auctions`).
    pub hot_auction_ratio: u32,
    /// A bid comes from a hot bidder with probability `1 − 1/ratio` (`bid.hot-ratio.bidders`).
    pub hot_bidders_ratio: u32,
    /// An auction has a hot seller with probability `1 − 1/ratio`
    /// (`auction.hot-ratio.sellers`).
    pub hot_sellers_ratio: u32,
    /// Window of recent auctions that bids pick from; sets the auction length horizon.
    pub num_in_flight_auctions: u32,
    /// Window of recent people that random sellers and bidders pick from.
    pub num_active_people: u32,
    /// Size of the groups within which events are shuffled (1 = in order, §4).
    pub out_of_order_group_size: u32,
    /// After the last event the source idles instead of finishing (`keep-alive`).
    pub is_source_keep_alive: bool,
    /// Stop after this many events over all generators (`stop-at`); `None` = never (Java −1).
    pub stop_at_event: Option<u64>,
    /// Inert.
    pub window_size_sec: u32,
    /// Inert.
    pub window_period_sec: u32,
    /// Inert.
    pub watermark_holdback_sec: u32,
    /// Inert: no delayed events are produced.
    pub occasional_delay_sec: u32,
    /// Inert: no delayed events are produced.
    pub prob_delayed_event: f64,
}

impl Default for NexmarkConfig {
    fn default() -> Self {
        Self {
            num_events: 0,
            num_event_generators: 1,
            first_event_rate: 10_000,
            next_event_rate: 10_000,
            rate_shape: RateShape::Square,
            rate_period_sec: 600,
            rate_unit: RateUnit::PerSecond,
            is_rate_limited: false,
            max_emit_speed: true,
            use_wallclock_event_time: false,
            preload_seconds: 0,
            stream_timeout: 240,
            person_proportion: 1,
            auction_proportion: 3,
            bid_proportion: 46,
            avg_person_byte_size: 200,
            avg_auction_byte_size: 500,
            avg_bid_byte_size: 100,
            hot_auction_ratio: 2,
            hot_bidders_ratio: 4,
            hot_sellers_ratio: 4,
            num_in_flight_auctions: 100,
            num_active_people: 1000,
            out_of_order_group_size: 1,
            is_source_keep_alive: false,
            stop_at_event: None,
            window_size_sec: 10,
            window_period_sec: 5,
            watermark_holdback_sec: 0,
            occasional_delay_sec: 3,
            prob_delayed_event: 0.1,
        }
    }
}

impl NexmarkConfig {
    /// `person + auction + bid` proportion, the length of one id epoch (§4).
    pub fn total_proportion(&self) -> u64 {
        u64::from(self.person_proportion)
            + u64::from(self.auction_proportion)
            + u64::from(self.bid_proportion)
    }

    /// Checks every parameter the generator reads. Inert fields are not checked.
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_range("num_events", self.num_events, 0, i64::MAX)?;
        check_range(
            "num_event_generators",
            self.num_event_generators,
            1,
            JAVA_INT_MAX,
        )?;
        check_range("first_event_rate", self.first_event_rate, 1, JAVA_INT_MAX)?;
        check_range("person_proportion", self.person_proportion, 0, JAVA_INT_MAX)?;
        check_range(
            "auction_proportion",
            self.auction_proportion,
            0,
            JAVA_INT_MAX,
        )?;
        check_range("bid_proportion", self.bid_proportion, 0, JAVA_INT_MAX)?;
        check_range(
            "person_proportion + auction_proportion + bid_proportion",
            self.total_proportion(),
            1,
            JAVA_INT_MAX,
        )?;
        check_range(
            "avg_person_byte_size",
            self.avg_person_byte_size,
            0,
            MAX_AVG_BYTE_SIZE,
        )?;
        check_range(
            "avg_auction_byte_size",
            self.avg_auction_byte_size,
            0,
            MAX_AVG_BYTE_SIZE,
        )?;
        check_range(
            "avg_bid_byte_size",
            self.avg_bid_byte_size,
            0,
            MAX_AVG_BYTE_SIZE,
        )?;
        check_range("hot_auction_ratio", self.hot_auction_ratio, 1, JAVA_INT_MAX)?;
        check_range("hot_bidders_ratio", self.hot_bidders_ratio, 1, JAVA_INT_MAX)?;
        check_range("hot_sellers_ratio", self.hot_sellers_ratio, 1, JAVA_INT_MAX)?;
        check_range(
            "num_in_flight_auctions",
            self.num_in_flight_auctions,
            0,
            JAVA_INT_MAX,
        )?;
        check_range("num_active_people", self.num_active_people, 0, JAVA_INT_MAX)?;
        check_range(
            "out_of_order_group_size",
            self.out_of_order_group_size,
            1,
            JAVA_INT_MAX,
        )?;
        if let Some(stop) = self.stop_at_event {
            check_range("stop_at_event", stop, 0, i64::MAX)?;
        }
        if self.num_events == 0 {
            self.unbounded_divisor()?;
        }
        Ok(())
    }

    /// `total_proportion · max(avg sizes)`, the divisor of the unbounded event count (§11),
    /// which Java computes in `int` and so must be in `1..=i32::MAX`.
    fn unbounded_divisor(&self) -> Result<i64, ConfigError> {
        let largest = self
            .avg_person_byte_size
            .max(self.avg_auction_byte_size)
            .max(self.avg_bid_byte_size);
        let product = self.total_proportion() * u64::from(largest);
        if product == 0 || product > u64::from(JAVA_INT_MAX) {
            return Err(ConfigError::Inconsistent {
                field: "num_events",
                reason: format!(
                    "0 (unbounded) needs total proportion × largest average size in 1..=2^31−1, \
                     got {product}; set num_events explicitly"
                ),
            });
        }
        Ok(product as i64)
    }

    /// The number of events the whole stream can have: `num_events`, or for 0 the Java
    /// "practically unbounded" `(2^63 − 1) / (total proportion · largest average size)`
    /// (368,934,881,474,191 with the defaults).
    pub fn max_events(&self) -> Result<u64, ConfigError> {
        self.validate()?;
        if self.num_events != 0 {
            return Ok(self.num_events);
        }
        Ok((i64::MAX / self.unbounded_divisor()?) as u64)
    }

    /// Microseconds of event time between two events of one generator (§5):
    /// `(1e6 / first_event_rate) · num_event_generators`, divided first, in `f64`.
    pub fn inter_event_delay_us(&self) -> f64 {
        (1_000_000.0 / f64::from(self.first_event_rate)) * f64::from(self.num_event_generators)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The longest padding for a size gap `d`: `d − delta + (2·delta − 1)`.
    fn longest_extra(d: u32) -> u64 {
        let delta = (f64::from(d) * 0.2).round() as u64;
        u64::from(d) + delta - 1
    }

    #[test]
    fn max_avg_byte_size_is_the_exact_bound() {
        assert!(longest_extra(MAX_AVG_BYTE_SIZE) <= MAX_EXTRA_LEN as u64);
        assert!(longest_extra(MAX_AVG_BYTE_SIZE + 1) > MAX_EXTRA_LEN as u64);
    }

    #[test]
    fn defaults_give_the_java_unbounded_count() {
        assert_eq!(
            NexmarkConfig::default().max_events(),
            Ok(368_934_881_474_191)
        );
    }
}
