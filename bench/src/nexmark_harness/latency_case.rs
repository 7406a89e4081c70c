//! The latency runs of one query and parallelism: `--latency-repeats` paced runs of strom,
//! each followed (for `keyed-count`) by its floors.
//!
//! A latency figure on this shared 2-vCPU guest is a draw from the machine's stalls as much
//! as a property of the engine, so a case repeats its runs and reports every one of them,
//! with the run of median p99 standing for the case. Each strom run is followed, in the same
//! invocation, by the [`floor`]s (the same keyed count on plain threads):
//! - at the **same rate**: the floor is 2–3× faster than strom, so at that rate it runs at
//!   a fraction of strom's load;
//! - at **equal load**: the same fraction (`--latency-at`) of the floor's own maximum,
//!   measured right before. At half its maximum a backlog left by a stall drains as slowly
//!   for the floor as for strom, which is what a p99 at half the maximum rate measures.
//!
//! Before each strom run, [`hiccup`] measures for a few seconds what the machine takes from
//! a spinning thread on each slot CPU: the noise the run is about to meet. With
//! `--latency-max-each-run`, strom's maximum is also measured again right before each run
//! (one throughput run) and the run paced at `--latency-at` of it, as the floor's equal-load
//! runs are paced at a fraction of a maximum measured right before them: this guest's
//! capacity moves within minutes.

use super::{child, floor, hiccup, latency, NexmarkArgs, LATENCY_POLL};
use serde_json::Value;
use std::time::Duration;

/// How long the machine's hiccups are measured before each run.
const HICCUPS_FOR: Duration = Duration::from_secs(5);

/// Keys the floor's maximum is measured over: a couple of seconds at the floor's speed.
const FLOOR_MAX_RECORDS: u64 = 300_000_000;

/// Runs `q` at `rate` `--latency-repeats` times; the case's `latency` (the run of median
/// p99), `latency_runs` (every run) and `latency_p99s_us` (each series of p99s).
pub fn run(
    args: &NexmarkArgs,
    q: &str,
    p: u32,
    rate: u64,
    every: Duration,
    max_rate: Option<f64>,
) -> Result<Vec<(&'static str, Value)>, String> {
    let repeats = args.latency_repeats.max(1);
    let mut runs = Vec::with_capacity(repeats as usize);
    for r in 0..repeats {
        eprintln!("{q} -p {p} latency run {}/{repeats}", r + 1);
        // With --latency-max-each-run, strom's maximum right before, as the floor's is.
        let max_before = match args.latency_max_each_run {
            true => {
                let label = format!("{q} -p {p} maximum before latency run {}", r + 1);
                let m = super::throughput_run(args, q, p, &label, every)?.events_per_sec();
                Some(m)
            }
            false => None,
        };
        let rate = max_before.map_or(rate, |m| ((m * args.latency_at) as u64).max(1));
        let mut run = one_run(args, q, p, rate, every)?;
        run.max_before = max_before;
        runs.push(run);
    }
    let jsons: Vec<Value> = runs
        .iter()
        .map(|r| r.to_json(r.max_before.or(max_rate)))
        .collect();
    // Each series: its name and where each run's record holds its p99.
    let mut wanted = vec![("strom", "/p99_us")];
    if !runs[0].floors.is_empty() {
        wanted.extend([
            ("floor_block", "/floors/0/p99_us"),
            ("floor_spin", "/floors/1/p99_us"),
            ("floor_block_equal_load", "/floors_at_equal_load/0/p99_us"),
            ("floor_spin_equal_load", "/floors_at_equal_load/1/p99_us"),
        ]);
    }
    let series: serde_json::Map<String, Value> = wanted
        .into_iter()
        .map(|(name, at)| {
            let v = jsons
                .iter()
                .map(|j| j.pointer(at).cloned().unwrap_or(Value::Null));
            (name.to_string(), Value::Array(v.collect()))
        })
        .collect();
    for (name, v) in &series {
        eprintln!("{q} -p {p} p99 µs over {repeats} runs, {name}: {v}");
    }
    let median_run = median_index(&runs.iter().map(|r| r.us("p99_us")).collect::<Vec<_>>());
    Ok(vec![
        ("latency", jsons[median_run].clone()),
        ("latency_runs", Value::Array(jsons)),
        ("latency_p99s_us", Value::Object(series)),
    ])
}

