//! The Nexmark queries without state across records, through the real `strom` binary
//! (`strom run -p P nexmark-qN … --output FILE`): the per-bid projections, filters and
//! calculated columns (q0, q1, q2, q14, q21, q22), q13's lookup join with a static side
//! table (generated, or read from a file, and bad files rejected), and q10's output
//! partitioned into files by day and minute. Their CSV rows are compared, as multisets, with
//! references computed here directly from the strom-nexmark generator's events: plain loops
//! and maps following the definitions of `shared/reference/nexmark.md` §13, not the
//! DataStream API. The helpers, and the calendar the references use, are in
//! `common/nexmark.rs`; their own checks come first.
//!
//! Calendar columns (q14's hour, q10's day and minute) are computed with the civil-from-days
//! algorithm, independently of the jobs' own date code; the setups that test them use a low
//! event rate, so that the events' times span hours or cross midnight.

mod common;

use common::nexmark::*;
use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use strom_nexmark::Event;

// ---- The references' own helpers: DECIMAL formatting and the UTC calendar.

#[test]
fn decimal_formatting_matches_the_reference_example() {
    assert_eq!(times_0_908(1234), "1120.472");
    assert_eq!(times_0_908(100), "90.800");
}

#[test]
fn the_calendar_matches_known_dates() {
    assert_eq!(date(0), "1970-01-01");
    assert_eq!(date(-1), "1969-12-31");
    assert_eq!(date(BASE_TIME), "2023-11-14");
    assert_eq!(hour_minute(BASE_TIME), "22:13");
    assert_eq!(date(MIDNIGHT), "2023-11-14");
    assert_eq!(date(MIDNIGHT - 1), "2023-11-13");
    assert_eq!(hour_minute(MIDNIGHT - 1), "23:59");
    assert_eq!(date(951_782_400_000), "2000-02-29");
    assert_eq!(date(4_107_542_400_000), "2100-03-01");
}

// ---- q0, q1, q2: per-bid projections and a filter.

#[test]
fn q0_pass_through() {
    let want = all_bids(default_events())
        .iter()
        .map(|b| {
            row(&[
                b.auction.to_string(),
                b.bidder.to_string(),
                b.price.to_string(),
                b.date_time.to_string(),
                s(&b.extra),
            ])
        })
        .collect();
    assert_same_rows("q0", run("nexmark-q0", DEFAULT), want);
}

#[test]
fn q1_currency_conversion() {
    let want = all_bids(default_events())
        .iter()
        .map(|b| {
            row(&[
                b.auction.to_string(),
                b.bidder.to_string(),
                times_0_908(b.price),
                b.date_time.to_string(),
                s(&b.extra),
            ])
        })
        .collect();
    assert_same_rows("q1", run("nexmark-q1", DEFAULT), want);
}

#[test]
fn q2_selection() {
    let want = all_bids(default_events())
        .iter()
        .filter(|b| b.auction % 123 == 0)
        .map(|b| row(&[b.auction.to_string(), b.price.to_string()]))
        .collect();
    assert_same_rows("q2", run("nexmark-q2", DEFAULT), want);
}

// ---- q14: a filter and calculated columns.

/// One event per second from 05:00 UTC: 60,000 events cover 05:00–21:40, every hour of
/// q14's three time types and their edges.
const HOURS: Setup = Setup {
    events: 60_000,
    rate: 1,
    base_time: MIDNIGHT + 5 * 3_600_000 + 6,
    ..DEFAULT
};

fn check_q14(setup: Setup, events: &[Vec<Event>]) {
    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    let mut want = Vec::new();
    for b in all_bids(events) {
        // 1,000,000 < 0.908 × price < 50,000,000, exactly: in thousandths.
        let t = i128::from(b.price) * 908;
        if !(1_000_000_000 < t && t < 50_000_000_000) {
            continue;
        }
        let hour: i64 = hour_minute(b.date_time)[..2].parse().expect("an hour");
        let kind = if (8..=18).contains(&hour) {
            "dayTime"
        } else if hour <= 6 || hour >= 20 {
            "nightTime"
        } else {
            "otherTime"
        };
        *kinds.entry(kind).or_default() += 1;
        let c_counts = b.extra.chars().filter(|&c| c == 'c').count();
        want.push(row(&[
            b.auction.to_string(),
            b.bidder.to_string(),
            times_0_908(b.price),
            kind.to_string(),
            b.date_time.to_string(),
            s(&b.extra),
            c_counts.to_string(),
        ]));
    }
    eprintln!("q14: {} rows, by time type {kinds:?}", want.len());
    assert_same_rows("q14", run("nexmark-q14", setup), want);
}

#[test]
fn q14_calculation() {
    check_q14(DEFAULT, default_events());
}

