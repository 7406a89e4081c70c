//! Frame round trips, every rejection, and a property test (the fuzz target) over the
//! decoder: arbitrary bytes and corrupted valid streams never panic and never yield a frame
//! that violates the header's rules.

use super::*;
use crate::channel::{CheckpointBarrier, Event, LatencyMarker};
use crate::error::ErrorKind;
use proptest::prelude::*;

fn all_frames() -> Vec<Frame> {
    let mut v = vec![
        Frame::PartitionRequest {
            receiver: 7,
            partition: PartitionId(u128::MAX - 5),
            subpartition: 3,
            credit: 2,
        },
        Frame::Buffer {
            receiver: 1,
            seq: 9,
            backlog: 4,
            len: 5,
        },
        Frame::AddCredit {
            receiver: 2,
            credit: 3,
        },
        Frame::ResumeConsumption { receiver: 4 },
        Frame::CancelPartition { receiver: 5 },
        Frame::Error {
            receiver: None,
            kind: ErrorKind::Protocol,
            retry: false,
            len: 3,
        },
        Frame::Error {
            receiver: Some(6),
            kind: ErrorKind::PartitionNotFound,
            retry: true,
            len: 0,
        },
    ];
    for event in [
        Event::Watermark(-17),
        Event::Watermark(i64::MAX),
        Event::Idle(true),
        Event::Idle(false),
        Event::EndOfPartition,
        Event::Cancel,
        Event::Barrier(CheckpointBarrier {
            id: 12,
            timestamp: 1_700_000_000_000,
            aligned: true,
        }),
        Event::Barrier(CheckpointBarrier {
            id: 13,
            timestamp: -1,
            aligned: false,
        }),
        Event::LatencyMarker(LatencyMarker {
            marked_at_ns: 1_700_000_000_123_456_789,
            source: u32::MAX,
        }),
    ] {
        v.push(Frame::Event {
            receiver: 8,
            seq: 1,
            backlog: 0,
            event,
        });
    }
    v
}

fn stream_of(frames: &[Frame]) -> Vec<u8> {
    let mut s = Vec::new();
    for f in frames {
        s.extend_from_slice(&f.encode());
        s.extend(std::iter::repeat_n(0xAB, f.body_len()));
    }
    s
}

#[test]
fn every_frame_round_trips() {
    let frames = all_frames();
    let bytes = stream_of(&frames);
    let got = decode_stream(&bytes, &Limits::default()).unwrap();
    assert_eq!(got.len(), frames.len());
    for ((f, body), want) in got.iter().zip(&frames) {
        assert_eq!(f, want);
        assert_eq!(body.len(), want.body_len());
    }
}

fn decode_one(h: [u8; HEADER_LEN]) -> Result<Frame, FrameError> {
    Frame::from_header(&FrameHeader::decode(&h, &Limits::default())?)
}

#[test]
fn bad_headers_are_rejected_with_the_field_named() {
    let good = Frame::AddCredit {
        receiver: 1,
        credit: 1,
    }
    .encode();
    let mut h = good;
    h[0] = b'X';
    assert!(matches!(decode_one(h), Err(FrameError::WrongMagic { .. })));
    let mut h = good;
    h[4] = 9;
    assert_eq!(decode_one(h), Err(FrameError::Version { found: 9 }));
    let mut h = good;
    h[5] = 200;
    assert_eq!(decode_one(h), Err(FrameError::UnknownType { found: 200 }));
    let mut h = good;
    h[20..24].copy_from_slice(&0u32.to_le_bytes());
    let e = decode_one(h).unwrap_err();
    assert!(e.to_string().contains("credit must be positive"), "{e}");
    let mut h = good;
    h[8] = 1; // a body on a frame type without one
    assert!(matches!(
        decode_one(h),
        Err(FrameError::TooLong { limit: 0, .. })
    ));
    let big = Frame::Buffer {
        receiver: 0,
        seq: 0,
        backlog: 0,
        len: (64 << 20) + 1,
    };
    assert!(matches!(
        decode_one(big.encode()),
        Err(FrameError::TooLong { .. })
    ));
    let mut empty = Frame::Buffer {
        receiver: 0,
        seq: 0,
        backlog: 0,
        len: 1,
    }
    .encode();
    empty[8] = 0;
    assert!(decode_one(empty).unwrap_err().to_string().contains("empty"));
    let mut ev = Frame::Event {
        receiver: 0,
        seq: 0,
        backlog: 0,
        event: Event::Idle(true),
    }
    .encode();
    ev[24] = 2; // idle must be 0 or 1
    assert!(decode_one(ev).unwrap_err().to_string().contains("event"));
    let mut er = Frame::Error {
        receiver: None,
        kind: ErrorKind::Io,
        retry: true,
        len: 0,
    }
    .encode();
    er[6] = 99;
    assert!(decode_one(er)
        .unwrap_err()
        .to_string()
        .contains("error kind"));
}

#[test]
fn a_half_written_frame_is_truncated() {
    let bytes = stream_of(&all_frames());
    for cut in [1, HEADER_LEN - 1, HEADER_LEN + 2, bytes.len() - 1] {
        let e = decode_stream(&bytes[..cut], &Limits::default()).unwrap_err();
        assert!(matches!(e, FrameError::Truncated { .. }), "cut {cut}: {e}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Arbitrary bytes: the decoder returns frames or an error, never panics, and every
    /// frame it accepts re-encodes to the same header bytes.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let limits = Limits { max_data: 64, max_error: 16 };
        if let Ok(frames) = decode_stream(&bytes, &limits) {
            let mut at = 0;
            for (f, body) in frames {
                prop_assert_eq!(&f.encode()[..], &bytes[at..at + HEADER_LEN]);
                at += HEADER_LEN + body.len();
            }
            prop_assert_eq!(at, bytes.len());
        }
    }

    /// A valid stream with one byte changed, or cut short: never a panic, and a cut stream
    /// is never accepted.
    #[test]
    fn corrupted_streams_never_panic(pos in any::<prop::sample::Index>(), byte in any::<u8>(), cut in any::<prop::sample::Index>()) {
        let mut bytes = stream_of(&all_frames());
        let i = pos.index(bytes.len());
        bytes[i] = byte;
        let _ = decode_stream(&bytes, &Limits::default());
        let c = cut.index(bytes.len());
        let original = stream_of(&all_frames());
        prop_assert!(decode_stream(&original[..c], &Limits::default()).map(|f| f.len()).unwrap_or(0) < all_frames().len());
    }
}
