//! Unit tests of the writer: source steps, slices and whole buffers.

use super::*;

#[test]
fn source_steps_hold_a_few_kib_of_records_within_bounds() {
    assert_eq!(
        step_for::<(u32, u64)>(),
        MAX_STEP,
        "16-byte records: the longest step"
    );
    assert_eq!(step_for::<()>(), MAX_STEP);
    assert_eq!(step_for::<[u8; 64]>(), STEP_BYTES / 64);
    assert_eq!(
        step_for::<[u8; 1024]>(),
        MIN_STEP,
        "large records: the shortest step"
    );
    for n in [
        step_for::<u8>(),
        step_for::<[u64; 9]>(),
        step_for::<String>(),
    ] {
        assert!((MIN_STEP..=MAX_STEP).contains(&n), "{n}");
    }
}

fn decode(b: &NetBuffer) -> Vec<u64> {
    // SAFETY: written by a `RecordWriter<u64>` of this process into this buffer.
    unsafe { strom_net::RecordIter::<u64>::trusted(b.as_slice()) }
        .map(|r| u64::from(*r.expect("decodes").1))
        .collect()
}

#[test]
fn flushes_send_slices_of_one_buffer_and_a_full_buffer_goes_whole() {
    let gate = strom_net::GateShared::new(1);
    let ch = LocalChannel::new(gate, 0, 2, 32 * 1024);
    let core = Rc::new(RefCell::new(WriterCore::new(vec![ch.clone()])));
    let mut w = RecordWriter::<u64>::new(core.clone(), Selector::Single, false, "e".into());
    // Twenty flushes of ten records: were each to spend a buffer, the two-buffer channel
    // would have blocked the writer after the first.
    for i in 0..20u64 {
        for j in 0..10 {
            w.emit(i * 10 + j, None).unwrap();
        }
        core.borrow_mut().flush(0);
        assert!(core.borrow().is_available(), "blocked after {i} flushes");
        assert_eq!(ch.pool().stats().available, 1, "one buffer holds them all");
    }
    let mut got = Vec::new();
    while let Some(ChannelMessage::Buffer(b)) = ch.pop() {
        assert!(b.is_slice() && b.is_pooled());
        got.extend(decode(&b));
    }
    assert_eq!(got, (0..200).collect::<Vec<_>>());
    // Fill past one buffer without a flush: the first goes whole (the rest behind the
    // slices), the records that did not fit start the second.
    let n = 5_000u64;
    let batch: Vec<u64> = (0..n).collect();
    w.emit_batch(&mut batch.clone(), None).unwrap();
    core.borrow_mut().flush(0);
    let mut got = Vec::new();
    let mut messages = 0;
    while let Some(ChannelMessage::Buffer(b)) = ch.pop() {
        messages += 1;
        got.extend(decode(&b));
    }
    assert_eq!(got, batch);
    assert_eq!(messages, 2);
    drop(core);
    drop(w);
    assert_eq!(
        ch.pool().stats().available,
        2,
        "every view dropped, both back"
    );
}

#[test]
fn a_flush_with_little_room_left_sends_the_buffer_whole() {
    let gate = strom_net::GateShared::new(1);
    let ch = LocalChannel::new(gate, 0, 2, 4096);
    let core = Rc::new(RefCell::new(WriterCore::new(vec![ch.clone()])));
    let mut w = RecordWriter::<u64>::new(core.clone(), Selector::Single, false, "e".into());
    // 460 records (a run: 8-byte header, 8 bytes each) leave less than 4096 / 8.
    let mut batch: Vec<u64> = (0..460).collect();
    w.emit_batch(&mut batch, None).unwrap();
    core.borrow_mut().flush(0);
    let Some(ChannelMessage::Buffer(b)) = ch.pop() else {
        panic!("a buffer was sent")
    };
    assert!(!b.is_slice(), "sent whole");
    assert_eq!(decode(&b), (0..460).collect::<Vec<_>>());
    w.emit(7, None).unwrap();
    assert_eq!(
        ch.pool().stats().available,
        0,
        "a fresh buffer for what follows"
    );
}

#[test]
fn a_typed_writer_sets_its_edge_step() {
    let core = Rc::new(RefCell::new(WriterCore::new(Vec::new())));
    assert_eq!(core.borrow().step(), MIN_STEP);
    let _w = RecordWriter::<[u8; 128]>::new(core.clone(), Selector::Single, false, "e".into());
    assert_eq!(core.borrow().step(), STEP_BYTES / 128);
}
