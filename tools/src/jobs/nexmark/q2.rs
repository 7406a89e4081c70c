//! q2, selection (§13): bids whose `auction` is divisible by 123, as `(auction, price)`.

use super::{bids, job, Csv};
use strom_nexmark::Event;
use strom_runtime::api::DataStream;
use strom_runtime::cluster::JobBuilder;

/// `(auction, price)`.
type Row = (i64, i64);

fn csv(r: &Row, c: &mut Csv) {
    c.int(r.0).int(r.1);
}

pub(crate) fn make(args: &[String]) -> Result<JobBuilder, String> {
    job("nexmark-q2", args, query, csv)
}

/// The query over the Nexmark events: its result rows.
pub(crate) fn query(events: &DataStream<Event>) -> DataStream<Row> {
    bids(events)
        .filter(|b| b.auction % 123 == 0)
        .name("Selection")
        .map(|b| (b.auction, b.price))
        .name("Project")
}
