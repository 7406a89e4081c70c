//! What an operator knows about where it runs, handed to it when a subtask is built.

use super::Millis;
use crate::graph::key_groups::key_group_range;
use std::cell::Cell;
use std::ops::Range;
use std::rc::Rc;

/// The per-task processing-time clock and timer wake-up request (per-slot, `Rc`).
///
/// Operators with processing-time timers [`request`](TimeService::request) a wake-up; the
/// task sleeps until the earliest request and then calls
/// [`Output::processing_time`](super::Output::processing_time) down the chain, where each
/// operator fires what is due and requests its next wake-up again.
#[derive(Debug)]
pub struct TimeService {
    next: Cell<Millis>,
}

impl Default for TimeService {
    fn default() -> Self {
        TimeService {
            next: Cell::new(Millis::MAX),
        }
    }
}

impl TimeService {
    /// Wall-clock time in milliseconds since the epoch.
    pub fn now(&self) -> Millis {
        now_millis()
    }

    /// Asks to be called at `at` (or soon after).
    pub fn request(&self, at: Millis) {
        if at < self.next.get() {
            self.next.set(at);
        }
    }

    /// The earliest requested wake-up.
    pub fn next_deadline(&self) -> Millis {
        self.next.get()
    }

    /// Clears the requests before a `processing_time` round (operators request again).
    pub(crate) fn reset(&self) {
        self.next.set(Millis::MAX);
    }
}

/// Wall-clock milliseconds since the epoch.
///
/// Inside a task's step (one source step, or one input buffer) this is the clock read at
/// the step's first call (`with_step_clock`): a user function that
/// stamps every record with the time (ingestion time, processing-time windows) costs one
/// clock read per step instead of one per record, and the records of one step agree on the
/// millisecond. Anywhere else it reads the clock.
#[inline]
pub fn now_millis() -> Millis {
    match STEP_CLOCK.get() {
        NOT_IN_STEP => wall_millis(),
        UNREAD => {
            let now = wall_millis();
            STEP_CLOCK.set(now);
            now
        }
        cached => cached,
    }
}

fn wall_millis() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as Millis)
        .unwrap_or(0)
}

const NOT_IN_STEP: Millis = Millis::MIN;
/// In a step whose clock nobody has read yet (steps that never ask cost no clock read).
const UNREAD: Millis = Millis::MIN + 1;

thread_local! {
    /// The clock of the step running on this thread (per-slot; `NOT_IN_STEP` outside one).
    static STEP_CLOCK: std::cell::Cell<Millis> = const { std::cell::Cell::new(NOT_IN_STEP) };
}

/// Runs one synchronous task step with [`now_millis`] fixed at its first call (read lazily:
/// a step that never asks reads no clock). The step must not
/// await (a task awaiting would lend its clock to the slot's other tasks); the previous
/// value comes back when it ends, even by unwinding.
pub(crate) fn with_step_clock<R>(step: impl FnOnce() -> R) -> R {
    struct Restore(Millis);
    impl Drop for Restore {
        fn drop(&mut self) {
            STEP_CLOCK.set(self.0);
        }
    }
    let _restore = Restore(STEP_CLOCK.replace(UNREAD));
    step()
}

/// Where an operator instance runs: which subtask of which operator, and the task's services.
#[derive(Clone)]
pub struct OperatorContext {
    /// Operator name.
    pub name: Rc<str>,
    /// Operator uid.
    pub uid: Rc<str>,
    /// This subtask's index.
    pub subtask: u32,
    /// The operator's parallelism.
    pub parallelism: u32,
    /// The operator's max parallelism (key groups).
    pub max_parallelism: u32,
    /// The task's processing-time service.
    pub time: Rc<TimeService>,
    /// Interval for periodic watermark emission.
    pub auto_watermark_interval: Millis,
    /// The operator's side outputs, to take while it is built.
    pub side_outputs: super::side_output::SideOutputs,
}

impl OperatorContext {
    /// The key groups this subtask owns.
    pub fn key_groups(&self) -> Range<u32> {
        key_group_range(self.subtask, self.max_parallelism, self.parallelism)
    }
}

/// Runs a user function, turning a panic into a [`TaskError`](crate::error::TaskError) that
/// names the operator, so one bad record fails its job and not the process.
#[inline]
pub(crate) fn guarded<R>(operator: &str, f: impl FnOnce() -> R) -> crate::error::TaskResult<R> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => Ok(r),
        Err(p) => Err(
            crate::error::TaskError::user(format!("panicked: {}", panic_message(&*p)))
                .in_operator(operator),
        ),
    }
}

/// [`guarded`], unless the caller already holds a guard around this call (operators that
/// run a whole batch under one guard): then `f` runs bare, without a second unwind frame.
#[inline(always)]
pub(crate) fn guarded_unless<R>(
    held: bool,
    operator: &str,
    f: impl FnOnce() -> R,
) -> crate::error::TaskResult<R> {
    if held {
        Ok(f())
    } else {
        guarded(operator, f)
    }
}

/// The message of a caught panic.
pub fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic payload".into()
    }
}
