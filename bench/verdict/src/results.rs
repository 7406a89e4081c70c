//! The results file: a set of named figures, each with its samples, plus what was measured
//! where (benchmark, command, git revision, machine).
//!
//! ```json
//! {
//!   "format": "strom-figures/1",
//!   "benchmark": "nexmark",
//!   "command": "strom_bench nexmark --query q0",
//!   "date": "2026-11-21T13:17:51Z",
//!   "git": {"rev": "cee084aec99c6ae1ff256e01afd6ee74eba06697", "dirty": false},
//!   "machine": {"cpu_model": "Intel(R) Xeon(R) Processor", "cores": 2, "...": "..."},
//!   "figures": {
//!     "q0.events_per_sec": {"unit": "events/s", "higher_is_better": true,
//!                           "samples": [1.02e7, 1.05e7, 1.01e7]}
//!   }
//! }
//! ```
//!
//! Only `figures` is required. A figure needs `unit`, `higher_is_better` and at least one
//! sample; samples are finite and greater than zero (the verdict compares ratios). Files
//! written by the A/B runner also carry `ab` ([`AbInfo`]): the run they came from and their
//! side, so that `compare` pairs the samples of the two sides round by round. Any other
//! top-level key is kept as it is ([`Results::extra`]).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::Path;

/// The `format` this crate writes; files without `format` are read as this one.
pub const FORMAT: &str = "strom-figures/1";

/// One measured quantity and its samples (one per run or per round).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Figure {
    /// Free text: `events/s`, `s`, `instructions`, ….
    pub unit: String,
    /// Throughputs: true; times, instruction counts, memory: false.
    pub higher_is_better: bool,
    pub samples: Vec<f64>,
}

impl Figure {
    pub fn new(unit: &str, higher_is_better: bool, samples: Vec<f64>) -> Self {
        Figure {
            unit: unit.to_owned(),
            higher_is_better,
            samples,
        }
    }

    /// Median of the samples (NaN when there are none).
    pub fn median(&self) -> f64 {
        crate::stats::median(&self.samples)
    }
}

/// Where the samples of an A/B file came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AbInfo {
    /// Unique per A/B run: the two files of one run share it.
    pub session: String,
    /// `"A"` or `"B"`.
    pub side: String,
    /// Measured rounds: sample `i` of every figure is round `i`.
    pub rounds: usize,
    /// Who ran first in each round, e.g. `"AB BA AB"`.
    pub order: String,
    /// `native`, `callgrind` or `native+callgrind`.
    pub measure: String,
}

/// A results file in memory.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Results {
    pub format: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub benchmark: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// Free-form; `rev` (or `build.rev`) is shown by [`Results::git_rev`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub git: Option<Value>,
    /// Free-form machine description (`strom_bench`'s `machine::describe()`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub machine: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ab: Option<AbInfo>,
    pub figures: BTreeMap<String, Figure>,
    /// Every other top-level key, kept as read.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// Why a results file could not be read. Every message names the file (or the command whose
/// output it was) and, where it applies, the field.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{origin}: cannot read: {source}")]
    Io {
        origin: String,
        source: std::io::Error,
    },
    #[error("{origin}: not valid JSON: {source}")]
    Json {
        origin: String,
        source: serde_json::Error,
    },
    #[error("{origin}: {field}: {problem}")]
    Field {
        origin: String,
        field: String,
        problem: String,
    },
}

impl Results {
    /// An empty results file of `benchmark` (no figures yet).
    pub fn new(benchmark: &str) -> Self {
        Results {
            format: FORMAT.to_owned(),
            benchmark: benchmark.to_owned(),
            command: None,
            date: None,
            git: None,
            machine: None,
            ab: None,
            figures: BTreeMap::new(),
            extra: BTreeMap::new(),
        }
    }

