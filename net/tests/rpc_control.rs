//! The control-plane RPC over real sockets on 127.0.0.1: round trips, concurrency, notify,
//! detached requests, error responses, timeouts, dead peers, bad input and split frames.
//! Every test runs under a deadline and stops by itself.

use proptest::prelude::*;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};
use strom_net::rpc::frame::{split_frame, FrameStatus, HEADER_LEN, MAGIC, VERSION};
use strom_net::rpc::{
    Incoming, RpcEndpoint, RpcError, RpcErrorKind, RpcHeader, RpcKind, RpcLimits, RpcReceiver,
};

const TICK: Duration = Duration::from_millis(20);

/// Runs `f` on a thread and fails the test if it does not finish within `secs`.
fn bounded<F: FnOnce() + Send + 'static>(secs: u64, f: F) {
    let (tx, rx) = mpsc::channel();
    let handle = thread::spawn(move || {
        f();
        let _ = tx.send(());
    });
    match rx.recv_timeout(Duration::from_secs(secs)) {
        Ok(()) => handle.join().unwrap(),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            if let Err(panic) = handle.join() {
                std::panic::resume_unwind(panic);
            }
        }
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("test did not finish within {secs}s"),
    }
}

type Side = (RpcEndpoint, RpcReceiver);

/// A connected client and server.
fn pair(limits: RpcLimits) -> (Side, Side) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let client = RpcEndpoint::connect(addr, Duration::from_secs(5), limits).unwrap();
    let (stream, _) = listener.accept().unwrap();
    let server = RpcEndpoint::from_stream(stream, limits).unwrap();
    (client, server)
}

/// A thread calling `recv` until the connection fails: forwards every message, returns the error.
fn pump(mut rx: RpcReceiver) -> (mpsc::Receiver<Incoming>, JoinHandle<RpcError>) {
    let (tx, out) = mpsc::channel();
    let handle = thread::spawn(move || loop {
        match rx.recv(TICK) {
            Ok(Some(msg)) => {
                let _ = tx.send(msg);
            }
            Ok(None) => {}
            Err(e) => return e,
        }
    });
    (out, handle)
}

/// A server answering every request with "re:" + body, until the connection fails.
fn echo_server(ep: RpcEndpoint, rx: RpcReceiver) -> JoinHandle<RpcError> {
    serve(ep, rx, |ep, msg| {
        if let Incoming::Request { id, body } = msg {
            let _ = ep.respond(id, &[b"re:".as_slice(), &body].concat());
        }
    })
}

fn serve(
    ep: RpcEndpoint,
    mut rx: RpcReceiver,
    mut handle: impl FnMut(&RpcEndpoint, Incoming) + Send + 'static,
) -> JoinHandle<RpcError> {
    thread::spawn(move || loop {
        match rx.recv(TICK) {
            Ok(Some(msg)) => handle(&ep, msg),
            Ok(None) => {}
            Err(e) => return e,
        }
    })
}

#[test]
fn endpoint_and_receiver_are_thread_safe() {
    fn clone_send_sync<T: Clone + Send + Sync>() {}
    fn send<T: Send>() {}
    clone_send_sync::<RpcEndpoint>();
    send::<RpcReceiver>();
}

#[test]
fn request_response_round_trip() {
    bounded(10, || {
        let ((cep, crx), (sep, srx)) = pair(RpcLimits::default());
        assert_eq!(cep.peer(), sep.local());
        assert_eq!(cep.local(), sep.peer());
        let server = echo_server(sep, srx);
        let (_msgs, client_pump) = pump(crx);
        let t = Duration::from_secs(5);
        assert_eq!(cep.request(b"ping", t).unwrap(), b"re:ping");
        assert_eq!(cep.request(b"", t).unwrap(), b"re:");
        let big = vec![7u8; 3 << 20];
        assert_eq!(cep.request(&big, t).unwrap()[3..], big[..]);
        cep.close();
        assert_eq!(client_pump.join().unwrap().kind, RpcErrorKind::Closed);
        assert_eq!(server.join().unwrap().kind, RpcErrorKind::Closed);
    });
}

