//! Event kinds and entity ids from event ids (spec §4, §6).
//!
//! An event id `e` splits into an epoch `e / T` and a slot `e % T` (T = total proportion): the
//! first `P` slots of an epoch are people, the next `A` auctions, the rest bids. All arithmetic
//! is Java `long` arithmetic (truncating `/` and `%`), which is Rust's `i64` `/` and `%`.

use crate::config::NexmarkConfig;
use crate::model::EventKind;
use crate::random::SplittableRandom;

/// Offset added to base-0 person ids.
pub const FIRST_PERSON_ID: i64 = 1000;
/// Offset added to base-0 auction ids.
pub const FIRST_AUCTION_ID: i64 = 1000;
/// The first category id.
pub const FIRST_CATEGORY_ID: i64 = 10;
/// The number of categories.
pub const NUM_CATEGORIES: i32 = 5;
/// Hot sellers, bidders and auctions are the first (second for bidders) of batches of 100.
pub const HOT_BATCH: i64 = 100;
/// Random people and auctions may be up to this many ids ahead of the newest one (minus one).
pub const ID_LEAD: i64 = 10;

/// The id arithmetic of one configuration: proportions, windows and hot ratios.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IdSpace {
    person: i64,
    auction: i64,
    total: i64,
    num_active_people: i64,
    num_in_flight_auctions: i64,
    hot_sellers_ratio: i32,
    hot_auction_ratio: i32,
    hot_bidders_ratio: i32,
}

/// An event id split into its epoch and its slot within the epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slot {
    epoch: i64,
    offset: i64,
}

impl IdSpace {
    /// The id space of a configuration. The configuration should be valid
    /// ([`NexmarkConfig::validate`]); values beyond the Java `int` range are clamped.
    pub fn new(config: &NexmarkConfig) -> Self {
        let int = |v: u32| v.min(i32::MAX as u32) as i32;
        Self {
            person: i64::from(config.person_proportion),
            auction: i64::from(config.auction_proportion),
            total: (config.total_proportion() as i64).max(1),
            num_active_people: i64::from(config.num_active_people),
            num_in_flight_auctions: i64::from(config.num_in_flight_auctions),
            hot_sellers_ratio: int(config.hot_sellers_ratio).max(1),
            hot_auction_ratio: int(config.hot_auction_ratio).max(1),
            hot_bidders_ratio: int(config.hot_bidders_ratio).max(1),
        }
    }

    /// Splits event id `e` into epoch and slot.
    #[inline]
    pub fn slot(&self, e: i64) -> Slot {
        Slot {
            epoch: e / self.total,
            offset: e % self.total,
        }
    }

    /// The slot of the event id after `slot`'s (what [`Self::slot`] gives for `e + 1`).
    #[inline]
    pub fn next_slot(&self, slot: Slot) -> Slot {
        if slot.offset + 1 == self.total {
            Slot {
                epoch: slot.epoch + 1,
                offset: 0,
            }
        } else {
            Slot {
                epoch: slot.epoch,
                offset: slot.offset + 1,
            }
        }
    }

    /// The kind of the event in `slot` (§4).
    #[inline]
    pub fn kind(&self, slot: Slot) -> EventKind {
        if slot.offset < self.person {
            EventKind::Person
        } else if slot.offset < self.person + self.auction {
            EventKind::Auction
        } else {
            EventKind::Bid
        }
    }

    /// The newest base-0 person id at or before `slot` (§6.1).
    #[inline]
    pub fn last_base0_person_id(&self, slot: Slot) -> i64 {
        let offset = if slot.offset >= self.person {
            self.person - 1
        } else {
            slot.offset
        };
        slot.epoch.wrapping_mul(self.person).wrapping_add(offset)
    }

    /// The newest base-0 auction id at or before `slot` (§6.2); −1 for event id 0.
    #[inline]
    pub fn last_base0_auction_id(&self, slot: Slot) -> i64 {
        let (epoch, offset) = if slot.offset < self.person {
            (slot.epoch - 1, self.auction - 1)
        } else if slot.offset >= self.person + self.auction {
            (slot.epoch, self.auction - 1)
        } else {
            (slot.epoch, slot.offset - self.person)
        };
        epoch.wrapping_mul(self.auction).wrapping_add(offset)
    }

