//! The network stack between TaskManagers: one network thread per TaskManager on io_uring.
//!
//! # Shape
//! A [`NetworkEnvironment`] owns the TaskManager's network buffer pool (a fixed number of
//! fixed-size buffers: configuration, never input rate), a listening socket and one network
//! thread. Producers register their result partitions; consumers request subpartitions of
//! partitions in other TaskManagers. Both sides get ordinary [`LocalChannel`]s, so a task
//! cannot tell a remote exchange from an in-process one except that received buffers arrive
//! as [`ChannelMessage::Received`](crate::ChannelMessage::Received) (validate before reading).
//!
//! - Producer side: a subpartition's channel has a pool of `max_buffers_per_subpartition`
//!   buffers carved from the TaskManager pool (its cap). The network thread is that
//!   channel's consumer: it sends a data buffer only against credit, events without credit,
//!   and after an aligned barrier it sends nothing more on the subpartition until the
//!   consumer resumes it.
//! - Consumer side: an input channel has `buffers_per_channel` exclusive buffers carved from
//!   the pool, and its gate a floating pool. The network thread receives each data buffer
//!   straight into one of them (no copy between socket and operator), announces freed
//!   buffers as credit (coalesced per loop turn), and borrows floating buffers when the
//!   sender's backlog asks for them.
//! - One TCP connection per consumer→producer TaskManager pair carries all their channels.
//!
//! # Failures
//! A peer that closes, a frame that does not decode, a sequence gap, credit overrun: the
//! channels concerned (or all channels of the connection) fail with a
//! [`crate::ChannelError`] that arrives in order as
//! [`ChannelMessage::Failed`](crate::ChannelMessage::Failed) on the consumer side, and as
//! [`LocalChannel::failure`] on the producer side (whose queued buffers are dropped back to
//! their pool, so a producer never blocks on a consumer that is gone). Nothing panics and
//! every buffer goes back to its pool.
//!
//! # Threads and cores
//! `NetworkEnvironment` is a global handle (`Send + Sync`). The network thread owns the ring,
//! the sockets and all protocol state; other cores reach it only through channels, a bounded
//! command queue and `wake` tokens.

mod connection;
mod event_loop;
mod frames;
mod inbound;
mod links;
mod outbound;
mod ring;
mod wake;

use crate::buffer::{BufferPool, PoolStats};
use crate::channel::{GateShared, LocalChannel};
use crate::error::{ChannelError, ErrorKind};
use crate::frame::PartitionId;
use crossbeam_queue::ArrayQueue;
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;
use wake::{Token, WakeHub};

/// Network configuration of one TaskManager (Flink's `taskmanager.network.*` concepts).
#[derive(Debug, Clone)]
pub struct NetConfig {
    /// Size of every network buffer (`taskmanager.memory.segment-size`, 32 KiB).
    pub buffer_size: usize,
    /// Buffers in the TaskManager's pool: all network memory is `buffer_size × this`.
    pub network_buffers: usize,
    /// Exclusive buffers per remote input channel: its initial credit
    /// (`taskmanager.network.memory.buffers-per-channel`, 2).
    pub buffers_per_channel: usize,
    /// Floating buffers per input gate (`taskmanager.network.memory.floating-buffers-per-gate`, 8).
    pub floating_buffers_per_gate: usize,
    /// Cap on buffers a producer subpartition may fill ahead of its consumer
    /// (`taskmanager.network.memory.max-buffers-per-channel`, 10).
    pub max_buffers_per_subpartition: usize,
    /// Largest data frame accepted (one oversized record travels alone in a frame).
    pub max_frame_len: u32,
    /// How long the network thread spins for work before it parks (0: park at once). A
    /// latency setting: spinning saves the wake-up of a parked thread per message.
    pub busy_poll: Duration,
    /// How long a partition request waits for its producer to register the partition.
    pub partition_request_timeout: Duration,
}

impl Default for NetConfig {
    fn default() -> Self {
        NetConfig {
            buffer_size: 32 * 1024,
            network_buffers: 2048,
            buffers_per_channel: 2,
            floating_buffers_per_gate: 8,
            max_buffers_per_subpartition: 10,
            max_frame_len: 64 << 20,
            busy_poll: Duration::ZERO,
            partition_request_timeout: Duration::from_secs(10),
        }
    }
}

