//! Helpers of the Nexmark query tests (`nexmark_queries_*.rs`): the strom-nexmark generator
//! configuration of a run ([`Setup`]), as job arguments and as the events the references are
//! computed from; running `strom run -p P <flags> nexmark-qN <setup args> <extra> --output
//! FILE` through the real binary; comparing CSV rows as multisets; the CSV encoding of the
//! queries' output; and the UTC calendar, computed from first principles.
//!
//! The events are those of the connector's split into P generators (`num_event_generators`
//! = P), as the job's P source subtasks produce them.

use std::collections::HashMap;
use std::path::Path;
use std::process::Output;
use std::sync::OnceLock;
use strom_nexmark::{Auction, Bid, Event, Generator, GeneratorConfig, NexmarkConfig, Person};

/// Not a multiple of 10 s: windows align to the epoch, not to the first event. With one
/// event per 2 ms per generator, the events on 10 s boundaries are then bids (event ids ≡ 48
/// mod 50), which q7's inclusive `window_end` needs.
pub const BASE_TIME: i64 = 1_700_000_000_006;
pub const SEED: u64 = 42;

/// 2023-11-14T00:00:00Z, epoch ms.
pub const MIDNIGHT: i64 = 1_699_920_000_000;

/// A generator configuration, as job arguments and as the reference's events.
#[derive(Clone, Copy)]
pub struct Setup {
    /// `-p`: the source subtasks, and so the generators of the split.
    pub parallelism: u32,
    pub events: u64,
    /// Events per second of event time, over all generators.
    pub rate: u32,
    pub base_time: i64,
    /// `--hot-ratio-auctions` (the job's default and the generator's is 2).
    pub hot_ratio_auctions: u32,
}

/// 2 generators at 1000 events/s: each emits one event every 2 ms, so 200,000 events cover
/// 200 s of event time: many windows, window boundaries hit exactly (q7's inclusive edge),
/// auctions that expire within the run (q4, q9).
pub const DEFAULT: Setup = Setup {
    parallelism: 2,
    events: 200_000,
    rate: 1000,
    base_time: BASE_TIME,
    hot_ratio_auctions: 2,
};

impl Setup {
    pub fn args(&self) -> Vec<String> {
        [
            "--events".to_string(),
            self.events.to_string(),
            "--first-event-rate".into(),
            self.rate.to_string(),
            "--base-time".into(),
            self.base_time.to_string(),
            "--seed".into(),
            SEED.to_string(),
            "--hot-ratio-auctions".into(),
            self.hot_ratio_auctions.to_string(),
        ]
        .into()
    }

    /// Every event, generator by generator, each in generation order.
    pub fn events(&self) -> Vec<Vec<Event>> {
        let nexmark = NexmarkConfig {
            num_events: self.events,
            num_event_generators: self.parallelism,
            first_event_rate: self.rate,
            hot_auction_ratio: self.hot_ratio_auctions,
            ..NexmarkConfig::default()
        };
        let config =
            GeneratorConfig::new(nexmark, self.base_time, SEED).expect("valid configuration");
        config
            .split(self.parallelism)
            .expect("split")
            .into_iter()
            .map(|c| {
                Generator::new(c)
                    .expect("generator")
                    .map(|e| e.event)
                    .collect()
            })
            .collect()
    }
}

/// The default setup's events, generated once.
pub fn default_events() -> &'static [Vec<Event>] {
    static EVENTS: OnceLock<Vec<Vec<Event>>> = OnceLock::new();
    EVENTS.get_or_init(|| DEFAULT.events())
}

pub fn all_bids(events: &[Vec<Event>]) -> Vec<&Bid> {
    let mut v = Vec::new();
    for split in events {
        for e in split {
            if let Event::Bid(b) = e {
                v.push(b);
            }
        }
    }
    v
}

pub fn all_auctions(events: &[Vec<Event>]) -> Vec<&Auction> {
    let mut v = Vec::new();
    for split in events {
        for e in split {
            if let Event::Auction(a) = e {
                v.push(a);
            }
        }
    }
    v
}

pub fn all_persons(events: &[Vec<Event>]) -> Vec<&Person> {
    let mut v = Vec::new();
    for split in events {
        for e in split {
            if let Event::Person(p) = e {
                v.push(p);
            }
        }
    }
    v
}

// ---- Running a query job.

