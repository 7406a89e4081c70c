//! Latency: a 64-byte ping-pong between the two processes, one message in flight.
//!
//! Through the stack every message is one buffer pushed at once (what buffer timeout 0
//! gives): this process acquires a buffer of its partition's subpartition, writes the
//! 64 bytes and pushes it; the peer receives it in its input channel, copies it into a
//! buffer of its own partition and pushes that back. A round trip is timed from before the
//! buffer is acquired until the echo is taken from the input gate. The network threads
//! either park at once (`busy_poll` 0, the default) or spin for `--busy-poll-us` first.
//!
//! Baseline: a blocking `TcpStream` with `TCP_NODELAY`, `write_all` 64 bytes and
//! `read_exact` 64 bytes per round trip, the peer echoing.

use super::peer::{self, Peer, PeerArgs, Role};
use super::{net_config, net_err, NetArgs, Waiter, MESSAGE};
use hdrhistogram::Histogram;
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};
use strom_net::{
    ChannelMessage, Event, GateShared, InputGate, LocalChannel, NetworkEnvironment, PartitionId,
    RemoteInput,
};

/// The benchmark's partition (pings) and the peer's (echoes).
const PING: PartitionId = PartitionId(0x7069_6e67);
const PONG: PartitionId = PartitionId(0x706f_6e67);

/// Target: the stack's p50 and p99 at most this many times the baseline's (the issue).
pub const TARGET: f64 = 2.0;

/// How the messages travel in a case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Path {
    /// Blocking `std::net` TCP (the baseline).
    Tcp,
    /// Through the stack; the network threads spin this long before parking.
    Stack(Duration),
}

impl Path {
    fn name(self) -> String {
        match self {
            Path::Tcp => "std_tcp".into(),
            Path::Stack(d) if d.is_zero() => "stack".into(),
            Path::Stack(d) => format!("stack_busy_poll_{}us", d.as_micros()),
        }
    }

    fn label(self) -> String {
        match self {
            Path::Tcp => "std::net TCP".into(),
            Path::Stack(d) if d.is_zero() => "stack (park)".into(),
            Path::Stack(d) => format!("stack, busy-poll {} us", d.as_micros()),
        }
    }
}

/// A new histogram of round trips in nanoseconds (1 ns to 1 hour, 3 significant digits).
fn histogram() -> Result<Histogram<u64>, String> {
    Histogram::new_with_bounds(1, 3_600_000_000_000, 3).map_err(|e| format!("histogram: {e}"))
}

/// Quantiles of a histogram of nanoseconds, in microseconds.
fn quantiles(h: &Histogram<u64>) -> Value {
    let us = |ns: u64| ns as f64 / 1e3;
    json!({
        "count": h.len(),
        "mean_us": h.mean() / 1e3,
        "min_us": us(h.min()),
        "p50_us": us(h.value_at_quantile(0.5)),
        "p90_us": us(h.value_at_quantile(0.9)),
        "p99_us": us(h.value_at_quantile(0.99)),
        "p99_9_us": us(h.value_at_quantile(0.999)),
        "max_us": us(h.max()),
    })
}

/// Every sample's histogram of every case.
pub struct Report {
    /// Measured round trips per sample.
    pub messages: u64,
    /// Unmeasured round trips before each sample.
    pub warmup: u64,
    /// Cases; the first is the baseline.
    pub cases: Vec<(Path, Vec<Histogram<u64>>)>,
}

/// All samples of a case in one histogram.
fn merged(samples: &[Histogram<u64>]) -> Histogram<u64> {
    let mut all = samples
        .first()
        .cloned()
        .unwrap_or_else(|| Histogram::new(3).expect("3 significant digits are valid"));
    for s in samples.iter().skip(1) {
        // Same bounds for all: adding cannot fail.
        let _ = all.add(s);
    }
    all
}

impl Report {
    fn baseline(&self) -> Histogram<u64> {
        merged(self.cases.first().map_or(&[], |(_, s)| s))
    }