impl NetConfig {
    /// Checks that the numbers can work together; names the first that cannot.
    pub fn check(&self) -> Result<(), String> {
        if self.buffer_size < 4096 || self.buffer_size > (1 << 30) {
            return Err(format!(
                "buffer size {} must be between 4 KiB and 1 GiB",
                self.buffer_size
            ));
        }
        if self.buffers_per_channel == 0 {
            return Err("buffers per channel must be at least 1".into());
        }
        if self.floating_buffers_per_gate == 0 {
            return Err("floating buffers per gate must be at least 1".into());
        }
        if self.max_buffers_per_subpartition == 0 {
            return Err("max buffers per subpartition must be at least 1".into());
        }
        if self.network_buffers == 0 {
            return Err("the network buffer pool must have at least 1 buffer".into());
        }
        if (self.max_frame_len as usize) < self.buffer_size {
            return Err(format!(
                "max frame length {} is smaller than a buffer ({})",
                self.max_frame_len, self.buffer_size
            ));
        }
        Ok(())
    }
}

/// A request from another core to the network thread.
pub(crate) enum Command {
    Register {
        partition: PartitionId,
        gate: Arc<GateShared>,
        numbers: Vec<u32>,
        channels: Vec<Arc<LocalChannel>>,
    },
    Request(Box<inbound::Request>),
    Resume(u64),
    Cancel(u64),
    Release(PartitionId),
    Shutdown,
}

/// State shared between the handle and the network thread.
pub(crate) struct Shared {
    pub(crate) config: NetConfig,
    pub(crate) pool: BufferPool,
    pub(crate) hub: Arc<WakeHub>,
    commands: ArrayQueue<Command>,
    command_waker: Arc<wake::TokenWaker>,
    next_id: AtomicU64,
    running: AtomicBool,
}

impl Shared {
    fn command(&self, c: Command) -> Result<(), ChannelError> {
        if !self.running.load(Ordering::Acquire) {
            return Err(ChannelError::new(
                ErrorKind::Unavailable,
                "the network environment is shut down",
            ));
        }
        self.commands.push(c).map_err(|_| {
            ChannelError::new(
                ErrorKind::Unavailable,
                "the network thread's command queue is full",
            )
        })?;
        self.command_waker.waker().wake();
        Ok(())
    }

    pub(crate) fn take_command(&self) -> Option<Command> {
        self.commands.pop()
    }
}

/// Capacity of the command queue.
const COMMANDS: usize = 4096;

/// One TaskManager's network stack (global handle; dropping it stops the thread).
pub struct NetworkEnvironment {
    shared: Arc<Shared>,
    local_addr: SocketAddr,
    thread: Option<JoinHandle<()>>,
}

impl NetworkEnvironment {
    /// Binds `bind` (port 0 picks one), sets up the pool and starts the network thread.
    pub fn start(bind: SocketAddr, config: NetConfig) -> Result<NetworkEnvironment, ChannelError> {
        config.check().map_err(|e| {
            ChannelError::new(
                ErrorKind::Unavailable,
                format!("network configuration: {e}"),
            )
        })?;
        let io = |what: &str, e: std::io::Error| {
            ChannelError::new(ErrorKind::Io, format!("{what}: {e}"))
        };
        let listener =
            TcpListener::bind(bind).map_err(|e| io(&format!("cannot listen on {bind}"), e))?;
        let local_addr = listener
            .local_addr()
            .map_err(|e| io("listener address", e))?;
        let hub = WakeHub::new().map_err(|e| io("eventfd", e))?;
        let ring = ring::Ring::new(512).map_err(|e| io("network thread", e))?;
        let shared = Arc::new(Shared {
            pool: BufferPool::new(config.network_buffers, config.buffer_size),
            command_waker: wake::TokenWaker::new(&hub, Token::Commands),
            hub,
            commands: ArrayQueue::new(COMMANDS),
            next_id: AtomicU64::new(1),
            running: AtomicBool::new(true),
            config,
        });
        let loop_shared = shared.clone();
        let thread = std::thread::Builder::new()
            .name(format!("strom-net-{}", local_addr.port()))
            .spawn(move || event_loop::EventLoop::new(loop_shared, ring, listener).run())
            .map_err(|e| io("cannot start the network thread", e))?;
        Ok(NetworkEnvironment {
            shared,
            local_addr,
            thread: Some(thread),
        })
    }

    /// The address other TaskManagers connect to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The configuration in force.
    pub fn config(&self) -> &NetConfig {
        &self.shared.config
    }

    /// Fill of the TaskManager's buffer pool (all network memory): after every channel is
    /// closed and every buffer dropped, `available == capacity`, or a buffer leaked.
    pub fn pool_stats(&self) -> PoolStats {
        self.shared.pool.stats()
    }

