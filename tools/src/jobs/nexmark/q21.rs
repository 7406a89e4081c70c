//! q21, channel id (§13): `(auction, bidder, price, channel, channel_id)`. `channel_id` is
//! `0`, `1`, `2` or `3` when the lower-cased channel is `apple`, `google`, `facebook` or
//! `baidu`; otherwise it is capture group 2 of the first match of the regular expression
//! `(&|^)channel_id=([^&]*)` in `url` (Flink's `REGEXP_EXTRACT(url, …, 2)`). A bid is kept
//! only if its channel is one of the four or the expression matches, so `channel-n` bids
//! whose URL has no `channel_id` are dropped. An empty value (`…&channel_id=` at the end or
//! before another `&`) is a match, with the empty string.
//!
//! Plan: one flat map per bid, no state. The expression is simple enough to match by hand:
//! its first match starts at 0 if `url` begins with `channel_id=`, else at the first
//! `&channel_id=`; the value runs up to the next `&` or the end.

use super::{bids, job, Csv};
use strom_nexmark::{Event, Text};
use strom_runtime::api::DataStream;
use strom_runtime::cluster::JobBuilder;

/// `(auction, bidder, price, channel, channel_id)`.
type Row = (i64, i64, i64, Text, String);

fn csv(r: &Row, c: &mut Csv) {
    c.int(r.0).int(r.1).int(r.2).str(&r.3).str(&r.4);
}

const PARAM: &str = "channel_id=";

/// Group 2 of the first match of `(&|^)channel_id=([^&]*)` in `url`, if any.
pub(crate) fn channel_id_param(url: &str) -> Option<&str> {
    let start = if url.starts_with(PARAM) {
        PARAM.len()
    } else {
        url.find("&channel_id=")? + 1 + PARAM.len()
    };
    let rest = &url[start..];
    Some(rest.find('&').map_or(rest, |end| &rest[..end]))
}

/// The channel id of a bid, or `None` if the bid is dropped.
pub(crate) fn channel_id(channel: &str, url: &str) -> Option<String> {
    let known = match channel.to_lowercase().as_str() {
        "apple" => Some("0"),
        "google" => Some("1"),
        "facebook" => Some("2"),
        "baidu" => Some("3"),
        _ => None,
    };
    match known {
        Some(id) => Some(id.to_string()),
        None => channel_id_param(url).map(str::to_string),
    }
}

pub(crate) fn make(args: &[String]) -> Result<JobBuilder, String> {
    job("nexmark-q21", args, query, csv)
}

/// The query over the Nexmark events: its result rows.
pub(crate) fn query(events: &DataStream<Event>) -> DataStream<Row> {
    bids(events)
        .flat_map(|b, out| {
            if let Some(id) = channel_id(&b.channel, &b.url) {
                out.collect((b.auction, b.bidder, b.price, b.channel, id));
            }
        })
        .name("Channel Id")
}

#[cfg(test)]
mod tests {
    use super::{channel_id, channel_id_param};

    #[test]
    fn the_parameter_is_found_as_the_expression_finds_it() {
        let u = "https://www.nexmark.com/a/b/c/item.htm?query=1&channel_id=123";
        assert_eq!(channel_id_param(u), Some("123"));
        assert_eq!(channel_id_param("channel_id=7&x=1"), Some("7"));
        assert_eq!(channel_id_param("x=1&channel_id=&channel_id=5"), Some(""));
        assert_eq!(channel_id_param("x=1&channel_id=5&y=2"), Some("5"));
        assert_eq!(channel_id_param("x=1?channel_id=5"), None);
        assert_eq!(channel_id_param("xchannel_id=5"), None);
        assert_eq!(channel_id("Apple", "channel_id=9"), Some("0".into()));
        assert_eq!(
            channel_id("channel-1", "q&channel_id=-2147483648"),
            Some("-2147483648".into())
        );
        assert_eq!(channel_id("channel-2", "q"), None);
    }
}