    /// (p50, p99, p99.9) of `h` over the baseline's.
    fn ratios(&self, h: &Histogram<u64>) -> (f64, f64, f64) {
        let b = self.baseline();
        let r = |q: f64| h.value_at_quantile(q) as f64 / b.value_at_quantile(q) as f64;
        (r(0.5), r(0.99), r(0.999))
    }

    /// The terminal table.
    pub fn table(&self) -> String {
        let n = self.cases.first().map_or(0, |(_, s)| s.len());
        let mut out = format!(
            "latency: {}-byte ping-pong, {} samples x {} round trips per case, all round trips (us)\n",
            MESSAGE, n, self.messages
        );
        out += &format!(
            "{:<24} {:>7} {:>7} {:>8} {:>8}  {:>8} {:>8}  target p50,p99 <= {TARGET:.1}x\n",
            "case", "p50", "p99", "p99.9", "max", "p50 x", "p99 x"
        );
        for (path, samples) in &self.cases {
            let h = merged(samples);
            let us = |q: f64| h.value_at_quantile(q) as f64 / 1e3;
            let (r50, r99, _) = self.ratios(&h);
            let verdict = match path {
                Path::Tcp => String::new(),
                _ if r50 <= TARGET && r99 <= TARGET => "met".into(),
                _ => "MISSED".into(),
            };
            out += &format!(
                "{:<24} {:>7.1} {:>7.1} {:>8.1} {:>8.1}  {:>7.2}x {:>7.2}x  {verdict}\n",
                path.label(),
                us(0.5),
                us(0.99),
                us(0.999),
                h.max() as f64 / 1e3,
                r50,
                r99,
            );
        }
        out
    }

    /// The JSON section: quantiles of every sample and of all round trips, ratios, target.
    pub fn to_json(&self) -> Value {
        let cases: Vec<Value> = self
            .cases
            .iter()
            .map(|(path, samples)| {
                let all = merged(samples);
                let mut v = json!({
                    "case": path.name(),
                    "busy_poll_us": match path { Path::Tcp => None, Path::Stack(d) => Some(d.as_micros() as u64) },
                    "all": quantiles(&all),
                    "samples": samples.iter().map(quantiles).collect::<Vec<_>>(),
                });
                if *path != Path::Tcp {
                    let (r50, r99, r999) = self.ratios(&all);
                    v["ratio_over_std_tcp"] = json!({"p50": r50, "p99": r99, "p99_9": r999});
                    v["target_ratio_max"] = json!(TARGET);
                    v["target_met"] = json!(r50 <= TARGET && r99 <= TARGET);
                }
                v
            })
            .collect();
        json!({
            "message_bytes": MESSAGE,
            "messages_per_sample": self.messages,
            "warmup_messages_per_sample": self.warmup,
            "timing": "round trip in this process: from acquiring the buffer (writing, for TCP) to taking the echo from the gate (read_exact)",
            "stack": "one 64-byte message per buffer, pushed at once (buffer timeout 0); each process has a partition with one subpartition and an input channel of the other's",
            "net_config": format!("{:?}", net_config(Duration::ZERO)),
            "order": "per repeat: std_tcp, stack, stack_busy_poll",
            "quantiles": "'all' is every measured round trip of the case in one histogram; ratios are of 'all'",
            "cases": cases,
        })
    }
}

/// Runs the latency cases, interleaved per repeat.
pub fn run(args: &NetArgs, log: &mut dyn FnMut(&str)) -> Result<Report, String> {
    let paths = [
        Path::Tcp,
        Path::Stack(Duration::ZERO),
        Path::Stack(Duration::from_micros(args.busy_poll_us)),
    ];
    let mut cases: Vec<(Path, Vec<Histogram<u64>>)> =
        paths.iter().map(|p| (*p, Vec::new())).collect();
    for i in 0..args.repeats {
        let mut line = format!("  latency {}/{} p50/p99 us:", i + 1, args.repeats);
        for (path, samples) in &mut cases {
            let h = sample(
                *path,
                args.warmup_messages,
                args.messages,
                args.timeout_secs,
            )?;
            line += &format!(
                " {} {:.1}/{:.1}",
                path.name(),
                h.value_at_quantile(0.5) as f64 / 1e3,
                h.value_at_quantile(0.99) as f64 / 1e3
            );
            samples.push(h);
        }
        log(&line);
    }
    Ok(Report {
        messages: args.messages,
        warmup: args.warmup_messages,
        cases,
    })
}

