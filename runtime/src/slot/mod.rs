//! Slots: one executor per slot (strom's own by default, glommio's if configured), pinned
//! to a CPU of its own when enough CPUs are free ([`cpu_claims`]: the processes of one host
//! claim the CPUs they pin to).
//!
//! Invariant: a task spawned on a slot ends on that slot's thread, when it finishes or when
//! the slot ends (its future is then dropped unfinished, with what it holds: channel ends,
//! sockets, the report of its job), whichever executor runs the slot.
//!
//! This module is the executor seam: the rest of the runtime spawns, sleeps, yields and does
//! I/O only through it ([`executor`], [`io`] and the functions below), so the executor
//! underneath is a choice (`taskmanager.slot.executor`): strom's own (`own/`, the default)
//! or glommio's, without touching operators or tasks.

pub mod cpu_claims;
pub mod executor;
pub mod io;
mod own;

pub use executor::{SlotError, SlotPool};

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::rc::Rc;
use std::time::{Duration, Instant};

thread_local! {
    /// How long a task may run before it lets the slot's other tasks run
    /// (`taskmanager.slot.preempt-interval`; set when the slot's executor starts).
    static SLICE: Cell<Duration> = const { Cell::new(Duration::from_millis(1)) };
    /// When the running task's slice began (the last yield on this slot).
    static SLICE_START: Cell<Option<Instant>> = const { Cell::new(None) };
    /// The tasks spawned on this slot's glommio executor, each with a flag set when it
    /// finishes: finished ones are let go at the next spawn, the rest cancelled when the
    /// slot ends ([`cancel_glommio_tasks`]). glommio leaks a detached task still waiting
    /// when its executor stops; strom's own executor cancels its own (`own::run`).
    static GLOMMIO_TASKS: RefCell<Vec<GlommioTask>> = const { RefCell::new(Vec::new()) };
}

/// A task on a glommio slot, and whether its future has finished.
type GlommioTask = (glommio::Task<()>, Rc<Cell<bool>>);

/// Sets this thread's time slice (called on a slot's thread when its executor starts).
pub(crate) fn set_time_slice(d: Duration) {
    SLICE.set(d);
}

/// Runs `fut`, giving up after `timeout` (`None`).
pub async fn race_timeout<F: Future>(fut: F, timeout: Duration) -> Option<F::Output> {
    use futures_lite::FutureExt;
    let fut = async { Some(fut.await) };
    let timer = async {
        sleep(timeout).await;
        None
    };
    fut.or(timer).await
}

/// Sleeps on the slot's timer (the task yields its core meanwhile).
pub async fn sleep(d: Duration) {
    // A deadline past what `Instant` can hold would panic in the timer: a year is forever.
    let d = d.min(Duration::from_secs(365 * 24 * 3600));
    if d.is_zero() {
        return;
    }
    match own::current() {
        Some(local) => own::sleep_until(&local, Instant::now() + d).await,
        None => glommio::timer::sleep(d).await,
    }
}

/// Yields to the slot's other tasks if this one has run for its time slice or, on strom's
/// own executor, if a timer of the slot has fallen due.
///
/// The slice is ours, not glommio's preempt timer: a 1 ms preempt timer made glommio 0.9
/// occasionally park an executor with a runnable task (a job hung with both slots asleep in
/// `io_uring_enter`; 2 of 13 runs of `nexmark-q0 -p 2` beside a CPU hog, none of 20 with the
/// 100 ms default). So glommio keeps its default timer, and a task that has run for its slice
/// yields with a plain wake-and-return-pending, the path every wake-up takes.
///
/// A due timer ends the slice early: its tasks are woken here, so they run before this one
/// runs again. That is what keeps a paced source on its schedule while the task beside it
/// works through a backlog (a catch-up of the other slot arriving): before the fifteenth
/// session the source's granule waited for the rest of the busy task's slice, then for up
/// to 64 more of them, since the slot's loop only looked at its timers when its run queue
/// emptied or every 64 runs.
pub async fn yield_if_needed() {
    let now = Instant::now();
    let timers_fired = own::fire_due_timers(now) > 0;
    match SLICE_START.get() {
        Some(start) if timers_fired || now.duration_since(start) >= SLICE.get() => {
            SLICE_START.set(Some(now));
            futures_lite::future::yield_now().await;
        }
        Some(_) => {}
        None => SLICE_START.set(Some(now)),
    }
}

/// Spawns a task on the current slot.
pub fn spawn_local<F: Future + 'static>(fut: F)
where
    F::Output: 'static,
{
    match own::current() {
        Some(local) => own::spawn(&local, fut),
        None => {
            let done = Rc::new(Cell::new(false));
            let finished = done.clone();
            let task = glommio::spawn_local(async move {
                fut.await;
                finished.set(true);
            });
            GLOMMIO_TASKS.with_borrow_mut(|tasks| {
                tasks.retain(|(_, done)| !done.get());
                tasks.push((task, done));
            });
        }
    }
}

/// Cancels the tasks still waiting on this slot's glommio executor (called on the slot's
/// thread as the slot ends): each future is dropped here, on its own thread, so what it
/// holds is released and the job it belongs to learns that it will never report.
pub(crate) async fn cancel_glommio_tasks() {
    let tasks = GLOMMIO_TASKS.with_borrow_mut(std::mem::take);
    for (task, _) in tasks {
        task.cancel().await;
    }
}
