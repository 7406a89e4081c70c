//! q19, top-10 bids per auction (§13): per auction, the 10 highest-priced bids, numbered
//! 1..10 by `ROW_NUMBER() OVER (PARTITION BY auction ORDER BY price DESC)`. Output the whole
//! bid `(auction, bidder, price, channel, url, dateTime, extra)` followed by `rank_number`.
//! **Updating** in Flink: this job writes the final state, up to 10 rows per auction, when
//! the input ends. On equal prices the earlier arrival ranks first (observed in Flink).
//!
//! Plan: bids keyed by auction into a keyed process function that keeps the auction's top
//! 10, ordered; a new bid goes after every kept bid of an equal or higher price, and the
//! eleventh is dropped. Once 10 are kept, the tenth's price is kept apart, so that the many
//! bids that cannot enter are turned away without reading the list. The list is written
//! when the end-of-input watermark fires its timer.

use super::q18::bid_columns;
use super::{bids, job, Csv};
use strom_nexmark::{Bid, Event};
use strom_runtime::api::DataStream;
use strom_runtime::api::{KeyedContext, KeyedProcessFunction, KeyedStateStore, UserError};
use strom_runtime::cluster::JobBuilder;
use strom_runtime::operator::MAX_WATERMARK;
use strom_runtime::state::{ListState, ValueState};

/// How many bids per auction.
const TOP: usize = 10;

/// A bid and its `rank_number`.
type Row = (Bid, i64);

fn csv((b, rank): &Row, c: &mut Csv) {
    bid_columns(b, c);
    c.int(*rank);
}

/// Per auction: its top bids, best first, and once there are 10 of them the price of the
/// tenth (a bid at or below it cannot enter).
#[derive(Clone, Default)]
struct TopBids {
    top: Option<ListState<i64, Bid>>,
    floor: Option<ValueState<i64, i64>>,
}

impl KeyedProcessFunction<i64, Bid, Row> for TopBids {
    fn open(&mut self, state: &mut KeyedStateStore<i64>) -> Result<(), UserError> {
        self.top = Some(state.list_state("top bids")?);
        self.floor = Some(state.value_state("floor")?);
        Ok(())
    }

    fn process_element(
        &mut self,
        bid: Bid,
        ctx: &mut KeyedContext<'_, i64, Row>,
    ) -> Result<(), UserError> {
        let (top, floor) = match (&self.top, &self.floor) {
            (Some(t), Some(f)) => (t, f),
            _ => return Err("state not opened".into()),
        };
        if floor.value()?.is_some_and(|f| bid.price <= f) {
            return Ok(());
        }
        let mut bids = top.get()?;
        if bids.is_empty() {
            ctx.register_event_time_timer(MAX_WATERMARK);
        }
        // After every bid of an equal or higher price: the earlier arrival ranks first.
        let at = bids.partition_point(|b| b.price >= bid.price);
        if at < TOP {
            bids.insert(at, bid);
            bids.truncate(TOP);
            if bids.len() == TOP {
                floor.update(bids[TOP - 1].price)?;
            }
            top.update(bids)?;
        }
        Ok(())
    }

    fn on_timer(
        &mut self,
        _at: i64,
        ctx: &mut KeyedContext<'_, i64, Row>,
    ) -> Result<(), UserError> {
        let top = self.top.as_ref().ok_or("state not opened")?;
        for (i, bid) in top.get()?.into_iter().enumerate() {
            ctx.collect((bid, i as i64 + 1));
        }
        top.clear()?;
        if let Some(floor) = &self.floor {
            floor.clear()?;
        }
        Ok(())
    }
}

pub(crate) fn make(args: &[String]) -> Result<JobBuilder, String> {
    job("nexmark-q19", args, query, csv)
}

/// The query over the Nexmark events: its result rows.
pub(crate) fn query(events: &DataStream<Event>) -> DataStream<Row> {
    bids(events)
        .key_by(|b: &Bid| b.auction)
        .process(TopBids::default())
        .name("Top 10 Bids")
}
