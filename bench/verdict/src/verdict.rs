//! The verdict per figure: faster, slower or no difference, with the estimated change, its
//! confidence interval and the confidence level (see the crate docs for the rule).

use crate::results::{Figure, Results};
use crate::stats;
use serde::Serialize;

/// How figures are judged.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct JudgeConfig {
    /// Confidence level of the interval, e.g. 0.95.
    pub level: f64,
    /// Smallest change (in %, of the ratio new/baseline) that counts as a difference.
    pub threshold_pct: f64,
}

impl Default for JudgeConfig {
    fn default() -> Self {
        JudgeConfig {
            level: 0.95,
            threshold_pct: 1.5,
        }
    }
}

/// The judgement of one figure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Verdict {
    /// Better than the baseline (higher throughput, lower time or count).
    Faster,
    /// Worse than the baseline: a regression.
    Slower,
    /// No change of at least the threshold that the samples can tell from noise.
    NoDifference,
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Verdict::Faster => "faster",
            Verdict::Slower => "SLOWER",
            Verdict::NoDifference => "no difference",
        })
    }
}

/// One figure of a comparison.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FigureVerdict {
    pub figure: String,
    pub unit: String,
    pub higher_is_better: bool,
    pub baseline_median: f64,
    pub new_median: f64,
    pub baseline_samples: usize,
    pub new_samples: usize,
    /// Paired by interleaved round (signed-rank), or two independent samples (Mann–Whitney).
    pub paired: bool,
    /// Estimated change of the figure, new against baseline, in % (Hodges–Lehmann on logs).
    pub change_pct: f64,
    /// Confidence interval of `change_pct`, in %; `None` when the samples are too few for an
    /// interval at this level.
    pub ci_pct: Option<(f64, f64)>,
    /// The interval's confidence level, e.g. 0.95.
    pub level: f64,
    /// Two-sided p-value of "no change".
    pub p_value: f64,
    pub verdict: Verdict,
    /// Why the verdict is what it is, in a few words.
    pub reason: String,
}

/// A whole comparison: every figure in both files, and the figures only one has.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Comparison {
    pub level: f64,
    pub threshold_pct: f64,
    pub figures: Vec<FigureVerdict>,
    pub only_in_baseline: Vec<String>,
    pub only_in_new: Vec<String>,
}

/// Whether two files are the two sides of one A/B run (so their samples pair up by round).
pub fn paired_files(baseline: &Results, new: &Results) -> bool {
    match (&baseline.ab, &new.ab) {
        (Some(a), Some(b)) => a.session == b.session && a.side != b.side && a.rounds == b.rounds,
        _ => false,
    }
}

/// Judges every figure that both files have.
pub fn compare(baseline: &Results, new: &Results, cfg: &JudgeConfig) -> Comparison {
    let paired = paired_files(baseline, new);
    let mut figures = Vec::new();
    let mut only_in_baseline = Vec::new();
    for (name, b) in &baseline.figures {
        match new.figures.get(name) {
            Some(n) => figures.push(judge(name, b, n, paired, cfg)),
            None => only_in_baseline.push(name.clone()),
        }
    }
    let only_in_new = new
        .figures
        .keys()
        .filter(|k| !baseline.figures.contains_key(*k))
        .cloned()
        .collect();
    Comparison {
        level: cfg.level,
        threshold_pct: cfg.threshold_pct,
        figures,
        only_in_baseline,
        only_in_new,
    }
}

/// Judges one figure. `paired` pairs sample `i` of both (they must be equally many; if not,
/// the samples are treated as independent).
pub fn judge(
    name: &str,
    baseline: &Figure,
    new: &Figure,
    paired: bool,
    cfg: &JudgeConfig,
) -> FigureVerdict {
    let la: Vec<f64> = baseline.samples.iter().map(|x| x.ln()).collect();
    let lb: Vec<f64> = new.samples.iter().map(|x| x.ln()).collect();
    let paired = paired && la.len() == lb.len();
    let est = if paired {
        let d: Vec<f64> = la.iter().zip(&lb).map(|(a, b)| b - a).collect();
        stats::paired(&d, cfg.level)
    } else {
        stats::two_sample(&la, &lb, cfg.level)
    };
    let pct = |l: f64| (l.exp() - 1.0) * 100.0;
    let threshold = (1.0 + cfg.threshold_pct / 100.0).ln();
    let better = |l: f64| (l > 0.0) == new.higher_is_better;
    let (verdict, reason) = match est.interval {
        None => (
            Verdict::NoDifference,
            format!(
                "too few samples for a {}% interval ({} needed)",
                pct_str(cfg.level),
                if paired {
                    "at least 6 rounds at 95%, 8 at 99%"
                } else {
                    "at least 4 per side at 95%, 5 at 99%"
                }
            ),
        ),
        Some((lo, hi)) if lo <= 0.0 && hi >= 0.0 => (
            Verdict::NoDifference,
            "the interval includes no change".to_owned(),
        ),
        Some(_) if est.estimate.abs() < threshold => (
            Verdict::NoDifference,
            format!(
                "significant but below the {}% threshold",
                trim(cfg.threshold_pct)
            ),
        ),
        Some(_) if better(est.estimate) => (
            Verdict::Faster,
            "the interval excludes no change".to_owned(),
        ),
        Some(_) => (
            Verdict::Slower,
            "the interval excludes no change".to_owned(),
        ),
    };
    FigureVerdict {
        figure: name.to_owned(),
        unit: new.unit.clone(),
        higher_is_better: new.higher_is_better,
        baseline_median: baseline.median(),
        new_median: new.median(),
        baseline_samples: baseline.samples.len(),
        new_samples: new.samples.len(),
        paired,
        change_pct: pct(est.estimate),
        ci_pct: est.interval.map(|(lo, hi)| (pct(lo), pct(hi))),
        level: cfg.level,
        p_value: est.p_value,
        verdict,
        reason,
    }
}

