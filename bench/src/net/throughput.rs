//! Throughput: 32 KiB buffers through one channel and through N channels of the stack,
//! against a plain blocking `TcpStream` with 32 KiB writes, between the same two processes.
//!
//! The peer process produces, this process consumes. A rate is the bytes received after
//! the first read (or buffer) divided by the time from that read to the last one: the
//! steady state, without process start or connection set-up.

use super::cpu::CpuClock;
use super::peer::{self, Peer, PeerArgs, Role};
use super::{net_config, net_err, NetArgs, Waiter, BUFFER};
use crate::compare::median;
use serde_json::{json, Value};
use std::future::poll_fn;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};
use strom_net::{
    ChannelMessage, Event, GateShared, InputGate, LocalChannel, NetworkEnvironment, PartitionId,
};

/// The partition the throughput producer registers.
const PARTITION: PartitionId = PartitionId(0x7468_726f_7567_6870_7574);

/// The bytes every buffer and every baseline write carries.
fn pattern() -> Vec<u8> {
    (0..BUFFER).map(|i| (i % 251) as u8).collect()
}

/// What one sample measured.
#[derive(Clone, Copy, Debug)]
pub struct Sample {
    /// Bytes received in all.
    pub bytes: u64,
    /// Bytes received after the first read (the timed ones).
    pub timed_bytes: u64,
    /// From the first read to the last.
    pub seconds: f64,
    /// CPU seconds of both processes over the whole sample (start-up included).
    pub cpu_seconds: f64,
}

impl Sample {
    /// 10^9 bytes per second.
    pub fn gb_per_sec(&self) -> f64 {
        self.timed_bytes as f64 / self.seconds / 1e9
    }

    /// CPU time of both processes per GiB moved, in seconds.
    pub fn cpu_s_per_gib(&self) -> f64 {
        self.cpu_seconds / (self.bytes as f64 / (1u64 << 30) as f64)
    }
}

/// How bytes travel in a case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Path {
    /// A plain blocking `std::net` TCP stream (the baseline).
    Tcp,
    /// Through the network stack over `n` channels of one partition.
    Stack(u32),
}

impl Path {
    fn name(self) -> String {
        match self {
            Path::Tcp => "std_tcp".into(),
            Path::Stack(n) => format!("stack_{n}ch"),
        }
    }

    fn label(self) -> String {
        match self {
            Path::Tcp => "std::net TCP".into(),
            Path::Stack(1) => "stack, 1 channel".into(),
            Path::Stack(n) => format!("stack, {n} channels"),
        }
    }
}

/// Every sample of every case, in run order per case.
pub struct Report {
    /// Bytes per sample.
    pub bytes: u64,
    /// Cases; the first is the baseline.
    pub cases: Vec<(Path, Vec<Sample>)>,
}

/// Target of the stack's throughput relative to the baseline (from the issue).
pub const TARGET: f64 = 0.8;

fn rates(xs: &[Sample]) -> Vec<f64> {
    xs.iter().map(Sample::gb_per_sec).collect()
}

impl Report {
    fn baseline(&self) -> &[Sample] {
        self.cases.first().map_or(&[], |(_, s)| s)
    }

    /// Median rate of the stack case over the median of the baseline.
    fn ratio(&self, samples: &[Sample]) -> f64 {
        median(&rates(samples)) / median(&rates(self.baseline()))
    }

    /// Median CPU per GiB of the case over the baseline's (lower is better).
    fn cpu_ratio(&self, samples: &[Sample]) -> f64 {
        let cpu = |xs: &[Sample]| median(&xs.iter().map(Sample::cpu_s_per_gib).collect::<Vec<_>>());
        cpu(samples) / cpu(self.baseline())
    }

    /// stack / baseline of each repeat (the samples next to each other in time).
    fn pair_ratios(&self, samples: &[Sample]) -> Vec<f64> {
        samples
            .iter()
            .zip(self.baseline())
            .map(|(s, b)| s.gb_per_sec() / b.gb_per_sec())
            .collect()
    }

