//! `strom_bench wake`: what one sleep/wake cycle of a slot costs, against a plain thread.
//!
//! A paced source, a consumer waiting for its next buffer and a flush timer all end the same
//! way: every task of the slot waits, the slot's executor parks, and something wakes it. On
//! bare metal that costs a few microseconds; in a virtual machine each park (HLT), timer
//! (the deadline MSR) and cross-CPU wake (an IPI) is a VM exit. This measures it: `threads`
//! slots (strom's `SlotPool`, each task sleeping `--sleep-us` on the slot's timer in a loop)
//! against as many plain threads doing `std::thread::sleep` for as long, alternately, and
//! reports per cycle the CPU time (getrusage of this process) and the wall time (the asked
//! sleep plus the wake-up's overshoot), and the ratio slot/thread of each.
//!
//! The figures bound what pacing can cost: a slot that wakes every `d` spends
//! `cpu per cycle / d` of its core on waking alone.

use crate::net::cpu::CpuClock;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, Instant};
use strom_runtime::slot::executor::{ExecutorKind, SlotPool, SlotSettings};

/// Arguments of `strom_bench wake`.
#[derive(clap::Args, Debug)]
pub struct WakeArgs {
    /// The sleep of one cycle, in microseconds.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub sleep_us: u64,
    /// How long each sample runs, in seconds.
    #[arg(long, default_value_t = 3.0)]
    pub seconds: f64,
    /// Comma-separated numbers of sleeping threads (slots) per sample.
    #[arg(long, value_delimiter = ',', default_value = "1,2")]
    pub threads: Vec<usize>,
    /// Samples per engine and thread count (alternating slot, thread, slot, …).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..))]
    pub repeats: u64,
    /// `taskmanager.slot.spin-before-park` of the slots, in microseconds (0: park at once).
    #[arg(long, default_value_t = 0)]
    pub spin_us: u64,
    /// The slots' executor (`taskmanager.slot.executor`): strom or glommio.
    #[arg(long, default_value = "strom", value_parser = ["strom", "glommio"])]
    pub executor: String,
    /// Write the JSON report here instead of stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// A note stored in the report.
    #[arg(long)]
    pub note: Option<String>,
}

/// One sample: cycles done by all threads, the CPU and wall seconds they took.
#[derive(Debug, Clone, Copy)]
struct Sample {
    cycles: u64,
    cpu_s: f64,
    wall_s: f64,
    threads: usize,
}

impl Sample {
    /// CPU microseconds per cycle.
    fn cpu_us(&self) -> f64 {
        self.cpu_s * 1e6 / self.cycles.max(1) as f64
    }
    /// Wall microseconds per cycle of one thread (the asked sleep plus the overshoot).
    fn period_us(&self) -> f64 {
        self.wall_s * 1e6 * self.threads as f64 / self.cycles.max(1) as f64
    }
    fn json(&self) -> Value {
        json!({"cycles": self.cycles, "cpu_seconds": self.cpu_s, "wall_seconds": self.wall_s,
               "cpu_us_per_cycle": self.cpu_us(), "period_us": self.period_us()})
    }
}

/// Plain threads sleeping `d` in a loop for `run`.
fn threads_sample(n: usize, d: Duration, run: Duration) -> Sample {
    let cpu = CpuClock::now();
    let t = Instant::now();
    let handles: Vec<_> = (0..n)
        .map(|_| {
            std::thread::spawn(move || {
                let start = Instant::now();
                let mut cycles = 0u64;
                while start.elapsed() < run {
                    std::thread::sleep(d);
                    cycles += 1;
                }
                cycles
            })
        })
        .collect();
    let cycles = handles.into_iter().map(|h| h.join().unwrap_or(0)).sum();
    Sample {
        cycles,
        cpu_s: cpu.since(),
        wall_s: t.elapsed().as_secs_f64(),
        threads: n,
    }
}

