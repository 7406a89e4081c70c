//! The two DataStream workloads of the Flink peer's `DataStreamBench.java`, record for record,
//! so that strom and Flink run the same job side by side (`bench/README.md`):
//!
//! - `ds-w1`: a bounded generator of `(id, k = mix(id) % 10000, v = id * 0.5)` → filter `k`
//!   even → map `(id, v * 2)` → discard. One chained task.
//! - `ds-w2`: `(k = mix(id) % 10000, 1)` with ingestion-time timestamps (the wall clock at
//!   the source, monotonous watermarks) → key by `k` → 1 s tumbling event-time windows →
//!   count (an aggregate function) → discard. Every record crosses the keyed exchange.

use super::parse_args;
use std::sync::Arc;
use std::time::Duration;
use strom_runtime::api::{AggregateFunction, StreamEnv, WatermarkStrategy};
use strom_runtime::cluster::JobBuilder;
use strom_runtime::operator::context::now_millis;
use strom_runtime::window::TumblingEventTimeWindows;

#[derive(clap::Parser)]
struct Args {
    /// Records to generate (split evenly over the source subtasks).
    #[arg(long, default_value_t = 100_000_000)]
    records: u64,
}

/// The Java workload's key mixer: splitmix64's finalizer, then `% 10000` (unsigned).
pub(crate) fn mix(id: u64) -> u32 {
    let mut x = id;
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58476d1ce4e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d049bb133111eb);
    x ^= x >> 31;
    (x % 10_000) as u32
}

pub(crate) fn make_w1(args: &[String]) -> Result<JobBuilder, String> {
    let a: Args = parse_args("ds-w1", args)?;
    Ok(Arc::new(move |env: &mut StreamEnv| {
        env.from_generator(a.records, None, |id| (id, mix(id), id as f64 * 0.5))
            .name("gen")
            .filter(|t: &(u64, u32, f64)| t.1 & 1 == 0)
            .map(|t| (t.0, t.2 * 2.0))
            .discard();
        Ok(())
    }))
}

/// Counts a window's records, whatever they are (Flink's `CountAgg`, SQL's `COUNT(*)`).
pub(crate) struct CountAgg<I>(std::marker::PhantomData<fn(I)>);

impl<I> CountAgg<I> {
    pub(crate) fn new() -> Self {
        CountAgg(std::marker::PhantomData)
    }
}

impl<I> Clone for CountAgg<I> {
    fn clone(&self) -> Self {
        Self::new()
    }
}

impl<I: 'static> AggregateFunction<I, u64, u64> for CountAgg<I> {
    fn create_accumulator(&self) -> u64 {
        0
    }
    fn add(&self, _: I, acc: u64) -> u64 {
        acc + 1
    }
    fn get_result(&self, acc: &u64) -> u64 {
        *acc
    }
    fn merge(&self, a: u64, b: u64) -> u64 {
        a + b
    }
}

pub(crate) fn make_w2(args: &[String]) -> Result<JobBuilder, String> {
    let a: Args = parse_args("ds-w2", args)?;
    Ok(Arc::new(move |env: &mut StreamEnv| {
        env.from_generator(a.records, None, |id| (mix(id), 1u64))
            .name("gen")
            .assign_timestamps_and_watermarks(
                WatermarkStrategy::for_monotonous_timestamps()
                    .with_timestamp_assigner(|_: &(u32, u64), _| now_millis()),
            )
            .key_by(|t: &(u32, u64)| t.0)
            .window(TumblingEventTimeWindows::of(Duration::from_secs(1)))
            .aggregate(CountAgg::new())
            .discard();
        Ok(())
    }))
}

#[cfg(test)]
mod tests {
    use super::mix;

    #[test]
    fn mix_matches_the_java_workload() {
        // DataStreamBench.mix run with OpenJDK 17 here (`java Mix.java`).
        let java = [
            (0u64, 0u32),
            (1, 8789),
            (2, 4730),
            (12345, 5873),
            (i64::MAX as u64, 1533),
        ];
        for (id, k) in java {
            assert_eq!(mix(id), k, "mix({id})");
        }
    }
}
