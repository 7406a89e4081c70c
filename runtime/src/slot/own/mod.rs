//! strom's own slot executor: one thread, its tasks, its timers and its io_uring.
//!
//! The loop: take the ring's completions, fire due timers, run every queued task, and when
//! nothing is queued, spin for `taskmanager.slot.spin-before-park` and then park in
//! `io_uring_enter` until a completion (a wake from another core, an I/O operation) or the
//! next timer. After each task run it fires the timers that fell due meanwhile, so a
//! timer's task does not wait for a run queue that keeps refilling (and a busy task fires
//! them itself when it yields: `slot::yield_if_needed`). A pass makes no system call unless a task submitted I/O or the slot parks;
//! parking costs one `io_uring_enter`, waking a parked slot one eventfd write ([`wake`]).
//! That is what it is for: glommio 0.9 arms and cancels two preempt timers through
//! `io_uring_enter` on every pass and issues a `membarrier` before every park, which in a
//! virtual machine made a paced job's slots use about twice the CPU of plain threads doing
//! the same work (bench/README, "The latency floor").
//!
//! Everything here lives on the slot's thread (`Rc`, never `Send`) except [`wake`]'s shared
//! part, which wakers on any core hold.

mod ring;
mod timers;
mod wake;

pub(crate) use ring::{connect, read};

use ring::SlotRing;
use std::cell::RefCell;
use std::future::Future;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use timers::{Sleep, Timers};
use wake::WakeShared;

/// Tasks run between two looks at the timers and the ring.
const RUN_BUDGET: usize = 64;

/// The executor of the current thread, if it is one of ours (per-slot).
pub(crate) struct Local {
    shared: Arc<Shared>,
    timers: Rc<RefCell<Timers>>,
    pub(crate) ring: Rc<RefCell<SlotRing>>,
    /// The handles of spawned tasks not known to have finished, so that the end of the
    /// slot cancels the ones still waiting (their futures dropped on this thread).
    tasks: RefCell<Vec<async_task::Task<()>>>,
}

/// What the schedule function of every task holds (global handle).
struct Shared {
    wake: Arc<WakeShared>,
    /// Set when the executor has ended: a task woken afterwards (by a waker another core
    /// dropped late) is leaked rather than dropped on the wrong thread.
    closed: AtomicBool,
}

thread_local! {
    static CURRENT: RefCell<Option<Rc<Local>>> = const { RefCell::new(None) };
}

/// The current thread's executor, if it runs ours.
pub(crate) fn current() -> Option<Rc<Local>> {
    CURRENT.with(|c| c.borrow().clone())
}

/// Wakes the current executor's timers that are due by `now` (0 on a thread that does not
/// run ours); how many. The woken tasks queue behind those already queued.
pub(crate) fn fire_due_timers(now: Instant) -> usize {
    CURRENT.with(|c| match c.borrow().as_ref() {
        Some(local) => fire_if_due(local, now),
        None => 0,
    })
}

/// Fires `local`'s due timers, if any, without taking the map mutably when none is.
fn fire_if_due(local: &Local, now: Instant) -> usize {
    if local.timers.borrow().next().is_some_and(|at| at <= now) {
        local.timers.borrow_mut().fire(now)
    } else {
        0
    }
}

/// Sleeps until `at` on the current executor's timers.
pub(crate) fn sleep_until(local: &Local, at: Instant) -> impl Future<Output = ()> {
    Sleep::new(local.timers.clone(), at)
}

/// Spawns `fut` on `local`; its output is dropped. The slot keeps its handle until it has
/// finished, so that a slot that ends drops it if it is still waiting.
pub(crate) fn spawn<F: Future + 'static>(local: &Local, fut: F)
where
    F::Output: 'static,
{
    let (runnable, task) = spawn_task(&local.shared, async move {
        fut.await;
    });
    let mut tasks = local.tasks.borrow_mut();
    // Amortized: a slot holds a few tasks per deployed subtask.
    tasks.retain(|t| !t.is_finished());
    tasks.push(task);
    drop(tasks);
    runnable.schedule();
}

fn spawn_task<F: Future + 'static>(
    shared: &Arc<Shared>,
    fut: F,
) -> (async_task::Runnable, async_task::Task<F::Output>)
where
    F::Output: 'static,
{
    let shared = shared.clone();
    let schedule = move |runnable: async_task::Runnable| {
        if shared.closed.load(Ordering::Acquire) {
            std::mem::forget(runnable);
        } else {
            shared.wake.schedule(runnable);
        }
    };
    async_task::spawn_local(fut, schedule)
}

