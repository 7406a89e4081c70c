//! Jobs as named builder functions, and the binary's fingerprint.
//!
//! Every process of a cluster runs the same binary; a job travels as its name and arguments,
//! and each process rebuilds it from the builder registered under that name. The binary's
//! fingerprint lets processes refuse to work with a different build.

use crate::cluster::JobBuilder;
use std::collections::BTreeMap;

/// Turns a job's command-line arguments into its builder, or explains what is wrong.
pub type MakeJob = fn(&[String]) -> Result<JobBuilder, String>;

/// A registered job.
#[derive(Clone)]
pub struct RegisteredJob {
    /// Name used on the command line.
    pub name: &'static str,
    /// One line about what it does.
    pub about: &'static str,
    /// Parses the arguments and returns the builder.
    pub make: MakeJob,
}

/// The jobs a binary can run.
#[derive(Clone, Default)]
pub struct JobRegistry {
    jobs: BTreeMap<&'static str, RegisteredJob>,
}

impl JobRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a job; a second job with the same name replaces the first.
    pub fn register(
        &mut self,
        name: &'static str,
        about: &'static str,
        make: MakeJob,
    ) -> &mut Self {
        self.jobs.insert(name, RegisteredJob { name, about, make });
        self
    }

    /// The job named `name`.
    pub fn get(&self, name: &str) -> Option<&RegisteredJob> {
        self.jobs.get(name)
    }

    /// All jobs, by name.
    pub fn iter(&self) -> impl Iterator<Item = &RegisteredJob> {
        self.jobs.values()
    }
}

/// A fingerprint of the running binary (xxh3 of the executable file), computed once.
pub fn binary_fingerprint() -> u64 {
    static FP: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *FP.get_or_init(|| {
        std::env::current_exe()
            .and_then(std::fs::read)
            .map(|b| xxhash_rust::xxh3::xxh3_64(&b))
            .unwrap_or(0)
    })
}
