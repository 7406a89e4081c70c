//! Records cross slots through the exchange: key partitioning (each key on the subtask
//! Flink's key-group rule names), order per channel, nothing lost.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};
use strom_runtime::sink::CollectHandle;
use strom_tests::cluster;
use strom_tests::tagging::tag_sink;

/// The subtask that owns `key` under Flink's key-group rule, computed here from the
/// documented recipe rather than by the runtime's functions: the key's hash (FxHash, then
/// murmur3's 64-bit finalizer), its key group `hash mod max_parallelism`, and the owner
/// `key_group * parallelism / max_parallelism`.
fn owner_of(key: u64, parallelism: u32, max_parallelism: u32) -> u32 {
    let mut h = rustc_hash::FxHasher::default();
    key.hash(&mut h);
    let mut k = h.finish();
    k ^= k >> 33;
    k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
    k ^= k >> 33;
    k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    k ^= k >> 33;
    let group = k % max_parallelism as u64;
    (group * parallelism as u64 / max_parallelism as u64) as u32
}

/// (processing subtask, (key, value)) as the sink subtasks saw them.
type Seen = Arc<Mutex<Vec<(u32, (u64, u64))>>>;

#[test]
fn every_record_of_a_key_reaches_one_subtask_in_order() {
    let c = cluster(4);
    // The default max parallelism (128, a power of two) and one that is not.
    for max_parallelism in [None, Some(100u32)] {
        let seen: Seen = Arc::default();
        let s = seen.clone();
        c.execute("key-partitioning", move |env| {
            let keyed = env
                .from_sequence(0, 200_000)
                .set_parallelism(1)
                .key_by(|x: &u64| x % 97)
                .process(
                    |x: u64, ctx: &mut strom_runtime::api::KeyedContext<'_, u64, (u64, u64)>| {
                        ctx.collect((*ctx.key(), x));
                        Ok(())
                    },
                )
                .set_parallelism(4);
            let keyed = match max_parallelism {
                Some(m) => keyed.set_max_parallelism(m),
                None => keyed,
            };
            // A forward edge: sink subtask i sees exactly what process subtask i emitted.
            tag_sink(&keyed.forward(), 4, &s);
            Ok(())
        })
        .unwrap()
        .wait()
        .unwrap();
        let items = std::mem::take(&mut *seen.lock().unwrap());
        assert_eq!(items.len(), 200_000, "nothing lost, nothing duplicated");
        // Order per key: one source subtask feeds each consumer over one channel, so values of a
        // key arrive increasing.
        let mut last: HashMap<u64, u64> = HashMap::new();
        let mut owner: BTreeMap<u64, u32> = BTreeMap::new();
        for &(subtask, (k, x)) in &items {
            assert_eq!(x % 97, k);
            if let Some(prev) = last.insert(k, x) {
                assert!(prev < x, "key {k}: {x} after {prev}");
            }
            let first = *owner.entry(k).or_insert(subtask);
            assert_eq!(
                first, subtask,
                "key {k} processed by subtasks {first} and {subtask}"
            );
        }
        assert_eq!(owner.len(), 97);
        let max = max_parallelism.unwrap_or(128);
        for (&k, &subtask) in &owner {
            assert_eq!(
                subtask,
                owner_of(k, 4, max),
                "key {k} (max parallelism {max}) on the wrong subtask"
            );
        }
        // Not trivially true: the keys spread over every subtask.
        let used: BTreeSet<u32> = owner.values().copied().collect();
        assert_eq!(used.len(), 4, "{used:?}");
    }
}

#[test]
fn keyed_reduce_across_slots_matches_a_sequential_count() {
    let c = cluster(3);
    let out = CollectHandle::<(u64, u64)>::new();
    let o = out.clone();
    c.execute("keyed-count", move |env| {
        env.from_sequence(0, 300_000)
            .map(|x| (x * 7919 % 1000, 1u64))
            .key_by(|p: &(u64, u64)| p.0)
            .reduce(|a, b| (a.0, a.1 + b.1))
            .collect(&o);
        Ok(())
    })
    .unwrap()
    .wait()
    .unwrap();
    // Rolling counts: the largest count seen per key is the final count.
    let mut got: BTreeMap<u64, u64> = BTreeMap::new();
    for (k, n) in out.items() {
        let e = got.entry(k).or_default();
        *e = (*e).max(n);
    }
    let mut want: BTreeMap<u64, u64> = BTreeMap::new();
    for x in 0..300_000u64 {
        *want.entry(x * 7919 % 1000).or_default() += 1;
    }
    assert_eq!(got, want);
    assert_eq!(out.items().len(), 300_000);
}

#[test]
fn rebalance_broadcast_and_union() {
    let c = cluster(3);
    let out = CollectHandle::<u64>::new();
    let o = out.clone();
    c.execute("shapes", move |env| {
        let a = env
            .from_sequence(0, 1000)
            .set_parallelism(2)
            .rebalance()
            .map(|x| x * 2)
            .set_parallelism(3);
        let b = env
            .from_collection(vec![1u64, 3, 5])
            .broadcast()
            .map(|x| x + 10_000)
            .set_parallelism(3);
        a.union(&[b]).collect(&o);
        Ok(())
    })
    .unwrap()
    .wait()
    .unwrap();
    let mut got = out.items();
    got.sort();
    let mut want: Vec<u64> = (0..1000).map(|x| x * 2).collect();
    for v in [10_001u64, 10_003, 10_005] {
        want.extend([v, v, v]); // broadcast to 3 subtasks
    }
    want.sort();
    assert_eq!(got, want);
}
