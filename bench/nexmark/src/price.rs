//! Prices (spec §9): log-uniform between 1 and 1,000,000 dollars, in cents.
//!
//! Java computes `Math.round(Math.pow(10, nextDouble() * 6) * 100)`. `pow` dominates the cost
//! of a bid, so [`price_from_draw`] first evaluates `10^x` with a fast table-and-polynomial
//! method accurate to about 1e-14 (relative), and only calls the platform `pow` when that
//! estimate lies within [`ROUNDING_MARGIN`] of a rounding boundary (a half cent). Elsewhere
//! both values round to the same integer, so the result is always that of `pow`.

use crate::random::SplittableRandom;

/// Distance (in cents) from a half cent within which the exact `pow` decides the rounding:
/// about 100 times the combined error of the fast path and of `pow` at 10^8 cents.
pub const ROUNDING_MARGIN: f64 = 1e-4;

/// `2^(j/64)` for `j` in `0..64`.
const EXP2_TABLE: [f64; 64] = exp2_table();

const fn exp2_table() -> [f64; 64] {
    let mut table = [0.0; 64];
    let mut j = 0;
    while j < 64 {
        table[j] = exp_series(j as f64 / 64.0 * std::f64::consts::LN_2);
        j += 1;
    }
    table
}

/// `e^x` for `0 <= x < 1` by its Taylor series, to a few ulps.
const fn exp_series(x: f64) -> f64 {
    let mut sum = 1.0;
    let mut term = 1.0;
    let mut k = 1;
    while k < 30 {
        term = term * x / k as f64;
        sum += term;
        k += 1;
    }
    sum
}

/// `10^x` for `0 <= x < 6`, relative error about 1e-14: `2^(x·log2 10)` split into a power of
/// two, a table entry `2^(j/64)` and a degree-6 polynomial for the remaining `2^r`, r < 1/64.
#[inline]
fn fast_exp10(x: f64) -> f64 {
    let t = x * std::f64::consts::LOG2_10;
    let k = (t * 64.0) as i64; // t >= 0: truncation is the floor
    let r = t - k as f64 * (1.0 / 64.0); // exact (Sterbenz), in [0, 1/64)
    let p = r * std::f64::consts::LN_2;
    let poly = 1.0
        + p * (1.0
            + p * (1.0 / 2.0
                + p * (1.0 / 6.0 + p * (1.0 / 24.0 + p * (1.0 / 120.0 + p * (1.0 / 720.0))))));
    let scale = f64::from_bits(((1023 + (k >> 6)) as u64) << 52);
    EXP2_TABLE[(k & 63) as usize] * scale * poly
}

/// A random price in cents, `round(10^(nextDouble()·6) · 100)`: 100..=100,000,000, one draw.
#[inline]
pub fn next_price(rng: &mut SplittableRandom) -> i64 {
    price_from_draw(rng.next_double())
}

/// The price for the draw `u = nextDouble()`, without the draw (so a caller can draw in order
/// and compute later).
#[inline]
pub fn price_from_draw(u: f64) -> i64 {
    let x = u * 6.0;
    if !(0.0..6.0).contains(&x) {
        return exact_price(x);
    }
    // Rounded as in `exact_price`; `above` is how far past the rounding boundary it lies.
    let shifted = fast_exp10(x) * 100.0 + 0.5;
    let rounded = shifted as i64;
    let above = shifted - rounded as f64;
    if !(ROUNDING_MARGIN..=1.0 - ROUNDING_MARGIN).contains(&above) {
        exact_price(x)
    } else {
        rounded
    }
}

/// Java's arithmetic: `Math.round(Math.pow(10, x) * 100)`. The rounding is `trunc(c + 0.5)`,
/// which is exactly `Math.round` here: for `c` in `[100, 10^8]` the sum `c + 0.5` is exact
/// (0.5 is a multiple of the ulp of anything below 2^52) and positive. The platform `pow` has
/// matched Java's on every price checked (§9).
#[cold]
fn exact_price(x: f64) -> i64 {
    (10f64.powf(x) * 100.0 + 0.5) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_path_equals_pow_on_many_draws() {
        let mut rng = SplittableRandom::with_seed(12);
        for _ in 0..2_000_000 {
            let u = rng.next_double();
            let exact = (10f64.powf(u * 6.0) * 100.0).round() as i64;
            assert_eq!(price_from_draw(u), exact, "u = {u}");
            assert!((100..=100_000_000).contains(&exact));
        }
    }

    #[test]
    fn fast_exp10_is_accurate() {
        let mut worst = 0f64;
        for i in 0..600_000 {
            let x = i as f64 * 1e-5;
            let rel = (fast_exp10(x) / 10f64.powf(x) - 1.0).abs();
            worst = worst.max(rel);
        }
        assert!(worst < 1e-14, "worst relative error {worst:e}");
    }

    #[test]
    fn boundaries_and_half_cents() {
        assert_eq!(price_from_draw(0.0), 100);
        assert_eq!(price_from_draw(1.0 - f64::EPSILON / 2.0), 100_000_000);
        for c in [100.5f64, 1234.5, 99_999_999.5, 150.49999999999997] {
            assert_eq!((c + 0.5) as i64, c.round() as i64, "{c}");
        }
        // Draws whose price lies within the margin of a half cent take the exact path.
        let u = (1234.5f64 / 100.0).log10() / 6.0;
        assert_eq!(price_from_draw(u), exact_price(u * 6.0));
    }
}