impl Comparison {
    /// True if any figure is [`Verdict::Slower`].
    pub fn any_slower(&self) -> bool {
        self.figures.iter().any(|f| f.verdict == Verdict::Slower)
    }

    /// A plain-text table, one figure per line, then the figures only one side has.
    pub fn table(&self) -> String {
        let header = [
            "figure",
            "baseline",
            "new",
            "change",
            "interval",
            "verdict",
            "confidence",
            "p",
            "n",
        ];
        let mut rows: Vec<[String; 9]> = vec![header.map(str::to_owned)];
        for f in &self.figures {
            rows.push([
                f.figure.clone(),
                format!("{} {}", num(f.baseline_median), f.unit),
                format!("{} {}", num(f.new_median), f.unit),
                format!("{:+.2}%", f.change_pct),
                match f.ci_pct {
                    Some((lo, hi)) => format!("[{lo:+.2}%, {hi:+.2}%]"),
                    None => "—".to_owned(),
                },
                f.verdict.to_string(),
                format!("{}%", pct_str(f.level)),
                format!("{:.2e}", f.p_value),
                if f.paired {
                    format!("{} pairs", f.new_samples)
                } else {
                    format!("{}+{}", f.baseline_samples, f.new_samples)
                },
            ]);
        }
        let mut widths = [0usize; 9];
        for r in &rows {
            for (w, c) in widths.iter_mut().zip(r) {
                *w = (*w).max(c.chars().count());
            }
        }
        let mut out = String::new();
        for r in &rows {
            let line: Vec<String> = r
                .iter()
                .zip(widths)
                .enumerate()
                .map(|(i, (c, w))| {
                    let pad = " ".repeat(w - c.chars().count());
                    if i == 0 || i == 5 {
                        format!("{c}{pad}")
                    } else {
                        format!("{pad}{c}")
                    }
                })
                .collect();
            out.push_str(line.join("  ").trim_end());
            out.push('\n');
        }
        for f in self
            .figures
            .iter()
            .filter(|f| f.verdict != Verdict::NoDifference)
        {
            out.push_str(&format!("{}: {} ({})\n", f.figure, f.verdict, f.reason));
        }
        for f in self
            .figures
            .iter()
            .filter(|f| f.verdict == Verdict::NoDifference && f.ci_pct.is_none())
        {
            out.push_str(&format!("{}: {}\n", f.figure, f.reason));
        }
        if !self.only_in_baseline.is_empty() {
            out.push_str(&format!(
                "only in the baseline (not judged): {}\n",
                self.only_in_baseline.join(", ")
            ));
        }
        if !self.only_in_new.is_empty() {
            out.push_str(&format!(
                "only in the new file (not judged): {}\n",
                self.only_in_new.join(", ")
            ));
        }
        out
    }

    /// The comparison as JSON (for scripts).
    pub fn to_json_pretty(&self) -> String {
        let mut v = serde_json::to_value(self).expect("comparison serializes");
        v["any_slower"] = self.any_slower().into();
        serde_json::to_string_pretty(&v).expect("comparison serializes") + "\n"
    }
}

/// `0.95` → `"95"`, `0.995` → `"99.5"`.
fn pct_str(level: f64) -> String {
    trim(level * 100.0)
}

