//! The strom `wordcount` job: generated lines → words → rolling count per word
//! (`rolling_count`: a count per word, the record's word handed on with it, as timely's
//! operator keeps a `u64` per word and moves the incoming word into its output).
//!
//! The text is the timely peer's: subtask `i` of `p` generates lines
//! `share(lines, i, p)` with [`next_line`] from an LCG seeded with `i`, so for
//! the same worker count both engines see exactly the same words.

use super::{counting_sink, Totals};
use crate::peer_timely::{hash_str, next_line, share, vocabulary};
use std::sync::Arc;
use strom_runtime::api::StreamEnv;
use strom_runtime::error::TaskResult;
use strom_runtime::operator::Output;
use strom_runtime::source::{SourceReader, SourceStatus};

/// Builds the job over `lines` generated lines (all subtasks together).
pub(super) fn build(env: &mut StreamEnv, lines: u64, totals: &Arc<Totals>) {
    let counts = env
        .add_source("Line Source", move |ctx| {
            let (lo, hi) = share(lines, ctx.subtask as usize, ctx.parallelism as usize);
            Box::new(LineSource::new(hi - lo, u64::from(ctx.subtask)))
        })
        .flat_map(|line: String, out| {
            for w in line.split(' ') {
                out.collect(w.to_owned());
            }
        })
        .name("Split")
        .key_by_ref(|w: &String| w.as_str())
        .rolling_count()
        .name("Word Count");
    counting_sink(&counts, totals, |(w, c): &(String, u64)| {
        hash_str(w).wrapping_add(*c)
    });
}

/// One subtask's line generator.
pub struct LineSource {
    vocab: Vec<String>,
    state: u64,
    left: u64,
    /// One poll's lines, handed on in one call (as the timely peer's session does).
    batch: Vec<String>,
}

impl LineSource {
    /// Generates `lines` lines from an LCG seeded with `seed`.
    pub fn new(lines: u64, seed: u64) -> Self {
        LineSource {
            vocab: vocabulary(),
            state: seed,
            left: lines,
            batch: Vec::new(),
        }
    }
}

impl SourceReader<String> for LineSource {
    fn poll_batch(
        &mut self,
        out: &mut dyn Output<String>,
        max: usize,
    ) -> TaskResult<(SourceStatus, usize)> {
        let n = self.left.min(max as u64);
        for _ in 0..n {
            let mut line = String::with_capacity(64);
            next_line(&mut self.state, &self.vocab, &mut line);
            self.batch.push(line);
        }
        let r = out.emit_batch(&mut self.batch, None);
        self.batch.clear();
        r?;
        self.left -= n;
        let status = if self.left == 0 {
            SourceStatus::Finished
        } else {
            SourceStatus::More
        };
        Ok((status, n as usize))
    }
}
