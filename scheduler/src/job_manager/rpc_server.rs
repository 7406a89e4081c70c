//! Accepting TaskManager connections and reading from them.
//!
//! Each connection gets a number and a reader thread that turns what arrives into
//! [`Event`]s for the main thread; a connection that closes or sends a bad frame becomes
//! [`Event::Closed`] with the reason.

use super::core::Event;
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use strom_net::rpc::{RpcEndpoint, RpcLimits};

/// Accepts connections until `stop` is set.
pub(crate) fn accept(listener: TcpListener, events: flume::Sender<Event>, stop: Arc<AtomicBool>) {
    if let Err(e) = listener.set_nonblocking(true) {
        tracing::error!("JobManager RPC listener: {e}");
        return;
    }
    let mut next = 0u64;
    while !stop.load(Ordering::SeqCst) {
        let stream = match listener.accept() {
            Ok((s, _)) => s,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(20));
                continue;
            }
            Err(e) => {
                tracing::warn!("JobManager RPC accept: {e}");
                std::thread::sleep(Duration::from_millis(20));
                continue;
            }
        };
        let _ = stream.set_nonblocking(false);
        let (endpoint, mut rx) = match RpcEndpoint::from_stream(stream, RpcLimits::default()) {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!("JobManager RPC connection: {e}");
                continue;
            }
        };
        next += 1;
        let conn = next;
        if events
            .send(Event::Connected {
                conn,
                endpoint: endpoint.clone(),
            })
            .is_err()
        {
            return;
        }
        let (events, stop) = (events.clone(), stop.clone());
        let reader = move || loop {
            if stop.load(Ordering::SeqCst) {
                endpoint.close();
                return;
            }
            match rx.recv(Duration::from_millis(100)) {
                Ok(None) => {}
                Ok(Some(msg)) => {
                    if events.send(Event::Message { conn, msg }).is_err() {
                        return;
                    }
                }
                Err(e) => {
                    let _ = events.send(Event::Closed {
                        conn,
                        reason: e.to_string(),
                    });
                    endpoint.close();
                    return;
                }
            }
        };
        if let Err(e) = std::thread::Builder::new()
            .name(format!("jm-rpc-{conn}"))
            .spawn(reader)
        {
            tracing::warn!("cannot start a reader thread: {e}");
        }
    }
}
