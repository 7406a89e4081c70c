//! q20, bids with their auction (§13): an unbounded inner join of bids and auctions on
//! `bid.auction = auction.id`, keeping auctions with `category = 10`, with no time
//! condition. Output the 7 bid columns `(auction, bidder, price, channel, url, dateTime,
//! extra)` followed by the auction's `(itemName, description, initialBid, reserve, dateTime,
//! expires, seller, category, extra)`. Append-only: whichever side arrives later produces
//! the match.
//!
//! Plan: a keyed connect on the auction id, as q3's join. Auction ids are unique (an
//! auction is an entity; the generator never repeats an id), which bounds the state: once a
//! key's auction has arrived, later bids join it at once and are not kept, and if it is not
//! in category 10 they are dropped at once (the filter is applied inside the join, so the
//! join knows the auction came). Bids that come before their auction (across source
//! subtasks, or bids on the few auctions the generator makes ahead of time) wait for it;
//! without a time condition they wait for ever, as in Flink.

use super::{auctions, bids, job, Csv};
use strom_nexmark::{Auction, Bid, Event};
use strom_runtime::api::DataStream;
use strom_runtime::api::{KeyedCoProcessFunction, KeyedContext, KeyedStateStore, UserError};
use strom_runtime::cluster::JobBuilder;
use strom_runtime::state::{ListState, ValueState};

/// A bid and its auction.
type Row = (Bid, Auction);

fn csv((b, a): &Row, c: &mut Csv) {
    super::q18::bid_columns(b, c);
    c.str(&a.item_name)
        .str(&a.description)
        .int(a.initial_bid)
        .int(a.reserve)
        .int(a.date_time)
        .int(a.expires)
        .int(a.seller)
        .int(a.category)
        .str(&a.extra);
}

/// The category the query keeps.
const CATEGORY: i64 = 10;

/// Per auction id: the auction once it came (`None` inside: it is not in category 10), and
/// the bids that came before it.
#[derive(Clone, Default)]
struct Join {
    auction: Option<ValueState<i64, Option<Auction>>>,
    waiting: Option<ListState<i64, Bid>>,
}

impl Join {
    #[allow(clippy::type_complexity)]
    fn states(
        &self,
    ) -> Result<(&ValueState<i64, Option<Auction>>, &ListState<i64, Bid>), UserError> {
        match (&self.auction, &self.waiting) {
            (Some(a), Some(w)) => Ok((a, w)),
            _ => Err("state not opened".into()),
        }
    }
}

impl KeyedCoProcessFunction<i64, Bid, Auction, Row> for Join {
    fn open(&mut self, state: &mut KeyedStateStore<i64>) -> Result<(), UserError> {
        self.auction = Some(state.value_state("auction")?);
        self.waiting = Some(state.list_state("waiting bids")?);
        Ok(())
    }

    fn process_element1(
        &mut self,
        bid: Bid,
        ctx: &mut KeyedContext<'_, i64, Row>,
    ) -> Result<(), UserError> {
        let (auction, waiting) = self.states()?;
        match auction.value()? {
            Some(Some(a)) => ctx.collect((bid, a)),
            Some(None) => {}
            None => waiting.add(bid)?,
        }
        Ok(())
    }

    fn process_element2(
        &mut self,
        a: Auction,
        ctx: &mut KeyedContext<'_, i64, Row>,
    ) -> Result<(), UserError> {
        let (auction, waiting) = self.states()?;
        let early = waiting.get()?;
        if !early.is_empty() {
            if a.category == CATEGORY {
                for bid in early {
                    ctx.collect((bid, a.clone()));
                }
            }
            waiting.clear()?;
        }
        auction.update((a.category == CATEGORY).then_some(a))?;
        Ok(())
    }
}

pub(crate) fn make(args: &[String]) -> Result<JobBuilder, String> {
    job("nexmark-q20", args, query, csv)
}

/// The query over the Nexmark events: its result rows.
pub(crate) fn query(events: &DataStream<Event>) -> DataStream<Row> {
    let bids = bids(events).key_by(|b: &Bid| b.auction);
    let auctions = auctions(events).key_by(|a: &Auction| a.id);
    bids.connect(&auctions)
        .process(Join::default())
        .name("Join")
}
