//! Splitting one generator configuration into parallel ones (spec §11), as the Flink
//! connector's enumerator and readers do.
//!
//! Invariants of a split into `n`: the generators' blocks of event ids (`first_event_id` and
//! `max_events`) are contiguous, disjoint, in order, and together cover exactly the block of
//! the unsplit configuration; their `max_events` add up to the original. With in-order events
//! (`out_of_order_group_size` 1, the default) the event ids the generators produce are
//! therefore disjoint and their union is exactly the unsplit generator's. With larger groups
//! the shuffle works on event numbers, which all generators start at `first_event_number`,
//! so as in Java neighbouring generators can produce a few equal ids near block ends unless
//! the block length is a multiple of the group size. All generators share `base_time` and
//! `first_event_number`, so they run side by side in event time (the inter-event delay is
//! already scaled by `num_event_generators`). Generator `i` draws from RNG instance `2 + i`.

use crate::error::{check_range, ConfigError};
use crate::generator_config::GeneratorConfig;

/// Splits `config` into `n` generator configurations, one per parallel source subtask.
///
/// For `n = 1` this is the configuration itself. Otherwise, with `q = max_events / n`,
/// generator `i` gets `first_event_id + i·q` and `q` events, the last one the remainder. A
/// `stop_at_event` is divided the same way; `None` stays `None` for every split (the reader's
/// `reconfigure(global, true)` step, without Java's "stop at `-1 / n` = 0" trap).
/// `num_event_generators` is left as configured: set it to `n` so that together the
/// generators produce `first_event_rate` events per second of event time.
pub fn split(config: &GeneratorConfig, n: u32) -> Result<Vec<GeneratorConfig>, ConfigError> {
    config.validate()?;
    check_range("n (split count)", n, 1, i32::MAX as u32)?;
    if n == 1 {
        return Ok(vec![config.clone()]);
    }
    let n64 = u64::from(n);
    let sub_max = config.max_events / n64;
    let sub_stop = config.stop_at_event.map(|stop| stop / n64);
    let mut first_event_id = config.first_event_id;
    let mut splits = Vec::with_capacity(n as usize);
    for i in 0..n64 {
        let last = i == n64 - 1;
        let max_events = if last {
            config.max_events - sub_max * (n64 - 1)
        } else {
            sub_max
        };
        let stop_at_event = match (config.stop_at_event, sub_stop) {
            (Some(stop), Some(sub)) if last => Some(stop - sub * (n64 - 1)),
            (_, sub) => sub,
        };
        splits.push(GeneratorConfig {
            first_event_id,
            max_events,
            stop_at_event,
            stream_index: i,
            ..config.clone()
        });
        first_event_id += max_events;
    }
    Ok(splits)
}

impl GeneratorConfig {
    /// [`split`] as a method.
    pub fn split(&self, n: u32) -> Result<Vec<GeneratorConfig>, ConfigError> {
        split(self, n)
    }
}
