//! The second process of `strom_bench net`, and its handle in the first.
//!
//! The benchmark re-executes its own binary (`std::env::current_exe`) as
//! `strom_bench net-peer --role ROLE …` (a hidden subcommand). The protocol between the two
//! is line-based and small:
//!
//! 1. the peer sets up its side (a listening socket or a network environment) and prints
//!    `READY <addr>` on its stdout: the address the benchmark connects to;
//! 2. both sides run the experiment; the peer prints `DONE` when its side has finished (for
//!    a producer: everything is pushed);
//! 3. the benchmark closes the peer's stdin; the peer tears its side down and exits 0.
//!
//! Bounded in time on both sides: the peer exits with an error by itself after
//! `--timeout-secs`, and if its stdin closes before it is done (the benchmark died or gave
//! up). The benchmark reads the peer's lines with deadlines and kills and reaps the peer
//! whenever the [`Peer`] handle is dropped without a clean [`Peer::finish`] (any error).
//! Both processes use 127.0.0.1 only.

use super::{latency, throughput};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// What the peer process does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Role {
    /// Listens on a plain TCP socket, accepts one connection and writes `--bytes` in
    /// 32 KiB writes (throughput baseline).
    TcpSend,
    /// Registers a partition of `--channels` subpartitions and pushes `--bytes` in full
    /// 32 KiB buffers, round-robin over the subpartitions (throughput through the stack).
    StackSend,
    /// Listens on a plain TCP socket and echoes 64-byte messages (latency baseline).
    TcpEcho,
    /// Registers a partition, requests the benchmark's partition at `--peer` and echoes
    /// every buffer it receives in a buffer of its own (latency through the stack).
    StackEcho,
}

impl Role {
    fn name(self) -> &'static str {
        match self {
            Role::TcpSend => "tcp-send",
            Role::StackSend => "stack-send",
            Role::TcpEcho => "tcp-echo",
            Role::StackEcho => "stack-echo",
        }
    }
}

/// Arguments of the hidden `net-peer` subcommand.
#[derive(clap::Args, Clone, Debug)]
pub struct PeerArgs {
    /// What to do.
    #[arg(long, value_enum)]
    pub role: Role,
    /// Bytes to send (senders).
    #[arg(long, default_value_t = 0)]
    pub bytes: u64,
    /// Subpartitions (stack-send).
    #[arg(long, default_value_t = 1)]
    pub channels: u32,
    /// The benchmark's network environment (stack-echo).
    #[arg(long)]
    pub peer: Option<SocketAddr>,
    /// The network thread's busy-poll time in microseconds (stack roles).
    #[arg(long, default_value_t = 0)]
    pub busy_poll_us: u64,
    /// Give up (exit 4) after this many seconds.
    #[arg(long, default_value_t = 60)]
    pub timeout_secs: u64,
}

/// Set once the peer's side finished; a stdin that closes before is an abandoned run.
static DONE: AtomicBool = AtomicBool::new(false);

/// The peer process's main: runs `args.role`, then waits for the benchmark to close stdin.
pub fn run(args: &PeerArgs) -> Result<(), String> {
    let timeout = Duration::from_secs(args.timeout_secs.max(1));
    let deadline = Instant::now() + timeout;
    // The watchdog: a peer never outlives its time, whatever it is blocked in.
    std::thread::Builder::new()
        .name("peer-watchdog".into())
        .spawn(move || {
            std::thread::sleep(timeout);
            eprintln!("strom_bench net-peer: gave up after {timeout:?}");
            std::process::exit(4);
        })
        .map_err(|e| format!("cannot start the watchdog: {e}"))?;
    // Stdin closing is the benchmark's "finish"; before DONE it means the benchmark is gone.
    let (closed_tx, closed) = mpsc::channel::<()>();
    std::thread::Builder::new()
        .name("peer-stdin".into())
        .spawn(move || {
            let _ = std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink());
            if !DONE.load(Ordering::SeqCst) {
                eprintln!("strom_bench net-peer: the benchmark closed the pipe before the end");
                std::process::exit(3);
            }
            let _ = closed_tx.send(());
        })
        .map_err(|e| format!("cannot start the stdin reader: {e}"))?;
    // Each role prints READY itself, runs, and returns what must live until the end
    // (a network environment whose buffers may still be on the wire).
    let keep: Box<dyn std::any::Any> = match args.role {
        Role::TcpSend => Box::new(throughput::tcp_send(args, deadline)?),
        Role::StackSend => Box::new(throughput::stack_send(args, deadline)?),
        Role::TcpEcho => Box::new(latency::tcp_echo(deadline)?),
        Role::StackEcho => Box::new(latency::stack_echo(args, deadline)?),
    };
    DONE.store(true, Ordering::SeqCst);
    say("DONE")?;
    // Bounded by the watchdog.
    let _ = closed.recv();
    drop(keep);
    Ok(())
}

