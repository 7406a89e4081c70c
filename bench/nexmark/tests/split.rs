//! The split into parallel generators (§11).

mod common;

use std::collections::HashSet;

use common::{connector_config, split_file_config, BASE_TIME};
use strom_nexmark::{split, Event, Generator, GeneratorConfig, NexmarkConfig};

fn small(num_events: u64, parallelism: u32) -> GeneratorConfig {
    connector_config(NexmarkConfig {
        num_events,
        num_event_generators: parallelism,
        ..NexmarkConfig::default()
    })
}

/// The event ids a configuration produces, in order.
fn event_ids(config: GeneratorConfig) -> Vec<i64> {
    Generator::new(config)
        .expect("valid")
        .map(|e| e.event_id)
        .collect()
}

#[test]
fn one_way_split_is_the_config_itself() {
    let config = split_file_config();
    assert_eq!(split(&config, 1).expect("valid"), vec![config]);
}

#[test]
fn blocks_are_contiguous_disjoint_and_cover_the_whole() {
    let config = split_file_config();
    for n in [2u32, 3, 7, 8, 64, 1000] {
        let splits = split(&config, n).expect("valid");
        assert_eq!(splits.len(), n as usize);
        let q = config.max_events / u64::from(n);
        let mut next_id = config.first_event_id;
        for (i, s) in splits.iter().enumerate() {
            assert_eq!(s.first_event_id, next_id, "n {n} split {i}");
            assert_eq!(s.stream_index, i as u64);
            assert_eq!(s.first_event_number, config.first_event_number);
            assert_eq!(s.base_time, config.base_time);
            assert_eq!(s.stop_at_event, None);
            if i + 1 < splits.len() {
                assert_eq!(s.max_events, q);
            }
            next_id += s.max_events;
        }
        assert_eq!(next_id, config.first_event_id + config.max_events, "n {n}");
    }
}

#[test]
fn split_generators_produce_exactly_the_unsplit_event_ids() {
    for n in [2u32, 3, 5] {
        let whole: HashSet<i64> = event_ids(small(10_000, n)).into_iter().collect();
        assert_eq!(whole.len(), 10_000);
        let mut union = HashSet::new();
        let mut people = HashSet::new();
        for s in split(&small(10_000, n), n).expect("valid") {
            let mut gen = Generator::new(s).expect("valid");
            let first = gen.next().expect("every split has events");
            assert_eq!(first.timestamp, BASE_TIME, "splits start together");
            for e in std::iter::once(first).chain(gen) {
                assert!(union.insert(e.event_id), "event id {} twice", e.event_id);
                if let Event::Person(p) = e.event {
                    assert!(people.insert(p.id), "person {} twice", p.id);
                }
            }
        }
        assert_eq!(union, whole, "n {n}");
        assert_eq!(people.len(), 10_000 / 50, "n {n}");
    }
}

#[test]
fn generators_run_side_by_side_in_event_time() {
    // With the delay scaled by 4 generators, each reaches event number c at the same time, so
    // together they produce `first_event_rate` events per second of event time.
    let splits = split(&small(4_000_000, 4), 4).expect("valid");
    let last_times: Vec<i64> = splits
        .into_iter()
        .map(|s| {
            Generator::new(s)
                .expect("valid")
                .take(10_000)
                .last()
                .expect("events")
                .timestamp
        })
        .collect();
    // Event number 10,000 at 400 µs per event: 4 s after the base time.
    assert_eq!(last_times, vec![BASE_TIME + 4_000; 4]);
}

#[test]
fn split_generators_use_distinct_random_streams() {
    let splits = split(&split_file_config(), 2).expect("valid");
    let bids: Vec<Vec<Event>> = splits
        .into_iter()
        .map(|s| {
            Generator::new(s)
                .expect("valid")
                .take(48)
                .map(|e| e.event)
                .filter(|e| matches!(e, Event::Bid(_)))
                .collect()
        })
        .collect();
    assert_eq!((bids[0].len(), bids[1].len()), (46, 46));
    let prices = |v: &[Event]| -> Vec<i64> {
        v.iter()
            .filter_map(|e| match e {
                Event::Bid(b) => Some(b.price),
                _ => None,
            })
            .collect()
    };
    assert_ne!(prices(&bids[0]), prices(&bids[1]));
}

#[test]
fn stop_at_is_divided_and_none_stays_none() {
    let config = connector_config(NexmarkConfig {
        num_events: 1_000,
        stop_at_event: Some(100),
        ..NexmarkConfig::default()
    });
    let splits = split(&config, 3).expect("valid");
    let stops: Vec<_> = splits.iter().map(|s| s.stop_at_event).collect();
    assert_eq!(stops, [Some(33), Some(33), Some(34)]);
    let produced: Vec<usize> = splits
        .into_iter()
        .map(|s| Generator::new(s).expect("valid").count())
        .collect();
    assert_eq!(produced, [33, 33, 34]);
    // The default (no stop) must not turn into "stop at 0" for any split (§11).
    for s in split(&small(1_000, 3), 3).expect("valid") {
        assert_eq!(s.stop_at_event, None);
        assert!(Generator::new(s).expect("valid").next().is_some());
    }
}

#[test]
fn more_splits_than_events_leave_the_rest_to_the_last() {
    let splits = split(&small(3, 5), 5).expect("valid");
    let counts: Vec<u64> = splits.iter().map(|s| s.max_events).collect();
    assert_eq!(counts, [0, 0, 0, 0, 3]);
    let total: usize = splits
        .into_iter()
        .map(|s| Generator::new(s).expect("valid").count())
        .sum();
    assert_eq!(total, 3);
}

#[test]
fn out_of_order_splits_are_disjoint_when_blocks_are_whole_groups() {
    let grouped = |num_events| {
        connector_config(NexmarkConfig {
            num_events,
            num_event_generators: 4,
            out_of_order_group_size: 10,
            ..NexmarkConfig::default()
        })
    };
    // 1000 / 4 = 250 events per generator, a multiple of the group size.
    let whole: HashSet<i64> = event_ids(grouped(1_000)).into_iter().collect();
    let mut union = HashSet::new();
    for s in split(&grouped(1_000), 4).expect("valid") {
        for id in event_ids(s) {
            assert!(union.insert(id), "event id {id} twice");
        }
    }
    assert_eq!(union, whole);
    // 1020 / 4 = 255: as in Java, the shuffled tails of neighbouring blocks overlap.
    let ids: Vec<i64> = split(&grouped(1_020), 4)
        .expect("valid")
        .into_iter()
        .flat_map(event_ids)
        .collect();
    let distinct: HashSet<i64> = ids.iter().copied().collect();
    assert!(distinct.len() < ids.len());
}

#[test]
fn zero_splits_is_an_error() {
    let err = split(&split_file_config(), 0).expect_err("n = 0");
    assert_eq!(err.field(), "n (split count)");
}
