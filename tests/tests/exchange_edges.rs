//! Edges end to end: what each consumer subtask receives over rescale, rebalance,
//! broadcast and forward edges.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use strom_runtime::api::StreamEnv;
use strom_tests::cluster;
use strom_tests::tagging::{routes, tag_sink, tagged_source};

// ---------------------------------------------------------------------------------------
// Partitioning: rescale, rebalance, broadcast, forward
// ---------------------------------------------------------------------------------------

/// Round-robin over `k` channels: every channel gets ⌊n/k⌋ or ⌈n/k⌉ of a producer's `n`.
fn assert_even(count: u64, n: u64, k: u64, what: &str) {
    assert!(
        count == n / k || count == n.div_ceil(k),
        "{what}: {count} of {n} over {k} channels"
    );
}

#[test]
fn rescale_feeds_a_local_block_of_consumers_round_robin() {
    let n = 1_001u64;
    // 2 producers → 4 consumers: producer p feeds consumers 2p and 2p + 1.
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    cluster(4)
        .execute("rescale-up", move |env: &mut StreamEnv| {
            tag_sink(&tagged_source(env, 2, n).rescale(), 4, &s);
            Ok(())
        })
        .unwrap()
        .wait()
        .unwrap();
    let per = routes(&seen.lock().unwrap());
    assert_eq!(
        per.keys().copied().collect::<Vec<_>>(),
        vec![(0, 0), (0, 1), (1, 2), (1, 3)],
        "producer p reaches exactly consumers 2p, 2p+1"
    );
    for (&(p, c), &count) in &per {
        assert_even(count, n, 2, &format!("rescale {p} -> {c}"));
    }
    assert_eq!(per.values().sum::<u64>(), 2 * n);

    // 4 producers → 2 consumers: producers 0, 1 feed consumer 0; 2, 3 feed consumer 1.
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    cluster(4)
        .execute("rescale-down", move |env: &mut StreamEnv| {
            tag_sink(&tagged_source(env, 4, n).rescale(), 2, &s);
            Ok(())
        })
        .unwrap()
        .wait()
        .unwrap();
    let per = routes(&seen.lock().unwrap());
    let want: BTreeMap<(u32, u32), u64> = [(0, 0), (1, 0), (2, 1), (3, 1)]
        .into_iter()
        .map(|pc| (pc, n))
        .collect();
    assert_eq!(per, want);
}

#[test]
fn rebalance_spreads_every_producer_evenly_over_all_consumers() {
    let n = 3_001u64;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    cluster(3)
        .execute("rebalance", move |env: &mut StreamEnv| {
            tag_sink(&tagged_source(env, 2, n).rebalance(), 3, &s);
            Ok(())
        })
        .unwrap()
        .wait()
        .unwrap();
    let per = routes(&seen.lock().unwrap());
    assert_eq!(
        per.len(),
        6,
        "every producer reaches every consumer: {per:?}"
    );
    for (&(p, c), &count) in &per {
        assert_even(count, n, 3, &format!("rebalance {p} -> {c}"));
    }
    for p in 0..2 {
        let total: u64 = per.iter().filter(|(k, _)| k.0 == p).map(|(_, v)| v).sum();
        assert_eq!(total, n, "producer {p}: every record once");
    }
}

#[test]
fn broadcast_delivers_every_record_to_every_consumer() {
    let n = 777u64;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    cluster(3)
        .execute("broadcast", move |env: &mut StreamEnv| {
            tag_sink(&tagged_source(env, 2, n).broadcast(), 3, &s);
            Ok(())
        })
        .unwrap()
        .wait()
        .unwrap();
    let seen = seen.lock().unwrap();
    let per = routes(&seen);
    let want: BTreeMap<(u32, u32), u64> = (0..2)
        .flat_map(|p| (0..3).map(move |c| ((p, c), n)))
        .collect();
    assert_eq!(per, want);
    // routes() checked no duplicates; so every consumer got every record exactly once.
    assert_eq!(seen.len() as u64, 2 * n * 3);
}

#[test]
fn forward_with_equal_parallelism_keeps_subtask_i_to_subtask_i() {
    let n = 2_000u64;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    cluster(3)
        .execute("forward", move |env: &mut StreamEnv| {
            // The map is kept out of any chain, so the forward edges cross the exchange.
            let mapped = tagged_source(env, 3, n)
                .forward()
                .map(|(p, i)| (p, i * 2))
                .set_parallelism(3)
                .disable_chaining();
            tag_sink(&mapped.forward(), 3, &s);
            Ok(())
        })
        .unwrap()
        .wait()
        .unwrap();
    let seen = seen.lock().unwrap();
    let mut per: BTreeMap<u32, Vec<u64>> = BTreeMap::new();
    for &(c, (p, v)) in seen.iter() {
        assert_eq!(c, p, "record of producer {p} reached consumer {c}");
        per.entry(c).or_default().push(v);
    }
    for c in 0..3 {
        // A forward edge is one channel: order is kept too.
        assert_eq!(
            per.get(&c).cloned().unwrap_or_default(),
            (0..n).map(|i| i * 2).collect::<Vec<_>>(),
            "consumer {c}"
        );
    }
}
