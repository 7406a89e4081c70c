//! The slot's timers: deadlines in a sorted map, fired by the slot's loop (per-slot).
//!
//! A [`Sleep`] registers its deadline when first polled and removes it when dropped, so a
//! timer that lost a race (`race_timeout`) leaves nothing behind. The loop fires every
//! deadline that has passed before it runs tasks, and parks at most until the next one.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

/// The deadlines of one slot (per-slot: `Rc`, never sent).
#[derive(Default)]
pub(crate) struct Timers {
    map: BTreeMap<(Instant, u64), Waker>,
    next_id: u64,
}

impl Timers {
    fn insert(&mut self, at: Instant, waker: Waker) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.map.insert((at, id), waker);
        id
    }

    /// Wakes every timer due by `now`; how many.
    pub(crate) fn fire(&mut self, now: Instant) -> usize {
        let mut n = 0;
        while let Some(entry) = self.map.first_entry() {
            if entry.key().0 > now {
                break;
            }
            entry.remove().wake();
            n += 1;
        }
        n
    }

    /// The earliest deadline.
    pub(crate) fn next(&self) -> Option<Instant> {
        self.map.keys().next().map(|(at, _)| *at)
    }
}

/// Sleeps until a deadline on the slot's timers.
pub(crate) struct Sleep {
    at: Instant,
    timers: Rc<RefCell<Timers>>,
    key: Option<(Instant, u64)>,
}

impl Sleep {
    pub(crate) fn new(timers: Rc<RefCell<Timers>>, at: Instant) -> Sleep {
        Sleep {
            at,
            timers,
            key: None,
        }
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if Instant::now() >= self.at {
            if let Some(key) = self.key.take() {
                self.timers.borrow_mut().map.remove(&key);
            }
            return Poll::Ready(());
        }
        let at = self.at;
        let mut timers = self.timers.borrow_mut();
        match self.key {
            // Still registered: keep the latest waker (a combinator may poll with another).
            Some(key) if timers.map.contains_key(&key) => {
                timers.map.insert(key, cx.waker().clone());
            }
            _ => {
                let id = timers.insert(at, cx.waker().clone());
                drop(timers);
                self.key = Some((at, id));
            }
        }
        Poll::Pending
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            if let Ok(mut t) = self.timers.try_borrow_mut() {
                t.map.remove(&key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::Wake;
    use std::time::Duration;

    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn fires_what_is_due_and_forgets_dropped_sleeps() {
        let timers = Rc::new(RefCell::new(Timers::default()));
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(count.clone());
        let mut cx = Context::from_waker(&waker);
        let now = Instant::now();
        let mut soon = Box::pin(Sleep::new(timers.clone(), now + Duration::from_millis(5)));
        let mut late = Box::pin(Sleep::new(timers.clone(), now + Duration::from_secs(60)));
        assert!(soon.as_mut().poll(&mut cx).is_pending());
        assert!(late.as_mut().poll(&mut cx).is_pending());
        assert_eq!(timers.borrow().next(), Some(now + Duration::from_millis(5)));
        drop(late);
        assert_eq!(timers.borrow_mut().fire(now), 0);
        std::thread::sleep(Duration::from_millis(6));
        assert_eq!(timers.borrow_mut().fire(Instant::now()), 1);
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        assert!(soon.as_mut().poll(&mut cx).is_ready());
        assert_eq!(
            timers.borrow().next(),
            None,
            "the dropped sleep left nothing"
        );
    }
}