fn trim(x: f64) -> String {
    let s = format!("{x:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// Four significant digits, with an SI suffix for large values.
fn num(x: f64) -> String {
    let (v, suffix) = match x.abs() {
        a if a >= 1e12 => (x / 1e12, "T"),
        a if a >= 1e9 => (x / 1e9, "G"),
        a if a >= 1e6 => (x / 1e6, "M"),
        a if a >= 1e4 => (x / 1e3, "k"),
        _ => (x, ""),
    };
    let digits = if v.abs() >= 100.0 {
        1
    } else if v.abs() >= 10.0 {
        2
    } else {
        3
    };
    format!("{v:.digits$}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fig(higher: bool, samples: &[f64]) -> Figure {
        Figure::new("x/s", higher, samples.to_vec())
    }

    /// Deterministic noise in ±`amp`, different per index.
    fn noisy(base: f64, amp: f64, n: usize, seed: u64) -> Vec<f64> {
        (0..n)
            .map(|i| {
                let h = (i as u64 + 1)
                    .wrapping_mul(0x9e37_79b9_7f4a_7c15)
                    .wrapping_add(seed)
                    .rotate_left(29)
                    .wrapping_mul(0xbf58_476d_1ce4_e5b9);
                base * (1.0 + amp * ((h >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0))
            })
            .collect()
    }

    #[test]
    fn clear_regression_and_improvement() {
        let cfg = JudgeConfig::default();
        let a = fig(true, &noisy(100.0, 0.005, 10, 1));
        let slow = fig(true, &noisy(97.0, 0.005, 10, 2));
        let v = judge("t", &a, &slow, true, &cfg);
        assert_eq!(v.verdict, Verdict::Slower, "{v:?}");
        let (lo, hi) = v.ci_pct.unwrap();
        assert!(lo < -3.0 + 0.5 && hi > -3.0 - 0.5 && hi < 0.0, "{v:?}");
        let fast = fig(true, &noisy(103.0, 0.005, 10, 3));
        assert_eq!(judge("t", &a, &fast, false, &cfg).verdict, Verdict::Faster);
        // Lower is better: a higher time is slower.
        let t0 = fig(false, &noisy(1.0, 0.005, 10, 4));
        let t1 = fig(false, &noisy(1.03, 0.005, 10, 5));
        assert_eq!(judge("t", &t0, &t1, true, &cfg).verdict, Verdict::Slower);
        assert_eq!(judge("t", &t1, &t0, true, &cfg).verdict, Verdict::Faster);
    }

    #[test]
    fn noise_and_small_changes_are_no_difference() {
        let cfg = JudgeConfig::default();
        let a = fig(true, &noisy(100.0, 0.10, 8, 6));
        let b = fig(true, &noisy(97.0, 0.10, 8, 7));
        let v = judge("t", &a, &b, true, &cfg);
        assert_eq!(v.verdict, Verdict::NoDifference, "{v:?}");
        // Deterministic counts 0.5% apart: significant, below the threshold.
        let c0 = fig(false, &[1000.0; 8]);
        let c1 = fig(false, &[1005.0; 8]);
        let v = judge("instr", &c0, &c1, true, &cfg);
        assert_eq!(v.verdict, Verdict::NoDifference);
        assert!(v.reason.contains("below"), "{}", v.reason);
        let (lo, hi) = v.ci_pct.unwrap();
        assert!((lo - 0.5).abs() < 1e-9 && (hi - 0.5).abs() < 1e-9, "{v:?}");
        // Too few rounds.
        let v = judge(
            "t",
            &fig(true, &[1.0; 5]),
            &fig(true, &[2.0; 5]),
            true,
            &cfg,
        );
        assert_eq!(v.verdict, Verdict::NoDifference);
        assert!(v.ci_pct.is_none());
    }

    #[test]
    fn compare_pairs_ab_files_and_lists_missing_figures() {
        use crate::results::AbInfo;
        let mut a = Results::new("w");
        let mut b = Results::new("w");
        a.figures.insert("x".into(), fig(true, &[1.0; 6]));
        a.figures.insert("gone".into(), fig(true, &[1.0; 6]));
        b.figures.insert("x".into(), fig(true, &[1.0; 6]));
        b.figures.insert("new".into(), fig(true, &[1.0; 6]));
        let info = |side: &str| AbInfo {
            session: "s1".into(),
            side: side.into(),
            rounds: 6,
            order: String::new(),
            measure: "native".into(),
        };
        assert!(!paired_files(&a, &b));
        a.ab = Some(info("A"));
        b.ab = Some(info("B"));
        assert!(paired_files(&a, &b));
        let c = compare(&a, &b, &JudgeConfig::default());
        assert!(c.figures[0].paired);
        assert_eq!(c.only_in_baseline, vec!["gone".to_owned()]);
        assert_eq!(c.only_in_new, vec!["new".to_owned()]);
        assert!(!c.any_slower());
        let t = c.table();
        assert!(
            t.contains("no difference") && t.contains("only in the new file"),
            "{t}"
        );
        let j: serde_json::Value = serde_json::from_str(&c.to_json_pretty()).unwrap();
        assert_eq!(j["any_slower"], false);
        assert_eq!(j["figures"][0]["verdict"], "NoDifference");
    }

    #[test]
    fn number_format() {
        assert_eq!(num(286_610_771.45), "286.6M");
        assert_eq!(num(1.234_56), "1.235");
        assert_eq!(num(25_000.0), "25.00k");
        assert_eq!(pct_str(0.95), "95");
        assert_eq!(pct_str(0.995), "99.5");
    }
}
