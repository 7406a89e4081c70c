//! q0, pass-through (§13): every bid as `(auction, bidder, price, dateTime, extra)`.

use super::{bids, job, Csv};
use strom_nexmark::{Event, Text};
use strom_runtime::api::DataStream;
use strom_runtime::cluster::JobBuilder;

/// `(auction, bidder, price, dateTime, extra)`.
type Row = (i64, i64, i64, i64, Text);

fn csv(r: &Row, c: &mut Csv) {
    c.int(r.0).int(r.1).int(r.2).int(r.3).str(&r.4);
}

pub(crate) fn make(args: &[String]) -> Result<JobBuilder, String> {
    job("nexmark-q0", args, query, csv)
}

/// The query over the Nexmark events: its result rows.
pub(crate) fn query(events: &DataStream<Event>) -> DataStream<Row> {
    bids(events)
        .map(|b| (b.auction, b.bidder, b.price, b.date_time, b.extra))
        .name("Project")
}
