//! Event numbers and event time (spec §4, §5).
//!
//! Event number `n = first_event_number + count`; its adjusted number `adj(n)` shuffles numbers
//! within aligned groups of `out_of_order_group_size`. Event time is a linear function of a
//! number: `base_time + trunc(m · delay_us) / 1000`, computed exactly as in Java (`f64`
//! product, truncated to `i64`, then integer division). Arithmetic wraps like Java `long`.

/// The adjusted event number `(n / g) · g + (n · 953) % g` (§4); the identity for `g = 1`.
#[inline]
pub fn adjusted_event_number(n: i64, group_size: i64) -> i64 {
    if group_size == 1 {
        return n;
    }
    (n / group_size).wrapping_mul(group_size) + n.wrapping_mul(953) % group_size
}

/// The event number whose time is a watermark for event number `n`: `(n / g) · g` (§5).
#[inline]
pub fn watermark_event_number(n: i64, group_size: i64) -> i64 {
    (n / group_size).wrapping_mul(group_size)
}

/// A generator's event-time line: base time and delay between consecutive event numbers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Timeline {
    base_time: i64,
    inter_event_delay_us: f64,
}

impl Timeline {
    /// A timeline starting at `base_time` (epoch ms) with `inter_event_delay_us` µs per event.
    pub fn new(base_time: i64, inter_event_delay_us: f64) -> Self {
        Self {
            base_time,
            inter_event_delay_us,
        }
    }

    /// The base time, epoch milliseconds.
    pub fn base_time(&self) -> i64 {
        self.base_time
    }

    /// Microseconds of event time per event number.
    pub fn inter_event_delay_us(&self) -> f64 {
        self.inter_event_delay_us
    }

    /// Event time of event number `m`: `base + trunc(m · delay_us) / 1000` (§5).
    #[inline]
    pub fn timestamp(&self, m: i64) -> i64 {
        // `as` saturates (and maps NaN to 0) exactly like Java's (long) cast.
        let us = (m as f64 * self.inter_event_delay_us) as i64;
        self.base_time.wrapping_add(us / 1000)
    }

    /// Microseconds from the base time to event number `m`: `trunc(m · delay_us)`, the
    /// point on the timeline that [`Self::timestamp`] rounds down to milliseconds.
    #[inline]
    pub fn offset_us(&self, m: i64) -> i64 {
        (m as f64 * self.inter_event_delay_us) as i64
    }

    /// Milliseconds from the base time to event number `m`; how long after the first event a
    /// rate-following source emits it (§5).
    #[inline]
    pub fn offset_ms(&self, m: i64) -> i64 {
        self.timestamp(m).wrapping_sub(self.base_time)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_of_ten_are_permuted() {
        for block in [0i64, 10, 1230] {
            let mut got: Vec<i64> = (block..block + 10)
                .map(|n| adjusted_event_number(n, 10))
                .collect();
            got.sort_unstable();
            assert_eq!(got, (block..block + 10).collect::<Vec<_>>());
        }
        // 953 ≡ 1 (mod 7): the identity.
        assert!((0..100).all(|n| adjusted_event_number(n, 7) == n));
        assert_eq!(adjusted_event_number(11, 10), 13);
    }

    #[test]
    fn timestamps_truncate_like_java() {
        let t = Timeline::new(1_700_000_000_000, 100.0);
        assert_eq!(t.timestamp(49), 1_700_000_000_004);
        let t = Timeline::new(0, 1_000_000.0 / 10_000_000.0 * 8.0);
        assert_eq!(t.timestamp(1250), 1);
        assert_eq!(t.timestamp(1249), 0);
    }
}