#[test]
fn concurrent_requests_get_their_own_responses() {
    bounded(30, || {
        let ((cep, crx), (sep, mut srx)) = pair(RpcLimits::default());
        // Answers in batches, last first, so responses come back out of order.
        let server = thread::spawn(move || {
            let mut held = Vec::new();
            loop {
                match srx.recv(Duration::from_millis(2)) {
                    Ok(Some(Incoming::Request { id, body })) => {
                        held.push((id, body));
                        if held.len() < 8 {
                            continue;
                        }
                    }
                    Ok(_) => {}
                    Err(e) => return e,
                }
                while let Some((id, body)) = held.pop() {
                    let _ = sep.respond(id, &[b"re:".as_slice(), &body].concat());
                }
            }
        });
        let (msgs, client_pump) = pump(crx);
        let workers: Vec<_> = (0..8)
            .map(|t| {
                let ep = cep.clone();
                thread::spawn(move || {
                    for i in 0..200 {
                        let body = format!("{t}/{i}");
                        let got = ep
                            .request(body.as_bytes(), Duration::from_secs(10))
                            .unwrap();
                        assert_eq!(got, format!("re:{body}").into_bytes());
                    }
                })
            })
            .collect();
        for w in workers {
            w.join().unwrap();
        }
        assert!(msgs.try_recv().is_err(), "no response leaks out of recv");
        cep.close();
        client_pump.join().unwrap();
        server.join().unwrap();
    });
}

#[test]
fn notify_both_ways() {
    bounded(10, || {
        let ((cep, crx), (sep, srx)) = pair(RpcLimits::default());
        let (cmsgs, cpump) = pump(crx);
        let (smsgs, spump) = pump(srx);
        cep.notify(b"heartbeat from tm").unwrap();
        sep.notify(b"heartbeat from jm").unwrap();
        sep.notify(b"").unwrap();
        let t = Duration::from_secs(5);
        let body = |m: Incoming| match m {
            Incoming::Notify { body } => body,
            other => panic!("expected a notify, got {other:?}"),
        };
        assert_eq!(body(smsgs.recv_timeout(t).unwrap()), b"heartbeat from tm");
        assert_eq!(body(cmsgs.recv_timeout(t).unwrap()), b"heartbeat from jm");
        assert_eq!(body(cmsgs.recv_timeout(t).unwrap()), b"");
        sep.close();
        assert_eq!(cpump.join().unwrap().kind, RpcErrorKind::Closed);
        assert_eq!(spump.join().unwrap().kind, RpcErrorKind::Closed);
    });
}

#[test]
fn send_request_answers_come_out_of_recv() {
    bounded(10, || {
        let ((cep, crx), (sep, srx)) = pair(RpcLimits::default());
        let server = serve(sep, srx, |ep, msg| {
            if let Incoming::Request { id, body } = msg {
                if body == b"fail" {
                    let _ = ep.respond_error(id, "refused");
                } else {
                    let _ = ep.respond(id, &[b"re:".as_slice(), &body].concat());
                }
            }
        });
        let (msgs, cpump) = pump(crx);
        let a = cep.send_request(b"a").unwrap();
        let b = cep.send_request(b"fail").unwrap();
        // A blocking request in between is routed to its caller, not out of recv.
        assert_eq!(cep.request(b"x", Duration::from_secs(5)).unwrap(), b"re:x");
        let c = cep.send_request(b"c").unwrap();
        let mut got: Vec<_> = (0..3)
            .map(
                |_| match msgs.recv_timeout(Duration::from_secs(5)).unwrap() {
                    Incoming::Response { id, result } => (id, result),
                    other => panic!("expected a response, got {other:?}"),
                },
            )
            .collect();
        got.sort_by_key(|(id, _)| *id);
        assert_eq!(
            got,
            vec![
                (a, Ok(b"re:a".to_vec())),
                (b, Err("refused".to_string())),
                (c, Ok(b"re:c".to_vec())),
            ]
        );
        cep.close();
        cpump.join().unwrap();
        server.join().unwrap();
    });
}

#[test]
fn error_response_fails_the_request() {
    bounded(10, || {
        let ((cep, crx), (sep, srx)) = pair(RpcLimits::default());
        let server = serve(sep, srx, |ep, msg| {
            if let Incoming::Request { id, .. } = msg {
                let _ = ep.respond_error(id, "no such job: 42");
            }
        });
        let (_msgs, cpump) = pump(crx);
        let e = cep
            .request(b"cancel 42", Duration::from_secs(5))
            .unwrap_err();
        assert_eq!(e.kind, RpcErrorKind::Remote);
        assert_eq!(&*e.message, "no such job: 42");
        assert!(!e.retry);
        // The connection stays usable.
        let e = cep.request(b"again", Duration::from_secs(5)).unwrap_err();
        assert_eq!(e.kind, RpcErrorKind::Remote);
        cep.close();
        cpump.join().unwrap();
        server.join().unwrap();
    });
}

