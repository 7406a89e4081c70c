//! q14, calculation (§13): bids with `1,000,000 < 0.908 × price < 50,000,000` (exact
//! decimal), as `(auction, bidder, 0.908 × price, bidTimeType, dateTime, extra, c_counts)`.
//! `bidTimeType` comes from the UTC hour of `dateTime` (the SQL's timestamps have no time
//! zone): 8–18 → `dayTime`, ≤ 6 or ≥ 20 → `nightTime`, 7 and 19 → `otherTime`. `c_counts`
//! is the query's UDF: how many bytes of `extra` equal `c`. The product is DECIMAL(23,3),
//! carried in thousandths as q1 does.
//!
//! Plan: one filter and one map per bid, no state.

use super::{bids, job, Csv};
use strom_nexmark::{Event, Text};
use strom_runtime::api::DataStream;
use strom_runtime::cluster::JobBuilder;

/// `(auction, bidder, price × 0.908 in thousandths, bidTimeType, dateTime, extra,
/// c_counts)`.
type Row = (i64, i64, i128, String, i64, Text, i64);

fn csv(r: &Row, c: &mut Csv) {
    c.int(r.0)
        .int(r.1)
        .milli_decimal(r.2)
        .str(&r.3)
        .int(r.4)
        .str(&r.5)
        .int(r.6);
}

/// The bounds of `0.908 × price`, in thousandths (both exclusive).
const LOW: i128 = 1_000_000 * 1000;
const HIGH: i128 = 50_000_000 * 1000;

/// Milliseconds per hour.
const HOUR_MS: i64 = 3_600_000;

/// The query's `bidTimeType` of epoch millisecond `t`, from its UTC hour.
pub(crate) fn bid_time_type(t: i64) -> &'static str {
    match t.div_euclid(HOUR_MS).rem_euclid(24) {
        8..=18 => "dayTime",
        h if h <= 6 || h >= 20 => "nightTime",
        _ => "otherTime",
    }
}

/// The query's `count_char(extra, 'c')`: how many bytes of `s` are `c`.
pub(crate) fn c_counts(s: &str) -> i64 {
    s.bytes().filter(|&b| b == b'c').count() as i64
}

pub(crate) fn make(args: &[String]) -> Result<JobBuilder, String> {
    job("nexmark-q14", args, query, csv)
}

/// The query over the Nexmark events: its result rows.
pub(crate) fn query(events: &DataStream<Event>) -> DataStream<Row> {
    bids(events)
        .filter(|b| {
            let thousandths = i128::from(b.price) * 908;
            LOW < thousandths && thousandths < HIGH
        })
        .name("Price Range")
        .map(|b| {
            let kind = bid_time_type(b.date_time).to_string();
            let count = c_counts(&b.extra);
            let thousandths = i128::from(b.price) * 908;
            (
                b.auction,
                b.bidder,
                thousandths,
                kind,
                b.date_time,
                b.extra,
                count,
            )
        })
        .name("Calculation")
}
