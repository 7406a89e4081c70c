//! Errors of the network stack, with a hint whether a retry can help.
//!
//! A [`ChannelError`] fails one logical channel; a connection-level failure is delivered as
//! a `ChannelError` to every channel of that connection. The runtime turns it into a task
//! failure, and the job's failover decides what to restart; `retry` says whether trying
//! again (a new connection, a new partition request) can succeed.

use std::fmt;
use std::sync::Arc;

/// What went wrong on a channel or its connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The peer closed the connection or went away.
    PeerLost,
    /// A socket operation failed.
    Io,
    /// The peer broke the protocol: a bad frame, a sequence gap, credit overrun, a buffer
    /// that does not validate.
    Protocol,
    /// The peer reported an error for this channel.
    Remote,
    /// The requested partition is not (yet) registered at the producer.
    PartitionNotFound,
    /// The channel was cancelled by its consumer or the environment shut down.
    Closed,
    /// The network thread is not accepting commands (shut down, or its queue is full).
    Unavailable,
}

/// A failed channel: kind, message and a retry hint. Cheap to clone (shared message).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ChannelError {
    /// What went wrong.
    pub kind: ErrorKind,
    /// Human-readable detail, naming the peer and channel where known.
    pub message: Arc<str>,
    /// Whether trying again can help (a restart, a reconnect, a later request).
    pub retry: bool,
}

impl ChannelError {
    /// An error of `kind` with `message`; the retry hint follows the kind.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        let retry = matches!(
            kind,
            ErrorKind::PeerLost
                | ErrorKind::Io
                | ErrorKind::PartitionNotFound
                | ErrorKind::Unavailable
        );
        ChannelError {
            kind,
            message: message.into().into(),
            retry,
        }
    }

    /// The same error with `context` in front of its message.
    pub fn context(&self, context: impl fmt::Display) -> Self {
        ChannelError {
            kind: self.kind,
            message: format!("{context}: {}", self.message).into(),
            retry: self.retry,
        }
    }
}

impl fmt::Display for ChannelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hint = if self.retry {
            "retryable"
        } else {
            "not retryable"
        };
        write!(f, "{} ({:?}, {hint})", self.message, self.kind)
    }
}
