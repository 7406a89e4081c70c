//! q1, currency conversion (§13): every bid as `(auction, bidder, price × 0.908, dateTime,
//! extra)`. The product is exact decimal arithmetic, DECIMAL(23,3): it is carried in
//! thousandths (`price × 908`) and written with three decimals (1234 → `1120.472`).

use super::{bids, job, Csv};
use strom_nexmark::{Event, Text};
use strom_runtime::api::DataStream;
use strom_runtime::cluster::JobBuilder;

/// `(auction, bidder, price × 0.908 in thousandths, dateTime, extra)`.
type Row = (i64, i64, i128, i64, Text);

fn csv(r: &Row, c: &mut Csv) {
    c.int(r.0).int(r.1).milli_decimal(r.2).int(r.3).str(&r.4);
}

pub(crate) fn make(args: &[String]) -> Result<JobBuilder, String> {
    job("nexmark-q1", args, query, csv)
}

/// The query over the Nexmark events: its result rows.
pub(crate) fn query(events: &DataStream<Event>) -> DataStream<Row> {
    bids(events)
        .map(|b| {
            let thousandths = i128::from(b.price) * 908;
            (b.auction, b.bidder, thousandths, b.date_time, b.extra)
        })
        .name("Currency Conversion")
}
