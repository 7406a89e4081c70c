//! q3, local item suggestion (§13): an unbounded inner equi-join of auctions and people on
//! `auction.seller = person.id`, keeping auctions with `category = 10` and people in the
//! states OR, ID or CA. Output `(name, city, state, id)` (the auction's id). Append-only:
//! whichever side arrives later produces the match.
//!
//! Plan: a keyed connect on the person id: each side's records are kept (as Flink's regular
//! join keeps them, for ever) and every record is joined with what the other side holds.

use super::{auctions, job, persons, Csv};
use strom_nexmark::{Event, Text};
use strom_runtime::api::DataStream;
use strom_runtime::api::{KeyedCoProcessFunction, KeyedContext, KeyedStateStore, UserError};
use strom_runtime::cluster::JobBuilder;
use strom_runtime::state::ListState;

/// `(name, city, state, id)`.
type Row = (String, Text, Text, i64);

fn csv(r: &Row, c: &mut Csv) {
    c.str(&r.0).str(&r.1).str(&r.2).int(r.3);
}

/// A person's join columns: `(id, name, city, state)`.
type Seller = (i64, String, Text, Text);

/// An auction's join columns: `(id, seller)`.
type Item = (i64, i64);

/// Both sides of the join, per person id.
#[derive(Clone, Default)]
struct LocalItems {
    sellers: Option<ListState<i64, Seller>>,
    items: Option<ListState<i64, i64>>,
}

impl KeyedCoProcessFunction<i64, Seller, Item, Row> for LocalItems {
    fn open(&mut self, state: &mut KeyedStateStore<i64>) -> Result<(), UserError> {
        self.sellers = Some(state.list_state("sellers")?);
        self.items = Some(state.list_state("items")?);
        Ok(())
    }

    fn process_element1(
        &mut self,
        seller: Seller,
        ctx: &mut KeyedContext<'_, i64, Row>,
    ) -> Result<(), UserError> {
        let items = self.items.as_ref().ok_or("state not opened")?;
        let sellers = self.sellers.as_ref().ok_or("state not opened")?;
        for id in items.get()? {
            ctx.collect((seller.1.clone(), seller.2.clone(), seller.3.clone(), id));
        }
        sellers.add(seller)?;
        Ok(())
    }

    fn process_element2(
        &mut self,
        (id, _): Item,
        ctx: &mut KeyedContext<'_, i64, Row>,
    ) -> Result<(), UserError> {
        let items = self.items.as_ref().ok_or("state not opened")?;
        let sellers = self.sellers.as_ref().ok_or("state not opened")?;
        for (_, name, city, state) in sellers.get()? {
            ctx.collect((name, city, state, id));
        }
        items.add(id)?;
        Ok(())
    }
}

pub(crate) fn make(args: &[String]) -> Result<JobBuilder, String> {
    job("nexmark-q3", args, query, csv)
}

/// The query over the Nexmark events: its result rows.
pub(crate) fn query(events: &DataStream<Event>) -> DataStream<Row> {
    let sellers = persons(events)
        .filter(|p| matches!(p.state.as_str(), "OR" | "ID" | "CA"))
        .name("OR, ID, CA")
        .map(|p| (p.id, p.name, p.city, p.state))
        .name("Project")
        .key_by(|s: &Seller| s.0);
    let items = auctions(events)
        .filter(|a| a.category == 10)
        .name("Category 10")
        .map(|a| (a.id, a.seller))
        .name("Project")
        .key_by(|i: &Item| i.1);
    sellers
        .connect(&items)
        .process(LocalItems::default())
        .name("Join")
}
