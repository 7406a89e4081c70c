//! The Nexmark queries as built-in jobs (`nexmark-q0` … `nexmark-q12`), on the DataStream API.
//!
//! Semantics, output columns and types follow `shared/reference/nexmark.md` §13; section
//! numbers (§) below refer to it. What every query shares lives here:
//!
//! * [`NexmarkArgs`]: the generator configuration (the Nexmark connector's options, §3) and
//!   `--output FILE`.
//! * [`source`]: a parallel generator source. Source subtask `i` of `p` runs generator `i` of
//!   the connector's split into `p` (§11, `num_event_generators = p`), so together the subtasks
//!   produce exactly the events of the Flink source at parallelism `p`. Event times are the
//!   events' `dateTime`; watermarks trail them by 4 s (bounded out-of-orderness, §13.0).
//! * [`sink`]: `--output FILE` writes the result rows as CSV into one file (a sink of
//!   parallelism 1), one row per line, columns in the query's output order, timestamps as
//!   epoch milliseconds; without `--output` the rows are discarded.
//!
//! Every query assumes what the generator guarantees with its defaults: no event arrives
//! behind the watermark (each split is in event-time order; with out-of-order groups the
//! 4 s bound must cover a group). Updating queries (q4, q9) write their final state.

mod csv;
mod q0;
mod q1;
mod q11;
mod q12;
mod q2;
mod q3;
mod q4;
mod q5;
mod q7;
mod q8;
mod q9;

use clap::{CommandFactory, FromArgMatches};
pub(crate) use csv::{sink, Csv};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use strom_nexmark::{
    Auction, Bid, Event, GeneratedEvent, Generator, GeneratorConfig, NexmarkConfig, Person,
};
use strom_runtime::api::{Data, DataStream, StreamEnv, WatermarkStrategy};
use strom_runtime::cluster::JobBuilder;
use strom_runtime::error::{Retry, TaskError, TaskResult};
use strom_runtime::operator::{Millis, Output};
use strom_runtime::registry::{JobRegistry, MakeJob};
use strom_runtime::source::{LocalFuture, SourceReader, SourceStatus};
use strom_runtime::task::latency::now_ns;

/// The watermark delay of the Nexmark DDL: `dateTime − 4 s` (§13.0).
pub(crate) const OUT_OF_ORDERNESS: Duration = Duration::from_secs(4);

/// The queries: job name, what it computes, the one-line help of the job list (what, then
/// the main arguments), and its builder.
macro_rules! query {
    ($name:literal, $what:literal, $make:path) => {
        (
            $name,
            $what,
            concat!(
                $what,
                ": [--events N] [--first-event-rate R] [--base-time MS] [--seed S] [--output FILE] (more: --help)"
            ),
            $make as MakeJob,
        )
    };
}

const QUERIES: [(&str, &str, &str, MakeJob); 11] = [
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
        "nexmark-q11",
        "Nexmark q11, user sessions: bids per bidder session (10 s gap)",
        q11::make
    ),
    query!(
        "nexmark-q12",
        "Nexmark q12, bids per bidder per 10 s processing-time window",
        q12::make
    ),
];

/// Registers every Nexmark query.
pub(crate) fn register(r: &mut JobRegistry) {
    for (name, _, about, make) in QUERIES {
        r.register(name, about, make);
    }
}

