//! A deterministic, CPU-bound workload for testing the verdict: it hashes a 64 KiB buffer
//! `--passes` times (the same bytes every run) and prints one results file on stdout.
//!
//! `verdict_workload [--passes N] [--work-pct P] [--samples K]`
//!
//! `--work-pct P` makes it do P% of the nominal work (`round(N * P / 100)` passes) while the
//! figures still count the nominal N passes: `--work-pct 103` is a build that does exactly 3%
//! more work for the same output, i.e. a known slowdown (throughput × 1/1.03 = −2.91%);
//! `--work-pct 97` a known speed-up. The environment variable `VERDICT_WORKLOAD_WORK_PCT`
//! sets the default of `--work-pct`.
//!
//! Figures:
//! * `hash.bytes_per_sec` — nominal bytes ÷ wall time of the loop, one sample per
//!   repetition (`--samples K`, default 1);
//! * `hash.cpu_bytes_per_sec` — nominal bytes ÷ CPU time of this thread during the loop
//!   (`CLOCK_THREAD_CPUTIME_ID`: time spent waiting for a core on a busy machine is left out),
//!   one sample per repetition;
//! * `hash.best_cpu_bytes_per_sec` — the best of those (one sample): the repetition that
//!   was disturbed least, which for a deterministic loop is the steadiest estimate of its
//!   cost on a shared machine.

use std::hint::black_box;
use std::time::Instant;
use strom_verdict::results::{Figure, Results};

const BUF_BYTES: usize = 64 * 1024;

fn main() {
    if let Err(e) = run() {
        eprintln!("verdict_workload: {e}");
        std::process::exit(2);
    }
}

fn run() -> Result<(), String> {
    let mut passes: u64 = 2_000;
    let mut work_pct: f64 = match std::env::var("VERDICT_WORKLOAD_WORK_PCT") {
        Ok(v) => v
            .parse()
            .map_err(|e| format!("VERDICT_WORKLOAD_WORK_PCT={v:?}: {e}"))?,
        Err(_) => 100.0,
    };
    let mut samples: usize = 1;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match a.as_str() {
            "--passes" => passes = parse(&value("--passes")?)?,
            "--work-pct" => work_pct = parse(&value("--work-pct")?)?,
            "--samples" => samples = parse(&value("--samples")?)?,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if !(work_pct > 0.0 && work_pct.is_finite()) || passes == 0 || samples == 0 {
        return Err("--passes, --samples and --work-pct must be positive".into());
    }
    let real_passes = ((passes as f64) * work_pct / 100.0).round().max(1.0) as u64;
    let buf = make_buffer();
    let nominal_bytes = (passes as f64) * BUF_BYTES as f64;
    let mut wall = Vec::with_capacity(samples);
    let mut cpu = Vec::with_capacity(samples);
    let mut check = 0u64;
    for _ in 0..samples {
        let (t0, c0) = (Instant::now(), thread_cpu_seconds());
        for _ in 0..real_passes {
            check = check.wrapping_add(hash(black_box(&buf)));
        }
        let (w, c) = (t0.elapsed().as_secs_f64(), thread_cpu_seconds() - c0);
        wall.push(nominal_bytes / w);
        cpu.push(nominal_bytes / c.max(1e-9));
    }
    let mut r = Results::new("verdict_workload");
    r.command = Some(std::env::args().collect::<Vec<_>>().join(" "));
    r.extra.insert("passes".into(), passes.into());
    r.extra.insert("real_passes".into(), real_passes.into());
    r.extra.insert("checksum".into(), check.into());
    r.figures.insert(
        "hash.bytes_per_sec".into(),
        Figure::new("bytes/s", true, wall),
    );
    let best = cpu.iter().copied().fold(0.0, f64::max);
    r.figures.insert(
        "hash.cpu_bytes_per_sec".into(),
        Figure::new("bytes/s", true, cpu),
    );
    r.figures.insert(
        "hash.best_cpu_bytes_per_sec".into(),
        Figure::new("bytes/s", true, vec![best]),
    );
    println!("{}", r.to_json_pretty());
    Ok(())
}

fn parse<T: std::str::FromStr>(s: &str) -> Result<T, String>
where
    T::Err: std::fmt::Display,
{
    s.parse().map_err(|e| format!("{s:?}: {e}"))
}

/// The same 64 KiB every run (SplitMix64 from a fixed seed).
fn make_buffer() -> Vec<u64> {
    let mut x = 0x2545_f491_4f6c_dd1du64;
    (0..BUF_BYTES / 8)
        .map(|_| {
            x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        })
        .collect()
}

/// A multiply–rotate hash over the words: one dependency chain, so the time is the work.
fn hash(words: &[u64]) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for &w in words {
        h = (h ^ w).wrapping_mul(0x0000_0100_0000_01b3).rotate_left(23);
    }
    h
}

fn thread_cpu_seconds() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a constant the kernel knows.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return f64::NAN;
    }
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}
