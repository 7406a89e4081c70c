//! Bad configurations give an error naming the field, never a panic; edge-of-range
//! configurations generate events without panicking.

use strom_nexmark::strings::MAX_EXTRA_LEN;
use strom_nexmark::{
    Event, Generator, GeneratorConfig, NexmarkConfig, DEFAULT_SEED, MAX_AVG_BYTE_SIZE,
};

const BASE: i64 = 1_700_000_000_000;
const TOO_BIG_INT: u32 = i32::MAX as u32 + 1;

/// A change to the default configuration that makes it invalid.
type Breakage = fn(&mut NexmarkConfig);

/// Asserts that the default configuration changed by `breakage` is rejected, with `field`
/// named in the error and its message.
fn assert_rejected(breakage: Breakage, field: &str) {
    let mut nexmark = NexmarkConfig::default();
    breakage(&mut nexmark);
    let err = GeneratorConfig::new(nexmark.clone(), BASE, DEFAULT_SEED)
        .expect_err(&format!("{field}: config accepted"));
    assert_eq!(err.field(), field, "{err}");
    let message = err.to_string();
    assert!(
        message.contains(field),
        "message {message:?} does not name {field}"
    );
    assert_eq!(nexmark.validate(), Err(err));
}

const TOTAL: &str = "person_proportion + auction_proportion + bid_proportion";

#[test]
fn each_bad_field_is_named() {
    let cases: Vec<(Breakage, &str)> = vec![
        (|c| c.first_event_rate = 0, "first_event_rate"),
        (|c| c.first_event_rate = TOO_BIG_INT, "first_event_rate"),
        (|c| c.num_event_generators = 0, "num_event_generators"),
        (|c| c.person_proportion = TOO_BIG_INT, "person_proportion"),
        (|c| c.auction_proportion = TOO_BIG_INT, "auction_proportion"),
        (|c| c.bid_proportion = TOO_BIG_INT, "bid_proportion"),
        (|c| c.bid_proportion = i32::MAX as u32, TOTAL),
        (
            |c| (c.person_proportion, c.auction_proportion, c.bid_proportion) = (0, 0, 0),
            TOTAL,
        ),
        (
            |c| c.avg_person_byte_size = MAX_AVG_BYTE_SIZE + 1,
            "avg_person_byte_size",
        ),
        (
            |c| c.avg_auction_byte_size = u32::MAX,
            "avg_auction_byte_size",
        ),
        (
            |c| c.avg_bid_byte_size = MAX_AVG_BYTE_SIZE + 1,
            "avg_bid_byte_size",
        ),
        (|c| c.hot_auction_ratio = 0, "hot_auction_ratio"),
        (|c| c.hot_bidders_ratio = 0, "hot_bidders_ratio"),
        (|c| c.hot_sellers_ratio = 0, "hot_sellers_ratio"),
        (
            |c| c.num_in_flight_auctions = TOO_BIG_INT,
            "num_in_flight_auctions",
        ),
        (|c| c.num_active_people = TOO_BIG_INT, "num_active_people"),
        (|c| c.out_of_order_group_size = 0, "out_of_order_group_size"),
        (|c| c.num_events = u64::MAX, "num_events"),
        (|c| c.stop_at_event = Some(1 << 63), "stop_at_event"),
        // Unbounded (num_events 0) needs total proportion × largest size to be a positive
        // Java int.
        (
            |c| {
                (
                    c.avg_person_byte_size,
                    c.avg_auction_byte_size,
                    c.avg_bid_byte_size,
                ) = (0, 0, 0)
            },
            "num_events",
        ),
        (|c| c.bid_proportion = 5_000_000, "num_events"),
    ];
    for (breakage, field) in cases {
        assert_rejected(breakage, field);
    }
}

/// A change to a valid generator configuration that makes it invalid.
type GeneratorBreakage = fn(&mut GeneratorConfig);

