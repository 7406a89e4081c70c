//! The per-event procedures (spec §10), each drawing from the event stream in the exact Java
//! order. The caller supplies the event id's [`Slot`], the event time and, for auctions, the
//! length horizon; ids, kinds and times never depend on random draws.

use crate::config::NexmarkConfig;
use crate::ids::{IdSpace, Slot, FIRST_PERSON_ID};
use crate::model::{Auction, Bid, Person, Text};
use crate::price::{next_price, price_from_draw};
use crate::random::SplittableRandom;
use crate::strings::{self, extra, word, PaddingPlan};
use crate::tables::{ChannelRef, StaticTables};

/// Never used: `nextInt(len)` always indexes within the table.
const EMPTY_CHANNEL: ChannelRef<'static> = ChannelRef { name: "", url: "" };

/// Size of a bid before padding: four 8-byte fields.
const BID_BASE_SIZE: i32 = 32;
/// Size of an auction before padding, not counting its two strings.
const AUCTION_BASE_SIZE: i32 = 48;
/// Size of a person before padding, not counting its strings.
const PERSON_BASE_SIZE: i32 = 8;

/// What the procedures share: the event stream, the id arithmetic, the static tables and the
/// average sizes.
pub(crate) struct EventSource<'a> {
    pub rng: &'a mut SplittableRandom,
    pub ids: &'a IdSpace,
    pub tables: &'static StaticTables,
    pub avg_sizes: &'a AvgSizes,
}

/// The configured average sizes, as Java `int`s, and the padding plan of bids (whose size
/// before padding is constant).
#[derive(Clone, Copy, Debug)]
pub(crate) struct AvgSizes {
    pub person: i32,
    pub auction: i32,
    pub bid_padding: PaddingPlan,
}

impl AvgSizes {
    /// The sizes of a configuration (validated, so they fit in `i32`).
    pub fn new(config: &NexmarkConfig) -> Self {
        let int = |v: u32| v.min(i32::MAX as u32) as i32;
        Self {
            person: int(config.avg_person_byte_size),
            auction: int(config.avg_auction_byte_size),
            bid_padding: PaddingPlan::new(BID_BASE_SIZE, int(config.avg_bid_byte_size)),
        }
    }
}

/// `s.len()` as a Java `int` (all strings are short ASCII).
fn len32(s: &str) -> i32 {
    s.len() as i32
}

impl EventSource<'_> {
    /// A person (§10.1): name, email, credit card, city, state, padding.
    pub fn person(&mut self, slot: Slot, date_time: i64) -> Person {
        let rng = &mut *self.rng;
        let name = strings::person_name(rng);
        let email_address = strings::email(rng);
        let credit_card = strings::credit_card(rng);
        let city = strings::city(rng);
        let state = strings::state(rng);
        let size = PERSON_BASE_SIZE
            + len32(&name)
            + len32(&email_address)
            + len32(&credit_card)
            + len32(city)
            + len32(state);
        let extra = extra(rng, self.tables.pool_text(), size, self.avg_sizes.person);
        Person {
            id: self.ids.last_base0_person_id(slot) + FIRST_PERSON_ID,
            name,
            email_address,
            credit_card,
            city: Text::borrowed(city),
            state: Text::borrowed(state),
            date_time,
            extra,
        }
    }

    /// An auction (§10.2): seller, category, initial bid, expiry, item name, description,
    /// reserve, padding. `horizon_ms` is `h`, the event time until `num_in_flight_auctions`
    /// more auctions exist.
    pub fn auction(&mut self, slot: Slot, date_time: i64, horizon_ms: i64) -> Auction {
        let rng = &mut *self.rng;
        let seller = self.ids.auction_seller(rng, slot);
        let category = self.ids.category(rng);
        let initial_bid = next_price(rng);
        let length = 1 + rng.bounded_long(horizon_ms.wrapping_mul(2).max(1));
        let item_name = word(rng, 20);
        let description = word(rng, 100);
        let reserve = initial_bid + next_price(rng);
        let size = AUCTION_BASE_SIZE + len32(&item_name) + len32(&description);
        let extra = extra(rng, self.tables.pool_text(), size, self.avg_sizes.auction);
        Auction {
            id: self.ids.last_base0_auction_id(slot) + crate::ids::FIRST_AUCTION_ID,
            item_name,
            description,
            initial_bid,
            reserve,
            date_time,
            expires: date_time.wrapping_add(length),
            seller,
            category,
            extra,
        }
    }

    /// A bid (§10.3): auction, bidder, price, channel, padding; the bidder gets its second
    /// `+1000` after the channel is chosen.
    pub fn bid(&mut self, slot: Slot, date_time: i64) -> Bid {
        let rng = &mut *self.rng;
        let auction = self.ids.bid_auction(rng, slot);
        let bidder = self.ids.bid_bidder(rng, slot);
        // Draw everything first, in the Java order; computing the price and copying the strings
        // afterwards lets the table and pool reads overlap with that work.
        let price_draw = rng.next_double();
        let (table, index) = if rng.next_int_bounded(2) > 0 {
            let hot = self.tables.hot_channels();
            (hot, rng.next_int_bounded(hot.len() as i32))
        } else {
            let table = self.tables.channels();
            (table, rng.next_int_bounded(table.len() as i32))
        };
        let channel = table.get(index as usize).unwrap_or(EMPTY_CHANNEL);
        let extra = self
            .avg_sizes
            .bid_padding
            .draw(rng, self.tables.pool_text());
        Bid {
            auction,
            bidder: bidder + FIRST_PERSON_ID,
            price: price_from_draw(price_draw),
            channel: Text::borrowed(channel.name),
            url: Text::borrowed(channel.url),
            date_time,
            extra: Text::borrowed(extra),
        }
    }
}
