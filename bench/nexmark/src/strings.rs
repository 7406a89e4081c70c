//! Random strings (spec §8): words, person fields, padding, and the two static tables (the
//! 1 MiB extra-string pool and the hot-URL / channel tables).
//!
//! Every function draws from the given [`SplittableRandom`] in exactly the Java order; the
//! number of draws of each is documented because the event stream is shared by all fields.

use crate::ascii::AsciiText;
use crate::model::Text;
use crate::random::SplittableRandom;

/// Length of the extra-string pool: 1 MiB of ASCII characters (§8.3).
pub const EXTRA_POOL_LEN: usize = 1 << 20;

/// Longest padding taken from the pool (§8.4); configuration validation keeps every padding
/// within it.
pub const MAX_EXTRA_LEN: usize = EXTRA_POOL_LEN / 2 - 1;

/// Number of channels in the channel table (§8.6).
pub const NUM_CHANNELS: usize = 10_000;

/// The hot channel names, paired with the hot URLs (§8.6).
pub const HOT_CHANNELS: [&str; 4] = ["Google", "Facebook", "Baidu", "Apple"];

/// Shortest random word before trimming.
const MIN_STRING_LENGTH: i32 = 3;

const FIRST_NAMES: [&str; 11] = [
    "Peter", "Paul", "Luke", "John", "Saul", "Vicky", "Kate", "Julie", "Sarah", "Deiter", "Walter",
];
const LAST_NAMES: [&str; 9] = [
    "Shultz", "Abrams", "Spencer", "White", "Bartels", "Walton", "Smith", "Jones", "Noris",
];
const CITIES: [&str; 10] = [
    "Phoenix",
    "Los Angeles",
    "San Francisco",
    "Boise",
    "Portland",
    "Bend",
    "Redmond",
    "Seattle",
    "Kent",
    "Cheyenne",
];
const STATES: [&str; 6] = ["AZ", "CA", "ID", "OR", "WA", "WY"];

/// Picks `table[nextInt(len)]` (one draw).
#[inline]
fn pick(rng: &mut SplittableRandom, table: &[&'static str]) -> &'static str {
    table[rng.next_int_bounded(table.len() as i32) as usize]
}

/// Longest `max_len` a word may have (the longest used is 100).
const MAX_WORD_LEN: usize = 128;

/// Appends a random word `word(max_len, special)` (§8.1) to `out`, trimmed like Java's
/// `String.trim()`: `1 + len + (letters)` draws. `max_len` must be in `4..=128`.
pub fn push_word(out: &mut String, rng: &mut SplittableRandom, max_len: i32, special: u8) {
    debug_assert!((4..=MAX_WORD_LEN as i32).contains(&max_len));
    let len = (MIN_STRING_LENGTH + rng.next_int_bounded(max_len - MIN_STRING_LENGTH)) as usize;
    let mut buf = [0u8; MAX_WORD_LEN];
    let word = &mut buf[..len.min(MAX_WORD_LEN)];
    for c in word.iter_mut() {
        *c = if rng.next_int_below::<13>() == 0 {
            special
        } else {
            b'a' + rng.next_int_below::<26>() as u8
        };
    }
    // Java's trim(): strip characters <= ' ' at both ends. The bytes are ASCII.
    let start = word.iter().position(|&b| b > b' ').unwrap_or(word.len());
    let end = word
        .iter()
        .rposition(|&b| b > b' ')
        .map_or(start, |i| i + 1);
    // One copy of the whole word: the bytes are ASCII (`special` or `a..=z`), so they are
    // valid UTF-8 and `from_utf8` only confirms it (a byte at a time through `extend` was a
    // sixth of this function).
    out.push_str(std::str::from_utf8(&word[start..end]).unwrap_or_default());
}

/// A random word `word(max_len, ' ')` as a new string (§8.1).
pub fn word(rng: &mut SplittableRandom, max_len: i32) -> String {
    let mut s = String::with_capacity(max_len.max(0) as usize);
    push_word(&mut s, rng, max_len, b' ');
    s
}

/// A person's name, `FIRST + " " + LAST` (2 draws, §8.2).
pub fn person_name(rng: &mut SplittableRandom) -> String {
    let first = pick(rng, &FIRST_NAMES);
    let last = pick(rng, &LAST_NAMES);
    let mut s = String::with_capacity(first.len() + 1 + last.len());
    s.push_str(first);
    s.push(' ');
    s.push_str(last);
    s
}

/// An email address, `word(7) + "@" + word(5) + ".com"` (§8.2).
pub fn email(rng: &mut SplittableRandom) -> String {
    let mut s = String::with_capacity(6 + 1 + 4 + 4);
    push_word(&mut s, rng, 7, b' ');
    s.push('@');
    push_word(&mut s, rng, 5, b' ');
    s.push_str(".com");
    s
}

/// A credit card number: four zero-padded 4-digit groups, space separated (4 draws, §8.2).
pub fn credit_card(rng: &mut SplittableRandom) -> String {
    let mut s = String::with_capacity(19);
    for group in 0..4 {
        if group > 0 {
            s.push(' ');
        }
        let v = rng.next_int_bounded(10_000) as u32;
        for div in [1000, 100, 10, 1] {
            s.push(char::from(b'0' + (v / div % 10) as u8));
        }
    }
    s
}

/// A city (1 draw, §8.2).
pub fn city(rng: &mut SplittableRandom) -> &'static str {
    pick(rng, &CITIES)
}

/// A US state code (1 draw, §8.2).
pub fn state(rng: &mut SplittableRandom) -> &'static str {
    pick(rng, &STATES)
}