#[test]
fn request_times_out_and_late_response_is_dropped() {
    bounded(10, || {
        let ((cep, crx), (sep, mut srx)) = pair(RpcLimits::default());
        let (msgs, cpump) = pump(crx);
        let started = Instant::now();
        let e = cep
            .request(b"slow", Duration::from_millis(200))
            .unwrap_err();
        let took = started.elapsed();
        assert_eq!(e.kind, RpcErrorKind::Timeout);
        assert!(e.retry);
        assert!(
            took >= Duration::from_millis(200) && took < Duration::from_secs(3),
            "{took:?}"
        );
        // Now the server answers, late; then answers a second request in time.
        let Some(Incoming::Request { id, .. }) = srx.recv(Duration::from_secs(5)).unwrap() else {
            panic!("expected the request");
        };
        sep.respond(id, b"late").unwrap();
        let server = echo_server(sep, srx);
        assert_eq!(
            cep.request(b"quick", Duration::from_secs(5)).unwrap(),
            b"re:quick"
        );
        assert!(
            msgs.try_recv().is_err(),
            "the late response is dropped, not delivered"
        );
        cep.close();
        cpump.join().unwrap();
        server.join().unwrap();
    });
}

/// Blocks a request on a thread; returns its outcome and how long it took.
fn blocked_request(ep: &RpcEndpoint) -> JoinHandle<(Result<Vec<u8>, RpcError>, Duration)> {
    let ep = ep.clone();
    thread::spawn(move || {
        let started = Instant::now();
        let r = ep.request(b"wait", Duration::from_secs(30));
        (r, started.elapsed())
    })
}

#[test]
fn peer_dying_fails_recv_and_blocked_requests_fast() {
    bounded(10, || {
        let ((cep, crx), (sep, mut srx)) = pair(RpcLimits::default());
        let (_msgs, cpump) = pump(crx);
        let waiters: Vec<_> = (0..4).map(|_| blocked_request(&cep)).collect();
        for _ in 0..4 {
            let msg = srx.recv(Duration::from_secs(5)).unwrap();
            assert!(matches!(msg, Some(Incoming::Request { .. })), "{msg:?}");
        }
        drop(sep);
        drop(srx);
        for w in waiters {
            let (r, took) = w.join().unwrap();
            let e = r.unwrap_err();
            assert_eq!(e.kind, RpcErrorKind::Closed, "{e}");
            assert!(took < Duration::from_secs(5), "{took:?}");
        }
        let e = cpump.join().unwrap();
        assert_eq!(e.kind, RpcErrorKind::Closed, "{e}");
        assert!(!e.retry);
        let e = cep.notify(b"anyone?").unwrap_err();
        assert_eq!(e.kind, RpcErrorKind::Closed);
        assert_eq!(
            cep.request(b"?", TICK).unwrap_err().kind,
            RpcErrorKind::Closed
        );
    });
}

#[test]
fn local_close_fails_blocked_requests_and_recv() {
    bounded(10, || {
        let ((cep, crx), (sep, mut srx)) = pair(RpcLimits::default());
        let (_msgs, cpump) = pump(crx);
        let waiter = blocked_request(&cep);
        assert!(matches!(
            srx.recv(Duration::from_secs(5)).unwrap(),
            Some(Incoming::Request { .. })
        ));
        cep.close();
        cep.close();
        let (r, took) = waiter.join().unwrap();
        assert_eq!(r.unwrap_err().kind, RpcErrorKind::Closed);
        assert!(took < Duration::from_secs(5), "{took:?}");
        assert_eq!(cpump.join().unwrap().kind, RpcErrorKind::Closed);
        // The other side sees the connection close.
        let e = loop {
            match srx.recv(TICK) {
                Ok(_) => {}
                Err(e) => break e,
            }
        };
        assert_eq!(e.kind, RpcErrorKind::Closed);
        assert_eq!(sep.notify(b"x").unwrap_err().kind, RpcErrorKind::Closed);
    });
}

