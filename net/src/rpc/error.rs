//! Errors of the control-plane RPC, with a hint whether a retry can help.
//!
//! `retry` answers "can trying again succeed?": a connect that failed, a socket error or a
//! request that timed out may succeed on a new attempt (or a new connection); a closed
//! connection, a peer that broke the protocol, an error the peer answered with, or a body
//! that is too large will not change by trying the same thing again.

use std::fmt;
use std::sync::Arc;

/// What went wrong with an RPC connection or one request on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RpcErrorKind {
    /// Connecting to the peer failed or timed out.
    Connect,
    /// The connection is closed: by this side, by the peer, or after an earlier failure.
    Closed,
    /// The peer sent a frame that does not decode; the message names the field. The
    /// connection is closed afterwards.
    BadFrame,
    /// A socket operation failed; the connection is closed afterwards.
    Io,
    /// No response arrived within the request's timeout. The connection stays usable.
    Timeout,
    /// The peer answered the request with an error response; the message is its text.
    Remote,
    /// A body to send exceeds the configured limit; nothing was sent.
    TooLarge,
}

/// A failed RPC operation: kind, message and a retry hint. Cheap to clone (shared message).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct RpcError {
    /// What went wrong.
    pub kind: RpcErrorKind,
    /// Human-readable detail, naming the peer where known (for [`RpcErrorKind::Remote`], the
    /// peer's message verbatim).
    pub message: Arc<str>,
    /// Whether trying again (a new request, a new connection) can help.
    pub retry: bool,
}

impl RpcError {
    /// An error of `kind` with `message`; the retry hint follows the kind.
    pub fn new(kind: RpcErrorKind, message: impl Into<String>) -> Self {
        let retry = matches!(
            kind,
            RpcErrorKind::Connect | RpcErrorKind::Io | RpcErrorKind::Timeout
        );
        RpcError {
            kind,
            message: message.into().into(),
            retry,
        }
    }

    /// The same error with `context` in front of its message.
    pub fn context(&self, context: impl fmt::Display) -> Self {
        RpcError {
            kind: self.kind,
            message: format!("{context}: {}", self.message).into(),
            retry: self.retry,
        }
    }
}

impl fmt::Display for RpcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hint = if self.retry {
            "retryable"
        } else {
            "not retryable"
        };
        write!(f, "{} ({:?}, {hint})", self.message, self.kind)
    }
}
