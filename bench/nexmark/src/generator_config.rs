//! `GeneratorConfig` (spec §4, §5, §7.4, §11): what one sequential generator produces.
//!
//! It adds to a [`NexmarkConfig`] the event-time base, the generator's block of event ids and
//! event numbers, its event limit, and the reproducible seeding (§7.4): the static tables come
//! from RNG instances 0 and 1 of `seed`, this generator's event stream from instance
//! `2 + stream_index`.

use crate::config::NexmarkConfig;
use crate::error::{check_range, ConfigError};

/// The seed of the test vectors (§7.4); any seed works, this one reproduces them.
pub const DEFAULT_SEED: u64 = 42;

/// The parameters of one generator, as the Java `GeneratorConfig` plus the seeding.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GeneratorConfig {
    /// The benchmark configuration.
    pub nexmark: NexmarkConfig,
    /// Event time of event number 0, epoch milliseconds (the Flink connector uses the wall
    /// clock at planning time; pick a fixed one for reproducible runs).
    pub base_time: i64,
    /// Added to the adjusted event number to give the event id (connector: 1).
    pub first_event_id: u64,
    /// The most events this generator produces.
    pub max_events: u64,
    /// Stop after this many events of this generator; `None` = never (Java −1).
    pub stop_at_event: Option<u64>,
    /// Event number of this generator's first event (connector: 1).
    pub first_event_number: u64,
    /// The reproducible seed S of §7.4.
    pub seed: u64,
    /// Which event-stream RNG instance this generator uses: `2 + stream_index` (§7.4); the
    /// split gives generator `i` of a split index `i`.
    pub stream_index: u64,
}

impl GeneratorConfig {
    /// The configuration the Flink connector builds (§11): `first_event_id = 1`,
    /// `first_event_number = 1`, `max_events` from `num_events` (0 = practically unbounded),
    /// `stop_at_event` from the configuration, stream index 0.
    pub fn new(nexmark: NexmarkConfig, base_time: i64, seed: u64) -> Result<Self, ConfigError> {
        let max_events = nexmark.max_events()?;
        let config = Self {
            stop_at_event: nexmark.stop_at_event,
            nexmark,
            base_time,
            first_event_id: 1,
            max_events,
            first_event_number: 1,
            seed,
            stream_index: 0,
        };
        config.validate()?;
        Ok(config)
    }

    /// Checks the configuration and that no event id, event number or timestamp input of the
    /// generator can overflow a Java `long`.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.nexmark.validate()?;
        check_range("first_event_id", self.first_event_id, 0, i64::MAX)?;
        check_range("first_event_number", self.first_event_number, 0, i64::MAX)?;
        check_range("max_events", self.max_events, 0, i64::MAX)?;
        if let Some(stop) = self.stop_at_event {
            check_range("stop_at_event", stop, 0, i64::MAX)?;
        }
        check_range("stream_index", self.stream_index, 0, u64::MAX - 2)?;
        // Largest number used: adj(first_event_number + count) + the auction horizon (§10.2),
        // and the largest id: first_event_id + that.
        let headroom = u128::from(self.first_event_id)
            + u128::from(self.first_event_number)
            + u128::from(self.max_events)
            + u128::from(self.nexmark.out_of_order_group_size)
            + u128::from(self.events_for_auctions_unchecked());
        if headroom > i64::MAX as u128 {
            return Err(ConfigError::Inconsistent {
                field: "max_events",
                reason: format!(
                    "first_event_id + first_event_number + max_events (+ group size and auction \
                     horizon) = {headroom} overflows a 64-bit event id"
                ),
            });
        }
        Ok(())
    }

    /// How many events this generator produces: `max_events`, or fewer with `stop_at_event`.
    pub fn event_limit(&self) -> u64 {
        match self.stop_at_event {
            Some(stop) => stop.min(self.max_events),
            None => self.max_events,
        }
    }

    /// Events until `num_in_flight_auctions` more auctions exist:
    /// `num_in_flight_auctions · T / A` (§10.2), 0 when there are no auctions.
    pub(crate) fn events_for_auctions_unchecked(&self) -> u64 {
        let n = &self.nexmark;
        if n.auction_proportion == 0 {
            return 0;
        }
        u64::from(n.num_in_flight_auctions) * n.total_proportion() / u64::from(n.auction_proportion)
    }
}
