//! The `strom` binary as a user runs it: word count output checked against counts computed
//! here, the built-in job list, the summary line, and clear errors (never a panic) for bad
//! input, configuration and flags. Running `strom` and the reference counts:
//! `cli_run_fixture/`.

mod cli_run_fixture;
mod common;

use cli_run_fixture::*;
use std::collections::BTreeMap;

/// `strom run wordcount` on 2 slots over the sample text (written into `dir`), with `extra`
/// arguments after the job's `--input`: the text and what the run printed.
fn wordcount_on_sample(dir: &std::path::Path, extra: &[&str]) -> (String, std::process::Output) {
    let input = dir.join("input.txt");
    let text = sample_text();
    std::fs::write(&input, &text).unwrap();
    let mut args = vec![
        "run",
        "-D",
        "taskmanager.numberOfTaskSlots=2",
        "wordcount",
        "--input",
        input.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    (text, strom(&args))
}

#[test]
fn wordcount_prints_one_line_per_word_with_its_count() {
    let dir = tempfile::tempdir().unwrap();
    let (text, o) = wordcount_on_sample(dir.path(), &[]);
    assert!(o.status.success(), "strom failed:\n{}", stderr(&o));
    let got = parse_counts(&stdout(&o), "stdout");
    let want = reference_counts(&text);
    // Spot checks of the rule itself (independent of the reference function).
    assert_eq!(want["the"], 2);
    assert_eq!(want["quick"], 2);
    assert_eq!(want["fox"], 2);
    assert_eq!(want["école"], 2);
    assert_eq!(want["straße"], 1);
    assert_eq!(want["don"], 1);
    assert_eq!(want["t"], 1);
    assert_eq!(want["x86"], 1);
    assert_eq!(want["64"], 1);
    assert_eq!(want["arm64"], 1);
    assert_eq!(want["naïve"], 1);
    assert!(!want.contains_key("x86_64"));
    assert_eq!(got.len(), want.len(), "distinct words");
    assert_eq!(got, want);
    assert!(!stderr(&o).contains("panicked"));
}

#[test]
fn wordcount_small_text_exact_output() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("small.txt");
    std::fs::write(
        &input,
        "To be, or not to be:\r\nthat is the Question.\nTO BE",
    )
    .unwrap();
    let o = strom(&[
        "run",
        "-D",
        "taskmanager.numberOfTaskSlots=2",
        "wordcount",
        "--input",
        input.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "strom failed:\n{}", stderr(&o));
    let mut lines: Vec<String> = stdout(&o).lines().map(str::to_string).collect();
    lines.sort();
    assert_eq!(
        lines,
        vec![
            "be\t3",
            "is\t1",
            "not\t1",
            "or\t1",
            "question\t1",
            "that\t1",
            "the\t1",
            "to\t3",
        ]
    );
}

#[test]
fn wordcount_empty_file_prints_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("empty.txt");
    std::fs::write(&input, "").unwrap();
    let o = strom(&["run", "wordcount", "--input", input.to_str().unwrap()]);
    assert!(o.status.success(), "strom failed:\n{}", stderr(&o));
    assert_eq!(stdout(&o), "");
}

#[test]
fn wordcount_output_dir_part_files_hold_the_same_lines() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let (text, o) = wordcount_on_sample(dir.path(), &["--output", out.to_str().unwrap()]);
    assert!(o.status.success(), "strom failed:\n{}", stderr(&o));
    assert_eq!(stdout(&o), "", "nothing printed with --output");
    let (names, all) = read_parts(&out);
    assert_eq!(
        names,
        vec!["part-0", "part-1"],
        "one part file per Count subtask"
    );
    assert_eq!(parse_counts(&all, "part files"), reference_counts(&text));

    // With parallelism 1 there is a single part file with the same content.
    let out1 = dir.path().join("out1");
    let o = strom(&[
        "run",
        "-p",
        "1",
        "wordcount",
        "--input",
        dir.path().join("input.txt").to_str().unwrap(),
        "--output",
        out1.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "strom failed:\n{}", stderr(&o));
    let (names, all) = read_parts(&out1);
    assert_eq!(names, vec!["part-0"]);
    assert_eq!(parse_counts(&all, "part-0"), reference_counts(&text));
}

/// `strom --version` names the git revision the binary was built from (benchmark reports
/// record it), as 12 hex digits.
#[test]
fn version_names_the_git_revision() {
    let o = strom(&["--version"]);
    assert!(o.status.success());
    let out = String::from_utf8_lossy(&o.stdout);
    let rev = out
        .trim()
        .strip_prefix(concat!("strom ", env!("CARGO_PKG_VERSION"), " (git "))
        .and_then(|r| r.strip_suffix(')'))
        .map(|r| r.trim_end_matches(", modified"))
        .unwrap_or_else(|| panic!("unexpected version line: {out}"));
    assert!(
        rev == "unknown" || (rev.len() == 12 && rev.chars().all(|c| c.is_ascii_hexdigit())),
        "{out}"
    );
}