/// How to draw a padding length for one `(current_size, avg_size)` pair (§8.4). Bids have a
/// constant current size, so their plan is computed once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PaddingPlan {
    /// Shortest padding, `d − delta`; negative for "no padding and no draw".
    min: i32,
    /// `2·delta`: the bound of the length draw; 0 for no draw.
    span: i32,
}

impl PaddingPlan {
    /// The plan for an event of `current_size` bytes before padding and target `avg_size`.
    #[inline]
    pub fn new(current_size: i32, avg_size: i32) -> Self {
        if current_size > avg_size {
            return Self { min: -1, span: 0 };
        }
        let d = avg_size - current_size;
        // Java's Math.round: for 0 <= x < 2^31, x + 0.5 is exact, so truncating is the floor.
        let delta = (f64::from(d) * 0.2 + 0.5) as i32;
        Self {
            min: d - delta,
            span: 2 * delta,
        }
    }

    /// Draws the padding length: `None` (and no draw) when the event is already larger than
    /// the average, otherwise `d − delta + nextInt(2·delta)` (no draw when delta is 0).
    #[inline]
    pub fn draw_len(self, rng: &mut SplittableRandom) -> Option<usize> {
        if self.min < 0 {
            return None;
        }
        let extra = if self.span == 0 {
            0
        } else {
            rng.next_int_bounded(self.span)
        };
        Some((self.min + extra) as usize)
    }

    /// Draws a padding: its length, then its offset in the pool (§8.4); returns the slice of
    /// the pool. The length must stay at most [`MAX_EXTRA_LEN`] (config validation ensures it).
    #[inline]
    pub fn draw<'p>(self, rng: &mut SplittableRandom, pool: &'p AsciiText) -> &'p str {
        let Some(size) = self.draw_len(rng) else {
            return "";
        };
        debug_assert!(size <= MAX_EXTRA_LEN && pool.len() == EXTRA_POOL_LEN);
        let size = size.min(MAX_EXTRA_LEN);
        let off = rng.next_int_bounded((EXTRA_POOL_LEN - size) as i32) as usize;
        pool.slice(off, off + size).unwrap_or_default()
    }
}

/// The padding length for `extra(current_size, avg_size)` (§8.4); see
/// [`PaddingPlan::draw_len`].
#[inline]
pub fn extra_len(rng: &mut SplittableRandom, current_size: i32, avg_size: i32) -> Option<usize> {
    PaddingPlan::new(current_size, avg_size).draw_len(rng)
}

