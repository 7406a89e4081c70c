//! `peer_timely <chained|keyed_count|wordcount> --records N --workers W`
//!
//! Thin wrapper over [`strom_bench::peer_timely`]: runs one timely-dataflow
//! workload and prints one JSON line, e.g.
//! `{"engine":"timely","workload":"chained","workers":1,"records":N,"seconds":S,"records_per_sec":R,...}`.

use strom_bench::peer_timely::{run, Workload};

#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const USAGE: &str =
    "usage: peer_timely <chained|keyed_count|wordcount> [--records N] [--workers W]";

fn parse_num(s: Option<String>, flag: &str) -> Result<u64, String> {
    let s = s.ok_or_else(|| format!("{flag} needs a value"))?;
    s.replace('_', "")
        .parse()
        .map_err(|e| format!("bad {flag} {s:?}: {e}"))
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut workload = None;
    let mut records: u64 = 100_000_000;
    let mut workers: u64 = 1;
    let result = (|| -> Result<(), String> {
        while let Some(a) = args.next() {
            match a.as_str() {
                "--records" | "-n" => records = parse_num(args.next(), "--records")?,
                "--workers" | "-w" => workers = parse_num(args.next(), "--workers")?,
                "-h" | "--help" => return Err(USAGE.into()),
                w if workload.is_none() => {
                    workload =
                        Some(Workload::parse(w).ok_or(format!("unknown workload {w:?}\n{USAGE}"))?)
                }
                other => return Err(format!("unexpected argument {other:?}\n{USAGE}")),
            }
        }
        let workload = workload.ok_or(USAGE)?;
        if workers == 0 {
            return Err("--workers must be >= 1".into());
        }
        let outcome = run(workload, records, workers as usize)?;
        println!("{}", outcome.to_json());
        Ok(())
    })();
    if let Err(e) = result {
        eprintln!("{e}");
        std::process::exit(2);
    }
}
