//! Fixture for `cli_run.rs` and `cli_run_summary.rs`: running the `strom` binary and reading
//! what it printed (its summary and progress lines parsed), word counts computed by word
//! count's documented rule to check it against, and the sample text they count. Each test
//! file uses a part of it.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Output;

/// Runs `strom` with `args` at log level `info` whatever the caller's environment says,
/// killing it if it takes longer than 60 s (the shared runner of the cluster tests).
pub fn strom(args: &[&str]) -> Output {
    super::common::run_strom(args, Some("info"))
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("stdout is UTF-8")
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The run failed cleanly: non-zero exit, no panic, and stderr mentions every `needles`.
pub fn assert_clean_failure(o: &Output, what: &str, needles: &[&str]) {
    let err = stderr(o);
    assert!(
        !o.status.success(),
        "{what}: expected a failure, got {:?}\nstdout:\n{}\nstderr:\n{err}",
        o.status,
        stdout(o)
    );
    assert!(
        o.status.code().is_some(),
        "{what}: killed by a signal: {:?}\n{err}",
        o.status
    );
    assert!(!err.contains("panicked"), "{what}: panicked:\n{err}");
    for n in needles {
        assert!(
            err.contains(n),
            "{what}: stderr does not mention {n:?}:\n{err}"
        );
    }
}

/// Word counts by word count's documented rule: words are maximal runs of alphanumeric
/// characters, compared lowercased.
pub fn reference_counts(text: &str) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    let mut word = String::new();
    for c in text.chars().chain(std::iter::once(' ')) {
        if c.is_alphanumeric() {
            word.push(c);
        } else if !word.is_empty() {
            *counts.entry(word.to_lowercase()).or_insert(0) += 1;
            word.clear();
        }
    }
    counts
}

/// Parses `word<TAB>count` lines; every line must have that shape and each word appear once.
pub fn parse_counts(lines: &str, what: &str) -> BTreeMap<String, u64> {
    let mut got = BTreeMap::new();
    for line in lines.lines() {
        let (w, n) = line
            .split_once('\t')
            .unwrap_or_else(|| panic!("{what}: line without a tab: {line:?}"));
        let n: u64 = n
            .parse()
            .unwrap_or_else(|e| panic!("{what}: bad count in {line:?}: {e}"));
        assert!(
            got.insert(w.to_string(), n).is_none(),
            "{what}: word {w:?} printed twice"
        );
    }
    got
}

/// A text with punctuation, digits, mixed case, non-ASCII letters, CRLF and blank lines,
/// long enough (several hundred KB) that two file splits and several reads are involved.
pub fn sample_text() -> String {
    let mut s = String::from(
        "The quick brown Fox -- the QUICK brown fox!\r\n\
         don't stop: x86_64 & ARM64, v2.0; naïve café, ÉCOLE école Straße\n\
         \n\
         \tTabs\tand  spaces   everywhere\t\n",
    );
    let vocab = [
        "alpha", "Beta", "GAMMA", "delta", "epsilon", "zeta42", "eta", "Theta", "iota", "kappa",
        "lambda", "mu",
    ];
    let seps = [" ", ", ", "... ", "\t", "-", " (", ") ", "/", "'"];
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    for line in 0..12_000u64 {
        let words = 1 + (line % 9) as usize;
        for i in 0..words {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            s.push_str(vocab[(x % vocab.len() as u64) as usize]);
            if i + 1 < words {
                s.push_str(seps[(x >> 20) as usize % seps.len()]);
            }
        }
        s.push_str(if line % 5 == 0 { "\r\n" } else { "\n" });
    }
    s.push_str("last line without newline Alpha");
    s
}

/// The names of the part files in `dir`, sorted, and their contents concatenated in that order.
pub fn read_parts(dir: &Path) -> (Vec<String>, String) {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    let mut all = String::new();
    for n in &names {
        all.push_str(&std::fs::read_to_string(dir.join(n)).unwrap());
    }
    (names, all)
}