// The arguments every Nexmark query takes: the generator's configuration (named after the
// Flink connector's options, with its defaults unless said otherwise) and the output. (No doc
// comment: clap would show it above each query's own description.)
#[derive(clap::Parser, Clone, Debug)]
#[command(
    after_help = "Source subtask i of p runs generator i of the connector's split into p \
    (num_event_generators = p, the connector's rule), so the events depend on the source \
    parallelism (-p). Event time is the events' dateTime, watermarks trail it by 4 s."
)]
pub(crate) struct NexmarkArgs {
    /// Events in total over all source subtasks (`events.num`); 0 = practically unbounded.
    /// Default: the Nexmark suite's 100,000,000.
    #[arg(long, default_value_t = 100_000_000)]
    events: u64,
    /// Overall events per second of event time (`first-event.rate`).
    #[arg(long, default_value_t = 10_000)]
    first_event_rate: u32,
    /// Event time of the first event, epoch ms. (Flink takes the wall clock at planning; a
    /// fixed base keeps runs reproducible.)
    #[arg(long, default_value_t = 1_700_000_000_000)]
    base_time: i64,
    /// The seed of the reproducible random streams (§7.4; 42 reproduces the test vectors).
    #[arg(long, default_value_t = strom_nexmark::DEFAULT_SEED)]
    seed: u64,
    /// `person.proportion`.
    #[arg(long, default_value_t = 1)]
    person_proportion: u32,
    /// `auction.proportion`.
    #[arg(long, default_value_t = 3)]
    auction_proportion: u32,
    /// `bid.proportion`.
    #[arg(long, default_value_t = 46)]
    bid_proportion: u32,
    /// `person.avg-size` in bytes.
    #[arg(long, default_value_t = 200)]
    person_avg_size: u32,
    /// `auction.avg-size` in bytes.
    #[arg(long, default_value_t = 500)]
    auction_avg_size: u32,
    /// `bid.avg-size` in bytes.
    #[arg(long, default_value_t = 100)]
    bid_avg_size: u32,
    /// `bid.hot-ratio.auctions`: a bid targets a hot auction with probability 1 − 1/R.
    #[arg(long, default_value_t = 2)]
    hot_ratio_auctions: u32,
    /// `bid.hot-ratio.bidders`: a bid comes from a hot bidder with probability 1 − 1/R.
    #[arg(long, default_value_t = 4)]
    hot_ratio_bidders: u32,
    /// `auction.hot-ratio.sellers`: an auction has a hot seller with probability 1 − 1/R.
    #[arg(long, default_value_t = 4)]
    hot_ratio_sellers: u32,
    /// Window of recent auctions that bids pick from (`numInFlightAuctions`).
    #[arg(long, default_value_t = 100)]
    num_in_flight_auctions: u32,
    /// Window of recent people that sellers and bidders pick from (`numActivePeople`).
    #[arg(long, default_value_t = 1000)]
    num_active_people: u32,
    /// Events are shuffled within groups of this size (`outOfOrderGroupSize`; 1 = in order).
    #[arg(long, default_value_t = 1)]
    out_of_order_group_size: u32,
    /// Stop after this many events over all source subtasks (`stop-at`).
    #[arg(long)]
    stop_at: Option<u64>,
    /// `max-emit-speed`: with `false` each source subtask follows event time in wall-clock
    /// time (its first event at once, the others at their event-time offset).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    max_emit_speed: bool,
    /// Write the result rows as CSV to this one file (a sink of parallelism 1), one row per
    /// line, columns in the query's output order, timestamps as epoch milliseconds. Without
    /// it the rows are discarded.
    #[arg(long, value_name = "FILE")]
    output: Option<PathBuf>,
}

impl NexmarkArgs {
    /// Parses and checks the arguments of query job `job`.
    pub(crate) fn parse(job: &str, args: &[String]) -> Result<Self, String> {
        let what = QUERIES.iter().find(|q| q.0 == job).map_or("", |q| q.1);
        let a: NexmarkArgs = parse_args(job, args, what)?;
        // Reject a bad configuration now, with the field named, rather than in every subtask.
        a.generator_config(1)?;
        if let Some(out) = &a.output {
            if out.is_dir() {
                return Err(format!("--output {}: is a directory", out.display()));
            }
        }
        Ok(a)
    }

    /// The connector's configuration for `generators` parallel generators (§11).
    fn generator_config(&self, generators: u32) -> Result<GeneratorConfig, String> {
        let nexmark = NexmarkConfig {
            num_events: self.events,
            num_event_generators: generators,
            first_event_rate: self.first_event_rate,
            person_proportion: self.person_proportion,
            auction_proportion: self.auction_proportion,
            bid_proportion: self.bid_proportion,
            avg_person_byte_size: self.person_avg_size,
            avg_auction_byte_size: self.auction_avg_size,
            avg_bid_byte_size: self.bid_avg_size,
            hot_auction_ratio: self.hot_ratio_auctions,
            hot_bidders_ratio: self.hot_ratio_bidders,
            hot_sellers_ratio: self.hot_ratio_sellers,
            num_in_flight_auctions: self.num_in_flight_auctions,
            num_active_people: self.num_active_people,
            out_of_order_group_size: self.out_of_order_group_size,
            stop_at_event: self.stop_at,
            max_emit_speed: self.max_emit_speed,
            ..NexmarkConfig::default()
        };
        GeneratorConfig::new(nexmark, self.base_time, self.seed).map_err(|e| e.to_string())
    }

    /// The generator of source subtask `subtask` of `parallelism`.
    fn generator(&self, subtask: u32, parallelism: u32) -> Result<Generator, String> {
        let parallelism = parallelism.max(1);
        let config = self.generator_config(parallelism)?;
        let mut splits = config.split(parallelism).map_err(|e| e.to_string())?;
        if subtask as usize >= splits.len() {
            return Err(format!("source subtask {subtask} of {parallelism}"));
        }
        Generator::new(splits.swap_remove(subtask as usize)).map_err(|e| e.to_string())
    }
}

