//! Per-task counters, written by the task on its core and read by anyone (global handle).

use super::latency::{LatencyHistogram, LatencySummary};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

/// Counters of one subtask.
#[derive(Debug, Default)]
pub struct TaskMetrics {
    /// Records that entered the task (read from inputs, or emitted by its source).
    pub records_in: AtomicU64,
    /// Bytes of the buffers the task read from its input channels.
    pub bytes_in: AtomicU64,
    /// Records the task wrote to its output channels.
    pub records_out: AtomicU64,
    /// Records that reached the sinks of the task's chain (0 if it has none): what left
    /// the job here. Counted per batch on the slot and published with the other counters.
    pub sink_records: AtomicU64,
    /// Bytes the task handed to output channels.
    pub bytes_out: AtomicU64,
    /// Unpooled buffers the task's writers allocated: records that went out after a pool ran
    /// dry within one step, or that were larger than a pooled buffer.
    pub overflow_buffers: AtomicU64,
    /// Nanoseconds spent waiting for input.
    pub idle_ns: AtomicU64,
    /// Nanoseconds spent waiting for output buffers (back-pressure).
    pub backpressured_ns: AtomicU64,
    /// Nanoseconds the task existed.
    pub total_ns: AtomicU64,
    /// The task's current input watermark.
    pub watermark: AtomicI64,
    /// Latencies of the markers that reached the task's sink (if its chain ends in one).
    pub latency: LatencyHistogram,
}

/// A copy of a task's counters.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MetricsSnapshot {
    /// Records in.
    pub records_in: u64,
    /// Bytes in (0 for sources).
    #[serde(default)]
    pub bytes_in: u64,
    /// Records out (to output channels).
    pub records_out: u64,
    /// Records that reached the task's sinks.
    #[serde(default)]
    pub sink_records: u64,
    /// Bytes out.
    pub bytes_out: u64,
    /// Unpooled buffers allocated.
    pub overflow_buffers: u64,
    /// Idle nanoseconds.
    pub idle_ns: u64,
    /// Back-pressured nanoseconds.
    pub backpressured_ns: u64,
    /// Total nanoseconds.
    pub total_ns: u64,
    /// Latency markers recorded at the task's sink, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency: Option<LatencySummary>,
}

impl TaskMetrics {
    /// Reads the counters.
    pub fn snapshot(&self) -> MetricsSnapshot {
        let r = |a: &AtomicU64| a.load(Ordering::Relaxed);
        MetricsSnapshot {
            records_in: r(&self.records_in),
            bytes_in: r(&self.bytes_in),
            records_out: r(&self.records_out),
            sink_records: r(&self.sink_records),
            bytes_out: r(&self.bytes_out),
            overflow_buffers: r(&self.overflow_buffers),
            idle_ns: r(&self.idle_ns),
            backpressured_ns: r(&self.backpressured_ns),
            total_ns: r(&self.total_ns),
            latency: self.latency.summary(),
        }
    }
}

impl MetricsSnapshot {
    /// Nanoseconds spent processing (neither idle nor back-pressured).
    pub fn busy_ns(&self) -> u64 {
        self.total_ns
            .saturating_sub(self.idle_ns + self.backpressured_ns)
    }
}