/// The summary line of `strom run`, parsed.
#[derive(Debug)]
pub struct Summary {
    pub line: String,
    pub records_in: u64,
    pub records_out: u64,
    pub exchanged: u64,
    pub rate: f64,
    pub secs: f64,
}

/// Finds and parses the summary line of `job` in `stderr`: "job JOB finished: N records in,
/// M records out, X records exchanged between tasks, R records/s, S s". Panics on any other
/// shape.
pub fn parse_summary(stderr: &str, job: &str) -> Summary {
    let prefix = format!("job {job} ");
    let line = stderr
        .lines()
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no summary line:\n{stderr}"));
    let rest = line
        .strip_prefix(&format!("job {job} finished: "))
        .unwrap_or_else(|| panic!("not finished: {line}"));
    let parts: Vec<&str> = rest.split(", ").collect();
    assert_eq!(parts.len(), 5, "{line}");
    let part = |i: usize, suffix: &str| -> &str {
        parts[i]
            .strip_suffix(suffix)
            .unwrap_or_else(|| panic!("part {i} does not end in {suffix:?}: {line}"))
    };
    Summary {
        line: line.to_string(),
        records_in: number(part(0, " records in"), line),
        records_out: number(part(1, " records out"), line),
        exchanged: number(part(2, " records exchanged between tasks"), line),
        rate: number(part(3, " records/s"), line),
        secs: number(part(4, " s"), line),
    }
}

fn number<N: std::str::FromStr>(s: &str, line: &str) -> N {
    s.trim()
        .parse()
        .unwrap_or_else(|_| panic!("{s:?} is not a number: {line}"))
}

/// A progress line of `strom run`: "[  1.2 s] N records in, M records out, R records/s".
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    pub secs: f64,
    pub records_in: u64,
    pub records_out: u64,
    pub rate: f64,
}

/// Every progress line in `stderr` (lines starting with `[`), parsed; panics on a line that
/// starts like one but has another shape.
pub fn parse_progress(stderr: &str) -> Vec<Progress> {
    let mut v = Vec::new();
    for line in stderr.lines().filter(|l| l.starts_with('[')) {
        let bad = || -> ! { panic!("not a progress line: {line:?}") };
        let (secs, rest) = line
            .strip_prefix('[')
            .and_then(|l| l.split_once(" s] "))
            .unwrap_or_else(|| bad());
        let parts: Vec<&str> = rest.split(", ").collect();
        let [i, o, r] = parts[..] else { bad() };
        let strip = |p: &'_ str, suffix: &str| -> String {
            p.strip_suffix(suffix).unwrap_or_else(|| bad()).to_string()
        };
        v.push(Progress {
            secs: number(secs, line),
            records_in: number(&strip(i, " records in"), line),
            records_out: number(&strip(o, " records out"), line),
            rate: number(&strip(r, " records/s"), line),
        });
    }
    v
}

/// `strom run wordcount` on 2 slots over the sample text (written into `dir`), with `extra`
/// arguments after the job's `--input`: the text and what the run printed.
pub fn wordcount_on_sample(
    dir: &std::path::Path,
    extra: &[&str],
) -> (String, std::process::Output) {
    let text = sample_text();
    let o = wordcount_on(dir, "input.txt", &text, extra);
    (text, o)
}

/// `strom run wordcount` on 2 slots over `text`, written into `dir` as `name`, with `extra`
/// arguments after the job's `--input`.
pub fn wordcount_on(
    dir: &std::path::Path,
    name: &str,
    text: &str,
    extra: &[&str],
) -> std::process::Output {
    let input = dir.join(name);
    std::fs::write(&input, text).unwrap();
    let mut args = vec![
        "run",
        "-D",
        "taskmanager.numberOfTaskSlots=2",
        "wordcount",
        "--input",
        input.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    strom(&args)
}
