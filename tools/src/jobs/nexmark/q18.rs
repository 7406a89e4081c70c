//! q18, last bid (§13): per (bidder, auction), the bid with the greatest `dateTime` (Flink's
//! ROW_NUMBER deduplication on event time, keeping the last row). Output the whole bid
//! `(auction, bidder, price, channel, url, dateTime, extra)`. **Updating** in Flink: this
//! job writes the final state, one row per (bidder, auction), when the input ends. On an
//! equal `dateTime` the later arrival wins (the reference data has no such tie, so Flink's
//! rule is unverified; this is the rule it is expected to follow).
//!
//! Plan: bids keyed by (bidder, auction) into a keyed process function that keeps the last
//! bid and writes it when the end-of-input watermark fires its timer.

use super::{bids, job, Csv};
use strom_nexmark::{Bid, Event};
use strom_runtime::api::DataStream;
use strom_runtime::api::{KeyedContext, KeyedProcessFunction, KeyedStateStore, UserError};
use strom_runtime::cluster::JobBuilder;
use strom_runtime::operator::MAX_WATERMARK;
use strom_runtime::state::ValueState;

/// The whole bid.
type Row = Bid;

/// A bid's columns in the order of the `bid` view.
pub(super) fn bid_columns(b: &Bid, c: &mut Csv) {
    c.int(b.auction)
        .int(b.bidder)
        .int(b.price)
        .str(&b.channel)
        .str(&b.url)
        .int(b.date_time)
        .str(&b.extra);
}

fn csv(b: &Row, c: &mut Csv) {
    bid_columns(b, c);
}

/// Per (bidder, auction): the last bid so far.
#[derive(Clone, Default)]
struct LastBid {
    last: Option<ValueState<(i64, i64), Bid>>,
}

impl KeyedProcessFunction<(i64, i64), Bid, Row> for LastBid {
    fn open(&mut self, state: &mut KeyedStateStore<(i64, i64)>) -> Result<(), UserError> {
        self.last = Some(state.value_state("last bid")?);
        Ok(())
    }

    fn process_element(
        &mut self,
        bid: Bid,
        ctx: &mut KeyedContext<'_, (i64, i64), Row>,
    ) -> Result<(), UserError> {
        let last = self.last.as_ref().ok_or("state not opened")?;
        let later = match last.value()? {
            None => {
                ctx.register_event_time_timer(MAX_WATERMARK);
                true
            }
            // An equal time: the later arrival wins.
            Some(l) => bid.date_time >= l.date_time,
        };
        if later {
            last.update(bid)?;
        }
        Ok(())
    }

    fn on_timer(
        &mut self,
        _at: i64,
        ctx: &mut KeyedContext<'_, (i64, i64), Row>,
    ) -> Result<(), UserError> {
        let last = self.last.as_ref().ok_or("state not opened")?;
        if let Some(bid) = last.value()? {
            ctx.collect(bid);
        }
        last.clear()?;
        Ok(())
    }
}

pub(crate) fn make(args: &[String]) -> Result<JobBuilder, String> {
    job("nexmark-q18", args, query, csv)
}

/// The query over the Nexmark events: its result rows.
pub(crate) fn query(events: &DataStream<Event>) -> DataStream<Row> {
    bids(events)
        .key_by(|b: &Bid| (b.bidder, b.auction))
        .process(LastBid::default())
        .name("Last Bid")
}
