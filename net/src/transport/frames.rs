//! Handling what arrives on a connection: headers, bodies and the frames they make.

use super::connection::{BodyTarget, Connection, PendingBody, Role, State};
use super::event_loop::EventLoop;
use crate::channel::{ChannelMessage, Event};
use crate::error::{ChannelError, ErrorKind};
use crate::frame::{Frame, FrameHeader, HEADER_LEN};

impl EventLoop {
    pub(super) fn sent(&mut self, i: usize, res: i32) {
        let Some(Some(c)) = self.conns.get_mut(i) else {
            return;
        };
        if res < 0 {
            c.send_failed();
            let e = std::io::Error::from_raw_os_error(-res);
            let err = ChannelError::new(
                ErrorKind::PeerLost,
                format!("sending to {} failed: {e}", c.peer),
            );
            self.conn_failed(i, err);
            return;
        }
        match c.send_done(&mut self.ring, i, res as usize) {
            Ok(true) => self.dirty.push(i),
            Ok(false) => {}
            Err(e) => {
                c.send_failed();
                let err =
                    ChannelError::new(ErrorKind::Io, format!("sending to {} failed: {e}", c.peer));
                self.conn_failed(i, err);
            }
        }
    }

    pub(super) fn received(&mut self, i: usize, res: i32) {
        let Some(Some(c)) = self.conns.get_mut(i) else {
            return;
        };
        c.recv_done(res.max(0) as usize);
        if c.state != State::Open {
            return;
        }
        if res <= 0 {
            let err = ended(c, res);
            self.conn_failed(i, err);
            return;
        }
        self.parse(i);
        if let Some(Some(c)) = self.conns.get_mut(i) {
            if let Err(e) = c.start_recv(&mut self.ring, i) {
                let err = ChannelError::new(
                    ErrorKind::Io,
                    format!("cannot receive from {}: {e}", c.peer),
                );
                self.conn_failed(i, err);
            }
        }
    }

    /// Handles every frame that arrived whole on connection `i`.
    fn parse(&mut self, i: usize) {
        loop {
            let Some(Some(c)) = self.conns.get_mut(i) else {
                return;
            };
            if c.state != State::Open {
                return;
            }
            if c.body.is_some() {
                match c.fill_body() {
                    Some(b) => self.body(i, b.target, b.len),
                    None => return, // the rest comes with the next receive
                }
                continue;
            }
            match c.ahead.next_header() {
                Some(h) => self.header(i, &h),
                None => return,
            }
        }
    }

    fn protocol(&mut self, i: usize, what: impl std::fmt::Display) {
        let peer = match self.conns.get(i) {
            Some(Some(c)) => c.peer,
            _ => return,
        };
        let msg = format!("bad frame from {peer}: {what}");
        tracing::warn!("{msg}");
        self.conn_failed(i, ChannelError::new(ErrorKind::Protocol, msg));
    }

    fn set_body(&mut self, i: usize, target: BodyTarget, len: usize) {
        if let Some(Some(c)) = self.conns.get_mut(i) {
            c.body = Some(PendingBody {
                target,
                len,
                filled: 0,
            });
        }
    }

    fn header(&mut self, i: usize, h: &[u8; HEADER_LEN]) {
        let frame = match FrameHeader::decode(h, &self.limits).and_then(|h| Frame::from_header(&h))
        {
            Ok(f) => f,
            Err(e) => return self.protocol(i, e),
        };
        let role = match self.conns.get(i) {
            Some(Some(c)) => c.role,
            _ => return,
        };
        match (role, frame) {
            (
                Role::Client,
                Frame::Buffer {
                    receiver,
                    seq,
                    backlog,
                    len,
                },
            ) => self.data_header(i, receiver, seq, backlog, len as usize),
            (
                Role::Client,
                Frame::Event {
                    receiver,
                    seq,
                    backlog,
                    event,
                },
            ) => self.event(i, receiver, seq, backlog, event),
            (
                _,
                Frame::Error {
                    receiver,
                    kind,
                    retry,
                    len,
                },
            ) => {
                let target = BodyTarget::Error {
                    receiver,
                    kind,
                    retry,
                    bytes: vec![0; len as usize],
                };
                if len == 0 {
                    self.body(i, target, 0);
                } else {
                    self.set_body(i, target, len as usize);
                }
            }
            (Role::Server, f @ Frame::PartitionRequest { .. }) => self.partition_request(i, f),
            (Role::Server, Frame::AddCredit { receiver, credit }) => {
                self.with_sub(i, receiver, |s| s.add_credit(credit))
            }
            (Role::Server, Frame::ResumeConsumption { receiver }) => {
                self.with_sub(i, receiver, |s| {
                    s.resume();
                    Ok(())
                })
            }
            (Role::Server, Frame::CancelPartition { receiver }) => {
                let err =
                    ChannelError::new(ErrorKind::Closed, "the consumer cancelled the channel");
                self.fail_sub(i, receiver, err);
            }
            (role, f) => {
                self.protocol(i, format!("{f:?} is not expected on a {role:?} connection"))
            }
        }
    }

    /// Applies `f` to the subpartition bound to `receiver` on server connection `i`, then
    /// sends what it can; an error fails that subpartition only.
    fn with_sub(
        &mut self,
        i: usize,
        receiver: u32,
        f: impl FnOnce(&mut super::outbound::Sub) -> Result<(), ChannelError>,
    ) {
        let Some(&(slot, sub)) = self
            .conns
            .get(i)
            .and_then(|c| c.as_ref())
            .and_then(|c| c.senders.get(&receiver))
        else {
            return; // finished or cancelled meanwhile
        };
        let Some(Some((p, _))) = self.partitions.get_mut(slot) else {
            return;
        };
        let Some(s) = p.subs.get_mut(sub) else {
            return;
        };
        match f(s) {
            Ok(()) => self.pump(slot, sub),
            Err(e) => {
                let msg = e.message.to_string();
                self.fail_sub(i, receiver, e);
                self.send_error(i, Some(receiver), ErrorKind::Protocol, &msg);
            }
        }
    }