    /// Reads and checks the file at `path`.
    pub fn read(path: &Path) -> Result<Self, ReadError> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ReadError::Io {
            origin: origin.clone(),
            source,
        })?;
        Self::parse(&text, &origin)
    }

    /// Parses and checks a results file's text; `origin` (a path, or "the output of …")
    /// names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self, ReadError> {
        let value: Value = serde_json::from_str(text).map_err(|source| ReadError::Json {
            origin: origin.to_owned(),
            source,
        })?;
        Self::from_value(value, origin)
    }

    /// Checks a parsed JSON value (see the module docs for the rules).
    pub fn from_value(value: Value, origin: &str) -> Result<Self, ReadError> {
        let err = |field: &str, problem: String| ReadError::Field {
            origin: origin.to_owned(),
            field: field.to_owned(),
            problem,
        };
        let Value::Object(mut top) = value else {
            return Err(err(
                "(top level)",
                format!("expected a JSON object, found {}", kind(&value)),
            ));
        };
        let format = match top.remove("format") {
            None => FORMAT.to_owned(),
            Some(Value::String(s)) if s == FORMAT => s,
            Some(Value::String(s)) => {
                return Err(err(
                    "format",
                    format!("{s:?} is not supported (this reader knows {FORMAT:?})"),
                ))
            }
            Some(v) => {
                return Err(err(
                    "format",
                    format!("expected a string, found {}", kind(&v)),
                ))
            }
        };
        let benchmark = opt_string(&mut top, "benchmark", origin)?.unwrap_or_default();
        let command = opt_string(&mut top, "command", origin)?;
        let date = opt_string(&mut top, "date", origin)?;
        let git = top.remove("git").filter(|v| !v.is_null());
        let machine = top.remove("machine").filter(|v| !v.is_null());
        let ab = match top.remove("ab") {
            None | Some(Value::Null) => None,
            Some(v) => Some(
                serde_json::from_value::<AbInfo>(v)
                    .map_err(|e| err("ab", format!("not an A/B description: {e}")))?,
            ),
        };
        let figures = match top.remove("figures") {
            None => {
                return Err(err(
                    "figures",
                    "missing (a results file needs an object of named figures)".into(),
                ))
            }
            Some(Value::Object(f)) => f,
            Some(v) => {
                return Err(err(
                    "figures",
                    format!("expected an object of named figures, found {}", kind(&v)),
                ))
            }
        };
        if figures.is_empty() {
            return Err(err("figures", "has no figures".into()));
        }
        let mut parsed = BTreeMap::new();
        for (name, v) in figures {
            let field = format!("figures.{name:?}");
            parsed.insert(name, parse_figure(v, &field, origin)?);
        }
        if let Some(ab) = &ab {
            for (name, f) in &parsed {
                if f.samples.len() != ab.rounds {
                    return Err(err(
                        &format!("figures.{name:?}.samples"),
                        format!(
                            "has {} samples but ab.rounds is {} (an A/B file has one per round)",
                            f.samples.len(),
                            ab.rounds
                        ),
                    ));
                }
            }
        }
        Ok(Results {
            format,
            benchmark,
            command,
            date,
            git,
            machine,
            ab,
            figures: parsed,
            extra: top.into_iter().collect(),
        })
    }

    /// Pretty JSON with a final newline.
    pub fn to_json_pretty(&self) -> String {
        // Serializing plain data (strings, finite floats, maps) cannot fail.
        serde_json::to_string_pretty(self).expect("results serialize") + "\n"
    }

    /// Writes the file, creating its directory.
    pub fn write(&self, path: &Path) -> Result<(), std::io::Error> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, self.to_json_pretty())
    }

    /// The git revision, from `git.rev` or `git.build.rev`.
    pub fn git_rev(&self) -> Option<&str> {
        let g = self.git.as_ref()?;
        g.get("rev")
            .or_else(|| g.get("build").and_then(|b| b.get("rev")))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    }
}

/// Current UTC time as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn utc_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let (era, doe) = (z.div_euclid(146_097), z.rem_euclid(146_097));
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

fn parse_figure(v: Value, field: &str, origin: &str) -> Result<Figure, ReadError> {
    let err = |sub: &str, problem: String| ReadError::Field {
        origin: origin.to_owned(),
        field: format!("{field}{sub}"),
        problem,
    };
    let Value::Object(mut f) = v else {
        return Err(err(
            "",
            format!(
                "expected {{\"unit\", \"higher_is_better\", \"samples\"}}, found {}",
                kind(&v)
            ),
        ));
    };
    let unit = match f.remove("unit") {
        Some(Value::String(s)) => s,
        None => return Err(err(".unit", "missing (e.g. \"events/s\")".into())),
        Some(v) => {
            return Err(err(
                ".unit",
                format!("expected a string, found {}", kind(&v)),
            ))
        }
    };
    let higher_is_better = match f.remove("higher_is_better") {
        Some(Value::Bool(b)) => b,
        None => {
            return Err(err(
                ".higher_is_better",
                "missing (true for throughputs, false for times)".into(),
            ))
        }
        Some(v) => {
            return Err(err(
                ".higher_is_better",
                format!("expected true or false, found {}", kind(&v)),
            ))
        }
    };
    let samples = match f.remove("samples") {
        Some(Value::Array(a)) => a,
        None => return Err(err(".samples", "missing".into())),
        Some(v) => {
            return Err(err(
                ".samples",
                format!("expected an array of numbers, found {}", kind(&v)),
            ))
        }
    };
    if samples.is_empty() {
        return Err(err(".samples", "is empty".into()));
    }
    let samples = samples
        .iter()
        .enumerate()
        .map(|(i, s)| match s.as_f64() {
            Some(x) if x.is_finite() && x > 0.0 => Ok(x),
            Some(x) => Err(err(
                &format!(".samples[{i}]"),
                format!("{x} is not a positive number (the verdict compares ratios)"),
            )),
            None => Err(err(
                &format!(".samples[{i}]"),
                format!("expected a number, found {}", kind(s)),
            )),
        })
        .collect::<Result<Vec<f64>, _>>()?;
    Ok(Figure {
        unit,
        higher_is_better,
        samples,
    })
}

