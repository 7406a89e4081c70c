//! The interleaved A/B runner: two builds, run A B, B A, A B, … so that both see the same
//! drift of the machine, one sample per side and round, then judged round by round.
//!
//! Each run of a command is a separate process that prints one results file on stdout (see
//! [`crate::results`]; the last top-level JSON object of the output is taken, so a table
//! before it is fine). A run's value of a figure is the median of the samples it printed.
//! Besides the figures a command prints, the runner records per run
//!
//! * `run.wall_seconds` — spawn to exit of the process (lower is better);
//! * `run.cpu_seconds` — its user + system CPU time (`wait4`), which leaves out the time it
//!   waited for a core on a busy machine (lower is better);
//!
//! and with callgrind ([`Measure::Callgrind`] or [`Measure::Both`]) a run of the same command
//! under `valgrind --tool=callgrind` per side and round, giving
//! [`callgrind::FIGURE`] (instructions, lower is better); the
//! output of that run is not used (its times are those of a simulated CPU).

use crate::callgrind::{self, CallgrindError};
use crate::command::CommandLine;
use crate::process::{self, ProcessError};
use crate::results::{AbInfo, Figure, Results};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// What each run measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Measure {
    /// The figures the command prints, plus `run.wall_seconds` and `run.cpu_seconds`.
    Native,
    /// Only the instruction count under callgrind (the command's output is not used).
    Callgrind,
    /// Both: a native run and a callgrind run per side and round.
    Both,
}

impl Measure {
    fn native(self) -> bool {
        matches!(self, Measure::Native | Measure::Both)
    }
    fn callgrind(self) -> bool {
        matches!(self, Measure::Callgrind | Measure::Both)
    }
    pub fn name(self) -> &'static str {
        match self {
            Measure::Native => "native",
            Measure::Callgrind => "callgrind",
            Measure::Both => "native+callgrind",
        }
    }
}

/// How an A/B run goes.
#[derive(Clone, Copy, Debug)]
pub struct AbConfig {
    /// Measured rounds (each: one run of A and one of B).
    pub rounds: usize,
    /// Untimed rounds before (native runs only; they load both builds and check their output).
    pub warmup: usize,
    pub measure: Measure,
    /// Limit for one process, a callgrind run included (it is killed after it).
    pub timeout: Duration,
}

impl Default for AbConfig {
    fn default() -> Self {
        AbConfig {
            rounds: 10,
            warmup: 1,
            measure: Measure::Native,
            timeout: Duration::from_secs(600),
        }
    }
}

/// Why an A/B run stopped.
#[derive(Debug, thiserror::Error)]
pub enum AbError {
    #[error("{0}")]
    Process(#[from] ProcessError),
    #[error("{0}")]
    Callgrind(#[from] CallgrindError),
    #[error("side {side}, round {round}: the output of `{command}`: {message}")]
    Output {
        side: char,
        round: String,
        command: String,
        message: String,
    },
    #[error("--rounds must be at least 1")]
    NoRounds,
}

/// Turns a run's stdout into results; `origin` names the run for messages.
pub type OutputParser<'a> = &'a dyn Fn(&str, &str) -> Result<Results, String>;

/// The default [`OutputParser`]: [`parse_output`].
pub fn default_parser(stdout: &str, origin: &str) -> Result<Results, String> {
    parse_output(stdout, origin).map_err(|e| e.to_string())
}

/// Parses a process's stdout as a results file (see [`last_json_object`]).
pub fn parse_output(stdout: &str, origin: &str) -> Result<Results, crate::results::ReadError> {
    let value = last_json_object(stdout).map_err(|source| crate::results::ReadError::Json {
        origin: origin.to_owned(),
        source,
    })?;
    Results::from_value(value, origin)
}

/// The JSON in a process's stdout: the whole output, or else the last JSON object that starts
/// on a line of its own (after a table, say). The error is that of the whole output.
pub fn last_json_object(stdout: &str) -> Result<serde_json::Value, serde_json::Error> {
    let whole = serde_json::from_str(stdout);
    if whole.is_ok() {
        return whole;
    }
    let mut starts: Vec<usize> = stdout
        .match_indices('\n')
        .map(|(i, _)| i + 1)
        .filter(|&i| stdout[i..].starts_with('{'))
        .collect();
    if stdout.starts_with('{') {
        starts.insert(0, 0);
    }
    for &s in starts.iter().rev() {
        if let Ok(v) = serde_json::from_str(&stdout[s..]) {
            return Ok(v);
        }
    }
    whole
}

/// Both sides' samples: one per figure and round; `a.ab`/`b.ab` say which run they are.
#[derive(Clone, Debug)]
pub struct AbOutcome {
    pub a: Results,
    pub b: Results,
}

struct Side<'a> {
    label: char,
    cmd: &'a CommandLine,
    results: Option<Results>,
    printed: Option<BTreeSet<String>>,
    figures: BTreeMap<String, Figure>,
}

impl Side<'_> {
    fn push(
        &mut self,
        name: &str,
        unit: &str,
        higher: bool,
        value: f64,
        round: usize,
    ) -> Result<(), AbError> {
        let f = self
            .figures
            .entry(name.to_owned())
            .or_insert_with(|| Figure::new(unit, higher, Vec::new()));
        if f.samples.len() != round {
            return Err(self.mismatch(
                round + 1,
                format!("figure {name:?} is new or printed twice in this round"),
            ));
        }
        f.samples.push(value);
        Ok(())
    }

