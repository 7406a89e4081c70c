//! The arguments every Nexmark query takes: the generator's configuration (the Nexmark
//! connector's options, §3) and `--output`, parsed with clap; a query with arguments of its
//! own adds them with [`parse_args_with`].

use super::QUERIES;
use clap::{CommandFactory, FromArgMatches};
use std::path::PathBuf;
use strom_nexmark::{Generator, GeneratorConfig, NexmarkConfig};

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
    pub(super) events: u64,
    /// Overall events per second of event time (`first-event.rate`).
    #[arg(long, default_value_t = 10_000)]
    pub(super) first_event_rate: u32,
    /// Event time of the first event, epoch ms. (Flink takes the wall clock at planning; a
    /// fixed base keeps runs reproducible.)
    #[arg(long, default_value_t = 1_700_000_000_000)]
    pub(super) base_time: i64,
    /// The seed of the reproducible random streams (§7.4; 42 reproduces the test vectors).
    #[arg(long, default_value_t = strom_nexmark::DEFAULT_SEED)]
    pub(super) seed: u64,
    /// `person.proportion`.
    #[arg(long, default_value_t = 1)]
    pub(super) person_proportion: u32,
    /// `auction.proportion`.
    #[arg(long, default_value_t = 3)]
    pub(super) auction_proportion: u32,
    /// `bid.proportion`.
    #[arg(long, default_value_t = 46)]
    pub(super) bid_proportion: u32,
    /// `person.avg-size` in bytes.
    #[arg(long, default_value_t = 200)]
    pub(super) person_avg_size: u32,
    /// `auction.avg-size` in bytes.
    #[arg(long, default_value_t = 500)]
    pub(super) auction_avg_size: u32,
    /// `bid.avg-size` in bytes.
    #[arg(long, default_value_t = 100)]
    pub(super) bid_avg_size: u32,
    /// `bid.hot-ratio.auctions`: a bid targets a hot auction with probability 1 − 1/R.
    #[arg(long, default_value_t = 2)]
    pub(super) hot_ratio_auctions: u32,
    /// `bid.hot-ratio.bidders`: a bid comes from a hot bidder with probability 1 − 1/R.
    #[arg(long, default_value_t = 4)]
    pub(super) hot_ratio_bidders: u32,
    /// `auction.hot-ratio.sellers`: an auction has a hot seller with probability 1 − 1/R.
    #[arg(long, default_value_t = 4)]
    pub(super) hot_ratio_sellers: u32,
    /// Window of recent auctions that bids pick from (`numInFlightAuctions`).
    #[arg(long, default_value_t = 100)]
    pub(super) num_in_flight_auctions: u32,
    /// Window of recent people that sellers and bidders pick from (`numActivePeople`).
    #[arg(long, default_value_t = 1000)]
    pub(super) num_active_people: u32,
    /// Events are shuffled within groups of this size (`outOfOrderGroupSize`; 1 = in order).
    #[arg(long, default_value_t = 1)]
    pub(super) out_of_order_group_size: u32,
    /// Stop after this many events over all source subtasks (`stop-at`).
    #[arg(long)]
    pub(super) stop_at: Option<u64>,
    /// `max-emit-speed`: with `false` each source subtask follows event time in wall-clock
    /// time (its first event at once, the others at their event-time offset).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub(super) max_emit_speed: bool,
    /// Write the result rows as CSV to this one file (a sink of parallelism 1), one row per
    /// line, columns in the query's output order, timestamps as epoch milliseconds. Without
    /// it the rows are discarded.
    #[arg(long, value_name = "FILE")]
    pub(super) output: Option<PathBuf>,
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
    pub(super) fn generator_config(&self, generators: u32) -> Result<GeneratorConfig, String> {
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
    pub(super) fn generator(&self, subtask: u32, parallelism: u32) -> Result<Generator, String> {
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

/// Parses the arguments of query job `job`: the common ones (as `NexmarkArgs::parse`, with
/// the generator's configuration checked) and `extra`, whose values the matches hold.
/// `--output` is not checked here; `output` (if given) rewrites its argument.
pub(super) fn parse_args_with(
    job: &str,
    args: &[String],
    extra: impl IntoIterator<Item = clap::Arg>,
    output: Option<fn(clap::Arg) -> clap::Arg>,
) -> Result<(NexmarkArgs, clap::ArgMatches), String> {
    let what = QUERIES.iter().find(|q| q.0 == job).map_or("", |q| q.1);
    let mut command = NexmarkArgs::command().about(what.to_string()).args(extra);
    if let Some(output) = output {
        command = command.mut_arg("output", output);
    }
    let error = |e: clap::Error| {
        let text = e.to_string();
        text.strip_prefix("error: ").unwrap_or(&text).to_string()
    };
    let m = command
        .try_get_matches_from(
            std::iter::once(format!("strom run {job}")).chain(args.iter().cloned()),
        )
        .map_err(error)?;
    let a = NexmarkArgs::from_arg_matches(&m).map_err(error)?;
    // Reject a bad configuration now, with the field named, rather than in every subtask.
    a.generator_config(1)?;
    Ok((a, m))
}