fn opt_string(
    top: &mut Map<String, Value>,
    key: &str,
    origin: &str,
) -> Result<Option<String>, ReadError> {
    match top.remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(v) => Err(ReadError::Field {
            origin: origin.to_owned(),
            field: key.to_owned(),
            problem: format!("expected a string, found {}", kind(&v)),
        }),
    }
}

fn kind(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("{b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) if s.len() <= 40 => format!("the string {s:?}"),
        Value::String(_) => "a string".into(),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{
        "benchmark": "nexmark", "git": {"rev": "abc123"}, "load": [1.0],
        "figures": {"q0.events_per_sec": {"unit": "events/s", "higher_is_better": true,
                                          "samples": [1.0e7, 1.1e7]}}
    }"#;

    #[test]
    fn reads_and_round_trips() {
        let r = Results::parse(GOOD, "good.json").unwrap();
        assert_eq!(r.format, FORMAT);
        assert_eq!(r.git_rev(), Some("abc123"));
        assert_eq!(r.figures["q0.events_per_sec"].samples, vec![1.0e7, 1.1e7]);
        assert!(r.extra.contains_key("load"));
        let again = Results::parse(&r.to_json_pretty(), "again").unwrap();
        assert_eq!(again, r);
    }

    fn error_of(text: &str) -> String {
        Results::parse(text, "base.json").unwrap_err().to_string()
    }

    #[test]
    fn errors_name_file_and_field() {
        assert_eq!(
            error_of(r#"{"figures": {"x": {"unit": "s", "samples": [1]}}}"#),
            "base.json: figures.\"x\".higher_is_better: missing (true for throughputs, false for times)"
        );
        assert_eq!(
            error_of(
                r#"{"figures": {"x": {"unit": "s", "higher_is_better": false, "samples": [1, "2"]}}}"#
            ),
            "base.json: figures.\"x\".samples[1]: expected a number, found the string \"2\""
        );
        assert_eq!(
            error_of(r#"{"figures": {"x": {"unit": "s", "higher_is_better": false, "samples": [0]}}}"#),
            "base.json: figures.\"x\".samples[0]: 0 is not a positive number (the verdict compares ratios)"
        );
        assert_eq!(
            error_of(r#"{"benchmark": "core", "cases": []}"#),
            "base.json: figures: missing (a results file needs an object of named figures)"
        );
        assert_eq!(
            error_of(r#"{"format": "other/2", "figures": {}}"#),
            "base.json: format: \"other/2\" is not supported (this reader knows \"strom-figures/1\")"
        );
        assert_eq!(
            error_of("[1]"),
            "base.json: (top level): expected a JSON object, found an array"
        );
        assert!(error_of("{").starts_with("base.json: not valid JSON: "));
        let missing = Results::read(Path::new("/nonexistent/x.json")).unwrap_err();
        assert!(missing
            .to_string()
            .starts_with("/nonexistent/x.json: cannot read: "));
    }

    #[test]
    fn ab_files_have_one_sample_per_round() {
        let text = r#"{"ab": {"session": "s", "side": "A", "rounds": 3, "order": "AB BA AB",
                        "measure": "native"},
                       "figures": {"x": {"unit": "s", "higher_is_better": false, "samples": [1, 2]}}}"#;
        assert_eq!(
            error_of(text),
            "base.json: figures.\"x\".samples: has 2 samples but ab.rounds is 3 (an A/B file has one per round)"
        );
    }
}
