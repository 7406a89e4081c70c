//! Time: watermark strategies and timer queues.
//!
//! Event time advances with watermarks: a watermark `w` promises that no record with a
//! timestamp `<= w` follows (Flink's convention: a window `[s, e)` fires at watermark
//! `e - 1`). Across input channels, a task's watermark is the minimum over the channels that
//! are active and caught up; idle channels do not hold it back, and when all are idle the
//! largest watermark goes out ([`valve::WatermarkValve`]).

pub mod timers;
pub mod valve;
mod watermark;

pub use timers::TimerQueue;
pub(crate) use watermark::TimestampAssigner;
pub use watermark::{BoundedOutOfOrderness, WatermarkGenerator, WatermarkStrategy};