/// Runs `main` on this thread until it completes. Spawned tasks still waiting or queued
/// then are cancelled and dropped here, on the thread that spawned them (their sockets,
/// files and channel ends closed); a task woken after that, by a waker another core
/// dropped late, is leaked, never dropped on the wrong thread.
pub(crate) fn run<F: Future + 'static>(main: F, spin: Duration) -> std::io::Result<F::Output>
where
    F::Output: 'static,
{
    let wake = WakeShared::new()?;
    let ring = Rc::new(RefCell::new(SlotRing::new(wake.eventfd())?));
    let shared = Arc::new(Shared {
        wake,
        closed: AtomicBool::new(false),
    });
    let local = Rc::new(Local {
        shared: shared.clone(),
        timers: Rc::new(RefCell::new(Timers::default())),
        ring,
        tasks: RefCell::new(Vec::new()),
    });
    CURRENT.with(|c| *c.borrow_mut() = Some(local.clone()));
    let (runnable, task) = spawn_task(&shared, main);
    runnable.schedule();
    let result = run_loop(&local, &task, spin);
    // What is still queued, the tasks still waiting (cancelled) and whatever their drops
    // wake or spawn are dropped here, on the thread that spawned them; later wakes leak.
    loop {
        let mut dropped = false;
        while let Some(r) = shared.wake.pop() {
            drop(r);
            dropped = true;
        }
        // Dropping a future may have spawned (and so kept) another task.
        if !cancel_all(&local) && !dropped {
            break;
        }
    }
    shared.closed.store(true, Ordering::Release);
    while let Some(r) = shared.wake.pop() {
        drop(r);
    }
    CURRENT.with(|c| *c.borrow_mut() = None);
    result?;
    Ok(futures_lite::future::block_on(task))
}

/// Cancels every spawned task: dropping a handle schedules a waiting task once more, and
/// its `Runnable`, dropped unrun, drops the future. True if there were any.
fn cancel_all(local: &Local) -> bool {
    let tasks = std::mem::take(&mut *local.tasks.borrow_mut());
    let any = !tasks.is_empty();
    drop(tasks);
    any
}

fn run_loop<T>(local: &Local, main: &async_task::Task<T>, spin: Duration) -> std::io::Result<()> {
    let wake = &local.shared.wake;
    loop {
        local.ring.borrow_mut().reap();
        local.timers.borrow_mut().fire(Instant::now());
        let mut ran = 0;
        while let Some(r) = wake.pop() {
            r.run();
            ran += 1;
            if ran % RUN_BUDGET == 0 {
                // Tasks that keep yielding keep the queue from emptying: completions and
                // the wake read still get their turn.
                let mut ring = local.ring.borrow_mut();
                ring.reap();
                ring.submit()?;
            }
            // A timer that fell due while a task ran wakes its task now, not when the
            // queue next empties (a paced source keeps its schedule beside busy tasks).
            if local.timers.borrow().next().is_some() {
                fire_if_due(local, Instant::now());
            }
        }
        if main.is_finished() {
            return Ok(());
        }
        local.ring.borrow_mut().submit()?;
        if !spin.is_zero() && spin_for_work(local, spin) {
            continue;
        }
        if wake.prepare_to_park() {
            let timeout = local
                .timers
                .borrow()
                .next()
                .map(|at| at.saturating_duration_since(Instant::now()));
            if timeout != Some(Duration::ZERO) {
                local.ring.borrow_mut().park(timeout)?;
            }
            wake.woke();
        }
    }
}

