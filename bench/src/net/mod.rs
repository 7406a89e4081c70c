//! `strom_bench net`: the network stack (`strom-net`) between two real processes, against a
//! plain blocking `std::net` TCP stream between the same two processes in the same run.
//!
//! * Throughput ([`throughput`]): a producer in the peer process fills 32 KiB buffers and
//!   pushes them through one channel, or round-robin through 16 channels of one partition;
//!   the consumer in this process counts the bytes and drops the buffers. Baseline: the
//!   peer writes the same bytes in 32 KiB writes to a `TcpStream`, this process reads them.
//!   Rates run from the first received byte to the last (steady state, no set-up).
//! * Latency ([`latency`]): this process sends a 64-byte message, the peer echoes it, one
//!   message in flight, one buffer per message (what buffer timeout 0 gives). Through the
//!   stack each process has a partition and an input channel (A→B and B→A); the stack runs
//!   once with the network thread parking at once and once with `busy_poll`. Baseline: a
//!   blocking 64-byte `TcpStream` ping-pong (`TCP_NODELAY` on both ends).
//!
//! Each sample starts a fresh peer process ([`peer`]) and fresh network environments.
//! Samples are interleaved per repeat (baseline, stack, …) so that load from other work on
//! a shared machine hits both alike; throughput is reported as medians, latency as
//! quantiles of all measured round trips of a case (every sample's own quantiles are in the
//! JSON too). Tasks in both processes wait the way a task does: they park their thread
//! until a waker (buffer pool, gate) unparks it.

pub mod cpu;
pub mod latency;
pub mod peer;
pub mod throughput;

use serde_json::json;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

/// Size of every network buffer and of the baseline's writes.
pub const BUFFER: usize = 32 * 1024;
/// Size of a latency message.
pub const MESSAGE: usize = 64;

/// Arguments of `strom_bench net`.
#[derive(clap::Args, Clone, Debug)]
pub struct NetArgs {
    /// MiB moved per throughput sample (underscores allowed).
    #[arg(long, default_value = "1024", value_parser = parse_count)]
    pub mib: u64,
    /// Measured repeats of every case (interleaved: baseline, stack, …).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..))]
    pub repeats: u64,
    /// Measured round trips per latency sample (underscores allowed).
    #[arg(long, default_value = "20_000", value_parser = parse_count)]
    pub messages: u64,
    /// Unmeasured round trips before each latency sample.
    #[arg(long, default_value = "1_000", value_parser = parse_count)]
    pub warmup_messages: u64,
    /// Busy-poll time of the network threads in the latency mode, microseconds.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub busy_poll_us: u64,
    /// Channels of the multi-channel throughput case.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(2..=1024))]
    pub channels: u32,
    /// Run only throughput or only latency (default: both).
    #[arg(long, value_enum)]
    pub only: Option<Part>,
    /// Time limit of one sample (peer start to peer exit), seconds.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout_secs: u64,
    /// Write the JSON report here (directories are created).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Free text stored in the report as `note` (e.g. what the build contains).
    #[arg(long)]
    pub note: Option<String>,
}

/// One half of the benchmark.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Part {
    /// Throughput only.
    Throughput,
    /// Latency only.
    Latency,
}

/// A count: digits, optionally grouped with `_`, at least 1.
fn parse_count(s: &str) -> Result<u64, String> {
    let n: u64 = s
        .replace('_', "")
        .parse()
        .map_err(|e| format!("{s:?} is not a whole number: {e}"))?;
    if n == 0 {
        return Err("must be at least 1".into());
    }
    Ok(n)
}

/// Runs `strom_bench net`: prints the tables and writes (or prints) the JSON report.
pub fn run(args: &NetArgs) -> Result<(), String> {
    if args.mib > 1 << 20 {
        return Err(format!("--mib {} is more than 1 TiB", args.mib));
    }
    crate::report_file::prepare(args.out.as_deref())?;
    let run = crate::report_file::RunInfo::start();
    let tput = match args.only {
        Some(Part::Latency) => None,
        _ => Some(throughput::run(args, &mut |l| eprintln!("{l}"))?),
    };
    let lat = match args.only {
        Some(Part::Throughput) => None,
        _ => Some(latency::run(args, &mut |l| eprintln!("{l}"))?),
    };
    println!();
    if let Some(t) = &tput {
        println!("{}", t.table());
    }
    if let Some(l) = &lat {
        println!("{}", l.table());
    }
    let json = run.report(
        "net",
        args.note.as_deref(),
        json!({
        "allocator": "mimalloc (both processes)",
            "processes": "this process and one peer process per sample (current_exe net-peer), on 127.0.0.1",
            "repeats": args.repeats,
            "throughput": tput.as_ref().map(throughput::Report::to_json),
            "latency": lat.as_ref().map(latency::Report::to_json),
        }),
    );
    crate::report_file::write(args.out.as_deref(), &json)?;
    Ok(())
}

/// The network configuration of both processes: the stack's defaults, with `busy_poll`.
pub fn net_config(busy_poll: Duration) -> strom_net::NetConfig {
    strom_net::NetConfig {
        buffer_size: BUFFER,
        busy_poll,
        ..strom_net::NetConfig::default()
    }
}

/// Any error of the stack as the benchmark's error.
pub(crate) fn net_err(what: &str) -> impl Fn(strom_net::ChannelError) -> String + '_ {
    move |e| format!("{what}: {e}")
}

/// Waits the way a task on its own thread does: polls a future and parks the thread until
/// a waker unparks it. One per thread.
pub(crate) struct Waiter {
    waker: Waker,
}

struct Unpark(std::thread::Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

impl Waiter {
    /// A waiter for the calling thread.
    pub(crate) fn new() -> Waiter {
        Waiter {
            waker: Waker::from(Arc::new(Unpark(std::thread::current()))),
        }
    }

    /// Runs `fut` to completion, or fails naming `what` once `deadline` passes.
    pub(crate) fn wait<F: Future>(
        &self,
        fut: F,
        deadline: Instant,
        what: &str,
    ) -> Result<F::Output, String> {
        let mut cx = Context::from_waker(&self.waker);
        let mut fut = std::pin::pin!(fut);
        loop {
            if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
                return Ok(v);
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(format!("timed out waiting for {what}"));
            }
            std::thread::park_timeout(deadline - now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_parse() {
        assert_eq!(parse_count("10_000"), Ok(10_000));
        assert!(parse_count("0").is_err());
        assert!(parse_count("x").is_err());
    }

    #[test]
    fn waiter_times_out_and_completes() {
        let w = Waiter::new();
        let soon = Instant::now() + Duration::from_millis(20);
        assert!(w
            .wait(std::future::pending::<()>(), soon, "nothing")
            .is_err());
        let later = Instant::now() + Duration::from_secs(5);
        assert_eq!(w.wait(async { 7 }, later, "a value"), Ok(7));
    }
}
