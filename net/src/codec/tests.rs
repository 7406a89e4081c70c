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

fn encode_all_in_runs<T: WireRecord>(
    buf: &mut NetBuffer,
    records: &[(T, Option<i64>)],
) -> Result<(), EncodeError> {
    let mut enc = RecordEncoder::new();
    let mut run = RunCursor::default();
    for (v, ts) in records {
        enc.encode_in_run(buf, &mut run, v, *ts)?;
    }
    Ok(())
}

/// The frames of a buffer: (first word, flags) of each header, walking as the decoder does.
/// `records` as the decoder returns them: (timestamp, value).
fn swapped<T: Clone>(records: &[(T, Option<i64>)]) -> Vec<(Option<i64>, T)> {
    records.iter().map(|(v, ts)| (*ts, v.clone())).collect()
}

fn frame_headers<T: WireRecord>(buf: &NetBuffer) -> Vec<(u32, u32)> {
    let b = buf.as_slice();
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < b.len() {
        let word = u32::from_le_bytes(b[pos..pos + 4].try_into().unwrap());
        let flags = u32::from_le_bytes(b[pos + 4..pos + 8].try_into().unwrap());
        out.push((word, flags));
        let at = pos + 8 + if flags & 1 != 0 { 8 } else { 0 };
        let data = align_up(at, archive_align::<T>());
        let bytes = if flags & 2 != 0 {
            word as usize * std::mem::size_of::<T::Archived>()
        } else {
            word as usize
        };
        pos = align_up(data + bytes, 8);
    }
    out
}

#[test]
fn fixed_size_records_with_one_timestamp_share_a_run() {
    let mut b = NetBuffer::unpooled(4096);
    let records: Vec<(u64, Option<i64>)> = (0..10u64)
        .map(|i| (i, if i < 4 { None } else { Some((i / 7) as i64) }))
        .collect();
    encode_all_in_runs(&mut b, &records).unwrap();
    // A run per timestamp: 4 without, 3 at 0, 3 at 1.
    assert_eq!(frame_headers::<u64>(&b), vec![(4, 2), (3, 3), (3, 3)]);
    assert_eq!(decode_all::<u64>(&b), swapped(&records));
    // SAFETY: written above by the encoder for u64 in this process.
    let trusted: Vec<_> = unsafe { RecordIter::<u64>::trusted(b.as_slice()) }
        .map(|r| r.unwrap().0)
        .collect();
    assert_eq!(trusted, records.iter().map(|r| r.1).collect::<Vec<_>>());
    // u64 records in a run take 8 bytes each, behind one 8-byte header.
    assert_eq!(b.len(), 8 + 4 * 8 + (16 + 3 * 8) * 2);
}

#[test]
fn runs_of_small_records_pack_densely() {
    let mut b = NetBuffer::unpooled(4096);
    let records: Vec<(u32, Option<i64>)> = (0..5u32).map(|i| (i, Some(9))).collect();
    encode_all_in_runs(&mut b, &records).unwrap();
    assert_eq!(b.len(), 16 + 5 * 4);
    // A record after the run starts its frame on the next 8-byte boundary.
    let mut enc = RecordEncoder::new();
    let mut run = RunCursor::default();
    let mut c = NetBuffer::unpooled(4096);
    for (v, ts) in records.iter().chain([(7u32, Some(10))].iter()) {
        enc.encode_in_run(&mut c, &mut run, v, *ts).unwrap();
    }
    assert_eq!(frame_headers::<u32>(&c), vec![(5, 3), (1, 3)]);
    let mut all = records.clone();
    all.push((7, Some(10)));
    assert_eq!(decode_all::<u32>(&c), swapped(&all));
}

#[test]
fn records_with_out_of_line_data_turn_runs_off() {
    // Short strings are inline (fixed size), long ones are not.
    let records: Vec<(String, Option<i64>)> = vec![
        ("ab".into(), None),
        ("cd".into(), None),
        ("a string long enough to live out of line".into(), None),
        ("ef".into(), None),
        ("gh".into(), None),
    ];
    let mut b = NetBuffer::unpooled(4096);
    encode_all_in_runs(&mut b, &records).unwrap();
    let headers = frame_headers::<String>(&b);
    assert_eq!(headers[0], (2, 2), "the two short strings run");
    assert!(
        headers[1..].iter().all(|(_, f)| f & 2 == 0),
        "no runs after the first out-of-line record: {headers:?}"
    );
    assert_eq!(decode_all::<String>(&b), swapped(&records));
}

