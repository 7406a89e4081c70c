//! Correctness checks for the timely peer workloads on small inputs: sink
//! counts and checksums against sequential reference computations, and
//! independence from the worker count where the input is the same.

use std::collections::HashMap;
use strom_bench::peer_timely::*;

#[test]
fn chained_matches_reference() {
    let n = 100_003;
    let expect: u64 = (0..n).map(|x| x * 2 + 1).filter(|x| x % 3 != 0).sum();
    let count = (0..n).map(|x| x * 2 + 1).filter(|x| x % 3 != 0).count() as u64;
    for w in [1, 2, 3] {
        let o = run(Workload::Chained, n, w).unwrap();
        assert_eq!((o.sink_records, o.checksum), (count, expect), "workers={w}");
    }
}

#[test]
fn keyed_count_matches_reference() {
    let n = 123_457;
    let mut counts: HashMap<u64, u64> = HashMap::new();
    let mut expect = 0u64;
    for x in 0..n {
        let k = x % KEYS;
        let c = counts.entry(k).or_default();
        *c += 1;
        expect = expect.wrapping_add(k.wrapping_mul(1_000_003).wrapping_add(*c));
    }
    for w in [1, 2] {
        let o = run(Workload::KeyedCount, n, w).unwrap();
        assert_eq!((o.sink_records, o.checksum), (n, expect), "workers={w}");
    }
}

#[test]
fn wordcount_matches_reference() {
    let n = 50_005; // rounded down to 50_000 words = 5_000 lines
    let vocab = vocabulary();
    let (mut state, mut line) = (0u64, String::new());
    let mut counts: HashMap<String, u64> = HashMap::new();
    let mut expect = 0u64;
    for _ in 0..n / WORDS_PER_LINE {
        next_line(&mut state, &vocab, &mut line);
        for w in line.split(' ') {
            let c = counts.entry(w.to_owned()).or_default();
            *c += 1;
            expect = expect.wrapping_add(hash_str(w).wrapping_add(*c));
        }
    }
    let o = run(Workload::WordCount, n, 1).unwrap();
    assert_eq!(o.records, 50_000);
    assert_eq!((o.sink_records, o.checksum), (50_000, expect));
    // With 2 workers each worker has its own LCG stream: only the count is comparable.
    assert_eq!(run(Workload::WordCount, n, 2).unwrap().sink_records, 50_000);
}

#[test]
fn json_line_shape() {
    let v = run(Workload::Chained, 1000, 1).unwrap().to_json();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(|k| k.as_str()).collect();
    assert_eq!(
        &keys[..6],
        [
            "engine",
            "workload",
            "workers",
            "records",
            "seconds",
            "records_per_sec"
        ]
    );
    assert_eq!(v["engine"], "timely");
}

#[test]
fn machine_description() {
    let v = strom_bench::machine::describe();
    eprintln!("{v}");
    assert!(v["cores"].as_u64().unwrap_or(0) >= 1);
    assert!(v["date"].as_str().unwrap().ends_with('Z'));
}