    fn mismatch(&self, round: usize, message: String) -> AbError {
        AbError::Output {
            side: self.label,
            round: round.to_string(),
            command: self.cmd.text.clone(),
            message,
        }
    }
}

/// Runs `a` and `b` interleaved and returns their samples (`log` gets one line per round).
pub fn run_ab(
    a: &CommandLine,
    b: &CommandLine,
    cfg: &AbConfig,
    parse: OutputParser,
    log: &mut dyn FnMut(&str),
) -> Result<AbOutcome, AbError> {
    if cfg.rounds == 0 {
        return Err(AbError::NoRounds);
    }
    if cfg.measure.callgrind() {
        let version = callgrind::available()?;
        log(&format!("instruction counts by {version} (callgrind)"));
    }
    let date = crate::results::utc_now();
    let session = format!(
        "{}-{}-{}",
        date.replace([':', '-'], ""),
        std::process::id(),
        SESSION_SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    );
    let mut sides = [
        Side {
            label: 'A',
            cmd: a,
            results: None,
            printed: None,
            figures: BTreeMap::new(),
        },
        Side {
            label: 'B',
            cmd: b,
            results: None,
            printed: None,
            figures: BTreeMap::new(),
        },
    ];
    if cfg.measure.native() {
        for w in 0..cfg.warmup {
            for side in sides.iter_mut() {
                let run = process::run(side.cmd, &[], cfg.timeout)?;
                parse(&run.stdout, &format!("the output of `{}`", side.cmd.text)).map_err(
                    |message| AbError::Output {
                        side: side.label,
                        round: format!("warm-up {}", w + 1),
                        command: side.cmd.text.clone(),
                        message,
                    },
                )?;
            }
        }
    }
    let mut order = Vec::with_capacity(cfg.rounds);
    for round in 0..cfg.rounds {
        let first = round % 2;
        order.push(if first == 0 { "AB" } else { "BA" });
        let mut line = format!("round {}/{}:", round + 1, cfg.rounds);
        for i in [first, 1 - first] {
            let side = &mut sides[i];
            if cfg.measure.native() {
                let run = process::run(side.cmd, &[], cfg.timeout)?;
                let results = parse(&run.stdout, &format!("the output of `{}`", side.cmd.text))
                    .map_err(|message| side.mismatch(round + 1, message))?;
                let names: BTreeSet<String> = results.figures.keys().cloned().collect();
                match &side.printed {
                    None => side.printed = Some(names),
                    Some(before) if *before != names => {
                        let missing: Vec<_> = before.difference(&names).collect();
                        let new: Vec<_> = names.difference(before).collect();
                        return Err(side.mismatch(
                            round + 1,
                            format!(
                                "its figures differ from the rounds before: \
                                 missing {missing:?}, new {new:?}"
                            ),
                        ));
                    }
                    Some(_) => {}
                }
                for (name, f) in &results.figures {
                    side.push(name, &f.unit, f.higher_is_better, f.median(), round)?;
                }
                side.push("run.wall_seconds", "s", false, run.wall_seconds, round)?;
                // At least 1 µs, the resolution of `rusage` (a sample must be positive).
                let cpu = run.cpu_seconds.max(1e-6);
                side.push("run.cpu_seconds", "s", false, cpu, round)?;
                line.push_str(&format!(" {} {:.3} s", side.label, run.wall_seconds));
                side.results.get_or_insert(results);
            }
            if cfg.measure.callgrind() {
                let (count, _) = callgrind::instructions(side.cmd, cfg.timeout)?;
                side.push(
                    callgrind::FIGURE,
                    "instructions",
                    false,
                    count as f64,
                    round,
                )?;
                line.push_str(&format!(" {} {count} instr", side.label));
            }
        }
        log(&line);
    }
    let order = order.join(" ");
    let [sa, sb] = sides;
    let finish = |side: Side| {
        let first = side.results;
        let mut r = Results::new(
            first
                .as_ref()
                .map(|r| r.benchmark.as_str())
                .filter(|b| !b.is_empty())
                .unwrap_or("ab"),
        );
        r.command = Some(side.cmd.text.clone());
        r.date = Some(date.clone());
        r.git = first.as_ref().and_then(|r| r.git.clone());
        r.machine = first.as_ref().and_then(|r| r.machine.clone());
        r.ab = Some(AbInfo {
            session: session.clone(),
            side: side.label.to_string(),
            rounds: cfg.rounds,
            order: order.clone(),
            measure: cfg.measure.name().to_owned(),
        });
        r.figures = side.figures;
        r
    };
    Ok(AbOutcome {
        a: finish(sa),
        b: finish(sb),
    })
}

