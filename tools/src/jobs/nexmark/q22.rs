//! q22, URL directories (§13): `(auction, bidder, price, channel, dir1, dir2, dir3)`, where
//! `dirK` is the token with 0-based index 3, 4 and 5 of `url` split on `/` (Flink's
//! `SPLIT_INDEX`). Empty tokens count, so the generator's URLs give `https:`, ``,
//! `www.nexmark.com` and then the three random path parts. A missing token is NULL, written
//! as an empty field.
//!
//! Plan: one map per bid, no state.

use super::{bids, job, Csv};
use strom_nexmark::{Event, Text};
use strom_runtime::api::DataStream;
use strom_runtime::cluster::JobBuilder;

/// `(auction, bidder, price, channel, dir1, dir2, dir3)`.
type Row = (
    i64,
    i64,
    i64,
    Text,
    Option<String>,
    Option<String>,
    Option<String>,
);

fn csv(r: &Row, c: &mut Csv) {
    c.int(r.0).int(r.1).int(r.2).str(&r.3);
    for dir in [&r.4, &r.5, &r.6] {
        c.str(dir.as_deref().unwrap_or(""));
    }
}

/// Token `index` (0-based) of `s` split on `/`, empty tokens included.
fn split_index(s: &str, index: usize) -> Option<String> {
    s.split('/').nth(index).map(str::to_string)
}

pub(crate) fn make(args: &[String]) -> Result<JobBuilder, String> {
    job("nexmark-q22", args, query, csv)
}

/// The query over the Nexmark events: its result rows.
pub(crate) fn query(events: &DataStream<Event>) -> DataStream<Row> {
    bids(events)
        .map(|b| {
            let dirs = (
                split_index(&b.url, 3),
                split_index(&b.url, 4),
                split_index(&b.url, 5),
            );
            (
                b.auction, b.bidder, b.price, b.channel, dirs.0, dirs.1, dirs.2,
            )
        })
        .name("URL Directories")
}