/// `n` slots, each running one task that sleeps `d` on the slot's timer in a loop for `run`.
fn slots_sample(
    n: usize,
    d: Duration,
    run: Duration,
    spin: Duration,
    executor: ExecutorKind,
) -> Result<Sample, String> {
    let settings = SlotSettings {
        slots: n,
        pin: false,
        io_memory: 1 << 20,
        spin_before_park: spin,
        executor,
        preempt_interval: Duration::from_millis(1),
    };
    let pool = SlotPool::start(&settings).map_err(|e| e.to_string())?;
    let (tx, rx) = mpsc::channel::<u64>();
    let cpu = CpuClock::now();
    let t = Instant::now();
    for slot in 0..n {
        let tx = tx.clone();
        let job: strom_runtime::slot::executor::SlotJob = Box::new(move || {
            strom_runtime::slot::spawn_local(async move {
                let start = Instant::now();
                let mut cycles = 0u64;
                while start.elapsed() < run {
                    strom_runtime::slot::sleep(d).await;
                    cycles += 1;
                }
                let _ = tx.send(cycles);
            })
        });
        pool.run_on(slot, job)
            .map_err(|_| format!("slot {slot} is gone"))?;
    }
    let mut cycles = 0;
    for _ in 0..n {
        cycles += rx
            .recv_timeout(run + Duration::from_secs(30))
            .map_err(|_| "a slot did not finish its sleeps".to_string())?;
    }
    let sample = Sample {
        cycles,
        cpu_s: cpu.since(),
        wall_s: t.elapsed().as_secs_f64(),
        threads: n,
    };
    drop(pool);
    Ok(sample)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Runs `strom_bench wake`.
pub fn run(args: &WakeArgs) -> Result<(), String> {
    if !(args.seconds > 0.0 && args.seconds <= 600.0) {
        return Err(format!(
            "--seconds must be in (0, 600], not {}",
            args.seconds
        ));
    }
    if args.threads.iter().any(|n| *n == 0 || *n > 64) {
        return Err(format!(
            "--threads must be 1..=64 each, not {:?}",
            args.threads
        ));
    }
    crate::report_file::prepare(args.out.as_deref())?;
    let info = crate::report_file::RunInfo::start();
    let d = Duration::from_micros(args.sleep_us);
    let run = Duration::from_secs_f64(args.seconds);
    let spin = Duration::from_micros(args.spin_us);
    let executor = match args.executor.as_str() {
        "glommio" => ExecutorKind::Glommio,
        _ => ExecutorKind::Strom,
    };
    println!(
        "sleep {} µs per cycle, {} s per sample, slots spin {} µs before parking",
        args.sleep_us, args.seconds, args.spin_us
    );
    println!(
        "threads  engine  cpu µs/cycle  period µs   (medians of {})",
        args.repeats
    );
    let mut cases = Vec::new();
    for &n in &args.threads {
        let (mut slot, mut thread) = (Vec::new(), Vec::new());
        for _ in 0..args.repeats {
            slot.push(slots_sample(n, d, run, spin, executor)?);
            thread.push(threads_sample(n, d, run));
        }
        let med = |s: &[Sample], f: fn(&Sample) -> f64| median(s.iter().map(f).collect());
        let (s_cpu, s_per) = (med(&slot, Sample::cpu_us), med(&slot, Sample::period_us));
        let (t_cpu, t_per) = (
            med(&thread, Sample::cpu_us),
            med(&thread, Sample::period_us),
        );
        println!("{n:>7}  slot    {s_cpu:>12.1}  {s_per:>9.1}");
        println!("{n:>7}  thread  {t_cpu:>12.1}  {t_per:>9.1}");
        println!(
            "{n:>7}  slot/thread: cpu {:.2}×, period {:.2}×",
            s_cpu / t_cpu,
            s_per / t_per
        );
        cases.push(json!({
            "threads": n,
            "slot": {"median_cpu_us_per_cycle": s_cpu, "median_period_us": s_per,
                     "samples": slot.iter().map(Sample::json).collect::<Vec<_>>()},
            "thread": {"median_cpu_us_per_cycle": t_cpu, "median_period_us": t_per,
                       "samples": thread.iter().map(Sample::json).collect::<Vec<_>>()},
            "ratio_cpu_slot_vs_thread": s_cpu / t_cpu,
            "ratio_period_slot_vs_thread": s_per / t_per,
        }));
    }
    let report = info.report(
        "wake",
        args.note.as_deref(),
        json!({
            "method": {
                "slot": "strom_runtime SlotPool (the executor named in `executor`, unpinned), one task per slot looping slot::sleep(sleep_us)",
                "thread": "std::thread::spawn, looping std::thread::sleep(sleep_us)",
                "cpu_us_per_cycle": "getrusage(RUSAGE_SELF) user+system over the sample / cycles of all threads (slot start-up included)",
                "period_us": "wall seconds × threads / cycles: the asked sleep plus the wake-up's overshoot",
            },
            "sleep_us": args.sleep_us,
            "seconds_per_sample": args.seconds,
            "spin_before_park_us": args.spin_us,
            "executor": args.executor,
            "repeats": args.repeats,
            "cases": cases,
        }),
    );
    crate::report_file::write(args.out.as_deref(), &report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_engines_sleep_and_count_cycles() {
        let d = Duration::from_micros(500);
        let run = Duration::from_millis(60);
        let s = slots_sample(1, d, run, Duration::ZERO, ExecutorKind::Strom).expect("slots start");
        let t = threads_sample(1, d, run);
        for x in [s, t] {
            // 60 ms of 0.5 ms sleeps: at most 120 cycles, and some even on a loaded machine.
            assert!(x.cycles > 0 && x.cycles <= 120, "{x:?}");
            assert!(
                x.period_us() >= 500.0,
                "a cycle cannot be shorter than its sleep: {x:?}"
            );
        }
    }
}