static SESSION_SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_after_a_table() {
        let out = "medians:\n  x 1.0\n{\n  \"figures\": {\"t\": {\"unit\": \"s\", \
                   \"higher_is_better\": false, \"samples\": [2.0]}}\n}\n";
        let r = parse_output(out, "the output of `x`").unwrap();
        assert_eq!(r.figures["t"].samples, vec![2.0]);
        let e = parse_output("no json here\n", "the output of `x`").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("the output of `x`: not valid JSON"),
            "{e}"
        );
        let e = parse_output("{\"figures\": 3}", "the output of `x`").unwrap_err();
        assert_eq!(
            e.to_string(),
            "the output of `x`: figures: expected an object of named figures, found the number 3"
        );
    }

    fn sh(script: &str) -> CommandLine {
        CommandLine::parse(&format!("sh -c '{script}'")).unwrap()
    }

    #[test]
    fn interleaves_and_collects_one_sample_per_round() {
        let print = |v: &str| {
            sh(&format!(
                "echo \"{{\\\"benchmark\\\": \\\"t\\\", \\\"figures\\\": {{\\\"x\\\": {{\\\"unit\\\": \\\"s\\\", \\\"higher_is_better\\\": false, \\\"samples\\\": [{v}, 100]}}}}}}\""
            ))
        };
        let a = print("1");
        let b = print("2");
        let cfg = AbConfig {
            rounds: 3,
            warmup: 1,
            ..AbConfig::default()
        };
        let mut lines = Vec::new();
        let out = run_ab(&a, &b, &cfg, &default_parser, &mut |l| {
            lines.push(l.to_owned())
        })
        .unwrap();
        assert_eq!(lines.len(), 3);
        // Median of [1, 100] and [2, 100].
        assert_eq!(out.a.figures["x"].samples, vec![50.5; 3]);
        assert_eq!(out.b.figures["x"].samples, vec![51.0; 3]);
        assert_eq!(out.a.figures["run.wall_seconds"].samples.len(), 3);
        let (ia, ib) = (out.a.ab.clone().unwrap(), out.b.ab.clone().unwrap());
        assert_eq!(ia.session, ib.session);
        assert_eq!((ia.side.as_str(), ib.side.as_str()), ("A", "B"));
        assert_eq!(ia.order, "AB BA AB");
        assert_eq!(out.a.benchmark, "t");
        // Both files read back, and compare pairs them.
        let ra = Results::parse(&out.a.to_json_pretty(), "a.json").unwrap();
        let rb = Results::parse(&out.b.to_json_pretty(), "b.json").unwrap();
        assert!(crate::verdict::paired_files(&ra, &rb));
    }

    #[test]
    fn bad_output_names_side_round_and_command() {
        let good = sh("echo {\\\"figures\\\": {\\\"x\\\": {\\\"unit\\\": \\\"s\\\", \\\"higher_is_better\\\": true, \\\"samples\\\": [1]}}}");
        let bad = sh("echo hello");
        let cfg = AbConfig {
            rounds: 2,
            warmup: 0,
            ..AbConfig::default()
        };
        let e = run_ab(&good, &bad, &cfg, &default_parser, &mut |_| {}).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.starts_with("side B, round 1: the output of `sh -c 'echo hello'`: the output of"),
            "{msg}"
        );
        let fail = sh("exit 7");
        let e = run_ab(&good, &fail, &cfg, &default_parser, &mut |_| {}).unwrap_err();
        assert!(e.to_string().contains("exited with status 7"), "{e}");
    }
}