    /// Producer side: registers `partition` with `subpartitions` subpartitions (numbered
    /// `0..subpartitions`) that remote consumers can request, and returns their channels in
    /// order. A producer writes into them as into in-process channels.
    pub fn register_partition(
        &self,
        partition: PartitionId,
        subpartitions: u32,
    ) -> Result<Vec<Arc<LocalChannel>>, ChannelError> {
        let all: Vec<u32> = (0..subpartitions).collect();
        self.register_subpartitions(partition, &all)
    }

    /// Producer side: registers the subpartitions `numbers` of `partition` (those whose
    /// consumers live in other TaskManagers; the others are in-process channels) and returns
    /// their channels in the order given. Each gets `max_buffers_per_subpartition` buffers
    /// carved from the TaskManager pool.
    pub fn register_subpartitions(
        &self,
        partition: PartitionId,
        numbers: &[u32],
    ) -> Result<Vec<Arc<LocalChannel>>, ChannelError> {
        let gate = GateShared::new(numbers.len());
        let mut channels = Vec::with_capacity(numbers.len());
        for i in 0..numbers.len() {
            let pool = self.carve(self.shared.config.max_buffers_per_subpartition)?;
            channels.push(LocalChannel::with_pool(gate.clone(), i as u32, pool));
        }
        self.shared.command(Command::Register {
            partition,
            gate,
            numbers: numbers.to_vec(),
            channels: channels.clone(),
        })?;
        Ok(channels)
    }

    /// Producer side: releases a partition (the job ended or was cancelled): its
    /// subpartitions fail with `Closed` and their buffers go back to the pool.
    pub fn release_partition(&self, partition: PartitionId) -> Result<(), ChannelError> {
        self.shared.command(Command::Release(partition))
    }

    /// Consumer side: a floating pool for one input gate.
    pub fn floating_pool(&self) -> Result<BufferPool, ChannelError> {
        self.carve(self.shared.config.floating_buffers_per_gate)
    }

    fn carve(&self, n: usize) -> Result<BufferPool, ChannelError> {
        self.shared
            .pool
            .carve(n)
            .map_err(|e| ChannelError::new(ErrorKind::Unavailable, e.to_string()))
    }

    /// Consumer side: requests `subpartition` of `partition` from the TaskManager at
    /// `producer`, as channel `index` of `gate`, borrowing from the gate's `floating` pool.
    /// Received buffers and events arrive in the returned input's channel.
    pub fn request_subpartition(
        &self,
        producer: SocketAddr,
        partition: PartitionId,
        subpartition: u32,
        gate: &Arc<GateShared>,
        index: u32,
        floating: &BufferPool,
    ) -> Result<RemoteInput, ChannelError> {
        let exclusive = self.carve(self.shared.config.buffers_per_channel)?;
        let capacity = self.shared.config.buffers_per_channel + floating.stats().capacity;
        let channel = LocalChannel::with_capacity(gate.clone(), index, capacity, exclusive.clone());
        let id = self.shared.next_id.fetch_add(1, Ordering::Relaxed);
        self.shared
            .command(Command::Request(Box::new(inbound::Request {
                id,
                producer,
                partition,
                subpartition,
                channel: channel.clone(),
                exclusive,
                floating: floating.clone(),
            })))?;
        Ok(RemoteInput {
            id,
            channel,
            shared: self.shared.clone(),
        })
    }
}

impl Drop for NetworkEnvironment {
    fn drop(&mut self) {
        let _ = self.shared.command(Command::Shutdown);
        self.shared.running.store(false, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A consumer's remote input channel (global handle).
pub struct RemoteInput {
    id: u64,
    channel: Arc<LocalChannel>,
    shared: Arc<Shared>,
}

impl RemoteInput {
    /// The channel received messages arrive in (it is also in the gate it was requested for).
    pub fn channel(&self) -> &Arc<LocalChannel> {
        &self.channel
    }

    /// Unblocks the producer's subpartition after an aligned barrier was consumed.
    pub fn resume(&self) -> Result<(), ChannelError> {
        self.shared.command(Command::Resume(self.id))
    }

    /// Gives the channel up: the producer releases the subpartition.
    pub fn cancel(&self) -> Result<(), ChannelError> {
        self.shared.command(Command::Cancel(self.id))
    }
}

impl Drop for RemoteInput {
    fn drop(&mut self) {
        // A finished channel is gone from the network thread already; cancelling it is a no-op.
        let _ = self.shared.command(Command::Cancel(self.id));
    }
}
