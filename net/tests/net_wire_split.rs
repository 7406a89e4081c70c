//! The receive path reads ahead of the frame it parses: frames that arrive split at any
//! byte (inside a header, inside a body, across the read-ahead area's size) or bunched
//! many to one receive come out whole, in order, with their exact bytes.

mod common;

use common::*;
use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;
use strom_net::frame::Frame;
use strom_net::{ChannelMessage, Event};

/// Body sizes around the header (40 B), the read-ahead area (1 KiB) and the buffer (4 KiB).
const SIZES: [usize; 16] = [
    1, 39, 40, 41, 500, 983, 984, 985, 1023, 1024, 1025, 2048, 4095, 4096, 7, 3000,
];
fn body(seq: u32, n: usize) -> Vec<u8> {
    (0..n)
        .map(|i| (i as u32).wrapping_mul(31).wrapping_add(seq) as u8)
        .collect()
}

fn event(receiver: u32, seq: u32, event: Event) -> Vec<u8> {
    Frame::Event {
        receiver,
        seq,
        backlog: 0,
        event,
    }
    .encode()
    .to_vec()
}

/// Writes `bytes` in pieces, pausing so that pieces arrive apart: a piece ends 20 bytes into
/// every frame header (past the magic, so a header read in two parts must be put together
/// right) and in the middle of every body longer than 100 bytes. `frames` holds where each
/// frame starts and how long its body is.
fn write_cut(s: &mut TcpStream, bytes: &[u8], frames: &[(usize, usize)]) {
    let mut cuts: Vec<usize> = Vec::new();
    for &(start, body) in frames {
        cuts.push(start + 20);
        if body > 100 {
            cuts.push(start + 40 + body / 2);
        }
    }
    cuts.push(bytes.len());
    let mut at = 0;
    for cut in cuts {
        s.write_all(&bytes[at..cut]).unwrap();
        std::thread::sleep(Duration::from_micros(300));
        at = cut;
    }
}

/// Takes credit announcements until the consumer granted at least one buffer.
fn wait_for_credit(s: &mut TcpStream, credit: &mut u32) {
    while *credit == 0 {
        match read_frame(s) {
            Frame::AddCredit { credit: c, .. } => *credit += c,
            other => panic!("expected credit, got {other:?}"),
        }
    }
}

#[test]
fn frames_split_at_any_byte_or_bunched_arrive_whole_and_in_order() {
    let fake = FakeProducer::new();
    let (net, mut c, s, receiver, credit) = one_channel(&fake);
    s.set_nodelay(true).unwrap();
    // First every frame the credit allows as one byte stream cut into pieces (cuts fall
    // inside headers and bodies, and pieces span frames), then the same bunched into one
    // write per credit window.
    let producer = std::thread::spawn(move || {
        let (mut s, mut credit, mut seq) = (s, credit, 0u32);
        for bunched in [false, true] {
            let mut left = SIZES.to_vec();
            while !left.is_empty() {
                wait_for_credit(&mut s, &mut credit);
                let (mut bytes, mut frames) = (Vec::new(), Vec::new());
                while credit > 0 && !left.is_empty() {
                    let n = left.remove(0);
                    credit -= 1;
                    frames.push((bytes.len(), n));
                    bytes.extend(data(receiver, seq, &body(seq, n)));
                    seq += 1;
                    frames.push((bytes.len(), 0));
                    bytes.extend(event(receiver, seq, Event::Watermark(seq.into())));
                    seq += 1;
                }
                if bunched {
                    s.write_all(&bytes).unwrap();
                } else {
                    write_cut(&mut s, &bytes, &frames);
                }
            }
        }
        s.write_all(&event(receiver, seq, Event::EndOfPartition))
            .unwrap();
        s // keep the connection open until the consumer has everything
    });
    let mut seq = 0u32;
    for n in SIZES.iter().chain(SIZES.iter()) {
        match c.next() {
            (0, ChannelMessage::Received(b)) => {
                assert_eq!(
                    b.as_slice(),
                    &body(seq, *n)[..],
                    "data frame {seq} ({n} bytes)"
                );
            }
            (ch, other) => {
                panic!("frame {seq}: expected {n} bytes on channel 0, got {ch} {other:?}")
            }
        }
        seq += 1;
        match c.next() {
            (0, ChannelMessage::Event(Event::Watermark(w))) => assert_eq!(w, i64::from(seq)),
            (ch, other) => panic!("frame {seq}: expected a watermark, got {ch} {other:?}"),
        }
        seq += 1;
    }
    assert!(matches!(
        c.next(),
        (0, ChannelMessage::Event(Event::EndOfPartition))
    ));
    let s = producer.join().expect("the producer thread");
    drop(c);
    drop(s);
    no_leak(&net);
}
