//! Subtask metrics as Flink writes them: the IO block (`read-bytes`, ..., with `-complete`
//! flags and the accumulated busy / idle / back-pressured times), the time spent per
//! execution state (`status-duration`), and their min / max / avg / sum / percentiles over a
//! vertex's subtasks (`aggregated`).
//!
//! Invariants: a busy time that was not measured is `"NaN"` in an IO block (any unmeasured
//! subtask makes a vertex's sum `"NaN"`) and `-1` per subtask in the aggregates, as Flink does;
//! percentiles use Flink's estimator (Apache Commons Math's default), truncated to integers.

use super::common::Float;
use crate::view::{ExecutionState, SubtaskView, TaskMetricsView};
use serde::Serialize;
use std::collections::BTreeMap;

/// Flink's `IOMetricsInfo`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct IoMetrics {
    #[serde(rename = "read-bytes")]
    read_bytes: u64,
    #[serde(rename = "read-bytes-complete")]
    read_bytes_complete: bool,
    #[serde(rename = "write-bytes")]
    write_bytes: u64,
    #[serde(rename = "write-bytes-complete")]
    write_bytes_complete: bool,
    #[serde(rename = "read-records")]
    read_records: u64,
    #[serde(rename = "read-records-complete")]
    read_records_complete: bool,
    #[serde(rename = "write-records")]
    write_records: u64,
    #[serde(rename = "write-records-complete")]
    write_records_complete: bool,
    #[serde(rename = "accumulated-backpressured-time")]
    backpressured: u64,
    #[serde(rename = "accumulated-idle-time")]
    idle: u64,
    #[serde(rename = "accumulated-busy-time")]
    busy: Float,
}

impl IoMetrics {
    /// One subtask's counters.
    pub(crate) fn of(m: &TaskMetricsView) -> IoMetrics {
        IoMetrics {
            read_bytes: m.read_bytes,
            read_bytes_complete: true,
            write_bytes: m.write_bytes,
            write_bytes_complete: true,
            read_records: m.read_records,
            read_records_complete: true,
            write_records: m.write_records,
            write_records_complete: true,
            backpressured: m.backpressured_ms,
            idle: m.idle_ms,
            busy: Float::or_nan(m.busy_ms.map(|b| b as f64)),
        }
    }

    /// The sum over subtasks (a vertex's line in the job details).
    pub(crate) fn sum(subtasks: &[SubtaskView]) -> IoMetrics {
        let mut total = IoMetrics::of(&TaskMetricsView {
            busy_ms: Some(0),
            ..TaskMetricsView::default()
        });
        for s in subtasks {
            let m = &s.metrics;
            total.read_bytes = total.read_bytes.saturating_add(m.read_bytes);
            total.write_bytes = total.write_bytes.saturating_add(m.write_bytes);
            total.read_records = total.read_records.saturating_add(m.read_records);
            total.write_records = total.write_records.saturating_add(m.write_records);
            total.backpressured = total.backpressured.saturating_add(m.backpressured_ms);
            total.idle = total.idle.saturating_add(m.idle_ms);
            total.busy = Float(total.busy.0 + m.busy_ms.map_or(f64::NAN, |b| b as f64));
        }
        total
    }
}

/// The states Flink reports a `status-duration` for, in its order.
const TIMED_STATES: [ExecutionState; 5] = [
    ExecutionState::Created,
    ExecutionState::Scheduled,
    ExecutionState::Deploying,
    ExecutionState::Initializing,
    ExecutionState::Running,
];

/// Milliseconds the subtask spent in each of the states before and including RUNNING: from
/// entering it to entering the next state (or `now` if it is still there); 0 if never entered.
pub(crate) fn status_durations(s: &SubtaskView, now: i64) -> BTreeMap<&'static str, i64> {
    let mut entered: Vec<(i64, ExecutionState)> = s
        .state_timestamps
        .iter()
        .map(|(st, ts)| (*ts, *st))
        .collect();
    entered.sort();
    TIMED_STATES
        .iter()
        .map(|state| {
            let d = match entered.iter().position(|(_, st)| st == state) {
                None => 0,
                Some(i) => {
                    let start = entered[i].0;
                    let end = match entered.get(i + 1) {
                        Some((next, _)) => *next,
                        None if s.end_time >= 0 && s.status != *state => s.end_time,
                        None => now,
                    };
                    (end - start).max(0)
                }
            };
            (state.name(), d)
        })
        .collect()
}