/// One sample over `path` with a fresh peer process: `warmup` then `messages` timed round
/// trips.
pub fn sample(
    path: Path,
    warmup: u64,
    messages: u64,
    timeout_secs: u64,
) -> Result<Histogram<u64>, String> {
    let deadline = Instant::now() + Duration::from_secs(timeout_secs);
    let mut peer_args = PeerArgs {
        role: Role::TcpEcho,
        bytes: 0,
        channels: 1,
        peer: None,
        busy_poll_us: 0,
        timeout_secs: timeout_secs + 5,
    };
    let mut h = histogram()?;
    match path {
        Path::Tcp => {
            let mut peer = Peer::spawn(&peer_args)?;
            tcp_ping(&mut peer, warmup, messages, &mut h, deadline)?;
            peer.finish(deadline)?;
        }
        Path::Stack(busy_poll) => {
            let net = NetworkEnvironment::start(local(), net_config(busy_poll))
                .map_err(net_err("network environment"))?;
            let out = single(
                net.register_partition(PING, 1)
                    .map_err(net_err("registering the ping partition"))?,
            )?;
            peer_args.role = Role::StackEcho;
            peer_args.peer = Some(net.local_addr());
            peer_args.busy_poll_us = busy_poll.as_micros() as u64;
            let mut peer = Peer::spawn(&peer_args)?;
            let addr = peer.ready(deadline)?;
            let (input, mut gate) = input(&net, addr, PONG)?;
            stack_ping(&out, &mut gate, warmup, messages, &mut h, deadline)?;
            peer.finish(deadline)?;
            drop((gate, input));
        }
    }
    Ok(h)
}

fn local() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

fn single(mut channels: Vec<Arc<LocalChannel>>) -> Result<Arc<LocalChannel>, String> {
    channels
        .pop()
        .ok_or_else(|| "a partition of one subpartition has no channel".to_string())
}

/// An input gate over subpartition 0 of `partition` at `producer`.
fn input(
    net: &NetworkEnvironment,
    producer: SocketAddr,
    partition: PartitionId,
) -> Result<(RemoteInput, InputGate), String> {
    let shared = GateShared::new(1);
    let floating = net
        .floating_pool()
        .map_err(net_err("floating buffer pool"))?;
    let input = net
        .request_subpartition(producer, partition, 0, &shared, 0, &floating)
        .map_err(net_err("requesting the peer's subpartition"))?;
    let gate = InputGate::new(shared, vec![input.channel().clone()]);
    Ok((input, gate))
}

/// The message of round trip `i`: its number, then a pattern.
fn message(i: u64) -> [u8; MESSAGE] {
    let mut m = [0u8; MESSAGE];
    for (j, b) in m.iter_mut().enumerate() {
        *b = (j as u8).wrapping_mul(31).wrapping_add(i as u8);
    }
    m[..8].copy_from_slice(&i.to_le_bytes());
    m
}

fn record(h: &mut Histogram<u64>, d: Duration) {
    h.saturating_record((d.as_nanos() as u64).max(1));
}

fn push(ch: &LocalChannel, msg: ChannelMessage) -> Result<(), String> {
    if let Some(e) = ch.failure() {
        return Err(format!("the output channel failed: {e}"));
    }
    ch.try_push(msg)
        .map_err(|_| "the output channel's queue is full".to_string())
}

