//! q7, highest bid (§13): per 10 s tumbling window of bids (`[k·10 s, (k+1)·10 s)`, aligned to
//! the epoch) `maxprice = max(price)`, labelled with `window_end`; every bid with
//! `price = maxprice` and `window_end − 10 s ≤ dateTime ≤ window_end` (both ends inclusive,
//! so a bid at exactly `window_end`, which belongs to the next window, also matches) is
//! output as `(auction, price, bidder, dateTime, extra)`. A bid can match two windows and is
//! then output twice. Windows without bids have no `maxprice`, so match nothing.
//!
//! Plan, two phases so that no subtask sees every bid of a window:
//! 1. each bid goes to its own window (a *member*) and, if it lies exactly on a window
//!    boundary, also to the window ending there (an *edge* bid); keyed by (window end, price
//!    bucket), a bucket keeps its members' largest price and the candidates: members and
//!    edge bids at or above that price (pruned whenever it grows). When the watermark passes
//!    the window end, every bid of `[end − 10 s, end]` is in: the bucket sends its maximum
//!    and candidates on.
//! 2. keyed by window end, the same fold over the buckets' results; at the window end the
//!    candidates whose price equals the window's maximum are the output.

use super::{bids, job, Csv};
use strom_nexmark::{Event, Text};
use strom_runtime::api::DataStream;
use strom_runtime::api::{KeyedContext, KeyedProcessFunction, KeyedStateStore, UserError};
use strom_runtime::cluster::JobBuilder;
use strom_runtime::state::{ListState, ValueState};

/// The window size in ms.
const SIZE: i64 = 10_000;
/// Buckets per window in the first phase.
const BUCKETS: i64 = 64;

/// `(auction, price, bidder, dateTime, extra)`.
type Row = (i64, i64, i64, i64, Text);

fn csv(r: &Row, c: &mut Csv) {
    c.int(r.0).int(r.1).int(r.2).int(r.3).str(&r.4);
}

/// A bid sent to a window: `(window end, member of the window (not an edge bid), bid)`.
type WindowBid = (i64, bool, Row);

/// A bucket's result: `(window end, largest member price if any, candidates)`.
type BucketResult = (i64, Option<i64>, Vec<Row>);

/// The largest member price and the candidates at or above it.
#[derive(Clone, Default)]
struct Top {
    max: Option<ValueState<(i64, i64), i64>>,
    candidates: Option<ListState<(i64, i64), Row>>,
}

/// `Top`, keyed by window end only (phase 2).
#[derive(Clone, Default)]
struct WindowTop {
    max: Option<ValueState<i64, i64>>,
    candidates: Option<ListState<i64, Row>>,
}

/// Folds members' maximum `member_max` and `candidates` into a (max, candidates) state:
/// raises the maximum (dropping candidates below it) and keeps the candidates at or above it.
macro_rules! fold_top {
    ($max:expr, $cands:expr, $member_max:expr, $candidates:expr) => {{
        let (max, cands) = ($max, $cands);
        let mut current = max.value()?;
        if let Some(m) = $member_max {
            if current.is_none_or(|c| m > c) {
                max.update(m)?;
                let mut kept = cands.get()?;
                if !kept.is_empty() {
                    kept.retain(|r: &Row| r.1 >= m);
                    cands.update(kept)?;
                }
                current = Some(m);
            }
        }
        for r in $candidates {
            if current.is_none_or(|c| r.1 >= c) {
                cands.add(r)?;
            }
        }
    }};
}

impl KeyedProcessFunction<(i64, i64), WindowBid, BucketResult> for Top {
    fn open(&mut self, state: &mut KeyedStateStore<(i64, i64)>) -> Result<(), UserError> {
        self.max = Some(state.value_state("max")?);
        self.candidates = Some(state.list_state("candidates")?);
        Ok(())
    }

    fn process_element(
        &mut self,
        (end, member, bid): WindowBid,
        ctx: &mut KeyedContext<'_, (i64, i64), BucketResult>,
    ) -> Result<(), UserError> {
        let max = self.max.as_ref().ok_or("state not opened")?;
        let cands = self.candidates.as_ref().ok_or("state not opened")?;
        ctx.register_event_time_timer(end);
        let member_max = member.then_some(bid.1);
        fold_top!(max, cands, member_max, [bid]);
        Ok(())
    }

