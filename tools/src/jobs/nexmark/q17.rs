//! q17, auction statistics (§13): bids grouped by (auction, day), `day` as in q15. Output
//! `(auction, day, total_bids, rank1_bids, rank2_bids, rank3_bids, min_price, max_price,
//! avg_price, sum_price)`, with q15's price ranks; `avg_price` is AVG over BIGINT, so BIGINT:
//! the sum divided by the count, truncated. **Updating** in Flink: this job writes the final
//! state, one row per (auction, day) with bids, when the input ends.
//!
//! Plan: q15's [`BidStats`] keyed by (auction, day number), without distinct counts.

use super::q15::{day_number, day_text, BidStats, Stats};
use super::{bids, job, Csv};
use strom_nexmark::{Bid, Event};
use strom_runtime::api::DataStream;
use strom_runtime::cluster::JobBuilder;

/// `(auction, day, [total, rank1, rank2, rank3 bids, min, max, avg, sum of price])`.
type Row = (i64, String, [i64; 8]);

fn csv(r: &Row, c: &mut Csv) {
    c.int(r.0).str(&r.1);
    for n in r.2 {
        c.int(n);
    }
}

fn row((auction, day): &(i64, i64), s: &Stats) -> Row {
    // Truncated, as Flink's AVG over BIGINT (a group has at least one bid).
    let avg = s.sum_price / s.bids[0].max(1);
    let [total, r1, r2, r3] = s.bids;
    (
        *auction,
        day_text(*day),
        [
            total,
            r1,
            r2,
            r3,
            s.min_price,
            s.max_price,
            avg,
            s.sum_price,
        ],
    )
}

pub(crate) fn make(args: &[String]) -> Result<JobBuilder, String> {
    job("nexmark-q17", args, query, csv)
}

/// The query over the Nexmark events: its result rows.
pub(crate) fn query(events: &DataStream<Event>) -> DataStream<Row> {
    bids(events)
        .key_by(|b: &Bid| (b.auction, day_number(b.date_time)))
        .process(BidStats::new(row, false))
        .name("Statistics per Auction and Day")
}