#[test]
fn a_full_buffer_ends_a_run_with_its_contents_unchanged() {
    let mut b = NetBuffer::unpooled(4096);
    let mut enc = RecordEncoder::new();
    let mut run = RunCursor::default();
    let mut n = 0u64;
    loop {
        match enc.encode_in_run(&mut b, &mut run, &n, None) {
            Ok(()) => n += 1,
            Err(EncodeError::Full) => break,
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(n, (4096 - 8) / 8);
    let len = b.len();
    assert!(matches!(
        enc.encode_in_run(&mut b, &mut run, &n, None),
        Err(EncodeError::Full)
    ));
    assert_eq!(b.len(), len);
    let got = decode_all::<u64>(&b);
    assert_eq!(got.len(), n as usize);
    assert!(got.iter().enumerate().all(|(i, (_, v))| *v == i as u64));
    // The next buffer starts a new run.
    let mut c = NetBuffer::unpooled(4096);
    enc.encode_in_run(&mut c, &mut run, &n, None).unwrap();
    assert_eq!(frame_headers::<u64>(&c), vec![(1, 2)]);
}

#[test]
fn bad_runs_are_reported() {
    let mut b = NetBuffer::unpooled(4096);
    encode_all_in_runs(&mut b, &[(1u64, Some(3)), (2, Some(3))]).unwrap();
    let good = b.as_slice().to_vec();
    let mut c = NetBuffer::unpooled(4096);
    // A count that runs past the buffer.
    let mut bad = good.clone();
    bad[0..4].copy_from_slice(&3u32.to_le_bytes());
    c.fill_from(&bad).unwrap();
    let r: Vec<_> = RecordIter::<u64>::validated(c.as_slice()).collect();
    assert_eq!(r.len(), 1);
    assert!(matches!(
        r[0],
        Err(DecodeError::Truncated { offset: 0, .. })
    ));
    // A count so large that count × size overflows.
    bad[0..4].copy_from_slice(&u32::MAX.to_le_bytes());
    c.fill_from(&bad).unwrap();
    let r: Vec<_> = RecordIter::<u64>::validated(c.as_slice()).collect();
    assert!(matches!(r[..], [Err(DecodeError::Truncated { .. })]));
    // An empty run.
    bad[0..4].copy_from_slice(&0u32.to_le_bytes());
    c.fill_from(&bad).unwrap();
    let r: Vec<_> = RecordIter::<u64>::validated(c.as_slice()).collect();
    assert!(matches!(r[..], [Err(DecodeError::EmptyRun { offset: 0 })]));
    // A run of a zero-size type is refused.
    let r: Vec<_> = RecordIter::<()>::validated(&good).collect();
    assert!(matches!(r[..], [Err(DecodeError::Flags { .. })]));
    // A bool run with a byte that is not a bool fails validation at that record.
    let mut d = NetBuffer::unpooled(4096);
    encode_all_in_runs(&mut d, &[(true, None), (false, None), (true, None)]).unwrap();
    let mut bad = d.as_slice().to_vec();
    bad[9] = 7;
    c.fill_from(&bad).unwrap();
    let r: Vec<_> = RecordIter::<bool>::validated(c.as_slice()).collect();
    assert!(r[0].is_ok());
    assert!(matches!(r[1], Err(DecodeError::Invalid { .. })), "{r:?}");
    assert_eq!(r.len(), 2, "decoding stops at the first bad record");
}

/// A record read from a slice: (timestamp, value, length of its slice).
type SliceRecord<T> = (Option<i64>, T, usize);

/// `buf`'s records read slice by slice (`max` per slice): (timestamp, value, slice length).
fn decode_slices<'a, T: WireRecord>(
    mut it: RecordIter<'a, T>,
    max: usize,
) -> Vec<Result<SliceRecord<T>, DecodeError>>
where
    T::Archived: 'a,
{
    let mut out = Vec::new();
    while let Some(r) = it.next_slice(max) {
        match r {
            Ok((ts, s)) => {
                assert!(
                    !s.is_empty() && s.len() <= max.max(1),
                    "slice of {}",
                    s.len()
                );
                out.extend(
                    s.iter()
                        .map(|a| Ok((ts, deserialize::<T>(a).unwrap(), s.len()))),
                );
            }
            Err(e) => out.push(Err(e)),
        }
    }
    out
}

#[test]
fn slices_read_the_same_records_as_the_iterator() {
    // Runs of several timestamps, then records with out-of-line data (single frames).
    let mut b = NetBuffer::unpooled(8192);
    let records: Vec<((u32, u64), Option<i64>)> = (0..300u32)
        .map(|i| ((i, u64::from(i) * 3), Some(i64::from(i / 100))))
        .collect();
    encode_all_in_runs(&mut b, &records).unwrap();
    let mut enc = RecordEncoder::new();
    let strings = [("a".repeat(40), Some(7)), ("b".to_owned(), None)];
    for (s, ts) in &strings {
        enc.encode(&mut b, s, *ts).unwrap();
    }
    for max in [1, 7, 64, 100, 1000] {
        let got = decode_slices(RecordIter::<(u32, u64)>::validated(b.as_slice()), max);
        // The run part: same records in order, slices no longer than max or the run.
        let values: Vec<_> = got[..300]
            .iter()
            .map(|r| {
                let (ts, v, len) = r.as_ref().unwrap();
                assert!(*len <= max.min(100));
                (*ts, *v)
            })
            .collect();
        assert_eq!(values, swapped(&records), "max {max}");
        // SAFETY: written above by the encoder for this type in this process.
        let trusted = decode_slices(
            unsafe { RecordIter::<(u32, u64)>::trusted(b.as_slice()) },
            max,
        );
        assert_eq!(trusted[..300], got[..300]);
    }
    let mut s = NetBuffer::unpooled(4096);
    for (v, ts) in &strings {
        enc.encode(&mut s, v, *ts).unwrap();
    }
    let got = decode_slices(RecordIter::<String>::validated(s.as_slice()), 16);
    let got: Vec<_> = got.into_iter().map(Result::unwrap).collect();
    assert_eq!(
        got,
        vec![
            (Some(7), strings[0].0.clone(), 1),
            (None, strings[1].0.clone(), 1)
        ],
        "a single frame is a slice of one"
    );
}

#[test]
fn a_bad_record_in_a_slice_fails_it_and_ends_reading() {
    let mut d = NetBuffer::unpooled(4096);
    encode_all_in_runs(&mut d, &[(true, None), (false, None), (true, None)]).unwrap();
    let mut bad = d.as_slice().to_vec();
    bad[9] = 7;
    let mut c = NetBuffer::unpooled(4096);
    c.fill_from(&bad).unwrap();
    let got = decode_slices(RecordIter::<bool>::validated(c.as_slice()), 1);
    assert!(got[0].is_ok());
    assert!(
        matches!(got[1], Err(DecodeError::Invalid { offset: 0, .. })),
        "{got:?}"
    );
    assert_eq!(got.len(), 2, "nothing after the error");
    let got = decode_slices(RecordIter::<bool>::validated(c.as_slice()), 8);
    assert!(
        matches!(got[..], [Err(DecodeError::Invalid { .. })]),
        "{got:?}"
    );
    // A run count past the buffer's end.
    let mut b = NetBuffer::unpooled(4096);
    encode_all_in_runs(&mut b, &[(1u64, Some(3)), (2, Some(3))]).unwrap();
    let mut bad = b.as_slice().to_vec();
    bad[0..4].copy_from_slice(&3u32.to_le_bytes());
    c.fill_from(&bad).unwrap();
    let got = decode_slices(RecordIter::<u64>::validated(c.as_slice()), 8);
    assert!(matches!(
        got[..],
        [Err(DecodeError::Truncated { offset: 0, .. })]
    ));
}

proptest::proptest! {
    /// Any bytes, read as records of a few types: errors, never a panic, and never more
    /// records than the bytes can hold.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
        let mut c = NetBuffer::unpooled(4096);
        c.fill_from(&bytes).unwrap();
        let n = RecordIter::<u64>::validated(c.as_slice()).take(10_000).count();
        proptest::prop_assert!(n <= bytes.len() / 8 + 1);
        let n = RecordIter::<(u32, String)>::validated(c.as_slice()).take(10_000).count();
        proptest::prop_assert!(n <= bytes.len() / 8 + 1);
        let _ = RecordIter::<Bid>::validated(c.as_slice()).take(10_000).count();
        let mut it = RecordIter::<(u32, u64)>::validated(c.as_slice());
        let mut n = 0;
        while let Some(r) = it.next_slice(64) {
            n += r.map_or(1, |(_, s)| s.len());
            proptest::prop_assert!(n <= bytes.len() / 16 + 1);
        }
    }
}
