//! The consumer side: one gate over all input channels of a task.

use super::local::LocalChannel;
use super::ChannelMessage;
use atomic_waker::AtomicWaker;
use crossbeam_queue::ArrayQueue;
use std::future::poll_fn;
use std::sync::Arc;
use std::task::{Context, Poll};

/// The part of a gate that producers touch (global handle).
pub struct GateShared {
    ready: ArrayQueue<u32>,
    consumer: AtomicWaker,
}

impl GateShared {
    /// A gate for `channels` input channels.
    pub fn new(channels: usize) -> Arc<Self> {
        Arc::new(GateShared {
            ready: ArrayQueue::new(channels.max(1)),
            consumer: AtomicWaker::new(),
        })
    }

    /// For a consumer that is not an [`InputGate`] (the network thread): registers the
    /// waker to be woken when a channel becomes ready.
    pub(crate) fn register_consumer(&self, waker: &std::task::Waker) {
        self.consumer.register(waker);
    }

    /// For a consumer that is not an [`InputGate`]: the next ready channel index. The caller
    /// must call the channel's `unmark` before reading it, as [`InputGate`] does.
    pub(crate) fn pop_ready(&self) -> Option<u32> {
        self.ready.pop()
    }

    pub(super) fn mark_ready(&self, index: u32) {
        // Each index is queued at most once (guarded by the channel's `queued` flag) and the
        // queue holds one slot per channel, so this cannot fail.
        let pushed = self.ready.push(index);
        debug_assert!(pushed.is_ok(), "gate ready queue over-full");
        self.consumer.wake();
    }
}

/// The consumer task's view of its input channels (per-slot).
pub struct InputGate {
    shared: Arc<GateShared>,
    channels: Vec<Arc<LocalChannel>>,
}

impl InputGate {
    /// A gate over `channels`, whose indices must be their positions.
    pub fn new(shared: Arc<GateShared>, channels: Vec<Arc<LocalChannel>>) -> Self {
        InputGate { shared, channels }
    }

    /// Number of input channels.
    pub fn len(&self) -> usize {
        self.channels.len()
    }

    /// Whether the gate has no channels.
    pub fn is_empty(&self) -> bool {
        self.channels.is_empty()
    }

    /// The next message from any channel, round-robin over channels with data.
    pub fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<(usize, ChannelMessage)> {
        if let Some(m) = self.try_next() {
            return Poll::Ready(m);
        }
        self.shared.consumer.register(cx.waker());
        match self.try_next() {
            Some(m) => Poll::Ready(m),
            None => Poll::Pending,
        }
    }

    /// The next message if one is there now.
    pub fn try_next(&mut self) -> Option<(usize, ChannelMessage)> {
        while let Some(i) = self.shared.ready.pop() {
            let ch = &self.channels[i as usize];
            ch.unmark();
            if let Some(m) = ch.pop() {
                ch.remark_if_nonempty();
                return Some((i as usize, m));
            }
        }
        None
    }

    /// Waits for the next message.
    pub async fn next(&mut self) -> (usize, ChannelMessage) {
        poll_fn(|cx| self.poll_next(cx)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channel::Event;

    #[test]
    fn round_robin_and_order_per_channel() {
        let g = GateShared::new(2);
        let a = LocalChannel::new(g.clone(), 0, 2, 4096);
        let b = LocalChannel::new(g.clone(), 1, 2, 4096);
        let mut gate = InputGate::new(g, vec![a.clone(), b.clone()]);
        for w in 0..3 {
            a.try_push(ChannelMessage::Event(Event::Watermark(w)))
                .unwrap();
        }
        b.try_push(ChannelMessage::Event(Event::Watermark(100)))
            .unwrap();
        let got: Vec<_> = std::iter::from_fn(|| gate.try_next())
            .map(|(c, m)| match m {
                ChannelMessage::Event(Event::Watermark(w)) => (c, w),
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(got, vec![(0, 0), (1, 100), (0, 1), (0, 2)]);
    }

    #[test]
    fn full_queue_gives_the_message_back() {
        let g = GateShared::new(1);
        let a = LocalChannel::new(g, 0, 1, 4096);
        let mut n = 0;
        while a.try_push(ChannelMessage::Event(Event::Idle(true))).is_ok() {
            n += 1;
        }
        assert_eq!(
            n,
            super::super::SLICES_PER_BUFFER + super::super::EVENT_SLACK
        );
        assert!(!a.has_space());
    }
}
