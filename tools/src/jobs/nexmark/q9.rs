//! q9, winning bids (§13): for each auction, the bid with `bid.auction = auction.id` and
//! `auction.dateTime ≤ bid.dateTime ≤ auction.expires` (both inclusive) that ranks first by
//! price descending, then bid dateTime ascending; on a remaining tie the earlier arrival
//! stays first. Output the 10 auction columns followed by
//! `(auction, bidder, price, bid_dateTime, bid_extra)`. **Updating** in Flink (a Top-1 over a
//! join); this job writes each auction's final row, once the watermark passes its `expires`
//! (no qualifying bid can come later). Auctions without a qualifying bid have no row.
//!
//! Plan: a keyed connect on the auction id, as q4's first phase, keeping the best bid. A bid
//! that comes before its auction (only possible across source subtasks) waits until the
//! watermark passes its own time: an auction arriving after that is younger than the bid.

use super::q4::after;
use super::{auctions, bids, job, Csv};
use strom_nexmark::Event;
use strom_nexmark::{Auction, Text};
use strom_runtime::api::DataStream;
use strom_runtime::api::{KeyedCoProcessFunction, KeyedContext, KeyedStateStore, UserError};
use strom_runtime::cluster::JobBuilder;
use strom_runtime::state::{ListState, ValueState};

/// A bid's output columns: `(auction, bidder, price, dateTime, extra)`.
type WinBid = (i64, i64, i64, i64, Text);

/// The auction and its winning bid.
type Row = (Auction, WinBid);

fn csv((a, b): &Row, c: &mut Csv) {
    c.int(a.id)
        .str(&a.item_name)
        .str(&a.description)
        .int(a.initial_bid)
        .int(a.reserve)
        .int(a.date_time)
        .int(a.expires)
        .int(a.seller)
        .int(a.category)
        .str(&a.extra);
    c.int(b.0).int(b.1).int(b.2).int(b.3).str(&b.4);
}

/// Per auction: the auction, its span, the best qualifying bid so far (and its rank key
/// `(price, dateTime)`), and the bids that came before the auction.
#[derive(Clone, Default)]
struct Winner {
    auction: Option<ValueState<i64, Auction>>,
    span: Option<ValueState<i64, (i64, i64)>>,
    rank: Option<ValueState<i64, (i64, i64)>>,
    best: Option<ValueState<i64, WinBid>>,
    waiting: Option<ListState<i64, WinBid>>,
}

/// The state handles of [`Winner`].
struct States<'a> {
    auction: &'a ValueState<i64, Auction>,
    span: &'a ValueState<i64, (i64, i64)>,
    rank: &'a ValueState<i64, (i64, i64)>,
    best: &'a ValueState<i64, WinBid>,
    waiting: &'a ListState<i64, WinBid>,
}

impl Winner {
    fn states(&self) -> Result<States<'_>, UserError> {
        match (
            &self.auction,
            &self.span,
            &self.rank,
            &self.best,
            &self.waiting,
        ) {
            (Some(auction), Some(span), Some(rank), Some(best), Some(waiting)) => Ok(States {
                auction,
                span,
                rank,
                best,
                waiting,
            }),
            _ => Err("state not opened".into()),
        }
    }
}

impl States<'_> {
    /// Makes `bid` the best one if it qualifies and ranks strictly before the best so far.
    fn consider(&self, (start, expires): (i64, i64), bid: WinBid) -> Result<(), UserError> {
        let (price, t) = (bid.2, bid.3);
        if t < start || t > expires {
            return Ok(());
        }
        let better = match self.rank.value()? {
            None => true,
            Some((p, bt)) => price > p || (price == p && t < bt),
        };
        if better {
            self.rank.update((price, t))?;
            self.best.update(bid)?;
        }
        Ok(())
    }

    fn clear(&self) -> Result<(), UserError> {
        self.auction.clear()?;
        self.span.clear()?;
        self.rank.clear()?;
        self.best.clear()?;
        self.waiting.clear()?;
        Ok(())
    }
}

impl KeyedCoProcessFunction<i64, Auction, WinBid, Row> for Winner {
    fn open(&mut self, state: &mut KeyedStateStore<i64>) -> Result<(), UserError> {
        self.auction = Some(state.value_state("auction")?);
        self.span = Some(state.value_state("span")?);
        self.rank = Some(state.value_state("rank")?);
        self.best = Some(state.value_state("best")?);
        self.waiting = Some(state.list_state("waiting")?);
        Ok(())
    }

