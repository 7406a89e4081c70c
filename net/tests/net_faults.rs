//! Faults and bad input on the wire: every one fails only the channels or the connection
//! concerned, with an error that names it, and every buffer returns to its pool.

mod common;

use common::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;
use strom_net::frame::{Frame, FrameHeader, Limits, HEADER_LEN};
use strom_net::{ChannelError, ChannelMessage, ErrorKind, Event, PartitionId, RecordIter};

fn failed(c: &mut Consumer) -> (usize, ChannelError) {
    loop {
        match c.next() {
            (ch, ChannelMessage::Failed(e)) => return (ch, e),
            (_, ChannelMessage::Received(_)) | (_, ChannelMessage::Event(_)) => continue,
            (_, other) => panic!("unexpected {other:?}"),
        }
    }
}

#[test]
fn connection_level_garbage_fails_the_connection_with_the_reason() {
    type Corrupt = fn(u32) -> Vec<u8>;
    let cases: [(&str, Corrupt); 4] = [
        ("wrong magic", |r| {
            let mut v = data(r, 0, b"x");
            v[0] ^= 0xff;
            v
        }),
        ("unknown frame type", |r| {
            let mut v = data(r, 0, b"x");
            v[5] = 77;
            v
        }),
        ("exceeds the limit", |r| {
            let mut v = Frame::Buffer {
                receiver: r,
                seq: 0,
                backlog: 0,
                len: 1,
            }
            .encode()
            .to_vec();
            v[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
            v
        }),
        ("ended inside a frame", |r| {
            data(r, 0, b"hello")[..HEADER_LEN + 2].to_vec()
        }),
    ];
    for (want, corrupt) in cases {
        let fake = FakeProducer::new();
        let (net, mut c, mut s, receiver, _) = one_channel(&fake);
        s.write_all(&corrupt(receiver)).unwrap();
        if want == "ended inside a frame" {
            s.shutdown(std::net::Shutdown::Write).unwrap();
        }
        let (_, e) = failed(&mut c);
        assert!(e.message.contains(want), "{want}: got {e}");
        drop(c);
        drop(s);
        no_leak(&net);
        drop(net);
    }
}

#[test]
fn a_sequence_gap_fails_only_its_channel() {
    let fake = FakeProducer::new();
    let net = env(config());
    let mut c = consumer(&net, fake.addr(), PartitionId(1), &[0, 1]);
    let (mut s, reqs) = fake.accept(2);
    let (r0, r1) = (reqs[0].0, reqs[1].0);
    s.write_all(&data(r1, 5, b"gap")).unwrap();
    s.write_all(&data(r0, 0, b"fine")).unwrap();
    let mut saw_fine = false;
    let mut saw_gap = false;
    while !(saw_fine && saw_gap) {
        match c.next() {
            (0, ChannelMessage::Received(b)) => {
                assert_eq!(b.as_slice(), b"fine");
                saw_fine = true;
            }
            (1, ChannelMessage::Failed(e)) => {
                assert_eq!(e.kind, ErrorKind::Protocol);
                assert!(e.message.contains("sequence gap: expected 0, got 5"), "{e}");
                saw_gap = true;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    // The producer is told which channel broke.
    match read_frame(&mut s) {
        Frame::Error {
            receiver: Some(r),
            kind: ErrorKind::Protocol,
            ..
        } => assert_eq!(r, r1),
        other => panic!("expected an error frame, got {other:?}"),
    }
    // Channel 0 keeps working on the same connection.
    let mut end = Frame::Event {
        receiver: r0,
        seq: 1,
        backlog: 0,
        event: Event::EndOfPartition,
    }
    .encode()
    .to_vec();
    s.write_all(&data(r0, 1, b"still")).unwrap_or(());
    end[16..20].copy_from_slice(&2u32.to_le_bytes());
    s.write_all(&end).unwrap();
    assert!(matches!(c.next(), (0, ChannelMessage::Received(b)) if b.as_slice() == b"still"));
    assert!(matches!(
        c.next(),
        (0, ChannelMessage::Event(Event::EndOfPartition))
    ));
    drop(c);
    no_leak(&net);
}

#[test]
fn credit_overrun_fails_the_channel_after_the_credited_buffers() {
    let fake = FakeProducer::new();
    let (net, mut c, mut s, receiver, credit) = one_channel(&fake);
    assert_eq!(credit, config().buffers_per_channel as u32);
    let mut seq = 0;
    let mut granted = credit;
    for _ in 0..credit {
        s.write_all(&data(receiver, seq, &seq.to_le_bytes()))
            .unwrap();
        seq += 1;
    }
    // The consumer lends floating buffers as credit while the task does not read; collect
    // every announcement up to the exclusive and floating buffers (bounded: a stalled
    // consumer fails the read), then send one buffer more than was granted. Were more
    // granted, the overrun below would not be one and the test would fail there.
    let cfg = config();
    let total = (cfg.buffers_per_channel + cfg.floating_buffers_per_gate) as u32;
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut h = [0u8; HEADER_LEN];
    while granted < total {
        s.read_exact(&mut h)
            .unwrap_or_else(|e| panic!("credit {granted} of {total} after 10 s: {e}"));
        match Frame::from_header(&FrameHeader::decode(&h, &Limits::default()).unwrap()).unwrap() {
            Frame::AddCredit {
                receiver: r,
                credit,
            } if r == receiver => {
                for _ in 0..credit {
                    s.write_all(&data(receiver, seq, &seq.to_le_bytes()))
                        .unwrap();
                    seq += 1;
                }
                granted += credit;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(granted, total);
    // No credit beyond that.
    s.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    assert!(
        s.read_exact(&mut h).is_err(),
        "more credit than the exclusive and floating buffers"
    );
    s.write_all(&data(receiver, seq, b"one too many")).unwrap();
    // The task reads nothing until the network thread has taken in every credited buffer
    // and the extra one (bounded wait): a buffer the task reads goes back to the pool and is
    // credit again, so the extra frame, were it still unread, would no longer overrun.
    let until = std::time::Instant::now() + Duration::from_secs(10);
    while c.inputs[0].channel().queued_len() < granted as usize + 1
        && std::time::Instant::now() < until
    {
        std::thread::sleep(Duration::from_millis(5));
    }
    for want in 0..granted {
        match c.next().1 {
            ChannelMessage::Received(b) => assert_eq!(b.as_slice(), &want.to_le_bytes()),
            other => panic!("unexpected {other:?}"),
        }
    }
    let (_, e) = failed(&mut c);
    assert!(e.message.contains("credit overrun"), "{e}");
    drop(c);
    no_leak(&net);
}

#[test]
fn a_received_buffer_that_does_not_validate_is_an_error_not_a_crash() {
    let fake = FakeProducer::new();
    let (net, mut c, mut s, receiver, _) = one_channel(&fake);
    // A record frame claiming an archive longer than the buffer.
    let mut body = vec![0u8; 64];
    body[..4].copy_from_slice(&1000u32.to_le_bytes());
    s.write_all(&data(receiver, 0, &body)).unwrap();
    match c.next().1 {
        ChannelMessage::Received(b) => {
            let first = RecordIter::<String>::validated(b.as_slice())
                .next()
                .unwrap();
            let err = first.unwrap_err();
            assert!(err.to_string().contains("offset 0"), "{err}");
        }
        other => panic!("unexpected {other:?}"),
    }
    drop(c);
    no_leak(&net);
}

#[test]
fn a_producer_that_dies_fails_its_consumers_and_the_pool_recovers() {
    let producer = env(config());
    let net = env(config());
    let part = PartitionId(3);
    let ch = producer.register_partition(part, 1).unwrap().remove(0);
    let mut c = consumer(&net, producer.local_addr(), part, &[0]);
    push(&ch, ChannelMessage::Buffer(buffer(&ch, b"one")));
    assert!(matches!(c.next().1, ChannelMessage::Received(_)));
    drop(ch);
    drop(producer);
    let (_, e) = failed(&mut c);
    assert!(
        matches!(e.kind, ErrorKind::PeerLost | ErrorKind::Closed),
        "{e}"
    );
    assert!(e.retry || e.kind == ErrorKind::Closed);
    drop(c);
    no_leak(&net);
}

#[test]
fn a_consumer_that_dies_fails_the_producer_channel_which_never_blocks() {
    let producer = env(config());
    let net = env(config());
    let part = PartitionId(4);
    let ch = producer.register_partition(part, 1).unwrap().remove(0);
    let mut c = consumer(&net, producer.local_addr(), part, &[0]);
    push(&ch, ChannelMessage::Buffer(buffer(&ch, b"one")));
    assert!(matches!(c.next().1, ChannelMessage::Received(_)));
    drop(c);
    drop(net);
    eventually("the producer channel to fail", || ch.failure().is_some());
    // Writing on goes nowhere but never blocks: the pool keeps its buffers.
    for _ in 0..100 {
        push(&ch, ChannelMessage::Buffer(buffer(&ch, b"more")));
    }
    drop(ch);
    no_leak(&producer);
}

#[test]
fn unknown_partitions_and_subpartitions_are_reported() {
    let producer = env(config());
    let net = env(config());
    producer.register_partition(PartitionId(10), 2).unwrap();
    let mut c = consumer(&net, producer.local_addr(), PartitionId(11), &[0]);
    let (_, e) = failed(&mut c);
    assert_eq!(e.kind, ErrorKind::PartitionNotFound, "{e}");
    assert!(e.retry);
    let mut c2 = consumer(&net, producer.local_addr(), PartitionId(10), &[5]);
    let (_, e) = failed(&mut c2);
    assert!(
        e.message
            .contains("no subpartition 5 at this TaskManager (it serves [0, 1])"),
        "{e}"
    );
    let refused = consumer(&net, "127.0.0.1:1".parse().unwrap(), PartitionId(1), &[0]);
    let mut refused = refused;
    let (_, e) = failed(&mut refused);
    assert!(e.message.contains("cannot connect to 127.0.0.1:1"), "{e}");
    drop((c, c2, refused));
    producer.release_partition(PartitionId(10)).unwrap();
    no_leak(&net);
    no_leak(&producer);
}

#[test]
fn garbage_from_a_consumer_closes_only_its_connection() {
    let producer = env(config());
    let net = env(config());
    let part = PartitionId(20);
    let mut chans = producer.register_partition(part, 2).unwrap();
    let ch1 = chans.pop().unwrap();
    let ch0 = chans.pop().unwrap();
    // A well-behaved consumer on subpartition 0.
    let mut good = consumer(&net, producer.local_addr(), part, &[0]);
    // A rogue one: requests subpartition 1, then overflows its credit, then sends garbage.
    let mut rogue = TcpStream::connect(producer.local_addr()).unwrap();
    let req = Frame::PartitionRequest {
        receiver: 9,
        partition: part,
        subpartition: 1,
        credit: 1,
    };
    rogue.write_all(&req.encode()).unwrap();
    let add = Frame::AddCredit {
        receiver: 9,
        credit: u32::MAX,
    };
    rogue.write_all(&add.encode()).unwrap();
    eventually("credit overflow to fail subpartition 1", || {
        ch1.failure().is_some()
    });
    assert!(ch1.failure().unwrap().message.contains("credit overflow"));
    rogue
        .write_all(b"this is not a frame header at all, not at all")
        .unwrap();
    rogue.set_read_timeout(Some(WAIT)).unwrap();
    let mut rest = Vec::new();
    let _ = rogue.read_to_end(&mut rest); // the producer closes the rogue connection
    push(&ch0, ChannelMessage::Buffer(buffer(&ch0, b"ok")));
    push(&ch0, ChannelMessage::Event(Event::EndOfPartition));
    assert!(matches!(good.next().1, ChannelMessage::Received(b) if b.as_slice() == b"ok"));
    assert!(matches!(
        good.next().1,
        ChannelMessage::Event(Event::EndOfPartition)
    ));
    drop((good, ch0, ch1));
    no_leak(&net);
    no_leak(&producer);
}

#[test]
fn shutting_down_with_open_channels_returns_every_buffer() {
    let producer = env(config());
    let net = env(config());
    let part = PartitionId(30);
    let ch = producer.register_partition(part, 1).unwrap().remove(0);
    let mut c = consumer(&net, producer.local_addr(), part, &[0]);
    push(&ch, ChannelMessage::Buffer(buffer(&ch, b"x")));
    assert!(matches!(c.next().1, ChannelMessage::Received(_)));
    let _ = Duration::ZERO;
    drop(net);
    drop(c);
    drop(ch);
    no_leak(&producer);
}