#[test]
fn q14_calculation_over_a_day() {
    let events = HOURS.events();
    let hours: HashSet<String> = all_bids(&events)
        .iter()
        .map(|b| hour_minute(b.date_time)[..2].to_string())
        .collect();
    for h in ["05", "06", "07", "08", "18", "19", "20", "21"] {
        assert!(hours.contains(h), "q14: the setup should cover hour {h}");
    }
    check_q14(HOURS, &events);
}

// ---- q21, q22: per-bid string functions.

/// Group 2 of the first match of `(&|^)channel_id=([^&]*)`: the first position where
/// `channel_id=` starts the URL or follows a `&`, up to the next `&`.
fn regexp_extract_channel_id(url: &str) -> Option<String> {
    const P: &str = "channel_id=";
    let b = url.as_bytes();
    (0..b.len())
        .find(|&i| url[i..].starts_with(P) && (i == 0 || b[i - 1] == b'&'))
        .map(|i| {
            url[i + P.len()..]
                .chars()
                .take_while(|&c| c != '&')
                .collect()
        })
}

#[test]
fn q21_channel_id() {
    let mut want = Vec::new();
    let (mut dropped, mut from_url, mut negative) = (0, 0, 0);
    for b in all_bids(default_events()) {
        let id = match b.channel.to_lowercase().as_str() {
            "apple" => Some("0".to_string()),
            "google" => Some("1".to_string()),
            "facebook" => Some("2".to_string()),
            "baidu" => Some("3".to_string()),
            _ => regexp_extract_channel_id(&b.url),
        };
        let Some(id) = id else {
            dropped += 1;
            continue;
        };
        from_url += usize::from(!b.channel.starts_with(char::is_uppercase));
        negative += usize::from(id.starts_with('-'));
        want.push(row(&[
            b.auction.to_string(),
            b.bidder.to_string(),
            b.price.to_string(),
            s(&b.channel),
            s(&id),
        ]));
    }
    eprintln!(
        "q21: {} rows, {from_url} ids from the URL ({negative} negative), {dropped} bids dropped",
        want.len()
    );
    assert!(dropped > 0 && from_url > 0, "q21: both cases should occur");
    assert_same_rows("q21", run("nexmark-q21", DEFAULT), want);
}

#[test]
fn q22_url_directories() {
    let want = all_bids(default_events())
        .iter()
        .map(|b| {
            let parts: Vec<&str> = b.url.split('/').collect();
            let dir = |i: usize| s(parts.get(i).copied().unwrap_or(""));
            row(&[
                b.auction.to_string(),
                b.bidder.to_string(),
                b.price.to_string(),
                s(&b.channel),
                dir(3),
                dir(4),
                dir(5),
            ])
        })
        .collect();
    assert_same_rows("q22", run("nexmark-q22", DEFAULT), want);
}

// ---- q13: a lookup join with a side table.

/// q13's rows for a side table of `(key, value)` rows: every bid with each value of the key
/// `auction % 10000` (Java's `%`).
fn q13_reference(events: &[Vec<Event>], table: &[(i64, String)]) -> Vec<String> {
    let mut want = Vec::new();
    for b in all_bids(events) {
        for (key, value) in table {
            if *key == b.auction % 10_000 {
                want.push(row(&[
                    b.auction.to_string(),
                    b.bidder.to_string(),
                    b.price.to_string(),
                    b.date_time.to_string(),
                    s(value),
                ]));
            }
        }
    }
    want
}

#[test]
fn q13_side_input_join_generated_table() {
    // Nexmark's side-input generator: 10,000 rows `i,i`.
    let table: Vec<(i64, String)> = (0..10_000).map(|i| (i, i.to_string())).collect();
    let events = Setup {
        events: 50_000,
        ..DEFAULT
    };
    let want = q13_reference(&events.events(), &table);
    assert_same_rows("q13", run("nexmark-q13", events), want);
}

#[test]
fn q13_side_input_join_from_a_file() {
    let setup = Setup {
        events: 50_000,
        ..DEFAULT
    };
    let events = setup.events();
    // Every third key, with quoting, an empty value, a key twice and keys never looked up.
    let mut table: Vec<(i64, String)> = (0..10_000)
        .step_by(3)
        .map(|i| (i, format!("v{i}")))
        .collect();
    table.extend([
        (1_001, "a, \"quoted\" value".to_string()),
        (1_002, String::new()),
        (1_003, "first".into()),
        (1_003, "second".into()),
        (-5, "negative".into()),
        (123_456, "too large".into()),
    ]);
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("side input.csv");
    let mut text = String::new();
    for (i, (k, v)) in table.iter().enumerate() {
        // Quoted where needed; one line with a Windows line end.
        let end = if i == 7 { "\r\n" } else { "\n" };
        text.push_str(&format!("{k},{}{end}", s(v)));
    }
    std::fs::write(&file, text).expect("write the side input");
    let want = q13_reference(&events, &table);
    let all_bids = all_bids(&events).len();
    eprintln!("q13 (file): {} rows of {all_bids} bids", want.len());
    assert!(want.len() < all_bids, "q13: some bids should find no key");
    let got = run_with(
        &[],
        "nexmark-q13",
        setup,
        &["--side-input", file.to_str().expect("utf-8 path")],
    );
    assert_same_rows("q13 (file)", got, want);
}