    /// The terminal table.
    pub fn table(&self) -> String {
        let mut out = format!(
            "throughput: {} MiB per sample, median of {} samples (GB = 10^9 bytes)\n",
            self.bytes >> 20,
            self.baseline().len()
        );
        out += &format!(
            "{:<22} {:>7}  {:>9}  {:>13}  {:>9}  {:>8}  target\n",
            "case", "GB/s", "vs std", "pairs min-max", "CPU s/GiB", "CPU x"
        );
        for (path, samples) in &self.cases {
            let gbs = median(&rates(samples));
            let cpu = median(
                &samples
                    .iter()
                    .map(Sample::cpu_s_per_gib)
                    .collect::<Vec<_>>(),
            );
            let cpu_x = self.cpu_ratio(samples);
            if *path == Path::Tcp {
                out += &format!(
                    "{:<22} {gbs:>7.3}  {:>9}  {:>13}  {cpu:>9.3}  {cpu_x:>7.2}x\n",
                    path.label(),
                    "1.00x",
                    ""
                );
                continue;
            }
            let r = self.ratio(samples);
            let pairs = self.pair_ratios(samples);
            let (lo, hi) = min_max(&pairs);
            let met = if r >= TARGET { "met" } else { "MISSED" };
            let pairs = format!("{lo:.2}-{hi:.2}x");
            out += &format!(
                "{:<22} {gbs:>7.3}  {r:>8.2}x  {pairs:>13}  {cpu:>9.3}  {cpu_x:>7.2}x  >= {TARGET:.2}x {met}\n",
                path.label(),
            );
        }
        out
    }

    /// The JSON section: every sample, medians, ratios, target.
    pub fn to_json(&self) -> Value {
        let cases: Vec<Value> = self
            .cases
            .iter()
            .map(|(path, samples)| {
                let mut v = json!({
                    "case": path.name(),
                    "channels": match path { Path::Tcp => None, Path::Stack(n) => Some(n) },
                    "median_gb_per_sec": median(&rates(samples)),
                    "samples": samples.iter().map(|s| json!({
                        "bytes": s.bytes,
                        "timed_bytes": s.timed_bytes,
                        "seconds": s.seconds,
                        "gb_per_sec": s.gb_per_sec(),
                        "cpu_seconds": s.cpu_seconds,
                        "cpu_s_per_gib": s.cpu_s_per_gib(),
                    })).collect::<Vec<_>>(),
                    "median_cpu_s_per_gib": median(&samples.iter().map(Sample::cpu_s_per_gib).collect::<Vec<_>>()),
                    "cpu_ratio_over_std_tcp": self.cpu_ratio(samples),
                });
                if *path != Path::Tcp {
                    let r = self.ratio(samples);
                    v["ratio_over_std_tcp"] = json!(r);
                    v["pair_ratios"] = json!(self.pair_ratios(samples));
                    v["target_ratio"] = json!(TARGET);
                    v["target_met"] = json!(r >= TARGET);
                }
                v
            })
            .collect();
        json!({
            "bytes_per_sample": self.bytes,
            "buffer_bytes": BUFFER,
            "producer": "peer process: fills each 32 KiB buffer (or write buffer) by copying a pattern, pushes (writes) it",
            "consumer": "this process: counts bytes, drops buffers; rate from the first received byte to the last",
            "cpu": "user + system CPU seconds of both processes over the whole sample (getrusage of this process and of the reaped peer; start-up and set-up included), per GiB moved",
            "net_config": format!("{:?}", net_config(Duration::ZERO)),
            "order": "per repeat: std_tcp, stack_1ch, stack_Nch",
            "cases": cases,
        })
    }
}

fn min_max(xs: &[f64]) -> (f64, f64) {
    xs.iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| {
            (lo.min(x), hi.max(x))
        })
}

/// Runs the throughput cases, interleaved per repeat.
pub fn run(args: &NetArgs, log: &mut dyn FnMut(&str)) -> Result<Report, String> {
    let bytes = args.mib << 20;
    let paths = [Path::Tcp, Path::Stack(1), Path::Stack(args.channels)];
    let mut cases: Vec<(Path, Vec<Sample>)> = paths.iter().map(|p| (*p, Vec::new())).collect();
    // One short unmeasured round of each, to fault in binaries and page caches.
    for p in paths {
        sample(p, (bytes / 16).max(BUFFER as u64), args.timeout_secs)?;
    }
    for i in 0..args.repeats {
        let mut line = format!("  throughput {}/{}:", i + 1, args.repeats);
        for (path, samples) in &mut cases {
            let s = sample(*path, bytes, args.timeout_secs)?;
            line += &format!(" {} {:.3} GB/s", path.name(), s.gb_per_sec());
            samples.push(s);
        }
        log(&line);
    }
    Ok(Report { bytes, cases })
}

