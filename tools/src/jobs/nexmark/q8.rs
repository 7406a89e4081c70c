//! q8, monitor new users (§13): people grouped by (id, name, 10 s tumbling window), auctions
//! grouped by (seller, the same windows), joined on `person.id = seller` and equal windows.
//! Output `(id, name, window_start)` (`stime` in the sink): one row per person and window in
//! which that person both appeared and opened at least one auction, however many.
//!
//! Plan: people and auctions become one stream keyed by person id (an auction by its
//! seller); a tumbling event-time window aggregates, per id, the person's name (if the
//! person appeared in the window) and whether an auction did, which is the grouped join.

use super::{job, Csv};
use std::time::Duration;
use strom_nexmark::Event;
use strom_runtime::api::DataStream;
use strom_runtime::api::{AggregateFunction, Collector, UserError};
use strom_runtime::cluster::JobBuilder;
use strom_runtime::window::{TumblingEventTimeWindows, WindowContext};

/// The window size.
const SIZE: Duration = Duration::from_secs(10);

/// `(id, name, stime)`.
type Row = (i64, String, i64);

fn csv(r: &Row, c: &mut Csv) {
    c.int(r.0).str(&r.1).int(r.2);
}

/// `(person id, Some(name))` for a person, `(seller, None)` for an auction.
type Activity = (i64, Option<String>);

/// Per id and window: the person's name if the person appeared, and whether an auction did.
type Seen = (Option<String>, bool);

#[derive(Clone, Copy)]
struct PersonAndAuction;

impl AggregateFunction<Activity, Seen, Seen> for PersonAndAuction {
    fn create_accumulator(&self) -> Seen {
        (None, false)
    }
    fn add(&self, (_, name): Activity, (seen, auction): Seen) -> Seen {
        match name {
            Some(name) => (seen.or(Some(name)), auction),
            None => (seen, true),
        }
    }
    fn get_result(&self, acc: &Seen) -> Seen {
        acc.clone()
    }
    fn merge(&self, a: Seen, b: Seen) -> Seen {
        (a.0.or(b.0), a.1 || b.1)
    }
}

fn joined(
    id: &i64,
    ctx: &WindowContext,
    seen: &[Seen],
    out: &mut Collector<'_, Row>,
) -> Result<(), UserError> {
    for s in seen {
        if let (Some(name), true) = s {
            out.collect((*id, name.clone(), ctx.window().start));
        }
    }
    Ok(())
}

pub(crate) fn make(args: &[String]) -> Result<JobBuilder, String> {
    job("nexmark-q8", args, query, csv)
}

/// The query over the Nexmark events: its result rows.
pub(crate) fn query(events: &DataStream<Event>) -> DataStream<Row> {
    events
        .flat_map(|e: Event, out| match e {
            Event::Person(p) => out.collect((p.id, Some(p.name))),
            Event::Auction(auction) => out.collect((auction.seller, None)),
            Event::Bid(_) => {}
        })
        .name("People and Sellers")
        .key_by(|r: &Activity| r.0)
        .window(TumblingEventTimeWindows::of(SIZE))
        .aggregate_with(PersonAndAuction, joined)
}
