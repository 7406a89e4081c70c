//! q13, bounded side-input join (§13): a side table `(key BIGINT, value STRING)` and every
//! bid joined with it by a processing-time lookup on `key = auction % 10000` (Java's `%`:
//! the sign of the dividend). Output `(auction, bidder, price, dateTime, value)`. An inner
//! join: a bid whose key is not in the table has no row, and a key that the table holds
//! twice gives two rows.
//!
//! The table comes from `--side-input FILE`: CSV rows `key,value` (RFC 4180 quoting for the
//! value; `\r\n` line ends accepted; no header). Without it the job uses the table that
//! nexmark's side-input generator writes: 10,000 rows `i,i` for i = 0..9999. The file is read
//! once, when the job is built; a malformed file fails the job's arguments with the file and
//! line named.
//!
//! Plan: the table lives in the job (shared, read-only) and each bid is looked up with one
//! flat map, no state. The lookup is by processing time in Flink, but the table never
//! changes, so the result is deterministic.

use super::args::parse_args_with;
use super::{bids, sink, source, Csv, NexmarkArgs};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use strom_runtime::api::StreamEnv;
use strom_runtime::cluster::JobBuilder;

const JOB: &str = "nexmark-q13";

/// `(auction, bidder, price, dateTime, value)`.
type Row = (i64, i64, i64, i64, String);

fn csv(r: &Row, c: &mut Csv) {
    c.int(r.0).int(r.1).int(r.2).int(r.3).str(&r.4);
}

/// The side table: the values of each key, in file order.
type Table = HashMap<i64, Vec<String>>;

/// The rows of nexmark's generated side input: `i,i` for i = 0..9999.
const GENERATED_ROWS: i64 = 10_000;

/// The lookup key of a bid.
const KEY_MODULUS: i64 = 10_000;

fn generated_table() -> Table {
    (0..GENERATED_ROWS)
        .map(|i| (i, vec![i.to_string()]))
        .collect()
}

/// Splits one CSV line into fields: separated by commas, each possibly quoted (`""` inside
/// quotes is a quote). `None` if a quote is not closed or text follows a closing quote.
fn csv_fields(line: &str) -> Option<Vec<String>> {
    let mut fields = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        let mut field = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next()? {
                    '"' if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    '"' => break,
                    c => field.push(c),
                }
            }
            match chars.next() {
                None => {
                    fields.push(field);
                    return Some(fields);
                }
                Some(',') => fields.push(field),
                Some(_) => return None,
            }
        } else {
            loop {
                match chars.next() {
                    None => {
                        fields.push(field);
                        return Some(fields);
                    }
                    Some(',') => break,
                    Some('"') => return None,
                    Some(c) => field.push(c),
                }
            }
            fields.push(field);
        }
    }
}

/// Reads the side table from `path`.
fn read_table(path: &Path) -> Result<Table, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("--side-input {}: {e}", path.display()))?;
    let mut table = Table::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let error = |what: String| format!("--side-input {}:{}: {what}", path.display(), n + 1);
        let fields = csv_fields(line).ok_or_else(|| error("malformed quoting".into()))?;
        let [key, value] = &fields[..] else {
            return Err(error(format!(
                "expected 2 fields `key,value`, found {}: {line:?}",
                fields.len()
            )));
        };
        let key: i64 = key
            .parse()
            .map_err(|_| error(format!("the key {key:?} is not a BIGINT")))?;
        table.entry(key).or_default().push(value.clone());
    }
    Ok(table)
}

/// The query's arguments: the common ones and `--side-input FILE`.
fn parse(args: &[String]) -> Result<(NexmarkArgs, Option<PathBuf>), String> {
    let side_input = clap::Arg::new("side_input")
        .long("side-input")
        .value_name("FILE")
        .value_parser(clap::value_parser!(PathBuf))
        .help(
            "The side table as CSV rows `key,value` (key a BIGINT). Default: the 10,000 rows \
             `i,i` (i = 0..9999) of nexmark's side-input generator",
        );
    let (a, m) = parse_args_with(JOB, args, [side_input], None)?;
    if let Some(out) = &a.output {
        if out.is_dir() {
            return Err(format!("--output {}: is a directory", out.display()));
        }
    }
    Ok((a, m.get_one::<PathBuf>("side_input").cloned()))
}

pub(crate) fn make(args: &[String]) -> Result<JobBuilder, String> {
    let (a, side_input) = parse(args)?;
    let table = Arc::new(match &side_input {
        Some(path) => read_table(path)?,
        None => generated_table(),
    });
    Ok(Arc::new(move |env: &mut StreamEnv| {
        let events = source(env, &a);
        let table = table.clone();
        let rows = bids(&events)
            .flat_map(move |b, out| {
                let values = table.get(&(b.auction % KEY_MODULUS));
                for v in values.into_iter().flatten() {
                    out.collect((b.auction, b.bidder, b.price, b.date_time, v.clone()));
                }
            })
            .name("Side-Input Lookup");
        sink(&rows, &a, csv);
        Ok(())
    }))
}

#[cfg(test)]
mod tests {
    use super::csv_fields;

    #[test]
    fn csv_lines_split_into_fields() {
        let f = |s: &str| csv_fields(s).map(|v| v.join("|"));
        assert_eq!(f("1,a"), Some("1|a".into()));
        assert_eq!(f("1,"), Some("1|".into()));
        assert_eq!(f(""), Some("".into()));
        assert_eq!(f("1,\"a,\"\"b\"\"\""), Some("1|a,\"b\"".into()));
        assert_eq!(f("1,\"a"), None);
        assert_eq!(f("1,\"a\"b"), None);
        assert_eq!(f("1,a\"b"), None);
    }
}
