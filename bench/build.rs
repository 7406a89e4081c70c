//! Embeds the git state of the engine this crate is built against, so that a
//! result file names what was measured even when the tree changes later:
//! `STROM_BENCH_GIT_REV` (HEAD, or empty) and `STROM_BENCH_ENGINE_CHANGES`
//! (`git status --porcelain` of `net/` and `runtime/`, one entry per line).

use std::process::Command;

fn git(args: &[&str]) -> String {
    Command::new("git")
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

fn main() {
    // Cargo scans these directories recursively for changes.
    for p in [
        "../net/src",
        "../runtime/src",
        "../.git/HEAD",
        "../.git/index",
    ] {
        println!("cargo:rerun-if-changed={p}");
    }
    let rev = git(&["rev-parse", "HEAD"]);
    let changes = git(&["status", "--porcelain", "--", "../net", "../runtime"]).replace('\n', ";");
    println!("cargo:rustc-env=STROM_BENCH_GIT_REV={rev}");
    println!("cargo:rustc-env=STROM_BENCH_ENGINE_CHANGES={changes}");
}