/// Spins up to `spin` for queued tasks, completions or a due timer; true if one came.
fn spin_for_work(local: &Local, spin: Duration) -> bool {
    let until = Instant::now() + spin;
    let next_timer = local.timers.borrow().next();
    loop {
        if local.shared.wake.has_queued() || local.ring.borrow_mut().has_completions() {
            return true;
        }
        let now = Instant::now();
        if next_timer.is_some_and(|t| t <= now) {
            return true;
        }
        if now >= until {
            return false;
        }
        std::hint::spin_loop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_spawned_tasks_timers_and_cross_thread_wakes() {
        let out = run(
            async {
                let local = current().expect("inside the executor");
                let (tx, rx) = flume::bounded::<u32>(1);
                // A wake from another thread while this one is parked.
                std::thread::spawn(move || {
                    std::thread::sleep(Duration::from_millis(20));
                    let _ = tx.send(7);
                });
                let (done_tx, done_rx) = flume::bounded::<u32>(1);
                spawn(&local, async move {
                    let v = rx.recv_async().await.unwrap_or(0);
                    let _ = done_tx.send_async(v + 1).await;
                });
                let t = Instant::now();
                sleep_until(&local, t + Duration::from_millis(5)).await;
                assert!(t.elapsed() >= Duration::from_millis(5));
                done_rx.recv_async().await.unwrap_or(0)
            },
            Duration::ZERO,
        )
        .unwrap();
        assert_eq!(out, 8);
    }

    #[test]
    fn a_timer_due_while_another_task_is_busy_wakes_its_task_at_that_tasks_next_yield() {
        use std::cell::Cell;
        let out = run(
            async {
                let local = current().expect("inside the executor");
                // The busy task's turns, and the turn in which the timer fell due.
                let turns = Rc::new(Cell::new(0u64));
                let due_turn = Rc::new(Cell::new(None::<u64>));
                let deadline = Instant::now() + Duration::from_millis(3);
                let (woke_tx, woke_rx) = flume::bounded::<u64>(1);
                let seen = turns.clone();
                spawn(&local, async move {
                    sleep_until(&current().expect("on the slot"), deadline).await;
                    let _ = woke_tx.try_send(seen.get());
                });
                let (busy_turns, busy_due) = (turns.clone(), due_turn.clone());
                spawn(&local, async move {
                    // Works in 50 us pieces for 100 ms, yielding only when the slot says so.
                    let end = Instant::now() + Duration::from_millis(100);
                    while Instant::now() < end {
                        let piece = Instant::now() + Duration::from_micros(50);
                        while Instant::now() < piece {
                            std::hint::spin_loop();
                        }
                        busy_turns.set(busy_turns.get() + 1);
                        if busy_due.get().is_none() && Instant::now() >= deadline {
                            busy_due.set(Some(busy_turns.get()));
                        }
                        crate::slot::yield_if_needed().await;
                    }
                });
                let woke_at = woke_rx.recv_async().await.expect("the sleeper wakes");
                (woke_at, due_turn.get())
            },
            Duration::ZERO,
        )
        .unwrap();
        let (woke_at, due) = out;
        let due = due.expect("the busy task ran past the deadline");
        // The sleeper runs at the busy task's first yield after its deadline, not when the
        // busy task's slice ends or the loop next looks at its timers (dozens of turns).
        assert!(
            woke_at <= due,
            "the sleeper woke at the busy task's turn {woke_at}; its deadline passed in turn {due}"
        );
    }

    /// Sets its flag when dropped, and notes whether that was on `thread`.
    struct DropFlag(Arc<AtomicBool>, std::thread::ThreadId);

    impl Drop for DropFlag {
        fn drop(&mut self) {
            assert_eq!(std::thread::current().id(), self.1, "dropped on its slot");
            self.0.store(true, Ordering::SeqCst);
        }
    }

    #[test]
    fn tasks_still_waiting_at_the_end_are_dropped_on_the_slot_thread() {
        let flags: Vec<Arc<AtomicBool>> =
            (0..3).map(|_| Arc::new(AtomicBool::new(false))).collect();
        let given = flags.clone();
        let (keep_tx, keep_rx) = flume::bounded::<()>(1);
        std::thread::spawn(move || {
            run(
                async move {
                    let local = current().expect("inside the executor");
                    let me = std::thread::current().id();
                    // Waits on a channel nobody sends on; another spawns a third and waits.
                    let f0 = DropFlag(given[0].clone(), me);
                    spawn(&local, async move {
                        let _f = f0;
                        let _ = keep_rx.recv_async().await;
                    });
                    let f1 = DropFlag(given[1].clone(), me);
                    let f2 = DropFlag(given[2].clone(), me);
                    let inner = local.clone();
                    spawn(&local, async move {
                        let _f = f1;
                        spawn(&inner, async move {
                            let _f = f2;
                            std::future::pending::<()>().await;
                        });
                        std::future::pending::<()>().await;
                    });
                    // Let them start and wait.
                    let t = Instant::now();
                    sleep_until(&local, t + Duration::from_millis(5)).await;
                },
                Duration::ZERO,
            )
            .unwrap();
        })
        .join()
        .expect("the slot thread ends without a panic");
        for (i, f) in flags.iter().enumerate() {
            assert!(f.load(Ordering::SeqCst), "task {i} was dropped");
        }
        drop(keep_tx);
    }
}
