//! Generator → key_by → rolling count per key → discard (or print the final counts).

use super::parse_args;
use std::sync::Arc;
use strom_runtime::api::StreamEnv;
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
        let counts = numbers
            .map(move |x| (x % keys, 1u64))
            .key_by(|(k, _): &(u64, u64)| *k)
            .reduce(|(k, a), (_, b)| (k, a + b));
        if a.print {
            counts.print_with(|(k, n): &(u64, u64)| format!("{k}\t{n}"));
        } else {
            counts.discard();
        }
        Ok(())
    }))
}
