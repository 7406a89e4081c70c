//! Determinism, limits, checkpoint/restore and the model's encodings.

mod common;

use common::{connector_config, first_file_config, BASE_TIME};
use strom_nexmark::{
    Event, EventKind, GeneratedEvent, Generator, GeneratorConfig, GeneratorState, NexmarkConfig,
    StaticTables, Text,
};

fn generate(config: GeneratorConfig, n: usize) -> Vec<GeneratedEvent> {
    Generator::new(config)
        .expect("valid configuration")
        .take(n)
        .collect()
}

#[test]
fn same_seed_and_config_give_the_same_events() {
    let a = generate(first_file_config(), 20_000);
    let b = generate(first_file_config(), 20_000);
    assert_eq!(a.len(), 20_000);
    assert_eq!(a, b);
}

#[test]
fn the_seed_changes_random_fields_but_not_ids_kinds_or_times() {
    let a = generate(first_file_config(), 5_000);
    let mut other = first_file_config();
    other.seed = 7;
    let b = generate(other, 5_000);
    let mut differing = 0;
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.event_id, y.event_id);
        assert_eq!(x.timestamp, y.timestamp);
        assert_eq!(x.event.kind(), y.event.kind());
        match (&x.event, &y.event) {
            (Event::Person(p), Event::Person(q)) => assert_eq!(p.id, q.id),
            (Event::Auction(p), Event::Auction(q)) => assert_eq!(p.id, q.id),
            _ => {}
        }
        differing += usize::from(x.event != y.event);
    }
    assert_eq!(differing, 5_000, "every event has some random field");
}

#[test]
fn restoring_a_checkpoint_continues_the_exact_stream() {
    let all = generate(first_file_config(), 3_000);
    let mut gen = Generator::new(first_file_config()).expect("valid");
    let head: Vec<_> = gen.by_ref().take(1_234).collect();
    assert_eq!(head, all[..1_234]);
    let state = gen.state();
    assert_eq!(state.events_so_far, 1_234);
    let restored = Generator::restore(first_file_config(), state).expect("valid state");
    let tail: Vec<_> = restored.take(3_000 - 1_234).collect();
    assert_eq!(tail, all[1_234..]);
}

#[test]
fn restore_rejects_a_count_past_the_limit() {
    let mut config = first_file_config();
    config.max_events = 10;
    let state = GeneratorState {
        events_so_far: 11,
        rng_seed: 0,
    };
    let err = Generator::restore(config, state).expect_err("count past the limit");
    assert_eq!(err.field(), "events_so_far");
}

#[test]
fn num_events_and_stop_at_limit_the_stream() {
    let config = connector_config(NexmarkConfig {
        num_events: 500,
        ..NexmarkConfig::default()
    });
    let mut gen = Generator::new(config).expect("valid");
    assert_eq!(gen.size_hint(), (500, Some(500)));
    assert_eq!(gen.by_ref().count(), 500);
    assert!(!gen.has_next());
    assert!(gen.next().is_none(), "stays exhausted");

    let stopped = connector_config(NexmarkConfig {
        num_events: 500,
        stop_at_event: Some(120),
        ..NexmarkConfig::default()
    });
    let events = generate(stopped, 1_000);
    assert_eq!(events.len(), 120);
    assert_eq!(events[..], generate(first_file_config(), 120)[..]);
}

#[test]
fn timestamps_follow_the_rate_and_generator_count() {
    // Rate 1000 with 1 generator: 1 ms per event, event number n = c + 1.
    let config = connector_config(NexmarkConfig {
        first_event_rate: 1_000,
        ..NexmarkConfig::default()
    });
    for (c, e) in generate(config, 300).iter().enumerate() {
        assert_eq!(e.timestamp, BASE_TIME + c as i64 + 1);
        assert_eq!(e.wallclock_offset_ms, c as i64 + 1);
        assert_eq!(e.watermark, e.timestamp);
        assert_eq!(e.event.date_time(), e.timestamp);
    }
}

#[test]
fn auctions_expire_after_they_start_and_bidders_are_offset_twice() {
    for e in generate(first_file_config(), 10_000) {
        match e.event {
            Event::Auction(a) => {
                assert!(a.expires > a.date_time);
                assert!((10..=14).contains(&a.category));
                assert!(a.reserve > a.initial_bid);
            }
            Event::Bid(b) => {
                assert!(b.bidder >= 2000, "bidder {}", b.bidder);
                assert!((100..=100_000_000).contains(&b.price));
            }
            Event::Person(p) => assert!(p.id >= 1001),
        }
    }
}

#[test]
fn events_round_trip_through_rkyv_and_serde() {
    for e in generate(first_file_config(), 60) {
        let bytes = rkyv::to_bytes::<rkyv::rancor::Error>(&e.event).expect("rkyv encodes");
        let back = rkyv::from_bytes::<Event, rkyv::rancor::Error>(&bytes).expect("rkyv decodes");
        assert_eq!(back, e.event);
        let json = serde_json::to_string(&e.event).expect("serde encodes");
        let back: Event = serde_json::from_str(&json).expect("serde decodes");
        assert_eq!(back, e.event);
        assert!(
            table_texts(&back).iter().all(|t| !t.is_borrowed()),
            "decoded text is owned"
        );
    }
    assert_eq!(EventKind::Bid as i32, 2);
}

/// The fields of an event that the generator takes from its static tables.
fn table_texts(e: &Event) -> Vec<&Text> {
    match e {
        Event::Person(p) => vec![&p.city, &p.state, &p.extra],
        Event::Auction(a) => vec![&a.extra],
        Event::Bid(b) => vec![&b.channel, &b.url, &b.extra],
    }
}

#[test]
fn generated_events_borrow_their_table_strings_and_serialize_them_whole() {
    let config = first_file_config();
    let tables = StaticTables::shared(config.seed);
    // Whether `t` lies inside `whole` (by address: borrowed, not an equal copy).
    let inside = |t: &Text, whole: &str| {
        let w = whole.as_bytes().as_ptr_range();
        let t = t.as_bytes().as_ptr_range();
        t.start >= w.start && t.end <= w.end
    };
    let in_pool = |t: &Text| t.is_empty() || inside(t, tables.pool());
    let in_channels = |t: &Text| {
        let all = tables.hot_channels().iter().chain(tables.channels().iter());
        all.into_iter()
            .any(|c| inside(t, c.name) || inside(t, c.url))
    };
    let mut bids = 0;
    for e in generate(config, 500) {
        for t in table_texts(&e.event) {
            assert!(t.is_borrowed(), "{t:?} is not borrowed");
        }
        match &e.event {
            Event::Bid(b) => {
                bids += 1;
                assert!(in_channels(&b.channel) && in_channels(&b.url), "{b:?}");
                assert!(in_pool(&b.extra), "{b:?}");
                let json = serde_json::to_value(b).expect("serde encodes");
                assert_eq!(json["extra"], b.extra.as_str());
                assert_eq!(json["url"], b.url.as_str());
            }
            Event::Auction(a) => assert!(in_pool(&a.extra), "{a:?}"),
            Event::Person(p) => assert!(in_pool(&p.extra), "{p:?}"),
        }
    }
    assert!(bids > 400, "the default mix is mostly bids");
}
