//! q16, channel statistics (§13): as q15, but grouped by (channel, day), with
//! `minute = max(DATE_FORMAT(dateTime, 'HH:mm'))` after the day. Output `(channel, day,
//! minute, total_bids, rank1_bids, rank2_bids, rank3_bids, total_bidders, rank1_bidders,
//! rank2_bidders, rank3_bidders, total_auctions, rank1_auctions, rank2_auctions,
//! rank3_auctions)`. **Updating** in Flink: this job writes the final state, one row per
//! (channel, day) with bids, when the input ends.
//!
//! Plan: q15's [`BidStats`] keyed by (channel, day number). Within one day `HH:mm` grows
//! with time, so the largest minute is that of the group's latest bid.

use super::q15::{day_number, day_text, minute_text, BidStats, Stats};
use super::{bids, job, Csv};
use strom_nexmark::{Bid, Event, Text};
use strom_runtime::api::DataStream;
use strom_runtime::cluster::JobBuilder;

/// `(channel, day, minute, the 12 counts in output order)`.
type Row = (Text, String, String, [i64; 12]);

fn csv(r: &Row, c: &mut Csv) {
    c.str(&r.0).str(&r.1).str(&r.2);
    for n in r.3 {
        c.int(n);
    }
}

fn row((channel, day): &(Text, i64), s: &Stats) -> Row {
    (
        channel.clone(),
        day_text(*day),
        minute_text(s.last_time),
        s.counts(),
    )
}

pub(crate) fn make(args: &[String]) -> Result<JobBuilder, String> {
    job("nexmark-q16", args, query, csv)
}

/// The query over the Nexmark events: its result rows.
pub(crate) fn query(events: &DataStream<Event>) -> DataStream<Row> {
    bids(events)
        .key_by(|b: &Bid| (b.channel.clone(), day_number(b.date_time)))
        .process(BidStats::new(row, true))
        .name("Statistics per Channel and Day")
}
