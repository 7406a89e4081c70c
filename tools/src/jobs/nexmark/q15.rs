//! q15, bidding statistics per day (§13): bids grouped by
//! `day = DATE_FORMAT(dateTime, 'yyyy-MM-dd')` (the UTC date: the SQL's timestamps have no
//! time zone), with price ranks r1 (price < 10,000), r2 (10,000 ≤ price < 1,000,000) and r3
//! (price ≥ 1,000,000). Output `(day, total_bids, rank1_bids, rank2_bids, rank3_bids,
//! total_bidders, rank1_bidders, rank2_bidders, rank3_bidders, total_auctions,
//! rank1_auctions, rank2_auctions, rank3_auctions)`: the `_bids` columns count rows, the
//! `_bidders` and `_auctions` columns count distinct bidders and auctions over all the rows
//! of the day or over those of one rank. **Updating** in Flink: this job writes the final
//! state, one row per day with bids, when the input ends.
//!
//! Plan: bids keyed by day (the day number since the epoch) into [`BidStats`], which keeps
//! the counters and, per distinct bidder and auction, the set of ranks it was seen in (a
//! bit mask in map state), and writes the row when the end-of-input watermark fires its
//! timer. q16 and q17 use the same function with other keys.

use super::{bids, job, Csv};
use strom_nexmark::{Bid, Event};
use strom_runtime::api::DataStream;
use strom_runtime::api::{KeyedContext, KeyedProcessFunction, KeyedStateStore, UserError};
use strom_runtime::cluster::JobBuilder;
use strom_runtime::operator::MAX_WATERMARK;
use strom_runtime::state::{Key, MapState, ValueState};

/// `(day, the 12 counts in output order)`.
type Row = (String, [i64; 12]);

fn csv(r: &Row, c: &mut Csv) {
    c.str(&r.0);
    for n in r.1 {
        c.int(n);
    }
}

/// Milliseconds per day.
const DAY_MS: i64 = 86_400_000;

/// The UTC day of epoch millisecond `t`, as days since 1970-01-01.
pub(super) fn day_number(t: i64) -> i64 {
    t.div_euclid(DAY_MS)
}

/// `DATE_FORMAT(t, 'yyyy-MM-dd')` of the UTC day `day` (days since the epoch).
pub(super) fn day_text(day: i64) -> String {
    let t = day.saturating_mul(DAY_MS);
    match chrono::DateTime::from_timestamp_millis(t) {
        Some(d) => d.format("%Y-%m-%d").to_string(),
        // Beyond chrono's ±262,000 years: never for epoch milliseconds of an i64 event
        // time that a generator produces.
        None => format!("day {day}"),
    }
}

/// `DATE_FORMAT(t, 'HH:mm')` of epoch millisecond `t` (UTC).
pub(super) fn minute_text(t: i64) -> String {
    let minute = t.rem_euclid(DAY_MS) / 60_000;
    format!("{:02}:{:02}", minute / 60, minute % 60)
}

/// The price rank of §13 q15: 1, 2 or 3.
pub(super) fn rank(price: i64) -> usize {
    if price < 10_000 {
        1
    } else if price < 1_000_000 {
        2
    } else {
        3
    }
}

/// One group's aggregates so far.
#[derive(Clone, Debug)]
pub(super) struct Stats {
    /// Rows: in total (index 0) and per rank (1..3).
    pub(super) bids: [i64; 4],
    /// Distinct bidders, as `bids`.
    pub(super) bidders: [i64; 4],
    /// Distinct auctions, as `bids`.
    pub(super) auctions: [i64; 4],
    pub(super) min_price: i64,
    pub(super) max_price: i64,
    pub(super) sum_price: i64,
    /// The latest `dateTime`.
    pub(super) last_time: i64,
}

impl Stats {
    fn new() -> Self {
        Stats {
            bids: [0; 4],
            bidders: [0; 4],
            auctions: [0; 4],
            min_price: i64::MAX,
            max_price: i64::MIN,
            sum_price: 0,
            last_time: i64::MIN,
        }
    }

    /// The 12 counts of q15 and q16, in output order.
    pub(super) fn counts(&self) -> [i64; 12] {
        let mut c = [0; 12];
        c[..4].copy_from_slice(&self.bids);
        c[4..8].copy_from_slice(&self.bidders);
        c[8..].copy_from_slice(&self.auctions);
        c
    }
}

