//! The slot executors: a thread per slot running strom's own executor (`slot/own/`) or
//! a glommio `LocalExecutor` (`taskmanager.slot.executor`).

use super::cpu_claims::{self, CpuClaims};
use std::time::Duration;

/// A slot executor could not be started.
#[derive(Debug, thiserror::Error)]
pub enum SlotError {
    /// glommio (io_uring) refused to start.
    #[error("cannot start slot {slot}: {reason}. strom needs io_uring: check that \
             /proc/sys/kernel/io_uring_disabled is 0, that no seccomp profile blocks io_uring_setup, \
             and that the memlock limit (ulimit -l, now {memlock}) covers taskmanager.slot.io-memory")]
    Start {
        /// Slot index.
        slot: usize,
        /// glommio's error.
        reason: String,
        /// The memlock limit.
        memlock: String,
    },
}

/// A job for a slot: runs on the slot's thread, inside its executor (so it may spawn).
pub type SlotJob = Box<dyn FnOnce() + Send>;

/// Which executor runs a slot's tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecutorKind {
    /// strom's own (`slot/own/`): parks in its io_uring, no timer system calls per pass.
    Strom,
    /// glommio 0.9's `LocalExecutor`.
    Glommio,
}

/// Settings of the slot executors.
#[derive(Debug, Clone)]
pub struct SlotSettings {
    /// Number of slots.
    pub slots: usize,
    /// Pin each slot to a CPU of its own when enough CPUs are free of other processes' slots
    /// (see [`super::cpu_claims`]).
    pub pin: bool,
    /// io_uring registered buffer memory per slot.
    pub io_memory: usize,
    /// Spin before parking.
    pub spin_before_park: Duration,
    /// The executor.
    pub executor: ExecutorKind,
    /// How long one task may run before the tasks of its slot take turns (our own time
    /// slice, see [`super::yield_if_needed`]; glommio's preempt timer keeps its 100 ms).
    pub preempt_interval: Duration,
}

impl SlotSettings {
    /// `taskmanager.numberOfTaskSlots` (default: one per CPU) and the slot keys.
    pub fn from_config(
        config: &crate::config::Configuration,
    ) -> Result<Self, crate::config::ConfigError> {
        let cpus = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        Ok(SlotSettings {
            slots: config.task_slots()?.unwrap_or(cpus),
            pin: config.pin_slots()?,
            io_memory: config.io_memory()?,
            spin_before_park: config.spin_before_park()?,
            executor: config.slot_executor()?,
            preempt_interval: config.preempt_interval()?,
        })
    }
}

/// The running slot executors of one (embedded) TaskManager.
pub struct SlotPool {
    senders: Vec<flume::Sender<SlotJob>>,
    threads: Vec<std::thread::JoinHandle<()>>,
    pinned: bool,
    /// The CPUs the slots pin to, held against other processes until the pool is dropped.
    _claims: Option<CpuClaims>,
}

impl SlotPool {
    /// Starts `settings.slots` executors.
    pub fn start(settings: &SlotSettings) -> Result<Self, SlotError> {
        let claims = if settings.pin {
            pin_claims(settings.slots)
        } else {
            None
        };
        let pinned = claims.is_some();
        let mut senders = Vec::new();
        let mut threads = Vec::new();
        for i in 0..settings.slots {
            let (tx, rx) = flume::bounded::<SlotJob>(1024);
            let cpu = claims.as_ref().map(|c| c.cpus()[i]);
            let thread = match settings.executor {
                ExecutorKind::Strom => start_own(i, cpu, settings, rx)?,
                ExecutorKind::Glommio => start_glommio(i, cpu, settings, rx)?,
            };
            senders.push(tx);
            threads.push(thread);
        }
        tracing::debug!(slots = settings.slots, pinned, "slot executors started");
        Ok(SlotPool {
            senders,
            threads,
            pinned,
            _claims: claims,
        })
    }

    /// Number of slots.
    pub fn len(&self) -> usize {
        self.senders.len()
    }

    /// Whether there are no slots.
    pub fn is_empty(&self) -> bool {
        self.senders.is_empty()
    }

    /// Whether slots are pinned to CPUs.
    pub fn pinned(&self) -> bool {
        self.pinned
    }

    /// Runs `job` on slot `slot`'s thread; hands it back if the slot is gone.
    pub fn run_on(&self, slot: usize, job: SlotJob) -> Result<(), SlotJob> {
        match self.senders.get(slot) {
            Some(tx) => tx.send(job).map_err(|e| e.into_inner()),
            None => Err(job),
        }
    }
}

/// The loop of a slot's first task: runs the jobs handed to the slot until the pool goes.
async fn serve(
    rx: flume::Receiver<SlotJob>,
    slice: Duration,
    ready: std::sync::mpsc::Sender<Result<(), String>>,
) {
    super::set_time_slice(slice);
    let _ = ready.send(Ok(()));
    while let Ok(job) = rx.recv_async().await {
        job();
    }
    // The pool is going: what still runs on a glommio slot is cancelled here (strom's own
    // executor cancels its tasks itself once this future returns).
    super::cancel_glommio_tasks().await;
}

