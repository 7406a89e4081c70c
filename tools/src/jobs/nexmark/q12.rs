//! q12, processing-time windows (§13): per bidder, bids counted per 10 s tumbling window of
//! **processing** time (the wall clock at the window operator). Output
//! `(bidder, bid_count, window_start, window_end)`. Non-deterministic by design; windows still
//! open when the input ends fire then.

use super::{bids, job, Count, Csv};
use std::time::Duration;
use strom_nexmark::Event;
use strom_runtime::api::DataStream;
use strom_runtime::api::{Collector, UserError};
use strom_runtime::cluster::JobBuilder;
use strom_runtime::window::{TumblingProcessingTimeWindows, WindowContext};

/// The window size.
const SIZE: Duration = Duration::from_secs(10);

/// `(bidder, bid_count, window_start, window_end)`.
type Row = (i64, i64, i64, i64);

fn csv(r: &Row, c: &mut Csv) {
    c.int(r.0).int(r.1).int(r.2).int(r.3);
}

fn window(
    bidder: &i64,
    ctx: &WindowContext,
    counts: &[i64],
    out: &mut Collector<'_, Row>,
) -> Result<(), UserError> {
    let w = ctx.window();
    for &n in counts {
        out.collect((*bidder, n, w.start, w.end));
    }
    Ok(())
}

pub(crate) fn make(args: &[String]) -> Result<JobBuilder, String> {
    job("nexmark-q12", args, query, csv)
}

/// The query over the Nexmark events: its result rows.
pub(crate) fn query(events: &DataStream<Event>) -> DataStream<Row> {
    bids(events)
        .map(|b| b.bidder)
        .name("Bidder")
        .key_by(|bidder: &i64| *bidder)
        .window(TumblingProcessingTimeWindows::of(SIZE))
        .aggregate_with(Count, window)
}