#[test]
fn q13_rejects_a_bad_side_input_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let setup = Setup {
        events: 1_000,
        ..DEFAULT
    };
    let cases = [
        ("1,a\n2,b\nthree,c\n", ":3:", "not a BIGINT"),
        ("1,a\n2\n", ":2:", "2 fields"),
        ("1,a,b\n", ":1:", "2 fields"),
        ("1,a\n\n2,b\n", ":2:", "2 fields"),
        ("1,\"a\n", ":1:", "quoting"),
    ];
    for (i, (text, line, what)) in cases.iter().enumerate() {
        let file = dir.path().join(format!("bad-{i}.csv"));
        std::fs::write(&file, text).expect("write the side input");
        let path = file.to_str().expect("utf-8 path");
        let o = strom(&strom_args(
            &[],
            "nexmark-q13",
            setup,
            &["--side-input", path],
        ));
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "q13 accepted {text:?}");
        assert!(
            stderr.contains(&format!("{path}{line}")) && stderr.contains(what),
            "q13: the error for {text:?} should name {path}{line} and say {what:?}:\n{stderr}"
        );
        assert!(!stderr.contains("panicked"), "q13 panicked:\n{stderr}");
    }
    let missing = dir.path().join("missing.csv");
    let path = missing.to_str().expect("utf-8 path");
    let o = strom(&strom_args(
        &[],
        "nexmark-q13",
        setup,
        &["--side-input", path],
    ));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && stderr.contains(path), "{stderr}");
}

// ---- q10: files partitioned by day and minute.

#[test]
fn q10_log_to_file_system() {
    // 50 events per second from 23:50 UTC: 100,000 events over 33 minutes and midnight.
    let setup = Setup {
        events: 100_000,
        rate: 50,
        base_time: MIDNIGHT + 86_400_000 - 600_000 + 6,
        ..DEFAULT
    };
    // Partition directory → its file's rows (the partition columns are in the path only).
    let mut want: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for b in all_bids(&setup.events()) {
        let dir = format!("dt={}/hm={}", date(b.date_time), hour_minute(b.date_time));
        want.entry(dir).or_default().push(row(&[
            b.auction.to_string(),
            b.bidder.to_string(),
            b.price.to_string(),
            b.date_time.to_string(),
            s(&b.extra),
        ]));
    }
    let days: HashSet<&str> = want.keys().map(|d| &d[..13]).collect();
    eprintln!("q10: {} partitions over days {days:?}", want.len());
    assert!(days.len() == 2, "q10: the setup should cross midnight");

    let out = tempfile::tempdir().expect("temp dir");
    let dir = out.path().join("bid");
    let args = strom_args(
        &[],
        "nexmark-q10",
        setup,
        &["--output", dir.to_str().expect("utf-8 path")],
    );
    let o = strom(&args);
    assert!(
        o.status.success(),
        "strom {args:?} failed:\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // Exactly DIR/dt=…/hm=…/{part-0.csv, _SUCCESS}.
    let mut got: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let names = |p: &Path| -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(p)
            .unwrap_or_else(|e| panic!("reading {}: {e}", p.display()))
            .map(|e| e.expect("entry").file_name().into_string().expect("utf-8"))
            .collect();
        v.sort();
        v
    };
    for dt in names(&dir) {
        for hm in names(&dir.join(&dt)) {
            let partition = dir.join(&dt).join(&hm);
            assert_eq!(
                names(&partition),
                ["_SUCCESS", "part-0.csv"],
                "q10: the files of {}",
                partition.display()
            );
            let success = std::fs::metadata(partition.join("_SUCCESS")).expect("_SUCCESS");
            assert_eq!(success.len(), 0, "q10: an empty success file");
            got.insert(
                format!("{dt}/{hm}"),
                read_lines(&partition.join("part-0.csv")),
            );
        }
    }
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>(),
        "q10: the partitions"
    );
    for (partition, rows) in want {
        assert_same_rows(&format!("q10 {partition}"), got[&partition].clone(), rows);
    }
}