/// Prints one protocol line on stdout.
pub(super) fn say(line: &str) -> Result<(), String> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}")
        .and_then(|()| out.flush())
        .map_err(|e| format!("cannot write to the benchmark: {e}"))
}

/// The benchmark's handle on a running peer process: killed and reaped on drop unless
/// [`Peer::finish`] ended it cleanly.
pub struct Peer {
    role: Role,
    child: Option<Child>,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
}

impl Peer {
    /// Starts `current_exe net-peer` with `args` (role and its parameters).
    pub fn spawn(args: &PeerArgs) -> Result<Peer, String> {
        let exe = std::env::current_exe()
            .map_err(|e| format!("cannot find this benchmark's own binary: {e}"))?;
        let mut cmd = Command::new(&exe);
        cmd.arg("net-peer")
            .arg("--role")
            .arg(args.role.name())
            .arg("--bytes")
            .arg(args.bytes.to_string())
            .arg("--channels")
            .arg(args.channels.to_string())
            .arg("--busy-poll-us")
            .arg(args.busy_poll_us.to_string())
            .arg("--timeout-secs")
            .arg(args.timeout_secs.to_string());
        if let Some(p) = args.peer {
            cmd.arg("--peer").arg(p.to_string());
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start {} net-peer: {e}", exe.display()))?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take();
        // From here on, dropping `peer` kills and reaps the child.
        let mut peer = Peer {
            role: args.role,
            child: Some(child),
            stdin,
            lines: mpsc::channel().1,
        };
        let stdout = stdout.ok_or("the peer's stdout is not a pipe")?;
        let (tx, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("peer-stdout".into())
            .spawn(move || {
                // Ends when the child's stdout closes (it exited or was killed).
                for line in BufReader::new(stdout.take(1 << 20)).lines() {
                    let Ok(line) = line else { break };
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            })
            .map_err(|e| format!("cannot start the peer's reader: {e}"))?;
        peer.lines = rx;
        Ok(peer)
    }

    /// Waits until `deadline` for the next line, which must start with `word`; returns the
    /// rest of it.
    pub fn expect(&mut self, word: &str, deadline: Instant) -> Result<String, String> {
        let wait = deadline.saturating_duration_since(Instant::now());
        match self.lines.recv_timeout(wait) {
            Ok(line) => match line.strip_prefix(word) {
                Some(rest) => Ok(rest.trim().to_owned()),
                None => Err(format!(
                    "peer {} said {line:?}, expected {word}",
                    self.role.name()
                )),
            },
            Err(mpsc::RecvTimeoutError::Timeout) => Err(format!(
                "peer {} did not say {word} in time",
                self.role.name()
            )),
            Err(mpsc::RecvTimeoutError::Disconnected) => Err(format!(
                "peer {} exited before saying {word}{}",
                self.role.name(),
                self.exit_status()
            )),
        }
    }

    /// Waits for `READY <addr>` and returns the address.
    pub fn ready(&mut self, deadline: Instant) -> Result<SocketAddr, String> {
        let rest = self.expect("READY", deadline)?;
        let addr: SocketAddr = rest
            .parse()
            .map_err(|e| format!("peer sent a bad address {rest:?}: {e}"))?;
        if !addr.ip().is_loopback() {
            return Err(format!("peer listens on {addr}, not on loopback"));
        }
        Ok(addr)
    }

    /// Waits for `DONE`, closes the peer's stdin and waits for a clean exit until
    /// `deadline` (killed after that).
    pub fn finish(mut self, deadline: Instant) -> Result<(), String> {
        self.expect("DONE", deadline)?;
        drop(self.stdin.take());
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        loop {
            match child.try_wait() {
                Ok(Some(status)) if status.success() => return Ok(()),
                Ok(Some(status)) => {
                    return Err(format!("peer {} failed: {status}", self.role.name()))
                }
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(1))
                }
                Ok(None) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!(
                        "peer {} did not exit in time (killed)",
                        self.role.name()
                    ));
                }
                Err(e) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!("cannot wait for peer {}: {e}", self.role.name()));
                }
            }
        }
    }

    /// `" (exit status …)"` if the child has exited, for error messages.
    fn exit_status(&mut self) -> String {
        let Some(child) = self.child.as_mut() else {
            return String::new();
        };
        // Its stdout just closed: give the exit a moment to become visible.
        for _ in 0..100 {
            if let Ok(Some(s)) = child.try_wait() {
                return format!(" ({s})");
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        String::new()
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        drop(self.stdin.take());
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