/// The stack's pinging side: one buffer out, wait for the echo, `warmup + messages` times;
/// then end the partition and wait for the peer's end.
fn stack_ping(
    out: &LocalChannel,
    gate: &mut InputGate,
    warmup: u64,
    messages: u64,
    h: &mut Histogram<u64>,
    deadline: Instant,
) -> Result<(), String> {
    let waiter = Waiter::new();
    for i in 0..warmup + messages {
        let m = message(i);
        let t0 = Instant::now();
        let mut b = waiter.wait(out.pool().acquire(), deadline, "a free buffer")?;
        b.fill_from(&m)
            .map_err(|cap| format!("a {cap}-byte buffer cannot hold a message"))?;
        push(out, ChannelMessage::Buffer(b))?;
        let (_, echo) = waiter.wait(gate.next(), deadline, "the echo")?;
        let rtt = t0.elapsed();
        match echo {
            ChannelMessage::Received(b) if b.as_slice() == m => {}
            ChannelMessage::Received(b) => {
                return Err(format!(
                    "echo {i} differs: {} bytes {:?}…",
                    b.len(),
                    &b.as_slice()[..b.len().min(8)]
                ))
            }
            ChannelMessage::Failed(e) => return Err(format!("the echo channel failed: {e}")),
            other => return Err(format!("unexpected {other:?} instead of echo {i}")),
        }
        if i >= warmup {
            record(h, rtt);
        }
    }
    push(out, ChannelMessage::Event(Event::EndOfPartition))?;
    match waiter.wait(gate.next(), deadline, "the peer's end of partition")? {
        (_, ChannelMessage::Event(Event::EndOfPartition)) => Ok(()),
        (_, other) => Err(format!("unexpected {other:?} instead of the peer's end")),
    }
}

/// The stack's echoing side (peer process): requests the benchmark's partition, echoes
/// every buffer into one of its own, ends its partition when the benchmark's ends. Returns
/// what must live until the benchmark has everything.
pub(super) fn stack_echo(
    args: &PeerArgs,
    deadline: Instant,
) -> Result<(NetworkEnvironment, RemoteInput, Arc<LocalChannel>), String> {
    let pinger = args
        .peer
        .ok_or("--peer (the benchmark's network address) is required")?;
    let net = NetworkEnvironment::start(
        local(),
        net_config(Duration::from_micros(args.busy_poll_us)),
    )
    .map_err(net_err("network environment"))?;
    let out = single(
        net.register_partition(PONG, 1)
            .map_err(net_err("registering the echo partition"))?,
    )?;
    let (input, mut gate) = input(&net, pinger, PING)?;
    peer::say(&format!("READY {}", net.local_addr()))?;
    let waiter = Waiter::new();
    loop {
        let (_, msg) = waiter.wait(gate.next(), deadline, "a ping")?;
        match msg {
            ChannelMessage::Received(ping) => {
                let mut b = waiter.wait(out.pool().acquire(), deadline, "a free buffer")?;
                b.fill_from(ping.as_slice())
                    .map_err(|cap| format!("a {cap}-byte buffer cannot hold the echo"))?;
                push(&out, ChannelMessage::Buffer(b))?;
                // The input buffer goes back after the output is flushed, as in a task.
                drop(ping);
            }
            ChannelMessage::Event(Event::EndOfPartition) => {
                push(&out, ChannelMessage::Event(Event::EndOfPartition))?;
                return Ok((net, input, out));
            }
            ChannelMessage::Failed(e) => return Err(format!("the ping channel failed: {e}")),
            other => return Err(format!("unexpected {other:?}")),
        }
    }
}

