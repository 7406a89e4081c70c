//! The in-process exchange between tasks: bounded channels of network buffers.
//!
//! One [`strom_net::LocalChannel`] (in `strom-net`) joins one producer subtask to one consumer subtask of an
//! edge (Flink's subpartition → input channel). It owns that pair's exclusive buffer pool
//! (credit): the producer writes records into a pooled buffer and hands the full buffer over;
//! the consumer reads the records in place and drops the buffer, which returns it to the
//! pool. Memory per channel is therefore `buffers_per_channel × segment_size` whatever the
//! input rate, plus a bounded overshoot: the task checks back-pressure between steps, not
//! between records, so what one step emits after the last pooled buffer is taken goes into
//! unpooled buffers (counted in `overflow_buffers`) rather than being dropped. A source step
//! is 32 to 256 records, about 4 KiB of their inline bytes; an input step is one input
//! buffer; either times the chain's fan-out.
//!
//! Each consumer task has one [`strom_net::InputGate`] over all its input channels; channels with
//! data queue their index in the gate, so the consumer serves them round-robin without
//! polling empty ones. A producer that finds no free buffer or no queue space is
//! back-pressured: the task stops taking input until [`writer::WriterCore`] is available
//! again (Flink's mailbox availability check), and the time is counted.
//!
//! Events (watermarks, idleness, end of partition, cancellation) travel in the same queue, in
//! order with the data, and need no buffer.
//!
//! Cross-core types: `LocalChannel` and the gate's shared part are global handles (`Arc`,
//! lock-free queues and atomic wakers); `InputGate` and `WriterCore` live on one slot.

pub mod partition;
pub mod reader;
pub mod route_key;
pub mod writer;

pub use strom_net::channel::{ChannelMessage, Event, GateShared, InputGate, LocalChannel};
