//! Stateless one-input operators: map, filter, flat_map and their fallible forms.

use super::context::guarded;
use super::{Collector, Millis, Output};
use crate::error::{TaskError, TaskResult};
use std::rc::Rc;

/// An error returned by a user function.
pub type UserError = Box<dyn std::error::Error + Send + Sync>;

macro_rules! forward_lifecycle {
    () => {
        fn watermark(&mut self, watermark: Millis) -> TaskResult {
            self.out.watermark(watermark)
        }
        fn processing_time(&mut self, now: Millis) -> TaskResult {
            self.out.processing_time(now)
        }
        fn watermark_status(&mut self, idle: bool) -> TaskResult {
            self.out.watermark_status(idle)
        }
        fn finish(&mut self) -> TaskResult {
            self.out.finish()
        }
    };
}
pub(crate) use forward_lifecycle;

/// Forwards `watermark_status` and `finish` (for operators that handle watermarks and
/// processing time themselves).
macro_rules! forward_lifecycle_no_watermark {
    () => {
        fn watermark_status(&mut self, idle: bool) -> TaskResult {
            self.out.watermark_status(idle)
        }
        fn finish(&mut self) -> TaskResult {
            self.out.finish()
        }
    };
}
pub(crate) use forward_lifecycle_no_watermark;

/// `map`: one record in, one out.
pub struct Map<F, O> {
    pub(crate) name: Rc<str>,
    pub(crate) f: F,
    pub(crate) out: Box<dyn Output<O>>,
    /// The mapped records of a batch (reused).
    pub(crate) mapped: Vec<O>,
}

impl<I: 'static, O: 'static, F: FnMut(I) -> O + 'static> Output<I> for Map<F, O> {
    #[inline]
    fn emit(&mut self, value: I, timestamp: Option<Millis>) -> TaskResult {
        let v = guarded(&self.name, || (self.f)(value))?;
        self.out.emit(v, timestamp)
    }
    fn emit_batch(&mut self, batch: &mut Vec<I>, timestamp: Option<Millis>) -> TaskResult {
        let (f, mapped) = (&mut self.f, &mut self.mapped);
        guarded(&self.name, || mapped.extend(batch.drain(..).map(f)))?;
        let r = self.out.emit_batch(&mut self.mapped, timestamp);
        self.mapped.clear();
        r
    }
    forward_lifecycle!();
}

/// `try_map`: a map whose function may fail the job with an error.
pub struct TryMap<F, O> {
    pub(crate) name: Rc<str>,
    pub(crate) f: F,
    pub(crate) out: Box<dyn Output<O>>,
}

impl<I: 'static, O: 'static, F: FnMut(I) -> Result<O, UserError> + 'static> Output<I>
    for TryMap<F, O>
{
    #[inline]
    fn emit(&mut self, value: I, timestamp: Option<Millis>) -> TaskResult {
        match guarded(&self.name, || (self.f)(value))? {
            Ok(v) => self.out.emit(v, timestamp),
            Err(e) => Err(TaskError::user(e).in_operator(&self.name)),
        }
    }
    forward_lifecycle!();
}

/// `filter`: keeps the records for which the predicate holds.
pub struct Filter<F, T> {
    pub(crate) name: Rc<str>,
    pub(crate) f: F,
    pub(crate) out: Box<dyn Output<T>>,
}

impl<T: 'static, F: FnMut(&T) -> bool + 'static> Output<T> for Filter<F, T> {
    #[inline]
    fn emit(&mut self, value: T, timestamp: Option<Millis>) -> TaskResult {
        if guarded(&self.name, || (self.f)(&value))? {
            self.out.emit(value, timestamp)
        } else {
            Ok(())
        }
    }
    fn emit_batch(&mut self, batch: &mut Vec<T>, timestamp: Option<Millis>) -> TaskResult {
        let f = &mut self.f;
        guarded(&self.name, || retain(batch, f))?;
        self.out.emit_batch(batch, timestamp)
    }
    forward_lifecycle!();
}

