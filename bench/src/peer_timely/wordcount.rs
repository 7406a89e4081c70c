//! The `wordcount` workload: per worker, a source generates lines of
//! [`WORDS_PER_LINE`] words drawn from the vocabulary `w0..w9999` by an LCG
//! seeded with the worker index (generation is a `push_str` of pre-built
//! words, so it stays cheap); a `Split` operator turns each line into owned
//! `String` words; words are exchanged on [`hash_str`]; a `WordCount`
//! operator keeps an `FxHashMap<String,u64>` and emits `(word, count)` for
//! every word into the counting sink. Throughput is reported in words/s.

use rustc_hash::{FxHashMap, FxHasher};
use std::hash::Hasher;
use timely::dataflow::channels::pact::{Exchange, Pipeline};
use timely::dataflow::operators::generic::operator::source;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::{Scope, StreamVec};

use super::{counting_sink, SinkOut};

/// Number of distinct words in `wordcount`'s vocabulary.
pub const VOCAB: usize = 10_000;
/// Words per generated line in `wordcount`.
pub const WORDS_PER_LINE: u64 = 10;
/// Lines a `wordcount` source emits per activation.
pub const LINES_PER_BATCH: u64 = 1024;

/// Hash of a word, for routing.
#[inline]
pub fn hash_str(s: &str) -> u64 {
    let mut h = FxHasher::default();
    h.write(s.as_bytes());
    h.finish()
}

/// Knuth's MMIX LCG step; the word index is taken from the high bits.
#[inline]
pub fn lcg_next(state: &mut u64) -> usize {
    *state = state
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    ((*state >> 33) % VOCAB as u64) as usize
}

/// The vocabulary `w0 .. w{VOCAB-1}`.
pub fn vocabulary() -> Vec<String> {
    (0..VOCAB).map(|i| format!("w{i}")).collect()
}

/// Fills `line` with the next `WORDS_PER_LINE` words of the LCG stream.
#[inline]
pub fn next_line(state: &mut u64, vocab: &[String], line: &mut String) {
    line.clear();
    for j in 0..WORDS_PER_LINE {
        if j > 0 {
            line.push(' ');
        }
        line.push_str(&vocab[lcg_next(state)]);
    }
}

/// `(lo, hi)` is this worker's share of lines; `seed` its LCG seed.
pub(super) fn wordcount(scope: Scope<'_, u64>, (lo, hi): (u64, u64), seed: u64, out: SinkOut) {
    let lines: StreamVec<'_, u64, String> = source(scope, "LineSource", move |cap, info| {
        let activator = scope.activator_for(info.address);
        let vocab = vocabulary();
        let mut cap = Some(cap);
        let mut state = seed;
        let mut left = hi - lo;
        move |output| {
            if let Some(c) = cap.as_ref() {
                let batch = left.min(LINES_PER_BATCH);
                let mut session = output.session(c);
                for _ in 0..batch {
                    let mut line = String::with_capacity(64);
                    next_line(&mut state, &vocab, &mut line);
                    session.give(line);
                }
                drop(session);
                left -= batch;
                if left == 0 {
                    cap = None;
                } else {
                    activator.activate();
                }
            }
        }
    });
    let words: StreamVec<'_, u64, String> = lines.unary(Pipeline, "Split", |_cap, _info| {
        move |input, output| {
            input.for_each_time(|time, data| {
                let mut session = output.session(&time);
                for batch in data {
                    for line in batch.iter() {
                        for w in line.split(' ') {
                            session.give(w.to_owned());
                        }
                    }
                }
            });
        }
    });
    let counts = words.unary(
        Exchange::new(|w: &String| hash_str(w)),
        "WordCount",
        |_cap, _info| {
            let mut counts: FxHashMap<String, u64> = FxHashMap::default();
            move |input, output| {
                input.for_each_time(|time, data| {
                    let mut session = output.session(&time);
                    for batch in data {
                        for w in batch.drain(..) {
                            let c = match counts.get_mut(w.as_str()) {
                                Some(c) => {
                                    *c += 1;
                                    *c
                                }
                                None => {
                                    counts.insert(w.clone(), 1);
                                    1
                                }
                            };
                            session.give((w, c));
                        }
                    }
                });
            }
        },
    );
    counting_sink(counts, out, |(w, c): &(String, u64)| {
        hash_str(w).wrapping_add(*c)
    });
}
