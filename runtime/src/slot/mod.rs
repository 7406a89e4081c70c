//! Slots: one glommio executor per slot, pinned to a CPU when there are enough CPUs.
//!
//! This module is the executor seam: the rest of the runtime spawns, sleeps, yields and does
//! I/O only through it ([`executor`], [`io`] and the functions below), so glommio could be
//! replaced without touching operators or tasks.

pub mod executor;
pub mod io;

pub use executor::{SlotError, SlotPool};

use std::future::Future;
use std::time::Duration;

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
    if !d.is_zero() {
        glommio::timer::sleep(d).await;
    }
}

/// Yields to the slot's other tasks if this one has run for its time slice.
pub async fn yield_if_needed() {
    glommio::yield_if_needed().await
}

/// Spawns a task on the current slot.
pub fn spawn_local<F: Future + 'static>(fut: F)
where
    F::Output: 'static,
{
    glommio::spawn_local(fut).detach();
}
