//! Rank statistics on log-ratios: Hodges–Lehmann shift estimates with their distribution-free
//! confidence intervals, and the matching Wilcoxon signed-rank / Mann–Whitney p-values.
//!
//! * [`paired`]: differences `d_i` (here `ln B_i − ln A_i` of one interleaved round). The
//!   estimate is the median of the Walsh averages `(d_i + d_j) / 2, i ≤ j`; the interval is
//!   `[W_(k), W_(M+1−k)]` of the sorted Walsh averages, `M = n(n+1)/2`, with `k` from the
//!   exact null distribution of the signed-rank statistic (Hollander & Wolfe, *Nonparametric
//!   Statistical Methods*, §3.3). It covers the centre of a symmetric distribution of the
//!   `d_i` with probability ≥ the level, whatever that distribution's shape.
//! * [`two_sample`]: two independent samples (here `ln` of each). The estimate is the median
//!   of all `m·n` differences `y_j − x_i`; the interval is `[D_(k), D_(mn+1−k)]` with `k` from
//!   the exact Mann–Whitney null distribution (§4.3). It covers a location shift between two
//!   distributions of the same shape.
//!
//! Exact distributions are used up to [`EXACT_PAIRED_MAX`] pairs and [`EXACT_TWO_SAMPLE_MAX`]
//! products `m·n`; beyond, the normal approximation (with continuity correction).

/// Exact signed-rank distribution up to this many pairs.
pub const EXACT_PAIRED_MAX: usize = 200;
/// Exact Mann–Whitney distribution up to this `m·n`.
pub const EXACT_TWO_SAMPLE_MAX: usize = 2_500;

/// A shift estimate with its confidence interval and p-value (all on the scale of the input).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Estimate {
    /// Hodges–Lehmann estimate of the shift (paired: of the centre of the differences).
    pub estimate: f64,
    /// `None` when there are too few samples for an interval at this level (the interval
    /// would be unbounded).
    pub interval: Option<(f64, f64)>,
    /// Two-sided p-value of "no shift" (Wilcoxon signed-rank / Mann–Whitney, ties handled).
    pub p_value: f64,
}

/// Median of `xs` (NaN when empty). NaNs are not expected.
pub fn median(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        return f64::NAN;
    }
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    median_sorted(&v)
}

