//! # strom-net: the wire
//!
//! Everything that moves bytes between tasks, and nothing that knows about jobs:
//!
//! - [`buffer`]: fixed-size, page-aligned network buffers, the slices a writer hands out of
//!   them, and the bounded pools they are recycled to. Memory used for exchanges is bounded
//!   by pool sizes, never by input rate.
//! - [`codec`]: how typed records are laid out inside a buffer as rkyv archives, so that a
//!   receiver reads them in place (zero-copy) and validates them where the bytes came from
//!   outside the process.
//!
//! - [`channel`]: the bounded queue between one producer subpartition and one consumer input
//!   channel, and the input gate over a task's channels. Used as is inside a process.
//! - [`frame`]: the wire format between TaskManagers.
//! - [`transport`]: one network thread per TaskManager on io_uring: one TCP connection per
//!   consumer→producer TaskManager pair carrying many logical channels, credit-based flow
//!   control, events without credit, blocking aligned barriers.
//! - [`rpc`]: a small blocking request/response and notify RPC for the control plane
//!   (JobManager ↔ TaskManager), carrying opaque byte bodies.
#![warn(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

pub mod buffer;
pub mod channel;
pub mod codec;
pub mod error;
pub mod frame;
pub mod rpc;
pub mod transport;
pub mod uring;

pub use buffer::{BufferPool, NetBuffer, PoolExhausted, PoolStats};
pub use channel::{
    ChannelMessage, CheckpointBarrier, Event, GateShared, InputGate, LatencyMarker, LocalChannel,
};
pub use codec::{DecodeError, EncodeError, RecordIter, WireRecord};
pub use error::{ChannelError, ErrorKind};
pub use frame::PartitionId;
pub use rpc::{Incoming, RpcEndpoint, RpcError, RpcErrorKind, RpcLimits, RpcReceiver};
pub use transport::{NetConfig, NetworkEnvironment, RemoteInput};