    /// A random recent base-0 person id, possibly up to 9 ahead of the newest (§6.3).
    #[inline]
    pub fn next_base0_person_id(&self, rng: &mut SplittableRandom, slot: Slot) -> i64 {
        let num = self.last_base0_person_id(slot) + 1;
        let active = num.min(self.num_active_people);
        num - active + rng.bounded_long(active + ID_LEAD)
    }

    /// A random in-flight base-0 auction id, possibly ahead of the newest (§6.3).
    #[inline]
    pub fn next_base0_auction_id(&self, rng: &mut SplittableRandom, slot: Slot) -> i64 {
        let hi = self.last_base0_auction_id(slot);
        let lo = (hi - self.num_in_flight_auctions).max(0);
        lo + rng.bounded_long(hi - lo + 1 + ID_LEAD)
    }

    /// An auction's seller person id (base-0 + 1000): hot with probability 1 − 1/ratio
    /// (§6.4). One draw, plus one if not hot.
    #[inline]
    pub fn auction_seller(&self, rng: &mut SplittableRandom, slot: Slot) -> i64 {
        let base0 = if rng.next_int_bounded(self.hot_sellers_ratio) > 0 {
            (self.last_base0_person_id(slot) / HOT_BATCH) * HOT_BATCH
        } else {
            self.next_base0_person_id(rng, slot)
        };
        base0 + FIRST_PERSON_ID
    }

    /// A bid's auction id (base-0 + 1000): hot with probability 1 − 1/ratio (§6.4). One draw,
    /// plus one if not hot.
    #[inline]
    pub fn bid_auction(&self, rng: &mut SplittableRandom, slot: Slot) -> i64 {
        let base0 = if rng.next_int_bounded(self.hot_auction_ratio) > 0 {
            (self.last_base0_auction_id(slot) / HOT_BATCH) * HOT_BATCH
        } else {
            self.next_base0_auction_id(rng, slot)
        };
        base0 + FIRST_AUCTION_ID
    }

    /// A bid's bidder, base-0 + 1000 (the caller adds the second 1000 later, §6.4): hot with
    /// probability 1 − 1/ratio. One draw, plus one if not hot.
    #[inline]
    pub fn bid_bidder(&self, rng: &mut SplittableRandom, slot: Slot) -> i64 {
        let base0 = if rng.next_int_bounded(self.hot_bidders_ratio) > 0 {
            (self.last_base0_person_id(slot) / HOT_BATCH) * HOT_BATCH + 1
        } else {
            self.next_base0_person_id(rng, slot)
        };
        base0 + FIRST_PERSON_ID
    }

    /// A category id, `10 + nextInt(5)` (one draw).
    #[inline]
    pub fn category(&self, rng: &mut SplittableRandom) -> i64 {
        FIRST_CATEGORY_ID + i64::from(rng.next_int_bounded(NUM_CATEGORIES))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> IdSpace {
        IdSpace::new(&NexmarkConfig::default())
    }

    #[test]
    fn one_person_three_auctions_then_bids_per_epoch() {
        let ids = defaults();
        let kinds: Vec<_> = (50..100).map(|e| ids.kind(ids.slot(e))).collect();
        assert_eq!(kinds[0], EventKind::Person);
        assert!(kinds[1..4].iter().all(|k| *k == EventKind::Auction));
        assert!(kinds[4..].iter().all(|k| *k == EventKind::Bid));
    }

    #[test]
    fn next_slot_is_the_slot_of_the_next_id() {
        for ids in [
            defaults(),
            IdSpace::new(&NexmarkConfig {
                bid_proportion: 0,
                ..NexmarkConfig::default()
            }),
        ] {
            let mut slot = ids.slot(0);
            for e in 0..1_000 {
                assert_eq!(slot, ids.slot(e));
                slot = ids.next_slot(slot);
            }
        }
    }

    #[test]
    fn last_ids_follow_the_epochs() {
        let ids = defaults();
        assert_eq!(ids.last_base0_auction_id(ids.slot(0)), -1);
        assert_eq!(ids.last_base0_auction_id(ids.slot(2)), 1);
        assert_eq!(ids.last_base0_auction_id(ids.slot(10)), 2);
        assert_eq!(ids.last_base0_auction_id(ids.slot(50)), 2);
        assert_eq!(ids.last_base0_auction_id(ids.slot(51)), 3);
        assert_eq!(ids.last_base0_person_id(ids.slot(50)), 1);
        assert_eq!(ids.last_base0_person_id(ids.slot(99)), 1);
        assert_eq!(ids.last_base0_person_id(ids.slot(100)), 2);
    }
}