/// The index of the median of `v` (the lower one of an even count).
fn median_index(v: &[u64]) -> usize {
    let mut idx: Vec<usize> = (0..v.len()).collect();
    idx.sort_by_key(|&i| v[i]);
    idx[(v.len().saturating_sub(1)) / 2]
}

/// One paced run of `q` at `rate` events/s with latency markers, then its floors.
fn one_run(
    args: &NexmarkArgs,
    q: &str,
    p: u32,
    rate: u64,
    every: Duration,
) -> Result<latency::LatencyRun, String> {
    let hiccups = hiccup::measure(p as usize, HICCUPS_FOR)?;
    for h in &hiccups {
        eprintln!(
            "{q} -p {p} before the run, a spinning thread on slot {}",
            h.line()
        );
    }
    let events = ((rate as f64 * args.latency_seconds) as u64).max(1);
    let mut cmd = super::strom_run(
        args,
        p,
        &[format!(
            "metrics.latency.interval={}",
            args.latency_interval
        )],
    );
    cmd.extend(latency::job_args(q, events, Some(rate)));
    let label = format!("{q} -p {p} latency at {:.3} M events/s", rate as f64 / 1e6);
    let m = child::run(&args.strom, &cmd, LATENCY_POLL, every, &mut |t, cpu, _| {
        eprintln!("  … {label}: {t:.0} s, CPU {cpu:.1} s")
    })?;
    let mut run = latency::LatencyRun::new(rate, events, m)?;
    run.hiccups_before = hiccups;
    eprintln!("{q} -p {p} latency: {}", run.line());
    if q == "keyed-count" {
        floors(args, p, &mut run)?;
    }
    Ok(run)
}

/// The floors of a `keyed-count` run: at its rate, then at equal load.
fn floors(args: &NexmarkArgs, p: u32, run: &mut latency::LatencyRun) -> Result<(), String> {
    let interval =
        strom_runtime::config::parse_duration(&args.latency_interval).ok_or_else(|| {
            format!(
                "--latency-interval {:?}: not a duration",
                args.latency_interval
            )
        })?;
    let (keys, threads) = (latency::KEYED_COUNT_KEYS, p as usize);
    for wait in [floor::Wait::Block, floor::Wait::Spin] {
        let f = floor::run(wait, run.rate, run.events, keys, threads, interval)?;
        eprintln!(
            "keyed-count -p {p} floor at the same rate, plain {}",
            f.line()
        );
        run.floors.push(f);
    }
    let max = floor::max_rate(FLOOR_MAX_RECORDS, keys, threads, interval)?;
    let rate = ((max * args.latency_at) as u64).max(1);
    let events = ((rate as f64 * args.latency_seconds) as u64).max(1);
    eprintln!(
        "keyed-count -p {p} floor maximum {:.3} M records/s; at {:.0}% of it:",
        max / 1e6,
        args.latency_at * 100.0
    );
    for wait in [floor::Wait::Block, floor::Wait::Spin] {
        let f = floor::run(wait, rate, events, keys, threads, interval)?;
        eprintln!("keyed-count -p {p} floor at equal load, plain {}", f.line());
        run.floors_at_equal_load.push(f);
    }
    run.floor_max = Some(max);
    let j = run.to_json(None);
    eprintln!(
        "keyed-count -p {p} strom's p99 over the floors' (block, spin): same rate {}, equal load {}",
        j["p99_vs_floors"], j["p99_vs_floors_at_equal_load"]
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_run_is_the_middle_p99() {
        assert_eq!(median_index(&[900, 300, 5000]), 0);
        assert_eq!(
            median_index(&[300, 5000, 900, 100]),
            0,
            "the lower of 300 and 900"
        );
        assert_eq!(median_index(&[7]), 0);
    }
}