/// Runs `strom run -p P <job> <setup args> --output FILE` and returns the file's lines.
pub fn run(job: &str, setup: Setup) -> Vec<String> {
    run_with(&[], job, setup, &[])
}

/// Runs `strom run -p P <flags> <job> <setup args> <extra> --output FILE`; the file's lines.
pub fn run_with(flags: &[&str], job: &str, setup: Setup, extra: &[&str]) -> Vec<String> {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("rows.csv");
    let mut args = strom_args(flags, job, setup, extra);
    args.extend([
        "--output".to_string(),
        out.to_str().expect("utf-8 path").into(),
    ]);
    let o = strom(&args);
    assert!(
        o.status.success(),
        "strom {args:?} failed: {:?}\nstderr:\n{}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    read_lines(&out)
}

/// `run -p P <flags> <job> <setup args> <extra>`.
pub fn strom_args(flags: &[&str], job: &str, setup: Setup, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = vec!["run".into(), "-p".into(), setup.parallelism.to_string()];
    args.extend(flags.iter().map(|f| f.to_string()));
    args.push(job.into());
    args.extend(setup.args());
    args.extend(extra.iter().map(|f| f.to_string()));
    args
}

/// Runs `strom ARGS` to its end (at most 60 s), logging warnings only.
pub fn strom(args: &[String]) -> Output {
    super::run_strom(args, Some("warn"))
}

pub fn read_lines(path: &Path) -> Vec<String> {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    text.lines().map(str::to_string).collect()
}

/// Compares two lists of rows as multisets, showing a few differences if they are not equal.
pub fn assert_same_rows(query: &str, mut got: Vec<String>, mut want: Vec<String>) {
    assert!(
        !want.is_empty(),
        "{query}: the reference has no rows: test data too small"
    );
    got.sort();
    want.sort();
    if got == want {
        return;
    }
    let mut count: HashMap<&str, i64> = HashMap::new();
    for r in &got {
        *count.entry(r).or_default() += 1;
    }
    for r in &want {
        *count.entry(r).or_default() -= 1;
    }
    let mut extra: Vec<_> = count.iter().filter(|(_, n)| **n > 0).collect();
    let mut missing: Vec<_> = count.iter().filter(|(_, n)| **n < 0).collect();
    extra.sort();
    missing.sort();
    panic!(
        "{query}: {} rows, reference {}; {} rows too many, {} missing\nfirst extra: {:?}\nfirst missing: {:?}",
        got.len(),
        want.len(),
        extra.len(),
        missing.len(),
        &extra[..extra.len().min(5)],
        &missing[..missing.len().min(5)]
    );
}

// ---- CSV as the queries' output is specified: RFC 4180 fields, epoch ms, 3-decimal DECIMAL.

pub fn s(v: &str) -> String {
    if v.contains(',') || v.contains('"') || v.contains('\n') || v.contains('\r') {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v.to_string()
    }
}

pub fn row(fields: &[String]) -> String {
    fields.join(",")
}

/// `price × 0.908` as exact DECIMAL(23,3).
pub fn times_0_908(price: i64) -> String {
    let thousandths = i128::from(price) * 908;
    assert!(thousandths >= 0, "prices are positive");
    format!("{}.{:03}", thousandths / 1000, thousandths % 1000)
}

/// The bid columns in the order of the `bid` view.
pub fn bid_row(b: &Bid) -> Vec<String> {
    vec![
        b.auction.to_string(),
        b.bidder.to_string(),
        b.price.to_string(),
        s(&b.channel),
        s(&b.url),
        b.date_time.to_string(),
        s(&b.extra),
    ]
}

// ---- The UTC calendar, from first principles, independently of the jobs' own date code.

/// `(year, month, day)` of the proleptic Gregorian calendar for `days` since 1970-01-01
/// (H. Hinnant's civil-from-days).
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// `DATE_FORMAT(t, 'yyyy-MM-dd')` in UTC.
pub fn date(t: i64) -> String {
    let (y, m, d) = civil_from_days(t.div_euclid(86_400_000));
    format!("{y:04}-{m:02}-{d:02}")
}

/// `DATE_FORMAT(t, 'HH:mm')` in UTC.
pub fn hour_minute(t: i64) -> String {
    let ms = t.rem_euclid(86_400_000);
    format!("{:02}:{:02}", ms / 3_600_000, ms / 60_000 % 60)
}
