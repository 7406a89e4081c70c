//! The generator against the Java test vectors (`tests/vectors/`, a copy of `shared/reference/nexmark-vectors/`): every
//! field of every event of the three event files, and the static tables.

mod common;
#[path = "common/sha256.rs"]
mod sha256;

use common::{
    assert_matches_line, first_file_config, int, outoforder_config, read_jsonl, read_vector_file,
    split_file_config,
};
use serde_json::{json, Value};
use strom_nexmark::{split, Event, GeneratedEvent, Generator, GeneratorConfig, StaticTables};

/// Generates `n` events of `config` and compares them with `lines`, which must be that
/// generator's first `n` events in order.
fn check_file(file: &str, config: GeneratorConfig, gen: i64, lines: &[Value]) {
    let events: Vec<GeneratedEvent> = Generator::new(config)
        .expect("valid configuration")
        .take(lines.len())
        .collect();
    assert_eq!(events.len(), lines.len(), "{file}: generator ended early");
    for (i, (line, got)) in lines.iter().zip(&events).enumerate() {
        assert_eq!(int(line, "gen"), gen, "{file}: line {}", i + 1);
        assert_eq!(int(line, "i"), i as i64, "{file}: line {}", i + 1);
        assert_matches_line(file, line, got);
        // The typed model reads the Java object back into an equal event.
        let kind = got.event.kind().name();
        let typed: Event = serde_json::from_value(json!({ kind: line[kind].clone() }))
            .unwrap_or_else(|e| panic!("{file} i {i}: vector does not fit the model: {e}"));
        assert_eq!(typed, got.event, "{file} i {i}: typed comparison");
    }
}

#[test]
fn first_2000_events_match() {
    let lines = read_jsonl("events-first-2000.jsonl");
    assert_eq!(lines.len(), 2000);
    check_file("events-first-2000.jsonl", first_file_config(), 0, &lines);
}

#[test]
fn out_of_order_events_match() {
    let lines = read_jsonl("events-outoforder.jsonl");
    assert_eq!(lines.len(), 200);
    check_file("events-outoforder.jsonl", outoforder_config(), 0, &lines);
}

#[test]
fn split_events_match() {
    let lines = read_jsonl("events-split.jsonl");
    assert_eq!(lines.len(), 400);
    let splits = split(&split_file_config(), 2).expect("valid split");
    assert_eq!(splits.len(), 2);
    let layout: Vec<_> = splits
        .iter()
        .map(|c| {
            (
                c.first_event_id,
                c.max_events,
                c.first_event_number,
                c.stop_at_event,
            )
        })
        .collect();
    assert_eq!(
        layout,
        [(1, 50_000_000, 1, None), (50_000_001, 50_000_000, 1, None)]
    );
    let (first, second) = lines.split_at(200);
    check_file("events-split.jsonl", splits[0].clone(), 0, first);
    check_file("events-split.jsonl", splits[1].clone(), 1, second);
}

/// `channel<TAB>url<LF>` for every table entry, concatenated.
fn channel_lines(tables: &StaticTables) -> String {
    tables
        .channels()
        .iter()
        .map(|c| format!("{}\t{}\n", c.name, c.url))
        .collect()
}

#[test]
fn static_tables_match() {
    let expected: Value = serde_json::from_str(&read_vector_file("static-tables.json"))
        .expect("static-tables.json is JSON");
    let seed = expected["seed_defaultGen"].as_u64().expect("seed");
    let tables = StaticTables::shared(seed);
    let pool = tables.pool();
    assert_eq!(pool.len() as u64, expected["extra_pool_length"]);
    assert_eq!(
        sha256::sha256_hex(pool.as_bytes()),
        expected["extra_pool_sha256_utf8"]
    );
    assert_eq!(&pool[..200], expected["extra_pool_first_200"]);
    assert_eq!(&pool[pool.len() - 200..], expected["extra_pool_last_200"]);

    let hot: Vec<&str> = tables.hot_channels().iter().map(|c| c.url).collect();
    assert_eq!(json!(hot), expected["hot_urls"]);
    let hot_names: Vec<&str> = tables.hot_channels().iter().map(|c| c.name).collect();
    assert_eq!(hot_names, ["Google", "Facebook", "Baidu", "Apple"]);

    assert_eq!(tables.channels().len(), 10_000);
    assert_eq!(
        sha256::sha256_hex(channel_lines(tables).as_bytes()),
        expected["channel_table_sha256_of_lines"]
    );
    let first_50: Vec<[&str; 2]> = tables
        .channels()
        .iter()
        .take(50)
        .map(|c| [c.name, c.url])
        .collect();
    assert_eq!(json!(first_50), expected["channel_table_first_50"]);
}

#[test]
fn shared_tables_are_built_once_per_seed() {
    let a = StaticTables::shared(42);
    let b = StaticTables::shared(42);
    assert!(std::ptr::eq(a, b));
    let other = StaticTables::shared(43);
    assert_eq!(other.seed(), 43);
    assert_ne!(a.pool(), other.pool());
    // Two generators of one seed share the tables.
    let g0 = Generator::new(first_file_config()).expect("valid");
    let g1 = Generator::new(outoforder_config()).expect("valid");
    assert!(std::ptr::eq(g0.tables(), g1.tables()));
}

#[test]
fn appendix_b_highlights() {
    let events: Vec<GeneratedEvent> = Generator::new(first_file_config())
        .expect("valid")
        .take(2000)
        .collect();
    let base = common::BASE_TIME;
    let Event::Auction(a0) = &events[0].event else {
        panic!("event 0 is not an auction")
    };
    assert_eq!((a0.id, a0.seller, a0.category), (1001, 1000, 11));
    assert_eq!((a0.date_time, a0.expires), (base, base + 26));
    let Event::Bid(b2) = &events[2].event else {
        panic!("event 2 is not a bid")
    };
    assert_eq!((b2.auction, b2.bidder), (1011, 2001));
    let Event::Auction(last) = &events[1999].event else {
        panic!("event 1999 is not an auction")
    };
    assert_eq!(
        (events[1999].event_id, last.id, last.date_time),
        (2001, 1120, base + 200)
    );
    // Extra lengths over the first 2000 events: exactly these ranges (Appendix B).
    let mut ranges = [(usize::MAX, 0usize); 3];
    for e in &events {
        let (kind, len) = match &e.event {
            Event::Person(p) => (0, p.extra.len()),
            Event::Auction(a) => (1, a.extra.len()),
            Event::Bid(b) => (2, b.extra.len()),
        };
        ranges[kind] = (ranges[kind].0.min(len), ranges[kind].1.max(len));
    }
    assert_eq!(ranges, [(112, 160), (285, 513), (54, 81)]);
}
