//! The Flink peer's SQL workloads W1 and W2 (`shared/peers/flink/scripts/bench.py`), written
//! with the DataStream API (strom has no SQL layer), so that the side-by-side script can set
//! strom against Flink SQL on the same computation:
//!
//! - `w1`: rows `(id, k, v, s)` of a generator (`k` in 0..10000, `s` a 16-character
//!   string, as the SQL `datagen` table) → `WHERE MOD(k, 2) = 0` → `SELECT id, v * 2, s` →
//!   discard (Flink's `blackhole`).
//! - `w2`: rows `(k, v)` with an ingestion timestamp (`CURRENT_TIMESTAMP`, watermark = the
//!   timestamp) → `TUMBLE(…, INTERVAL '1' SECOND)` → `GROUP BY k, window_start, window_end`
//!   with `COUNT(*)` → rows `(k, window_start, window_end, count)` → discard.
//!
//! `datagen` draws fields at random; here they come from a splitmix64 mix of the row id
//! (uniform over the same ranges, and repeatable).

use super::ds_bench::{mix, CountAgg};
use super::parse_args;
use std::sync::Arc;
use std::time::Duration;
use strom_runtime::api::{StreamEnv, WatermarkStrategy};
use strom_runtime::cluster::JobBuilder;
use strom_runtime::operator::context::now_millis;
use strom_runtime::operator::Millis;
use strom_runtime::window::{TumblingEventTimeWindows, WindowContext};

#[derive(clap::Parser)]
struct Args {
    /// Rows to generate (split evenly over the source subtasks).
    #[arg(long, default_value_t = 100_000_000)]
    records: u64,
}

/// A 16-character string drawn from the row id (the `datagen` column `s`, length 16).
fn string_of(id: u64) -> String {
    const ALPHABET: &[u8; 16] = b"abcdefghijklmnop";
    let mut x = (id ^ 0x9e37_79b9_7f4a_7c15).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    let mut s = String::with_capacity(16);
    for _ in 0..16 {
        s.push(ALPHABET[(x & 15) as usize] as char);
        x = x.rotate_right(4);
    }
    s
}

pub(crate) fn make_w1(args: &[String]) -> Result<JobBuilder, String> {
    let a: Args = parse_args("w1", args)?;
    Ok(Arc::new(move |env: &mut StreamEnv| {
        env.from_generator(a.records, None, |id| {
            (id as i64, mix(id) as i32, id as f64 * 0.5, string_of(id))
        })
        .name("datagen")
        .filter(|r: &(i64, i32, f64, String)| r.1 % 2 == 0)
        .map(|r| (r.0, r.2 * 2.0, r.3))
        .discard();
        Ok(())
    }))
}

/// `(k, window_start, window_end, COUNT(*))`.
type Row = (i32, Millis, Millis, u64);

pub(crate) fn make_w2(args: &[String]) -> Result<JobBuilder, String> {
    let a: Args = parse_args("w2", args)?;
    Ok(Arc::new(move |env: &mut StreamEnv| {
        env.from_generator(a.records, None, |id| (mix(id) as i32, id as f64 * 0.5))
            .name("datagen")
            .assign_timestamps_and_watermarks(
                WatermarkStrategy::for_monotonous_timestamps()
                    .with_timestamp_assigner(|_: &(i32, f64), _| now_millis()),
            )
            .key_by(|r: &(i32, f64)| r.0)
            .window(TumblingEventTimeWindows::of(Duration::from_secs(1)))
            .aggregate_with(
                CountAgg::new(),
                |k: &i32,
                 ctx: &WindowContext,
                 counts: &[u64],
                 out: &mut strom_runtime::operator::Collector<'_, Row>| {
                    let w = ctx.window();
                    for c in counts {
                        out.collect((*k, w.start, w.end, *c));
                    }
                    Ok(())
                },
            )
            .discard();
        Ok(())
    }))
}

#[cfg(test)]
mod tests {
    use super::string_of;

    #[test]
    fn strings_are_sixteen_characters_and_differ() {
        let (a, b) = (string_of(1), string_of(2));
        assert_eq!(a.len(), 16);
        assert_eq!(b.len(), 16);
        assert_ne!(a, b);
        assert_eq!(a, string_of(1), "repeatable");
    }
}
