//! q4, average price per category (§13): auctions joined with bids on
//! `bid.auction = auction.id` and `auction.dateTime ≤ bid.dateTime ≤ auction.expires` (both
//! inclusive); per (auction, category) `final = max(bid.price)`; per category
//! `(category, AVG(final))`, where AVG over BIGINT is BIGINT (sum / count, truncated).
//! **Updating** in Flink: this job writes the final state, one row per category with at least
//! one qualifying auction, when the input ends (the sink calls the columns `(id, final)`).
//!
//! Plan: a keyed connect on the auction id keeps the auction's span and the highest
//! qualifying price; an auction's `final` is settled once the watermark passes its `expires`
//! (no qualifying bid can come later) and goes, keyed by category, into a sum and count.
//! A bid that comes before its auction (only possible across source subtasks) waits until
//! the watermark passes its own time: an auction arriving after that is younger than the bid.

use super::{auctions, bids, job, Csv};
use strom_nexmark::Event;
use strom_runtime::api::DataStream;
use strom_runtime::api::{
    KeyedCoProcessFunction, KeyedContext, KeyedProcessFunction, KeyedStateStore, UserError,
};
use strom_runtime::cluster::JobBuilder;
use strom_runtime::operator::MAX_WATERMARK;
use strom_runtime::state::{ListState, ValueState};

/// `(category, avg(final))`.
type Row = (i64, i64);

fn csv(r: &Row, c: &mut Csv) {
    c.int(r.0).int(r.1);
}

/// An auction's join columns: `(id, dateTime, expires, category)`.
type Span = (i64, i64, i64, i64);

/// A bid's join columns: `(auction, price, dateTime)`.
type Price = (i64, i64, i64);

/// An auction's settled highest price: `(category, final)`.
type Final = (i64, i64);

/// Bids that wait for their auction are dropped on a grid of this many ms after their time.
pub(crate) const PENDING_GRID: i64 = 1_000;

/// The first grid point after `t`.
pub(crate) fn after(t: i64) -> i64 {
    t - t.rem_euclid(PENDING_GRID) + PENDING_GRID
}

/// An auction's `(dateTime, expires, category)`.
type SpanState = ValueState<i64, (i64, i64, i64)>;

/// The bids that came before their auction, as `(dateTime, price)`.
type Waiting = ListState<i64, (i64, i64)>;

/// Per auction: its span and category, its highest qualifying price, and the bids that came
/// before it.
#[derive(Clone, Default)]
struct MaxPrice {
    span: Option<SpanState>,
    max: Option<ValueState<i64, i64>>,
    waiting: Option<Waiting>,
}

impl MaxPrice {
    fn states(&self) -> Result<(&SpanState, &ValueState<i64, i64>, &Waiting), UserError> {
        match (&self.span, &self.max, &self.waiting) {
            (Some(s), Some(m), Some(w)) => Ok((s, m, w)),
            _ => Err("state not opened".into()),
        }
    }
}

/// Raises `max` to `price` if the bid at `t` lies in `[start, expires]`.
fn consider(
    max: &ValueState<i64, i64>,
    (start, expires): (i64, i64),
    t: i64,
    price: i64,
) -> Result<(), UserError> {
    if start <= t && t <= expires && max.value()?.is_none_or(|m| price > m) {
        max.update(price)?;
    }
    Ok(())
}

impl KeyedCoProcessFunction<i64, Span, Price, Final> for MaxPrice {
    fn open(&mut self, state: &mut KeyedStateStore<i64>) -> Result<(), UserError> {
        self.span = Some(state.value_state("span")?);
        self.max = Some(state.value_state("max")?);
        self.waiting = Some(state.list_state("waiting")?);
        Ok(())
    }

    fn process_element1(
        &mut self,
        (_, start, expires, category): Span,
        ctx: &mut KeyedContext<'_, i64, Final>,
    ) -> Result<(), UserError> {
        let (span, max, waiting) = self.states()?;
        span.update((start, expires, category))?;
        ctx.register_event_time_timer(expires);
        let early = waiting.get()?;
        if !early.is_empty() {
            for (t, price) in early {
                consider(max, (start, expires), t, price)?;
            }
            waiting.clear()?;
        }
        Ok(())
    }

