//! Generator → key_by → rolling count per key → discard (or print the counts).
//!
//! The same job as the `keyed_count` workload of `strom_bench core` and its timely peer: only
//! the `u64` key crosses the exchange, and the keyed operator emits `(key, count)` after every
//! record. `strom_bench keyed-net` runs it across two TaskManager processes.

use super::parse_args;
use std::sync::Arc;
use strom_runtime::api::{AggregateFunction, StreamEnv};
use strom_runtime::cluster::JobBuilder;

#[derive(clap::Parser)]
struct Args {
    /// Records to generate.
    #[arg(long, default_value_t = 10_000_000)]
    records: u64,
    /// Distinct keys.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..))]
    keys: u64,
    /// Print `key<TAB>count` for every update instead of discarding.
    #[arg(long)]
    print: bool,
    /// Emit this many records per second (all subtasks together), each at its point on the
    /// schedule; without it, as fast as possible. With `-D metrics.latency.interval=1`, the
    /// latency through one keyed exchange at that rate.
    #[arg(long)]
    rate: Option<f64>,
}

pub(crate) fn make(args: &[String]) -> Result<JobBuilder, String> {
    let a: Args = parse_args("keyed-count", args)?;
    if matches!(a.rate, Some(r) if !(r > 0.0 && r.is_finite())) {
        return Err("--rate must be a positive number of records per second".into());
    }
    Ok(Arc::new(move |env: &mut StreamEnv| {
        let keys = a.keys;
        let numbers = match a.rate {
            Some(rate) => env.from_generator(a.records, Some(rate), |i| i),
            None => env.from_sequence(0, a.records),
        };
        // `keys` is not a constant, so the key is computed once (a division), not per use.
        let counts = numbers
            .map(move |x| x % keys)
            .key_by(|k: &u64| *k)
            .aggregate(RollingCount);
        if a.print {
            counts.print_with(|(k, n): &(u64, u64)| format!("{k}\t{n}"));
        } else {
            counts.discard();
        }
        Ok(())
    }))
}

/// A count per key emitting `(key, count)` after every record. The accumulator carries the
/// key because `AggregateFunction::get_result` does not receive it.
#[derive(Clone)]
struct RollingCount;

impl AggregateFunction<u64, (u64, u64), (u64, u64)> for RollingCount {
    fn create_accumulator(&self) -> (u64, u64) {
        (0, 0)
    }
    #[inline]
    fn add(&self, key: u64, (_, count): (u64, u64)) -> (u64, u64) {
        (key, count + 1)
    }
    #[inline]
    fn get_result(&self, acc: &(u64, u64)) -> (u64, u64) {
        *acc
    }
    fn merge(&self, a: (u64, u64), b: (u64, u64)) -> (u64, u64) {
        (a.0, a.1 + b.1)
    }
}
