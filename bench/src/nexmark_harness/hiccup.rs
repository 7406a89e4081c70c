//! The machine's hiccups: how much of each slot CPU a spinning thread loses, and in what
//! pieces (jHiccup's measure, on the CPUs a latency run uses).
//!
//! One thread per CPU, pinned as the slots are, reads the monotonic clock in a loop for a
//! while; a step between two reads longer than [`RECORDED`] is time the thread did not run
//! (another thread, a kernel thread, an interrupt, or the host not running this vCPU: a guest
//! cannot tell the last from running). A p99 of 1 ms through an exchange is out of reach
//! whatever the engine when each CPU loses more than about 1% of its time in pieces longer
//! than that: every marker crossing the exchange depends on both CPUs. Measured before
//! each latency run, so a report says what the machine took during it.

use hdrhistogram::Histogram;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// Steps between clock reads shorter than this are the loop itself, not recorded.
pub const RECORDED: Duration = Duration::from_micros(20);
/// The pieces counted as lost time: the length of a latency target's margin.
pub const LOST: Duration = Duration::from_micros(500);

/// What one CPU lost over a measurement.
pub struct CpuHiccups {
    /// The CPU (index among the slots' CPUs).
    pub cpu: usize,
    /// Seconds measured.
    pub seconds: f64,
    /// Steps longer than [`RECORDED`], in µs.
    pub steps: Histogram<u64>,
    /// Time lost in steps of at least [`LOST`].
    pub lost: Duration,
}

impl CpuHiccups {
    /// The JSON record.
    pub fn to_json(&self) -> Value {
        let h = &self.steps;
        let over = |us: u64| h.count_between(us, h.max().max(us));
        json!({
            "cpu": self.cpu,
            "seconds": self.seconds,
            "steps_over_20us": h.len(),
            "steps_over_500us": over(500),
            "steps_over_1ms": over(1000),
            "lost_ms_in_steps_over_500us": self.lost.as_secs_f64() * 1e3,
            "lost_fraction_in_steps_over_500us": self.lost.as_secs_f64() / self.seconds.max(1e-9),
            "max_step_us": h.max(),
        })
    }

    /// One line for the console.
    pub fn line(&self) -> String {
        let h = &self.steps;
        format!(
            "CPU {}: lost {:.1} ms of {:.1} s ({:.2}%) in {} pieces of 0.5 ms or more, longest {:.2} ms",
            self.cpu,
            self.lost.as_secs_f64() * 1e3,
            self.seconds,
            100.0 * self.lost.as_secs_f64() / self.seconds.max(1e-9),
            h.count_between(500, h.max().max(500)),
            h.max() as f64 / 1e3
        )
    }
}

/// Spins one pinned thread on each of the first `cpus` CPUs for `length`, together.
pub fn measure(cpus: usize, length: Duration) -> Result<Vec<CpuHiccups>, String> {
    if cpus == 0 || length.is_zero() {
        return Err(format!(
            "hiccups: cpus ({cpus}) and length ({length:?}) must be positive"
        ));
    }
    let handles: Vec<_> = (0..cpus)
        .map(|cpu| {
            std::thread::Builder::new()
                .name(format!("hiccup-{cpu}"))
                .spawn(move || spin(cpu, length))
                .map_err(|e| format!("hiccups: cannot start a thread: {e}"))
        })
        .collect::<Result<_, _>>()?;
    handles
        .into_iter()
        .map(|h| {
            h.join()
                .map_err(|_| "hiccups: a thread panicked".to_string())?
        })
        .collect()
}

/// The accounting of one CPU's clock reads (per-thread).
struct Meter {
    steps: Histogram<u64>,
    lost: Duration,
    last: Instant,
}

impl Meter {
    fn new(start: Instant) -> Result<Self, String> {
        Ok(Meter {
            steps: Histogram::new_with_bounds(1, 60_000_000, 3)
                .map_err(|e| format!("hiccups: histogram: {e}"))?,
            lost: Duration::ZERO,
            last: start,
        })
    }

    /// The clock read `now`, after the previous one.
    fn observe(&mut self, now: Instant) {
        let step = now.saturating_duration_since(self.last);
        self.last = now;
        if step >= RECORDED {
            self.steps.saturating_record(step.as_micros() as u64);
            if step >= LOST {
                self.lost += step;
            }
        }
    }
}

fn spin(cpu: usize, length: Duration) -> Result<CpuHiccups, String> {
    super::floor::pin(cpu);
    let start = Instant::now();
    let mut m = Meter::new(start)?;
    loop {
        let now = Instant::now();
        m.observe(now);
        if now - start >= length {
            break;
        }
    }
    Ok(CpuHiccups {
        cpu,
        seconds: start.elapsed().as_secs_f64(),
        steps: m.steps,
        lost: m.lost,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_steps_count_as_lost_time_short_ones_do_not() {
        let t0 = Instant::now();
        let mut m = Meter::new(t0).unwrap();
        let us = Duration::from_micros;
        let mut t = t0;
        for step in [us(1), us(10), us(300), us(2000), us(5), us(700)] {
            t += step;
            m.observe(t);
        }
        assert_eq!(m.steps.len(), 3, "the 300 µs, 2 ms and 700 µs steps");
        assert_eq!(m.lost, us(2700));
        let r = CpuHiccups {
            cpu: 1,
            seconds: 0.5,
            steps: m.steps,
            lost: m.lost,
        };
        let j = r.to_json();
        assert_eq!(j["steps_over_500us"], 2);
        assert_eq!(j["steps_over_1ms"], 1);
        assert!((j["lost_fraction_in_steps_over_500us"].as_f64().unwrap() - 0.0054).abs() < 1e-9);
        assert!(r.line().contains("lost 2.7 ms"), "{}", r.line());
    }

    #[test]
    fn a_short_measurement_runs_on_each_cpu_and_bad_settings_are_refused() {
        let _cpus = crate::nexmark_harness::pinned_threads();
        let r = measure(2, Duration::from_millis(30)).unwrap();
        assert_eq!(r.iter().map(|c| c.cpu).collect::<Vec<_>>(), vec![0, 1]);
        assert!(r.iter().all(|c| c.seconds >= 0.03));
        assert!(measure(0, Duration::from_millis(1)).is_err());
        assert!(measure(1, Duration::ZERO).is_err());
    }
}
