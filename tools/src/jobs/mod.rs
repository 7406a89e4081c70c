//! The built-in jobs of the stock `strom` binary.

mod ds_bench;
mod keyed_count;
mod keyed_window;
mod nexmark;
mod sql_forms;
mod wordcount;

use strom_runtime::registry::JobRegistry;

/// A registry with the built-in jobs.
pub fn builtin() -> JobRegistry {
    let mut r = JobRegistry::new();
    r.register(
        "wordcount",
        "count words of a text file: --input FILE [--output DIR]",
        wordcount::make,
    );
    r.register(
        "keyed-count",
        "generator → key_by → count per key: [--records N] [--keys K] [--print]",
        keyed_count::make,
    );
    r.register(
        "keyed-window",
        "generator → key_by → window count per key: [--records N] [--keys K] [--window-ms MS] [--slide-ms MS | --session-gap-ms MS] [--events-per-second R] [--rate R] [--processing-time] [--print]",
        keyed_window::make,
    );
    r.register(
        "ds-w1",
        "the Flink peer's DS-W1: generator → filter → map → discard: [--records N]",
        ds_bench::make_w1,
    );
    r.register(
        "ds-w2",
        "the Flink peer's DS-W2: generator → key_by → 1 s tumbling count → discard: [--records N]",
        ds_bench::make_w2,
    );
    r.register(
        "w1",
        "the Flink peer's SQL W1 as a DataStream job: datagen → WHERE MOD(k, 2) = 0 → SELECT id, v * 2, s → discard: [--records N]",
        sql_forms::make_w1,
    );
    r.register(
        "w2",
        "the Flink peer's SQL W2 as a DataStream job: datagen → 1 s TUMBLE → COUNT(*) GROUP BY k, window → discard: [--records N]",
        sql_forms::make_w2,
    );
    nexmark::register(&mut r);
    r
}

/// Parses a job's own arguments with clap, naming the job in usage and errors. A help
/// request comes back as `Err(help text)`; an error without clap's `error: ` prefix (the
/// CLI adds its own).
pub(crate) fn parse_args<T: clap::Parser>(job: &str, args: &[String]) -> Result<T, String> {
    T::try_parse_from(std::iter::once(format!("strom run {job}")).chain(args.iter().cloned()))
        .map_err(|e| {
            let text = e.to_string();
            text.strip_prefix("error: ").unwrap_or(&text).to_string()
        })
}
