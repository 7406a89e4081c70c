//! The Nexmark event model (spec §2): people, auctions and bids.
//!
//! Field names and types follow the Java model classes; serde uses the Java (camelCase) field
//! names, so a serialised event has exactly the fields of the Java object. All timestamps are
//! epoch milliseconds (UTC) as `i64`.
//!
//! Strings that the generator takes from its static tables (a channel and its URL, a city, a
//! state, the padding `extra`) are [`Text`]: borrowed from the tables as generated, owned
//! once deserialized or built elsewhere. Either way a field holds the same characters, and
//! two events compare, hash and serialize by content.

use std::borrow::{Borrow, Cow};
use std::fmt;
use std::ops::Deref;

/// A string field that may borrow from the generator's static tables (which live as long as
/// the process, [`crate::StaticTables::shared`]): generating a bid then copies and allocates
/// no string at all. It reads as a `str` (`Deref`); its wire forms (rkyv, serde) are a plain
/// string, and it deserializes owned.
#[derive(
    rkyv::Archive,
    rkyv::Serialize,
    rkyv::Deserialize,
    serde::Serialize,
    serde::Deserialize,
    Clone,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
)]
#[serde(transparent)]
pub struct Text(#[rkyv(with = rkyv::with::AsOwned)] Cow<'static, str>);

impl Text {
    /// Text borrowed from a string that lives as long as the process (the static tables).
    pub const fn borrowed(s: &'static str) -> Self {
        Text(Cow::Borrowed(s))
    }

    /// The text as a `str`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the text borrows from a static string (as generated) rather than owning it.
    pub fn is_borrowed(&self) -> bool {
        matches!(self.0, Cow::Borrowed(_))
    }
}

impl Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for Text {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<String> for Text {
    fn from(s: String) -> Self {
        Text(Cow::Owned(s))
    }
}

impl From<&'static str> for Text {
    fn from(s: &'static str) -> Self {
        Text::borrowed(s)
    }
}

impl From<Text> for String {
    fn from(t: Text) -> Self {
        t.0.into_owned()
    }
}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        *self.0 == *other
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        *self.0 == **other
    }
}

/// Derives shared by every model type: rkyv for strom's wire, serde for files and tests.
macro_rules! model_type {
    ($(#[$meta:meta])* $vis:vis struct $name:ident { $($body:tt)* }) => {
        $(#[$meta])*
        #[derive(
            rkyv::Archive,
            rkyv::Serialize,
            rkyv::Deserialize,
            serde::Serialize,
            serde::Deserialize,
            Clone,
            Debug,
            PartialEq,
            Eq,
            Hash,
        )]
        #[serde(rename_all = "camelCase")]
        $vis struct $name { $($body)* }
    };
}

model_type! {
    /// A person who joins the auction site (event type 0).
    pub struct Person {
        /// Person id: base-0 person id + 1000.
        pub id: i64,
        /// First name, a space, last name.
        pub name: String,
        /// A random word, `@`, a random word, `.com`.
        pub email_address: String,
        /// Four 4-digit zero-padded groups joined by single spaces.
        pub credit_card: String,
        /// One of 10 US cities.
        pub city: Text,
        /// One of 6 US state codes.
        pub state: Text,
        /// Event time, epoch milliseconds.
        pub date_time: i64,
        /// Padding towards the configured average size.
        pub extra: Text,
    }
}

model_type! {
    /// An item put up for auction (event type 1).
    pub struct Auction {
        /// Auction id: base-0 auction id + 1000.
        pub id: i64,
        /// Random word(s), at most 19 characters.
        pub item_name: String,
        /// Random word(s), at most 99 characters.
        pub description: String,
        /// Opening price in cents.
        pub initial_bid: i64,
        /// `initial_bid` plus another random price, in cents.
        pub reserve: i64,
        /// Event (creation) time, epoch milliseconds.
        pub date_time: i64,
        /// Closing time: `date_time` plus at least 1 ms.
        pub expires: i64,
        /// The seller's person id (base-0 + 1000).
        pub seller: i64,
        /// Category id, 10..=14.
        pub category: i64,
        /// Padding towards the configured average size.
        pub extra: Text,
    }
}

model_type! {
    /// A bid on an auction (event type 2).
    pub struct Bid {
        /// The auction id bid on (base-0 + 1000).
        pub auction: i64,
        /// The bidder: a base-0 person id + **2000** (the Java generator offsets it twice).
        pub bidder: i64,
        /// Bid price in cents.
        pub price: i64,
        /// `Google`, `Facebook`, `Baidu`, `Apple` or `channel-<n>`.
        pub channel: Text,
        /// The item URL, possibly with a `&channel_id=<k>` suffix.
        pub url: Text,
        /// Event time, epoch milliseconds.
        pub date_time: i64,
        /// Padding towards the configured average size.
        pub extra: Text,
    }
}

/// One Nexmark event: exactly one of the three kinds.
#[derive(
    rkyv::Archive,
    rkyv::Serialize,
    rkyv::Deserialize,
    serde::Serialize,
    serde::Deserialize,
    Clone,
    Debug,
    PartialEq,
    Eq,
    Hash,
)]
#[serde(rename_all = "lowercase")]
pub enum Event {
    /// A new person.
    Person(Person),
    /// A new auction.
    Auction(Auction),
    /// A bid.
    Bid(Bid),
}

/// The kind of an event, in the order of the SQL source's `event_type` column (0, 1, 2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventKind {
    /// `event_type` 0.
    Person = 0,
    /// `event_type` 1.
    Auction = 1,
    /// `event_type` 2.
    Bid = 2,
}

impl Event {
    /// The kind of this event.
    pub fn kind(&self) -> EventKind {
        match self {
            Event::Person(_) => EventKind::Person,
            Event::Auction(_) => EventKind::Auction,
            Event::Bid(_) => EventKind::Bid,
        }
    }

    /// The event's `dateTime`, epoch milliseconds.
    pub fn date_time(&self) -> i64 {
        match self {
            Event::Person(p) => p.date_time,
            Event::Auction(a) => a.date_time,
            Event::Bid(b) => b.date_time,
        }
    }
}

impl EventKind {
    /// The lowercase name used in the test vectors and in serde: `person`, `auction`, `bid`.
    pub fn name(self) -> &'static str {
        match self {
            EventKind::Person => "person",
            EventKind::Auction => "auction",
            EventKind::Bid => "bid",
        }
    }
}
