//! The Nexmark queries as built-in jobs (`nexmark-q0` … `nexmark-q22`; q6 is not runnable
//! on Flink either, §13), on the DataStream API.
//!
//! Semantics, output columns and types follow `shared/reference/nexmark.md` §13; section
//! numbers (§) below refer to it. What every query shares lives here:
//!
//! * [`NexmarkArgs`] (`args.rs`): the generator configuration (the Nexmark connector's
//!   options, §3) and `--output FILE`; queries with options of their own (q10, q13) add them.
//! * [`source`] (`source.rs`): a parallel generator source. Source subtask `i` of `p` runs generator `i` of
//!   the connector's split into `p` (§11, `num_event_generators = p`), so together the subtasks
//!   produce exactly the events of the Flink source at parallelism `p`. Event times are the
//!   events' `dateTime`; watermarks trail them by 4 s (bounded out-of-orderness, §13.0).
//! * [`sink`]: `--output FILE` writes the result rows as CSV into one file (a sink of
//!   parallelism 1), one row per line, columns in the query's output order, timestamps as
//!   epoch milliseconds; without `--output` the rows are discarded.
//!
//! Every query assumes what the generator guarantees with its defaults: no event arrives
//! behind the watermark (each split is in event-time order; with out-of-order groups the
//! 4 s bound must cover a group). Updating queries (q4, q9, q15–q19) write their final state.

mod args;
mod csv;
mod q0;
mod q1;
mod q10;
mod q11;
mod q12;
mod q13;
mod q14;
mod q15;
mod q16;
mod q17;
mod q18;
mod q19;
mod q2;
mod q20;
mod q21;
mod q22;
mod q3;
mod q4;
mod q5;
mod q7;
mod q8;
mod q9;
mod source;

pub(crate) use args::NexmarkArgs;
pub(crate) use csv::{sink, Csv};
pub(crate) use source::source;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use strom_nexmark::{Auction, Bid, Event, Person};
use strom_runtime::api::{Data, DataStream, StreamEnv};
use strom_runtime::cluster::JobBuilder;
use strom_runtime::error::{Retry, TaskError, TaskResult};
use strom_runtime::operator::{Millis, Output};
use strom_runtime::registry::{JobRegistry, MakeJob};

/// The watermark delay of the Nexmark DDL: `dateTime − 4 s` (§13.0).
pub(crate) const OUT_OF_ORDERNESS: Duration = Duration::from_secs(4);

/// The queries: job name, what it computes, the one-line help of the job list (what, then
/// the main arguments), and its builder.
macro_rules! query {
    ($name:literal, $what:literal, $make:path) => {
        query!($name, $what, "[--output FILE]", $make)
    };
    ($name:literal, $what:literal, $output:literal, $make:path) => {
        (
            $name,
            $what,
            concat!(
                $what,
                ": [--events N] [--first-event-rate R] [--base-time MS] [--seed S] ",
                $output,
                " (more: --help)"
            ),
            $make as MakeJob,
        )
    };
}

const QUERIES: [(&str, &str, &str, MakeJob); 22] = [
    query!(
        "nexmark-q0",
        "Nexmark q0, pass-through: every bid",
        q0::make
    ),
    query!(
        "nexmark-q1",
        "Nexmark q1, currency conversion: every bid, price × 0.908",
        q1::make
    ),
    query!(
        "nexmark-q2",
        "Nexmark q2, selection: bids on auctions whose id is divisible by 123",
        q2::make
    ),
    query!(
        "nexmark-q3",
        "Nexmark q3, local item suggestion: category-10 auctions of OR/ID/CA sellers",
        q3::make
    ),
    query!(
        "nexmark-q4",
        "Nexmark q4, average winning price per category (final state)",
        q4::make
    ),
    query!(
        "nexmark-q5",
        "Nexmark q5, hot items: most-bid auctions per sliding 10 s / 2 s window",
        q5::make
    ),
    query!(
        "nexmark-q7",
        "Nexmark q7, highest bid: the bids at the top price of their 10 s window",
        q7::make
    ),
    query!(
        "nexmark-q8",
        "Nexmark q8, monitor new users: people who opened an auction in their 10 s window",
        q8::make
    ),
    query!(
        "nexmark-q9",
        "Nexmark q9, winning bids: each auction with its winning bid",
        q9::make
    ),
    query!(
        "nexmark-q10",
        "Nexmark q10, log to file system: every bid, into files partitioned by day and minute",
        "[--output DIR]",
        q10::make
    ),
    query!(
        "nexmark-q11",
        "Nexmark q11, user sessions: bids per bidder session (10 s gap)",
        q11::make
    ),
    query!(
        "nexmark-q12",
        "Nexmark q12, bids per bidder per 10 s processing-time window",
        q12::make
    ),
    query!(
        "nexmark-q13",
        "Nexmark q13, bounded side-input join: each bid with its value from a side table",
        q13::make
    ),
    query!(
        "nexmark-q14",
        "Nexmark q14, calculation: bids in a price range, with time of day and a UDF",
        q14::make
    ),
    query!(
        "nexmark-q15",
        "Nexmark q15, bidding statistics per day (final state)",
        q15::make
    ),
    query!(
        "nexmark-q16",
        "Nexmark q16, bidding statistics per channel and day (final state)",
        q16::make
    ),
    query!(
        "nexmark-q17",
        "Nexmark q17, bidding statistics per auction and day (final state)",
        q17::make
    ),
    query!(
        "nexmark-q18",
        "Nexmark q18, last bid per bidder and auction (final state)",
        q18::make
    ),
    query!(
        "nexmark-q19",
        "Nexmark q19, top 10 bids per auction (final state)",
        q19::make
    ),
    query!(
        "nexmark-q20",
        "Nexmark q20, bids joined with their category-10 auction",
        q20::make
    ),
    query!(
        "nexmark-q21",
        "Nexmark q21, channel id: bids with the id of their channel",
        q21::make
    ),
    query!(
        "nexmark-q22",
        "Nexmark q22, URL directories: bids with the first three parts of their URL path",
        q22::make
    ),
];

