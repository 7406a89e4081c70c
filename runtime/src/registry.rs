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

/// A fingerprint of the running binary (xxh3 of the executable file), computed once. The
/// file is hashed in chunks: reading it whole would keep tens of MiB resident.
pub fn binary_fingerprint() -> u64 {
    static FP: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *FP.get_or_init(|| {
        let hash = || -> std::io::Result<u64> {
            use std::io::Read;
            let mut file = std::fs::File::open(std::env::current_exe()?)?;
            let mut hasher = xxhash_rust::xxh3::Xxh3::new();
            let mut chunk = vec![0u8; 1 << 20];
            loop {
                match file.read(&mut chunk)? {
                    0 => return Ok(hasher.digest()),
                    n => hasher.update(&chunk[..n]),
                }
            }
        };
        hash().unwrap_or(0)
    })
}