/// One sample over `path` with a fresh peer process.
pub fn sample(path: Path, bytes: u64, timeout_secs: u64) -> Result<Sample, String> {
    let deadline = Instant::now() + Duration::from_secs(timeout_secs);
    let (role, channels) = match path {
        Path::Tcp => (Role::TcpSend, 1),
        Path::Stack(n) => (Role::StackSend, n),
    };
    let peer_args = PeerArgs {
        role,
        bytes,
        channels,
        peer: None,
        busy_poll_us: 0,
        timeout_secs: timeout_secs + 5,
    };
    let cpu = CpuClock::now();
    let mut s = sample_on(path, bytes, &peer_args, deadline)
        .map_err(|e| format!("throughput {}: {e}", path.name()))?;
    s.cpu_seconds = cpu.since();
    if s.bytes != bytes {
        return Err(format!(
            "{}: received {} bytes, sent {bytes}",
            path.name(),
            s.bytes
        ));
    }
    Ok(s)
}

fn sample_on(
    path: Path,
    bytes: u64,
    peer_args: &PeerArgs,
    deadline: Instant,
) -> Result<Sample, String> {
    Ok(match path {
        Path::Tcp => {
            let mut peer = Peer::spawn(peer_args)?;
            let s = tcp_receive(&mut peer, bytes, deadline)?;
            peer.finish(deadline)?;
            s
        }
        Path::Stack(n) => {
            let net = NetworkEnvironment::start(local(), net_config(Duration::ZERO))
                .map_err(net_err("consumer network environment"))?;
            let mut peer = Peer::spawn(peer_args)?;
            let s = stack_receive(&net, &mut peer, n, bytes, deadline)?;
            peer.finish(deadline)?;
            s
        }
    })
}

fn local() -> std::net::SocketAddr {
    std::net::SocketAddr::from(([127, 0, 0, 1], 0))
}

/// Counts bytes as they arrive: the first arrival starts the clock.
struct Meter {
    first: Option<Instant>,
    last: Option<Instant>,
    bytes: u64,
    first_bytes: u64,
}

impl Meter {
    fn new() -> Meter {
        Meter {
            first: None,
            last: None,
            bytes: 0,
            first_bytes: 0,
        }
    }

    fn add(&mut self, n: usize) {
        let now = Instant::now();
        if self.first.is_none() {
            self.first = Some(now);
            self.first_bytes = n as u64;
        }
        self.last = Some(now);
        self.bytes += n as u64;
    }

    fn sample(&self) -> Result<Sample, String> {
        let (Some(a), Some(b)) = (self.first, self.last) else {
            return Err("nothing was received".into());
        };
        let seconds = (b - a).as_secs_f64();
        if seconds <= 0.0 {
            return Err("everything arrived at once: move more bytes (--mib)".into());
        }
        Ok(Sample {
            bytes: self.bytes,
            timed_bytes: self.bytes - self.first_bytes,
            seconds,
            cpu_seconds: 0.0,
        })
    }
}

fn remaining(deadline: Instant) -> Result<Duration, String> {
    let d = deadline.saturating_duration_since(Instant::now());
    if d.is_zero() {
        return Err("the sample ran out of time (--timeout-secs)".into());
    }
    Ok(d)
}

/// Baseline consumer: reads the peer's stream to its end in 32 KiB reads.
fn tcp_receive(peer: &mut Peer, bytes: u64, deadline: Instant) -> Result<Sample, String> {
    let addr = peer.ready(deadline)?;
    let mut s = TcpStream::connect_timeout(&addr, remaining(deadline)?)
        .map_err(|e| format!("cannot connect to the peer at {addr}: {e}"))?;
    s.set_read_timeout(Some(remaining(deadline)?))
        .map_err(|e| format!("socket: {e}"))?;
    let mut buf = vec![0u8; BUFFER];
    let mut m = Meter::new();
    loop {
        let n = match s.read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(format!("reading from the peer: {e}")),
        };
        if n == 0 {
            break;
        }
        m.add(n);
        if m.bytes > bytes {
            return Err(format!("the peer sent more than {bytes} bytes"));
        }
    }
    m.sample()
}

