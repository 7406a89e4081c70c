//! Which CPUs the slots of this process pin to, agreed between the processes of one host.
//!
//! Two TaskManagers on one machine (a job cluster, a test, a developer's laptop) would both
//! pin their slot 0 to CPU 0 if each counted from zero: their slots would share one core
//! while the others idled. So every process *claims* the CPUs it pins to: one lock file per
//! CPU in a directory shared by the host (`$TMPDIR/strom-cpu-claims/cpu-N.lock`), held with
//! an exclusive `flock` for as long as the slots run. The kernel drops a lock when its
//! process dies, so a crashed TaskManager never leaves a CPU claimed.
//!
//! Invariants:
//! - A [`CpuClaims`] holds one locked file per CPU it names; dropping it releases them.
//! - Only CPUs this process may run on (`Cpus_allowed_list` of `/proc/self/status`, which
//!   `taskset` and cgroups restrict) are candidates, taken in ascending order.
//! - A claim is all or nothing: if fewer CPUs than slots are free, nothing stays claimed and
//!   the caller runs its slots unpinned.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

/// The CPUs one process's slots pin to, locked against other processes. Global (lives as
/// long as the process's slot pool).
#[derive(Debug)]
pub struct CpuClaims {
    cpus: Vec<usize>,
    _locks: Vec<File>,
}

impl CpuClaims {
    /// The claimed CPUs, slot `i` pins to `cpus()[i]`.
    pub fn cpus(&self) -> &[usize] {
        &self.cpus
    }
}

/// Why the slots could not be pinned.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Unclaimed {
    /// More slots than CPUs this process may use.
    #[error("{slots} slots but this process may use only {allowed} CPUs")]
    TooFewCpus {
        /// Slots wanted.
        slots: usize,
        /// CPUs allowed.
        allowed: usize,
    },
    /// Other processes' slots hold too many of the allowed CPUs.
    #[error("{slots} slots but only {free} of the {allowed} CPUs this process may use are not claimed by another strom process's slots")]
    Taken {
        /// Slots wanted.
        slots: usize,
        /// CPUs still free.
        free: usize,
        /// CPUs allowed.
        allowed: usize,
    },
    /// The claims directory cannot be used (the error names it).
    #[error("cannot use {path}: {reason}")]
    Directory {
        /// The directory or lock file.
        path: PathBuf,
        /// The I/O error.
        reason: String,
    },
}

/// The host's claims directory.
pub fn claims_dir() -> PathBuf {
    std::env::temp_dir().join("strom-cpu-claims")
}

/// Claims `slots` CPUs among those this process may use, in `dir`.
pub fn claim(dir: &Path, slots: usize) -> Result<CpuClaims, Unclaimed> {
    claim_among(dir, &allowed_cpus(), slots)
}

/// Claims `slots` of `candidates` (ascending) in `dir`.
pub fn claim_among(dir: &Path, candidates: &[usize], slots: usize) -> Result<CpuClaims, Unclaimed> {
    if slots > candidates.len() {
        return Err(Unclaimed::TooFewCpus {
            slots,
            allowed: candidates.len(),
        });
    }
    std::fs::create_dir_all(dir).map_err(|e| Unclaimed::Directory {
        path: dir.to_path_buf(),
        reason: e.to_string(),
    })?;
    let mut cpus = Vec::with_capacity(slots);
    let mut locks = Vec::with_capacity(slots);
    for &cpu in candidates {
        if cpus.len() == slots {
            break;
        }
        let path = dir.join(format!("cpu-{cpu}.lock"));
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| Unclaimed::Directory {
                path: path.clone(),
                reason: e.to_string(),
            })?;
        match file.try_lock() {
            Ok(()) => {
                cpus.push(cpu);
                locks.push(file);
            }
            Err(TryLockError::WouldBlock) => {}
            Err(TryLockError::Error(e)) => {
                return Err(Unclaimed::Directory {
                    path,
                    reason: e.to_string(),
                })
            }
        }
    }
    if cpus.len() < slots {
        return Err(Unclaimed::Taken {
            slots,
            free: cpus.len(),
            allowed: candidates.len(),
        });
    }
    Ok(CpuClaims {
        cpus,
        _locks: locks,
    })
}

/// The CPUs this process may run on, ascending; `0..available_parallelism` if
/// `/proc/self/status` does not say.
pub fn allowed_cpus() -> Vec<usize> {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
                .and_then(|list| parse_cpu_list(list.trim()))
        })
        .unwrap_or_else(|| {
            let n = std::thread::available_parallelism().map_or(1, |n| n.get());
            (0..n).collect()
        })
}

/// Parses a kernel CPU list (`0-3,8,10-11`); `None` if it is not one.
fn parse_cpu_list(list: &str) -> Option<Vec<usize>> {
    let mut cpus = Vec::new();
    for part in list.split(',').filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (usize, usize) = (a.parse().ok()?, b.parse().ok()?);
                if a > b {
                    return None;
                }
                cpus.extend(a..=b);
            }
            None => cpus.push(part.parse().ok()?),
        }
    }
    cpus.sort_unstable();
    cpus.dedup();
    (!cpus.is_empty()).then_some(cpus)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists_parse() {
        assert_eq!(parse_cpu_list("0-1"), Some(vec![0, 1]));
        assert_eq!(
            parse_cpu_list("0-2,8,10-11"),
            Some(vec![0, 1, 2, 8, 10, 11])
        );
        assert_eq!(parse_cpu_list("3"), Some(vec![3]));
        assert_eq!(parse_cpu_list(""), None);
        assert_eq!(parse_cpu_list("2-1"), None);
        assert_eq!(parse_cpu_list("x"), None);
        assert!(!allowed_cpus().is_empty());
    }

    #[test]
    fn claims_exclude_each_other_until_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let cpus = [0, 1, 2];
        let a = claim_among(dir.path(), &cpus, 2).unwrap();
        assert_eq!(a.cpus(), &[0, 1]);
        let b = claim_among(dir.path(), &cpus, 1).unwrap();
        assert_eq!(b.cpus(), &[2], "the next process gets the next free CPU");
        assert_eq!(
            claim_among(dir.path(), &cpus, 1).unwrap_err(),
            Unclaimed::Taken {
                slots: 1,
                free: 0,
                allowed: 3
            }
        );
        drop(a);
        let c = claim_among(dir.path(), &cpus, 2).unwrap();
        assert_eq!(c.cpus(), &[0, 1], "dropped claims are free again");
    }

    #[test]
    fn a_partial_claim_keeps_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let a = claim_among(dir.path(), &[0, 1], 1).unwrap();
        assert!(matches!(
            claim_among(dir.path(), &[0, 1], 2),
            Err(Unclaimed::Taken { free: 1, .. })
        ));
        assert_eq!(claim_among(dir.path(), &[0, 1], 1).unwrap().cpus(), &[1]);
        drop(a);
        assert_eq!(
            claim_among(dir.path(), &[0], 2).unwrap_err(),
            Unclaimed::TooFewCpus {
                slots: 2,
                allowed: 1
            }
        );
    }

    #[test]
    fn an_unusable_directory_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("not-a-dir");
        std::fs::write(&file, b"").unwrap();
        match claim_among(&file, &[0], 1) {
            Err(Unclaimed::Directory { path, .. }) => assert_eq!(path, file),
            other => panic!("expected a directory error, got {other:?}"),
        }
    }
}