#[test]
fn oversized_body_is_refused_before_sending() {
    bounded(10, || {
        let limits = RpcLimits { max_body: 1024 };
        let ((cep, crx), (sep, srx)) = pair(limits);
        let server = echo_server(sep, srx);
        let (_msgs, cpump) = pump(crx);
        let e = cep.notify(&[0; 1025]).unwrap_err();
        assert_eq!(e.kind, RpcErrorKind::TooLarge);
        assert!(!e.retry);
        assert_eq!(
            cep.request(&[0; 1025], TICK).unwrap_err().kind,
            RpcErrorKind::TooLarge
        );
        assert_eq!(
            cep.request(&[1; 1000], Duration::from_secs(5))
                .unwrap()
                .len(),
            1003
        );
        cep.close();
        cpump.join().unwrap();
        server.join().unwrap();
    });
}

#[test]
fn connect_to_nothing_is_a_retryable_connect_error() {
    bounded(10, || {
        let addr: SocketAddr = {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap()
        };
        let e =
            RpcEndpoint::connect(addr, Duration::from_secs(2), RpcLimits::default()).unwrap_err();
        assert_eq!(e.kind, RpcErrorKind::Connect);
        assert!(e.retry);
    });
}

fn header(kind: u8, id: u64, len: u32) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[0..4].copy_from_slice(&MAGIC);
    h[4] = VERSION;
    h[5] = kind;
    h[8..16].copy_from_slice(&id.to_le_bytes());
    h[16..20].copy_from_slice(&len.to_le_bytes());
    h
}

/// Writes `chunks` to a server from a raw socket (pausing `pause` between them, then closing)
/// and collects what the server's receiver returns until it fails.
fn raw_client(
    limits: RpcLimits,
    chunks: Vec<Vec<u8>>,
    pause: Duration,
) -> (Vec<Incoming>, RpcError, usize) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let writer = thread::spawn(move || {
        let mut raw = TcpStream::connect(addr).unwrap();
        raw.set_nodelay(true).unwrap();
        for (i, chunk) in chunks.iter().enumerate() {
            if i > 0 {
                thread::sleep(pause);
            }
            if raw.write_all(chunk).is_err() {
                break;
            }
        }
        // Closes, or sees the server close first; either way reading ends.
        raw.shutdown(std::net::Shutdown::Write).ok();
        raw.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut rest = Vec::new();
        let _ = raw.read_to_end(&mut rest);
    });
    let (stream, _) = listener.accept().unwrap();
    let (_ep, mut rx) = RpcEndpoint::from_stream(stream, limits).unwrap();
    let mut got = Vec::new();
    let mut idle = 0;
    let e = loop {
        match rx.recv(TICK) {
            Ok(Some(m)) => got.push(m),
            Ok(None) => idle += 1,
            Err(e) => break e,
        }
    };
    // A second call gives the same error.
    assert_eq!(rx.recv(TICK).unwrap_err(), e);
    drop(rx);
    writer.join().unwrap();
    (got, e, idle)
}

fn bad_frame(bytes: Vec<u8>, limits: RpcLimits, field: &str) {
    let (got, e, _) = raw_client(limits, vec![bytes], Duration::ZERO);
    assert!(got.is_empty(), "{got:?}");
    assert_eq!(e.kind, RpcErrorKind::BadFrame, "{e}");
    assert!(!e.retry);
    assert!(e.message.contains(&format!("{field} field")), "{e}");
}

#[test]
fn bad_input_names_the_field() {
    bounded(20, || {
        let limits = RpcLimits::default();
        let mut http = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec();
        http.resize(40, b' ');
        bad_frame(http, limits, "magic");
        let mut h = header(1, 1, 0);
        h[4] = 2;
        bad_frame(h.to_vec(), limits, "version");
        bad_frame(header(9, 1, 0).to_vec(), limits, "kind");
        bad_frame(header(0, 1, 0).to_vec(), limits, "kind");
        let mut h = header(3, 0, 0);
        h[6] = 1;
        bad_frame(h.to_vec(), limits, "reserved");
        // Over the limit: reported from the header alone, without waiting for the body.
        bad_frame(
            header(3, 0, 1025).to_vec(),
            RpcLimits { max_body: 1024 },
            "length",
        );
        bad_frame(header(1, 1, u32::MAX).to_vec(), limits, "length");
    });
}