/// The baseline's pinging side.
fn tcp_ping(
    peer: &mut Peer,
    warmup: u64,
    messages: u64,
    h: &mut Histogram<u64>,
    deadline: Instant,
) -> Result<(), String> {
    let addr = peer.ready(deadline)?;
    let left = || deadline.saturating_duration_since(Instant::now());
    let mut s = TcpStream::connect_timeout(&addr, left())
        .map_err(|e| format!("cannot connect to the peer at {addr}: {e}"))?;
    s.set_nodelay(true)
        .and_then(|()| s.set_read_timeout(Some(left().max(Duration::from_millis(1)))))
        .map_err(|e| format!("socket: {e}"))?;
    let mut echo = [0u8; MESSAGE];
    for i in 0..warmup + messages {
        let m = message(i);
        let t0 = Instant::now();
        s.write_all(&m)
            .and_then(|()| s.read_exact(&mut echo))
            .map_err(|e| format!("ping {i}: {e}"))?;
        let rtt = t0.elapsed();
        if echo != m {
            return Err(format!("echo {i} differs"));
        }
        if i >= warmup {
            record(h, rtt);
        }
    }
    s.shutdown(Shutdown::Write)
        .map_err(|e| format!("closing the stream: {e}"))?;
    loop {
        return match s.read(&mut echo) {
            Ok(0) => Ok(()),
            Ok(_) => Err("the peer sent more than it was sent".into()),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => Err(format!("waiting for the peer's end: {e}")),
        };
    }
}

/// The baseline's echoing side (peer process): echoes 64-byte messages until the end.
pub(super) fn tcp_echo(deadline: Instant) -> Result<(), String> {
    let listener = TcpListener::bind(local()).map_err(|e| format!("cannot listen: {e}"))?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("listener: {e}"))?;
    peer::say(&format!("READY {addr}"))?;
    let (mut s, _) = listener
        .accept()
        .map_err(|e| format!("cannot accept: {e}"))?;
    let left = deadline
        .saturating_duration_since(Instant::now())
        .max(Duration::from_millis(1));
    s.set_nodelay(true)
        .and_then(|()| s.set_read_timeout(Some(left)))
        .map_err(|e| format!("socket: {e}"))?;
    let mut m = [0u8; MESSAGE];
    loop {
        // A clean end comes between messages.
        let mut got = 0;
        while got < MESSAGE {
            match s.read(&mut m[got..]) {
                Ok(0) if got == 0 => {
                    return s
                        .shutdown(Shutdown::Write)
                        .map_err(|e| format!("closing the stream: {e}"))
                }
                Ok(0) => return Err(format!("the stream ended inside a message ({got} bytes)")),
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(format!("reading a ping: {e}")),
            }
        }
        s.write_all(&m)
            .map_err(|e| format!("writing an echo: {e}"))?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(values_us: &[u64]) -> Histogram<u64> {
        let mut h = histogram().expect("valid bounds");
        for v in values_us {
            record(&mut h, Duration::from_micros(*v));
        }
        h
    }

    #[test]
    fn ratios_of_all_round_trips() {
        let r = Report {
            messages: 4,
            warmup: 0,
            cases: vec![
                (Path::Tcp, vec![h(&[10, 10]), h(&[10, 10])]),
                (
                    Path::Stack(Duration::ZERO),
                    vec![h(&[30, 30]), h(&[30, 30])],
                ),
                (
                    Path::Stack(Duration::from_micros(50)),
                    vec![h(&[15, 15]), h(&[15, 15])],
                ),
            ],
        };
        let (r50, r99, _) = r.ratios(&merged(&r.cases[1].1));
        assert!((r50 - 3.0).abs() < 0.01 && (r99 - 3.0).abs() < 0.01);
        let v = r.to_json();
        assert_eq!(v["cases"][1]["case"], "stack");
        assert_eq!(v["cases"][1]["target_met"], false);
        assert_eq!(v["cases"][2]["case"], "stack_busy_poll_50us");
        assert_eq!(v["cases"][2]["target_met"], true);
        assert_eq!(v["cases"][0]["all"]["count"], 4);
        assert!(r.table().contains("MISSED"));
    }

    #[test]
    fn messages_differ_per_round_trip() {
        assert_ne!(message(1), message(2));
        assert_eq!(message(7)[..8], 7u64.to_le_bytes());
    }
}
