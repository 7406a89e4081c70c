//! Key groups: the unit of keyed state and of key partitioning.
//!
//! As in Flink: a key's group is `murmur(hash(key)) mod max_parallelism`, and subtask `i` of
//! an operator with parallelism `p` owns the contiguous range
//! `[ceil(i * max / p), ceil((i + 1) * max / p))`. Keyed state is kept and snapshotted per key
//! group, so it can be redistributed when the parallelism changes.
//!
//! The key hash must be the same in every process running the same binary: keys are hashed
//! with `rustc_hash::FxHasher` (deterministic, no random seed), then mixed with murmur3's
//! 64-bit finalizer (as Flink mixes `hashCode()` with murmur) so that nearby keys spread.

use std::hash::{Hash, Hasher};
use std::ops::Range;

/// The stable hash of a key.
#[inline]
pub fn key_hash<K: Hash + ?Sized>(key: &K) -> u64 {
    let mut h = rustc_hash::FxHasher::default();
    key.hash(&mut h);
    fmix64(h.finish())
}

#[inline]
fn fmix64(mut k: u64) -> u64 {
    k ^= k >> 33;
    k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
    k ^= k >> 33;
    k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    k ^ (k >> 33)
}

/// The key group of a key hash.
#[inline]
pub fn key_group(hash: u64, max_parallelism: u32) -> u32 {
    if max_parallelism.is_power_of_two() {
        (hash & (max_parallelism as u64 - 1)) as u32
    } else {
        (hash % max_parallelism as u64) as u32
    }
}

/// The subtask that owns a key group.
#[inline]
pub fn subtask_for_key_group(group: u32, max_parallelism: u32, parallelism: u32) -> u32 {
    ((group as u64 * parallelism as u64) / max_parallelism as u64) as u32
}

/// The key groups owned by `subtask`.
pub fn key_group_range(subtask: u32, max_parallelism: u32, parallelism: u32) -> Range<u32> {
    let (m, p) = (max_parallelism as u64, parallelism as u64);
    let start = (subtask as u64 * m).div_ceil(p);
    let end = ((subtask as u64 + 1) * m).div_ceil(p);
    start as u32..end as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_cover_all_groups_once_and_agree_with_routing() {
        for max in [1u32, 7, 128, 1000] {
            for p in 1..=max.min(9) {
                let mut next = 0;
                for s in 0..p {
                    let r = key_group_range(s, max, p);
                    assert_eq!(r.start, next);
                    for g in r.clone() {
                        assert_eq!(subtask_for_key_group(g, max, p), s, "max {max} p {p} g {g}");
                    }
                    next = r.end;
                }
                assert_eq!(next, max);
            }
        }
    }

    #[test]
    fn hashing_is_stable_and_spreads() {
        assert_eq!(key_hash(&42u64), key_hash(&42u64));
        assert_eq!(key_hash("word"), key_hash(&String::from("word")));
        let mut counts = [0u32; 128];
        for k in 0..12800u64 {
            counts[key_group(key_hash(&k), 128) as usize] += 1;
        }
        assert!(counts.iter().all(|&c| c > 50 && c < 150), "{counts:?}");
    }
}
