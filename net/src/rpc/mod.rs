//! A small blocking RPC for the control plane (JobManager ↔ TaskManager): requests with
//! responses, and one-way notifications, over one TCP connection. Bodies are opaque bytes
//! (callers encode them, e.g. as JSON); this module knows nothing about jobs.
//!
//! - [`frame`]: the wire format, a fixed 20-byte header then the body.
//! - [`RpcEndpoint`]: the sending side, `Clone + Send + Sync`: `notify`, a blocking `request`
//!   with a timeout, a non-blocking `send_request`, `respond`, `respond_error`, `close`.
//! - [`RpcReceiver`]: the receiving side, owned by one thread: `recv` returns requests,
//!   notifications and answers to `send_request`, and routes every other response to the
//!   thread blocked on it in `request`.
//!
//! Invariants:
//! - Each frame is written whole; frames from concurrent senders never interleave.
//! - A read timeout inside a frame loses no bytes: `recv` keeps partial frames buffered.
//! - A response reaches exactly one place: its blocked caller, or `recv` for ids sent with
//!   `send_request`; a response whose caller timed out is dropped (logged at debug).
//! - The first failure of a connection (local `close`, peer gone, bad frame, socket error)
//!   closes it for good: every blocked `request` fails at once, `recv` and every later call
//!   return that failure. Failures are seen by `recv`, so one thread should keep calling it.
//! - Bodies over [`RpcLimits::max_body`] are neither sent nor accepted.

mod endpoint;
mod error;
pub mod frame;
mod receiver;
mod shared;

pub use endpoint::{RpcEndpoint, RpcLimits};
pub use error::{RpcError, RpcErrorKind};
pub use frame::{HeaderError, RpcHeader, RpcKind};
pub use receiver::{Incoming, RpcReceiver};
