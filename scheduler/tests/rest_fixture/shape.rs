//! Flink's recorded answers and the comparisons: same keys and JSON types as Flink
//! (`assert_shape`), expected values by JSON pointer (`expect_fields`), and Flink's error shape
//! (`assert_error`).

use super::Answer;
use serde_json::Value;
use std::path::PathBuf;

/// Flink's recorded answer `name` from `tests/fixtures/flink-rest/` (a copy of `shared/flink-rest/`).
pub fn flink_sample(name: &str) -> Value {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/flink-rest");
    let path = dir.join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(s) if s == "NaN" => "NaN",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Checks that every key of Flink's `flink` is in `ours` with the same JSON type, recursively
/// (arrays by their first element; a number and `"NaN"` are the same type, as Flink writes
/// either for a double). Returns the paths where our array was empty and Flink's was not
/// (nothing to compare there).
pub fn assert_shape(flink: &Value, ours: &Value) -> Vec<String> {
    let mut empty = Vec::new();
    shape(flink, ours, "$", &mut empty);
    empty
}

fn shape(flink: &Value, ours: &Value, at: &str, empty: &mut Vec<String>) {
    let (fk, ok) = (kind(flink), kind(ours));
    let numeric = |k| k == "number" || k == "NaN";
    assert!(
        fk == ok || (numeric(fk) && numeric(ok)),
        "{at}: Flink has {fk} ({flink}), we have {ok} ({ours})"
    );
    match (flink, ours) {
        (Value::Object(f), Value::Object(o)) => {
            for (k, fv) in f {
                let ov = o.get(k).unwrap_or_else(|| {
                    panic!(
                        "{at}: missing key {k:?}; we have {:?}",
                        o.keys().collect::<Vec<_>>()
                    )
                });
                shape(fv, ov, &format!("{at}.{k}"), empty);
            }
        }
        (Value::Array(f), Value::Array(o)) => match (f.first(), o.first()) {
            (Some(fv), Some(ov)) => shape(fv, ov, &format!("{at}[0]"), empty),
            (Some(_), None) => empty.push(at.to_string()),
            _ => {}
        },
        _ => {}
    }
}

/// Asserts an `{"errors": [message]}` answer with `status` whose message contains `needle`.
pub fn assert_error(a: &Answer, status: u16, needle: &str) {
    assert_eq!(a.status, status, "{}", a.json);
    let errors = a.json["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("no errors array: {}", a.json));
    assert_eq!(errors.len(), 1, "{}", a.json);
    let msg = errors[0].as_str().unwrap();
    assert!(
        msg.contains(needle),
        "message {msg:?} does not name {needle:?}"
    );
    assert_eq!(
        a.json.as_object().unwrap().len(),
        1,
        "only errors: {}",
        a.json
    );
    assert!(a
        .content_type
        .as_deref()
        .unwrap_or("")
        .starts_with("application/json"));
}

/// Asserts `v` at each JSON pointer (`/a/0/b`) equals the expected value.
pub fn expect_fields(v: &Value, expected: &[(&str, Value)]) {
    for (pointer, want) in expected {
        let got = v
            .pointer(pointer)
            .unwrap_or_else(|| panic!("{pointer}: missing in {v}"));
        assert_eq!(got, want, "at {pointer}");
    }
}
