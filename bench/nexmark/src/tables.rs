//! The static tables shared by all generators of a seed (spec §7.3, §8.3, §8.6).
//!
//! In Java these are class-level statics built once per JVM from instances 0 and 1 of the
//! seeded `SplittableRandom` sequence. Here they are built once per process and seed and kept
//! for the life of the process (`&'static`, about 2 MiB per seed), so the generators of
//! parallel subtasks never rebuild the 1 MiB pool, and events can borrow their channel, URL
//! and padding from the tables instead of copying them (see [`crate::model::Text`]).
//!
//! Invariant: the tables for a seed are immutable and identical wherever they are used. A
//! process builds one set per distinct seed it generates with, and never frees it.

use std::sync::{Mutex, OnceLock, PoisonError};

use crate::ascii::AsciiText;
use crate::random::SplittableRandom;
use crate::strings::{build_channels, build_extra_pool, Channel};

/// A channel name and its URL, borrowed from a [`ChannelTable`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChannelRef<'a> {
    /// `channel-<i>`, or a hot channel name.
    pub name: &'a str,
    /// The item URL.
    pub url: &'a str,
}

/// Where one entry's name and URL lie in the table's text (name first, URL right after).
#[derive(Clone, Copy, Debug)]
struct Span {
    start: u32,
    name_len: u32,
    url_len: u32,
}

/// Channels (name and URL pairs) packed into one string, so that a random lookup touches one
/// or two cache lines instead of two separately allocated strings.
pub struct ChannelTable {
    text: AsciiText,
    spans: Vec<Span>,
}

impl std::fmt::Debug for ChannelTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChannelTable")
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

impl ChannelTable {
    fn pack(channels: &[Channel]) -> Self {
        let mut text =
            String::with_capacity(channels.iter().map(|c| c.name.len() + c.url.len()).sum());
        let spans = channels
            .iter()
            .map(|c| {
                let start = text.len() as u32;
                text.push_str(&c.name);
                text.push_str(&c.url);
                Span {
                    start,
                    name_len: c.name.len() as u32,
                    url_len: c.url.len() as u32,
                }
            })
            .collect();
        let text = AsciiText::new(text).expect("channel names and URLs are ASCII by construction");
        Self { text, spans }
    }

    /// The number of channels.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Whether the table is empty (never, for built tables).
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// Channel `i`, if it exists.
    #[inline]
    pub fn get(&self, i: usize) -> Option<ChannelRef<'_>> {
        let span = self.spans.get(i)?;
        let start = span.start as usize;
        let mid = start + span.name_len as usize;
        let end = mid + span.url_len as usize;
        Some(ChannelRef {
            name: self.text.slice(start, mid)?,
            url: self.text.slice(mid, end)?,
        })
    }

    /// All channels in order.
    pub fn iter(&self) -> impl Iterator<Item = ChannelRef<'_>> + '_ {
        (0..self.len()).filter_map(|i| self.get(i))
    }
}

/// RNG instance index of the extra-string pool (§7.4).
pub const POOL_INSTANCE: u64 = 0;
/// RNG instance index of the URL tables (§7.4).
pub const URL_TABLES_INSTANCE: u64 = 1;

/// The extra-string pool, the 4 hot channels and the 10,000-entry channel table of one seed.
pub struct StaticTables {
    seed: u64,
    pool: AsciiText,
    hot: ChannelTable,
    channels: ChannelTable,
}

impl std::fmt::Debug for StaticTables {
    /// A summary: the tables themselves are over a megabyte.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaticTables")
            .field("seed", &self.seed)
            .field("pool_len", &self.pool.len())
            .field("hot_channels", &self.hot.len())
            .field("channels", &self.channels.len())
            .finish()
    }
}

impl StaticTables {
    /// Builds the tables for `seed` from scratch (instances 0 and 1). Prefer [`Self::shared`].
    pub fn build(seed: u64) -> Self {
        let pool = build_extra_pool(&mut SplittableRandom::instance(seed, POOL_INSTANCE));
        let (hot, channels) =
            build_channels(&mut SplittableRandom::instance(seed, URL_TABLES_INSTANCE));
        Self {
            seed,
            pool: AsciiText::new(pool).expect("the pool is ASCII by construction"),
            hot: ChannelTable::pack(&hot),
            channels: ChannelTable::pack(&channels),
        }
    }

    /// The tables for `seed`, built on first use in this process and kept for its life.
    pub fn shared(seed: u64) -> &'static Self {
        static CACHE: OnceLock<Mutex<Vec<&'static StaticTables>>> = OnceLock::new();
        let cache = CACHE.get_or_init(|| Mutex::new(Vec::new()));
        // The cache only ever gains complete entries, so a poisoned lock still holds valid data.
        let mut entries = cache.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(found) = entries.iter().find(|t| t.seed == seed) {
            return found;
        }
        // Leaked on purpose: events borrow from the tables for as long as they live, and the
        // set of seeds a process generates with is small (one per job configuration).
        let tables: &'static Self = Box::leak(Box::new(Self::build(seed)));
        entries.push(tables);
        tables
    }

    /// The seed these tables were built from.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The 1 MiB extra-string pool (ASCII `H`..=`z`).
    pub fn pool(&self) -> &str {
        self.pool.as_str()
    }

    /// The pool, to slice without reading it ([`AsciiText::slice`]).
    pub fn pool_text(&self) -> &AsciiText {
        &self.pool
    }

    /// The 4 hot channels (`Google`, `Facebook`, `Baidu`, `Apple`) with their hot URLs.
    pub fn hot_channels(&self) -> &ChannelTable {
        &self.hot
    }

    /// The channel table: `channel-<i>` and its URL for i in 0..10,000.
    pub fn channels(&self) -> &ChannelTable {
        &self.channels
    }
}
