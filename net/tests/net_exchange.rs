//! Two TaskManager network environments on loopback exchanging data through many channels:
//! ordering per channel, exact counts, events, credit with a slow consumer, blocking
//! barriers, and no leaked buffer.

mod common;

use common::*;
use std::collections::HashMap;
use std::time::Duration;
use strom_net::{ChannelMessage, CheckpointBarrier, Event, PartitionId};

#[test]
fn sixteen_channels_deliver_everything_in_order() {
    let producer = env(config());
    let consumer_net = env(config());
    let part = PartitionId(0xfeed);
    let channels = producer.register_partition(part, 16).unwrap();
    let subs: Vec<u32> = (0..16).collect();
    let mut c = consumer(&consumer_net, producer.local_addr(), part, &subs);
    const N: u32 = 300;
    let threads: Vec<_> = channels
        .into_iter()
        .enumerate()
        .map(|(i, ch)| std::thread::spawn(move || produce(&ch, N + i as u32, 1000 + i * 100)))
        .collect();
    let mut next = HashMap::new();
    let mut ended = 0;
    while ended < 16 {
        let (ch, msg) = c.next();
        match msg {
            ChannelMessage::Received(b) => {
                let n = u32::from_le_bytes(b.as_slice()[..4].try_into().unwrap());
                let want = next.entry(ch).or_insert(0u32);
                assert_eq!(n, *want, "channel {ch} out of order");
                assert_eq!(b.len(), 1000 + ch * 100);
                *want += 1;
            }
            ChannelMessage::Event(Event::EndOfPartition) => ended += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    for ch in 0..16 {
        assert_eq!(next[&ch], N + ch as u32, "channel {ch} count");
    }
    for t in threads {
        t.join().unwrap();
    }
    drop(c);
    no_leak(&producer);
    no_leak(&consumer_net);
}

#[test]
fn a_slow_consumer_channel_does_not_stop_the_others() {
    let producer = env(config());
    let consumer_net = env(config());
    let part = PartitionId(7);
    let channels = producer.register_partition(part, 2).unwrap();
    // Channel 0 is never read; channel 1 must still deliver everything.
    let mut c0 = consumer(&consumer_net, producer.local_addr(), part, &[0]);
    let mut c1 = consumer(&consumer_net, producer.local_addr(), part, &[1]);
    let mut it = channels.into_iter();
    let (ch0, ch1) = (it.next().unwrap(), it.next().unwrap());
    let stuck = std::thread::spawn(move || {
        // Fills credit, floating buffers and the producer's cap, then blocks.
        for i in 0..1000u32 {
            let Some(b) = ch0.pool().try_acquire() else {
                return i;
            };
            let mut b = b;
            b.fill_from(&i.to_le_bytes()).unwrap();
            push(&ch0, ChannelMessage::Buffer(b));
            std::thread::sleep(Duration::from_millis(1));
        }
        1000
    });
    let fast = std::thread::spawn(move || produce(&ch1, 2000, 3000));
    let mut got = 0;
    loop {
        match c1.next().1 {
            ChannelMessage::Received(_) => got += 1,
            ChannelMessage::Event(Event::EndOfPartition) => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(got, 2000);
    fast.join().unwrap();
    let sent_before_block = stuck.join().unwrap();
    let cfg = config();
    // Memory is bounded by configuration: the stuck channel holds at most its cap at the
    // producer plus exclusive and floating buffers at the consumer.
    let bound =
        cfg.max_buffers_per_subpartition + cfg.buffers_per_channel + cfg.floating_buffers_per_gate;
    assert!(
        (sent_before_block as usize) <= bound,
        "{sent_before_block} buffers in flight on a stuck channel, bound {bound}"
    );
    // Now drain the slow channel: everything sent arrives, in order.
    for i in 0..sent_before_block {
        match c0.next().1 {
            ChannelMessage::Received(b) => assert_eq!(b.as_slice(), &i.to_le_bytes()),
            other => panic!("unexpected {other:?}"),
        }
    }
    drop((c0, c1));
    no_leak(&consumer_net);
    // Subpartition 0 never ended: releasing the partition gives its buffers back.
    producer.release_partition(part).unwrap();
    no_leak(&producer);
}

#[test]
fn an_aligned_barrier_blocks_its_subpartition_until_resumed() {
    let producer = env(config());
    let consumer_net = env(config());
    let part = PartitionId(99);
    let ch = producer.register_partition(part, 1).unwrap().remove(0);
    let mut c = consumer(&consumer_net, producer.local_addr(), part, &[0]);
    let barrier = CheckpointBarrier {
        id: 1,
        timestamp: 5,
        aligned: true,
    };
    push(&ch, ChannelMessage::Buffer(buffer(&ch, b"before")));
    push(&ch, ChannelMessage::Event(Event::Barrier(barrier)));
    push(&ch, ChannelMessage::Event(Event::Watermark(42)));
    push(&ch, ChannelMessage::Buffer(buffer(&ch, b"after")));
    match c.next().1 {
        ChannelMessage::Received(b) => assert_eq!(b.as_slice(), b"before"),
        other => panic!("unexpected {other:?}"),
    }
    assert!(matches!(c.next().1, ChannelMessage::Event(Event::Barrier(b)) if b == barrier));
    // Blocked: neither the event nor the data behind the barrier arrives.
    assert!(c.next_within(Duration::from_millis(200)).is_none());
    c.inputs[0].resume().unwrap();
    assert!(matches!(
        c.next().1,
        ChannelMessage::Event(Event::Watermark(42))
    ));
    match c.next().1 {
        ChannelMessage::Received(b) => assert_eq!(b.as_slice(), b"after"),
        other => panic!("unexpected {other:?}"),
    }
    push(&ch, ChannelMessage::Event(Event::EndOfPartition));
    assert!(matches!(
        c.next().1,
        ChannelMessage::Event(Event::EndOfPartition)
    ));
    drop((c, ch));
    no_leak(&producer);
    no_leak(&consumer_net);
}
