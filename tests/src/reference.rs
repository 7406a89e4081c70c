//! Plain sequential references for windowed computations, written from Flink's documented
//! semantics and independent of the runtime's code.

use std::collections::BTreeMap;

/// A record for window tests: key, event timestamp, value.
pub type Rec = (u64, i64, u64);

/// The windows `[start, end)` of a timestamp: tumbling when `slide == size`.
pub fn sliding_windows(ts: i64, size: i64, slide: i64) -> Vec<(i64, i64)> {
    let mut v = Vec::new();
    // Every start s with s ≡ 0 (mod slide) and s <= ts < s + size.
    let last = ts.div_euclid(slide) * slide;
    let mut s = last;
    while s > ts - size {
        v.push((s, s + size));
        s -= slide;
    }
    v
}

/// One firing of a window: key, window start, window end, number of records, sum of values.
pub type Firing = (u64, i64, i64, u64, u64);

/// Replays records in arrival order through event-time windows with a watermark emitted
/// after every record (`max timestamp - bound - 1`), allowed lateness, and late records set
/// aside. Returns every firing (on time, and again for each late-but-allowed record) and
/// the records late for all their windows.
pub fn replay_event_time(
    records: &[Rec],
    size: i64,
    slide: i64,
    bound: i64,
    lateness: i64,
) -> (Vec<Firing>, Vec<Rec>) {
    let mut wm = i64::MIN;
    let mut max_ts = i64::MIN;
    // (end, key, start) -> (count, sum, fired_on_time)
    let mut live: BTreeMap<(i64, u64, i64), (u64, u64)> = BTreeMap::new();
    let mut firings = Vec::new();
    let mut late = Vec::new();
    for &(k, ts, v) in records {
        let mut placed = false;
        for (s, e) in sliding_windows(ts, size, slide) {
            let max = e - 1;
            if max + lateness <= wm {
                continue;
            }
            placed = true;
            let entry = live.entry((e, k, s)).or_insert((0, 0));
            entry.0 += 1;
            entry.1 += v;
            if max <= wm {
                firings.push((k, s, e, entry.0, entry.1));
            }
        }
        if !placed {
            late.push((k, ts, v));
        }
        max_ts = max_ts.max(ts);
        let new_wm = max_ts - bound - 1;
        if new_wm > wm {
            for (&(e, k, s), &(n, sum)) in live.iter() {
                if e - 1 > wm && e - 1 <= new_wm {
                    firings.push((k, s, e, n, sum));
                }
            }
            wm = new_wm;
            live.retain(|&(e, _, _), _| e - 1 + lateness > wm);
        }
    }
    for (&(e, k, s), &(n, sum)) in live.iter() {
        if e - 1 > wm {
            firings.push((k, s, e, n, sum));
        }
    }
    (firings, late)
}

/// Session windows per key when every record arrives in time: sorted timestamps split
/// where the distance to the next exceeds `gap`. Returns (key, start, end, count, sum).
pub fn sessions(records: &[Rec], gap: i64) -> Vec<Firing> {
    let mut by_key: BTreeMap<u64, Vec<(i64, u64)>> = BTreeMap::new();
    for &(k, ts, v) in records {
        by_key.entry(k).or_default().push((ts, v));
    }
    let mut out = Vec::new();
    for (k, mut rs) in by_key {
        rs.sort();
        let (mut start, mut last, mut n, mut sum) = (rs[0].0, rs[0].0, 0u64, 0u64);
        for &(ts, v) in &rs {
            if ts - last > gap {
                out.push((k, start, last + gap, n, sum));
                start = ts;
                n = 0;
                sum = 0;
            }
            last = ts;
            n += 1;
            sum += v;
        }
        out.push((k, start, last + gap, n, sum));
    }
    out
}

/// A deterministic pseudo-random sequence (64-bit LCG), for test data.
pub fn lcg(seed: &mut u64) -> u64 {
    *seed = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    *seed >> 33
}

/// `n` records over `keys` keys whose timestamps run forward with a jitter of up to
/// `jitter` ms (so they arrive out of order by up to that much), drawn with [`lcg`] from
/// `seed`.
pub fn jittered_records(n: u64, keys: u64, jitter: u64, seed: u64) -> Vec<Rec> {
    let mut s = seed;
    (0..n)
        .map(|i| {
            let ts = (i * 3) as i64 + (lcg(&mut s) % (jitter + 1)) as i64;
            (lcg(&mut s) % keys, ts, lcg(&mut s) % 1000)
        })
        .collect()
}
