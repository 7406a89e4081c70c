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
}

pub(crate) fn make(args: &[String]) -> Result<JobBuilder, String> {
    let a: Args = parse_args("keyed-count", args)?;
    Ok(Arc::new(move |env: &mut StreamEnv| {
        let keys = a.keys;
        let counts = env
            .from_sequence(0, a.records)
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