/// Baseline producer (peer process): writes `args.bytes` in 32 KiB writes, then closes.
pub(super) fn tcp_send(args: &PeerArgs, deadline: Instant) -> Result<(), String> {
    let listener = TcpListener::bind(local()).map_err(|e| format!("cannot listen: {e}"))?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("listener: {e}"))?;
    peer::say(&format!("READY {addr}"))?;
    let (mut s, _) = listener
        .accept()
        .map_err(|e| format!("cannot accept: {e}"))?;
    s.set_write_timeout(Some(remaining(deadline)?))
        .map_err(|e| format!("socket: {e}"))?;
    let pattern = pattern();
    let mut buf = vec![0u8; BUFFER];
    let mut left = args.bytes;
    while left > 0 {
        let n = (left as usize).min(BUFFER);
        buf[..n].copy_from_slice(&pattern[..n]);
        s.write_all(&buf[..n])
            .map_err(|e| format!("writing to the benchmark: {e}"))?;
        left -= n as u64;
    }
    s.shutdown(Shutdown::Write)
        .map_err(|e| format!("closing the stream: {e}"))?;
    Ok(())
}

/// Stack consumer: requests every subpartition into one gate and counts until every
/// channel has ended.
fn stack_receive(
    net: &NetworkEnvironment,
    peer: &mut Peer,
    channels: u32,
    bytes: u64,
    deadline: Instant,
) -> Result<Sample, String> {
    let addr = peer.ready(deadline)?;
    let shared = GateShared::new(channels as usize);
    let floating = net
        .floating_pool()
        .map_err(net_err("floating buffer pool"))?;
    let inputs = (0..channels)
        .map(|i| net.request_subpartition(addr, PARTITION, i, &shared, i, &floating))
        .collect::<Result<Vec<_>, _>>()
        .map_err(net_err("requesting the producer's subpartitions"))?;
    let mut gate = InputGate::new(shared, inputs.iter().map(|r| r.channel().clone()).collect());
    let waiter = Waiter::new();
    let mut m = Meter::new();
    let mut ended = 0;
    // Per channel: buffers received and whether it ended (for the error of a stuck run).
    let mut seen = vec![(0u64, false); channels as usize];
    while ended < channels {
        let (ch, msg) = waiter
            .wait(gate.next(), deadline, "data from the producer")
            .map_err(|e| {
                let stuck: Vec<String> = seen
                    .iter()
                    .enumerate()
                    .filter(|(_, (_, end))| !end)
                    .map(|(i, (n, _))| format!("{i}:{n}"))
                    .collect();
                format!(
                    "{e} ({} of {bytes} bytes; channels not ended, with buffers received: {}; \
                     consumer pool {:?})",
                    m.bytes,
                    stuck.join(" "),
                    net.pool_stats()
                )
            })?;
        if let Some(s) = seen.get_mut(ch) {
            s.0 += 1;
            s.1 |= matches!(msg, ChannelMessage::Event(Event::EndOfPartition));
        }
        match msg {
            ChannelMessage::Received(b) => {
                m.add(b.len());
                if m.bytes > bytes {
                    return Err(format!("the producer sent more than {bytes} bytes"));
                }
            }
            ChannelMessage::Event(Event::EndOfPartition) => ended += 1,
            ChannelMessage::Failed(e) => return Err(format!("channel {ch} failed: {e}")),
            other => return Err(format!("channel {ch}: unexpected {other:?}")),
        }
    }
    m.sample()
}