    fn on_timer(
        &mut self,
        end: i64,
        ctx: &mut KeyedContext<'_, (i64, i64), BucketResult>,
    ) -> Result<(), UserError> {
        let max = self.max.as_ref().ok_or("state not opened")?;
        let cands = self.candidates.as_ref().ok_or("state not opened")?;
        ctx.collect_with_timestamp((end, max.value()?, cands.get()?), end);
        max.clear()?;
        cands.clear()?;
        Ok(())
    }
}

impl KeyedProcessFunction<i64, BucketResult, Row> for WindowTop {
    fn open(&mut self, state: &mut KeyedStateStore<i64>) -> Result<(), UserError> {
        self.max = Some(state.value_state("max")?);
        self.candidates = Some(state.list_state("candidates")?);
        Ok(())
    }

    fn process_element(
        &mut self,
        (end, bucket_max, candidates): BucketResult,
        ctx: &mut KeyedContext<'_, i64, Row>,
    ) -> Result<(), UserError> {
        let max = self.max.as_ref().ok_or("state not opened")?;
        let cands = self.candidates.as_ref().ok_or("state not opened")?;
        ctx.register_event_time_timer(end);
        fold_top!(max, cands, bucket_max, candidates);
        Ok(())
    }

    fn on_timer(
        &mut self,
        _end: i64,
        ctx: &mut KeyedContext<'_, i64, Row>,
    ) -> Result<(), UserError> {
        let max = self.max.as_ref().ok_or("state not opened")?;
        let cands = self.candidates.as_ref().ok_or("state not opened")?;
        // No member bid in the window: no maxprice row, nothing matches.
        if let Some(m) = max.value()? {
            for r in cands.get()? {
                if r.1 == m {
                    ctx.collect(r);
                }
            }
        }
        max.clear()?;
        cands.clear()?;
        Ok(())
    }
}

pub(crate) fn make(args: &[String]) -> Result<JobBuilder, String> {
    job("nexmark-q7", args, query, csv)
}

/// The query over the Nexmark events: its result rows.
pub(crate) fn query(events: &DataStream<Event>) -> DataStream<Row> {
    bids(events)
        .flat_map(|b, out| {
            let t = b.date_time;
            let row: Row = (b.auction, b.price, b.bidder, t, b.extra);
            if t.rem_euclid(SIZE) == 0 {
                // On a boundary: also `window_end` of the window before.
                out.collect((t, false, row.clone()));
            }
            out.collect((t - t.rem_euclid(SIZE) + SIZE, true, row));
        })
        .name("Assign Windows")
        .key_by(|(end, _, r): &WindowBid| (*end, r.1.rem_euclid(BUCKETS)))
        .process(Top::default())
        .name("Bucket Top")
        .key_by(|r: &BucketResult| r.0)
        .process(WindowTop::default())
        .name("Window Top")
}

#[cfg(test)]
mod tests {
    use super::super::testing::{bid, run};
    use super::query;

    #[test]
    fn bids_on_window_end_match_the_window_before_too() {
        let events = vec![
            bid(1, 5, 1_000),
            bid(2, 7, 9_999),
            bid(8, 2, 5_000),
            // On the boundary 10 s: the top price of [0, 10 s) (edge) and of [10 s, 20 s).
            bid(3, 7, 10_000),
            bid(6, 9, 20_000),
            bid(4, 3, 25_000),
            // Edge of [20 s, 30 s), whose maximum 9 it equals, and alone in [30 s, 40 s).
            bid(5, 9, 30_000),
            // [40 s, 50 s) has no bid, so no maxprice: this edge bid only matches its own.
            bid(7, 1, 50_000),
        ];
        let mut auctions: Vec<i64> = run(events, query).into_iter().map(|r| r.0).collect();
        auctions.sort();
        let mut want = vec![2, 3, 3, 6, 5, 5, 7];
        want.sort();
        assert_eq!(auctions, want);
    }
}
