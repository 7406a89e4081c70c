//! The Nexmark queries that join, through the real `strom` binary (`strom run -p P
//! nexmark-qN … --output FILE`): the unbounded inner joins of q3 (sellers and their
//! auctions) and q20 (bids and their auction), q4 and q9's auctions joined with the bids
//! inside [dateTime, expires], q7's highest bid per tumbling window joined back with
//! inclusive bounds, and q8's people and sellers in the same tumbling window. Their CSV rows
//! are compared, as multisets (or, where ties make the winner depend on arrival order, row
//! by row against the accepted winners), with references computed here directly from the
//! strom-nexmark generator's events: plain loops and maps following the definitions of
//! `shared/reference/nexmark.md` §13, not the DataStream API. The helpers are in
//! `common/nexmark.rs`.
//!
//! The default setup's 2 generators each emit one event every 2 ms, so a run covers 200 s
//! of event time: window boundaries hit exactly (q7's inclusive edge), auctions that expire
//! within the run (q4, q9). q7 and q9 also run across two TaskManagers, every exchange
//! through the network stack.

mod common;

use common::nexmark::*;
use std::collections::{BTreeMap, HashMap, HashSet};
use strom_nexmark::{Auction, Bid, Event, Person};

// ---- q3: unbounded inner join.

#[test]
fn q3_local_item_suggestion() {
    let events = default_events();
    let mut sellers: HashMap<i64, Vec<&Person>> = HashMap::new();
    for p in all_persons(events) {
        if ["OR", "ID", "CA"].contains(&p.state.as_str()) {
            sellers.entry(p.id).or_default().push(p);
        }
    }
    let mut want = Vec::new();
    for a in all_auctions(events) {
        if a.category != 10 {
            continue;
        }
        for p in sellers.get(&a.seller).into_iter().flatten() {
            want.push(row(&[
                s(&p.name),
                s(&p.city),
                s(&p.state),
                a.id.to_string(),
            ]));
        }
    }
    assert_same_rows("q3", run("nexmark-q3", DEFAULT), want);
}

// ---- q4 and q9: auctions joined with the bids inside [dateTime, expires].

/// Per auction id, the auction and its bids with `dateTime ≤ bid.dateTime ≤ expires` (both
/// inclusive), each split's bids in generation order.
fn qualifying_bids(events: &[Vec<Event>]) -> BTreeMap<i64, (&Auction, Vec<&Bid>)> {
    let mut by_id: BTreeMap<i64, (&Auction, Vec<&Bid>)> = BTreeMap::new();
    for a in all_auctions(events) {
        assert!(
            by_id.insert(a.id, (a, Vec::new())).is_none(),
            "auction ids are unique"
        );
    }
    for b in all_bids(events) {
        if let Some((a, bids)) = by_id.get_mut(&b.auction) {
            if a.date_time <= b.date_time && b.date_time <= a.expires {
                bids.push(b);
            }
        }
    }
    by_id
}

#[test]
fn q4_average_price_per_category() {
    let mut per_category: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for (a, bids) in qualifying_bids(default_events()).values() {
        if let Some(max) = bids.iter().map(|b| b.price).max() {
            per_category.entry(a.category).or_default().push(max);
        }
    }
    let want = per_category
        .iter()
        .map(|(category, finals)| {
            // AVG over BIGINT: the sum divided by the count, truncated.
            let avg = finals.iter().map(|&p| i128::from(p)).sum::<i128>() / finals.len() as i128;
            row(&[category.to_string(), avg.to_string()])
        })
        .collect();
    assert_same_rows("q4", run("nexmark-q4", DEFAULT), want);
}

#[test]
fn q9_winning_bids() {
    check_q9(&[], DEFAULT, default_events());
}

#[test]
fn q9_winning_bids_across_two_taskmanagers() {
    // Every exchange through the network stack: received records are validated (bytecheck).
    check_q9(
        &["-D", "minicluster.number-of-taskmanagers=2"],
        DEFAULT,
        default_events(),
    );
}

fn check_q9(flags: &[&str], setup: Setup, events: &[Vec<Event>]) {
    let auction_columns = |a: &Auction| {
        vec![
            a.id.to_string(),
            s(&a.item_name),
            s(&a.description),
            a.initial_bid.to_string(),
            a.reserve.to_string(),
            a.date_time.to_string(),
            a.expires.to_string(),
            a.seller.to_string(),
            a.category.to_string(),
            s(&a.extra),
        ]
    };
    // Per auction, every row that may win: the bids ranked first by price descending, then
    // dateTime ascending. A remaining tie is decided by arrival order (the earlier stays
    // first), which is fixed within one source subtask but not across two, so any of the tied
    // bids is accepted.
    let mut winners: BTreeMap<i64, HashSet<String>> = BTreeMap::new();
    let mut ties = 0;
    for (id, (a, bids)) in qualifying_bids(events) {
        let Some(best) = bids.iter().map(|b| (b.price, -b.date_time)).max() else {
            continue;
        };
        let tied: HashSet<String> = bids
            .iter()
            .filter(|b| (b.price, -b.date_time) == best)
            .map(|b| {
                let mut r = auction_columns(a);
                r.extend([
                    b.auction.to_string(),
                    b.bidder.to_string(),
                    b.price.to_string(),
                    b.date_time.to_string(),
                    s(&b.extra),
                ]);
                row(&r)
            })
            .collect();
        ties += usize::from(tied.len() > 1);
        winners.insert(id, tied);
    }
    eprintln!(
        "q9: {} auctions with a winner, {ties} with tied winners",
        winners.len()
    );
    assert!(!winners.is_empty());
    let got = run_with(flags, "nexmark-q9", setup, &[]);
    let mut seen = HashSet::new();
    for r in &got {
        let id: i64 = r
            .split(',')
            .next()
            .and_then(|f| f.parse().ok())
            .expect("an auction id first");
        let allowed = winners.get(&id).unwrap_or_else(|| {
            panic!("q9: a row for auction {id}, which has no qualifying bid: {r}")
        });
        assert!(
            allowed.contains(r),
            "q9: wrong winner for auction {id}:\n{r}\nexpected one of {allowed:?}"
        );
        assert!(seen.insert(id), "q9: two rows for auction {id}");
    }
    assert_eq!(
        got.len(),
        winners.len(),
        "q9: one row per auction with a qualifying bid"
    );
}

