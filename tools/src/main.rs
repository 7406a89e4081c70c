//! The stock `strom` binary: the CLI with the built-in jobs.

// mimalloc: per-record allocations (strings in word count) dominate otherwise; it is the
// field's standard fast allocator. Built without transparent huge pages (`no_thp` in the
// workspace manifest): their first touch stalled a slot for milliseconds.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    strom_tools::main(strom_tools::jobs::builtin())
}