    fn fail_sub(&mut self, i: usize, receiver: u32, err: ChannelError) {
        let Some(Some(c)) = self.conns.get_mut(i) else {
            return;
        };
        let Some((slot, sub)) = c.senders.remove(&receiver) else {
            return;
        };
        if let Some(Some((p, _))) = self.partitions.get_mut(slot) {
            if let Some(s) = p.subs.get_mut(sub) {
                if !s.finished {
                    s.fail(err);
                }
            }
            if p.all_finished() {
                self.drop_partition(slot);
            }
        }
    }

    /// The inbound channel for `receiver` on client connection `i`, if it still wants data.
    fn inbound_of(&self, i: usize, receiver: u32) -> Option<u64> {
        let id = *self.conns.get(i)?.as_ref()?.receivers.get(&receiver)?;
        let (inb, _) = self.inbound.get(&id)?;
        (!inb.done).then_some(id)
    }

    fn data_header(&mut self, i: usize, receiver: u32, seq: u32, backlog: u32, len: usize) {
        let Some(id) = self.inbound_of(i, receiver) else {
            return self.set_body(i, BodyTarget::Discard, len);
        };
        let Some((inb, _)) = self.inbound.get_mut(&id) else {
            return;
        };
        let taken = inb.check_seq(seq).and_then(|()| inb.take_buffer(len));
        match taken {
            Ok(buf) => self.set_body(
                i,
                BodyTarget::Data {
                    receiver,
                    buf,
                    backlog,
                },
                len,
            ),
            Err(e) => {
                self.fail_inbound(id, e.clone());
                self.send_error(i, Some(receiver), ErrorKind::Protocol, &e.message);
                self.set_body(i, BodyTarget::Discard, len);
            }
        }
    }

    fn event(&mut self, i: usize, receiver: u32, seq: u32, backlog: u32, event: Event) {
        let Some(id) = self.inbound_of(i, receiver) else {
            return;
        };
        let Some((inb, _)) = self.inbound.get_mut(&id) else {
            return;
        };
        if let Err(e) = inb.check_seq(seq) {
            self.fail_inbound(id, e.clone());
            self.send_error(i, Some(receiver), ErrorKind::Protocol, &e.message);
            return;
        }
        inb.set_backlog(backlog);
        if !inb.deliver(ChannelMessage::Event(event)) {
            return self.overflowed(id);
        }
        self.refill(id);
    }

    fn overflowed(&mut self, id: u64) {
        let err = ChannelError::new(
            ErrorKind::Protocol,
            format!(
                "more than {} messages wait for the consuming task",
                super::inbound::MAX_OVERFLOW
            ),
        );
        if let Some((inb, _)) = self.inbound.get_mut(&id) {
            inb.release();
        }
        tracing::warn!("input channel {id}: {err}");
        self.remove_inbound(id);
    }

    fn body(&mut self, i: usize, target: BodyTarget, len: usize) {
        match target {
            BodyTarget::Discard => {}
            BodyTarget::Data {
                receiver,
                mut buf,
                backlog,
            } => {
                buf.set_len(len);
                let Some(id) = self.inbound_of(i, receiver) else {
                    return; // cancelled while the body arrived: the buffer goes back
                };
                let Some((inb, _)) = self.inbound.get_mut(&id) else {
                    return;
                };
                inb.set_backlog(backlog);
                if !inb.deliver(ChannelMessage::Received(buf)) {
                    return self.overflowed(id);
                }
                self.refill(id);
            }
            BodyTarget::Error {
                receiver,
                kind,
                retry,
                bytes,
            } => {
                let peer = match self.conns.get(i) {
                    Some(Some(c)) => c.peer,
                    _ => return,
                };
                let text = String::from_utf8_lossy(&bytes);
                let mut err = ChannelError::new(kind, format!("peer {peer} reported: {text}"));
                err.retry = retry;
                match receiver {
                    None => self.conn_failed(i, err),
                    Some(r) => {
                        let role = self.conns.get(i).and_then(|c| c.as_ref()).map(|c| c.role);
                        if role == Some(Role::Server) {
                            self.fail_sub(i, r, err);
                        } else if let Some(id) = self
                            .conns
                            .get(i)
                            .and_then(|c| c.as_ref())
                            .and_then(|c| c.receivers.get(&r).copied())
                        {
                            self.fail_inbound(id, err);
                        }
                    }
                }
            }
        }
    }
}

/// Why the stream of connection `c` ended (`res` is 0 at the end of the stream, or an
/// errno), naming where inside a frame it stopped.
fn ended(c: &Connection, res: i32) -> ChannelError {
    let peer = c.peer;
    if res < 0 {
        let e = std::io::Error::from_raw_os_error(-res);
        return ChannelError::new(
            ErrorKind::PeerLost,
            format!("receiving from {peer} failed: {e}"),
        );
    }
    let what = match (&c.body, c.ahead.len()) {
        (Some(b), _) => format!(
            "connection to {peer} ended inside a frame body ({} of {} bytes)",
            b.filled, b.len
        ),
        (None, 0) => format!("{peer} closed the connection"),
        (None, n) => {
            format!("connection to {peer} ended inside a frame header ({n} of {HEADER_LEN} bytes)")
        }
    };
    ChannelError::new(ErrorKind::PeerLost, what)
}