    fn process_element2(
        &mut self,
        (_, price, t): Price,
        ctx: &mut KeyedContext<'_, i64, Final>,
    ) -> Result<(), UserError> {
        let (span, max, waiting) = self.states()?;
        match span.value()? {
            Some((start, expires, _)) => consider(max, (start, expires), t, price)?,
            None => {
                waiting.add((t, price))?;
                ctx.register_event_time_timer(after(t));
            }
        }
        Ok(())
    }

    fn on_timer(
        &mut self,
        at: i64,
        ctx: &mut KeyedContext<'_, i64, Final>,
    ) -> Result<(), UserError> {
        let (span, max, waiting) = self.states()?;
        match span.value()? {
            Some((_, expires, category)) if at >= expires => {
                if let Some(m) = max.value()? {
                    ctx.collect((category, m));
                }
                span.clear()?;
                max.clear()?;
                waiting.clear()?;
            }
            Some(_) => {}
            None => {
                // Any auction still to come is younger than these bids.
                let mut w = waiting.get()?;
                w.retain(|(t, _)| *t > at);
                if w.is_empty() {
                    waiting.clear()?;
                } else {
                    waiting.update(w)?;
                }
            }
        }
        Ok(())
    }
}

/// Per category: the sum and count of the settled prices, written at the end of input.
#[derive(Clone, Default)]
struct Average {
    acc: Option<ValueState<i64, (i128, i64)>>,
}

impl KeyedProcessFunction<i64, Final, Row> for Average {
    fn open(&mut self, state: &mut KeyedStateStore<i64>) -> Result<(), UserError> {
        self.acc = Some(state.value_state("sum and count")?);
        Ok(())
    }

    fn process_element(
        &mut self,
        (_, price): Final,
        ctx: &mut KeyedContext<'_, i64, Row>,
    ) -> Result<(), UserError> {
        let acc = self.acc.as_ref().ok_or("state not opened")?;
        let (sum, count) = match acc.value()? {
            Some(a) => a,
            None => {
                ctx.register_event_time_timer(MAX_WATERMARK);
                (0, 0)
            }
        };
        acc.update((sum + i128::from(price), count + 1))?;
        Ok(())
    }

    fn on_timer(
        &mut self,
        _at: i64,
        ctx: &mut KeyedContext<'_, i64, Row>,
    ) -> Result<(), UserError> {
        let acc = self.acc.as_ref().ok_or("state not opened")?;
        if let Some((sum, count)) = acc.value()? {
            // Truncated, as Flink's AVG over BIGINT.
            let category = *ctx.key();
            ctx.collect((category, (sum / i128::from(count)) as i64));
        }
        acc.clear()?;
        Ok(())
    }
}

pub(crate) fn make(args: &[String]) -> Result<JobBuilder, String> {
    job("nexmark-q4", args, query, csv)
}

/// The query over the Nexmark events: its result rows.
pub(crate) fn query(events: &DataStream<Event>) -> DataStream<Row> {
    let spans = auctions(events)
        .map(|a| (a.id, a.date_time, a.expires, a.category))
        .name("Project")
        .key_by(|s: &Span| s.0);
    let prices = bids(events)
        .map(|b| (b.auction, b.price, b.date_time))
        .name("Project")
        .key_by(|p: &Price| p.0);
    spans
        .connect(&prices)
        .process(MaxPrice::default())
        .name("Winning Price")
        .key_by(|f: &Final| f.0)
        .process(Average::default())
        .name("Average per Category")
}

#[cfg(test)]
mod tests {
    use super::super::q9::tests::events;
    use super::query;

    #[test]
    fn averages_the_highest_qualifying_price_per_category() {
        // Category 10: auctions 1 (15) and 3 (41), truncated average 28; auction 4 has no
        // bids. Category 11: auction 2 (7).
        assert_eq!(run_query(), vec![(10, 28), (11, 7)]);
    }

    fn run_query() -> Vec<(i64, i64)> {
        let mut rows = super::super::testing::run(events(), query);
        rows.sort();
        rows
    }
}
