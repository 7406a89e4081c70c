use super::*;
use crate::{BufferPool, NetBuffer};

#[derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize, Debug, PartialEq, Clone)]
struct Bid {
    auction: u64,
    bidder: String,
    price: u32,
}

fn decode_all<T: WireRecord>(buf: &NetBuffer) -> Vec<(Option<i64>, T)> {
    RecordIter::<T>::validated(buf.as_slice())
        .map(|r| {
            let (ts, a) = r.unwrap();
            (ts, deserialize::<T>(a).unwrap())
        })
        .collect()
}

#[test]
fn roundtrip_primitives_and_structs() {
    let pool = BufferPool::new(1, 4096);
    let mut b = pool.try_acquire().unwrap();
    for i in 0..10u64 {
        encode_record(
            &mut b,
            &i,
            if i % 2 == 0 {
                Some(i as i64 * 10)
            } else {
                None
            },
        )
        .unwrap();
    }
    let got = decode_all::<u64>(&b);
    assert_eq!(got.len(), 10);
    for (i, (ts, v)) in got.into_iter().enumerate() {
        assert_eq!(v, i as u64);
        assert_eq!(
            ts,
            if i % 2 == 0 {
                Some(i as i64 * 10)
            } else {
                None
            }
        );
    }
    // Trusted reading gives the same.
    // SAFETY: written above by encode_record for u64 in this process.
    let n = unsafe { RecordIter::<u64>::trusted(b.as_slice()) }.count();
    assert_eq!(n, 10);

    let mut b = NetBuffer::unpooled(4096);
    let bid = Bid {
        auction: 7,
        bidder: "alice".into(),
        price: 42,
    };
    encode_record(&mut b, &bid, Some(-5)).unwrap();
    encode_record(&mut b, &(String::from("word"), 3u64), None).unwrap_err_or_ok();
    assert_eq!(
        decode_all::<Bid>(&{
            let mut c = NetBuffer::unpooled(4096);
            encode_record(&mut c, &bid, Some(-5)).unwrap();
            c
        }),
        vec![(Some(-5), bid)]
    );
}

trait Ignore {
    fn unwrap_err_or_ok(self);
}
impl<E> Ignore for Result<(), E> {
    fn unwrap_err_or_ok(self) {}
}

#[test]
fn full_buffer_leaves_contents_unchanged() {
    let mut b = NetBuffer::unpooled(4096);
    let mut n = 0u64;
    loop {
        match encode_record(&mut b, &n, None) {
            Ok(()) => n += 1,
            Err(EncodeError::Full) => break,
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(n, 4096 / 16, "u64 frames take 16 bytes");
    let len = b.len();
    assert!(matches!(
        encode_record(&mut b, &"a long string that does not fit".to_string(), None),
        Err(EncodeError::Full)
    ));
    assert_eq!(b.len(), len);
    assert_eq!(decode_all::<u64>(&b).len(), n as usize);
}

#[test]
fn garbage_is_reported_not_trusted() {
    let mut b = NetBuffer::unpooled(4096);
    encode_record(
        &mut b,
        &String::from("a string long enough to live out of line"),
        None,
    )
    .unwrap();
    // Claim a length beyond the buffer.
    let mut bad = b.as_slice().to_vec();
    bad[0..4].copy_from_slice(&9999u32.to_le_bytes());
    let mut c = NetBuffer::unpooled(4096);
    c.fill_from(&bad).unwrap();
    let r: Vec<_> = RecordIter::<String>::validated(c.as_slice()).collect();
    assert!(matches!(
        r[0],
        Err(DecodeError::Truncated { offset: 0, .. })
    ));
    // Unknown flags.
    let mut bad = b.as_slice().to_vec();
    bad[4] = 0x80;
    c.fill_from(&bad).unwrap();
    let r: Vec<_> = RecordIter::<String>::validated(c.as_slice()).collect();
    assert!(matches!(r[0], Err(DecodeError::Flags { .. })));
    // A corrupted relative pointer inside the archive.
    let mut bad = b.as_slice().to_vec();
    let n = bad.len();
    let len = u32::from_le_bytes([bad[0], bad[1], bad[2], bad[3]]) as usize;
    // The root (the string's length and relative offset) is the last 8 bytes of the archive.
    let root = 8 + len - 8;
    assert!(root + 8 <= n);
    bad[root + 4..root + 8].copy_from_slice(&0x7fff_0000u32.to_le_bytes());
    c.fill_from(&bad).unwrap();
    let r: Vec<_> = RecordIter::<String>::validated(c.as_slice()).collect();
    assert!(matches!(r[0], Err(DecodeError::Invalid { .. })), "{r:?}");
}