    fn process_element1(
        &mut self,
        auction: Auction,
        ctx: &mut KeyedContext<'_, i64, Row>,
    ) -> Result<(), UserError> {
        let s = self.states()?;
        let span = (auction.date_time, auction.expires);
        ctx.register_event_time_timer(auction.expires);
        s.span.update(span)?;
        s.auction.update(auction)?;
        let early = s.waiting.get()?;
        if !early.is_empty() {
            // In arrival order, so that the earlier of two equal bids stays first.
            for bid in early {
                s.consider(span, bid)?;
            }
            s.waiting.clear()?;
        }
        Ok(())
    }

    fn process_element2(
        &mut self,
        bid: WinBid,
        ctx: &mut KeyedContext<'_, i64, Row>,
    ) -> Result<(), UserError> {
        let s = self.states()?;
        match s.span.value()? {
            Some(span) => s.consider(span, bid)?,
            None => {
                ctx.register_event_time_timer(after(bid.3));
                s.waiting.add(bid)?;
            }
        }
        Ok(())
    }

    fn on_timer(&mut self, at: i64, ctx: &mut KeyedContext<'_, i64, Row>) -> Result<(), UserError> {
        let s = self.states()?;
        match s.span.value()? {
            Some((_, expires)) if at >= expires => {
                if let (Some(auction), Some(bid)) = (s.auction.value()?, s.best.value()?) {
                    ctx.collect((auction, bid));
                }
                s.clear()?;
            }
            Some(_) => {}
            None => {
                // Any auction still to come is younger than these bids.
                let mut w = s.waiting.get()?;
                w.retain(|b| b.3 > at);
                if w.is_empty() {
                    s.waiting.clear()?;
                } else {
                    s.waiting.update(w)?;
                }
            }
        }
        Ok(())
    }
}

pub(crate) fn make(args: &[String]) -> Result<JobBuilder, String> {
    job("nexmark-q9", args, query, csv)
}

/// The query over the Nexmark events: its result rows.
pub(crate) fn query(events: &DataStream<Event>) -> DataStream<Row> {
    let auctions = auctions(events).key_by(|a: &Auction| a.id);
    let bids = bids(events)
        .map(|b| (b.auction, b.bidder, b.price, b.date_time, b.extra))
        .name("Project")
        .key_by(|b: &WinBid| b.0);
    auctions
        .connect(&bids)
        .process(Winner::default())
        .name("Winning Bid")
}

#[cfg(test)]
pub(crate) mod tests {
    use super::super::testing::{auction, bid, run};
    use super::query;
    use strom_nexmark::Event;

    /// Auctions and bids around the edges of the join: bids before their auction (in arrival
    /// and in time), on both inclusive bounds, after `expires`, ties on price.
    pub(crate) fn events() -> Vec<Event> {
        vec![
            bid(1, 10, 1_500), // before its auction arrives, qualifies
            bid(1, 30, 999),   // before its auction, and older: does not qualify
            auction(1, 1_000, 2_000, 10),
            bid(1, 5, 1_800),
            bid(1, 10, 1_200), // same price, earlier: ranks first
            bid(1, 10, 2_000), // on expires: qualifies, ranks after
            bid(1, 20, 2_001), // after expires
            bid(1, 15, 1_000), // on dateTime: qualifies, and is the highest
            auction(2, 3_000, 3_500, 11),
            bid(2, 7, 3_500),
            bid(3, 50, 4_000), // older than its auction
            auction(3, 4_001, 5_000, 10),
            bid(3, 41, 4_500),
            auction(4, 6_000, 7_000, 10), // no bids
            bid(5, 99, 6_500),            // no such auction
        ]
    }

    #[test]
    fn each_auction_gets_its_best_bid_within_its_span() {
        let mut winners: Vec<(i64, i64, i64)> = run(events(), query)
            .into_iter()
            .map(|(a, b)| (a.id, b.2, b.3))
            .collect();
        winners.sort();
        assert_eq!(winners, vec![(1, 15, 1_000), (2, 7, 3_500), (3, 41, 4_500)]);
    }

    #[test]
    fn ties_on_price_go_to_the_earlier_bid() {
        let mut events = events();
        events.retain(|e| !matches!(e, Event::Bid(b) if b.price == 15));
        let mut winners: Vec<(i64, i64, i64)> = run(events, query)
            .into_iter()
            .map(|(a, b)| (a.id, b.2, b.3))
            .collect();
        winners.sort();
        assert_eq!(winners[0], (1, 10, 1_200));
    }
}
