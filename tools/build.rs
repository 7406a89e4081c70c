//! Embeds the git state of the sources this binary is built from, so that `strom --version`
//! (and every benchmark report that records it) names what was measured:
//! `STROM_GIT_REV` (HEAD, or `unknown` outside a git checkout) and `STROM_GIT_MODIFIED`
//! (`, modified` if the engine's, scheduler's or tools' sources differ from HEAD, else empty).

use std::process::Command;

/// The sources compiled into the `strom` binary.
const SOURCES: [&str; 5] = [
    "../net",
    "../runtime",
    "../scheduler",
    "../tools",
    "../bench/nexmark",
];

fn git(args: &[&str]) -> Option<String> {
    Command::new("git")
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
}

fn main() {
    // Cargo scans directories recursively for changes; the index changes on every commit.
    for p in SOURCES.iter().chain(&["../.git/HEAD", "../.git/index"]) {
        println!("cargo:rerun-if-changed={p}");
    }
    let rev = git(&["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".into());
    let mut status = vec!["status", "--porcelain", "--"];
    status.extend(SOURCES);
    let modified = match git(&status) {
        Some(s) if !s.is_empty() => ", modified",
        _ => "",
    };
    println!("cargo:rustc-env=STROM_GIT_REV={rev}");
    println!("cargo:rustc-env=STROM_GIT_MODIFIED={modified}");
}