/// Registers every Nexmark query.
pub(crate) fn register(r: &mut JobRegistry) {
    for (name, _, about, make) in QUERIES {
        r.register(name, about, make);
    }
}

/// A query's job: the events of [`source`], the rows of `query`, written by [`sink`] with
/// `row` as CSV.
pub(crate) fn job<T: Data>(
    job: &str,
    args: &[String],
    query: fn(&DataStream<Event>) -> DataStream<T>,
    row: fn(&T, &mut Csv),
) -> Result<JobBuilder, String> {
    let a = NexmarkArgs::parse(job, args)?;
    Ok(Arc::new(move |env: &mut StreamEnv| {
        let events = source(env, &a);
        sink(&query(&events), &a, row);
        Ok(())
    }))
}

/// The bids of `events` (the `bid` view).
pub(crate) fn bids(events: &DataStream<Event>) -> DataStream<Bid> {
    events
        .flat_map(|e: Event, out| {
            if let Event::Bid(b) = e {
                out.collect(b)
            }
        })
        .name("Bids")
}

/// The auctions of `events` (the `auction` view).
pub(crate) fn auctions(events: &DataStream<Event>) -> DataStream<Auction> {
    events
        .flat_map(|e: Event, out| {
            if let Event::Auction(a) = e {
                out.collect(a)
            }
        })
        .name("Auctions")
}

/// The people of `events` (the `person` view).
pub(crate) fn persons(events: &DataStream<Event>) -> DataStream<Person> {
    events
        .flat_map(|e: Event, out| {
            if let Event::Person(p) = e {
                out.collect(p)
            }
        })
        .name("Persons")
}

/// Counts records (windows of q5, q11, q12).
#[derive(Clone, Copy, Default)]
pub(crate) struct Count;

impl<T> strom_runtime::api::AggregateFunction<T, i64, i64> for Count {
    fn create_accumulator(&self) -> i64 {
        0
    }
    fn add(&self, _value: T, acc: i64) -> i64 {
        acc + 1
    }
    fn get_result(&self, acc: &i64) -> i64 {
        *acc
    }
    fn merge(&self, a: i64, b: i64) -> i64 {
        a + b
    }
}

/// Runs queries over hand-made events on an embedded cluster (unit tests).
#[cfg(test)]
pub(crate) mod testing {
    use super::OUT_OF_ORDERNESS;
    use strom_nexmark::{Auction, Bid, Event, Text};
    use strom_runtime::api::{Data, DataStream, StreamEnv, WatermarkStrategy};
    use strom_runtime::cluster::LocalCluster;
    use strom_runtime::config::Configuration;
    use strom_runtime::sink::CollectHandle;

    /// A bid on `auction` at `price`, time `t`; bidder 100 + auction, extra `b<t>`.
    pub(crate) fn bid(auction: i64, price: i64, t: i64) -> Event {
        Event::Bid(Bid {
            auction,
            bidder: 100 + auction,
            price,
            channel: "Google".into(),
            url: "https://www.nexmark.com/a/b/c/item.htm?query=1".into(),
            date_time: t,
            extra: format!("b{t}").into(),
        })
    }

    /// An auction `id` open over `[t, expires]` in `category`.
    pub(crate) fn auction(id: i64, t: i64, expires: i64, category: i64) -> Event {
        Event::Auction(Auction {
            id,
            item_name: format!("item {id}"),
            description: "a, \"quoted\" thing".into(),
            initial_bid: 100,
            reserve: 200,
            date_time: t,
            expires,
            seller: 1000 + id,
            category,
            extra: Text::default(),
        })
    }

    /// `query` over `events` (one source subtask, in the given order, watermarks 4 s behind;
    /// the query at parallelism 2): its rows, in no particular order.
    pub(crate) fn run<T: Data + Send>(
        events: Vec<Event>,
        query: fn(&DataStream<Event>) -> DataStream<T>,
    ) -> Vec<T> {
        let mut config = Configuration::new();
        config
            .set("taskmanager.numberOfTaskSlots", "2", "test")
            .expect("valid");
        config
            .set("parallelism.default", "2", "test")
            .expect("valid");
        let cluster = LocalCluster::start(config).expect("cluster starts");
        let rows = CollectHandle::<T>::new();
        let out = rows.clone();
        cluster
            .execute("nexmark-unit", move |env: &mut StreamEnv| {
                let events = env
                    .from_collection(events.clone())
                    .assign_timestamps_and_watermarks(
                        WatermarkStrategy::for_bounded_out_of_orderness(OUT_OF_ORDERNESS)
                            .with_timestamp_assigner(|e: &Event, _| e.date_time()),
                    );
                query(&events).collect(&out);
                Ok(())
            })
            .expect("job starts")
            .wait()
            .expect("job finishes");
        rows.items()
    }
}
