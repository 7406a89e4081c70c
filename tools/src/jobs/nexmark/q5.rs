//! q5, hot items (§13): HOP windows of 10 s sliding by 2 s over bids (`[k·2 s, k·2 s + 10 s)`,
//! aligned to the epoch, so each bid lands in 5 windows). Bids are counted per
//! (auction, window); per window `maxn` is the largest count; the output is `(auction, num)`
//! for every (auction, window) with `num ≥ maxn`, so ties all appear, and equal rows of
//! different windows are kept as duplicates. Only windows that contain bids exist.
//!
//! Plan: bids keyed by auction → sliding-window count, each result stamped with its window's
//! last millisecond; then keyed by window → the auctions with the top count, emitted when
//! the watermark passes the window (every count of the window has arrived by then).

use super::{bids, job, Count, Csv};
use std::time::Duration;
use strom_nexmark::Event;
use strom_runtime::api::DataStream;
use strom_runtime::api::{
    Collector, KeyedContext, KeyedProcessFunction, KeyedStateStore, UserError,
};
use strom_runtime::cluster::JobBuilder;
use strom_runtime::state::{ListState, ValueState};
use strom_runtime::window::{SlidingEventTimeWindows, WindowContext};

/// Window size.
const SIZE: Duration = Duration::from_secs(10);
/// Window slide.
const SLIDE: Duration = Duration::from_secs(2);

/// `(auction, num)`.
type Row = (i64, i64);

fn csv(r: &Row, c: &mut Csv) {
    c.int(r.0).int(r.1);
}

/// One auction's bid count in one window: `(window end, auction, count)`.
type AuctionCount = (i64, i64, i64);

fn tag(
    auction: &i64,
    ctx: &WindowContext,
    counts: &[i64],
    out: &mut Collector<'_, AuctionCount>,
) -> Result<(), UserError> {
    for &n in counts {
        out.collect((ctx.window().end, *auction, n));
    }
    Ok(())
}

/// Per window (the key: its end), the auctions whose count is the window's largest.
#[derive(Clone, Default)]
struct TopAuctions {
    max: Option<ValueState<i64, i64>>,
    top: Option<ListState<i64, i64>>,
}

impl KeyedProcessFunction<i64, AuctionCount, Row> for TopAuctions {
    fn open(&mut self, state: &mut KeyedStateStore<i64>) -> Result<(), UserError> {
        self.max = Some(state.value_state("max")?);
        self.top = Some(state.list_state("top")?);
        Ok(())
    }

    fn process_element(
        &mut self,
        (end, auction, n): AuctionCount,
        ctx: &mut KeyedContext<'_, i64, Row>,
    ) -> Result<(), UserError> {
        let (max, top) = (self.max.as_ref(), self.top.as_ref());
        let (max, top) = (
            max.ok_or("state not opened")?,
            top.ok_or("state not opened")?,
        );
        match max.value()? {
            Some(m) if n < m => {}
            Some(m) if n == m => top.add(auction)?,
            current => {
                if current.is_none() {
                    // The window's last millisecond: every count is in once it passes.
                    ctx.register_event_time_timer(end - 1);
                }
                max.update(n)?;
                top.update(vec![auction])?;
            }
        }
        Ok(())
    }

    fn on_timer(
        &mut self,
        _ts: i64,
        ctx: &mut KeyedContext<'_, i64, Row>,
    ) -> Result<(), UserError> {
        let (max, top) = (self.max.as_ref(), self.top.as_ref());
        let (max, top) = (
            max.ok_or("state not opened")?,
            top.ok_or("state not opened")?,
        );
        if let Some(m) = max.value()? {
            for auction in top.get()? {
                ctx.collect((auction, m));
            }
        }
        max.clear()?;
        top.clear()?;
        Ok(())
    }
}

pub(crate) fn make(args: &[String]) -> Result<JobBuilder, String> {
    job("nexmark-q5", args, query, csv)
}

/// The query over the Nexmark events: its result rows.
pub(crate) fn query(events: &DataStream<Event>) -> DataStream<Row> {
    let counts = bids(events)
        .map(|b| b.auction)
        .name("Auction")
        .key_by(|auction: &i64| *auction)
        .window(SlidingEventTimeWindows::of(SIZE, SLIDE))
        .aggregate_with(Count, tag);
    counts
        .key_by(|c: &AuctionCount| c.0)
        .process(TopAuctions::default())
        .name("Top Auctions")
}