fn median_sorted(v: &[f64]) -> f64 {
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Paired differences `d` at confidence `level` (e.g. 0.95). `d` must not be empty.
pub fn paired(d: &[f64], level: f64) -> Estimate {
    assert!(!d.is_empty(), "paired(): no differences");
    let n = d.len();
    let mut walsh = Vec::with_capacity(n * (n + 1) / 2);
    for i in 0..n {
        for j in i..n {
            walsh.push((d[i] + d[j]) / 2.0);
        }
    }
    walsh.sort_by(f64::total_cmp);
    let m = walsh.len();
    let alpha = 1.0 - level;
    let k = if n <= EXACT_PAIRED_MAX {
        // Largest k with P(T+ <= k-1) <= alpha/2 (T+ without ties ranges over 0..=M).
        let cdf = cumulative(&signed_rank_counts(&(1..=n as u64).collect::<Vec<_>>()));
        cdf.iter()
            .take_while(|&&p| p <= alpha / 2.0 + 1e-12)
            .count()
    } else {
        let mean = m as f64 / 2.0;
        let sd = (n as f64 * (n as f64 + 1.0) * (2.0 * n as f64 + 1.0) / 24.0).sqrt();
        (mean - normal_quantile(1.0 - alpha / 2.0) * sd)
            .floor()
            .max(0.0) as usize
    };
    let interval = (k >= 1).then(|| (walsh[k - 1], walsh[m - k]));
    Estimate {
        estimate: median_sorted(&walsh),
        interval,
        p_value: signed_rank_p(d),
    }
}

/// The shift of `y` against `x` (`y − x`) at confidence `level`. Neither may be empty.
pub fn two_sample(x: &[f64], y: &[f64], level: f64) -> Estimate {
    assert!(!x.is_empty() && !y.is_empty(), "two_sample(): empty sample");
    let (m, n) = (x.len(), y.len());
    let mut diffs = Vec::with_capacity(m * n);
    for &a in x {
        for &b in y {
            diffs.push(b - a);
        }
    }
    diffs.sort_by(f64::total_cmp);
    let mn = m * n;
    let alpha = 1.0 - level;
    let k = if mn <= EXACT_TWO_SAMPLE_MAX {
        let cdf = cumulative(&mann_whitney_counts(m, n));
        cdf.iter()
            .take_while(|&&p| p <= alpha / 2.0 + 1e-12)
            .count()
    } else {
        let mean = mn as f64 / 2.0;
        let sd = (mn as f64 * (m + n + 1) as f64 / 12.0).sqrt();
        (mean - normal_quantile(1.0 - alpha / 2.0) * sd)
            .floor()
            .max(0.0) as usize
    };
    let interval = (k >= 1).then(|| (diffs[k - 1], diffs[mn - k]));
    Estimate {
        estimate: median_sorted(&diffs),
        interval,
        p_value: mann_whitney_p(x, y),
    }
}

/// Two-sided Wilcoxon signed-rank p-value of `d` centred on 0. Zeros are dropped (Wilcoxon's
/// rule), tied magnitudes get mid-ranks, and the p-value is exact for the sign-flip
/// distribution of those ranks (normal approximation beyond [`EXACT_PAIRED_MAX`]).
pub fn signed_rank_p(d: &[f64]) -> f64 {
    let nz: Vec<f64> = d.iter().copied().filter(|&x| x != 0.0).collect();
    let n = nz.len();
    if n == 0 {
        return 1.0;
    }
    let mags: Vec<f64> = nz.iter().map(|x| x.abs()).collect();
    // Doubled mid-ranks are whole numbers.
    let ranks2 = doubled_midranks(&mags);
    let t2: u64 = nz
        .iter()
        .zip(&ranks2)
        .filter(|(x, _)| **x > 0.0)
        .map(|(_, r)| *r)
        .sum();
    if n <= EXACT_PAIRED_MAX {
        let counts = signed_rank_counts(&ranks2);
        let total: f64 = counts.iter().sum();
        let le: f64 = counts[..=t2 as usize].iter().sum::<f64>() / total;
        let ge: f64 = counts[t2 as usize..].iter().sum::<f64>() / total;
        (2.0 * le.min(ge)).min(1.0)
    } else {
        let t = t2 as f64 / 2.0;
        let mean = n as f64 * (n as f64 + 1.0) / 4.0;
        let var: f64 = ranks2
            .iter()
            .map(|&r| (r as f64 / 2.0).powi(2))
            .sum::<f64>()
            / 4.0;
        normal_two_sided(t, mean, var)
    }
}

/// Two-sided Mann–Whitney p-value of `y` against `x`: exact without ties up to
/// [`EXACT_TWO_SAMPLE_MAX`], otherwise the normal approximation with the tie correction.
pub fn mann_whitney_p(x: &[f64], y: &[f64]) -> f64 {
    let (m, n) = (x.len(), y.len());
    let all: Vec<f64> = x.iter().chain(y).copied().collect();
    let ranks2 = doubled_midranks(&all);
    // U of y: its rank sum minus n(n+1)/2 (doubled throughout).
    let r2: u64 = ranks2[m..].iter().sum();
    let u2 = r2 - (n * (n + 1)) as u64;
    let mut sorted = all.clone();
    sorted.sort_by(f64::total_cmp);
    let ties: Vec<usize> = sorted
        .chunk_by(|a, b| a == b)
        .map(<[f64]>::len)
        .filter(|&t| t > 1)
        .collect();
    if ties.is_empty() && m * n <= EXACT_TWO_SAMPLE_MAX {
        let counts = mann_whitney_counts(m, n);
        let u = (u2 / 2) as usize;
        let total: f64 = counts.iter().sum();
        let le: f64 = counts[..=u].iter().sum::<f64>() / total;
        let ge: f64 = counts[u..].iter().sum::<f64>() / total;
        return (2.0 * le.min(ge)).min(1.0);
    }
    let nn = (m + n) as f64;
    let tie_term: f64 = ties
        .iter()
        .map(|&t| (t as f64).powi(3) - t as f64)
        .sum::<f64>()
        / (nn * (nn - 1.0));
    let var = (m * n) as f64 / 12.0 * ((nn + 1.0) - tie_term);
    normal_two_sided(u2 as f64 / 2.0, (m * n) as f64 / 2.0, var)
}

/// The sign-flip distribution of a signed-rank sum: entry `s` counts the subsets of `ranks`
/// (whole numbers) that sum to `s`.
fn signed_rank_counts(ranks: &[u64]) -> Vec<f64> {
    let max: u64 = ranks.iter().sum();
    let mut c = vec![0.0f64; max as usize + 1];
    c[0] = 1.0;
    let mut reach = 0usize;
    for &r in ranks {
        let r = r as usize;
        reach += r;
        for s in (r..=reach).rev() {
            c[s] += c[s - r];
        }
    }
    c
}

/// Entry `u` counts the orderings of `m` x's and `n` y's in which `u` (x, y) pairs have the x
/// first: the partitions of `u` into at most `m` parts of size at most `n`.
fn mann_whitney_counts(m: usize, n: usize) -> Vec<f64> {
    let max = m * n;
    // p[i][u]: partitions of u into at most i parts, sizes at most j (j grows below).
    let mut p = vec![vec![0.0f64; max + 1]; m + 1];
    for row in p.iter_mut() {
        row[0] = 1.0;
    }
    for j in 1..=n {
        // Partitions with parts <= j: those with parts <= j-1, plus those with at least one
        // part j (remove it: at most i-1 parts, sizes <= j). Going up in i uses row i-1 of
        // this j already.
        for i in 1..=m {
            let (lo, hi) = p.split_at_mut(i);
            let prev = &lo[i - 1];
            let cur = &mut hi[0];
            for u in j..=(i * j).min(max) {
                cur[u] += prev[u - j];
            }
        }
    }
    p.swap_remove(m)
}

fn cumulative(counts: &[f64]) -> Vec<f64> {
    let total: f64 = counts.iter().sum();
    let mut acc = 0.0;
    counts
        .iter()
        .map(|c| {
            acc += c;
            acc / total
        })
        .collect()
}

/// Twice the mid-ranks (1-based) of `xs`: whole numbers even with ties.
fn doubled_midranks(xs: &[f64]) -> Vec<u64> {
    let mut idx: Vec<usize> = (0..xs.len()).collect();
    idx.sort_by(|&a, &b| xs[a].total_cmp(&xs[b]));
    let mut ranks = vec![0u64; xs.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && xs[idx[j + 1]] == xs[idx[i]] {
            j += 1;
        }
        // Ranks i+1 ..= j+1 share (i+1 + j+1) / 2; doubled: i + j + 2.
        for &k in &idx[i..=j] {
            ranks[k] = (i + j + 2) as u64;
        }
        i = j + 1;
    }
    ranks
}

fn normal_two_sided(t: f64, mean: f64, var: f64) -> f64 {
    if var <= 0.0 {
        return 1.0;
    }
    let z = ((t - mean).abs() - 0.5).max(0.0) / var.sqrt();
    (2.0 * (1.0 - normal_cdf(z))).min(1.0)
}

/// Standard normal CDF (Abramowitz & Stegun 7.1.26 erf, |error| < 1.5e-7).
pub fn normal_cdf(z: f64) -> f64 {
    let x = z.abs() / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * x);
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erf = 1.0 - poly * (-x * x).exp();
    if z >= 0.0 {
        0.5 * (1.0 + erf)
    } else {
        0.5 * (1.0 - erf)
    }
}