/// Per group (key `K`): [`Stats`] over its bids, and for distinct counts the ranks each
/// bidder and auction was seen in (bit `r` for rank `r`). Writes `row(key, stats)` at the
/// end of input.
pub(super) struct BidStats<K, O> {
    row: fn(&K, &Stats) -> O,
    /// Whether to count distinct bidders and auctions (q17 does not).
    distinct: bool,
    stats: Option<ValueState<K, Stats>>,
    bidders: Option<MapState<K, i64, u8>>,
    auctions: Option<MapState<K, i64, u8>>,
}

impl<K, O> Clone for BidStats<K, O> {
    fn clone(&self) -> Self {
        BidStats {
            row: self.row,
            distinct: self.distinct,
            stats: self.stats.clone(),
            bidders: self.bidders.clone(),
            auctions: self.auctions.clone(),
        }
    }
}

impl<K, O> BidStats<K, O> {
    pub(super) fn new(row: fn(&K, &Stats) -> O, distinct: bool) -> Self {
        BidStats {
            row,
            distinct,
            stats: None,
            bidders: None,
            auctions: None,
        }
    }
}

/// Marks `id` as seen in rank `r`; counts it in `counts` (total and rank) where it is new.
fn see<K: Key>(
    seen: &MapState<K, i64, u8>,
    id: i64,
    r: usize,
    counts: &mut [i64; 4],
) -> Result<(), UserError> {
    let bit = 1u8 << r;
    let old = seen.get(&id)?;
    let mask = old.unwrap_or(0);
    if mask & bit == 0 {
        if old.is_none() {
            counts[0] += 1;
        }
        counts[r] += 1;
        seen.put(id, mask | bit)?;
    }
    Ok(())
}

impl<K: Key, O: 'static> KeyedProcessFunction<K, Bid, O> for BidStats<K, O> {
    fn open(&mut self, state: &mut KeyedStateStore<K>) -> Result<(), UserError> {
        self.stats = Some(state.value_state("stats")?);
        if self.distinct {
            self.bidders = Some(state.map_state("bidders")?);
            self.auctions = Some(state.map_state("auctions")?);
        }
        Ok(())
    }

    fn process_element(
        &mut self,
        bid: Bid,
        ctx: &mut KeyedContext<'_, K, O>,
    ) -> Result<(), UserError> {
        let state = self.stats.as_ref().ok_or("state not opened")?;
        let mut s = match state.value()? {
            Some(s) => s,
            None => {
                ctx.register_event_time_timer(MAX_WATERMARK);
                Stats::new()
            }
        };
        let r = rank(bid.price);
        s.bids[0] += 1;
        s.bids[r] += 1;
        s.min_price = s.min_price.min(bid.price);
        s.max_price = s.max_price.max(bid.price);
        s.sum_price = s.sum_price.wrapping_add(bid.price);
        s.last_time = s.last_time.max(bid.date_time);
        if self.distinct {
            let (bidders, auctions) = match (&self.bidders, &self.auctions) {
                (Some(b), Some(a)) => (b, a),
                _ => return Err("state not opened".into()),
            };
            see(bidders, bid.bidder, r, &mut s.bidders)?;
            see(auctions, bid.auction, r, &mut s.auctions)?;
        }
        state.update(s)?;
        Ok(())
    }

    fn on_timer(&mut self, _at: i64, ctx: &mut KeyedContext<'_, K, O>) -> Result<(), UserError> {
        let state = self.stats.as_ref().ok_or("state not opened")?;
        if let Some(s) = state.value()? {
            let row = (self.row)(ctx.key(), &s);
            ctx.collect(row);
        }
        state.clear()?;
        for seen in [&self.bidders, &self.auctions].into_iter().flatten() {
            seen.clear()?;
        }
        Ok(())
    }
}

fn row(day: &i64, s: &Stats) -> Row {
    (day_text(*day), s.counts())
}

pub(crate) fn make(args: &[String]) -> Result<JobBuilder, String> {
    job("nexmark-q15", args, query, csv)
}

/// The query over the Nexmark events: its result rows.
pub(crate) fn query(events: &DataStream<Event>) -> DataStream<Row> {
    bids(events)
        .key_by(|b: &Bid| day_number(b.date_time))
        .process(BidStats::new(row, true))
        .name("Statistics per Day")
}