/// Parses a query's arguments as `super::parse_args` does, with the query's own description
/// at the top of its `--help`.
fn parse_args(job: &str, args: &[String], what: &str) -> Result<NexmarkArgs, String> {
    let command = NexmarkArgs::command().about(what.to_string());
    command
        .try_get_matches_from(
            std::iter::once(format!("strom run {job}")).chain(args.iter().cloned()),
        )
        .and_then(|m| NexmarkArgs::from_arg_matches(&m))
        .map_err(|e| {
            let text = e.to_string();
            text.strip_prefix("error: ").unwrap_or(&text).to_string()
        })
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

/// The Nexmark events with event timestamps and watermarks (§12, §13.0).
pub(crate) fn source(env: &mut StreamEnv, args: &NexmarkArgs) -> DataStream<Event> {
    let a = args.clone();
    env.add_source("Nexmark Source", move |ctx| {
        match a.generator(ctx.subtask, ctx.parallelism) {
            Ok(generator) => Box::new(NexmarkSource {
                generator,
                next: None,
                follow_event_time: !a.max_emit_speed,
                started: None,
                batch_first_due_us: 0,
            }) as Box<dyn SourceReader<Event>>,
            Err(e) => Box::new(FailedSource(Some(e))),
        }
    })
    .assign_timestamps_and_watermarks(
        WatermarkStrategy::for_bounded_out_of_orderness(OUT_OF_ORDERNESS)
            .with_timestamp_assigner(|e: &Event, _| e.date_time()),
    )
}

/// One source subtask: its generator, emitting as fast as possible or following event time.
struct NexmarkSource {
    generator: Generator,
    /// The next event, drawn but not yet due (event-time following).
    next: Option<GeneratedEvent>,
    follow_event_time: bool,
    /// The first poll (event-time following): as an `Instant`, and in wall-clock
    /// nanoseconds for latency stamps.
    started: Option<(Instant, i64)>,
    /// When the oldest event of the last batch was due, in µs after the first poll.
    batch_first_due_us: i64,
}

impl NexmarkSource {
    /// When the first poll was.
    fn started(&mut self) -> Instant {
        self.started
            .get_or_insert_with(|| (Instant::now(), now_ns()))
            .0
    }

    /// Microseconds since the first poll.
    fn elapsed_us(&mut self) -> i64 {
        i64::try_from(self.started().elapsed().as_micros()).unwrap_or(i64::MAX)
    }
}

impl SourceReader<Event> for NexmarkSource {
    fn poll_batch(
        &mut self,
        out: &mut dyn Output<Event>,
        max: usize,
    ) -> TaskResult<(SourceStatus, usize)> {
        // Following event time, each event is due at its point on the timeline to the
        // microsecond (`wallclock_offset_us`): the events of one millisecond go out spread
        // over it, not in one burst as the Java source's whole-millisecond sleeps do.
        let now = if self.follow_event_time {
            self.elapsed_us()
        } else {
            i64::MAX
        };
        for n in 0..max {
            let Some(e) = self.next.take().or_else(|| self.generator.next()) else {
                return Ok((SourceStatus::Finished, n));
            };
            if e.wallclock_offset_us > now {
                self.next = Some(e);
                return Ok((SourceStatus::Pending, n));
            }
            if n == 0 {
                self.batch_first_due_us = e.wallclock_offset_us;
            }
            out.emit(e.event, Some(e.timestamp))?;
        }
        Ok((SourceStatus::More, max))
    }

    fn wait(&mut self) -> LocalFuture<'_, TaskResult> {
        let due = self.next.as_ref().map_or(0, |e| e.wallclock_offset_us);
        let wait = (self.started() + Duration::from_micros(due.max(0) as u64))
            .saturating_duration_since(Instant::now());
        Box::pin(async move {
            strom_runtime::slot::sleep(wait).await;
            Ok(())
        })
    }

    /// Following event time, an event is created when it falls due: the first poll plus
    /// its offset on the timeline. At full speed, when it is emitted (`None`).
    fn latency_stamp(&self) -> Option<i64> {
        let (_, started_ns) = self.started?;
        Some(started_ns.saturating_add(self.batch_first_due_us.saturating_mul(1_000)))
    }
}

/// A source subtask whose generator could not be built: fails the job with the reason.
struct FailedSource(Option<String>);

impl SourceReader<Event> for FailedSource {
    fn poll_batch(
        &mut self,
        _out: &mut dyn Output<Event>,
        _max: usize,
    ) -> TaskResult<(SourceStatus, usize)> {
        let reason = self.0.take().unwrap_or_default();
        Err(TaskError::new(
            format!("Nexmark generator: {reason}"),
            Retry::Never,
        ))
    }
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
    use strom_nexmark::{Auction, Bid, Event};
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
            extra: format!("b{t}"),
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
            extra: String::new(),
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
