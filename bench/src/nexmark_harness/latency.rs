//! End-to-end latency at a fixed input rate: strom's latency markers
//! (`-D metrics.latency.interval`), read from the `--json` summary of the run.
//!
//! Each source subtask stamps a marker every interval with the creation time of the oldest
//! event of its last batch: for a paced Nexmark source, the event's point on the
//! generator's timeline (`first poll + trunc(n · delay_us)`), so time an event waited
//! before the source emitted it counts. Markers travel behind the records through the same
//! buffers, queues and network, and the sinks record `now − stamp` into an hdrhistogram
//! (µs, 3 significant digits). They are forwarded past windows at once, so for windowed
//! queries the figure is the path's latency, not the window's delay (as Flink's).
//!
//! For `keyed-count`, the harness also runs the [`floor`](super::floor) at the same rate:
//! the same shape on plain threads, whose latency is what this machine allows.
//!
//! The rate is either given (`--rate`) or a fraction (`--latency-at`, default ½) of the
//! maximum the same query reached in this invocation's throughput runs.

use super::child;
use serde_json::{json, Value};

/// The keys of `keyed-count` (its `--keys` default).
pub const KEYED_COUNT_KEYS: u64 = 10_000;

/// How a job takes its event count and a fixed rate.
pub fn job_args(job: &str, events: u64, rate: Option<u64>) -> Vec<String> {
    let mut v = vec![job_name(job)];
    if job == "keyed-count" {
        v.extend(["--records".into(), events.to_string()]);
        if let Some(r) = rate {
            v.extend(["--rate".into(), r.to_string()]);
        }
    } else {
        v.extend(["--events".into(), events.to_string()]);
        if let Some(r) = rate {
            v.extend([
                "--first-event-rate".into(),
                r.to_string(),
                "--max-emit-speed".into(),
                "false".into(),
            ]);
        }
    }
    v
}

/// `q5` → `nexmark-q5`; other jobs by their own name.
pub fn job_name(query: &str) -> String {
    if query.starts_with('q') {
        format!("nexmark-{query}")
    } else {
        query.to_string()
    }
}

/// What one latency run measured.
pub struct LatencyRun {
    /// Events per second asked for.
    pub rate: u64,
    /// Events the run was given.
    pub events: u64,
    /// strom's summary latency (`count`, `p50_us`, `p99_us`, `p999_us`, `max_us`).
    pub latency: Value,
    /// Events per second achieved (records in / job seconds).
    pub achieved: f64,
    /// The process's measurements.
    pub m: child::ChildRun,
    /// The floors at the same rate (`keyed-count` only): threads that block, that spin.
    pub floors: Vec<super::floor::FloorRun>,
    /// The floor's maximum rate, measured before [`Self::floors_at_equal_load`].
    pub floor_max: Option<f64>,
    /// The floors at the same fraction of the floor's maximum as this run's of strom's:
    /// threads that block, that spin.
    pub floors_at_equal_load: Vec<super::floor::FloorRun>,
    /// What the machine took from spinning threads on the slots' CPUs right before.
    pub hiccups_before: Vec<super::hiccup::CpuHiccups>,
    /// strom's maximum measured right before this run (`--latency-max-each-run`), which
    /// its rate is the fraction of.
    pub max_before: Option<f64>,
}

impl LatencyRun {
    /// From a finished child run at `rate`.
    pub fn new(rate: u64, events: u64, m: child::ChildRun) -> Result<Self, String> {
        let latency = m.summary["latency"].clone();
        if !latency.is_object() {
            return Err(format!(
                "the run at {rate} events/s reported no latency (summary: {})",
                m.summary
            ));
        }
        let secs = m.summary["seconds"].as_f64().unwrap_or(m.wall_seconds);
        let achieved = m.summary["records_in"].as_f64().unwrap_or(0.0) / secs.max(1e-9);
        Ok(LatencyRun {
            rate,
            events,
            latency,
            achieved,
            m,
            floors: Vec::new(),
            floor_max: None,
            floors_at_equal_load: Vec::new(),
            hiccups_before: Vec::new(),
            max_before: None,
        })
    }

    /// One quantile in µs.
    pub fn us(&self, key: &str) -> u64 {
        self.latency[key].as_u64().unwrap_or(0)
    }

    /// The JSON record.
    pub fn to_json(&self, max_rate: Option<f64>) -> Value {
        json!({
            "rate_events_per_second": self.rate,
            "fraction_of_max": max_rate.map(|m| self.rate as f64 / m),
            "events": self.events,
            "achieved_events_per_second": self.achieved,
            "markers": self.latency["count"],
            "p50_us": self.us("p50_us"),
            "p99_us": self.us("p99_us"),
            "p999_us": self.us("p999_us"),
            "max_us": self.us("max_us"),
            "cpu_seconds": self.m.cpu_seconds,
            "wall_seconds": self.m.wall_seconds,
            "peak_rss_bytes": self.m.peak_rss_bytes,
            "floors": self.floors.iter().map(|f| f.to_json()).collect::<Vec<_>>(),
            // strom's p99 over each floor's (in the order of `floors`).
            "p99_vs_floors": self.p99_over(&self.floors),
            "floor_max_records_per_second": self.floor_max,
            "floors_at_equal_load": self.floors_at_equal_load.iter().map(|f| f.to_json()).collect::<Vec<_>>(),
            "p99_vs_floors_at_equal_load": self.p99_over(&self.floors_at_equal_load),
            "hiccups_before": self.hiccups_before.iter().map(|h| h.to_json()).collect::<Vec<_>>(),
            "max_before_run_events_per_second": self.max_before,
        })
    }

    /// strom's p99 over each of `floors`'.
    fn p99_over(&self, floors: &[super::floor::FloorRun]) -> Vec<f64> {
        floors
            .iter()
            .map(|f| self.us("p99_us") as f64 / f.histogram.value_at_quantile(0.99).max(1) as f64)
            .collect()
    }

    /// One line for the console.
    pub fn line(&self) -> String {
        format!(
            "{:.3} M events/s (achieved {:.3} M): latency p50 {} µs, p99 {} µs, p99.9 {} µs, max {} µs ({} markers)",
            self.rate as f64 / 1e6,
            self.achieved / 1e6,
            self.us("p50_us"),
            self.us("p99_us"),
            self.us("p999_us"),
            self.us("max_us"),
            self.latency["count"]
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_take_their_own_rate_flags() {
        assert_eq!(
            job_args("q5", 10, Some(7)),
            [
                "nexmark-q5",
                "--events",
                "10",
                "--first-event-rate",
                "7",
                "--max-emit-speed",
                "false"
            ]
        );
        assert_eq!(
            job_args("keyed-count", 10, Some(7)),
            ["keyed-count", "--records", "10", "--rate", "7"]
        );
        assert_eq!(job_args("q0", 3, None), ["nexmark-q0", "--events", "3"]);
    }
}
