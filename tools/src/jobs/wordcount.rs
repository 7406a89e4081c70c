//! Word count: lines of a text file → lowercase words → count per word, emitted once at the
//! end of the input (an event-time timer at the end-of-input watermark).

use super::parse_args;
use std::path::PathBuf;
use std::sync::Arc;
use strom_runtime::api::{
    KeyedContext, KeyedProcessFunction, KeyedStateStore, StreamEnv, UserError,
};
use strom_runtime::cluster::JobBuilder;
use strom_runtime::operator::MAX_WATERMARK;
use strom_runtime::state::ValueState;

#[derive(clap::Parser)]
struct Args {
    /// The text file to read.
    #[arg(long)]
    input: PathBuf,
    /// Write `part-N` files into this directory instead of printing to stdout.
    #[arg(long)]
    output: Option<PathBuf>,
}

pub(crate) fn make(args: &[String]) -> Result<JobBuilder, String> {
    let a: Args = parse_args("wordcount", args)?;
    match std::fs::metadata(&a.input) {
        Ok(m) if m.is_file() => {}
        Ok(_) => return Err(format!("--input {}: not a regular file", a.input.display())),
        Err(e) => return Err(format!("--input {}: {e}", a.input.display())),
    }
    Ok(Arc::new(move |env: &mut StreamEnv| {
        let counts = env
            .read_text_file(a.input.clone())
            .flat_map(|line: String, out| {
                for w in line
                    .split(|c: char| !c.is_alphanumeric())
                    .filter(|w| !w.is_empty())
                {
                    out.collect((w.to_lowercase(), 1u64));
                }
            })
            .name("Tokenizer")
            .key_by_ref(|(w, _): &(String, u64)| w.as_str())
            .process(FinalCount::default())
            .name("Count");
        let format = |(w, n): &(String, u64)| format!("{w}\t{n}");
        match &a.output {
            Some(dir) => {
                counts.write_as_text(dir.clone(), format);
            }
            None => {
                counts.print_with(format).set_parallelism(1);
            }
        }
        Ok(())
    }))
}

/// Sums counts per word and emits the total when the input ends.
#[derive(Default, Clone)]
pub(crate) struct FinalCount {
    count: Option<ValueState<String, u64>>,
}

impl KeyedProcessFunction<String, (String, u64), (String, u64)> for FinalCount {
    fn open(&mut self, state: &mut KeyedStateStore<String>) -> Result<(), UserError> {
        self.count = Some(state.value_state("count")?);
        Ok(())
    }

    fn process_element(
        &mut self,
        (_, n): (String, u64),
        ctx: &mut KeyedContext<'_, String, (String, u64)>,
    ) -> Result<(), UserError> {
        let count = self.count.as_ref().ok_or("state not opened")?;
        let c = count.value()?.unwrap_or(0);
        if c == 0 {
            ctx.register_event_time_timer(MAX_WATERMARK);
        }
        count.update(c + n)?;
        Ok(())
    }

    fn on_timer(
        &mut self,
        _ts: i64,
        ctx: &mut KeyedContext<'_, String, (String, u64)>,
    ) -> Result<(), UserError> {
        let count = self.count.as_ref().ok_or("state not opened")?;
        if let Some(c) = count.value()? {
            ctx.collect((ctx.key().clone(), c));
        }
        count.clear()?;
        Ok(())
    }
}
