//! q11, user sessions (§13): per bidder, event-time session windows with a 10 s gap. Output
//! `(bidder, count(*), session_start, session_end)`: start is the first bid's time, end the
//! last bid's time + 10 s. A bid joins the open session when its time ≤ last time + 10 s
//! (Flink merges session windows that touch, and so does strom's session assigner).

use super::{bids, job, Count, Csv};
use std::time::Duration;
use strom_nexmark::Event;
use strom_runtime::api::DataStream;
use strom_runtime::api::{Collector, UserError};
use strom_runtime::cluster::JobBuilder;
use strom_runtime::window::{EventTimeSessionWindows, WindowAssigner, WindowContext};

/// The session gap.
const GAP: Duration = Duration::from_secs(10);

/// `(bidder, bid_count, starttime, endtime)`.
pub(super) type Row = (i64, i64, i64, i64);

pub(super) fn csv(r: &Row, c: &mut Csv) {
    c.int(r.0).int(r.1).int(r.2).int(r.3);
}

fn session(
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
    job("nexmark-q11", args, query, csv)
}

/// The query over the Nexmark events: its result rows.
pub(crate) fn query(events: &DataStream<Event>) -> DataStream<Row> {
    bids_per_bidder(events, EventTimeSessionWindows::with_gap(GAP))
}

/// Bids counted per bidder and window of `assigner` (q11's sessions, q12's windows).
pub(super) fn bids_per_bidder(
    events: &DataStream<Event>,
    assigner: WindowAssigner,
) -> DataStream<Row> {
    bids(events)
        .map(|b| b.bidder)
        .name("Bidder")
        .key_by(|bidder: &i64| *bidder)
        .window(assigner)
        .aggregate_with(Count, session)
}