#[test]
fn frames_before_a_bad_one_are_delivered() {
    bounded(10, || {
        let mut bytes = header(3, 0, 2).to_vec();
        bytes.extend_from_slice(b"ok");
        bytes.extend_from_slice(&header(7, 0, 0));
        let (got, e, _) = raw_client(RpcLimits::default(), vec![bytes], Duration::ZERO);
        assert_eq!(
            got,
            vec![Incoming::Notify {
                body: b"ok".to_vec()
            }]
        );
        assert_eq!(e.kind, RpcErrorKind::BadFrame);
    });
}

#[test]
fn half_written_frame_then_close_is_closed() {
    bounded(10, || {
        let mut bytes = header(1, 5, 100).to_vec();
        bytes.extend_from_slice(&[1; 40]);
        let (got, e, _) = raw_client(RpcLimits::default(), vec![bytes], Duration::ZERO);
        assert!(got.is_empty(), "{got:?}");
        assert_eq!(e.kind, RpcErrorKind::Closed, "{e}");
        assert!(!e.retry);
        assert!(e.message.contains("inside a frame"), "{e}");
        // Half a header, too.
        let (_, e, _) = raw_client(
            RpcLimits::default(),
            vec![header(1, 5, 0)[..7].to_vec()],
            Duration::ZERO,
        );
        assert_eq!(e.kind, RpcErrorKind::Closed, "{e}");
    });
}

#[test]
fn frame_split_across_slow_writes_arrives_whole() {
    bounded(20, || {
        let body: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let mut frame = header(1, 77, body.len() as u32).to_vec();
        frame.extend_from_slice(&body);
        frame.extend_from_slice(&header(3, 0, 3));
        frame.extend_from_slice(b"end");
        // Cuts inside the header, inside the body, and across the second frame's header.
        let cuts = [7, 15, 20, 21, 90_000, frame.len() - 5, frame.len()];
        let mut chunks = Vec::new();
        let mut from = 0;
        for to in cuts {
            chunks.push(frame[from..to].to_vec());
            from = to;
        }
        let (got, e, idle) = raw_client(RpcLimits::default(), chunks, Duration::from_millis(120));
        assert_eq!(
            got,
            vec![
                Incoming::Request { id: 77, body },
                Incoming::Notify {
                    body: b"end".to_vec()
                },
            ]
        );
        assert!(idle >= 6, "recv timed out inside frames {idle} times");
        assert_eq!(e.kind, RpcErrorKind::Closed, "{e}");
    });
}

fn kind_strategy() -> impl Strategy<Value = RpcKind> {
    prop_oneof![
        Just(RpcKind::Request),
        Just(RpcKind::Response),
        Just(RpcKind::Notify),
        Just(RpcKind::ErrorResponse),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn decoding_arbitrary_bytes_never_panics(
        bytes in proptest::collection::vec(any::<u8>(), 0..64),
        max_body in 0usize..100,
    ) {
        match split_frame(&bytes, max_body) {
            Ok(FrameStatus::Complete(h)) => {
                prop_assert!(h.frame_len() <= bytes.len());
                prop_assert_eq!(&h.encode()[..], &bytes[..HEADER_LEN]);
            }
            Ok(FrameStatus::Incomplete { missing }) => prop_assert!(missing > 0),
            Err(e) => prop_assert!(!e.field().is_empty() && bytes.len() >= HEADER_LEN),
        }
    }

    #[test]
    fn valid_headers_round_trip(
        kind in kind_strategy(),
        id in any::<u64>(),
        body in proptest::collection::vec(any::<u8>(), 0..64),
        cut in 0usize..200,
    ) {
        let h = RpcHeader { kind, id, body_len: body.len() as u32 };
        prop_assert_eq!(RpcHeader::decode(&h.encode(), body.len()), Ok(h));
        let mut frame = h.encode().to_vec();
        frame.extend_from_slice(&body);
        let whole = frame.len();
        frame.extend_from_slice(b"next frame");
        prop_assert_eq!(split_frame(&frame, 64), Ok(FrameStatus::Complete(h)));
        prop_assert_eq!(&frame[HEADER_LEN..h.frame_len()], &body[..]);
        let cut = cut % whole;
        let missing = if cut < HEADER_LEN { HEADER_LEN - cut } else { whole - cut };
        prop_assert_eq!(split_frame(&frame[..cut], 64), Ok(FrameStatus::Incomplete { missing }));
    }
}
