//! CPU time of both processes of a sample: this one and its (reaped) peer processes.
//!
//! A rate on this shared 2-vCPU machine depends on what else runs; the CPU time spent per
//! byte moved depends far less on it, so the throughput benchmark reports both. Read with
//! `getrusage`: `RUSAGE_SELF` counts every thread of this process (also threads that have
//! exited, such as a network thread of a dropped environment), `RUSAGE_CHILDREN` every
//! child that has been waited for. A sample's peer is reaped before the sample ends.

/// User + system CPU seconds of this process and of its reaped children so far.
#[derive(Clone, Copy, Debug)]
pub struct CpuClock {
    this: f64,
    children: f64,
}

fn rusage(who: libc::c_int) -> f64 {
    // SAFETY: `getrusage` writes a whole `rusage` into the zeroed value we own.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `u` is a valid, writable `rusage`; `who` is RUSAGE_SELF or RUSAGE_CHILDREN.
    if unsafe { libc::getrusage(who, &mut u) } != 0 {
        return 0.0;
    }
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(u.ru_utime) + secs(u.ru_stime)
}

impl CpuClock {
    /// The CPU time used so far.
    pub fn now() -> CpuClock {
        CpuClock {
            this: rusage(libc::RUSAGE_SELF),
            children: rusage(libc::RUSAGE_CHILDREN),
        }
    }

    /// CPU seconds used since `self` by this process and by children reaped meanwhile.
    pub fn since(self) -> f64 {
        let now = CpuClock::now();
        (now.this - self.this) + (now.children - self.children)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_a_spin_and_a_reaped_child() {
        // Spin until the clock shows 20 ms (a preempted spin takes longer, not less CPU);
        // a clock that does not count this thread never gets there.
        let c = CpuClock::now();
        let t = std::time::Instant::now();
        let mut x = 0u64;
        let mut spun = 0.0;
        while spun < 0.02 && t.elapsed() < std::time::Duration::from_secs(10) {
            for _ in 0..10_000 {
                x = std::hint::black_box(x.wrapping_add(1));
            }
            spun = c.since();
        }
        assert!(
            spun >= 0.02,
            "spinning for {:?} counted as {spun} s",
            t.elapsed()
        );
        let c = CpuClock::now();
        let status = std::process::Command::new("sh")
            .args(["-c", "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done"])
            .status()
            .expect("sh runs");
        assert!(status.success());
        assert!(c.since() > 0.0, "the reaped child's CPU time is counted");
    }
}