/// `Vec::retain`, without a branch per record for types without drop glue: every record is
/// moved to the next free place and the place advances by the predicate's answer, so a
/// filter that keeps records at random (half of them, say) pays no mispredicted branch
/// per record. Types with drop glue use `Vec::retain`.
pub(crate) fn retain<T>(v: &mut Vec<T>, mut keep: impl FnMut(&T) -> bool) {
    if std::mem::needs_drop::<T>() {
        v.retain(keep);
        return;
    }
    let len = v.len();
    let p = v.as_mut_ptr();
    // Empty while elements move: if `keep` panics, the vector holds nothing (and `T` needs
    // no drop, so forgetting the rest is harmless).
    // SAFETY: 0 ≤ len, and the elements stay initialized in the allocation.
    unsafe { v.set_len(0) };
    let mut kept = 0;
    for i in 0..len {
        // SAFETY: i < len: element i is in bounds and initialized; places before i may have
        // been overwritten by earlier moves, never i itself or anything after it.
        let k = keep(unsafe { &*p.add(i) });
        // SAFETY: kept ≤ i < len, both in bounds; `copy` allows the places to be the same.
        // `T` has no drop glue, so the element at `kept` may be overwritten without a drop
        // and element i left behind as a bit copy.
        unsafe { std::ptr::copy(p.add(i), p.add(kept), 1) };
        kept += k as usize;
    }
    // SAFETY: the first `kept` places hold the kept elements, in order.
    unsafe { v.set_len(kept) };
}

/// `flat_map`: any number of records out per record in, through a [`Collector`].
pub struct FlatMap<F, O> {
    pub(crate) name: Rc<str>,
    pub(crate) f: F,
    pub(crate) out: Box<dyn Output<O>>,
    /// What a batch's records produced, gathered for one call downstream (reused).
    pub(crate) gathered: Vec<O>,
}

