//! The stock `strom` binary: the CLI with the built-in jobs.

// mimalloc: per-record allocations (strings in word count) dominate otherwise; it is the
// field's standard fast allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    strom_tools::main(strom_tools::jobs::builtin())
}
