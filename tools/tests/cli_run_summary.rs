//! `strom run`'s summary and progress lines: records in (read by the sources), records out
//! (reached the sinks) and records exchanged, each checked against what the job really
//! did; progress lines at `--progress-interval`, whose counts go up to the summary's; a bad
//! interval named in its error.

mod cli_run_fixture;
mod common;

use cli_run_fixture::*;

#[test]
fn keyed_count_prints_a_summary() {
    let o = strom(&[
        "run",
        "-D",
        "taskmanager.numberOfTaskSlots=2",
        "keyed-count",
        "--records",
        "200000",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "", "discarding job prints nothing on stdout");
    let summary = parse_summary(&stderr(&o), "keyed-count");
    assert_eq!(summary.records_in, 200_000, "{}", summary.line);
    // Every generated record is counted once and its updated count reaches the sink.
    assert_eq!(summary.records_out, 200_000, "{}", summary.line);
    // Every generated record crosses the key_by exchange once.
    assert_eq!(summary.exchanged, 200_000, "{}", summary.line);
    let (rate, secs) = (summary.rate, summary.secs);
    assert!(secs > 0.0 && secs < 60.0, "{}", summary.line);
    assert!(rate > 0.0, "{}", summary.line);
    // rate = records / seconds; the seconds are printed to the millisecond, which for a
    // job of a few milliseconds moves the implied rate by several percent: the rate must
    // lie between 200000 / (secs ± 0.0005), with 1% for its own rounding.
    let lowest = 200_000.0 / (secs + 0.0005) * 0.99;
    let highest = 200_000.0 / (secs - 0.0005).max(1e-9) * 1.01;
    assert!(
        rate >= lowest && rate <= highest,
        "rate {rate} outside 200000 / ({secs} ± 0.0005) = {lowest}..{highest}: {}",
        summary.line
    );

    // --json gives the same numbers as JSON on stderr.
    let o = strom(&[
        "run",
        "--json",
        "keyed-count",
        "--records",
        "5000",
        "--keys",
        "7",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    let json = err
        .lines()
        .find(|l| l.starts_with('{'))
        .unwrap_or_else(|| panic!("no JSON summary:\n{err}"));
    for field in [
        "\"job\":\"keyed-count\"",
        "\"records_in\":5000",
        "\"records_out\":5000",
        "\"records_exchanged\":5000",
        "\"status\":\"FINISHED\"",
        "\"records_per_second\":",
        "\"seconds\":",
    ] {
        assert!(json.contains(field), "{field} missing in {json}");
    }
}

/// The summary's records in are what the source read (the file's lines) and its records
/// out what reached the sink (one line per distinct word), not the records exchanged.
#[test]
fn wordcount_summary_counts_lines_in_and_distinct_words_out() {
    let dir = tempfile::tempdir().unwrap();
    let (text, o) = wordcount_on_sample(dir.path(), &[]);
    assert!(o.status.success(), "strom failed:\n{}", stderr(&o));
    let printed = stdout(&o).lines().count() as u64;
    let words = reference_counts(&text);
    assert_eq!(printed, words.len() as u64, "one line per distinct word");
    let summary = parse_summary(&stderr(&o), "wordcount");
    assert_eq!(
        summary.records_in,
        text.lines().count() as u64,
        "{}",
        summary.line
    );
    assert_eq!(summary.records_out, printed, "{}", summary.line);
    // Every word crosses the key_by exchange and every count the one to the print sink
    // (parallelism 1): the exchanged records are neither of the above.
    let total_words: u64 = words.values().sum();
    assert_eq!(summary.exchanged, total_words + printed, "{}", summary.line);
}

/// With a short `--progress-interval`, a run of about 1.5 s prints progress lines of the
/// documented form whose time and counts go up, within the summary's totals. A run of 2.5 s
/// prints one at the default 2 s, and none with `0` or `off`.
#[test]
fn progress_lines_at_the_interval_given_count_up_to_the_summary() {
    // A paced generator: `records` at 20000 records/s, as long whatever the machine.
    let run = |records: u64, interval: Option<&str>| {
        let records = records.to_string();
        let mut args = vec!["run"];
        if let Some(i) = interval {
            args.extend(["--progress-interval", i]);
        }
        args.extend(["keyed-count", "--records", &records, "--rate", "20000"]);
        let o = strom(&args);
        assert!(o.status.success(), "{}", stderr(&o));
        stderr(&o)
    };
    let err = run(30_000, Some("100 ms"));
    let summary = parse_summary(&err, "keyed-count");
    assert_eq!(summary.records_in, 30_000, "{}", summary.line);
    assert_eq!(summary.records_out, 30_000, "{}", summary.line);
    let lines = parse_progress(&err);
    // ~15 ticks; a busy machine may stretch some, not to fewer than 3.
    assert!(lines.len() >= 3, "too few progress lines:\n{err}");
    for w in lines.windows(2) {
        assert!(w[1].secs > w[0].secs, "time goes up:\n{err}");
        assert!(
            w[1].records_in >= w[0].records_in,
            "records in go up:\n{err}"
        );
        assert!(
            w[1].records_out >= w[0].records_out,
            "records out go up:\n{err}"
        );
    }
    let (first, last) = (lines[0], lines[lines.len() - 1]);
    assert!(
        last.records_in > first.records_in,
        "records in go up:\n{err}"
    );
    assert!(
        last.records_out > first.records_out,
        "records out go up:\n{err}"
    );
    assert!(first.secs >= 0.05 && last.secs < 30.0, "{err}");
    for p in &lines {
        // Counters as the tasks last published them: the sink's may be fresher than the
        // source's, so records out can run a little ahead of records in; both stay within
        // the totals.
        assert!(
            p.records_in <= 30_000 && p.records_out <= 30_000,
            "beyond the totals:\n{err}"
        );
        // The rate is the records in over the seconds, shown to a tenth: between
        // records / (secs ± 0.05), with 1% for the rate's own rounding.
        let n = p.records_in as f64;
        let (lowest, highest) = (n / (p.secs + 0.05) * 0.99, n / (p.secs - 0.05) * 1.01 + 1.0);
        assert!(
            p.rate >= lowest && p.rate <= highest,
            "rate {} outside {lowest}..{highest}:\n{err}",
            p.rate
        );
    }

    // 2.5 s runs side by side (paced, so they hardly compete): the default interval ticks
    // once or twice, `0` and `off` never.
    let (default, zero, off) = std::thread::scope(|s| {
        let d = s.spawn(|| run(50_000, None));
        let z = s.spawn(|| run(50_000, Some("0")));
        let o = s.spawn(|| run(50_000, Some("off")));
        (d.join().unwrap(), z.join().unwrap(), o.join().unwrap())
    });
    let ticks = parse_progress(&default);
    assert!(
        !ticks.is_empty() && (1.9..2.5).contains(&ticks[0].secs),
        "default: a first line at 2 s:\n{default}"
    );
    for (what, err) in [("0", zero), ("off", off)] {
        assert!(
            parse_progress(&err).is_empty(),
            "--progress-interval {what} printed progress:\n{err}"
        );
        assert_eq!(parse_summary(&err, "keyed-count").records_in, 50_000);
    }
}

/// A `--progress-interval` that is not a duration is a usage error naming the option and
/// the value.
#[test]
fn bad_progress_interval_is_an_error_naming_the_option() {
    for bad in ["soon", "5 fortnights", "1.5 s"] {
        let o = strom(&["run", "--progress-interval", bad, "keyed-count"]);
        assert_clean_failure(&o, bad, &["--progress-interval", bad]);
        assert_eq!(o.status.code(), Some(2), "clap usage error exit code");
        assert!(stderr(&o).contains("not a duration"), "{}", stderr(&o));
    }
}
