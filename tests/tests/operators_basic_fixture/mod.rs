//! Fixture for `operators_basic.rs` only: the user functions its pipelines run (`explode`,
//! [`NumbersAndWords`], [`CountSumMax`]) and `part_files`, which reads `write_as_text` output.

use std::collections::BTreeMap;
use strom_runtime::api::{AggregateFunction, CoProcessFunction, Collector, UserError};

/// The flat_map of `flat_map_filter_map_match_a_sequential_pipeline`: 0 outputs for
/// x ≡ 0 (mod 3), 1 for x ≡ 1, 3 for x ≡ 2.
pub fn explode(x: u64, out: &mut Collector<'_, u64>) {
    match x % 3 {
        0 => {}
        1 => out.collect(x * 10),
        _ => {
            for j in 0..3 {
                out.collect(x * 10 + j);
            }
        }
    }
}

/// Output: (which input, number, text).
pub type Labeled = (u8, u64, String);

/// Numbers: none for multiples of 3, one for the others, a second for multiples of 5.
/// Words: their length and upper-case form.
#[derive(Clone)]
pub struct NumbersAndWords;

impl CoProcessFunction<u64, String, Labeled> for NumbersAndWords {
    fn process_element1(
        &mut self,
        x: u64,
        out: &mut Collector<'_, Labeled>,
    ) -> Result<(), UserError> {
        if x.is_multiple_of(3) {
            return Ok(());
        }
        out.collect((1, x * 2, String::new()));
        if x.is_multiple_of(5) {
            out.collect((1, x * 2 + 1, "five".into()));
        }
        Ok(())
    }
    fn process_element2(
        &mut self,
        w: String,
        out: &mut Collector<'_, Labeled>,
    ) -> Result<(), UserError> {
        out.collect((2, w.len() as u64, w.to_uppercase()));
        Ok(())
    }
}

/// The part files in `dir`: name → lines.
pub fn part_files(dir: &std::path::Path) -> BTreeMap<String, Vec<String>> {
    let mut files = BTreeMap::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let text = std::fs::read_to_string(e.path()).unwrap();
        assert!(
            text.is_empty() || text.ends_with('\n'),
            "{:?} ends in a partial line",
            e.path()
        );
        let lines = text.lines().map(str::to_string).collect();
        files.insert(e.file_name().to_string_lossy().into_owned(), lines);
    }
    files
}

/// Per key: (key, count, sum, max); the accumulator has its own type.
#[derive(Clone)]
pub struct CountSumMax;

/// (key, count, sum, max)
pub type Agg = (u64, u64, u64, u64);

impl AggregateFunction<(u64, u64), (Option<u64>, u64, u64, u64), Agg> for CountSumMax {
    fn create_accumulator(&self) -> (Option<u64>, u64, u64, u64) {
        (None, 0, 0, 0)
    }
    fn add(
        &self,
        (k, v): (u64, u64),
        acc: (Option<u64>, u64, u64, u64),
    ) -> (Option<u64>, u64, u64, u64) {
        if let Some(prev) = acc.0 {
            assert_eq!(prev, k, "an accumulator saw two keys");
        }
        (Some(k), acc.1 + 1, acc.2 + v, acc.3.max(v))
    }
    fn get_result(&self, acc: &(Option<u64>, u64, u64, u64)) -> Agg {
        (acc.0.unwrap_or(u64::MAX), acc.1, acc.2, acc.3)
    }
    fn merge(
        &self,
        a: (Option<u64>, u64, u64, u64),
        b: (Option<u64>, u64, u64, u64),
    ) -> (Option<u64>, u64, u64, u64) {
        (a.0.or(b.0), a.1 + b.1, a.2 + b.2, a.3.max(b.3))
    }
}
