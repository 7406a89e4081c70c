//! q12, processing-time windows (§13): per bidder, bids counted per 10 s tumbling window of
//! **processing** time (the wall clock at the window operator). Output
//! `(bidder, bid_count, window_start, window_end)`. Non-deterministic by design; windows still
//! open when the input ends fire then.

use super::job;
use super::q11::{bids_per_bidder, csv, Row};
use std::time::Duration;
use strom_nexmark::Event;
use strom_runtime::api::DataStream;
use strom_runtime::cluster::JobBuilder;
use strom_runtime::window::TumblingProcessingTimeWindows;

/// The window size.
const SIZE: Duration = Duration::from_secs(10);

pub(crate) fn make(args: &[String]) -> Result<JobBuilder, String> {
    job("nexmark-q12", args, query, csv)
}

/// The query over the Nexmark events: its result rows.
pub(crate) fn query(events: &DataStream<Event>) -> DataStream<Row> {
    bids_per_bidder(events, TumblingProcessingTimeWindows::of(SIZE))
}