/// Stack producer (peer process): pushes `args.bytes` in full 32 KiB buffers round-robin
/// over the subpartitions that have a free buffer, then ends every subpartition. Returns
/// the environment, which must live until the consumer has everything.
pub(super) fn stack_send(args: &PeerArgs, deadline: Instant) -> Result<NetworkEnvironment, String> {
    let net = NetworkEnvironment::start(
        local(),
        net_config(Duration::from_micros(args.busy_poll_us)),
    )
    .map_err(net_err("producer network environment"))?;
    let channels = net
        .register_partition(PARTITION, args.channels.max(1))
        .map_err(net_err("registering the partition"))?;
    peer::say(&format!("READY {}", net.local_addr()))?;
    let pattern = pattern();
    let total = args.bytes.div_ceil(BUFFER as u64);
    let last_len = match (args.bytes % BUFFER as u64) as usize {
        0 => BUFFER,
        n => n,
    };
    let waiter = Waiter::new();
    let mut sent = 0u64;
    let mut next = 0usize;
    let n = channels.len();
    let pushing = poll_fn(|cx| {
        // Pending only after a whole round found no channel with a free buffer; every
        // pool polled in that round has the waker registered.
        let mut dry = 0;
        while sent < total {
            let ch = &channels[next];
            next = (next + 1) % n;
            match ch.pool().poll_acquire(cx) {
                Poll::Ready(mut b) => {
                    dry = 0;
                    sent += 1;
                    let len = if sent == total { last_len } else { BUFFER };
                    if let Err(cap) = b.fill_from(&pattern[..len]) {
                        return Poll::Ready(Err(format!("buffers hold {cap} bytes, not {len}")));
                    }
                    if let Err(e) = push(ch, ChannelMessage::Buffer(b)) {
                        return Poll::Ready(Err(e));
                    }
                }
                Poll::Pending => {
                    dry += 1;
                    if dry >= n {
                        return Poll::Pending;
                    }
                }
            }
        }
        Poll::Ready(Ok(()))
    });
    waiter.wait(pushing, deadline, "free buffers (credit)")??;
    for ch in &channels {
        push(ch, ChannelMessage::Event(Event::EndOfPartition))?;
    }
    Ok(net)
}

/// Pushes into a producer channel whose queue has room for all its pool's buffers and
/// some events, so a push fails only if the channel did.
fn push(ch: &Arc<LocalChannel>, msg: ChannelMessage) -> Result<(), String> {
    if let Some(e) = ch.failure() {
        return Err(format!("subpartition {} failed: {e}", ch.index()));
    }
    ch.try_push(msg)
        .map_err(|_| format!("subpartition {}'s queue is full", ch.index()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(gb_per_sec: f64) -> Sample {
        Sample {
            bytes: 2_000_000_000,
            timed_bytes: 1_000_000_000,
            seconds: 1.0 / gb_per_sec,
            cpu_seconds: 2.0 / gb_per_sec,
        }
    }

    #[test]
    fn ratios_and_json() {
        let r = Report {
            bytes: 1 << 30,
            cases: vec![
                (Path::Tcp, vec![s(2.0), s(1.0), s(2.0)]),
                (Path::Stack(1), vec![s(1.0), s(1.0), s(4.0)]),
            ],
        };
        let stack = &r.cases[1].1;
        assert!((r.ratio(stack) - 0.5).abs() < 1e-9);
        // CPU per GiB: baseline median 1 unit, stack median 2 units.
        assert!((r.cpu_ratio(stack) - 2.0).abs() < 1e-9);
        let pairs = r.pair_ratios(stack);
        assert_eq!(pairs.len(), 3);
        assert!((pairs[1] - 1.0).abs() < 1e-9 && (pairs[2] - 2.0).abs() < 1e-9);
        let v = r.to_json();
        assert_eq!(v["cases"][1]["case"], "stack_1ch");
        assert_eq!(v["cases"][1]["target_met"], false);
        assert_eq!(v["cases"][0]["samples"].as_array().map(Vec::len), Some(3));
        assert!(r.table().contains("MISSED"));
    }

    #[test]
    fn meter_times_from_the_first_arrival() {
        let mut m = Meter::new();
        assert!(m.sample().is_err());
        m.add(10);
        std::thread::sleep(Duration::from_millis(2));
        m.add(30);
        let s = m.sample().expect("two arrivals");
        assert_eq!((s.bytes, s.timed_bytes), (40, 30));
        assert!(s.seconds > 0.0);
    }
}