#[test]
fn run_help_lists_the_builtin_jobs() {
    // The jobs the stock binary registers, straight from the library.
    let registry = strom_tools::jobs::builtin();
    let mut want: Vec<(String, String)> = registry
        .iter()
        .map(|j| (j.name.to_string(), j.about.to_string()))
        .collect();
    want.sort();
    let names: Vec<&str> = want.iter().map(|(n, _)| n.as_str()).collect();
    assert!(
        names.contains(&"wordcount") && names.contains(&"keyed-count"),
        "{names:?}"
    );

    // `name   about` lines after "Jobs:".
    let listed = |out: &str| -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = out
            .lines()
            .skip_while(|l| l.trim() != "Jobs:")
            .skip(1)
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let l = l.trim();
                let (name, about) = l.split_once(' ').unwrap_or((l, ""));
                (name.to_string(), about.trim().to_string())
            })
            .collect();
        v.sort();
        v
    };
    let o = strom(&["run", "--help"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(listed(&stdout(&o)), want, "help:\n{}", stdout(&o));

    // `strom jobs` lists the same.
    let o = strom(&["jobs"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(listed(&stdout(&o)), want, "jobs:\n{}", stdout(&o));
}

#[test]
fn missing_input_file_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-input.txt");
    let o = strom(&["run", "wordcount", "--input", missing.to_str().unwrap()]);
    assert_clean_failure(&o, "missing --input", &[missing.to_str().unwrap()]);
    assert_eq!(stdout(&o), "");

    // A directory is not a text file either.
    let o = strom(&["run", "wordcount", "--input", dir.path().to_str().unwrap()]);
    assert_clean_failure(&o, "--input DIR", &[dir.path().to_str().unwrap()]);

    // And --input is required.
    let o = strom(&["run", "wordcount"]);
    assert_clean_failure(&o, "no --input", &["--input"]);
}

#[test]
fn unknown_job_is_an_error_listing_the_jobs() {
    let o = strom(&["run", "no-such-job"]);
    assert_clean_failure(
        &o,
        "unknown job",
        &["no-such-job", "wordcount", "keyed-count"],
    );
    let o = strom(&["run"]);
    assert_clean_failure(&o, "no job", &["wordcount", "keyed-count"]);
}

#[test]
fn bad_configuration_is_an_error_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.txt");
    std::fs::write(&input, "a b a\n").unwrap();
    let input = input.to_str().unwrap();

    let o = strom(&["run", "-D", "no.such.key=1", "wordcount", "--input", input]);
    assert_clean_failure(&o, "unknown key", &["no.such.key"]);

    let o = strom(&[
        "run",
        "-D",
        "taskmanager.numberOfTaskSlots=abc",
        "wordcount",
        "--input",
        input,
    ]);
    assert_clean_failure(&o, "bad value", &["taskmanager.numberOfTaskSlots", "abc"]);

    let o = strom(&[
        "run",
        "-D",
        "taskmanager.network.memory.buffers-per-channel=0",
        "wordcount",
        "--input",
        input,
    ]);
    assert_clean_failure(
        &o,
        "zero buffers",
        &["taskmanager.network.memory.buffers-per-channel"],
    );

    let o = strom(&[
        "run",
        "-D",
        "parallelism.default",
        "wordcount",
        "--input",
        input,
    ]);
    assert_clean_failure(&o, "-D without =", &["parallelism.default"]);

    // Malformed YAML names the file.
    let yaml = dir.path().join("broken-conf.yaml");
    std::fs::write(&yaml, "parallelism.default: [1, 2\n  taskmanager: }\n").unwrap();
    let o = strom(&[
        "run",
        "--config",
        yaml.to_str().unwrap(),
        "wordcount",
        "--input",
        input,
    ]);
    assert_clean_failure(&o, "malformed YAML", &[yaml.to_str().unwrap()]);

    // A well-formed file with a bad value names the key and the file.
    let yaml2 = dir.path().join("bad-value.yaml");
    std::fs::write(&yaml2, "taskmanager:\n  numberOfTaskSlots: many\n").unwrap();
    let o = strom(&[
        "run",
        "--config",
        yaml2.to_str().unwrap(),
        "wordcount",
        "--input",
        input,
    ]);
    assert_clean_failure(
        &o,
        "bad YAML value",
        &["taskmanager.numberOfTaskSlots", yaml2.to_str().unwrap()],
    );

    // A missing config file names the file.
    let absent = dir.path().join("absent.yaml");
    let o = strom(&[
        "run",
        "--config",
        absent.to_str().unwrap(),
        "wordcount",
        "--input",
        input,
    ]);
    assert_clean_failure(&o, "missing config file", &[absent.to_str().unwrap()]);

    // A good configuration works (control).
    let good = dir.path().join("good.yaml");
    std::fs::write(
        &good,
        "parallelism.default: 1\ntaskmanager:\n  numberOfTaskSlots: 2\n",
    )
    .unwrap();
    let o = strom(&[
        "run",
        "--config",
        good.to_str().unwrap(),
        "wordcount",
        "--input",
        input,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        parse_counts(&stdout(&o), "stdout"),
        BTreeMap::from([("a".to_string(), 2), ("b".to_string(), 1)])
    );
}

#[test]
fn unknown_flags_are_usage_errors() {
    let o = strom(&["run", "--no-such-flag", "wordcount"]);
    assert_clean_failure(&o, "unknown run flag", &["--no-such-flag"]);
    assert_eq!(o.status.code(), Some(2), "clap usage error exit code");

    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.txt");
    std::fs::write(&input, "x\n").unwrap();
    let o = strom(&[
        "run",
        "wordcount",
        "--input",
        input.to_str().unwrap(),
        "--no-such-job-flag",
    ]);
    assert_clean_failure(&o, "unknown job flag", &["--no-such-job-flag"]);

    let o = strom(&["run", "keyed-count", "--records", "lots"]);
    assert_clean_failure(&o, "bad --records", &["--records", "lots"]);

    let o = strom(&["no-such-command"]);
    assert_clean_failure(&o, "unknown subcommand", &["no-such-command"]);
}

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

#[test]
fn keyed_count_print_matches_a_sequential_count() {
    // --print emits every rolling update `key<TAB>count`; the final count per key is the max.
    let o = strom(&[
        "run",
        "-D",
        "taskmanager.numberOfTaskSlots=2",
        "keyed-count",
        "--records",
        "1000",
        "--keys",
        "7",
        "--print",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let mut last: BTreeMap<u64, u64> = BTreeMap::new();
    let mut lines = 0;
    for line in out.lines() {
        // Print sinks with parallelism > 1 prefix `subtask> `.
        let line = line.split_once("> ").map(|(_, l)| l).unwrap_or(line);
        let (k, n) = line.split_once('\t').unwrap();
        let (k, n): (u64, u64) = (k.parse().unwrap(), n.parse().unwrap());
        let e = last.entry(k).or_default();
        assert_eq!(n, *e + 1, "key {k}: counts go up by one");
        *e = n;
        lines += 1;
    }
    assert_eq!(lines, 1000);
    let mut want: BTreeMap<u64, u64> = BTreeMap::new();
    for x in 0..1000u64 {
        *want.entry(x % 7).or_default() += 1;
    }
    assert_eq!(last, want);
}

#[test]
fn keyed_window_print_gives_whole_lines_with_the_counts_of_a_sequential_count() {
    // Record i: key i % 1000, event time i × 1000 / 1,000,000 ms, so each 10 ms window holds
    // 10,000 records, 10 per key. Two print subtasks write ~1 MB between them: more than
    // any one buffer, so their lines would splice if a subtask wrote part of one.
    let (records, keys, window_ms, eps) = (300_000u64, 1000u64, 10i64, 1_000_000u64);
    let o = strom(&[
        "run",
        "-p",
        "2",
        "keyed-window",
        "--records",
        &records.to_string(),
        "--keys",
        &keys.to_string(),
        "--window-ms",
        &window_ms.to_string(),
        "--events-per-second",
        &eps.to_string(),
        "--print",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let mut want: BTreeMap<(u64, i64), u64> = BTreeMap::new();
    for i in 0..records {
        let ts = (i * 1000 / eps) as i64;
        *want.entry((i % keys, ts - ts % window_ms)).or_default() += 1;
    }
    let mut got: BTreeMap<(u64, i64), u64> = BTreeMap::new();
    for line in stdout(&o).lines() {
        let (subtask, rest) = line.split_once("> ").expect("a subtask prefix");
        assert!(subtask == "1" || subtask == "2", "line {line:?}");
        let f: Vec<i64> = rest
            .split('\t')
            .map(|x| x.parse().unwrap_or_else(|e| panic!("line {line:?}: {e}")))
            .collect();
        let [k, start, end, n] = f[..] else {
            panic!("line {line:?} has {} fields", f.len())
        };
        assert_eq!(end - start, window_ms, "line {line:?}");
        assert!(
            got.insert((k as u64, start), n as u64).is_none(),
            "{line:?} twice"
        );
    }
    assert_eq!(got.len(), want.len(), "windows");
    assert_eq!(got, want);
}

/// `strom run <job> --help` prints the job's own options (as `strom run --help` promises).
#[test]
fn job_help_shows_the_jobs_options() {
    let o = strom(&["run", "wordcount", "--help"]);
    assert!(o.status.success(), "{}", stderr(&o));
    // The job's own clap usage (its options with their value names), not the job list.
    let out = stdout(&o);
    assert!(
        out.contains("Usage: strom run wordcount") && out.contains("--input <INPUT>"),
        "not the job's help:\n{out}"
    );
}

/// Asking a job for its help after `--` (`strom run wordcount -- --help`) prints it on stdout
/// and succeeds (it was once reported as an error).
#[test]
fn job_help_after_double_dash_is_not_an_error() {
    let o = strom(&["run", "wordcount", "--", "--help"]);
    assert!(o.status.success(), "exit {:?}: {}", o.status, stderr(&o));
    assert!(stdout(&o).contains("--input"), "{}", stdout(&o));
    assert!(!stderr(&o).contains("error"), "{}", stderr(&o));
}
