//! The regression verdict of strom's benchmarks: is a new build faster, slower or no
//! different from a baseline, figure by figure, with what confidence?
//!
//! * [`results`] — the results file: named figures with their samples, plus the benchmark,
//!   command, git revision and machine; read with errors that name the file and the field.
//! * [`stats`] — Hodges–Lehmann estimates with distribution-free confidence intervals
//!   (Wilcoxon signed-rank for paired samples, Mann–Whitney for independent ones).
//! * [`verdict`] — the verdict per figure ([`Verdict`]: faster, slower, no difference), the
//!   estimated change in %, its interval and confidence level; [`compare`] for two files.
//! * [`ab`] — the interleaved A/B runner: two commands (builds) run A B, B A, A B, …, each
//!   printing one results file; every run is also timed (`run.wall_seconds`,
//!   `run.cpu_seconds`), and optionally counted by [`callgrind`] (instructions).
//! * [`command`], [`process`] — command lines and running one measured process.
//!
//! The binary `verdict_workload` is a deterministic CPU-bound workload with a knob for
//! exactly 3% more or less work; `tests/injected_slowdown.rs` uses it as builds A and B.
//!
//! # The statistic
//!
//! Figures are compared as ratios, on a log scale: a change is `new / baseline − 1`.
//!
//! **Paired (an A/B run).** Round `i` runs A and B back to back (alternating who goes first),
//! so `d_i = ln(B_i / A_i)` compares two runs that saw the same state of the machine: slow
//! drift of the load, which on this shared 2-core machine moves the load average between 2
//! and 12 within minutes, cancels within a round instead of landing on one side. The change
//! is estimated by the Hodges–Lehmann estimator of the `d_i` (the median of their Walsh
//! averages), with the exact confidence interval that inverts the Wilcoxon signed-rank test
//! ([`stats::paired`]). The interval is distribution-free: it needs no normality, only that
//! the `d_i` are independent and symmetric about the true change — which holds under "no
//! change" because A and B are exchangeable within a round whose order alternates — and,
//! being rank-based, a run that lost its core for a while (the heavy right tail of timings)
//! moves it no more than any other large difference. A two-sided 95% interval needs at
//! least 6 rounds (8 at 99%).
//!
//! **Independent (two files from different runs,** e.g. a baseline from last week): the
//! Hodges–Lehmann shift between the two samples of logs with the Mann–Whitney interval
//! ([`stats::two_sample`]). It sees only the noise within each file; a machine that was
//! busier during one of the two runs is a real difference to it. Use `ab` (paired) for a
//! verdict that matters; compare files from different runs only when both were taken on a
//! quiet machine, or for instruction counts.
//!
//! # The verdict and its threshold
//!
//! A figure is **slower** (or **faster**) when the interval excludes "no change" *and* the
//! estimated change is at least the threshold, [`JudgeConfig::threshold_pct`] = 1.5% by
//! default, in the worse (better) direction; otherwise **no difference**.
//!
//! Why 1.5%: it is half of the smallest regression that must be caught (3%). With an
//! estimate whose noise is σ, a true 3% regression is missed when the estimate falls more
//! than 1.5 points short of it, and a build is falsely flagged against itself when its
//! estimate strays more than 1.5 points from zero: at the midpoint the two errors are equal,
//! both P(|noise| > 1.5%), and both are below 0.5% once σ ≤ 0.5% (2.8 σ). The interval
//! condition bounds false alarms by 5% (the two-sided level) on its own even when the noise
//! is much larger: a noisy figure gets a wide interval and "no difference", not an alarm.
//! Below ~1.5% there is also little to see between two builds: code layout alone (alignment,
//! link order, even the size of the environment) moves the speed of unchanged code by a
//! few percent (Mytkowicz et al., "Producing wrong data without doing anything obviously
//! wrong!", ASPLOS 2009), so a smaller difference is not evidence of a code change.
//!
//! So a figure must be measured precisely enough: σ of the estimate ≤ ~0.5%. On this
//! machine (2 shared vCPUs, load average 2–12 from other work) the measured rates, A/B with
//! 20 rounds, the workload hashing 64 KiB 20 × 100 times per run (`tests/injected_slowdown.rs`,
//! `bench/baselines/README.md` has the numbers):
//!
//! * **wall time** is not usable: at a load average of 10–13 the two runs of a round
//!   differ by 30–130% (interquartile range); a process's wall time caught 2–6 of 10 injected
//!   3% changes, and gave 2 false alarms in 20 A/A comparisons at a load of 4–8;
//! * **CPU time of the measuring thread**, best of 20 short repetitions inside a process,
//!   interleaved across processes: every 3% change detected (82 of 82), no false alarm in
//!   100 A/A comparisons, estimates within 0.5 points of the truth; the median of the
//!   repetitions is noisier (1 false alarm in 20 twice, 1 of 10 speed-ups missed once);
//! * **instruction counts** under callgrind: the same to a few instructions from run to
//!   run whatever the load (exact verdicts from 6 rounds), for single-threaded code.
//!
//! Each figure is judged on its own: with k independent noisy figures, a build compared
//! with itself raises an alarm somewhere with probability up to ~k × the per-figure rate.

pub mod ab;
pub mod callgrind;
pub mod command;
pub mod process;
pub mod results;
pub mod stats;
pub mod verdict;

pub use ab::{run_ab, AbConfig, AbOutcome, Measure};
pub use command::CommandLine;
pub use results::{Figure, Results};
pub use verdict::{compare, judge, Comparison, FigureVerdict, JudgeConfig, Verdict};