/// Slot `i` on strom's own executor, pinned to `cpu` if given. The slot's thread reports
/// whether it started on `ready`; one that fails later logs why.
fn start_own(
    i: usize,
    cpu: Option<usize>,
    settings: &SlotSettings,
    rx: flume::Receiver<SlotJob>,
) -> Result<std::thread::JoinHandle<()>, SlotError> {
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let (slice, spin) = (settings.preempt_interval, settings.spin_before_park);
    let handle = std::thread::Builder::new()
        .name(format!("slot-{i}"))
        .spawn(move || {
            if let Some(cpu) = cpu {
                if let Err(e) = pin_current_thread(cpu) {
                    let _ = ready_tx.send(Err(format!("cannot pin to CPU {cpu}: {e}")));
                    return;
                }
            }
            let failed = ready_tx.clone();
            if let Err(e) = super::own::run(serve(rx, slice, ready_tx), spin) {
                // Before the start: the pool reports it; after: nobody waits, so log it.
                if failed.send(Err(e.to_string())).is_err() {
                    tracing::error!(slot = i, "slot executor failed: {e}");
                }
            }
        })
        .map_err(|e| start_error(i, e.to_string()))?;
    match ready_rx.recv_timeout(Duration::from_secs(10)) {
        Ok(Ok(())) => Ok(handle),
        Ok(Err(why)) => Err(start_error(i, why)),
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
            Err(start_error(i, "executor exited during start-up".into()))
        }
        // Still starting: the error drops the slot's job sender, which ends its thread.
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => Err(start_error(
            i,
            "the executor did not start within 10 s".into(),
        )),
    }
}

/// Slot `i` on a glommio executor, pinned to `cpu` if given.
fn start_glommio(
    i: usize,
    cpu: Option<usize>,
    settings: &SlotSettings,
    rx: flume::Receiver<SlotJob>,
) -> Result<std::thread::JoinHandle<()>, SlotError> {
    let placement = match cpu {
        Some(c) => glommio::Placement::Fixed(c),
        None => glommio::Placement::Unbound,
    };
    let mut builder = glommio::LocalExecutorBuilder::new(placement)
        .name(&format!("slot-{i}"))
        .io_memory(settings.io_memory);
    if !settings.spin_before_park.is_zero() {
        builder = builder.spin_before_park(settings.spin_before_park);
    }
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let slice = settings.preempt_interval;
    let handle = builder
        .spawn(move || serve(rx, slice, ready_tx))
        .map_err(|e| start_error(i, e.to_string()))?;
    // The executor signals once it runs; an executor that failed to set up io_uring
    // ends its thread, so the join handle reports it.
    if ready_rx.recv_timeout(Duration::from_secs(10)).is_err() {
        let reason = match handle.join() {
            Err(e) => e.to_string(),
            Ok(()) => "executor exited during start-up".into(),
        };
        return Err(start_error(i, reason));
    }
    Ok(std::thread::spawn(move || {
        let _ = handle.join();
    }))
}

/// Pins the calling thread to `cpu`.
fn pin_current_thread(cpu: usize) -> std::io::Result<()> {
    // SAFETY: a zeroed `cpu_set_t` is an empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    if cpu >= 8 * std::mem::size_of::<libc::cpu_set_t>() {
        return Err(std::io::Error::other("CPU index past the affinity mask"));
    }
    // SAFETY: `cpu` is inside the set's bits (checked above).
    unsafe { libc::CPU_SET(cpu, &mut set) };
    // SAFETY: `set` is a valid cpu_set_t of the size given; 0 is the calling thread.
    if unsafe { libc::sched_setaffinity(0, std::mem::size_of_val(&set), &set) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Claims a CPU per slot for pinning ([`super::cpu_claims`]); `None`, with a log line that
/// says why, when the slots must run unpinned.
fn pin_claims(slots: usize) -> Option<CpuClaims> {
    match cpu_claims::claim(&cpu_claims::claims_dir(), slots) {
        Ok(c) => {
            tracing::info!(slots, cpus = ?c.cpus(), "slots pinned: slot i runs on the i-th of these CPUs");
            Some(c)
        }
        Err(why) => {
            tracing::info!(
                slots,
                "slots are not pinned and share the CPUs (expect lower per-slot throughput): {why}"
            );
            None
        }
    }
}

fn start_error(slot: usize, reason: String) -> SlotError {
    let memlock = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|l| {
            l.lines()
                .find(|l| l.starts_with("Max locked memory"))
                .map(|l| {
                    l.split_whitespace()
                        .skip(3)
                        .take(2)
                        .collect::<Vec<_>>()
                        .join(" ")
                })
        })
        .unwrap_or_else(|| "unknown".into());
    SlotError::Start {
        slot,
        reason,
        memlock,
    }
}

impl Drop for SlotPool {
    fn drop(&mut self) {
        self.senders.clear();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}
