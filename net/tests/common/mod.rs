//! Helpers for the transport tests: two TaskManager network environments on loopback,
//! a blocking producer and a blocking consumer.
#![allow(dead_code)]

use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};
use strom_net::frame::{Frame, FrameHeader, Limits, HEADER_LEN};
use strom_net::{
    BufferPool, ChannelMessage, Event, GateShared, InputGate, LocalChannel, NetConfig,
    NetworkEnvironment, PartitionId, RemoteInput,
};

pub const WAIT: Duration = Duration::from_secs(20);

pub fn config() -> NetConfig {
    NetConfig {
        buffer_size: 4096,
        network_buffers: 256,
        partition_request_timeout: Duration::from_millis(500),
        ..NetConfig::default()
    }
}

pub fn env(config: NetConfig) -> NetworkEnvironment {
    NetworkEnvironment::start("127.0.0.1:0".parse().unwrap(), config).expect("network environment")
}

/// Pushes `msg`, waiting while the channel's queue is full.
pub fn push(ch: &LocalChannel, mut msg: ChannelMessage) {
    let start = Instant::now();
    loop {
        match ch.try_push(msg) {
            Ok(()) => return,
            Err(m) => msg = m,
        }
        assert!(start.elapsed() < WAIT, "channel queue stayed full");
        std::thread::sleep(Duration::from_micros(50));
    }
}

/// A buffer of `ch`'s pool holding `bytes`, waiting for one to be free.
pub fn buffer(ch: &LocalChannel, bytes: &[u8]) -> strom_net::NetBuffer {
    let mut b = futures_lite::future::block_on(async {
        let start = Instant::now();
        loop {
            if let Some(b) = ch.pool().try_acquire() {
                return b;
            }
            assert!(
                start.elapsed() < WAIT,
                "no buffer came back to the producer's pool"
            );
            std::thread::sleep(Duration::from_micros(50));
        }
    });
    b.fill_from(bytes).expect("fits");
    b
}

/// Sends `n` numbered buffers of `size` bytes (each filled with its number) then `EndOfPartition`.
pub fn produce(ch: &LocalChannel, n: u32, size: usize) {
    for i in 0..n {
        let mut bytes = vec![(i % 251) as u8; size];
        bytes[..4].copy_from_slice(&i.to_le_bytes());
        push(ch, ChannelMessage::Buffer(buffer(ch, &bytes)));
    }
    push(ch, ChannelMessage::Event(Event::EndOfPartition));
}

/// A consumer gate over remote channels of `partition` subpartitions `subs` at `producer`.
pub struct Consumer {
    pub gate: InputGate,
    pub inputs: Vec<RemoteInput>,
    pub floating: BufferPool,
}

pub fn consumer(
    net: &NetworkEnvironment,
    producer: SocketAddr,
    partition: PartitionId,
    subs: &[u32],
) -> Consumer {
    let shared = GateShared::new(subs.len());
    let floating = net.floating_pool().expect("floating pool");
    let inputs: Vec<RemoteInput> = subs
        .iter()
        .enumerate()
        .map(|(i, s)| {
            net.request_subpartition(producer, partition, *s, &shared, i as u32, &floating)
                .expect("request")
        })
        .collect();
    let channels: Vec<Arc<LocalChannel>> = inputs.iter().map(|r| r.channel().clone()).collect();
    Consumer {
        gate: InputGate::new(shared, channels),
        inputs,
        floating,
    }
}

impl Consumer {
    /// The next message, waiting up to `WAIT`.
    pub fn next(&mut self) -> (usize, ChannelMessage) {
        self.next_within(WAIT).expect("a message within the wait")
    }

    pub fn next_within(&mut self, d: Duration) -> Option<(usize, ChannelMessage)> {
        let start = Instant::now();
        loop {
            if let Some(m) = self.gate.try_next() {
                return Some(m);
            }
            if start.elapsed() > d {
                return None;
            }
            std::thread::sleep(Duration::from_micros(20));
        }
    }
}

/// Waits until `f` holds.
pub fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < WAIT, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Asserts every buffer is back in `net`'s pool (after channels and inputs are dropped).
pub fn no_leak(net: &NetworkEnvironment) {
    eventually("all network buffers back in the pool", || {
        let s = net.pool_stats();
        s.available == s.capacity
    });
}

/// A hand-driven producer TaskManager (a raw socket speaking the wire format): accepts one connection and reads its requests.
pub struct FakeProducer {
    listener: TcpListener,
}

impl FakeProducer {
    pub fn new() -> Self {
        FakeProducer {
            listener: TcpListener::bind("127.0.0.1:0").unwrap(),
        }
    }

    pub fn addr(&self) -> std::net::SocketAddr {
        self.listener.local_addr().unwrap()
    }

    /// Accepts the consumer's connection and reads `n` partition requests: (receiver, credit).
    pub fn accept(&self, n: usize) -> (TcpStream, Vec<(u32, u32)>) {
        let (mut s, _) = self.listener.accept().unwrap();
        s.set_read_timeout(Some(WAIT)).unwrap();
        let mut reqs = Vec::new();
        while reqs.len() < n {
            match read_frame(&mut s) {
                Frame::PartitionRequest {
                    receiver, credit, ..
                } => reqs.push((receiver, credit)),
                other => panic!("expected a partition request, got {other:?}"),
            }
        }
        (s, reqs)
    }
}

/// Reads one whole frame (header and body) from `s`.
pub fn read_frame(s: &mut TcpStream) -> Frame {
    let mut h = [0u8; HEADER_LEN];
    s.read_exact(&mut h).unwrap();
    let f = Frame::from_header(&FrameHeader::decode(&h, &Limits::default()).unwrap()).unwrap();
    let mut body = vec![0; f.body_len()];
    s.read_exact(&mut body).unwrap();
    f
}

/// The bytes of a data frame carrying `body`.
pub fn data(receiver: u32, seq: u32, body: &[u8]) -> Vec<u8> {
    let mut v = Frame::Buffer {
        receiver,
        seq,
        backlog: 0,
        len: body.len() as u32,
    }
    .encode()
    .to_vec();
    v.extend_from_slice(body);
    v
}

/// A consumer environment with one channel of the fake producer: (environment, consumer,
/// the producer's socket, receiver id, initial credit).
pub fn one_channel(
    fake: &FakeProducer,
) -> (strom_net::NetworkEnvironment, Consumer, TcpStream, u32, u32) {
    let net = env(config());
    let c = consumer(&net, fake.addr(), PartitionId(1), &[0]);
    let (s, reqs) = fake.accept(1);
    let (receiver, credit) = reqs[0];
    (net, c, s, receiver, credit)
}