#[test]
fn bad_generator_fields_are_named() {
    let good = GeneratorConfig::new(NexmarkConfig::default(), BASE, DEFAULT_SEED).expect("valid");
    let cases: Vec<(GeneratorBreakage, &str)> = vec![
        (|c| c.first_event_id = u64::MAX, "first_event_id"),
        (|c| c.first_event_number = 1 << 63, "first_event_number"),
        (|c| c.max_events = 1 << 63, "max_events"),
        (|c| c.stop_at_event = Some(u64::MAX), "stop_at_event"),
        (|c| c.stream_index = u64::MAX, "stream_index"),
        // Each fits on its own, but event ids would overflow.
        (
            |c| (c.first_event_id, c.max_events) = (1 << 62, 1 << 62),
            "max_events",
        ),
        (|c| c.nexmark.hot_sellers_ratio = 0, "hot_sellers_ratio"),
    ];
    for (breakage, field) in cases {
        let mut config = good.clone();
        breakage(&mut config);
        let err = Generator::new(config.clone()).expect_err(field);
        assert_eq!(err.field(), field, "{err}");
        assert!(err.to_string().contains(field), "{err}");
        assert_eq!(config.split(2).expect_err(field), err);
    }
}

/// Generates `n` events of `nexmark`, which must be valid.
fn run(nexmark: NexmarkConfig, n: usize) -> Vec<Event> {
    let config = GeneratorConfig::new(nexmark, BASE, DEFAULT_SEED).expect("valid edge config");
    Generator::new(config)
        .expect("valid")
        .take(n)
        .map(|e| e.event)
        .collect()
}

#[test]
fn edge_configurations_generate_without_panicking() {
    let d = NexmarkConfig::default;
    // Bids only: no people or auctions ever exist, ids still come out.
    let bids = run(
        NexmarkConfig {
            person_proportion: 0,
            auction_proportion: 0,
            ..d()
        },
        500,
    );
    assert!(bids.iter().all(|e| matches!(e, Event::Bid(_))));
    // Hot ratio 1: nextInt(1) is always 0, so nothing is ever hot.
    let cold = run(
        NexmarkConfig {
            hot_auction_ratio: 1,
            hot_bidders_ratio: 1,
            hot_sellers_ratio: 1,
            ..d()
        },
        2_000,
    );
    assert_eq!(cold.len(), 2_000);
    // Empty windows and a slow rate with a huge auction horizon (the `nextLong` branch).
    let slow = run(
        NexmarkConfig {
            first_event_rate: 1,
            num_in_flight_auctions: i32::MAX as u32,
            num_active_people: 0,
            ..d()
        },
        2_000,
    );
    assert!(slow
        .iter()
        .any(|e| matches!(e, Event::Auction(a) if a.expires - a.date_time > 1 << 31)));
    let empty = run(
        NexmarkConfig {
            num_in_flight_auctions: 0,
            ..d()
        },
        2_000,
    );
    assert_eq!(empty.len(), 2_000);
}

#[test]
fn the_largest_average_sizes_stay_within_the_pool() {
    let big = run(
        NexmarkConfig {
            num_events: 200,
            avg_person_byte_size: MAX_AVG_BYTE_SIZE,
            avg_auction_byte_size: MAX_AVG_BYTE_SIZE,
            avg_bid_byte_size: MAX_AVG_BYTE_SIZE,
            ..NexmarkConfig::default()
        },
        200,
    );
    for e in big {
        let extra = match &e {
            Event::Person(p) => &p.extra,
            Event::Auction(a) => &a.extra,
            Event::Bid(b) => &b.extra,
        };
        assert!(
            extra.len() > 300_000 && extra.len() <= MAX_EXTRA_LEN,
            "{}",
            extra.len()
        );
    }
}

#[test]
fn configs_deserialize_with_defaults_and_reject_wrong_types() {
    let partial: NexmarkConfig =
        serde_json::from_str(r#"{"first_event_rate": 1000, "stop_at_event": 50}"#)
            .expect("partial config");
    assert_eq!(partial.first_event_rate, 1000);
    assert_eq!(partial.stop_at_event, Some(50));
    assert_eq!(partial.bid_proportion, 46);
    let negative = serde_json::from_str::<NexmarkConfig>(r#"{"first_event_rate": -1}"#);
    assert!(negative.is_err());
}