/// Padding `extra(current_size, avg_size)` (§8.4): a random slice of the pool, drawn by
/// [`PaddingPlan::draw`], borrowed from it.
#[inline]
pub fn extra(
    rng: &mut SplittableRandom,
    pool: &'static AsciiText,
    current_size: i32,
    avg_size: i32,
) -> Text {
    Text::borrowed(PaddingPlan::new(current_size, avg_size).draw(rng, pool))
}

/// Builds the extra-string pool from its own instance (§8.3): groups of up to 6 characters
/// from one `nextInt()` each, `'a' + v % 26` then `v /= 26` with Java's signed arithmetic.
pub fn build_extra_pool(rng: &mut SplittableRandom) -> String {
    let mut bytes = Vec::with_capacity(EXTRA_POOL_LEN);
    let mut v = 0i32;
    for i in 0..EXTRA_POOL_LEN {
        if i % 6 == 0 {
            v = rng.next_int();
        }
        // v % 26 lies in -25..=25, so the byte lies in b'H'..=b'z'.
        bytes.push((i32::from(b'a') + v % 26) as u8);
        v /= 26;
    }
    bytes.into_iter().map(char::from).collect()
}

/// One entry of the channel table: a channel name and its URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Channel {
    /// `channel-<i>`, or a hot channel name.
    pub name: String,
    /// The item URL, with `&channel_id=<k>` for 9 in 10 table channels.
    pub url: String,
}

/// A base URL: `https://www.nexmark.com/<w1>/<w2>/<w3>/item.htm?query=1` with
/// `wi = word(5, '_')` (§8.6).
fn base_url(rng: &mut SplittableRandom) -> String {
    let mut s = String::with_capacity(96);
    s.push_str("https://www.nexmark.com/");
    for _ in 0..3 {
        push_word(&mut s, rng, 5, b'_');
        s.push('/');
    }
    s.push_str("item.htm?query=1");
    s
}

/// Builds the 4 hot channels and the 10,000-entry channel table from their own instance, in
/// the Java order (§8.6).
pub fn build_channels(rng: &mut SplittableRandom) -> ([Channel; 4], Vec<Channel>) {
    let hot = HOT_CHANNELS.map(|name| Channel {
        name: name.to_owned(),
        url: base_url(rng),
    });
    let table = (0..NUM_CHANNELS as i32)
        .map(|i| {
            let mut url = base_url(rng);
            if rng.next_int_bounded(10) > 0 {
                url.push_str("&channel_id=");
                url.push_str(&i.reverse_bits().wrapping_abs().to_string());
            }
            Channel {
                name: format!("channel-{i}"),
                url,
            }
        })
        .collect();
    (hot, table)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_trimmed_and_bounded() {
        let mut rng = SplittableRandom::with_seed(1);
        for _ in 0..10_000 {
            let w = word(&mut rng, 20);
            assert!(w.len() <= 19, "{w:?}");
            assert_eq!(w, w.trim(), "untrimmed {w:?}");
            assert!(w.bytes().all(|b| b == b' ' || b.is_ascii_lowercase()));
        }
    }

    #[test]
    fn padding_gap_68_gives_delta_14() {
        // d = 68: delta = round(13.600000000000001) = 14, so sizes are 54..=81.
        let mut rng = SplittableRandom::with_seed(3);
        for _ in 0..10_000 {
            let len = extra_len(&mut rng, 32, 100);
            assert!(matches!(len, Some(54..=81)), "{len:?}");
        }
        assert_eq!(extra_len(&mut rng, 101, 100), None);
        let before = rng.clone();
        assert_eq!(extra_len(&mut rng, 100, 100), Some(0));
        assert_eq!(rng, before, "no draw when delta is 0");
    }

    #[test]
    fn credit_cards_are_zero_padded() {
        let mut rng = SplittableRandom::with_seed(5);
        for _ in 0..1000 {
            let c = credit_card(&mut rng);
            assert_eq!(c.len(), 19);
            assert!(c.split(' ').all(|g| g.len() == 4));
        }
    }
}