/// Standard normal quantile (Acklam's rational approximation, relative error < 1.2e-9).
pub fn normal_quantile(p: f64) -> f64 {
    assert!(p > 0.0 && p < 1.0, "normal_quantile({p})");
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < 0.02425 {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - 0.02425 {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[]).is_nan());
    }

    #[test]
    fn signed_rank_distribution() {
        // n = 3: T+ in 0..=6 with counts 1,1,1,2,1,1,1.
        let c = signed_rank_counts(&[1, 2, 3]);
        assert_eq!(c, vec![1.0, 1.0, 1.0, 2.0, 1.0, 1.0, 1.0]);
        // All positive among 6 untied: p = 2/64.
        let p = signed_rank_p(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        assert!((p - 2.0 / 64.0).abs() < 1e-12, "{p}");
        // All equal and positive (ties): the same, by the sign-flip distribution.
        let p = signed_rank_p(&[0.5; 6]);
        assert!((p - 2.0 / 64.0).abs() < 1e-12, "{p}");
        assert_eq!(signed_rank_p(&[0.0, 0.0]), 1.0);
    }

    #[test]
    fn paired_interval_known_values() {
        // Critical values (Hollander & Wolfe table A.4): n = 10, two-sided 95%: the interval
        // is W_(9) .. W_(47) of the 55 Walsh averages (P(T+ <= 8) = 0.0244).
        let cdf = cumulative(&signed_rank_counts(&(1..=10).collect::<Vec<_>>()));
        assert!((cdf[8] - 25.0 / 1024.0).abs() < 1e-12, "{}", cdf[8]);
        assert_eq!(cdf.iter().take_while(|&&p| p <= 0.025).count(), 9);
        let d: Vec<f64> = (1..=10).map(f64::from).collect();
        let e = paired(&d, 0.95);
        assert_eq!(e.estimate, 5.5);
        // Walsh averages 1, 1.5, 2, 2, 2.5, 2.5, 3, 3, 3 (the 9th), …
        assert_eq!(e.interval, Some((3.0, 8.0)));
        // Five pairs cannot give a two-sided 95% interval (2/32 > 0.05); six can.
        assert_eq!(paired(&[1.0, 2.0, 3.0, 4.0, 5.0], 0.95).interval, None);
        assert!(paired(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 0.95)
            .interval
            .is_some());
    }

    #[test]
    fn mann_whitney_distribution() {
        // m = n = 2: U in 0..=4 with counts 1,1,2,1,1.
        assert_eq!(mann_whitney_counts(2, 2), vec![1.0, 1.0, 2.0, 1.0, 1.0]);
        assert_eq!(mann_whitney_counts(1, 3), vec![1.0; 4]);
        let c = mann_whitney_counts(5, 7);
        let total: f64 = c.iter().sum();
        assert_eq!(total, 792.0); // C(12, 5)
                                  // Separated samples of 4 and 4: p = 2/70.
        let p = mann_whitney_p(&[1.0, 2.0, 3.0, 4.0], &[5.0, 6.0, 7.0, 8.0]);
        assert!((p - 2.0 / 70.0).abs() < 1e-12, "{p}");
        let e = two_sample(&[1.0, 2.0, 3.0], &[11.0, 12.0, 13.0], 0.9);
        assert_eq!(e.estimate, 10.0);
        // m = n = 3: P(U <= 0) = 1/20 = 0.05 <= 0.05, so k = 1: the extreme differences.
        assert_eq!(e.interval, Some((8.0, 12.0)));
    }

    #[test]
    fn normal_functions() {
        assert!((normal_cdf(1.959_964) - 0.975).abs() < 1e-6);
        assert!((normal_quantile(0.975) - 1.959_964).abs() < 1e-5);
        assert!((normal_quantile(0.005) + 2.575_829).abs() < 1e-5);
    }

    #[test]
    fn large_samples_use_the_normal_approximation() {
        let d: Vec<f64> = (0..300).map(|i| ((i * 37) % 101) as f64 - 50.0).collect();
        let e = paired(&d, 0.95);
        let (lo, hi) = e.interval.unwrap();
        assert!(lo < e.estimate && e.estimate < hi);
        let x: Vec<f64> = (0..60).map(|i| ((i * 13) % 61) as f64).collect();
        let y: Vec<f64> = x.iter().map(|v| v + 5.0).collect();
        let e = two_sample(&x, &y, 0.95);
        let (lo, hi) = e.interval.unwrap();
        assert!(lo <= 5.0 && 5.0 <= hi, "{lo} {hi}");
    }
}