// ---- q20: unbounded inner join with a filter.

#[test]
fn q20_bids_with_their_category_10_auction() {
    let events = default_events();
    let mut auctions: HashMap<i64, Vec<&Auction>> = HashMap::new();
    for a in all_auctions(events) {
        if a.category == 10 {
            auctions.entry(a.id).or_default().push(a);
        }
    }
    let mut want = Vec::new();
    let mut early = 0;
    for b in all_bids(events) {
        for a in auctions.get(&b.auction).into_iter().flatten() {
            early += usize::from(a.date_time > b.date_time);
            let mut r = bid_row(b);
            r.extend([
                s(&a.item_name),
                s(&a.description),
                a.initial_bid.to_string(),
                a.reserve.to_string(),
                a.date_time.to_string(),
                a.expires.to_string(),
                a.seller.to_string(),
                a.category.to_string(),
                s(&a.extra),
            ]);
            want.push(row(&r));
        }
    }
    eprintln!(
        "q20: {} rows, {early} with a bid older than its auction",
        want.len()
    );
    assert_same_rows("q20", run("nexmark-q20", DEFAULT), want);
}

// ---- q7: highest bid per tumbling window, joined back with inclusive bounds.

#[test]
fn q7_highest_bid() {
    check_q7(&[], DEFAULT, default_events());
}

#[test]
fn q7_highest_bid_across_two_taskmanagers() {
    check_q7(
        &["-D", "minicluster.number-of-taskmanagers=2"],
        DEFAULT,
        default_events(),
    );
}

fn check_q7(flags: &[&str], setup: Setup, events: &[Vec<Event>]) {
    const SIZE: i64 = 10_000;
    let bids = all_bids(events);
    // Window end → maxprice, windows [k·10 s, (k+1)·10 s) with bids.
    let mut maxprice: BTreeMap<i64, i64> = BTreeMap::new();
    for b in &bids {
        let end = b.date_time.div_euclid(SIZE) * SIZE + SIZE;
        let m = maxprice.entry(end).or_insert(i64::MIN);
        *m = (*m).max(b.price);
    }
    // The regular join: every bid with price = maxprice and end − 10 s ≤ dateTime ≤ end.
    let mut want = Vec::new();
    let mut on_edge = 0;
    for (&end, &m) in &maxprice {
        for b in &bids {
            if b.price == m && end - SIZE <= b.date_time && b.date_time <= end {
                on_edge += usize::from(b.date_time == end);
                want.push(row(&[
                    b.auction.to_string(),
                    b.price.to_string(),
                    b.bidder.to_string(),
                    b.date_time.to_string(),
                    s(&b.extra),
                ]));
            }
        }
    }
    let boundary_bids = bids.iter().filter(|b| b.date_time % SIZE == 0).count();
    eprintln!(
        "q7: {} windows, {} rows, {boundary_bids} bids on a window boundary, {on_edge} matches at window_end",
        maxprice.len(),
        want.len()
    );
    assert!(
        boundary_bids > 0,
        "the data should put bids exactly on window boundaries"
    );
    assert_same_rows("q7", run_with(flags, "nexmark-q7", setup, &[]), want);
}

// ---- q8: people and sellers in the same tumbling window.

#[test]
fn q8_monitor_new_users() {
    const SIZE: i64 = 10_000;
    let events = default_events();
    let window = |t: i64| t.div_euclid(SIZE) * SIZE;
    // GROUP BY (id, name, window) and GROUP BY (seller, window), then the equi-join.
    let people: HashSet<(i64, &str, i64)> = all_persons(events)
        .iter()
        .map(|p| (p.id, p.name.as_str(), window(p.date_time)))
        .collect();
    let sellers: HashSet<(i64, i64)> = all_auctions(events)
        .iter()
        .map(|a| (a.seller, window(a.date_time)))
        .collect();
    let want = people
        .iter()
        .filter(|(id, _, w)| sellers.contains(&(*id, *w)))
        .map(|(id, name, w)| row(&[id.to_string(), s(name), w.to_string()]))
        .collect();
    assert_same_rows("q8", run("nexmark-q8", DEFAULT), want);
}
