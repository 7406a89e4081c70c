//! Shared test helpers: the vector files and the configurations that produced them.
#![allow(dead_code)]

use std::path::PathBuf;

use serde_json::Value;
use strom_nexmark::{GeneratedEvent, GeneratorConfig, NexmarkConfig, DEFAULT_SEED};

/// The base time of every vector file: 2023-11-14T22:13:20Z.
pub const BASE_TIME: i64 = 1_700_000_000_000;

/// The vector directory: a copy of `shared/reference/nexmark-vectors` (produced by the real
/// Java generator; see its README) kept in the repository, so a clean clone can run the
/// tests.
pub fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

/// The text of a vector file; fails the test with the path if it cannot be read.
pub fn read_vector_file(name: &str) -> String {
    let path = vectors_dir().join(name);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read vector file {}: {e}", path.display()))
}

/// The lines of a JSONL vector file, parsed.
pub fn read_jsonl(name: &str) -> Vec<Value> {
    read_vector_file(name)
        .lines()
        .enumerate()
        .map(|(i, line)| {
            serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("{name} line {}: invalid JSON: {e}", i + 1))
        })
        .collect()
}

/// The connector's configuration with the given Nexmark settings, base time and seed of the
/// vectors.
pub fn connector_config(nexmark: NexmarkConfig) -> GeneratorConfig {
    GeneratorConfig::new(nexmark, BASE_TIME, DEFAULT_SEED).expect("valid vector configuration")
}

/// `events-first-2000.jsonl`: defaults, one generator, unbounded.
pub fn first_file_config() -> GeneratorConfig {
    connector_config(NexmarkConfig::default())
}

/// `events-outoforder.jsonl`: like the first file with out-of-order groups of 10.
pub fn outoforder_config() -> GeneratorConfig {
    connector_config(NexmarkConfig {
        out_of_order_group_size: 10,
        ..NexmarkConfig::default()
    })
}

/// `events-split.jsonl`: parallelism 2 over 100,000,000 events (the unsplit configuration).
pub fn split_file_config() -> GeneratorConfig {
    connector_config(NexmarkConfig {
        num_events: 100_000_000,
        num_event_generators: 2,
        ..NexmarkConfig::default()
    })
}

/// Integer field `key` of a JSON object; fails the test if missing.
pub fn int(v: &Value, key: &str) -> i64 {
    v.get(key)
        .and_then(Value::as_i64)
        .unwrap_or_else(|| panic!("missing integer `{key}` in {v}"))
}

/// Compares one vector line with a generated event, field by field: the line's event id and
/// kind, and every field of the event object (no field missing, none extra, none different).
pub fn assert_matches_line(file: &str, line: &Value, got: &GeneratedEvent) {
    let i = int(line, "i");
    let at = format!("{file} gen {} i {i}", int(line, "gen"));
    assert_eq!(got.event_id, int(line, "eventId"), "{at}: eventId");
    let kind = got.event.kind().name();
    assert_eq!(
        line.get("kind").and_then(Value::as_str),
        Some(kind),
        "{at}: kind"
    );
    let expected = line
        .get(kind)
        .and_then(Value::as_object)
        .unwrap_or_else(|| panic!("{at}: no `{kind}` object"));
    let generated = serde_json::to_value(&got.event).expect("events serialise");
    let generated = generated
        .get(kind)
        .and_then(Value::as_object)
        .unwrap_or_else(|| panic!("{at}: serialised event has no `{kind}` object"));
    let mut keys: Vec<&String> = expected.keys().chain(generated.keys()).collect();
    keys.sort();
    keys.dedup();
    for key in keys {
        assert_eq!(generated.get(key), expected.get(key), "{at}: {kind}.{key}");
    }
    assert_eq!(got.timestamp, got.event.date_time(), "{at}: timestamp");
}