impl<I: 'static, O: 'static, F: FnMut(I, &mut Collector<'_, O>) + 'static> Output<I>
    for FlatMap<F, O>
{
    #[inline]
    fn emit(&mut self, value: I, timestamp: Option<Millis>) -> TaskResult {
        let mut c = Collector::new(&mut *self.out, timestamp);
        let f = &mut self.f;
        guarded(&self.name, || f(value, &mut c))?;
        c.into_result()
    }
    /// Under one guard; what the batch produces goes downstream as one batch (split where
    /// the function gives a record a timestamp of its own).
    fn emit_batch(&mut self, batch: &mut Vec<I>, timestamp: Option<Millis>) -> TaskResult {
        let (f, gathered, out) = (&mut self.f, &mut self.gathered, &mut *self.out);
        let r = guarded(&self.name, || {
            let mut c = Collector::gathering(&mut *out, &mut *gathered, timestamp);
            for value in batch.drain(..) {
                f(value, &mut c);
            }
            c.into_result()
        });
        // What the last records gathered goes on outside the guard (a panic downstream is
        // the downstream operator's).
        let sent = match (&r, self.gathered.is_empty()) {
            (Ok(Ok(())), false) => self.out.emit_batch(&mut self.gathered, timestamp),
            _ => Ok(()),
        };
        self.gathered.clear();
        r??;
        sent
    }
    forward_lifecycle!();
}

#[cfg(test)]
mod tests {
    use super::{retain, FlatMap};
    use crate::error::TaskResult;
    use crate::operator::{Millis, Output, GATHER_LIMIT};
    use std::cell::RefCell;
    use std::rc::Rc;

    /// One batch handed downstream: its records and its timestamp.
    type Batch = (Vec<u64>, Option<Millis>);

    /// Records every batch it is handed.
    struct Batches(Rc<RefCell<Vec<Batch>>>);

    impl Output<u64> for Batches {
        fn emit(&mut self, value: u64, timestamp: Option<Millis>) -> TaskResult {
            self.0.borrow_mut().push((vec![value], timestamp));
            Ok(())
        }
        fn emit_batch(&mut self, batch: &mut Vec<u64>, timestamp: Option<Millis>) -> TaskResult {
            // A copy, not the vector itself: the sender keeps reusing its buffer.
            self.0.borrow_mut().push((batch.clone(), timestamp));
            batch.clear();
            Ok(())
        }
        fn watermark(&mut self, _: Millis) -> TaskResult {
            Ok(())
        }
        fn processing_time(&mut self, _: Millis) -> TaskResult {
            Ok(())
        }
        fn watermark_status(&mut self, _: bool) -> TaskResult {
            Ok(())
        }
        fn finish(&mut self) -> TaskResult {
            Ok(())
        }
    }

    #[test]
    fn a_fanning_out_batch_goes_on_in_pieces_of_at_most_the_gather_limit() {
        let seen = Rc::new(RefCell::new(Vec::new()));
        let mut op = FlatMap {
            name: "fan out".into(),
            f: |n: u64, out: &mut crate::operator::Collector<'_, u64>| {
                for i in 0..n {
                    out.collect(i);
                }
            },
            out: Box::new(Batches(seen.clone())),
            gathered: Vec::new(),
        };
        // 3 records fan out into 1000 + 1500 + 10 records: 2510 in input order.
        let mut batch = vec![1000, 1500, 10];
        op.emit_batch(&mut batch, Some(7)).expect("fan out");
        let seen = seen.borrow();
        let sizes: Vec<usize> = seen.iter().map(|(b, _)| b.len()).collect();
        assert!(sizes.iter().all(|&n| n <= GATHER_LIMIT), "{sizes:?}");
        assert_eq!(sizes.iter().sum::<usize>(), 2510, "{sizes:?}");
        assert_eq!(sizes.len(), 3, "two full pieces and the rest: {sizes:?}");
        assert!(seen.iter().all(|(_, ts)| *ts == Some(7)));
        let all: Vec<u64> = seen.iter().flat_map(|(b, _)| b.iter().copied()).collect();
        let want: Vec<u64> = (0..1000).chain(0..1500).chain(0..10).collect();
        assert_eq!(all, want, "order kept");
        assert!(
            op.gathered.capacity() <= 2 * GATHER_LIMIT,
            "the buffer stops growing"
        );
    }

    #[test]
    fn retain_keeps_what_vec_retain_keeps() {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let data: Vec<(u64, u32)> = (0..1000)
            .map(|i| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x, i)
            })
            .collect();
        for (name, pred) in [
            (
                "random half",
                (|r: &(u64, u32)| r.0 & 1 == 0) as fn(&(u64, u32)) -> bool,
            ),
            ("none", |_| false),
            ("all", |_| true),
            ("first", |r| r.1 == 0),
            ("last", |r| r.1 == 999),
        ] {
            let mut want = data.clone();
            want.retain(pred);
            let mut got = data.clone();
            retain(&mut got, pred);
            assert_eq!(got, want, "{name}");
        }
        // Types with drop glue take Vec::retain.
        let mut s: Vec<String> = (0..10).map(|i| i.to_string()).collect();
        retain(&mut s, |v| v.len() == 1 && v != "3");
        assert_eq!(s, ["0", "1", "2", "4", "5", "6", "7", "8", "9"]);
    }

    #[test]
    fn a_panicking_predicate_leaves_an_empty_vector() {
        let mut v: Vec<u64> = (0..100).collect();
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            retain(&mut v, |x| {
                assert!(*x != 50, "boom");
                x % 2 == 0
            })
        }));
        assert!(r.is_err());
        assert!(v.is_empty());
        v.extend(0..3);
        assert_eq!(v, [0, 1, 2], "the vector is still usable");
    }
}