/// Flink's `StatsSummaryDto`: statistics of one value over a vertex's subtasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) struct Stats {
    min: i64,
    max: i64,
    avg: i64,
    sum: i64,
    median: i64,
    p25: i64,
    p75: i64,
    p95: i64,
}

impl Stats {
    /// Statistics of `values` (all zero for none).
    pub(crate) fn of(mut values: Vec<i64>) -> Stats {
        values.sort_unstable();
        let n = values.len();
        if n == 0 {
            return Stats {
                min: 0,
                max: 0,
                avg: 0,
                sum: 0,
                median: 0,
                p25: 0,
                p75: 0,
                p95: 0,
            };
        }
        let sum = values.iter().fold(0i64, |a, v| a.saturating_add(*v));
        Stats {
            min: values[0],
            max: values[n - 1],
            avg: sum / n as i64,
            sum,
            median: percentile(&values, 50.0),
            p25: percentile(&values, 25.0),
            p75: percentile(&values, 75.0),
            p95: percentile(&values, 95.0),
        }
    }
}

/// Commons Math's default percentile estimate of sorted, non-empty `v`, truncated.
fn percentile(v: &[i64], p: f64) -> i64 {
    let n = v.len();
    let pos = p * (n as f64 + 1.0) / 100.0;
    if pos < 1.0 {
        return v[0];
    }
    if pos >= n as f64 {
        return v[n - 1];
    }
    let lower = v[pos.floor() as usize - 1] as f64;
    let upper = v[pos.floor() as usize] as f64;
    (lower + (pos - pos.floor()) * (upper - lower)) as i64
}

/// Flink's `AggregatedTaskDetailsInfo`: the `aggregated` block of a vertex's details.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Aggregated {
    metrics: BTreeMap<&'static str, Stats>,
    #[serde(rename = "status-duration")]
    status_duration: BTreeMap<&'static str, Stats>,
}

impl Aggregated {
    /// Aggregates over `subtasks`.
    pub(crate) fn of(subtasks: &[SubtaskView], now: i64) -> Aggregated {
        type Pick = fn(&TaskMetricsView) -> i64;
        let picks: [(&'static str, Pick); 7] = [
            ("read-bytes", |m| m.read_bytes as i64),
            ("write-bytes", |m| m.write_bytes as i64),
            ("read-records", |m| m.read_records as i64),
            ("write-records", |m| m.write_records as i64),
            ("accumulated-backpressured-time", |m| {
                m.backpressured_ms as i64
            }),
            ("accumulated-idle-time", |m| m.idle_ms as i64),
            ("accumulated-busy-time", |m| {
                m.busy_ms.map_or(-1, |b| b as i64)
            }),
        ];
        let metrics = picks
            .iter()
            .map(|(name, pick)| {
                let values = subtasks.iter().map(|s| pick(&s.metrics)).collect();
                (*name, Stats::of(values))
            })
            .collect();
        let durations: Vec<_> = subtasks.iter().map(|s| status_durations(s, now)).collect();
        let status_duration = TIMED_STATES
            .iter()
            .map(|state| {
                let values = durations.iter().map(|d| d[state.name()]).collect();
                (state.name(), Stats::of(values))
            })
            .collect();
        Aggregated {
            metrics,
            status_duration,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_match_flinks_sample() {
        // From GET_jobs_jobid_vertices_vertexid.json: write-records of two subtasks.
        let s = Stats::of(vec![6304, 6288]);
        assert_eq!(
            (s.min, s.max, s.avg, s.sum, s.median, s.p25, s.p75, s.p95),
            (6288, 6304, 6296, 12592, 6296, 6288, 6304, 6304)
        );
        // status-duration DEPLOYING: 36 and 35 -> median 35 (truncated), avg 35.
        let s = Stats::of(vec![36, 35]);
        assert_eq!((s.median, s.avg, s.sum), (35, 35, 71));
        // busy time unknown: -1 each.
        assert_eq!(Stats::of(vec![-1, -1]).sum, -2);
    }
}
