//! The `strom` binary as a user runs it: word count output checked against counts computed
//! here, the built-in job list, and clear errors (never a panic) for bad input,
//! configuration and flags (the summary and progress lines: `cli_run_summary.rs`). Running
//! `strom` and the reference counts: `cli_run_fixture/`.

mod cli_run_fixture;
mod common;

use cli_run_fixture::*;
use std::collections::BTreeMap;

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
    let o = wordcount_on(
        dir.path(),
        "small.txt",
        "To be, or not to be:\r\nthat is the Question.\nTO BE",
        &[],
    );
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
